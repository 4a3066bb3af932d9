"""Typed configuration of a training run (and of a tuning search), read from YAML.

A config file has the sections ``data``, ``model``, ``training``, ``evaluation`` and ``output``
(plus ``tuner`` and ``search_space`` for ``tfrec tune``); every key is optional and has the default
shown by the dataclasses below. Example (``configs/train_mf_ml100k.yaml``)::

    data: {dataset: ml-100k, protocol: random, protocol_params: {ratio: 0.8}, validation_ratio: 0.1}
    model: {name: mf, params: {embedding_dim: 32, l2: 1.0e-4}}
    training:
      epochs: 20
      batch_size: 1024
      optimizer: adam
      learning_rate: 0.005
      early_stopping: {monitor: val_rmse, patience: 3}
    output: {run_dir: runs/mf_ml100k}

Values are checked when the file is read: an unknown key is reported with the closest valid key and
the file it came from, a wrong type with the key and the expected type, e.g.::

    configs/x.yaml: unknown config key 'training.epoch'. Did you mean 'training.epochs'? ...
    configs/x.yaml: config key 'training.epochs' expects an integer, got str 'ten'.

``apply_overrides(raw, ["training.epochs=3"])`` applies ``--set`` overrides; the value is parsed as a
YAML scalar (``3`` is an int, ``1e-3`` a float, ``true`` a bool, ``[8, 16]`` a list).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import re
import typing
from pathlib import Path
from typing import Any, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, Union

import yaml

STRATEGIES = ("auto", "cpu", "gpu", "mirrored", "multi_worker", "parameter_server")


class ConfigError(ValueError):
    """A config file or override is invalid.

    Attributes:
      key: the dotted key at fault (``"training.epochs"``), or None for the whole file.
      source: the file (or ``--set ...`` override) the value came from, or None.
    """

    def __init__(self, message: str, key: Optional[str] = None, source: Optional[str] = None):
        self.key = key
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


# ----------------------------------------------------------------------------------------------
# Schema


@dataclasses.dataclass
class DataConfig:
    """Where the interactions come from and how they are split.

    Attributes:
      dataset: name of a folder under ``$TFREC_DATA`` (default ``../shared/data``), e.g. "ml-100k",
        or a path to the dataset folder. Default "ml-100k".
      path: explicit dataset folder; overrides ``dataset`` when set. Default None.
      protocol: the evaluation protocol that makes the train/test split, one of
        ``tfrec.evaluation.PROTOCOLS`` ("random", "msr_stratified", "temporal", "leave_one_out",
        "ncf", "canonical", "kfold" -- kfold trains on its first fold). Default "random".
      protocol_params: the protocol's parameters, e.g. ``{ratio: 0.8, seed: 42}``. Default {}.
      validation_ratio: fraction of the *training* rows carved out (randomly, with ``seed``) for
        early stopping and tuning; test rows are never seen before the final evaluation. Default 0.1.
      seed: seed of the validation carve. Default 42.
      max_rows: keep only the first ``max_rows`` rows of the dataset (quick tests). Default None.
      min_rating: retrieval families train only on interactions rated at least this. Default None.
      format: how the dataset folder is read: "movielens" (ratings; split by ``protocol``),
        "criteo" (a CTR table ``label, I1..I13, C1..C26`` read by ``tfrec.data.load_criteo``; fixed
        seeded split, see ``test_ratio``), "sessions" (GRU4Rec click logs read by
        ``tfrec.data.load_sessions``; time split, see ``test_file``) or "auto" (detected from the
        folder's files). Default "auto".
      file: the file of the folder to read (criteo: the CSV; sessions: the training click log).
        None = the folder's only CSV (criteo) / its ``*_train_full.txt`` (sessions). Default None.
      test_file: sessions: the held-out click log (the last day); None = the folder's ``*_test.txt``,
        else the sessions ending in the last ``session_days`` of ``file``. Default None.
      test_ratio: criteo: rows are permuted with ``seed``; the last ``test_ratio`` are the test rows,
        the ``validation_ratio`` before them validation, the rest fit (0.1/0.1 = an 80/10/10 split).
        Default 0.1.
      session_days: sessions: the validation rows are the training sessions that end in the last
        ``session_days`` days (GRU4Rec's ``train_tr`` / ``train_valid`` split). Default 1.0.
    """

    dataset: str = "ml-100k"
    path: Optional[str] = None
    protocol: str = "random"
    protocol_params: Dict[str, Any] = dataclasses.field(default_factory=dict)
    validation_ratio: float = 0.1
    seed: int = 42
    max_rows: Optional[int] = None
    min_rating: Optional[float] = None
    format: Literal["auto", "movielens", "criteo", "sessions"] = "auto"
    file: Optional[str] = None
    test_file: Optional[str] = None
    test_ratio: float = 0.1
    session_days: float = 1.0


@dataclasses.dataclass
class ModelConfig:
    """Which model family and its parameters.

    Attributes:
      name: a model family registered in ``tfrec.training.families`` ("mf", "two_tower", ...). Default "mf".
      params: keyword parameters of the family's builder; unknown names are rejected. Default {}.
    """

    name: str = "mf"
    params: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ScheduleConfig:
    """Learning-rate schedule (the peak rate is ``training.learning_rate``).

    Attributes:
      name: "constant", "exponential" (``lr * decay_rate ** (step / decay_steps)``), "cosine"
        (cosine decay to ``alpha * lr`` over all training steps) or "warmup_cosine" (linear warm-up
        over ``warmup_epochs`` then cosine). Default "constant".
      decay_rate: exponential decay factor. Default 0.96.
      decay_steps: steps per decay period of "exponential"; None = one epoch. Default None.
      alpha: final learning-rate fraction of the cosine schedules. Default 0.0.
      warmup_epochs: warm-up length of "warmup_cosine", in epochs (may be fractional). Default 1.0.
    """

    name: Literal["constant", "exponential", "cosine", "warmup_cosine"] = "constant"
    decay_rate: float = 0.96
    decay_steps: Optional[int] = None
    alpha: float = 0.0
    warmup_epochs: float = 1.0


@dataclasses.dataclass
class EarlyStoppingConfig:
    """Early stopping on a validation metric; the best epoch's weights are kept.

    Attributes:
      enabled: stop when ``monitor`` has not improved for ``patience`` epochs. Default True.
      monitor: a Keras log name such as "val_rmse" or "val_loss"; None = the family's default.
      mode: "min", "max" or "auto" (max for names containing accuracy/auc/recall/ndcg/hit/precision).
      patience: epochs without improvement before stopping. Default 3.
      min_delta: smallest change that counts as an improvement. Default 0.0.
    """

    enabled: bool = True
    monitor: Optional[str] = None
    mode: Literal["auto", "min", "max"] = "auto"
    patience: int = 3
    min_delta: float = 0.0


@dataclasses.dataclass
class WarmStartLRConfig:
    """The logistic regression trained first for ``training.warm_start: lr`` (CTR families).

    It uses the deep model's features and preprocessing (same vocabularies and buckets, adapted on the
    same fit rows), trains on the fit rows with Adam and early-stops on the validation loss (best
    epoch's weights kept). Defaults: ``LINEAR["logreg"]`` of ``benchmarks/ctr_criteo10k.py``.

    Attributes:
      embedding_l2: L2 on the first-order weights looked up in a batch. Default 0.001.
      learning_rate: Adam learning rate. Default 0.003.
      epochs: maximum epochs. Default 30.
      patience: early-stopping patience (epochs without a lower validation loss). Default 2.
      batch_size: examples per step. Default 256.
    """

    embedding_l2: float = 1e-3
    learning_rate: float = 3e-3
    epochs: int = 30
    patience: int = 2
    batch_size: int = 256


@dataclasses.dataclass
class TrainingConfig:
    """The optimisation loop.

    Attributes:
      epochs: maximum number of epochs. Default 10.
      batch_size: examples per replica and step; the global batch is ``batch_size`` times the
        number of replicas. Default 1024.
      optimizer: "adam", "adamw", "adagrad", "sgd" or "rmsprop". Default "adam".
      learning_rate: (peak) learning rate. Default 0.001.
      optimizer_params: extra keyword arguments of the optimizer (``momentum``, ``weight_decay``,
        ``clipnorm``, ...). Default {}.
      schedule: learning-rate schedule, see :class:`ScheduleConfig`.
      early_stopping: see :class:`EarlyStoppingConfig`.
      jit_compile: compile the train step with XLA. Default False.
      mixed_precision: ``mixed_float16`` compute on GPU (variables, embeddings and outputs stay
        float32); ignored with a warning on CPU. Default False.
      strategy: "auto", "cpu", "gpu", "mirrored", "multi_worker" or "parameter_server"
        (see ``training.strategy``). Default "auto".
      steps_per_execution: train steps per ``tf.function`` call. Default 1.
      shuffle_buffer: tf.data shuffle buffer; 0 = no shuffling. Default 1_000_000.
      cache: cache the encoded examples in memory (``Dataset.cache``). Default True.
      seed: seed of weights initialisers (``tf.keras.utils.set_random_seed``) and shuffling. Default 42.
      verbose: 0 silent, 1 Keras progress bar, 2 one line per epoch. Default 2.
      restore_best: load the best epoch's weights before the final evaluation and export. Default True.
      warm_start: "lr" = CTR families (dcn, deepfm with ``model.params.task: ctr``): train a logistic
        regression first (``warm_start_lr``) on the same fit rows with the same preprocessing, copy its
        first-order weights and bias into the model and start the interaction outputs at zero, so the
        model starts as that LR (needs ``model_params`` ``first_order``, ``zero_init_top`` and for
        deepfm ``fm_gate`` true). Early stopping then counts the start as epoch 0 (``best_epoch`` -1
        in metrics.json when no epoch beats it: the LR's weights are kept). The warm-started weights
        are stored in ``<run_dir>/warm_start/``: a resumed run reuses them. None = off. Default None.
      freeze_linear: with ``warm_start``, keep the copied first-order weights fixed (the model is the LR
        plus a learned interaction residual). Default False.
      warm_start_lr: settings of that logistic regression, see :class:`WarmStartLRConfig`.
    """

    epochs: int = 10
    batch_size: int = 1024
    optimizer: Literal["adam", "adamw", "adagrad", "sgd", "rmsprop"] = "adam"
    learning_rate: float = 1e-3
    optimizer_params: Dict[str, Any] = dataclasses.field(default_factory=dict)
    schedule: ScheduleConfig = dataclasses.field(default_factory=ScheduleConfig)
    early_stopping: EarlyStoppingConfig = dataclasses.field(default_factory=EarlyStoppingConfig)
    jit_compile: bool = False
    mixed_precision: bool = False
    strategy: Literal["auto", "cpu", "gpu", "mirrored", "multi_worker", "parameter_server"] = "auto"
    steps_per_execution: int = 1
    shuffle_buffer: int = 1_000_000
    cache: bool = True
    seed: int = 42
    verbose: int = 2
    restore_best: bool = True
    warm_start: Optional[Literal["lr"]] = None
    freeze_linear: bool = False
    warm_start_lr: WarmStartLRConfig = dataclasses.field(default_factory=WarmStartLRConfig)


@dataclasses.dataclass
class EvaluationConfig:
    """The final evaluation on the test split.

    Attributes:
      enabled: run it after training. Default True.
      k: cut-offs of the top-k metrics. Default [10].
      exclude_seen: drop training items from each user's top-k list. Default True.
      relevance_threshold: a test item counts as relevant only if rated at least this; None = every
        held-out interaction is relevant. Default None.
    """

    enabled: bool = True
    k: List[int] = dataclasses.field(default_factory=lambda: [10])
    exclude_seen: bool = True
    relevance_threshold: Optional[float] = None


@dataclasses.dataclass
class OutputConfig:
    """Where the run folder goes and what it holds.

    Attributes:
      run_dir: the run folder; ``{model}`` and ``{dataset}`` are replaced. Default "runs/{model}_{dataset}".
      tensorboard: write TensorBoard event files under ``<run_dir>/logs``. Default True.
      save_model: write the trained weights to ``<run_dir>/model``. Default True.
      saved_model: also export a SavedModel to ``<run_dir>/model/saved_model`` (families whose model
        can be saved whole). Default True.
      backup: per-epoch ``BackupAndRestore`` state under ``<run_dir>/backup`` so a killed run resumes.
        Default True.
    """

    run_dir: str = "runs/{model}_{dataset}"
    tensorboard: bool = True
    save_model: bool = True
    saved_model: bool = True
    backup: bool = True


@dataclasses.dataclass
class TunerConfig:
    """keras-tuner settings of ``tfrec tune``.

    Attributes:
      algorithm: "random", "hyperband" or "bayesian". Default "random".
      max_trials: total trials of the search (random, bayesian); a rerun continues up to it. Default 10.
      objective: metric to optimise (a Keras log name such as "val_rmse"); None = the family's
        early-stopping monitor. Default None.
      direction: "min", "max" or "auto" (as early_stopping.mode). Default "auto".
      executions_per_trial: trainings per trial, averaged. Default 1.
      max_epochs: hyperband's largest epoch budget per trial. Default 10.
      factor: hyperband's reduction factor. Default 3.
      hyperband_iterations: hyperband brackets sweeps. Default 1.
      num_initial_points: random points before the Gaussian process of "bayesian"; None = 3 x the
        number of hyperparameters. Default None.
      directory: folder of the search state; ``{model}``/``{dataset}`` are replaced.
        Default "tuning/{model}_{dataset}".
      project_name: sub-folder of ``directory``. Default "search".
      overwrite: start the search afresh instead of continuing it. Default False.
      seed: seed of the search algorithm. Default 42.
    """

    algorithm: Literal["random", "hyperband", "bayesian"] = "random"
    max_trials: int = 10
    objective: Optional[str] = None
    direction: Literal["auto", "min", "max"] = "auto"
    executions_per_trial: int = 1
    max_epochs: int = 10
    factor: int = 3
    hyperband_iterations: int = 1
    num_initial_points: Optional[int] = None
    directory: str = "tuning/{model}_{dataset}"
    project_name: str = "search"
    overwrite: bool = False
    seed: int = 42


@dataclasses.dataclass
class SearchParam:
    """One hyperparameter of ``search_space``, keyed by the dotted config key it sets.

    Attributes:
      type: "int", "float", "choice" or "bool".
      min, max: bounds of "int" and "float" (inclusive).
      step: grid step of "int"/"float"; None = continuous (float) or 1 (int).
      sampling: "linear", "log" or "reverse_log". Default "linear".
      values: the options of "choice".
      default: value of the first trial; None = keras-tuner's default.
    """

    type: Literal["int", "float", "choice", "bool"] = "float"
    min: Optional[float] = None
    max: Optional[float] = None
    step: Optional[float] = None
    sampling: Literal["linear", "log", "reverse_log"] = "linear"
    values: Optional[List[Any]] = None
    default: Optional[Any] = None


@dataclasses.dataclass
class Config:
    """A whole run: see the module docstring and each section's class."""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = dataclasses.field(default_factory=EvaluationConfig)
    output: OutputConfig = dataclasses.field(default_factory=OutputConfig)
    tuner: TunerConfig = dataclasses.field(default_factory=TunerConfig)
    search_space: Dict[str, SearchParam] = dataclasses.field(default_factory=dict)
    #: The file the config was read from (not part of the YAML).
    source: Optional[str] = dataclasses.field(default=None, compare=False, repr=False)

    def to_dict(self, tuning: bool = True) -> Dict[str, Any]:
        """Plain nested dict (YAML-ready); ``tuning=False`` drops ``tuner`` and ``search_space``."""
        out = dataclasses.asdict(self)
        out.pop("source", None)
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
        return dump_yaml(self.to_dict(tuning=tuning))

    def replace(self, overrides: Mapping[str, Any]) -> "Config":
        """A new, validated config with dotted-key values replaced, e.g. ``{"training.epochs": 3}``."""
        raw = self.to_dict()
        origins = {}
        for key, value in overrides.items():
            _set_dotted(raw, key, value, origin=f"override {key}={value!r}")
            origins[key] = f"override {key}={value!r}"
        return from_dict(raw, source=self.source, origins=origins)

    def get(self, dotted: str) -> Any:
        """Value of a dotted key, e.g. ``config.get("model.params.embedding_dim")`` (None if unset)."""
        node: Any = self
        for part in dotted.split("."):
            if dataclasses.is_dataclass(node):
                node = getattr(node, part, None)
            elif isinstance(node, dict):
                node = node.get(part)
            else:
                return None
        return node

    def resolved_run_dir(self) -> Path:
        return Path(self.output.run_dir.format(model=self.model.name, dataset=dataset_name(self)))

    def resolved_tuner_dir(self) -> Path:
        return Path(self.tuner.directory.format(model=self.model.name, dataset=dataset_name(self)))


def dataset_name(config: Config) -> str:
    """Short dataset name used in folder templates: the last part of the path or ``dataset``."""
    return Path(config.data.path or config.data.dataset).name or "data"


# ----------------------------------------------------------------------------------------------
# YAML


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3`` as a float (YAML 1.2), not as the string "1e-3"."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str, source: str = "<string>") -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        raise ConfigError(f"is not valid YAML: {e}", source=source) from e


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def parse_scalar(text: str) -> Any:
    """Parses the value of a ``--set key=value`` as YAML (``3`` -> 3, ``1e-3`` -> 0.001, ``a`` -> "a")."""
    if text.strip() == "":
        return ""
    return parse_yaml(text, source=f"value {text!r}")


# ----------------------------------------------------------------------------------------------
# Loading and validation


def load_config(path: Union[str, Path], overrides: Sequence[str] = ()) -> Config:
    """Reads, overrides and validates a YAML config file.

    Args:
      path: the YAML file.
      overrides: ``"dotted.key=value"`` strings, applied in order after the file (``--set``).

    Returns:
      The validated :class:`Config` (``config.source`` is ``path``).

    Raises:
      FileNotFoundError: no such file.
      ConfigError: invalid YAML, unknown key, wrong type or invalid value (names key and file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Config file {path} not found. Pass an existing YAML file, e.g. configs/train_mf_ml100k.yaml."
        )
    raw = parse_yaml(path.read_text(), source=str(path))
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"must be a mapping of sections (data, model, training, ...), got {type(raw).__name__}.",
                          source=str(path))
    raw, origins = apply_overrides(raw, overrides)
    return from_dict(raw, source=str(path), origins=origins)


def apply_overrides(raw: Dict[str, Any], overrides: Sequence[str]) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """Applies ``"a.b.c=value"`` overrides to a copy of a raw config dict.

    Returns:
      (new raw dict, {dotted key: "--set a.b.c=value"}) so that errors can name the override.
    """
    raw = copy.deepcopy(raw)
    origins: Dict[str, str] = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(
                f"Override {item!r} is not of the form key=value. Example: --set training.epochs=3",
                source=f"--set {item}",
            )
        key, text = item.split("=", 1)
        key = key.strip()
        if not key or any(not part for part in key.split(".")):
            raise ConfigError(f"Override {item!r} has an empty key part. Example: --set training.epochs=3",
                              source=f"--set {item}")
        origin = f"--set {item}"
        _set_dotted(raw, key, parse_scalar(text), origin=origin)
        origins[key] = origin
    return raw, origins


def _set_dotted(raw: Dict[str, Any], key: str, value: Any, origin: str) -> None:
    parts = key.split(".")
    node = raw
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise ConfigError(
                f"cannot set {key!r}: {'.'.join(parts[: i + 1])!r} is a {type(nxt).__name__}, not a section.",
                key=key, source=origin,
            )
        node = nxt
    node[parts[-1]] = value


def from_dict(raw: Mapping[str, Any], source: Optional[str] = None,
              origins: Optional[Mapping[str, str]] = None) -> Config:
    """Validates a nested dict (as read from YAML) into a :class:`Config`.

    Args:
      raw: the nested dict.
      source: file name used in error messages.
      origins: dotted key -> where that value came from (an override), used in error messages.
    """
    checker = _Checker(source or "<config>", origins or {})
    config = checker.section(Config, raw, "")
    config.source = source
    _check_values(config, checker)
    return config


def valid_keys(cls: type = Config, prefix: str = "") -> List[str]:
    """Every dotted key of the schema (``"training.early_stopping.patience"``, ...)."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name == "source":
            continue
        key = f"{prefix}{f.name}"
        out.append(key)
        if dataclasses.is_dataclass(hints[f.name]):
            out.extend(valid_keys(hints[f.name], key + "."))
    return out


_TYPE_NAMES = {int: "an integer", float: "a number (float)", bool: "a boolean (true/false)", str: "a string"}


def _describe_type(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp in _TYPE_NAMES:
        return _TYPE_NAMES[tp]
    if origin is Literal:
        return "one of " + ", ".join(repr(c) for c in typing.get_args(tp))
    if origin is Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return " or ".join(_describe_type(a) for a in args) + " or null"
    if origin in (list, List):
        return f"a list of {_describe_type(typing.get_args(tp)[0]).removeprefix('an ').removeprefix('a ')}s"
    if origin in (dict, Dict) or dataclasses.is_dataclass(tp):
        return "a mapping"
    return str(tp)


class _Checker:
    def __init__(self, source: str, origins: Mapping[str, str]):
        self.source = source
        self.origins = origins

    def where(self, key: str) -> str:
        for k, origin in self.origins.items():
            if key == k or key.startswith(k + ".") or k.startswith(key + "."):
                return f"{self.source} ({origin})" if self.source != "<config>" else origin
        return self.source

    def fail(self, key: str, message: str) -> None:
        raise ConfigError(message, key=key, source=self.where(key))

    def section(self, cls: type, data: Any, prefix: str):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            name = prefix.rstrip(".") or "the file"
            self.fail(prefix.rstrip("."), f"config section {name!r} expects a mapping, got "
                                           f"{type(data).__name__} {data!r}.")
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls) if f.name != "source"]
        kwargs = {}
        for key, value in data.items():
            dotted = f"{prefix}{key}"
            if key not in names:
                self.unknown(dotted, prefix, names)
            kwargs[key] = self.value(hints[key], value, dotted)
        return cls(**kwargs)

    def unknown(self, dotted: str, prefix: str, names: Sequence[str]) -> None:
        candidates = [f"{prefix}{n}" for n in names]
        close = difflib.get_close_matches(dotted, candidates, n=1, cutoff=0.6)
        if not close:  # maybe the key belongs to another section: search the whole schema
            close = difflib.get_close_matches(dotted.split(".")[-1], valid_keys(), n=1, cutoff=0.6)
            close = close or difflib.get_close_matches(dotted, valid_keys(), n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        self.fail(dotted, f"unknown config key {dotted!r}.{hint} Valid keys here: {', '.join(candidates)}.")

    def value(self, tp: Any, value: Any, key: str) -> Any:
        origin = typing.get_origin(tp)
        if dataclasses.is_dataclass(tp):
            return self.section(tp, value, key + ".")
        if origin is Union:
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if value is None:
                return None
            return self.value(args[0], value, key)
        if tp is Any:
            return value
        if value is None:
            self.fail(key, f"config key {key!r} expects {_describe_type(tp)}, got null.")
        if origin is Literal:
            choices = typing.get_args(tp)
            if value not in choices:
                close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                self.fail(key, f"config key {key!r} expects one of {', '.join(map(repr, choices))}, "
                               f"got {value!r}.{hint}")
            return value
        if tp is bool:
            if not isinstance(value, bool):
                self.type_error(key, tp, value)
            return value
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    return int(value)
                self.type_error(key, tp, value)
            return value
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.type_error(key, tp, value)
            return float(value)
        if tp is str:
            if not isinstance(value, str):
                self.type_error(key, tp, value)
            return value
        if origin in (list, List):
            if not isinstance(value, list):
                self.type_error(key, tp, value)
            (item_tp,) = typing.get_args(tp)
            return [self.value(item_tp, v, f"{key}[{i}]") for i, v in enumerate(value)]
        if origin in (dict, Dict):
            if not isinstance(value, dict):
                self.type_error(key, tp, value)
            _, val_tp = typing.get_args(tp)
            return {str(k): self.value(val_tp, v, f"{key}.{k}") for k, v in value.items()}
        raise TypeError(f"unsupported schema type {tp} for {key}")  # a bug in the schema, not user input

    def type_error(self, key: str, tp: Any, value: Any) -> None:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:60] + "..."
        self.fail(key, f"config key {key!r} expects {_describe_type(tp)}, got {type(value).__name__} {shown}.")


def _check_values(config: Config, checker: _Checker) -> None:
    """Range checks that the types cannot express, and the model family's parameters."""
    positive = {
        "training.epochs": config.training.epochs,
        "training.batch_size": config.training.batch_size,
        "training.steps_per_execution": config.training.steps_per_execution,
        "tuner.max_trials": config.tuner.max_trials,
        "tuner.executions_per_trial": config.tuner.executions_per_trial,
        "tuner.max_epochs": config.tuner.max_epochs,
    }
    for key, value in positive.items():
        if value <= 0:
            checker.fail(key, f"config key {key!r} must be a positive integer, got {value}.")
    if config.training.learning_rate <= 0:
        checker.fail("training.learning_rate", f"config key 'training.learning_rate' must be > 0, got "
                                               f"{config.training.learning_rate}.")
    if not 0.0 < config.data.validation_ratio < 1.0:
        checker.fail("data.validation_ratio", "config key 'data.validation_ratio' must be in (0, 1), got "
                                              f"{config.data.validation_ratio}.")
    if not 0.0 < config.data.test_ratio < 1.0 or config.data.test_ratio + config.data.validation_ratio >= 1.0:
        checker.fail("data.test_ratio", "config key 'data.test_ratio' must be in (0, 1) and leave rows to fit "
                                        f"beside data.validation_ratio, got {config.data.test_ratio} "
                                        f"(validation_ratio {config.data.validation_ratio}).")
    if config.data.session_days <= 0:
        checker.fail("data.session_days", "config key 'data.session_days' must be > 0, got "
                                          f"{config.data.session_days}.")
    from tfrec.evaluation.protocols import Protocol

    try:
        Protocol(config.data.protocol, dict(config.data.protocol_params))
    except ValueError as e:
        key = "data.protocol" if "Unknown protocol" in str(e) else "data.protocol_params"
        checker.fail(key, f"config key {key!r}: {e}")
    if config.training.early_stopping.patience < 0:
        checker.fail("training.early_stopping.patience", "config key 'training.early_stopping.patience' must "
                                                         f"be >= 0, got {config.training.early_stopping.patience}.")
    if config.data.max_rows is not None and config.data.max_rows <= 0:
        checker.fail("data.max_rows", f"config key 'data.max_rows' must be positive, got {config.data.max_rows}.")
    for i, k in enumerate(config.evaluation.k):
        if k <= 0:
            checker.fail(f"evaluation.k[{i}]", f"config key 'evaluation.k' must hold positive integers, got {k}.")
    if config.tuner.factor < 2:
        checker.fail("tuner.factor", f"config key 'tuner.factor' must be >= 2, got {config.tuner.factor}.")
    from tfrec.training.families import registry  # light import: no TensorFlow

    try:
        task = registry.get_task(config.model.name)
    except ValueError as e:
        checker.fail("model.name", str(e))
    config.model.params = task.check_params(config.model.params, fail=lambda key, msg: checker.fail(key, msg))
    _check_warm_start(config, task, checker)
    _check_search_space(config, checker)


def _check_warm_start(config: Config, task, checker: _Checker) -> None:
    """``training.warm_start`` / ``freeze_linear`` / ``warm_start_lr``: values and the family's support."""
    t = config.training
    if t.freeze_linear and t.warm_start is None:
        checker.fail("training.freeze_linear", "config key 'training.freeze_linear' needs training.warm_start: lr "
                                               "(it freezes the first-order weights copied from the LR).")
    ws = t.warm_start_lr
    for key, value in (("embedding_l2", ws.embedding_l2), ("patience", ws.patience)):
        if value < 0:
            checker.fail(f"training.warm_start_lr.{key}", f"config key 'training.warm_start_lr.{key}' must be >= 0, "
                                                          f"got {value}.")
    for key, value in (("learning_rate", ws.learning_rate), ("epochs", ws.epochs), ("batch_size", ws.batch_size)):
        if value <= 0:
            checker.fail(f"training.warm_start_lr.{key}", f"config key 'training.warm_start_lr.{key}' must be > 0, "
                                                          f"got {value}.")
    if t.warm_start is not None:
        task.check_warm_start(config.model.params, t, fail=lambda key, msg: checker.fail(key, msg))


def _check_search_space(config: Config, checker: _Checker) -> None:
    keys = valid_keys()
    for name, p in config.search_space.items():
        key = f"search_space.{name}"
        if name.startswith(("search_space", "tuner")):
            checker.fail(key, f"search_space key {name!r} cannot tune the tuner itself.")
        if not (name in keys or name.startswith("model.params.")):
            close = difflib.get_close_matches(name, keys, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            checker.fail(key, f"search_space key {name!r} is not a config key.{hint} Use dotted keys such as "
                              "'training.learning_rate' or 'model.params.embedding_dim'.")
        if p.type in ("int", "float"):
            if p.min is None or p.max is None:
                checker.fail(key, f"search_space {name!r} of type {p.type!r} needs both 'min' and 'max'.")
            if p.min >= p.max:
                checker.fail(key, f"search_space {name!r}: min must be < max, got min={p.min}, max={p.max}.")
            if p.sampling in ("log", "reverse_log") and p.min <= 0:
                checker.fail(key, f"search_space {name!r}: sampling {p.sampling!r} needs min > 0, got {p.min}.")
            if p.type == "int" and (not float(p.min).is_integer() or not float(p.max).is_integer()):
                checker.fail(key, f"search_space {name!r} of type 'int' needs integer min/max, got "
                                  f"{p.min}, {p.max}.")
        if p.type == "choice" and not p.values:
            checker.fail(key, f"search_space {name!r} of type 'choice' needs a non-empty 'values' list.")
        # The sampled values must be valid for the key they set: try the bounds / every choice.
        samples = {"int": [p.min, p.max], "float": [p.min, p.max], "choice": p.values or [], "bool": [True, False]}[
            p.type
        ]
        for sample in samples:
            if p.type == "int":
                sample = int(sample)
            raw = config.to_dict()
            raw["search_space"] = {}
            _set_dotted(raw, name, sample, origin=key)
            try:
                from_dict(raw, source=checker.source)
            except ConfigError as e:
                raise ConfigError(f"search_space {name!r} value {sample!r} is invalid for that key: {e}",
                                  key=key, source=checker.source) from e
