"""Every shipped config under configs/ parses with the loader that reads it.

Evaluate configs (an ``algorithms`` list) go through ``tfrec evaluate``'s resolver and every algorithm
is constructed from its params (an unknown parameter fails here, not after minutes of training);
``train_*`` / ``tune_*`` configs go through ``training.load_config``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tfrec.config import load_yaml

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


def test_there_are_configs():
    assert len(CONFIGS) >= 10


@pytest.mark.parametrize("path", [p for p in CONFIGS if "algorithms" in load_yaml(p)], ids=lambda p: p.name)
def test_evaluate_config_parses_and_builds_every_algorithm(path):
    from tfrec.cli.evaluate import _resolve
    from tfrec.recommenders import registry

    args = argparse.Namespace(config=str(path), algorithms=None, data=None, protocol=None, k=None)
    resolved = _resolve(args)
    assert resolved["algorithms"], path
    for spec in resolved["algorithms"]:
        algo = registry.create(spec["name"], **(spec.get("params") or {}))
        assert algo is not None


@pytest.mark.parametrize("path", [p for p in CONFIGS if p.name.startswith(("train_", "tune_"))],
                         ids=lambda p: p.name)
def test_training_config_parses(path):
    from tfrec.training import load_config

    config = load_config(path)
    assert config.model.name
