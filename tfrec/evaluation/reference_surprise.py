"""Surprise as a reference implementation: the same training rows, the same test pairs, timed.

`Surprise <https://surpriselib.com>`_ (``scikit-surprise``) is the library of the classic
recommender course (KNN variants, SVD, SVD++). ``tfrec bench`` runs of kind ``compare`` fit a tfrec
algorithm and its Surprise counterpart on one split and report both RMSEs and the time ratio. Surprise
is not a dependency of tfrec: it is imported here, on use, from the ``bench`` extra
(``pip install -e '.[bench]'``).

A reference is named as ``{class: <Surprise algorithm class>, <keyword arguments of the class>}``,
e.g. ``{class: KNNBaseline, k: 40, sim_options: {name: pearson_baseline, user_based: false}}``.

Example:
  >>> spec = {"class": "KNNBasic", "sim_options": {"name": "cosine", "user_based": False}}
  >>> check_reference(spec)                                     # doctest: +SKIP
"""

from __future__ import annotations

import time
from typing import Any, Dict, Mapping, Tuple

import numpy as np
import pandas as pd

from tfrec.data.training_data import Columns

__all__ = ["ALGORITHM_CLASSES", "SurpriseReference", "check_reference", "import_surprise"]

#: the Surprise prediction algorithms a reference may name
ALGORITHM_CLASSES = ("BaselineOnly", "CoClustering", "KNNBaseline", "KNNBasic", "KNNWithMeans", "KNNWithZScore", "NMF",
                     "NormalPredictor", "SlopeOne", "SVD", "SVDpp")


def import_surprise():
    """The ``surprise`` module.

    Raises:
      ImportError: scikit-surprise is not installed (says how to install it).
    """
    try:
        import surprise
    except ImportError as e:
        raise ImportError("the Surprise reference needs scikit-surprise, which is not installed: "
                          "pip install -e '.[bench]' (scikit-surprise==1.1.5)") from e
    return surprise


def check_reference(spec: Mapping[str, Any]) -> Tuple[type, Dict[str, Any]]:
    """(Surprise class, keyword arguments) of a reference spec, checked by building it once.

    Raises:
      ImportError: scikit-surprise is not installed.
      ValueError: no ``class``, an unknown class (lists the valid ones) or arguments it refuses.
    """
    spec = dict(spec)
    name = spec.pop("class", None)
    if name not in ALGORITHM_CLASSES:
        raise ValueError(f"surprise reference: 'class' must be one of {', '.join(ALGORITHM_CLASSES)}; got {name!r}.")
    cls = getattr(import_surprise(), name)
    spec.setdefault("verbose", False)
    try:
        cls(**spec)
    except TypeError as e:
        raise ValueError(f"surprise reference {name}: invalid arguments {spec}: {e}") from e
    return cls, spec


class SurpriseReference:
    """Surprise fitted on one fold's training rows, in the order tfrec's ``TrainingData`` holds them.

    Args:
      train: the training rows (e.g. ``TrainingData.frame``); the order is kept, so neighbours with
        equal similarity are met in the same order as by tfrec.
      columns: the user, item and rating column names.
      rating_scale: (lowest, highest) rating; predictions are clipped to it. Default: the training
        ratings' range (as tfrec's rating predictors clip).
    """

    def __init__(self, train: pd.DataFrame, columns: Columns = Columns(), rating_scale=None):
        surprise = import_surprise()
        ratings = train[columns.rating]
        scale = rating_scale or (float(ratings.min()), float(ratings.max()))
        frame = train[[columns.user, columns.item, columns.rating]]
        self.trainset = surprise.Dataset.load_from_df(frame, surprise.Reader(rating_scale=scale)).build_full_trainset()
        self.columns = columns

    def fit_predict(self, spec: Mapping[str, Any], test: pd.DataFrame) -> Tuple[np.ndarray, float, float]:
        """Fits the reference ``spec`` and predicts every test row.

        Args:
          spec: ``{class: ..., <arguments>}`` (see :func:`check_reference`).
          test: the held-out rows (user and item columns; unknown ids get Surprise's default).

        Returns:
          ([n_test] float64 predictions, wall-clock seconds of fit + predict, CPU seconds of the same).
        """
        cls, kwargs = check_reference(spec)
        users, items = test[self.columns.user].tolist(), test[self.columns.item].tolist()
        wall, cpu = time.perf_counter(), time.process_time()
        algo = cls(**kwargs).fit(self.trainset)
        pred = np.array([algo.predict(u, i).est for u, i in zip(users, items)])
        return pred, time.perf_counter() - wall, time.process_time() - cpu
