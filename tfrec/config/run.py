"""The config of a ``tfrec train`` / ``tfrec tune`` run: sections ``data``, ``model``, ``training``,
``evaluation``, ``output`` (plus ``tuner`` and ``search_space`` for ``tfrec tune``).

Every key is optional and has the default of its section class. Example
(``configs/train_mf_ml100k.yaml``)::

    data: {dataset: ml-100k, protocol: random, protocol_params: {ratio: 0.8}, validation_ratio: 0.1}
    model: {name: mf, params: {embedding_dim: 32, l2: 1.0e-4}}
    training: {epochs: 20, batch_size: 1024, optimizer: adam, learning_rate: 0.005,
               early_stopping: {monitor: val_rmse, patience: 3}}
    output: {run_dir: runs/mf_ml100k}

:class:`RunConfig` checks what the schema alone can; ``tfrec.training.config.Config`` extends it with
the checks that consult the model-family registry (``model.params``, warm start, search-space keys).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from pydantic import Field

from tfrec.config.data import DataConfig
from tfrec.config.errors import Locator
from tfrec.config.evaluation import EvaluationConfig
from tfrec.config.model import ModelConfig
from tfrec.config.output import OutputConfig
from tfrec.config.overrides import set_dotted
from tfrec.config.section import Fail, Section
from tfrec.config.training import TrainingConfig
from tfrec.config.tuner import SearchParam, TunerConfig
from tfrec.config.validation import validate
from tfrec.config.yaml_io import dump_yaml


class RunConfig(Section):
    """A whole run: see the module docstring and each section's class.

    Example:
      >>> from tfrec.config import validate
      >>> cfg = validate(RunConfig, {"training": {"epochs": 3}})
      >>> cfg.training.epochs, cfg.get("training.batch_size")
      (3, 1024)
    """

    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    tuner: TunerConfig = Field(default_factory=TunerConfig)
    search_space: Dict[str, SearchParam] = Field(default_factory=dict)

    # -- checks -----------------------------------------------------------------------------------
    def check(self, fail: Fail) -> None:
        """Rules that span keys (the types and ranges of single keys are the fields' own)."""
        d, t = self.data, self.training
        d.check_data(fail)
        if d.test_ratio + d.validation_ratio >= 1.0:
            fail("data.test_ratio", "config key 'data.test_ratio' must be in (0, 1) and leave rows to fit beside "
                                    f"data.validation_ratio, got {d.test_ratio} (validation_ratio {d.validation_ratio}).")
        if t.freeze_linear and t.warm_start is None:
            fail("training.freeze_linear", "config key 'training.freeze_linear' needs training.warm_start: lr "
                                           "(it freezes the first-order weights copied from the LR).")
        if t.refit and not t.early_stopping.enabled:
            fail("training.refit", "config key 'training.refit' needs training.early_stopping.enabled: true (the "
                                   "refit trains for the epoch count early stopping picks on the validation rows).")
        for name, param in self.search_space.items():
            key = f"search_space.{name}"
            if name.startswith(("search_space", "tuner")):
                fail(key, f"search_space key {name!r} cannot tune the tuner itself.")
            param.check_param(key, fail)

    # -- access -----------------------------------------------------------------------------------
    def to_dict(self, tuning: bool = True) -> Dict[str, Any]:
        """Plain nested dict (YAML-ready); ``tuning=False`` drops ``tuner`` and ``search_space``."""
        out = self.model_dump(mode="python")
        if not tuning:
            out.pop("tuner", None)
            out.pop("search_space", None)
        else:
            out["search_space"] = {
                k: {f: v for f, v in p.items() if v is not None and not (f == "sampling" and v == "linear")}
                for k, p in out["search_space"].items()
            }
        return out

    def to_yaml(self, tuning: bool = True) -> str:
        """The config as YAML (every key, defaults included)."""
        return dump_yaml(self.to_dict(tuning=tuning))

    def replace(self, overrides: Mapping[str, Any]) -> "RunConfig":
        """A new, validated config (same class) with dotted-key values replaced, e.g. ``{"training.epochs": 3}``."""
        raw = self.to_dict()
        origins = dict(self.locator.origins)
        for key, value in overrides.items():
            origin = f"override {key}={value!r}"
            set_dotted(raw, key, value, origin=origin)
            origins[key] = origin
        return validate(type(self), raw, Locator(self.source, self.locator.lines, origins))

    def get(self, dotted: str) -> Any:
        """Value of a dotted key, e.g. ``config.get("model.params.embedding_dim")`` (None if unset)."""
        node: Any = self
        for part in dotted.split("."):
            if isinstance(node, Section):
                node = getattr(node, part, None)
            elif isinstance(node, dict):
                node = node.get(part)
            else:
                return None
        return node

    def dataset_name(self) -> str:
        """Short dataset name used in folder templates: the last part of the path or ``dataset``."""
        return Path(self.data.path or self.data.dataset).name or "data"

    def resolved_run_dir(self) -> Path:
        """``output.run_dir`` with ``{model}`` and ``{dataset}`` replaced."""
        return Path(self.output.run_dir.format(model=self.model.name, dataset=self.dataset_name()))

    def resolved_tuner_dir(self) -> Path:
        """``tuner.directory`` with ``{model}`` and ``{dataset}`` replaced."""
        return Path(self.tuner.directory.format(model=self.model.name, dataset=self.dataset_name()))
