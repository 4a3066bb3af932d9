"""Feature preprocessing fitted on training data only: vocabularies, normalization, bucketization.

Each preprocessor is built by a ``fit`` class method from the *training* values (never the test
split: a statistic of test data in a model input is leakage), transforms any values without failing
on unseen or missing ones, and round-trips through a JSON-able ``to_config()`` / ``from_config()``
so an exported model can carry it.

Example:
  >>> from tfrec.data import Vocabulary, Normalizer, Bucketizer
  >>> vocab = Vocabulary.fit(["a", "b", "a", "c"], min_count=2)
  >>> vocab.lookup(["a", "b", "zzz"]).tolist()   # 0 = out-of-vocabulary bucket
  [1, 0, 0]
  >>> Normalizer.fit([1.0, 3.0, float("nan")]).transform([1.0, 3.0, float("nan")]).tolist()
  [-1.0, 1.0, 0.0]
  >>> Bucketizer.fit([1, 2, 3, 4], num_buckets=2).transform([1, 4, float("nan")]).tolist()
  [1, 2, 0]
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import pandas as pd

OOV_INDEX = 0  # Vocabulary.lookup index of an unknown or missing value
MISSING_BUCKET = 0  # Bucketizer.transform index of a missing (NaN/inf) value

Token = Union[str, int]


def _check_int(name: str, value, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        expected = f"an integer >= {minimum}" + (" or None" if allow_none else "")
        raise ValueError(f"Received an invalid value for {name}, expected {expected}. Received: {name}={value!r}")


def _as_strings(values) -> pd.Series:
    """Values -> pandas strings; None/NaN stay missing. Integers and their strings compare equal."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values).ravel())
    if series.dtype.kind == "f":  # ids read as float because of NaN: 3.0 -> "3"
        whole = series.notna() & (series == np.floor(series))
        series = series.astype(object).where(~whole, series[whole].astype("int64").astype(object))
    return series.astype("str")


def _finite(values) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64).ravel()
    return x[np.isfinite(x)]


def _check_config(cls_name: str, config: Dict[str, Any], keys: Sequence[str]) -> None:
    if not isinstance(config, dict):
        raise TypeError(f"{cls_name}.from_config needs a dict; received {type(config).__name__}.")
    got = config.get("class_name", cls_name)
    if got != cls_name:
        raise ValueError(f"{cls_name}.from_config received a config of class_name={got!r}.")
    missing = [k for k in keys if k not in config]
    if missing:
        raise ValueError(f"{cls_name}.from_config: config lacks key(s) {missing}; received keys {sorted(config)}.")


