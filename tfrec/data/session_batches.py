"""Click sessions laid out for session-parallel mini-batches (GRU4Rec's training and evaluation order).

* :func:`sort_sessions`: a click log sorted by session then time, with each session's row range.
* :func:`session_parallel_batches`: ``batch_size`` sessions are processed side by side; step ``t``
  feeds each slot's current event and asks for its successor in the same session. When a slot's
  session runs out of events, the next unused session takes the slot and the slot's hidden state is
  reset to zero.

Frames have the columns ``SessionId``, ``ItemId``, ``Time`` (the format of
:func:`tfrec.data.load_sessions`).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence, Tuple

import numpy as np
import pandas as pd


SESSION_KEY = "SessionId"
ITEM_KEY = "ItemId"
TIME_KEY = "Time"


def check_session_frame(frame: pd.DataFrame, what: str) -> None:
    """Raises a TypeError / KeyError / ValueError (naming ``what``) unless ``frame`` is a non-empty click log."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame with columns SessionId, ItemId, Time. "
                        f"Received: {type(frame).__name__}")
    missing = [c for c in (SESSION_KEY, ITEM_KEY, TIME_KEY) if c not in frame.columns]
    if missing:
        raise KeyError(f"{what} lacks column(s) {missing}; it has {list(map(str, frame.columns))}. "
                       "Load click logs with tfrec.data.load_sessions or rename the columns.")
    if len(frame) == 0:
        raise ValueError(f"{what} is empty.")


def sort_sessions(frame: pd.DataFrame, order: str = "time") -> Tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Sorts a click log by session then time and returns its session layout.

    Args:
      frame: clicks with ``SessionId``, ``ItemId``, ``Time``.
      order: ``"time"``: sessions ordered by their first click (GRU4Rec's training order);
        ``"id"``: in order of first appearance in ``frame``.

    Returns:
      (offsets, session_order, sorted_frame): ``offsets`` [n_sessions + 1] int64 start of each
      session's rows in ``sorted_frame`` (session ``s`` is rows ``offsets[s]:offsets[s+1]``);
      ``session_order`` [n_sessions] the sessions in the order they enter the batch slots.
    """
    if order not in ("time", "id"):
        raise ValueError(f"order must be 'time' or 'id'. Received: order={order!r}")
    codes, uniques = pd.factorize(frame[SESSION_KEY])
    work = pd.DataFrame({"_s": codes, "_t": frame[TIME_KEY].to_numpy(np.float64), "_r": np.arange(len(frame))})
    work = work.sort_values(["_s", "_t", "_r"], kind="stable")
    sorted_frame = frame.iloc[work["_r"].to_numpy()].reset_index(drop=True)
    sizes = np.bincount(codes, minlength=len(uniques))
    offsets = np.zeros(len(uniques) + 1, np.int64)
    offsets[1:] = np.cumsum(sizes)
    if order == "time":
        first_time = work.groupby("_s", sort=True)["_t"].min().to_numpy()
        session_order = np.argsort(first_time, kind="stable")
    else:
        session_order = np.arange(len(uniques))
    return offsets, session_order, sorted_frame


@dataclasses.dataclass
class SessionBatches:
    """The steps of a session-parallel pass, each array [n_steps, batch_size].

    Attributes:
      inputs: item index fed to each slot at each step (0 where the slot is idle).
      targets: the next item of the same session (0 where idle).
      reset: True where the slot starts a new session at this step, so its hidden state must be set
        to zero *before* the step.
      valid: False for idle slots (no session left to load); their rows carry no loss and their
        targets are no in-batch negatives.
      session: index (into ``offsets``) of the session each slot holds (-1 where idle).
    """

    inputs: np.ndarray
    targets: np.ndarray
    reset: np.ndarray
    valid: np.ndarray
    session: np.ndarray

    @property
    def n_steps(self) -> int:
        return self.inputs.shape[0]

    @property
    def n_events(self) -> int:
        """Number of (input, target) pairs, i.e. training examples."""
        return int(self.valid.sum())


def session_parallel_batches(items: np.ndarray, offsets: np.ndarray, session_order: Sequence[int],
                             batch_size: int) -> SessionBatches:
    """GRU4Rec's session-parallel mini-batches.

    Slot ``b`` starts with session ``session_order[b]``. At every step each active slot emits (current
    event, next event of the same session) and moves one event on. A slot whose session has no next
    event takes the next unused session of ``session_order`` (slots in increasing index when several
    free up at once) and is marked ``reset``. Sessions with a single event give no pairs and are
    skipped. When no session is left, the slot goes idle (``valid`` False); the pass ends when all
    slots are idle.

    Args:
      items: [n_events] int item index of every event, sorted by session then time.
      offsets: [n_sessions + 1] session starts (see :func:`sort_sessions`).
      session_order: order in which sessions enter the slots.
      batch_size: number of parallel slots.

    Returns:
      :class:`SessionBatches`.

    Example:

    >>> items = np.array([10, 11, 20, 21, 22])          # session 0: 10 11, session 1: 20 21 22
    >>> b = session_parallel_batches(items, np.array([0, 2, 5]), [0, 1], batch_size=1)
    >>> b.inputs[:, 0].tolist(), b.targets[:, 0].tolist(), b.reset[:, 0].tolist()
    ([10, 20, 21], [11, 21, 22], [True, True, False])
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer. Received: batch_size={batch_size!r}")
    items = np.asarray(items)
    offsets = np.asarray(offsets, np.int64)
    lengths = np.diff(offsets)
    queue = [int(s) for s in session_order if lengths[s] >= 2]
    n_pairs = int(sum(lengths[s] - 1 for s in queue))
    nxt = 0
    pos = np.full(batch_size, -1, np.int64)  # index of the slot's current event; -1 idle
    end = np.zeros(batch_size, np.int64)
    sess = np.full(batch_size, -1, np.int64)
    inputs, targets, reset, valid, session = [], [], [], [], []
    done = 0
    while done < n_pairs:
        rst = np.zeros(batch_size, bool)
        for b in range(batch_size):
            if pos[b] < 0 or pos[b] + 1 >= end[b]:
                if nxt < len(queue):
                    s = queue[nxt]
                    nxt += 1
                    pos[b], end[b], sess[b] = offsets[s], offsets[s + 1], s
                    rst[b] = True
                else:
                    pos[b], sess[b] = -1, -1
        act = pos >= 0
        inp = np.zeros(batch_size, items.dtype)
        tgt = np.zeros(batch_size, items.dtype)
        inp[act] = items[pos[act]]
        tgt[act] = items[pos[act] + 1]
        inputs.append(inp)
        targets.append(tgt)
        reset.append(rst)
        valid.append(act)
        session.append(sess.copy())
        pos[act] += 1
        done += int(act.sum())
    if not inputs:
        raise ValueError("No session has two or more events: there is no (event, next event) pair to use.")
    return SessionBatches(np.stack(inputs), np.stack(targets), np.stack(reset), np.stack(valid), np.stack(session))


__all__ = ["ITEM_KEY", "SESSION_KEY", "TIME_KEY", "SessionBatches", "check_session_frame", "session_parallel_batches",
           "sort_sessions"]
