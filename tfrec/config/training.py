"""``training``: the optimisation loop of a run (optimizer, schedule, early stopping, devices, warm start)."""

from __future__ import annotations

from typing import Any, Dict, Literal, Optional

from pydantic import Field

from tfrec.config.section import Section

STRATEGIES = ("auto", "cpu", "gpu", "mirrored", "multi_worker", "parameter_server")


class ScheduleConfig(Section):
    """Learning-rate schedule (the peak rate is ``training.learning_rate``).

    Attributes:
      name: "constant", "exponential" (``lr * decay_rate ** (step / decay_steps)``), "cosine"
        (cosine decay to ``alpha * lr`` over all training steps) or "warmup_cosine" (linear warm-up
        over ``warmup_epochs`` then cosine). Default "constant".
      decay_rate: exponential decay factor. Default 0.96.
      decay_steps: steps per decay period of "exponential"; None = one epoch. Default None.
      alpha: final learning-rate fraction of the cosine schedules. Default 0.0.
      warmup_epochs: warm-up length of "warmup_cosine", in epochs (may be fractional). Default 1.0.
    """

    name: Literal["constant", "exponential", "cosine", "warmup_cosine"] = "constant"
    decay_rate: float = 0.96
    decay_steps: Optional[int] = Field(None, gt=0)
    alpha: float = 0.0
    warmup_epochs: float = Field(1.0, ge=0)


class EarlyStoppingConfig(Section):
    """Early stopping on a validation metric; the best epoch's weights are kept.

    Attributes:
      enabled: stop when ``monitor`` has not improved for ``patience`` epochs. Default True.
      monitor: a Keras log name such as "val_rmse" or "val_loss"; None = the family's default.
      mode: "min", "max" or "auto" (max for names containing accuracy/auc/recall/ndcg/hit/precision).
      patience: epochs without improvement before stopping; >= 0. Default 3.
      min_delta: smallest change that counts as an improvement. Default 0.0.
    """

    enabled: bool = True
    monitor: Optional[str] = None
    mode: Literal["auto", "min", "max"] = "auto"
    patience: int = Field(3, ge=0)
    min_delta: float = 0.0


class WarmStartLRConfig(Section):
    """The logistic regression trained first for ``training.warm_start: lr`` (CTR families).

    It uses the deep model's features and preprocessing (same vocabularies and buckets, adapted on the
    same fit rows), trains on the fit rows with Adam and early-stops on the validation loss (best
    epoch's weights kept). Defaults: the logistic regression row of ``configs/bench/ctr_criteo10k.yaml``.

    Attributes:
      embedding_l2: L2 on the first-order weights looked up in a batch; >= 0. Default 0.001.
      learning_rate: Adam learning rate; > 0. Default 0.003.
      epochs: maximum epochs; positive. Default 30.
      patience: early-stopping patience (epochs without a lower validation loss); >= 0. Default 2.
      batch_size: examples per step; positive. Default 256.
    """

    embedding_l2: float = Field(1e-3, ge=0)
    learning_rate: float = Field(3e-3, gt=0)
    epochs: int = Field(30, gt=0)
    patience: int = Field(2, ge=0)
    batch_size: int = Field(256, gt=0)


