"""``tfrec export RUN_DIR``: export a trained run folder (``training.Trainer``) to TF Serving's layout.

What is exported depends on the run's model:

* a two-tower retrieval model (``query_tower`` / ``candidate_tower``): :func:`export_retrieval`,
  i.e. ``<name>`` (brute force, stock TF Serving) and ``<name>_scann`` (ScaNN, recall-tuned);
* a model over tfrec FeatureLayers (``ranking``, ``dcn``, ``deepfm``, ``fm``, ``logreg``; MovieLens or
  Criteo runs): raw features -> ``score`` (rating task) or ``probability`` (CTR task);
* a model scoring ``(user_idx, item_idx)`` pairs (``mf``, ``neumf``, ``gmf``, ``mlp``, ...): :func:`export_ranking`
  (signatures ``serving_default`` top-k, ``exclude``, ``score``);
* a session model (``gru4rec``): :func:`export_session`, ``item_ids`` [batch, seq_len] (right-padded
  with ``""``; unknown ids skipped) -> the top-k next ``item_ids`` and ``scores``.

The run folder layout is documented in ``training.trainer``.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from tfrec.export import layout


@dataclasses.dataclass
class RunExport:
    """What :func:`export_run` wrote.

    Attributes:
      kind: ``retrieval``, ``ranking``, ``ctr`` or ``session``.
      version: the version number written.
      paths: model name -> version folder.
      tuning: ScaNN tuning report (dict) or None.
      config_files: the ``models.config`` files.
    """

    kind: str
    version: int
    paths: Dict[str, Path]
    tuning: Optional[dict]
    config_files: List[Path]


def default_name(run_dir) -> str:
    """A model name from the run folder's name (characters other than ``[A-Za-z0-9_.-]`` become ``_``)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(run_dir).resolve().name).lstrip("._-")
    return name or "model"


def _is_two_tower(model) -> bool:
    return hasattr(model, "query_tower") and hasattr(model, "candidate_tower")


_KIND_DTYPES = {"categorical": "string", "numeric": "float32", "timestamp": "float64", "multi_hot": "string",
                "text": "string"}


def feature_input_specs(layers) -> Dict[str, object]:
    """Raw input ``tf.TensorSpec`` per column read by tfrec FeatureLayers (what a signature takes).

    categorical / text -> ``[None]`` string, numeric -> ``[None]`` float32, timestamp -> ``[None]``
    float64, multi_hot -> ``[None, None]`` string (rows padded with ``""``).
    """
    import tensorflow as tf

    specs: Dict[str, object] = {}
    for layer in layers:
        for f in layer.spec:
            shape = [None, None] if f.kind == "multi_hot" else [None]
            specs.setdefault(f.column, tf.TensorSpec(shape, getattr(tf, _KIND_DTYPES[f.kind]), name=f.column))
    return specs


def _raw_inputs(frame, layers) -> Dict[str, np.ndarray]:
    from tfrec.features import frame_to_tensors

    out: Dict[str, np.ndarray] = {}
    for layer in layers:
        out.update(frame_to_tensors(frame, layer))
    return {k: (v.astype(str).astype(object) if v.dtype == object else v) for k, v in out.items()}


