"""Validates a config mapping against a schema; pydantic's errors become one clear :class:`ConfigError`.

Messages (the file and line, or the ``--set`` override, come first)::

    x.yaml:3: unknown config key 'training.epoch'. Did you mean 'training.epochs'? Valid keys here: ...
    x.yaml:3: config key 'training.epochs' expects an integer, got str 'ten'.
    x.yaml (--set training.epochs=0): config key 'training.epochs' must be a positive integer, got 0.
"""

from __future__ import annotations

import difflib
from typing import Any, List, Mapping, Optional, Sequence, Type, TypeVar

import pydantic

from tfrec.config.errors import ConfigError, Locator
from tfrec.config.section import Section, describe_type, field_at, range_text, section_at, valid_keys

S = TypeVar("S", bound=Section)


def dotted(loc: Sequence[Any]) -> str:
    """``("algorithms", 0, "params")`` -> ``"algorithms[0].params"``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(schema: Type[S], raw: Any, locator: Optional[Locator] = None) -> S:
    """A validated ``schema`` instance of ``raw``; runs the schema's ``check(fail)`` afterwards.

    Args:
      schema: the root section class.
      raw: the mapping as read from YAML (overrides applied).
      locator: where the values came from (file, lines, overrides); default: nowhere.

    Raises:
      ConfigError: the first problem, with the dotted key, the file and line (or the override).
    """
    locator = locator or Locator()
    if not isinstance(raw, Mapping):
        locator.fail(None, f"expects a mapping of sections at the top level, got {type(raw).__name__}.")
    try:
        config = schema.model_validate(dict(raw))
    except pydantic.ValidationError as e:
        raise translate(e, schema, locator) from None
    config._locator = locator
    config.check(locator.fail)
    return config


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "..."


def _pick(errors: List[dict]) -> dict:
    """The error to report: an unknown key first (a typo explains the rest), else the first."""
    for err in errors:
        if err["type"] == "extra_forbidden":
            return err
    return errors[0]


def translate(error: pydantic.ValidationError, schema: type, locator: Locator) -> ConfigError:
    """The :class:`ConfigError` of the most telling problem of a pydantic ``ValidationError``."""
    err = _pick(error.errors())
    loc = [p for p in err["loc"]]
    key = dotted(loc)
    value = err.get("input")
    kind = err["type"]
    if kind == "extra_forbidden":
        return locator.error(key, unknown_key_message(schema, loc))
    if kind == "missing":
        return locator.error(key, f"config key {key!r} is required.")
    tp, info = field_at(schema, loc)
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bounds = range_text(info, tp) or err["msg"].lower()
        return locator.error(key, f"config key {key!r} must be {bounds}, got {value!r}.")
    if kind == "literal_error":
        choices = err.get("ctx", {}).get("expected", "")
        want = describe_type(tp) if tp is not None else f"one of {choices}"
        close = difflib.get_close_matches(str(value), [str(c) for c in getattr(tp, "__args__", ())], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return locator.error(key, f"config key {key!r} expects {want}, got {value!r}.{hint}")
    if kind in ("model_type", "model_attributes_type", "dict_type") and section_at(schema, loc) is not None:
        name = key or "the file"
        return locator.error(key, f"config section {name!r} expects a mapping, got {type(value).__name__} "
                                  f"{_shown(value)}.")
    if kind == "value_error":  # a section's own field validator
        message = str(err.get("ctx", {}).get("error", err["msg"]))
        return locator.error(key, f"config key {key!r}: {message}")
    want = describe_type(tp) if tp is not None else err["msg"].lower()
    return locator.error(key, f"config key {key!r} expects {want}, got {type(value).__name__} {_shown(value)}.")


def unknown_key_message(schema: type, loc: Sequence[Any]) -> str:
    """``unknown config key 'a.b'. Did you mean 'a.c'? Valid keys here: ...``."""
    key = dotted(loc)
    parent = section_at(schema, loc[:-1])
    prefix = dotted(loc[:-1])
    prefix = prefix + "." if prefix else ""
    names = list(parent.model_fields) if parent else []
    here = [f"{prefix}{name}" for name in names]
    last = str(loc[-1])
    close = [prefix + c for c in difflib.get_close_matches(last, names, n=1, cutoff=0.6)]
    if not close:  # maybe the key belongs to another section: match its last part across the whole schema
        every = valid_keys(schema)
        by_last = {}
        for k in every:
            by_last.setdefault(k.rsplit(".", 1)[-1], k)
        close = [by_last[c] for c in difflib.get_close_matches(last, list(by_last), n=1, cutoff=0.8)]
        close = close or difflib.get_close_matches(key, every, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown config key {key!r}.{hint} Valid keys here: {', '.join(here)}."
