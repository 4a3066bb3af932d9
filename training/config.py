"""The config of a training run with the checks that need the model families.

The schema itself (sections, types, defaults, ranges, the YAML reader, ``--set`` overrides and the
error messages) is :mod:`tfrec.config`; :class:`Config` adds what only the training layer knows:

* ``data.protocol`` / ``data.protocol_params`` build a ``tfrec.evaluation.Protocol``;
* ``model.name`` is a registered family and ``model.params`` fit its parameters (checked by the
  family's ``check_params``; they are returned merged over the family's defaults);
* ``training.warm_start`` is supported by the family (``check_warm_start``);
* every ``search_space`` key is a config key, and its bounds / choices are valid values of that key.

Example::

    >>> from tfrec.training.config import from_dict
    >>> cfg = from_dict({"model": {"name": "mf", "params": {"embedding_dim": 8}}})
    >>> cfg.model.params["embedding_dim"], cfg.training.epochs
    (8, 10)
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, List, Mapping, Optional, Sequence, Union

from tfrec.config import (ConfigError, Fail, Locator, RunConfig, apply_overrides, dump_yaml, load, parse_scalar,
                          parse_yaml, set_dotted, validate)
from tfrec.config import valid_keys as _schema_keys

__all__ = ["Config", "ConfigError", "apply_overrides", "dataset_name", "dump_yaml", "from_dict", "load_config",
           "parse_scalar", "parse_yaml", "trains", "valid_keys"]


class Config(RunConfig):
    """A ``tfrec train`` / ``tfrec tune`` config, checked against the model-family registry."""

    def check(self, fail: Fail) -> None:
        super().check(fail)
        from tfrec.evaluation.protocols import Protocol

        try:
            Protocol(self.data.protocol, dict(self.data.protocol_params))
        except ValueError as e:
            key = "data.protocol" if "Unknown protocol" in str(e) else "data.protocol_params"
            fail(key, f"config key {key!r}: {e}")
        from tfrec.training.families import registry  # light import: no TensorFlow

        try:
            task = registry.get_task(self.model.name)
        except ValueError as e:
            fail("model.name", str(e))
        if not trains(task) and self.tuner.search != "grid":
            fail("model.name", f"model {self.model.name!r} is fitted in closed form (its own fit, no training loop); "
                               f"evaluate it with tfrec evaluate (an algorithms entry 'name: {self.model.name}') "
                               "or tune it with tfrec tune --search grid. "
                               "tfrec train trains the Keras models and the session baselines: "
                               f"{', '.join(n for n in registry.available() if trains(registry.get_task(n)))}.")
        self.model.params = task.check_params(self.model.params, fail=fail)
        if self.training.warm_start is not None:
            task.check_warm_start(self.model.params, self.training, fail=fail)
        t = self.training
        if self.data.fit_validation and task.kind != "session":
            fail("data.fit_validation", f"config key 'data.fit_validation' applies to session click logs only; model "
                                        f"{self.model.name!r} keeps its validation rows out of training. Remove it.")
        if self.data.fit_validation and not task.closed_form and (
                t.early_stopping.enabled or t.restore_best):
            key = "training.early_stopping.enabled" if t.early_stopping.enabled else "training.restore_best"
            fail(key, f"config key 'data.fit_validation' trains on the validation sessions, so their metrics cannot "
                      f"choose an epoch: set training.early_stopping.enabled: false and training.restore_best: false "
                      f"(got early_stopping.enabled={t.early_stopping.enabled}, restore_best={t.restore_best}).")
        self._check_search_space(fail)

    def _check_search_space(self, fail: Fail) -> None:
        keys = valid_keys()
        for name, param in self.search_space.items():
            key = f"search_space.{name}"
            if not (name in keys or name.startswith("model.params.")):
                close = difflib.get_close_matches(name, keys, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                fail(key, f"search_space key {name!r} is not a config key.{hint} Use dotted keys such as "
                          "'training.learning_rate' or 'model.params.embedding_dim'.")
            for sample in param.samples():  # the values a trial can set must be valid for that key
                raw = self.to_dict()
                raw["search_space"] = {}
                set_dotted(raw, name, sample, origin=key)
                try:
                    validate(Config, raw, Locator(self.source))
                except ConfigError as e:
                    fail(key, f"search_space {name!r} value {sample!r} is invalid for that key: {e.message}")


def trains(task) -> bool:
    """Whether ``tfrec train`` runs the registered ``task``: a Keras family (the Trainer's loop) or a
    closed-form family with its own ``fit_closed_form`` (the session baselines); the other closed-form
    algorithms are ``tfrec evaluate`` entries only."""
    return not task.closed_form or callable(getattr(task, "fit_closed_form", None))


def load_config(path: Union[str, Path], overrides: Sequence[str] = ()) -> Config:
    """Reads, overrides and validates a YAML run config (``tfrec train`` / ``tfrec tune``).

    Args:
      path: the YAML file.
      overrides: ``"dotted.key=value"`` strings, applied in order after the file (``--set``).

    Returns:
      The validated :class:`Config` (``config.source`` is ``path``).

    Raises:
      FileNotFoundError: no such file.
      ConfigError: invalid YAML, unknown key, wrong type or invalid value (names key, file and line).
    """
    return load(path, Config, overrides)


def from_dict(raw: Mapping[str, Any], source: Optional[str] = None,
              origins: Optional[Mapping[str, str]] = None) -> Config:
    """Validates a nested dict (as read from YAML) into a :class:`Config`.

    Args:
      raw: the nested dict.
      source: file name used in error messages.
      origins: dotted key -> where that value came from (an override), used in error messages.
    """
    return validate(Config, raw, Locator(source, origins=origins))


def valid_keys() -> List[str]:
    """Every dotted key of the run schema (``"training.early_stopping.patience"``, ...)."""
    return _schema_keys(Config)


def dataset_name(config: Config) -> str:
    """Short dataset name used in folder templates: the last part of the path or ``dataset``."""
    return config.dataset_name()
