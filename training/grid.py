"""Grid search with k-fold cross-validation over any registered algorithm (``tfrec tune --search grid``).

A grid config is a ``tfrec tune`` config with ``tuner.search: grid``::

    model: {name: svd}
    tuner: {search: grid, cv: {folds: 3, seed: 42}, objective: rmse, directory: tuning/svd_ml100k}
    search_space:
      model.params.n_epochs: {type: choice, values: [5, 10]}
      model.params.lr_all: {type: choice, values: [0.002, 0.005]}

Every combination of the ``search_space`` values (choices; both booleans; ``min..max`` by ``step``
for numbers) is fitted on k-1 folds and scored on the held-out fold, for each of the
``tuner.cv.folds`` folds of the protocol's *training* rows (``tfrec.splits.kfold_split`` with
``tuner.cv.seed``: reproducible, and the same folds can be handed to another library, e.g.
Surprise's ``GridSearchCV(cv=...)``). The test split is never touched. The objective is a test-fold
metric of the evaluator ("rmse", "mae", "ndcg@10", "hr@10", ...), averaged over the folds, as
Surprise's ``GridSearchCV`` does.

Closed-form algorithms are built by their registry entry; Keras families are trained by the Trainer
(``FamilyAlgorithm``, with the config's ``training`` section) on each fold. Outputs in
``<tuner.directory>/<tuner.project_name>/``: ``results.json`` (best parameters and the full grid,
per-fold values included), ``results.csv`` and ``best_config.yaml``.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from tfrec import metrics as M
from tfrec import splits
from tfrec.config import ConfigError, SearchParam
from tfrec.data.training_data import Columns
from tfrec.evaluation.evaluator import EvaluatedAlgorithm, EvaluationData
from tfrec.evaluation.protocols import Protocol
from tfrec.recommenders.base import Algorithm
from tfrec.training.config import Config

__all__ = ["cross_validate", "grid_objective", "grid_points", "grid_search", "grid_values"]

RATING_METRICS = ("rmse", "mae")


def grid_values(name: str, param: SearchParam) -> List[Any]:
    """The values a grid takes for one ``search_space`` key.

    Args:
      name: the dotted key (for the message).
      param: its :class:`SearchParam`: "choice" -> its values; "bool" -> [False, True]; "int" ->
        ``min..max`` by ``step`` (default 1); "float" -> ``min..max`` by ``step`` (needed).

    Raises:
      ConfigError: a float range without a step (a grid needs finitely many values).
    """
    if param.type == "choice":
        return list(param.values)
    if param.type == "bool":
        return [False, True]
    if param.type == "int":
        return list(range(int(param.min), int(param.max) + 1, int(param.step or 1)))
    if param.step is None:
        raise ConfigError(f"search_space {name!r} is a float range without a step; a grid search needs finitely many "
                          "values: give 'step', or use type: choice with 'values'.", key=f"search_space.{name}")
    count = int(np.floor((param.max - param.min) / param.step + 1e-9)) + 1
    return [float(round(param.min + i * param.step, 12)) for i in range(count)]


def grid_points(search_space: Dict[str, SearchParam]) -> List[Dict[str, Any]]:
    """Every combination of the ``search_space`` values, the last key varying fastest.

    Example:
      >>> grid_points({"a": SearchParam(type="choice", values=[1, 2]), "b": SearchParam(type="bool")})
      [{'a': 1, 'b': False}, {'a': 1, 'b': True}, {'a': 2, 'b': False}, {'a': 2, 'b': True}]
    """
    names = list(search_space)
    values = [grid_values(n, search_space[n]) for n in names]
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def grid_objective(config: Config) -> Tuple[str, str]:
    """(test-fold metric, "min"|"max") a grid search optimises (see ``tuner.objective``)."""
    from tfrec.training.families.registry import get_task, monitor_of

    t = config.tuner
    name = t.objective
    if name is None:
        task = get_task(config.model.name)
        monitor = monitor_of(config.model.name, config.model.params)[0] if not task.closed_form else None
        rating = task.kind == "rating" if task.closed_form else monitor in ("val_rmse", "val_mae")
        name = "rmse" if rating else f"ndcg@{config.evaluation.k[0]}"
    if t.direction != "auto":
        return name, t.direction
    return name, "min" if name in RATING_METRICS or name.endswith("loss") else "max"


def _fold_metrics(algo: Algorithm, fold: EvaluationData, protocol: Protocol, k: int, objective: str) -> Dict[str, float]:
    """Fits ``algo`` on the fold's training rows and returns its test-fold metrics (only RMSE and MAE
    for a rating objective; every evaluator metric otherwise)."""
    cols = fold.train.columns
    if objective in RATING_METRICS:
        if not algo.predicts_ratings or not cols.rating or cols.rating not in fold.test.columns:
            raise ValueError(f"objective {objective!r} needs rating predictions; {algo.name!r} ranks items only "
                             f"(or the data has no rating column). Use a ranking objective such as 'ndcg@{k}'.")
        algo.fit(fold.train)
        pred = algo.predict(fold.test["user_idx"].to_numpy(), fold.test["item_idx"].to_numpy())
        truth = fold.test[cols.rating].to_numpy(np.float64)
        return {"rmse": M.rmse(truth, pred), "mae": M.mae(truth, pred)}
    return EvaluatedAlgorithm(algo, protocol, k=k).evaluate(fold)["metrics"]


def cross_validate(make: Callable[[], Algorithm], folds: Sequence[EvaluationData], objective: str, *,
                   protocol: Protocol, k: int = 10) -> Dict[str, Any]:
    """Mean and per-fold values of ``objective`` for a fresh ``make()`` fitted on each fold.

    Args:
      make: builds the unfitted algorithm (called once per fold).
      folds: the folds (training rows -> held-out rows).
      objective: a metric name of the evaluator ("rmse", "ndcg@10", ...).
      protocol: the folds' protocol (``kfold``), for the ranking metrics.
      k: cut-off of the top-k metrics.

    Returns:
      ``{"mean", "std" (ddof=0, as Surprise), "folds": [...], "fit_seconds"}``.

    Raises:
      KeyError: ``objective`` is not a metric of the algorithm (lists those it has).
    """
    values, seconds = [], 0.0
    for fold in folds:
        start = time.perf_counter()
        metrics = _fold_metrics(make(), fold, protocol, k, objective)
        seconds += time.perf_counter() - start
        if objective not in metrics:
            raise KeyError(f"tuner.objective {objective!r} is not among the test-fold metrics {sorted(metrics)}; "
                           "set tuner.objective to one of them.")
        values.append(float(metrics[objective]))
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "folds": values, "fit_seconds": seconds}


def _builder(config: Config) -> Callable[[], Algorithm]:
    from tfrec.training.family_algorithm import build_algorithm
    from tfrec.training.families.registry import get_task

    if get_task(config.model.name).closed_form:
        return lambda: build_algorithm(config.model.name, config.model.params)
    data = {"validation_ratio": config.data.validation_ratio, "seed": config.data.seed}
    return lambda: build_algorithm(config.model.name, config.model.params, training=config.training, data=data)


def make_folds(train: pd.DataFrame, columns: Columns, folds: int, seed: int) -> List[EvaluationData]:
    """The ``folds`` cross-validation folds of the training rows (``tfrec.splits.kfold_split``)."""
    parts = splits.kfold_split(train, k=folds, seed=seed, user_col=columns.user, item_col=columns.item)
    return [EvaluationData.build(p.train, p.test, columns) for p in parts]


def grid_search(config: Config, log: Callable[[str], None] = print, train: Optional[pd.DataFrame] = None,
                columns: Optional[Columns] = None) -> Dict[str, Any]:
    """Runs the cross-validated grid search of ``config`` and writes its results (module docstring).

    Args:
      config: a ``tfrec tune`` config with ``tuner.search: grid``.
      log: progress printer.
      train, columns: the training rows to cross-validate on and their columns; None = the
        protocol's training rows of ``config.data`` (the test split is left out).

    Returns:
      ``{"rows": [...best first], "best_params": {dotted key: value}, "objective", "direction", "paths"}``.

    Raises:
      ConfigError: an empty ``search_space`` or a float range without a step.
    """
    if not config.search_space:
        raise ConfigError("has no search_space section: add at least one key to search, e.g. search_space: "
                          "{model.params.n_epochs: {type: choice, values: [5, 10]}}", key="search_space",
                          source=config.source)
    from tfrec.training.families.registry import get_task

    if get_task(config.model.name).closed_form:
        for key in config.search_space:
            if not key.startswith("model.params."):
                raise ConfigError(f"search_space key {key!r} has no effect on {config.model.name!r}, which is fitted in "
                                  "closed form (no Trainer): search its model.params.* keys.",
                                  key=f"search_space.{key}", source=config.source)
    points = grid_points(config.search_space)
    metric, direction = grid_objective(config)
    cv = config.tuner.cv
    if train is None:
        run = get_task(config.model.name).prepare(config)
        train, columns = run.train, run.vocab.columns
    folds = make_folds(train, columns or Columns(), cv.folds, cv.seed)
    protocol = Protocol("kfold", {"k": cv.folds, "seed": cv.seed})
    k = int(metric.split("@")[1]) if "@" in metric else config.evaluation.k[0]
    log(f"grid search of {config.model.name}: {len(points)} combination(s) of {', '.join(config.search_space)}; "
        f"{cv.folds}-fold cross-validation (seed {cv.seed}) on {len(train)} training rows; objective {metric} "
        f"({direction})")
    rows = []
    for n, point in enumerate(points, 1):
        cfg = config.replace(point)
        result = cross_validate(_builder(cfg), folds, metric, protocol=protocol, k=k)
        rows.append({**point, f"mean_{metric}": result["mean"], f"std_{metric}": result["std"],
                     f"fold_{metric}": result["folds"], "fit_seconds": result["fit_seconds"]})
        shown = ", ".join(f"{key.removeprefix('model.params.')}={v}" for key, v in point.items())
        log(f"[{n}/{len(points)}] {shown}: {metric} = {result['mean']:.5f} (+- {result['std']:.5f})")
    sign = 1.0 if direction == "min" else -1.0
    order = sorted(range(len(rows)), key=lambda i: (sign * rows[i][f"mean_{metric}"], i))
    rows = [{"rank": r + 1, **rows[i]} for r, i in enumerate(order)]
    best = {key: rows[0][key] for key in config.search_space}
    paths = write_grid_results(config, rows, best, metric, direction, n_rows=len(train))
    log(f"best: {', '.join(f'{k_}={v}' for k_, v in best.items())} ({metric} {rows[0][f'mean_{metric}']:.5f}); "
        f"results: {paths['results_json']}")
    return {"rows": rows, "best_params": best, "objective": metric, "direction": direction, "paths": paths}


def write_grid_results(config: Config, rows: List[Dict[str, Any]], best: Dict[str, Any], metric: str,
                       direction: str, n_rows: int) -> Dict[str, Path]:
    """Writes results.json, results.csv and best_config.yaml into ``<tuner.directory>/<tuner.project_name>``."""
    from tfrec.training.callbacks import atomic_write_text

    project = config.resolved_tuner_dir() / config.tuner.project_name
    project.mkdir(parents=True, exist_ok=True)
    paths = {"results_json": project / "results.json", "results_csv": project / "results.csv",
             "best_config": project / "best_config.yaml"}
    summary = {"search": "grid", "model": config.model.name, "objective": metric, "direction": direction,
               "cv": {"folds": config.tuner.cv.folds, "seed": config.tuner.cv.seed, "training_rows": n_rows},
               "best_params": best, "grid": rows}
    atomic_write_text(paths["results_json"], json.dumps(summary, indent=2, default=str) + "\n")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in r.items()})
    atomic_write_text(paths["results_csv"], buf.getvalue())
    best_cfg = config.replace(best)
    best_cfg.search_space = {}
    header = (f"# Best parameters of the grid search in {project} ({metric} {direction}, mean of "
              f"{config.tuner.cv.folds} folds: {rows[0][f'mean_{metric}']}).\n")
    atomic_write_text(paths["best_config"], header + best_cfg.to_yaml(tuning=False))
    return paths
