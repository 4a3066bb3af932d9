"""tfrec.data.load_movielens: real ml-100k / ml-latest-small, a tiny ml-1m, bad inputs, TFDS.

Reference implementation: TFDS's own parsers (``tensorflow_datasets.structured.movielens_parsing``),
which yield the examples of ``movielens/*-ratings`` as strings; the loader must give the same values.
"""

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tfrec.data import (
    AGE_BUCKETS,
    MOVIELENS_GENRES,
    OCCUPATION_LABELS,
    DataFormatError,
    MovieLens,
    load_movielens,
)

N_REFERENCE = 3000  # rows compared with the TFDS parser (it is a Python loop per row)

RATING_DTYPES = {
    "user_id": "str",
    "movie_id": "str",
    "user_rating": np.float32,
    "timestamp": np.int64,
    "movie_title": "str",
    "movie_genres": object,
}
USER_DTYPES = {
    "bucketized_user_age": np.float32,
    "raw_user_age": np.float32,
    "user_gender": bool,
    "user_occupation_label": np.int64,
    "user_occupation_text": "str",
    "user_zip_code": "str",
}


def _tfds_parsing():
    return pytest.importorskip("tensorflow_datasets.structured.movielens_parsing")


def _compare_with_tfds(ml: MovieLens, reference_rows):
    """Compares the first rows of ml.ratings with TFDS parser examples (strings, genre names)."""
    rows = [ex for _, ex in reference_rows]
    frame = ml.ratings.iloc[: len(rows)]
    assert frame["user_id"].tolist() == [ex["user_id"] for ex in rows]
    assert frame["movie_id"].tolist() == [ex["movie_id"] for ex in rows]
    assert frame["movie_title"].tolist() == [ex["movie_title"] for ex in rows]
    np.testing.assert_array_equal(frame["user_rating"], np.array([ex["user_rating"] for ex in rows], np.float32))
    np.testing.assert_array_equal(frame["timestamp"], np.array([ex["timestamp"] for ex in rows], np.int64))
    genres = [[MOVIELENS_GENRES.index(g) for g in ex["movie_genres"]] for ex in rows]
    assert frame["movie_genres"].tolist() == genres
    if "user_gender" in rows[0]:
        assert frame["user_gender"].tolist() == [ex["user_gender"] for ex in rows]
        np.testing.assert_array_equal(
            frame["bucketized_user_age"], np.array([ex["bucketized_user_age"] for ex in rows], np.float32)
        )
        labels = [OCCUPATION_LABELS.index(ex["user_occupation_label"]) for ex in rows]
        assert frame["user_occupation_label"].tolist() == labels
        assert frame["user_occupation_text"].tolist() == [ex["user_occupation_text"] for ex in rows]
        assert frame["user_zip_code"].tolist() == [ex["user_zip_code"] for ex in rows]
    if "raw_user_age" in rows[0]:
        np.testing.assert_array_equal(frame["raw_user_age"], np.array([ex["raw_user_age"] for ex in rows], np.float32))


def _check_dtypes(frame: pd.DataFrame, expected: dict):
    for col, dtype in expected.items():
        assert col in frame.columns, col
        if dtype == "str":
            assert pd.api.types.is_string_dtype(frame[col]) and frame[col].map(type).eq(str).all(), col
        else:
            assert frame[col].dtype == np.dtype(dtype), (col, frame[col].dtype)


# ----------------------------------------------------------------------------------------------
# Real data


@pytest.fixture(scope="module")
def ml100k(ml100k_path):
    return load_movielens(ml100k_path)


def test_ml100k_counts_and_dtypes(ml100k):
    assert ml100k.layout == "ml-100k"
    assert len(ml100k.ratings) == 100_000
    assert len(ml100k.movies) == 1682
    assert len(ml100k.users) == 943
    assert ml100k.ratings["user_id"].nunique() == 943
    _check_dtypes(ml100k.ratings, {**RATING_DTYPES, **USER_DTYPES})
    _check_dtypes(ml100k.users, USER_DTYPES)
    assert ml100k.movies["year"].dtype == "Int64"
    assert set(np.unique(ml100k.users["bucketized_user_age"])) <= set(AGE_BUCKETS)


