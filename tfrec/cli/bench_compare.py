"""The ``compare`` runs of ``tfrec bench``: each tfrec algorithm beside its reference on one split.

For every entry of a compare config (:mod:`tfrec.config.compare`) the tfrec algorithm (built by the one
registry, as in ``tfrec evaluate``) and its Surprise counterpart are fitted on the same training rows
(the protocol's training split, in the same order) and predict the same held-out rows. A row reports::

    metrics: rmse, mae                       tfrec's, on the held-out ratings
             surprise_rmse, surprise_mae     the reference's, on the same ratings
             rmse_minus_surprise             rmse - surprise_rmse (negative: tfrec is better)
             seconds, surprise_seconds       wall-clock fit + predict of each (the fastest of `repeats`)
             speedup_vs_surprise             surprise_seconds / seconds
             speedup_vs_surprise_cpu         the same ratio of process CPU time
             test_ratings                    number of held-out ratings
    reference: {library, class, params}

The data loading, split and the reference's training set are built once per run and not timed; the
times are fit + predict only, on both sides.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

__all__ = ["checked_compare", "compare_row_names", "run_compare", "split_description"]


def checked_compare(raw, locator):
    """Validates a compare config and checks every algorithm, reference and the protocol before any data is read.

    Raises:
      ConfigError: an invalid key, algorithm, parameter, reference class or protocol (names the file and
        key), or scikit-surprise missing (says how to install it).
    """
    from tfrec.cli.evaluate import build_algorithm
    from tfrec.config import ConfigError, validate
    from tfrec.config.compare import CompareConfig
    from tfrec.evaluation import Protocol
    from tfrec.evaluation.reference_surprise import check_reference

    cfg = validate(CompareConfig, raw, locator)
    for i, spec in enumerate(cfg.algorithms):
        try:
            build_algorithm(spec)
        except ConfigError as e:
            cfg.locator.fail(f"algorithms[{i}]", f"config key 'algorithms[{i}]' ({spec.name!r}): {e.message}")
        except ValueError as e:
            cfg.locator.fail(f"algorithms[{i}]", f"config key 'algorithms[{i}]': {e}")
        try:
            check_reference(spec.surprise)
        except (ImportError, ValueError) as e:
            cfg.locator.fail(f"algorithms[{i}].surprise", f"config key 'algorithms[{i}].surprise': {e}")
    try:
        Protocol(cfg.protocol.name, dict(cfg.protocol.params))
    except ValueError as e:
        cfg.locator.fail("protocol", f"config key 'protocol': {e}")
    return cfg


def compare_row_names(cfg) -> List[str]:
    """The row names of a compare config's algorithms (``label`` or ``name``), in order."""
    return [spec.label or spec.name for spec in cfg.algorithms]


def split_description(cfg) -> str:
    """The split in words, e.g. ``random(ratio=0.75, seed=42) of ../shared/data/ml-latest-small``."""
    from tfrec.evaluation import Protocol

    return f"{Protocol(cfg.protocol.name, dict(cfg.protocol.params)).describe()} of {cfg.data.path}"


def _timed(fn) -> Tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _tfrec_side(spec, fold, seed: Optional[int]):
    """(predictions, fit seconds, fit + predict wall seconds, CPU seconds) of the tfrec algorithm."""
    from tfrec.cli.evaluate import build_algorithm

    algo = build_algorithm(spec)
    if seed is not None and hasattr(algo, "seed"):
        algo.seed = int(seed)
    if not algo.predicts_ratings:
        raise ValueError(f"{algo.name} does not predict ratings (implicit settings?); a compare run compares "
                         "rating predictions.")
    test = fold.test
    fit_times = []

    def fit_predict():
        _, fit_seconds, _ = _timed(lambda: algo.fit(fold.train))
        fit_times.append(fit_seconds)
        return np.asarray(algo.predict(test["user_idx"].to_numpy(), test["item_idx"].to_numpy()), np.float64)

    pred, wall, cpu = _timed(fit_predict)
    return pred, fit_times[-1], wall, cpu


