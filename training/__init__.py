"""One training loop for every tfrec model family: typed YAML configs, devices, fault tolerance, tuning.

Public API:

* :func:`load_config`, :class:`Config`, :class:`ConfigError` -- the config schema (``training.config``).
* :class:`Trainer` -- ``Trainer(config).fit()`` trains, evaluates and writes the run folder
  (layout in ``training.trainer``); :func:`load_run` reads a run folder back.
* :func:`make_placement`, :class:`DeviceError` -- strategies (``training.strategy``).
* ``training.tasks`` -- the model-family registry; ``training.tuner`` -- hyperparameter search.

Importing this package does not import TensorFlow.
"""

from training.config import Config, ConfigError, from_dict, load_config
from training.strategy import DeviceError, make_placement
from training.tasks import available as available_models
from training.trainer import LoadedRun, RunDirError, RunResult, Trainer, load_run

__all__ = [
    "Config",
    "ConfigError",
    "DeviceError",
    "LoadedRun",
    "RunDirError",
    "RunResult",
    "Trainer",
    "available_models",
    "from_dict",
    "load_config",
    "load_run",
    "make_placement",
]
