"""Export: TF Serving layout, models.config, warm-up records, recall-tuned ScaNN, signatures."""

import json
import os

import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tfrec.serving.config import parse_config_file
from tfrec.export import layout
from tfrec.export.retrieval import RetrievalModule, export_retrieval
from tfrec.export.scann_index import exact_top_k, recall_at_k, tune_scann
from tfrec.export.signatures import SessionTopKModule, export_ctr, export_ranking, export_session
from tfrec.export.testing import TinyPairModel, tiny_two_tower
from tfrec.export.warmup import read_warmup_requests


# -- layout ----------------------------------------------------------------------------------------

def test_atomic_version_dir_renames_only_on_success(tmp_path):
    with layout.atomic_version_dir(tmp_path, "m", 3) as tmp:
        assert tmp.parent == tmp_path / "m" and not tmp.name.isdigit()
        (tmp / "saved_model.pb").write_bytes(b"x")
        assert layout.list_versions(tmp_path / "m") == []  # invisible while being written
    assert layout.list_versions(tmp_path / "m") == [3]
    with pytest.raises(RuntimeError):
        with layout.atomic_version_dir(tmp_path, "m") as tmp:
            (tmp / "saved_model.pb").write_bytes(b"x")
            raise RuntimeError("writer failed")
    assert sorted(os.listdir(tmp_path / "m")) == ["3"]  # nothing left behind, no version 4
    assert layout.next_version(tmp_path / "m") == 4


def test_atomic_version_dir_refuses_existing_version_unless_overwrite(tmp_path):
    with layout.atomic_version_dir(tmp_path, "m", 1) as tmp:
        (tmp / "saved_model.pb").write_bytes(b"old")
    with pytest.raises(FileExistsError, match="already exists"):
        with layout.atomic_version_dir(tmp_path, "m", 1):
            pass
    with layout.atomic_version_dir(tmp_path, "m", 1, overwrite=True) as tmp:
        (tmp / "saved_model.pb").write_bytes(b"new")
    assert (tmp_path / "m" / "1" / "saved_model.pb").read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path / "m")) == ["1"]


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "has space", "-lead"])
def test_invalid_model_names_are_rejected(tmp_path, bad):
    with pytest.raises(ValueError, match="invalid model name"):
        with layout.atomic_version_dir(tmp_path, bad, 1):
            pass


def test_invalid_version_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="positive integer"):
        with layout.atomic_version_dir(tmp_path, "m", 0):
            pass


def test_list_versions_ignores_non_numeric_and_incomplete_folders(tmp_path):
    for name, complete in (("1", True), ("2", False), ("latest", True), (".tmp-3-1-ab", True), ("10", True)):
        (tmp_path / name).mkdir()
        if complete:
            (tmp_path / name / "saved_model.pb").write_bytes(b"")
    assert layout.list_versions(tmp_path) == [1, 10]
    assert layout.next_version(tmp_path) == 11


# -- retrieval export ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("models")
    toy = tiny_two_tower(num_users=30, num_items=6000, dim=8, seed=5, clusters=60)
    result = export_retrieval(base, "movies", toy.query_model, toy.query_features, toy.item_ids, toy.item_embeddings,
                              k=10, scann_recall=0.9, warmup_examples={"user_id": toy.user_ids},
                              tuning_queries=_cluster_queries(toy, 300), config_root="/models", latency_queries=30,
                              log=None)
    return base, toy, result


def _cluster_queries(toy, n):
    rng = np.random.default_rng(11)
    return toy.item_embeddings[rng.integers(0, len(toy.item_ids), n)] + 0.3 * rng.normal(size=(n, 8)).astype("float32")


