"""The registry of the model families of ``tfrec train``: name -> :class:`Task`.

``model.name`` of a training config is looked up here (:func:`get_task`); ``tfrec train
--list-models`` lists :func:`available`; the trainer and the tuner take the default early-stopping
metric from :func:`monitor_of`. Importing this module does not import TensorFlow.

Example:
  >>> from tfrec.training.families.registry import get_task, monitor_of
  >>> get_task("mf").defaults["embedding_dim"]
  64
  >>> monitor_of("dcn", {"task": "ctr"})
  ('val_auc', 'max')
"""

from __future__ import annotations

import difflib
from typing import Any, Dict, List, Tuple

from tfrec.training.families.autorec import AutoRecTask
from tfrec.training.families.base import Task
from tfrec.training.families.ctr import CTRTask
from tfrec.training.families.gru4rec import GRU4RecTask
from tfrec.training.families.mf import MFTask
from tfrec.training.families.ncf import NCFTask
from tfrec.training.families.ranking import RankingTask
from tfrec.training.families.rbm import RBMTask
from tfrec.training.families.two_tower import TwoTowerTask

__all__ = ["TASKS", "available", "get_task", "monitor_of"]

#: every registered family by name (to add one: subclass ``Task`` and add an instance here)
TASKS: Dict[str, Task] = {t.name: t for t in (MFTask(), NCFTask(), TwoTowerTask(), RankingTask(), CTRTask("dcn"),
                                              CTRTask("deepfm"), CTRTask("fm"), CTRTask("logreg"),
                                              AutoRecTask("item"), AutoRecTask("user"), RBMTask(), GRU4RecTask())}


def available() -> List[str]:
    """Sorted names of the registered model families."""
    return sorted(TASKS)


def get_task(name: str) -> Task:
    """The family registered as ``name``.

    Raises:
      ValueError: unknown name (lists the valid ones and the closest match).
    """
    if name not in TASKS:
        close = difflib.get_close_matches(str(name), list(TASKS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown model {name!r}.{hint} Valid models: {', '.join(available())}.")
    return TASKS[name]


def monitor_of(name: str, params: Dict[str, Any]) -> Tuple[str, str]:
    """(default monitor, mode) of family ``name`` with ``params`` (CTR families monitor AUC with ``task: ctr``)."""
    return get_task(name).monitor_for(params)
