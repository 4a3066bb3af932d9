"""``model``: which model family a run trains, and its parameters."""

from __future__ import annotations

from typing import Any, Dict

from pydantic import Field

from tfrec.config.section import Section


class ModelConfig(Section):
    """Which model family and its parameters.

    The parameters are checked against the family's own schema (names, types, defaults) by the
    training layer (``tfrec.training.config``), which knows the families; here they are a mapping.

    Attributes:
      name: a registered model family ("mf", "two_tower", "dcn", ...). Default "mf".
      params: keyword parameters of the family's builder. Default {}.

    Example:
      >>> ModelConfig(name="mf", params={"embedding_dim": 16}).params["embedding_dim"]
      16
    """

    name: str = "mf"
    params: Dict[str, Any] = Field(default_factory=dict)
