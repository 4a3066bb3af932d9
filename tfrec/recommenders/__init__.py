"""Recommenders: the :class:`Algorithm` interface and the algorithms that fit and score on a
:class:`~tfrec.data.training_data.TrainingData`.

Names, parameter schemas and builders of the algorithms live in the one registry,
``tfrec.training.families.registry`` (``tfrec.training.build_algorithm(name, params)``).
Importing this package does not import TensorFlow; each algorithm module is imported on use.
"""

from tfrec.recommenders.base import Algorithm, top_k

__all__ = ["Algorithm", "top_k"]
