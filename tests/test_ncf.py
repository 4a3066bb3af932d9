"""The NCF models (GMF, MLP, NeuMF), BPR-MF and their interaction layers: round trips, unknown ids, pre-training, hand-derived BPR loss."""

import doctest

import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.layers import gmf_interaction, mlp_interaction
from tfrec.models import bpr, gmf, mlp, neumf
from tfrec.models.bpr import BPRMF
from tfrec.models.gmf import GMF
from tfrec.models.mlp import MLP
from tfrec.models.neumf import NeuMF

PAIRS = {"user_idx": tf.constant([0, 1, 2, 3, 4, 0]), "item_idx": tf.constant([0, 5, 6, 2, 1, 3])}


# -- models ------------------------------------------------------------------------------------------
def _models():
    return [GMF(5, 7, embedding_dim=3), MLP(5, 7, embedding_dim=4, hidden_units=[6, 3]),
            NeuMF(5, 7, mf_dim=3, mlp_embedding_dim=4, hidden_units=[6, 3], l2=0.01),
            BPRMF(5, 7, embedding_dim=3, l2=0.01)]


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_config_round_trip(index):
    model = _models()[index].build_for_inputs()
    clone = type(model).from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    clone.build_for_inputs().set_weights(model.get_weights())
    np.testing.assert_allclose(clone(PAIRS).numpy(), model(PAIRS).numpy(), rtol=1e-6)


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_savedmodel_round_trip(index, tmp_path):
    model = _models()[index]
    model.build_for_inputs()
    for w in model.trainable_weights:  # non-trivial weights (defaults are near zero)
        w.assign(tf.random.stateless_normal(w.shape, seed=[index, len(w.name)]))
    expected = model(PAIRS).numpy()
    model.save(tmp_path / "m", save_format="tf", save_traces=False)  # rebuilt from get_config
    loaded = tf.keras.models.load_model(tmp_path / "m")
    assert type(loaded) is type(model)
    np.testing.assert_allclose(loaded(PAIRS).numpy(), expected, rtol=1e-5)


def test_unknown_index_reads_zero_embedding():
    model = GMF(3, 4, embedding_dim=2).build_for_inputs()
    bias = model.prediction.bias.numpy()[0]
    out = model({"user_idx": tf.constant([-1, 0]), "item_idx": tf.constant([1, 9])}).numpy()
    np.testing.assert_allclose(out, [bias, bias], rtol=1e-6)  # zero interaction vector: logit = bias


def test_neumf_load_pretrained_copies_and_scales():
    gmf = GMF(5, 7, embedding_dim=3).build_for_inputs()
    mlp = MLP(5, 7, embedding_dim=4, hidden_units=[6, 3]).build_for_inputs()
    for i, w in enumerate(gmf.trainable_weights + mlp.trainable_weights):
        w.assign(tf.random.stateless_normal(w.shape, seed=[7, i]))
    alpha = 0.3
    neumf = NeuMF(5, 7, mf_dim=3, mlp_embedding_dim=4, hidden_units=[6, 3]).load_pretrained(gmf, mlp, alpha)
    for a, b in zip(neumf.gmf.get_weights(), gmf.gmf.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(neumf.mlp.get_weights(), mlp.mlp.get_weights()):
        np.testing.assert_array_equal(a, b)
    kernel, bias = neumf.prediction.get_weights()
    hg, bg = gmf.prediction.get_weights()
    hm, bm = mlp.prediction.get_weights()
    np.testing.assert_allclose(kernel, np.concatenate([alpha * hg, (1 - alpha) * hm]), rtol=1e-6)
    np.testing.assert_allclose(bias, alpha * bg + (1 - alpha) * bm, rtol=1e-6)
    # hence h^T [x_g; x_m] + b = alpha * logit_GMF + (1 - alpha) * logit_MLP
    np.testing.assert_allclose(neumf(PAIRS).numpy(), alpha * gmf(PAIRS).numpy() + (1 - alpha) * mlp(PAIRS).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_neumf_load_pretrained_rejects_other_sizes():
    gmf = GMF(5, 7, embedding_dim=4).build_for_inputs()
    mlp = MLP(5, 7, embedding_dim=4, hidden_units=[6, 3]).build_for_inputs()
    with pytest.raises(ValueError, match="does not match this NeuMF's GMF part"):
        NeuMF(5, 7, mf_dim=3, mlp_embedding_dim=4, hidden_units=[6, 3]).load_pretrained(gmf, mlp)


def test_invalid_arguments_say_what_was_received():
    with pytest.raises(ValueError, match="embedding_dim=0"):
        GMF(3, 4, embedding_dim=0)
    with pytest.raises(ValueError, match="hidden_units=8"):
        MLP(3, 4, hidden_units=8)


def test_docstring_examples_run():
    for module in (gmf_interaction, mlp_interaction, gmf, mlp, neumf, bpr):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_bpr_score_and_loss():
    model = BPRMF(2, 3, embedding_dim=2, l2=0.5).build_for_inputs()
    model.mf.user_embedding.embeddings.assign([[1.0, 2.0], [0.0, 1.0], [0.0, 0.0]])
    model.mf.item_embedding.embeddings.assign([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.0, 0.0]])
    model.item_bias.embeddings.assign([[0.1], [0.2], [0.0], [0.0]])
    # user 0: item 0 -> 1 + 0.1 = 1.1, item 1 -> 1.5 + 0.2 = 1.7; unknown item -1 -> 0
    np.testing.assert_allclose(model({"user_idx": tf.constant([0, 0, 0]), "item_idx": tf.constant([0, 1, -1])}),
                               [1.1, 1.7, 0.0], rtol=1e-6)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.0))
    batch = {"user_idx": tf.constant([0]), "item_idx": tf.constant([0]), "negative_idx": tf.constant([1])}
    loss = model.train_step(batch)["loss"].numpy()
    # -log sigmoid(1.1 - 1.7) + 0.5 * (|p_0|^2 + |q_0|^2 + |q_1|^2 + 0.1^2 + 0.2^2) = 1.0375 + 0.5 * 6.55
    np.testing.assert_allclose(loss, np.log1p(np.exp(0.6)) + 0.5 * (5 + 1 + 0.5 + 0.01 + 0.04), rtol=1e-5)
