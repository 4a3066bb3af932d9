"""Rating prediction on MovieLens 100K: ranking MLP, DCN-V2 (4 variants), DeepFM, FM, biased MF.

Protocol (the TFRS ranking tutorials' split): all 100,000 ratings shuffled with seed 42, 80% train /
20% test (``tfrec.splits.random_split(ratings, 0.8, seed=42)``). From the training part, 10% (a
seed-42 permutation) is carved out as the validation set for early stopping and for tuning; the
test rows are used only for the reported RMSE. Predictions are clipped to the training rating
range [1, 5]. Each row is the mean (and std) over three initialization seeds (42, 43, 44); the TFRS
DCN tutorial likewise reports the mean of 5 runs.

Features of DCN / DeepFM / FM (``configs/dcn_ml100k.yaml``, ``configs/deepfm_ml100k.yaml``): user
id, movie id, user age (10 training-quantile buckets), gender, occupation, zip code (codes seen
twice or more), genres (multi-hot, mean-pooled), release year (10 buckets), and where the search
kept them the title (mean-pooled tokens) and the rating's timestamp (20 buckets + z-score; the time
a rating is made is known when it is predicted). Vocabularies and statistics come from the
training rows only. Optional (``model.params.user_history``, tried in tuning rounds 7-8, not kept):
an SVD++-style list of the movies the user rated in the fit rows (``tfrec.data.add_user_history``;
never validation or test rows), mean-pooled as the multi_hot feature ``user_history``.

Rows: ``ranking_mlp`` (``tfrec.recommenders.ranking.RankingRecommender``, ids only, as the TFRS basic
ranking tutorial; ``ranking_mlp_side`` with the MovieLens side-feature presets), DCN-V2 full /
low-rank (rank = d/4) x stacked / parallel, DeepFM, FM, and biased MF (``mf``). Hyperparameters of
DCN and DeepFM were chosen on the validation split with ``--tune`` (coordinate search in rounds;
record: ``benchmarks/results/ranking_ml100k_tuning.json``); the low-rank and parallel rows reuse
the full-rank stacked DCN's settings.

Run:
  python benchmarks/ranking_ml100k.py            # all rows x 3 seeds, ~40-60 min on 2 busy cores
  python benchmarks/ranking_ml100k.py --tune [--round N]   # validation search for DCN and DeepFM
  python benchmarks/ranking_ml100k.py --models dcn_full_stacked,deepfm   # replaces only these rows
  python benchmarks/ranking_ml100k.py --refit --models dcn_full_stacked,dcn_full_parallel,dcn_lowrank_stacked,dcn_lowrank_parallel,deepfm,fm
  python benchmarks/ranking_ml100k.py --refit --models mf

``--refit`` adds rows ``<model>_refit``: after early stopping on the carved validation rows, a fresh model
(same seed and settings) is trained on the whole training part (fit + validation; vocabularies and
statistics from those rows) for the number of epochs early stopping chose, and scored once on test. This
is the TFRS tutorials' setting (they train on the full 80%); ``rmse_no_refit`` in the same row is the
early-stopped model, so the effect of the extra 10% of training rows is measured in one run. ``mf_refit``:
``MatrixFactorizationRecommender(refit=True)``, the same procedure inside the library (no rmse_no_refit:
the plain ``mf`` row is its early-stopped counterpart with the same seeds).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402  (imports tfrec first)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from tfrec import splits  # noqa: E402
from tfrec.data import load_movielens  # noqa: E402

CONFIGS = _common.REPO / "configs"
SEED = 42

ANCHORS = [
    {
        "algorithm": "TFRS basic ranking tutorial (ids only, MLP 256-64-1, Adagrad 0.1, 3 epochs)",
        "metrics": {"rmse": 1.10},
        "source": "https://www.tensorflow.org/recommenders/examples/basic_ranking (test RMSE about 1.10; "
                  "the tutorial's ML-100K 80/20 split with seed 42)",
    },
    {
        "algorithm": "TFRS DCN tutorial (DCN-V2, ids + side features, mean of 5 runs)",
        "metrics": {"rmse": 0.931},
        "source": "https://www.tensorflow.org/recommenders/examples/dcn (DCN (stacked) RMSE 0.9311 +- 0.0006 "
                  "on ML-100K, 80/20 split; DCN low-rank 0.9307, DNN 0.9339)",
    },
]


# ------------------------------------------------------------------------------------------------
# data


def load_ratings(path: Path) -> pd.DataFrame:
    """MovieLens ratings with the user/movie side columns and the movie's release year."""
    ml = load_movielens(path)
    ratings = ml.ratings.merge(ml.movies[["movie_id", "year"]], on="movie_id", how="left")
    return ratings.reset_index(drop=True)


