"""Training data handed to algorithms: built from the training split only.

Everything an algorithm may see during ``fit`` lives in :class:`TrainingData`. Vocabularies (the
user and item indices) come from the training interactions only, so a test interaction can never
reach a model input, a vocabulary or a statistic.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np
import pandas as pd
import scipy.sparse as sp

# Column names of the TFDS ``movielens`` features; every splitter and the evaluator default to them.
USER_COL = "user_id"
ITEM_COL = "movie_id"
RATING_COL = "user_rating"
TIME_COL = "timestamp"

OOV_INDEX = -1  # index given to a user or item id that is not in the training vocabulary


@dataclasses.dataclass(frozen=True)
class Columns:
    """Names of the user, item, rating and timestamp columns of an interaction frame."""

    user: str = USER_COL
    item: str = ITEM_COL
    rating: Optional[str] = RATING_COL
    time: Optional[str] = TIME_COL


class TrainingData:
    """The training split, indexed, as every :class:`~tfrec.recommenders.Algorithm` receives it.

    Args:
      frame: training interactions, one row each, with at least the user and item columns (and the
        rating/timestamp columns where the data has them) plus any side-feature columns.
      columns: column names, TFDS ``movielens`` names by default.
      items: optional item metadata (one row per item id, column ``columns.item``); only rows of items
        in the training vocabulary are kept, in index order.
      users: optional user metadata (one row per user id, column ``columns.user``).

    Attributes:
      frame: the training frame with two added int32 columns ``user_idx`` and ``item_idx``.
      user_ids: [n_users] raw user ids; ``user_ids[i]`` is the id of user index ``i``.
      item_ids: [n_items] raw item ids.
      users_idx, items_idx: [n_interactions] int32 indices of each training interaction.
      ratings: [n_interactions] float32 ratings, or ``None`` if there is no rating column.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        columns: Columns = Columns(),
        items: Optional[pd.DataFrame] = None,
        users: Optional[pd.DataFrame] = None,
    ):
        for name, col in (("user", columns.user), ("item", columns.item)):
            if col not in frame.columns:
                raise KeyError(
                    f"The training frame has no {name} column {col!r}. "
                    f"Available columns: {sorted(map(str, frame.columns))}."
                )
        if len(frame) == 0:
            raise ValueError("The training frame is empty: there is nothing to fit on.")
        self.columns = columns
        self.user_ids = np.asarray(pd.unique(frame[columns.user]))
        self.item_ids = np.asarray(pd.unique(frame[columns.item]))
        self.user_ids.sort()
        self.item_ids.sort()
        self._user_lookup = pd.Index(self.user_ids)
        self._item_lookup = pd.Index(self.item_ids)
        frame = frame.copy()
        frame["user_idx"] = self._user_lookup.get_indexer(frame[columns.user]).astype(np.int32)
        frame["item_idx"] = self._item_lookup.get_indexer(frame[columns.item]).astype(np.int32)
        self.frame = frame.reset_index(drop=True)
        self.users_idx = self.frame["user_idx"].to_numpy()
        self.items_idx = self.frame["item_idx"].to_numpy()
        has_rating = columns.rating is not None and columns.rating in frame.columns
        self.ratings = self.frame[columns.rating].to_numpy(np.float32) if has_rating else None
        self.items = self._align(items, columns.item, self._item_lookup)
        self.users = self._align(users, columns.user, self._user_lookup)
        self._seen: Optional[sp.csr_matrix] = None

    @staticmethod
    def _align(meta: Optional[pd.DataFrame], col: str, lookup: pd.Index) -> Optional[pd.DataFrame]:
        if meta is None:
            return None
        if col not in meta.columns:
            raise KeyError(f"Metadata frame has no column {col!r}; columns: {sorted(map(str, meta.columns))}.")
        meta = meta.drop_duplicates(col).set_index(col)
        return meta.reindex(lookup).rename_axis(col).reset_index()

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def user_index(self, raw_ids) -> np.ndarray:
        """Maps raw user ids to indices; ids outside the training vocabulary map to ``OOV_INDEX``."""
        return self._user_lookup.get_indexer(np.asarray(raw_ids)).astype(np.int32)

    def item_index(self, raw_ids) -> np.ndarray:
        """Maps raw item ids to indices; ids outside the training vocabulary map to ``OOV_INDEX``."""
        return self._item_lookup.get_indexer(np.asarray(raw_ids)).astype(np.int32)

    def seen_matrix(self) -> sp.csr_matrix:
        """[n_users, n_items] CSR matrix with 1 where the user interacted with the item in training."""
        if self._seen is None:
            m = sp.csr_matrix(
                (np.ones(len(self.users_idx), np.float32), (self.users_idx, self.items_idx)),
                shape=(self.n_users, self.n_items),
            )
            m.data[:] = 1.0  # duplicates summed above; keep it binary
            self._seen = m
        return self._seen

    def item_popularity(self) -> np.ndarray:
        """[n_items] number of training interactions of each item."""
        return np.bincount(self.items_idx, minlength=self.n_items)
