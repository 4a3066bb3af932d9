"""The CTR families from a CTR shard folder (``data.format: shards``): the hash split and its streamed
statistics, integer-id features, streamed vs in-memory training, and bad folders refused by name."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tfrec.data.ctr_stream import scan_ctr_split
from tfrec.data.errors import DataFormatError
from tfrec.data.stream import read_columns
from tfrec.data.synth import SynthSpec, synthesize

NUMERIC = [f"I{j}" for j in range(1, 14)]
CATEGORICAL = [f"C{j}" for j in range(1, 27)]


@pytest.fixture(scope="module")
def ctr_shards(tmp_path_factory):
    out = tmp_path_factory.mktemp("ctr_shards") / "planted"
    synthesize(SynthSpec(like="criteo", rows=4000, seed=3, max_cardinality=500), out, shards=3)
    return out


def test_split_statistics_equal_feature_layer_adapt_on_the_fit_rows(ctr_shards):
    import tfrec  # noqa: F401
    from tfrec.features import FeatureLayer

    split = scan_ctr_split(ctr_shards, seed=5, test_ratio=0.2, validation_ratio=0.1, read_rows=333)
    rows = read_columns(ctr_shards, ["label", *NUMERIC, *CATEGORICAL])
    codes = split.codes(rows)
    assert {k: int((codes == c).sum()) for k, c in (("fit", 0), ("val", 1), ("test", 2))} == split.rows
    assert 0.15 < split.rows["test"] / 4000 < 0.25
    fit = pd.DataFrame({c: rows[c][codes == 0] for c in NUMERIC})
    layer = FeatureLayer([{"name": c, "kind": "numeric", "transform": "log"} for c in NUMERIC])
    layer.adapt(fit)
    for c in NUMERIC:
        assert split.numeric_state[c]["mean"] == pytest.approx(layer.adapted_state[c]["mean"], rel=1e-9), c
        assert split.numeric_state[c]["std"] == pytest.approx(layer.adapted_state[c]["std"], rel=1e-9), c
    assert split.fit_ctr == pytest.approx(rows["label"][codes == 0].mean())


def test_same_rows_always_fall_in_the_same_split(ctr_shards):
    split = scan_ctr_split(ctr_shards, seed=5, test_ratio=0.2, validation_ratio=0.1)
    rows = read_columns(ctr_shards, CATEGORICAL)
    half = {c: v[:100] for c, v in rows.items()}
    assert np.array_equal(split.codes(half), split.codes(rows)[:100])
    doubled = {c: np.concatenate([v[:50], v[:50]]) for c, v in rows.items()}
    codes = split.codes(doubled)
    assert np.array_equal(codes[:50], codes[50:])  # duplicate rows never straddle the split


def test_integer_id_feature_maps_id_to_row_plus_one_and_others_to_oov():
    import tfrec  # noqa: F401
    import tensorflow as tf

    from tfrec.features import FeatureLayer
    from tfrec.features.spec import ENCODED_SUFFIX

    layer = FeatureLayer([{"name": "C1", "kind": "categorical", "num_ids": 5}], embedding_dim=2, adapted_state={"C1": {}})
    encoded = layer.encode({"C1": tf.constant([0, 4, 5, -1], tf.int32)})["C1" + ENCODED_SUFFIX].numpy()
    assert encoded.tolist() == [1, 5, 0, 0]
    layer({"C1": tf.constant([0], tf.int32)})
    assert layer._tables["C1"].embeddings.shape == (6, 2)  # num_ids + the OOV row


def test_num_ids_and_hash_bins_together_are_refused():
    from tfrec.features.spec import Feature

    with pytest.raises(ValueError, match="hash_bins .* or num_ids .*, not both"):
        Feature("C1", "categorical", hash_bins=10, num_ids=10)


def _config(folder, name, stream, **training):
    from tfrec.training.config import from_dict

    model_params = {"deep_layers": [8], "cross_layers": 1} if name == "dcn" else {}
    return from_dict({"data": {"format": "shards", "path": str(folder), "test_ratio": 0.2, "validation_ratio": 0.1,
                               "seed": 7, "stream": stream},
                      "model": {"name": name, "params": {"task": "ctr", "embedding_dim": 4, "model_params": model_params}},
                      "training": {"epochs": 1, "batch_size": 256, "learning_rate": 0.01, "shuffle_buffer": 0,
                                   "early_stopping": {"enabled": False}, "verbose": 0, "seed": 1, **training},
                      "output": {"tensorboard": False, "backup": False, "saved_model": False}})


@pytest.mark.parametrize("name", ["logreg", "dcn"])
def test_streamed_and_in_memory_rows_give_the_same_auc(ctr_shards, tmp_path, name):
    from tfrec.training.trainer import Trainer

    finals = [Trainer(_config(ctr_shards, name, stream), run_dir=tmp_path / str(stream)).fit().final
              for stream in (True, False)]
    assert finals[0]["n_test"] == finals[1]["n_test"] > 0
    # the same rows in the same order, the same seeded initialisation: the same model up to float round-off
    assert finals[0]["auc"] == pytest.approx(finals[1]["auc"], abs=1e-4)
    assert finals[0]["log_loss"] == pytest.approx(finals[1]["log_loss"], abs=1e-4)


def test_shard_with_wrong_schema_is_refused_naming_the_file(ctr_shards, tmp_path):
    import shutil

    folder = tmp_path / "bad"
    shutil.copytree(ctr_shards, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    shard = folder / manifest["shards"][1]["path"]
    frame = pd.read_parquet(shard)
    frame["C2"] = frame["C2"].astype(np.float64)
    frame.to_parquet(shard, index=False)
    manifest["shards"][1]["bytes"] = shard.stat().st_size  # the sizes agree: the schema check must catch it
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataFormatError, match=r"part-00001-of-00003\.parquet.*column 'C2' is float64 but the "
                                              r"manifest says int32"):
        scan_ctr_split(folder, seed=1, test_ratio=0.2, validation_ratio=0.1)


def test_ratings_folder_is_refused_for_a_ctr_family(tmp_path):
    folder = tmp_path / "ratings"
    synthesize(SynthSpec(like="ml-25m", rows=500, seed=0), folder, shards=1)
    with pytest.raises(DataFormatError, match="holds 'ratings' rows; the CTR families need a CTR shard folder"):
        scan_ctr_split(folder, seed=1, test_ratio=0.2, validation_ratio=0.1)


def test_bench_ctr_scale_run_with_a_suffix_trains_in_children_and_keeps_its_goals_apart(tmp_path, monkeypatch):
    """A ctr_scale run through ``tfrec bench``: synthetic planted and null data written by child processes,
    each (model, dataset) trained in a child with its peak RSS; rows carry the run's suffix and the
    run's data and goals go under ``by_run``."""
    import yaml

    from tfrec.cli.main import main

    monkeypatch.chdir(tmp_path)
    train = {"data": {"format": "shards", "test_ratio": 0.2, "validation_ratio": 0.1, "seed": 1, "stream": True},
             "model": {"params": {"task": "ctr", "embedding_dim": 4}},
             "training": {"epochs": 1, "batch_size": 256, "early_stopping": {"enabled": False}, "verbose": 0},
             "output": {"tensorboard": False, "backup": False, "saved_model": False}}
    config = {"bench": {"name": "tiny_ctr", "dataset": "synthetic", "protocol": "test", "results": "tiny.json"},
              "runs": [{"suffix": " [tiny]", "ctr_scale": {
                  "rows": 3000, "synth": {"seed": 0, "shards": 2, "crosses": 2, "max_cardinality": 50},
                  "data_dir": "synth", "baseline": "logreg", "train": train,
                  "models": {"logreg": {"model": {"name": "logreg"}}}}}]}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    assert main(["bench", "tiny.yaml", "--no-progress"]) == 0
    res = json.loads((tmp_path / "tiny.json").read_text())
    (row,) = res["rows"]
    assert row["algorithm"] == "logreg [tiny]"
    m = row["metrics"]
    assert 0.5 < m["auc_planted"] <= 1 and 0 < m["auc_null"] <= 1 and m["peak_rss_mb"] > 100
    assert m["auc_gain_planted"] == 0.0  # the baseline itself
    assert set(res["by_run"]["[tiny]"]) == {"data", "goals"} and "goals" not in res
    assert res["by_run"]["[tiny]"]["goals"]["rows"] == 3000