def test_ml100k_matches_raw_file_and_hand_checked_rows(ml100k, ml100k_path):
    # u.data line 1 is "196\t242\t3\t881250949"; u.user line 196 is "196|49|M|writer|55105".
    first = ml100k.ratings.iloc[0]
    assert (first.user_id, first.movie_id, first.user_rating, first.timestamp) == ("196", "242", 3.0, 881250949)
    assert first.bucketized_user_age == 45.0 and first.raw_user_age == 49.0  # 45 <= 49 < 50
    assert first.user_gender and first.user_occupation_text == "writer"
    assert first.user_occupation_label == OCCUPATION_LABELS.index("writer")
    # Toy Story flags: Animation, Children's, Comedy -> TFDS labels 2, 3, 4.
    toy = ml100k.movies.set_index("movie_id").loc["1"]
    assert toy.movie_title == "Toy Story (1995)" and toy.movie_genres == [2, 3, 4] and toy.year == 1995
    # Latin-1 titles decode: u.item has "Misérables, Les (1995)".
    assert "Misérables, Les (1995)" in set(ml100k.movies["movie_title"])
    raw = pd.read_csv(ml100k_path / "u.data", sep="\t", header=None)
    np.testing.assert_array_equal(ml100k.ratings["user_rating"].to_numpy(), raw[2].to_numpy(np.float32))


def test_ml100k_equals_tfds_parser(ml100k, ml100k_path):
    parsing = _tfds_parsing()
    rows = itertools.islice(parsing.parse_100k_ratings_data(str(ml100k_path)), N_REFERENCE)
    _compare_with_tfds(ml100k, rows)


def test_ml_latest_small(ml_latest_small_path):
    ml = load_movielens(ml_latest_small_path)
    assert ml.layout == "ml-latest"
    assert len(ml.ratings) == 100_836
    assert len(ml.movies) == 9742
    assert ml.ratings["user_id"].nunique() == 610
    assert ml.users is None
    _check_dtypes(ml.ratings, RATING_DTYPES)
    assert not set(USER_DTYPES) & set(ml.ratings.columns)
    parsing = _tfds_parsing()
    _compare_with_tfds(ml, itertools.islice(parsing.parse_current_ratings_data(str(ml_latest_small_path)), N_REFERENCE))
    # "(no genres listed)" is label 20; a title without "(YYYY)" has no year.
    movies = ml.movies.set_index("movie_id")
    assert movies.loc["114335", "movie_genres"] == [20]
    assert pd.isna(movies.loc["40697", "year"]) and movies.loc["40697", "movie_title"] == "Babylon 5"


def test_layout_alias_and_explicit(ml_latest_small_path):
    ml = load_movielens(ml_latest_small_path, layout="ml-latest-small")
    assert ml.layout == "ml-latest" and len(ml.ratings) == 100_836


# ----------------------------------------------------------------------------------------------
# ml-1m (tiny hand-written files)

ML1M_MOVIES = "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n" "661::Café Society (1996)::Animation|Children's|Musical\n"
ML1M_USERS = "1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::4::T8H1N\n"
ML1M_RATINGS = "1::1193::5::978300760\n1::661::3::978302109\n\n2::1193::4::978298413\n3::661::2::978298000\n"


def _write_1m(folder: Path, ratings=ML1M_RATINGS, movies=ML1M_MOVIES, users=ML1M_USERS) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "ratings.dat").write_bytes(ratings.encode("latin-1"))
    (folder / "movies.dat").write_bytes(movies.encode("latin-1"))
    if users is not None:
        (folder / "users.dat").write_bytes(users.encode("latin-1"))
    return folder


def test_ml1m_tiny(tmp_path):
    ml = load_movielens(_write_1m(tmp_path / "ml-1m"))
    assert ml.layout == "ml-1m" and len(ml.ratings) == 4 and len(ml.users) == 3
    r = ml.ratings
    assert r["movie_title"].tolist()[1] == "Café Society (1996)"  # latin-1 byte 0xE9
    assert r["movie_genres"].tolist()[1] == [2, 3, 12]  # Animation, Children's -> Children, Musical
    assert r["user_gender"].tolist() == [False, False, True, True]
    assert r["bucketized_user_age"].tolist() == [1.0, 1.0, 56.0, 25.0]
    # Occupation codes (ml-1m README): 10 "K-12 student" -> label "student"; 16 "self-employed";
    # 4 "college/grad student" -> "student".
    assert r["user_occupation_text"].tolist() == ["K-12 student", "K-12 student", "self-employed", "college/grad student"]
    student = OCCUPATION_LABELS.index("student")
    assert r["user_occupation_label"].tolist() == [student, student, OCCUPATION_LABELS.index("self-employed"), student]
    assert ml.users["user_zip_code"].tolist() == ["48067", "70072", "T8H1N"]
    assert "raw_user_age" not in r.columns  # ml-1m has only age groups, as in TFDS
    _check_dtypes(r, {k: v for k, v in {**RATING_DTYPES, **USER_DTYPES}.items() if k != "raw_user_age"})