def test_export_writes_both_variants_and_configs(exported):
    base, _, result = exported
    assert result.version == 1 and set(result.paths) == {"movies", "movies_scann"}
    for name in ("movies", "movies_scann"):
        v = base / name / "1"
        assert (v / "saved_model.pb").is_file() and (v / "variables").is_dir()
        assert (v / "assets.extra" / "tf_serving_warmup_requests").is_file()
    full = parse_config_file(base / layout.CONFIG_FILE)
    stock = parse_config_file(base / layout.TFSERVING_CONFIG_FILE)
    assert [(c.name, str(c.base_path)) for c in full] == [("movies", "/models/movies"), ("movies_scann", "/models/movies_scann")]
    assert [c.name for c in stock] == ["movies"]  # stock TF Serving cannot load the ScaNN model


def _op_names(version_dir):
    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString((version_dir / "saved_model.pb").read_bytes())
    ops = set()
    for mg in sm.meta_graphs:
        ops |= {n.op for n in mg.graph_def.node}
        for f in mg.graph_def.library.function:
            ops |= {n.op for n in f.node_def}
    return ops


def test_brute_force_variant_uses_only_stock_ops(exported):
    base, _, _ = exported
    assert not any(op.startswith("Scann") for op in _op_names(base / "movies" / "1"))
    assert any(op.startswith("Scann>") for op in _op_names(base / "movies_scann" / "1"))


def test_scann_tuning_report_reaches_the_target(exported):
    base, _, result = exported
    t = result.tuning
    assert t.reached_target and t.recall >= 0.9
    assert t.settings.num_leaves == 77  # about sqrt(6000)
    assert 1 <= t.settings.num_leaves_to_search <= 77
    assert t.settings.num_reordering_candidates >= 10
    assert t.scann_latency_ms > 0 and t.brute_force_latency_ms > 0 and t.build_seconds > 0
    saved = json.loads((base / "movies_scann" / "1" / "assets.extra" / "scann_settings.json").read_text())
    assert saved["settings"] == t.settings.to_dict()
    # only settings reaching target + margin (0.9 + 0.01) on the tuning queries were timed; the fastest won
    timed = [tr for tr in t.trials if "latency_ms" in tr]
    assert timed and all(tr["recall"] >= 0.91 for tr in timed)
    best = min(timed, key=lambda tr: tr["latency_ms"])
    assert (best["num_leaves_to_search"], best["num_reordering_candidates"]) == (
        t.settings.num_leaves_to_search, t.settings.num_reordering_candidates)


def test_saved_models_match_in_process_top_k(exported):
    base, toy, _ = exported
    users = ["u1", "u7", "stranger"]
    ids, scores = toy.exact_top_k(users, 10)
    exact = tf.saved_model.load(str(base / "movies" / "1")).signatures["serving_default"]
    out = exact(user_id=tf.constant(users))
    np.testing.assert_array_equal(out["item_ids"].numpy().astype(str), ids)
    np.testing.assert_allclose(out["scores"].numpy(), scores, rtol=1e-5, atol=1e-5)
    approx = tf.saved_model.load(str(base / "movies_scann" / "1")).signatures["serving_default"]
    got = approx(user_id=tf.constant(toy.user_ids))["item_ids"].numpy().astype(str)
    want = toy.exact_top_k(toy.user_ids, 10)[0]
    assert recall_at_k(got, want) >= 0.8  # tuned on other queries; these are users


def test_exclude_signature_never_returns_excluded_items(exported):
    base, toy, _ = exported
    top = toy.exact_top_k(["u2", "u3"], 10)[0]
    banned = [top[0, :5].tolist() + [""], top[1, ::2].tolist() + [""]]  # rows padded with ""
    want = toy.exact_top_k(["u2", "u3"], 10, exclude=banned)[0]
    for name in ("movies", "movies_scann"):
        fn = tf.saved_model.load(str(base / name / "1")).signatures["exclude"]
        got = fn(user_id=tf.constant(["u2", "u3"]), exclude_items=tf.constant(banned))["item_ids"].numpy().astype(str)
        for row, bans in zip(got, banned):
            assert not set(row) & set(bans)
        if name == "movies":
            np.testing.assert_array_equal(got, want)


def test_empty_batch_is_answered(exported):
    base, _, _ = exported
    fn = tf.saved_model.load(str(base / "movies_scann" / "1")).signatures["serving_default"]
    out = fn(user_id=tf.constant([], tf.string))
    assert out["item_ids"].shape.as_list() == [0, 10]


