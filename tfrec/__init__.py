"""tfrec: deep-learning recommenders on TensorFlow.

TensorFlow Recommenders (TFRS) needs Keras 2 (the ``tf_keras`` package), so this package selects it
before TensorFlow is imported: ``TF_USE_LEGACY_KERAS=1``. Import ``tfrec`` before ``tensorflow`` in
your own scripts, or set the variable in your environment.
"""

import os
import sys

__version__ = "0.1.0"

_KERAS3_MESSAGE = (
    "tfrec needs Keras 2 (tf_keras) because TensorFlow Recommenders does, but TensorFlow was already "
    "imported with Keras 3 in this process. Fix: import tfrec before tensorflow, or set the environment "
    "variable TF_USE_LEGACY_KERAS=1 before starting Python (e.g. `TF_USE_LEGACY_KERAS=1 python train.py`)."
)


def _select_legacy_keras() -> None:
    if "tensorflow" not in sys.modules:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        return
    # TensorFlow is already imported: it picked its Keras at import time from the variable.
    if os.environ.get("TF_USE_LEGACY_KERAS", "").lower() not in ("1", "true", "yes"):
        raise ImportError(_KERAS3_MESSAGE)


_select_legacy_keras()

__all__ = ["__version__"]
