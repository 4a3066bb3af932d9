"""Refit (``training.refit: true``): early stopping picks the epoch count, a fresh model trains on all training rows.

A run with ``training.refit`` is two ``Trainer`` runs of the same config:

1. the **early-stopping run** (``<run_dir>/early_stopping/``): the usual run, fitting on the fit rows
   and early-stopping on the validation carve (``data.validation_ratio``, ``data.seed``); its final
   evaluation scores the early-stopped model on the test rows;
2. the **refit run** (``<run_dir>`` itself): a fresh model, built and seeded as the first
   (``training.seed``), trains on every training row (fit + validation; the families' vocabularies and
   statistics come from those rows) for the number of epochs the first run's best epoch needed,
   without early stopping, and its last epoch's weights are kept. It is the run's model: exported,
   scored by the final evaluation and read by ``tfrec export``.

The test rows reach neither run's training. ``metrics.json`` of ``<run_dir>`` gets ``refit`` (the epoch
count, the early-stopping run's folder, best epoch, monitor value and test metrics), and its ``final``
adds the early-stopped model's test metrics as ``<metric>_no_refit`` and ``refit_epochs``. This is
the TFRS tutorials' setting (they train on the whole training part) with the epoch count chosen
without the test rows. A completed early-stopping run is reused when the command is run again.

With ``training.warm_start: lr`` the refit's logistic regression also trains on fit + validation rows
and early-stops on the validation rows, which it has then seen.

Importing this module does not import TensorFlow.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Dict

import pandas as pd

__all__ = ["EARLY_STOPPING_DIR", "Refit", "merge_validation"]

#: subfolder of the run folder that holds the early-stopping run
EARLY_STOPPING_DIR = "early_stopping"


def merge_validation(run):
    """``run`` (a family's run data) with its fit rows replaced by fit + validation rows.

    Args:
      run: ``tfrec.training.data.RunData`` or ``SessionRunData`` (``train`` holds fit + validation
        rows), or ``TableRunData`` (no ``train``: fit and validation rows are concatenated).

    Returns:
      ``run``, changed in place; ``run.val`` is kept (its rows are now also training rows).
    """
    train = getattr(run, "train", None)
    run.fit = train if train is not None else pd.concat([run.fit, run.val])
    return run


class Refit:
    """Runs a ``training.refit`` config as an early-stopping run and a refit run (module docstring).

    Args:
      trainer: the ``tfrec.training.trainer.Trainer`` of the config (its ``config.training.refit`` is
        true); its class, log function, ``train_frame`` and ``overwrite`` are used for both runs.
    """

    def __init__(self, trainer):
        self.trainer = trainer

    def _trainer(self, config, run_dir: Path, refit: bool):
        t = self.trainer
        out = type(t)(config, run_dir=run_dir, log=None if t._prints else t.log, train_frame=t.train_frame)
        out.fit_on_validation = refit
        return out

    def fit(self):
        """Trains both runs; returns the refit run's ``RunResult`` (its ``final`` and ``metrics`` extended)."""
        from tfrec.training.callbacks import atomic_write_text, json_default

        t = self.trainer
        cfg = t.config
        run_dir = Path(t.run_dir)
        if t.overwrite and run_dir.exists():
            shutil.rmtree(run_dir)
        first_dir = run_dir / EARLY_STOPPING_DIR
        done = first_dir / "metrics.json"
        if done.is_file():
            first = json.loads(done.read_text())
            t.log(f"refit: reusing the completed early-stopping run in {first_dir}")
        else:
            # the early-stopping run needs no export or TensorBoard files: the refit model is the run's model
            first_cfg = cfg.replace({"training.refit": False, "output.save_model": False, "output.tensorboard": False})
            first = self._trainer(first_cfg, first_dir, refit=False).fit().metrics
        best = first.get("best_epoch")
        epochs = max(1, (best if best is not None else cfg.training.epochs - 1) + 1)
        t.log(f"refit: early stopping chose {epochs} epoch(s) (best epoch {best}); training a fresh model on the fit "
              f"and validation rows for {epochs} epoch(s)")
        second_cfg = cfg.replace({"training.refit": False, "training.epochs": epochs,
                                  "training.early_stopping.enabled": False, "training.restore_best": False})
        result = self._trainer(second_cfg, run_dir, refit=True).fit()
        no_refit = {f"{k}_no_refit": v for k, v in (first.get("final") or {}).items() if isinstance(v, (int, float))}
        result.final = {**result.final, **no_refit, "refit_epochs": epochs} if result.final else {}
        info: Dict[str, Any] = {"epochs": epochs, "early_stopping_run": str(first_dir), "best_epoch": best,
                                "monitor": first.get("monitor"), "best_value": first.get("best_value"),
                                "final": first.get("final") or {}}
        result.metrics.update(final=result.final, refit=info)
        atomic_write_text(Path(result.run_dir) / "metrics.json",
                          json.dumps(result.metrics, indent=2, default=json_default) + "\n")
        return result

