"""pytest plugin of the op database (registered by tests/conftest.py so that it is active
in the xdist controller too): the ``--opdb-device``/``--opdb-transform`` options and the
coverage summary printed at the end of a run."""
from collections import Counter


def pytest_addoption(parser):
    group = parser.getgroup("opdb", "op database")
    group.addoption("--opdb-device", default="cpu", help="device the op database runs ember on (default cpu)")
    group.addoption("--opdb-transform", default="none",
                    help="transform every ember op call goes through (tests/opdb/transforms.py; default none)")


class _Tally:
    def __init__(self):
        self.samples = Counter()
        self.xfailed = Counter()
        self.seen = False


_TALLY = _Tally()


def pytest_runtest_logreport(report):
    for key, value in getattr(report, "user_properties", ()):
        if key == "opdb":
            _TALLY.seen = True
            _TALLY.samples[value["test"]] += value["samples"]
            for _desc, reason in value["xfailed"]:
                _TALLY.xfailed[(value["entry"], value["test"], reason)] += 1


def pytest_terminal_summary(terminalreporter, config):
    if not _TALLY.seen:
        return
    from opdb.coverage import public_names
    from opdb.entries import ENTRIES
    tr = terminalreporter
    tr.section("op database")
    tr.write_line(f"device {config.getoption('opdb_device')}, transform {config.getoption('opdb_transform')}")
    tr.write_line(f"{len(public_names())} public op names, {len(ENTRIES)} entries, "
                  f"samples run: " + ", ".join(f"{t} {n}" for t, n in sorted(_TALLY.samples.items())))
    declared = [(e.name, s) for e in ENTRIES for s in e.skips]
    tr.write_line(f"{sum(not s.expected_failure for _, s in declared)} skips, "
                  f"{sum(s.expected_failure for _, s in declared)} expected failures declared:")
    for name, s in declared:
        where = ",".join(s.dtypes) or "all dtypes"
        where += f", samples '{s.sample}'" if s.sample else ""
        kind = "xfail" if s.expected_failure else "skip"
        tr.write_line(f"  {kind:5} {name} {s.test} [{where}]: {s.reason}")
    if _TALLY.xfailed:
        tr.write_line(f"{sum(_TALLY.xfailed.values())} samples failed as expected")
