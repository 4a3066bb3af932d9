"""Retrieval SavedModels: query features -> top-k ``item_ids`` and ``scores``.

Two variants of the same model are exported side by side:

* ``<name>``: exact (brute-force) top-k by a matmul over every candidate embedding. Only stock
  TensorFlow ops, so it loads in stock TensorFlow Serving.
* ``<name>_scann``: approximate top-k with a ScaNN index tuned for a recall target. It needs the
  ``Scann>`` ops: it loads in ``tfrec serve`` or any process that did ``import scann`` first, never
  in stock ``tensorflow_model_server`` (TFRS issue #216).

Each SavedModel has two signatures with named inputs and outputs:

* ``serving_default``: the query features (``user_id`` [batch] string, plus side features) ->
  ``item_ids`` [batch, k] string and ``scores`` [batch, k] float32, best first.
* ``exclude``: the same inputs plus ``exclude_items`` [batch, n] string (already-seen or stop-listed
  item ids; pad rows with ``""``) -> the same outputs, never containing an excluded item.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf

from tfrec.export import layout, warmup
from tfrec.export.scann_index import ScannSettings, ScannTuning, require_scann, tune_scann

EXCLUDE_INPUT = "exclude_items"
DEFAULT_SIGNATURE = "serving_default"
EXCLUDE_SIGNATURE = "exclude"
SCANN_SAVE_OPTIONS_NAMESPACES = ["Scann"]


class RetrievalModule(tf.Module):
    """A servable retrieval model: a query tower plus a top-k index over candidate embeddings.

    Args:
      query_model: a tracked callable (Keras model or ``tf.Module``) mapping the query features to
        [batch, dim] embeddings. It receives the features dict, or the only feature's tensor when
        ``query_takes_dict`` is False.
      query_features: input name -> ``tf.TensorSpec`` with a leading batch dimension of ``None``,
        e.g. ``{"user_id": tf.TensorSpec([None], tf.string)}``.
      candidate_ids: [num_candidates] string ids.
      candidate_embeddings: [num_candidates, dim] float32 candidate embeddings.
      k: list length; clipped to the number of candidates.
      scann_searcher: a ScaNN TF searcher built over ``candidate_embeddings``; None for brute force.
      scann_settings: the search-time settings used with ``scann_searcher``.
      query_takes_dict: whether ``query_model`` takes the dict; default True with several features,
        False (the tensor) with one.

    Example:
      >>> import tfrec, tensorflow as tf, numpy as np
      >>> tower = tf.keras.Sequential([tf.keras.layers.StringLookup(vocabulary=["a", "b"]),
      ...                              tf.keras.layers.Embedding(3, 4)])
      >>> m = RetrievalModule(tower, {"user_id": tf.TensorSpec([None], tf.string)},
      ...                     np.array(["x", "y", "z"]), np.eye(3, 4, dtype="float32"), k=2)
      >>> out = m.serving_default({"user_id": tf.constant(["a"])})
      >>> out["item_ids"].shape.as_list(), out["scores"].shape.as_list()
      ([1, 2], [1, 2])
    """

    def __init__(self, query_model, query_features: Mapping[str, tf.TensorSpec], candidate_ids: Sequence,
                 candidate_embeddings: np.ndarray, k: int = 10, scann_searcher=None,
                 scann_settings: Optional[ScannSettings] = None, query_takes_dict: Optional[bool] = None):
        super().__init__(name="retrieval")
        emb = np.asarray(candidate_embeddings, dtype=np.float32)
        ids = np.asarray([i.decode() if isinstance(i, bytes) else str(i) for i in np.asarray(candidate_ids).tolist()])
        if emb.ndim != 2 or len(ids) != emb.shape[0] or emb.shape[0] == 0:
            raise ValueError(f"candidate_embeddings must be [num_candidates, dim] with one row per candidate id. "
                             f"Received: {emb.shape} embeddings and {len(ids)} ids")
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer. Received: k={k!r}")
        if not query_features:
            raise ValueError("query_features must name at least one input, e.g. {'user_id': tf.TensorSpec([None], tf.string)}")
        if EXCLUDE_INPUT in query_features:
            raise ValueError(f"{EXCLUDE_INPUT!r} is reserved for the exclude signature; rename that query feature.")
        if (scann_searcher is None) != (scann_settings is None):
            raise ValueError("scann_searcher and scann_settings go together: pass both or neither.")
        self.query_model = query_model
        self.k = int(min(int(k), emb.shape[0]))
        self.num_candidates = int(emb.shape[0])
        self.dim = int(emb.shape[1])
        self._specs = {n: tf.TensorSpec(s.shape, s.dtype, name=n) for n, s in query_features.items()}
        self._takes_dict = (len(self._specs) > 1) if query_takes_dict is None else bool(query_takes_dict)
        self.candidate_ids = tf.Variable(ids, trainable=False, name="candidate_ids", dtype=tf.string)
        self.settings = scann_settings
        if scann_searcher is None:
            self.candidate_embeddings = tf.Variable(emb, trainable=False, name="candidate_embeddings")
            self.scann_state = None
        else:
            self.scann_state = scann_searcher.serialize_to_module()
        spec = dict(self._specs)
        self.serving_default = tf.function(self._serve, input_signature=[spec])
        self.exclude = tf.function(
            self._serve_exclude,
            input_signature=[{**spec, EXCLUDE_INPUT: tf.TensorSpec([None, None], tf.string, name=EXCLUDE_INPUT)}])

    @property
    def uses_scann(self) -> bool:
        return self.scann_state is not None

    def query_embeddings(self, features: Mapping[str, tf.Tensor]) -> tf.Tensor:
        """[batch, dim] query embeddings of the query features."""
        x = dict(features) if self._takes_dict else features[next(iter(self._specs))]
        return tf.cast(self.query_model(x), tf.float32)

    def _top(self, q: tf.Tensor, kk) -> tuple:
        if self.scann_state is None:
            scores = tf.linalg.matmul(q, self.candidate_embeddings, transpose_b=True)
            values, indices = tf.math.top_k(scores, k=kk)
            return values, indices
        scann_ops = require_scann()
        searcher = scann_ops.searcher_from_module(self.scann_state)
        # ScaNN fails on an empty batch: always search one extra zero query and drop it.
        batch = tf.shape(q)[0]
        padded = tf.concat([q, tf.zeros([1, self.dim], tf.float32)], axis=0)
        reorder = tf.maximum(tf.constant(self.settings.num_reordering_candidates, tf.int32), kk)
        leaves = self.settings.num_leaves_to_search if self.settings.num_leaves else -1
        res = searcher.search_batched(padded, final_num_neighbors=kk, pre_reorder_num_neighbors=reorder,
                                      leaves_to_search=leaves)
        return res.distances[:batch], res.indices[:batch]

    def _serve(self, features):
        q = self.query_embeddings(features)
        values, indices = self._top(q, tf.constant(self.k, tf.int32))
        return {"item_ids": tf.gather(self.candidate_ids, indices), "scores": tf.identity(values)}

    def _serve_exclude(self, features):
        exclude = features[EXCLUDE_INPUT]
        query = {n: features[n] for n in self._specs}
        q = self.query_embeddings(query)
        kk = tf.minimum(self.k + tf.shape(exclude)[1], self.num_candidates)
        values, indices = self._top(q, kk)
        ids = tf.gather(self.candidate_ids, indices)
        hit = tf.reduce_any(tf.equal(ids[:, :, None], exclude[:, None, :]), axis=-1)
        masked = tf.where(hit, tf.constant(-np.inf, tf.float32), values)
        top_values, pos = tf.math.top_k(masked, k=self.k)
        return {"item_ids": tf.gather(ids, pos, batch_dims=1), "scores": top_values}

    def signatures(self) -> Dict[str, Any]:
        return {DEFAULT_SIGNATURE: self.serving_default.get_concrete_function(),
                EXCLUDE_SIGNATURE: self.exclude.get_concrete_function()}


def save_module(module: tf.Module, directory, signatures: Mapping[str, Any], scann: bool = False) -> None:
    """``tf.saved_model.save`` with the ScaNN namespace allowed when ``scann`` is True."""
    options = tf.saved_model.SaveOptions(namespace_whitelist=SCANN_SAVE_OPTIONS_NAMESPACES) if scann else None
    tf.saved_model.save(module, str(directory), signatures=dict(signatures), options=options)


@dataclasses.dataclass
class RetrievalExport:
    """Result of :func:`export_retrieval`.

    Attributes:
      base_path: the model base path.
      name: brute-force model name (``<name>``); ``scann_name`` is ``<name>_scann`` or None.
      version: the version both were written as.
      paths: model name -> version folder.
      tuning: the ScaNN tuning report, or None.
      config_files: the ``models.config`` files written.
    """

    base_path: Path
    name: str
    scann_name: Optional[str]
    version: int
    paths: Dict[str, Path]
    tuning: Optional[ScannTuning]
    config_files: List[Path]


def _warmup_requests(specs: Mapping[str, tf.TensorSpec], examples: Optional[Mapping[str, np.ndarray]],
                     candidate_ids: np.ndarray) -> List[tuple]:
    if examples is None:
        return []
    base = warmup.example_inputs(examples, n=4)
    n = len(next(iter(base.values())))
    excl = np.array([[str(candidate_ids[i % len(candidate_ids)]).encode(), b""] for i in range(n)], dtype=object)
    return [(DEFAULT_SIGNATURE, base), (EXCLUDE_SIGNATURE, {**base, EXCLUDE_INPUT: excl})]


def export_retrieval(base_path, name: str, query_model, query_features: Mapping[str, tf.TensorSpec],
                     candidate_ids: Sequence, candidate_embeddings: np.ndarray, *, k: int = 10,
                     version: Optional[int] = None, scann: bool = True, scann_recall: float = 0.95,
                     tuning_queries: Optional[np.ndarray] = None, warmup_examples: Optional[Mapping[str, np.ndarray]] = None,
                     query_takes_dict: Optional[bool] = None, config_root: Optional[str] = None,
                     overwrite: bool = False, num_leaves: Optional[int] = None, latency_queries: int = 200,
                     log: Optional[Callable[[str], None]] = print) -> RetrievalExport:
    """Exports a retrieval model as ``<base>/<name>/<v>`` (brute force) and ``<base>/<name>_scann/<v>``.

    Args:
      base_path: model base path (created if missing).
      name: model name of the brute-force variant; the ScaNN variant is ``<name>_scann``.
      query_model, query_features, candidate_ids, candidate_embeddings, k, query_takes_dict: see
        :class:`RetrievalModule`.
      version: integer version for both; default one more than the largest existing in either.
      scann: also export the ScaNN variant.
      scann_recall: recall@k target of the ScaNN tuning.
      tuning_queries: [num_queries, dim] held-out query embeddings for the tuning; default the query
        embeddings of ``warmup_examples`` (needs at least one of the two when ``scann``).
      warmup_examples: input name -> array of example query features; its first rows become the
        warm-up requests (``assets.extra/tf_serving_warmup_requests``).
      config_root: path prefix for ``models.config`` (e.g. ``/models`` for Docker); default absolute.
      overwrite: replace existing version folders.
      num_leaves: ScaNN tree size; default about sqrt(N).
      latency_queries: single queries timed per ScaNN setting during the tuning.
      log: progress printer; None for silence.

    Returns:
      A :class:`RetrievalExport`.
    """
    say = log or (lambda _s: None)
    layout.check_model_name(name)
    base = Path(base_path)
    scann_name = name + layout.SCANN_SUFFIX if scann else None
    names = [name] + ([scann_name] if scann_name else [])
    if version is None:
        version = layout.next_version(*[base / n for n in names])
    emb = np.asarray(candidate_embeddings, dtype=np.float32)
    ids = np.asarray(candidate_ids).astype(str)
    requests = _warmup_requests(query_features, warmup_examples, ids)
    paths: Dict[str, Path] = {}

    brute = RetrievalModule(query_model, query_features, ids, emb, k=k, query_takes_dict=query_takes_dict)
    t0 = time.perf_counter()
    with layout.atomic_version_dir(base, name, version, overwrite=overwrite) as tmp:
        save_module(brute, tmp, brute.signatures())
        if requests:
            warmup.write_warmup_requests(tmp, name, requests)
        _write_info(tmp, {"kind": "retrieval", "index": "brute_force", "k": brute.k,
                          "num_candidates": brute.num_candidates, "dim": brute.dim,
                          "inputs": sorted(query_features), "signatures": [DEFAULT_SIGNATURE, EXCLUDE_SIGNATURE]})
    paths[name] = layout.version_path(base, name, version)
    say(f"exported {paths[name]} (brute force, {brute.num_candidates} candidates, k={brute.k}) in "
        f"{time.perf_counter() - t0:.1f} s")

    tuning = None
    if scann:
        if tuning_queries is None:
            if warmup_examples is None:
                raise ValueError("The ScaNN export needs held-out queries to tune recall: pass tuning_queries "
                                 "(query embeddings) or warmup_examples (query features).")
            tuning_queries = brute.query_embeddings({n: tf.constant(v) for n, v in warmup_examples.items()}).numpy()
        searcher, tuning = tune_scann(emb, tuning_queries, k=brute.k, target_recall=scann_recall,
                                      num_leaves=num_leaves, latency_queries=latency_queries, log=say)
        module = RetrievalModule(query_model, query_features, ids, emb, k=k, scann_searcher=searcher,
                                 scann_settings=tuning.settings, query_takes_dict=query_takes_dict)
        t0 = time.perf_counter()
        with layout.atomic_version_dir(base, scann_name, version, overwrite=overwrite) as tmp:
            save_module(module, tmp, module.signatures(), scann=True)
            if requests:
                warmup.write_warmup_requests(tmp, scann_name, requests)
            (tmp / "assets.extra").mkdir(exist_ok=True)
            (tmp / "assets.extra" / "scann_settings.json").write_text(json.dumps(tuning.to_dict(), indent=2) + "\n")
            _write_info(tmp, {"kind": "retrieval", "index": "scann", "k": module.k,
                              "num_candidates": module.num_candidates, "dim": module.dim,
                              "inputs": sorted(query_features), "signatures": [DEFAULT_SIGNATURE, EXCLUDE_SIGNATURE],
                              "requires": "ScaNN TF ops (import scann); not loadable by stock TF Serving"})
        paths[scann_name] = layout.version_path(base, scann_name, version)
        say(f"exported {paths[scann_name]} (ScaNN) in {time.perf_counter() - t0:.1f} s")
    configs = layout.write_models_config(base, config_root)
    return RetrievalExport(base_path=base, name=name, scann_name=scann_name, version=int(version), paths=paths,
                           tuning=tuning, config_files=configs)


def _write_info(version_dir: Path, info: Dict[str, Any]) -> None:
    extra = Path(version_dir) / "assets.extra"
    extra.mkdir(exist_ok=True)
    (extra / "tfrec_export.json").write_text(json.dumps(info, indent=2) + "\n")
