"""Relance: recovers failed and late payments."""

__version__ = "0.1.0"
