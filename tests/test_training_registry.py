"""The one registry: typed parameter schemas, their errors, renamed names, one step of every Keras family,
the closed-form entries."""

import math

import numpy as np
import pytest

import tfrec  # noqa: F401
from tfrec.training.config import ConfigError, from_dict
from tfrec.training.families import FamilyParams, available, get_task, monitor_of, validate_params


def _raise(key, message):
    raise ConfigError(message, key=key)


# ------------------------------------------------------------------------------------------------
# schemas


KERAS = [n for n in available() if not get_task(n).closed_form]


def test_every_algorithm_is_registered_once():
    assert KERAS == ["bpr", "dcn", "deepfm", "fm", "gmf", "gru4rec", "i_autorec", "logreg", "mf", "mlp", "multitask",
                     "neumf", "ranking", "rbm", "two_stage", "two_tower", "u_autorec"]
    assert [n for n in available() if get_task(n).closed_form] == [
        "als", "content_knn", "global_mean", "hybrid", "item_knn", "item_mean", "popularity", "random",
        "session_knn", "session_popularity", "successor_rule", "svd", "svdpp", "user_knn"]
    assert all(get_task(n).name == n for n in available())


@pytest.mark.parametrize("old, new", [("ncf", "use 'neumf', 'gmf' or 'mlp'"),
                                      ("autorec", "use 'i_autorec' \\(item-based\\) or 'u_autorec'"),
                                      ("ranking_mlp", "use 'ranking'")])
def test_old_names_say_the_new_ones(old, new):
    with pytest.raises(ValueError, match=f"model '{old}' was renamed: {new}"):
        get_task(old)


@pytest.mark.parametrize("name", available())
def test_schema_round_trips_its_defaults(name):
    task = get_task(name)
    defaults = task.defaults
    assert issubclass(task.params_schema, FamilyParams)
    assert list(defaults) == list(task.params_schema.model_fields)
    assert task.params_schema.model_validate(defaults).model_dump() == defaults
    assert task.check_params({}, _raise) == defaults
    assert task.check_params(defaults, _raise) == defaults


def test_ncf_variants_have_their_own_parameters():
    sampling = {"l2", "init_stddev", "num_negatives", "resample_negatives"}
    assert set(get_task("gmf").defaults) == {"mf_dim"} | sampling
    assert set(get_task("mlp").defaults) == {"mlp_embedding_dim", "hidden_units"} | sampling
    assert set(get_task("neumf").defaults) == (set(get_task("gmf").defaults) | set(get_task("mlp").defaults)
                                               | {"pretrain", "pretrain_gmf", "pretrain_mlp", "alpha"})
    assert set(get_task("bpr").defaults) == {"embedding_dim"} | sampling
    with pytest.raises(ConfigError, match=r"unknown config key 'model.params.variant' for model 'neumf'"):
        get_task("neumf").check_params({"variant": "gmf"}, _raise)
    assert get_task("i_autorec").based_on == "item" and get_task("u_autorec").based_on == "user"


def test_defaults_are_a_fresh_copy():
    task = get_task("neumf")
    task.defaults["hidden_units"].append(4)
    assert task.defaults["hidden_units"] == [32, 16, 8]


def test_unknown_key_names_the_closest_and_the_valid_ones():
    with pytest.raises(ConfigError) as e:
        get_task("mf").check_params({"embeding_dim": 8}, _raise)
    assert e.value.key == "model.params.embeding_dim"
    assert str(e.value) == ("unknown config key 'model.params.embeding_dim' for model 'mf'. Did you mean "
                            "'model.params.embedding_dim'? Valid parameters: embedding_dim, init_stddev, l2, use_bias.")


def test_unknown_key_without_a_close_one_has_no_hint():
    with pytest.raises(ConfigError, match=r"for model 'i_autorec'\. Valid parameters: clip, hidden_units, l2\.$"):
        get_task("i_autorec").check_params({"zzz": 1}, _raise)