def _row(spec, suffix, truth, ours, theirs, n_train) -> Dict[str, Any]:
    from tfrec import metrics as M
    from tfrec.evaluation.reference_surprise import import_surprise

    (pred, fit_seconds, wall, cpu), (ref_pred, ref_wall, ref_cpu) = ours, theirs
    rmse, ref_rmse = M.rmse(truth, pred), M.rmse(truth, ref_pred)
    metrics = {"rmse": rmse, "mae": M.mae(truth, pred), "surprise_rmse": ref_rmse, "surprise_mae": M.mae(truth, ref_pred),
               "rmse_minus_surprise": round(rmse - ref_rmse, 6) + 0.0,  # + 0.0: no -0.0
               "seconds": wall, "surprise_seconds": ref_wall,
               "speedup_vs_surprise": ref_wall / max(wall, 1e-9), "speedup_vs_surprise_cpu": ref_cpu / max(cpu, 1e-9),
               "test_ratings": float(len(truth))}
    params = {k: v for k, v in spec.surprise.items() if k != "class"}
    return {"algorithm": (spec.label or spec.name) + suffix, "metrics": metrics, "train_seconds": fit_seconds,
            "examples_per_second": n_train / max(fit_seconds, 1e-9),
            "reference": {"library": f"surprise {import_surprise().__version__}", "class": spec.surprise["class"],
                          "params": params}}


def run_compare(cfg, suffix: str = "", seed: Optional[int] = None, progress: bool = True):
    """Runs a checked compare config: (rows, failures), one row per algorithm that finished.

    Args:
      cfg: a ``CompareConfig`` from :func:`checked_compare`.
      suffix: appended to every row name.
      seed: the training seed of tfrec algorithms that have one; None = theirs.
      progress: print a line per algorithm.

    Raises:
      ValueError: no data folder, or a protocol with several folds.
    """
    from tfrec.data import load_movielens
    from tfrec.evaluation import Evaluator, Protocol
    from tfrec.evaluation.reference_surprise import SurpriseReference

    if not cfg.data.path:
        raise ValueError("compare run: no data folder; set data.path.")
    ml = load_movielens(cfg.data.path, layout=cfg.data.layout)
    ev = Evaluator(ml.ratings, Protocol(cfg.protocol.name, dict(cfg.protocol.params)), data_path=cfg.data.path,
                   progress=False)
    if len(ev.folds) != 1:
        raise ValueError(f"compare run: protocol {ev.protocol.describe()} has {len(ev.folds)} folds; use a one-fold "
                         "protocol (random, msr_stratified, temporal, canonical).")
    fold = ev.folds[0]
    columns = fold.train.columns
    reference = SurpriseReference(fold.train.frame, columns)
    truth = fold.test[columns.rating].to_numpy(np.float64)
    print(f"compare: {split_description(cfg)}: {len(fold.train.frame):,} training / {len(truth):,} held-out ratings",
          flush=True)
    rows, failures = [], []
    for spec in cfg.algorithms:
        name = (spec.label or spec.name) + suffix
        try:
            ours = [_tfrec_side(spec, fold, seed) for _ in range(cfg.repeats)]
            theirs = [reference.fit_predict(spec.surprise, fold.test) for _ in range(cfg.repeats)]
            best = (ours[0][0], min(o[1] for o in ours), min(o[2] for o in ours), min(o[3] for o in ours))
            ref_best = (theirs[0][0], min(t[1] for t in theirs), min(t[2] for t in theirs))
            row = _row(spec, suffix, truth, best, ref_best, len(fold.train.frame))
        except Exception as e:  # noqa: BLE001 -- a failed algorithm is recorded; the others go on
            failures.append({"algorithm": name, "error": f"{type(e).__name__}: {e}"})
            continue
        rows.append(row)
        if progress:
            m = row["metrics"]
            print(f"  {name}: rmse {m['rmse']:.4f} (surprise {m['surprise_rmse']:.4f}), {m['seconds']:.2f}s vs "
                  f"{m['surprise_seconds']:.2f}s: x{m['speedup_vs_surprise']:.1f} (CPU x{m['speedup_vs_surprise_cpu']:.1f})",
                  flush=True)
    return rows, failures