class TrainingConfig(Section):
    """The optimisation loop.

    Attributes:
      epochs: maximum number of epochs; positive. Default 10.
      batch_size: examples per replica and step; the global batch is ``batch_size`` times the
        number of replicas; positive. Default 1024.
      optimizer: "adam", "adamw", "adagrad", "sgd" or "rmsprop". Default "adam".
      learning_rate: (peak) learning rate; > 0. Default 0.001.
      optimizer_params: extra keyword arguments of the optimizer (``momentum``, ``weight_decay``,
        ``clipnorm``, ...). Default {}.
      schedule: learning-rate schedule, see :class:`ScheduleConfig`.
      early_stopping: see :class:`EarlyStoppingConfig`.
      jit_compile: compile the train step with XLA. Default False.
      mixed_precision: ``mixed_float16`` compute on GPU (variables, embeddings and outputs stay
        float32); ignored with a warning on CPU. Default False.
      strategy: "auto", "cpu", "gpu", "mirrored", "multi_worker" or "parameter_server"
        (see ``tfrec.training.strategy``). Default "auto".
      ps_shards: ``parameter_server`` only: split every variable (embedding tables) into this many
        shards along its first axis (``FixedShardsPartitioner``), placed round-robin on the ``ps``
        tasks; >= 1. None = size-based sharding by ``min_shard_bytes``. Default None.
      min_shard_bytes: ``parameter_server`` only, with ``ps_shards`` None: shard a variable so that
        each shard holds at least this many bytes, into at most as many shards as there are ``ps``
        tasks (``MinSizePartitioner``); a table smaller than this stays in one piece; >= 1.
        Default 262144 (256 KiB).
      steps_per_execution: train steps per ``tf.function`` call; positive. Default 1.
      shuffle_buffer: tf.data shuffle buffer; 0 = no shuffling. Default 1_000_000.
      steps_per_epoch: training steps of one epoch; None = one pass over the fit rows. With a
        streamed shard folder the rows are then repeated. Default None.
      cache: cache the encoded examples in memory (``Dataset.cache``). Default True.
      seed: seed of weights initialisers (``tf.keras.utils.set_random_seed``) and shuffling. Default 42.
      verbose: 0 silent, 1 Keras progress bar, 2 one line per epoch. Default 2.
      restore_best: load the best epoch's weights before the final evaluation and export. Default True.
      warm_start: "lr" = CTR families (dcn, deepfm with ``model.params.task: ctr``): train a logistic
        regression first (``warm_start_lr``) on the same fit rows with the same preprocessing, copy its
        first-order weights and bias into the model and start the interaction outputs at zero, so the
        model starts as that LR (needs ``model_params`` ``first_order``, ``zero_init_top`` and for
        deepfm ``fm_gate`` true). Early stopping then counts the start as epoch 0 (``best_epoch`` -1
        in metrics.json when no epoch beats it: the LR's weights are kept). The warm-started weights
        are stored in ``<run_dir>/warm_start/``: a resumed run reuses them. None = off. Default None.
      freeze_linear: with ``warm_start``, keep the copied first-order weights fixed (the model is the LR
        plus a learned interaction residual). Default False.
      warm_start_lr: settings of that logistic regression, see :class:`WarmStartLRConfig`.
      refit: after the run (early stopping on the validation carve picks the epoch count), train a
        fresh model with the same seed and settings on all training rows (fit + validation) for that
        many epochs, without early stopping, and keep it: it is the run's model, exported and scored
        (``tfrec.training.refit``). The early-stopped run stays in ``<run_dir>/early_stopping/``; the
        final metrics add its test metrics as ``<metric>_no_refit`` and ``refit_epochs``. Needs early
        stopping enabled. Default False.

    Example:
      >>> TrainingConfig(epochs=3).early_stopping.patience
      3
    """

    epochs: int = Field(10, gt=0)
    batch_size: int = Field(1024, gt=0)
    optimizer: Literal["adam", "adamw", "adagrad", "sgd", "rmsprop"] = "adam"
    learning_rate: float = Field(1e-3, gt=0)
    optimizer_params: Dict[str, Any] = Field(default_factory=dict)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    early_stopping: EarlyStoppingConfig = Field(default_factory=EarlyStoppingConfig)
    jit_compile: bool = False
    mixed_precision: bool = False
    strategy: Literal["auto", "cpu", "gpu", "mirrored", "multi_worker", "parameter_server"] = "auto"
    ps_shards: Optional[int] = Field(None, ge=1)
    min_shard_bytes: int = Field(256 << 10, ge=1)

    @property
    def ps_sharding(self) -> tuple:
        """``(ps_shards, min_shard_bytes)``: the variable partitioning of ``parameter_server`` runs."""
        return self.ps_shards, self.min_shard_bytes
    steps_per_execution: int = Field(1, gt=0)
    shuffle_buffer: int = Field(1_000_000, ge=0)
    steps_per_epoch: Optional[int] = Field(None, gt=0)
    cache: bool = True
    seed: int = 42
    verbose: int = Field(2, ge=0, le=2)
    restore_best: bool = True
    warm_start: Optional[Literal["lr"]] = None
    freeze_linear: bool = False
    warm_start_lr: WarmStartLRConfig = Field(default_factory=WarmStartLRConfig)
    refit: bool = False
