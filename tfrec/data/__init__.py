"""Data loaders: MovieLens, session click logs, CTR tables, and preprocessing fitted on training data.

Importing this package does not import TensorFlow; only ``load_movielens(source="tfds")`` does.
"""

from tfrec.data.errors import DataFormatError
from tfrec.data.movielens import (
    AGE_BUCKETS,
    MOVIELENS_GENRES,
    OCCUPATION_LABELS,
    MovieLens,
    load_movielens,
)

__all__ = [
    "AGE_BUCKETS",
    "DataFormatError",
    "MOVIELENS_GENRES",
    "MovieLens",
    "OCCUPATION_LABELS",
    "load_movielens",
]
