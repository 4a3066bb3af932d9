"""The name -> factory table of tfrec.recommenders: every entry resolves and builds an Algorithm."""

import importlib

import pytest

import tfrec  # noqa: F401

from tfrec.recommenders import ALGORITHMS, Algorithm, available, create


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_entry_builds_an_algorithm_under_its_name(name):
    module_name, attr = ALGORITHMS[name].split(":")
    assert module_name.startswith("tfrec.recommenders."), ALGORITHMS[name]  # adapters live in the recommender layer
    assert callable(getattr(importlib.import_module(module_name), attr))
    algo = create(name)
    assert isinstance(algo, Algorithm) and algo.name == name


def test_available_is_sorted_and_complete():
    assert available() == sorted(ALGORITHMS)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ValueError, match="Unknown algorithm 'popularty'. Did you mean 'popularity'"):
        create("popularty")


def test_invalid_parameter_names_the_algorithm():
    with pytest.raises(ValueError, match="Invalid parameters for algorithm 'popularity'"):
        create("popularity", bogus=1)
