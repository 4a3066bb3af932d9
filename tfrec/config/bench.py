"""The config of ``tfrec bench``: a benchmark as runs of ``tfrec evaluate`` / ``tfrec train`` configs.

Example (``configs/bench/<name>.yaml``)::

    bench:
      name: ranking_ml100k               # results: benchmarks/results/<name>.json (or `results: path`)
      dataset: MovieLens 100K
      protocol: "random 80/20 split (seed 42); RMSE/MAE on the held-out ratings; one row per model"
      seeds: [42, 43, 44]                # optional: each run repeated with training seed s; rows = mean, std
      anchors:                           # optional: published reference numbers
        - {algorithm: "DCN-V2 (paper)", metrics: {rmse: 0.9}, source: "citation"}
    runs:
      - evaluate: configs/ranking_ml100k.yaml     # a tfrec evaluate config: a path or inline
        set: {k: 20}                              # optional dotted overrides of that config
        suffix: " [u1]"                           # optional, appended to each of its row names
      - train: configs/train_mf_ml100k.yaml       # a tfrec train config: one row = its test metrics
        label: "mf (trainer)"
        set: {training.epochs: 5}
      - tune: configs/tune_mf_ml100k.yaml         # a tfrec tune config: default vs best config, one row a trial
      - compare: {...}                            # tfrec algorithms beside Surprise (tfrec.config.compare)
      - scale:                                    # a train config on synthetic data of several sizes
          rows: [1000000, 5000000]                # one row per size: "<label>_<rows>"
          synth: {like: ml-25m, seed: 0, shards: 16}
          train: {data: {format: shards}, model: {name: two_tower}, training: {epochs: 1}}
          export: {scann: true}

Paths (configs, data, results) are relative to the working directory, as in ``tfrec evaluate``.
"""

from __future__ import annotations

from typing import Annotated, Any, Dict, List, Literal, Optional, Union

import pydantic
from pydantic import Field

from tfrec.config.section import Fail, Section

__all__ = ["AnchorConfig", "BenchConfig", "BenchHeaderConfig", "BenchRunConfig", "RUN_KINDS", "ScaleExportConfig",
           "ScaleRunConfig", "SynthConfig", "CTRSynthConfig", "CTRScaleRunConfig"]

#: the kinds of run a benchmark config may hold
RUN_KINDS = ("evaluate", "train", "tune", "compare", "scale", "ctr_scale")


class AnchorConfig(pydantic.BaseModel):
    """A published reference figure, copied into the results file (never one of our rows).

    A strict section (unknown keys refused) whose ``source`` is the citation (not a config file).

    Attributes:
      algorithm: the row name, e.g. "DCN-V2 (paper)".
      metrics: metric name -> value.
      source: the citation.
    """

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)

    algorithm: str
    metrics: Dict[str, Optional[float]]
    source: str


class BenchHeaderConfig(Section):
    """``bench``: what the results file says about the benchmark.

    Attributes:
      name: the benchmark's name; results go to ``benchmarks/results/<name>.json``.
      dataset: the dataset's name in words.
      protocol: one paragraph: split, metrics, what each row is.
      seeds: training seeds; each run is repeated with each and its rows report the mean and the
        sample standard deviation (ddof=1). None = one run with the configs' own seeds. Default None.
      anchors: see :class:`AnchorConfig`. Default [].
      results: the results file instead of ``benchmarks/results/<name>.json``. Default None.
    """

    name: str = Field(min_length=1)
    dataset: str
    protocol: str
    seeds: Optional[List[int]] = None
    anchors: List[AnchorConfig] = Field(default_factory=list)
    results: Optional[str] = None


class SynthConfig(Section):
    """``scale.synth``: the ``tfrec data synth`` arguments of a scale run (every size uses them).

    Attributes:
      like: "ml-25m" (ratings; the shard trainers read ratings). Default "ml-25m".
      seed: seed of the generator. Default 0.
      shards: shard files per dataset. Default 16.
      clusters: planted user/item groups. Default 16.
    """

    like: Literal["ml-25m"] = "ml-25m"
    seed: int = 0
    shards: int = Field(16, gt=0)
    clusters: int = Field(16, gt=0)


