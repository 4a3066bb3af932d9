"""The tfrec command line: help, the evaluate command end to end, and config errors."""

import json
import subprocess
import sys

import pytest

from tfrec.cli.main import main


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
    assert "unknown key 'protocl'" in err and "Did you mean 'protocol'" in err and str(cfg) in err


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
