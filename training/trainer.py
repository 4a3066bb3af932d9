"""The training loop shared by every model family: ``Trainer(config).fit()``.

Run folder (``output.run_dir``; another tool, e.g. export/serving, reads it)::

    <run_dir>/
      config.yaml            the resolved config (every default filled in; no tuner sections)
      metrics.json           {"status", "history": [per-epoch metrics], "final": {test metrics},
                              "best_epoch", "monitor", "devices", "timing", ...}
      epochs.jsonl           one JSON line per completed epoch (metrics, best so far, lr)
      events.jsonl           train starts (with the epoch they start from) and epoch starts
      vocab/users.txt        raw user ids, one per line; line i is model index i (empty for Criteo and sessions)
      vocab/items.txt        raw item ids, likewise (empty for Criteo: the vocabularies live in the feature layers)
      model/build.json       {"family", "class": "module:Class", "config": model.get_config(),
                              "sample_inputs": two training examples} -> ``Class.from_config(config)``,
                              call it on the sample inputs, then ``load_weights``
      model/vocabularies/    the feature layers' vocabulary files (one token a line), named in build.json's
                             config relative to model/ (the SavedModel holds them under assets/)
      model/weights.*        TF-format weights (the best epoch's if training.restore_best): ``load_weights``
      model/saved_model/     SavedModel of the whole model (when output.saved_model and the family's
                             model can be saved; absent otherwise -- metrics.json says why)
      checkpoints/best.npz   the best epoch's weights (``model.get_weights()`` order) and best.json
                             {"path", "epoch", "monitor", "value"}; ``training.callbacks.load_weights_file``
                             (epoch -1: the warm start, when no epoch beat it)
      warm_start/start.npz   with ``training.warm_start: lr``: the LR-started weights, and start.json (the
                             LR's epochs and validation loss); a resumed run reuses them
      checkpoints/last.npz   the last epoch's weights, and last.json (written when training ends: a rerun
                             after a kill during export/evaluation does not train again)
      logs/train, logs/validation   TensorBoard event files (epoch_loss and every metric)
      backup/                BackupAndRestore state; exists only while a run is unfinished
      workers/<type>_<i>/    the same files from non-chief workers (multi_worker)

:func:`load_run` rebuilds the trained model and vocabularies from such a folder.

Restarting an interrupted run with the same command continues from its last completed epoch (see
``training.callbacks``). Rerunning a *completed* run is refused unless ``overwrite=True``
(``--overwrite``), and so is reusing a run folder with a different config, unless that run trained
nothing (it failed before its first epoch completed: no ``epochs.jsonl`` line, checkpoint, backup or
warm start), which the new run replaces.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Sequence, Union

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
from tfrec.features.vocab_files import resolve_vocabularies, store_vocabularies
from tfrec.training import data as data_lib
from tfrec.config import ConfigError, RunConfig, parse_yaml
from tfrec.training.config import Config, from_dict, load_config
from tfrec.training.closed_form_fit import fit_closed_form, refuse_closed_form_run
from tfrec.training.strategy import Placement, make_placement, ps_summary, serve_forever, set_mixed_precision
from tfrec.training.stages import train_stages
from tfrec.training.families.registry import get_task, monitor_of
from tfrec.training.families.shards import for_data
from tfrec.training.refit import Refit, merge_validation

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("tfrec.training")


class RunDirError(RuntimeError):
    """The run folder holds a completed run or a run with another config."""


def make_optimizer(config: Config, steps_per_epoch: int):
    """The optimizer and learning-rate schedule of ``config.training``."""
    import tensorflow as tf

    t = config.training
    s = t.schedule
    total = max(1, steps_per_epoch * t.epochs)
    if s.name == "constant":
        lr: Any = t.learning_rate
    elif s.name == "exponential":
        lr = tf.keras.optimizers.schedules.ExponentialDecay(t.learning_rate, s.decay_steps or steps_per_epoch,
                                                            s.decay_rate)
    elif s.name == "cosine":
        lr = tf.keras.optimizers.schedules.CosineDecay(t.learning_rate, total, alpha=s.alpha)
    else:  # warmup_cosine
        warmup = int(round(s.warmup_epochs * steps_per_epoch))
        lr = tf.keras.optimizers.schedules.CosineDecay(0.0 if warmup else t.learning_rate, max(1, total - warmup),
                                                       alpha=s.alpha, warmup_target=t.learning_rate if warmup else None,
                                                       warmup_steps=warmup)
    classes = {"adam": tf.keras.optimizers.Adam, "adamw": tf.keras.optimizers.AdamW,
               "adagrad": tf.keras.optimizers.Adagrad, "sgd": tf.keras.optimizers.SGD,
               "rmsprop": tf.keras.optimizers.RMSprop}
    try:
        return classes[t.optimizer](learning_rate=lr, **t.optimizer_params)
    except TypeError as e:
        raise ConfigError(f"training.optimizer_params {t.optimizer_params} are not valid for optimizer "
                          f"{t.optimizer!r}: {e}", key="training.optimizer_params", source=config.source) from e


def _as_config(config: Union[Config, str, Path, Dict[str, Any]]) -> Config:
    if isinstance(config, Config):
        return config
    if isinstance(config, RunConfig):  # schema-checked only: add the model-family checks
        return from_dict(config.to_dict(), source=config.source)
    if isinstance(config, dict):
        return from_dict(config)
    if isinstance(config, (str, Path)):
        return load_config(config)
    raise TypeError(f"config must be a Config, a dict or a YAML path. Received: {type(config).__name__}.")


@dataclasses.dataclass
class RunResult:
    """What :meth:`Trainer.fit` returns.

    Attributes:
      run_dir: the folder this process wrote (a ``workers/...`` folder on non-chief workers).
      history: per-epoch metrics, a list of dicts with "epoch" and the Keras logs.
      final: test metrics of the final evaluation ({} when disabled).
      best_epoch: 0-based epoch of the best ``monitor`` value.
      best_value: that value.
      monitor: the monitored metric.
      model: the trained Keras model (best weights when ``training.restore_best``).
      resumed_from: last completed epoch restored from a backup, or None.
      metrics: the contents of metrics.json.
      run: the family's run data (``tfrec.training.data.RunData`` or the family's own), for its
        ``task.algorithm(model, run)``.
    """

    run_dir: Path
    history: list
    final: Dict[str, Any]
    best_epoch: Optional[int]
    best_value: Optional[float]
    monitor: str
    model: Any = None
    resumed_from: Optional[int] = None
    metrics: Dict[str, Any] = dataclasses.field(default_factory=dict)
    run: Any = None


class Trainer:
    """Trains the model of a config and writes the run folder (see the module docstring).

    Args:
      config: a :class:`Config`, a YAML path or a nested dict.
      run_dir: overrides ``output.run_dir``.
      overwrite: delete an existing run folder first (else a completed run is refused and an
        interrupted one resumed).
      log: function that prints progress lines. Default: ``print`` to stdout (flushed).
      train_frame: training rows split off by the caller (``tfrec evaluate``: a fold's training rows,
        see ``FamilyAlgorithm``) to train on instead of loading and splitting ``config.data``; the
        family's ``prepare_frame`` carves them as ``prepare`` does. There are no test rows, so the final
        evaluation is skipped. Default None.

    Example:

    >>> from tfrec.training import Trainer, load_config
    >>> cfg = load_config("configs/train_mf_ml100k.yaml", ["training.epochs=2"])   # doctest: +SKIP
    >>> result = Trainer(cfg, run_dir="/tmp/mf").fit()                              # doctest: +SKIP
    >>> result.final["rmse"]                                                        # doctest: +SKIP
    """

    def __init__(self, config: Union[Config, str, Path, Dict[str, Any]], run_dir: Union[str, Path, None] = None,
                 overwrite: bool = False, log: Optional[Callable[[str], None]] = None,
                 train_frame: Optional["pd.DataFrame"] = None):
        self.config = _as_config(config)
        self.train_frame = train_frame
        if run_dir is not None:
            self.config.output.run_dir = str(run_dir)
        self.run_dir = self.config.resolved_run_dir()
        self.overwrite = overwrite
        self.log = log or (lambda msg: print(msg, flush=True))
        self._prints = log is None
        self.task = for_data(get_task(self.config.model.name), self.config)
        self.placement: Optional[Placement] = None
        self.timing: Dict[str, float] = {}
        self.final_source = "tfrec.evaluation.EvaluatedAlgorithm"
        #: fit on the fit and validation rows (the refit run of ``training.refit``, see ``tfrec.training.refit``)
        self.fit_on_validation = False

    # ------------------------------------------------------------------------------------------
    def fit(self) -> RunResult:
        """Runs (or resumes) the training, the final evaluation and the export; returns a :class:`RunResult`.

        With ``training.refit`` the early-stopping run and the refit run (``tfrec.training.refit``).
        """
        cfg = self.config
        if cfg.training.refit:
            return Refit(self).fit()
        t_start = time.perf_counter()
        placement = self.placement = make_placement(cfg.training.strategy, self.log, *cfg.training.ps_sharding)
        if placement.strategy is None:  # a parameter-server worker/ps task
            serve_forever(placement, log=self.log)
        import tensorflow as tf

        out = self.run_dir if placement.is_chief else self.run_dir / "workers" / placement.worker_name
        self._check_run_dir(out)
        out.mkdir(parents=True, exist_ok=True)
        from tfrec.training.callbacks import atomic_write_text, json_default

        atomic_write_text(out / "config.yaml", cfg.to_yaml(tuning=False))
        if getattr(self.task, "closed_form", False):  # the algorithm's own fit, no Keras loop
            metrics, algo, run = fit_closed_form(cfg, self.task, out, self.train_frame, self.log)
            return RunResult(out, [], metrics["final"], None, None, "", algo, None, metrics, run)
        tf.keras.utils.set_random_seed(cfg.training.seed)
        mixed = set_mixed_precision(cfg.training.mixed_precision, placement, log=self.log)
        task = self.task
        if mixed and not task.mixed_precision:
            self.log(f"mixed precision: model {task.name!r} is built in float32 (its layers do not support float16).")
            tf.keras.mixed_precision.set_global_policy("float32")

        # -- data and model ---------------------------------------------------------------------
        t0 = time.perf_counter()
        run = task.prepare(cfg) if self.train_frame is None else task.prepare_frame(cfg, self.train_frame)
        if self.fit_on_validation:
            run = merge_validation(run)
        task.write_vocab(run, out / "vocab")
        params = dict(cfg.model.params)
        task.setup(params, run)
        train_stages(type(self), task, params, cfg, run, out, self.log)  # e.g. NeuMF's GMF and MLP (pretrain)
        with placement.strategy.scope():
            # families with feature layers adapt them here, before their examples are encoded
            model = task.build_model(params, run)
        replicas = max(1, placement.replicas)
        if task.ordered and (replicas > 1 or cfg.training.strategy in ("multi_worker", "parameter_server")):
            raise ConfigError(f"model {task.name!r} trains on ordered session-parallel steps and runs on one device; "
                              f"set training.strategy to 'auto', 'cpu' or 'gpu' with one GPU (got "
                              f"{cfg.training.strategy!r}, {replicas} replicas).", key="training.strategy",
                              source=cfg.source)
        global_batch = cfg.training.batch_size * replicas
        ps = cfg.training.strategy == "parameter_server"
        # every worker must run the same number of steps: drop the last partial batch across workers
        feed = task.inputs(run, cfg, global_batch, repeat=ps, drop_remainder=ps or cfg.training.strategy == "multi_worker")
        train_ds, val_ds, n_fit, steps_per_epoch = feed.train, feed.val, feed.examples_per_epoch, feed.steps_per_epoch
        self.timing["data_seconds"] = time.perf_counter() - t0
        self.log(f"data: {task.describe_data(run)}; {n_fit} training examples, global batch {global_batch} "
                 f"({cfg.training.batch_size} x {replicas} replica(s)), {steps_per_epoch} steps/epoch")

        t0 = time.perf_counter()
        sample = feed.sample
        finished = (out / "checkpoints" / "last.json").exists()
        with placement.strategy.scope():
            model(sample, training=False)  # create the variables (BackupAndRestore needs a built model)
        warm_info = self._warm_start(model, run, feed.val_x, out, finished) if cfg.training.warm_start else None
        with placement.strategy.scope():
            optimizer = make_optimizer(cfg, steps_per_epoch)
            task.compile(model, optimizer, cfg)
        self.timing["build_seconds"] = time.perf_counter() - t0

        # -- callbacks --------------------------------------------------------------------------
        from tfrec.training.callbacks import RunRecorder, TimedCallback, load_weights_file, resolve_mode

        es = cfg.training.early_stopping
        default_monitor, default_mode = monitor_of(task.name, cfg.model.params)
        monitor = es.monitor or default_monitor
        mode = resolve_mode(monitor, es.mode) if es.monitor else (default_mode if es.mode == "auto" else es.mode)
        baseline = baseline_weights = None
        if warm_info is not None and not finished:
            # the warm start counts as epoch 0: its validation value is the one to beat (and its weights
            # the best checkpoint until an epoch beats it)
            logs = model.evaluate(val_ds, verbose=0, return_dict=True, steps=feed.validation_steps)
            key = monitor[len("val_"):] if monitor.startswith("val_") else monitor
            if key not in logs:
                raise KeyError(f"early_stopping.monitor {monitor!r} is not among this run's validation metrics "
                               f"{sorted('val_' + k for k in logs)}; set training.early_stopping.monitor to one of them.")
            baseline, baseline_weights = float(logs[key]), model.get_weights()
            warm_info["start_" + monitor] = baseline
            self.log(f"warm start: the LR-started model has {monitor} {baseline:.4f} (epoch 0; an epoch must beat it)")
        recorder = RunRecorder(
            out, monitor, mode, patience=es.patience if es.enabled else None, min_delta=es.min_delta,
            backup_dir=(self.run_dir / "backup") if cfg.output.backup else None, epochs=cfg.training.epochs,
            console=self.log if cfg.training.verbose == 2 else None, baseline=baseline, baseline_weights=baseline_weights,
        )
        timed = [TimedCallback(recorder)]
        callbacks = list(timed)
        if cfg.training.verbose == 2 and placement.is_chief:
            from tfrec.training.callbacks import LogStream, ProgressLogger

            # printing to the console: a bar on a terminal; a caller's log function: its lines
            stream = None if self._prints else LogStream(self.log)
            callbacks.insert(0, ProgressLogger(batch_size=global_batch, epochs=cfg.training.epochs, stream=stream,
                                               tty=None if self._prints else False))
        if cfg.output.tensorboard and placement.is_chief:
            import tensorboard.summary  # noqa: F401  (loaded here, not lazily inside the first epoch)

            tb = TimedCallback(tf.keras.callbacks.TensorBoard(str(out / "logs"), write_graph=False, profile_batch=0,
                                                              update_freq="epoch"))
            callbacks.insert(0, tb)
            timed.append(tb)
        self.log(f"training {task.name}: {cfg.training.epochs} epochs max, {cfg.training.optimizer} lr "
                 f"{cfg.training.learning_rate:g} ({cfg.training.schedule.name}), monitor {monitor} ({mode}), "
                 f"jit_compile={cfg.training.jit_compile}, run folder {out}")

        # -- fit --------------------------------------------------------------------------------
        from tfrec.training.callbacks import read_jsonl

        t0, cpu0 = time.perf_counter(), time.process_time()
        if finished:
            # killed after training but before metrics.json: keep the trained weights, redo export + evaluation
            load_weights_file(model, out / "checkpoints", "last")
            self.log("training had already finished (checkpoints/last.json); running the export and evaluation")
        else:
            model.fit(train_ds, validation_data=val_ds, epochs=cfg.training.epochs, callbacks=callbacks,
                      verbose=1 if cfg.training.verbose == 1 else 0, steps_per_epoch=feed.fit_steps,
                      validation_steps=feed.validation_steps)
        self.timing["fit_seconds"] = time.perf_counter() - t0
        self.timing["fit_cpu_seconds"] = time.process_time() - cpu0
        # time inside the trainer's own callbacks (backup, checkpoints, logs, TensorBoard): its overhead
        self.timing["callback_seconds"] = sum(c.seconds for c in timed)
        self.timing["callback_cpu_seconds"] = sum(c.cpu_seconds for c in timed)
        backup = self.run_dir / "backup"
        if placement.is_chief and backup.is_dir() and not any(backup.iterdir()):
            backup.rmdir()  # BackupAndRestore removed its state: the run is finished

        records = read_jsonl(out / "epochs.jsonl")
        history = [{"epoch": r["epoch"], **r["metrics"], "seconds": r["seconds"], "learning_rate": r["learning_rate"]}
                   for r in records]
        best_epoch = records[-1]["best_epoch"] if records else None
        best_value = records[-1]["best_value"] if records else None
        stopped_early = bool(records and records[-1]["stop"])
        if cfg.training.restore_best and load_weights_file(model, out / "checkpoints", "best") is not None:
            start = " (the warm start: no epoch beat the LR)" if best_epoch == -1 else ""
            self.log(f"restored the best weights: epoch {best_epoch + 1}{start}, {monitor} {best_value:.4f}")
        notes = []
        if cfg.output.save_model:
            t0 = time.perf_counter()
            notes += self._export(model, sample, out)
            self.timing["export_seconds"] = time.perf_counter() - t0

        # -- final evaluation -------------------------------------------------------------------
        final: Dict[str, Any] = {}
        if cfg.evaluation.enabled and self.train_frame is None:
            t0 = time.perf_counter()
            final, note = self._evaluate(model, run)
            if note:
                notes.append(note)
            self.timing["eval_seconds"] = time.perf_counter() - t0
            shown = ", ".join(f"{k} {v:.4f}" for k, v in final.items() if isinstance(v, float))
            self.log(f"test: {shown}")
        self.timing["total_seconds"] = time.perf_counter() - t_start
        examples_seen = n_fit * max(1, len(history) - (recorder.resumed_from + 1 if recorder.resumed_from is not None else 0))
        metrics = {
            "status": "completed",
            "model": task.name,
            "monitor": monitor,
            "mode": mode,
            "best_epoch": best_epoch,
            "best_value": best_value,
            "epochs_completed": len(history),
            "stopped_early": stopped_early,
            "resumed_from_epoch": recorder.resumed_from,
            "history": history,
            "final": final,
            "final_source": self.final_source if cfg.evaluation.enabled and self.train_frame is None else None,
            "devices": placement.description,
            "replicas": replicas,
            "global_batch_size": global_batch,
            "mixed_precision": mixed,
            "timing": {k: round(v, 3) for k, v in self.timing.items()},
            "train_examples_per_second": round(examples_seen / max(self.timing["fit_seconds"], 1e-9), 1),
            "train_examples_per_epoch": n_fit,
            "notes": notes,
        }
        if warm_info is not None:
            metrics["warm_start"] = warm_info
        metrics.update(ps_summary(model) if ps else {})
        atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2, default=json_default) + "\n")
        self.log(f"done in {self.timing['total_seconds']:.1f}s; run folder {out}")
        return RunResult(out, history, final, best_epoch, best_value, monitor, model, recorder.resumed_from, metrics,
                         run)

    # ------------------------------------------------------------------------------------------
    def _warm_start(self, model, run, val_x: Dict[str, np.ndarray], out: Path, finished: bool) -> Dict[str, Any]:
        """``training.warm_start: lr``: starts the built ``model`` as a logistic regression (see the task).

        The warm-started weights go to ``<out>/warm_start/start.npz`` (+ ``start.json``: the LR's facts).
        A run that finds them (a resumed run) loads them instead of training the LR again; the backup
        of its last completed epoch then replaces them as usual. ``freeze_linear`` is applied first,
        every time, so that the trainable variables (and the optimizer state in the backup) match.
        """
        import tensorflow as tf

        from tfrec.training.callbacks import load_weights_file, save_weights_file

        cfg = self.config
        folder = out / "warm_start"
        if cfg.training.freeze_linear:
            self.task.freeze_linear(model)
        if finished:  # the trained weights come from checkpoints/last.npz
            saved = folder / "start.json"
            info = json.loads(saved.read_text()) if saved.exists() else {}
            info.pop("path", None)
            return {**info, "reused": True}
        info = load_weights_file(model, folder, "start")
        if info is not None:
            info.pop("path", None)
            info["reused"] = True
            self.log(f"warm start: reusing the LR-started weights in {folder} (the LR is not trained again)")
        else:
            t0 = time.perf_counter()
            n = min(4096, len(next(iter(val_x.values()))))
            info = self.task.warm_start(model, run, cfg, {k: v[:n] for k, v in val_x.items()})
            info["lr_seconds"] = round(time.perf_counter() - t0, 3)
            info["freeze_linear"] = cfg.training.freeze_linear
            save_weights_file(model.get_weights(), folder, "start", info)
            info["reused"] = False
            self.log(f"warm start: LR trained {info['lr_epochs']} epochs (best {info['lr_best_epoch']}, val loss "
                     f"{info['lr_val_loss']}); copied into {self.task.name} (max abs prediction difference "
                     f"{info['max_abs_diff']:.2e}){'; first-order weights frozen' if cfg.training.freeze_linear else ''}")
        tf.keras.utils.set_random_seed(cfg.training.seed)  # the same RNG state whether or not the LR was trained
        return info

    def _check_run_dir(self, out: Path) -> None:
        if self.overwrite and out.exists():
            shutil.rmtree(out)
            if out == self.run_dir:
                shutil.rmtree(self.run_dir / "backup", ignore_errors=True)
            return
        metrics = out / "metrics.json"
        if metrics.exists():
            raise RunDirError(
                f"Run folder {out} already holds a completed run (metrics.json). Pass --overwrite "
                "(Trainer(..., overwrite=True)) to train again there, or choose another --run-dir."
            )
        saved = out / "config.yaml"
        if saved.exists():
            old = parse_yaml(saved.read_text(), source=str(saved)) or {}
            try:  # fill in keys added to the schema since that run was started (their defaults)
                old = from_dict(old).to_dict(tuning=False)
            except (ConfigError, TypeError, ValueError):
                pass
            new = self.config.to_dict(tuning=False)
            diff = sorted(_diff_keys(old, new))
            if diff and not self._trained_anything(out):
                # a run that failed before its first epoch finished (bad data or config): nothing to lose
                self.log(f"run folder {out} holds a run that trained nothing (no completed epoch, checkpoint or "
                         f"warm start; its config differs in: {', '.join(diff[:8])}); replacing it")
                shutil.rmtree(out)
                if out == self.run_dir:
                    shutil.rmtree(self.run_dir / "backup", ignore_errors=True)
                return
            if diff:
                raise RunDirError(
                    f"Run folder {out} holds an unfinished run with another config (differs in: {', '.join(diff[:8])}). "
                    "Rerun with the same config to resume it, pass --overwrite to start afresh, or choose another "
                    "--run-dir."
                )

    def _trained_anything(self, out: Path) -> bool:
        """Whether the run folder ``out`` holds training results: a completed epoch (``epochs.jsonl``),
        a checkpoint, a backup or warm-start weights."""
        log = out / "epochs.jsonl"
        if log.is_file() and log.read_text().strip():
            return True
        folders = [out / "checkpoints", out / "warm_start"]
        if out == self.run_dir:
            folders.append(self.run_dir / "backup")
        return any(f.is_dir() and any(f.iterdir()) for f in folders)

    def _export(self, model, sample: Dict[str, np.ndarray], out: Path) -> list:
        from tfrec.training.callbacks import atomic_write_text, json_default

        notes = []
        folder = out / "model"
        tmp = out / ".model.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        model.save_weights(str(tmp / "weights"))
        # feature vocabularies: files under model/vocabularies/, named in the config relative to model/
        build = {"family": self.task.name, "class": f"{type(model).__module__}:{type(model).__qualname__}",
                 "config": store_vocabularies(model.get_config(), tmp),
                 "sample_inputs": {k: {"dtype": str(np.asarray(v).dtype), "values": np.asarray(v).tolist()}
                                   for k, v in sample.items()}}
        atomic_write_text(tmp / "build.json", json.dumps(build, indent=1, default=json_default) + "\n")
        if self.config.output.saved_model:
            try:
                model.save(str(tmp / "saved_model"), save_format="tf", include_optimizer=False)
            except Exception as e:  # noqa: BLE001 - a model that cannot be saved whole still has its weights
                shutil.rmtree(tmp / "saved_model", ignore_errors=True)
                notes.append(f"no SavedModel: {type(e).__name__}: {str(e)[:300]} (rebuild with training.load_run)")
                self.log(f"WARNING: {notes[-1]}")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        return notes

    def _evaluate(self, model, run):
        cfg = self.config
        own = self.task.evaluate(model, run, cfg)
        if own is not None:
            self.final_source = f"{type(self.task).__module__}.{type(self.task).__qualname__}.evaluate"
            return own, None
        algo = self.task.algorithm(model, run)
        from tfrec.evaluation.evaluator import EvaluatedAlgorithm, EvaluationData

        data = EvaluationData.build(run.train, run.test, run.vocab.columns, negatives=run.negatives,
                                    relevance_threshold=cfg.evaluation.relevance_threshold)
        final: Dict[str, Any] = {}
        for k in cfg.evaluation.k:
            result = EvaluatedAlgorithm(algo, run.protocol, k=k, exclude_seen=cfg.evaluation.exclude_seen,
                                        ranking=cfg.evaluation.ranking).evaluate(data)
            final.update({name: float(v) for name, v in result["metrics"].items()})
        return final, None


def _diff_keys(old: Any, new: Any, prefix: str = "") -> set:
    if isinstance(old, dict) and isinstance(new, dict):
        out = set()
        for k in set(old) | set(new):
            out |= _diff_keys(old.get(k), new.get(k), f"{prefix}{k}.")
        return out
    if old != new and not (isinstance(old, (int, float)) and isinstance(new, (int, float)) and float(old) == float(new)):
        return {prefix.rstrip(".")}
    return set()


@dataclasses.dataclass
class LoadedRun:
    """A trained run read back by :func:`load_run`.

    Attributes:
      config: the run's :class:`Config`.
      model: the rebuilt Keras model with the exported weights.
      user_ids: [n_users] raw user ids (index i -> id).
      item_ids: [n_items] raw item ids.
      metrics: the parsed metrics.json.
    """

    config: Config
    model: Any
    user_ids: np.ndarray
    item_ids: np.ndarray
    metrics: Dict[str, Any]


def load_run(run_dir: Union[str, Path], overrides: Sequence[str] = ()) -> LoadedRun:
    """Rebuilds the trained model of a run folder from ``model/build.json`` + ``model/weights``.

    Args:
      run_dir: a finished run folder.
      overrides: ``--set``-style ``"dotted.key=value"`` overrides of the run's ``config.yaml``, e.g.
        ``["data.path=/new/place/ml-100k"]`` when the dataset has moved since training. The model is
        rebuilt from ``model/build.json``, so overrides change only how the run's data is found.

    Raises:
      FileNotFoundError: the folder lacks ``config.yaml`` or ``model/`` (the run did not finish).
    """
    run_dir = Path(run_dir)
    refuse_closed_form_run(run_dir)
    for needed in ("config.yaml", "model/build.json", "vocab/users.txt"):
        if not (run_dir / needed).exists():
            raise FileNotFoundError(f"{run_dir} has no {needed}: it is not a finished tfrec training run folder "
                                    "(train one with `tfrec train --config ... --run-dir DIR`).")
    import importlib

    config = load_config(run_dir / "config.yaml", overrides)
    build = json.loads((run_dir / "model" / "build.json").read_text())
    module, name = build["class"].split(":")
    cls = getattr(importlib.import_module(module), name)
    model = cls.from_config(resolve_vocabularies(build["config"], run_dir / "model"))
    sample = {k: np.asarray(v["values"], dtype=object if v["dtype"] == "object" else v["dtype"])
              for k, v in build["sample_inputs"].items()}
    model(sample, training=False)  # create the variables, then restore them
    model.load_weights(str(run_dir / "model" / "weights")).expect_partial()
    users, items = data_lib.read_vocab(run_dir / "vocab")
    metrics_path = run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    return LoadedRun(config, model, users, items, metrics)