def test_ml1m_equals_tfds_parser(tmp_path):
    parsing = _tfds_parsing()
    # The TFDS parser does not skip blank lines; give it (and us) the file without one.
    folder = _write_1m(tmp_path / "ml-1m", ratings=ML1M_RATINGS.replace("\n\n", "\n"))
    _compare_with_tfds(load_movielens(folder), list(parsing.parse_1m_ratings_data(str(folder))))


def test_ml1m_without_users_file(tmp_path):
    ml = load_movielens(_write_1m(tmp_path / "ml-1m", users=None))
    assert ml.users is None and "user_gender" not in ml.ratings.columns


# ----------------------------------------------------------------------------------------------
# Bad input: each names file and line


def _ml100k_folder(tmp_path: Path, data: str) -> Path:
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text(data)
    flags = "|".join(["0"] * 8 + ["1"] + ["0"] * 10)  # Drama
    items = [f"{i}|Movie {i} (1990)|01-Jan-1990||http://x|{flags}" for i in (1, 2)]
    (folder / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n")
    return folder


def test_ml100k_tiny_ok(tmp_path):
    ml = load_movielens(_ml100k_folder(tmp_path, "1\t1\t4\t100\n2\t2\t5\t200\n"))
    assert ml.ratings["movie_genres"].tolist() == [[7], [7]]
    assert ml.ratings["user_occupation_label"].tolist() == [
        OCCUPATION_LABELS.index("technician/engineer"),
        OCCUPATION_LABELS.index("other/not specified"),
    ]


def test_truncated_line_names_file_and_line(tmp_path):
    folder = _ml100k_folder(tmp_path, "1\t1\t4\t100\n2\t2\t5\t200\n1\t2\t3\n")
    with pytest.raises(DataFormatError) as info:
        load_movielens(folder)
    err = info.value
    assert err.path == str(folder / "u.data") and err.line == 3
    message = str(err)
    assert f"{folder / 'u.data'}:3" in message
    assert "'1\\t2\\t3'" in message and "expected 4 tab-separated fields" in message and "found 3" in message


def test_non_numeric_rating(tmp_path):
    folder = _ml100k_folder(tmp_path, "1\t1\t4\t100\n2\t2\tfive\t200\n")
    with pytest.raises(DataFormatError, match=r"u\.data:2: field 'user_rating': 'five' is not a number"):
        load_movielens(folder)


def test_extra_field(tmp_path):
    folder = _ml100k_folder(tmp_path, "1\t1\t4\t100\n2\t2\t5\t200\t9\n")
    with pytest.raises(DataFormatError, match=r"u\.data:2: expected 4 tab-separated fields.*found 5"):
        load_movielens(folder)


def test_line_number_counts_blank_lines(tmp_path):
    folder = _ml100k_folder(tmp_path, "1\t1\t4\t100\n\n2\t2\t5\t200\n2\tx\t5\t200\n")
    with pytest.raises(DataFormatError) as info:
        load_movielens(folder)
    assert info.value.line == 4 and "field 'movie_id'" in str(info.value)


def test_empty_ratings_file(tmp_path):
    folder = _ml100k_folder(tmp_path, "")
    with pytest.raises(DataFormatError, match=r"u\.data: the file is empty"):
        load_movielens(folder)


def test_rating_of_unknown_movie(tmp_path):
    folder = _ml100k_folder(tmp_path, "1\t1\t4\t100\n2\t7\t5\t200\n")
    with pytest.raises(DataFormatError, match=r"u\.data:2: movie_id '7' is not in the movies file"):
        load_movielens(folder)


def test_bad_gender(tmp_path):
    folder = _ml100k_folder(tmp_path, "1\t1\t4\t100\n")
    (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|X|other|94043\n")
    with pytest.raises(DataFormatError, match=r"u\.user:2: unknown gender 'X'"):
        load_movielens(folder)


def test_ml1m_bad_line(tmp_path):
    folder = _write_1m(tmp_path / "ml-1m", ratings="1::1193::5::978300760\n1::661::3\n")
    with pytest.raises(DataFormatError) as info:
        load_movielens(folder)
    assert info.value.line == 2
    assert "'1::661::3'" in str(info.value) and "4 '::'-separated fields" in str(info.value)


def test_ml1m_unknown_genre(tmp_path):
    folder = _write_1m(tmp_path / "ml-1m", movies=ML1M_MOVIES + "5::X (1990)::Dramedy\n")
    with pytest.raises(DataFormatError, match=r"movies\.dat:3: unknown genre 'Dramedy'"):
        load_movielens(folder)


def _csv_folder(tmp_path: Path, ratings: str, movies: str = "movieId,title,genres\n1,A (1990),Drama\n") -> Path:
    folder = tmp_path / "ml-latest"
    folder.mkdir()
    (folder / "ratings.csv").write_text(ratings)
    (folder / "movies.csv").write_text(movies)
    return folder


def test_csv_bad_rating_line(tmp_path):
    folder = _csv_folder(tmp_path, "userId,movieId,rating,timestamp\n1,1,4.0,5\n1,1,four,6\n")
    with pytest.raises(DataFormatError, match=r"ratings\.csv:3: field 'rating': 'four' is not a number"):
        load_movielens(folder)


def test_csv_missing_header_column(tmp_path):
    folder = _csv_folder(tmp_path, "user,movieId,rating,timestamp\n1,1,4.0,5\n")
    with pytest.raises(DataFormatError, match=r"ratings\.csv:1: the header lacks column\(s\) \['userId'\]"):
        load_movielens(folder)


def test_csv_header_only(tmp_path):
    folder = _csv_folder(tmp_path, "userId,movieId,rating,timestamp\n")
    with pytest.raises(DataFormatError, match="no data lines"):
        load_movielens(folder)


def test_csv_quoted_title_with_comma(tmp_path):
    movies = 'movieId,title,genres\n1,"American President, The (1995)",Comedy|Drama|Romance\n'
    ml = load_movielens(_csv_folder(tmp_path, "userId,movieId,rating,timestamp\n1,1,3.5,5\n", movies))
    assert ml.ratings["movie_title"].tolist() == ["American President, The (1995)"]
    assert ml.ratings["movie_genres"].tolist() == [[4, 7, 14]] and ml.movies["year"].tolist() == [1995]


def test_csv_not_utf8(tmp_path):
    folder = _csv_folder(tmp_path, "userId,movieId,rating,timestamp\n1,1,4.0,5\n")
    (folder / "movies.csv").write_bytes("movieId,title,genres\n1,Café (1990),Drama\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"movies\.csv:2: bytes .* are not valid utf-8"):
        load_movielens(folder)


# ----------------------------------------------------------------------------------------------
# Bad arguments and folders


def test_folder_without_files_lists_layouts(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError) as info:
        load_movielens(tmp_path)
    message = str(info.value)
    for name in ("u.data", "ratings.dat", "ratings.csv", "ml-100k", "ml-1m", "notes.txt"):
        assert name in message


def test_layout_mismatch_says_missing_files(tmp_path):
    folder = _write_1m(tmp_path / "ml-1m")
    with pytest.raises(FileNotFoundError, match=r"missing \['u\.data', 'u\.item'\]"):
        load_movielens(folder, layout="ml-100k")


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_movielens(tmp_path / "nope")


def test_unknown_layout_lists_choices(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown layout 'ml-100K'\. Did you mean 'ml-100k'\?.*ml-1m"):
        load_movielens(tmp_path, layout="ml-100K")


def test_unknown_source_lists_choices(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown source 'web'.*local, tfds"):
        load_movielens(tmp_path, source="web")


def test_local_without_path():
    with pytest.raises(ValueError, match=r"load_movielens\('path/to/ml-100k'\)"):
        load_movielens()


# ----------------------------------------------------------------------------------------------
# TFDS source (no network)


def test_tfds_offline_error_says_pass_local_folder(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(RuntimeError) as info:
        load_movielens(source="tfds", data_dir=tmp_path / "tfds", download=False)
    message = str(info.value)
    assert "movielens/100k-ratings" in message and "download=False" in message
    assert "load_movielens('path/to/ml-100k')" in message and "--data PATH" in message


def test_tfds_layout_without_config(tmp_path):
    with pytest.raises(ValueError, match="no TFDS movielens config"):
        load_movielens(source="tfds", layout="ml-latest", data_dir=tmp_path)


def test_tfds_conversion_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=5):
        ml = load_movielens(source="tfds")
    assert ml.layout == "tfds/100k" and ml.path is None
    assert len(ml.ratings) == 5 and len(ml.movies) == 5
    _check_dtypes(ml.ratings, {**RATING_DTYPES, **USER_DTYPES})
    assert list(ml.ratings.columns[:6]) == list(RATING_DTYPES)
    genres = [g for row in ml.ratings["movie_genres"] for g in row]
    assert all(isinstance(g, int) and 0 <= g < len(MOVIELENS_GENRES) for g in genres)
    assert ml.users["user_id"].is_unique
