"""Builds the registered ``hybrid`` (a :class:`~tfrec.recommenders.hybrid.HybridRecommender`) from registry names.

Each component is built exactly like an ``algorithms`` entry of ``tfrec evaluate``
(:func:`~tfrec.training.family_algorithm.build_algorithm`): Keras models are trained by the Trainer,
closed-form algorithms are fitted directly.

Example:
  >>> algo = build_hybrid([{"name": "popularity", "weight": 1}, {"name": "item_mean", "weight": 3}])
  >>> [a.name for a in algo.components], algo.weights
  (['popularity', 'item_mean'], [1.0, 3.0])
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from tfrec.recommenders.hybrid import HybridRecommender
from tfrec.training.family_algorithm import build_algorithm

__all__ = ["build_hybrid"]


def build_hybrid(components: Sequence[Dict[str, Any]], normalize: str = "minmax", tune_weights: bool = False,
                 validation_ratio: float = 0.1, seed: int = 42, grid_step: float = 0.1, k: int = 10,
                 name: Optional[str] = None) -> HybridRecommender:
    """The unfitted hybrid of ``components`` (see :class:`~tfrec.training.families.hybrid.HybridParams`).

    Raises:
      ValueError: an invalid component (the message says which entry) or an invalid blend setting.
    """
    algos = []
    for i, comp in enumerate(components):
        try:
            algos.append(build_algorithm(comp["name"], comp.get("params"), training=comp.get("training"),
                                         data=comp.get("data"), label=comp.get("label")))
        except ValueError as e:
            raise ValueError(f"hybrid components[{i}] ({comp.get('name')!r}): {e}") from e
    weights = [float(c["weight"]) for c in components] if all("weight" in c for c in components) else None
    return HybridRecommender(algos, weights=weights, normalize=normalize, tune_weights=tune_weights,
                             validation_ratio=validation_ratio, seed=seed, grid_step=grid_step, k=k, name=name)
