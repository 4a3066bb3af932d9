"""The base class of every config section: a strict pydantic model, and helpers to walk a schema.

A section rejects unknown keys (``extra="forbid"``) and converts no types (``strict=True``: ``"3"``
is not an integer, ``"yes"`` not a boolean); ints are accepted where floats are expected.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Callable, List, Literal, Optional, Sequence, Tuple, Union

import pydantic

from tfrec.config.errors import Locator

#: ``fail(dotted_key, message)``: raises a ConfigError naming the key's file and line.
Fail = Callable[[str, str], None]


class Section(pydantic.BaseModel):
    """A config section. Subclasses declare their keys as typed fields with defaults.

    ``check(fail)`` runs after the types are validated, for rules that span keys; it calls
    ``fail(dotted_key, message)`` (which raises) on a bad value.
    """

    model_config = pydantic.ConfigDict(extra="forbid", strict=True, protected_namespaces=())
    #: where the values came from (set by :func:`tfrec.config.validate` on the root section)
    _locator: Any = pydantic.PrivateAttr(default=None)

    def check(self, fail: Fail) -> None:
        """Cross-key checks of the whole config (the root section's method is the one called)."""

    @property
    def source(self) -> Optional[str]:
        """The file a root section was read from (None for a mapping built in code)."""
        return self._locator.source if self._locator is not None else None

    @property
    def locator(self) -> Any:
        """Where each value of a root section came from (a ``tfrec.config.Locator``: file, lines, overrides).

        ``config.locator.fail(key, message)`` raises a ConfigError naming the key's file and line.
        """
        return self._locator if self._locator is not None else Locator()


def _strip_optional(tp: Any) -> Any:
    if typing.get_origin(tp) is Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def is_section(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def field_at(schema: type, loc: Sequence[Any]) -> Tuple[Any, Optional[Any]]:
    """(annotation, pydantic FieldInfo or None) of the value at ``loc`` (a pydantic error location).

    Returns (None, None) where ``loc`` leaves the schema (an unknown key).
    """
    tp: Any = schema
    info: Any = None
    for part in loc:
        tp = _strip_optional(_strip_annotated(tp)[0])
        origin = typing.get_origin(tp)
        if is_section(tp):
            info = tp.model_fields.get(part) if isinstance(part, str) else None
            if info is None:
                return None, None
            tp = info.annotation
        elif origin in (dict, typing.Dict):
            tp, info = typing.get_args(tp)[1], None
        elif origin in (list, typing.List, tuple):
            tp, info = typing.get_args(tp)[0], None
        else:
            return None, None
    tp, extra = _strip_annotated(tp)
    if extra:
        info = types.SimpleNamespace(metadata=list(getattr(info, "metadata", [])) + extra)
    return tp, info


def _strip_annotated(tp: Any) -> Tuple[Any, list]:
    """(type, constraint metadata) of ``Annotated[type, Field(gt=0), ...]``."""
    if typing.get_origin(tp) is not typing.Annotated:
        return tp, []
    extra = []
    for m in tp.__metadata__:
        extra.extend(getattr(m, "metadata", None) or [m])
    return typing.get_args(tp)[0], extra


def section_at(schema: type, loc: Sequence[Any]) -> Optional[type]:
    """The section class at ``loc``, or None."""
    tp, _ = field_at(schema, loc)
    tp = _strip_optional(tp)
    return tp if is_section(tp) else None


def valid_keys(schema: type, prefix: str = "") -> List[str]:
    """Every dotted key of a schema (``"training.early_stopping.patience"``, ...), sections included."""
    out = []
    for name, info in schema.model_fields.items():
        key = f"{prefix}{name}"
        out.append(key)
        tp = _strip_optional(info.annotation)
        if is_section(tp):
            out.extend(valid_keys(tp, key + "."))
    return out


_TYPE_NAMES = {int: "an integer", float: "a number (float)", bool: "a boolean (true/false)", str: "a string",
               type(None): "null"}


def describe_type(tp: Any) -> str:
    """The expected type in words: ``"an integer"``, ``"one of 'min', 'max'"``, ``"a list of integers"``."""
    tp = _strip_annotated(tp)[0]
    origin = typing.get_origin(tp)
    if tp in _TYPE_NAMES:
        return _TYPE_NAMES[tp]
    if tp is Any:
        return "any value"
    if origin is Literal:
        return "one of " + ", ".join(repr(c) for c in typing.get_args(tp))
    if origin is Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        text = " or ".join(describe_type(a) for a in args)
        return text + " or null" if len(args) < len(typing.get_args(tp)) else text
    if origin in (list, typing.List, tuple):
        item = describe_type(typing.get_args(tp)[0]) if typing.get_args(tp) else "value"
        return f"a list of {item.removeprefix('an ').removeprefix('a ').split(' (')[0]}s"
    if origin in (dict, typing.Dict) or is_section(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def range_text(info: Any, tp: Any) -> Optional[str]:
    """The bounds of a constrained field in words (``"a positive integer"``, ``"in (0, 1)"``), or None."""
    if info is None:
        return None
    low = high = None
    for m in info.metadata:
        for attr, sym in (("gt", "("), ("ge", "[")):
            if getattr(m, attr, None) is not None:
                low = (sym, getattr(m, attr))
        for attr, sym in (("lt", ")"), ("le", "]")):
            if getattr(m, attr, None) is not None:
                high = (sym, getattr(m, attr))
    if low and high:
        return f"in {low[0]}{low[1]}, {high[1]}{high[0]}"
    if low:
        if _strip_optional(tp) is int and low == ("(", 0):
            return "a positive integer"
        return f"{'>' if low[0] == '(' else '>='} {low[1]}"
    if high:
        return f"{'<' if high[0] == ')' else '<='} {high[1]}"
    return None
