"""Pre-training stages: models a family trains first, through the same Trainer, and then builds on.

A family lists its stages with ``Task.pretrain_stages(params, config)`` (NeuMF with ``pretrain:
true``: a GMF and an MLP of its sizes). :func:`train_stages` trains each stage with the run's
Trainer class on the run's training rows (``train_frame``: the same validation carve and
vocabularies as the run itself, no test rows), in ``<run_dir>/pretrain/<stage>/`` (its own
``config.yaml``, ``epochs.jsonl`` and ``metrics.json``), and hands the trained Keras models to the
family in ``run.extra["pretrained"]`` (and the number of examples they trained on in
``run.extra["pretrain_examples"]``). The global seed and precision policy are set back to the
run's afterwards, so the run's own model starts as it would without stages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict

from tfrec.training.config import Config, from_dict

__all__ = ["train_stages"]

#: the outputs a stage does not write (its model lives on in the run that uses it)
_STAGE_OUTPUT = {"tensorboard": False, "save_model": False, "saved_model": False, "backup": False}


def train_stages(trainer_cls: type, task, params: Dict[str, Any], config: Config, run, out: Path,
                 log: Callable[[str], None]) -> Dict[str, Any]:
    """Trains the family's pre-training stages (if any) and puts the models in ``run.extra["pretrained"]``.

    Args:
      trainer_cls: the Trainer class of the run (``tfrec.training.trainer.Trainer``).
      task: the run's family (``Task``).
      params: the run's checked ``model.params``.
      config: the run's config (its ``data`` section carves the stages' validation rows).
      run: the run's prepared data; the stages train on ``run.train``.
      out: the run folder; stage ``s`` writes ``out/pretrain/s`` (replaced if it exists).
      log: progress line printer.

    Returns:
      stage name -> the stage's ``RunResult`` ({} when the family has no stages).

    Raises:
      ConfigError: a stage's settings are invalid (the message names the stage and key).
    """
    stages = task.pretrain_stages(params, config)
    if not stages:
        return {}
    import tensorflow as tf

    policy = tf.keras.mixed_precision.global_policy()
    frame = run.train.drop(columns=[c for c in ("user_idx", "item_idx") if c in run.train.columns])
    results = {}
    for name, stage in stages.items():
        raw = {"data": config.to_dict(tuning=False)["data"], "model": stage["model"], "training": stage["training"],
               "evaluation": {"enabled": False}, "output": dict(_STAGE_OUTPUT)}
        sub = from_dict(raw, source=f"{config.source or 'config'} (pre-training stage {name!r} of {task.name!r})")
        log(f"pre-training stage {name}: model {stage['model']['name']}, {sub.training.epochs} epochs max, "
            f"{sub.training.optimizer} lr {sub.training.learning_rate:g}")
        results[name] = trainer_cls(sub, run_dir=Path(out) / "pretrain" / name, overwrite=True, log=log,
                                    train_frame=frame).fit()
        best = results[name].best_epoch
        log(f"pre-training stage {name} done: best epoch {None if best is None else best + 1}, "
            f"{results[name].monitor} {results[name].best_value}")
    run.extra["pretrained"] = {name: result.model for name, result in results.items()}
    run.extra["pretrain_examples"] = sum(int(r.metrics["train_examples_per_epoch"]) * len(r.history)
                                         for r in results.values())
    tf.keras.mixed_precision.set_global_policy(policy)
    tf.keras.utils.set_random_seed(config.training.seed)
    return results