class Vocabulary:
    """Maps raw ids to integer indices ``1..len(tokens)``; anything else maps to 0 (the OOV bucket).

    Tokens are compared as strings, so the int ``5`` and the string ``"5"`` are the same id.

    Args:
      tokens: the known ids in index order (index of ``tokens[i]`` is ``i + 1``); no duplicates.

    Attributes:
      tokens: list of str.
      size: ``len(tokens) + 1``, the input dimension an embedding over ``lookup`` needs.
    """

    def __init__(self, tokens: Sequence[Token]):
        tokens = [str(t) for t in tokens]
        if len(set(tokens)) != len(tokens):
            dups = sorted({t for t in tokens if tokens.count(t) > 1})[:5]
            raise ValueError(f"Vocabulary tokens must be unique; received duplicates {dups}.")
        self.tokens: List[str] = tokens
        self._index = pd.Index(tokens, dtype="str")

    @classmethod
    def fit(cls, values, min_count: int = 1, max_size: Optional[int] = None) -> "Vocabulary":
        """Builds the vocabulary of the training values.

        Args:
          values: [n] training ids (any array-like of str/int; None/NaN are ignored).
          min_count: keep ids seen at least this many times.
          max_size: keep at most this many ids (the most frequent); None = no limit. The OOV bucket is
            not counted, so indices run ``0..max_size``.

        Returns:
          Vocabulary with ids sorted by decreasing count, ties by id (deterministic).
        """
        _check_int("min_count", min_count, 1)
        _check_int("max_size", max_size, 1, allow_none=True)
        counts = _as_strings(values).value_counts(dropna=True)
        counts = counts[counts >= min_count]
        order = pd.DataFrame({"token": counts.index.astype(str), "count": counts.to_numpy()})
        order = order.sort_values(["count", "token"], ascending=[False, True], kind="stable")
        tokens = order["token"].tolist()
        return cls(tokens if max_size is None else tokens[:max_size])

    @property
    def size(self) -> int:
        return len(self.tokens) + 1

    def __len__(self) -> int:
        return self.size

    def lookup(self, values) -> np.ndarray:
        """[n] ids -> [n] int64 indices; unknown and missing ids give ``OOV_INDEX`` (0)."""
        series = _as_strings(values)
        return self._index.get_indexer(series).astype(np.int64) + 1  # -1 (not found) -> 0

    def token(self, indices) -> np.ndarray:
        """[n] indices -> [n] ids (object array); index 0 gives None."""
        table = np.asarray([None] + self.tokens, dtype=object)
        return table[np.asarray(indices, dtype=np.int64)]

    def to_config(self) -> Dict[str, Any]:
        return {"class_name": "Vocabulary", "tokens": list(self.tokens)}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Vocabulary":
        _check_config("Vocabulary", config, ["tokens"])
        return cls(config["tokens"])

    def __repr__(self) -> str:
        return f"Vocabulary({len(self.tokens)} tokens + OOV)"


class Normalizer:
    """Standardizes numbers with the training mean and standard deviation: ``(t(x) - mean) / std``.

    Args:
      mean: mean of the (transformed) training values.
      std: their standard deviation (population, ddof=0); must be > 0.
      log1p: transform values with the signed log ``sign(x) * log1p(|x|)`` first (for heavy-tailed
        counts such as Criteo's I1..I13, which include small negatives).
      missing_value: output for a missing (NaN) or infinite input; 0.0 = the training mean.
    """

    def __init__(self, mean: float, std: float, log1p: bool = False, missing_value: float = 0.0):
        if not np.isfinite(mean):
            raise ValueError(f"Received an invalid value for mean, expected a finite number. Received: mean={mean!r}")
        if not (np.isfinite(std) and std > 0):
            raise ValueError(f"Received an invalid value for std, expected a finite number > 0. Received: std={std!r}")
        self.mean = float(mean)
        self.std = float(std)
        self.log1p = bool(log1p)
        self.missing_value = float(missing_value)

    @staticmethod
    def _forward(x: np.ndarray, log1p: bool) -> np.ndarray:
        return np.sign(x) * np.log1p(np.abs(x)) if log1p else x

    @classmethod
    def fit(cls, values, log1p: bool = False, missing_value: float = 0.0) -> "Normalizer":
        """Fits mean and std on the finite training values (NaN and inf are ignored).

        A constant column gets ``std = 1`` (its values all normalize to 0).

        Raises:
          ValueError: no finite value to fit on.
        """
        x = _finite(values)
        if x.size == 0:
            raise ValueError(
                f"Normalizer.fit received no finite value (got {np.asarray(values).size} values, all NaN/inf "
                f"or none); fit it on a training column that has numbers."
            )
        t = cls._forward(x, log1p)
        std = float(np.std(t))
        return cls(mean=float(np.mean(t)), std=std if std > 0 else 1.0, log1p=log1p, missing_value=missing_value)

    def transform(self, values) -> np.ndarray:
        """[...] numbers -> [...] float32 normalized numbers; NaN/inf -> ``missing_value``."""
        x = np.asarray(values, dtype=np.float64)
        out = (self._forward(x, self.log1p) - self.mean) / self.std
        return np.where(np.isfinite(x), out, self.missing_value).astype(np.float32)

    def inverse_transform(self, values) -> np.ndarray:
        """Undoes ``transform`` (for finite inputs)."""
        t = np.asarray(values, dtype=np.float64) * self.std + self.mean
        return np.sign(t) * np.expm1(np.abs(t)) if self.log1p else t

    def to_config(self) -> Dict[str, Any]:
        return {
            "class_name": "Normalizer",
            "mean": self.mean,
            "std": self.std,
            "log1p": self.log1p,
            "missing_value": self.missing_value,
        }

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Normalizer":
        _check_config("Normalizer", config, ["mean", "std"])
        return cls(**{k: v for k, v in config.items() if k != "class_name"})

    def __repr__(self) -> str:
        return f"Normalizer(mean={self.mean:.6g}, std={self.std:.6g}, log1p={self.log1p})"


