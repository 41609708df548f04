"""``DataParallel`` at torch's address; it is defined with the modules (``ember.nn.DataParallel``)."""
from ember.nn.modules.data_parallel import DataParallel

__all__ = ["DataParallel"]
