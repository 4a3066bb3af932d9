"""Hyperparameter search over any config key with keras-tuner (random, hyperband, bayesian).

A tuning config is a training config plus two sections::

    tuner: {algorithm: random, max_trials: 8, objective: val_rmse, directory: tuning/mf_ml100k}
    search_space:
      training.learning_rate: {type: float, min: 1.0e-4, max: 1.0e-1, sampling: log}
      model.params.embedding_dim: {type: int, min: 8, max: 128, step: 8}
      training.optimizer: {type: choice, values: [adam, adagrad]}

Each trial trains ``Trainer`` on the config with the trial's values (test split untouched: trials
report their best validation value of ``tuner.objective``; the final test evaluation is skipped) in
``<directory>/<project_name>/trial_<id>/run``.

keras-tuner 1.4.8 imports Keras 3 and its default ``run_trial`` rejects tf_keras models
(keras-tuner #1039), so :class:`RandomSearchTuner`, :class:`HyperbandTuner` and
:class:`BayesianTuner` subclass the keras-tuner tuners and override ``run_trial`` to train through
``Trainer`` and return the metric; results are read with ``get_best_hyperparameters``. Hyperband's
``tuner/epochs`` budget sets ``training.epochs`` (each trial trains from scratch).

Outputs in ``<directory>/<project_name>/``: ``results.json`` / ``results.csv`` (every trial, sorted by
the objective) and ``best_config.yaml`` (the base config with the best values, ready for
``tfrec train``). Rerunning the same command continues the search (completed trials are kept,
interrupted ones retried); ``tuner.overwrite: true`` starts afresh.

Distributed search: one ``chief`` serves the oracle over gRPC and workers run trials. Environment
``KERASTUNER_TUNER_ID`` (``chief``, ``tuner0``, ``tuner1``...), ``KERASTUNER_ORACLE_IP`` and
``KERASTUNER_ORACLE_PORT``; :func:`distributed_env` sets them from ``tfrec tune --distributed``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
from tfrec.config import ConfigError, SearchParam, dump_yaml, parse_yaml
from tfrec.training.config import Config
from tfrec.training.grid import grid_search

_ENCODED = "yaml:"  # prefix of choice values that are lists/mappings, encoded as YAML strings


def distributed_env(role: Optional[str], ip: str = "127.0.0.1", port: int = 8000, tuner_id: Optional[str] = None) -> None:
    """Sets the keras-tuner environment of a distributed search.

    Args:
      role: "chief" (serves the oracle), "worker" (runs trials) or None (a single process: the
        variables are removed).
      ip, port: the chief's address.
      tuner_id: id of a worker (default ``tuner<pid>``); must differ between workers.
    """
    if role is None:
        for k in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
            os.environ.pop(k, None)
        return
    if role not in ("chief", "worker"):
        raise ValueError(f"distributed role must be 'chief' or 'worker'. Received: {role!r}")
    os.environ["KERASTUNER_TUNER_ID"] = "chief" if role == "chief" else (tuner_id or f"tuner{os.getpid()}")
    os.environ["KERASTUNER_ORACLE_IP"] = ip
    os.environ["KERASTUNER_ORACLE_PORT"] = str(port)


def objective_of(config: Config) -> Tuple[str, str]:
    """(metric name, "min"|"max") the search optimises."""
    from tfrec.training.callbacks import resolve_mode

    from tfrec.training.families.registry import monitor_of

    default, default_mode = monitor_of(config.model.name, config.model.params)
    name = config.tuner.objective or config.training.early_stopping.monitor or default
    if config.tuner.direction != "auto":
        return name, config.tuner.direction
    if name == default:
        return name, default_mode
    return name, resolve_mode(name, "auto")


def _encode(value: Any) -> Any:
    if isinstance(value, (list, dict, tuple)):
        return _ENCODED + json.dumps(value)
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_ENCODED):
        return json.loads(value[len(_ENCODED):])
    return value


def build_hyperparameters(search_space: Dict[str, SearchParam]):
    """keras-tuner ``HyperParameters`` of a ``search_space`` section (names are the dotted keys)."""
    import keras_tuner as kt

    hp = kt.HyperParameters()
    for name, p in search_space.items():
        if p.type == "int":
            hp.Int(name, int(p.min), int(p.max), step=int(p.step) if p.step else None, sampling=p.sampling,
                   default=int(p.default) if p.default is not None else None)
        elif p.type == "float":
            hp.Float(name, float(p.min), float(p.max), step=p.step, sampling=p.sampling,
                     default=float(p.default) if p.default is not None else None)
        elif p.type == "bool":
            hp.Boolean(name, default=bool(p.default) if p.default is not None else False)
        else:
            values = [_encode(v) for v in p.values]
            hp.Choice(name, values, default=_encode(p.default) if p.default is not None else None)
    return hp


def trial_overrides(values: Dict[str, Any]) -> Dict[str, Any]:
    """Config overrides of a trial's hyperparameter values (hyperband's ``tuner/epochs`` -> training.epochs)."""
    out = {k: _decode(v) for k, v in values.items() if not k.startswith("tuner/")}
    if "tuner/epochs" in values:
        out["training.epochs"] = int(values["tuner/epochs"])
    return out


class _TrainerRunMixin:
    """``run_trial`` that trains through :class:`training.Trainer` (the tf_keras workaround)."""

    def _setup_runner(self, base: Config, log: Callable[[str], None], quiet: bool):
        self._base = base
        self._log = log
        self._quiet = quiet
        self._metric, self._direction = objective_of(base)
        self.trials_run = 0

    def run_trial(self, trial, *args, **kwargs):
        from tfrec.training.trainer import RunDirError, Trainer

        values = trial.hyperparameters.values
        overrides = trial_overrides(values)
        shown = ", ".join(f"{k}={v}" for k, v in overrides.items())
        self._log(f"[trial {trial.trial_id}] {shown}")
        scores = []
        for execution in range(self._base.tuner.executions_per_trial):
            cfg = self._base.replace(overrides)
            cfg.evaluation.enabled = False  # the test split stays untouched while tuning
            cfg.training.refit = False  # a trial is scored on the validation rows, which a refit trains on
            cfg.output.save_model = False
            cfg.output.saved_model = False
            cfg.training.seed = self._base.training.seed + execution
            suffix = "" if self._base.tuner.executions_per_trial == 1 else f"_{execution}"
            run_dir = Path(self.project_dir) / f"trial_{trial.trial_id}" / f"run{suffix}"
            prefix = f"[trial {trial.trial_id}] "
            trainer = Trainer(cfg, run_dir=run_dir, log=(lambda m: None) if self._quiet else (lambda m: self._log(prefix + m)))
            try:
                result = trainer.fit()
                best = result.best_value
                history = result.history
            except RunDirError:
                # a completed run folder from an earlier (interrupted) search: reuse its result
                done = json.loads((run_dir / "metrics.json").read_text())
                best, history = done["best_value"], done["history"]
            if best is None:
                raise RuntimeError(f"trial {trial.trial_id} produced no {self._metric} value")
            if self._metric != trainer.config.training.early_stopping.monitor and history:
                vals = [h[self._metric] for h in history if self._metric in h]
                if not vals:
                    raise KeyError(f"tuner.objective {self._metric!r} is not among the trial's metrics "
                                   f"{sorted(history[-1])}; set tuner.objective to one of them.")
                best = min(vals) if self._direction == "min" else max(vals)
            scores.append(float(best))
        self.trials_run += 1
        score = sum(scores) / len(scores)
        self._log(f"[trial {trial.trial_id}] {self._metric} = {score:.5f}")
        return {self._metric: score}


def _tuner_classes():
    import keras_tuner as kt

    class RandomSearchTuner(_TrainerRunMixin, kt.RandomSearch):
        """``kt.RandomSearch`` whose trials train through ``Trainer``."""

    class HyperbandTuner(_TrainerRunMixin, kt.Hyperband):
        """``kt.Hyperband`` whose trials train through ``Trainer`` (``tuner/epochs`` -> training.epochs)."""

    class BayesianTuner(_TrainerRunMixin, kt.BayesianOptimization):
        """``kt.BayesianOptimization`` whose trials train through ``Trainer``."""

    return {"random": RandomSearchTuner, "hyperband": HyperbandTuner, "bayesian": BayesianTuner}


def make_tuner(config: Config, log: Callable[[str], None] = print, quiet: bool = False):
    """The keras-tuner tuner of ``config.tuner`` over ``config.search_space``.

    Raises:
      ConfigError: no search space, or the saved search of the folder has another search space.
    """
    import keras_tuner as kt

    if not config.search_space:
        raise ConfigError("has no search_space section: add at least one key to tune, e.g. "
                          "search_space: {training.learning_rate: {type: float, min: 1.0e-4, max: 1.0e-1, sampling: log}}",
                          key="search_space", source=config.source)
    t = config.tuner
    metric, direction = objective_of(config)
    hp = build_hyperparameters(config.search_space)
    directory = config.resolved_tuner_dir()
    project = directory / t.project_name
    _check_same_space(config, project)
    common = dict(hypermodel=None, objective=kt.Objective(metric, direction), hyperparameters=hp,
                  tune_new_entries=False, allow_new_entries=False, directory=str(directory),
                  project_name=t.project_name, overwrite=t.overwrite, seed=t.seed)
    cls = _tuner_classes()[t.algorithm]
    with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
        if t.algorithm == "hyperband":
            tuner = cls(max_epochs=t.max_epochs, factor=t.factor, hyperband_iterations=t.hyperband_iterations, **common)
        elif t.algorithm == "bayesian":
            try:
                tuner = cls(max_trials=t.max_trials, num_initial_points=t.num_initial_points, **common)
            except ImportError as e:
                raise ImportError("tuner.algorithm 'bayesian' needs scikit-learn: pip install scikit-learn "
                                  "(or keras-tuner[bayesian]), or use tuner.algorithm random/hyperband.") from e
        else:
            tuner = cls(max_trials=t.max_trials, **common)
    tuner._setup_runner(config, log, quiet)
    space_file = project / "search_space.yaml"
    if not space_file.exists():
        project.mkdir(parents=True, exist_ok=True)
        space_file.write_text(dump_yaml(config.to_dict()["search_space"]))
    return tuner


def _check_same_space(config: Config, project: Path) -> None:
    space_file = project / "search_space.yaml"
    if config.tuner.overwrite or not space_file.exists():
        if config.tuner.overwrite and space_file.exists():
            space_file.unlink()
        return
    old = parse_yaml(space_file.read_text(), source=str(space_file))
    new = config.to_dict()["search_space"]
    if json.dumps(old, sort_keys=True, default=str) != json.dumps(new, sort_keys=True, default=str):
        raise ConfigError(
            f"the search in {project} was started with another search_space ({space_file}). Set tuner.overwrite: true "
            "(--set tuner.overwrite=true) to start afresh, or another tuner.project_name.",
            key="search_space", source=config.source,
        )


def serve_oracle(tuner, poll_seconds: float = 0.2) -> None:
    """Chief: serves the oracle over gRPC until every worker got its stop signal and no trial runs.

    keras-tuner's own ``start_server`` waits in 20-second sleeps once a worker has stopped; this one
    polls every ``poll_seconds``.
    """
    import grpc
    from concurrent import futures

    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer, exit_chief

    tuner.save()
    oracle = tuner.oracle
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    server.add_insecure_port(f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}")
    server.start()
    try:
        while not (servicer.stop_triggered and exit_chief(oracle)):
            time.sleep(poll_seconds)
    finally:
        server.stop(grace=1.0)


def results_table(tuner, config: Config) -> List[Dict[str, Any]]:
    """Every trial as ``{"trial", "status", <objective>, <hyperparameters>...}``, best first."""
    metric, direction = objective_of(config)
    rows = []
    for trial in tuner.oracle.trials.values():
        row: Dict[str, Any] = {"trial": trial.trial_id, "status": str(trial.status), metric: trial.score}
        row.update(trial_overrides(trial.hyperparameters.values))
        rows.append(row)
    sign = 1.0 if direction == "min" else -1.0
    rows.sort(key=lambda r: (r[metric] is None, sign * (r[metric] if r[metric] is not None else 0.0), r["trial"]))
    return rows


def format_table(rows: List[Dict[str, Any]]) -> str:
    if not rows:
        return "(no trials)"
    cols = list(dict.fromkeys(k for r in rows for k in r))

    def fmt(v):
        if isinstance(v, float):
            return f"{v:.5g}"
        return "-" if v is None else str(v)

    cells = [[fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def best_config(tuner, config: Config) -> Config:
    """The base config with the best trial's values, without the tuning sections."""
    best = tuner.get_best_hyperparameters(1)
    if not best:
        raise RuntimeError("the search has no completed trial yet; run more trials.")
    cfg = config.replace(trial_overrides(best[0].values))
    cfg.search_space = {}
    return cfg


