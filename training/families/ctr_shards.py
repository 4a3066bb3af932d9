"""The CTR families (``logreg``, ``dcn``, ``deepfm``, ``fm``) trained from a CTR shard folder (``data.format: shards``).

A CTR shard folder (``tfrec data synth --like criteo``, ``tfrec data convert`` of a Criteo file)
holds integer categorical ids ``0..cardinality-1`` (cardinalities in its manifest), float counts
(NaN = missing) and a 0/1 label. :meth:`ShardCTRTask.prepare` makes one streaming pass
(:func:`tfrec.data.ctr_stream.scan_ctr_split`): a seeded hash of each row's categorical ids puts it in
the fit, validation or test rows, and the fit rows' numeric statistics are computed on the way, so
nothing per row is kept. The model is the family's own (``tfrec.models.ctr_builder.build_model``)
with a feature spec whose categorical features are integer ids (``num_ids`` = the manifest's
cardinality: the id is the embedding row, no vocabulary or string lookup) and whose numeric
statistics are those of the scan (``adapted_state``). Rows come

* streamed (``data.stream: true``): every epoch from the files through
  ``tfrec.data.stream.shard_dataset``, each read batch filtered to the split before shuffling; or
* in memory (``data.stream: false``): the split's rows read once into compact arrays (the same rows
  in the same order).

The final evaluation streams the test rows once: AUC and log loss (``tfrec.metrics``), as the
in-memory CTR tables report them.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from tfrec.config import ConfigError
from tfrec.training.families.base import Feed, write_ids
from tfrec.training.families.ctr import CTRTask

__all__ = ["CTRShardRunData", "ShardCTRTask"]


@dataclasses.dataclass
class CTRShardRunData:
    """The data of a CTR shard run.

    Attributes:
      split: the :class:`~tfrec.data.ctr_stream.CTRShardSplit` (manifest, columns, row counts, statistics).
      stream: stream the rows every epoch (else compact arrays in memory).
      extra: family-specific data (the feature spec).
    """

    split: Any
    stream: bool
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


class ShardCTRTask(CTRTask):
    """A CTR family on a CTR shard folder (see the module docstring); ``model.params.task`` must be ``ctr``.

    ``criteo_features`` may set ``numeric`` ("log" or "normalize") and ``missing_indicator``; the
    columns are ``data.ctr``'s when given, else the folder's float columns (numeric) and integer
    columns other than ``label`` (categorical).
    """

    _SHARD_FEATURE_ARGS = ("numeric", "missing_indicator")

    def prepare(self, config):
        from tfrec.data.ctr_stream import scan_ctr_split
        from tfrec.data.holdout import shard_folder

        params = config.model.params
        if params.get("task", "rating") != "ctr":
            raise ConfigError(f"model {self.name!r} on a CTR shard folder needs model.params.task: ctr (the labels are "
                              f"clicks), got {params.get('task')!r}.", key="model.params.task", source=config.source)
        extra = sorted(set(params.get("criteo_features") or {}) - set(self._SHARD_FEATURE_ARGS))
        if extra or params.get("features") is not None:
            what = f"model.params.criteo_features keys {extra}" if extra else "model.params.features"
            raise ConfigError(f"{what} cannot be used with data.format shards: categorical columns are integer ids "
                              f"(embedding rows sized from the manifest); set only {', '.join(self._SHARD_FEATURE_ARGS)}.",
                              key="model.params", source=config.source)
        d = config.data
        folder = shard_folder(Path(d.path or d.dataset).expanduser())
        columns = {"label": d.ctr.label, "numeric": d.ctr.numeric, "categorical": d.ctr.categorical} if d.ctr else {}
        split = scan_ctr_split(folder, seed=d.seed, test_ratio=d.test_ratio, validation_ratio=d.validation_ratio,
                               transform=(params.get("criteo_features") or {}).get("numeric", "log"),
                               log=lambda msg: print(msg, file=sys.stderr, flush=True), **columns)
        return CTRShardRunData(split, d.stream)

    def prepare_frame(self, config, train):
        raise ConfigError(f"model {self.name!r} with data.format shards reads its rows from the shard folder; it "
                          "cannot train on rows handed over by tfrec evaluate.", key="data.format", source=config.source)

    def describe_data(self, run: CTRShardRunData) -> str:
        mode = "streamed from the shards every epoch" if run.stream else "read once into compact arrays"
        return f"{run.split.describe()}; rows {mode}"

    def write_vocab(self, run, folder) -> None:
        write_ids(folder, [], [])  # no user or item ids: the categorical ids are the embedding rows

    def spec(self, params, run: CTRShardRunData) -> List[Dict[str, Any]]:
        """The feature dicts: numeric columns (``criteo_features.numeric``), categorical integer ids (``num_ids``)."""
        s, options = run.split, params.get("criteo_features") or {}
        numeric = [{"name": c, "kind": "numeric", "transform": s.transform,
                    "missing_indicator": options.get("missing_indicator", True)} for c in s.numeric]
        return numeric + [{"name": c, "kind": "categorical", "num_ids": s.manifest.cardinality[c]}
                          for c in s.categorical]

    def build_model(self, params, run: CTRShardRunData):
        from tfrec.models.ctr_builder import build_model
        from tfrec.models.feature_interaction import initial_bias

        s = run.split
        spec = self.spec(params, run)
        state = {**{c: dict(v) for c, v in s.numeric_state.items()}, **{c: {} for c in s.categorical}}
        run.extra["spec"] = spec
        return build_model(self.name, spec, task="ctr", embedding_dim=params["embedding_dim"], adapted_state=state,
                           initial_bias=initial_bias(np.array([s.fit_ctr]), "ctr"),
                           **params["model_params"])

    # -- input ----------------------------------------------------------------------------------------
    def dataset(self, run: CTRShardRunData, split: str, batch_size: int, *, shuffle_buffer: int = 0, seed: int = 0,
                repeat: bool = False, drop_remainder: bool = False):
        """``(features, label)`` batches of the rows of ``split`` streamed from the shards (file order without
        shuffling; with it, four files at a time, each read batch permuted, blocks of 256 rows through the
        buffer: ``shard_dataset``'s ``block_rows``)."""
        from tfrec.data.stream import shard_dataset

        s = run.split
        ds = shard_dataset(s.manifest, s.columns, batch_size, shuffle_buffer=shuffle_buffer, seed=seed, repeat=repeat,
                           cycle_length=4 if shuffle_buffer else 1, drop_remainder=drop_remainder,
                           transform=s.transform_for(split), block_rows=256)
        return ds.map(lambda batch: self.pair(batch, s.label))

    @staticmethod
    def pair(batch, label: str):
        """(model inputs, float32 labels) of a batch of columns: every column but ``label`` under its name."""
        import tensorflow as tf

        return {c: v for c, v in batch.items() if c != label}, tf.cast(batch[label], tf.float32)

    def arrays(self, run: CTRShardRunData, split: str) -> Dict[str, np.ndarray]:
        """The rows of ``split`` as compact arrays (the manifest's dtypes), in file order."""
        from tfrec.data.stream import iter_batches

        keep = run.split.transform_for(split)
        parts = [keep(b) for b in iter_batches(run.split.manifest, run.split.columns)]
        return {c: np.concatenate([p[c] for p in parts]) for c in run.split.columns}

    def inputs(self, run: CTRShardRunData, config, global_batch: int, *, repeat: bool = False,
               drop_remainder: bool = False) -> Feed:
        import tensorflow as tf

        from tfrec.training.data import make_dataset

        t, s = config.training, run.split
        rows = s.rows
        steps = max(1, rows["fit"] // global_batch if drop_remainder else -(-rows["fit"] // global_batch))
        fit_steps = t.steps_per_epoch or (steps if repeat else None)
        again = repeat or t.steps_per_epoch is not None
        if run.stream:
            # the split's row counts give the batches per pass (Keras then treats the stream as sized arrays)
            def sized(ds, n, drop):
                return ds.apply(tf.data.experimental.assert_cardinality(n // global_batch if drop else
                                                                        -(-n // global_batch)))

            train = self.dataset(run, "fit", global_batch, shuffle_buffer=t.shuffle_buffer, seed=t.seed, repeat=again,
                                 drop_remainder=drop_remainder)
            val = self.dataset(run, "val", global_batch, repeat=repeat)
            train = train if again else sized(train, rows["fit"], drop_remainder)
            val = val if repeat else sized(val, rows["val"], False)
        else:
            fit, held = self.arrays(run, "fit"), self.arrays(run, "val")
            def xy(arrays):
                return {c: v for c, v in arrays.items() if c != s.label}, arrays[s.label].astype(np.float32)

            train = make_dataset(*xy(fit), global_batch, shuffle_buffer=t.shuffle_buffer, seed=t.seed, cache=False,
                                 repeat=again, drop_remainder=drop_remainder)
            val = make_dataset(*xy(held), global_batch, cache=False, repeat=repeat)
        sample = {**{c: np.zeros(2, np.float32) for c in s.numeric}, **{c: np.zeros(2, np.int32) for c in s.categorical}}
        return Feed(train, val, fit_steps * global_batch if t.steps_per_epoch else rows["fit"], fit_steps or steps,
                    fit_steps, max(1, rows["val"] // global_batch) if repeat else None, sample)

    # -- warm start and evaluation ----------------------------------------------------------------------
    def check_warm_start(self, params, training, fail):
        fail("training.warm_start", "config key 'training.warm_start' is not supported with data.format shards "
                                    "(the LR warm start trains on in-memory rows); remove it.")

    def evaluate(self, model, run: CTRShardRunData, config) -> Optional[Dict[str, Any]]:
        """AUC and log loss of the test rows, streamed once (predictions and labels: 12 bytes per test row)."""
        import tensorflow as tf

        from tfrec import metrics as M

        predict = tf.function(lambda x: model(x, training=False))
        probs, labels = [], []
        for x, y in self.dataset(run, "test", 8192):
            probs.append(np.reshape(predict(x).numpy(), [-1]).astype(np.float64))
            labels.append(y.numpy())
        y, prob = np.concatenate(labels), np.concatenate(probs)
        return {"auc": float(M.auc(y, prob)), "log_loss": float(M.log_loss(y, prob)), "n_test": int(len(y)),
                "test_ctr": float(np.mean(y))}
