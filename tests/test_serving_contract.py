"""Contract tests of the built-in server against TF Serving's REST and gRPC APIs.

A real server (``serving.server.ModelServer``: ThreadingHTTPServer + grpc server) runs in this
process on free ports; requests go through plain ``urllib`` JSON and the official
``tensorflow_serving.apis`` gRPC stubs.
"""

import base64
import json
import shutil
import threading
import time
import urllib.error
import urllib.request

import grpc
import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from tfrec.serving.batching import BatchOptions
from tfrec.serving.config import parse_config_file
from tfrec.serving.server import ModelServer
from tfrec.export import layout
from tfrec.export.retrieval import export_retrieval
from tfrec.export.signatures import export_ranking
from tfrec.export.testing import TinyPairModel, tiny_two_tower

K = 5


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("models")
    toy = tiny_two_tower(num_users=40, num_items=300, dim=8, seed=1)
    export_retrieval(base, "movies", toy.query_model, toy.query_features, toy.item_ids, toy.item_embeddings,
                     k=K, version=1, scann=True, scann_recall=0.95,
                     warmup_examples={"user_id": toy.user_ids}, latency_queries=30, log=None)
    pair = TinyPairModel(10, 30, seed=2)
    pair({"user_idx": tf.constant([0]), "item_idx": tf.constant([0])})
    export_ranking(base, "ranker", pair, [f"u{i}" for i in range(10)], [f"m{i}" for i in range(30)], k=3, version=1)
    # folders TF Serving ignores: non-numeric names, even with a SavedModel inside
    shutil.copytree(base / "movies" / "1", base / "movies" / "latest")
    shutil.copytree(base / "movies" / "1", base / "movies" / ".tmp-7-1-abcd")
    server = ModelServer(parse_config_file(base / layout.CONFIG_FILE), rest_port=0, grpc_port=0, host="127.0.0.1",
                         poll_seconds=0.2, config_file=base / layout.CONFIG_FILE,
                         batch_options=BatchOptions(max_batch_size=32, batch_timeout_ms=0.0)).start()
    channel = grpc.insecure_channel(server.grpc_target)
    yield {"base": base, "toy": toy, "server": server, "url": server.rest_url, "pair": pair,
           "predict": prediction_service_pb2_grpc.PredictionServiceStub(channel),
           "models": model_service_pb2_grpc.ModelServiceStub(channel)}
    channel.close()
    server.stop(drain_seconds=5)


