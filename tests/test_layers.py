"""The package is a stack of layers whose imports only point down (DESIGN.md, "Layers").

The test reads every module's imports with ``ast`` (nothing is imported) and checks:
- a module imports only from its own layer and the layers below;
- no import cycle spans modules of different layers;
- nothing inside the package imports the root package (``import ember``,
  ``from ember import <non-module>``): import the module you use;
- no function-level import of an ember module, except one marked on its line with
  ``# optional dependency`` (a lazy import of a module that needs an optional package).

Importing ``ember.a.b`` runs ``ember/a/__init__.py`` first, so a module also depends on
the packages above the modules it imports (all but the root ``ember``, the facade that
re-exports the stack and sits above every layer).
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "ember"

# Bottom to top. A module belongs to the layer of the longest prefix listed here.
LAYERS = [
    ("backend", ["ember.backend", "ember._blas_env", "ember.version", "ember.backends", "ember.cpu"]),
    # Tensor, dtype/device (in backend), printing, and the factories that build tensors
    # from arrays without running any op (creation, random's generators and samplers of new tensors).
    ("tensor core", ["ember._tensor", "ember._printing", "ember.creation", "ember.random", "ember.return_types"]),
    ("autograd", ["ember.autograd"]),
    ("ops", ["ember.ops", "ember.linalg", "ember.fft", "ember.special", "ember.library", "ember.testing",
             "ember.sparse", "ember.amp", "ember.cpu.amp", "ember.profiler", "ember.autograd.profiler"]),
    ("nn", ["ember.nn"]),
    # ember.cuda seeds each GPU's generator (tensor core) and sits with the other user-facing services.
    # ember.func transforms modules (functional_call) and ember.autograd.functional is built on it.
    ("optim, utils.data, serialization", ["ember.optim", "ember.utils", "ember.serialization", "ember._checkpoint",
                                          "ember.cuda", "ember.distributions", "ember.hub", "ember.func",
                                          "ember.autograd.functional"]),
    ("export", ["ember.export", "ember.utils.tensorboard", "ember.jit", "ember.fx", "ember.onnx", "ember.compiler"]),
    ("vision, examples", ["ember.vision", "ember.examples"]),
    # DistributedDataParallel lives at PyTorch's address (ember.nn.parallel) but is built on ember.distributed,
    # and a data-parallel example runs on it.
    ("serve, distributed, multiprocessing", ["ember.serve", "ember.distributed", "ember.multiprocessing",
                                             "ember.nn.parallel", "ember.examples.digits_ddp"]),
    ("package facade", ["ember"]),
]

OPTIONAL_MARK = "# optional dependency"

# Violations in upper layers that other branches are still rewriting. Each entry is
# (module, rule, detail). The lead empties this set as those branches land; a listed
# violation that no longer occurs fails the test too, so the set only shrinks. The backend,
# tensor core, autograd and ops layers must have none.
KNOWN_VIOLATIONS = set()


def _module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): (p.read_text(), p.name == "__init__.py") for p in sorted(ROOT.rglob("*.py"))}


def layer_of(module):
    best = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[1]):
                best = (rank, len(prefix))
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS in tests/test_layers.py")
    return best[0]


class Import:
    def __init__(self, target, line, nested, marked, root):
        self.target, self.line, self.nested, self.marked, self.root = target, line, nested, marked, root


def _imports(module, source, is_package, modules):
    """Every import of an ember module in ``module``: its target module and where it is."""
    lines = source.splitlines()
    package = module if is_package else module.rpartition(".")[0]
    found = []

    def visit(node, nested):
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                marked = OPTIONAL_MARK in lines[child.lineno - 1]
                for target, root in _targets(child, package, modules):
                    found.append(Import(target, child.lineno, nested, marked, root))
            visit(child, inner)

    visit(ast.parse(source), False)
    return found


def _targets(node, package, modules):
    """(module, imports the root package's namespace) for each name an import statement binds."""
    if isinstance(node, ast.Import):
        return [(a.name, a.name == "ember") for a in node.names if a.name.split(".")[0] == "ember"]
    base = node.module or ""
    if node.level:
        parent = package.split(".")[:len(package.split(".")) - node.level + 1]
        base = ".".join(parent + ([base] if base else []))
    if base.split(".")[0] != "ember":
        return []
    out = []
    for a in node.names:
        sub = f"{base}.{a.name}"
        if sub in modules:
            out.append((sub, False))
        else:
            out.append((base, base == "ember"))
    return out


def _dependencies(target, modules):
    """``target`` and the packages whose ``__init__`` importing it runs (not the root facade)."""
    parts = target.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts) + 1) if ".".join(parts[:i]) in modules]