class ScaleExportConfig(Section):
    """``scale.export``: the ``tfrec export`` of each trained run (timed as its own stage).

    Attributes:
      enabled: export each run. Default True.
      scann: also export the ScaNN variant (tuned to ``scann_recall``). Default True.
      k: top-k of the retrieval signatures. Default 10.
      scann_recall: recall@k target of the ScaNN tuning. Default 0.95.
    """

    enabled: bool = True
    scann: bool = True
    k: int = Field(10, gt=0)
    scann_recall: float = Field(0.95, gt=0, le=1)


class ScaleRunConfig(Section):
    """``runs[i].scale``: one train config run on synthetic data of several sizes, each size in its own
    child process (so its peak memory is measured alone).

    For each size N: ``tfrec data synth --like <like> --rows N`` into ``<data_dir>/<like>-<N>`` (a
    folder whose manifest has the same generator settings is reused, and the row says so), then
    a child process trains the config with ``data.path`` set to that folder, evaluates it, and
    exports it. Row ``<label>_<N>``: ``peak_rss_mb`` (the child's maximum resident set), the
    trainer's examples/s and its stages' seconds, and the final test metrics.

    Attributes:
      rows: dataset sizes (interactions), in row order.
      synth: see :class:`SynthConfig`.
      train: the ``tfrec train`` config (a path or an inline mapping); its ``data.format`` must be shards.
      data_dir: where the synthetic datasets go. Default "data/synth".
      export: see :class:`ScaleExportConfig`.
      label: row-name prefix. Default None (the model name).
    """

    rows: List[Annotated[int, Field(gt=0)]]
    synth: SynthConfig = Field(default_factory=SynthConfig)
    train: Union[str, Dict[str, Any]]
    data_dir: str = "data/synth"
    export: ScaleExportConfig = Field(default_factory=ScaleExportConfig)
    label: Optional[str] = None


class CTRSynthConfig(Section):
    """``ctr_scale.synth``: the ``tfrec data synth --like criteo`` arguments of the planted-cross data (the
    null data is the same with ``--crosses 0``).

    Attributes:
      seed: seed of the generator. Default 0.
      shards: shard files per dataset. Default 16.
      crosses: planted feature-pair crosses of the planted data (>= 1). Default 4.
      cross_strength: std of a cross's logit effect. Default 1.0.
      max_cardinality: cap of a categorical column's ids. Default 100000.
    """

    seed: int = 0
    shards: int = Field(16, gt=0)
    crosses: int = Field(4, gt=0)
    cross_strength: float = Field(1.0, gt=0)
    max_cardinality: int = Field(100_000, gt=1)


class CTRScaleRunConfig(Section):
    """``runs[i].ctr_scale``: CTR models on Criteo-shaped synthetic data with and without planted crosses,
    every (model, dataset) in its own child process (``tfrec.cli.bench_ctr_scale``).

    Attributes:
      rows: rows of each synthetic dataset.
      synth: see :class:`CTRSynthConfig`.
      train: the shared ``tfrec train`` config (a mapping; ``data.format`` shards).
      models: row name -> that model's config sections, merged over ``train`` (``model``, ``training`` ...).
      baseline: the row the others are compared with. Default "logreg".
      min_gain: goal: AUC gain over the baseline on the planted data. Default 0.02.
      max_null_gap: goal: largest |AUC difference| from the baseline on the null data. Default 0.005.
      data_dir: where the synthetic datasets go. Default "data/synth".
    """

    rows: int = Field(gt=0)
    synth: CTRSynthConfig = Field(default_factory=CTRSynthConfig)
    train: Dict[str, Any]
    models: Dict[str, Dict[str, Any]]
    baseline: str = "logreg"
    min_gain: float = 0.02
    max_null_gap: float = 0.005
    data_dir: str = "data/synth"

    def check(self, fail: Fail) -> None:
        if self.baseline not in self.models:
            fail("baseline", f"config key 'baseline' ({self.baseline!r}) is not one of the models "
                             f"({', '.join(self.models)}).")


