"""``tfrec recommend`` against a real server (127.0.0.1) for every exported model kind, over REST and gRPC."""

import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.cli.main import build_parser
from tfrec.serving.config import configs_from_base_path
from tfrec.serving.server import ModelServer
from tfrec.export.retrieval import export_retrieval
from tfrec.export.signatures import (
    FeatureModelModule,
    export_ranking,
    export_session,
    export_signatures,
)
from tfrec.export.testing import TinyPairModel, tiny_two_tower


def _movie_id_score(features, training=False):
    """score = movie_id as a number: candidates rank by id, highest first."""
    return tf.strings.to_number(features["movie_id"]) + 0.0 * tf.cast(tf.strings.length(features["user_id"]), tf.float32)


class _Echo(tf.Module):
    @tf.function(input_signature=[{"x": tf.TensorSpec([None], tf.float32, name="x")}])
    def serve(self, f):
        return {"y": f["x"] * 2.0}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("models")
    toy = tiny_two_tower(num_users=10, num_items=30, dim=4, seed=1)
    export_retrieval(base, "movies", toy.query_model, toy.query_features, toy.item_ids, toy.item_embeddings,
                     k=5, version=1, scann=False, log=None)
    pair = TinyPairModel(10, 30, seed=2)
    pair({"user_idx": tf.constant([0]), "item_idx": tf.constant([0])})
    export_ranking(base, "pairs", pair, [f"u{i}" for i in range(10)], [f"m{i}" for i in range(30)], k=3, version=1)
    specs = {"user_id": tf.TensorSpec([None], tf.string), "movie_id": tf.TensorSpec([None], tf.string),
             "year": tf.TensorSpec([None], tf.int64)}
    ranking = FeatureModelModule(_movie_id_score, specs, output_name="score")
    export_signatures(base, "movies_ranking", ranking, ranking.signatures(), version=1)
    ctr = FeatureModelModule(lambda f, training=False: f["I1"] + 0.0 * tf.cast(tf.strings.length(f["C1"]), tf.float32),
                             {"C1": tf.TensorSpec([None], tf.string), "I1": tf.TensorSpec([None], tf.float32)},
                             transform=tf.sigmoid)
    export_signatures(base, "clicks", ctr, ctr.signatures(), version=1)
    # next item = the one after the session's last item
    export_session(base, "sessions", lambda idx: tf.one_hot(idx[:, -1] + 1, 4), ["a", "b", "c", "d"], k=2,
                   examples=None, version=1)
    echo = _Echo()
    export_signatures(base, "echo", echo, {"serving_default": echo.serve.get_concrete_function()}, version=1)
    srv = ModelServer(configs_from_base_path(base), rest_port=0, grpc_port=0, host="127.0.0.1", poll_seconds=0,
                      warmup=False).start()
    yield srv
    srv.stop(drain_seconds=2)


def _recommend(capsys, *argv):
    args = build_parser().parse_args(["recommend", *argv])
    rc = args.func(args)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.fixture(params=["rest", "grpc"])
def url(request, server):
    return server.rest_url if request.param == "rest" else server.grpc_target


def test_retrieval_top_k_for_a_user(url, capsys):
    rc, out, err = _recommend(capsys, "--server", url, "--model", "movies", "--user", "u1", "-k", "3")
    assert rc == 0, err
    assert "top 3 for user u1" in out and len(out.strip().splitlines()) == 5


def test_pair_ranking_top_k_and_candidates(url, capsys):
    rc, out, err = _recommend(capsys, "--server", url, "--model", "pairs", "--user", "u1")
    assert rc == 0 and "top 3 for user u1" in out, err
    rc, out, err = _recommend(capsys, "--server", url, "--model", "pairs", "--user", "u1", "--candidates", "m1", "m2")
    assert rc == 0 and "top 2 for user u1" in out, err


def test_feature_ranking_ranks_candidates(url, capsys):
    rc, out, err = _recommend(capsys, "--server", url, "--model", "movies_ranking", "--user", "42",
                              "--candidates", "5", "50", "7", "--feature", "year=1995")
    assert rc == 0, err
    rows = [line.split() for line in out.strip().splitlines()[2:]]
    assert [r[1] for r in rows] == ["50", "7", "5"] and float(rows[0][2]) == 50.0


def test_feature_ranking_without_candidates_says_what_to_pass(url, capsys):
    rc, _, err = _recommend(capsys, "--server", url, "--model", "movies_ranking", "--user", "42")
    assert rc == 2 and "pass --candidates" in err and "movie_id" in err
    rc, _, err = _recommend(capsys, "--server", url, "--model", "movies_ranking", "--user", "42", "--candidates", "5")
    assert rc == 2 and "needs inputs year" in err


def test_ctr_scores_one_row_of_features(url, capsys):
    rc, out, err = _recommend(capsys, "--server", url, "--model", "clicks", "--feature", "C1=abc", "--feature", "I1=0")
    assert rc == 0, err
    assert "probability for these features" in out and out.strip().endswith("0.500000")


def test_session_next_items(url, capsys):
    rc, out, err = _recommend(capsys, "--server", url, "--model", "sessions", "--items", "a", "b")
    assert rc == 0, err
    assert out.strip().splitlines()[2].split()[1] == "c"  # after b comes c
    rc, _, err = _recommend(capsys, "--server", url, "--model", "sessions", "--user", "u1")
    assert rc == 2 and "pass --items" in err


def test_model_kind_it_cannot_query_is_a_clear_error(url, capsys):
    rc, _, err = _recommend(capsys, "--server", url, "--model", "echo", "--user", "u1")
    assert rc == 2 and "cannot be queried by tfrec recommend" in err and "takes x and returns y" in err
