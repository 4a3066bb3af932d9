"""Server-side batching: concurrent requests to one signature run as one model call.

A :class:`Batcher` keeps a queue of pending requests. A worker thread takes the oldest request,
adds queued requests whose inputs have the same per-example shapes until ``max_batch_size`` rows,
waiting up to ``batch_timeout_ms`` for more (0: take only what is already queued, so batching adds
no latency and happens exactly when the model is busy), concatenates them, calls the model once
and splits the outputs back by rows. If a batched call fails, each request of it is re-run alone so
that every caller gets its own result or error; if its outputs are not batch-first (a signature whose
output shapes were unknown when loaded), the batcher stops merging and every later request runs alone.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from typing import Callable, Dict, List, Optional

import numpy as np

logger = logging.getLogger("tfrec.serving")

Arrays = Dict[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class BatchOptions:
    """Batching settings (``--max-batch-size``, ``--batch-timeout-ms``, ``--batch-threads``).

    Attributes:
      max_batch_size: rows per model call; 1 (or less) turns batching off.
      batch_timeout_ms: how long a batch waits for more requests; 0 takes only what is queued.
      num_threads: worker threads per signature (model calls in flight at once).
    """

    max_batch_size: int = 64
    batch_timeout_ms: float = 0.0
    num_threads: int = 2

    @property
    def enabled(self) -> bool:
        return self.max_batch_size > 1


class _Task:
    __slots__ = ("inputs", "rows", "key", "done", "result", "error", "callback")

    def __init__(self, inputs: Arrays, rows: int, key, callback=None):
        self.inputs = inputs
        self.rows = rows
        self.key = key
        self.done = threading.Event()
        self.result: Optional[Arrays] = None
        self.error: Optional[BaseException] = None
        self.callback = callback

    def finish(self) -> None:
        self.done.set()
        if self.callback is not None:
            try:
                self.callback(self.result, self.error)
            except Exception:  # noqa: BLE001 - a caller's callback must not stop the batch worker
                logger.exception("batch callback failed")


def _key(inputs: Arrays):
    return tuple(sorted((n, a.shape[1:], a.dtype.str) for n, a in inputs.items()))


class Batcher:
    """Batches calls of ``fn`` (input name -> array, batch first) -> (output name -> array, batch first).

    Args:
      fn: the model call; every input and output has the batch as its first dimension.
      options: :class:`BatchOptions`.
      name: used in thread names and logs.
    """

    def __init__(self, fn: Callable[[Arrays], Arrays], options: BatchOptions, name: str = "batcher"):
        self.fn = fn
        self.options = options
        self.name = name
        self._queue: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self.batches = 0  # model calls made with more than one request
        self.unbatchable = False  # set when a merged call's outputs were not batch-first: no more merging
        self._threads = [threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True)
                         for i in range(max(1, options.num_threads))]
        for t in self._threads:
            t.start()

    def run(self, inputs: Arrays) -> Arrays:
        """Runs ``inputs`` (possibly together with other callers' inputs) and returns its outputs."""
        task = self._enqueue(inputs, None)
        if task is None:
            return self.fn(inputs)  # no common batch dimension: run alone
        task.done.wait()
        if task.error is not None:
            raise task.error
        return task.result

    def submit(self, inputs: Arrays, callback: Callable[[Optional[Arrays], Optional[BaseException]], None]) -> bool:
        """Queues ``inputs`` without waiting: ``callback(outputs, error)`` runs on a worker thread when done.

        Returns False (nothing queued) when the inputs have no common batch dimension: call :meth:`run`.
        """
        return self._enqueue(inputs, callback) is not None

    def _enqueue(self, inputs: Arrays, callback) -> Optional[_Task]:
        if self.unbatchable:
            return None
        rows = {int(a.shape[0]) for a in inputs.values() if a.ndim}
        if len(rows) != 1 or 0 in rows:
            return None
        task = _Task(inputs, rows.pop(), _key(inputs), callback)
        with self._cond:
            if self._closed:
                raise RuntimeError(f"{self.name} is closed")
            self._queue.append(task)
            self._cond.notify()
        return task

    def close(self) -> None:
        """Finishes queued requests and stops the worker threads."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout=30)

    def _take(self) -> Optional[List[_Task]]:
        opts = self.options
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if not self._queue:
                return None
            first = self._queue.popleft()
            group, rows = [first], first.rows
            deadline = time.monotonic() + opts.batch_timeout_ms / 1000.0
            while rows < opts.max_batch_size:
                for t in list(self._queue):
                    if t.key == first.key and rows + t.rows <= opts.max_batch_size:
                        self._queue.remove(t)
                        group.append(t)
                        rows += t.rows
                remaining = deadline - time.monotonic()
                if rows >= opts.max_batch_size or remaining <= 0 or self._closed:
                    break
                self._cond.wait(remaining)
            return group

    def _loop(self) -> None:
        while True:
            group = self._take()
            if group is None:
                return
            self._execute(group)

    def _execute(self, group: List[_Task]) -> None:
        if len(group) == 1:
            self._run_alone(group[0])
            return
        try:
            merged = {n: np.concatenate([t.inputs[n] for t in group]) for n in group[0].inputs}
            out = self.fn(merged)
            total = sum(t.rows for t in group)
            if any(np.ndim(v) == 0 or np.shape(v)[0] != total for v in out.values()):
                self.unbatchable = True
                logger.warning("%s: the outputs of a call of %d rows are not batched along the first dimension; "
                               "requests run one at a time from now on", self.name, total)
                raise ValueError("outputs are not batched along the first dimension")
        except Exception:  # noqa: BLE001 - fall back to one call per request, each gets its own error
            for t in group:
                self._run_alone(t)
            return
        self.batches += 1
        start = 0
        for t in group:
            t.result = {n: v[start:start + t.rows] for n, v in out.items()}
            start += t.rows
            t.finish()

    def _run_alone(self, task: _Task) -> None:
        try:
            task.result = self.fn(task.inputs)
        except BaseException as e:  # noqa: BLE001 - handed to the waiting caller
            task.error = e
        task.finish()
