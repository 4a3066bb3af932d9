"""Loading options of ``tfrec train`` configs: encoding, duplicates, rating scale; session column mapping,
tie-breaking order and the dates-only warning; the config checks of those keys."""

import logging

import pytest

from tfrec.data import DataFormatError
from tfrec.training.config import ConfigError, from_dict
from tfrec.training.data import prepare, prepare_sessions

MOVIES = "movieId,title,genres\n1,Amélie (2001),Comedy\n2,Heat (1995),Action\n3,Se7en (1995),Thriller\n"


def _ml_folder(tmp_path, ratings):
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + "".join(ratings))
    (folder / "movies.csv").write_bytes(MOVIES.encode("latin-1"))  # "é" is one byte 0xe9: not utf-8
    return folder


RATINGS = [f"{u},{i},{(u + i) % 5 + 1}.0,{10 * u + i}\n" for u in range(1, 9) for i in (1, 2, 3)]


def _config(folder, **data):
    return from_dict({"data": {"path": str(folder), "protocol": "random", "validation_ratio": 0.2, **data},
                      "model": {"name": "mf"}})


def test_encoding_from_the_config_reads_a_latin1_file(tmp_path):
    folder = _ml_folder(tmp_path, RATINGS)
    with pytest.raises(DataFormatError, match="encoding"):
        prepare(_config(folder))
    run = prepare(_config(folder, encoding="latin-1"))
    assert len(run.train) + len(run.test) == len(RATINGS)
    assert "Amélie (2001)" in set(run.train["movie_title"]) | set(run.test["movie_title"])


def test_duplicates_policy_from_the_config(tmp_path):
    folder = _ml_folder(tmp_path, RATINGS + ["1,1,1.0,99\n"])
    with pytest.raises(DataFormatError, match="rated again"):
        prepare(_config(folder, encoding="latin-1"))
    run = prepare(_config(folder, encoding="latin-1", duplicates="keep-last"))
    rows = len(run.train) + len(run.test)
    assert rows == len(RATINGS)  # the repeated pair is one row


def test_rating_scale_from_the_config(tmp_path):
    folder = _ml_folder(tmp_path, RATINGS + ["9,1,7.0,99\n"])
    with pytest.raises(DataFormatError, match="outside the rating scale 0.5..5"):
        prepare(_config(folder, encoding="latin-1"))
    assert len(prepare(_config(folder, encoding="latin-1", rating_scale=[0, 10])).vocab.user_ids) >= 8
    assert prepare(_config(folder, encoding="latin-1", rating_scale=None)) is not None


def test_bad_rating_scale_and_columns_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="data.rating_scale"):
        _config(tmp_path, rating_scale=[5, 1])
    with pytest.raises(ConfigError, match=r"unknown role\(s\) \['user'\]"):
        _config(tmp_path, columns={"user": "uid"})
    with pytest.raises(ConfigError, match="data.ctr is not set"):
        _config(tmp_path, format="ctr")
    with pytest.raises(ConfigError, match="no feature columns"):
        _config(tmp_path, ctr={"label": "clicked"})


def test_cli_encoding_flag_sets_data_encoding(tmp_path, capsys):
    from tfrec.cli.main import main

    path = tmp_path / "cfg.yaml"
    path.write_text("model: {name: mf}\n")
    assert main(["train", "--config", str(path), "--encoding", "cp1252", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert "encoding: cp1252" in out


# -- sessions: column mapping, tie-breaking order, dates-only warning -------------------------------

def _session_folder(tmp_path, rows, header="sid,iid,ts,seq"):
    folder = tmp_path / "clicks"
    folder.mkdir()
    (folder / "clicks.csv").write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return folder


def _session_rows():
    # 6 sessions on consecutive days; each session's clicks share the day; 'seq' is the click order,
    # written in reverse in the file
    rows = []
    for s in range(6):
        day = f"2024-01-{s + 1:02d}"
        rows += [(f"s{s}", f"i{(s + k) % 4}", day, 3 - k) for k in range(3)]
    return rows


def _session_config(folder, **data):
    return from_dict({"data": {"path": str(folder), "file": "clicks.csv", "test_file": "clicks.csv",
                               "columns": {"session": "sid", "item": "iid", "time": "ts"}, **data},
                      "model": {"name": "gru4rec"}})


def test_session_column_mapping_and_order_by(tmp_path):
    folder = _session_folder(tmp_path, _session_rows())
    run = prepare_sessions(_session_config(folder, order_by=["time", "seq"]))
    assert list(run.train.columns) == ["SessionId", "ItemId", "Time"]
    first = run.train[run.train["SessionId"] == "s0"]["ItemId"].tolist()
    assert first == ["i2", "i1", "i0"]  # seq 1, 2, 3 (the file holds them as 3, 2, 1)
    assert run.test["SessionId"].nunique() == 6


def test_dates_only_time_warns_without_order_by(tmp_path, caplog):
    folder = _session_folder(tmp_path, _session_rows())
    with caplog.at_level(logging.WARNING, logger="tfrec.data"):
        run = prepare_sessions(_session_config(folder))
    assert "holds only dates" in caplog.text and "data.order_by" in caplog.text
    assert run.train[run.train["SessionId"] == "s0"]["ItemId"].tolist() == ["i0", "i1", "i2"]  # file order
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tfrec.data"):
        prepare_sessions(_session_config(folder, order_by=["time", "seq"]))
    assert "holds only dates" not in caplog.text


def test_auto_format_detects_mapped_session_columns(tmp_path):
    from tfrec.training.data import detect_format

    folder = _session_folder(tmp_path, _session_rows())
    assert detect_format(_session_config(folder)) == "sessions"


def test_gru4rec_trains_from_the_cli_on_a_renamed_click_log(rsc15_path, tmp_path):
    import json

    import pandas as pd

    from tfrec.cli.main import main
    from tfrec.data import load_sessions

    folder = tmp_path / "log"
    folder.mkdir()
    for name, out in (("yoochoose-clicks-100k_train_full.txt", "train.csv"),
                      ("yoochoose-clicks-100k_test.txt", "test.csv")):
        clicks = load_sessions(rsc15_path / name).iloc[:6000]
        frame = pd.DataFrame({"ts": clicks["Time"], "iid": clicks["ItemId"], "sid": clicks["SessionId"],
                              "seq": range(len(clicks))})
        frame.to_csv(folder / out, index=False)
    cfg = tmp_path / "gru.yaml"
    cfg.write_text(
        "data: {file: train.csv, test_file: test.csv, columns: {session: sid, item: iid, time: ts},\n"
        "       order_by: [time, seq]}\n"
        "model: {name: gru4rec, params: {layers: [8], n_sample: 16}}\n"
        "training: {epochs: 1, batch_size: 8, optimizer: adagrad, learning_rate: 0.1, verbose: 0}\n"
        "evaluation: {k: [20]}\n"
        "output: {saved_model: false, tensorboard: false}\n")
    run_dir = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--data", str(folder), "--run-dir", str(run_dir)]) == 0
    final = json.loads((run_dir / "metrics.json").read_text())["final"]
    assert 0.0 <= final["mrr@20"] <= final["recall@20"] <= 1.0 and final["n_queries"] > 100
