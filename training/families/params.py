"""Typed ``model.params`` of a family: a pydantic model per family, and config errors in plain words.

Every family declares its parameters as a subclass of :class:`FamilyParams` (pydantic v2, strict,
``extra="forbid"``); the field defaults are the family's defaults. :func:`validate_params` checks a
``model.params`` mapping against such a schema and reports the first problem through ``fail(key,
message)`` in the words of the config loader:

* unknown key -> ``unknown config key 'model.params.X' for model 'mf'. Did you mean
  'model.params.Y'? Valid parameters: ...``;
* wrong type -> ``config key 'model.params.X' expects an integer, got str 'abc'.``;
* a value out of range -> ``config key 'model.params.X' must be >= 1, got 0.``

Types are strict: integers widen to floats, booleans are not integers, strings are not numbers.
Tuples are accepted where a list is expected (as lists).

Example:
  >>> class Params(FamilyParams):
  ...     embedding_dim: int = 64
  ...     l2: float = 1e-4
  >>> validate_params(Params, "mf", {"l2": 1}, fail=print)
  {'embedding_dim': 64, 'l2': 1.0}
"""

from __future__ import annotations

import difflib
import typing
from typing import Any, Callable, Dict, List, Optional, Type, Union

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

Fail = Callable[[str, str], None]

__all__ = ["Fail", "FamilyParams", "FeatureList", "describe_type", "validate_params"]

#: a feature list parameter: None (the id alone), a preset name ("movielens_user", "movielens_item")
#: or a list of feature dicts (or column names)
FeatureList = Optional[Union[str, List[Union[str, Dict[str, Any]]]]]


class FamilyParams(BaseModel):
    """Base of the parameter schemas: strict types, unknown keys refused, tuples read as lists."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=False)

    @field_validator("*", mode="before")
    @classmethod
    def _tuples_as_lists(cls, value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value


_NAMES = {bool: ("a boolean", "booleans"), int: ("an integer", "integers"), float: ("a number (float)", "numbers"),
          str: ("a string", "strings"), dict: ("a mapping", "mappings"), list: ("a list", "lists"),
          type(None): ("null", "nulls")}


def describe_type(annotation: Any, plural: bool = False) -> str:
    """Words for a field's type: ``int`` -> "an integer", ``Optional[List[int]]`` -> "a list of integers or null".

    Args:
      annotation: a type annotation (builtins, ``List``, ``Dict``, ``Optional``/``Union``,
        ``Literal``, ``Annotated`` with a ``Gt(0)``/``Ge`` bound, ``Any``).
      plural: the plural noun ("integers"), for list elements.
    """
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return "values" if plural else "any value"
    if origin is typing.Literal:
        values = [repr(a) for a in args]
        return f"{values[0]} or {values[1]}" if len(values) == 2 else f"one of {', '.join(values)}"
    if origin is typing.Annotated:
        base = describe_type(args[0], plural)
        for meta in args[1:]:
            if getattr(meta, "gt", None) == 0:  # annotated_types.Gt(0), as in pydantic.PositiveInt
                return f"positive {base}" if plural else f"a positive {base.split(' ', 1)[1]}"
        return base
    if origin is typing.Union:
        parts = [a for a in args if a is not type(None)]
        words = " or ".join(describe_type(a, plural) for a in parts)
        return f"{words} or null" if len(parts) < len(args) else words
    if origin in (list, typing.List):
        if not args or args[0] is Any:
            return _NAMES[list][plural]
        return f"{'lists' if plural else 'a list'} of {describe_type(args[0], plural=True)}"
    if origin in (dict, typing.Dict):
        return _NAMES[dict][plural]
    if annotation in _NAMES:
        return _NAMES[annotation][plural]
    return getattr(annotation, "__name__", str(annotation))


_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}


def _message(schema: Type[FamilyParams], family: str, error: dict, params: Dict[str, Any]) -> str:
    key = error["loc"][0]
    dotted = f"model.params.{key}"
    if error["type"] == "extra_forbidden":
        fields = list(schema.model_fields)
        close = difflib.get_close_matches(str(key), fields, n=1)
        hint = f" Did you mean 'model.params.{close[0]}'?" if close else ""
        return (f"unknown config key {dotted!r} for model {family!r}.{hint} "
                f"Valid parameters: {', '.join(sorted(fields))}.")
    value = params[key]
    kind = error["type"]
    if kind in _BOUNDS and len(error["loc"]) == 1:
        bound = error["ctx"][{">=": "ge", ">": "gt", "<=": "le", "<": "lt"}[_BOUNDS[kind]]]
        return f"config key {dotted!r} must be {_BOUNDS[kind]} {bound}, got {value!r}."
    if kind == "value_error":  # a field validator's own words
        return f"config key {dotted!r} {error['ctx']['error']}."
    want = describe_type(schema.model_fields[key].annotation)
    nested = any(isinstance(part, int) for part in error["loc"][1:])  # an element of a list
    if kind.endswith("_type") and not nested:
        return f"config key {dotted!r} expects {want}, got {type(value).__name__} {value!r}."
    return f"config key {dotted!r} expects {want}, got {value!r}."  # right type, value not allowed


def validate_params(schema: Type[FamilyParams], family: str, params: Dict[str, Any], fail: Fail) -> Dict[str, Any]:
    """Checks ``params`` against ``schema`` and returns them merged over the defaults.

    Args:
      schema: the family's :class:`FamilyParams` subclass.
      family: the model name, for the messages.
      params: the ``model.params`` mapping of a config.
      fail: ``fail(dotted_key, message)``, called for the first problem (in the order of ``params``);
        the config loader's raises ``ConfigError``. If it returns, the unchecked values are merged.

    Returns:
      Every parameter of the schema: ``params`` (ints widened to floats, tuples as lists) over the
      defaults.
    """
    try:
        return schema.model_validate(dict(params)).model_dump()
    except ValidationError as e:
        order = {k: i for i, k in enumerate(params)}
        errors = sorted(e.errors(), key=lambda err: order.get(err["loc"][0] if err["loc"] else "", len(order)))
        reported = set()
        for err in errors:  # one message per key (a union reports each of its members)
            if err["loc"] and err["loc"][0] not in reported:
                reported.add(err["loc"][0])
                fail(f"model.params.{err['loc'][0]}", _message(schema, family, err, params))
        return {**schema().model_dump(), **params}
