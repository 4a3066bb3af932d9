"""CTRRecommender (a trained DCN / DeepFM / FM / LR as an evaluation algorithm), and a deep CTR model against the constant
predictor on a real Criteo slice."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401

import tensorflow as tf

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.features import FeatureSpec, frame_to_dataset
from tfrec.models.ctr_builder import build_model, criteo_features
from tfrec.models.feature_interaction import initial_bias
from tfrec.recommenders.ctr import CTRRecommender, predict_frame


def test_recommender_rejects_unknown_model():
    with pytest.raises(ValueError, match="model: 'svd'. Valid values: dcn, deepfm, fm, logreg"):
        CTRRecommender("svd")


def test_recommender_scores_a_trained_model_with_oov():
    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame({
        "user_id": rng.choice([f"u{i}" for i in range(20)], n),
        "movie_id": rng.choice([f"m{i}" for i in range(15)], n),
    })
    frame["user_rating"] = rng.integers(1, 6, n).astype(np.float32)
    items = pd.DataFrame({"movie_id": [f"m{i}" for i in range(15)], "movie_genres": [[i % 3] for i in range(15)]})
    data = TrainingData(frame, items=items)
    rec = CTRRecommender("logreg", task="rating")
    with pytest.raises(RuntimeError, match="no trained model"):
        rec.fit(data)
    full = rec._full_frame(data)
    rec.spec = FeatureSpec.from_config(rec.default_spec(full, data.columns))
    assert [f.name for f in rec.spec] == ["user_id", "movie_id", "movie_genres"]  # side feature picked up
    rec.model = build_model("logreg", rec.spec, full, task="rating", initial_bias=3.0)
    rec.label_range_ = (1.0, 5.0)
    with pytest.raises(RuntimeError, match="call fit"):
        rec.predict(np.array([0]), np.array([1]))
    rec.fit(data)
    pred = rec.predict(np.array([0, OOV_INDEX, 3]), np.array([1, 2, OOV_INDEX]))
    assert pred.shape == (3,) and np.all((pred >= 1.0) & (pred <= 5.0))
    # the pair features are those of the users' and items' training rows
    expected = predict_frame(rec.model, full.iloc[:5])
    got = rec.predict(data.users_idx[:5], data.items_idx[:5])
    np.testing.assert_allclose(got, np.clip(expected, 1.0, 5.0), rtol=1e-5)
    assert rec.score(np.array([0, 1])).shape == (2, data.n_items)


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
    model.compile(optimizer=tf.keras.optimizers.Adam(3e-3))
    model.fit(ds, epochs=2, verbose=0)
    p = model(model.embedding_layer.encode_frame(test)).numpy()[:, 0]  # eager: no second graph trace
    p = np.clip(p, 1e-7, 1 - 1e-7)
    y = test["label"].to_numpy(np.float64)
    model_ll = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    c = train["label"].mean()  # the constant predictor: the training click rate
    constant_ll = -np.mean(y * np.log(c) + (1 - y) * np.log(1 - c))
    assert model_ll < constant_ll - 0.01, (model_ll, constant_ll)
