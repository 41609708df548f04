"""Optimizers: ``ember.optim.SGD``, ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``, ``Adadelta``, ``Adamax``,
``NAdam``, ``RAdam``, ``Rprop``, ``ASGD``, ``Adafactor``, ``SparseAdam``, ``Muon`` and the ``Optimizer`` base."""
from ember.optim.adadelta import Adadelta
from ember.optim.adafactor import Adafactor
from ember.optim.adagrad import Adagrad
from ember.optim.adam import Adam
from ember.optim.adamax import Adamax
from ember.optim.adamw import AdamW
from ember.optim.asgd import ASGD
from ember.optim.nadam import NAdam
from ember.optim.lbfgs import LBFGS
from ember.optim.muon import Muon
from ember.optim.optimizer import Optimizer, required
from ember.optim._stateless import swap_in_optimizer_params_and_state
from ember.optim.radam import RAdam
from ember.optim.rmsprop import RMSprop
from ember.optim.rprop import Rprop
from ember.optim.sgd import SGD
from ember.optim.sparse_adam import SparseAdam
from ember.optim import lr_scheduler, swa_utils  # noqa: F401  (ember.optim.lr_scheduler, .swa_utils)

__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "LBFGS", "Rprop", "ASGD",
           "Adafactor", "SparseAdam", "Muon",
           "swap_in_optimizer_params_and_state", "Optimizer",
           "required"]
