"""The benchmark configs of the rating and CTR families validate: every run's config, overrides and row names.

``tfrec bench --dry-run`` checks each run (the train configs with their ``set`` overrides, through the
model-family checks) without training; the rows are the ones the results file will hold.
"""

from __future__ import annotations

import pytest

from tfrec.cli.main import main

ROWS = {
    "ranking_ml100k": ["ranking_refit", "ranking_side_refit", "dcn_full_stacked_refit", "dcn_full_parallel_refit",
                       "dcn_lowrank_stacked_refit", "dcn_lowrank_parallel_refit", "deepfm_refit", "fm_refit",
                       "mf_refit"],
    "ctr_ml100k": ["logreg", "fm", "deepfm", "dcn"],
    "ctr_criteo10k": ["logreg", "fm", "deepfm", "dcn"],
    "scale_ctr": ["logreg [1M]", "dcn [1M]", "deepfm [1M]", "logreg", "dcn", "deepfm"],
}


@pytest.mark.parametrize("name", sorted(ROWS))
def test_bench_config_dry_run_lists_its_rows(name, capsys):
    assert main(["bench", f"configs/bench/{name}.yaml", "--dry-run"]) == 0
    out = capsys.readouterr().out
    listed = [name for line in out.splitlines() if "-> rows: " in line
              for name in line.split("-> rows: ", 1)[1].strip().split(", ")]
    assert listed == ROWS[name]
    assert f"results: benchmarks/results/{name}.json" in out


TUNED = ["autorec_ml100k_u1", "bakeoff_ml100k_msr", "ctr_criteo10k", "gru4rec_rsc15_100k", "ncf_ml100k",
         "ranking_ml100k", "rbm_ml100k", "retrieval_ml100k_tfrs"]


@pytest.mark.parametrize("name", TUNED)
def test_each_search_history_is_a_tune_run_of_tfrec_bench(name, capsys):
    """benchmarks/results/<name>_tuning.json comes from `tfrec bench configs/bench/<name>_tuning.yaml`."""
    import json
    from pathlib import Path

    config = f"configs/bench/{name}_tuning.yaml"
    assert main(["bench", config, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "-> rows: " in out and " default config, " in out and f"results: benchmarks/results/{name}_tuning.json" in out
    res = json.loads(Path(f"benchmarks/results/{name}_tuning.json").read_text())
    assert res["command"] == f"tfrec bench {config}"
    names = [r["algorithm"] for r in res["rows"]]
    assert names[0].endswith("default config") and names[1].endswith("best config (search)")
    assert all(n.startswith("trial ") for n in names[2:]) and len(names) > 3
    assert all(set(r["config"]) == set(res["rows"][0]["config"]) for r in res["rows"])