class BenchRunConfig(Section):
    """One entry of ``runs``: exactly one of ``evaluate``, ``train``, ``tune``, ``compare`` and ``scale``.

    Attributes:
      evaluate: a ``tfrec evaluate`` config (a path or an inline mapping): one row per algorithm.
      train: a ``tfrec train`` config (a path or an inline mapping): one row, its test metrics.
      tune: a ``tfrec tune`` config (a path or an inline mapping): the default and the best config of its
        search, trained again with the test evaluation, and one row per trial (``tfrec.cli.bench_tune``).
      compare: a ``compare`` config (a path or an inline mapping, :class:`~tfrec.config.compare.CompareConfig`):
        one row per algorithm, its RMSE beside its reference library's on the same split.
      scale: a train config at several synthetic data sizes (see :class:`ScaleRunConfig`): one row per size.
      set: dotted key -> value overrides of that config (as ``--set``). Default {}.
      suffix: appended to every row name of this run. Default "".
      label: the row name of a ``train`` run (the row-name prefix of a ``tune`` run). Default None (the
        model name).
    """

    evaluate: Optional[Union[str, Dict[str, Any]]] = None
    train: Optional[Union[str, Dict[str, Any]]] = None
    tune: Optional[Union[str, Dict[str, Any]]] = None
    compare: Optional[Union[str, Dict[str, Any]]] = None
    scale: Optional[ScaleRunConfig] = None
    ctr_scale: Optional[CTRScaleRunConfig] = None
    set: Dict[str, Any] = Field(default_factory=dict)
    suffix: str = ""
    label: Optional[str] = None

    @property
    def kinds(self) -> List[str]:
        """The run kinds this entry gives (exactly one in a valid config)."""
        return [k for k in RUN_KINDS if getattr(self, k) is not None]

    @property
    def kind(self) -> str:
        """"evaluate", "train", "tune", "compare" or "scale"."""
        return (self.kinds or ["train"])[0]

    @property
    def config(self) -> Union[str, Dict[str, Any]]:
        """The run's config (path or mapping); of a scale run, its train config."""
        if self.scale is not None:
            return self.scale.train
        if self.ctr_scale is not None:
            return self.ctr_scale.train
        return getattr(self, self.kind)


class BenchConfig(Section):
    """A ``tfrec bench`` config: see the module docstring.

    Attributes:
      bench: see :class:`BenchHeaderConfig`.
      runs: the runs, in row order (at least one); see :class:`BenchRunConfig`.

    Example:
      >>> from tfrec.config import validate
      >>> cfg = validate(BenchConfig, {"bench": {"name": "b", "dataset": "d", "protocol": "p"},
      ...                              "runs": [{"train": "configs/train_mf_ml100k.yaml"}]})
      >>> cfg.runs[0].kind
      'train'
    """

    bench: BenchHeaderConfig
    runs: List[BenchRunConfig]

    def check(self, fail: Fail) -> None:
        if not self.runs:
            fail("runs", "config key 'runs' is empty; add at least one run (evaluate: or train:).")
        for i, run in enumerate(self.runs):
            if len(run.kinds) != 1:
                fail(f"runs[{i}]", f"config key 'runs[{i}]' must have exactly one run kind: 'evaluate' (a tfrec "
                                   "evaluate config), 'train' (a tfrec train config), 'tune' (a tfrec tune config), "
                                   "'compare' (tfrec algorithms beside a reference library) or 'scale' (a train "
                                   "config at several synthetic data sizes).")
            if run.scale is not None and not run.scale.rows:
                fail(f"runs[{i}].scale.rows", f"config key 'runs[{i}].scale.rows' is empty; list the dataset sizes.")
            if run.label is not None and run.kind not in ("train", "tune", "scale", "ctr_scale"):
                fail(f"runs[{i}].label", f"config key 'runs[{i}].label' names the row of a train run; the rows of an "
                                         f"{run.kind} run are its algorithms' labels (use 'suffix' to mark them).")
        if self.bench.seeds is not None and (not self.bench.seeds or len(set(self.bench.seeds)) != len(self.bench.seeds)):
            fail("bench.seeds", f"config key 'bench.seeds' must be a non-empty list of distinct seeds, got "
                                f"{self.bench.seeds!r}.")
