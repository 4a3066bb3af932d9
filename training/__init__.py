"""One training loop for every tfrec model family: typed YAML configs, devices, fault tolerance, tuning.

Public API:

* :func:`load_config`, :class:`Config`, :class:`ConfigError` -- the config schema (``training.config``).
* :class:`Trainer` -- ``Trainer(config).fit()`` trains, evaluates and writes the run folder
  (layout in ``training.trainer``); :func:`load_run` reads a run folder back.
* :func:`make_placement`, :class:`DeviceError` -- strategies (``training.strategy``).
* :func:`build_algorithm` -- a registry name as an evaluation ``Algorithm`` (``training.family_algorithm``).
* ``training.families`` -- the one registry of algorithms; ``training.tuner`` -- hyperparameter search.

Importing this package does not import TensorFlow.
"""

if __name__ != "tfrec.training":  # the source folder training/ is not a package of its own
    raise ImportError(f"{__name__!r} is not importable: the training package is 'tfrec.training' (import tfrec.training).")


from tfrec.training.config import Config, ConfigError, from_dict, load_config
from tfrec.training.strategy import DeviceError, make_placement
from tfrec.training.families.registry import available as available_models
from tfrec.training.family_algorithm import FamilyAlgorithm, build_algorithm
from tfrec.training.trainer import LoadedRun, RunDirError, RunResult, Trainer, load_run

__all__ = [
    "Config",
    "ConfigError",
    "DeviceError",
    "FamilyAlgorithm",
    "LoadedRun",
    "RunDirError",
    "RunResult",
    "Trainer",
    "available_models",
    "build_algorithm",
    "from_dict",
    "load_config",
    "load_run",
    "make_placement",
]
