"""Session-based next-item recommendation: shared pieces and the two counting baselines.

Shared by every session recommender (GRU4Rec in :mod:`tfrec.models.gru4rec` and the baselines here):

* :func:`session_parallel_batches`: GRU4Rec's session-parallel mini-batches. ``batch_size`` sessions are
  processed side by side; step ``t`` feeds each slot's current event and asks for its successor in
  the same session. When a slot's session runs out of events, the next unused session takes the slot
  and the slot's hidden state is reset to zero.
* :class:`SessionRecommender`: the interface (``fit(sessions)``, ``predict_next(items, k)``,
  ``evaluate_sessions(test, k)``) and the GRU4Rec evaluation protocol: every test event except the
  last of its session is a query, the relevant item is the next click, ranks are taken against ALL
  training items as ``(scores > target_score).sum() + 1`` (the official code's "standard" mode), and
  Recall@k / MRR@k are averaged over the queries. Test events whose item is not in the training data
  are dropped first, as the official code does.

Session recommenders do not fit the user-item :class:`~tfrec.recommenders.Algorithm` interface (there is
no user; the input is a click sequence). An evaluator calls them as::

    algo = GRU4RecRecommender(...).fit(load_sessions(train_path))
    metrics = algo.evaluate_sessions(load_sessions(test_path), k=20)   # {"recall@20", "mrr@20", ...}

Frames have the columns ``SessionId``, ``ItemId``, ``Time`` (the format of
:func:`tfrec.data.load_sessions`).
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Dict, List, Sequence, Tuple

import numpy as np
import pandas as pd

SESSION_KEY = "SessionId"
ITEM_KEY = "ItemId"
TIME_KEY = "Time"


def _check_frame(frame: pd.DataFrame, what: str) -> None:
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


def ranks_against_all(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Rank of each target: the number of items with a strictly higher score, plus one.

    Args:
      scores: [n, n_items] scores of every item.
      targets: [n] item index of the relevant item.

    Returns:
      [n] int ranks (1 = best), the official GRU4Rec "standard" mode ``(scores > target).sum() + 1``.
    """
    target_scores = scores[np.arange(len(targets)), targets]
    return (scores > target_scores[:, None]).sum(axis=1) + 1


class SessionRecommender(abc.ABC):
    """Base class of next-item recommenders trained on click sessions.

    A subclass implements :meth:`fit` (sets ``item_ids``) and :meth:`_scores` (scores of all items for
    a batch of slots given their current item and whether each slot starts a new session).
    """

    name: str = "session_recommender"

    def __init__(self):
        self.item_ids: np.ndarray | None = None
        self._item_lookup: pd.Index | None = None

    # -- vocabulary
    def _set_items(self, train: pd.DataFrame) -> np.ndarray:
        """Builds the item vocabulary from ``train`` and returns the item index of every row."""
        codes, uniques = pd.factorize(train[ITEM_KEY])
        self.item_ids = np.asarray(uniques)
        self._item_lookup = pd.Index(uniques)
        return codes.astype(np.int32)

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return len(self.item_ids)

    def item_index(self, raw_ids) -> np.ndarray:
        """Raw item ids -> indices; ids unseen in training map to -1."""
        self._check_fitted()
        return self._item_lookup.get_indexer(pd.Index(np.asarray(raw_ids, dtype=object))).astype(np.int32)

    def _check_fitted(self):
        if self._item_lookup is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(train_sessions) first.")

    # -- interface
    @abc.abstractmethod
    def fit(self, sessions: pd.DataFrame) -> "SessionRecommender":
        """Trains on a click log (``SessionId``, ``ItemId``, ``Time``) and returns ``self``."""

    @abc.abstractmethod
    def _scores(self, items: np.ndarray, reset: np.ndarray) -> np.ndarray:
        """[B] current item indices, [B] bool new-session flags -> [B, n_items] float scores."""

    def _begin(self, batch_size: int) -> None:
        """Called before a pass of :meth:`_scores` calls with ``batch_size`` slots (state holders)."""

    def predict_next(self, item_sequence: Sequence, k: int = 20) -> Tuple[np.ndarray, np.ndarray]:
        """The ``k`` most likely next items after a session's clicks so far.

        Args:
          item_sequence: raw item ids of the session's clicks, oldest first (unknown ids are skipped).
          k: list length.

        Returns:
          (item_ids, scores): [k] raw ids best first and their scores.
        """
        self._check_fitted()
        idx = self.item_index(list(item_sequence))
        idx = idx[idx >= 0]
        if len(idx) == 0:
            raise ValueError(
                "predict_next needs at least one item seen in training; none of "
                f"{list(item_sequence)[:10]} is in the vocabulary."
            )
        self._begin(1)
        scores = None
        for t, item in enumerate(idx):
            scores = self._scores(np.array([item]), np.array([t == 0]))
        order = np.lexsort((np.arange(self.n_items), -scores[0]))[:k]
        return self.item_ids[order], scores[0, order]

    def evaluate_sessions(self, test: pd.DataFrame, k: int = 20, batch_size: int = 512) -> Dict[str, float]:
        """Recall@k and MRR@k of next-click prediction over every test event (GRU4Rec protocol).

        Args:
          test: test clicks (``SessionId``, ``ItemId``, ``Time``); never used for training.
          k: cut-off. Default 20.
          batch_size: sessions evaluated in parallel.

        Returns:
          ``{"recall@k", "mrr@k", "n_queries", "n_dropped_events"}``.
        """
        _check_frame(test, "test")
        idx = self.item_index(test[ITEM_KEY].to_numpy())
        dropped = int((idx < 0).sum())
        test = test[idx >= 0]
        offsets, order, sorted_test = sort_sessions(test, order="id")
        items = self.item_index(sorted_test[ITEM_KEY].to_numpy())
        batches = session_parallel_batches(items, offsets, order, batch_size)
        self._begin(batch_size)
        hits, rr, n = 0.0, 0.0, 0
        for t in range(batches.n_steps):
            scores = self._scores(batches.inputs[t], batches.reset[t])
            v = batches.valid[t]
            ranks = ranks_against_all(scores[v], batches.targets[t][v])
            hits += float((ranks <= k).sum())
            rr += float(np.where(ranks <= k, 1.0 / ranks, 0.0).sum())
            n += int(v.sum())
        return {f"recall@{k}": hits / n, f"mrr@{k}": rr / n, "n_queries": n, "n_dropped_events": dropped}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class SessionPopularity(SessionRecommender):
    """Recommends the items clicked most often in training, whatever the session.

    Example:

    >>> train = pd.DataFrame({"SessionId": [1, 1, 2, 2], "ItemId": ["a", "b", "b", "c"], "Time": [0, 1, 2, 3]})
    >>> SessionPopularity().fit(train).predict_next(["a"], k=2)[0].tolist()
    ['b', 'a']
    """

    name = "popularity"

    def fit(self, sessions: pd.DataFrame) -> "SessionPopularity":
        _check_frame(sessions, "sessions")
        codes = self._set_items(sessions)
        self.counts = np.bincount(codes, minlength=len(self.item_ids)).astype(np.float32)
        return self

    def _scores(self, items, reset):
        return np.broadcast_to(self.counts, (len(items), len(self.counts)))


