"""A ``tfrec train`` model family as an evaluation ``Algorithm``: ``tfrec evaluate`` trains it with the Trainer.

``fit`` runs ``Trainer(config, train_frame=<the fold's training rows>).fit()`` -- the code path of
``tfrec train``: the family's ``prepare_frame`` makes the same validation carve (``data.validation_ratio``,
``data.seed``) and vocabularies as ``prepare`` does on a protocol split, then the same seeding, model,
optimizer, callbacks, early stopping and best-weight restore. The run folder is a temporary one,
removed after training. Scoring is the family's own ``task.algorithm`` (what the Trainer's final
evaluation scores), so ``tfrec train --config C`` and ``tfrec evaluate`` with the same family,
settings, protocol and split give the same test metrics.

Example:

>>> from tfrec.evaluation import Evaluator                                        # doctest: +SKIP
>>> from tfrec.training.family_algorithm import FamilyAlgorithm                   # doctest: +SKIP
>>> algo = FamilyAlgorithm("mf", {"embedding_dim": 16}, training={"epochs": 2})   # doctest: +SKIP
>>> Evaluator(ratings, protocol="random").evaluate(algo)["metrics"]["rmse"]       # doctest: +SKIP
"""

from __future__ import annotations

import logging
import tempfile
from typing import Any, Callable, Dict, Mapping, Optional

import numpy as np

from tfrec.config.section import Section
from tfrec.data.training_data import TrainingData
from tfrec.recommenders.base import Algorithm
from tfrec.training.config import Config, from_dict
from tfrec.training.families.registry import get_task

__all__ = ["FamilyAlgorithm", "IN_MEMORY_OUTPUT", "build_algorithm"]

logger = logging.getLogger("tfrec.training")

#: the Trainer's outputs that an in-memory run does not need (its folder is temporary)
IN_MEMORY_OUTPUT = {"tensorboard": False, "save_model": False, "saved_model": False, "backup": False}


def _as_dict(value: Any) -> Dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Section):
        return value.model_dump(mode="python")
    return dict(value)


