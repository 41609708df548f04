"""All entries of the op database: every module in this package (one per op family)
defines ``ENTRIES``; adding a family is adding a file."""
import importlib
import pkgutil

ENTRIES = []
for _module in pkgutil.iter_modules(__path__):
    ENTRIES.extend(importlib.import_module(f"{__name__}.{_module.name}").ENTRIES)
BY_NAME = {e.name: e for e in ENTRIES}
