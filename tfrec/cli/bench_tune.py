"""The ``tune`` run of ``tfrec bench``: does a search's best config beat the config it started from?

In one run, on the tune config's split (its test rows untouched until step 3):

1. the base config (the search space's keys at the config's own values) is trained with validation
   only, as a trial sees it, and its best validation metric recorded;
2. the search of ``tfrec tune`` runs (``training.tuner.tune``, the config's ``tuner`` section);
3. the base and the best config are both trained again with the final test evaluation.

Rows: ``<label> default config`` (val + test metrics), ``<label> best config (search)`` and one
``trial <id>`` row per trial (its validation objective). Extra results-file keys say whether the
best config beat the default on validation.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

__all__ = ["row_names", "run_tune"]


def row_names(label: str) -> List[str]:
    """The fixed rows of a tune run (the trial rows are known only after the search)."""
    return [f"{label} default config", f"{label} best config (search)"]


def run_tune(config, label: str, log=print) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
    """Runs steps 1-3 of the module docstring on a checked tune ``Config``; returns (rows, extra keys).

    Args:
      config: a ``tfrec.training.config.Config`` with ``tuner`` and ``search_space`` sections.
      label: the row-name prefix (default: the model name).
      log: progress printer.
    """
    from tfrec.training.config import load_config
    from tfrec.training.trainer import Trainer
    from tfrec.training.tuner import objective_of, tune

    metric, _ = objective_of(config)
    keys = list(config.search_space)
    quiet = lambda m: None  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="tfrec-bench-tune-") as tmp:
        tmp = Path(tmp)
        config = config.replace({"tuner.directory": str(tmp / "search"), "tuner.overwrite": True})
        default_cfg = config.replace({})
        default_cfg.search_space = {}
        t0 = time.perf_counter()
        default_val = Trainer(default_cfg.replace({"evaluation.enabled": False, "output.saved_model": False}),
                              run_dir=tmp / "default_val", log=quiet).fit()
        log(f"default config: best {metric} {default_val.best_value:.4f} ({time.perf_counter() - t0:.0f}s)")
        t0 = time.perf_counter()
        out = tune(config, log=log, quiet_trials=True)
        search_seconds = time.perf_counter() - t0
        trials = out["rows"]
        best_trial = trials[0]
        best_cfg = load_config(out["paths"]["best_config"])
        finals = {}
        for name, cfg in (("default", default_cfg), ("best", best_cfg)):
            finals[name] = Trainer(cfg.replace({"output.saved_model": False}), run_dir=tmp / f"final_{name}",
                                   log=quiet).fit()
            log(f"{name} config: {metric} {finals[name].best_value:.4f}, test {finals[name].final}")

    def test_metrics(result) -> Dict[str, float]:
        return {f"test_{k}": v for k, v in result.final.items() if isinstance(v, (int, float))}

    rows = [{"algorithm": row_names(label)[0],
             "metrics": {metric: default_val.best_value, **test_metrics(finals["default"])},
             "train_seconds": finals["default"].metrics["timing"].get("fit_seconds"),
             "config": {k: default_cfg.get(k) for k in keys}},
            {"algorithm": row_names(label)[1],
             "metrics": {metric: best_trial[metric], f"{metric}_retrained": finals["best"].best_value,
                         **test_metrics(finals["best"])},
             "train_seconds": finals["best"].metrics["timing"].get("fit_seconds"),
             "config": {k: best_cfg.get(k) for k in keys}, "trial": best_trial["trial"]}]
    rows += [{"algorithm": f"trial {t['trial']}", "metrics": {metric: t[metric]}, "status": t["status"],
              "config": {k: t.get(k) for k in keys}} for t in trials]
    beats = best_trial[metric] < default_val.best_value if objective_of(config)[1] == "min" \
        else best_trial[metric] > default_val.best_value
    extra = {"search_seconds": round(search_seconds, 1), "best_beats_default_on_validation": bool(beats),
             f"default_{metric}": round(float(default_val.best_value), 6),
             f"best_{metric}": round(float(best_trial[metric]), 6)}
    return rows, extra
