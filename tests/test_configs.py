"""Every shipped config under configs/ validates with the schema of the command that reads it.

``schema_of`` picks the schema by the file's sections: ``algorithms`` -> ``tfrec evaluate`` (and every
algorithm is constructed from its params and the protocol built, so an unknown parameter fails here,
not after minutes of training); anything else -> ``tfrec train`` / ``tfrec tune`` with the model-family
checks. No file is skipped.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tfrec.config import EvaluateConfig, Locator, RunConfig, load, load_yaml, read_yaml, schema_of
from tfrec.config.compare import CompareConfig

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


def test_there_are_configs():
    assert len(CONFIGS) >= 10


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_validates(path):
    schema = schema_of(load_yaml(path))
    if schema is EvaluateConfig:
        from tfrec.cli.evaluate import resolve

        args = argparse.Namespace(config=str(path), overrides=[], algorithms=None, data=None, protocol=None, k=None)
        config = resolve(args)  # builds every algorithm and the protocol
        assert config.algorithms
    elif schema is CompareConfig:
        from tfrec.cli.bench_compare import checked_compare

        pytest.importorskip("surprise", reason="scikit-surprise is not installed: pip install -e '.[bench]'")
        doc = read_yaml(path)
        config = checked_compare(doc.data, Locator(str(path), doc.lines))  # builds every algorithm and reference
        assert config.algorithms
    elif schema is RunConfig:
        from tfrec.training import load_config

        config = load_config(path)
        assert config.model.name
    else:
        config = load(path, schema)
    assert config.source == str(path)
