"""The session families of ``tfrec train``: click logs in, next-click Recall@k / MRR@k out.

:class:`SessionTask` is what every session family shares: the data (``data.format: sessions``,
``training.data.prepare_sessions``: test = the held-out last day, validation = the training sessions
of the last ``session_days``, or no held-out validation with ``data.fit_validation``), the item
vocabulary, and the final evaluation: the trained model as a
:class:`~tfrec.recommenders.session.SessionScorer` (:meth:`SessionTask.scorer`), every test click's
successor ranked against ALL items (``evaluate_sessions``), ``recall@k`` and ``mrr@k`` for every
``evaluation.k``. GRU4Rec (``training.families.gru4rec``) and the counting baselines below are
evaluated by that one code path.

:class:`SessionBaselineTask`: a baseline fitted in closed form on the fit sessions (no Keras loop;
the Trainer calls :meth:`SessionBaselineTask.fit_closed_form`): ``session_popularity`` (the most
clicked items), ``successor_rule`` (the items that most often follow the current one) and
``session_knn`` (S-KNN: the items of the most similar training sessions).

Importing this module does not import TensorFlow.

Example:
  >>> from tfrec.training.families.registry import get_task
  >>> get_task("successor_rule").defaults
  {'popularity_tiebreak': True}
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional, Type

from pydantic import PositiveInt

from tfrec.recommenders.session import SessionRecommender, SessionScorer
from tfrec.recommenders.session_baselines import SessionKNN, SessionPopularity, SuccessorRule
from tfrec.training.families.base import Task, write_ids
from tfrec.training.families.params import FamilyParams, validate_params

__all__ = ["SESSION_BASELINES", "SessionBaselineTask", "SessionKNNParams", "SessionPopularityParams", "SessionTask",
           "SuccessorRuleParams"]


class SessionTask(Task):
    """Base class of the session families (see the module docstring)."""

    kind = "session"

    def prepare(self, config):
        from tfrec.training import data

        fmt = data.detect_format(config)
        if fmt != "sessions":
            raise ValueError(f"model {self.name!r} trains on session click logs (data.format: sessions); the data "
                             f"of {config.data.path or config.data.dataset!r} reads as {fmt!r}.")
        return data.prepare_sessions(config)

    def prepare_frame(self, config, train):
        raise ValueError(f"model {self.name!r} trains on session click logs (data.format: sessions), not on the "
                         "user-item training rows of an evaluation fold; train it with `tfrec train` (or a bench "
                         "`train` run) on a sessions dataset.")

    def describe_data(self, run):
        return run.describe()

    def write_vocab(self, run, folder):
        write_ids(folder, [], run.item_ids)

    def scorer(self, model, run) -> SessionScorer:
        """The trained ``model`` as a :class:`SessionScorer` over the run's items."""
        raise NotImplementedError

    def evaluate(self, model, run, config) -> Dict[str, Any]:
        """``evaluate_sessions`` on the test clicks for every ``evaluation.k``: ``recall@k``, ``mrr@k``,
        ``n_queries``, ``n_dropped_events`` (test clicks on items unseen in training)."""
        scorer = self.scorer(model, run)
        final: Dict[str, Any] = {}
        for k in config.evaluation.k:
            final.update(scorer.evaluate_sessions(run.test, k=k))
        return final


class SessionPopularityParams(FamilyParams):
    """``model.params`` of ``session_popularity``: none (the score of an item is its click count)."""


class SuccessorRuleParams(FamilyParams):
    """``model.params`` of ``successor_rule``.

    Attributes:
      popularity_tiebreak: order items with equal successor counts by popularity (a term < 1), so
        that the thousands of items that never followed the current one do not tie. Default True.
    """

    popularity_tiebreak: bool = True


class SessionKNNParams(FamilyParams):
    """``model.params`` of ``session_knn``.

    Attributes:
      k: neighbour sessions per query (cosine of the item sets); positive. Default 100.
    """

    k: PositiveInt = 100


class SessionBaselineTask(SessionTask):
    """A session baseline fitted by its own ``fit`` on the fit sessions (see the module docstring).

    Args:
      name: the registry name.
      factory: the :class:`SessionRecommender` class; called with the checked params.
      params_schema: its parameters (field defaults = the class's defaults).
    """

    closed_form = True
    monitor = "-"  # nothing is trained epoch by epoch

    def __init__(self, name: str, factory: Callable[..., SessionRecommender], params_schema: Type[FamilyParams]):
        self.name = name
        self.factory = factory
        self.params_schema = params_schema

    def create(self, params: Optional[Mapping[str, Any]] = None, label: Optional[str] = None) -> SessionRecommender:
        """The unfitted baseline with ``params`` (checked against the schema, over its defaults).

        Raises:
          ValueError: an invalid parameter (names ``model.params.<key>``).
        """
        def fail(key: str, message: str) -> None:
            raise ValueError(message)

        algo = self.factory(**validate_params(self.params_schema, self.name, dict(params or {}), fail))
        algo.name = label or self.name
        return algo

    def fit_closed_form(self, params: Mapping[str, Any], run) -> SessionRecommender:
        """The baseline fitted on ``run.fit`` (the fit sessions; never the validation or test clicks
        unless ``data.fit_validation`` put the validation sessions in ``fit``)."""
        return self.create(params).fit(run.fit)

    def scorer(self, model, run) -> SessionScorer:
        return model

    def check_warm_start(self, params, training, fail) -> None:
        fail("training.warm_start", f"model {self.name!r} is fitted in closed form; it has no warm start.")


#: the registered session baselines
SESSION_BASELINES = (SessionBaselineTask("session_popularity", SessionPopularity, SessionPopularityParams),
                     SessionBaselineTask("successor_rule", SuccessorRule, SuccessorRuleParams),
                     SessionBaselineTask("session_knn", SessionKNN, SessionKNNParams))
