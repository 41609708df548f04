import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["opdb.plugin"]  # the op database's options and summary, active in the xdist controller too
