"""Feature specifications and the layer that turns raw feature columns into embeddings.

A :class:`FeatureSpec` lists the input features of a model, one dict each::

    spec = FeatureSpec.from_config([
        {"name": "user_id", "kind": "categorical"},                     # vocabulary + OOV bucket 0
        {"name": "zip", "kind": "categorical", "hash_bins": 1000},      # hashed, no vocabulary
        {"name": "age", "kind": "numeric", "transform": "bucketize", "num_buckets": 8},
        {"name": "timestamp", "kind": "timestamp", "num_buckets": 20},
        {"name": "movie_genres", "kind": "multi_hot"},                  # list column, mean-pooled
        {"name": "movie_title", "kind": "text", "max_tokens": 5000},    # tokens, mean-pooled
    ])

:class:`FeatureLayer` computes every vocabulary and statistic from a (training) ``pd.DataFrame`` in
:meth:`FeatureLayer.adapt` and maps a dict of raw input tensors (keyed by column) to one
``[batch, dim]`` embedding per feature. Ids never seen in ``adapt`` go to the OOV bucket (index 0).

Each feature has a raw form (the column values: strings/ints, floats, padded lists, text) and an
*encoded* form (vocabulary indices and floats) produced by :meth:`FeatureLayer.encode`. Inputs given
under the key ``name + ENCODED_SUFFIX`` skip the lookups, so a training pipeline can encode once and
cache (:func:`frame_to_dataset` with ``encoder=layer``) while a served model still takes raw ids.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

__all__ = [
    "ENCODED_SUFFIX",
    "KINDS",
    "Feature",
    "FeatureSpec",
    "FeatureLayer",
    "frame_to_tensors",
    "frame_to_dataset",
]

#: Kinds of features :class:`FeatureLayer` understands.
KINDS = ("categorical", "numeric", "timestamp", "multi_hot", "text")
#: Inputs under ``feature.name + ENCODED_SUFFIX`` are already encoded (see :meth:`FeatureLayer.encode`).
ENCODED_SUFFIX = "__encoded"
NUMERIC_TRANSFORMS = ("normalize", "log", "bucketize")
OUTPUT_MODES = ("dict", "concat", "stack")

# Keys each kind accepts besides name/kind/column/embedding_dim.
_KIND_KEYS = {
    "categorical": {"hash_bins", "min_count", "max_tokens", "oov_dropout"},
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
        for key in ("embedding_dim", "hash_bins", "max_tokens", "max_length"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, (int, np.integer)) or value <= 0):
                raise ValueError(
                    f"Feature {self.name!r}: {key} must be a positive integer or None. Received: {key}={value!r}"
                )
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


# ----------------------------------------------------------------------------------------------
# pandas side: raw column values -> arrays the layer accepts
# ----------------------------------------------------------------------------------------------


def _check_columns(frame: pd.DataFrame, columns: Iterable[str], what: str = "feature spec") -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(
            f"The {what} names column(s) {missing} that the frame does not have. "
            f"Available columns: {sorted(map(str, frame.columns))}. Fix the feature's 'column' "
            f"(or 'name') or add the column to the frame."
        )


def _ids_to_str(series: pd.Series, name: str) -> np.ndarray:
    """Categorical ids as strings, exactly as ``_tf_ids_to_str`` renders them in the graph."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(np.int64).astype(str).to_numpy(dtype=object)
    if pd.api.types.is_float_dtype(series.dtype):
        raise TypeError(
            f"Categorical feature {name!r} has float column dtype {series.dtype}; ids must be strings, "
            f"integers or booleans. Cast the column (e.g. frame[col].astype('Int64').astype(str))."
        )
    values = series.to_numpy(dtype=object)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            out[i] = ""
        elif isinstance(v, (bool, np.bool_)):
            out[i] = str(int(v))
        elif isinstance(v, bytes):
            out[i] = v.decode("utf-8")
        else:
            out[i] = str(v)
    return out