def write_results(tuner, config: Config, rows: List[Dict[str, Any]], log: Callable[[str], None] = print) -> Dict[str, Path]:
    """Writes results.json, results.csv and best_config.yaml into the project folder; returns their paths."""
    from tfrec.training.callbacks import atomic_write_text

    project = Path(tuner.project_dir)
    metric, direction = objective_of(config)
    paths = {"results_json": project / "results.json", "results_csv": project / "results.csv",
             "best_config": project / "best_config.yaml"}
    atomic_write_text(paths["results_json"], json.dumps(
        {"objective": metric, "direction": direction, "algorithm": config.tuner.algorithm, "trials": rows},
        indent=2, default=str) + "\n")
    buf = io.StringIO()
    cols = list(dict.fromkeys(k for r in rows for k in r))
    writer = csv.DictWriter(buf, fieldnames=cols)
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in r.items()})
    atomic_write_text(paths["results_csv"], buf.getvalue())
    if any(r["status"].endswith("COMPLETED") for r in rows):
        best = best_config(tuner, config)
        header = (f"# Best config of the {config.tuner.algorithm} search in {project} ({metric} {direction}; "
                  f"trial {rows[0]['trial']}, {metric} = {rows[0][metric]}).\n"
                  f"# Train it: tfrec train --config {paths['best_config']}\n")
        atomic_write_text(paths["best_config"], header + best.to_yaml(tuning=False))
    else:
        paths.pop("best_config")
    return paths


