"""The config package (``tfrec.config``): YAML lines, ``--set`` overrides, pydantic errors as ConfigError."""

import textwrap

import pytest

from tfrec.config import (ConfigError, EvaluateConfig, RunConfig, apply_overrides, load,
                          read_yaml, schema_of, validate)


def _write(tmp_path, text, name="cfg.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_read_yaml_keeps_the_line_of_every_key_and_list_item(tmp_path):
    path = _write(tmp_path, """
        data:
          dataset: ml-100k
        algorithms:
          - popularity
          - name: mf
            params: &p {l2: 0.1}
          - name: mf
            params:
              <<: *p
              embedding_dim: 8
        """)
    doc = read_yaml(path)
    assert doc.lines["data"] == 1 and doc.lines["data.dataset"] == 2
    assert doc.lines["algorithms[0]"] == 4 and doc.lines["algorithms[1].params"] == 6
    assert doc.lines["algorithms[2].params.embedding_dim"] == 10
    assert doc.lines["algorithms[2].params.l2"] == 6  # a merged key keeps the line of its anchor
    assert doc.data["algorithms"][2]["params"] == {"l2": 0.1, "embedding_dim": 8}


def test_unknown_key_names_file_line_and_closest_key(tmp_path):
    path = _write(tmp_path, """
        data: {dataset: ml-100k}
        training:
          epochs: 3
          batch_sise: 64
        """)
    with pytest.raises(ConfigError) as e:
        load(path, RunConfig)
    assert str(e.value).startswith(f"{path}:4: unknown config key 'training.batch_sise'.")
    assert "Did you mean 'training.batch_size'?" in str(e.value)
    assert (e.value.key, e.value.line, e.value.source) == ("training.batch_sise", 4, str(path))


def test_unknown_key_in_another_section_is_found(tmp_path):
    path = _write(tmp_path, "data: {epochs: 3}\n")
    with pytest.raises(ConfigError, match=r"cfg.yaml:1: unknown config key 'data.epochs'. Did you mean 'training.epochs'\?"):
        load(path, RunConfig)


def test_wrong_type_names_key_expected_type_value_file_and_line(tmp_path):
    path = _write(tmp_path, """
        model: {name: mf}
        training:
          learning_rate: fast
        """)
    with pytest.raises(ConfigError) as e:
        load(path, RunConfig)
    assert str(e.value) == (f"{path}:3: config key 'training.learning_rate' expects a number (float), "
                            "got str 'fast'.")


def test_no_type_coercion():
    for value in ("3", 3.5, True):
        with pytest.raises(ConfigError, match=r"'training.epochs' expects an integer"):
            validate(RunConfig, {"training": {"epochs": value}})
    with pytest.raises(ConfigError, match=r"'training.cache' expects a boolean \(true/false\), got str 'yes'"):
        validate(RunConfig, {"training": {"cache": "yes"}})
    assert validate(RunConfig, {"training": {"learning_rate": 1}}).training.learning_rate == 1.0


def test_range_and_section_errors():
    with pytest.raises(ConfigError, match=r"'tuner.factor' must be >= 2, got 1"):
        validate(RunConfig, {"tuner": {"factor": 1}})
    with pytest.raises(ConfigError, match=r"'evaluation.k\[1\]' must be a positive integer, got 0"):
        validate(RunConfig, {"evaluation": {"k": [5, 0]}})
    with pytest.raises(ConfigError, match=r"config section 'training' expects a mapping, got int 3"):
        validate(RunConfig, {"training": 3})
    with pytest.raises(ConfigError, match=r"'training.freeze_linear' needs training.warm_start: lr"):
        validate(RunConfig, {"training": {"freeze_linear": True}})


def test_set_override_errors_say_they_came_from_set(tmp_path):
    path = _write(tmp_path, "training: {epochs: 3}\n")
    with pytest.raises(ConfigError) as e:
        load(path, RunConfig, ["training.batch_size=big"])
    assert str(e.value).startswith(f"{path} (--set training.batch_size=big): config key 'training.batch_size' "
                                   "expects an integer, got str 'big'.")
    assert e.value.line is None
    with pytest.raises(ConfigError, match=r"--set training.epochs.max=3.*'training.epochs' is a int, not a section"):
        apply_overrides({"training": {"epochs": 3}}, ["training.epochs.max=3"])


def test_set_values_are_yaml(tmp_path):
    path = _write(tmp_path, "k: 10\nalgorithms: [popularity]\n")
    cfg = load(path, EvaluateConfig, ["k=20", "protocol=random", "algorithms=[random, {name: mf, params: {l2: 1e-3}}]"])
    assert cfg.k == 20 and cfg.protocol.name == "random"
    assert [a.name for a in cfg.algorithms] == ["random", "mf"] and cfg.algorithms[1].params == {"l2": 0.001}


def test_evaluate_schema_errors(tmp_path):
    path = _write(tmp_path, """
        protocol: {name: random, parms: {ratio: 0.8}}
        algorithms: [popularity]
        """)
    with pytest.raises(ConfigError, match=r"cfg.yaml:1: unknown config key 'protocol.parms'. Did you mean 'protocol.params'\?"):
        load(path, EvaluateConfig)
    with pytest.raises(ConfigError, match=r"'algorithms\[0\]' needs a 'name'"):
        validate(EvaluateConfig, {"algorithms": [{"params": {}}]})
    with pytest.raises(ConfigError, match=r"no algorithms to evaluate"):
        validate(EvaluateConfig, {"k": 5})


def test_schema_of_picks_the_command_schema():
    assert schema_of({"algorithms": []}) is EvaluateConfig
    assert schema_of({"model": {"name": "mf"}}) is RunConfig


def test_run_config_round_trip_and_replace(tmp_path):
    cfg = validate(RunConfig, {"training": {"epochs": 2}, "search_space": {
        "training.learning_rate": {"type": "float", "min": 1e-4, "max": 1e-1, "sampling": "log"}}})
    again = load(_write(tmp_path, cfg.to_yaml()), RunConfig)
    assert again.to_dict() == cfg.to_dict()
    new = cfg.replace({"training.epochs": 5})
    assert (new.training.epochs, cfg.training.epochs) == (5, 2)
    with pytest.raises(ConfigError, match=r"override training.epochs=0"):
        cfg.replace({"training.epochs": 0})


def test_docstring_examples_run():
    import doctest
    import importlib
    import pkgutil

    import tfrec.config

    for info in pkgutil.iter_modules(tfrec.config.__path__):
        module = importlib.import_module(f"tfrec.config.{info.name}")
        assert doctest.testmod(module).failed == 0, info.name
