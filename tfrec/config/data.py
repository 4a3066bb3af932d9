"""``data``: where the interactions of a ``tfrec train`` / ``tfrec tune`` run come from and how they are split."""

from __future__ import annotations

from typing import Any, Dict, Literal, Optional

from pydantic import Field

from tfrec.config.section import Section


class DataConfig(Section):
    """Where the interactions come from and how they are split.

    Attributes:
      dataset: name of a folder under ``$TFREC_DATA`` (default ``../shared/data``), e.g. "ml-100k",
        or a path to the dataset folder. Default "ml-100k".
      path: explicit dataset folder; overrides ``dataset`` when set. Default None.
      protocol: the evaluation protocol that makes the train/test split, one of
        ``tfrec.evaluation.PROTOCOLS`` ("random", "msr_stratified", "temporal", "leave_one_out",
        "ncf", "canonical", "kfold" -- kfold trains on its first fold). Default "random".
      protocol_params: the protocol's parameters, e.g. ``{ratio: 0.8, seed: 42}``. Default {}.
      validation_ratio: fraction of the *training* rows carved out (randomly, with ``seed``) for
        early stopping and tuning; test rows are never seen before the final evaluation; in (0, 1).
        Default 0.1.
      seed: seed of the validation carve. Default 42.
      max_rows: keep only the first ``max_rows`` rows of the dataset (quick tests); positive. Default None.
      min_rating: retrieval families train only on interactions rated at least this. Default None.
      format: how the dataset folder is read: "movielens" (ratings; split by ``protocol``),
        "criteo" (a CTR table ``label, I1..I13, C1..C26`` read by ``tfrec.data.load_criteo``; fixed
        seeded split, see ``test_ratio``), "sessions" (GRU4Rec click logs read by
        ``tfrec.data.load_sessions``; time split, see ``test_file``) or "auto" (detected from the
        folder's files). Default "auto".
      file: the file of the folder to read (criteo: the CSV; sessions: the training click log).
        None = the folder's only CSV (criteo) / its ``*_train_full.txt`` (sessions). Default None.
      test_file: sessions: the held-out click log (the last day); None = the folder's ``*_test.txt``,
        else the sessions ending in the last ``session_days`` of ``file``. Default None.
      test_ratio: criteo: rows are permuted with ``seed``; the last ``test_ratio`` are the test rows,
        the ``validation_ratio`` before them validation, the rest fit (0.1/0.1 = an 80/10/10 split).
        In (0, 1), and ``test_ratio + validation_ratio < 1``. Default 0.1.
      session_days: sessions: the validation rows are the training sessions that end in the last
        ``session_days`` days (GRU4Rec's ``train_tr`` / ``train_valid`` split); > 0. Default 1.0.

    Example:
      >>> DataConfig(dataset="ml-100k", protocol_params={"ratio": 0.8}).validation_ratio
      0.1
    """

    dataset: str = "ml-100k"
    path: Optional[str] = None
    protocol: str = "random"
    protocol_params: Dict[str, Any] = Field(default_factory=dict)
    validation_ratio: float = Field(0.1, gt=0, lt=1)
    seed: int = 42
    max_rows: Optional[int] = Field(None, gt=0)
    min_rating: Optional[float] = None
    format: Literal["auto", "movielens", "criteo", "sessions"] = "auto"
    file: Optional[str] = None
    test_file: Optional[str] = None
    test_ratio: float = Field(0.1, gt=0, lt=1)
    session_days: float = Field(1.0, gt=0)