class FamilyAlgorithm(Algorithm):
    """A registered ``tfrec train`` family, trained by the Trainer on the evaluator's training data.

    Args:
      family: the family name (``tfrec.training.families.registry``, e.g. "mf", "neumf", "two_tower").
      params: ``model.params`` of the family (its defaults fill the rest). Default {}.
      training: the ``training`` section of a train config (a mapping or a ``TrainingConfig``;
        its defaults fill the rest). Default {}.
      data: ``validation_ratio`` and ``seed`` of the validation carve (as in a train config's
        ``data`` section; a mapping or a section with those keys). Default {} (0.1 and 42).
      name: the result table's row name. Default: ``family``.
      log: function for the Trainer's progress lines. Default: the ``tfrec.training`` logger (info).

    Raises:
      ValueError: an unknown family (names the valid ones), or a family that does not train on
        user-item rows (gru4rec).
      ConfigError: invalid params, training or data settings (names the dotted key).
    """

    def __init__(self, family: str, params: Optional[Mapping[str, Any]] = None,
                 training: Optional[Mapping[str, Any]] = None, data: Optional[Mapping[str, Any]] = None,
                 name: Optional[str] = None, log: Optional[Callable[[str], None]] = None):
        super().__init__()
        self.task = get_task(family)  # ValueError naming the valid families
        if self.task.kind == "session":
            raise ValueError(f"model family {family!r} trains on session click logs; tfrec evaluate hands its "
                             "algorithms user-item training rows. Train it with `tfrec train` on a sessions dataset.")
        data = _as_dict(data)
        unknown = sorted(set(data) - {"validation_ratio", "seed"})
        if unknown:
            raise ValueError(f"data keys {unknown} are not settings of a family's training on an evaluation fold; "
                             "valid keys: validation_ratio, seed (the split itself is the evaluator's protocol).")
        self.family = family
        self.name = name or family
        self.log = log or logger.info
        self._raw = {"data": data, "model": {"name": family, "params": _as_dict(params)},
                     "training": _as_dict(training), "evaluation": {"enabled": False},
                     "output": dict(IN_MEMORY_OUTPUT)}
        self.config = self._config()
        self.predicts_ratings = self.task.kind == "rating"
        self._trained: Optional[Algorithm] = None
        self.result_ = None
        self.examples_seen_: Optional[int] = None

    def _config(self) -> Config:
        return from_dict(self._raw, source=f"algorithm {self.name!r}")

    @property
    def seed(self) -> int:
        """``training.seed``: weight initialisation and shuffling (the evaluator's churn refits with seed + 1)."""
        return int(self.config.training.seed)

    @seed.setter
    def seed(self, value: int) -> None:
        self._raw["training"]["seed"] = int(value)
        self.config = self._config()

    def fit(self, data: TrainingData) -> "FamilyAlgorithm":
        """Trains the family on ``data.frame`` with ``Trainer(..., train_frame=...).fit()`` and keeps its scorer."""
        from tfrec.training.trainer import Trainer

        frame = data.frame.drop(columns=["user_idx", "item_idx"])  # the vocabulary columns are rebuilt the same way
        with tempfile.TemporaryDirectory(prefix=f"tfrec-{self.family}-") as run_dir:
            trainer = Trainer(self._config(), run_dir=run_dir, log=self.log, train_frame=frame)
            result = trainer.fit()
        algo = self.task.algorithm(result.model, result.run)
        algo.fit(data)
        self._trained, self.data, self.result_ = algo, data, result
        self.predicts_ratings = bool(algo.predicts_ratings)
        self.click_threshold = algo.click_threshold
        # training examples of every stage (a family's pre-training stages too), for examples per second
        self.examples_seen_ = (int(result.metrics["train_examples_per_epoch"]) * max(1, len(result.history))
                               + int(getattr(result.run, "extra", {}).get("pretrain_examples", 0)))
        return self

    @property
    def trained(self) -> Algorithm:
        """The family's scorer of the trained model (``task.algorithm``; e.g. a two-tower's embeddings).

        Raises:
          RuntimeError: before :meth:`fit`.
        """
        return self._scorer()

    def _scorer(self) -> Algorithm:
        if self._trained is None:
            raise RuntimeError(f"FamilyAlgorithm {self.name!r} used before fit().")
        return self._trained

    def score(self, users: np.ndarray) -> np.ndarray:
        return self._scorer().score(users)

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self._scorer().predict(users, items)

    def predict_rows(self, rows, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self._scorer().predict_rows(rows, users, items)

    def score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self._scorer().score_pairs(users, items)

    def recommend(self, users: np.ndarray, k: int = 10, exclude_seen: bool = True, batch_size: int = 1024):
        return self._scorer().recommend(users, k=k, exclude_seen=exclude_seen, batch_size=batch_size)


def build_algorithm(name: str, params: Optional[Mapping[str, Any]] = None, training: Optional[Mapping[str, Any]] = None,
                    data: Optional[Mapping[str, Any]] = None, label: Optional[str] = None,
                    log: Optional[Callable[[str], None]] = None) -> Algorithm:
    """The unfitted evaluation ``Algorithm`` of registry name ``name`` (one ``tfrec evaluate`` entry).

    A Keras family becomes a :class:`FamilyAlgorithm` (trained by the Trainer); a closed-form one
    (``task.closed_form``) is built by its ``ClosedFormTask.create`` and fitted directly.

    Args:
      name: a registry name (``tfrec.training.families.registry.available()``).
      params: the algorithm's parameters (its schema's defaults fill the rest). Default {}.
      training: Keras families only: the ``training`` section of a train config. Default {}.
      data: Keras families only: ``validation_ratio`` and ``seed`` of the validation carve. Default {}.
      label: the result row's name. Default: ``name``.
      log: progress lines of the Trainer. Default: the ``tfrec.training`` logger.

    Raises:
      ValueError: an unknown or renamed name (says the new one), ``training``/``data`` given to a
        closed-form algorithm, a session model (trains on click logs), or invalid parameters (a
        ``ConfigError`` naming the dotted key).

    Example:
      >>> build_algorithm("item_mean", {"damping": 2.0}, label="item mean").name
      'item mean'
    """
    task = get_task(name)
    if not task.closed_form:
        return FamilyAlgorithm(name, params, training=training, data=data, name=label, log=log)
    if task.kind == "session":
        raise ValueError(f"algorithm {name!r} recommends within sessions of a click log; tfrec evaluate hands its "
                         "algorithms user-item training rows. Run it with tfrec train on a sessions dataset (or as "
                         "a train run of tfrec bench, e.g. configs/bench/gru4rec_rsc15_100k.yaml).")
    given = [key for key, value in (("training", training), ("data", data)) if value]
    if given:
        raise ValueError(f"{' and '.join(repr(k) for k in given)} set for algorithm {name!r}, which is fitted in "
                         "closed form (no Trainer): 'training' and 'data' are settings of the Keras models; "
                         "remove them.")
    return task.create(params, label=label)