class SuccessorRule(SessionRecommender):
    """Item-to-item successor rule: recommends the items that most often directly follow the current
    item in the training sessions.

    ``score(j | current i) = count(i -> j) + pop(j) / (max_pop + 1)``: the number of times ``j`` was
    clicked right after ``i`` in the same training session; the popularity term (always < 1) only
    orders items with equal counts, so items that never followed ``i`` come after those that did,
    most popular first (with plain counts thousands of zero-count items would tie and the ``>``
    ranking would flatter them).

    Args:
      popularity_tiebreak: add the popularity term. Default True.

    Example:

    >>> train = pd.DataFrame({"SessionId": [1, 1, 2, 2, 3, 3], "ItemId": ["a", "b", "a", "c", "a", "c"],
    ...                       "Time": [0, 1, 2, 3, 4, 5]})
    >>> SuccessorRule().fit(train).predict_next(["a"], k=2)[0].tolist()
    ['c', 'b']
    """

    name = "successor_rule"

    def __init__(self, popularity_tiebreak: bool = True):
        super().__init__()
        self.popularity_tiebreak = bool(popularity_tiebreak)

    def fit(self, sessions: pd.DataFrame) -> "SuccessorRule":
        import scipy.sparse as sp

        _check_frame(sessions, "sessions")
        codes = self._set_items(sessions)
        offsets, _, sorted_frame = sort_sessions(sessions.assign(_code=codes), order="id")
        items = sorted_frame["_code"].to_numpy()
        same = np.ones(len(items) - 1, bool)
        same[offsets[1:-1] - 1] = False  # the last event of a session has no successor
        n = len(self.item_ids)
        self.successors = sp.csr_matrix(
            (np.ones(int(same.sum()), np.float32), (items[:-1][same], items[1:][same])), shape=(n, n)
        )  # duplicates are summed: counts
        pop = np.bincount(codes, minlength=n).astype(np.float64)
        self.tiebreak = (pop / (pop.max() + 1.0)) if self.popularity_tiebreak else np.zeros(n)
        return self

    def _scores(self, items, reset):
        return self.successors[items].toarray().astype(np.float64) + self.tiebreak[None, :]


__all__: List[str] = [
    "SESSION_KEY", "ITEM_KEY", "TIME_KEY", "sort_sessions", "SessionBatches", "session_parallel_batches",
    "ranks_against_all", "SessionRecommender", "SessionPopularity", "SuccessorRule",
]