def _list_column(series: pd.Series, name: str) -> List[List[str]]:
    out = []
    for v in series.to_numpy(dtype=object):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append([])
        elif isinstance(v, (str, bytes)):
            raise TypeError(
                f"multi_hot feature {name!r} expects list values (e.g. [4, 7]); received the string {v!r}. "
                f"Split it first, e.g. frame[col].str.split('|')."
            )
        else:
            out.append([str(int(x)) if isinstance(x, (bool, np.bool_)) else
                        (x.decode() if isinstance(x, bytes) else str(x)) for x in v])
    return out


def _pad_lists(lists: List[List[str]], max_length: int) -> np.ndarray:
    out = np.full((len(lists), max_length), "", dtype=object)
    for i, values in enumerate(lists):
        values = values[:max_length]
        out[i, : len(values)] = values
    return out


def _to_float(series: pd.Series, name: str, dtype=np.float32) -> np.ndarray:
    try:
        return pd.to_numeric(series, errors="raise").to_numpy(dtype=dtype, na_value=np.nan)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"Feature {name!r} needs numbers; column {series.name!r} has dtype {series.dtype} "
            f"(first values: {series.head(3).tolist()}). Convert it or use kind 'categorical'."
        ) from e


def _raw_array(frame: pd.DataFrame, feature: Feature, max_length: Optional[int]) -> np.ndarray:
    col = frame[feature.column]
    if feature.kind == "categorical":
        return _ids_to_str(col, feature.name)
    if feature.kind == "numeric":
        return _to_float(col, feature.name)
    if feature.kind == "timestamp":
        return _to_float(col, feature.name, np.float64)
    if feature.kind == "multi_hot":
        lists = _list_column(col, feature.name)
        if max_length is None:
            max_length = max(1, max((len(v) for v in lists), default=1))
        return _pad_lists(lists, max_length)
    # text
    return np.asarray([("" if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v))
                       for v in col.to_numpy(dtype=object)], dtype=object)


def _specs_of(spec) -> List[Feature]:
    """Features of a FeatureSpec / FeatureLayer / list of dicts / sequence of those (merged)."""
    if isinstance(spec, FeatureLayer):
        return list(spec.spec)
    if isinstance(spec, FeatureSpec):
        return list(spec)
    if isinstance(spec, Sequence) and spec and all(isinstance(s, (FeatureSpec, FeatureLayer)) for s in spec):
        merged: Dict[str, Feature] = {}
        for s in spec:
            for f in _specs_of(s):
                if f.name in merged and merged[f.name] != f:
                    raise ValueError(f"Feature {f.name!r} is defined twice with different settings.")
                merged[f.name] = f
        return list(merged.values())
    return list(FeatureSpec.coerce(spec))


def _layers_of(spec) -> List["FeatureLayer"]:
    if isinstance(spec, FeatureLayer):
        return [spec]
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        return [s for s in spec if isinstance(s, FeatureLayer)]
    return []


def _adapted_lengths(spec) -> Dict[str, int]:
    """Padded multi_hot lengths fixed by the adapted FeatureLayers in ``spec``."""
    lengths: Dict[str, int] = {}
    for layer in _layers_of(spec):
        for name, state in (layer.adapted_state or {}).items():
            if "max_length" in state:
                lengths[name] = int(state["max_length"])
    return lengths


def frame_to_tensors(frame: pd.DataFrame, spec, max_lengths: Optional[Mapping[str, int]] = None) -> Dict[str, np.ndarray]:
    """Raw input arrays of ``spec``'s features from ``frame``, keyed by column.

    Args:
      frame: DataFrame holding every column the spec reads.
      spec: FeatureSpec, FeatureLayer, list of feature dicts, or a sequence of specs/layers.
      max_lengths: optional padded length per multi_hot feature name; an adapted FeatureLayer
        supplies its own.

    Returns:
      dict column -> numpy array: categorical ``[n]`` str (missing -> ""), numeric ``[n]`` float32
      (missing -> NaN), timestamp ``[n]`` float64, multi_hot ``[n, max_length]`` str padded with "",
      text ``[n]`` str.
    """
    features = _specs_of(spec)
    _check_columns(frame, [f.column for f in features])
    lengths = {**_adapted_lengths(spec), **dict(max_lengths or {})}
    out: Dict[str, np.ndarray] = {}
    for f in features:
        if f.column in out:
            continue
        out[f.column] = _raw_array(frame, f, lengths.get(f.name, f.max_length))
    return out


