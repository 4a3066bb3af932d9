"""User and item side-feature columns of a :class:`~tfrec.data.training_data.TrainingData` as frames.

:func:`entity_frame` gives one row per user or item (in index order) and :func:`training_frame` the
training interactions with every feature column joined from the metadata where absent;
:func:`with_year` parses a MovieLens ``year`` column from ``movie_title`` where one is needed.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd

from tfrec.data.training_data import TrainingData

#: ``"Title (1995)"`` -> ``1995``.
YEAR = re.compile(r"\((\d{4})\)\s*$")


def with_year(frame: pd.DataFrame, needed: Sequence[str]) -> pd.DataFrame:
    """Adds a ``year`` column parsed from ``movie_title`` ("Toy Story (1995)") where one is needed."""
    if "year" in needed and "year" not in frame.columns and "movie_title" in frame.columns:
        frame = frame.copy()
        frame["year"] = pd.to_numeric(frame["movie_title"].astype(str).str.extract(YEAR)[0], errors="coerce")
    return frame


def entity_frame(data: TrainingData, which: str, columns: Sequence[str]) -> pd.DataFrame:
    """One row per user (``which="user"``) or item, in index order, with ``columns``.

    Columns come from the metadata frame of ``data`` (``data.users``/``data.items``) where it has them,
    else from the first training row of each user/item.
    """
    id_col = data.columns.user if which == "user" else data.columns.item
    ids = data.user_ids if which == "user" else data.item_ids
    idx_col = "user_idx" if which == "user" else "item_idx"
    meta = data.users if which == "user" else data.items
    out = pd.DataFrame({id_col: ids})
    first = data.frame.drop_duplicates(idx_col).sort_values(idx_col).set_index(idx_col)
    first = with_year(first, columns)
    if meta is not None:
        meta = with_year(meta, columns)
    for col in columns:
        if col == id_col:
            continue
        if meta is not None and col in meta.columns:
            out[col] = meta[col].to_numpy()
        elif col in first.columns:
            out[col] = first[col].reindex(np.arange(len(ids))).to_numpy()
        else:
            available = sorted(set(map(str, data.frame.columns)) | set(map(str, meta.columns if meta is not None else [])))
            raise KeyError(f"Feature column {col!r} is in neither the training frame nor the {which} metadata. "
                           f"Available columns: {available}.")
    return out


def training_frame(data: TrainingData, user_cols: Sequence[str], item_cols: Sequence[str]) -> pd.DataFrame:
    """The training interactions with every user and item feature column (joined from metadata when absent)."""
    frame = with_year(data.frame, item_cols)
    missing_u = [c for c in user_cols if c not in frame.columns]
    missing_i = [c for c in item_cols if c not in frame.columns]
    if missing_u or missing_i:
        frame = frame.copy()
        if missing_u:
            users = entity_frame(data, "user", missing_u)
            for c in missing_u:
                frame[c] = users[c].to_numpy()[frame["user_idx"].to_numpy()]
        if missing_i:
            items = entity_frame(data, "item", missing_i)
            for c in missing_i:
                frame[c] = items[c].to_numpy()[frame["item_idx"].to_numpy()]
    return frame


__all__ = ["entity_frame", "training_frame", "with_year"]