def test_typo_in_a_config_file_names_the_file(tmp_path):
    path = tmp_path / "mf.yaml"
    path.write_text("model:\n  name: mf\n  params:\n    init_stdev: 0.1\n")
    from tfrec.training.config import load_config

    with pytest.raises(ConfigError, match=r"Did you mean 'model.params.init_stddev'\?") as e:
        load_config(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("name, params, expected", [
    ("mf", {"embedding_dim": 8.5}, "'model.params.embedding_dim' expects an integer, got float 8.5."),
    ("mf", {"embedding_dim": True}, "'model.params.embedding_dim' expects an integer, got bool True."),
    ("mf", {"use_bias": 1}, "'model.params.use_bias' expects a boolean, got int 1."),
    ("mf", {"l2": "0.1"}, "'model.params.l2' expects a number (float), got str '0.1'."),
    ("neumf", {"hidden_units": [8, "a"]}, "'model.params.hidden_units' expects a list of integers, got [8, 'a']."),
    ("two_tower", {"temperature": "hot"}, "'model.params.temperature' expects a number (float) or null, got str 'hot'."),
    ("dcn", {"model_params": [1]}, "'model.params.model_params' expects a mapping, got list [1]."),
])
def test_wrong_type_names_key_expected_type_and_value(name, params, expected):
    with pytest.raises(ConfigError) as e:
        get_task(name).check_params(params, _raise)
    assert str(e.value) == f"config key {expected}"
    assert e.value.key == f"model.params.{next(iter(params))}"


@pytest.mark.parametrize("name, params, expected", [
    ("gmf", {"num_negatives": 0}, "'model.params.num_negatives' must be >= 1, got 0."),
    ("neumf", {"alpha": 1.5}, "'model.params.alpha' must be <= 1.0, got 1.5."),
    ("bpr", {"resample_negatives": "yes"}, "'model.params.resample_negatives' expects a boolean, got str 'yes'."),
    ("item_knn", {"k": 0}, "'model.params.k' must be > 0, got 0."),
    ("rbm", {"orientation": "both"}, "'model.params.orientation' expects 'user' or 'item', got 'both'."),
    ("rbm", {"cd_k_schedule": [[1, 1]]}, "'model.params.cd_k_schedule' must be [first_epoch, k] pairs starting at "
                                         "epoch 0 with increasing epochs and k >= 1, e.g. [[0, 1], [20, 3]]; got "
                                         "[[1, 1]]."),
    ("gru4rec", {"layers": [0]}, "'model.params.layers' expects a list of positive integers, got [0]."),
    ("gru4rec", {"layers": []}, "'model.params.layers' expects a list of positive integers, got []."),
    ("dcn", {"task": "click"}, "'model.params.task' expects 'rating' or 'ctr', got 'click'."),
])
def test_value_not_allowed(name, params, expected):
    with pytest.raises(ConfigError) as e:
        get_task(name).check_params(params, _raise)
    assert str(e.value) == f"config key {expected}"


def test_criteo_features_unknown_argument():
    with pytest.raises(ConfigError, match=r"'model.params.criteo_features' has unknown key\(s\) \['nmeric'\]; "
                                          r"valid: numeric, "):
        get_task("dcn").check_params({"criteo_features": {"nmeric": "log"}}, _raise)


def test_ints_widen_to_floats_and_tuples_read_as_lists():
    out = get_task("mf").check_params({"l2": 1, "init_stddev": 0}, _raise)
    assert out["l2"] == 1.0 and isinstance(out["l2"], float) and isinstance(out["init_stddev"], float)
    out = get_task("mlp").check_params({"hidden_units": (8, 4)}, _raise)
    assert out["hidden_units"] == [8, 4]


def test_first_problem_in_params_order_is_reported():
    with pytest.raises(ConfigError, match="use_bias"):
        get_task("mf").check_params({"use_bias": "yes", "embedding_dim": "big"}, _raise)


def test_fail_that_returns_gets_every_key_once():
    seen = []
    out = validate_params(get_task("two_tower").params_schema, "two_tower",
                          {"query_features": 3, "dropout": "x"}, lambda k, m: seen.append(k))
    assert seen == ["model.params.query_features", "model.params.dropout"]
    assert out["query_features"] == 3 and out["embedding_dim"] == 32


def test_config_loader_uses_the_schema():
    cfg = from_dict({"model": {"name": "neumf", "params": {"l2": 0}}})
    assert cfg.model.params["l2"] == 0.0 and isinstance(cfg.model.params["l2"], float)
    assert cfg.model.params["num_negatives"] == 4


@pytest.mark.parametrize("name, params, expected", [
    ("mf", {}, ("val_rmse", "min")), ("neumf", {}, ("val_auc", "max")), ("bpr", {}, ("val_auc", "max")),
    ("dcn", {"task": "ctr"}, ("val_auc", "max")),
    ("deepfm", {"task": "rating"}, ("val_rmse", "min")), ("gru4rec", {"k": 10}, ("val_mrr_at_10", "max")),
    ("two_tower", {}, ("val_loss", "min")),
])
def test_monitor_of(name, params, expected):
    assert monitor_of(name, params) == expected


def test_docstring_examples_run():
    import doctest

    from tfrec.training.families import closed_form, params, registry

    for module in (closed_form, params, registry):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_unknown_model_name():
    with pytest.raises(ValueError, match=r"Unknown model 'nuemf'. Did you mean 'neumf'\?"):
        get_task("nuemf")


# ------------------------------------------------------------------------------------------------
# closed-form entries

CLOSED = ["random", "popularity", "global_mean", "item_mean", "item_knn", "user_knn"]


@pytest.mark.parametrize("name", CLOSED[:4])
def test_closed_form_schema_defaults_are_the_class_defaults(name):
    from tfrec.training.families.closed_form import _factory, derived_schema

    task = get_task(name)
    assert task.defaults == derived_schema(name, _factory(task.target), task.fixed)().model_dump()


@pytest.mark.parametrize("name", ["item_knn", "user_knn"])
def test_knn_entries_validate_with_the_algorithms_own_schema(name):
    from tfrec.recommenders.knn import KNNParams

    task = get_task(name)
    assert issubclass(task.params_schema, KNNParams)  # the class validates with the same fields and defaults
    assert task.defaults == KNNParams().model_dump()
    assert task.create({"similarity": "msd", "k": 5}).params.k == 5


@pytest.mark.parametrize("name", CLOSED)
def test_closed_form_entry_builds_fits_and_scores(name, ml100k_path):
    from tfrec.data import load_movielens
    from tfrec.data.training_data import TrainingData
    from tfrec.recommenders.base import Algorithm

    algo = get_task(name).create({}, label=f"{name} row")
    assert isinstance(algo, Algorithm) and algo.name == f"{name} row"
    data = TrainingData(load_movielens(ml100k_path).ratings.head(500))
    scores = algo.fit(data).score(np.arange(3))
    assert scores.shape == (3, data.n_items) and np.isfinite(scores).all()


def test_closed_form_entry_checks_its_params():
    with pytest.raises(ConfigError, match=r"unknown config key 'model.params.damp' for model 'item_mean'. "
                                          r"Did you mean 'model.params.damping'\?"):
        get_task("item_mean").create({"damp": 1.0})


# ------------------------------------------------------------------------------------------------
# every family builds and trains one step on a tiny real slice

_IDS = [{"name": "user_id", "kind": "categorical"}, {"name": "movie_id", "kind": "categorical"}]
_SMALL = {
    "mf": {"embedding_dim": 4},
    "neumf": {"mf_dim": 4, "mlp_embedding_dim": 4, "hidden_units": [4], "num_negatives": 1},
    "gmf": {"mf_dim": 4, "num_negatives": 1},
    "mlp": {"mlp_embedding_dim": 4, "hidden_units": [4], "num_negatives": 1},
    "bpr": {"embedding_dim": 4},
    "two_tower": {"embedding_dim": 4},
    "ranking": {"embedding_dim": 4, "hidden_units": [4]},
    "dcn": {"features": _IDS, "embedding_dim": 4, "model_params": {"cross_layers": 1, "deep_layers": [4]}},
    "deepfm": {"features": _IDS, "embedding_dim": 4, "model_params": {"deep_layers": [4]}},
    "fm": {"features": _IDS, "embedding_dim": 4},
    "logreg": {"features": _IDS, "task": "ctr"},
    "i_autorec": {"hidden_units": 8, "l2": 1.0},
    "u_autorec": {"hidden_units": 8, "l2": 1.0},
    "rbm": {"n_hidden": 4},
    "gru4rec": {"layers": [8], "n_sample": 16},
    "multitask": {"embedding_dim": 4, "rating_units": [4]},
    "two_stage": {"retrieval": {"embedding_dim": 4}, "ranking": {"embedding_dim": 4, "hidden_units": [4]}},
}


@pytest.mark.parametrize("name", KERAS)
def test_family_builds_and_trains_one_step(name, ml100k_path, rsc15_path):
    import tensorflow as tf

    from tfrec.training.data import make_dataset
    from tfrec.training.trainer import make_optimizer

    if name == "gru4rec":
        data = {"path": str(rsc15_path), "format": "sessions", "max_rows": 3000}
    else:
        data = {"path": str(ml100k_path), "max_rows": 400, "validation_ratio": 0.2}
    cfg = from_dict({"data": data, "model": {"name": name, "params": _SMALL[name]},
                     "training": {"batch_size": 32, "learning_rate": 0.05, "verbose": 0}})
    tf.keras.utils.set_random_seed(0)
    task = get_task(name)
    run = task.prepare(cfg)
    params = dict(cfg.model.params)
    task.setup(params, run)
    model = task.build_model(params, run)
    x, y = task.examples(run, run.fit, "fit")
    model({k: v[:2] for k, v in x.items()}, training=False)
    task.compile(model, make_optimizer(cfg, 1), cfg)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(make_dataset(x, y, cfg.training.batch_size, cache=False).take(1), epochs=1, verbose=0)
    assert history.history and all(math.isfinite(v[0]) for v in history.history.values())  # rbm: no "loss"
    after = [w.numpy() for w in model.trainable_weights]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after)), f"{name}: one step changed no weight"
