"""Data loaders: MovieLens, session click logs, CTR tables, and preprocessing fitted on training data.

Importing this package does not import TensorFlow; only ``load_movielens(source="tfds")`` does.
Every loader raises :class:`DataFormatError` (a ``ValueError``) for a bad file, naming the file,
the line and what was expected there.
"""

from tfrec.data.ctr import CRITEO_SCHEMA, CTRData, CTRSchema, load_criteo, load_ctr_csv
from tfrec.data.errors import DataFormatError
from tfrec.data.movielens import (
    AGE_BUCKETS,
    MOVIELENS_GENRES,
    OCCUPATION_LABELS,
    MovieLens,
    load_movielens,
)
from tfrec.data.preprocessing import (
    MISSING_BUCKET,
    OOV_INDEX,
    Bucketizer,
    Normalizer,
    Vocabulary,
    add_user_history,
    preprocessor_from_config,
)
from tfrec.data.sessions import ITEM_COL, SESSION_COL, TIME_COL, load_sessions

__all__ = [
    "AGE_BUCKETS",
    "Bucketizer",
    "CRITEO_SCHEMA",
    "CTRData",
    "CTRSchema",
    "DataFormatError",
    "ITEM_COL",
    "MISSING_BUCKET",
    "MOVIELENS_GENRES",
    "MovieLens",
    "Normalizer",
    "OCCUPATION_LABELS",
    "OOV_INDEX",
    "SESSION_COL",
    "TIME_COL",
    "Vocabulary",
    "add_user_history",
    "load_criteo",
    "load_ctr_csv",
    "load_movielens",
    "load_sessions",
    "preprocessor_from_config",
]
