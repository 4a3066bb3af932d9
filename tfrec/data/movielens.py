"""MovieLens loader: the ml-100k, ml-1m and CSV (ml-latest-small, ml-latest, ml-20m, ml-25m) layouts.

Frames use the feature names and label encodings of TFDS ``movielens/*-ratings`` (see
``tensorflow_datasets/structured/movielens.py``), so code written against TFDS works on local files
and the other way round.

Example:
  >>> from tfrec.data import load_movielens
  >>> ml = load_movielens("../shared/data/ml-100k")          # doctest: +SKIP
  >>> ml.layout, len(ml.ratings)                              # doctest: +SKIP
  ('ml-100k', 100000)
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from tfrec.data._io import Field, data_line, read_table
from tfrec.data.errors import DataFormatError
from tfrec.data.validation import check_policy, check_rating_scale, resolve_duplicates

# TFDS ``movie_genres`` ClassLabel names, in label order (Action = 0, ..., "(no genres listed)" = 20).
MOVIELENS_GENRES: Tuple[str, ...] = (
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "Unknown", "War", "Western", "(no genres listed)",
)  # fmt: skip
# TFDS ``user_occupation_label`` ClassLabel names, in label order.
OCCUPATION_LABELS: Tuple[str, ...] = (
    "academic/educator", "artist", "clerical/admin", "customer service", "doctor/health care",
    "entertainment", "executive/managerial", "farmer", "homemaker", "lawyer", "librarian",
    "other/not specified", "programmer", "retired", "sales/marketing", "scientist", "self-employed",
    "student", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)  # fmt: skip
# TFDS ``bucketized_user_age`` values: the lower bound of each MovieLens 1M age group.
AGE_BUCKETS: Tuple[int, ...] = (1, 18, 25, 35, 45, 50, 56)

# Genre column order of ml-100k's u.item (as in its u.genre file).
_ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)  # fmt: skip
# ml-100k occupation text -> TFDS label (TFDS merges some 100k occupations into 1M's groups).
_ML100K_OCCUPATIONS = {
    "administrator": "clerical/admin", "artist": "artist", "doctor": "doctor/health care",
    "educator": "academic/educator", "engineer": "technician/engineer",
    "entertainment": "entertainment", "executive": "executive/managerial",
    "healthcare": "doctor/health care", "homemaker": "homemaker", "lawyer": "lawyer",
    "librarian": "librarian", "marketing": "sales/marketing", "none": "other/not specified",
    "other": "other/not specified", "programmer": "programmer", "retired": "retired",
    "salesman": "sales/marketing", "scientist": "scientist", "student": "student",
    "technician": "technician/engineer", "writer": "writer",
}  # fmt: skip
# ml-1m occupation codes 0..20 -> text (its README); "K-12 student"/"college/grad student" -> "student".
_ML1M_OCCUPATIONS = (
    "other/not specified", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)  # fmt: skip

# Canonical layout -> (ratings file, movies file, users file or None).
LAYOUT_FILES: Dict[str, Tuple[str, str, Optional[str]]] = {
    "ml-100k": ("u.data", "u.item", "u.user"),
    "ml-1m": ("ratings.dat", "movies.dat", "users.dat"),
    "ml-latest": ("ratings.csv", "movies.csv", None),
}
# Layout -> (ratings file separator, header line, default encoding, rating scale).
_RATINGS_FORMAT: Dict[str, Tuple[str, bool, str, Tuple[float, float]]] = {
    "ml-100k": ("\t", False, "latin-1", (1.0, 5.0)),
    "ml-1m": ("::", False, "latin-1", (1.0, 5.0)),
    "ml-latest": (",", True, "utf-8", (0.5, 5.0)),
}
# Names accepted for ``layout`` that mean the CSV layout.
_CSV_ALIASES = ("ml-latest-small", "ml-20m", "ml-25m", "ml-32m")
LAYOUTS: Tuple[str, ...] = ("auto",) + tuple(LAYOUT_FILES) + _CSV_ALIASES
SOURCES: Tuple[str, ...] = ("local", "tfds")
# Layout name -> TFDS config prefix (``movielens/<prefix>-ratings``).
TFDS_VARIANTS: Dict[str, str] = {
    "auto": "100k",
    "ml-100k": "100k",
    "ml-1m": "1m",
    "ml-latest-small": "latest-small",
    "ml-20m": "20m",
    "ml-25m": "25m",
}

RATING_COLUMNS = ("user_id", "movie_id", "user_rating", "timestamp", "movie_title", "movie_genres")
USER_COLUMNS = (
    "user_id", "bucketized_user_age", "raw_user_age", "user_gender", "user_occupation_label",
    "user_occupation_text", "user_zip_code",
)  # fmt: skip

_GENRE_LABEL = {name: i for i, name in enumerate(MOVIELENS_GENRES)}
_GENRE_LABEL.update({"Children's": _GENRE_LABEL["Children"], "unknown": _GENRE_LABEL["Unknown"]})
_OCCUPATION_LABEL = {name: i for i, name in enumerate(OCCUPATION_LABELS)}
_YEAR = r"\((\d{4})(?:[-\u2013]\d{0,4})?\)\s*$"  # "Title (1995)", also "(2007-2013)" and "(2007-)"


@dataclasses.dataclass
class MovieLens:
    """A MovieLens dataset as pandas frames with TFDS ``movielens`` feature names.

    Attributes:
      ratings: one row per rating, in file order, joined with movie and (where the layout has them)
        user features: ``user_id`` (str), ``movie_id`` (str), ``user_rating`` (float32),
        ``timestamp`` (int64, Unix seconds), ``movie_title`` (str), ``movie_genres`` (list of int
        labels, see ``MOVIELENS_GENRES``); ml-100k and ml-1m add the ``USER_COLUMNS`` features.
      movies: one row per movie: ``movie_id``, ``movie_title``, ``movie_genres`` and ``year`` (Int64,
        <NA> where the title has no parsable "(YYYY)").
      users: one row per user with ``USER_COLUMNS`` (ml-100k, ml-1m), or None.
        ``user_gender`` is bool (True = male, as TFDS); ``bucketized_user_age`` float32 (one of
        ``AGE_BUCKETS``); ``raw_user_age`` float32 (ml-100k only: ml-1m has only the age group, so
        its frames have no such column, as in TFDS); ``user_occupation_label`` int64 (index into ``OCCUPATION_LABELS``);
        ``user_occupation_text`` and ``user_zip_code`` str.
      layout: "ml-100k", "ml-1m", "ml-latest" (the CSV layout) or "tfds/<config>".
      path: the folder read, or None for ``source="tfds"``.
    """

    ratings: pd.DataFrame
    movies: pd.DataFrame
    users: Optional[pd.DataFrame]
    layout: str
    path: Optional[Path]

    def __repr__(self) -> str:
        users = "None" if self.users is None else f"{len(self.users)} users"
        return (
            f"MovieLens(layout={self.layout!r}, path={str(self.path) if self.path else None!r}, "
            f"{len(self.ratings)} ratings, {len(self.movies)} movies, {users})"
        )


# ----------------------------------------------------------------------------------------------
# Public entry point


def load_movielens(
    path: Union[str, Path, None] = None,
    *,
    layout: str = "auto",
    source: str = "local",
    data_dir: Union[str, Path, None] = None,
    download: bool = False,
    encoding: Optional[str] = None,
    rating_scale: Union[str, Sequence[float], None] = "auto",
    duplicates: str = "error",
) -> MovieLens:
    """Loads MovieLens ratings, movies and users from a local folder or from TFDS.

    Args:
      path: folder holding the dataset files (``source="local"``), e.g. ``".../ml-100k"``.
      layout: "auto" (detect from the files), "ml-100k" (``u.data``, ``u.item``, ``u.user``),
        "ml-1m" (``ratings.dat``, ``movies.dat``, ``users.dat``), or "ml-latest" (``ratings.csv``,
        ``movies.csv``; also accepted as "ml-latest-small", "ml-20m", "ml-25m", "ml-32m").
        With ``source="tfds"`` it picks the TFDS config ("auto" = 100k).
      source: "local" or "tfds" (``tfds.load("movielens/<config>-ratings")``).
      data_dir: TFDS data folder (``source="tfds"`` only).
      download: let TFDS download and prepare the data (``source="tfds"`` only; needs internet).
      encoding: text encoding of the files, e.g. "latin-1", "cp1252"; default the layout's
        (latin-1 for ml-100k and ml-1m, utf-8 for the CSV layout).
      rating_scale: (low, high): every rating must lie inside, or the load fails naming the line;
        "auto" (default): the layout's scale (1..5 for ml-100k/ml-1m, 0.5..5 for the CSV layout);
        None: no check.
      duplicates: what to do with a (user, movie) pair rated on several lines: "error" (default;
        names both lines), "keep-last" (the last line), "mean" (their mean rating, at the last line's
        position, with the latest timestamp).

    Returns:
      MovieLens with ``ratings``, ``movies``, ``users`` frames (see :class:`MovieLens`).

    Raises:
      ValueError: unknown ``layout`` or ``source``, or no ``path`` with ``source="local"``.
      FileNotFoundError: the folder or the layout's files are missing (says which were looked for).
      DataFormatError: a file is empty or has a malformed line, a rating outside the scale, or a
        repeated (user, movie) pair with ``duplicates="error"`` (names file and line).
      RuntimeError: ``source="tfds"`` and the data is neither prepared in ``data_dir`` nor downloadable.
    """
    _check_choice("source", source, SOURCES)
    _check_choice("layout", layout, LAYOUTS)
    check_policy(duplicates)
    if source == "tfds":
        return _load_tfds(layout, data_dir, download)
    if path is None:
        raise ValueError(
            "load_movielens(source='local') needs the dataset folder: pass it as path, e.g. "
            "load_movielens('path/to/ml-100k') (or --data PATH on the command line), or use "
            "source='tfds' to read TFDS movielens."
        )
    folder = Path(path).expanduser()
    if not folder.is_dir():
        what = "a file" if folder.exists() else "not found"
        raise FileNotFoundError(
            f"MovieLens folder {folder} is {what}; pass the folder that holds the dataset files "
            f"({_files_text()})."
        )
    resolved = _resolve_layout(folder, layout)
    loader = {"ml-100k": _load_100k, "ml-1m": _load_1m, "ml-latest": _load_csv}[resolved]
    sep, header, default_encoding, default_scale = _RATINGS_FORMAT[resolved]
    enc = encoding or default_encoding
    ratings, movies, users = loader(folder, enc)
    ratings_path = folder / LAYOUT_FILES[resolved][0]

    def locate(row: int, problem: str, hint: str) -> None:
        _raise_at_row(ratings_path, row, problem, header=header, sep=sep, encoding=enc, hint=hint)

    check_rating_scale(ratings, default_scale if isinstance(rating_scale, str) and rating_scale == "auto"
                       else rating_scale, locate)
    ratings = resolve_duplicates(ratings, duplicates, locate,
                                 line_of=lambda row: data_line(ratings_path, row, header=header, sep=sep,
                                                               encoding=enc)[0])
    return MovieLens(ratings=ratings, movies=movies, users=users, layout=resolved, path=folder)


# ----------------------------------------------------------------------------------------------
# Layout detection


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown {name} {value!r}.{hint} Valid choices: {', '.join(choices)}.")


def _files_text() -> str:
    return "; ".join(f"{name}: {', '.join(f for f in files if f)}" for name, files in LAYOUT_FILES.items())


def _resolve_layout(folder: Path, layout: str) -> str:
    if layout in _CSV_ALIASES:
        layout = "ml-latest"
    if layout == "auto":
        found = [name for name, files in LAYOUT_FILES.items() if (folder / files[0]).is_file()]
        if not found:
            present = sorted(p.name for p in folder.iterdir())[:20]
            raise FileNotFoundError(
                f"No MovieLens ratings file in {folder}: looked for u.data (ml-100k), ratings.dat "
                f"(ml-1m) and ratings.csv (ml-latest/ml-latest-small/ml-25m). Files there: {present}. "
                f"Known layouts and their files: {_files_text()}."
            )
        layout = found[0]
    ratings_file, movies_file, _ = LAYOUT_FILES[layout]
    missing = [f for f in (ratings_file, movies_file) if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} does not hold the {layout} layout: missing {missing}. Known layouts and "
            f"their files: {_files_text()}. Pass layout='auto' to detect it."
        )
    return layout


# ----------------------------------------------------------------------------------------------
# Shared helpers


def _raise_at_row(path: Path, row: int, problem: str, *, header: bool, sep: str, encoding: str, hint: str):
    number, text = data_line(path, row, header=header, sep=sep, encoding=encoding)
    raise DataFormatError(path, problem, line=number, content=text, hint=hint)


def _check_unique(frame: pd.DataFrame, col: str, path: Path, *, header: bool, sep: str, encoding: str):
    dup = frame[col].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        _raise_at_row(
            path, row, f"{col} {frame[col].iloc[row]!r} appears twice; each id must be listed once.",
            header=header, sep=sep, encoding=encoding, hint="Remove the duplicate line.",
        )


def _genres_from_names(
    names: pd.Series, path: Path, *, header: bool, sep: str, encoding: str
) -> List[List[int]]:
    """'Action|Comedy' strings -> lists of TFDS genre labels, vectorized over movies."""
    exploded = names.str.split("|").explode()
    labels = exploded.map(_GENRE_LABEL)
    if labels.isna().any():
        first = int(np.flatnonzero(labels.isna().to_numpy())[0])
        row = int(exploded.index[first])
        _raise_at_row(
            path, row, f"unknown genre {exploded.iloc[first]!r}; "
            f"expected '|'-separated genres from {list(MOVIELENS_GENRES)}.",
            header=header, sep=sep, encoding=encoding, hint="Fix the genre name on that line.",
        )  # fmt: skip
    return _split_rows(labels.to_numpy(np.int64), exploded.index.to_numpy(), len(names))


def _split_rows(values: np.ndarray, rows: np.ndarray, n_rows: int) -> List[List[int]]:
    """values[i] belongs to row rows[i] (rows sorted) -> one list per row (a numpy split, no groupby)."""
    return [chunk.tolist() for chunk in np.split(values, np.searchsorted(rows, np.arange(1, n_rows)))]


def _year(titles: pd.Series) -> pd.Series:
    return pd.to_numeric(titles.str.extract(_YEAR, expand=False), errors="coerce").astype("Int64")


def _movies_frame(ids: pd.Series, titles: pd.Series, genres: List[List[int]]) -> pd.DataFrame:
    titles = titles.astype("str")
    return pd.DataFrame(
        {
            "movie_id": ids.astype("str"),
            "movie_title": titles,
            "movie_genres": pd.Series(genres, index=ids.index, dtype=object),
            "year": _year(titles),
        }
    )


def _bucketize_age(age: np.ndarray) -> np.ndarray:
    buckets = np.asarray(AGE_BUCKETS, np.float32)
    return buckets[np.searchsorted(buckets[1:], age, side="right")]


def _join(
    ratings: pd.DataFrame,
    movies: pd.DataFrame,
    users: Optional[pd.DataFrame],
    ratings_path: Path,
    *,
    header: bool,
    sep: str,
    encoding: str,
) -> pd.DataFrame:
    """ratings (int ids) + movies/users (str ids) -> the TFDS-style ratings frame."""
    out = pd.DataFrame(
        {
            "user_id": ratings["user_id"].astype("str"),
            "movie_id": ratings["movie_id"].astype("str"),
            "user_rating": ratings["user_rating"].to_numpy(np.float32),
            "timestamp": ratings["timestamp"].to_numpy(np.int64),
        }
    )
    for key, meta, file_kind in (("movie_id", movies, "movies"), ("user_id", users, "users")):
        if meta is None:
            continue
        pos = pd.Index(meta[key]).get_indexer(out[key])
        if (pos < 0).any():
            row = int(np.flatnonzero(pos < 0)[0])
            _raise_at_row(
                ratings_path, row, f"{key} {out[key].iloc[row]!r} is not in the {file_kind} file.",
                header=header, sep=sep, encoding=encoding,
                hint=f"Check that the ratings and {file_kind} files come from the same MovieLens release.",
            )  # fmt: skip
        cols = ["movie_title", "movie_genres"] if key == "movie_id" else list(meta.columns[1:])
        for col in cols:
            out[col] = meta[col].take(pos).reset_index(drop=True)
    return out


# ----------------------------------------------------------------------------------------------
# Layouts


def _ratings_fields(sources: Optional[Sequence[str]] = None) -> List[Field]:
    names = ("user_id", "movie_id", "user_rating", "timestamp")
    kinds = ("int", "int", "float", "int")
    sources = sources or (None,) * 4
    return [Field(n, k, s) for n, k, s in zip(names, kinds, sources)]


def _load_100k(folder: Path, enc: str):
    ratings_path, items_path, users_path = (folder / f for f in LAYOUT_FILES["ml-100k"])
    ratings = read_table(ratings_path, _ratings_fields(), sep="\t", header=False, encoding=enc)

    genre_order = _read_100k_genre_order(folder / "u.genre", enc)
    n_flags = len(genre_order)
    item_fields = [Field("movie_id", "int"), Field("movie_title", "str"), Field("release_date", "str"),
                   Field("video_release_date", "str"), Field("imdb_url", "str")]  # fmt: skip
    item_fields += [Field(f"genre_{i}", "int") for i in range(n_flags)]
    items = read_table(items_path, item_fields, sep="|", header=False, encoding=enc)
    _check_unique(items, "movie_id", items_path, header=False, sep="|", encoding=enc)
    flags = items[[f"genre_{i}" for i in range(n_flags)]].to_numpy()
    bad = ~np.isin(flags, (0, 1))
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        _raise_at_row(items_path, row, "genre flags must be 0 or 1.", header=False, sep="|", encoding=enc,
                      hint="Fix the last 19 fields of that line.")  # fmt: skip
    rows, cols = np.nonzero(flags)  # row-major: each movie's genres in u.item column order, as TFDS
    labels = np.asarray(genre_order, np.int64)[cols]
    genres = _split_rows(labels, rows, len(items))
    movies = _movies_frame(items["movie_id"], items["movie_title"], genres)

    users = None
    if users_path.is_file():
        user_fields = [Field("user_id", "int"), Field("age", "int"), Field("gender", "str"),
                       Field("occupation", "str"), Field("zip", "str")]  # fmt: skip
        raw = read_table(users_path, user_fields, sep="|", header=False, encoding=enc)
        _check_unique(raw, "user_id", users_path, header=False, sep="|", encoding=enc)
        label_text = raw["occupation"].map(_ML100K_OCCUPATIONS)
        _check_values(raw, users_path, label_text.isna(), "occupation", list(_ML100K_OCCUPATIONS), "|", enc)
        users = _users_frame(
            raw, _bucketize_age(raw["age"].to_numpy(np.float32)), raw["age"].to_numpy(np.float32), label_text, raw["occupation"],
            users_path, "|", enc,
        )  # fmt: skip
    ratings = _join(ratings, movies, users, ratings_path, header=False, sep="\t", encoding=enc)
    return ratings, movies.reset_index(drop=True), users


def _read_100k_genre_order(path: Path, enc: str = "latin-1") -> List[int]:
    """TFDS label of each u.item genre flag column, from u.genre when present."""
    if not path.is_file():
        return [_GENRE_LABEL[g] for g in _ML100K_GENRES]
    table = read_table(path, [Field("genre", "str"), Field("index", "int")], sep="|", header=False,
                       encoding=enc)  # fmt: skip
    table = table.sort_values("index")
    if table["index"].tolist() != list(range(len(table))):
        raise DataFormatError(path, f"genre indices must be 0..{len(table) - 1}; found {table['index'].tolist()}.")
    labels = table["genre"].map(_GENRE_LABEL)
    _check_values(table, path, labels.isna(), "genre", list(MOVIELENS_GENRES), "|", enc)
    return labels.astype(np.int64).tolist()


def _check_values(frame, path, bad: pd.Series, col: str, valid: Sequence[str], sep: str, enc: str, header=False):
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        _raise_at_row(
            path, row, f"unknown {col} {frame[col].iloc[row]!r}; expected one of {list(valid)}.",
            header=header, sep=sep, encoding=enc, hint="Fix that line.",
        )  # fmt: skip


def _users_frame(raw, bucket_age, raw_age, label_text, occupation_text, path, sep, enc) -> pd.DataFrame:
    gender = raw["gender"].str.upper()
    _check_values(raw, path, ~gender.isin(["M", "F"]), "gender", ["M", "F"], sep, enc)
    frame = pd.DataFrame(
        {
            "user_id": raw["user_id"].astype("str"),
            "bucketized_user_age": np.asarray(bucket_age, np.float32),
            "raw_user_age": np.asarray(raw_age if raw_age is not None else bucket_age, np.float32),
            "user_gender": (gender == "M").to_numpy(bool),
            "user_occupation_label": label_text.map(_OCCUPATION_LABEL).to_numpy(np.int64),
            "user_occupation_text": occupation_text.astype("str"),
            "user_zip_code": raw["zip"].astype("str"),
        }
    )
    return frame if raw_age is not None else frame.drop(columns="raw_user_age")


def _load_1m(folder: Path, enc: str):
    sep = "::"
    ratings_path, movies_path, users_path = (folder / f for f in LAYOUT_FILES["ml-1m"])
    ratings = read_table(ratings_path, _ratings_fields(), sep=sep, header=False, encoding=enc)
    raw = read_table(movies_path, [Field("movie_id", "int"), Field("title", "str"), Field("genres", "str")],
                     sep=sep, header=False, encoding=enc)  # fmt: skip
    _check_unique(raw, "movie_id", movies_path, header=False, sep=sep, encoding=enc)
    genres = _genres_from_names(raw["genres"], movies_path, header=False, sep=sep, encoding=enc)
    movies = _movies_frame(raw["movie_id"], raw["title"], genres)

    users = None
    if users_path.is_file():
        user_fields = [Field("user_id", "int"), Field("gender", "str"), Field("age", "int"),
                       Field("occupation", "int"), Field("zip", "str")]  # fmt: skip
        raw_users = read_table(users_path, user_fields, sep=sep, header=False, encoding=enc)
        _check_unique(raw_users, "user_id", users_path, header=False, sep=sep, encoding=enc)
        code = raw_users["occupation"]
        bad = (code < 0) | (code >= len(_ML1M_OCCUPATIONS))
        if bad.any():
            _check_values(raw_users.astype({"occupation": "str"}), users_path, bad, "occupation",
                          [str(i) for i in range(len(_ML1M_OCCUPATIONS))], sep, enc)  # fmt: skip
        text = pd.Series(np.asarray(_ML1M_OCCUPATIONS, dtype=object)[code.to_numpy()], index=raw_users.index)
        label_text = text.replace({"K-12 student": "student", "college/grad student": "student"})
        users = _users_frame(
            raw_users, _bucketize_age(raw_users["age"].to_numpy(np.float32)), None,
            label_text, text, users_path, sep, enc,
        )  # fmt: skip
    ratings = _join(ratings, movies, users, ratings_path, header=False, sep=sep, encoding=enc)
    return ratings, movies.reset_index(drop=True), users


def _load_csv(folder: Path, enc: str):
    ratings_path, movies_path = (folder / f for f in LAYOUT_FILES["ml-latest"][:2])
    fields = _ratings_fields(("userId", "movieId", "rating", "timestamp"))
    ratings = read_table(ratings_path, fields, sep=",", header=True, quoted=True, encoding=enc)
    movie_fields = [Field("movie_id", "int", "movieId"), Field("title", "str"), Field("genres", "str")]
    raw = read_table(movies_path, movie_fields, sep=",", header=True, quoted=True, encoding=enc)
    _check_unique(raw, "movie_id", movies_path, header=True, sep=",", encoding=enc)
    genres = _genres_from_names(raw["genres"], movies_path, header=True, sep=",", encoding=enc)
    movies = _movies_frame(raw["movie_id"], raw["title"], genres)
    ratings = _join(ratings, movies, None, ratings_path, header=True, sep=",", encoding=enc)
    return ratings, movies.reset_index(drop=True), None


# ----------------------------------------------------------------------------------------------
# TFDS


def _load_tfds(layout: str, data_dir, download: bool) -> MovieLens:
    if layout not in TFDS_VARIANTS:
        raise ValueError(
            f"layout {layout!r} has no TFDS movielens config; with source='tfds' use one of "
            f"{', '.join(TFDS_VARIANTS)}."
        )
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:  # pragma: no cover - it is a dependency of tfrec
        raise ImportError("source='tfds' needs tensorflow-datasets: pip install tensorflow-datasets") from e
    variant = TFDS_VARIANTS[layout]
    frames = {}
    for table in ("ratings", "movies"):
        name = f"movielens/{variant}-{table}"
        try:
            ds = tfds.load(name, split="train", data_dir=None if data_dir is None else str(data_dir),
                           download=download)  # fmt: skip
        except (AssertionError, OSError, tfds.core.download.DownloadError) as e:
            where = f"data_dir={str(data_dir)!r}" if data_dir is not None else "the default TFDS data folder"
            action = (
                "the download failed (no internet?)" if download else
                f"it is not prepared in {where} and download=False"
            )  # fmt: skip
            raise RuntimeError(
                f"Could not load TFDS {name!r}: {action}. Pass a local MovieLens folder instead, e.g. "
                f"load_movielens('path/to/ml-100k') (or --data PATH on the command line), or prepare the "
                f"data where there is internet with tfds.load({name!r}, download=True). "
                f"({type(e).__name__}: {str(e)[:200]})"
            ) from e
        frames[table] = _tfds_to_frame(ds)
    ratings, movies = frames["ratings"], frames["movies"]
    movies["year"] = _year(movies["movie_title"])
    order = [c for c in RATING_COLUMNS + USER_COLUMNS[1:] if c in ratings.columns]
    ratings = ratings[order]
    users = None
    if "user_gender" in ratings.columns:
        cols = [c for c in USER_COLUMNS if c in ratings.columns]
        users = ratings[cols].drop_duplicates("user_id").reset_index(drop=True)
    return MovieLens(ratings=ratings, movies=movies, users=users, layout=f"tfds/{variant}", path=None)


_TFDS_DTYPES = {
    "user_rating": np.float32, "timestamp": np.int64, "bucketized_user_age": np.float32,
    "raw_user_age": np.float32, "user_gender": bool, "user_occupation_label": np.int64,
}  # fmt: skip


def _tfds_to_frame(ds) -> pd.DataFrame:
    """A TFDS movielens split (dict examples) -> DataFrame with the local loader's dtypes."""
    columns: Dict[str, list] = {}
    for batch in ds.ragged_batch(65536):
        for key, value in batch.items():
            if hasattr(value, "to_list"):  # RaggedTensor: movie_genres
                columns.setdefault(key, []).extend(value.to_list())
            else:
                columns.setdefault(key, []).append(value.numpy())
    out = {}
    for key, parts in columns.items():
        if key == "movie_genres":
            out[key] = pd.Series([[int(g) for g in row] for row in parts], dtype=object)
            continue
        values = np.concatenate(parts) if parts else np.array([])
        if values.dtype.kind in "SO":
            out[key] = pd.Series([v.decode("utf-8") for v in values], dtype="str")
        else:
            out[key] = pd.Series(values.astype(_TFDS_DTYPES.get(key, values.dtype)))
    return pd.DataFrame(out)