def test_warmup_records_are_prediction_logs_for_both_signatures(exported):
    base, toy, _ = exported
    reqs = read_warmup_requests(base / "movies" / "1")
    assert [r.model_spec.signature_name for r in reqs] == ["serving_default", "exclude"]
    assert reqs[0].model_spec.name == "movies"
    assert tf.make_ndarray(reqs[0].inputs["user_id"]).tolist() == [u.encode() for u in toy.user_ids[:4]]
    assert set(reqs[1].inputs) == {"user_id", "exclude_items"}


def test_retrieval_module_arguments_are_checked():
    toy = tiny_two_tower(num_users=3, num_items=5, dim=2)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        RetrievalModule(toy.query_model, toy.query_features, toy.item_ids, toy.item_embeddings, k=0)
    with pytest.raises(ValueError, match="one row per candidate id"):
        RetrievalModule(toy.query_model, toy.query_features, toy.item_ids[:3], toy.item_embeddings, k=2)
    with pytest.raises(ValueError, match="reserved"):
        RetrievalModule(toy.query_model, {"exclude_items": tf.TensorSpec([None], tf.string)}, toy.item_ids,
                        toy.item_embeddings)
    assert RetrievalModule(toy.query_model, toy.query_features, toy.item_ids, toy.item_embeddings, k=50).k == 5


# -- ScaNN tuning on its own -----------------------------------------------------------------------

def test_tune_scann_without_tree_for_small_catalogs():
    rng = np.random.default_rng(0)
    items = rng.normal(size=(800, 6)).astype("float32")
    queries = rng.normal(size=(100, 6)).astype("float32")
    _, report = tune_scann(items, queries, k=5, target_recall=0.95, latency_queries=10, log=None)
    assert report.settings.num_leaves == 0 and report.recall >= 0.95 and report.reached_target
    exact = exact_top_k(items, queries, 5)
    np.testing.assert_array_equal(exact[:, 0], np.argmax(queries @ items.T, axis=1))


def test_tune_scann_rejects_bad_arguments():
    items = np.zeros((10, 3), "float32")
    with pytest.raises(ValueError, match="target_recall"):
        tune_scann(items, items, target_recall=1.5, log=None)
    with pytest.raises(ValueError, match="same d"):
        tune_scann(items, np.zeros((4, 2), "float32"), log=None)


def test_recall_at_k_counts_overlap():
    # row 0: 2 of 3 found, row 1: 3 of 3 -> 5 / 6
    assert recall_at_k(np.array([[1, 2, 9], [4, 5, 6]]), np.array([[1, 2, 3], [6, 5, 4]])) == pytest.approx(5 / 6)


# -- ranking, CTR and session signatures ------------------------------------------------------------

def test_ranking_export_signatures(tmp_path):
    users, items = [f"u{i}" for i in range(6)], [f"m{i}" for i in range(9)]
    model = TinyPairModel(6, 9, seed=4)
    path = export_ranking(tmp_path, "ranker", model, users, items, k=4)
    loaded = tf.saved_model.load(str(path))
    scores = model({"user_idx": tf.repeat([2], 9), "item_idx": tf.range(9)}).numpy()
    order = np.argsort(-scores, kind="stable")
    out = loaded.signatures["serving_default"](user_id=tf.constant(["u2"]))
    assert out["item_ids"].numpy().astype(str).tolist() == [[items[i] for i in order[:4]]]
    out = loaded.signatures["exclude"](user_id=tf.constant(["u2"]), exclude_items=tf.constant([[items[order[0]], "zz"]]))
    assert out["item_ids"].numpy().astype(str).tolist() == [[items[i] for i in order[1:5]]]
    out = loaded.signatures["score"](user_id=tf.constant(["u2", "nobody"]), item_id=tf.constant(["m3", "m3"]))
    np.testing.assert_allclose(out["score"].numpy(), [scores[3], 0.0], rtol=1e-5, atol=1e-6)


