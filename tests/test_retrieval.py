"""TwoTowerRetrieval and Tower: loss wiring (log-Q, hard negatives, accidental hits) against hand computation, round trips."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.features import frame_to_dataset
from tfrec.models.retrieval import TwoTowerRetrieval
from tfrec.models.tower import Tower, make_tower


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    n = 64
    frame = pd.DataFrame({
        "user_id": rng.integers(0, 10, n).astype(str),
        "age": rng.uniform(10, 60, n),
        "movie_id": rng.integers(0, 12, n).astype(str),
        "movie_genres": [list(rng.integers(0, 4, rng.integers(1, 3))) for _ in range(n)],
        "p": rng.uniform(0.01, 0.2, n),
    })
    return frame


def _model(frame, hidden=None, **kwargs):
    tf.keras.utils.set_random_seed(1)
    q = make_tower([{"name": "user_id", "kind": "categorical"}, {"name": "age", "kind": "numeric"}],
                   frame, embedding_dim=4, hidden_units=hidden, name="query")
    c = make_tower([{"name": "movie_id", "kind": "categorical"}, {"name": "movie_genres", "kind": "multi_hot"}],
                   frame, embedding_dim=4, hidden_units=hidden, name="candidate")
    return TwoTowerRetrieval(q, c, **kwargs)


def _batch(model, frame, n=8, extra=()):
    layers = [model.query_tower.feature_layer, model.candidate_tower.feature_layer]
    return next(iter(frame_to_dataset(frame.iloc[:n], layers, extra_columns=list(extra), batch_size=n)))


def test_logq_loss_matches_hand_computation(toy):
    model = _model(toy, sampling_probability_key="p")
    x = _batch(model, toy, extra=["p"])
    q, c = (t.numpy().astype(np.float64) for t in model(x))
    # in-batch softmax with log-Q: logits_ij = q_i . c_j - log p_j; loss = sum_i -log softmax(logits_i)[i]
    expected = _softmax_loss(q @ c.T - np.log(x["p"].numpy().astype(np.float64))[None, :])
    np.testing.assert_allclose(float(model.compute_loss(x, training=True)), expected, rtol=1e-4)
    # without the correction key the loss is the plain in-batch softmax, which differs here
    plain = _model(toy)
    plain(x)
    plain.set_weights(model.get_weights())
    assert abs(float(plain.compute_loss(x, training=True)) - expected) > 1e-3


def test_towers_must_match(toy):
    q = make_tower([{"name": "user_id", "kind": "categorical"}], toy, embedding_dim=4)
    c = make_tower([{"name": "movie_id", "kind": "categorical"}], toy, embedding_dim=5)
    with pytest.raises(ValueError, match="query 4 and candidate 5"):
        TwoTowerRetrieval(q, c)


def test_accidental_hits_need_an_id_key(toy):
    q = make_tower([{"name": "user_id", "kind": "categorical"}], toy, embedding_dim=4)
    c = make_tower([{"name": "movie_id", "kind": "categorical"}], toy, embedding_dim=4)
    with pytest.raises(ValueError, match="candidate_id_key"):
        TwoTowerRetrieval(q, c, remove_accidental_hits=True)


def _softmax_loss(logits):
    logits = logits - logits.max(axis=1, keepdims=True)
    return -np.sum(np.diag(logits) - np.log(np.exp(logits).sum(axis=1)))


def test_accidental_hits_and_hard_negatives_match_hand_computation(toy):
    model = _model(toy, hidden=[8, 4], num_hard_negatives=2, remove_accidental_hits=True,
                   candidate_id_key="movie_id", temperature=0.5)
    x = _batch(model, toy, n=8)
    q, c = (t.numpy().astype(np.float64) for t in model(x))
    ids = x["movie_id"].numpy()
    assert len(set(ids)) < len(ids)  # the batch has accidental hits to remove
    logits = q @ c.T / 0.5
    # an in-batch negative with the positive's id is masked out (TFRS uses the float32 minimum)
    same = (ids[:, None] == ids[None, :]) & ~np.eye(len(ids), dtype=bool)
    logits[same] = -np.inf
    # hard negatives: keep the positive and the 2 highest-scoring remaining negatives of each row
    kept = np.full_like(logits, -np.inf)
    for i, row in enumerate(logits):
        negatives = np.delete(np.arange(len(row)), i)
        top = negatives[np.argsort(-row[negatives], kind="stable")[:2]]
        kept[i, i], kept[i, top] = row[i], row[top]
    np.testing.assert_allclose(float(model.compute_loss(x, training=True)), _softmax_loss(kept), rtol=1e-4)


def test_config_and_saved_model_round_trip(toy, tmp_path):
    model = _model(toy, hidden=[8, 4], temperature=0.2, sampling_probability_key="p")
    x = _batch(model, toy)
    q, c = (t.numpy() for t in model(x))
    clone = TwoTowerRetrieval.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    tower = Tower.from_config(model.query_tower.get_config())
    assert tower.get_config() == model.query_tower.get_config()
    model.save(tmp_path / "two_tower", save_traces=False)
    loaded = tf.keras.models.load_model(tmp_path / "two_tower")
    assert isinstance(loaded, TwoTowerRetrieval)
    lq, lc = loaded(x)
    np.testing.assert_allclose(lq.numpy(), q, rtol=1e-5)
    np.testing.assert_allclose(lc.numpy(), c, rtol=1e-5)


def test_docstring_examples_run():
    import doctest

    import tfrec.models.retrieval as retrieval_module
    import tfrec.models.tower as tower_module

    for module in (retrieval_module, tower_module):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