def find_violations(modules=MODULES):
    """(module, rule, detail) for each broken rule; ``modules`` maps names to (source, is_package)."""
    violations = set()
    edges = {m: set() for m in modules}
    for module, (source, is_package) in modules.items():
        for imp in _imports(module, source, is_package, modules):
            if imp.root and module != "ember":
                violations.add((module, "imports the root package", "ember"))
                continue
            if imp.nested and not imp.marked:
                violations.add((module, "function-level import", imp.target))
            for dep in _dependencies(imp.target, modules):
                if dep == module or module.startswith(dep + "."):
                    continue  # a package's own __init__ runs before its submodules anyway
                if layer_of(dep) > layer_of(module):
                    violations.add((module, "imports a higher layer", dep))
                if not imp.nested:
                    edges[module].add(dep)
    for cycle in _cycles(edges):
        if len({layer_of(m) for m in cycle}) > 1:
            violations.add((min(cycle), "import cycle across layers", " -> ".join(sorted(cycle))))
    return violations


def _cycles(edges):
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def strong(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    for v in edges:
        if v not in index:
            strong(v)
    return out


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_imports_point_down_the_stack():
    new = find_violations() - KNOWN_VIOLATIONS
    assert not new, "layer violations:\n" + "\n".join(f"  {m}: {rule} ({detail})" for m, rule, detail in sorted(new))


def test_known_violations_still_exist():
    """A fixed violation leaves KNOWN_VIOLATIONS, so the set only shrinks."""
    fixed = KNOWN_VIOLATIONS - find_violations()
    assert not fixed, "fixed; remove from KNOWN_VIOLATIONS:\n" + "\n".join(map(str, sorted(fixed)))


@pytest.mark.parametrize("layer", ["backend", "tensor core", "autograd", "ops"])
def test_lower_layers_have_no_known_violations(layer):
    rank = [name for name, _ in LAYERS].index(layer)
    assert not [v for v in KNOWN_VIOLATIONS if layer_of(v[0]) == rank]


def test_the_checker_sees_planted_violations():
    planted = dict(MODULES)
    planted["ember.ops.fake"] = (
        "from ember.nn import functional\n"
        "import ember\n"
        "def f():\n"
        "    from ember.ops import pad\n"
        "    from ember.backend import arrays  # optional dependency\n", False)
    planted["ember.creation.fake"] = ("from ember.ops import fake\n", False)
    planted["ember.ops.fake2"] = ("import ember.creation.fake\n", False)
    found = find_violations(planted) - find_violations()
    assert ("ember.ops.fake", "imports a higher layer", "ember.nn") in found  # ember.nn's __init__ runs first
    assert ("ember.ops.fake", "imports a higher layer", "ember.nn.functional") in found
    assert ("ember.ops.fake", "imports the root package", "ember") in found
    assert ("ember.ops.fake", "function-level import", "ember.ops.pad") in found
    assert not any(v[2] == "ember.backend.arrays" for v in found)
    assert ("ember.creation.fake", "imports a higher layer", "ember.ops.fake") in found
    assert any(rule == "import cycle across layers" for _, rule, _ in found) is False  # fake2 -> core -> fake only
    planted["ember.ops.fake"] = ("import ember.creation.fake\n", False)
    cycles = [v for v in find_violations(planted) if v[1] == "import cycle across layers"]
    assert cycles == [("ember.creation.fake", "import cycle across layers", "ember.creation.fake -> ember.ops.fake")]
