"""Rating checks of load_movielens: the rating scale, repeated (user, movie) pairs, the encoding."""

import pytest

from tfrec.data import DataFormatError, load_movielens

MOVIES = "movieId,title,genres\n1,Toy Story (1995),Comedy\n2,Heat (1995),Action\n3,Se7en (1995),Thriller\n"


def _csv_folder(tmp_path, ratings_lines, movies=MOVIES, encoding="utf-8"):
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + "".join(ratings_lines))
    (folder / "movies.csv").write_bytes(movies.encode(encoding))
    return folder


def test_rating_outside_the_scale_names_file_and_line(tmp_path):
    folder = _csv_folder(tmp_path, ["1,1,4.0,10\n", "1,2,7.0,11\n", "2,1,-1,12\n"])
    with pytest.raises(DataFormatError) as e:
        load_movielens(folder)
    msg = str(e.value)
    assert msg.startswith(f"{folder / 'ratings.csv'}:3: rating 7 is outside the rating scale 0.5..5 "
                          "(2 ratings outside in all).")
    assert "Line: '1,2,7.0,11'" in msg and "rating_scale=None" in msg


def test_rating_scale_can_be_given_or_skipped(tmp_path):
    folder = _csv_folder(tmp_path, ["1,1,4.0,10\n", "1,2,7.0,11\n", "2,1,-1,12\n"])
    assert load_movielens(folder, rating_scale=None).ratings["user_rating"].tolist() == [4.0, 7.0, -1.0]
    with pytest.raises(DataFormatError, match=r"ratings.csv:4: rating -1 is outside the rating scale 0..10"):
        load_movielens(folder, rating_scale=(0, 10))


def test_ml100k_scale_is_one_to_five(ml100k_path):
    r = load_movielens(ml100k_path).ratings["user_rating"]
    assert r.min() == 1 and r.max() == 5 and len(r) == 100000  # the real file passes every check


def test_repeated_pair_is_an_error_naming_both_lines(tmp_path):
    folder = _csv_folder(tmp_path, ["1,1,4.0,10\n", "1,2,3.0,11\n", "2,1,5.0,12\n", "1,1,2.0,13\n"])
    with pytest.raises(DataFormatError) as e:
        load_movielens(folder)
    msg = str(e.value)
    assert msg.startswith(f"{folder / 'ratings.csv'}:5: (user_id '1', movie_id '1') is rated again; first rated "
                          "on line 2.")
    assert "duplicates='keep-last' or 'mean'" in msg


@pytest.mark.parametrize("policy, rating, timestamp", [("keep-last", 2.0, 13), ("mean", 3.0, 13)])
def test_duplicates_policy(tmp_path, policy, rating, timestamp):
    folder = _csv_folder(tmp_path, ["1,1,4.0,10\n", "1,2,3.0,11\n", "2,1,5.0,12\n", "1,1,2.0,13\n"])
    r = load_movielens(folder, duplicates=policy).ratings
    assert list(zip(r["user_id"], r["movie_id"])) == [("1", "2"), ("2", "1"), ("1", "1")]  # last position
    assert r["user_rating"].iloc[-1] == rating and r["timestamp"].iloc[-1] == timestamp
    assert list(r.index) == [0, 1, 2]


def test_unknown_duplicates_policy_lists_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown duplicates policy 'first'; expected one of \['error', "
                                         r"'keep-last', 'mean'\]"):
        load_movielens(tmp_path, duplicates="first")


def test_encoding_is_accepted(tmp_path):
    folder = _csv_folder(tmp_path, ["1,1,4.0,10\n"], movies=MOVIES.replace("Heat", "Amélie"), encoding="latin-1")
    with pytest.raises(DataFormatError, match=r"movies.csv:3: bytes b'\\xe9' are not valid utf-8.*"
                                              r"encoding='latin-1'.*--encoding latin-1"):
        load_movielens(folder)
    movies = load_movielens(folder, encoding="latin-1").movies
    assert "Amélie (1995)" in movies["movie_title"].tolist()


def test_evaluate_takes_encoding_and_duplicates(tmp_path, capsys):
    from tfrec.cli.main import main

    lines = [f"{u},{i},{(u + i) % 5 + 1}.0,{u * 10 + i}\n" for u in range(1, 9) for i in (1, 2, 3)]
    folder = _csv_folder(tmp_path, lines + ["1,1,2.0,99\n"], movies=MOVIES.replace("Heat", "Amélie"),
                         encoding="latin-1")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("protocol: {name: random, params: {ratio: 0.75, seed: 1}}\nk: 2\nalgorithms: [popularity]\n")
    args = ["evaluate", "--config", str(cfg), "--data", str(folder), "--run-dir", str(tmp_path / "run"),
            "--no-progress"]
    assert main(args) == 2
    assert "--encoding latin-1" in capsys.readouterr().err
    assert main(args + ["--encoding", "latin-1"]) == 2
    assert "is rated again" in capsys.readouterr().err
    assert main(args + ["--encoding", "latin-1", "--duplicates", "mean"]) == 0


def test_control_bytes_in_errors_are_escaped(tmp_path, capsys):
    from tfrec.cli.main import main

    folder = tmp_path / "bad\x1b[31mname"
    folder.mkdir()
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,10\n1,2,\x1b[2J\x07,11\n")
    (folder / "movies.csv").write_text(MOVIES)
    with pytest.raises(DataFormatError) as e:
        load_movielens(folder)
    assert "\x1b" not in str(e.value) and "\x07" not in str(e.value)
    assert "bad\\x1b[31mname" in str(e.value) and "\\x1b[2J\\x07" in str(e.value)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("algorithms: [popularity]\n")
    for data in (folder, tmp_path / "missing\x1b]0;title\x07"):
        assert main(["evaluate", "--config", str(cfg), "--data", str(data), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("tfrec evaluate: error: ") and "\\x1b" in err
        assert not any(c in err for c in "\x1b\x07")
