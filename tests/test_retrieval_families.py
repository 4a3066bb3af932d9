"""two_tower, multitask and two_stage through the Trainer: SavedModel round trip, nested parameter errors;
the factorized top-K metric against ``tfrs.metrics.FactorizedTopK``."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf
import tensorflow_recommenders as tfrs

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.evaluation.evaluator import EvaluationData, factorized_ranks
from tfrec.metrics import UNRANKED, factorized_top_k, positive_ranks
from tfrec.training.config import ConfigError, from_dict
from tfrec.training.trainer import Trainer

SMALL = {
    "two_tower": {"embedding_dim": 4, "logq_correction": True},
    "multitask": {"embedding_dim": 4, "rating_units": [4], "query_features": "movielens_user", "hidden_units": [4]},
    "two_stage": {"retrieval": {"embedding_dim": 4}, "ranking": {"embedding_dim": 4, "hidden_units": [4]},
                  "num_candidates": 5},
}


@pytest.mark.parametrize("family", sorted(SMALL))
def test_family_saved_model_round_trip(family, ml100k_path, tmp_path):
    cfg = {"data": {"path": str(ml100k_path), "max_rows": 600, "validation_ratio": 0.2},
           "model": {"name": family, "params": SMALL[family]},
           "training": {"epochs": 1, "batch_size": 64, "learning_rate": 0.01, "verbose": 0},
           "evaluation": {"enabled": False},
           "output": {"tensorboard": False, "backup": False, "saved_model": True}}
    result = Trainer(cfg, run_dir=tmp_path / "run", log=lambda msg: None).fit()
    folder = tmp_path / "run" / "model" / "saved_model"
    assert folder.is_dir(), result.metrics["notes"]
    task = Trainer(cfg, run_dir=tmp_path / "other").task
    x, _ = task.examples(result.run, result.run.val, "val")
    batch = {k: tf.constant(v[:16]) for k, v in x.items()}
    expected = result.model(batch, training=False)
    loaded = tf.keras.models.load_model(str(folder))
    got = loaded(batch, training=False)
    for e, g in zip(tf.nest.flatten(expected), tf.nest.flatten(got)):
        np.testing.assert_allclose(e.numpy(), g.numpy(), rtol=1e-5, atol=1e-6)


def test_two_stage_nested_parameter_errors_name_the_stage(ml100k_path):
    with pytest.raises(ConfigError, match=r"model\.params\.retrieval\.embeding_dim.*Did you mean "
                                          r"'model\.params\.retrieval\.embedding_dim'"):
        from_dict({"model": {"name": "two_stage", "params": {"retrieval": {"embeding_dim": 4}}}})
    with pytest.raises(ConfigError, match=r"'model\.params\.ranking\.hidden_units' expects a list of integers"):
        from_dict({"model": {"name": "two_stage", "params": {"ranking": {"hidden_units": 4}}}})


def test_multitask_refuses_two_zero_weights():
    with pytest.raises(ConfigError, match="both 0"):
        from_dict({"model": {"name": "multitask", "params": {"retrieval_weight": 0, "rating_weight": 0}}})


# ------------------------------------------------------------------------------------------------
# factorized top-K


def test_positive_ranks_and_accuracy_match_tfrs_factorized_top_k():
    # small integers: every dot product is exact in float32 (tfrs scores the positive with reduce_sum and
    # the catalog with a matmul, which may round apart), and ties occur (they count in the positive's favour)
    rng = np.random.default_rng(3)
    queries = rng.integers(-3, 4, size=(200, 6)).astype(np.float32)
    candidates = rng.integers(-3, 4, size=(40, 6)).astype(np.float32)
    positives = rng.integers(0, 40, 200)
    ks = (1, 5, 10)
    ours = factorized_top_k(positive_ranks(queries @ candidates.T, positives), ks)
    index = tfrs.layers.factorized_top_k.BruteForce(k=max(ks))
    index.index(tf.constant(candidates))
    metric = tfrs.metrics.FactorizedTopK(candidates=index, ks=ks)
    metric.update_state(tf.constant(queries), tf.constant(candidates[positives]))
    reference = [float(v) for v in metric.result()]
    np.testing.assert_allclose([ours[f"top_{k}_categorical_accuracy"] for k in ks], reference, atol=1e-6)


def test_unranked_rows_are_misses_and_bad_input_is_named():
    assert factorized_top_k(np.array([0, UNRANKED]), ks=[1]) == {"top_1_categorical_accuracy": 0.5}
    with pytest.raises(ValueError, match="positives must be item indices"):
        positive_ranks(np.zeros((1, 3)), np.array([3]))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        factorized_top_k(np.array([0]), ks=[0])


def test_evaluator_ranks_every_test_row_against_the_whole_catalog():
    train = pd.DataFrame({"user_id": ["a", "a", "b", "c"], "movie_id": ["1", "2", "2", "3"],
                          "user_rating": [5.0, 4.0, 3.0, 2.0]})
    test = pd.DataFrame({"user_id": ["a", "b", "b", "z", "c"], "movie_id": ["2", "1", "3", "1", "9"],
                         "user_rating": [1.0, 2.0, 3.0, 4.0, 5.0]})
    data = EvaluationData.build(train, test, TrainingData(train).columns)
    scores = np.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1], [0.0, 0.0, 0.0]], np.float32)  # users a, b, c

    class Fixed:
        def score(self, users):
            return scores[np.asarray(users)]

    ranks = factorized_ranks(Fixed(), data, users_per_chunk=1, rows_per_chunk=1)
    # a/2: seen item 2 (index 1) is a's own training item and still competes: rank 0; b/1: 0 higher -> 0;
    # b/3: items 1 and 2 higher -> 2; unknown user z and unknown item 9 -> unranked
    assert data.test["item_idx"].tolist()[:3] == [1, 0, 2]
    assert ranks.tolist() == [0, 0, 2, UNRANKED, UNRANKED]
    assert OOV_INDEX in data.test["user_idx"].tolist()