def export_run(run_dir, base_path, *, name: Optional[str] = None, version: Optional[int] = None, k: int = 10,
               scann: bool = True, scann_recall: float = 0.95, config_root: Optional[str] = None,
               overwrite: bool = False, log: Optional[Callable[[str], None]] = print,
               overrides: Sequence[str] = (), popularity_fallback: bool = True, cold_user_ratings: int = 0,
               stoplist: Optional[Dict[str, Sequence[str]]] = None,
               explore: Optional[Dict[str, Any]] = None) -> RunExport:
    """Exports the trained model of ``run_dir`` into ``base_path``.

    Args:
      run_dir: a finished ``tfrec train`` run folder.
      base_path: model base path (``<base>/<name>/<version>/``).
      name: model name; default :func:`default_name` of ``run_dir``.
      version: version number; default the next free one.
      k: top-k list length of retrieval signatures.
      scann: also export the ScaNN variant of retrieval models.
      scann_recall: recall@k target of the ScaNN tuning.
      config_root: path prefix written in models.config (``/models`` for Docker).
      overwrite: replace an existing version.
      log: progress printer.
      overrides: ``"dotted.key=value"`` overrides of the run's ``config.yaml`` (``tfrec export --set``),
        e.g. ``data.path`` when the dataset has moved since training.
      popularity_fallback: pair-scoring models: a user id not in the training data (or a cold user)
        gets the training popularity list instead of the model's scores. Default True.
      cold_user_ratings: pair-scoring models: users with fewer training ratings than this also get the
        popularity list. Default 0 (only unknown users).
      stoplist: pair-scoring models: items never recommended, ``{"ids": [...], "title_keywords": [...],
        "genres": [...]}`` (resolved against the run's movie titles and genres at export time; the ids
        go into the SavedModel's ``assets/stoplist.txt`` and are applied inside its top-k signatures).
        Default None.
      explore: pair-scoring models: one position of every served top-k list goes to a random new item,
        ``{"slot": 0-based position, "max_ratings": an item is new with at most this many training
        ratings (default 5), "days": or when first rated at most this many days before the newest
        training rating}`` (:func:`tfrec.recommenders.exploration.new_items`). Default None.

    Returns:
      A :class:`RunExport`.

    Raises:
      FileNotFoundError: ``run_dir`` is not a finished run folder.
      ValueError: the run's model has no export recipe.
    """
    from tfrec.training.trainer import load_run

    say = log or (lambda _s: None)
    run = load_run(run_dir, overrides)
    name = name or default_name(run_dir)
    layout.check_model_name(name)
    model = run.model
    family = run.config.model.name
    info = {"run_dir": str(Path(run_dir).resolve()), "family": family,
            "test_metrics": run.metrics.get("final", {})}
    configs = [Path(base_path) / layout.CONFIG_FILE, Path(base_path) / layout.TFSERVING_CONFIG_FILE]
    if _is_two_tower(model):
        return _export_two_tower(run, model, base_path, name, version, k, scann, scann_recall, config_root,
                                 overwrite, say)
    if _is_session_model(model):
        return _export_session_model(run, model, base_path, name, version, k, config_root, overwrite, info,
                                     configs, say)
    layers = _feature_layers(model)
    if layers:
        return _export_feature_model(run, model, layers, base_path, name, version, config_root, overwrite, info,
                                     configs, say)
    if _scores_pairs(model):
        from tfrec.export.signatures import export_ranking

        extras = _ranking_extras(run, popularity_fallback, cold_user_ratings, stoplist, say)
        extras.update(_explore_extras(run, explore, say))
        path = export_ranking(base_path, name, model, run.user_ids, run.item_ids, k=k, version=version,
                              overwrite=overwrite, config_root=config_root, info=info, **extras)
        say(f"exported {path} ({family}: serving_default/exclude top-{k} over {len(run.item_ids)} items, score"
            + (", popularity fallback" if extras["fallback_scores"] is not None else "")
            + (f", {len(extras['stoplist'])} stoplisted items" if extras["stoplist"] is not None else "")
            + (f", exploration slot {extras['explore_slot']}" if extras["explore_slot"] is not None else "") + ")")
        return RunExport("ranking", int(path.name), {name: path}, None, configs)
    raise ValueError(f"{run_dir}: tfrec export has no recipe for model family {family!r} "
                     f"({type(model).__name__}); it exports two-tower retrieval models, models over tfrec "
                     "FeatureLayers (ranking, dcn, deepfm, fm, logreg), session models (gru4rec) and models scoring "
                     "(user_idx, item_idx) pairs (mf, neumf, gmf, mlp). "
                     "Use tfrec.export.export_signatures for other models.")


