"""Argument checks and parameter schemas shared by the recommenders."""

from __future__ import annotations

from typing import Any, Dict, Type

import numpy as np
import pydantic


def check_positive(name: str, value, kind=int) -> None:
    """Raises a ValueError naming ``name`` unless ``value`` is a positive int (``kind=int``) or number."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0 or (kind is int and int(value) != value):
        expected = "a positive integer" if kind is int else "a positive number"
        raise ValueError(f"Received an invalid value for {name}, expected {expected}. Received: {name}={value!r}")


def positive_int(name: str, value) -> int:
    """``value`` as an int; a ValueError naming ``name`` unless it is a positive integer (numpy ints too)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"Received an invalid value for {name}, expected a positive integer. Received: {name}={value!r}")
    return int(value)


def check_dense_memory(owner: str, what: str, n: int, itemsize: int, limit_gib: float, advice: str) -> None:
    """Refuses, before anything is allocated, a dense [n, n] matrix larger than ``limit_gib`` GiB.

    Args:
      owner: the algorithm's name, for the message.
      what: the matrix in words, e.g. "item-item similarity".
      n: its side (number of items or users).
      itemsize: bytes per entry (8 for float64).
      limit_gib: the limit in GiB (the algorithm's ``max_similarity_gib``).
      advice: what to do besides raising the limit.

    Raises:
      MemoryError: the size, the limit and what to do, e.g. ``item_knn: the item-item similarity matrix
        would take 5.54 GiB (27,278 x 27,278 float64), over max_similarity_gib=4.0 ...``.
    """
    need = float(n) * float(n) * itemsize / 2**30
    if need > limit_gib:
        raise MemoryError(
            f"{owner}: the {what} matrix would take {need:.2f} GiB ({n:,} x {n:,} x {itemsize} bytes), over "
            f"max_similarity_gib={limit_gib:g}. {advice} Or raise the limit (params: {{max_similarity_gib: "
            f"{int(need) + 1}}}) if the machine has that much free memory.")


class AlgorithmParams(pydantic.BaseModel):
    """Base of an algorithm's parameter schema: strict types (ints widen to floats), unknown keys refused."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True, frozen=True)


def validated(schema: Type[AlgorithmParams], algorithm: str, values: Dict[str, Any]) -> AlgorithmParams:
    """``values`` checked against ``schema``.

    Args:
      schema: the parameter schema (an :class:`AlgorithmParams` subclass).
      algorithm: the algorithm's name, for the message.
      values: parameter name -> value.

    Raises:
      ValueError: the first invalid value, e.g. ``Received an invalid value for n_factors of svd,
        expected Input should be greater than 0. Received: n_factors=0``.
    """
    try:
        return schema(**values)
    except pydantic.ValidationError as e:
        err = e.errors()[0]
        name = ".".join(str(p) for p in err["loc"])
        received = values.get(name, err.get("input"))
        raise ValueError(f"Received an invalid value for {name} of {algorithm}: {err['msg']}. "
                         f"Received: {name}={received!r}") from None


class SeedFromParams:
    """Mixin: a read-write ``seed`` attribute kept in ``self.params`` (an :class:`AlgorithmParams` with a
    ``seed`` field), so that ``tfrec bench`` seeds and the evaluator's churn rerun can set it."""

    params: AlgorithmParams

    @property
    def seed(self) -> int:
        return int(self.params.seed)

    @seed.setter
    def seed(self, value: int) -> None:
        self.params = self.params.model_copy(update={"seed": int(value)})
