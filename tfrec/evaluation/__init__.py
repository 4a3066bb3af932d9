"""Leakage-free evaluation: the algorithm interface, protocols and the bake-off evaluator."""

from tfrec.data.training_data import OOV_INDEX, Columns, TrainingData
from tfrec.evaluation.evaluator import EvaluatedAlgorithm, EvaluationData, Evaluator
from tfrec.evaluation.protocols import PROTOCOLS, Protocol
from tfrec.recommenders.base import Algorithm, top_k
from tfrec.recommenders.registry import available as available_algorithms
from tfrec.recommenders.registry import create as create_algorithm

__all__ = [
    "Algorithm",
    "Columns",
    "EvaluatedAlgorithm",
    "EvaluationData",
    "Evaluator",
    "OOV_INDEX",
    "PROTOCOLS",
    "Protocol",
    "TrainingData",
    "available_algorithms",
    "create_algorithm",
    "top_k",
]
