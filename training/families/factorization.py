"""Registry schemas of the closed-form factorization algorithms: ``svd``, ``svdpp`` and ``als``.

Each is the algorithm's own parameter schema (``tfrec.recommenders.svd`` / ``svdpp`` / ``als``,
Surprise's names and defaults for SVD and SVD++) read as a config section: strict types and unknown
keys refused with the config loader's messages (:class:`FamilyParams`).

Example:
  >>> SVDFamilyParams().n_factors, SVDppFamilyParams().n_factors, ALSFamilyParams().alpha
  (100, 20, 1.0)
"""

from __future__ import annotations

from tfrec.recommenders.als import ALSParams
from tfrec.recommenders.svd import SVDParams
from tfrec.recommenders.svdpp import SVDppParams
from tfrec.training.families.params import FamilyParams

__all__ = ["ALSFamilyParams", "SVDFamilyParams", "SVDppFamilyParams"]


class SVDFamilyParams(FamilyParams, SVDParams):
    """``params`` of ``svd``: the fields of :class:`tfrec.recommenders.svd.SVDParams`."""


class SVDppFamilyParams(FamilyParams, SVDppParams):
    """``params`` of ``svdpp``: the fields of :class:`tfrec.recommenders.svdpp.SVDppParams`."""


class ALSFamilyParams(FamilyParams, ALSParams):
    """``params`` of ``als``: the fields of :class:`tfrec.recommenders.als.ALSParams`."""