def tune(config: Config, role: Optional[str] = None, log: Callable[[str], None] = print, quiet_trials: bool = False,
         ) -> Dict[str, Any]:
    """Runs (or continues) the search of ``config``; returns ``{"rows", "paths", "trials_run"}``.

    Args:
      config: a config with ``tuner`` and ``search_space`` sections (``tuner.search: grid`` runs
        :func:`tfrec.training.grid.grid_search` and returns its rows, paths and ``best_params``).
      role: None (one process), "chief" (serve the oracle, then write the results) or "worker"
        (run trials from the chief); the environment must be set (:func:`distributed_env`).
      log: progress printer.
      quiet_trials: hide the per-epoch lines of trials.
    """
    if config.tuner.search == "grid":
        if role is not None:
            raise ValueError("tuner.search 'grid' runs in one process; --distributed is for the keras-tuner searches "
                             "(tuner.search: keras_tuner).")
        out = grid_search(config, log=log)
        return {"rows": out["rows"], "paths": out["paths"], "trials_run": len(out["rows"]),
                "best_params": out["best_params"]}
    if role == "worker" and config.tuner.overwrite:
        # only the chief may wipe the shared search folder
        config = config.replace({"tuner.overwrite": False})
    tuner = make_tuner(config, log=log, quiet=quiet_trials)
    metric, direction = objective_of(config)
    log(f"tuning {config.model.name}: {config.tuner.algorithm} search over {', '.join(config.search_space)}; "
        f"objective {metric} ({direction}); folder {tuner.project_dir}; "
        f"{len(tuner.oracle.trials) if role != 'worker' else '?'} trial(s) done before")
    if role == "chief":
        serve_oracle(tuner)
    elif role == "worker":
        tuner.search()
        return {"rows": [], "paths": {}, "trials_run": tuner.trials_run}
    else:
        with contextlib.redirect_stdout(io.StringIO()) if quiet_trials else contextlib.nullcontext():
            tuner.search()
    rows = results_table(tuner, config)
    log(format_table(rows))
    paths = write_results(tuner, config, rows, log=log)
    if "best_config" in paths:
        log(f"best config: {paths['best_config']}")
    return {"rows": rows, "paths": paths, "trials_run": tuner.trials_run, "tuner": tuner}
