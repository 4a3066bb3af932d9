"""``--set a.b.c=value`` overrides, applied to a config mapping before it is validated.

The value is parsed as YAML: ``3`` is an int, ``1e-3`` a float, ``true`` a bool, ``[8, 16]`` a list,
``null`` None, anything else a string.

Example:
  >>> raw, origins = apply_overrides({"training": {"epochs": 10}}, ["training.epochs=3", "model.name=mf"])
  >>> raw
  {'training': {'epochs': 3}, 'model': {'name': 'mf'}}
  >>> origins["training.epochs"]
  '--set training.epochs=3'
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from tfrec.config.errors import ConfigError
from tfrec.config.yaml_io import parse_yaml


def parse_scalar(text: str) -> Any:
    """Parses the value of a ``--set key=value`` as YAML (``3`` -> 3, ``1e-3`` -> 0.001, ``a`` -> "a")."""
    if text.strip() == "":
        return ""
    return parse_yaml(text, source=f"value {text!r}")


def parse_override(item: str) -> Tuple[str, Any]:
    """``"a.b=value"`` -> ``("a.b", parsed value)``.

    Raises:
      ConfigError: no ``=``, or an empty key part; the message names the override.
    """
    if "=" not in item:
        raise ConfigError(f"Override {item!r} is not of the form key=value. Example: --set training.epochs=3",
                          source=f"--set {item}")
    key, text = item.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"Override {item!r} has an empty key part. Example: --set training.epochs=3",
                          source=f"--set {item}")
    return key, parse_scalar(text)


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[str]) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """Applies ``"a.b.c=value"`` overrides, in order, to a copy of a config mapping.

    Returns:
      (new mapping, {dotted key: "--set a.b.c=value"}) so that errors can name the override.
    """
    out = copy.deepcopy(dict(raw))
    origins: Dict[str, str] = {}
    for item in overrides:
        key, value = parse_override(item)
        origin = f"--set {item}"
        set_dotted(out, key, value, origin=origin)
        origins[key] = origin
    return out, origins


def set_dotted(raw: Dict[str, Any], key: str, value: Any, origin: str = "") -> None:
    """Sets ``raw[a][b][c] = value`` for ``key`` "a.b.c", creating missing sections.

    Raises:
      ConfigError: a part above the last is set to something other than a mapping.
    """
    parts: List[str] = key.split(".")
    node = raw
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise ConfigError(
                f"cannot set {key!r}: {'.'.join(parts[: i + 1])!r} is a {type(nxt).__name__}, not a section.",
                key=key, source=origin or None,
            )
        node = nxt
    node[parts[-1]] = value
