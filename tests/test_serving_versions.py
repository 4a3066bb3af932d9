"""Versions on a real server (127.0.0.1): load retries, version labels and policies, relative config paths."""

import json
import shutil
import time
import urllib.error
import urllib.request

import grpc
import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from tfrec.serving.config import ModelConfig, parse_config_file
from tfrec.serving.server import ModelServer
from tfrec.export import layout
from tfrec.export.retrieval import export_retrieval
from tfrec.export.testing import tiny_two_tower


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A base path with model ``movies`` versions 1 and 2 (different towers, so answers tell them apart)."""
    base = tmp_path_factory.mktemp("models")
    for version, seed in ((1, 3), (2, 4)):
        toy = tiny_two_tower(num_users=20, num_items=100, dim=4, seed=seed)
        export_retrieval(base, "movies", toy.query_model, toy.query_features, toy.item_ids, toy.item_embeddings,
                         k=4, version=version, scann=False, log=None)
    return base


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_version_whose_variables_arrive_late_loads_on_retry(exported, tmp_path):
    """``saved_model.pb`` first, ``variables/`` 1.5 s later (a copy that is not atomic): the load fails with
    a canonical code, is retried ``load_retry_interval_micros`` later, and the version becomes AVAILABLE."""
    src = exported / "movies" / "1"
    dst = tmp_path / "movies"
    (dst / "1").mkdir(parents=True)
    shutil.copy(src / "saved_model.pb", dst / "1" / "saved_model.pb")
    server = ModelServer([ModelConfig("movies", dst)], rest_port=None, grpc_port=None, poll_seconds=0.1,
                         warmup=False, max_num_load_retries=20, load_retry_interval_micros=300_000).start()
    try:
        st = server.manager.status("movies")[0]
        assert (st.state, st.error_code) == ("LOADING", "NOT_FOUND"), st  # waiting for its retry
        assert "retry 1 of 20" in st.error_message
        time.sleep(1.5)
        for sub in ("variables", "assets", "assets.extra"):
            if (src / sub).exists():
                shutil.copytree(src / sub, dst / "1" / sub)
        assert server.manager.wait_until_available("movies", 1, timeout=10)
        st = server.manager.status("movies")[0]
        assert (st.state, st.error_code, st.error_message) == ("AVAILABLE", "OK", "")
    finally:
        server.stop(drain_seconds=2)


def test_version_failing_every_retry_ends_with_its_code(exported, tmp_path):
    dst = tmp_path / "movies" / "1"
    dst.mkdir(parents=True)
    shutil.copy(exported / "movies" / "1" / "saved_model.pb", dst / "saved_model.pb")
    server = ModelServer([ModelConfig("movies", dst.parent)], rest_port=None, grpc_port=None, poll_seconds=0.05,
                         warmup=False, max_num_load_retries=2, load_retry_interval_micros=100_000).start()
    try:
        deadline = time.monotonic() + 10
        while server.manager.status("movies")[0].state != "END" and time.monotonic() < deadline:
            time.sleep(0.05)
        st = server.manager.status("movies")[0]
        assert (st.state, st.error_code) == ("END", "NOT_FOUND") and "retry" not in st.error_message
    finally:
        server.stop(drain_seconds=2)


@pytest.fixture(scope="module")
def labeled(exported):
    cfg = exported / "labeled.config"
    cfg.write_text("""model_config_list {
      config {
        name: "movies" base_path: "movies" model_platform: "tensorflow"
        model_version_policy { specific { versions: 1 versions: 2 } }
        version_labels { key: "stable" value: 1 }
        version_labels { key: "canary" value: 2 }
      }
    }""")
    server = ModelServer(parse_config_file(cfg), rest_port=0, grpc_port=0, host="127.0.0.1", poll_seconds=0,
                         warmup=False).start()
    channel = grpc.insecure_channel(server.grpc_target)
    yield server, channel
    channel.close()
    server.stop(drain_seconds=2)


def test_specific_policy_serves_both_versions(labeled):
    server, _ = labeled
    assert server.manager.versions("movies") == [1, 2]


def test_rest_labels_resolve_to_their_versions(labeled):
    server, _ = labeled
    url = server.rest_url + "/v1/models/movies"
    assert _get(url + "/labels/stable/metadata")[1]["model_spec"]["version"] == "1"
    assert _get(url + "/labels/canary/metadata")[1]["model_spec"]["version"] == "2"
    by_label = _post(url + "/labels/canary:predict", {"instances": ["u1"]})
    by_version = _post(url + "/versions/2:predict", {"instances": ["u1"]})
    v1 = _post(url + "/versions/1:predict", {"instances": ["u1"]})
    assert by_label == by_version and by_label[0] == 200 and by_label != v1
    status, body = _get(url + "/labels/stable")
    assert status == 200 and [s["version"] for s in body["model_version_status"]] == ["1"]


def test_rest_unknown_label_is_400(labeled):
    server, _ = labeled
    status, body = _post(server.rest_url + "/v1/models/movies/labels/nightly:predict", {"instances": ["u1"]})
    assert status == 400 and body["error"].startswith("Unrecognized servable version label: nightly"), body


def test_url_escaped_model_name_is_decoded(labeled):
    server, _ = labeled
    status, body = _get(server.rest_url + "/v1/models/m%6Fvies/labels/stable/metadata")
    assert status == 200 and body["model_spec"]["name"] == "movies"


def test_grpc_version_label(labeled):
    _, channel = labeled
    req = predict_pb2.PredictRequest()
    req.model_spec.name = "movies"
    req.model_spec.version_label = "canary"
    req.inputs["user_id"].CopyFrom(tf.make_tensor_proto(np.array(["u1"], object)))
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    assert stub.Predict(req, timeout=10).model_spec.version.value == 2
    req.model_spec.version_label = "nightly"
    with pytest.raises(grpc.RpcError) as e:
        stub.Predict(req, timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status_req = get_model_status_pb2.GetModelStatusRequest()
    status_req.model_spec.name = "movies"
    status_req.model_spec.version_label = "stable"
    resp = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(status_req, timeout=10)
    assert [s.version for s in resp.model_version_status] == [1]


def test_copied_model_folder_serves_the_copy(exported, tmp_path):
    """``models.config`` holds relative paths: a copy of the folder serves its own models, even with the
    original gone."""
    layout.write_models_config(exported)
    text = (exported / layout.CONFIG_FILE).read_text()
    assert 'base_path: "movies"' in text and str(exported) not in text
    assert str(exported) in (exported / layout.TFSERVING_CONFIG_FILE).read_text()  # stock TF Serving: absolute
    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    shutil.rmtree(copy / "movies" / "1")  # the copy differs: only version 2
    configs = parse_config_file(copy / layout.CONFIG_FILE)
    assert [(c.name, c.base_path) for c in configs] == [("movies", copy / "movies")]
    server = ModelServer(configs, rest_port=None, grpc_port=None, poll_seconds=0, warmup=False).start()
    try:
        assert server.manager.versions("movies") == [2]
        assert str(server.manager.status("movies")[0].version) == "2"
    finally:
        server.stop(drain_seconds=2)