def split(ratings: pd.DataFrame, val_fraction: float = 0.1):
    """(train, fit, val, test): the 80/20 seed-42 split; fit/val carved from train (seed 42)."""
    train, test = splits.random_split(ratings, 0.8, seed=SEED)
    order = np.random.default_rng(SEED).permutation(len(train))
    n_val = int(round(val_fraction * len(train)))
    val, fit = train.iloc[order[:n_val]], train.iloc[order[n_val:]]
    return train, fit, val, test


def model_config(name: str) -> dict:
    """``model.params`` and ``training`` of ``configs/<name>.yaml``."""
    raw = _common.read_config(CONFIGS / f"{name}.yaml")
    return {"params": raw["model"]["params"], "training": raw.get("training", {})}


# ------------------------------------------------------------------------------------------------
# the feature-interaction models (DCN, DeepFM, FM)


def run_feature_model(model: str, params: dict, training: dict, fit: pd.DataFrame, val: pd.DataFrame,
                      test: pd.DataFrame = None, label: str = "user_rating", task: str = "rating", seed: int = SEED,
                      positive_threshold: float = 4.0, refit: bool = False):
    """Trains one model on ``fit`` (early stopping on ``val``); returns metrics on val (and test).

    ``params``: ``features`` (feature dicts), ``embedding_dim``, ``model_params``; ``training``:
    ``batch_size``, ``epochs``, ``learning_rate``, ``early_stopping.patience``. For ``task="ctr"``
    the label is ``label >= positive_threshold``.

    ``refit=True`` (with ``test``): afterwards a fresh model (same seed and settings; vocabularies,
    statistics and user histories from all training rows) is trained on ``fit`` + ``val`` for the
    number of epochs early stopping chose, and ``out["test"]`` scores that model;
    ``out["test_no_refit"]`` keeps the early-stopped model's test scores.
    """
    raw = (params, fit, val, test)
    out = _train_feature_model(model, params, training, fit, val, test, label, task, seed, positive_threshold)
    if refit and test is not None:
        params, fit, val, test = raw
        epochs = max(1, out["info"]["best_epoch"])
        full = pd.concat([fit, val])
        again = _train_feature_model(model, params, {**training, "epochs": epochs}, full, None, test, label, task,
                                     seed, positive_threshold)
        out["test_no_refit"], out["test"] = out["test"], again["test"]
        out["refit_info"] = {"epochs": epochs, "rows": len(full), "train_seconds": again["info"]["train_seconds"]}
    return out


def _train_feature_model(model, params, training, fit, val, test, label, task, seed, positive_threshold):
    """One training run of :func:`run_feature_model` (``val`` None: no early stopping, all epochs)."""
    import tensorflow as tf

    from tfrec.features import frame_to_dataset
    from tfrec.models.ctr_builder import build_model, feature_layers
    from tfrec.models.feature_interaction import initial_bias
    from tfrec.recommenders.ctr_fit import fit_model, predict_frame

    tf.keras.utils.set_random_seed(seed)
    params, (fit, val, test) = _with_history(params, fit, val, test)
    fit = fit.assign(__label__=_labels(fit, label, task, positive_threshold))
    m = build_model(model, params["features"], fit, task=task, embedding_dim=params["embedding_dim"],
                    initial_bias=initial_bias(fit["__label__"], task), **params.get("model_params", {}))
    layers = feature_layers(m)
    ds = frame_to_dataset(fit, layers, label="__label__", batch_size=training.get("batch_size", 1024),
                          shuffle=True, seed=seed, encoder=layers[0])
    val_ds = None
    if val is not None:
        val = val.assign(__label__=_labels(val, label, task, positive_threshold))
        val_ds = frame_to_dataset(val, layers, label="__label__", batch_size=8192, encoder=layers[0])
    info = fit_model(m, ds, val_ds, epochs=training.get("epochs", 30),
                     learning_rate=training.get("learning_rate", 1e-3),
                     patience=training.get("early_stopping", {}).get("patience", 2))
    out = {"info": info}
    if val is not None:
        out["val"] = _scores(predict_frame(m, val), val["__label__"].to_numpy(), task, fit)
    if test is not None:
        test = test.assign(__label__=_labels(test, label, task, positive_threshold))
        out["test"] = _scores(predict_frame(m, test), test["__label__"].to_numpy(), task, fit)
    return out


