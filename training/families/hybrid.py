"""``params`` of the registered ``hybrid``: a weighted blend of any registered algorithms.

Example (an entry of ``tfrec evaluate``'s ``algorithms``, the course's RBM + ContentKNN exercise)::

    - name: hybrid
      label: "hybrid (rbm + content_knn)"
      params:
        components:
          - {name: rbm, params: {orientation: item}, training: {epochs: 20, batch_size: 16}}
          - {name: content_knn}
        normalize: minmax
        tune_weights: true

The components are built like ``algorithms`` entries (``name``, ``label``, ``params``, and for Keras
models ``training`` and ``data``), each with an optional ``weight``. The blend itself is
``tfrec.recommenders.hybrid.HybridRecommender``; ``tfrec.training.hybrid.build_hybrid`` builds it.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal

from pydantic import Field, field_validator

from tfrec.training.families.params import FamilyParams

__all__ = ["COMPONENT_KEYS", "HybridParams"]

#: keys of one ``components`` entry
COMPONENT_KEYS = ("name", "label", "params", "training", "data", "weight")


class HybridParams(FamilyParams):
    """``params`` of ``hybrid``.

    Attributes:
      components: at least two entries ``{name, label?, params?, training?, data?, weight?}``; either
        every entry has a ``weight`` (>= 0, not all 0; normalised to sum 1) or none has (equal weights,
        or tuned). Required.
      normalize: per-user normalisation of ranking scores: "minmax", "z" or "none". Default "minmax".
      tune_weights: search the weights on a validation carve of the training rows (never the test
        rows). Default False.
      validation_ratio: share of the training rows carved out for the search; in (0, 1). Default 0.1.
      seed: seed of the carve. Default 42.
      grid_step: step of the simplex grid of weights searched (must divide 1). Default 0.1.
      k: list length of the ranking objective (recall@k) when a component does not predict ratings. Default 10.
    """

    components: List[Dict[str, Any]] = Field(default_factory=list)
    normalize: Literal["minmax", "z", "none"] = "minmax"
    tune_weights: bool = False
    validation_ratio: float = Field(0.1, gt=0, lt=1)
    seed: int = 42
    grid_step: float = Field(0.1, gt=0, le=1)
    k: int = Field(10, gt=0)

    @field_validator("components")
    @classmethod
    def _check_components(cls, value: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        weighted = 0  # (at least two entries: checked by HybridRecommender, so the default [] is a valid schema)
        for i, comp in enumerate(value):
            unknown = sorted(set(comp) - set(COMPONENT_KEYS))
            if unknown:
                raise ValueError(f"entry {i} has unknown key(s) {unknown}; valid keys: {', '.join(COMPONENT_KEYS)}")
            if not isinstance(comp.get("name"), str):
                raise ValueError(f"entry {i} needs a 'name' (a registered algorithm)")
            if comp.get("name") == "hybrid":
                raise ValueError(f"entry {i} is a hybrid itself; list its components directly")
            weight = comp.get("weight")
            if weight is not None:
                if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
                    raise ValueError(f"entry {i} has weight {weight!r}; a weight is a number >= 0")
                weighted += 1
        if weighted not in (0, len(value)):
            raise ValueError("gives a weight to some entries only; give every entry a weight or none")
        return value
