"""The one way to read a config: YAML file -> ``--set`` overrides -> validation against a schema.

Example:
  >>> import pathlib, tempfile
  >>> from tfrec.config import RunConfig, load
  >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.yaml"
  >>> _ = path.write_text("training: {epochs: 5}\\n")
  >>> load(path, RunConfig, ["training.epochs=3"]).training.epochs
  3
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence, Type, TypeVar, Union

from tfrec.config.bench import BenchConfig
from tfrec.config.compare import CompareConfig
from tfrec.config.errors import Locator
from tfrec.config.evaluate import EvaluateConfig
from tfrec.config.overrides import apply_overrides
from tfrec.config.run import RunConfig
from tfrec.config.section import Section
from tfrec.config.validation import validate
from tfrec.config.yaml_io import read_yaml

S = TypeVar("S", bound=Section)


def load(path: Union[str, Path], schema: Type[S], overrides: Sequence[str] = ()) -> S:
    """Reads a YAML file, applies ``--set`` overrides and validates the result.

    Args:
      path: the YAML file.
      schema: the root section class (:class:`RunConfig`, :class:`EvaluateConfig`, ...).
      overrides: ``"dotted.key=value"`` strings, applied in order after the file (``--set``).

    Returns:
      The validated ``schema`` instance.

    Raises:
      FileNotFoundError: no such file.
      ConfigError: invalid YAML, unknown key, wrong type or invalid value (names key, file and line, or
        the override).
    """
    doc = read_yaml(path)
    raw, origins = apply_overrides(doc.data, overrides)
    return validate(schema, raw, Locator(str(path), doc.lines, origins))


def from_mapping(raw: Mapping[str, Any], schema: Type[S], source: Union[str, None] = None) -> S:
    """Validates a mapping built in code (errors name ``source`` if given)."""
    return validate(schema, raw, Locator(source))


def schema_of(raw: Mapping[str, Any]) -> type:
    """The schema of a config mapping by its sections: ``bench`` -> :class:`BenchConfig`, ``algorithms`` ->
    :class:`EvaluateConfig`, ``reference`` -> :class:`~tfrec.config.compare.CompareConfig` (a compare run),
    anything else -> :class:`RunConfig` (train / tune)."""
    if "bench" in raw:
        return BenchConfig
    if "reference" in raw:
        return CompareConfig
    if "algorithms" in raw:
        return EvaluateConfig
    return RunConfig
