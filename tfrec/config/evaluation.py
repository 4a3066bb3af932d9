"""``evaluation``: the final test evaluation of a ``tfrec train`` run."""

from __future__ import annotations

from typing import Annotated, List, Optional

from pydantic import Field

from tfrec.config.section import Section


class EvaluationConfig(Section):
    """The final evaluation on the test split.

    Attributes:
      enabled: run it after training. Default True.
      k: cut-offs of the top-k metrics, positive integers. Default [10].
      exclude_seen: drop training items from each user's top-k list. Default True.
      relevance_threshold: a test item counts as relevant only if rated at least this; None = every
        held-out interaction is relevant. Default None.
      max_users: evaluate a seeded sample (``data.seed``) of this many test users instead of all of
        them (very large test sets; the results say so); None = every test user. Default None.
      block_users: users scored at once by the block evaluation of shard runs (memory: block x
        catalog scores). Default 1024.
      ranking: also compute the full-catalog top-k metrics (every item scored for every test user).
        False keeps the pair metrics only: RMSE/MAE of rating models, AUC/log loss of click models.
        Default True.

    Example:
      >>> EvaluationConfig(k=[5, 10]).k
      [5, 10]
    """

    enabled: bool = True
    k: List[Annotated[int, Field(gt=0)]] = Field(default_factory=lambda: [10])
    exclude_seen: bool = True
    relevance_threshold: Optional[float] = None
    max_users: Optional[int] = Field(None, gt=0)
    block_users: int = Field(1024, gt=0)
    ranking: bool = True