def _ranking_extras(run, popularity_fallback: bool, cold_user_ratings: int, stoplist, say) -> Dict[str, object]:
    """``fallback_scores``, ``cold_users`` and ``stoplist`` of :func:`export_ranking` from the run's training rows."""
    from tfrec.data import MOVIELENS_GENRES
    from tfrec.data.item_features import stoplist_item_ids

    out: Dict[str, object] = {"fallback_scores": None, "cold_users": None, "stoplist": None}
    if not popularity_fallback and not stoplist:
        return out
    data = _run_data(run)
    vocab = data.vocab
    if popularity_fallback:
        item_pos = vocab.item_index(np.asarray(run.item_ids).astype(str))
        counts = vocab.item_popularity().astype(np.float64)
        known = item_pos >= 0
        pop = np.where(known, counts[np.maximum(item_pos, 0)], 0.0)
        out["fallback_scores"] = (pop / max(pop.max(), 1.0)).astype(np.float32)
        user_pos = vocab.user_index(np.asarray(run.user_ids).astype(str))
        user_counts = np.bincount(vocab.users_idx, minlength=vocab.n_users)
        out["cold_users"] = (user_pos < 0) | (user_counts[np.maximum(user_pos, 0)] < int(cold_user_ratings))
    if stoplist:
        unknown = sorted(set(stoplist) - {"ids", "title_keywords", "genres"})
        if unknown:
            raise ValueError(f"unknown stoplist key(s) {unknown}; valid: ids, title_keywords, genres.")
        if (stoplist.get("title_keywords") or stoplist.get("genres")) and data.items is None:
            raise ValueError("a title or genre stoplist needs the run's movie metadata; this dataset has none "
                             "(give explicit ids).")
        movies = data.items if data.items is not None else _empty_movies()
        ids = stoplist_item_ids(movies, stoplist.get("ids") or (), stoplist.get("title_keywords") or (),
                                stoplist.get("genres") or (), MOVIELENS_GENRES)
        say(f"stoplist: {len(ids)} item id(s)")
        out["stoplist"] = ids
    return out


def _explore_extras(run, explore: Optional[Dict[str, Any]], say) -> Dict[str, object]:
    """``explore_items`` / ``explore_slot`` of :func:`export_ranking`: the run's new items (training rows only)."""
    from tfrec.recommenders.exploration import new_items

    if not explore:
        return {"explore_items": None, "explore_slot": None}
    unknown = sorted(set(explore) - {"slot", "max_ratings", "days"})
    if unknown:
        raise ValueError(f"unknown exploration key(s) {unknown}; valid: slot, max_ratings, days.")
    if explore.get("slot") is None:
        raise ValueError("exploration needs a slot: the 0-based list position given to a new item.")
    vocab = _run_data(run).vocab
    max_ratings = explore.get("max_ratings", 5 if explore.get("days") is None else None)
    new = vocab.item_ids[new_items(vocab, max_ratings, explore.get("days"))]
    idx = np.flatnonzero(np.isin(np.asarray(run.item_ids).astype(str), np.asarray(new).astype(str)))
    if idx.size == 0:
        raise ValueError(f"exploration: no item of the run counts as new (max_ratings={max_ratings}, "
                         f"days={explore.get('days')}); raise the threshold or drop the exploration slot.")
    say(f"exploration: slot {explore['slot']}, {idx.size} new item(s)")
    return {"explore_items": idx, "explore_slot": int(explore["slot"])}


def _empty_movies():
    """An empty movie metadata frame (explicit-id stoplists of datasets without metadata)."""
    import pandas as pd

    return pd.DataFrame({"movie_id": pd.Series([], dtype=str)})


def _feature_layers(model) -> list:
    from tfrec.features import FeatureLayer

    found = []
    for attr in ("feature_layer", "embedding_layer", "linear_layer"):
        layer = getattr(model, attr, None)
        if isinstance(layer, FeatureLayer) and all(layer is not f for f in found):
            found.append(layer)
    return found


def _scores_pairs(model) -> bool:
    import tensorflow as tf

    try:
        out = model({"user_idx": tf.constant([0], tf.int32), "item_idx": tf.constant([0], tf.int32)}, training=False)
    except Exception:  # noqa: BLE001 - the model takes other inputs
        return False
    return int(tf.size(out)) == 1


def _run_data(run):
    """The run's data, prepared as the trainer did (the family's own loader and split)."""
    from tfrec.training.families.registry import get_task

    return get_task(run.config.model.name).prepare(run.config)


