"""Leakage-free evaluation: protocols and the bake-off evaluator (and, for convenience, the
:class:`~tfrec.recommenders.Algorithm` interface and registry of :mod:`tfrec.recommenders`)."""

from tfrec.evaluation.evaluator import EvaluatedAlgorithm, EvaluationData, Evaluator
from tfrec.evaluation.protocols import PROTOCOLS, Protocol
from tfrec.recommenders.base import Algorithm, top_k
from tfrec.recommenders.registry import available as available_algorithms
from tfrec.recommenders.registry import create as create_algorithm

__all__ = [
    "Algorithm",
    "EvaluatedAlgorithm",
    "EvaluationData",
    "Evaluator",
    "PROTOCOLS",
    "Protocol",
    "available_algorithms",
    "create_algorithm",
    "top_k",
]
