"""``output``: where a ``tfrec train`` run folder goes and what it holds."""

from __future__ import annotations

from tfrec.config.section import Section


class OutputConfig(Section):
    """Where the run folder goes and what it holds.

    Attributes:
      run_dir: the run folder; ``{model}`` and ``{dataset}`` are replaced. Default "runs/{model}_{dataset}".
      tensorboard: write TensorBoard event files under ``<run_dir>/logs``. Default True.
      save_model: write the trained weights to ``<run_dir>/model``. Default True.
      saved_model: also export a SavedModel to ``<run_dir>/model/saved_model`` (families whose model
        can be saved as one). Default True.
      backup: per-epoch ``BackupAndRestore`` state under ``<run_dir>/backup`` so a killed run resumes.
        Default True.

    Example:
      >>> OutputConfig().run_dir
      'runs/{model}_{dataset}'
    """

    run_dir: str = "runs/{model}_{dataset}"
    tensorboard: bool = True
    save_model: bool = True
    saved_model: bool = True
    backup: bool = True
