"""Named feature lists: the MovieLens side-feature presets and :func:`resolve_features`."""

from __future__ import annotations

from typing import Any, Dict, List

from tfrec.features.spec import FeatureSpec


# Side-feature presets for the MovieLens frames of ``tfrec.data.load_movielens`` (TFDS names).
MOVIELENS_USER_FEATURES: List[Dict[str, Any]] = [
    {"name": "user_id", "kind": "categorical"},
    {"name": "raw_user_age", "kind": "numeric", "transform": "bucketize", "num_buckets": 10},
    {"name": "user_gender", "kind": "categorical"},
    {"name": "user_occupation_label", "kind": "categorical"},
    {"name": "user_zip_code", "kind": "categorical", "min_count": 2},
]
MOVIELENS_ITEM_FEATURES: List[Dict[str, Any]] = [
    {"name": "movie_id", "kind": "categorical"},
    {"name": "movie_genres", "kind": "multi_hot"},
    {"name": "movie_title", "kind": "text", "max_length": 8},
    {"name": "year", "kind": "numeric", "transform": "bucketize", "num_buckets": 10},
]
PRESETS = {"movielens_user": MOVIELENS_USER_FEATURES, "movielens_item": MOVIELENS_ITEM_FEATURES}


def resolve_features(features, default_id: str) -> List[Dict[str, Any]]:
    """A feature list from ``None`` (id only), a preset name or a list of feature dicts.

    Args:
      features: ``None`` -> ``[{"name": default_id, "kind": "categorical"}]``; ``"movielens_user"`` /
        ``"movielens_item"`` -> the MovieLens side-feature presets; a list of dicts -> itself.
      default_id: id column used when ``features`` is None.
    """
    if features is None:
        return [{"name": default_id, "kind": "categorical"}]
    if isinstance(features, str):
        if features not in PRESETS:
            raise ValueError(f"Unknown feature preset {features!r}. Presets: {sorted(PRESETS)}, or pass a list of feature dicts.")
        return [dict(f) for f in PRESETS[features]]
    return [dict(f) for f in FeatureSpec.coerce(features).get_config()]


__all__ = ["MOVIELENS_ITEM_FEATURES", "MOVIELENS_USER_FEATURES", "resolve_features"]
