"""Callbacks of the trainer: the epoch log, early stopping, atomic checkpoints, fault tolerance, progress.

:class:`RunRecorder` is the one callback that owns the run's state on disk. At the end of every epoch,
in this order, it

1. decides early stopping on the monitored validation metric;
2. writes the best checkpoint when the metric improved (in a background thread, atomically, see
   :func:`save_weights_file`);
3. appends the epoch's metrics to ``epochs.jsonl``;
4. saves the ``tf.keras.callbacks.BackupAndRestore`` state (model, optimizer, epoch counter).

An epoch counts as *completed* once step 4 is done. When a killed run is restarted with the same
command, ``BackupAndRestore`` restores the last completed epoch and Keras continues with the next
one; :class:`RunRecorder` then drops any ``epochs.jsonl`` line of a later (unfinished) epoch and
restores the early-stopping state from the last kept line, so no completed epoch is repeated and
the history has each epoch once. ``events.jsonl`` records every train start (with the epoch it
starts from) and every epoch start, so a test can check that.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras)
import tensorflow as tf


def json_default(value):
    """``json.dumps`` ``default``: numpy scalars and arrays, paths and tuples as JSON values."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def atomic_write_text(path: Path, text: str, fsync: bool = True) -> None:
    """Writes ``text`` to a temp file beside ``path`` and renames it over ``path`` (atomic).

    ``fsync`` also flushes the file to the disk first (survives a machine crash; a killed process
    never leaves a partial file either way).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}-{threading.get_ident()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        if fsync:
            os.fsync(f.fileno())
    os.replace(tmp, path)


def read_jsonl(path: Path) -> List[Dict[str, Any]]:
    """The JSON lines of ``path`` ([] if absent); a torn last line (a kill mid-write) is skipped."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def append_jsonl(path: Path, record: Dict[str, Any]) -> None:
    """Appends one JSON line (handed to the OS at close: a killed process keeps it)."""
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def save_weights_file(weights: List[np.ndarray], folder: Path, name: str, info: Dict[str, Any]) -> Path:
    """Writes a weights list (``model.get_weights()``) as checkpoint ``name`` atomically.

    The arrays go to ``<folder>/<name>.npz`` through a temp file and a rename; then
    ``<folder>/<name>.json`` (``{"path": "<name>.npz", **info}``) is replaced the same way. Both
    renames are atomic, so a reader sees either the previous or the new checkpoint, never a partial
    one. Load with :func:`load_weights_file`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp{os.getpid()}-{threading.get_ident()}.npz"
    np.savez(tmp, *weights)
    os.replace(tmp, folder / f"{name}.npz")
    atomic_write_text(folder / f"{name}.json", json.dumps({"path": f"{name}.npz", **info}, default=float) + "\n",
                      fsync=False)
    return folder / f"{name}.npz"


def load_weights_file(model: tf.keras.Model, folder: Path, name: str) -> Optional[Dict[str, Any]]:
    """Loads checkpoint ``name`` of ``folder`` into ``model``; returns its info (None if absent)."""
    pointer = Path(folder) / f"{name}.json"
    if not pointer.exists():
        return None
    info = json.loads(pointer.read_text())
    with np.load(Path(folder) / info["path"]) as data:
        model.set_weights([data[f"arr_{i}"] for i in range(len(data.files))])
    return info


def save_checkpoint(model: tf.keras.Model, folder: Path, name: str, info: Dict[str, Any]) -> Path:
    """Saves ``model``'s weights as checkpoint ``name`` (see :func:`save_weights_file`)."""
    return save_weights_file(model.get_weights(), folder, name, info)


def resolve_mode(monitor: str, mode: str) -> str:
    """"min"/"max" for ``monitor``; "auto" picks max for accuracy-like names."""
    if mode != "auto":
        return mode
    higher = ("acc", "auc", "recall", "precision", "ndcg", "hit", "hr@", "map", "top_")
    return "max" if any(h in monitor.lower() for h in higher) else "min"


