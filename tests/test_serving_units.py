"""Units of the server: batching, JSON <-> tensor conversion, model config parsing, version policies."""

import threading
import time

import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.serving.batching import Batcher, BatchOptions
from tfrec.serving.config import ModelConfigError, VersionPolicy, configs_from_base_path, parse_config_file, parse_policy
from tfrec.serving.errors import ServingError
from tfrec.serving.tensors import format_columnar, format_row, json_to_array, parse_columnar, parse_instances

# -- batching --------------------------------------------------------------------------------------


def test_batcher_merges_concurrent_requests_and_splits_outputs():
    calls = []

    def fn(inputs):
        calls.append(len(inputs["x"]))
        return {"y": inputs["x"] * 2, "n": np.full(len(inputs["x"]), len(inputs["x"]))}

    b = Batcher(fn, BatchOptions(max_batch_size=64, batch_timeout_ms=300, num_threads=1))
    results = {}

    def call(i):
        results[i] = b.run({"x": np.array([i, i + 100])})

    threads = [threading.Thread(target=call, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    b.close()
    for i in range(5):
        np.testing.assert_array_equal(results[i]["y"], [2 * i, 2 * (i + 100)])  # each caller gets its own rows
    assert sum(calls) == 10 and len(calls) < 5 and b.batches >= 1  # at least two requests shared a call


def test_batcher_respects_max_batch_size_and_shapes():
    seen = []

    def fn(inputs):
        seen.append(inputs["x"].shape)
        return {"y": inputs["x"].sum(axis=1)}

    b = Batcher(fn, BatchOptions(max_batch_size=3, batch_timeout_ms=200, num_threads=1))
    out = {}
    shapes = [(2, 4), (2, 4), (1, 5), (1, 4)]

    def call(i):
        out[i] = b.run({"x": np.ones(shapes[i])})

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    b.close()
    assert all(s[0] <= 3 for s in seen)  # never more rows than max_batch_size
    assert all(len({s[1]}) == 1 for s in seen)  # only equal per-row shapes are merged
    for i, shape in enumerate(shapes):
        np.testing.assert_array_equal(out[i]["y"], np.full(shape[0], shape[1]))


def test_batcher_gives_each_caller_its_own_error():
    def fn(inputs):
        if (inputs["x"] < 0).any():
            raise ValueError("negative input")
        return {"y": inputs["x"]}

    b = Batcher(fn, BatchOptions(max_batch_size=16, batch_timeout_ms=200, num_threads=1))
    out = {}

    def call(i, value):
        try:
            out[i] = b.run({"x": np.array([value])})
        except ValueError as e:
            out[i] = e

    threads = [threading.Thread(target=call, args=(i, v)) for i, v in enumerate([1, -1, 2])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    b.close()
    assert out[0]["y"].tolist() == [1] and out[2]["y"].tolist() == [2]
    assert isinstance(out[1], ValueError)


def test_batcher_stops_merging_when_outputs_are_not_batch_first():
    calls = []

    def fn(inputs):  # answers one total per call: right for one request, not splittable by rows
        calls.append(len(inputs["x"]))
        return {"total": np.array(inputs["x"].sum())}

    b = Batcher(fn, BatchOptions(max_batch_size=16, batch_timeout_ms=300, num_threads=1))
    out = {}

    def call(i):
        out[i] = b.run({"x": np.array([i + 1])})

    threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [out[i]["total"].item() for i in range(3)] == [1, 2, 3]  # each caller got its own answer
    assert calls[0] > 1 and b.unbatchable  # a merged call was tried, its outputs found unsplittable
    before = len(calls)
    assert not b.submit({"x": np.array([5])}, lambda out, error: None)  # nothing queued from now on
    assert b.run({"x": np.array([5])})["total"].item() == 5 and calls[before:] == [1]
    b.close()


def test_batch_timeout_zero_adds_no_wait():
    b = Batcher(lambda x: {"y": x["x"]}, BatchOptions(max_batch_size=64, batch_timeout_ms=0, num_threads=1))
    t0 = time.perf_counter()
    for _ in range(20):
        b.run({"x": np.array([1])})
    b.close()
    assert time.perf_counter() - t0 < 2.0


# -- JSON <-> arrays ----------------------------------------------------------------------------------

SPECS = {"user_id": tf.TensorSpec([None], tf.string), "age": tf.TensorSpec([None], tf.float32)}


def test_row_format_with_named_inputs_and_b64():
    out = parse_instances([{"user_id": "a", "age": 3}, {"user_id": {"b64": "Yg=="}, "age": 4.5}], SPECS)
    assert out["user_id"].tolist() == [b"a", b"b"]
    assert out["age"].dtype == np.float32 and out["age"].tolist() == [3.0, 4.5]


def test_row_format_with_one_input_takes_bare_values():
    out = parse_instances(["a", "b"], {"user_id": SPECS["user_id"]})
    assert out["user_id"].tolist() == [b"a", b"b"]


@pytest.mark.parametrize("instances, message", [
    ([{"user_id": "a"}], "does not have named input: age"),
    ([{"user_id": "a", "age": 1, "zip": 2}], "unknown input 'zip'"),
    ([{"user_id": 5, "age": 1}], "'instances'[0]['user_id']: JSON Value: 5 Type: Number is not of expected type: string"),
    ([{"user_id": "a", "age": "old"}], "JSON Value: \"old\" Type: String is not of expected type: float32"),
    ([{"user_id": True, "age": 1}], "JSON Value: true Type: Bool is not of expected type: string"),
    ([{"user_id": None, "age": 1}], "JSON Value: null Type: Null"),
    ([{"user_id": "a", "age": [1, [2]]}], "ragged"),
    ([{"user_id": {"b64": "***"}, "age": 1}], "not valid base64"),
    ([], "empty array"),
    ({"user_id": "a"}, "must be a JSON array"),
])
def test_row_format_errors_name_the_field(instances, message):
    with pytest.raises(ServingError) as e:
        parse_instances(instances, SPECS)
    assert e.value.code == "INVALID_ARGUMENT" and e.value.http_status == 400
    assert message in e.value.message


def test_row_format_requires_equal_shapes_across_instances():
    with pytest.raises(ServingError, match=r"'instances'\[1\]\['x'\]: shape \[1\] differs"):
        parse_instances([{"x": ["a", "b"]}, {"x": ["c"]}], {"x": tf.TensorSpec([None, None], tf.string)})


def test_integer_inputs_reject_fractions_and_overflow():
    assert json_to_array([1, 2], tf.int32, "x").dtype == np.int32
    with pytest.raises(ServingError, match="fraction"):
        json_to_array([1.5], tf.int64, "x")
    with pytest.raises(ServingError, match="out of range"):
        json_to_array([2**40], tf.int32, "x")
    with pytest.raises(ServingError):
        json_to_array([2**80], tf.int64, "x")
    with pytest.raises(ServingError, match="Bool"):
        json_to_array([True], tf.float32, "x")


def test_columnar_format_and_outputs():
    out = parse_columnar({"user_id": ["a"], "age": [1]}, SPECS)
    assert out["user_id"].tolist() == [b"a"]
    assert parse_columnar(["a", "b"], {"user_id": SPECS["user_id"]})["user_id"].tolist() == [b"a", b"b"]
    with pytest.raises(ServingError, match="does not have named input: age"):
        parse_columnar({"user_id": ["a"]}, SPECS)
    outputs = {"ids": np.array([[b"x", b"\xff"]], object), "s": np.array([[0.5, 0.25]], np.float32)}
    assert format_columnar(outputs) == {"ids": [["x", {"b64": "/w=="}]], "s": [[0.5, 0.25]]}
    assert format_row(outputs) == [{"ids": ["x", {"b64": "/w=="}], "s": [0.5, 0.25]}]
    assert format_row({"p": np.array([0.5, 0.75], np.float32)}) == [0.5, 0.75]


def test_row_output_with_inconsistent_batch_is_an_error():
    with pytest.raises(ServingError, match="inconsistent batch size"):
        format_row({"a": np.zeros(2), "b": np.zeros(3)})


# -- configs and policies -------------------------------------------------------------------------------

def test_parse_config_file_with_policies_and_relative_paths(tmp_path):
    cfg = tmp_path / "models.config"
    cfg.write_text("""model_config_list {
      config { name: "a" base_path: "a" model_platform: "tensorflow" }
      config { name: "b" base_path: "/abs/b" model_version_policy { latest { num_versions: 2 } } }
      config { name: "c" base_path: "c" model_version_policy { specific { versions: 3 versions: 5 } } }
      config { name: "d" base_path: "d" model_version_policy { all {} } }
    }""")
    configs = {c.name: c for c in parse_config_file(cfg)}
    assert configs["a"].base_path == tmp_path / "a" and configs["a"].policy.choose([1, 2, 3]) == [3]
    assert str(configs["b"].base_path) == "/abs/b" and configs["b"].policy.choose([1, 2, 3]) == [2, 3]
    assert configs["c"].policy.choose([3, 4, 5]) == [3, 5]
    assert configs["d"].policy.choose([1, 2]) == [1, 2]


@pytest.mark.parametrize("text, message", [
    ("model_config_list { config { name: 'a' } }", "missing base_path"),
    ("model_config_list { config { name: 'a' base_path: 'x' } config { name: 'a' base_path: 'y' } }", "duplicate"),
    ("model_config_list { config { name: 'a' base_path: 'x' model_platform: 'onnx' } }", "not supported"),
    ("model_config_list { config { nme: 'a' } }", "not a valid model_config_list"),
    ("", "no model_config_list"),
])
def test_bad_config_files_say_what_is_wrong(tmp_path, text, message):
    cfg = tmp_path / "bad.config"
    cfg.write_text(text)
    with pytest.raises(ModelConfigError, match=message):
        parse_config_file(cfg)


def test_policy_strings():
    assert parse_policy("latest:3") == VersionPolicy("latest", num_versions=3)
    assert parse_policy("specific:1,4").choose([1, 2, 4]) == [1, 4]
    for bad in ("latest:0", "newest", "specific:", "all:2"):
        with pytest.raises(ModelConfigError, match="invalid version policy"):
            parse_policy(bad)


def test_configs_from_base_path_layouts(tmp_path):
    (tmp_path / "m" / "1").mkdir(parents=True)
    (tmp_path / "n" / "2").mkdir(parents=True)
    assert [(c.name, c.base_path) for c in configs_from_base_path(tmp_path)] == [("m", tmp_path / "m"), ("n", tmp_path / "n")]
    assert [(c.name, c.base_path) for c in configs_from_base_path(tmp_path, "m")] == [("m", tmp_path / "m")]
    assert [(c.name, c.base_path) for c in configs_from_base_path(tmp_path / "m", "movies")] == [("movies", tmp_path / "m")]
    with pytest.raises(ModelConfigError, match="no such folder"):
        configs_from_base_path(tmp_path / "nope")


# -- engine selection ---------------------------------------------------------------------------------

def test_engine_auto_execs_tensorflow_model_server_with_the_stock_config(tmp_path):
    """With ``tensorflow_model_server`` on PATH, ``--engine auto`` execs it, giving it the config without
    the ScaNN models (stock TF Serving cannot load them)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tfrec.export.layout import write_models_config

    base = tmp_path / "models"
    for name in ("movies", "movies_scann"):
        (base / name / "1").mkdir(parents=True)
        (base / name / "1" / "saved_model.pb").write_bytes(b"")
    (base / "movies_scann" / "1" / "assets.extra").mkdir()
    (base / "movies_scann" / "1" / "assets.extra" / "scann_settings.json").write_text("{}")
    write_models_config(base)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "tensorflow_model_server"
    fake.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path / 'args.txt'}\n")
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([sys.executable, "-m", "tfrec.cli.main", "serve", "--model-config", str(base / "models.config"),
                           "--rest-port", "8601", "--grpc-port", "8600"], env=env, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "movies_scann hold ScaNN ops" in proc.stderr
    args = (tmp_path / "args.txt").read_text().split()
    assert "--port=8600" in args and "--rest_api_port=8601" in args
    assert f"--model_config_file={base / 'models.tfserving.config'}" in args


def test_engine_tfserving_without_the_binary_says_how_to_get_it(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "m" / "1").mkdir(parents=True)
    env = dict(os.environ, PATH=str(Path(sys.executable).parent))
    proc = subprocess.run([sys.executable, "-m", "tfrec.cli.main", "serve", "--model-base-path", str(tmp_path / "m"),
                           "--engine", "tfserving"], env=env, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert proc.returncode == 2
    assert "tensorflow_model_server is not on PATH" in proc.stderr and "tensorflow/serving" in proc.stderr


def test_freeze_heap_still_collects_cycles_left_by_an_unload():
    import gc
    import weakref

    from tfrec.serving.manager import freeze_heap

    class Node:
        pass

    node = Node()
    node.me = node  # a reference cycle, like a model version's objects
    ref = weakref.ref(node)
    try:
        freeze_heap()
        assert gc.get_freeze_count() > 0
        del node
        gc.collect()
        assert ref() is not None  # frozen: out of reach of ordinary collections (no pauses walking it)
        freeze_heap()  # as after an unload: unfreezes first, so the dropped cycle is collected
        assert ref() is None
    finally:
        gc.unfreeze()
