"""Optimizers: ``ember.optim.SGD``, ``Adam``, ``AdamW`` and the ``Optimizer`` base."""
from ember.optim.adam import Adam
from ember.optim.adamw import AdamW
from ember.optim.optimizer import Optimizer, required
from ember.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "required"]
