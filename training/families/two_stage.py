"""The ``two_stage`` family: two-tower retrieval of candidates, re-ordered by a ranking model."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict

from pydantic import Field

from tfrec.training.families.base import Task
from tfrec.training.families.params import FamilyParams, validate_params
from tfrec.training.families.ranking import RankingParams, RankingTask
from tfrec.training.families.two_tower import TwoTowerParams, TwoTowerTask

__all__ = ["TwoStageParams", "TwoStageTask"]


class TwoStageParams(FamilyParams):
    """``model.params`` of ``two_stage``.

    Attributes:
      retrieval: ``model.params`` of the ``two_tower`` retrieval stage. Default: the two_tower defaults.
      ranking: ``model.params`` of the ``ranking`` stage. Default: the ranking defaults.
      ranking_weight: weight of the ranking loss in the summed loss; > 0. Default 1.0.
      num_candidates: retrieved items re-ranked per user; positive. Default 100.
      exclude_seen_candidates: retrieve among each user's unseen training items only. Default True.
    """

    retrieval: Dict[str, Any] = Field(default_factory=lambda: TwoTowerParams().model_dump())
    ranking: Dict[str, Any] = Field(default_factory=lambda: RankingParams().model_dump())
    ranking_weight: float = Field(1.0, gt=0)
    num_candidates: int = Field(100, gt=0)
    exclude_seen_candidates: bool = True


class TwoStageTask(Task):
    """Two-tower retrieval and a rating model (the ``two_tower`` and ``ranking`` families), trained in one loop.

    Both stages are built, fed and scored by their own families (each with its own feature layers,
    adapted on the training rows); :class:`~tfrec.models.two_stage.TwoStageModel` sums their losses
    (the ranking loss weighted by ``ranking_weight``), so one optimizer, one schedule and one early
    stopping (``val_loss``, the sum) drive both. The final evaluation retrieves ``num_candidates``
    unseen items per user by the two-tower score and orders them by predicted rating
    (:class:`~tfrec.recommenders.two_stage.TwoStageRecommender`).
    """

    name = "two_stage"
    kind = "ranking"
    params_schema = TwoStageParams
    monitor = "val_loss"
    mode = "min"

    def __init__(self):
        self.stages = {"retrieval": TwoTowerTask(), "ranking": RankingTask()}

    def check_params(self, params, fail):
        checked = validate_params(self.params_schema, self.name, params, fail)
        for stage, task in self.stages.items():
            def nested(key, message, stage=stage):
                fail(key.replace("model.params.", f"model.params.{stage}.", 1),
                     message.replace("'model.params.", f"'model.params.{stage}.").replace(
                         f"for model {task.name!r}", f"for the {stage} stage ({task.name})"))

            checked[stage] = task.check_params(checked[stage] if isinstance(checked[stage], dict) else {}, nested)
        return checked

    def _stage_runs(self, run):
        if "stage_runs" not in run.extra:
            run.extra["stage_runs"] = {stage: dataclasses.replace(run, extra={}) for stage in self.stages}
        return run.extra["stage_runs"]

    def setup(self, params, run):
        for stage, stage_run in self._stage_runs(run).items():
            self.stages[stage].setup(params[stage], stage_run)

    def build_model(self, params, run):
        from tfrec.models.two_stage import TwoStageModel

        runs = self._stage_runs(run)
        models = {stage: task.build_model(params[stage], runs[stage]) for stage, task in self.stages.items()}
        run.extra.update(num_candidates=params["num_candidates"], exclude_seen=params["exclude_seen_candidates"])
        return TwoStageModel(models["retrieval"], models["ranking"], ranking_weight=params["ranking_weight"])

    def examples(self, run, frame, split):
        from tfrec.models.two_stage import RANKING_PREFIX, RETRIEVAL_PREFIX

        runs = self._stage_runs(run)
        rx, _ = self.stages["retrieval"].examples(runs["retrieval"], frame, split)
        kx, ky = self.stages["ranking"].examples(runs["ranking"], frame, split)
        x = {RETRIEVAL_PREFIX + k: v for k, v in rx.items()}
        x.update({RANKING_PREFIX + k: v for k, v in kx.items()})
        return x, ky

    def algorithm(self, model, run):
        from tfrec.recommenders.two_stage import TwoStageRecommender

        runs = self._stage_runs(run)
        retrieval = self.stages["retrieval"].algorithm(model.retrieval, runs["retrieval"])
        ranking = self.stages["ranking"].algorithm(model.ranking, runs["ranking"])
        return TwoStageRecommender(retrieval, ranking, num_candidates=run.extra["num_candidates"],
                                   exclude_seen_candidates=run.extra["exclude_seen"], name=self.name)
