"""``tfrec bench``: a benchmark config of evaluate and train runs writes one results file.

A tiny benchmark on 5,000 ml-100k ratings: one evaluate run (popularity and a one-epoch mf) and one
train run (a one-epoch mf), each repeated with two training seeds.
"""

import json

import numpy as np
import pytest

from tfrec.cli.main import main
from tfrec.config import dump_yaml

TRAINING = {"epochs": 1, "batch_size": 1024, "learning_rate": 0.01, "verbose": 0}


@pytest.fixture(scope="module")
def ml_slice(ml100k_path, tmp_path_factory):
    """An ml-100k folder with the first 5,000 ratings of u.data (u.item and u.user linked)."""
    folder = tmp_path_factory.mktemp("ml-100k-bench")
    with open(ml100k_path / "u.data", encoding="latin-1") as f:
        (folder / "u.data").write_text("".join(line for _, line in zip(range(5_000), f)), encoding="latin-1")
    for name in ("u.item", "u.user", "u.genre"):
        (folder / name).symlink_to(ml100k_path / name)
    return folder


def _bench(tmp_path, ml_slice, **header):
    train_cfg = tmp_path / "train_mf.yaml"
    train_cfg.write_text(dump_yaml({
        "data": {"path": str(ml_slice), "protocol": "random", "protocol_params": {"ratio": 0.8, "seed": 1}},
        "model": {"name": "mf", "params": {"embedding_dim": 4}},
        "training": TRAINING, "evaluation": {"k": [10]},
    }))
    bench = {
        "bench": {"name": "tiny", "dataset": "MovieLens 100K (5,000 ratings)", "protocol": "random 80/20",
                  "results": str(tmp_path / "results" / "tiny.json"),
                  "anchors": [{"algorithm": "reference (paper)", "metrics": {"rmse": 0.9}, "source": "a citation"}],
                  **header},
        "runs": [
            {"evaluate": {"data": {"path": str(ml_slice)}, "protocol": {"name": "random", "params": {"ratio": 0.8}},
                          "k": 10,
                          "algorithms": ["popularity", {"name": "mf", "label": "mf_eval",
                                                        "params": {"embedding_dim": 4}, "training": TRAINING}]},
             "suffix": " [s]"},
            {"train": str(train_cfg), "label": "mf_train", "set": {"model.params.embedding_dim": 8}},
        ],
    }
    path = tmp_path / "bench.yaml"
    path.write_text(dump_yaml(bench))
    return path


