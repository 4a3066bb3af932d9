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
    "scale_ctr": ["logreg", "dcn", "deepfm"],
}


@pytest.mark.parametrize("name", sorted(ROWS))
def test_bench_config_dry_run_lists_its_rows(name, capsys):
    assert main(["bench", f"configs/bench/{name}.yaml", "--dry-run"]) == 0
    out = capsys.readouterr().out
    listed = [name for line in out.splitlines() if "-> rows: " in line
              for name in line.split("-> rows: ", 1)[1].strip().split(", ")]
    assert listed == ROWS[name]
    assert f"results: benchmarks/results/{name}.json" in out
