"""Parameters of the neighbourhood recommenders (``user_knn``, ``item_knn``), validated by pydantic.

The names follow Surprise's ``KNNBasic`` / ``KNNWithMeans`` / ``KNNWithZScore`` / ``KNNBaseline``
(``k``, ``min_k``, ``sim_options`` -> ``similarity``, ``min_support``, ``shrinkage``;
``bsl_options`` -> ``baseline_reg_u``, ``baseline_reg_i``, ``baseline_epochs``), so a Surprise
configuration reads across one to one.

Example:
  >>> KNNParams(similarity="pearson_baseline", variant="baseline").resolved_similarity()
  'pearson_baseline'
  >>> KNNParams(implicit=True).resolved_similarity()
  'cosine'
"""

from __future__ import annotations

import difflib
from typing import Any, Dict, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

#: similarities on ratings (Surprise's definitions: over co-rated entries only)
RATING_SIMILARITIES = ("cosine", "msd", "pearson", "pearson_baseline")
#: similarities on implicit data (sets of interactions)
IMPLICIT_SIMILARITIES = ("cosine", "jaccard")
SIMILARITIES = ("cosine", "msd", "pearson", "pearson_baseline", "jaccard")
#: how neighbours' ratings are aggregated (Surprise's KNNBasic, KNNWithMeans, KNNWithZScore, KNNBaseline)
VARIANTS = ("basic", "with_means", "with_zscore", "baseline")

__all__ = ["IMPLICIT_SIMILARITIES", "KNNParams", "RATING_SIMILARITIES", "SIMILARITIES", "VARIANTS"]


def _check_choice(value: str, valid) -> str:
    if value not in valid:
        close = difflib.get_close_matches(str(value), valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"must be one of {', '.join(valid)}; got {value!r}{hint}")
    return value


class KNNParams(BaseModel):
    """Settings of a k-nearest-neighbour recommender (user- or item-based).

    Attributes:
      similarity: one of ``cosine``, ``msd``, ``pearson``, ``pearson_baseline`` (ratings) or
        ``cosine``, ``jaccard`` (``implicit``). Default None: ``pearson_baseline`` on ratings,
        ``cosine`` on implicit data.
      variant: prediction rule, one of ``basic``, ``with_means``, ``with_zscore``, ``baseline``.
        Default ``baseline``.
      k: at most this many neighbours per prediction. Default 40.
      min_k: fewer usable neighbours than this and the neighbour term is dropped (the prediction
        falls back to the global mean for ``basic``, the mean for ``with_means``/``with_zscore``, the
        baseline for ``baseline``). Default 1.
      min_support: pairs with fewer common raters (users for item-based, items for user-based) get
        similarity 0. Default 1 (``pearson_baseline`` needs at least 2, as Surprise).
      shrinkage: ``pearson_baseline`` shrinkage ``(n - 1) / (n - 1 + shrinkage)``. Default 100.
      threshold: a neighbour counts only if its similarity is > threshold. Default 0.0.
      implicit: treat every interaction as 1 (sets, no ratings): ranking only. Default False.
      baseline_reg_u, baseline_reg_i, baseline_epochs: the ALS baseline estimates' user and item
        regularisation and number of sweeps (Surprise's ``bsl_options`` defaults 15, 10, 10).
      max_similarity_gib: fit refuses (a MemoryError saying the size) to allocate a dense similarity
        matrix larger than this many GiB (float64: 4 GiB holds about 23,000 x 23,000). Default 4.0.

    Raises:
      ValueError: an unknown similarity or variant (the message names the valid ones), or a
        similarity that does not apply to the data mode.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    similarity: Optional[str] = None
    variant: str = "baseline"
    k: int = Field(40, gt=0)
    min_k: int = Field(1, ge=1)
    min_support: int = Field(1, ge=1)
    shrinkage: float = Field(100.0, ge=0)
    threshold: float = 0.0
    implicit: bool = False
    baseline_reg_u: float = Field(15.0, ge=0)
    baseline_reg_i: float = Field(10.0, ge=0)
    baseline_epochs: int = Field(10, gt=0)
    max_similarity_gib: float = Field(4.0, gt=0)

    @field_validator("similarity")
    @classmethod
    def _known_similarity(cls, value: Optional[str]) -> Optional[str]:
        return None if value is None else _check_choice(value, SIMILARITIES)

    @field_validator("variant")
    @classmethod
    def _known_variant(cls, value: str) -> str:
        return _check_choice(value, VARIANTS)

    @model_validator(mode="after")
    def _similarity_fits_data(self) -> "KNNParams":
        valid = IMPLICIT_SIMILARITIES if self.implicit else RATING_SIMILARITIES
        if self.similarity is not None and self.similarity not in valid:
            mode = "implicit data (implicit: true)" if self.implicit else "ratings (implicit: false)"
            raise ValueError(f"similarity {self.similarity!r} does not apply to {mode}; valid: {', '.join(valid)}")
        return self

    def resolved_similarity(self) -> str:
        """The similarity used: the one given, else ``pearson_baseline`` (ratings) or ``cosine`` (implicit)."""
        if self.similarity is not None:
            return self.similarity
        return "cosine" if self.implicit else "pearson_baseline"

    @classmethod
    def parse(cls, owner: str, params: Dict[str, Any]) -> "KNNParams":
        """Validates ``params``; problems raise a ValueError naming ``owner`` and the parameter.

        Raises:
          ValueError: e.g. ``item_knn: parameter 'variant' must be one of basic, with_means,
            with_zscore, baseline; got 'zscore' (did you mean 'with_zscore'?).``
        """
        try:
            return cls(**params)
        except ValidationError as e:
            err = e.errors()[0]
            where = f"parameter {'.'.join(map(str, err['loc']))!r} " if err["loc"] else ""
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"is unknown; valid parameters: {', '.join(cls.model_fields)}"
            elif err["type"] != "value_error":
                message = f"is invalid: {message}; got {err['input']!r}"
            raise ValueError(f"{owner}: {where}{message}.") from None

    @property
    def needs_baselines(self) -> bool:
        """True when fit must estimate the ALS baselines (``pearson_baseline`` or the ``baseline`` variant)."""
        return not self.implicit and (self.variant == "baseline" or self.resolved_similarity() == "pearson_baseline")
