"""SavedModels for ranking, CTR and session models, with named inputs and outputs.

* :func:`export_ranking`: a model scoring ``(user_idx, item_idx)`` pairs (MF, NCF, ...) wrapped in
  raw-id lookups. Signatures: ``serving_default`` (``user_id`` -> ``item_ids`` [k], ``scores`` [k]:
  the user's top-k over the whole catalog), ``exclude`` (+ ``exclude_items``), ``score``
  (``user_id``, ``item_id`` -> ``score``).
* :func:`export_ctr`: a model over a feature dict -> ``probability`` [batch].
* :func:`export_session`: next-item scores of an ``item_ids`` sequence -> top-k ``item_ids`` and ``scores``.
* :func:`export_signatures`: any ``tf.Module`` and concrete functions, in the TF Serving layout, with
  warm-up requests and an updated ``models.config``.

Raw ids not in the training vocabulary map to index -1 (the ``OOV_INDEX`` convention of
``tfrec.evaluation``); models treat it as an unknown user or item.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf

from tfrec.export import layout, warmup
from tfrec.features.vocab_files import write_vocabulary

OOV = -1
STOPLIST_ASSET = "stoplist.txt"  # the stoplist's file name under the SavedModel's assets/


class _IdTable(tf.Module):
    """Raw id -> index (int32; ``OOV`` for an id not in the list), read from a vocabulary file (one id a
    line, line i -> index i) that ``tf.saved_model.save`` copies into the SavedModel's ``assets/``: the
    ids are not constants inside the graph."""

    def __init__(self, ids: Sequence, name: str):
        super().__init__(name=f"{name}_table")
        path = write_vocabulary(_ids(ids).tolist(), name)
        init = tf.lookup.TextFileInitializer(path, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64,
                                             tf.lookup.TextFileIndex.LINE_NUMBER)
        self.table = tf.lookup.StaticHashTable(init, default_value=OOV)

    def lookup(self, keys: tf.Tensor) -> tf.Tensor:
        return tf.cast(self.table.lookup(keys), tf.int32)


def _ids(ids: Sequence) -> np.ndarray:
    return np.asarray([i.decode() if isinstance(i, bytes) else str(i) for i in ids])


def _mask_excluded(scores: tf.Tensor, excluded_idx: tf.Tensor) -> tf.Tensor:
    """Sets ``scores[b, excluded_idx[b, j]]`` to -inf for every known (>= 0) excluded index."""
    coords = tf.where(excluded_idx >= 0)
    cols = tf.gather_nd(excluded_idx, coords)
    idx = tf.stack([coords[:, 0], tf.cast(cols, tf.int64)], axis=1)
    hit = tf.scatter_nd(idx, tf.ones_like(cols, tf.bool), tf.shape(scores, out_type=tf.int64))
    return tf.where(hit, tf.constant(-np.inf, scores.dtype), scores)


class PairScoringModule(tf.Module):
    """Serving wrapper of a model that scores ``{"user_idx", "item_idx"}`` int32 pairs -> [batch] scores.

    Args:
      model: the Keras model.
      user_ids: [n_users] raw user ids (index i -> id), as in the run's ``vocab/users.txt``.
      item_ids: [n_items] raw item ids.
      k: top-k list length (clipped to ``n_items``).
      fallback_scores: [n_items] scores served instead of the model's to a user id not in ``user_ids``
        (and to ``cold_users``), e.g. the training popularity. Default None (the model scores them).
      cold_users: [n_users] bool, users that also get ``fallback_scores`` (few training ratings).
        Default None (only unknown users).
      stoplist_file: a text file of item ids (one a line) never returned by the top-k signatures. It
        is saved as the SavedModel asset ``assets/<its name>`` and read into a lookup table when the
        model loads (so the stoplist is applied inside the signatures, by stock TF Serving too).
        Default None.
      explore_items: [n_new] item indices (into ``item_ids``) of new items. With ``explore_slot``, position
        ``explore_slot`` of every top-k list goes to a random one of them (a fresh draw per request) that is
        not at another position of the list, not stoplisted and not excluded; its ``scores`` entry is the
        item's own score. A row keeps its ranked item there when no new item is eligible. Default None.
      explore_slot: 0-based list position given to exploration, in [0, k). Default None.

    Example:
      >>> import tfrec, tensorflow as tf, numpy as np
      >>> class Dot(tf.keras.Model):
      ...     def call(self, x):
      ...         return tf.cast(x["user_idx"] * 10 + x["item_idx"], tf.float32)
      >>> m = PairScoringModule(Dot(), ["u0", "u1"], ["a", "b", "c"], k=2)
      >>> m.serving_default({"user_id": tf.constant(["u1"])})["item_ids"].numpy().tolist()
      [[b'c', b'b']]
    """

    def __init__(self, model, user_ids: Sequence, item_ids: Sequence, k: int = 10,
                 fallback_scores: Optional[np.ndarray] = None, cold_users: Optional[np.ndarray] = None,
                 stoplist_file: Optional[str] = None, explore_items: Optional[Sequence[int]] = None,
                 explore_slot: Optional[int] = None):
        super().__init__(name="pair_scoring")
        if k < 1:
            raise ValueError(f"k must be a positive integer. Received: k={k!r}")
        self.model = model
        self.user_table = _IdTable(user_ids, "user_ids")
        self.item_table = _IdTable(item_ids, "item_ids")
        items = _ids(item_ids)
        self.item_ids = tf.Variable(items, trainable=False, dtype=tf.string, name="item_ids")
        self.num_items = len(items)
        self.k = int(min(k, self.num_items))
        self.fallback = None
        if fallback_scores is not None:
            fallback = np.asarray(fallback_scores, np.float32)
            if fallback.shape != (self.num_items,):
                raise ValueError(f"fallback_scores must be [n_items={self.num_items}]. Received shape {fallback.shape}")
            cold = np.zeros(len(user_ids), bool) if cold_users is None else np.asarray(cold_users, bool)
            if cold.shape != (len(user_ids),):
                raise ValueError(f"cold_users must be [n_users={len(user_ids)}] booleans. Received shape {cold.shape}")
            self.fallback = tf.Variable(fallback, trainable=False, name="fallback_scores")
            self.cold_users = tf.Variable(cold, trainable=False, name="cold_users")
        self.stoplist = None
        if stoplist_file is not None:
            self.stoplist_asset = tf.saved_model.Asset(str(stoplist_file))
            self.stoplist = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
                self.stoplist_asset, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER), default_value=-1)
        self.explore = None
        if explore_slot is not None:
            self.explore = _explore_items(explore_items, explore_slot, self.k, self.num_items)
            self.explore_slot = int(explore_slot)
            # a generator whose state is a variable of the SavedModel: every call advances it (in TF Serving too)
            self.explore_rng = tf.random.Generator.from_non_deterministic_state()
        uid = tf.TensorSpec([None], tf.string, name="user_id")
        self.serving_default = tf.function(self._topk, input_signature=[{"user_id": uid}])
        self.exclude = tf.function(self._topk_exclude, input_signature=[
            {"user_id": uid, "exclude_items": tf.TensorSpec([None, None], tf.string, name="exclude_items")}])
        self.score = tf.function(self._score, input_signature=[
            {"user_id": uid, "item_id": tf.TensorSpec([None], tf.string, name="item_id")}])

    def _pairs(self, u: tf.Tensor, i: tf.Tensor) -> tf.Tensor:
        out = self.model({"user_idx": u, "item_idx": i}, training=False)
        return tf.reshape(tf.cast(out, tf.float32), [-1])

    def _all_scores(self, user_id: tf.Tensor) -> tf.Tensor:
        u = self.user_table.lookup(user_id)
        b = tf.shape(u)[0]
        users = tf.repeat(u, self.num_items)
        items = tf.tile(tf.range(self.num_items, dtype=tf.int32), [b])
        scores = tf.reshape(self._pairs(users, items), [b, self.num_items])
        if self.fallback is not None:  # unknown (-1) or cold users: the fallback list
            cold = tf.logical_or(u < 0, tf.gather(self.cold_users, tf.maximum(u, 0)))
            scores = tf.where(cold[:, None], tf.broadcast_to(self.fallback[None, :], tf.shape(scores)), scores)
        if self.stoplist is not None:
            stopped = self.stoplist.lookup(self.item_ids) >= 0
            scores = tf.where(stopped[None, :], tf.constant(-np.inf, tf.float32), scores)
        return scores

    def _topk(self, f):
        return self._top_list(self._all_scores(f["user_id"]))

    def _topk_exclude(self, f):
        return self._top_list(_mask_excluded(self._all_scores(f["user_id"]), self.item_table.lookup(f["exclude_items"])))

    def _top_list(self, scores: tf.Tensor) -> Dict[str, tf.Tensor]:
        values, idx = tf.math.top_k(scores, k=self.k)
        if self.explore is not None:
            values, idx = self._explore_slot(scores, values, idx)
        return {"item_ids": tf.gather(self.item_ids, idx), "scores": values}

    def _explore_slot(self, scores: tf.Tensor, values: tf.Tensor, idx: tf.Tensor):
        """Position ``explore_slot`` of each list -> a random eligible new item (see the class docstring)."""
        cand_scores = tf.gather(scores, self.explore, axis=1)  # [b, n_new]; -inf = stoplisted or excluded
        others = tf.not_equal(tf.range(self.k), self.explore_slot)  # the list's other positions
        listed = tf.reduce_any(tf.logical_and(self.explore[None, :, None] == idx[:, None, :], others[None, None, :]),
                               axis=2)
        eligible = tf.logical_and(cand_scores > -np.inf, tf.logical_not(listed))
        draw = tf.where(eligible, self.explore_rng.uniform(tf.shape(cand_scores)), -1.0)
        pick = tf.argmax(draw, axis=1, output_type=tf.int32)
        at_slot = tf.logical_and(tf.reduce_any(eligible, axis=1)[:, None], tf.logical_not(others)[None, :])
        new_idx = tf.gather(self.explore, pick)[:, None]
        new_score = tf.gather(cand_scores, pick, batch_dims=1)[:, None]
        return tf.where(at_slot, new_score, values), tf.where(at_slot, new_idx, idx)

    def _score(self, f):
        return {"score": self._pairs(self.user_table.lookup(f["user_id"]), self.item_table.lookup(f["item_id"]))}

    def signatures(self) -> Dict[str, Any]:
        return {"serving_default": self.serving_default.get_concrete_function(),
                "exclude": self.exclude.get_concrete_function(),
                "score": self.score.get_concrete_function()}


def _explore_items(items, slot, k: int, num_items: int) -> tf.Variable:
    """The exploration candidates of :class:`PairScoringModule` as an int32 variable, checked."""
    if not 0 <= int(slot) < k:
        raise ValueError(f"explore_slot must be in [0, k={k}). Received: explore_slot={slot!r}")
    items = np.asarray([] if items is None else items, np.int64).reshape(-1)
    if items.size == 0:
        raise ValueError("explore_slot needs explore_items: the item indices of the new items (none given).")
    if items.min() < 0 or items.max() >= num_items:
        raise ValueError(f"explore_items must be item indices in [0, {num_items}). "
                         f"Received values from {items.min()} to {items.max()}")
    return tf.Variable(items.astype(np.int32), trainable=False, name="explore_items")


class FeatureModelModule(tf.Module):
    """Serving wrapper of a model over a feature dict with one named output (``probability``, ``score``).

    Args:
      model: Keras model taking the features dict; its output is reshaped to [batch].
      feature_specs: feature name -> ``tf.TensorSpec`` with batch dimension ``None``.
      output_name: name of the output (``probability`` for CTR).
      transform: optional function applied to the model output (e.g. ``tf.sigmoid`` for logits).
    """

    def __init__(self, model, feature_specs: Mapping[str, tf.TensorSpec], output_name: str = "probability",
                 transform: Optional[Callable[[tf.Tensor], tf.Tensor]] = None):
        super().__init__(name="feature_model")
        if not feature_specs:
            raise ValueError("feature_specs must name at least one input feature")
        self.model = model
        self._output = output_name
        self._transform = transform
        specs = {n: tf.TensorSpec(s.shape, s.dtype, name=n) for n, s in feature_specs.items()}
        self.serving_default = tf.function(self._serve, input_signature=[specs])

    def _serve(self, features):
        out = tf.cast(self.model(dict(features), training=False), tf.float32)
        if self._transform is not None:
            out = self._transform(out)
        return {self._output: tf.reshape(out, [-1])}

    def signatures(self) -> Dict[str, Any]:
        return {"serving_default": self.serving_default.get_concrete_function()}


class SessionTopKModule(tf.Module):
    """Serving wrapper of a next-item model: ``item_ids`` [batch, seq_len] (left- or right-padded with
    ``""``) -> top-k ``item_ids`` and ``scores`` of the next item, the sequence's own items excluded
    when ``exclude_history``.

    Args:
      model: callable ``[batch, seq_len] int32 item indices (-1 = padding/unknown) -> [batch, n_items] scores``.
      item_ids: [n_items] raw item ids (index i -> id).
      k: list length.
      exclude_history: drop items already in the sequence.
    """

    def __init__(self, model, item_ids: Sequence, k: int = 10, exclude_history: bool = False):
        super().__init__(name="session_topk")
        self.model = model
        self.item_table = _IdTable(item_ids, "item_ids")
        items = _ids(item_ids)
        self.item_ids = tf.Variable(items, trainable=False, dtype=tf.string, name="item_ids")
        self.k = int(min(k, len(items)))
        self.exclude_history = bool(exclude_history)
        self.serving_default = tf.function(self._serve, input_signature=[
            {"item_ids": tf.TensorSpec([None, None], tf.string, name="item_ids")}])

    def _serve(self, f):
        idx = self.item_table.lookup(f["item_ids"])
        scores = tf.cast(self.model(idx), tf.float32)
        if self.exclude_history:
            scores = _mask_excluded(scores, idx)
        values, top = tf.math.top_k(scores, k=self.k)
        return {"item_ids": tf.gather(self.item_ids, top), "scores": values}

    def signatures(self) -> Dict[str, Any]:
        return {"serving_default": self.serving_default.get_concrete_function()}


def export_signatures(base_path, name: str, module: tf.Module, signatures: Mapping[str, Any], *,
                      version: Optional[int] = None, warmup_requests: Sequence[tuple] = (),
                      info: Optional[Dict[str, Any]] = None, scann: bool = False, overwrite: bool = False,
                      config_root: Optional[str] = None) -> Path:
    """Saves ``module`` with ``signatures`` as ``<base>/<name>/<version>`` (atomically) and updates models.config.

    Args:
      base_path: model base path.
      name: model name.
      module: the trackable object to save.
      signatures: signature name -> concrete function (dict inputs become named inputs).
      version: integer version; default the next free one.
      warmup_requests: ``(signature_name, inputs)`` pairs written to ``assets.extra``.
      info: JSON-able description written to ``assets.extra/tfrec_export.json``.
      scann: the module holds ScaNN ops (saves with the ``Scann`` namespace allowed).
      overwrite: replace an existing version.
      config_root: path prefix for models.config (``/models`` for Docker).

    Returns:
      The final version folder.
    """
    opts = tf.saved_model.SaveOptions(namespace_whitelist=["Scann"]) if scann else None
    layout.check_model_name(name)
    if version is None:
        version = layout.next_version(Path(base_path) / name)
    with layout.atomic_version_dir(base_path, name, version, overwrite=overwrite) as tmp:
        tf.saved_model.save(module, str(tmp), signatures=dict(signatures), options=opts)
        if warmup_requests:
            warmup.write_warmup_requests(tmp, name, list(warmup_requests))
        if info is not None:
            (tmp / "assets.extra").mkdir(exist_ok=True)
            (tmp / "assets.extra" / "tfrec_export.json").write_text(json.dumps(info, indent=2, default=str) + "\n")
    layout.write_models_config(base_path, config_root)
    return layout.version_path(base_path, name, version)


def export_ranking(base_path, name: str, model, user_ids: Sequence, item_ids: Sequence, *, k: int = 10,
                   version: Optional[int] = None, overwrite: bool = False, config_root: Optional[str] = None,
                   info: Optional[Dict[str, Any]] = None, fallback_scores: Optional[np.ndarray] = None,
                   cold_users: Optional[np.ndarray] = None, stoplist: Optional[Sequence] = None,
                   explore_items: Optional[Sequence[int]] = None, explore_slot: Optional[int] = None) -> Path:
    """Exports a pair-scoring model (see :class:`PairScoringModule`); returns the version folder.

    Args:
      fallback_scores, cold_users: see :class:`PairScoringModule` (popularity for unknown/cold users).
      stoplist: item ids never recommended; written as the asset ``assets/stoplist.txt`` and applied
        inside the top-k signatures. Default None.
      explore_items, explore_slot: see :class:`PairScoringModule` (a random new item at one list position).
    """
    with tempfile.TemporaryDirectory(prefix="tfrec-stoplist-") as tmp:
        stoplist_file = None
        if stoplist is not None:
            stoplist_file = Path(tmp) / STOPLIST_ASSET
            stoplist_file.write_text("".join(f"{i}\n" for i in _ids(stoplist)))
        return _export_ranking(base_path, name, PairScoringModule(
            model, user_ids, item_ids, k=k, fallback_scores=fallback_scores, cold_users=cold_users,
            stoplist_file=stoplist_file, explore_items=explore_items, explore_slot=explore_slot),
            user_ids, item_ids, version, overwrite, config_root, info,
            {"fallback": fallback_scores is not None, "stoplist_items": None if stoplist is None else len(stoplist),
             "explore": None if explore_slot is None else (int(explore_slot), len(explore_items))})


def _export_ranking(base_path, name, module, user_ids, item_ids, version, overwrite, config_root, info, extra):
    """Saves a built :class:`PairScoringModule` with warm-up requests and its description."""
    users = _ids(user_ids)[:4].astype(object)
    items = _ids(item_ids)
    requests = [("serving_default", {"user_id": users}),
                ("exclude", {"user_id": users, "exclude_items": np.array([[items[0], ""]] * len(users), object)}),
                ("score", {"user_id": users, "item_id": np.resize(items, len(users)).astype(object)})]
    meta = {"kind": "ranking", "k": module.k, "num_items": module.num_items,
            "signatures": {"serving_default": "user_id -> item_ids, scores (top-k of every item)",
                           "exclude": "user_id, exclude_items -> item_ids, scores",
                           "score": "user_id, item_id -> score"}}
    if extra["fallback"]:
        meta["fallback"] = "unknown (and cold) users get the popularity list (fallback_scores)"
    if extra["stoplist_items"] is not None:
        meta["stoplist"] = f"assets/{STOPLIST_ASSET}: {extra['stoplist_items']} item ids never in a top-k list"
    if extra["explore"] is not None:
        slot, n_new = extra["explore"]
        meta["exploration"] = (f"list position {slot} (0-based) holds a random one of {n_new} new items, drawn per "
                               "request (not listed, not stoplisted, not excluded)")
    meta.update(info or {})
    return export_signatures(base_path, name, module, module.signatures(), version=version, warmup_requests=requests,
                             info=meta, overwrite=overwrite, config_root=config_root)


def export_ctr(base_path, name: str, model, feature_specs: Mapping[str, tf.TensorSpec],
               examples: Optional[Mapping[str, np.ndarray]] = None, *, output_name: str = "probability",
               from_logits: bool = False, version: Optional[int] = None, overwrite: bool = False,
               config_root: Optional[str] = None) -> Path:
    """Exports a CTR model: feature dict -> ``probability`` [batch]; returns the version folder.

    Args:
      examples: feature name -> example values; the first rows become warm-up requests.
      from_logits: the model outputs logits (a sigmoid is added).
    """
    module = FeatureModelModule(model, feature_specs, output_name, tf.sigmoid if from_logits else None)
    requests = [("serving_default", warmup.example_inputs(examples))] if examples is not None else []
    return export_signatures(base_path, name, module, module.signatures(), version=version, warmup_requests=requests,
                             info={"kind": "ctr", "inputs": sorted(feature_specs), "output": output_name},
                             overwrite=overwrite, config_root=config_root)


def export_session(base_path, name: str, model, item_ids: Sequence, *, k: int = 10, exclude_history: bool = False,
                   examples: Optional[np.ndarray] = None, version: Optional[int] = None, overwrite: bool = False,
                   config_root: Optional[str] = None) -> Path:
    """Exports a next-item model (see :class:`SessionTopKModule`); returns the version folder.

    Args:
      examples: [n, seq_len] example sequences of raw item ids; the first rows become warm-up requests.
    """
    module = SessionTopKModule(model, item_ids, k=k, exclude_history=exclude_history)
    if examples is None:
        examples = np.asarray([_ids(item_ids)[:3]], dtype=object)
    requests = [("serving_default", {"item_ids": warmup.example_inputs({"x": examples})["x"]})]
    return export_signatures(base_path, name, module, module.signatures(), version=version, warmup_requests=requests,
                             info={"kind": "session", "k": module.k, "inputs": ["item_ids"]},
                             overwrite=overwrite, config_root=config_root)
