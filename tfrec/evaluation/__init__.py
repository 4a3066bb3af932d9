"""Leakage-free evaluation: protocols and the bake-off evaluator (and, for convenience, the
:class:`~tfrec.recommenders.Algorithm` interface). Algorithms by name: ``tfrec.training.build_algorithm``."""

from tfrec.evaluation.evaluator import EvaluatedAlgorithm, EvaluationData, Evaluator
from tfrec.evaluation.protocols import PROTOCOLS, Protocol
from tfrec.recommenders.base import Algorithm, top_k

__all__ = [
    "Algorithm",
    "EvaluatedAlgorithm",
    "EvaluationData",
    "Evaluator",
    "PROTOCOLS",
    "Protocol",
    "top_k",
]
