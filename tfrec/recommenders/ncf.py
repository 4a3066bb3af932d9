"""NCF models (GMF, MLP, NeuMF) and BPR-MF as recommenders, trained with sampled negatives.

:class:`NCFRecommender` runs the He et al. (2017) procedure: ``num_negatives`` fresh negatives per
positive every epoch from :class:`tfrec.sampling.NegativeSampler`, optional GMF/MLP pre-training of
NeuMF. Registry names ``gmf``, ``mlp``, ``neumf``, ``bpr`` (the ``*_recommender`` factories).
"""

from __future__ import annotations

import time
from typing import Callable, Optional, Sequence

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.layers.id_embedding import check_non_negative, check_positive_int, check_units
from tfrec.models.bpr import BPRMF
from tfrec.models.gmf import GMF
from tfrec.models.mlp import MLP
from tfrec.models.neumf import NeuMF
from tfrec.models.optimizers import make_optimizer
from tfrec.recommenders.base import Algorithm
from tfrec.sampling import NegativeSampler


_MODELS = ("gmf", "mlp", "neumf", "bpr")


class NCFRecommender(Algorithm):
    """GMF, MLP or NeuMF trained with pointwise log loss and sampled negatives (He et al. 2017).

    Every epoch each training positive is paired with ``num_negatives`` items drawn uniformly from
    the items that user never interacted with in training (fresh draws each epoch). Scores are
    logits (higher is better); ``predicts_ratings`` is False. ``model="bpr"`` trains the paper's
    implicit-feedback MF baseline instead (:class:`BPRMF`, pairwise BPR loss, one triple per positive
    and negative).

    Unknown ids: an unknown user (index -1) gets the items ranked by training popularity
    (``log(1 + count)``); an unknown item scores ``float32`` min, below every known item.

    Args:
      model: "gmf", "mlp", "neumf" or "bpr". Default "neumf".
      embedding_dim: int, GMF factors (GMF and NeuMF's GMF part; BPR-MF's factors). Default 8.
      mlp_embedding_dim: int, size of each MLP embedding. Default 32.
      hidden_units: sequence of int, MLP ReLU layers. Default (32, 16, 8).
      l2: float >= 0, L2 penalty ``l2 * sum(w^2)`` on the whole embedding tables and MLP kernels,
        added to every batch's mean log loss (Keras regularizers, as the NCF reference code); for
        ``bpr``, the per-batch penalty of :class:`BPRMF`. Default 0.
      num_negatives: int, negatives per positive per epoch. Default 4.
      epochs: int, training epochs of this model. Default 20.
      batch_size: int. Default 256.
      learning_rate: float. Default 1e-3.
      optimizer: "adam", "sgd", "adagrad" or "rmsprop". Default "adam".
      pretrain: bool, NeuMF only: first train a GMF and an MLP (same sizes as NeuMF's parts), copy
        them in with ``alpha``, then train NeuMF with ``optimizer``/``learning_rate`` (the paper uses
        plain SGD here). Default False.
      pretrain_gmf, pretrain_mlp: dict or None, training settings of the GMF / MLP pre-training
        stage, keys among ``epochs``, ``learning_rate``, ``optimizer``, ``batch_size``; missing keys
        default to ``epochs``, 1e-3, "adam" and ``batch_size``.
      alpha: float, GMF weight of the pre-trained output layer. Default 0.5.
      seed: int, seeds TensorFlow's global generator and the negative sampler. Default 42.
      verbose: int, Keras verbosity. Default 0.
      name: str or None, name in result tables (default: the model name).

    Attributes after ``fit``: ``model`` (the Keras model), ``history_`` (per-stage lists of epoch
    losses), ``train_seconds_``, ``examples_seen_`` (training examples, negatives included, over all
    stages).
    """

    predicts_ratings = False

    def __init__(self, model: str = "neumf", embedding_dim: int = 8, mlp_embedding_dim: int = 32,
                 hidden_units: Sequence[int] = (32, 16, 8), l2: float = 0.0, num_negatives: int = 4,
                 epochs: int = 20, batch_size: int = 256, learning_rate: float = 1e-3, optimizer: str = "adam",
                 pretrain: bool = False, pretrain_gmf: Optional[dict] = None, pretrain_mlp: Optional[dict] = None,
                 alpha: float = 0.5, seed: int = 42,
                 verbose: int = 0, name: Optional[str] = None):
        super().__init__()
        if model not in _MODELS:
            raise ValueError(f"Unknown NCF model {model!r}. Valid models: {list(_MODELS)}.")
        if pretrain and model != "neumf":
            raise ValueError(f"pretrain=True only applies to model='neumf'. Received: model={model!r}")
        self.model_name = model
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.mlp_embedding_dim = check_positive_int("mlp_embedding_dim", mlp_embedding_dim)
        self.hidden_units = check_units(hidden_units)
        self.l2 = check_non_negative("l2", l2)
        self.num_negatives = check_positive_int("num_negatives", num_negatives)
        self.epochs = check_positive_int("epochs", epochs)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.learning_rate = float(learning_rate)
        self.optimizer = optimizer
        make_optimizer(optimizer, 1e-3)  # validates the name now
        self.pretrain = bool(pretrain)
        self.pretrain_gmf = self._stage(pretrain_gmf, "pretrain_gmf")
        self.pretrain_mlp = self._stage(pretrain_mlp, "pretrain_mlp")
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"alpha must be in [0, 1]. Received: alpha={alpha}")
        self.alpha = float(alpha)
        self.seed = int(seed)
        self.verbose = int(verbose)
        self.name = name or (model + ("_pretrain" if pretrain else ""))
        self.model: Optional[tf.keras.Model] = None
        self.history_: dict = {}
        self.train_seconds_ = 0.0
        self.examples_seen_ = 0

    _STAGE_KEYS = ("epochs", "learning_rate", "optimizer", "batch_size")

    def _stage(self, settings: Optional[dict], arg: str) -> dict:
        settings = dict(settings or {})
        unknown = sorted(set(settings) - set(self._STAGE_KEYS))
        if unknown:
            raise ValueError(f"Unknown key(s) {unknown} in {arg}; valid keys: {list(self._STAGE_KEYS)}. "
                             f"Received: {arg}={settings!r}")
        out = {"epochs": self.epochs, "learning_rate": 1e-3, "optimizer": "adam", "batch_size": self.batch_size}
        out.update(settings)
        check_positive_int(f"{arg}['epochs']", out["epochs"])
        check_positive_int(f"{arg}['batch_size']", out["batch_size"])
        make_optimizer(out["optimizer"], float(out["learning_rate"]))
        return out

    # -- training ---------------------------------------------------------------------------------
    def _build(self, kind: str, n_users: int, n_items: int) -> tf.keras.Model:
        if kind == "gmf":
            model = GMF(n_users, n_items, self.embedding_dim, self.l2)
        elif kind == "mlp":
            model = MLP(n_users, n_items, self.mlp_embedding_dim, self.hidden_units, self.l2)
        elif kind == "bpr":
            model = BPRMF(n_users, n_items, self.embedding_dim, self.l2)
        else:
            model = NeuMF(n_users, n_items, self.embedding_dim, self.mlp_embedding_dim, self.hidden_units, self.l2)
        return model.build_for_inputs()

    def _train(self, model, sampler, users, items, epochs, optimizer, learning_rate, batch_size, label,
               on_epoch_end):
        # steps_per_execution runs many batches per call into TensorFlow: the same updates, far less
        # Python overhead per step (this model's steps are tiny)
        pairwise = isinstance(model, BPRMF)
        model.compile(optimizer=make_optimizer(optimizer, learning_rate), steps_per_execution=64,
                      loss=None if pairwise else tf.keras.losses.BinaryCrossentropy(from_logits=True))
        losses = []
        for epoch in range(epochs):
            if pairwise:
                u, i, j = sampler.pairwise_examples(users, items, self.num_negatives)
                ds = tf.data.Dataset.from_tensor_slices({"user_idx": u, "item_idx": i, "negative_idx": j})
                y = u
            else:
                u, i, y = sampler.training_examples(users, items, self.num_negatives)
                ds = tf.data.Dataset.from_tensor_slices(({"user_idx": u, "item_idx": i}, y))
            ds = ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
            hist = model.fit(ds, epochs=1, verbose=self.verbose)
            losses.append(float(hist.history["loss"][-1]))
            self.examples_seen_ += len(y)
            if self.verbose:
                print(f"[{self.name}:{label}] epoch {epoch + 1}/{epochs} loss {losses[-1]:.4f}")
            if on_epoch_end is not None:
                on_epoch_end(label, epoch + 1, model)
        self.history_[label] = losses
        return model

    def fit(self, data: TrainingData, gmf: Optional[GMF] = None, mlp: Optional[MLP] = None,
            on_epoch_end: Optional[Callable[[str, int, tf.keras.Model], None]] = None) -> "NCFRecommender":
        """Trains on ``data`` (any row is a positive; ratings are ignored).

        Args:
          data: the training split.
          gmf, mlp: optional trained :class:`GMF` / :class:`MLP` (built on the same ``data``) used as the
            pre-trained parts when ``pretrain=True``; when absent they are trained here.
          on_epoch_end: optional ``f(stage, epoch, keras_model)`` called after every epoch of every
            stage (``stage`` is "gmf", "mlp" or "neumf"), e.g. to track a validation metric (built
            from the training data only).

        Returns:
          ``self``.
        """
        if (gmf is not None or mlp is not None) and not self.pretrain:
            raise ValueError(f"gmf/mlp models were passed to fit but pretrain=False (received pretrain={self.pretrain}); "
                             "set pretrain=True to initialise NeuMF from them.")
        self.data = data
        self.history_ = {}
        self.examples_seen_ = 0
        tf.random.set_seed(self.seed)
        start = time.perf_counter()
        seen = data.seen_matrix()
        pairs = seen.tocoo()
        users, items = pairs.row.astype(np.int32), pairs.col.astype(np.int32)  # unique positive pairs
        sampler = NegativeSampler(seen, seed=self.seed)
        if self.pretrain:
            for kind, given, stage in (("gmf", gmf, self.pretrain_gmf), ("mlp", mlp, self.pretrain_mlp)):
                if given is None:
                    trained = self._train(self._build(kind, data.n_users, data.n_items), sampler, users, items,
                                          stage["epochs"], stage["optimizer"], float(stage["learning_rate"]),
                                          stage["batch_size"], kind, on_epoch_end)
                    gmf, mlp = (trained, mlp) if kind == "gmf" else (gmf, trained)
            model = self._build("neumf", data.n_users, data.n_items).load_pretrained(gmf, mlp, self.alpha)
        else:
            model = self._build(self.model_name, data.n_users, data.n_items)
        self.model = model  # set before training so that on_epoch_end may call predict/score
        self._predict_fn = tf.function(lambda x: model(x), reduce_retracing=True)
        self._popularity = np.log1p(data.item_popularity().astype(np.float32)).astype(np.float32)
        self._train(model, sampler, users, items, self.epochs, self.optimizer, self.learning_rate, self.batch_size,
                    self.model_name, on_epoch_end)
        self.train_seconds_ = time.perf_counter() - start
        return self

    # -- scoring ----------------------------------------------------------------------------------
    def _check_fitted(self):
        if self.model is None or self.data is None:
            raise RuntimeError(f"{type(self).__name__} ({self.name}) is not fitted: call fit(training_data) first.")

    def _logits(self, users: np.ndarray, items: np.ndarray, chunk: int = 262144) -> np.ndarray:
        out = np.empty(len(users), np.float32)
        for lo in range(0, len(users), chunk):
            x = {"user_idx": tf.constant(users[lo:lo + chunk], tf.int32),
                 "item_idx": tf.constant(items[lo:lo + chunk], tf.int32)}
            out[lo:lo + chunk] = self._predict_fn(x).numpy()
        return out

    def score(self, users: np.ndarray) -> np.ndarray:
        """[n, n_items] float32 logits of every item for each user (unknown users: popularity)."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        n_items = self.data.n_items
        out = np.empty((len(users), n_items), np.float32)
        known = users != OOV_INDEX
        out[~known] = self._popularity
        kn = users[known]
        if kn.size:
            rows_per_chunk = max(1, 262144 // n_items)
            res = []
            for lo in range(0, kn.size, rows_per_chunk):
                u = kn[lo:lo + rows_per_chunk]
                res.append(self._logits(np.repeat(u, n_items), np.tile(np.arange(n_items), len(u))).reshape(len(u), n_items))
            out[known] = np.concatenate(res)
        return out

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """[n] float32 logits of user-item pairs (see the class doc for unknown ids)."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        if users.shape != items.shape:
            raise ValueError(f"users and items must have the same shape. Received {users.shape} and {items.shape}.")
        out = self._logits(users, items)
        u_oov = users == OOV_INDEX
        i_oov = items == OOV_INDEX
        out[u_oov & ~i_oov] = self._popularity[items[u_oov & ~i_oov]]
        out[i_oov] = np.finfo(np.float32).min
        return out


def gmf_recommender(**params) -> NCFRecommender:
    """Registry factory ``gmf``: :class:`NCFRecommender` with ``model="gmf"``."""
    return NCFRecommender(model="gmf", **params)


def mlp_recommender(**params) -> NCFRecommender:
    """Registry factory ``mlp``: :class:`NCFRecommender` with ``model="mlp"``."""
    return NCFRecommender(model="mlp", **params)


def neumf_recommender(**params) -> NCFRecommender:
    """Registry factory ``neumf``: :class:`NCFRecommender` with ``model="neumf"``."""
    return NCFRecommender(model="neumf", **params)


def bpr_recommender(**params) -> NCFRecommender:
    """Registry factory ``bpr``: :class:`NCFRecommender` with ``model="bpr"`` (BPR-MF, implicit feedback)."""
    return NCFRecommender(model="bpr", **params)


__all__ = ["NCFRecommender", "bpr_recommender", "gmf_recommender", "mlp_recommender", "neumf_recommender"]
