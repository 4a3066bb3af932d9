"""Config files of every tfrec command: one YAML reader, one ``--set`` mechanism, one error, pydantic schemas.

* :func:`load` (file -> overrides -> validation), :func:`validate` (a mapping), :func:`schema_of`;
  :func:`read_yaml` / :func:`load_yaml` keep line numbers; :func:`apply_overrides` applies ``--set``.
* :class:`ConfigError`: every config problem; its message names the file and line (or the ``--set``
  override), the dotted key, the closest valid key or the expected type.
* Schemas: :class:`RunConfig` (``tfrec train`` / ``tfrec tune``: :class:`DataConfig`, :class:`ModelConfig`,
  :class:`TrainingConfig`, :class:`EvaluationConfig`, :class:`OutputConfig`, :class:`TunerConfig`,
  :class:`SearchParam`), :class:`EvaluateConfig` (``tfrec evaluate``) and :class:`BenchConfig` (``tfrec bench``;
  its compare runs: :class:`CompareConfig`).

This is a bottom layer: it imports only pydantic, yaml and the standard library. The checks that need
the model families (``model.params``, warm start, search-space keys) live in ``tfrec.training.config``.
"""

from tfrec.config.bench import AnchorConfig, BenchConfig, BenchHeaderConfig, BenchRunConfig
from tfrec.config.compare import CompareAlgorithmConfig, CompareConfig
from tfrec.config.data import CTRTableConfig, DataConfig
from tfrec.config.errors import ConfigError, Locator
from tfrec.config.evaluate import AlgorithmConfig, EvaluateConfig, EvaluateDataConfig, ProtocolConfig
from tfrec.config.evaluation import EvaluationConfig
from tfrec.config.loader import from_mapping, load, schema_of
from tfrec.config.model import ModelConfig
from tfrec.config.output import OutputConfig
from tfrec.config.overrides import apply_overrides, parse_override, parse_scalar, set_dotted
from tfrec.config.run import RunConfig
from tfrec.config.section import Fail, Section, describe_type, valid_keys
from tfrec.config.training import EarlyStoppingConfig, ScheduleConfig, TrainingConfig, WarmStartLRConfig
from tfrec.config.tuner import CVConfig, SearchParam, TunerConfig
from tfrec.config.validation import validate
from tfrec.config.yaml_io import YamlDocument, dump_yaml, load_yaml, parse_yaml, read_yaml

__all__ = [
    "AnchorConfig",
    "BenchConfig",
    "BenchHeaderConfig",
    "BenchRunConfig",
    "AlgorithmConfig",
    "CTRTableConfig",
    "CompareAlgorithmConfig",
    "CompareConfig",
    "ConfigError",
    "DataConfig",
    "EarlyStoppingConfig",
    "EvaluateConfig",
    "EvaluateDataConfig",
    "EvaluationConfig",
    "Fail",
    "Locator",
    "ModelConfig",
    "OutputConfig",
    "CVConfig",
    "ProtocolConfig",
    "RunConfig",
    "ScheduleConfig",
    "SearchParam",
    "Section",
    "TrainingConfig",
    "TunerConfig",
    "WarmStartLRConfig",
    "YamlDocument",
    "apply_overrides",
    "describe_type",
    "dump_yaml",
    "from_mapping",
    "load",
    "load_yaml",
    "parse_override",
    "parse_scalar",
    "parse_yaml",
    "read_yaml",
    "schema_of",
    "set_dotted",
    "valid_keys",
    "validate",
]
