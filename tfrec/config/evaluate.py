"""The config of ``tfrec evaluate`` (a bake-off): several algorithms, one dataset, one protocol, one table.

Example (``configs/bakeoff_ml100k.yaml``)::

    data: {dataset: movielens, path: ../shared/data/ml-100k}
    protocol: {name: msr_stratified, params: {ratio: 0.75, seed: 42}}
    k: 10
    algorithms:
      - name: popularity
      - name: mf
        label: "mf (dim 64)"
        params: {embedding_dim: 64, l2: 0.1}
        training: {epochs: 20}
    output: {run_dir: runs/bakeoff_ml100k}

An algorithm may be written as its name alone (``- popularity``) and the protocol as its name alone
(``protocol: random``). The names and parameters are checked against the one registry
(``tfrec.training.families.registry``) by ``tfrec evaluate``, before any data is loaded.
"""

from __future__ import annotations

from typing import Annotated, Any, Dict, List, Literal, Optional

from pydantic import Field, model_validator

from tfrec.config.data import OutlierFilterConfig
from tfrec.config.section import Fail, Section
from tfrec.config.training import TrainingConfig


def _name_only(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class EvaluateDataConfig(Section):
    """``data``: the ratings to evaluate on.

    Attributes:
      dataset: the loader; only "movielens" (``tfrec.data.load_movielens``). Default "movielens".
      path: the MovieLens folder (ml-100k, ml-1m or the ml-latest CSV layout); ``--data`` overrides it.
        Default None (then ``--data`` is needed).
      layout: "auto" (detected from the files), "ml-100k", "ml-1m" or "ml-latest". Default "auto".
      filter: outlier users/items dropped from the ratings before the split, e.g. ``{max_user_ratings:
        1000, min_item_ratings: 5}`` (``tfrec.config.data.OutlierFilterConfig``). Default None.
    """

    dataset: Literal["movielens"] = "movielens"
    path: Optional[str] = None
    layout: Literal["auto", "ml-100k", "ml-1m", "ml-latest"] = "auto"
    filter: Optional[OutlierFilterConfig] = None


class ProtocolConfig(Section):
    """``protocol``: how ratings are split into training and held-out parts (``tfrec.evaluation.Protocol``).

    Attributes:
      name: "msr_stratified", "random", "temporal", "leave_one_out", "ncf", "canonical" or "kfold".
        Default "msr_stratified".
      params: the protocol's parameters, e.g. ``{ratio: 0.75, seed: 42}``. Default {}.
    """

    name: str = "msr_stratified"
    params: Dict[str, Any] = Field(default_factory=dict)

    _from_name = model_validator(mode="before")(classmethod(lambda cls, v: _name_only(v)))


class FamilyDataConfig(Section):
    """``algorithms[i].data`` of a Keras model entry: the validation carve of ``tfrec train``'s ``data`` section.

    Attributes:
      validation_ratio: share of the fold's training rows carved out (seeded) for early stopping; in
        (0, 1). Default 0.1.
      seed: seed of the carve. Default 42.
    """

    validation_ratio: float = Field(0.1, gt=0, lt=1)
    seed: int = 42


class AlgorithmConfig(Section):
    """One entry of ``algorithms``: a registry name, its row label, parameters and training settings.

    A Keras model (mf, two_tower, neumf, dcn, ...) is trained by the Trainer of ``tfrec train`` (same
    validation carve, loop, early stopping and scorer), so it reproduces ``tfrec train``'s test
    metrics on the same split; a closed-form algorithm (popularity, item_knn, ...) is fitted directly::

        - name: mf
          label: "mf (dim 32)"                 # the result row's name
          params: {embedding_dim: 32}          # model.params of the model
          training: {epochs: 3}                # the training section of a train config
          data: {validation_ratio: 0.1, seed: 42}

    Attributes:
      name: the registry name (``tfrec evaluate --list`` shows them), e.g. "mf", "popularity". Required.
      label: the result row's name. Default None (``name``).
      params: the algorithm's parameters (its schema's defaults fill the rest). Default {}.
      training: Keras models only: the ``training`` section (as in a train config). Default None
        (its defaults).
      data: Keras models only: see :class:`FamilyDataConfig`. Default None (its defaults).
      family: removed (an entry that has it gets an error saying to use ``name`` and ``label``).
    """

    name: Optional[str] = None
    label: Optional[str] = None
    params: Dict[str, Any] = Field(default_factory=dict)
    training: Optional[TrainingConfig] = None
    data: Optional[FamilyDataConfig] = None
    family: Optional[str] = None

    _from_name = model_validator(mode="before")(classmethod(lambda cls, v: _name_only(v)))


class EvaluateOutputConfig(Section):
    """``output``: where results.json and results.csv go.

    Attributes:
      run_dir: the folder; ``--run-dir`` overrides it; None = ``runs/evaluate-<time>``. Default None.
    """

    run_dir: Optional[str] = None


class EvaluateConfig(Section):
    """A ``tfrec evaluate`` config.

    Attributes:
      data: see :class:`EvaluateDataConfig`.
      protocol: see :class:`ProtocolConfig`.
      k: list length of the top-k metrics; positive. Default 10.
      algorithms: the algorithms to compare, in table order (at least one, or ``--algorithms``).
      churn: also refit each algorithm with seed + 1 and report the churn of its lists. Default False.
      exclude_seen: drop each user's training items from their top-k list. Default True.
      relevance_threshold: a held-out item counts as relevant only if rated at least this; None = every
        held-out interaction is relevant. Default None.
      factorized_top_k: cut-offs K of the TFRS factorized top-K categorical accuracy
        (``top_<K>_categorical_accuracy``: a test interaction is a hit if fewer than K training-catalog
        items score strictly higher for its user; seen items are not removed), e.g. [1, 5, 10, 50, 100].
        Default [] (not reported).
      output: see :class:`EvaluateOutputConfig`.

    Example:
      >>> from tfrec.config import validate
      >>> cfg = validate(EvaluateConfig, {"protocol": "random", "algorithms": ["popularity"]})
      >>> cfg.protocol.name, cfg.algorithms[0].name, cfg.k
      ('random', 'popularity', 10)
    """

    data: EvaluateDataConfig = Field(default_factory=EvaluateDataConfig)
    protocol: ProtocolConfig = Field(default_factory=ProtocolConfig)
    k: int = Field(10, gt=0)
    algorithms: List[AlgorithmConfig] = Field(default_factory=list)
    churn: bool = False
    exclude_seen: bool = True
    relevance_threshold: Optional[float] = None
    factorized_top_k: List[Annotated[int, Field(gt=0)]] = Field(default_factory=list)
    output: EvaluateOutputConfig = Field(default_factory=EvaluateOutputConfig)

    def check(self, fail: Fail) -> None:
        if not self.algorithms:
            fail("algorithms", "no algorithms to evaluate; add an 'algorithms' list or pass --algorithms.")
        for i, spec in enumerate(self.algorithms):
            if spec.family is not None:
                row = f", label: {spec.name!r}" if spec.name else ""
                fail(f"algorithms[{i}].family",
                     f"config key 'algorithms[{i}].family' was removed: write the model as 'name: {spec.family}' "
                     f"(and the row name as 'label: ...'), e.g. {{name: {spec.family}{row}}}.")
            if spec.name is None:
                fail(f"algorithms[{i}]", f"config key 'algorithms[{i}]' needs a 'name' (a registered algorithm; "
                                         "tfrec evaluate --list shows them).")