HISTORY_COLUMN = "user_history"


def _with_history(params, fit, val, test):
    """``params["user_history"]`` (``add_user_history`` options, or None): the SVD++-style list of the
    movies each user rated, built from the ``fit`` rows only (the rows the model is trained on; never
    validation or test rows) and added to every frame as the multi_hot feature ``user_history``."""
    options = params.get("user_history")
    if not options:
        return params, (fit, val, test)
    from tfrec.data import add_user_history

    options = dict(options)
    feature = {"name": HISTORY_COLUMN, "kind": "multi_hot", "max_length": options.get("max_length") or 64}
    params = {**params, "features": [f for f in params["features"] if f["name"] != HISTORY_COLUMN] + [feature]}
    frames = [None if frame is None else
              add_user_history(frame, fit, column=HISTORY_COLUMN, exclude_own=bool(options.get("exclude_own")),
                               max_length=feature["max_length"], order_by=options.get("order_by"))
              for frame in (fit, val, test)]
    return params, frames


def _labels(frame, label, task, positive_threshold=4.0):
    y = frame[label].to_numpy(np.float32)
    return y if task == "rating" else (y >= positive_threshold).astype(np.float32)


def _scores(pred, y, task, fit):
    from tfrec import metrics as M

    if task == "rating":
        lo, hi = float(fit["__label__"].min()), float(fit["__label__"].max())
        return {"rmse": float(M.rmse(y, np.clip(pred, lo, hi)))}
    return {"auc": float(M.auc(y, pred)), "log_loss": float(M.log_loss(y, pred))}


DCN_VARIANTS = {
    "dcn_full_stacked": {"projection_dim": None, "structure": "stacked"},
    "dcn_full_parallel": {"projection_dim": None, "structure": "parallel"},
    "dcn_lowrank_stacked": {"projection_dim": "d/4", "structure": "stacked"},
    "dcn_lowrank_parallel": {"projection_dim": "d/4", "structure": "parallel"},
}