class Bucketizer:
    """Maps numbers to quantile buckets fitted on training data: 0 = missing, 1..num_buckets.

    A value ``x`` goes to bucket ``1 + (number of boundaries <= x)``, so bucket 1 is
    ``x < boundaries[0]`` and the last is ``x >= boundaries[-1]``.

    Args:
      boundaries: increasing bucket boundaries.

    Attributes:
      num_buckets: ``len(boundaries) + 1``.
      size: ``num_buckets + 1`` (with the missing bucket 0), the input dimension an embedding needs.
    """

    def __init__(self, boundaries: Sequence[float]):
        b = np.asarray(boundaries, dtype=np.float64).ravel()
        if not np.all(np.isfinite(b)) or np.any(np.diff(b) <= 0):
            raise ValueError(
                f"Received invalid boundaries, expected finite, strictly increasing numbers. Received: "
                f"boundaries={b.tolist()[:10]}"
            )
        self.boundaries = b

    @classmethod
    def fit(cls, values, num_buckets: int) -> "Bucketizer":
        """Boundaries at the 1/num_buckets, ..., (num_buckets-1)/num_buckets quantiles of the finite
        training values (numpy's default linear interpolation). Equal quantiles are merged, so a
        column with many ties gets fewer buckets than asked (see ``num_buckets``).

        Raises:
          ValueError: num_buckets < 1, or no finite value to fit on.
        """
        _check_int("num_buckets", num_buckets, 1)
        x = _finite(values)
        if x.size == 0:
            raise ValueError(
                f"Bucketizer.fit received no finite value (got {np.asarray(values).size} values); fit it on a "
                f"training column that has numbers."
            )
        q = np.arange(1, num_buckets) / num_buckets
        return cls(np.unique(np.quantile(x, q)) if len(q) else [])

    @property
    def num_buckets(self) -> int:
        return len(self.boundaries) + 1

    @property
    def size(self) -> int:
        return self.num_buckets + 1

    def transform(self, values) -> np.ndarray:
        """[...] numbers -> [...] int64 buckets in ``0..num_buckets`` (0 for NaN/inf)."""
        x = np.asarray(values, dtype=np.float64)
        buckets = np.searchsorted(self.boundaries, x, side="right") + 1
        return np.where(np.isfinite(x), buckets, MISSING_BUCKET).astype(np.int64)

    def to_config(self) -> Dict[str, Any]:
        return {"class_name": "Bucketizer", "boundaries": self.boundaries.tolist()}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Bucketizer":
        _check_config("Bucketizer", config, ["boundaries"])
        return cls(config["boundaries"])

    def __repr__(self) -> str:
        return f"Bucketizer({self.num_buckets} buckets)"


_CLASSES = {"Vocabulary": Vocabulary, "Normalizer": Normalizer, "Bucketizer": Bucketizer}