class RunRecorder(tf.keras.callbacks.Callback):
    """Epoch log, early stopping, best checkpoint and ``BackupAndRestore`` (see the module docstring).

    Args:
      out_dir: folder of ``epochs.jsonl``, ``events.jsonl`` and ``checkpoints/``.
      monitor: Keras log name of the metric that decides "best" and early stopping.
      mode: "min" or "max".
      patience: epochs without improvement before stopping; None = never stop early.
      min_delta: smallest change counted as an improvement.
      backup_dir: folder of the ``BackupAndRestore`` state, or None for no fault tolerance.
      epochs: planned number of epochs (for the console).
      console: function that prints one line per epoch, or None.
      save_best: write the best checkpoint.
      baseline: the monitored value of the starting weights (a warm start): they count as epoch -1
        (0-based; "epoch 0" 1-based), an epoch must beat it to be the best, and if none does the best
        checkpoint stays the starting weights (``best_epoch`` -1). None = no baseline.
      baseline_weights: the starting weights (``model.get_weights()``), written as the best checkpoint
        when a fresh run begins (needed with ``baseline``).
    """

    def __init__(self, out_dir: Path, monitor: str, mode: str, patience: Optional[int], min_delta: float = 0.0,
                 backup_dir: Optional[Path] = None, epochs: int = 0, console: Optional[Callable[[str], None]] = None,
                 save_best: bool = True, baseline: Optional[float] = None,
                 baseline_weights: Optional[List[np.ndarray]] = None):
        super().__init__()
        self.baseline = baseline
        self.baseline_weights = baseline_weights
        self.out_dir = Path(out_dir)
        self.monitor = monitor
        self.mode = mode
        self.patience = patience
        self.min_delta = abs(min_delta)
        self.epochs = epochs
        self.console = console
        self.save_best = save_best
        self.backup = tf.keras.callbacks.BackupAndRestore(str(backup_dir)) if backup_dir else None
        self.epoch_log = self.out_dir / "epochs.jsonl"
        self.events = self.out_dir / "events.jsonl"
        self.ckpt_dir = self.out_dir / "checkpoints"
        self.best_value: Optional[float] = None
        self.best_epoch: Optional[int] = None
        self.wait = 0
        self.stopped_epoch: Optional[int] = None
        self.resumed_from: Optional[int] = None  # last completed epoch restored from the backup
        self._epoch_start = 0.0
        self._writer: Optional[threading.Thread] = None

    def set_model(self, model):
        super().set_model(model)
        if self.backup is not None:
            self.backup.set_model(model)

    # -- helpers ------------------------------------------------------------------------------------
    def _write_async(self, weights, info) -> None:
        self.wait_for_writes()
        self._writer = threading.Thread(target=save_weights_file, args=(weights, self.ckpt_dir, "best", info),
                                        daemon=True)
        self._writer.start()

    def wait_for_writes(self) -> None:
        """Blocks until the background checkpoint write (if any) is on disk."""
        if self._writer is not None:
            self._writer.join()
            self._writer = None

    def _better(self, value: float) -> bool:
        if self.best_value is None:
            return True
        if self.mode == "min":
            return value < self.best_value - self.min_delta
        return value > self.best_value + self.min_delta

    def _restore_state(self, last_completed: int) -> None:
        """Keeps epochs.jsonl lines of completed epochs (<= last_completed) and their stopping state."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        lines = [r for r in read_jsonl(self.epoch_log) if r.get("epoch", 1 << 30) <= last_completed]
        atomic_write_text(self.epoch_log, "".join(json.dumps(r) + "\n" for r in lines))
        if lines:
            last = lines[-1]
            self.best_value, self.best_epoch, self.wait = last["best_value"], last["best_epoch"], last["wait"]
        elif self.baseline is not None:  # the warm start is "epoch 0": the value to beat
            self.best_value, self.best_epoch, self.wait = self.baseline, -1, 0
        else:
            self.best_value, self.best_epoch, self.wait = None, None, 0
        if last_completed < 0:  # a fresh start: no stale best checkpoint from an earlier attempt
            shutil.rmtree(self.ckpt_dir, ignore_errors=True)
            if self.baseline is not None and self.save_best and self.baseline_weights is not None:
                save_weights_file(self.baseline_weights, self.ckpt_dir, "best",
                                  {"epoch": -1, "monitor": self.monitor, "value": self.baseline, "warm_start": True})

    # -- Keras hooks --------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        last_completed = -1
        if self.backup is not None:
            self.backup.on_train_begin(logs)
            last_completed = int(self.model._training_state._ckpt_saved_epoch.numpy())
        self.resumed_from = last_completed if last_completed >= 0 else None
        self._restore_state(last_completed)
        append_jsonl(self.events, {"event": "train_begin", "initial_epoch": last_completed + 1, "pid": os.getpid(),
                                   "time": time.time()})
        if self.resumed_from is not None and self.console:
            self.console(f"resuming after completed epoch {last_completed + 1} (BackupAndRestore state in "
                         f"{self.backup.backup_dir})")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        if self.backup is not None:
            self.backup.on_epoch_begin(epoch, logs)
        append_jsonl(self.events, {"event": "epoch_begin", "epoch": epoch, "pid": os.getpid(), "time": time.time()})

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        seconds = time.perf_counter() - self._epoch_start
        value = logs.get(self.monitor)
        improved = False
        if value is None:
            raise KeyError(
                f"early_stopping.monitor {self.monitor!r} is not among this run's metrics {sorted(logs)}; set "
                "training.early_stopping.monitor to one of them."
            )
        if math.isfinite(value) and self._better(value):
            self.best_value, self.best_epoch, self.wait, improved = value, epoch, 0, True
            if self.save_best:
                # copy the weights now (cheap), write them in the background (atomic renames)
                self._write_async(self.model.get_weights(), {"epoch": epoch, "monitor": self.monitor, "value": value})
        else:
            self.wait += 1
        stop = self.patience is not None and not improved and self.wait >= self.patience
        if not math.isfinite(value):
            stop = True
        lr = _current_lr(self.model)
        record = {"epoch": epoch, "metrics": logs, "seconds": round(seconds, 4), "best_value": self.best_value,
                  "best_epoch": self.best_epoch, "wait": self.wait, "improved": improved, "stop": stop,
                  "learning_rate": lr, "time": time.time()}
        append_jsonl(self.epoch_log, record)
        if self.backup is not None:
            self.backup.on_epoch_end(epoch, logs)
        if stop:
            self.stopped_epoch = epoch
            self.model.stop_training = True
        if self.console:
            shown = "  ".join(f"{k} {v:.4f}" for k, v in logs.items() if k != "learning_rate")
            mark = "  *best*" if improved else ""
            end = "  early stop" if stop else ""
            total = f"/{self.epochs}" if self.epochs else ""
            self.console(f"epoch {epoch + 1}{total}  {shown}{mark}  {seconds:.1f}s{end}")

    def on_train_end(self, logs=None):
        self.wait_for_writes()
        # the final weights, before the backup goes: a rerun from here on skips the training
        last = read_jsonl(self.epoch_log)
        save_checkpoint(self.model, self.ckpt_dir, "last", {"epoch": last[-1]["epoch"] if last else None,
                                                             "training_complete": True})
        if self.backup is not None:
            self.backup.on_train_end(logs)
        append_jsonl(self.events, {"event": "train_end", "pid": os.getpid(), "time": time.time()})


def _current_lr(model) -> Optional[float]:
    opt = getattr(model, "optimizer", None)
    if opt is None:
        return None
    try:
        lr = opt.learning_rate
        if isinstance(lr, tf.keras.optimizers.schedules.LearningRateSchedule):
            lr = lr(opt.iterations)
        return float(tf.keras.backend.get_value(lr))
    except (TypeError, ValueError, AttributeError):
        return None


class TimedCallback(tf.keras.callbacks.Callback):
    """Wraps a callback and adds up the time spent in its epoch and train hooks.

    ``seconds`` is wall-clock time, ``cpu_seconds`` the process CPU time (all threads), which is far
    less sensitive to other processes on a shared machine.
    """

    def __init__(self, inner: tf.keras.callbacks.Callback):
        super().__init__()
        self.inner = inner
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self._supports_tf_logs = getattr(inner, "_supports_tf_logs", False)

    def set_model(self, model):
        super().set_model(model)
        self.inner.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.inner.set_params(params)

    def _timed(self, name, *args):
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return getattr(self.inner, name)(*args)
        finally:
            self.seconds += time.perf_counter() - start
            self.cpu_seconds += time.process_time() - cpu

    def on_train_begin(self, logs=None):
        self._timed("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._timed("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._timed("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._timed("on_epoch_end", epoch, logs)

    def on_test_begin(self, logs=None):
        self._timed("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._timed("on_test_end", logs)


class LogStream:
    """A write-only text stream that hands each complete line to ``log`` (e.g. a trainer's log function).

    Args:
      log: called with each line, without its newline.
    """

    def __init__(self, log: Callable[[str], None]):
        self.log = log
        self._pending = ""

    def write(self, text: str) -> int:
        *lines, self._pending = (self._pending + text).split("\n")
        for line in lines:
            self.log(line)
        return len(text)

    def flush(self) -> None:
        """Lines are handed over as soon as they are complete; nothing to flush."""

    def isatty(self) -> bool:
        return False


class ProgressLogger(tf.keras.callbacks.Callback):
    """Progress within each epoch: a bar on a terminal, else a line every N seconds (``tfrec.progress``).

    A line reads ``epoch 2/10: 120/400 steps (30%), 51.2 steps/s, 52.4k examples/s, ETA 0:05,
    loss 0.5312`` (the running mean of the epoch's loss, as Keras reports it). The loss is read from
    the device only when a line is written, so the callback does not slow the steps down.

    Args:
      batch_size: examples per step (the global batch), for the examples/s rate; None: no such rate.
      epochs: planned number of epochs (for the label).
      stream: where to write; default ``sys.stdout``.
      interval: seconds between lines off a terminal; default ``$TFREC_PROGRESS_SECONDS`` or 15.
      tty: force the terminal (True) or log-file (False) style; default: whether ``stream`` is a terminal.
    """

    def __init__(self, batch_size: Optional[int] = None, epochs: int = 0, stream=None,
                 interval: Optional[float] = None, tty: Optional[bool] = None):
        super().__init__()
        from tfrec.progress import default_interval

        self._supports_tf_logs = True  # keep the logs as tensors: no device sync per step
        self.batch_size = batch_size
        self.epochs = epochs
        self.stream = stream
        self.interval = default_interval() if interval is None else interval
        self.tty = tty
        self.progress = None
        self._logs: Dict[str, Any] = {}

    def _loss(self) -> Dict[str, float]:
        value = self._logs.get("loss")
        return {} if value is None else {"loss": float(value)}

    def on_epoch_begin(self, epoch, logs=None):
        from tfrec.progress import Progress

        total = f"/{self.epochs}" if self.epochs else ""
        self.progress = Progress((self.params or {}).get("steps"), desc=f"epoch {epoch + 1}{total}", unit="steps",
                                 items_per_unit=self.batch_size, stream=self.stream, interval=self.interval,
                                 tty=self.tty)
        self.progress.lazy_postfix = self._loss
        self._logs = {}

    def on_train_batch_end(self, batch, logs=None):
        if self.progress is None:
            return
        self._logs = logs or {}
        self.progress.update(batch + 1 - self.progress.n)  # batch is 0-based within the epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.progress is not None:
            self.progress.close()
            self.progress = None

    # the validation pass at the end of each epoch (Keras calls the test hooks inside fit)
    def on_test_begin(self, logs=None):
        from tfrec.progress import Progress

        if self.progress is not None:
            self.progress.close()
        self._epoch_desc = self.progress.desc if self.progress is not None else "evaluation"
        self.progress = Progress(None, desc=f"{self._epoch_desc} validation", unit="steps",
                                 items_per_unit=self.batch_size, stream=self.stream, interval=self.interval,
                                 tty=self.tty)

    def on_test_batch_end(self, batch, logs=None):
        if self.progress is not None:
            self.progress.update(batch + 1 - self.progress.n)

    def on_test_end(self, logs=None):
        if self.progress is not None:
            self.progress.close()
            self.progress = None
