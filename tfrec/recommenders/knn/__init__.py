"""Neighbourhood collaborative filtering: user- and item-based kNN with Surprise's similarities and
prediction rules (``KNNBasic``, ``KNNWithMeans``, ``KNNWithZScore``, ``KNNBaseline``), vectorized.

One concept per module: :mod:`.params` (settings), :mod:`.similarities` (similarity matrices),
:mod:`.baselines` (ALS baseline estimates), :mod:`.neighbours` (k-nearest aggregation),
:mod:`.recommender` (the :class:`~tfrec.recommenders.base.Algorithm` classes).
"""

from tfrec.recommenders.knn.baselines import als_baselines
from tfrec.recommenders.knn.params import IMPLICIT_SIMILARITIES, RATING_SIMILARITIES, SIMILARITIES, VARIANTS, KNNParams
from tfrec.recommenders.knn.recommender import ItemKNNRecommender, KNNRecommender, UserKNNRecommender
from tfrec.recommenders.knn.similarities import similarity_matrix

__all__ = ["IMPLICIT_SIMILARITIES", "ItemKNNRecommender", "KNNParams", "KNNRecommender", "RATING_SIMILARITIES",
           "SIMILARITIES", "UserKNNRecommender", "VARIANTS", "als_baselines", "similarity_matrix"]
