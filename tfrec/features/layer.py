"""The layer that turns raw feature columns into embeddings: :class:`FeatureLayer`.

:class:`FeatureLayer` computes every vocabulary and statistic from a (training) ``pd.DataFrame`` in
:meth:`FeatureLayer.adapt` and maps a dict of raw input tensors (keyed by column) to one
``[batch, dim]`` embedding per feature. Ids never seen in ``adapt`` go to the OOV bucket (index 0).

Each feature has a raw form (the column values: strings/ints, floats, padded lists, text) and an
*encoded* form (vocabulary indices and floats) produced by :meth:`FeatureLayer.encode`. Inputs given
under the key ``name + ENCODED_SUFFIX`` skip the lookups, so a training pipeline can encode once and
cache (:func:`frame_to_dataset` with ``encoder=layer``) while a served model still takes raw ids.

Vocabularies travel as files (:mod:`~tfrec.features.vocab_files`): the lookups read them through a
``TextFileInitializer``, a SavedModel holds them under ``assets/``, and ``get_config`` names the file
and its size (``{"vocabulary_file", "vocabulary_size"}``), not the tokens.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.features.columns import (
    check_columns,
    ids_to_str,
    list_column,
    raw_array,
    to_float,
    to_tf,
    feature_arrays,
)
from tfrec.features.spec import ENCODED_SUFFIX, OUTPUT_MODES, Feature, FeatureSpec
from tfrec.features.vocab_files import FILE_KEY, SIZE_KEY, read_vocabulary, write_vocabulary
from tfrec.features.vocabulary import mean_std, quantile_boundaries, text_vocabulary, value_vocabulary


def _in_keras_saved_model_scope() -> bool:
    """True while Keras saves or loads a SavedModel (``model.save(save_format="tf")`` / ``load_model``)."""
    try:
        from tf_keras.src.saving.legacy.saved_model.utils import in_tf_saved_model_scope
    except ImportError:  # another tf_keras layout: configs keep their vocabulary files
        return False
    return bool(in_tf_saved_model_scope())


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

    Per kind: ``categorical`` -> embedding of the vocabulary index (0 = OOV), hash bucket or integer
    id (``num_ids``: id + 1);
    ``numeric`` -> value z-scored by a Keras ``Normalization`` layer holding the training rows' mean and
    variance (after ``log1p`` for ``log``; + missing indicator) projected by a Dense layer, or the
    embedding of its quantile bucket from a Keras ``Discretization`` layer (``bucketize``; bucket 0 =
    missing); categorical, multi-hot and text vocabularies are Keras ``StringLookup`` /
    ``TextVectorization`` layers reading vocabulary files (SavedModel assets); ``timestamp`` -> embedding of
    its quantile bucket plus a projection of the z-scored value; ``multi_hot`` -> mean of the
    embeddings of the list's values (padding ignored, unknown values -> OOV); ``text`` -> mean of the
    token embeddings (lower-cased, punctuation stripped, whitespace split).

    Args:
      spec: a :class:`FeatureSpec` or a list of feature dicts.
      embedding_dim: output dimension of every feature without its own ``embedding_dim``; default 32.
      output_mode: ``"dict"`` -> ``{name: [batch, dim]}``; ``"concat"`` -> ``[batch, sum of dims]``;
        ``"stack"`` -> ``[batch, n_features, dim]`` (all dims must be equal).
      adapted_state: vocabularies and statistics per feature name, as written by :meth:`adapt` or
        ``get_config`` (a vocabulary as ``{"vocabulary_file": path, "vocabulary_size": n}`` or as a
        ``"vocabulary"`` list); ``None`` = not adapted yet (call :meth:`adapt` before use).
      embeddings_initializer: initializer of every embedding table; default ``"uniform"``.
      embeddings_regularizer: optional regularizer of every embedding table.
      projection_initializer: kernel initializer of the Dense projections of numeric (log /
        normalize) and timestamp values; default ``"glorot_uniform"`` (Keras' Dense default). The
        FM models pass ``embeddings_initializer``, so that a numeric field starts on the scale of a
        categorical one (see ``tfrec.models.ctr_builder.build_model``).

    Call args:
      inputs: dict of tensors keyed by column (raw) or by ``name + ENCODED_SUFFIX`` (encoded):
        categorical ``[batch]`` str/int, numeric ``[batch]`` float, timestamp ``[batch]`` number,
        multi_hot ``[batch, length]`` str/int padded with "" / negative ints, or a RaggedTensor,
        text ``[batch]`` str.
      training: bool; enables ``oov_dropout``.

    Example:

    >>> from tfrec.features import frame_to_tensors
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
        projection_initializer="glorot_uniform",
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
        self.projection_initializer = tf.keras.initializers.get(projection_initializer)
        dims = {f.name: self.feature_dim(f.name) for f in self.spec}
        if output_mode == "stack" and len(set(dims.values())) > 1:
            raise ValueError(
                f"output_mode='stack' needs every feature to have the same dimension. Received dims {dims}; "
                f"remove the per-feature embedding_dim values or use output_mode='concat'."
            )
        self._state: Optional[Dict[str, Dict[str, Any]]] = None
        # feature name -> vocabulary file; None: the lookup's table comes from a Keras SavedModel's assets
        self._vocabulary_files: Dict[str, Optional[str]] = {}
        self._vocabulary_sizes: Dict[str, int] = {}
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
        return self._state is not None

    @property
    def adapted_state(self) -> Optional[Dict[str, Dict[str, Any]]]:
        """Vocabularies (token lists) and statistics per feature name; None before :meth:`adapt`."""
        self._read_restored_vocabularies()
        return self._state

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "spec": self.spec.get_config(),
                "embedding_dim": self.embedding_dim,
                "output_mode": self.output_mode,
                "adapted_state": self._serialized_state(),
                "embeddings_initializer": tf.keras.initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": tf.keras.regularizers.serialize(self.embeddings_regularizer)
                if self.embeddings_regularizer is not None else None,
                "projection_initializer": tf.keras.initializers.serialize(self.projection_initializer),
            }
        )
        return config

    def _serialized_state(self) -> Optional[Dict[str, Dict[str, Any]]]:
        """``adapted_state`` with each vocabulary as its file and size (the tokens stay in the file).

        In a Keras SavedModel's metadata the file is ``None``: the lookups' tables are restored from
        the SavedModel (its ``assets/``) when it loads, as Keras does for a ``StringLookup``.
        """
        state = self.adapted_state
        if state is None:
            return None
        keras_saved_model = _in_keras_saved_model_scope()
        out = {}
        for name, st in state.items():
            out[name] = dict(st)
            if name in self._vocabulary_files:
                del out[name]["vocabulary"]
                out[name].update({FILE_KEY: None if keras_saved_model else self._vocabulary_files[name],
                                  SIZE_KEY: len(st["vocabulary"])})
        return out

    def _read_restored_vocabularies(self) -> None:
        """Token lists (and files) of the vocabularies restored from a Keras SavedModel's tables."""
        for name, path in list(self._vocabulary_files.items()):
            if path is None and self._state[name]["vocabulary"] is None:
                tokens = [t.decode("utf-8") if isinstance(t, bytes) else str(t)
                          for t in self._lookups[name].get_vocabulary(include_special_tokens=False)]
                if self._vocabulary_sizes[name] == 0:
                    tokens = []
                self._state[name]["vocabulary"] = tokens
                self._vocabulary_files[name] = write_vocabulary(tokens or ["[EMPTY]"], name)

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
        check_columns(frame, [f.column for f in self.spec])
        if len(frame) == 0:
            raise ValueError("adapt received an empty frame; it needs the training rows.")
        state: Dict[str, Dict[str, Any]] = {}
        for f in self.spec:
            col = frame[f.column]
            if f.kind == "categorical":
                if f.hash_bins or f.num_ids:
                    state[f.name] = {}
                else:
                    vocab = value_vocabulary(ids_to_str(col, f.name), f.min_count, f.max_tokens)
                    if not vocab:
                        raise ValueError(
                            f"Feature {f.name!r}: no value occurs at least min_count={f.min_count} times in "
                            f"column {f.column!r}; lower min_count or use hash_bins."
                        )
                    state[f.name] = {"vocabulary": vocab}
            elif f.kind == "numeric":
                x = to_float(col, f.name, np.float64)
                if f.transform == "bucketize":
                    state[f.name] = {"boundaries": quantile_boundaries(x, f.num_buckets)}
                else:
                    if f.transform == "log":
                        x = np.log1p(np.maximum(x, 0.0))
                    state[f.name] = mean_std(x)
            elif f.kind == "timestamp":
                x = to_float(col, f.name, np.float64)
                state[f.name] = {**mean_std(x), "boundaries": quantile_boundaries(x, f.num_buckets)}
            elif f.kind == "multi_hot":
                lists = list_column(col, f.name)
                flat = np.asarray([v for values in lists for v in values], dtype=object)
                vocab = value_vocabulary(flat, f.min_count, f.max_tokens)
                max_length = f.max_length or max(1, max((len(v) for v in lists), default=1))
                state[f.name] = {"vocabulary": vocab, "max_length": int(max_length)}
            else:  # text
                state[f.name] = {"vocabulary": text_vocabulary(raw_array(frame, f, None), f.max_tokens)}
        self._set_state(state)

    def _set_state(self, state: Mapping[str, Mapping[str, Any]]) -> None:
        missing = [f.name for f in self.spec if f.name not in state]
        if missing:
            raise ValueError(f"adapted_state has no entry for feature(s) {missing}; re-run adapt().")
        adapted: Dict[str, Dict[str, Any]] = {}
        files: Dict[str, Optional[str]] = {}
        sizes: Dict[str, int] = {}
        for f in self.spec:
            st = dict(state[f.name])
            if FILE_KEY in st:
                path, size = st.pop(FILE_KEY), st.pop(SIZE_KEY, None)
                if path is None:  # a Keras SavedModel loading: its tables hold the vocabulary
                    if size is None or not _in_keras_saved_model_scope():
                        raise ValueError(f"adapted_state of feature {f.name!r} has no vocabulary file; re-run adapt().")
                    st["vocabulary"] = None
                else:
                    st["vocabulary"] = read_vocabulary(path, size)
                    size = len(st["vocabulary"])
                files[f.name], sizes[f.name] = path, size
            elif "vocabulary" in st:
                st["vocabulary"] = [str(t) for t in st["vocabulary"]]
                files[f.name] = write_vocabulary(st["vocabulary"] or ["[EMPTY]"], f.name)
                sizes[f.name] = len(st["vocabulary"])
            adapted[f.name] = st
        self._state = adapted
        self._vocabulary_files = files
        self._vocabulary_sizes = sizes
        self._create_sublayers()

    def _create_sublayers(self) -> None:
        lookups: Dict[str, tf.keras.layers.Layer] = {}
        tables: Dict[str, tf.keras.layers.Layer] = {}
        dense: Dict[str, tf.keras.layers.Layer] = {}
        constants: Dict[str, Any] = {}
        for f in self.spec:
            st = self._state[f.name]
            dim = self.feature_dim(f.name)
            size = self._vocabulary_sizes.get(f.name)
            # a vocabulary file (an asset of a SavedModel), or None: a table restored from a Keras SavedModel
            vocab = dict(vocabulary=self._vocabulary_files[f.name]) if self._vocabulary_files.get(f.name) else \
                dict(vocabulary=None, has_input_vocabulary=True)

            def embedding(n, _name=f.name, _dim=dim):
                # a fresh initializer per table: one shared unseeded instance gives identical tables
                init = tf.keras.initializers.deserialize(
                    tf.keras.initializers.serialize(self.embeddings_initializer))
                return tf.keras.layers.Embedding(
                    n, _dim, embeddings_initializer=init,
                    embeddings_regularizer=self.embeddings_regularizer, name=f"{_name}_embedding")

            def projection(_name=f.name, _dim=dim, **kwargs):
                init = tf.keras.initializers.deserialize(
                    tf.keras.initializers.serialize(self.projection_initializer))
                return tf.keras.layers.Dense(_dim, kernel_initializer=init, name=f"{_name}_projection", **kwargs)

            if f.kind == "categorical":
                if f.hash_bins:
                    tables[f.name] = embedding(f.hash_bins + 1)
                elif f.num_ids:
                    tables[f.name] = embedding(f.num_ids + 1)
                else:
                    lookups[f.name] = tf.keras.layers.StringLookup(
                        **vocab, num_oov_indices=1, mask_token=None, name=f"{f.name}_lookup")
                    tables[f.name] = embedding(size + 1)
            elif f.kind == "numeric":
                if f.transform == "bucketize":
                    if st["boundaries"]:  # Keras Discretization (float32 boundaries; 0 = below the first)
                        lookups[f.name] = tf.keras.layers.Discretization(
                            bin_boundaries=[float(b) for b in st["boundaries"]], name=f"{f.name}_discretization")
                    tables[f.name] = embedding(len(st["boundaries"]) + 2)
                else:  # Keras Normalization with the training rows' statistics (after log1p for "log")
                    lookups[f.name] = tf.keras.layers.Normalization(
                        axis=None, mean=float(st["mean"]), variance=float(st["std"]) ** 2,
                        name=f"{f.name}_normalization")
                    dense[f.name] = projection()
            elif f.kind == "timestamp":
                tables[f.name] = embedding(len(st["boundaries"]) + 2)
                dense[f.name] = projection(use_bias=False)
            elif f.kind == "multi_hot":
                lookups[f.name] = tf.keras.layers.StringLookup(
                    **vocab, num_oov_indices=1, mask_token=None, name=f"{f.name}_lookup")
                tables[f.name] = embedding(max(size, 1) + 1)
            else:  # text
                lookups[f.name] = tf.keras.layers.TextVectorization(
                    **vocab, output_sequence_length=f.max_length or 16, name=f"{f.name}_vectorizer")
                tables[f.name] = embedding(max(size, 1) + 2)
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
        """1 + quantile bucket of float ``x``; NaN -> 0. Timestamps: float64 searchsorted (Keras
        ``Discretization`` holds float32 boundaries, which round epoch seconds to about two minutes)."""
        boundaries = tf.constant(self._boundaries[name] or [0.0], dtype=x.dtype)
        flat = tf.reshape(x, [-1])
        idx = tf.searchsorted(boundaries, flat, side="right", out_type=tf.int64) + 1
        if not self._boundaries[name]:
            idx = tf.ones_like(idx)
        idx = tf.where(tf.math.is_nan(flat), tf.zeros_like(idx), idx)
        return tf.reshape(idx, tf.shape(x))

    def _discretize(self, name: str, x: tf.Tensor) -> tf.Tensor:
        """1 + the Keras ``Discretization`` bucket of float32 ``x`` (1 for every value without boundaries); NaN -> 0."""
        if name in self._lookups:
            idx = tf.cast(self._lookups[name](x), tf.int64) + 1
        else:
            idx = tf.ones_like(x, tf.int64)
        return tf.where(tf.math.is_nan(x), tf.zeros_like(idx), idx)

    def _encode_one(self, f: Feature, x) -> tf.Tensor:
        if f.kind == "categorical" and f.num_ids:
            x = tf.convert_to_tensor(x)
            x = tf.strings.to_number(x, tf.int64) if x.dtype == tf.string else tf.cast(x, tf.int64)
            return tf.where((x >= 0) & (x < f.num_ids), x + 1, tf.zeros_like(x))  # id i -> row i + 1; else OOV 0
        if f.kind == "categorical":
            s = _tf_ids_to_str(tf.convert_to_tensor(x))
            if f.hash_bins:
                idx = tf.strings.to_hash_bucket_fast(s, f.hash_bins) + 1
                return tf.where(tf.equal(s, ""), tf.zeros_like(idx), idx)
            return tf.cast(self._lookups[f.name](s), tf.int64)
        if f.kind == "numeric":
            x = tf.cast(x, tf.float32)
            return self._discretize(f.name, x) if f.transform == "bucketize" else x
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
        raw = {k: to_tf(v) for k, v in feature_arrays(frame, features, lengths).items()}
        return self.encode(raw, names)

    # -- embed ----------------------------------------------------------------------------------

    def _embed_one(self, f: Feature, x: tf.Tensor, training) -> tf.Tensor:
        st = self._state[f.name]
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
            x = self._lookups[f.name](x)
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


__all__ = ["FeatureLayer"]
