"""Runnable examples: ``python -m ember.examples.fit``."""
