"""Names of the algorithms the evaluator and the ``tfrec evaluate`` CLI know.

Each entry maps a name to ``"module:factory"``; the module is imported only when the algorithm is
used, so listing a model here costs nothing at start-up. A factory takes keyword parameters (from the
config file) and returns an :class:`~tfrec.recommenders.base.Algorithm`.
To add an algorithm, add one line to ``ALGORITHMS``.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any, Dict

ALGORITHMS: Dict[str, str] = {
    "random": "tfrec.recommenders.random:RandomRecommender",
    "popularity": "tfrec.recommenders.popularity:PopularityRecommender",
    "global_mean": "tfrec.recommenders.mean:GlobalMeanRecommender",
    "item_mean": "tfrec.recommenders.mean:ItemMeanRecommender",
    "mf": "tfrec.recommenders.mf:MatrixFactorizationRecommender",
    "item_knn": "tfrec.recommenders.knn:ItemKNNRecommender",
    "user_knn": "tfrec.recommenders.knn:UserKNNRecommender",
    "two_tower": "tfrec.recommenders.two_tower:TwoTowerRecommender",
    "ranking_mlp": "tfrec.recommenders.ranking:RankingRecommender",
    "two_stage": "tfrec.recommenders.two_stage:TwoStageRecommender",
    "multitask": "tfrec.recommenders.multitask:MultiTaskRecommender",
    "gmf": "tfrec.recommenders.ncf:gmf_recommender",
    "mlp": "tfrec.recommenders.ncf:mlp_recommender",
    "neumf": "tfrec.recommenders.ncf:neumf_recommender",
    "bpr": "tfrec.recommenders.ncf:bpr_recommender",
    "i_autorec": "tfrec.recommenders.autorec:i_autorec",
    "u_autorec": "tfrec.recommenders.autorec:u_autorec",
    "rbm": "tfrec.recommenders.rbm:RBMRecommender",
    "dcn": "tfrec.recommenders.ctr:DCNRecommender",
    "deepfm": "tfrec.recommenders.ctr:DeepFMRecommender",
    "fm": "tfrec.recommenders.ctr:FMRecommender",
    "logreg": "tfrec.recommenders.ctr:LogisticRegressionRecommender",
}


def available() -> list:
    """Sorted names of the registered algorithms."""
    return sorted(ALGORITHMS)


def create(name: str, /, **params: Any):
    """Builds the algorithm registered as ``name`` with ``params``.

    Raises:
      ValueError: ``name`` is unknown; the message lists the valid names and the closest match.
    """
    if name not in ALGORITHMS:
        close = difflib.get_close_matches(name, ALGORITHMS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown algorithm {name!r}.{hint} Valid algorithms: {', '.join(available())}.")
    module_name, attr = ALGORITHMS[name].split(":")
    factory = getattr(importlib.import_module(module_name), attr)
    try:
        algo = factory(**params)
    except TypeError as e:
        raise ValueError(f"Invalid parameters for algorithm {name!r}: {params}. {e}") from e
    if params.get("name") is None:
        algo.name = name
    return algo
