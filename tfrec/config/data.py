"""``data``: where the interactions of a ``tfrec train`` / ``tfrec tune`` run come from and how they are split."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Union

from pydantic import Field

from tfrec.config.section import Fail, Section

#: roles of ``data.columns`` (session click logs)
SESSION_ROLES = ("session", "item", "time")


class CTRTableConfig(Section):
    """``data.ctr``: the schema of a CTR table that is not Criteo-layout (``tfrec.data.CTRSchema``).

    Attributes:
      label: the 0/1 click column.
      numeric: numeric feature columns (empty field = missing). Default [].
      categorical: categorical feature columns (kept as text). Default [].

    Example:
      >>> CTRTableConfig(label="clicked", numeric=["price"], categorical=["site"]).label
      'clicked'
    """

    label: str
    numeric: List[str] = Field(default_factory=list)
    categorical: List[str] = Field(default_factory=list)


class OutlierFilterConfig(Section):
    """``data.filter``: outlier users and items dropped from the loaded ratings before the split
    (``tfrec.data.filters.filter_outliers``; heavy raters such as bots, rare items).

    Attributes:
      max_user_ratings: drop users with more ratings than this; positive; None = no limit. Default None.
      max_user_zscore: drop users whose rating count has a z-score above this; None = no limit. Default None.
      min_item_ratings: then drop items with fewer ratings than this; positive; None = no limit. Default None.

    Example:
      >>> OutlierFilterConfig(max_user_ratings=1000).min_item_ratings is None
      True
    """

    max_user_ratings: Optional[int] = Field(None, gt=0)
    max_user_zscore: Optional[float] = None
    min_item_ratings: Optional[int] = Field(None, gt=0)


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
        seeded split, see ``test_ratio``), "ctr" (a CTR table with the columns of ``ctr``, read by
        ``tfrec.data.load_ctr_csv``; the same split as criteo), "sessions" (GRU4Rec click logs read by
        ``tfrec.data.load_sessions``; time split, see ``test_file``) or "auto" (detected from the
        folder's files; "ctr" when ``ctr`` is set) or "shards" (a ratings shard folder with
        ``manifest.json`` from ``tfrec data convert`` / ``tfrec data synth``, read batch by batch;
        split by a hash of each (user, item) pair with ``seed``: ``test_ratio`` test rows, then
        ``validation_ratio`` of the rest for validation; vocabularies from the training rows only,
        see ``tfrec.data.holdout``; a CTR shard folder is split as criteo is, by a hash of each row's
        categorical ids: ``test_ratio`` and ``validation_ratio`` are shares of all rows, see
        ``tfrec.data.ctr_stream.scan_ctr_split``). Default "auto".
      file: the file of the folder to read (criteo, ctr: the CSV; sessions: the training click log).
        None = the folder's only CSV (criteo) / its ``*_train_full.txt`` (sessions). Default None.
      test_file: sessions: the held-out click log (the last day); None = the folder's ``*_test.txt``,
        else the sessions ending in the last ``session_days`` of ``file``. Default None.
      test_ratio: criteo: rows are permuted with ``seed``; the last ``test_ratio`` are the test rows,
        the ``validation_ratio`` before them validation, the rest fit (0.1/0.1 = an 80/10/10 split).
        In (0, 1), and ``test_ratio + validation_ratio < 1``. Default 0.1.
      session_days: sessions: the validation rows are the training sessions that end in the last
        ``session_days`` days (GRU4Rec's ``train_tr`` / ``train_valid`` split); > 0. Default 1.0.
      fit_validation: sessions: the model trains on the validation sessions too, i.e. on the whole
        training log (GRU4Rec's ``train_full`` -> ``test`` protocol, with the epoch count chosen on
        ``train_tr`` -> ``train_valid`` beforehand). The validation metrics then describe trained
        sessions, so early stopping and ``training.restore_best`` must be off. Default False.
      encoding: text encoding of the data files, e.g. "latin-1", "cp1252"; None = the format's default
        (MovieLens: latin-1 for ml-100k/ml-1m, utf-8 for the CSV layout; other formats utf-8). Default None.
      duplicates: movielens: a (user, item) pair rated on several lines: "error" (refuse the file,
        naming both lines), "keep-last" or "mean". Default "error".
      rating_scale: movielens: ``[low, high]`` every rating must lie in (else the load fails naming the
        line); "auto" = the layout's scale (1..5, or 0.5..5 for the CSV layout); None = no check.
        Default "auto".
      columns: sessions: the click log's column names for the roles "session", "item" and "time",
        e.g. ``{session: sid, item: iid, time: ts}``; roles not given keep GRU4Rec's names
        (``SessionId``, ``ItemId``, ``Time``). Default {}.
      order_by: sessions: the columns that order the clicks of a session, first the time role then
        tie-breakers, e.g. ``[time, seq]`` (a role name or a column of the file); [] = time, then file
        order. Default [].
      stream: shards: stream the training rows from the files every epoch (True) or read them once
        into compact int32/float32 arrays (False; the same rows in the same order). Default True.
      ctr: a CTR table with its own columns (``format: ctr``): label, numeric and categorical columns,
        see :class:`CTRTableConfig`. Default None.
      filter: movielens: outlier users/items dropped before the split, see :class:`OutlierFilterConfig`.
        Default None.

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
    format: Literal["auto", "movielens", "criteo", "ctr", "sessions", "shards"] = "auto"
    file: Optional[str] = None
    test_file: Optional[str] = None
    test_ratio: float = Field(0.1, gt=0, lt=1)
    session_days: float = Field(1.0, gt=0)
    fit_validation: bool = False
    encoding: Optional[str] = None
    duplicates: Literal["error", "keep-last", "mean"] = "error"
    rating_scale: Union[Literal["auto"], List[float], None] = "auto"
    columns: Dict[str, str] = Field(default_factory=dict)
    order_by: List[str] = Field(default_factory=list)
    ctr: Optional[CTRTableConfig] = None
    stream: bool = True
    filter: Optional[OutlierFilterConfig] = None

    def check_data(self, fail: Fail) -> None:
        """Cross-key checks of ``data`` (called by the root config's ``check``)."""
        if isinstance(self.rating_scale, list) and not (len(self.rating_scale) == 2
                                                        and self.rating_scale[0] <= self.rating_scale[1]):
            fail("data.rating_scale", "config key 'data.rating_scale' must be [low, high] with low <= high, "
                                      f"'auto' or null; got {self.rating_scale!r}.")
        unknown = sorted(set(self.columns) - set(SESSION_ROLES))
        if unknown:
            fail("data.columns", f"config key 'data.columns' has unknown role(s) {unknown}; valid roles: "
                                 f"{list(SESSION_ROLES)} (a CTR table's columns go in data.ctr).")
        if len(set(self.columns.values())) != len(self.columns):
            fail("data.columns", f"config key 'data.columns' gives one column to several roles: {self.columns!r}.")
        if self.format == "ctr" and self.ctr is None:
            fail("data.format", "config key 'data.format' is 'ctr' but data.ctr is not set; give the table's "
                                "columns, e.g. data.ctr: {label: clicked, numeric: [price], categorical: [site]}.")
        if self.ctr is not None and self.format not in ("auto", "ctr"):
            fail("data.ctr", f"config key 'data.ctr' is set but data.format is {self.format!r}; use format ctr "
                             "(or auto).")
        if self.ctr is not None:
            names = [self.ctr.label, *self.ctr.numeric, *self.ctr.categorical]
            dups = sorted({n for n in names if names.count(n) > 1})
            if dups:
                fail("data.ctr", f"config key 'data.ctr' lists column(s) {dups} more than once.")
            if not self.ctr.numeric and not self.ctr.categorical:
                fail("data.ctr", "config key 'data.ctr' has no feature columns; list numeric and/or categorical.")
