"""``ember/__init__.py`` names every op it re-exports with an explicit import, so a reader
(or an IDE's "go to definition") follows ``ember.add`` to its definition. The block of
imports is generated from ``ember.ops.registry.PUBLIC``; these tests fail when it is out
of sync. Regenerate it with::

    PYTHONPATH=. python tests/test_public_names.py
"""
import pathlib
import subprocess
import sys
import textwrap

import ember
from ember.ops.registry import PUBLIC

INIT = pathlib.Path(ember.__file__)
BEGIN = "# --- ops namespace: generated from ember.ops.registry.PUBLIC by tests/test_public_names.py; do not edit ---\n"
END = "# --- end of generated ops namespace ---\n"


def _attribute_name(name, fn):
    """The name under which ``fn`` is a module-level attribute of its module (``name`` if it is one)."""
    module = sys.modules[fn.__module__]
    for attr in (name, fn.__name__):
        if getattr(module, attr, None) is fn:
            return attr
    return next(k for k, v in vars(module).items() if v is fn)


def generated_block():
    by_module = {}
    for name, fn in PUBLIC.items():
        attr = _attribute_name(name, fn)
        by_module.setdefault(fn.__module__, []).append(attr if attr == name else f"{attr} as {name}")
    lines = [BEGIN]
    for module in sorted(by_module):
        names = ", ".join(sorted(by_module[module], key=lambda s: s.split(" as ")[-1])).replace(" as ", "\0as\0")
        body = textwrap.fill(names, 116, initial_indent="    ", subsequent_indent="    ").replace("\0as\0", " as ")
        lines.append(f"from {module} import (  # noqa: F401\n{body},\n)\n")
    lines.append(END)
    return "".join(lines)


def _current_block(text):
    return text[text.index(BEGIN):text.index(END) + len(END)]


def test_init_imports_exactly_the_registered_public_names():
    assert _current_block(INIT.read_text()) == generated_block(), (
        "ember/__init__.py's op imports are out of sync with ops.registry.PUBLIC: "
        "run `PYTHONPATH=. python tests/test_public_names.py`")


def test_every_public_name_is_its_registered_function():
    wrong = [name for name, fn in PUBLIC.items() if getattr(ember, name, None) is not fn]
    assert not wrong


def test_the_namespace_is_not_filled_dynamically():
    assert "globals()" not in INIT.read_text()


def test_import_order_of_the_op_modules_does_not_matter():
    """Each op module imports what it needs itself: importing any one of them first works."""
    modules = sorted({fn.__module__ for fn in PUBLIC.values()})
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\nimport ember\nember.ones(1).add(1)"
    for first in (modules[-1], "ember.ops.unary", "ember.ops.dispatch", "ember.autograd", "ember.creation"):
        subprocess.run([sys.executable, "-c", code, first], check=True, cwd=INIT.parent.parent, timeout=60)


if __name__ == "__main__":
    text = INIT.read_text()
    INIT.write_text(text.replace(_current_block(text), generated_block()))