def test_bench_writes_rows_with_mean_and_std_over_seeds(tmp_path, ml_slice, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = _bench(tmp_path, ml_slice, seeds=[1, 2])
    assert main(["bench", "bench.yaml", "--no-progress"]) == 0
    res = json.loads((tmp_path / "results" / "tiny.json").read_text())
    assert res["command"] == "tfrec bench bench.yaml" and res["benchmark"] == "tiny" and res["seeds"] == [1, 2]
    assert res["anchors"] == [{"algorithm": "reference (paper)", "metrics": {"rmse": 0.9}, "source": "a citation"}]
    assert [r["algorithm"] for r in res["rows"]] == ["popularity [s]", "mf_eval [s]", "mf_train"]
    pop, mf_eval, mf_train = res["rows"]
    assert pop["source"] == "evaluate inline runs[0].evaluate"
    assert mf_train["source"] == f"train {tmp_path / 'train_mf.yaml'}"
    assert pop["std"]["ndcg@10"] == 0.0  # popularity has no training seed: both runs are the same
    assert mf_eval["std"]["rmse"] > 0 and mf_train["std"]["rmse"] > 0  # another seed, another model
    assert np.isfinite(mf_train["metrics"]["rmse"]) and mf_train["train_seconds"] > 0
    assert "failures" not in res and "rows_kept_from" not in res
    out = capsys.readouterr().out
    assert "tiny.json (3 rows)" in out

    # --only reruns one row and keeps the others, saying where they came from
    assert main(["bench", str(config), "--only", "popularity [s]", "--set", "bench.seeds=[3]", "--no-progress"]) == 0
    again = json.loads((tmp_path / "results" / "tiny.json").read_text())
    assert [r["algorithm"] for r in again["rows"]] == ["popularity [s]", "mf_eval [s]", "mf_train"]
    assert again["rows"][1:] == res["rows"][1:] and "std" not in again["rows"][0]
    assert again["rows_kept_from"] == {"command": "tfrec bench bench.yaml", "date": res["date"],
                                       "rows": ["mf_eval [s]", "mf_train"]}
    # an absolute config path is written relative to the working directory
    assert again["command"] == "tfrec bench bench.yaml --set 'bench.seeds=[3]' --only 'popularity [s]'"


def test_dry_run_lists_the_rows_and_trains_nothing(tmp_path, ml_slice, capsys):
    config = _bench(tmp_path, ml_slice)
    assert main(["bench", str(config), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "run 0: evaluate inline runs[0].evaluate -> rows: popularity [s], mf_eval [s]" in out
    assert "run 1: train " in out and "-> rows: mf_train" in out
    assert not (tmp_path / "results").exists()


def _write(tmp_path, text):
    path = tmp_path / "b.yaml"
    path.write_text("bench: {name: b, dataset: d, protocol: p}\n" + text)
    return path


def test_a_run_needs_exactly_one_kind(tmp_path, capsys):
    assert main(["bench", str(_write(tmp_path, "runs:\n  - {suffix: x}\n"))]) == 2
    assert "config key 'runs[0]' must have exactly one run kind: 'evaluate'" in capsys.readouterr().err
    assert main(["bench", str(_write(tmp_path, "runs:\n  - {evalute: c.yaml}\n"))]) == 2
    assert "unknown config key 'runs[0].evalute'" in capsys.readouterr().err


def test_missing_config_file_is_named(tmp_path, capsys):
    assert main(["bench", str(_write(tmp_path, "runs:\n  - {train: configs/nope.yaml}\n"))]) == 2
    err = capsys.readouterr().err
    assert "b.yaml:3: config key 'runs[0].train': the train config file 'configs/nope.yaml' does not exist" in err


def test_bad_overrides_are_named(tmp_path, capsys):
    path = _write(tmp_path, "runs:\n  - {train: {model: {name: mf}}, set: {model.name.x: 1}}\n")
    assert main(["bench", str(path), "--dry-run"]) == 2
    assert "config key 'runs[0].set': bad override 'model.name.x'" in capsys.readouterr().err
    assert main(["bench", str(path), "--set", "bench.seeds"]) == 2
    assert "Override 'bench.seeds' is not of the form key=value" in capsys.readouterr().err


def test_inline_run_errors_name_the_bench_file_and_key(tmp_path, capsys):
    path = _write(tmp_path, "runs:\n  - evaluate:\n      algorithms: [{name: ncf}]\n")
    assert main(["bench", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "runs[0].evaluate" in err and "model 'ncf' was renamed: use 'neumf', 'gmf' or 'mlp'" in err


def test_only_names_an_unknown_row(tmp_path, capsys):
    path = _write(tmp_path, "runs:\n  - {train: {model: {name: mf}}, label: a}\n")
    assert main(["bench", str(path), "--only", "b", "--dry-run"]) == 2
    assert "--only names rows that the benchmark does not make: b. Its rows: a." in capsys.readouterr().err


def test_tune_run_compares_default_and_best_config(tmp_path, ml_slice, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tune_cfg = {
        "data": {"path": str(ml_slice), "protocol": "random", "protocol_params": {"ratio": 0.8, "seed": 1}},
        "model": {"name": "mf", "params": {"embedding_dim": 4}},
        "training": {**TRAINING, "epochs": 2}, "evaluation": {"k": [10]}, "output": {"tensorboard": False},
        "tuner": {"algorithm": "random", "max_trials": 2, "objective": "val_rmse", "direction": "min",
                  "directory": "ignored", "project_name": "t"},
        "search_space": {"training.learning_rate": {"type": "choice", "values": [0.001, 0.05]}},
    }
    bench = {"bench": {"name": "tiny_tune", "dataset": "d", "protocol": "p",
                       "results": str(tmp_path / "tiny_tune.json")},
             "runs": [{"tune": tune_cfg, "label": "mf"}]}
    (tmp_path / "b.yaml").write_text(dump_yaml(bench))
    assert main(["bench", "b.yaml", "--no-progress"]) == 0
    res = json.loads((tmp_path / "tiny_tune.json").read_text())
    names = [r["algorithm"] for r in res["rows"]]
    assert names[:2] == ["mf default config", "mf best config (search)"] and len(names) == 4
    default, best = res["rows"][:2]
    trials = [r["metrics"]["val_rmse"] for r in res["rows"][2:]]
    assert best["metrics"]["val_rmse"] == min(trials)  # the best row is the best trial
    assert np.isfinite(default["metrics"]["test_rmse"]) and np.isfinite(best["metrics"]["test_rmse"])
    assert res["best_beats_default_on_validation"] == (min(trials) < default["metrics"]["val_rmse"])
    assert default["config"]["training.learning_rate"] == TRAINING["learning_rate"]


def test_a_run_with_two_kinds_is_refused(tmp_path, capsys):
    (tmp_path / "b.yaml").write_text(dump_yaml({"bench": {"name": "x", "dataset": "d", "protocol": "p"},
                                                "runs": [{"train": "a.yaml", "tune": "b.yaml"}]}))
    assert main(["bench", str(tmp_path / "b.yaml")]) != 0
    assert "exactly one run kind" in capsys.readouterr().err


def test_only_rows_are_merged_in_the_benchmarks_row_order(tmp_path):
    from tfrec.cli.bench import _merge

    path = tmp_path / "r.json"
    old = [{"algorithm": n, "metrics": {"x": 1.0}} for n in ("a [1]", "c [1]", "a [2]", "gone")]
    path.write_text(json.dumps({"command": "tfrec bench b.yaml", "date": "d", "rows": old}))
    new = [{"algorithm": n, "metrics": {"x": 2.0}} for n in ("b [1]", "c [1]", "b [2]")]
    rows, kept = _merge(path, new, ["a [1]", "b [1]", "c [1]", "a [2]", "b [2]"])
    assert [(r["algorithm"], r["metrics"]["x"]) for r in rows] == [
        ("a [1]", 1.0), ("b [1]", 2.0), ("c [1]", 2.0), ("a [2]", 1.0), ("b [2]", 2.0), ("gone", 1.0)]
    assert kept == {"command": "tfrec bench b.yaml", "date": "d", "rows": ["a [1]", "a [2]", "gone"]}
