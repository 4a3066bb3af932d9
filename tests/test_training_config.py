"""Config schema of ``training``: parsing, overrides and the error messages (no TensorFlow needed)."""

import textwrap

import pytest

from tfrec.training.config import ConfigError, apply_overrides, from_dict, load_config, parse_scalar, valid_keys


def _write(tmp_path, text, name="cfg.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_defaults_and_types(tmp_path):
    path = _write(tmp_path, """
        model: {name: mf, params: {embedding_dim: 16}}
        training: {epochs: 3, learning_rate: 1e-3, early_stopping: {patience: 1}}
        """)
    cfg = load_config(path)
    assert cfg.training.epochs == 3
    # YAML 1.1 would read 1e-3 as the string "1e-3"; the loader reads it as a float
    assert cfg.training.learning_rate == pytest.approx(0.001)
    assert isinstance(cfg.training.learning_rate, float)
    assert cfg.model.params == {"embedding_dim": 16, "l2": 1e-4, "use_bias": True, "init_stddev": 0.05}
    assert cfg.training.batch_size == 1024  # default
    assert cfg.source == str(path)


def test_unknown_key_names_closest_valid_key_and_file(tmp_path):
    path = _write(tmp_path, "training: {epoch: 3}\n")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    msg = str(e.value)
    assert "'training.epoch'" in msg
    assert "Did you mean 'training.epochs'?" in msg
    assert msg.startswith(f"{path}:1: ")  # file and line
    assert e.value.key == "training.epoch" and e.value.line == 1


def test_unknown_nested_key(tmp_path):
    path = _write(tmp_path, "training: {early_stopping: {patiense: 3}}\n")
    with pytest.raises(ConfigError, match=r"Did you mean 'training.early_stopping.patience'\?"):
        load_config(path)


def test_unknown_section(tmp_path):
    path = _write(tmp_path, "trainig: {epochs: 3}\n")
    with pytest.raises(ConfigError, match=r"unknown config key 'trainig'. Did you mean 'training'\?"):
        load_config(path)


def test_unknown_model_param_names_closest(tmp_path):
    path = _write(tmp_path, "model: {name: mf, params: {embedding_dims: 8}}\n")
    with pytest.raises(ConfigError, match=r"Did you mean 'model.params.embedding_dim'\?"):
        load_config(path)


def test_wrong_type_names_key_and_expected_type(tmp_path):
    path = _write(tmp_path, "training: {epochs: ten}\n")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    msg = str(e.value)
    assert "'training.epochs' expects an integer" in msg
    assert "got str 'ten'" in msg
    assert msg.startswith(f"{path}:1: ")


def test_wrong_type_bool_and_model_param(tmp_path):
    with pytest.raises(ConfigError, match=r"'training.jit_compile' expects a boolean"):
        from_dict({"training": {"jit_compile": "yes please"}})
    with pytest.raises(ConfigError, match=r"'model.params.embedding_dim' expects an integer, got float 8.5"):
        from_dict({"model": {"name": "mf", "params": {"embedding_dim": 8.5}}})


def test_invalid_choice_suggests(tmp_path):
    with pytest.raises(ConfigError, match=r"'training.strategy' expects one of .* got 'mirored'. Did you mean 'mirrored'\?"):
        from_dict({"training": {"strategy": "mirored"}})
    with pytest.raises(ConfigError, match=r"Unknown model 'nuemf'. Did you mean 'neumf'\?"):
        from_dict({"model": {"name": "nuemf"}})
    with pytest.raises(ConfigError, match=r"model 'ncf' was renamed: use 'neumf', 'gmf' or 'mlp'"):
        from_dict({"model": {"name": "ncf"}})


def test_train_config_refuses_a_closed_form_model():
    with pytest.raises(ConfigError, match=r"model 'popularity' is fitted in closed form.*tfrec evaluate"):
        from_dict({"model": {"name": "popularity"}})


def test_range_errors():
    with pytest.raises(ConfigError, match=r"'training.epochs' must be a positive integer, got 0"):
        from_dict({"training": {"epochs": 0}})
    with pytest.raises(ConfigError, match=r"'data.validation_ratio' must be in \(0, 1\), got 1.5"):
        from_dict({"data": {"validation_ratio": 1.5}})
    with pytest.raises(ConfigError, match=r"Unknown protocol 'randm'. Did you mean 'random'\?"):
        from_dict({"data": {"protocol": "randm"}})


def test_set_overrides_parse_yaml_scalars(tmp_path):
    path = _write(tmp_path, "model: {name: mf}\n")
    cfg = load_config(path, ["training.epochs=7", "training.learning_rate=2e-3", "training.jit_compile=true",
                             "model.params.embedding_dim=8", "evaluation.k=[5, 10]", "output.run_dir=runs/x"])
    assert cfg.training.epochs == 7 and isinstance(cfg.training.epochs, int)
    assert cfg.training.learning_rate == pytest.approx(0.002)
    assert cfg.training.jit_compile is True
    assert cfg.model.params["embedding_dim"] == 8
    assert cfg.evaluation.k == [5, 10]
    assert cfg.output.run_dir == "runs/x"
    assert parse_scalar("abc") == "abc"
    assert parse_scalar("null") is None


def test_set_override_errors_name_the_override(tmp_path):
    path = _write(tmp_path, "model: {name: mf}\n")
    with pytest.raises(ConfigError) as e:
        load_config(path, ["training.epoch=3"])
    assert "--set training.epoch=3" in str(e.value)
    assert "Did you mean 'training.epochs'?" in str(e.value)
    with pytest.raises(ConfigError, match=r"not of the form key=value"):
        apply_overrides({}, ["training.epochs"])
    with pytest.raises(ConfigError, match=r"'training.epochs' expects an integer, got str 'x'"):
        load_config(path, ["training.epochs=x"])


def test_round_trip_to_yaml(tmp_path):
    cfg = from_dict({"model": {"name": "mf", "params": {"embedding_dim": 8}}, "training": {"epochs": 2},
                     "search_space": {"training.learning_rate": {"type": "float", "min": 1e-4, "max": 1e-1,
                                                                 "sampling": "log"}}})
    path = _write(tmp_path, cfg.to_yaml())
    again = load_config(path)
    assert again.to_dict() == cfg.to_dict()
    assert "search_space" not in cfg.to_dict(tuning=False)


def test_replace_and_get():
    cfg = from_dict({"model": {"name": "mf"}})
    new = cfg.replace({"model.params.embedding_dim": 4, "training.optimizer": "sgd"})
    assert new.get("model.params.embedding_dim") == 4
    assert new.training.optimizer == "sgd"
    assert cfg.get("model.params.embedding_dim") == 64  # unchanged


def test_search_space_errors():
    with pytest.raises(ConfigError, match=r"search_space key 'training.learnin_rate' is not a config key. "
                                          r"Did you mean 'training.learning_rate'\?"):
        from_dict({"search_space": {"training.learnin_rate": {"type": "float", "min": 0.1, "max": 0.2}}})
    with pytest.raises(ConfigError, match=r"sampling 'log' needs min > 0"):
        from_dict({"search_space": {"training.learning_rate": {"type": "float", "min": 0.0, "max": 0.2,
                                                               "sampling": "log"}}})
    with pytest.raises(ConfigError, match=r"value 'adm' is invalid for that key"):
        from_dict({"search_space": {"training.optimizer": {"type": "choice", "values": ["adam", "adm"]}}})
    with pytest.raises(ConfigError, match=r"'search_space.training.epochs.sampling' expects one of"):
        from_dict({"search_space": {"training.epochs": {"type": "int", "min": 1, "max": 3, "sampling": "lg"}}})


def test_valid_keys_cover_nested_sections():
    keys = valid_keys()
    assert "training.early_stopping.monitor" in keys
    assert "training.schedule.warmup_epochs" in keys
    assert "tuner.max_trials" in keys


def test_cli_train_reports_config_errors(tmp_path, capsys):
    from tfrec.cli.main import main

    path = _write(tmp_path, "training: {epoch: 3}\n")
    assert main(["train", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "tfrec train: error:" in err and "Did you mean 'training.epochs'?" in err


def test_cli_train_print_config_applies_overrides(tmp_path, capsys):
    from tfrec.cli.main import main

    path = _write(tmp_path, "model: {name: mf}\n")
    assert main(["train", "--config", str(path), "--set", "training.epochs=4", "--run-dir", "runs/x",
                 "--print-config"]) == 0
    out = capsys.readouterr().out
    printed = load_config(_write(tmp_path, out, "printed.yaml"))
    assert printed.training.epochs == 4 and printed.output.run_dir == "runs/x"
    assert "search_space" not in out


def test_cli_commands_are_registered():
    from tfrec.cli.main import build_parser

    parser = build_parser()
    args = parser.parse_args(["tune", "--config", "c.yaml", "--distributed", "worker", "--oracle-port", "9001"])
    assert args.command == "tune" and args.distributed == "worker" and args.oracle_port == 9001
    args = parser.parse_args(["train", "--config", "c.yaml", "--set", "a.b=1", "--set", "c=2"])
    assert args.overrides == ["a.b=1", "c=2"]
