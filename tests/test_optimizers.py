"""The one optimizer factory: Keras optimizers by name, clear errors."""

import doctest

import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.models import optimizers
from tfrec.models.optimizers import OPTIMIZERS, make_optimizer


@pytest.mark.parametrize("name, cls", [("adam", tf.keras.optimizers.Adam), ("Adagrad", tf.keras.optimizers.Adagrad),
                                       ("sgd", tf.keras.optimizers.SGD), ("rmsprop", tf.keras.optimizers.RMSprop)])
def test_same_optimizer_as_the_keras_class(name, cls):
    # the factory's optimizer has exactly the config of the class built directly (same defaults)
    assert make_optimizer(name, 0.05).get_config() == cls(0.05).get_config()


def test_every_listed_name_builds():
    for name in OPTIMIZERS:
        opt = make_optimizer(name, 0.1)
        assert isinstance(opt, tf.keras.optimizers.Optimizer)
        assert float(opt.learning_rate) == pytest.approx(0.1)


def test_keyword_arguments_reach_the_optimizer():
    assert make_optimizer("sgd", 0.1, momentum=0.9).get_config()["momentum"] == pytest.approx(0.9)


def test_unknown_name_lists_valid_optimizers():
    with pytest.raises(ValueError, match="Unknown optimizer 'lion'. Valid optimizers: adadelta, adagrad"):
        make_optimizer("lion", 0.1)


def test_unknown_argument_names_the_optimizer():
    with pytest.raises(ValueError, match=r"Invalid argument\(s\) for optimizer 'adam': \['bogus'\]"):
        make_optimizer("adam", 0.1, bogus=1)


@pytest.mark.parametrize("lr", [0, -0.1, "0.1", True])
def test_learning_rate_must_be_positive(lr):
    with pytest.raises(ValueError, match="learning_rate must be a positive number"):
        make_optimizer("adam", lr)


def test_docstring_examples_run():
    assert doctest.testmod(optimizers).failed == 0
