"""Outlier filtering of interactions at data time: heavy raters (bots, shared accounts) and rare items.

Applied to the loaded ratings before the protocol splits them (``data.filter`` of ``tfrec evaluate``),
like MovieLens' own "every user has at least 20 ratings" rule: it decides which users and items are in
the dataset, not what a model learns from a split.

Example:
  >>> import pandas as pd
  >>> frame = pd.DataFrame({"user_id": ["a"] * 5 + ["b", "b", "c"], "movie_id": list("vwxyzvwv")})
  >>> kept, report = filter_outliers(frame, max_user_ratings=4)
  >>> sorted(kept["user_id"].unique()), report["removed_users"]
  (['b', 'c'], ['a'])
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np
import pandas as pd

__all__ = ["filter_outliers"]


def filter_outliers(frame: pd.DataFrame, *, user_col: str = "user_id", item_col: str = "movie_id",
                    max_user_ratings: Optional[int] = None, max_user_zscore: Optional[float] = None,
                    min_item_ratings: Optional[int] = None) -> "tuple[pd.DataFrame, Dict[str, Any]]":
    """Drops every interaction of outlier users, then of rare items.

    Users are judged on their interaction counts in ``frame``: a user is removed when the count is
    above ``max_user_ratings`` or its z-score ``(count - mean) / std`` (population std over users)
    is above ``max_user_zscore``. Items with fewer than ``min_item_ratings`` interactions left after
    that are removed next (one pass; users are not re-checked).

    Args:
      frame: [n, ...] interactions with ``user_col`` and ``item_col``.
      user_col, item_col: the id columns. Defaults "user_id", "movie_id".
      max_user_ratings: most interactions a user may have; positive, None = no limit. Default None.
      max_user_zscore: highest z-score of a user's count; None = no limit. Default None.
      min_item_ratings: fewest interactions an item needs; positive, None = no limit. Default None.

    Returns:
      (kept rows in their original order with a fresh index, report) where the report has
      ``removed_users`` (sorted ids), ``removed_items`` (sorted ids), ``removed_rows`` (int) and the
      thresholds used.

    Raises:
      KeyError: a missing id column.
      ValueError: a non-positive count threshold.
    """
    for name, col in (("user", user_col), ("item", item_col)):
        if col not in frame.columns:
            raise KeyError(f"filter_outliers: no {name} column {col!r}; columns: {sorted(map(str, frame.columns))}.")
    for name, value in (("max_user_ratings", max_user_ratings), ("min_item_ratings", min_item_ratings)):
        if value is not None and (isinstance(value, bool) or int(value) != value or value < 1):
            raise ValueError(f"{name} must be a positive integer or None. Received: {name}={value!r}")
    counts = frame[user_col].value_counts()
    out_users = np.zeros(len(counts), bool)
    if max_user_ratings is not None:
        out_users |= counts.to_numpy() > max_user_ratings
    if max_user_zscore is not None:
        std = counts.std(ddof=0)
        z = (counts - counts.mean()) / std if std > 0 else counts * 0.0
        out_users |= z.to_numpy() > max_user_zscore
    removed_users = counts.index[out_users]
    keep = ~frame[user_col].isin(removed_users).to_numpy()
    removed_items = pd.Index([])
    if min_item_ratings is not None:
        item_counts = frame.loc[keep, item_col].value_counts()
        removed_items = item_counts.index[item_counts.to_numpy() < min_item_ratings]
        keep &= ~frame[item_col].isin(removed_items).to_numpy()
    report = {"removed_users": sorted(removed_users.tolist(), key=str),
              "removed_items": sorted(removed_items.tolist(), key=str),
              "removed_rows": int((~keep).sum()),
              "max_user_ratings": max_user_ratings, "max_user_zscore": max_user_zscore,
              "min_item_ratings": min_item_ratings}
    return frame.loc[keep].reset_index(drop=True), report
