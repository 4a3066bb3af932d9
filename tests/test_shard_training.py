"""Training from shard folders (``data.format: shards``), the hash holdout split, block evaluation,
and the scale benchmark's child-process measurement."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from tfrec.data.errors import DataFormatError
from tfrec.data.holdout import TEST, scan_split
from tfrec.data.stream import iter_batches


@pytest.fixture(scope="module")
def ml100k_shards(ml100k_path, tmp_path_factory):
    from tfrec.data.convert import convert

    out = tmp_path_factory.mktemp("shards") / "ml-100k"
    convert(ml100k_path, out, shards=4)
    return out


def _raw_rows(folder):
    parts = list(iter_batches(folder, ["user", "item", "rating"]))
    return {c: np.concatenate([p[c] for p in parts]) for c in ("user", "item", "rating")}


def test_holdout_split_has_no_test_row_in_train_and_vocab_from_train_only(ml100k_shards):
    split = scan_split(ml100k_shards, seed=3, test_ratio=0.2, validation_ratio=0.1)
    rows = _raw_rows(ml100k_shards)
    codes = split.codes(rows)
    test_pairs = set(zip(rows["user"][codes == TEST], rows["item"][codes == TEST]))
    train_pairs = set(zip(rows["user"][codes != TEST], rows["item"][codes != TEST]))
    assert test_pairs and train_pairs and not test_pairs & train_pairs
    assert 0.17 < (codes == TEST).mean() < 0.23
    # the vocabulary is exactly the users / items of the training rows
    vocab_users = set(split.user_ids.astype(str))
    users_txt = (ml100k_shards / "vocab" / "user.txt").read_text().splitlines()
    assert vocab_users == {users_txt[u] for u in np.unique(rows["user"][codes != TEST])}
    assert split.n_items == len(np.unique(rows["item"][codes != TEST])) < 1682  # some items only in test
    train = split.transform("train")(rows)
    assert len(train["user"]) == split.rows["fit"] + split.rows["val"] == int((codes != TEST).sum())
    test = split.transform("test")(rows)
    assert (test["item"] == -1).sum() == split.rows["test_unknown_item"] > 0
    assert len(test["user"]) + split.rows["test_unknown_user"] == int((codes == TEST).sum())


def test_split_is_the_same_in_any_batch_size(ml100k_shards):
    split = scan_split(ml100k_shards, seed=3, test_ratio=0.2, validation_ratio=0.1)
    keep = split.transform("val")
    whole = keep(_raw_rows(ml100k_shards))
    pieces = [keep(b) for b in iter_batches(ml100k_shards, ["user", "item", "rating"], rows=777)]
    np.testing.assert_array_equal(whole["user"], np.concatenate([p["user"] for p in pieces]))


def _config(folder, run_dir, model, stream, **training):
    params = {"embedding_dim": 16}
    return {"data": {"format": "shards", "path": str(folder), "test_ratio": 0.2, "validation_ratio": 0.1, "seed": 7,
                     "stream": stream},
            "model": {"name": model, "params": params},
            "training": {"epochs": 2, "batch_size": 4096, "learning_rate": 0.01, "shuffle_buffer": 0, "verbose": 0,
                         **training},
            "evaluation": {"k": [10]},
            "output": {"run_dir": str(run_dir), "tensorboard": False, "backup": False, "saved_model": False}}


@pytest.mark.slow
def test_streamed_and_in_memory_training_give_equal_metrics(ml100k_shards, tmp_path):
    """The same rows in the same order (no shuffling) -> the same model and the same test metrics."""
    from tfrec.training.trainer import Trainer

    finals = {}
    for stream in (True, False):
        cfg = _config(ml100k_shards, tmp_path / str(stream), "mf", stream)
        cfg["evaluation"]["max_users"] = 400
        result = Trainer(cfg, log=lambda m: None).fit()
        finals[stream] = result.final
        assert result.metrics["train_examples_per_epoch"] == result.run.split.rows["fit"]
    assert set(finals[True]) == set(finals[False])
    for name, value in finals[True].items():
        assert value == pytest.approx(finals[False][name], rel=1e-5, abs=1e-6), name
    assert finals[True]["rmse"] < 1.1 and finals[True]["recall@10"] > 0
    assert finals[True]["test_users"] == 400 < finals[True]["test_users_all"]


@pytest.mark.slow
def test_streamed_two_tower_trains_exports_with_scann_and_beats_random(ml100k_shards, tmp_path):
    from tfrec.export.run import export_run
    from tfrec.training.trainer import Trainer

    cfg = _config(ml100k_shards, tmp_path / "run", "two_tower", True, epochs=2, shuffle_buffer=20000,
                  optimizer="adagrad", learning_rate=0.1)
    cfg["evaluation"]["max_users"] = 300
    result = Trainer(cfg, log=lambda m: None).fit()
    final = result.final
    # a random list of 10 of ~1600 items hits a user's ~20 test items with probability ~0.12
    assert final["hr@10"] > 0.3
    assert final["test_users"] == 300 < final["test_users_all"]
    users = (tmp_path / "run" / "vocab" / "users.txt").read_text().splitlines()
    assert len(users) == result.run.n_users
    exported = export_run(tmp_path / "run", tmp_path / "models", name="tt", log=None)
    assert set(exported.paths) == {"tt", "tt_scann"}
    assert exported.tuning["recall"] >= 0.95


class _Factors:
    """Seeded random user/item factors: continuous scores, so no ties."""

    def __init__(self, n_users, n_items):
        rng = np.random.default_rng(0)
        self.u, self.v = rng.normal(size=(n_users, 8)), rng.normal(size=(n_items, 8))

    def score(self, users):
        return (self.u[np.asarray(users)] @ self.v.T).astype(np.float32)


def test_block_evaluation_equals_the_evaluator(ml100k_path):
    from tfrec.data import load_movielens
    from tfrec.data.training_data import Columns
    from tfrec.evaluation import EvaluatedAlgorithm, EvaluationData, Protocol
    from tfrec.evaluation.blocks import cosine_pair_similarity, evaluate_blocks
    from tfrec.recommenders.base import Algorithm

    ratings = load_movielens(ml100k_path).ratings
    protocol = Protocol("random", {"ratio": 0.8, "seed": 1})
    fold = protocol.split(ratings)[0]
    data = EvaluationData.build(fold.train, fold.test, Columns())
    factors = _Factors(data.train.n_users, data.train.n_items)

    class Fixed(Algorithm):
        def fit(self, d):
            self.data = d
            return self

        def score(self, users):
            return factors.score(users)

    expected = EvaluatedAlgorithm(Fixed(), protocol, k=10).evaluate(data)["metrics"]
    users = np.flatnonzero(data.num_relevant > 0)
    seen = data.train.seen_matrix()
    got = evaluate_blocks(factors.score, users, [10], data.relevant, data.num_relevant, data.train.n_items, seen=seen,
                          popularity=data.train.item_popularity(), similarity=cosine_pair_similarity(seen),
                          block_users=100, progress=False)
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    # the large-data similarity (user bitsets + sparse rows) gives the same diversity
    big = evaluate_blocks(factors.score, users, [10], data.relevant, data.num_relevant, data.train.n_items, seen=seen,
                          similarity=cosine_pair_similarity(seen, dense_limit=0, bitset_bytes=300 * 119),
                          block_users=333, progress=False)
    assert big["diversity"] == pytest.approx(expected["diversity"], abs=1e-5)


def _write_shards(folder, kind="ratings", item_dtype=np.int32):
    from tfrec.data.manifest import Manifest, Shard, write_manifest

    folder.mkdir()
    frame = pd.DataFrame({"user": np.arange(20, dtype=np.int32) % 5, "item": (np.arange(20) % 7).astype(item_dtype),
                          "rating": np.ones(20, np.float32), "timestamp": np.arange(20, dtype=np.int64)})
    frame.to_parquet(folder / "part-0.parquet", index=False)
    schema = {"user": "int32", "item": "int32", "rating": "float32", "timestamp": "int64"}
    write_manifest(Manifest(folder, kind, "parquet", schema, [Shard("part-0.parquet", 20,
                                                                     (folder / "part-0.parquet").stat().st_size)]))


def test_a_shard_folder_of_another_kind_names_the_manifest(tmp_path):
    _write_shards(tmp_path / "ctr", kind="ctr")
    with pytest.raises(DataFormatError, match=r"ctr[/\\]manifest.json.*kind is 'ctr'"):
        scan_split(tmp_path / "ctr", seed=0, test_ratio=0.2, validation_ratio=0.2)


def test_a_shard_with_another_schema_names_the_file(tmp_path):
    _write_shards(tmp_path / "bad", item_dtype=np.float64)
    with pytest.raises(DataFormatError, match=r"part-0.parquet.*column 'item' is float64 but the manifest says int32"):
        scan_split(tmp_path / "bad", seed=0, test_ratio=0.2, validation_ratio=0.2)


def test_train_config_with_shards_and_another_family_is_refused(tmp_path):
    from tfrec.config import ConfigError
    from tfrec.training.trainer import Trainer

    _write_shards(tmp_path / "ok")
    cfg = _config(tmp_path / "ok", tmp_path / "run", "neumf", True)
    cfg["model"]["params"] = {}
    with pytest.raises(ConfigError, match="data.format shards trains the families dcn, deepfm, fm, logreg, mf, two_tower"):
        Trainer(cfg)


def test_child_peak_rss_is_measured_per_child():
    from tfrec.cli.bench_scale import run_child

    code, _, small = run_child([sys.executable, "-c", "pass"])
    assert code == 0
    code, _, large = run_child([sys.executable, "-c", "import numpy, time; a = numpy.ones(40_000_000); time.sleep(1)"])
    assert code == 0 and large > small + 250  # 320 MB of float64
    code, _, small_again = run_child([sys.executable, "-c", "pass"])
    assert small_again < small + 50  # not the maximum over earlier children


def test_scale_bench_config_names_a_row_per_size(capsys):
    from tfrec.cli.main import main

    assert main(["bench", "configs/bench/scale.yaml", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "two_tower_1000000, two_tower_5000000, two_tower_25000000" in out


def test_scale_bench_refuses_a_train_config_without_shards(tmp_path):
    from tfrec.config import ConfigError, BenchConfig, read_yaml, validate, Locator
    from tfrec.cli.bench import prepare

    doc = {"bench": {"name": "s", "dataset": "d", "protocol": "p"},
           "runs": [{"scale": {"rows": [10], "train": {"model": {"name": "mf"}}}}]}
    path = tmp_path / "b.yaml"
    path.write_text(json.dumps(doc))
    bench = validate(BenchConfig, doc, Locator(str(path), read_yaml(str(path)).lines, {}))
    with pytest.raises(ConfigError, match="set data.format: shards"):
        prepare(bench, {})


def test_bench_synth_folder_is_reused_only_with_the_same_generator_settings(tmp_path):
    from tfrec.cli.bench_scale import synth_folder
    from tfrec.data.synth import SynthSpec, synthesize

    folder = tmp_path / "criteo-3000"
    synthesize(SynthSpec(like="criteo", rows=3000, seed=1, crosses=2, max_cardinality=50), folder, shards=2)
    want = {"like": "criteo", "rows": 3000, "seed": 1, "crosses": 2, "max_cardinality": 50}
    assert synth_folder(folder, want, [], log=lambda _: None) == {"path": folder, "reused": True}
    with pytest.raises(ValueError, match=r"seed=1.*this run wants seed=2"):
        synth_folder(folder, {**want, "seed": 2}, [], log=lambda _: None)
