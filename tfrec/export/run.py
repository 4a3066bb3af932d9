"""``tfrec export RUN_DIR``: export a trained run folder (``training.Trainer``) to TF Serving's layout.

What is exported depends on the run's model:

* a two-tower retrieval model (``query_tower`` / ``candidate_tower``): :func:`export_retrieval`,
  i.e. ``<name>`` (brute force, stock TF Serving) and ``<name>_scann`` (ScaNN, recall-tuned);
* a model scoring ``(user_idx, item_idx)`` pairs (``mf``, ``ncf``, ...): :func:`export_ranking`
  (signatures ``serving_default`` top-k, ``exclude``, ``score``).

The run folder layout is documented in ``training.trainer``.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

from tfrec.export import layout


@dataclasses.dataclass
class RunExport:
    """What :func:`export_run` wrote.

    Attributes:
      kind: ``retrieval`` or ``ranking``.
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


def export_run(run_dir, base_path, *, name: Optional[str] = None, version: Optional[int] = None, k: int = 10,
               scann: bool = True, scann_recall: float = 0.95, config_root: Optional[str] = None,
               overwrite: bool = False, log: Optional[Callable[[str], None]] = print) -> RunExport:
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

    Raises:
      FileNotFoundError: ``run_dir`` is not a finished run folder.
      ValueError: the run's model has no export recipe.
    """
    from training import load_run

    say = log or (lambda _s: None)
    run = load_run(run_dir)
    name = name or default_name(run_dir)
    layout.check_model_name(name)
    model = run.model
    family = run.config.model.name
    info = {"run_dir": str(Path(run_dir).resolve()), "family": family, "metrics": run.metrics.get("final", {})}
    if _is_two_tower(model):
        return _export_two_tower(run, model, base_path, name, version, k, scann, scann_recall, config_root,
                                 overwrite, say)
    if _scores_pairs(model):
        from tfrec.export.signatures import export_ranking

        path = export_ranking(base_path, name, model, run.user_ids, run.item_ids, k=k, version=version,
                              overwrite=overwrite, config_root=config_root, info=info)
        say(f"exported {path} ({family}: serving_default/exclude top-{k} over {len(run.item_ids)} items, score)")
        return RunExport("ranking", int(path.name), {name: path}, None,
                         [Path(base_path) / layout.CONFIG_FILE, Path(base_path) / layout.TFSERVING_CONFIG_FILE])
    raise ValueError(f"{run_dir}: tfrec export has no recipe for model family {family!r} "
                     f"({type(model).__name__}); it exports two-tower retrieval models and models scoring "
                     "(user_idx, item_idx) pairs. Use tfrec.export.export_signatures for other models.")


def _scores_pairs(model) -> bool:
    import tensorflow as tf

    try:
        out = model({"user_idx": tf.constant([0], tf.int32), "item_idx": tf.constant([0], tf.int32)}, training=False)
    except Exception:  # noqa: BLE001 - the model takes other inputs
        return False
    return tf.size(out).numpy() == 1


def _export_two_tower(run, model, base_path, name, version, k, scann, scann_recall, config_root, overwrite, say):
    import tensorflow as tf

    from tfrec.export.retrieval import export_retrieval

    q_specs = _tower_specs(model.query_tower)
    c_specs = _tower_specs(model.candidate_tower)
    if len(c_specs) != 1:
        raise ValueError("tfrec export needs the candidate features of every item to embed the catalog; this run's "
                         f"candidate tower reads {sorted(c_specs)}. Export with tfrec.export.export_retrieval, "
                         "passing the candidate embeddings.")
    item_key = next(iter(c_specs))
    items = np.asarray(run.item_ids).astype(str)
    cand = model.embed_candidates({item_key: items})
    if len(q_specs) != 1:
        raise ValueError("this run's query tower reads side features "
                         f"{sorted(q_specs)}; export it with tfrec.export.export_retrieval and their specs.")
    user_key = next(iter(q_specs))
    users = np.asarray(run.user_ids).astype(str)
    queries = model.embed_queries({user_key: users})
    result = export_retrieval(base_path, name, model.query_tower, {user_key: tf.TensorSpec([None], tf.string)},
                              items, cand, k=k, version=version, scann=scann, scann_recall=scann_recall,
                              tuning_queries=queries, warmup_examples={user_key: users[:4]},
                              query_takes_dict=True, config_root=config_root, overwrite=overwrite, log=say)
    return RunExport("retrieval", result.version, result.paths,
                     result.tuning.to_dict() if result.tuning else None, result.config_files)


def _tower_specs(tower) -> Dict[str, object]:
    """Input feature names of a tfrec ``Tower`` (its FeatureLayer's raw columns)."""
    layer = getattr(tower, "feature_layer", None)
    spec = getattr(layer, "spec", None)
    if spec is None:
        raise ValueError(f"cannot read the input features of {type(tower).__name__}")
    names = [getattr(s, "column", None) or getattr(s, "name") for s in spec]
    return {n: None for n in names}