def preprocessor_from_config(config: Union[Dict[str, Any], str]):
    """Rebuilds a Vocabulary, Normalizer or Bucketizer from ``to_config()`` (a dict or its JSON text)."""
    if isinstance(config, str):
        config = json.loads(config)
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in _CLASSES:
        raise ValueError(
            f"preprocessor_from_config: class_name must be one of {sorted(_CLASSES)}; received {name!r}."
        )
    return _CLASSES[name].from_config(config)


def add_user_history(
    frame: pd.DataFrame,
    history: pd.DataFrame,
    *,
    user_col: str = "user_id",
    item_col: str = "movie_id",
    column: str = "user_history",
    exclude_own: bool = False,
    max_length: Optional[int] = None,
    order_by: Optional[str] = None,
) -> pd.DataFrame:
    """``frame`` plus a list column: the items each row's user has in ``history`` (SVD++'s N(u)).

    The implicit-feedback feature of SVD++ (Koren 2008) as a ``multi_hot`` input of the feature
    models (``{"name": column, "kind": "multi_hot"}``, mean-pooled item embeddings). The lists come
    from the rows of ``history`` only: pass the rows the model is trained on, never validation or
    test rows, or their interactions reach the model's inputs (leakage). Rows of ``frame`` whose user
    has no ``history`` row get an empty list.

    Args:
      frame: rows to annotate (training, validation or test rows); not modified.
      history: the training interactions the lists are built from.
      user_col, item_col: user and item id columns of both frames (ids compared with ``==``, so give
        both frames the same id types).
      column: name of the new list column; must not exist in ``frame`` yet.
      exclude_own: leave each row's own item out of its list. For the training rows, a list with the
        target item in it is a signal that validation and test rows (whose item is never in the
        training history) do not have; excluding it makes training rows look like the rows predicted.
      max_length: keep at most this many items per list: the last ones in ``history`` order (by
        ``order_by`` when given, e.g. the timestamp: the most recent). None keeps every item.
      order_by: optional column of ``history`` to sort each user's items by (stable, ascending).

    Returns:
      A copy of ``frame`` with ``column`` added (lists of item ids, in history order).

    Example:
      >>> train = pd.DataFrame({"user_id": [1, 1, 2], "movie_id": [10, 11, 10]})
      >>> test = pd.DataFrame({"user_id": [1, 3], "movie_id": [12, 10]})
      >>> add_user_history(test, train)["user_history"].tolist()
      [[10, 11], []]
      >>> add_user_history(train, train, exclude_own=True)["user_history"].tolist()
      [[11], [10], []]
    """
    for name, value in (("frame", frame), ("history", history)):
        if not isinstance(value, pd.DataFrame):
            raise TypeError(f"add_user_history: {name} must be a pandas DataFrame; received {type(value).__name__}.")
    _check_int("max_length", max_length, 1, allow_none=True)
    for name, value, needed in (("frame", frame, [user_col, item_col] if exclude_own else [user_col]),
                                ("history", history, [user_col, item_col] + ([order_by] if order_by else []))):
        missing = [c for c in needed if c not in value.columns]
        if missing:
            raise KeyError(f"add_user_history: {name} lacks column(s) {missing}; it has {sorted(map(str, value.columns))}.")
    if column in frame.columns:
        raise ValueError(f"add_user_history: frame already has a column {column!r}; pick another column= name.")
    rows = history.sort_values(order_by, kind="stable") if order_by else history
    lists = rows.groupby(user_col, sort=False)[item_col].agg(list).to_dict()
    keep = None if max_length is None else max_length + (1 if exclude_own else 0)
    users = frame[user_col].tolist()
    out = []
    if exclude_own:
        for user, item in zip(users, frame[item_col].tolist()):
            items = lists.get(user, [])
            items = [x for x in (items if keep is None else items[-keep:]) if x != item]
            out.append(items if max_length is None else items[-max_length:])
    else:
        for user in users:
            items = lists.get(user, [])
            out.append(list(items if keep is None else items[-keep:]))
    return frame.assign(**{column: out})