def dcn_params(base: dict, variant: dict) -> dict:
    """``base`` (the DCN config params) with a variant's rank and structure; ``d/4`` -> an int."""
    params = copy.deepcopy(base)
    mp = params.setdefault("model_params", {})
    rank = variant["projection_dim"]
    if rank == "d/4":
        n_fields = len(params["features"]) + (1 if params.get("user_history") else 0)  # + user_history
        rank = max(1, n_fields * params["embedding_dim"] // 4)
    mp["projection_dim"] = rank
    mp["structure"] = variant["structure"]
    return params


# ------------------------------------------------------------------------------------------------
# the evaluator algorithms (ranking MLP, MF)


def run_algorithm(algo, train: pd.DataFrame, test: pd.DataFrame):
    from tfrec import metrics as M
    from tfrec.data.training_data import TrainingData

    data = TrainingData(train)
    start = time.perf_counter()
    algo.fit(data)
    seconds = time.perf_counter() - start
    pred = algo.predict(data.user_index(test["user_id"]), data.item_index(test["movie_id"]))
    return float(M.rmse(test["user_rating"].to_numpy(np.float32), pred)), seconds


def _algorithm(name, seed, refit=False):
    from tfrec.recommenders.mf import MatrixFactorizationRecommender
    from tfrec.recommenders.ranking import RankingRecommender

    if name == "ranking_mlp":
        return RankingRecommender(validation_fraction=0.1, seed=seed)
    if name == "ranking_mlp_side":
        return RankingRecommender(user_features="movielens_user", item_features="movielens_item",
                                  validation_fraction=0.1, seed=seed)
    return MatrixFactorizationRecommender(validation_fraction=0.1, seed=seed, refit=refit)


def _seed_row(name, runs, **extra):
    """One result row from the runs of several seeds: mean (and std, ddof=1) of each metric."""
    metrics = {}
    for key in runs[0]["metrics"]:
        values = np.array([r["metrics"][key] for r in runs])
        metrics[key] = float(values.mean())
        if len(runs) > 1:
            metrics[f"{key}_std"] = float(values.std(ddof=1))
    eps = [r["examples_per_second"] for r in runs if r.get("examples_per_second")]
    return _common.row(name, metrics, train_seconds=float(np.mean([r["train_seconds"] for r in runs])),
                       examples_per_second=float(np.mean(eps)) if eps else None,
                       seeds=[r["seed"] for r in runs], rmse_per_seed=[round(r["metrics"]["rmse"], 6) for r in runs],
                       **extra)


def _feature_model_settings(name, dcn_cfg, deepfm_cfg):
    if name in DCN_VARIANTS:
        return "dcn", dcn_params(dcn_cfg["params"], DCN_VARIANTS[name]), dcn_cfg["training"]
    if name == "deepfm":
        return "deepfm", deepfm_cfg["params"], deepfm_cfg["training"]
    # FM on the DeepFM features and embedding size, without the deep part
    params = copy.deepcopy(deepfm_cfg["params"])
    params["model_params"] = {k: v for k, v in params.get("model_params", {}).items()
                              if k in ("embedding_l2", "first_order")}
    return "fm", params, deepfm_cfg["training"]


# ------------------------------------------------------------------------------------------------
# tuning (validation split only)

# Coordinate search: each stage tries the values of one setting with the others at their best so far
# (starting from the config file); the selection criterion is the validation RMSE only. Round 1 ran
# from the initial configs; its best settings were written to the configs, and round 2 starts there.
TUNE_STAGES = {
    1: {
        "dcn": [("embedding_l2", [0.0, 1e-4, 1e-3, 1e-2]), ("dropout", [0.0, 0.2, 0.4]),
                ("embedding_dim", [8, 16, 32]), ("learning_rate", [1e-3, 3e-3]), ("timestamp", [True, False]),
                ("cross_layers", [1, 2, 3])],
        "deepfm": [("embedding_l2", [0.0, 1e-4, 1e-3, 1e-2]), ("dropout", [0.0, 0.2, 0.4]),
                   ("embedding_dim", [8, 16, 32]), ("learning_rate", [1e-3, 3e-3])],
    },
    2: {
        "dcn": [("learning_rate", [3e-3, 1e-2]), ("embedding_dim", [16, 32]), ("embedding_l2", [0.01, 0.03, 0.1]),
                ("dropout", [0.0, 0.2]), ("zip", [True, False]), ("title", [False, True])],
        "deepfm": [("learning_rate", [3e-3, 1e-2]), ("embedding_l2", [0.01, 0.03, 0.1]), ("timestamp", [True, False]),
                   ("zip", [True, False]), ("title", [False, True])],
    },
    3: {
        "dcn": [("structure", ["stacked", "parallel"]), ("batch_size", [1024, 256]), ("cross_layers", [1, 2]),
                ("embedding_dim", [16, 32])],
        "deepfm": [("batch_size", [1024, 256])],
    },
    # "*" tries joint changes (a dict per value), e.g. DeepFM's best embedding size and dropout on DCN
    4: {
        "dcn": [("*", [{}, {"embedding_dim": 32, "dropout": 0.2}, {"embedding_dim": 32, "dropout": 0.2,
                                                                  "embedding_l2": 0.01}]),
                ("deep_layers", [[192, 192], [512, 256], [128]]), ("learning_rate", [3e-3, 2e-3])],
        "deepfm": [],
    },
    5: {
        "dcn": [("deep_layers", [[128], [64], [256]]), ("embedding_l2", [0.03, 0.1]), ("cross_layers", [1, 2])],
        "deepfm": [],
    },
    # DCN's optional first-order (wide) term and zero-initialised top; the features DCN dropped in
    # rounds 1-2 (with deep [192, 192]) tried again on the round-4/5 tower; the embedding size around it
    6: {
        "dcn": [("first_order", [False, True]), ("zero_init_top", [False, True]), ("timestamp", [False, True]),
                ("title", [False, True]), ("embedding_dim", [16, 24])],
        "deepfm": [],
    },
    # SVD++-style implicit feedback: the movies the user rated in the fit rows (mean-pooled, the 64
    # most recent by timestamp), with each fit row's own movie kept in its list or left out
    7: {
        "dcn": [("history", [None, {"exclude_own": False, "max_length": 64, "order_by": "timestamp"},
                             {"exclude_own": True, "max_length": 64, "order_by": "timestamp"}])],
        "deepfm": [],
    },
    # round 7's lists held the 64 most recent movies; here the whole fit history (SVD++'s N(u); the
    # longest fit history has 527 movies), own movie left out (the better of the two in round 7)
    8: {
        "dcn": [("history", [None, {"exclude_own": True, "max_length": 600, "order_by": "timestamp"}])],
        "deepfm": [],
    },
}
TITLE_FEATURE = {"name": "movie_title", "kind": "text", "max_length": 8}
TIMESTAMP_FEATURE = {"name": "timestamp", "kind": "timestamp", "num_buckets": 20}


def _apply_setting(cfg, setting):
    params, training = copy.deepcopy(cfg["params"]), copy.deepcopy(cfg["training"])
    mp = params.setdefault("model_params", {})
    for key, value in setting.items():
        if key == "embedding_dim":
            params["embedding_dim"] = value
        elif key in ("learning_rate", "batch_size"):
            training[key] = value
        elif key == "timestamp":
            if not value:
                params["features"] = [f for f in params["features"] if f["kind"] != "timestamp"]
            elif all(f["kind"] != "timestamp" for f in params["features"]):
                params["features"] = params["features"] + [dict(TIMESTAMP_FEATURE)]
        elif key == "zip":
            if not value:
                params["features"] = [f for f in params["features"] if f["name"] != "user_zip_code"]
        elif key == "history":
            params.pop("user_history", None)
            if value:
                params["user_history"] = dict(value)
        elif key == "title":
            if value and all(f["name"] != "movie_title" for f in params["features"]):
                params["features"] = params["features"] + [dict(TITLE_FEATURE)]
        else:
            mp[key] = value
    return params, training


def _tag(setting):
    def frozen(v):
        if isinstance(v, dict):
            return tuple(sorted((k, frozen(x)) for k, x in v.items()))
        return tuple(v) if isinstance(v, list) else v

    return tuple(sorted((k, frozen(v)) for k, v in setting.items()))


def tune(fit, val, models, round_=1, previous=()):
    trials = list(previous)
    for model in models:
        cfg = model_config(f"{model}_ml100k")
        mp = cfg["params"].get("model_params", {})
        names = [f["name"] for f in cfg["params"]["features"]]
        best = {"embedding_l2": mp.get("embedding_l2", 0.0), "dropout": mp.get("dropout", 0.0),
                "embedding_dim": cfg["params"]["embedding_dim"],
                "learning_rate": cfg["training"].get("learning_rate", 1e-3),
                "timestamp": "timestamp" in names}
        if model == "dcn":
            best["cross_layers"] = mp.get("cross_layers", 2)
        if round_ >= 2:
            best.update(zip="user_zip_code" in names, title="movie_title" in names,
                        deep_layers=list(mp.get("deep_layers", [192, 192] if model == "dcn" else [200, 200, 200])))
        if round_ >= 3:
            best["batch_size"] = cfg["training"].get("batch_size", 1024)
            if model == "dcn":
                best["structure"] = mp.get("structure", "stacked")
        if round_ >= 6 and model == "dcn":
            best.update(first_order=mp.get("first_order", False), zero_init_top=mp.get("zero_init_top", False))
        if round_ >= 7:
            best["history"] = copy.deepcopy(cfg["params"].get("user_history"))
        seen, settings = {}, {}
        for key, values in TUNE_STAGES[round_][model]:
            for value in values:
                setting = {**best, **value} if key == "*" else {**best, key: value}
                tag = _tag(setting)
                if tag in seen:
                    continue
                start = time.perf_counter()
                out = run_feature_model(model, *_apply_setting(cfg, setting), fit, val)
                trial = {"model": model, "round": round_, **setting, "val_rmse": out["val"]["rmse"],
                         "epochs": out["info"]["epochs"],
                         "best_epoch": out["info"]["best_epoch"], "seconds": round(time.perf_counter() - start, 1)}
                print(trial, flush=True)
                seen[tag], settings[tag] = trial["val_rmse"], copy.deepcopy(setting)
                trials.append(trial)
                _write_tuning(trials)
            best = copy.deepcopy(settings[min(seen, key=seen.get)])
            print(f"{model}: after {key}: best {best} val RMSE {seen[_tag(best)]:.4f}", flush=True)
    return trials


def _write_tuning(trials):
    best = {}
    for t in trials:
        key = (t["model"], t.get("round", 1))
        if key not in best or t["val_rmse"] < best[key]["val_rmse"]:
            best[key] = t
    _common.write_results(
        "ranking_ml100k_tuning", "ml-100k",
        "Validation search: fit on 90% of the 80% training split (seed 42), RMSE on the other 10%; "
        "the test split is never used. Coordinate search (one setting at a time, others at their best so "
        "far); the best of each round was copied into configs/<model>_ml100k.yaml.",
        [_common.row(f"{t['model']} round {t.get('round', 1)}", {"val_rmse": t["val_rmse"]},
                     train_seconds=t["seconds"],
                     setting={k: t[k] for k in sorted(t) if k not in ("model", "round", "val_rmse", "seconds")})
         for t in trials],
        trials=trials,
        best={f"{m} round {r}": t for (m, r), t in best.items()},
    )


# ------------------------------------------------------------------------------------------------


ALL = ["ranking_mlp", "ranking_mlp_side", *DCN_VARIANTS, "deepfm", "fm", "mf"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="ml-100k folder (default ../shared/data/ml-100k)")
    parser.add_argument("--tune", action="store_true", help="validation search instead of the benchmark")
    parser.add_argument("--round", type=int, default=1, choices=sorted(TUNE_STAGES),
                        help="search round (2 starts from the configs written after round 1; trials are appended)")
    parser.add_argument("--models", default=",".join(ALL), help=f"comma-separated subset of {ALL}")
    parser.add_argument("--seeds", default="42,43,44",
                        help="initialization seeds; each row reports the mean (and std) over them")
    parser.add_argument("--refit", action="store_true",
                        help="feature models only: after early stopping on the carved validation rows, train a "
                             "fresh model on all training rows for the chosen number of epochs and score that; "
                             "rows are named <model>_refit (rmse_no_refit: the early-stopped model, same run)")
    args = parser.parse_args(argv)
    path = Path(args.data) if args.data else _common.data_dir("ml-100k")
    ratings = load_ratings(path)
    train, fit, val, test = split(ratings)
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = sorted(set(names) - set(ALL) - {"dcn"})
    if unknown:
        parser.error(f"unknown model(s) {unknown}; valid: {ALL}")
    if args.refit and (args.tune or any(n not in DCN_VARIANTS and n not in ("deepfm", "fm", "mf") for n in names)):
        parser.error(f"--refit applies to the benchmark rows of {[*DCN_VARIANTS, 'deepfm', 'fm', 'mf']} only; "
                     "pass them with --models")
    if args.tune:
        previous = []
        record = _common.RESULTS / "ranking_ml100k_tuning.json"
        if args.round > 1 and record.is_file():
            import json

            previous = json.loads(record.read_text()).get("trials", [])
        tune(fit, val, [m for m in ("dcn", "deepfm") if m in names or any(n.startswith(m) for n in names)],
             args.round, previous)
        return

    rows = []
    dcn_cfg, deepfm_cfg = model_config("dcn_ml100k"), model_config("deepfm_ml100k")
    for name in names:
        runs, extra = [], {}
        for seed in seeds:
            if name in DCN_VARIANTS or name in ("deepfm", "fm"):
                model, params, training = _feature_model_settings(name, dcn_cfg, deepfm_cfg)
                out = run_feature_model(model, params, training, fit, val, test, seed=seed, refit=args.refit)
                info = out["info"]
                print(f"{name} seed {seed}: val RMSE {out['val']['rmse']:.4f} test RMSE {out['test']['rmse']:.4f} "
                      f"({info['epochs']} epochs, {info['examples_per_second']:.0f} ex/s)"
                      + (f"; without refit {out['test_no_refit']['rmse']:.4f}" if args.refit else ""), flush=True)
                metrics = {"rmse": out["test"]["rmse"], "val_rmse": out["val"]["rmse"]}
                if args.refit:
                    metrics["rmse_no_refit"] = out["test_no_refit"]["rmse"]
                    metrics["refit_epochs"] = out["refit_info"]["epochs"]
                runs.append({"seed": seed, "metrics": metrics,
                             "train_seconds": info["train_seconds"], "examples_per_second": info["examples_per_second"]})
                extra = {"params": {"embedding_dim": params["embedding_dim"], **params.get("model_params", {}),
                                    **training},
                         "features": [f["name"] for f in params["features"]]
                         + ([HISTORY_COLUMN] if params.get("user_history") else [])}
            else:
                algo = _algorithm(name, seed, refit=args.refit)
                rmse, seconds = run_algorithm(algo, train, test)
                examples = getattr(algo, "examples_seen_", None)
                print(f"{name} seed {seed}: test RMSE {rmse:.4f} ({seconds:.0f} s)", flush=True)
                metrics = {"rmse": rmse}
                if args.refit:  # MF's own refit (MatrixFactorizationRecommender(refit=True))
                    metrics["refit_epochs"] = algo.best_epoch_
                runs.append({"seed": seed, "metrics": metrics, "train_seconds": seconds,
                             "examples_per_second": examples / algo.train_seconds_ if examples else None})
                extra = {"features": "movielens_user + movielens_item presets" if name == "ranking_mlp_side"
                         else "user and item ids"}
        rows.append(_seed_row(f"{name}_refit" if args.refit else name, runs, **extra))
    rows, kept = _merge_previous(rows)
    _common.write_results(
        "ranking_ml100k", "ml-100k",
        "Random 80/20 split of the 100,000 ratings (seed 42, TFRS tutorials); 10% of train (seed 42) held "
        "out for early stopping; test RMSE with predictions clipped to [1, 5]; mean (and std, ddof=1) over "
        f"initialization seeds {seeds} (the data split stays seed 42; mf and ranking_mlp also carve their "
        "validation rows with that seed). Side features: user age, gender, occupation, zip, genres, release "
        "year (+ title and rating timestamp where the config lists them). Hyperparameters chosen on the "
        "validation split (ranking_ml100k_tuning.json). Rows named <model>_refit (--refit): the same model, "
        "then a fresh one (same seed) trained on all training rows (fit + validation) for the epoch count early "
        "stopping chose, scored on test (rmse); rmse_no_refit is the early-stopped model of the same run "
        "(mf_refit: MatrixFactorizationRecommender(refit=True), its plain counterpart is the mf row). The "
        "ranking_mlp rows are not refit.",
        rows, anchors=ANCHORS, **kept,
    )


def _merge_previous(rows):
    """``rows`` plus the rows of the existing results file that this run did not redo (a ``--models``
    subset replaces only its own rows), in ``ALL`` order; and where the kept rows come from."""
    import json

    path = _common.RESULTS / "ranking_ml100k.json"
    if not path.is_file():
        return rows, {}
    old = json.loads(path.read_text())
    done = {r["algorithm"] for r in rows}
    kept = [r for r in old.get("rows", []) if r.get("algorithm") not in done]
    if not kept:
        return rows, {}
    order = {n: i for i, n in enumerate(ALL)}
    merged = sorted(rows + kept, key=lambda r: order.get(r.get("algorithm"), len(order)))
    # provenance: rows the old file had itself kept stay with their own command; the others came from
    # the old file's command
    names = {r.get("algorithm") for r in kept}
    sources, carried = [], set()
    for p in old.get("kept_rows_from", []):
        still = [n for n in p["rows"] if n in names]
        carried.update(p["rows"])
        if still:
            sources.append({**p, "rows": still})
    own = [n for n in (r.get("algorithm") for r in kept) if n not in carried]
    if own:
        sources.append({"command": old.get("command"), "date": old.get("date"), "rows": own})
    return merged, {"kept_rows_from": sources}


if __name__ == "__main__":
    main()
