"""Small helpers for YAML config files: loading, dotted overrides, and key checking with hints."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Union

import yaml


class ConfigError(ValueError):
    """A config file has an unknown key, a wrong type or a bad value; the message says where."""


def load_yaml(path: Union[str, Path]) -> Dict[str, Any]:
    """Reads a YAML mapping; a missing file or a syntax error raises ConfigError naming the file (and line)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {path} not found.")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: invalid YAML: {getattr(e, 'problem', e)}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level, got {type(data).__name__}.")
    return data


def check_keys(section: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Raises ConfigError for a key not in ``allowed``, naming the closest valid key."""
    allowed = list(allowed)
    for key in section:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where}: unknown key {key!r}.{hint} Valid keys: {', '.join(sorted(allowed))}.")


def parse_override(text: str):
    """Parses ``a.b=value`` (the value as a YAML scalar) into (["a", "b"], value)."""
    if "=" not in text:
        raise ConfigError(f"--set expects KEY=VALUE (e.g. training.epochs=5). Received: {text!r}")
    key, raw = text.split("=", 1)
    return key.strip().split("."), yaml.safe_load(raw)


def apply_override(config: Dict[str, Any], dotted: Iterable[str], value: Any) -> None:
    dotted = list(dotted)
    node = config
    for part in dotted[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {'.'.join(dotted)}: {part!r} is not a section.")
    node[dotted[-1]] = value
