"""The one registry of tfrec's algorithms: name -> :class:`Task`, for ``tfrec train``, ``evaluate`` and ``bench``.

Every algorithm has exactly one name here, a params schema with its defaults and one way to build
it. Keras families (mf, two_tower, ranking, the CTR models, the NCF models, AutoRec, GRU4Rec) are
:class:`Task` subclasses trained by the Trainer; closed-form algorithms (random, popularity, the
means, item KNN, ...) are :class:`~tfrec.training.families.closed_form.ClosedFormTask` entries
fitted by their own ``fit``; the session baselines (session_popularity, successor_rule, session_knn)
are :class:`~tfrec.training.families.session.SessionBaselineTask` entries, fitted on click logs and
evaluated by the session protocol that GRU4Rec's runs use. ``model.name`` of a training config and
``name`` of a ``tfrec evaluate`` algorithms entry are looked up here (:func:`get_task`); ``tfrec train
--list-models`` and ``tfrec evaluate --list`` list :func:`available`; the trainer and the tuner take
the default early-stopping metric from :func:`monitor_of`. Importing this module does not import TensorFlow.

Example:
  >>> from tfrec.training.families.registry import get_task, monitor_of
  >>> get_task("mf").defaults["embedding_dim"]
  64
  >>> monitor_of("dcn", {"task": "ctr"})
  ('val_auc', 'max')
  >>> get_task("popularity").closed_form
  True
"""

from __future__ import annotations

import difflib
from typing import Any, Dict, List, Tuple

from tfrec.training.families.autorec import AutoRecTask
from tfrec.training.families.base import Task
from tfrec.training.families.bpr import BPRTask
from tfrec.training.families.closed_form import (ClosedFormTask, ContentKNNParams, ItemMeanParams, KNNFamilyParams,
                                                 NoParams, PopularityParams, RandomParams)
from tfrec.training.families.ctr import CTRTask
from tfrec.training.families.factorization import ALSFamilyParams, SVDFamilyParams, SVDppFamilyParams
from tfrec.training.families.gru4rec import GRU4RecTask
from tfrec.training.families.hybrid import HybridParams
from tfrec.training.families.mf import MFTask
from tfrec.training.families.multitask import MultiTaskTask
from tfrec.training.families.ncf import GMFTask, MLPTask, NeuMFTask
from tfrec.training.families.ranking import RankingTask
from tfrec.training.families.rbm import RBMTask
from tfrec.training.families.session import SESSION_BASELINES
from tfrec.training.families.two_stage import TwoStageTask
from tfrec.training.families.two_tower import TwoTowerTask

__all__ = ["RENAMED", "TASKS", "available", "get_task", "monitor_of", "register"]

_R = "tfrec.recommenders"
_CLOSED_FORM = (
    ClosedFormTask("random", f"{_R}.random:RandomRecommender", "ranking", RandomParams),
    ClosedFormTask("popularity", f"{_R}.popularity:PopularityRecommender", "ranking", PopularityParams),
    ClosedFormTask("global_mean", f"{_R}.mean:GlobalMeanRecommender", "rating", NoParams),
    ClosedFormTask("item_mean", f"{_R}.mean:ItemMeanRecommender", "rating", ItemMeanParams),
    ClosedFormTask("item_knn", f"{_R}.knn:ItemKNNRecommender", "rating", KNNFamilyParams),
    ClosedFormTask("user_knn", f"{_R}.knn:UserKNNRecommender", "rating", KNNFamilyParams),
    ClosedFormTask("content_knn", f"{_R}.content_knn:ContentKNNRecommender", "rating", ContentKNNParams),
    ClosedFormTask("hybrid", "tfrec.training.hybrid:build_hybrid", "rating", HybridParams),
    ClosedFormTask("svd", f"{_R}.svd:SVDRecommender", "rating", SVDFamilyParams),
    ClosedFormTask("svdpp", f"{_R}.svdpp:SVDppRecommender", "rating", SVDppFamilyParams),
    ClosedFormTask("als", f"{_R}.als:ALSRecommender", "ranking", ALSFamilyParams),
    # algorithms that train with their own loop until they become Trainer tasks (schemas from their signatures)
)

#: every registered algorithm by name (to add one: a ``Task`` instance here, or :func:`register`)
TASKS: Dict[str, Task] = {t.name: t for t in (
    MFTask(), NeuMFTask(), GMFTask(), MLPTask(), BPRTask(), TwoTowerTask(), RankingTask(),
    CTRTask("dcn"), CTRTask("deepfm"), CTRTask("fm"), CTRTask("logreg"), AutoRecTask("item"), AutoRecTask("user"),
    RBMTask(), GRU4RecTask(), MultiTaskTask(), TwoStageTask(), *SESSION_BASELINES, *_CLOSED_FORM)}

#: names that no longer exist -> what to use instead
RENAMED: Dict[str, str] = {
    "ncf": "use 'neumf', 'gmf' or 'mlp'",
    "autorec": "use 'i_autorec' (item-based) or 'u_autorec' (user-based)",
    "ranking_mlp": "use 'ranking'",
}


def register(task: Task) -> Task:
    """Adds ``task`` under ``task.name`` (replacing an entry of that name) and returns it."""
    TASKS[task.name] = task
    return task


def available() -> List[str]:
    """Sorted names of the registered algorithms."""
    return sorted(TASKS)


def get_task(name: str) -> Task:
    """The algorithm registered as ``name``.

    Raises:
      ValueError: a renamed name ("model 'ncf' was renamed: use 'neumf', 'gmf' or 'mlp'"), or an
        unknown one (lists the valid ones and the closest match).
    """
    if name in RENAMED and name not in TASKS:
        raise ValueError(f"model {name!r} was renamed: {RENAMED[name]}.")
    if name not in TASKS:
        close = difflib.get_close_matches(str(name), list(TASKS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown model {name!r}.{hint} Valid models: {', '.join(available())}.")
    return TASKS[name]


def monitor_of(name: str, params: Dict[str, Any]) -> Tuple[str, str]:
    """(default monitor, mode) of family ``name`` with ``params`` (CTR families monitor AUC with ``task: ctr``)."""
    return get_task(name).monitor_for(params)
