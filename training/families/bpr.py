"""The ``bpr`` family: BPR-MF (Rendle et al., UAI 2009; ``tfrec.models.bpr.BPRMF``) on implicit feedback.

Examples are triples: each training interaction (user, positive item) with ``num_negatives``
sampled items the user has no training interaction with, drawn afresh every epoch
(``resample_negatives``) by the run's one :class:`tfrec.sampling.NegativeSampler`. The model's own
``train_step`` minimises the BPR loss; its ``test_step`` reports the validation BPR loss and the
pairwise AUC (share of validation triples whose positive scores above the negative).
"""

from __future__ import annotations

from pydantic import Field

from tfrec.training.families.ncf import SampledNegativesParams, SampledNegativesTask

__all__ = ["BPRParams", "BPRTask"]


class BPRParams(SampledNegativesParams):
    """``model.params`` of ``bpr`` (``tfrec.models.bpr.BPRMF``).

    Attributes:
      embedding_dim: number of factors. Default 64.
      num_negatives: sampled negatives (triples) per positive. Default 1.
      (and l2 -- here the per-batch penalty of ``BPRMF`` --, init_stddev and resample_negatives of
      :class:`~tfrec.training.families.ncf.SampledNegativesParams`)
    """

    embedding_dim: int = Field(64, ge=1)
    num_negatives: int = Field(1, ge=1)


class BPRTask(SampledNegativesTask):
    """``bpr``: BPR-MF trained by its model's ``train_step`` on (user, positive, sampled negative) triples.

    Features are ``{"user_idx", "item_idx"}`` (the positive pair) and the label slot carries the
    sampled negative item ([n] int32), as ``BPRMF.train_step`` reads it.
    """

    name = "bpr"
    params_schema = BPRParams

    def draw(self, run, users, items):
        u, i, j = run.extra["sampler"].pairwise_examples(users, items, run.extra["num_negatives"])
        return {"user_idx": u, "item_idx": i}, j

    def build_model(self, params, run):
        from tfrec.models.bpr import BPRMF

        return BPRMF(run.vocab.n_users, run.vocab.n_items, embedding_dim=params["embedding_dim"], l2=params["l2"],
                     init_stddev=params["init_stddev"])
