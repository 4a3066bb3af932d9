"""Input features: declarative specs, the Keras layer that embeds them, and DataFrame -> tensors.

* :mod:`~tfrec.features.spec`: :class:`Feature`, :class:`FeatureSpec` (one dict per feature).
* :mod:`~tfrec.features.layer`: :class:`FeatureLayer` (vocabularies and statistics adapted on the
  training rows; one embedding per feature).
* :mod:`~tfrec.features.frames`: :func:`frame_to_tensors`, :func:`frame_to_dataset`.
* :mod:`~tfrec.features.columns`, :mod:`~tfrec.features.vocabulary`: the pandas-side conversions and
  the vocabulary / statistics helpers they build on.
"""

from tfrec.features import vocab_files
from tfrec.features.frames import frame_to_dataset, frame_to_tensors
from tfrec.features.layer import FeatureLayer
from tfrec.features.spec import ENCODED_SUFFIX, KINDS, NUMERIC_TRANSFORMS, OUTPUT_MODES, Feature, FeatureSpec

__all__ = [
    "ENCODED_SUFFIX",
    "KINDS",
    "NUMERIC_TRANSFORMS",
    "OUTPUT_MODES",
    "Feature",
    "FeatureLayer",
    "FeatureSpec",
    "frame_to_dataset",
    "frame_to_tensors",
]