def _export_feature_model(run, model, layers, base_path, name, version, config_root, overwrite, info, configs, say):
    from tfrec.export.signatures import FeatureModelModule, export_signatures

    task = getattr(model, "task_name", "rating")
    output = "probability" if task == "ctr" else "score"
    specs = feature_input_specs(layers)
    module = FeatureModelModule(model, specs, output_name=output)
    requests = []
    try:
        from tfrec.data.side_features import with_year

        data = _run_data(run)
        # MovieLens: the first training interactions with their side features; tables: the first fit rows
        rows = with_year(data.vocab.frame.head(4), list(specs)) if hasattr(data, "vocab") else data.fit.head(4)
        requests = [("serving_default", {c: v for c, v in _raw_inputs(rows, layers).items() if c in specs})]
    except (KeyError, ValueError, FileNotFoundError) as e:  # warm-up is optional
        say(f"(no warm-up requests: {e})")
    meta = dict(info, kind="ctr" if output == "probability" else "ranking", inputs=sorted(specs), output=output)
    path = export_signatures(base_path, name, module, module.signatures(), version=version, warmup_requests=requests,
                             info=meta, overwrite=overwrite, config_root=config_root)
    say(f"exported {path} ({info['family']}: {', '.join(sorted(specs))} -> {output})")
    return RunExport(meta["kind"], int(path.name), {name: path}, None, configs)


def _is_two_tower(model) -> bool:
    return hasattr(model, "query_tower") and hasattr(model, "candidate_tower")


def _is_session_model(model) -> bool:
    from tfrec.models.gru4rec import GRU4Rec

    return isinstance(getattr(model, "net", None), GRU4Rec)


def _export_session_model(run, model, base_path, name, version, k, config_root, overwrite, info, configs, say):
    """A next-item model (``gru4rec`` runs): ``item_ids`` [batch, seq_len] (padded with "") -> top-k."""
    from tfrec.export.signatures import export_session

    items = np.asarray(run.item_ids).astype(str)
    if len(items) != model.net.n_items:
        raise ValueError(f"vocab/items.txt of the run has {len(items)} items but the model {model.net.n_items}; "
                         "the run folder is inconsistent.")
    examples = np.asarray([items[:3], [items[3], items[4], ""]], dtype=object)
    path = export_session(base_path, name, model.net, items, k=k, examples=examples, version=version,
                          overwrite=overwrite, config_root=config_root)
    say(f"exported {path} ({info['family']}: item_ids sequence -> top-{min(k, len(items))} next items, scores)")
    return RunExport("session", int(path.name), {name: path}, None, configs)


def _export_two_tower(run, model, base_path, name, version, k, scann, scann_recall, config_root, overwrite, say):
    from tfrec.export.retrieval import export_retrieval
    from tfrec.data.side_features import entity_frame

    qlayer = model.query_tower.feature_layer
    clayer = model.candidate_tower.feature_layer
    if len(qlayer.spec.columns) == 1 and len(clayer.spec.columns) == 1:
        # id towers: the run's own vocabulary files are every input (no data reload, at any data size)
        items = pd.DataFrame({clayer.spec.columns[0]: np.asarray(run.item_ids, dtype=object)})
        users = pd.DataFrame({qlayer.spec.columns[0]: np.asarray(run.user_ids, dtype=object)})
    else:
        vocab = _run_data(run).vocab
        if not np.array_equal(np.asarray(vocab.item_ids).astype(str), np.asarray(run.item_ids).astype(str)):
            raise ValueError(f"the data of {run.config.source or 'the run config'} no longer gives the run's item "
                             "vocabulary (vocab/items.txt); export from the data the run was trained on.")
        items = entity_frame(vocab, "item", clayer.spec.columns)
        users = entity_frame(vocab, "user", qlayer.spec.columns)
    cand_inputs = _raw_inputs(items, [clayer])
    user_inputs = _raw_inputs(users, [qlayer])
    cand = model.embed_candidates({k_: _tf_ready(v) for k_, v in cand_inputs.items()})
    queries = model.embed_queries({k_: _tf_ready(v) for k_, v in user_inputs.items()})
    specs = feature_input_specs([qlayer])
    result = export_retrieval(base_path, name, model.query_tower, specs, np.asarray(run.item_ids).astype(str), cand,
                              k=k, version=version, scann=scann, scann_recall=scann_recall, tuning_queries=queries,
                              warmup_examples={c: v[:4] for c, v in user_inputs.items()}, query_takes_dict=True,
                              config_root=config_root, overwrite=overwrite, log=say)
    return RunExport("retrieval", result.version, result.paths,
                     result.tuning.to_dict() if result.tuning else None, result.config_files)


def _tf_ready(v: np.ndarray) -> np.ndarray:
    return v.astype(str) if v.dtype == object else v
