"""The one YAML reader of tfrec configs: YAML 1.2 floats, and the line of every key kept for error messages."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Dict, Optional, Union

import yaml

from tfrec.config.errors import ConfigError


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


@dataclasses.dataclass
class YamlDocument:
    """A parsed YAML file.

    Attributes:
      data: the parsed value (None for an empty text).
      lines: dotted key (``"training.epochs"``, ``"algorithms[1].params"``) -> 1-based line.
      source: the file name, or None.
    """

    data: Any
    lines: Dict[str, int]
    source: Optional[str] = None


def parse_yaml_document(text: str, source: Optional[str] = None) -> YamlDocument:
    """Parses YAML text, keeping the line of every mapping key and list item.

    Raises:
      ConfigError: a syntax error (with its line).
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"is not valid YAML: {problem}", source=source or "<string>",
                          line=mark.line + 1 if mark is not None else None) from e
    finally:
        loader.dispose()
    lines: Dict[str, int] = {}
    if node is not None:
        _record_lines(node, "", lines, set())
    return YamlDocument(data, lines, source)


def _record_lines(node: yaml.Node, prefix: str, lines: Dict[str, int], active: set) -> None:
    if id(node) in active:  # an alias of a node that contains itself
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        # after construction, merge keys (<<: *anchor) are flattened into node.value, merged pairs first,
        # so a key written in the mapping itself overrides the line of the merged one
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            lines[key] = key_node.start_mark.line + 1
            _record_lines(value_node, key, lines, active)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            key = f"{prefix}[{i}]"
            lines[key] = item.start_mark.line + 1
            _record_lines(item, key, lines, active)
    active.discard(id(node))


def read_yaml(path: Union[str, Path]) -> YamlDocument:
    """Reads a YAML config file whose top level is a mapping (an empty file is {}).

    Raises:
      FileNotFoundError: no such file.
      ConfigError: a syntax error (file and line), or a top level that is not a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Config file {path} not found. Pass an existing YAML file, e.g. "
                                "configs/train_mf_ml100k.yaml.")
    doc = parse_yaml_document(path.read_text(), source=str(path))
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        raise ConfigError(f"must be a mapping of sections (data, model, training, ...), got "
                          f"{type(doc.data).__name__}.", source=str(path), line=1)
    return doc


def load_yaml(path: Union[str, Path]) -> Dict[str, Any]:
    """The mapping of a YAML config file, unvalidated (see :func:`tfrec.config.load` to validate it)."""
    return read_yaml(path).data


def parse_yaml(text: str, source: str = "<string>") -> Any:
    """Parses YAML text (YAML 1.2 floats); a syntax error raises :class:`ConfigError` naming ``source``."""
    return parse_yaml_document(text, source).data


def dump_yaml(data: Any) -> str:
    """Block-style YAML of ``data`` in its key order."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
