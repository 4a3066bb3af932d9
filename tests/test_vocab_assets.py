"""Feature vocabularies travel as files: SavedModel assets, not token lists in get_config / build.json."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.cli.main import build_parser
from tfrec.features import FeatureLayer, vocab_files
from tfrec.training.config import from_dict
from tfrec.training.trainer import Trainer, load_run


def _file_entries(config):
    """Every ``{"vocabulary_file", ...}`` dict in a nested config, and whether a token list is anywhere."""
    found, lists = [], []

    def walk(x):
        if isinstance(x, dict):
            if "vocabulary_file" in x:
                found.append(x)
            if "vocabulary" in x:
                lists.append(x)
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)

    walk(config)
    return found, lists


def test_feature_layer_config_names_files_and_round_trips():
    frame = pd.DataFrame({"user_id": ["a", "b", "a"], "genres": [["x"], ["y", "x"], []]})
    layer = FeatureLayer([{"name": "user_id", "kind": "categorical"}, {"name": "genres", "kind": "multi_hot"}],
                         embedding_dim=3)
    layer.adapt(frame)
    config = layer.get_config()
    found, lists = _file_entries(config)
    assert lists == [] and len(found) == 2
    assert vocab_files.read_vocabulary(config["adapted_state"]["user_id"]["vocabulary_file"], 2) == ["a", "b"]
    clone = FeatureLayer.from_config(config)
    assert clone.adapted_state == layer.adapted_state
    # an older config with the token list still loads
    legacy = dict(config, adapted_state={"user_id": {"vocabulary": ["a", "b"]},
                                         "genres": {"vocabulary": ["x", "y"], "max_length": 2}})
    assert FeatureLayer.from_config(legacy).adapted_state == layer.adapted_state


def test_vocabulary_file_errors_name_the_file_and_value(tmp_path):
    config = FeatureLayer([{"name": "u", "kind": "categorical"}]).get_config()
    config["adapted_state"] = {"u": {"vocabulary_file": str(tmp_path / "gone.txt"), "vocabulary_size": 2}}
    with pytest.raises((FileNotFoundError, TypeError), match="gone.txt does not exist"):
        FeatureLayer.from_config(config)
    layer = FeatureLayer([{"name": "u", "kind": "categorical"}])
    with pytest.raises(ValueError, match=r"Feature 'u': the value 'a\\nb' holds a line break"):
        layer.adapt(pd.DataFrame({"u": ["a\nb", "c"]}))


@pytest.fixture(scope="module")
def ranking_run(ml100k_path, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "ranking"
    config = from_dict({
        "data": {"path": str(ml100k_path), "max_rows": 1500, "protocol": "random"},
        "model": {"name": "ranking", "params": {"embedding_dim": 4, "hidden_units": [8]}},
        "training": {"epochs": 1, "batch_size": 256, "verbose": 0},
        "evaluation": {"ranking": False},
        "output": {"run_dir": str(run_dir), "tensorboard": False, "backup": False, "saved_model": True},
    })
    result = Trainer(config, log=lambda _line: None).fit()
    return run_dir, result


def _batch(result):
    """Raw string ids of 32 validation rows, keyed by column (what the served signature takes)."""
    from tfrec.features import frame_to_tensors

    raw = frame_to_tensors(result.run.val.head(32), result.model.feature_layer)
    return {k: tf.constant(np.asarray(v).astype(str)) for k, v in raw.items()}


def test_run_keeps_vocabularies_as_files_and_saved_model_assets(ranking_run):
    run_dir, result = ranking_run
    build = json.loads((run_dir / "model" / "build.json").read_text())
    found, lists = _file_entries(build["config"])
    assert lists == [] and found, "build.json names vocabulary files, never token lists"
    layer = result.model.feature_layer
    for entry in found:
        assert entry["vocabulary_file"].startswith("vocabularies/")
        tokens = vocab_files.read_vocabulary(str(run_dir / "model" / entry["vocabulary_file"]), entry["vocabulary_size"])
        assert tokens in [st.get("vocabulary") for st in layer.adapted_state.values()]
    saved = run_dir / "model" / "saved_model"
    assets = {p.name: p.read_text() for p in (saved / "assets").iterdir()}
    for entry in found:
        name = entry["vocabulary_file"].split("/")[-1]
        assert assets[name] == (run_dir / "model" / entry["vocabulary_file"]).read_text()
    metadata = (saved / "keras_metadata.pb").read_bytes()
    assert b'"vocabulary_file": null' in metadata and b'"vocabulary": [' not in metadata


def test_reload_after_the_vocabulary_sources_are_deleted(ranking_run, tmp_path):
    run_dir, result = ranking_run
    copy = tmp_path / "ranking"
    shutil.copytree(run_dir, copy)
    x = _batch(result)
    expected = np.reshape(result.model(x, training=False).numpy(), [-1])
    folder = vocab_files._folder()
    hidden = tmp_path / "process_vocabularies"
    shutil.move(str(folder), str(hidden))  # the adapted layers' own files are gone
    try:
        run = load_run(copy)  # reads model/vocabularies/
        np.testing.assert_allclose(np.reshape(run.model(x, training=False).numpy(), [-1]), expected, rtol=1e-5)
        base = tmp_path / "models"
        args = build_parser().parse_args(["export", str(copy), "--model-base-path", str(base), "--name", "r"])
        assert args.func(args) == 0
        shutil.rmtree(copy / "model" / "vocabularies")
        shutil.rmtree(vocab_files._folder())
        with pytest.raises((FileNotFoundError, TypeError), match="Vocabulary file .* does not exist"):
            load_run(copy)
        exported = base / "r" / "1"
        assert any(p.suffix == ".txt" for p in (exported / "assets").iterdir())
        fn = tf.saved_model.load(str(exported)).signatures["serving_default"]
        specs = fn.structured_input_signature[1]
        assert set(specs) == set(x)
        got = fn(**x)
        np.testing.assert_allclose(np.reshape(got["score"].numpy(), [-1]), expected, rtol=1e-5, atol=1e-5)
        loaded = tf.keras.models.load_model(str(copy / "model" / "saved_model"), compile=False)
        assert isinstance(loaded.feature_layer, FeatureLayer)
        np.testing.assert_allclose(np.reshape(loaded(x, training=False).numpy(), [-1]), expected, rtol=1e-5, atol=1e-5)
        assert loaded.feature_layer.adapted_state == result.model.feature_layer.adapted_state
    finally:
        shutil.rmtree(vocab_files._folder(), ignore_errors=True)
        shutil.move(str(hidden), str(folder))
