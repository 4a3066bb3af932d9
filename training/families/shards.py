"""Families trained from a ratings shard folder (``data.format: shards``): ``mf`` and ``two_tower`` (the CTR
families train from a CTR shard folder: ``tfrec.training.families.ctr_shards``).

:func:`for_data` gives the Trainer the shard variant of a registered family when the config reads
shards. A shard task prepares the data with :func:`tfrec.training.shard_data.prepare_shards` (one
streaming pass; no frame of all rows), feeds the Trainer batches streamed from the files
(``data.stream: true``) or from compact in-memory arrays (``false``), and evaluates the trained
model with :func:`tfrec.evaluation.blocks.evaluate_blocks` (full catalog, users in blocks).

The model is the family's own (``MatrixFactorization``; ``TwoTowerRetrieval`` with id towers whose
feature layers hold the training vocabulary, so the run exports like any two-tower run), with the
family's params schema and defaults.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Optional

import numpy as np

from tfrec.config import ConfigError
from tfrec.training.families.base import Feed, Task, write_ids
from tfrec.training.families.ctr_shards import ShardCTRTask
from tfrec.training.families.mf import MFTask
from tfrec.training.families.two_tower import TwoTowerTask
from tfrec.training.shard_data import (ShardRunData, evaluation_arrays, prepare_shards, split_arrays,
                                       split_dataset)

__all__ = ["ShardMFTask", "ShardTask", "ShardTwoTowerTask", "for_data"]


class ShardTask(Task):
    """Base of the shard variants: data, input, vocabulary files and block evaluation (see the module)."""

    def prepare(self, config):
        return prepare_shards(config, log=lambda msg: print(msg, file=sys.stderr, flush=True))

    def prepare_frame(self, config, train):
        raise ConfigError(f"model {self.name!r} with data.format shards reads its rows from the shard folder; it "
                          "cannot train on rows handed over by tfrec evaluate.", key="data.format",
                          source=config.source)

    def describe_data(self, run: ShardRunData) -> str:
        mode = "streamed from the shards every epoch" if run.stream else "read once into int32/float32 arrays"
        return f"{run.split.describe()}; rows {mode}"

    def write_vocab(self, run: ShardRunData, folder) -> None:
        write_ids(folder, run.split.user_ids, run.split.item_ids)

    def features(self, run: ShardRunData, batch):
        """(features, labels or None) of a batch ``{"user", "item", "rating"}`` (tensors or arrays)."""
        raise NotImplementedError

    def inputs(self, run: ShardRunData, config, global_batch: int, *, repeat: bool = False,
               drop_remainder: bool = False) -> Feed:
        from tfrec.training.data import make_dataset

        t = config.training
        rows = run.split.rows
        steps = max(1, rows["fit"] // global_batch if drop_remainder else -(-rows["fit"] // global_batch))
        fit_steps = t.steps_per_epoch or (steps if repeat else None)
        again = repeat or t.steps_per_epoch is not None
        shape = (lambda b: self.features(run, b))
        if run.stream:
            import tensorflow as tf

            # the split's row counts give the batches per pass: Keras then treats the stream as the in-memory
            # arrays (an input of unknown length trains differently from the second epoch on)
            def sized(ds, n, drop):
                batches = n // global_batch if drop else -(-n // global_batch)
                return ds.apply(tf.data.experimental.assert_cardinality(batches))

            train = split_dataset(run, "fit", global_batch, shuffle_buffer=t.shuffle_buffer, seed=t.seed, repeat=again,
                                  drop_remainder=drop_remainder)
            val = split_dataset(run, "val", global_batch, repeat=repeat)
            train = (train if again else sized(train, rows["fit"], drop_remainder)).map(shape)
            val = (val if repeat else sized(val, rows["val"], False)).map(shape)
        else:
            fit, val_rows = split_arrays(run, "fit"), split_arrays(run, "val")
            train = make_dataset(fit, None, global_batch, shuffle_buffer=t.shuffle_buffer, seed=t.seed, cache=False,
                                 repeat=again, drop_remainder=drop_remainder).map(shape)
            val = make_dataset(val_rows, None, global_batch, cache=False, repeat=repeat).map(shape)
        first = {"user": np.arange(2, dtype=np.int32) % run.n_users, "item": np.arange(2, dtype=np.int32) % run.n_items,
                 "rating": np.zeros(2, np.float32)}
        sample = {k: np.asarray(v) for k, v in self.features(run, first)[0].items()}
        return Feed(train, val, fit_steps * global_batch if t.steps_per_epoch else rows["fit"], fit_steps or steps,
                    fit_steps, max(1, rows["val"] // global_batch) if repeat else None, sample)

    def score_block(self, model, run: ShardRunData):
        """``f(users [b]) -> [b, n_items]`` ranking scores of the trained model."""
        raise NotImplementedError

    def evaluate(self, model, run: ShardRunData, config) -> Optional[Dict[str, Any]]:
        from tfrec.evaluation.blocks import cosine_pair_similarity, evaluate_blocks, sample_users

        ev = config.evaluation
        arrays = evaluation_arrays(run, ev.relevance_threshold)
        out: Dict[str, Any] = self.rating_metrics(model, run, arrays.test)
        users = np.flatnonzero(arrays.num_relevant > 0)
        chosen = sample_users(users, ev.max_users, config.data.seed)
        out.update(evaluate_blocks(self.score_block(model, run), chosen, list(ev.k), arrays.relevant,
                                   arrays.num_relevant, run.n_items, seen=arrays.seen if ev.exclude_seen else None,
                                   popularity=run.split.item_counts, similarity=cosine_pair_similarity(arrays.seen),
                                   block_users=ev.block_users))
        rows = run.split.rows
        out.update(test_users_all=int(len(users)), test_users_sampled=bool(len(chosen) < len(users)),
                   test_rows=rows["test"], test_rows_unknown_user=rows["test_unknown_user"],
                   test_rows_unknown_item=rows["test_unknown_item"])
        return out

    def rating_metrics(self, model, run: ShardRunData, test: Dict[str, np.ndarray]) -> Dict[str, float]:
        """RMSE/MAE on the test rows for rating families ({} for others)."""
        return {}


class ShardMFTask(ShardTask, MFTask):
    """``mf`` from shards: ``{"user_idx", "item_idx"}`` -> rating; ``global_mean`` = the fit rows' mean rating.

    RMSE/MAE are computed on the test rows of known users (an unknown item gets the model's
    unknown-item prediction, as in ``tfrec.evaluation``)."""

    def features(self, run, batch):
        return {"user_idx": batch["user"], "item_idx": batch["item"]}, batch["rating"]

    def build_model(self, params, run):
        from tfrec.models.mf import MatrixFactorization

        return MatrixFactorization(num_users=run.n_users, num_items=run.n_items,
                                   global_mean=run.split.fit_rating_mean, **params)

    def score_block(self, model, run):
        import tensorflow as tf

        n_u, n_i = run.n_users, run.n_items
        p, q = model.user_factors.embeddings[:n_u], model.item_factors.embeddings[:n_i]
        bu = model.user_bias.embeddings[:n_u, 0] if model.use_bias else tf.zeros([n_u])
        bi = model.item_bias.embeddings[:n_i, 0] if model.use_bias else tf.zeros([n_i])

        def score(users):
            users = tf.constant(users, tf.int32)
            return (model.global_mean + tf.matmul(tf.gather(p, users), q, transpose_b=True)
                    + tf.gather(bu, users)[:, None] + bi[None, :])

        return score

    def rating_metrics(self, model, run, test):
        from tfrec import metrics as M

        pred = np.concatenate([model.predict_on_batch({"user_idx": test["user"][s:s + 65536],
                                                       "item_idx": test["item"][s:s + 65536]}).reshape(-1)
                               for s in range(0, len(test["user"]), 65536)]) if len(test["user"]) else np.zeros(0)
        return {"rmse": M.rmse(test["rating"], pred), "mae": M.mae(test["rating"], pred)}


class ShardTwoTowerTask(ShardTask, TwoTowerTask):
    """``two_tower`` from shards: id towers (``query_features`` / ``candidate_features`` must be None).

    Each tower's feature layer is adapted on the training vocabulary (one row per id), so the
    model takes raw ids when served; training feeds the encoded ids (a lookup table from the
    training index), so no string lookup runs per example. With ``data.min_rating`` only rows rated
    at least that are positives (and in the vocabulary)."""

    def build_model(self, params, run):
        import pandas as pd
        import tensorflow as tf

        from tfrec.data.training_data import ITEM_COL, USER_COL
        from tfrec.features import ENCODED_SUFFIX
        from tfrec.models.retrieval import TwoTowerRetrieval
        from tfrec.models.tower import make_tower

        for key in ("query_features", "candidate_features"):
            if params.get(key) is not None:
                raise ConfigError(f"model.params.{key} must be null with data.format shards: a ratings shard folder "
                                  "holds ids only (user, item, rating)", key=f"model.params.{key}")
        towers, tables = [], []
        for col, ids, which in ((USER_COL, run.split.user_ids, "query"), (ITEM_COL, run.split.item_ids, "candidate")):
            frame = pd.DataFrame({col: np.asarray(ids).astype(str)})
            tower = make_tower([{"name": col, "kind": "categorical"}], frame, params["embedding_dim"],
                               params["hidden_units"], params["dropout"], params["l2_normalize"], name=which)
            encoded = tower.feature_layer.encode({col: tf.constant(frame[col].to_numpy())})[col + ENCODED_SUFFIX]
            towers.append(tower)
            tables.append(tf.constant(np.asarray(encoded, np.int64)))
        counts = run.split.item_counts.astype(np.float64)
        run.extra.update(keys=(USER_COL + ENCODED_SUFFIX, ITEM_COL + ENCODED_SUFFIX), tables=tables,
                         logq=tf.constant((counts / counts.sum()).astype(np.float32)) if params["logq_correction"] else None)
        return TwoTowerRetrieval(towers[0], towers[1], temperature=params["temperature"],
                                 num_hard_negatives=params["num_hard_negatives"],
                                 remove_accidental_hits=params["remove_accidental_hits"], candidate_id_key=ITEM_COL,
                                 sampling_probability_key="candidate_sampling_probability"
                                 if params["logq_correction"] else None)

    def features(self, run, batch):
        import tensorflow as tf

        (ukey, ikey), (utab, itab) = run.extra["keys"], run.extra["tables"]
        out = {ukey: tf.gather(utab, batch["user"]), ikey: tf.gather(itab, batch["item"])}
        if run.extra["logq"] is not None:
            out["candidate_sampling_probability"] = tf.gather(run.extra["logq"], batch["item"])
        return out, None

    def score_block(self, model, run):
        import tensorflow as tf

        (ukey, ikey), (utab, itab) = run.extra["keys"], run.extra["tables"]
        queries = model.embed_queries({ukey: utab.numpy()}, batch_size=65536)
        candidates = tf.constant(model.embed_candidates({ikey: itab.numpy()}, batch_size=65536))

        def score(users):
            return tf.matmul(tf.gather(queries, users), candidates, transpose_b=True)

        return score


_SHARD_TASKS = {"mf": ShardMFTask, "two_tower": ShardTwoTowerTask}
#: the CTR families: trained from a CTR shard folder (``tfrec.training.families.ctr_shards``)
_CTR_SHARD_FAMILIES = ("dcn", "deepfm", "fm", "logreg")


def for_data(task: Task, config) -> Task:
    """``task``, or its shard variant when ``config.data.format`` is "shards".

    Raises:
      ConfigError: a family without a shard variant (names the ones that have one).
    """
    if config.data.format != "shards":
        return task
    if task.name in _CTR_SHARD_FAMILIES:
        return ShardCTRTask(task.name)
    if task.name not in _SHARD_TASKS:
        raise ConfigError(f"data.format shards trains the families "
                          f"{', '.join(sorted([*_SHARD_TASKS, *_CTR_SHARD_FAMILIES]))}; model "
                          f"{task.name!r} reads its own data formats (set data.format accordingly).",
                          key="model.name", source=config.source)
    return _SHARD_TASKS[task.name]()
