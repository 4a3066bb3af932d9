"""A CTR table that is not Criteo-layout, trained from the command line with ``data.ctr`` (format ctr)."""

import json

import numpy as np
import pytest

from tfrec.cli.main import main
from tfrec.data import load_criteo

RENAME = {"label": "clicked", "I1": "price", "I2": "n_views", "I5": "age_days", "C1": "site", "C2": "device",
          "C6": "campaign"}


@pytest.fixture(scope="module")
def ctr_folder(criteo_path, tmp_path_factory):
    frame = load_criteo(criteo_path / "criteo_sampled_data_10k.csv").frame.iloc[:1500]
    folder = tmp_path_factory.mktemp("clicks")
    # other names, another column order, and an extra column the schema does not name
    table = frame[list(RENAME)].rename(columns=RENAME)[["site", "price", "clicked", "device", "n_views",
                                                        "campaign", "age_days"]]
    table.insert(0, "row_id", range(len(table)))
    table.to_csv(folder / "impressions.csv", index=False)
    return folder, frame


def test_generic_ctr_table_trains_from_the_cli(ctr_folder, tmp_path, capsys):
    folder, frame = ctr_folder
    cfg = tmp_path / "ctr.yaml"
    cfg.write_text(
        "data:\n"
        "  ctr: {label: clicked, numeric: [price, n_views, age_days], categorical: [site, device, campaign]}\n"
        "model: {name: logreg, params: {task: ctr, criteo_features: {min_count: 2}}}\n"
        "training: {epochs: 1, batch_size: 256, learning_rate: 0.01, verbose: 0}\n"
        "output: {saved_model: false, tensorboard: false}\n")
    run_dir = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--data", str(folder), "--run-dir", str(run_dir)]) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    final = metrics["final"]
    assert final["n_test"] == 150  # 1500 rows, 80/10/10
    assert 0.0 < final["auc"] < 1.0 and final["log_loss"] > 0.0
    assert metrics["monitor"] == "val_auc"
    # the test rows are the last 150 of the seeded permutation (data.seed 42), labels read from 'clicked'
    test_rows = np.random.default_rng(42).permutation(1500)[1350:]
    assert final["test_ctr"] == pytest.approx(frame["label"].iloc[test_rows].mean())


def test_ctr_table_split_matches_the_criteo_split(ctr_folder):
    from tfrec.training.config import from_dict
    from tfrec.training.data import prepare_criteo

    folder, frame = ctr_folder
    cfg = from_dict({"data": {"path": str(folder), "ctr": {"label": "clicked", "numeric": ["price"],
                                                         "categorical": ["site"]}},
                     "model": {"name": "logreg", "params": {"task": "ctr"}}})
    run = prepare_criteo(cfg)
    assert run.label == "clicked" and run.numeric == ("price",) and run.categorical == ("site",)
    assert list(run.frame.columns) == ["clicked", "price", "site"]
    # same seeded permutation as a Criteo table: test rows carry the labels of the same source rows
    assert run.test["clicked"].tolist() == frame["label"].iloc[run.test.index].tolist()
