"""The base class of a model family of ``tfrec train``: how it gets its data, model, loss and evaluation.

A family is a :class:`Task` subclass registered in ``tfrec.training.families.registry`` under the
name used by ``model.name``. It says:

* ``params_schema``: its parameters as a :class:`~tfrec.training.families.params.FamilyParams`
  model whose field defaults are the family's defaults (``defaults`` is derived from it);
  ``model.params`` may set only these;
* :meth:`Task.prepare`: load and split the data (``tfrec.training.data.prepare``);
* :meth:`Task.examples`: (features dict, labels) arrays of a frame;
* :meth:`Task.build_model`: the Keras model (called inside the strategy scope);
* :meth:`Task.compile`: loss and metrics; ``monitor``/``mode`` (:meth:`Task.monitor_for`) give the
  default early-stopping metric;
* :meth:`Task.algorithm`: the trained model as a ``tfrec.evaluation.Algorithm`` for the final evaluation.

Importing this module does not import TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Tuple, Type

import numpy as np
import pandas as pd

from tfrec.recommenders.base import Algorithm
from tfrec.training.families.params import Fail, FamilyParams, validate_params

__all__ = ["Feed", "Task", "encoded_features", "write_ids"]


@dataclasses.dataclass
class Feed:
    """The training and validation input of a run (:meth:`Task.inputs`).

    Attributes:
      train: ``tf.data`` of (features, labels) or features batches of the fit rows.
      val: likewise of the validation rows.
      examples_per_epoch: training examples of one epoch.
      steps_per_epoch: steps of one epoch.
      fit_steps: ``steps_per_epoch`` to pass to ``model.fit`` (a repeated dataset), or None.
      validation_steps: ``validation_steps`` of ``model.fit`` (a repeated dataset), or None.
      sample: two training examples (features dict), to build the model.
      val_x: the validation features as arrays (warm start), or None for a streamed input.
    """

    train: Any
    val: Any
    examples_per_epoch: int
    steps_per_epoch: int
    fit_steps: Optional[int]
    validation_steps: Optional[int]
    sample: Dict[str, np.ndarray]
    val_x: Optional[Dict[str, np.ndarray]] = None


class Task:
    """Base class of a model family (see the module docstring).

    Attributes:
      name: registry name.
      kind: "rating" (predicts ratings: RMSE/MAE), "ranking" (scores user-item pairs), "retrieval"
        or "session".
      params_schema: the :class:`FamilyParams` subclass of ``model.params``.
      monitor: default early-stopping / tuning metric (a Keras log name).
      mode: "min" or "max" for ``monitor``.
      mixed_precision: the family's model supports ``mixed_float16``; otherwise it is built in float32.
      ordered: the examples must keep their order (no shuffling, one replica): session-parallel steps.
      closed_form: fitted by the algorithm's own ``fit``, not by a Keras loop (``ClosedFormTask``; a
        session baseline's ``fit_closed_form(params, run)`` is run by the Trainer, ``training.closed_form_fit``).
    """

    name = "task"
    kind = "rating"
    params_schema: Type[FamilyParams] = FamilyParams
    monitor = "val_loss"
    mode = "min"
    mixed_precision = False
    ordered = False
    closed_form = False

    @property
    def defaults(self) -> Dict[str, Any]:
        """Builder parameters and their defaults (a fresh dict from ``params_schema``)."""
        return self.params_schema().model_dump()

    def check_params(self, params: Dict[str, Any], fail: Fail) -> Dict[str, Any]:
        """Validates ``model.params`` against ``params_schema`` and returns them merged over the defaults.

        Args:
          params: the config's ``model.params``.
          fail: ``fail(dotted_key, message)`` for the first problem (unknown key with the closest
            valid one, wrong type with the expected type, out-of-range value).
        """
        return validate_params(self.params_schema, self.name, params, fail)

    def monitor_for(self, params: Dict[str, Any]) -> Tuple[str, str]:
        """(monitor, mode) given the family's ``model.params`` (raw or checked)."""
        return self.monitor, self.mode

    # -- data -------------------------------------------------------------------------------------
    def prepare(self, config):
        """The run's data (``tfrec.training.data.RunData``): MovieLens layout, protocol split, carve."""
        from tfrec.training import data

        return data.prepare(config, row_filter=self.row_filter(config))

    def prepare_frame(self, config, train: pd.DataFrame):
        """The run's data from training rows a caller split off (``tfrec evaluate``: a fold's training rows).

        The same validation carve and vocabularies as :meth:`prepare` (``tfrec.training.data.carve``),
        without test rows.

        Args:
          config: the run config (``data.validation_ratio``, ``data.seed``).
          train: [n, ...] MovieLens-layout training rows (user, item, rating and feature columns).
        """
        from tfrec.training import data

        return data.carve(config, train, row_filter=self.row_filter(config))

    def row_filter(self, config):
        """A function applied to the training rows before the carve (e.g. keep positives), or None."""
        return None

    def examples(self, run, frame: pd.DataFrame, split: str) -> Tuple[Dict[str, np.ndarray], Optional[np.ndarray]]:
        """(features, labels or None) of ``frame``; ``split`` is "fit", "val" or "test"."""
        raise NotImplementedError

    def inputs(self, run, config, global_batch: int, *, repeat: bool = False, drop_remainder: bool = False) -> Feed:
        """The training and validation datasets of the run: :meth:`examples` in memory (``make_dataset``).

        Args:
          run: the prepared data; config: the run config.
          global_batch: examples per step over all replicas.
          repeat: repeat both datasets (parameter-server training: fixed steps per epoch).
          drop_remainder: drop the last partial batch (every worker runs the same steps).
        """
        from tfrec.training.data import make_dataset

        t = config.training
        fit_x, fit_y = self.examples(run, run.fit, "fit")
        val_x, val_y = self.examples(run, run.val, "val")
        n_fit, n_val = (len(next(iter(x.values()))) for x in (fit_x, val_x))
        steps = max(1, n_fit // global_batch if drop_remainder else math.ceil(n_fit / global_batch))
        fit_steps = t.steps_per_epoch or (steps if repeat else None)
        train = self.train_dataset(run, fit_x, fit_y, global_batch, config,
                                   shuffle_buffer=0 if self.ordered else t.shuffle_buffer,
                                   repeat=repeat or fit_steps is not None, drop_remainder=drop_remainder)
        val = make_dataset(val_x, val_y, global_batch, cache=t.cache, repeat=repeat)
        return Feed(train, val, (fit_steps or 0) * global_batch if t.steps_per_epoch else n_fit, fit_steps or steps,
                    fit_steps, max(1, n_val // global_batch) if repeat else None,
                    {k: v[:2] for k, v in fit_x.items()}, val_x)

    def setup(self, params: Dict[str, Any], run) -> None:
        """Called once after :meth:`prepare` and before :meth:`examples` (keeps data-side parameters)."""

    def train_dataset(self, run, x: Dict[str, np.ndarray], y: Optional[np.ndarray], batch_size: int, config, *,
                      shuffle_buffer: int, repeat: bool, drop_remainder: bool):
        """The ``tf.data`` pipeline of the fit examples ``(x, y)`` (from :meth:`examples` with split "fit").

        Default: the examples as they are, cached and reshuffled every epoch
        (``tfrec.training.data.make_dataset`` with ``training.seed`` and ``training.cache``). A family
        whose examples change from epoch to epoch (sampled negatives drawn afresh) returns its own.

        Args:
          run: the run data.
          x: name -> [n, ...] arrays; y: [n] labels or None.
          batch_size: the global batch size.
          config: the run config.
          shuffle_buffer: 0 = keep the order (ordered families), else the shuffle buffer.
          repeat: repeat forever (parameter-server training).
          drop_remainder: drop the last partial batch (multi-worker and parameter-server training).
        """
        from tfrec.training import data

        return data.make_dataset(x, y, batch_size, shuffle_buffer=shuffle_buffer, seed=config.training.seed,
                                 cache=config.training.cache, repeat=repeat, drop_remainder=drop_remainder)

    def pretrain_stages(self, params: Dict[str, Any], config) -> Dict[str, Dict[str, Any]]:
        """Models to train first, on the same training rows, through the same Trainer (NeuMF's GMF and MLP).

        Returns:
          stage name -> ``{"model": {"name", "params"}, "training": {...}}`` (a train config's sections);
          the Trainer trains each (``tfrec.training.stages``) and puts the trained Keras models in
          ``run.extra["pretrained"]`` before :meth:`build_model`. Default: {} (no stage).
        """
        return {}

    # -- model ------------------------------------------------------------------------------------
    def build_model(self, params: Dict[str, Any], run):
        """The (unbuilt) Keras model; called inside the strategy scope, before :meth:`examples`."""
        raise NotImplementedError

    def compile(self, model, optimizer, config) -> None:
        """``model.compile`` with the family's loss and metrics (or the model's own ``compute_loss``)."""
        model.compile(optimizer=optimizer, jit_compile=config.training.jit_compile,
                      steps_per_execution=config.training.steps_per_execution)

    def algorithm(self, model, run) -> Algorithm:
        """The trained model as an evaluation ``Algorithm``."""
        raise NotImplementedError

    # -- run folder and final evaluation (defaults: MovieLens user-item data) -------------------------
    def describe_data(self, run) -> str:
        """One log line about the prepared data."""
        source = "given training rows" if run.protocol is None else f"{run.path} protocol {run.protocol.describe()}"
        return (f"{source}: {len(run.fit)} fit / {len(run.val)} validation "
                f"/ {len(run.test)} test rows; {run.vocab.n_users} users, {run.vocab.n_items} items")

    def write_vocab(self, run, folder) -> None:
        """Writes ``vocab/users.txt`` and ``vocab/items.txt`` (line i = model index i)."""
        from tfrec.training import data

        data.write_vocab(run.vocab, folder)

    def evaluate(self, model, run, config) -> Optional[Dict[str, Any]]:
        """Test metrics of the trained model; None = the trainer's evaluator (``tfrec.evaluation``) on
        :meth:`algorithm`."""
        return None

    # -- warm start (``training.warm_start``; CTR families only) ------------------------------------
    def check_warm_start(self, params: Dict[str, Any], training, fail: Fail) -> None:
        """Config check of ``training.warm_start`` for this family (``params``: checked ``model.params``)."""
        fail("training.warm_start", f"config key 'training.warm_start' ({training.warm_start!r}) is supported only by "
                                    f"the CTR families dcn and deepfm with model.params.task: ctr; model "
                                    f"{self.name!r} cannot be warm-started. Remove training.warm_start.")

    def warm_start(self, model, run, config, sample: Dict[str, np.ndarray]) -> Dict[str, Any]:
        """Trains the warm-start model and copies it into the built ``model``; returns facts for metrics.json."""
        raise NotImplementedError(f"model {self.name!r} has no warm start")

    def freeze_linear(self, model) -> None:
        """Makes the copied first-order weights non-trainable (``training.freeze_linear``)."""
        raise NotImplementedError(f"model {self.name!r} has no warm start")


def write_ids(folder, users: Iterable, items: Iterable) -> None:
    """``users.txt`` / ``items.txt`` for data without users (or items): one raw id per line."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, ids in (("users.txt", users), ("items.txt", items)):
        tmp = folder / f".{name}.tmp"
        tmp.write_text("".join(f"{i}\n" for i in ids))
        os.replace(tmp, folder / name)


def encoded_features(layer, rows: pd.DataFrame) -> Dict[str, np.ndarray]:
    """The model inputs of ``rows``: ``layer.encode_frame`` (a ``FeatureLayer``) as numpy arrays."""
    return {k: np.asarray(v) for k, v in layer.encode_frame(rows).items()}
