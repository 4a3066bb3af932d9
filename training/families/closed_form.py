"""Registry entries whose fit is the algorithm's own (no Keras loop): :class:`ClosedFormTask`.

A closed-form algorithm (random, popularity, the means, item KNN, ...) is registered like a Keras
family: one name, a :class:`~tfrec.training.families.params.FamilyParams` schema whose defaults are
the algorithm's defaults, and one way to build it (:meth:`ClosedFormTask.create`). ``tfrec evaluate``
fits it directly on each fold's training rows; ``tfrec train`` refuses it (there is nothing to train
with the Trainer).

The algorithm class is named as ``"module:attribute"`` and imported only when it is built or its
schema is derived, so importing this module (and the registry) does not import TensorFlow.

Example:
  >>> from tfrec.training.families.registry import get_task
  >>> task = get_task("item_mean")
  >>> task.closed_form, task.defaults
  (True, {'damping': 5.0})
  >>> task.create({"damping": 2.0}, label="item mean (m=2)").name
  'item mean (m=2)'
"""

from __future__ import annotations

import importlib
import inspect
import typing
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional, Type

import pydantic
from pydantic import ConfigDict, Field

from tfrec.config.errors import ConfigError
from tfrec.recommenders.knn.params import KNNParams
from tfrec.training.families.base import Task
from tfrec.training.families.params import FamilyParams, validate_params

__all__ = ["ClosedFormTask", "ContentKNNParams", "ItemMeanParams", "KNNFamilyParams", "NoParams", "PopularityParams",
           "RandomParams", "derived_schema"]


class NoParams(FamilyParams):
    """No parameters (popularity, global_mean)."""


class RandomParams(FamilyParams):
    """``params`` of ``random``.

    Attributes:
      seed: seed of the random scores. Default 42.
    """

    seed: int = 42


class ItemMeanParams(FamilyParams):
    """``params`` of ``item_mean``.

    Attributes:
      damping: weight ``m`` of the global mean in ``(sum + m * mu) / (count + m)``; >= 0. Default 5.0.
    """

    damping: float = Field(5.0, ge=0)


class KNNFamilyParams(FamilyParams, KNNParams):
    """``params`` of ``user_knn`` and ``item_knn``: the fields of
    :class:`~tfrec.recommenders.knn.params.KNNParams` (similarity, variant, k, min_k, min_support,
    shrinkage, threshold, implicit, baseline_reg_u, baseline_reg_i, baseline_epochs, max_similarity_gib)."""


class PopularityParams(FamilyParams):
    """``params`` of ``popularity``.

    Attributes:
      half_life_days: None (plain counts) or the half-life in days of an interaction's weight,
        ``0.5 ** (age / half_life_days)`` with its age before the newest training interaction
        (recency-decayed popularity); positive. Default None.
    """

    half_life_days: Optional[float] = Field(None, gt=0)


class ContentKNNParams(FamilyParams):
    """``params`` of ``content_knn`` (``tfrec.recommenders.content_knn``).

    Attributes:
      features: feature sets multiplied into the item similarity: "genres" (cosine), "year"
        (``exp(-|dy| / year_scale)``). Default ["genres", "year"].
      feature_files: dense per-item feature CSVs (id column first, numeric columns), z-normalised. Default [].
      k: neighbours among the user's rated items; positive. Default 40.
      year_scale: decay of the year similarity in years; positive. Default 10.0.
      max_similarity_gib: fit refuses to allocate a similarity matrix over this many GiB (MemoryError
        with the size); positive. Default 4.0.
    """

    features: List[Literal["genres", "year"]] = Field(default_factory=lambda: ["genres", "year"])
    feature_files: List[str] = Field(default_factory=list)
    k: int = Field(40, gt=0)
    year_scale: float = Field(10.0, gt=0)
    max_similarity_gib: float = Field(4.0, gt=0)