def http(env, method, path, body=None):
    """(status, parsed JSON body) of one request; ``body`` may be bytes or a JSON-able object."""
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(env["url"] + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def grpc_request(name, inputs, signature="serving_default", version=None):
    req = predict_pb2.PredictRequest()
    req.model_spec.name = name
    req.model_spec.signature_name = signature
    if version is not None:
        req.model_spec.version.value = version
    for k, v in inputs.items():
        req.inputs[k].CopyFrom(tf.make_tensor_proto(v))
    return req


# -- status and metadata ---------------------------------------------------------------------------

def test_rest_status_lists_only_numeric_versions(env):
    status, body = http(env, "GET", "/v1/models/movies")
    assert status == 200
    assert body == {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    status, body = http(env, "GET", "/v1/models/movies/versions/1")
    assert status == 200 and body["model_version_status"][0]["version"] == "1"


def test_grpc_status(env):
    req = get_model_status_pb2.GetModelStatusRequest()
    req.model_spec.name = "movies_scann"
    resp = env["models"].GetModelStatus(req, timeout=10)
    assert [(s.version, s.state) for s in resp.model_version_status] == [
        (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE)]


def test_rest_metadata_has_named_inputs_and_outputs(env):
    status, body = http(env, "GET", "/v1/models/movies/metadata")
    assert status == 200
    assert body["model_spec"] == {"name": "movies", "signature_name": "", "version": "1"}
    sigs = body["metadata"]["signature_def"]["signature_def"]
    default = sigs["serving_default"]
    assert set(default["inputs"]) == {"user_id"} and default["inputs"]["user_id"]["dtype"] == "DT_STRING"
    assert set(default["outputs"]) == {"item_ids", "scores"}
    assert default["outputs"]["item_ids"]["dtype"] == "DT_STRING"
    assert default["outputs"]["scores"]["dtype"] == "DT_FLOAT"
    assert default["method_name"] == "tensorflow/serving/predict"
    assert set(sigs["exclude"]["inputs"]) == {"user_id", "exclude_items"}


def test_grpc_metadata(env):
    req = get_model_metadata_pb2.GetModelMetadataRequest()
    req.model_spec.name = "ranker"
    req.metadata_field.append("signature_def")
    resp = env["predict"].GetModelMetadata(req, timeout=10)
    sig_map = get_model_metadata_pb2.SignatureDefMap()
    resp.metadata["signature_def"].Unpack(sig_map)
    assert resp.model_spec.version.value == 1
    assert set(sig_map.signature_def["score"].inputs) == {"user_id", "item_id"}
    assert set(sig_map.signature_def["score"].outputs) == {"score"}


# -- predict: same outputs as the in-process model --------------------------------------------------

USERS = ["u3", "u17", "nobody"]  # the last is out of vocabulary


def test_rest_row_format_matches_in_process_model(env):
    ids, scores = env["toy"].exact_top_k(USERS, K)
    status, body = http(env, "POST", "/v1/models/movies:predict", {"instances": USERS})
    assert status == 200
    preds = body["predictions"]
    assert [p["item_ids"] for p in preds] == ids.tolist()
    np.testing.assert_allclose([p["scores"] for p in preds], scores, rtol=1e-5, atol=1e-5)
    # row format with named inputs gives the same
    status, named = http(env, "POST", "/v1/models/movies/versions/1:predict",
                         {"signature_name": "serving_default", "instances": [{"user_id": u} for u in USERS]})
    assert status == 200 and named == body


def test_rest_columnar_format_and_b64(env):
    ids, scores = env["toy"].exact_top_k(USERS, K)
    b64 = [{"b64": base64.b64encode(u.encode()).decode()} for u in USERS]
    status, body = http(env, "POST", "/v1/models/movies:predict", {"inputs": {"user_id": b64}})
    assert status == 200
    assert body["outputs"]["item_ids"] == ids.tolist()
    np.testing.assert_allclose(body["outputs"]["scores"], scores, rtol=1e-5, atol=1e-5)


def test_rest_exclude_signature(env):
    ids, _ = env["toy"].exact_top_k(["u3"], K)
    banned = ids[0, :2].tolist()
    expected, _ = env["toy"].exact_top_k(["u3"], K, exclude=[banned])
    status, body = http(env, "POST", "/v1/models/movies:predict",
                         {"signature_name": "exclude", "inputs": {"user_id": ["u3"], "exclude_items": [banned + [""]]}})
    assert status == 200
    assert body["outputs"]["item_ids"] == expected.tolist()
    assert not set(banned) & set(body["outputs"]["item_ids"][0])


def test_grpc_predict_matches_in_process_model(env):
    ids, scores = env["toy"].exact_top_k(USERS, K)
    resp = env["predict"].Predict(grpc_request("movies", {"user_id": np.array(USERS, dtype=object)}), timeout=10)
    assert resp.model_spec.version.value == 1
    got = tf.make_ndarray(resp.outputs["item_ids"]).astype(str)
    np.testing.assert_array_equal(got, ids)
    np.testing.assert_allclose(tf.make_ndarray(resp.outputs["scores"]), scores, rtol=1e-5, atol=1e-5)


def test_scann_variant_agrees_with_brute_force(env):
    users = env["toy"].user_ids.tolist()
    _, exact = http(env, "POST", "/v1/models/movies:predict", {"inputs": {"user_id": users}})
    _, approx = http(env, "POST", "/v1/models/movies_scann:predict", {"inputs": {"user_id": users}})
    hits = sum(len(set(a) & set(e)) for a, e in zip(approx["outputs"]["item_ids"], exact["outputs"]["item_ids"]))
    assert hits / (len(users) * K) >= 0.95  # the export tuned ScaNN to recall@5 >= 0.95


def test_ranking_model_signatures(env):
    status, body = http(env, "POST", "/v1/models/ranker:predict",
                        {"signature_name": "score", "instances": [{"user_id": "u1", "item_id": "m2"}]})
    assert status == 200
    expected = env["pair"]({"user_idx": tf.constant([1]), "item_idx": tf.constant([2])}).numpy()
    np.testing.assert_allclose(body["predictions"], expected, rtol=1e-5)


# -- errors ------------------------------------------------------------------------------------------

def test_unknown_model_is_404_with_tf_serving_message(env):
    status, body = http(env, "POST", "/v1/models/nosuch:predict", {"instances": ["u1"]})
    assert (status, body) == (404, {"error": "Servable not found for request: Latest(nosuch)"})
    status, body = http(env, "GET", "/v1/models/movies/versions/9/metadata")
    assert (status, body) == (404, {"error": "Servable not found for request: Specific(movies, 9)"})


def test_grpc_unknown_model_is_not_found(env):
    with pytest.raises(grpc.RpcError) as e:
        env["predict"].Predict(grpc_request("nosuch", {"user_id": np.array(["u1"], dtype=object)}), timeout=10)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert e.value.details() == "Servable not found for request: Latest(nosuch)"


def test_malformed_json_is_400(env):
    status, body = http(env, "POST", "/v1/models/movies:predict", b'{"instances": [')
    assert status == 400 and body["error"].startswith("JSON Parse error")


def test_missing_instances_key_is_400(env):
    status, body = http(env, "POST", "/v1/models/movies:predict", {"signature_name": "serving_default"})
    assert (status, body) == (400, {"error": "Missing 'inputs' or 'instances' key"})


def test_malformed_path_is_400(env):
    status, body = http(env, "POST", "/v1/models/movies:explode", {"instances": ["u1"]})
    assert status == 400 and body["error"].startswith("Malformed request")


def test_wrong_dtype_is_400_naming_the_input(env):
    status, body = http(env, "POST", "/v1/models/movies:predict", {"instances": [{"user_id": 3}]})
    assert status == 400 and "user_id" in body["error"] and "string" in body["error"]
    with pytest.raises(grpc.RpcError) as e:
        env["predict"].Predict(grpc_request("movies", {"user_id": np.array([1.5], np.float32)}), timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "user_id" in e.value.details()


def test_wrong_shape_is_400_naming_the_input(env):
    status, body = http(env, "POST", "/v1/models/movies:predict", {"inputs": {"user_id": [["u1", "u2"]]}})
    assert status == 400 and "'user_id'" in body["error"] and "shape" in body["error"]
    with pytest.raises(grpc.RpcError) as e:
        env["predict"].Predict(grpc_request("movies", {"user_id": np.array([["u1"]], dtype=object)}), timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "user_id" in e.value.details()


def test_missing_and_unknown_inputs_are_400(env):
    status, body = http(env, "POST", "/v1/models/movies:predict", {"signature_name": "exclude", "inputs": {"user_id": ["u1"]}})
    assert status == 400 and "exclude_items" in body["error"]
    status, body = http(env, "POST", "/v1/models/movies:predict", {"inputs": {"user_id": ["u1"], "age": [3]}})
    assert status == 400 and "'age'" in body["error"]


def test_unknown_signature_is_400(env):
    status, body = http(env, "POST", "/v1/models/movies:predict", {"signature_name": "nope", "instances": ["u1"]})
    assert status == 400 and 'Serving signature name: "nope" not found' in body["error"]


# -- versions -----------------------------------------------------------------------------------------

def test_new_version_is_picked_up_under_load_without_failed_requests(env, tmp_path):
    """Export v2 while 4 clients keep sending: v2 serves within 5 s, no request fails, v1 unloads."""
    toy = env["toy"]
    base = env["base"]
    # version 2: the same towers with negated item embeddings, so its answers differ visibly
    staging = tmp_path / "staging"
    export_retrieval(staging, "movies", toy.query_model, toy.query_features, toy.item_ids, -toy.item_embeddings,
                     k=K, version=2, scann=False, log=None)
    errors, seen = [], set()
    stop = threading.Event()

    def client():
        while not stop.is_set():
            try:
                status, body = http(env, "POST", "/v1/models/movies:predict", {"instances": ["u3"]})
                if status != 200:
                    errors.append((status, body))
                else:
                    seen.add(tuple(body["predictions"][0]["item_ids"]))
            except Exception as e:  # noqa: BLE001 - any failure is counted
                errors.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    (staging / "movies" / "2").rename(base / "movies" / "2")  # the atomic step an export performs
    t0 = time.monotonic()
    picked = None
    while time.monotonic() - t0 < 10:
        status, body = http(env, "GET", "/v1/models/movies/versions/2")
        if status == 200 and body["model_version_status"][0]["state"] == "AVAILABLE":
            picked = time.monotonic() - t0
            break
        time.sleep(0.05)
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    assert picked is not None and picked < 5.0, f"version 2 not available after {picked} s"
    assert errors == []
    assert len(seen) == 2  # answers of v1, then of v2
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        _, body = http(env, "GET", "/v1/models/movies")
        states = {s["version"]: s["state"] for s in body["model_version_status"]}
        if states.get("1") == "END":
            break
        time.sleep(0.05)
    assert states == {"2": "AVAILABLE", "1": "END"}
