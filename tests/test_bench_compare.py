"""``tfrec bench`` compare runs: tfrec algorithms beside their Surprise counterparts on one split.

A small ml-100k folder (the first 4,000 ratings of u.data): user_knn and item_knn against Surprise's
KNN classes; the predictions are the same, so the RMSEs agree.
"""

import json

import pytest

from tfrec.cli.main import main
from tfrec.config import dump_yaml


@pytest.fixture(scope="module")
def ml_slice(ml100k_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ml-100k-compare")
    with open(ml100k_path / "u.data", encoding="latin-1") as f:
        (folder / "u.data").write_text("".join(line for _, line in zip(range(4_000), f)), encoding="latin-1")
    for name in ("u.item", "u.user", "u.genre"):
        (folder / name).symlink_to(ml100k_path / name)
    return folder


def _compare(ml_slice, algorithms):
    return {"reference": "surprise", "data": {"path": str(ml_slice)},
            "protocol": {"name": "random", "params": {"ratio": 0.75, "seed": 3}}, "algorithms": algorithms}


PAIRS = [
    {"name": "item_knn", "label": "item baseline", "params": {"similarity": "pearson_baseline", "variant": "baseline"},
     "surprise": {"class": "KNNBaseline", "sim_options": {"name": "pearson_baseline", "user_based": False}}},
    {"name": "user_knn", "params": {"similarity": "msd", "variant": "with_zscore", "k": 10},
     "surprise": {"class": "KNNWithZScore", "k": 10, "sim_options": {"name": "msd", "user_based": True}}},
]


def _write(tmp_path, compare, **run):
    path = tmp_path / "bench.yaml"
    path.write_text(dump_yaml({
        "bench": {"name": "parity", "dataset": "ml-100k (4,000 ratings)", "protocol": "random 75/25",
                  "results": str(tmp_path / "parity.json")},
        "runs": [{"compare": compare, **run}]}))
    return path


def test_compare_rows_hold_both_rmses_and_the_speedup(tmp_path, ml_slice, monkeypatch):
    pytest.importorskip("surprise", reason="scikit-surprise is not installed: pip install -e '.[bench]'")
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, _compare(ml_slice, PAIRS), suffix=" [slice]")
    assert main(["bench", "bench.yaml", "--no-progress"]) == 0
    res = json.loads((tmp_path / "parity.json").read_text())
    assert res["command"] == "tfrec bench bench.yaml"
    assert [r["algorithm"] for r in res["rows"]] == ["item baseline [slice]", "user_knn [slice]"]
    for row in res["rows"]:
        m = row["metrics"]
        assert m["rmse"] == pytest.approx(m["surprise_rmse"], abs=1e-5)  # the same predictions
        assert m["speedup_vs_surprise"] == pytest.approx(m["surprise_seconds"] / m["seconds"], rel=1e-3)
        assert m["test_ratings"] == 1000
        assert "split random(ratio=0.75, seed=3)" in row["source"]
    assert res["rows"][0]["reference"]["class"] == "KNNBaseline"


def test_unknown_reference_class_is_named(tmp_path, ml_slice, capsys):
    pytest.importorskip("surprise", reason="scikit-surprise is not installed: pip install -e '.[bench]'")
    pair = {**PAIRS[0], "surprise": {"class": "KNNBest"}}
    _write(tmp_path, _compare(ml_slice, [pair]))
    assert main(["bench", str(tmp_path / "bench.yaml"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "algorithms[0].surprise" in err and "'class' must be one of" in err and "KNNBaseline" in err


def test_a_reference_without_class_is_refused(tmp_path, ml_slice, capsys):
    pair = {**PAIRS[0], "surprise": {"sim_options": {}}}
    _write(tmp_path, _compare(ml_slice, [pair]))
    assert main(["bench", str(tmp_path / "bench.yaml"), "--dry-run"]) == 2
    assert "needs a 'class'" in capsys.readouterr().err


def test_missing_surprise_says_how_to_install(tmp_path, ml_slice, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_surprise(name, *args, **kwargs):
        if name == "surprise":
            raise ImportError("No module named 'surprise'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_surprise)
    _write(tmp_path, _compare(ml_slice, PAIRS[:1]))
    assert main(["bench", str(tmp_path / "bench.yaml"), "--dry-run"]) == 2
    assert "pip install -e '.[bench]'" in capsys.readouterr().err


def test_a_ranking_only_algorithm_is_a_failed_row(tmp_path, ml_slice, monkeypatch):
    pytest.importorskip("surprise", reason="scikit-surprise is not installed: pip install -e '.[bench]'")
    monkeypatch.chdir(tmp_path)
    pair = {"name": "item_knn", "params": {"implicit": True}, "surprise": {"class": "KNNBasic"}}
    _write(tmp_path, _compare(ml_slice, [pair]))
    assert main(["bench", "bench.yaml", "--no-progress"]) == 1
    res = json.loads((tmp_path / "parity.json").read_text())
    assert res["rows"] == [] and "does not predict ratings" in res["failures"][0]["error"]
