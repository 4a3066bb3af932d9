"""Seeded, deterministic train/test splits of interaction frames.

Every splitter takes a pandas DataFrame with one interaction per row, never mutates it, and returns
a :class:`Split` (or a list of them for :func:`kfold_split`). Column names default to the TFDS
``movielens`` names (``user_id``, ``movie_id``, ``user_rating``, ``timestamp``) and can be changed
with the ``user_col``, ``item_col``, ``rating_col`` and ``time_col`` keywords.

Rows keep their index labels from the input frame, so ``train.index`` and ``test.index`` tell where
each row came from. Row order is the input order, except where a function says otherwise
(:func:`random_split` returns shuffled rows, as the TFRS tutorial does; :func:`stratified_split`
returns rows grouped by user, as Microsoft Recommenders does).

Example:
  >>> import pandas as pd
  >>> from tfrec import splits
  >>> df = pd.DataFrame({"user_id": ["1", "1", "2", "2"], "movie_id": ["a", "b", "a", "c"],
  ...                    "timestamp": [1, 2, 1, 5]})
  >>> train, test = splits.leave_one_out(df)
  >>> test["movie_id"].tolist()
  ['b', 'c']
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tfrec.data.training_data import ITEM_COL, RATING_COL, TIME_COL, USER_COL
from tfrec.sampling import NegativeSampler

__all__ = [
    "Split",
    "random_split",
    "temporal_split",
    "leave_one_out",
    "ncf_split",
    "stratified_split",
    "kfold_split",
    "canonical_ml100k",
    "session_time_split",
    "validation_carve",
    "ML100K_SPLITS",
]

#: Names of the predefined MovieLens 100K splits (``<name>.base`` / ``<name>.test`` files).
ML100K_SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")


@dataclasses.dataclass(frozen=True, eq=False)  # DataFrames have no boolean ==
class Split:
    """A train/test split.

    Unpacks as ``train, test = split`` (``negatives`` is only reachable as an attribute).

    Attributes:
      train: training rows.
      test: test rows.
      negatives: only from :func:`ncf_split`: [len(test), num_negatives] array of item ids (the
        item column's values), ``negatives[i]`` sampled for the user of ``test.iloc[i]``; else None.
    """

    train: pd.DataFrame
    test: pd.DataFrame
    negatives: Optional[np.ndarray] = None

    def __iter__(self):
        return iter((self.train, self.test))

    def __len__(self) -> int:
        return 2


# ----------------------------------------------------------------------------------------------
# argument checks


def _check_frame(df, columns: Sequence[str], fn: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{fn} expects a pandas DataFrame. Received: {type(df).__name__}.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(
            f"{fn}: column(s) {missing} not found. Available columns: {list(map(str, df.columns))}. "
            "Pass the right names with user_col=, item_col=, time_col= (or session_col=)."
        )
    for c in columns:
        if df[c].isna().any():
            raise ValueError(
                f"{fn}: column {c!r} has {int(df[c].isna().sum())} missing value(s); "
                "drop or fill them before splitting."
            )


def _check_ratio(ratio, name: str = "ratio") -> float:
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) or not 0.0 < float(ratio) < 1.0:
        raise ValueError(
            f"{name} must be a number strictly between 0 and 1 (the training fraction). "
            f"Received: {name}={ratio!r}"
        )
    return float(ratio)


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def _codes(values: pd.Series) -> np.ndarray:
    """Sorted-order integer codes of a column (any dtype)."""
    return pd.factorize(values, sort=True)[0]


def _group_rank(sorted_codes: np.ndarray) -> np.ndarray:
    """Position of each row inside its run of equal codes (codes already sorted)."""
    n = len(sorted_codes)
    if n == 0:
        return np.zeros(0, np.int64)
    starts = np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]
    start_pos = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    return np.arange(n) - start_pos


# ----------------------------------------------------------------------------------------------
# splitters


def random_split(df: pd.DataFrame, ratio: float = 0.8, seed: int = 42, *, user_col: str = USER_COL,
                 item_col: str = ITEM_COL, rating_col: str = RATING_COL, time_col: str = TIME_COL) -> Split:
    """Shuffles all rows and puts the first ``round(ratio * n)`` into train, as the TFRS tutorial.

    The TFRS retrieval tutorial does ``shuffle(seed=42)``, ``take(80_000)``, ``skip(80_000)``; this
    is the same protocol on a DataFrame (the permutation comes from NumPy, not ``tf.data``).

    Args:
      df: interactions, one per row.
      ratio: float in (0, 1), fraction of rows in train. Default 0.8.
      seed: int seed of the permutation. Default 42.
      user_col, item_col, rating_col, time_col: column names (unused here apart from the check
        that the user and item columns exist).

    Returns:
      Split(train, test); both frames are in shuffled order.
    """
    ratio = _check_ratio(ratio)
    _check_frame(df, [user_col, item_col], "random_split")
    perm = np.random.default_rng(seed).permutation(len(df))
    n_train = round(ratio * len(df))
    return Split(df.iloc[perm[:n_train]], df.iloc[perm[n_train:]])


def temporal_split(df: pd.DataFrame, ratio: float = 0.8, *, user_col: str = USER_COL,
                   item_col: str = ITEM_COL, rating_col: str = RATING_COL, time_col: str = TIME_COL) -> Split:
    """Per user, the earliest ``round(ratio * n_u)`` interactions go to train, the rest to test.

    ``round`` is Python's (half to even), as in Microsoft Recommenders' chronological splitter, so a
    user with one interaction keeps it in train. Equal timestamps keep their order in ``df``.

    Args:
      df: interactions with user, item and time columns.
      ratio: float in (0, 1), per-user training fraction. Default 0.8.

    Returns:
      Split(train, test), rows in ``df`` order.
    """
    ratio = _check_ratio(ratio)
    _check_frame(df, [user_col, item_col, time_col], "temporal_split")
    u = _codes(df[user_col])
    t = _codes(df[time_col])
    order = np.lexsort((np.arange(len(df)), t, u))
    rank = np.empty(len(df), np.int64)
    rank[order] = _group_rank(u[order])
    sizes = np.bincount(u)
    n_train = np.round(ratio * sizes).astype(np.int64)  # half to even, like Python's round
    in_train = rank < n_train[u]
    return Split(df[in_train], df[~in_train])


LOO_PICKS = ("latest", "random")


def _loo_test_positions(df: pd.DataFrame, user_col: str, time_col: str, seed: int, pick: str = "latest") -> np.ndarray:
    """Row positions of each user's held-out interaction (users with >= 2 rows), sorted by user:
    the latest (``pick="latest"``, ties broken at random) or one drawn uniformly (``"random"``)."""
    if pick not in LOO_PICKS:
        raise ValueError(f"Unknown leave-one-out pick {pick!r}; expected one of {list(LOO_PICKS)} ('latest': each "
                         "user's latest interaction, 'random': one interaction drawn at random with seed).")
    u = _codes(df[user_col])
    tiebreak = np.random.default_rng(seed).permutation(len(df))
    if pick == "latest":
        order = np.lexsort((tiebreak, _codes(df[time_col]), u))
    else:
        order = np.lexsort((tiebreak, u))
    us = u[order]
    last = np.r_[us[1:] != us[:-1], True] if len(us) else np.zeros(0, bool)
    sizes = np.bincount(u)
    last &= sizes[us] >= 2
    return order[last]


def leave_one_out(df: pd.DataFrame, seed: int = 42, *, user_col: str = USER_COL, item_col: str = ITEM_COL,
                  rating_col: str = RATING_COL, time_col: str = TIME_COL, pick: str = "latest") -> Split:
    """One interaction of each user goes to test (the latest, or one at random); all others to train.

    With ``pick="latest"`` interactions that share a user's latest timestamp are tied: one of them is
    picked at random with ``seed``. ``pick="random"`` holds out one interaction per user drawn
    uniformly with ``seed`` (the recommender-systems course's leave-one-out; no time column needed).
    Users with a single interaction stay in train only (and have no test row).

    Args:
      df: interactions with user, item and time columns (time only for ``pick="latest"``).
      seed: int seed of the tie-break or the draw. Default 42.
      pick: "latest" (default) or "random".

    Returns:
      Split(train, test): train in ``df`` order; test has one row per user, sorted by user id.
    """
    _check_frame(df, [user_col, item_col] + ([time_col] if pick == "latest" else []), "leave_one_out")
    pos = _loo_test_positions(df, user_col, time_col, seed, pick)
    mask = np.zeros(len(df), bool)
    mask[pos] = True
    return Split(df[~mask], df.iloc[pos])


def ncf_split(df: pd.DataFrame, num_negatives: int = 99, seed: int = 42, *, user_col: str = USER_COL,
              item_col: str = ITEM_COL, rating_col: str = RATING_COL, time_col: str = TIME_COL,
              pick: str = "latest") -> Split:
    """Leave-one-out plus sampled negatives per test user, the NCF (He et al. 2017) protocol.

    The test row of each user is :func:`leave_one_out`'s with the same ``seed``. For each test user,
    ``num_negatives`` items are drawn uniformly without replacement from the items of ``df`` that
    the user never interacted with (in train or test).

    Args:
      df: interactions with user, item and time columns.
      num_negatives: int >= 1, negatives per test user. Default 99 (rank 1 positive among 100).
      seed: int seed. Default 42.
      pick: the held-out interaction, as in :func:`leave_one_out`: "latest" (default) or "random".

    Returns:
      Split(train, test, negatives): ``negatives`` is a [len(test), num_negatives] array of item ids
      (the item column's values; object dtype for strings), row ``i`` for ``test.iloc[i]``.

    Raises:
      ValueError: if a test user has fewer than ``num_negatives`` items left to sample from.
    """
    num_negatives = _check_int(num_negatives, "num_negatives", 1)
    _check_frame(df, [user_col, item_col] + ([time_col] if pick == "latest" else []), "ncf_split")
    split = leave_one_out(df, seed, user_col=user_col, item_col=item_col, time_col=time_col, pick=pick)
    u_codes, u_ids = pd.factorize(df[user_col], sort=True)
    i_codes, i_ids = pd.factorize(df[item_col], sort=True)
    n_items = len(i_ids)
    pos_keys = np.unique(u_codes.astype(np.int64) * n_items + i_codes)
    test_users = u_ids.get_indexer(split.test[user_col]).astype(np.int64)
    n_pos = np.searchsorted(pos_keys, (test_users + 1) * n_items) - np.searchsorted(pos_keys, test_users * n_items)
    available = n_items - n_pos
    short = available < num_negatives
    if short.any():
        bad = split.test[user_col].to_numpy()[short]
        raise ValueError(
            f"ncf_split: num_negatives={num_negatives} but {int(short.sum())} test user(s) have fewer "
            f"items they never interacted with (fewest: {int(available.min())}, e.g. users "
            f"{list(bad[:5])}). Use num_negatives <= {int(available.min())} or drop those users."
        )
    positives = sp.csr_matrix((np.ones(len(pos_keys), np.float32), (pos_keys // n_items, pos_keys % n_items)),
                              shape=(len(u_ids), n_items))
    # seed [seed, 1]: a stream of its own, so the LOO part equals leave_one_out
    neg_codes = NegativeSampler(positives, seed=[seed, 1]).sample_distinct(test_users, num_negatives)
    negatives = np.asarray(i_ids)[neg_codes]
    return Split(split.train, split.test, negatives)


def _split_ratios(ratio) -> tuple:
    """(is_multi, ratios) as Microsoft Recommenders' ``process_split_ratio``."""
    if isinstance(ratio, (list, tuple)):
        if len(ratio) < 2 or any(isinstance(x, bool) or not isinstance(x, numbers.Real) or x <= 0 for x in ratio):
            raise ValueError(
                f"A ratio list needs at least two positive numbers (one per split). Received: ratio={ratio!r}"
            )
        total = math.fsum(ratio)
        ratios = [float(x) for x in ratio] if total == 1.0 else [x / total for x in ratio]
        return True, ratios
    r = _check_ratio(ratio)
    return False, [r, 1 - r]


def stratified_split(df: pd.DataFrame, ratio: Union[float, Sequence[float]] = 0.75, min_rating: int = 1,
                     filter_by: str = "user", seed: int = 42, *, user_col: str = USER_COL,
                     item_col: str = ITEM_COL, rating_col: str = RATING_COL,
                     time_col: str = TIME_COL) -> Union[Split, List[pd.DataFrame]]:
    """Microsoft Recommenders' ``python_stratified_split``, row for row.

    Reproduces the pandas splitter of ``recommenders.datasets.python_splitters`` in the releases that
    split each group with ``split_pandas_data_with_ratios`` (up to 1.1.x):

    1. ``min_rating > 1`` drops users (or items, ``filter_by="item"``) with fewer rows.
    2. Group rows by user (or item), groups in sorted key order, rows of a group in ``df`` order.
    3. Shuffle each group as ``group.sample(frac=1, random_state=seed)`` (the same seed for every
       group) and cut it with ``np.split`` at ``round(c * len(group))`` for each cumulative ratio
       ``c`` but the last (Python's round, half to even: 2 rows at 0.75 -> 2 train, 0 test).
    4. Concatenate the groups; split ``i`` is the rows that fell in part ``i``.

    Later releases (1.2+) rank rows by one global ``np.random.rand`` draw and keep
    ``rank / count <= c``; that gives other rows and counts (floor instead of round), so results
    differ from those versions. Rows with a missing user/item id raise instead of being dropped.

    Args:
      df: interactions with user and item columns.
      ratio: float in (0, 1) (train fraction) or a list of positive floats, one per split,
        normalized to sum to 1 when they do not. Default 0.75.
      min_rating: int >= 1, minimum number of rows per user (or item); smaller groups are dropped.
      filter_by: "user" or "item": what to stratify (and filter) by.
      seed: int ``random_state`` of each group's ``sample``. Default 42.

    Returns:
      Split(train, test) for a float ratio; a list of DataFrames, one per ratio, for a list.
      Rows are ordered by group key, then by shuffled position.
    """
    if filter_by not in ("user", "item"):
        raise ValueError(f"filter_by must be 'user' or 'item'. Received: filter_by={filter_by!r}")
    min_rating = _check_int(min_rating, "min_rating", 1)
    multi, ratios = _split_ratios(ratio)
    _check_frame(df, [user_col, item_col], "stratified_split")
    by = user_col if filter_by == "user" else item_col
    g = _codes(df[by])
    sizes = np.bincount(g) if len(g) else np.zeros(0, np.int64)
    keep = sizes[g] >= min_rating
    data = df[keep]
    g = _codes(data[by])
    n = len(data)
    # position of each row inside its group, in df order
    order = np.lexsort((np.arange(n), g))
    pos = np.empty(n, np.int64)
    pos[order] = _group_rank(g[order])
    sizes = np.bincount(g) if n else np.zeros(0, np.int64)
    # shuffled position and part of each row, one permutation (and cut list) per distinct group size
    shuffled_pos = np.empty(n, np.int64)
    part = np.empty(n, np.int64)
    cum = np.cumsum(ratios).tolist()[:-1]
    row_size = sizes[g] if n else np.zeros(0, np.int64)
    for size in np.unique(sizes):
        size = int(size)
        perm = pd.Series(np.arange(size)).sample(frac=1, random_state=seed).to_numpy()
        inverse = np.empty(size, np.int64)
        inverse[perm] = np.arange(size)  # original position -> shuffled position
        cuts = np.array([round(c * size) for c in cum], np.int64)
        rows = row_size == size
        shuffled_pos[rows] = inverse[pos[rows]]
        part[rows] = np.searchsorted(cuts, shuffled_pos[rows], side="right")
    out_order = np.lexsort((shuffled_pos, g))
    ordered = data.iloc[out_order]
    part = part[out_order]
    parts = [ordered[part == i] for i in range(len(ratios))]
    if multi:
        return parts
    return Split(parts[0], parts[1])


def kfold_split(df: pd.DataFrame, k: int = 5, seed: int = 42, *, user_col: str = USER_COL,
                item_col: str = ITEM_COL, rating_col: str = RATING_COL, time_col: str = TIME_COL) -> List[Split]:
    """K-fold cross-validation over rows: every row is in exactly one test fold.

    Rows are shuffled with ``seed`` and cut into ``k`` folds of sizes differing by at most one
    (``np.array_split``).

    Args:
      df: interactions.
      k: int >= 2, number of folds (at most ``len(df)``).
      seed: int seed of the shuffle. Default 42.

    Returns:
      List of k Splits; fold ``i`` tests on part ``i`` and trains on the rest, rows in ``df`` order.
    """
    k = _check_int(k, "k", 2)
    _check_frame(df, [user_col, item_col], "kfold_split")
    if k > len(df):
        raise ValueError(f"k={k} folds need at least k rows; the frame has {len(df)}. Use a smaller k.")
    fold = np.empty(len(df), np.int64)
    for i, idx in enumerate(np.array_split(np.random.default_rng(seed).permutation(len(df)), k)):
        fold[idx] = i
    return [Split(df[fold != i], df[fold == i]) for i in range(k)]


def canonical_ml100k(path: Union[str, Path], name: str = "u1") -> Split:
    """Reads one of MovieLens 100K's predefined splits (``u1``..``u5``, ``ua``, ``ub``).

    Args:
      path: folder holding the ml-100k files (``u1.base``, ``u1.test``, ...).
      name: which split; one of ``ML100K_SPLITS``. ``u1``..``u5`` are the 80/20 five-fold split;
        ``ua``/``ub`` hold out exactly 10 ratings per user.

    Returns:
      Split(train, test) with TFDS column names: ``user_id`` and ``movie_id`` (str),
      ``user_rating`` (float32), ``timestamp`` (int64).
    """
    if name not in ML100K_SPLITS:
        raise ValueError(f"Unknown MovieLens 100K split {name!r}. Valid names: {list(ML100K_SPLITS)}.")
    folder = Path(path)
    frames = []
    for suffix in ("base", "test"):
        file = folder / f"{name}.{suffix}"
        if not file.is_file():
            raise FileNotFoundError(
                f"{file} not found. Pass the folder of the unpacked ml-100k archive (it holds u.data, "
                f"u1.base, u1.test, ...). Received: path={str(path)!r}"
            )
        raw = pd.read_csv(file, sep="\t", header=None, names=[USER_COL, ITEM_COL, RATING_COL, TIME_COL],
                          dtype={0: np.int64, 1: np.int64, 2: np.float32, 3: np.int64})
        frames.append(pd.DataFrame({
            USER_COL: raw[USER_COL].astype(str),
            ITEM_COL: raw[ITEM_COL].astype(str),
            RATING_COL: raw[RATING_COL].astype(np.float32),
            TIME_COL: raw[TIME_COL].astype(np.int64),
        }))
    return Split(frames[0], frames[1])


def _filter_min_count(df: pd.DataFrame, col: str, minimum: int) -> pd.DataFrame:
    counts = df[col].map(df[col].value_counts())
    return df[counts.to_numpy() >= minimum]


def session_time_split(df: pd.DataFrame, session_col: str = "SessionId", item_col: str = "ItemId",
                       time_col: str = "Time", test_days: float = 1, min_session_length: int = 2,
                       min_item_support: int = 5) -> Split:
    """GRU4Rec's RSC15 preprocessing (Hidasi et al. 2016, ``examples/rsc15/preprocess.py``).

    1. Drop sessions shorter than ``min_session_length``; then items with fewer than
       ``min_item_support`` events; then sessions shorter than ``min_session_length`` again.
    2. ``tmax`` = the latest event. Sessions whose last event is at or after
       ``tmax - test_days`` days go to test, the others to train.
    3. Test keeps only items present in train, then drops sessions shorter than
       ``min_session_length``.

    Applied to the published ``train_full`` file with ``min_item_support=1`` this gives
    ``train_tr`` / ``train_valid``. Use it on raw click logs; published files are already split.

    Args:
      df: click log with session, item and time columns.
      session_col, item_col, time_col: column names (GRU4Rec's by default).
      test_days: float > 0, length of the test period in days. Time is in seconds if numeric
        (unix time), else a datetime column.
      min_session_length: int >= 1. Default 2.
      min_item_support: int >= 1. Default 5.

    Returns:
      Split(train, test), rows in ``df`` order.
    """
    _check_frame(df, [session_col, item_col, time_col], "session_time_split")
    if isinstance(test_days, bool) or not isinstance(test_days, numbers.Real) or not test_days > 0:
        raise ValueError(f"test_days must be a positive number of days. Received: test_days={test_days!r}")
    min_session_length = _check_int(min_session_length, "min_session_length", 1)
    min_item_support = _check_int(min_item_support, "min_item_support", 1)
    data = _filter_min_count(df, session_col, min_session_length)
    data = _filter_min_count(data, item_col, min_item_support)
    data = _filter_min_count(data, session_col, min_session_length)
    if len(data) == 0:
        raise ValueError(
            "session_time_split: no events left after dropping sessions shorter than "
            f"{min_session_length} and items with fewer than {min_item_support} events "
            f"({len(df)} events before). Lower min_session_length / min_item_support."
        )
    times = data[time_col]
    if pd.api.types.is_numeric_dtype(times):
        window = float(test_days) * 86400.0
    elif pd.api.types.is_datetime64_any_dtype(times):
        window = pd.Timedelta(days=float(test_days))
    else:
        raise TypeError(
            f"Column {time_col!r} must hold unix seconds (numbers) or datetimes. Received dtype {times.dtype}."
        )
    tmax = times.max()
    session_end = data.groupby(session_col)[time_col].transform("max")
    is_test = (session_end >= tmax - window).to_numpy()
    train = data[~is_test]
    test = data[is_test]
    test = test[test[item_col].isin(train[item_col].unique()).to_numpy()]
    test = _filter_min_count(test, session_col, min_session_length)
    return Split(train, test)


# ----------------------------------------------------------------------------------------------
# validation carve (from the training rows of a split; the test rows are never passed in)


def validation_carve(train: pd.DataFrame, fraction: float, seed: int = 42, *, per_user: bool = False,
                     user_col: str = USER_COL, item_col: str = ITEM_COL) -> Tuple[pd.DataFrame, pd.DataFrame]:
    """Carves a seeded validation part out of training rows: the one carve for early stopping and tuning.

    Two protocols:

    * ``per_user=False`` (global; what ``tfrec train`` uses, ``data.validation_ratio`` /
      ``data.seed``): :func:`random_split` of all rows with train ratio ``1 - fraction``: the first
      ``round((1 - fraction) * n)`` rows of a seeded permutation are fit rows, the others validation.
      A user may end up with no validation row (or no fit row).
    * ``per_user=True``: :func:`stratified_split` with train ratio ``1 - fraction``: each user's
      rows are shuffled (the same seed for every user) and ``round((1 - fraction) * count)`` of them
      kept for fitting, so every user keeps about ``1 - fraction`` of their rows for fitting.

    Args:
      train: the training rows of a split (one interaction per row); never the test rows.
      fraction: float in (0, 1), the share of rows (of each user's rows with ``per_user``) that
        goes to validation.
      seed: int seed of the permutation. Default 42.
      per_user: carve within each user instead of over all rows. Default False.
      user_col, item_col: column names (checked to exist and have no missing values).

    Returns:
      (fit, validation) frames; their index labels are those of ``train``. Global: both in permuted
      order; per user: grouped by user.

    Example:
      >>> import pandas as pd
      >>> df = pd.DataFrame({"user_id": ["1"] * 6 + ["2"] * 4, "movie_id": list("abcdefabcd")})
      >>> fit, val = validation_carve(df, 0.2, seed=0)
      >>> len(fit), len(val)
      (8, 2)
      >>> fit, val = validation_carve(df, 0.5, seed=0, per_user=True)
      >>> val["user_id"].value_counts().sort_index().tolist()
      [3, 2]
    """
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0.0 < float(fraction) < 1.0:
        raise ValueError(f"fraction must be a number strictly between 0 and 1 (the validation share). "
                         f"Received: fraction={fraction!r}")
    keys = {"user_col": user_col, "item_col": item_col}
    if per_user:
        fit, val = stratified_split(train, 1.0 - float(fraction), seed=seed, **keys)
    else:
        fit, val = random_split(train, 1.0 - float(fraction), seed=seed, **keys)
    return fit, val
