"""Feature specifications: :class:`Feature` (one input feature) and :class:`FeatureSpec` (a list of them).

A :class:`FeatureSpec` lists the input features of a model, one dict each::

    spec = FeatureSpec.from_config([
        {"name": "user_id", "kind": "categorical"},                     # vocabulary + OOV bucket 0
        {"name": "zip", "kind": "categorical", "hash_bins": 1000},      # hashed, no vocabulary
        {"name": "C3", "kind": "categorical", "num_ids": 50000},        # integer ids 0..49999, no vocabulary
        {"name": "age", "kind": "numeric", "transform": "bucketize", "num_buckets": 8},
        {"name": "timestamp", "kind": "timestamp", "num_buckets": 20},
        {"name": "movie_genres", "kind": "multi_hot"},                  # list column, mean-pooled
        {"name": "movie_title", "kind": "text", "max_tokens": 5000},    # tokens, mean-pooled
    ])

:class:`~tfrec.features.layer.FeatureLayer` embeds them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np


#: Kinds of features :class:`FeatureLayer` understands.
KINDS = ("categorical", "numeric", "timestamp", "multi_hot", "text")
#: Inputs under ``feature.name + ENCODED_SUFFIX`` are already encoded (see :meth:`FeatureLayer.encode`).
ENCODED_SUFFIX = "__encoded"
NUMERIC_TRANSFORMS = ("normalize", "log", "bucketize")
OUTPUT_MODES = ("dict", "concat", "stack")

# Keys each kind accepts besides name/kind/column/embedding_dim.
_KIND_KEYS = {
    "categorical": {"hash_bins", "num_ids", "min_count", "max_tokens", "oov_dropout"},
    "numeric": {"transform", "num_buckets", "missing_indicator"},
    "timestamp": {"num_buckets"},
    "multi_hot": {"min_count", "max_tokens", "max_length"},
    "text": {"max_tokens", "max_length"},
}
_COMMON_KEYS = {"name", "kind", "column", "embedding_dim"}


@dataclasses.dataclass(frozen=True)
class Feature:
    """One input feature.

    Args:
      name: feature name; the key of its output embedding (and of its encoded input).
      kind: one of ``KINDS``.
      column: the DataFrame column / raw input key it reads; defaults to ``name``.
      embedding_dim: output dimension of this feature; defaults to the layer's ``embedding_dim``.
      hash_bins: categorical only: hash ids into this many buckets instead of a vocabulary.
      num_ids: categorical only: the column already holds integer ids ``0..num_ids-1`` (a shard folder's
        ids, sized from its manifest): id ``i`` is embedding row ``i + 1``, any other value the OOV row 0;
        no vocabulary and no string lookup.
      min_count: categorical/multi_hot: values seen fewer times in training go to the OOV bucket.
      max_tokens: categorical/multi_hot/text: keep at most this many most frequent values.
      oov_dropout: categorical only: probability of replacing an id by the OOV bucket while
        training, so the OOV embedding learns a useful "unknown id" vector (cold start).
      transform: numeric only: ``"normalize"`` (z-score), ``"log"`` (``log1p(max(x, 0))`` then
        z-score) or ``"bucketize"`` (training quantiles, embedded).
      num_buckets: numeric ``bucketize`` and timestamp: number of quantile buckets.
      missing_indicator: numeric only: add an ``is NaN`` input beside the value (NaN -> 0 always).
      max_length: multi_hot: padded list length (default: longest training list); text: tokens per
        text (default 16).
    """

    name: str
    kind: str
    column: Optional[str] = None
    embedding_dim: Optional[int] = None
    hash_bins: Optional[int] = None
    num_ids: Optional[int] = None
    min_count: int = 1
    max_tokens: Optional[int] = None
    oov_dropout: float = 0.0
    transform: str = "normalize"
    num_buckets: int = 10
    missing_indicator: bool = False
    max_length: Optional[int] = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"A feature needs a non-empty string name. Received: name={self.name!r}")
        if self.kind not in KINDS:
            raise ValueError(
                f"Feature {self.name!r}: unknown kind {self.kind!r}. Expected one of {list(KINDS)}."
            )
        if self.column is None:
            object.__setattr__(self, "column", self.name)
        for key in ("embedding_dim", "hash_bins", "num_ids", "max_tokens", "max_length"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, (int, np.integer)) or value <= 0):
                raise ValueError(
                    f"Feature {self.name!r}: {key} must be a positive integer or None. Received: {key}={value!r}"
                )
        if self.hash_bins is not None and self.num_ids is not None:
            raise ValueError(f"Feature {self.name!r}: give hash_bins (hashed ids) or num_ids (integer ids), not both. "
                             f"Received: hash_bins={self.hash_bins!r}, num_ids={self.num_ids!r}")
        if not isinstance(self.min_count, (int, np.integer)) or self.min_count < 1:
            raise ValueError(f"Feature {self.name!r}: min_count must be an integer >= 1. Received: {self.min_count!r}")
        if not isinstance(self.num_buckets, (int, np.integer)) or self.num_buckets < 2:
            raise ValueError(
                f"Feature {self.name!r}: num_buckets must be an integer >= 2. Received: {self.num_buckets!r}"
            )
        if self.transform not in NUMERIC_TRANSFORMS:
            raise ValueError(
                f"Feature {self.name!r}: transform must be one of {list(NUMERIC_TRANSFORMS)}. "
                f"Received: transform={self.transform!r}"
            )
        if not 0.0 <= float(self.oov_dropout) < 1.0:
            raise ValueError(f"Feature {self.name!r}: oov_dropout must be in [0, 1). Received: {self.oov_dropout!r}")

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> "Feature":
        """Builds a feature from a dict; unknown keys (or keys of another kind) are an error."""
        if not isinstance(config, Mapping):
            raise TypeError(f"A feature must be given as a dict. Received: {config!r}")
        missing = [k for k in ("name", "kind") if k not in config]
        if missing:
            raise ValueError(f"Feature {dict(config)!r} is missing required key(s) {missing}.")
        kind = config["kind"]
        if kind not in KINDS:
            raise ValueError(f"Feature {config['name']!r}: unknown kind {kind!r}. Expected one of {list(KINDS)}.")
        allowed = _COMMON_KEYS | _KIND_KEYS[kind]
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise ValueError(
                f"Feature {config['name']!r} of kind {kind!r} got unknown key(s) {unknown}. "
                f"Allowed keys: {sorted(allowed)}."
            )
        return cls(**dict(config))

    def to_dict(self) -> Dict[str, Any]:
        """The dict form, with only the keys that apply to this kind (round trips with from_dict)."""
        keys = _COMMON_KEYS | _KIND_KEYS[self.kind]
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name in keys}


class FeatureSpec:
    """An ordered list of :class:`Feature`.

    Args:
      features: sequence of :class:`Feature` or feature dicts (see :class:`Feature` for the keys).

    Example:

    >>> spec = FeatureSpec.from_config([{"name": "user_id", "kind": "categorical"},
    ...                                 {"name": "age", "kind": "numeric", "transform": "log"}])
    >>> spec.names
    ['user_id', 'age']
    >>> FeatureSpec.from_config(spec.get_config()) == spec
    True
    """

    def __init__(self, features: Iterable[Union[Feature, Mapping[str, Any]]]):
        if isinstance(features, (str, bytes, Mapping)):
            raise TypeError(
                f"FeatureSpec takes a list of feature dicts. Received a {type(features).__name__}: {features!r}"
            )
        feats = [f if isinstance(f, Feature) else Feature.from_dict(f) for f in features]
        if not feats:
            raise ValueError("A FeatureSpec needs at least one feature. Received an empty list.")
        names = [f.name for f in feats]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"Feature names must be unique. Received duplicates: {dup}.")
        self.features: List[Feature] = feats

    @classmethod
    def from_config(cls, config: Sequence[Mapping[str, Any]]) -> "FeatureSpec":
        """Builds a spec from a list of feature dicts."""
        return cls(config)

    @classmethod
    def coerce(cls, spec: Union["FeatureSpec", Sequence[Any]]) -> "FeatureSpec":
        """Returns ``spec`` if it is a FeatureSpec, else builds one from a list of dicts/Features."""
        return spec if isinstance(spec, FeatureSpec) else cls(spec)

    def get_config(self) -> List[Dict[str, Any]]:
        """The list of feature dicts (JSON/YAML serializable)."""
        return [f.to_dict() for f in self.features]

    @property
    def names(self) -> List[str]:
        return [f.name for f in self.features]

    @property
    def columns(self) -> List[str]:
        """Distinct input columns, in feature order."""
        return list(dict.fromkeys(f.column for f in self.features))

    def __getitem__(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(f"No feature named {name!r}. Features: {self.names}.")

    def __iter__(self):
        return iter(self.features)

    def __len__(self) -> int:
        return len(self.features)

    def __eq__(self, other) -> bool:
        return isinstance(other, FeatureSpec) and self.features == other.features

    def __repr__(self) -> str:
        return f"FeatureSpec({self.get_config()!r})"


__all__ = ["ENCODED_SUFFIX", "KINDS", "NUMERIC_TRANSFORMS", "OUTPUT_MODES", "Feature", "FeatureSpec"]
