"""Which models to serve: TF Serving's ``model_config_list`` file, or one base path.

The config file is the text proto TF Serving reads with ``--model_config_file``::

    model_config_list {
      config {
        name: "movies"
        base_path: "/models/movies"
        model_platform: "tensorflow"
        model_version_policy { latest { num_versions: 1 } }   # or all {} / specific { versions: 3 }
        version_labels { key: "stable" value: 3 }               # /labels/stable, gRPC version_label
      }
    }

Relative ``base_path`` values are resolved against the config file's folder.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import List, Mapping, Optional, Tuple, Union

PathLike = Union[str, Path]


@dataclasses.dataclass(frozen=True)
class VersionPolicy:
    """``latest`` N versions (TF Serving's default, N=1), ``all`` versions, or ``specific`` versions."""

    kind: str = "latest"
    num_versions: int = 1
    versions: Tuple[int, ...] = ()

    def choose(self, available: List[int]) -> List[int]:
        """The versions to serve out of ``available`` (sorted ascending)."""
        available = sorted(available)
        if self.kind == "all":
            return available
        if self.kind == "specific":
            return [v for v in available if v in self.versions]
        return available[-self.num_versions:] if self.num_versions > 0 else []

    def __str__(self) -> str:
        if self.kind == "latest":
            return f"latest {self.num_versions}"
        if self.kind == "specific":
            return "specific " + ",".join(map(str, self.versions))
        return "all"


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """One served model: its name, the folder holding its integer version folders, its policy.

    Attributes:
      name: the model name in request paths and ``model_spec.name``.
      base_path: the folder holding ``<version>/saved_model.pb``.
      policy: which versions are served.
      version_labels: label -> version (``version_labels`` of the config file), e.g. ``{"stable": 3}``.
    """

    name: str
    base_path: Path
    policy: VersionPolicy = VersionPolicy()
    version_labels: Mapping[str, int] = dataclasses.field(default_factory=dict)


class ModelConfigError(ValueError):
    """The model config file or the command-line model options are invalid."""


def parse_policy(text: str) -> VersionPolicy:
    """``latest``, ``latest:N``, ``all`` or ``specific:1,2`` -> :class:`VersionPolicy`."""
    text = (text or "latest").strip()
    kind, _, arg = text.partition(":")
    try:
        if kind == "latest":
            n = int(arg) if arg else 1
            if n < 1:
                raise ValueError
            return VersionPolicy("latest", num_versions=n)
        if kind == "all" and not arg:
            return VersionPolicy("all")
        if kind == "specific" and arg:
            return VersionPolicy("specific", versions=tuple(int(v) for v in arg.split(",")))
    except ValueError:
        pass
    raise ModelConfigError(f"invalid version policy {text!r}; use latest, latest:N (N >= 1), all, or specific:V1,V2")


def parse_config_file(path: PathLike) -> List[ModelConfig]:
    """Reads a ``model_config_list`` text proto (``ModelServerConfig``).

    Raises:
      ModelConfigError: unreadable file, a syntax error (with its line), no models, a duplicate name,
        or a platform other than ``tensorflow``.
    """
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ModelConfigError(f"cannot read model config file {path}: {e.strerror or e}") from None
    msg = model_server_config_pb2.ModelServerConfig()
    try:
        text_format.Parse(text, msg)
    except text_format.ParseError as e:
        raise ModelConfigError(f"{path}: not a valid model_config_list text proto: {e}") from None
    if msg.WhichOneof("config") != "model_config_list" or not msg.model_config_list.config:
        raise ModelConfigError(f"{path}: no model_config_list with at least one config {{ name, base_path }} entry")
    out: List[ModelConfig] = []
    seen = set()
    for i, c in enumerate(msg.model_config_list.config):
        where = f"{path}: config #{i + 1}"
        if not c.name:
            raise ModelConfigError(f"{where}: missing name")
        if not c.base_path:
            raise ModelConfigError(f"{where} ({c.name}): missing base_path")
        if c.name in seen:
            raise ModelConfigError(f"{where}: duplicate model name {c.name!r}")
        if c.model_platform and c.model_platform != "tensorflow":
            raise ModelConfigError(f"{where} ({c.name}): model_platform {c.model_platform!r} is not supported; "
                                   "use \"tensorflow\"")
        seen.add(c.name)
        base = Path(c.base_path)
        if not base.is_absolute():
            base = (path.parent / base).resolve()
        labels = {str(k): int(v) for k, v in sorted(c.version_labels.items())}
        bad = [k for k in labels if not k or not all(ch.isalnum() or ch in "-_." for ch in k) or k[0].isdigit()]
        if bad:
            raise ModelConfigError(f"{where} ({c.name}): invalid version label {bad[0]!r}; a label is letters, "
                                   "digits, '-', '_' or '.', not starting with a digit")
        out.append(ModelConfig(c.name, base, _policy_from_proto(c), labels))
    return out


def has_relative_base_paths(path: PathLike) -> bool:
    """True when a model config file has a relative ``base_path`` (as ``tfrec export`` writes them)."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    msg = model_server_config_pb2.ModelServerConfig()
    text_format.Parse(Path(path).read_text(), msg)
    return any(not Path(c.base_path).is_absolute() for c in msg.model_config_list.config)


def _policy_from_proto(c) -> VersionPolicy:
    if not c.HasField("model_version_policy"):
        return VersionPolicy()
    p = c.model_version_policy
    which = p.WhichOneof("policy_choice")
    if which == "all":
        return VersionPolicy("all")
    if which == "specific":
        return VersionPolicy("specific", versions=tuple(int(v) for v in p.specific.versions))
    n = p.latest.num_versions if which == "latest" and p.latest.num_versions else 1
    return VersionPolicy("latest", num_versions=int(n))


def configs_from_base_path(base_path: PathLike, name: Optional[str] = None,
                           policy: VersionPolicy = VersionPolicy()) -> List[ModelConfig]:
    """Models to serve from ``--model-base-path`` (and ``--model-name``).

    * ``base_path`` holds integer version folders: it is one model's folder (TF Serving's meaning);
      the model is called ``name`` (default the folder's name).
    * ``base_path/<name>`` exists: that folder is the model.
    * no name: ``base_path/models.config`` when present, else every sub-folder is a model.

    Raises:
      ModelConfigError: nothing to serve there.
    """
    from tfrec.export.layout import CONFIG_FILE

    base = Path(base_path).resolve()
    if not base.is_dir():
        raise ModelConfigError(f"--model-base-path {base_path}: no such folder")
    has_versions = any(e.name.isdigit() and e.is_dir() for e in base.iterdir())
    if name:
        if (base / name).is_dir() and not has_versions:
            return [ModelConfig(name, base / name, policy)]
        return [ModelConfig(name, base, policy)]
    if has_versions:
        return [ModelConfig(base.name, base, policy)]
    if (base / CONFIG_FILE).is_file():
        return [dataclasses.replace(c, policy=policy) if c.policy == VersionPolicy() else c
                for c in parse_config_file(base / CONFIG_FILE)]
    subs = [e for e in sorted(base.iterdir()) if e.is_dir() and not e.name.startswith(".")]
    if not subs:
        raise ModelConfigError(f"--model-base-path {base_path}: no model folders (<name>/<version>/saved_model.pb) "
                               "in it; export one with `tfrec export RUN_DIR --model-base-path "
                               f"{base_path}` or pass --model-name")
    return [ModelConfig(e.name, e, policy) for e in subs]
