"""Fitting and applying a rating / CTR model (:mod:`tfrec.models.ctr_builder`) on ``tf.data``.

:func:`fit_model` compiles with Adam and trains with early stopping on a validation set carved from
the training data, reporting epochs and throughput; :func:`predict_frame` scores a DataFrame.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Optional

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)

import tensorflow as tf

from tfrec.features import frame_to_dataset
from tfrec.models.ctr_builder import feature_layers
from tfrec.models.feature_interaction import FeatureInteractionModel


class _TrainTimer(tf.keras.callbacks.Callback):
    """Seconds spent in training batches per epoch (validation excluded)."""

    def __init__(self):
        super().__init__()
        self.epoch_seconds = []
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_seconds.append(0.0)

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.epoch_seconds[-1] += time.perf_counter() - self._start


def fit_model(model: FeatureInteractionModel, train: tf.data.Dataset, validation: Optional[tf.data.Dataset] = None,
              *, epochs: int = 10, learning_rate: float = 1e-3, patience: int = 2, verbose: int = 0,
              run_eagerly: bool = False, restore_initial: bool = False) -> Dict[str, Any]:
    """Compiles ``model`` with Adam and fits it, early-stopping on the validation loss.

    Args:
      model: a :class:`FeatureInteractionModel`.
      train: batched dataset of ``(features, label)`` (``frame_to_dataset(..., label=...)``).
      validation: optional batched validation dataset (carved from the training data, never the
        test data). With it, training stops after ``patience`` epochs without a lower validation
        loss and the best epoch's weights are restored.
      epochs: maximum number of epochs (default 10).
      learning_rate: Adam learning rate (default 1e-3).
      patience: early-stopping patience in epochs (default 2).
      verbose: Keras verbosity (default 0).
      run_eagerly: train without compiling a graph (default False). Tracing the training step of a
        model with dozens of features takes tens of seconds on a small CPU; for a few hundred steps
        (tests, tiny data) eager execution finishes sooner.
      restore_initial: the starting weights count as epoch 0 (default False): the validation loss is
        measured before training, early stopping must beat it, and when no epoch has a lower
        validation loss the starting weights are restored (``best_epoch`` 0). For warm-started
        models (:func:`warm_start_from_lr`): the baseline to beat is then the LR itself.

    Returns:
      dict with ``history`` (Keras history dict), ``epochs`` (epochs run), ``best_epoch`` (1-based;
      0 when ``restore_initial`` kept the starting weights), ``initial_val_loss`` (with ``restore_initial``),
      ``train_seconds`` (time in training steps, graph tracing included) and ``examples_per_second``
      (training examples per second of training steps, over the epochs after the first, which also
      traces the graph; over the one epoch when only one ran).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer. Received: epochs={epochs!r}")
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), run_eagerly=run_eagerly)
    timer = _TrainTimer()
    callbacks = [timer]
    initial = None
    if restore_initial and validation is not None:
        initial_weights = model.get_weights()
        initial = float(model.evaluate(validation, verbose=0, return_dict=True)["loss"])
    if validation is not None:
        callbacks.append(tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                                          restore_best_weights=True, baseline=initial))
    history = model.fit(train, validation_data=validation, epochs=epochs, callbacks=callbacks, verbose=verbose)
    hist = history.history
    epochs_run = len(hist["loss"])
    n_examples = 0
    for batch in train:
        n_examples += int(tf.shape(tf.nest.flatten(batch)[0])[0])
    best = int(min(range(epochs_run), key=lambda i: hist["val_loss"][i])) + 1 if "val_loss" in hist else epochs_run
    if initial is not None:
        if min(hist["val_loss"]) >= initial:
            model.set_weights(initial_weights)
            best = 0
    # throughput of the epochs after the first: the first one also traces the training graph
    steady = timer.epoch_seconds[1:] or timer.epoch_seconds
    out = {
        "history": hist,
        "epochs": epochs_run,
        "best_epoch": best,
        "train_seconds": sum(timer.epoch_seconds),
        "examples_per_second": n_examples * len(steady) / max(sum(steady), 1e-9),
    }
    if initial is not None:
        out["initial_val_loss"] = initial
    return out


def predict_frame(model: FeatureInteractionModel, frame, batch_size: int = 8192):
    """Predictions of ``model`` for every row of ``frame`` (a ``pd.DataFrame`` with the feature columns).

    Returns:
      [len(frame)] float32 numpy array of ratings (rating task) or click probabilities (ctr).
    """
    ds = frame_to_dataset(frame, feature_layers(model), batch_size=batch_size, cache=False)
    if len(frame) == 0:
        return np.zeros(0, np.float32)
    return model.predict(ds, verbose=0).reshape(-1).astype(np.float32)


__all__ = ["fit_model", "predict_frame"]
