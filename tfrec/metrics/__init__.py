"""Evaluation metrics on NumPy arrays: ranking (top-k), rating error, classification, beyond accuracy.

These score already-computed recommendations and predictions; they are plain NumPy (no TensorFlow)
so the evaluator and benchmarks can use them on any model's output.
"""

from tfrec.metrics.beyond_accuracy import catalog_coverage, churn, diversity, novelty, user_coverage
from tfrec.metrics.classification import auc, log_loss
from tfrec.metrics.factorized import UNRANKED, factorized_top_k, positive_ranks
from tfrec.metrics.ranking import (
    arhr_at_k,
    cumulative_hit_rate,
    hit_rate_at_k,
    hits_matrix,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    rating_hit_rate,
    recall_at_k,
    reciprocal_rank_sum_at_k,
    relevant_counts,
)
from tfrec.metrics.rating import mae, rmse

__all__ = [
    # ranking
    "hits_matrix",
    "relevant_counts",
    "precision_at_k",
    "recall_at_k",
    "ndcg_at_k",
    "map_at_k",
    "hit_rate_at_k",
    "arhr_at_k",
    "reciprocal_rank_sum_at_k",
    "mrr_at_k",
    "cumulative_hit_rate",
    "rating_hit_rate",
    # factorized top-K (TFRS retrieval tutorials)
    "UNRANKED",
    "positive_ranks",
    "factorized_top_k",
    # rating
    "rmse",
    "mae",
    # classification
    "auc",
    "log_loss",
    # beyond accuracy
    "catalog_coverage",
    "user_coverage",
    "diversity",
    "novelty",
    "churn",
]
