"""Item content for content-based recommenders: dense per-item feature files and stoplists.

* :func:`read_item_features`: a CSV keyed by item id with one numeric column per feature (e.g. the
  mise-en-scene visual features of MovieLens movies: ``ML_Id,f1,f2,...``). A missing or non-numeric
  cell fails with a :class:`~tfrec.data.errors.DataFormatError` naming the file, the line and the column.
* :func:`stoplist_item_ids`: the ids of items to keep out of recommendations, from explicit ids,
  keywords in titles and genre names (MovieLens ``movies`` frame).

Example:
  >>> import io, pathlib, tempfile
  >>> path = pathlib.Path(tempfile.mkdtemp()) / "visual.csv"
  >>> _ = path.write_text("movie_id,f1,f2\\n1,0.5,2\\n2,1.5,4\\n")
  >>> read_item_features(path).to_dict("list")
  {'movie_id': ['1', '2'], 'f1': [0.5, 1.5], 'f2': [2.0, 4.0]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import numpy as np
import pandas as pd

from tfrec.data.errors import DataFormatError

__all__ = ["read_item_features", "stoplist_item_ids"]


def read_item_features(path: Union[str, Path], id_column: Optional[str] = None, encoding: str = "utf-8",
                       ) -> pd.DataFrame:
    """Reads a dense per-item feature CSV: a header line, an id column, then numeric feature columns.

    Args:
      path: the CSV file (comma-separated, header on line 1).
      id_column: the column holding the item id. Default None: the first column.
      encoding: text encoding of the file. Default "utf-8".

    Returns:
      [n_items, 1 + n_features] frame: the id column (as str, renamed ``movie_id``) then the features
      as float64, in file order.

    Raises:
      FileNotFoundError: no such file.
      DataFormatError: an empty file, no feature column, an unknown ``id_column``, a repeated id, or a
        missing or non-numeric cell (the message names the file, the 1-based line and the column).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"item feature file {path} does not exist.")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataFormatError(path, "the file is empty; expected a header line (id column, feature columns) "
                                    "and one line per item.") from None
    except pd.errors.ParserError as e:
        raise DataFormatError(path, f"not a comma-separated table: {e}") from None
    id_column = id_column or (raw.columns[0] if len(raw.columns) else None)
    if id_column not in raw.columns:
        raise DataFormatError(path, f"no id column {id_column!r}; the header has {list(raw.columns)}.", line=1)
    features = [c for c in raw.columns if c != id_column]
    if not features:
        raise DataFormatError(path, f"no feature column besides the id column {id_column!r}.", line=1)
    ids = raw[id_column].str.strip()
    values = raw[features].apply(lambda col: pd.to_numeric(col.str.strip(), errors="coerce"))
    bad = ~np.isfinite(values.to_numpy(np.float64))  # missing, non-numeric, inf
    empty_id = np.flatnonzero(ids.eq("").to_numpy())
    if empty_id.size:
        _fail_cell(path, int(empty_id[0]), raw.columns.get_loc(id_column), id_column, "", "an item id")
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        name = features[col]
        _fail_cell(path, row, raw.columns.get_loc(name), name, raw[name].iloc[row], "a number")
    dup = ids.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataFormatError(path, f"item id {ids.iloc[row]!r} appears again (column {id_column!r}); one line "
                                    "per item.", line=row + 2)
    out = values.astype(np.float64)
    out.insert(0, "movie_id", ids.to_numpy())
    return out.reset_index(drop=True)


def _fail_cell(path: Path, row: int, col: int, name: str, cell: str, expected: str) -> None:
    what = "is empty" if str(cell).strip() == "" else f"is {cell!r}"
    raise DataFormatError(path, f"column {col + 1} ({name!r}) {what}; expected {expected}.", line=row + 2,
                          hint="Fill in or remove that line.")


def stoplist_item_ids(movies: pd.DataFrame, ids: Iterable = (), title_keywords: Sequence[str] = (),
                      genres: Sequence[str] = (), genre_names: Sequence[str] = ()) -> np.ndarray:
    """Sorted ids of the items to leave out of every recommendation list.

    Args:
      movies: one row per item with ``movie_id`` and (for keywords/genres) ``movie_title`` and
        ``movie_genres`` (lists of genre labels, as ``load_movielens(...).movies``).
      ids: explicit item ids (kept even when they are not in ``movies``). Default ().
      title_keywords: case-insensitive substrings of titles, e.g. ["sex", "drugs"]. Default ().
      genres: genre names (case-insensitive), e.g. ["Horror"]. Default ().
      genre_names: the name of each genre label (``MOVIELENS_GENRES``); needed with ``genres``.

    Returns:
      [n] str array of item ids.

    Raises:
      ValueError: an unknown genre name (lists the known ones), or keywords/genres without the
        ``movie_title`` / ``movie_genres`` column.
    """
    out = {str(i) for i in ids}
    if title_keywords:
        if "movie_title" not in movies.columns:
            raise ValueError("title keywords need the items' titles (column 'movie_title').")
        titles = movies["movie_title"].astype(str).str.lower()
        hit = np.zeros(len(movies), bool)
        for word in title_keywords:
            hit |= titles.str.contains(str(word).lower(), regex=False).to_numpy()
        out.update(movies["movie_id"].astype(str).to_numpy()[hit])
    if genres:
        if "movie_genres" not in movies.columns:
            raise ValueError("genre stoplists need the items' genres (column 'movie_genres').")
        lookup = {str(n).lower(): i for i, n in enumerate(genre_names)}
        unknown = [g for g in genres if str(g).lower() not in lookup]
        if unknown:
            raise ValueError(f"unknown genre(s) {unknown}; known genres: {list(genre_names)}.")
        wanted = {lookup[str(g).lower()] for g in genres}
        hit = movies["movie_genres"].map(lambda labels: bool(wanted.intersection(labels))).to_numpy(bool)
        out.update(movies["movie_id"].astype(str).to_numpy()[hit])
    return np.asarray(sorted(out), dtype=str)
