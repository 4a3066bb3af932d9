"""``tfrec report`` charts and the charts of BENCHMARKS.md (benchmarks/make_report.py)."""

import importlib.util
import json
from pathlib import Path

import pytest

from tfrec import charts
from tfrec.cli.main import main

REPO = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, path
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _run_folder(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    lines = []
    for e, (loss, val) in enumerate([(1.2, 1.1), (1.0, 0.98), (0.9, 0.97), (0.85, 0.99)]):
        lines.append(json.dumps({"epoch": e, "metrics": {"loss": loss, "rmse": loss ** 0.5, "val_loss": val,
                                                         "val_rmse": val ** 0.5}, "best_epoch": 2}))
    (run / "epochs.jsonl").write_text("\n".join(lines) + "\n")
    return run


def test_report_on_a_training_run_and_a_bakeoff_writes_pngs(tmp_path, capsys):
    run = _run_folder(tmp_path)
    bake = REPO / "benchmarks" / "results" / "bakeoff_ml100k_msr.json"
    assert main(["report", str(run), str(bake), "--out", str(tmp_path / "charts")]) == 0
    printed = capsys.readouterr().out.split()
    assert [Path(p).name for p in printed] == ["training_curves.png", "bakeoff_ml100k_msr_metrics.png"]
    for p in printed:
        w, h = _png_size(Path(p))
        assert 300 < w < 1400 and 150 < h < 900  # readable, and small enough to embed


def test_report_default_folder_is_charts_inside_the_run(tmp_path, capsys):
    run = _run_folder(tmp_path)
    assert main(["report", str(run)]) == 0
    assert (run / "charts" / "training_curves.png").is_file()


def test_scann_results_give_recall_vs_latency(tmp_path):
    written = charts.charts_for(REPO / "benchmarks" / "results" / "scann_1m.json", tmp_path)
    assert [p.name for p in written] == ["scann_1m_recall_latency.png"]
    _png_size(written[0])


def test_evaluate_results_format_is_accepted(tmp_path):
    # tfrec evaluate writes {"results": [...]}, the benchmarks {"rows": [...]}
    res = {"results": [{"algorithm": "popularity", "metrics": {"ndcg@10": 0.25, "test_users": 943}},
                       {"algorithm": "item_knn", "metrics": {"ndcg@10": 0.41, "test_users": 943}}]}
    (tmp_path / "results.json").write_text(json.dumps(res))
    assert [p.name for p in charts.charts_for(tmp_path, tmp_path / "c")] == ["results_metrics.png"]


def test_metric_choice_prefers_quality_metrics_and_direction():
    rows = [{"metrics": {"test_users": 9, "novelty": 3.0, "hr@10": 0.5, "rmse": 0.9}},
            {"metrics": {"test_users": 9, "novelty": 2.0, "hr@10": 0.6}},
            {"metrics": {"test_users": 9, "novelty": 2.0, "hr@10": 0.7}}]
    assert charts.choose_metrics(rows) == ["hr@10"]  # rmse is in only 1 of 3 rows
    assert charts.choose_metrics([{"metrics": {"qps": 10.0, "p50_ms": 3.0}}]) == ["qps", "p50_ms"]
    assert charts.lower_is_better("val_rmse") and charts.lower_is_better("log_loss")
    assert not charts.lower_is_better("auc") and not charts.lower_is_better("ndcg@10")


def test_report_errors_name_the_problem(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "nope not found" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2
    assert "holds neither epochs.jsonl" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"rows": [')
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        charts.charts_for(bad, tmp_path)
    with pytest.raises(ValueError, match=r"metrics \['auc'\] are not in the results; known metrics: \['rmse'\]"):
        charts.metrics_by_algorithm({"rows": [{"algorithm": "a", "metrics": {"rmse": 1.0}}]}, tmp_path / "x.png",
                                    metrics=["auc"])


def test_benchmarks_report_embeds_the_charts(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_report", REPO / "benchmarks" / "make_report.py")
    make_report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_report)
    monkeypatch.setattr(make_report, "CHARTS", tmp_path)
    monkeypatch.setattr(make_report, "REPO", tmp_path.parent)
    res = json.loads((REPO / "benchmarks" / "results" / "ncf_ml100k.json").read_text())
    path = make_report.chart(res, "ncf_ml100k")
    assert path == tmp_path / "ncf_ml100k_metrics.png" and path.is_file()
    assert f"![ncf_ml100k chart]({tmp_path.name}/ncf_ml100k_metrics.png)" in make_report.section(res, path)
    assert make_report.chart(res, "ncf_ml100k_tuning") is None  # tuning histories get no chart
    # and the committed page shows the committed charts
    page = (REPO / "BENCHMARKS.md").read_text()
    for png in sorted((REPO / "benchmarks" / "results" / "charts").glob("*.png")):
        assert f"(benchmarks/results/charts/{png.name})" in page


def test_docstring_examples_run():
    import doctest

    import tfrec.data.download
    import tfrec.data.errors
    import tfrec.data.validation
    import tfrec.progress

    for module in (charts, tfrec.progress, tfrec.data.download, tfrec.data.errors, tfrec.data.validation):
        failed, tried = doctest.testmod(module)
        assert tried and not failed, module.__name__


def test_benchmarks_report_shows_the_settings_of_each_tune_row():
    spec = importlib.util.spec_from_file_location("make_report", REPO / "benchmarks" / "make_report.py")
    make_report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_report)
    res = {"benchmark": "x_tuning", "rows": [
        {"algorithm": "mf default config", "metrics": {"val_rmse": 0.95}, "config": {"model.params.l2": 0.1}},
        {"algorithm": "trial 0", "metrics": {"val_rmse": 0.93}, "config": {"model.params.l2": 0.01}},
        {"algorithm": "popularity", "metrics": {"val_rmse": 1.1}}],
        "anchors": [{"algorithm": "paper", "metrics": {"val_rmse": 0.9}}]}
    lines = make_report.section(res).splitlines()
    assert "| algorithm | val_rmse | settings |" in lines
    assert "| trial 0 | 0.9300 | l2=0.0100 |" in lines
    assert "| popularity | 1.1000 |  |" in lines and "| paper *published* | 0.9000 |  |" in lines


def test_benchmarks_report_says_whether_a_hybrid_beats_each_component():
    spec = importlib.util.spec_from_file_location("make_report", REPO / "benchmarks" / "make_report.py")
    make_report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_report)
    rows = [{"algorithm": "rbm [a]", "metrics": {"rmse": 0.93}}, {"algorithm": "knn [a]", "metrics": {"rmse": 1.01}},
            {"algorithm": "hybrid (rbm + knn) [a]", "metrics": {"rmse": 0.95}},
            {"algorithm": "two_tower [a]", "metrics": {"hr@10": 0.5}}]
    (line,) = make_report.hybrid_verdicts(rows)
    assert "does NOT beat rbm (0.9500 vs 0.9300)" in line and "beats knn (0.9500 vs 1.0100)" in line
