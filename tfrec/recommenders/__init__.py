"""Recommenders: the :class:`Algorithm` interface, the registry of algorithm names, and the adapters
that fit and score each model family on a :class:`~tfrec.data.training_data.TrainingData`.

Importing this package does not import TensorFlow; each adapter module is imported on use (through
:func:`create` or directly, e.g. ``tfrec.recommenders.ncf``).
"""

from tfrec.recommenders.base import Algorithm, top_k
from tfrec.recommenders.registry import ALGORITHMS, available, create

__all__ = ["ALGORITHMS", "Algorithm", "available", "create", "top_k"]
