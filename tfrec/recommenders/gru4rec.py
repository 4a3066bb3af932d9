"""A trained GRU4Rec network as a session scorer: next-click prediction and the session protocol.

GRU4Rec is trained by ``tfrec train`` (family ``gru4rec``: session-parallel steps as the Keras
model's ``train_step``, run by the one Trainer); :class:`GRU4RecScorer` applies the trained network
(:class:`tfrec.models.gru4rec.GRU4Rec`) step by step, carrying each session's hidden state, for
``predict_next`` and ``evaluate_sessions`` (:mod:`tfrec.recommenders.session`).
"""

from __future__ import annotations

from typing import Sequence

import tfrec  # noqa: F401  (selects tf_keras)
import tensorflow as tf

from tfrec.models.gru4rec import GRU4Rec
from tfrec.recommenders.session import SessionScorer


class GRU4RecScorer(SessionScorer):
    """Scores next items with a trained :class:`GRU4Rec` network.

    Args:
      network: the trained network (``[n_items]`` scores per step).
      item_ids: [n_items] raw item ids; index i = item i of the network.
      name: row name. Default "gru4rec".

    Raises:
      ValueError: ``len(item_ids)`` differs from ``network.n_items``.

    Example:

    >>> import pandas as pd
    >>> scorer = GRU4RecScorer(GRU4Rec(n_items=3, layers=[4]), ["a", "b", "c"])
    >>> scorer.predict_next(["a", "b"], k=2)[0].shape
    (2,)
    >>> test = pd.DataFrame({"SessionId": [1, 1, 1], "ItemId": ["a", "b", "c"], "Time": [0, 1, 2]})
    >>> scorer.evaluate_sessions(test, k=3)["recall@3"]
    1.0
    """

    def __init__(self, network: GRU4Rec, item_ids: Sequence, name: str = "gru4rec"):
        super().__init__()
        if len(item_ids) != network.n_items:
            raise ValueError(f"item_ids has {len(item_ids)} ids but the network scores {network.n_items} items; "
                             "pass the vocabulary the network was trained with (the run's vocab/items.txt).")
        self.model = network
        self.name = name
        self.set_items(item_ids)
        self._states = None

        @tf.function(reduce_retracing=True)
        def step(items, reset, states):
            keep = tf.logical_not(reset)[:, None]
            h0 = [tf.where(keep, s, 0.0) for s in states]
            out, new_states = network.step(items, h0, training=False)
            return network.score_all(out), new_states

        self._step = step

    def _begin(self, batch_size: int) -> None:
        self._states = self.model.initial_state(batch_size)

    def _scores(self, items, reset):
        scores, self._states = self._step(tf.constant(items, tf.int32), tf.constant(reset, tf.bool), self._states)
        return scores.numpy()


__all__ = ["GRU4RecScorer"]