def test_ctr_export_outputs_probability(tmp_path):
    inp = {"c1": tf.keras.Input([], dtype=tf.string, name="c1"), "i1": tf.keras.Input([], dtype=tf.float32, name="i1")}
    hashed = tf.keras.layers.Hashing(16)(inp["c1"])
    emb = tf.keras.layers.Flatten()(tf.keras.layers.Embedding(16, 1)(hashed[:, None]))
    logit = tf.keras.layers.Add()([emb, tf.keras.layers.Reshape([1])(inp["i1"])])
    model = tf.keras.Model(inp, logit)
    specs = {"c1": tf.TensorSpec([None], tf.string), "i1": tf.TensorSpec([None], tf.float32)}
    examples = {"c1": np.array(["a", "b"], object), "i1": np.array([0.5, -1.0], np.float32)}
    path = export_ctr(tmp_path, "ctr", model, specs, examples, from_logits=True)
    out = tf.saved_model.load(str(path)).signatures["serving_default"](c1=tf.constant(["a", "b"]), i1=tf.constant([0.5, -1.0]))
    expected = tf.sigmoid(tf.reshape(model({"c1": tf.constant(["a", "b"]), "i1": tf.constant([0.5, -1.0])}), [-1]))
    assert list(out) == ["probability"]
    np.testing.assert_allclose(out["probability"].numpy(), expected.numpy(), rtol=1e-6)


def test_session_export_top_k_of_next_item(tmp_path):
    items = [f"s{i}" for i in range(7)]

    class LastItemPlusOne(tf.Module):
        """Scores item (last known item + 1) highest: a next-item rule with a known answer."""

        def __call__(self, idx):
            last = tf.reduce_max(idx, axis=1)
            return tf.one_hot((last + 1) % 7, 7) * 10.0 + tf.range(7, dtype=tf.float32)[None, :] * 0.1

    module = SessionTopKModule(LastItemPlusOne(), items, k=3, exclude_history=True)
    out = module.serving_default({"item_ids": tf.constant([["s1", "s2", ""], ["s6", "s5", "zz"]])})
    # row 0: last=2 -> s3 first, then the highest remaining indices s6, s5
    # row 1: max index 6 -> (6+1)%7 = s0 first; s6 and s5 are in the history -> then s4, s3
    assert out["item_ids"].numpy().astype(str).tolist() == [["s3", "s6", "s5"], ["s0", "s4", "s3"]]
    path = export_session(tmp_path, "session", LastItemPlusOne(), items, k=3)
    loaded = tf.saved_model.load(str(path)).signatures["serving_default"]
    assert loaded(item_ids=tf.constant([["s1"]]))["item_ids"].numpy().astype(str)[0, 0] == "s2"


def test_ranking_export_id_tables_are_asset_files_not_graph_constants(tmp_path):
    """The raw-id -> index tables read vocabulary files that the SavedModel holds under assets/; the ids
    are not constants of the graph, and the served lookups work after the process' own files are gone."""
    import shutil

    from tfrec.features import vocab_files

    users, items = [f"user{i}" for i in range(6)], [f"movie{i}" for i in range(9)]
    model = TinyPairModel(6, 9, seed=4)
    path = export_ranking(tmp_path, "ranker", model, users, items, k=4)
    assets = {p.read_text() for p in (path / "assets").iterdir()}
    assert "".join(f"{u}\n" for u in users) in assets and "".join(f"{m}\n" for m in items) in assets
    graph = (path / "saved_model.pb").read_bytes()
    assert b"user3" not in graph and b"movie7" not in graph
    shutil.rmtree(vocab_files._folder())
    loaded = tf.saved_model.load(str(path))
    out = loaded.signatures["score"](user_id=tf.constant(["user2", "nobody"]), item_id=tf.constant(["movie3", "movie3"]))
    scores = model({"user_idx": tf.constant([2]), "item_idx": tf.constant([3])}).numpy()
    np.testing.assert_allclose(out["score"].numpy(), [scores[0], 0.0], rtol=1e-5, atol=1e-6)
