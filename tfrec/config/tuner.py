"""``tuner`` and ``search_space``: the hyperparameter search of ``tfrec tune``."""

from __future__ import annotations

from typing import Any, List, Literal, Optional

from pydantic import Field

from tfrec.config.section import Fail, Section


class CVConfig(Section):
    """The k-fold cross-validation of a grid search (``tuner.cv``).

    Attributes:
      folds: number of folds of the training rows (``tfrec.splits.kfold_split``); >= 2. Default 3.
      seed: seed of the fold assignment. Default 42.
    """

    folds: int = Field(3, ge=2)
    seed: int = 42


class TunerConfig(Section):
    """Search settings of ``tfrec tune``.

    Attributes:
      search: "keras_tuner" (``algorithm`` random, hyperband or bayesian over a validation carve;
        Keras models) or "grid" (every combination of the ``search_space`` values, each scored by
        k-fold cross-validation on the training rows; any registered algorithm). Default "keras_tuner".
      cv: the folds of a grid search (:class:`CVConfig`). Default 3 folds, seed 42.
      algorithm: keras-tuner's search: "random", "hyperband" or "bayesian". Default "random".
      max_trials: total trials of the search (random, bayesian); a rerun continues up to it; positive.
        Default 10.
      objective: metric to optimise (a Keras log name such as "val_rmse"; with ``search: grid`` a
        test-fold metric such as "rmse", "mae", "ndcg@10", "hr@10"); None = the family's
        early-stopping monitor (grid: "rmse" for rating predictors, else "ndcg@<evaluation.k>").
        Default None.
      direction: "min", "max" or "auto" (as early_stopping.mode). Default "auto".
      executions_per_trial: trainings per trial, averaged; positive. Default 1.
      max_epochs: hyperband's largest epoch budget per trial; positive. Default 10.
      factor: hyperband's reduction factor; >= 2. Default 3.
      hyperband_iterations: hyperband brackets sweeps; positive. Default 1.
      num_initial_points: random points before the Gaussian process of "bayesian"; None = 3 x the
        number of hyperparameters. Default None.
      directory: folder of the search state; ``{model}``/``{dataset}`` are replaced.
        Default "tuning/{model}_{dataset}".
      project_name: sub-folder of ``directory``. Default "search".
      overwrite: start the search afresh instead of continuing it. Default False.
      seed: seed of the search algorithm. Default 42.
    """

    search: Literal["keras_tuner", "grid"] = "keras_tuner"
    cv: CVConfig = Field(default_factory=CVConfig)
    algorithm: Literal["random", "hyperband", "bayesian"] = "random"
    max_trials: int = Field(10, gt=0)
    objective: Optional[str] = None
    direction: Literal["auto", "min", "max"] = "auto"
    executions_per_trial: int = Field(1, gt=0)
    max_epochs: int = Field(10, gt=0)
    factor: int = Field(3, ge=2)
    hyperband_iterations: int = Field(1, gt=0)
    num_initial_points: Optional[int] = Field(None, gt=0)
    directory: str = "tuning/{model}_{dataset}"
    project_name: str = "search"
    overwrite: bool = False
    seed: int = 42


class SearchParam(Section):
    """One hyperparameter of ``search_space``, keyed by the dotted config key it sets.

    Attributes:
      type: "int", "float", "choice" or "bool". Default "float".
      min, max: bounds of "int" and "float" (inclusive); both needed there, ``min < max``.
      step: grid step of "int"/"float"; None = continuous (float) or 1 (int).
      sampling: "linear", "log" or "reverse_log" (the log samplings need ``min > 0``). Default "linear".
      values: the options of "choice" (non-empty there).
      default: value of the first trial; None = keras-tuner's default.

    Example:
      >>> SearchParam(type="float", min=1e-4, max=1e-1, sampling="log").samples()
      [0.0001, 0.1]
    """

    type: Literal["int", "float", "choice", "bool"] = "float"
    min: Optional[float] = None
    max: Optional[float] = None
    step: Optional[float] = Field(None, gt=0)
    sampling: Literal["linear", "log", "reverse_log"] = "linear"
    values: Optional[List[Any]] = None
    default: Optional[Any] = None

    def check_param(self, key: str, fail: Fail) -> None:
        """Checks the bounds and values of the parameter ``key`` (``"search_space.<dotted key>"``)."""
        name = key.removeprefix("search_space.")
        if self.type in ("int", "float"):
            if self.min is None or self.max is None:
                fail(key, f"search_space {name!r} of type {self.type!r} needs both 'min' and 'max'.")
            if self.min >= self.max:
                fail(key, f"search_space {name!r}: min must be < max, got min={self.min}, max={self.max}.")
            if self.sampling in ("log", "reverse_log") and self.min <= 0:
                fail(key, f"search_space {name!r}: sampling {self.sampling!r} needs min > 0, got {self.min}.")
            if self.type == "int" and (not float(self.min).is_integer() or not float(self.max).is_integer()):
                fail(key, f"search_space {name!r} of type 'int' needs integer min/max, got {self.min}, {self.max}.")
        if self.type == "choice" and not self.values:
            fail(key, f"search_space {name!r} of type 'choice' needs a non-empty 'values' list.")

    def samples(self) -> List[Any]:
        """Values a search can draw that bound its range: min and max, every choice, or both booleans."""
        if self.type == "int":
            return [int(self.min), int(self.max)]
        if self.type == "float":
            return [self.min, self.max]
        if self.type == "bool":
            return [True, False]
        return list(self.values or [])