def _to_tf(array: np.ndarray) -> tf.Tensor:
    if array.dtype == object:
        return tf.constant(array.astype(str), dtype=tf.string)
    return tf.constant(array)


def frame_to_dataset(
    frame: pd.DataFrame,
    spec,
    label: Optional[str] = None,
    batch_size: int = 1024,
    shuffle: bool = False,
    seed: Optional[int] = None,
    encoder: Optional["FeatureLayer"] = None,
    extra_columns: Sequence[str] = (),
    cache: bool = True,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """A batched ``tf.data.Dataset`` of ``spec``'s feature columns of ``frame``.

    Args:
      frame: DataFrame with every column the spec reads (plus ``label`` and ``extra_columns``).
      spec: FeatureSpec, FeatureLayer, list of feature dicts, or a sequence of specs/layers (merged,
        e.g. ``[query_layer, candidate_layer]``).
      label: optional label column; the dataset then yields ``(features, label)`` with a float32
        ``[batch]`` label, else ``features`` alone.
      batch_size: examples per batch, default 1024.
      shuffle: reshuffle the examples every epoch.
      seed: shuffle seed.
      encoder: optional adapted FeatureLayer (or sequence of them): its features are encoded once here
        (vocabulary indices, see :meth:`FeatureLayer.encode`) and given under
        ``name + ENCODED_SUFFIX`` instead of the raw column, so training skips the lookups.
      extra_columns: numeric columns passed through unchanged as float32 (e.g. a sampling probability).
      cache: cache the (encoded) examples in memory after the first epoch.
      drop_remainder: drop the last incomplete batch.

    Returns:
      A dataset of dicts of ``[batch, ...]`` tensors.

    Example:

    >>> frame = pd.DataFrame({"user_id": ["a", "b", "a"], "age": [20.0, 30.0, None]})
    >>> ds = frame_to_dataset(frame, [{"name": "user_id", "kind": "categorical"},
    ...                               {"name": "age", "kind": "numeric"}], batch_size=2)
    >>> sorted(next(iter(ds)))
    ['age', 'user_id']
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer. Received: batch_size={batch_size!r}")
    needed = list(extra_columns) + ([label] if label is not None else [])
    _check_columns(frame, needed, what="dataset")
    encoders = [] if encoder is None else ([encoder] if isinstance(encoder, FeatureLayer) else list(encoder))
    encoded_names = set()
    tensors: Dict[str, tf.Tensor] = {}
    for enc in encoders:
        for key, value in enc.encode_frame(frame).items():
            tensors[key] = value
            encoded_names.add(key[: -len(ENCODED_SUFFIX)])
    raw_features = [f for f in _specs_of(spec) if f.name not in encoded_names]
    if raw_features:
        lengths = _adapted_lengths(spec)
        for col, arr in frame_to_tensors(frame, FeatureSpec(raw_features), lengths).items():
            tensors[col] = _to_tf(arr)
    for col in extra_columns:
        tensors[col] = tf.constant(_to_float(frame[col], col))
    data: Any = tensors
    if label is not None:
        data = (tensors, tf.constant(_to_float(frame[label], label)))
    ds = tf.data.Dataset.from_tensor_slices(data)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(frame), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE)


# ----------------------------------------------------------------------------------------------
# statistics computed in adapt()
# ----------------------------------------------------------------------------------------------


def _vocabulary(values: np.ndarray, min_count: int, max_tokens: Optional[int]) -> List[str]:
    values = values[values != ""]
    counts = pd.Series(values, dtype=object).value_counts(sort=False)
    counts = counts[counts >= min_count]
    # most frequent first, ties by value: deterministic
    order = sorted(zip(-counts.to_numpy(), counts.index.astype(str)))
    vocab = [v for _, v in order]
    return vocab[:max_tokens] if max_tokens else vocab


# TextVectorization's default standardization ("lower_and_strip_punctuation").
_STRIP_REGEX = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'


def _text_vocabulary(texts: np.ndarray, max_tokens: Optional[int]) -> List[str]:
    """Tokens of ``texts`` as TextVectorization splits them, most frequent first (ties by token)."""
    standardized = tf.strings.regex_replace(tf.strings.lower(tf.constant(texts.astype(str))), _STRIP_REGEX, "")
    tokens = tf.strings.split(standardized).flat_values.numpy()
    values, counts = np.unique(tokens, return_counts=True)
    order = np.lexsort((values, -counts))
    vocab = [v.decode("utf-8") for v in values[order] if v]
    return vocab[:max_tokens] if max_tokens else vocab


def _quantile_boundaries(x: np.ndarray, num_buckets: int) -> List[float]:
    x = x[~np.isnan(x)]
    if x.size == 0:
        return []
    qs = np.quantile(x, np.linspace(0, 1, num_buckets + 1)[1:-1])
    return [float(b) for b in np.unique(qs)]


def _mean_std(x: np.ndarray) -> Dict[str, float]:
    x = x[~np.isnan(x)]
    if x.size == 0:
        return {"mean": 0.0, "std": 1.0}
    std = float(np.std(x))
    return {"mean": float(np.mean(x)), "std": std if std > 0 else 1.0}


# ----------------------------------------------------------------------------------------------
# the layer
# ----------------------------------------------------------------------------------------------


def _tf_ids_to_str(x: tf.Tensor) -> tf.Tensor:
    if x.dtype == tf.string:
        return x
    if x.dtype == tf.bool:
        x = tf.cast(x, tf.int64)
    if x.dtype.is_integer:
        return tf.strings.as_string(x)
    raise TypeError(f"Categorical inputs must be strings, integers or booleans. Received dtype {x.dtype.name}.")


@tf.keras.utils.register_keras_serializable(package="tfrec")
class FeatureLayer(tf.keras.layers.Layer):
    """Embeds the features of a :class:`FeatureSpec`: one ``[batch, dim]`` vector per feature.

    Per kind: ``categorical`` -> embedding of the vocabulary index (0 = OOV) or hash bucket;
    ``numeric`` -> transformed value (+ missing indicator) projected by a Dense layer, or the
    embedding of its quantile bucket (``bucketize``; bucket 0 = missing); ``timestamp`` -> embedding of
    its quantile bucket plus a projection of the z-scored value; ``multi_hot`` -> mean of the
    embeddings of the list's values (padding ignored, unknown values -> OOV); ``text`` -> mean of the
    token embeddings (lower-cased, punctuation stripped, whitespace split).

    Args:
      spec: a :class:`FeatureSpec` or a list of feature dicts.
      embedding_dim: output dimension of every feature without its own ``embedding_dim``; default 32.
      output_mode: ``"dict"`` -> ``{name: [batch, dim]}``; ``"concat"`` -> ``[batch, sum of dims]``;
        ``"stack"`` -> ``[batch, n_features, dim]`` (all dims must be equal).
      adapted_state: vocabularies and statistics per feature name, as written by :meth:`adapt`
        (``None`` = not adapted yet; call :meth:`adapt` before use).
      embeddings_initializer: initializer of every embedding table; default ``"uniform"``.
      embeddings_regularizer: optional regularizer of every embedding table.

    Call args:
      inputs: dict of tensors keyed by column (raw) or by ``name + ENCODED_SUFFIX`` (encoded):
        categorical ``[batch]`` str/int, numeric ``[batch]`` float, timestamp ``[batch]`` number,
        multi_hot ``[batch, length]`` str/int padded with "" / negative ints, or a RaggedTensor,
        text ``[batch]`` str.
      training: bool; enables ``oov_dropout``.

    Example:

    >>> frame = pd.DataFrame({"user_id": ["a", "b", "a"], "age": [20.0, 30.0, 40.0],
    ...                       "genres": [[1, 2], [3], []]})
    >>> layer = FeatureLayer([{"name": "user_id", "kind": "categorical"},
    ...                       {"name": "age", "kind": "numeric"},
    ...                       {"name": "genres", "kind": "multi_hot"}], embedding_dim=4)
    >>> layer.adapt(frame)
    >>> out = layer(frame_to_tensors(frame, layer))
    >>> {k: tuple(v.shape) for k, v in out.items()}
    {'user_id': (3, 4), 'age': (3, 4), 'genres': (3, 4)}
    """

    def __init__(
        self,
        spec,
        embedding_dim: int = 32,
        output_mode: str = "dict",
        adapted_state: Optional[Dict[str, Dict[str, Any]]] = None,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.spec = FeatureSpec.coerce(spec)
        if not isinstance(embedding_dim, (int, np.integer)) or embedding_dim <= 0:
            raise ValueError(f"embedding_dim must be a positive integer. Received: embedding_dim={embedding_dim!r}")
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"output_mode must be one of {list(OUTPUT_MODES)}. Received: output_mode={output_mode!r}")
        self.embedding_dim = int(embedding_dim)
        self.output_mode = output_mode
        self.embeddings_initializer = tf.keras.initializers.get(embeddings_initializer)
        self.embeddings_regularizer = tf.keras.regularizers.get(embeddings_regularizer)
        dims = {f.name: self.feature_dim(f.name) for f in self.spec}
        if output_mode == "stack" and len(set(dims.values())) > 1:
            raise ValueError(
                f"output_mode='stack' needs every feature to have the same dimension. Received dims {dims}; "
                f"remove the per-feature embedding_dim values or use output_mode='concat'."
            )
        self.adapted_state: Optional[Dict[str, Dict[str, Any]]] = None
        if adapted_state is not None:
            self._set_state(adapted_state)

    # -- configuration ------------------------------------------------------------------------

    def feature_dim(self, name: str) -> int:
        """Output dimension of feature ``name``."""
        return self.spec[name].embedding_dim or self.embedding_dim

    @property
    def output_dim(self) -> int:
        """Width of the ``concat`` output (sum of feature dims)."""
        return sum(self.feature_dim(f.name) for f in self.spec)

    @property
    def is_adapted(self) -> bool:
        return self.adapted_state is not None

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "spec": self.spec.get_config(),
                "embedding_dim": self.embedding_dim,
                "output_mode": self.output_mode,
                "adapted_state": self.adapted_state,
                "embeddings_initializer": tf.keras.initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": tf.keras.regularizers.serialize(self.embeddings_regularizer)
                if self.embeddings_regularizer is not None else None,
            }
        )
        return config

    # -- adapt ----------------------------------------------------------------------------------

    def adapt(self, frame: pd.DataFrame) -> None:
        """Computes every vocabulary and statistic from ``frame`` (the training data) only.

        Raises:
          KeyError: a feature's column is missing; the message lists the frame's columns.
          RuntimeError: the layer was already adapted (create a new layer to re-adapt).
        """
        if self.is_adapted:
            raise RuntimeError(
                f"FeatureLayer {self.name!r} is already adapted; its embedding tables are sized to that "
                f"vocabulary. Create a new FeatureLayer to adapt on other data."
            )
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"adapt expects a pandas DataFrame. Received: {type(frame).__name__}")
        _check_columns(frame, [f.column for f in self.spec])
        if len(frame) == 0:
            raise ValueError("adapt received an empty frame; it needs the training rows.")
        state: Dict[str, Dict[str, Any]] = {}
        for f in self.spec:
            col = frame[f.column]
            if f.kind == "categorical":
                if f.hash_bins:
                    state[f.name] = {}
                else:
                    vocab = _vocabulary(_ids_to_str(col, f.name), f.min_count, f.max_tokens)
                    if not vocab:
                        raise ValueError(
                            f"Feature {f.name!r}: no value occurs at least min_count={f.min_count} times in "
                            f"column {f.column!r}; lower min_count or use hash_bins."
                        )
                    state[f.name] = {"vocabulary": vocab}
            elif f.kind == "numeric":
                x = _to_float(col, f.name, np.float64)
                if f.transform == "bucketize":
                    state[f.name] = {"boundaries": _quantile_boundaries(x, f.num_buckets)}
                else:
                    if f.transform == "log":
                        x = np.log1p(np.maximum(x, 0.0))
                    state[f.name] = _mean_std(x)
            elif f.kind == "timestamp":
                x = _to_float(col, f.name, np.float64)
                state[f.name] = {**_mean_std(x), "boundaries": _quantile_boundaries(x, f.num_buckets)}
            elif f.kind == "multi_hot":
                lists = _list_column(col, f.name)
                flat = np.asarray([v for values in lists for v in values], dtype=object)
                vocab = _vocabulary(flat, f.min_count, f.max_tokens)
                max_length = f.max_length or max(1, max((len(v) for v in lists), default=1))
                state[f.name] = {"vocabulary": vocab, "max_length": int(max_length)}
            else:  # text
                state[f.name] = {"vocabulary": _text_vocabulary(_raw_array(frame, f, None), f.max_tokens)}
        self._set_state(state)

    def _set_state(self, state: Mapping[str, Mapping[str, Any]]) -> None:
        missing = [f.name for f in self.spec if f.name not in state]
        if missing:
            raise ValueError(f"adapted_state has no entry for feature(s) {missing}; re-run adapt().")
        self.adapted_state = {k: dict(v) for k, v in state.items() if k in self.spec.names}
        self._create_sublayers()

    def _create_sublayers(self) -> None:
        lookups: Dict[str, tf.keras.layers.Layer] = {}
        tables: Dict[str, tf.keras.layers.Layer] = {}
        dense: Dict[str, tf.keras.layers.Layer] = {}
        constants: Dict[str, Any] = {}
        for f in self.spec:
            st = self.adapted_state[f.name]
            dim = self.feature_dim(f.name)

            def embedding(n, _name=f.name, _dim=dim):
                # a fresh initializer per table: one shared unseeded instance gives identical tables
                init = tf.keras.initializers.deserialize(
                    tf.keras.initializers.serialize(self.embeddings_initializer))
                return tf.keras.layers.Embedding(
                    n, _dim, embeddings_initializer=init,
                    embeddings_regularizer=self.embeddings_regularizer, name=f"{_name}_embedding")

            if f.kind == "categorical":
                if f.hash_bins:
                    tables[f.name] = embedding(f.hash_bins + 1)
                else:
                    lookups[f.name] = tf.keras.layers.StringLookup(
                        vocabulary=st["vocabulary"], num_oov_indices=1, mask_token=None, name=f"{f.name}_lookup")
                    tables[f.name] = embedding(len(st["vocabulary"]) + 1)
            elif f.kind == "numeric":
                if f.transform == "bucketize":
                    tables[f.name] = embedding(len(st["boundaries"]) + 2)
                else:
                    dense[f.name] = tf.keras.layers.Dense(dim, name=f"{f.name}_projection")
            elif f.kind == "timestamp":
                tables[f.name] = embedding(len(st["boundaries"]) + 2)
                dense[f.name] = tf.keras.layers.Dense(dim, use_bias=False, name=f"{f.name}_projection")
            elif f.kind == "multi_hot":
                lookups[f.name] = tf.keras.layers.StringLookup(
                    vocabulary=st["vocabulary"] or ["[EMPTY]"], num_oov_indices=1, mask_token=None,
                    name=f"{f.name}_lookup")
                tables[f.name] = embedding(max(len(st["vocabulary"]), 1) + 1)
            else:  # text
                lookups[f.name] = tf.keras.layers.TextVectorization(
                    vocabulary=st["vocabulary"] or ["[EMPTY]"],
                    output_sequence_length=f.max_length or 16, name=f"{f.name}_vectorizer")
                tables[f.name] = embedding(max(len(st["vocabulary"]), 1) + 2)
            if "boundaries" in st:
                constants[f.name] = st["boundaries"]
        self._lookups = lookups
        self._tables = tables
        self._dense = dense
        self._boundaries = constants

    # -- encode ---------------------------------------------------------------------------------

    def _require_adapted(self) -> None:
        if not self.is_adapted:
            raise RuntimeError(
                f"FeatureLayer {self.name!r} is not adapted: call layer.adapt(train_frame) first "
                f"(or pass adapted_state)."
            )

    def _bucket(self, name: str, x: tf.Tensor) -> tf.Tensor:
        """1 + quantile bucket of float ``x``; NaN -> 0."""
        boundaries = tf.constant(self._boundaries[name] or [0.0], dtype=x.dtype)
        flat = tf.reshape(x, [-1])
        idx = tf.searchsorted(boundaries, flat, side="right", out_type=tf.int64) + 1
        if not self._boundaries[name]:
            idx = tf.ones_like(idx)
        idx = tf.where(tf.math.is_nan(flat), tf.zeros_like(idx), idx)
        return tf.reshape(idx, tf.shape(x))

    def _encode_one(self, f: Feature, x) -> tf.Tensor:
        if f.kind == "categorical":
            s = _tf_ids_to_str(tf.convert_to_tensor(x))
            if f.hash_bins:
                idx = tf.strings.to_hash_bucket_fast(s, f.hash_bins) + 1
                return tf.where(tf.equal(s, ""), tf.zeros_like(idx), idx)
            return tf.cast(self._lookups[f.name](s), tf.int64)
        if f.kind == "numeric":
            x = tf.cast(x, tf.float32)
            return self._bucket(f.name, x) if f.transform == "bucketize" else x
        if f.kind == "timestamp":
            return tf.cast(x, tf.float64)
        if f.kind == "multi_hot":
            if isinstance(x, tf.RaggedTensor):
                pad = "" if x.dtype == tf.string else -1
                x = x.to_tensor(default_value=pad)
            x = tf.convert_to_tensor(x)
            if x.dtype.is_integer:
                valid = x >= 0
            else:
                x = _tf_ids_to_str(x)
                valid = tf.not_equal(x, "")
            idx = tf.cast(self._lookups[f.name](_tf_ids_to_str(x)), tf.int64)
            return tf.where(valid, idx, -tf.ones_like(idx))  # -1 marks padding
        # text: [batch] -> [batch, max_length] token ids, 0 = padding, 1 = OOV
        x = tf.convert_to_tensor(x)
        if x.shape.rank == 2:
            x = tf.squeeze(x, axis=1)
        return tf.cast(self._lookups[f.name](x), tf.int64)

    def _input_for(self, inputs: Mapping[str, Any], f: Feature):
        key = f.name + ENCODED_SUFFIX
        if key in inputs:
            return inputs[key], True
        if f.column in inputs:
            return inputs[f.column], False
        raise KeyError(
            f"FeatureLayer {self.name!r}: no input for feature {f.name!r}: expected key {f.column!r} (raw) "
            f"or {key!r} (encoded). Received keys: {sorted(inputs)}."
        )

    def _select(self, names: Optional[Sequence[str]]) -> List[Feature]:
        if names is None:
            return list(self.spec)
        unknown = [n for n in names if n not in self.spec.names]
        if unknown:
            raise KeyError(f"Unknown feature name(s) {unknown}. Features: {self.spec.names}.")
        return [f for f in self.spec if f.name in set(names)]

    def encode(self, inputs: Mapping[str, Any], names: Optional[Sequence[str]] = None) -> Dict[str, tf.Tensor]:
        """Encodes raw inputs (keyed by column) to ``{name + ENCODED_SUFFIX: tensor}``.

        Encoded forms: categorical / numeric-bucketize ``[batch]`` int64 (0 = OOV/missing); numeric
        ``[batch]`` float32; timestamp ``[batch]`` float64; multi_hot ``[batch, length]`` int64
        (-1 = padding, 0 = OOV); text ``[batch, max_length]`` int64 (0 = padding, 1 = OOV).

        Args:
          inputs: dict of raw tensors keyed by column.
          names: optional subset of feature names to encode (default: all).
        """
        self._require_adapted()
        out = {}
        for f in self._select(names):
            x, encoded = self._input_for(inputs, f)
            out[f.name + ENCODED_SUFFIX] = x if encoded else self._encode_one(f, x)
        return out

    def encode_frame(self, frame: pd.DataFrame, names: Optional[Sequence[str]] = None) -> Dict[str, tf.Tensor]:
        """:meth:`encode` of the raw columns of ``frame`` (all rows at once; optional feature subset)."""
        self._require_adapted()
        features = self._select(names)
        lengths = {n: st["max_length"] for n, st in self.adapted_state.items() if "max_length" in st}
        raw = {k: _to_tf(v) for k, v in frame_to_tensors(frame, FeatureSpec(features), lengths).items()}
        return self.encode(raw, names)

    # -- embed ----------------------------------------------------------------------------------

    def _embed_one(self, f: Feature, x: tf.Tensor, training) -> tf.Tensor:
        st = self.adapted_state[f.name]
        if f.kind == "categorical" or (f.kind == "numeric" and f.transform == "bucketize"):
            x = tf.cast(tf.reshape(x, [-1]), tf.int64)
            if f.kind == "categorical" and f.oov_dropout > 0 and training:
                drop = tf.random.uniform(tf.shape(x)) < f.oov_dropout
                x = tf.where(drop, tf.zeros_like(x), x)
            return self._tables[f.name](x)
        if f.kind == "numeric":
            x = tf.reshape(tf.cast(x, tf.float32), [-1, 1])
            if f.transform == "log":
                x = tf.math.log1p(tf.maximum(x, 0.0))
            missing = tf.math.is_nan(x)
            x = (x - st["mean"]) / st["std"]
            x = tf.where(missing, tf.zeros_like(x), x)
            if f.missing_indicator:
                x = tf.concat([x, tf.cast(missing, tf.float32)], axis=1)
            return self._dense[f.name](x)
        if f.kind == "timestamp":
            x = tf.reshape(tf.cast(x, tf.float64), [-1])
            bucket = self._bucket(f.name, x)
            z = tf.cast((x - st["mean"]) / st["std"], tf.float32)
            z = tf.where(tf.math.is_nan(z), tf.zeros_like(z), z)
            return self._tables[f.name](bucket) + self._dense[f.name](z[:, None])
        # multi_hot (-1 padding) and text (0 padding): mean of the valid positions
        x = tf.cast(x, tf.int64)
        if f.kind == "multi_hot":
            valid = x >= 0
            x = tf.maximum(x, 0)
        else:
            valid = x > 0
        emb = self._tables[f.name](x)
        weights = tf.cast(valid, emb.dtype)[..., None]
        total = tf.reduce_sum(emb * weights, axis=1)
        count = tf.reduce_sum(weights, axis=1)
        return tf.math.divide_no_nan(total, count)

    def call(self, inputs: Mapping[str, Any], training=None):
        self._require_adapted()
        if not isinstance(inputs, Mapping):
            raise TypeError(
                f"FeatureLayer expects a dict of tensors keyed by column. Received: {type(inputs).__name__}"
            )
        outputs = {}
        for f in self.spec:
            x, encoded = self._input_for(inputs, f)
            if not encoded:
                x = self._encode_one(f, x)
            outputs[f.name] = self._embed_one(f, x, training)
        return self.format(outputs)

    def format(self, outputs: Mapping[str, tf.Tensor]):
        """Applies ``output_mode`` to a ``{name: [batch, dim]}`` dict."""
        if self.output_mode == "dict":
            return dict(outputs)
        if self.output_mode == "concat":
            return self.concat(outputs)
        return tf.stack([outputs[n] for n in self.spec.names], axis=1)

    def concat(self, outputs: Mapping[str, tf.Tensor]) -> tf.Tensor:
        """``[batch, sum of dims]``: the per-feature outputs concatenated in spec order."""
        return tf.concat([outputs[n] for n in self.spec.names], axis=-1)
