"""The op database covers every public op: a registered op, Tensor method or functional
without an entry (and not excluded with a reason) fails here."""
import torch

import ember
from opdb.core import ALL_DTYPES, TESTS, resolve
from opdb.coverage import EXCLUDED, uncovered
from opdb.entries import ENTRIES


def test_every_public_op_has_an_entry():
    missing = uncovered(ENTRIES)
    assert not missing, f"{len(missing)} public ops have no opdb entry: {missing}"


def test_exclusions_are_still_public_names():
    stale = [n for n in EXCLUDED if not _exists(n)]
    assert not stale, f"excluded names that no longer exist: {stale}"


def _exists(name):
    try:
        resolve(ember, name)
    except AttributeError:
        return False
    return True


def test_entries_are_unique_and_resolve():
    names = [e.name for e in ENTRIES]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})
    for e in ENTRIES:
        assert callable(resolve(ember, e.op)), e.name
        assert callable(resolve(torch, e.ref)), e.name
        assert set(e.dtypes) <= set(ALL_DTYPES), e.name
        assert all(s.test in TESTS + ("*",) for s in e.skips), e.name
        for alias in e.aliases:
            assert resolve(ember, alias) is resolve(ember, e.op), f"{alias} is not bound to {e.op}"
