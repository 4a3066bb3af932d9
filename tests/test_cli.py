"""The tfrec command line: help, the evaluate command end to end, and config errors."""

import json
import subprocess
import sys

import pytest

from tfrec.cli.main import build_parser, main


def test_help_lists_commands_without_importing_tensorflow():
    out = subprocess.run([sys.executable, "-c",
                          "import sys; from tfrec.cli.main import build_parser; build_parser().print_help(); "
                          "print('TF_LOADED' if 'tensorflow' in sys.modules else 'TF_NOT_LOADED')"],
                         capture_output=True, text=True, check=True).stdout
    assert "evaluate" in out
    assert "TF_NOT_LOADED" in out


def test_evaluate_help_explains_options(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    out = capsys.readouterr().out
    for opt in ("--config", "--data", "--algorithms", "--protocol", "--run-dir"):
        assert opt in out


def test_evaluate_writes_table(tmp_path, ml100k_path, capsys):
    cfg = tmp_path / "bake.yaml"
    cfg.write_text("protocol: {name: msr_stratified}\nk: 5\nalgorithms: [popularity, {name: item_knn, params: {implicit: true}}]\n")
    rc = main(["evaluate", "--config", str(cfg), "--data", str(ml100k_path), "--run-dir", str(tmp_path / "run"),
               "--no-progress"])
    assert rc == 0
    res = json.loads((tmp_path / "run" / "results.json").read_text())
    names = [r["algorithm"] for r in res["results"]]
    assert names == ["popularity", "item_knn"]
    pop, knn = (r["metrics"]["ndcg@5"] for r in res["results"])
    assert knn > pop > 0  # item-kNN beats popularity on ml-100k
    assert (tmp_path / "run" / "results.csv").is_file()
    assert "ndcg@5" in capsys.readouterr().out


def test_evaluate_unknown_config_key_names_closest(tmp_path, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("protocl: ncf\nalgorithms: [popularity]\n")
    assert main(["evaluate", "--config", str(cfg), "--data", "x"]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}:1: unknown config key 'protocl'. Did you mean 'protocol'?" in err


def test_evaluate_yaml_syntax_error_names_line(tmp_path, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("k: 10\nalgorithms: [popularity\n")
    assert main(["evaluate", "--config", str(cfg)]) == 2
    assert f"{cfg}:" in capsys.readouterr().err


def test_evaluate_missing_data_folder_says_what_to_pass(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("algorithms: [popularity]\n")
    assert main(["evaluate", "--config", str(cfg), "--data", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "nowhere" in err


def test_evaluate_set_overrides_the_config(tmp_path, ml100k_path):
    from tfrec.cli.evaluate import resolve

    cfg = tmp_path / "c.yaml"
    cfg.write_text("protocol: {name: random, params: {ratio: 0.8}}\nk: 10\nalgorithms: [popularity]\n")
    args = build_parser().parse_args(["evaluate", "--config", str(cfg), "--set", "k=5", "--set",
                                      "protocol.params.seed=7", "--set", "algorithms=[random, popularity]"])
    resolved = resolve(args)
    assert resolved.k == 5 and resolved.protocol.params == {"ratio": 0.8, "seed": 7}
    assert [a.name for a in resolved.algorithms] == ["random", "popularity"]


def test_evaluate_set_error_names_the_override(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("algorithms: [popularity]\n")
    assert main(["evaluate", "--config", str(cfg), "--set", "exclude_sen=false"]) == 2
    err = capsys.readouterr().err
    assert f"{cfg} (--set exclude_sen=false): unknown config key 'exclude_sen'. Did you mean 'exclude_seen'?" in err
    assert main(["evaluate", "--config", str(cfg), "--set", "k=ten"]) == 2
    assert "(--set k=ten): config key 'k' expects an integer, got str 'ten'" in capsys.readouterr().err


def test_evaluate_bad_algorithm_parameter_names_file_and_line(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("k: 5\nalgorithms:\n  - popularity\n  - {name: mf, params: {embeding_dim: 8}}\n")
    assert main(["evaluate", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert (f"{cfg}:4: config key 'algorithms[1]' ('mf'): unknown config key 'model.params.embeding_dim' for "
            "model 'mf'. Did you mean 'model.params.embedding_dim'?") in err


def test_tune_set_error_names_the_override(tmp_path, capsys):
    cfg = tmp_path / "t.yaml"
    cfg.write_text("model: {name: mf}\nsearch_space: {training.learning_rate: {type: float, min: 0.001, max: 0.1}}\n")
    assert main(["tune", "--config", str(cfg), "--set", "tuner.max_trails=2"]) == 2
    err = capsys.readouterr().err
    assert "(--set tuner.max_trails=2): unknown config key 'tuner.max_trails'. Did you mean 'tuner.max_trials'?" in err


def test_tune_set_overrides_the_config(tmp_path, ml100k_path, capsys):
    cfg = tmp_path / "t.yaml"
    cfg.write_text(
        f"data: {{path: {ml100k_path}, max_rows: 2000, validation_ratio: 0.2}}\n"
        "model: {name: mf, params: {embedding_dim: 4}}\n"
        "training: {epochs: 3, batch_size: 256, verbose: 0}\n"
        "output: {tensorboard: false}\n"
        "tuner: {max_trials: 5}\n"
        "search_space: {training.learning_rate: {type: float, min: 0.001, max: 0.1, sampling: log}}\n")
    assert main(["tune", "--config", str(cfg), "--directory", str(tmp_path / "search"), "--quiet-trials",
                 "--set", "tuner.max_trials=1", "--set", "training.epochs=1", "--set", "tuner.project_name=p"]) == 0
    results = json.loads((tmp_path / "search" / "p" / "results.json").read_text())
    assert len(results["trials"]) == 1
    best = (tmp_path / "search" / "p" / "best_config.yaml").read_text()
    assert "epochs: 1\n" in best


def test_train_list_models_needs_no_config(capsys):
    assert main(["train", "--list-models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines[:-1]]
    from tfrec.training.families.registry import available, get_task

    assert names == [n for n in available() if not get_task(n).closed_form or get_task(n).kind == "session"]
    assert {"gru4rec", "session_popularity", "successor_rule"} <= set(names)
    assert lines[-1].startswith("fitted in closed form (tfrec evaluate only): ") and "popularity" in lines[-1]
    assert "successor_rule" not in lines[-1]


def test_train_without_config_says_what_to_pass(capsys):
    assert main(["train"]) == 2
    err = capsys.readouterr().err
    assert "--config is required" in err and "--list-models" in err


def test_output_into_a_closed_pipe_is_not_a_traceback(monkeypatch):
    # `tfrec train --list-models | head -1`: the reader has closed the pipe, so every write fails with EPIPE
    import io
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)
    broken = io.TextIOWrapper(os.fdopen(write_end, "wb"), line_buffering=True)
    monkeypatch.setattr(sys, "stdout", broken)
    with pytest.raises(BrokenPipeError):
        print("a line")  # the pipe really is broken
    assert main(["train", "--list-models"]) == 141  # stopped quietly, no traceback
