"""The config of the GRU4Rec session benchmark (``benchmarks/gru4rec_rsc15_100k.py``, ``configs/gru4rec_rsc15.yaml``).

It names the click-log files of the sample, the settings of each GRU4Rec loss and the validation
grid of ``--tune``; ``tfrec train`` runs GRU4Rec from ``configs/train_gru4rec_rsc15.yaml`` instead.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional

from pydantic import Field

from tfrec.config.section import Section

Loss = Literal["cross-entropy", "bpr-max", "top1-max"]


class SessionFilesConfig(Section):
    """``data``: the click logs (GRU4Rec format: SessionId, ItemId, Time), relative to ``path``.

    Attributes:
      path: the dataset folder (``--data`` overrides it).
      train: training log of the final run (``*_train_full.txt``).
      test: held-out log (the last day).
      tune_train: training log of ``--tune`` (``*_train_tr.txt``).
      tune_valid: validation log of ``--tune`` (``*_train_valid.txt``).
    """

    path: Optional[str] = None
    train: str
    test: str
    tune_train: str
    tune_valid: str


class SessionTuneConfig(Section):
    """``tune``: the validation grid of ``--tune``.

    Attributes:
      n_epochs: epochs of each grid point; positive. Default 5.
      metric: selection metric, e.g. "mrr@20"; None = ``mrr@<k>``. Default None.
      grid: loss -> {parameter: [values]}; the value lists are crossed. Default {}.
    """

    n_epochs: int = Field(5, gt=0)
    metric: Optional[str] = None
    grid: Dict[Loss, Dict[str, List[Any]]] = Field(default_factory=dict)


class SessionBenchConfig(Section):
    """The GRU4Rec benchmark config.

    Attributes:
      data: see :class:`SessionFilesConfig`.
      k: cut-off of Recall@k and MRR@k; positive. Default 20.
      gru4rec: loss -> keyword arguments of ``GRU4RecRecommender`` for that loss.
      tune: see :class:`SessionTuneConfig`.
    """

    data: SessionFilesConfig
    k: int = Field(20, gt=0)
    gru4rec: Dict[Loss, Dict[str, Any]]
    tune: SessionTuneConfig = Field(default_factory=SessionTuneConfig)
