"""CTRRecommender (DCN / DeepFM / FM / LR as a recommender), and a deep CTR model against the constant
predictor on a real Criteo slice."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401

import tensorflow as tf

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.features import frame_to_dataset
from tfrec.models.ctr_builder import build_model, criteo_features
from tfrec.models.feature_interaction import initial_bias
from tfrec.recommenders.ctr import CTRRecommender
from tfrec.recommenders.ctr_fit import fit_model


def test_recommender_rejects_unknown_model():
    with pytest.raises(ValueError, match="model: 'svd'. Valid values: dcn, deepfm, fm, logreg"):
        CTRRecommender("svd")


def test_recommender_fit_predict_score_with_oov():
    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame({
        "user_id": rng.choice([f"u{i}" for i in range(20)], n),
        "movie_id": rng.choice([f"m{i}" for i in range(15)], n),
    })
    frame["user_rating"] = rng.integers(1, 6, n).astype(np.float32)
    items = pd.DataFrame({"movie_id": [f"m{i}" for i in range(15)], "movie_genres": [[i % 3] for i in range(15)]})
    data = TrainingData(frame, items=items)
    rec = CTRRecommender("logreg", task="rating", epochs=1, batch_size=64, validation_fraction=0.0).fit(data)
    assert [f.name for f in rec.spec] == ["user_id", "movie_id", "movie_genres"]  # side feature picked up
    pred = rec.predict(np.array([0, OOV_INDEX, 3]), np.array([1, 2, OOV_INDEX]))
    assert pred.shape == (3,) and np.all(np.isfinite(pred))
    assert rec.score(np.array([0, 1])).shape == (2, data.n_items)
    assert rec.fit_info["examples_per_second"] > 0


def test_dcn_beats_constant_log_loss_on_criteo(criteo_path):
    from tfrec.data import load_criteo

    frame = load_criteo(criteo_path / "criteo_sampled_data_10k.csv").frame.iloc[:4000]
    train, test = frame.iloc[:3200], frame.iloc[3200:]
    # 12 of the 39 fields keep the graph small (tracing dominates on 2 cores): numerics in
    # training-quantile buckets, categoricals seen < 3 times share the OOV bucket.
    spec = criteo_features(numeric="bucketize", num_buckets=8, min_count=3,
                           numeric_columns=[f"I{i}" for i in range(1, 7)],
                           categorical_columns=[f"C{i}" for i in range(1, 7)])
    tf.keras.utils.set_random_seed(0)
    model = build_model("dcn", spec, train, task="ctr", embedding_dim=4, deep_layers=[16],
                        embedding_l2=1e-3, initial_bias=initial_bias(train["label"], "ctr"))
    ds = frame_to_dataset(train, model.embedding_layer, label="label", batch_size=128, shuffle=True, seed=0,
                          encoder=model.embedding_layer)
    fit_model(model, ds, epochs=2, learning_rate=3e-3)
    p = model(model.embedding_layer.encode_frame(test)).numpy()[:, 0]  # eager: no second graph trace
    p = np.clip(p, 1e-7, 1 - 1e-7)
    y = test["label"].to_numpy(np.float64)
    model_ll = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    c = train["label"].mean()  # the constant predictor: the training click rate
    constant_ll = -np.mean(y * np.log(c) + (1 - y) * np.log(1 - c))
    assert model_ll < constant_ll - 0.01, (model_ll, constant_ll)