class _OpenParams(FamilyParams):
    """A derived schema of a factory with ``**kwargs``: unknown keys go through to it."""

    model_config = ConfigDict(extra="allow", strict=True, validate_default=False)


def _as_lists(value: Any) -> Any:
    """A default with its tuples (at any depth) as lists, as a YAML config writes them."""
    return [_as_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


def _factory(target: str) -> Callable[..., Any]:
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)


def derived_schema(name: str, factory: Callable[..., Any], fixed: Mapping[str, Any]) -> Type[FamilyParams]:
    """A params schema read from ``factory``'s signature: its keyword arguments, types and defaults.

    ``name`` (the row name) and the ``fixed`` arguments are left out; an argument without an annotation
    (or with one pydantic cannot check) takes any value; ``**kwargs`` lets unknown keys through to it.

    Args:
      name: the registry name (the schema's class name is derived from it).
      factory: the algorithm class or function.
      fixed: arguments set by the registry entry itself (e.g. ``{"model": "bpr"}``).
    """
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # noqa: BLE001 -- unresolvable annotations: every argument takes any value
        hints = {}
    fields: Dict[str, Any] = {}
    extra = "forbid"
    for arg in list(inspect.signature(factory).parameters.values()):
        if arg.kind is arg.VAR_KEYWORD:
            extra = "allow"
            continue
        if arg.name in ("self", "name") or arg.name in fixed or arg.kind is arg.VAR_POSITIONAL:
            continue
        annotation = hints.get(arg.name, Any)
        try:
            pydantic.TypeAdapter(annotation)
        except Exception:  # noqa: BLE001 -- a type pydantic cannot validate: accept any value
            annotation = Any
        default = _as_lists(arg.default) if arg.default is not arg.empty else ...
        fields[arg.name] = (annotation, default)
    base = FamilyParams if extra == "forbid" else _OpenParams
    return pydantic.create_model(f"{name.title().replace('_', '')}Params", __base__=base, **fields)


class ClosedFormTask(Task):
    """A registered algorithm fitted by its own ``fit`` (see the module docstring).

    Args:
      name: the registry name.
      target: ``"module:attribute"`` of the algorithm class (or factory function).
      kind: "rating", "ranking" or "session" (a ``SessionRecommender``, trained on click logs).
      params_schema: the schema of its parameters; None = derived from the factory's signature
        (:func:`derived_schema`) on first use.
      fixed: arguments the entry always passes (not parameters of the name). Default {}.
    """

    closed_form = True

    def __init__(self, name: str, target: str, kind: str = "ranking",
                 params_schema: Optional[Type[FamilyParams]] = None, fixed: Optional[Mapping[str, Any]] = None):
        self.name = name
        self.kind = kind
        self.target = target
        self.fixed = dict(fixed or {})
        self._schema = params_schema

    @property
    def params_schema(self) -> Type[FamilyParams]:  # type: ignore[override]
        """The params schema (derived from the factory's signature when none was given)."""
        if self._schema is None:
            self._schema = derived_schema(self.name, _factory(self.target), self.fixed)
        return self._schema

    def create(self, params: Optional[Mapping[str, Any]] = None, label: Optional[str] = None):
        """The unfitted algorithm with ``params`` (checked against the schema, over its defaults).

        Args:
          params: the entry's ``params``. Default {}.
          label: the result row's name. Default: the registry name.

        Raises:
          ValueError: an invalid parameter (a ``ConfigError`` naming ``model.params.<key>``) or a value
            the algorithm itself refuses.
        """
        def fail(key: str, message: str) -> None:
            raise ConfigError(message, key=key)

        checked = validate_params(self.params_schema, self.name, dict(params or {}), fail)
        algo = _factory(self.target)(**self.fixed, **checked)
        algo.name = label or self.name
        return algo

    def check_warm_start(self, params, training, fail) -> None:
        fail("training.warm_start", f"model {self.name!r} is fitted in closed form; it has no warm start.")
