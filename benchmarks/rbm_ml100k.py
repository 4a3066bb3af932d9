"""The CF RBM on MovieLens 100K: rating prediction on u1 and leave-one-out top-10, baselines in the same run.

Two protocols, one results file (``benchmarks/results/rbm_ml100k.json``):

* ``u1``: canonical ``u1.base`` / ``u1.test``; RMSE and MAE on every test rating; item mean, global
  mean and biased MF beside the RBM.
* ``leave_one_out``: each user's latest rating held out (ties broken with seed 42); full-catalog
  top-10 with training items removed; HR@10 (and the evaluator's other ranking metrics) beside
  Popularity. The RBM ranks by its expected rating.

Both protocols have two RBM rows: the selected RBM of ``configs/rbm_ml100k.yaml`` (item-based) and the
user-based RBM of ``configs/rbm_user_ml100k.yaml``, labelled ``rbm (item-based)`` / ``rbm (user-based)``.

Every algorithm runs through :class:`tfrec.evaluation.Evaluator` (fit on the training split only; a
user's RBM prediction uses only that user's training ratings). RBM hyperparameters come from
``configs/rbm_ml100k.yaml``; they were chosen with ``--tune`` on a random 10% (seed 42) of ``u1.base``
held out as validation (``u1.test`` is never read while tuning).

Run:
  python benchmarks/rbm_ml100k.py                      # ~10 min on 2 busy cores
  python benchmarks/rbm_ml100k.py --tune               # both searches; writes rbm_ml100k_tuning.json
  python benchmarks/rbm_ml100k.py --tune --grid user   # the user-based search only (keeps the first one;
                                                       # trials already recorded are not rerun)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402  (imports tfrec first)

import numpy as np  # noqa: E402

from tfrec import metrics as M  # noqa: E402
from tfrec import splits  # noqa: E402
from tfrec.data import load_movielens  # noqa: E402
from tfrec.data.training_data import TrainingData  # noqa: E402
from tfrec.evaluation import Evaluator  # noqa: E402
from tfrec.recommenders import registry  # noqa: E402
from tfrec.recommenders.rbm import RBMRecommender  # noqa: E402

# The RBM paper reports Netflix figures only, so there is no MovieLens 100K number to put beside ours.
CITATION = ("Salakhutdinov, Mnih & Hinton, Restricted Boltzmann Machines for Collaborative Filtering, ICML 2007 "
            "(reports Netflix results only; no MovieLens anchor)")


USER_CONFIG = _common.REPO / "configs" / "rbm_user_ml100k.yaml"


def rbm_params(cfg: dict, source="configs/rbm_ml100k.yaml") -> dict:
    for spec in cfg["algorithms"]:
        if spec["name"] == "rbm":
            return dict(spec.get("params") or {})
    raise SystemExit(f"{source} has no 'rbm' entry under algorithms.")


def rbm_variants(cfg: dict) -> list:
    """(label, params) of the config's RBM and the user-based one of ``configs/rbm_user_ml100k.yaml``
    beside it (when that file exists); labels name the orientation, e.g. ``rbm (item-based)``."""
    variants = [rbm_params(cfg)]
    if USER_CONFIG.is_file():
        variants.append({**rbm_params(_common.read_config(USER_CONFIG), str(USER_CONFIG)), "orientation": "user"})
    return [(f"rbm ({p.get('orientation', 'user')}-based)", p) for p in variants]


def _row(res, label=None, **extra):
    metrics = {k: v for k, v in res["metrics"].items() if k != "test_users"}
    return _common.row(label or res["algorithm"], metrics, res["train_seconds"], res["examples_per_second"], **extra)


def run(args, cfg):
    path = args.data
    ml = load_movielens(path)
    rbms = rbm_variants(cfg)
    rows = []
    ev = Evaluator(ml.ratings, "canonical", protocol_params={"split": "u1"}, data_path=path, k=10, progress=False)
    for label, params in [("global_mean", {}), ("item_mean", {}), ("mf", {})] + rbms:
        res = ev.evaluate(label.split(" ")[0], **params)
        rows.append(_row(res, f"{label} [u1]", protocol="u1", **({"params": params} if params else {})))
        print(f"u1 {label:20s} rmse {res['metrics']['rmse']:.4f} mae {res['metrics']['mae']:.4f} "
              f"({res['train_seconds']:.0f}s)", flush=True)
    ev = Evaluator(ml.ratings, "leave_one_out", protocol_params={"seed": 42}, k=10, progress=False)
    for label, params in [("popularity", {})] + rbms:
        res = ev.evaluate(label.split(" ")[0], **params)
        rows.append(_row(res, f"{label} [leave_one_out]", protocol="leave_one_out",
                         **({"params": params} if params else {})))
        print(f"loo {label:20s} hr@10 {res['metrics']['hr@10']:.4f} "
              f"ndcg@10 {res['metrics'].get('ndcg@10', float('nan')):.4f}", flush=True)
    u1 = {r["algorithm"]: r["metrics"]["rmse"] for r in rows if r.get("protocol") == "u1"}
    flags = {}
    for label, _ in rbms:
        key = label.split("(")[1].split("-")[0]  # item / user
        flags[f"rbm_{key}_beats_item_mean_on_u1"] = bool(u1[f"{label} [u1]"] < u1["item_mean [u1]"])
        flags[f"rbm_{key}_meets_goal_rmse_0_95"] = bool(u1[f"{label} [u1]"] <= 0.95)
    _common.write_results(
        "rbm_ml100k", "MovieLens 100K",
        "u1: canonical u1.base / u1.test, RMSE/MAE on every u1.test rating. leave_one_out: latest rating of each "
        "user held out (seed 42 tie-break), full-catalog top-10 with training items removed, HR@10. RBM "
        "hyperparameters: configs/rbm_ml100k.yaml (the selected RBM) and configs/rbm_user_ml100k.yaml (the "
        "user-based one), chosen on a random 10% of u1.base, seed 42.",
        rows, anchors=[], citation=CITATION, **flags)


# --tune: every trial is TUNE_BASE with its overrides, trained TUNE_EPOCHS epochs on 90% of u1.base; the
# validation RMSE (the other 10%) after every epoch is recorded, and the best epoch is the early-stopping
# point that the config's ``epochs`` copies. The trials do not read the config, so the search reproduces.
# Before this grid, a few exploratory runs on the same validation split (not in the results file) set its
# ranges: lr 0.05 with weight decay 0.001 overfit after ~10 epochs in both orientations (best 0.970 user,
# 0.926 item), item weight decay 0.01 underfit (0.937), sampled CD learnt slower (0.932 at epoch 14).
TUNE_EPOCHS = 24
TUNE_BASE = {"n_hidden": 200, "batch_size": 16, "learning_rate": 0.02, "bias_learning_rate": 0.02,
             "momentum": 0.9, "initial_momentum": 0.5, "momentum_switch_epoch": 5, "weight_decay": 0.003,
             "cd_k_schedule": [[0, 1], [15, 3]], "sample": False, "orientation": "item", "seed": 0}
TUNE_TRIALS = [
    {"orientation": "user"},                                  # U-RBM (the paper's), same settings
    {"orientation": "user", "n_hidden": 100, "learning_rate": 0.1, "bias_learning_rate": 0.1,
     "initial_momentum": None, "weight_decay": 0.01, "cd_k_schedule": [[0, 1]]},  # the previous U-RBM config
    {"n_hidden": 100},
    {},                                                       # I-RBM, 200 hidden
    {"weight_decay": 0.005},
]

# The user-based RBM's own search (issue 4: the U-RBM alone reached 0.9657 above). Same validation split;
# each trial is USER_BASE plus its overrides (its own ``epochs``), and the best epoch is the early-stopping
# point. Trials already in the tuning file with the same parameters are kept, not rerun (--fresh reruns).
USER_SEARCH_PROTOCOL = ("U-RBM (each user a case, items visible): USER_BASE plus each trial's overrides, validation "
                        "RMSE (random 10% of u1.base, seed 42) after every epoch; best epoch = early stopping")
USER_BASE = {"orientation": "user", "n_hidden": 200, "batch_size": 16, "learning_rate": 0.02,
             "bias_learning_rate": 0.02, "momentum": 0.9, "initial_momentum": 0.5, "momentum_switch_epoch": 5,
             "weight_decay": 0.003, "cd_k_schedule": [[0, 1]], "sample": False, "seed": 0, "epochs": 40}
USER_TRIALS = [
    {"learning_rate": 0.005, "bias_learning_rate": 0.005},   # 4x smaller steps, longer: same floor?
    {"sample": True},                                         # sampled (stochastic) CD
    {"weight_decay": 0.03},                                   # 10x weight decay
    {"n_hidden": 50},                                         # fewer hidden units
    {"hidden_dropout": 0.5},                                  # dropout RBM (Srivastava et al. 2014)
    {"hidden_dropout": 0.5, "n_hidden": 500},
    # every trial above floors at 0.963-0.967, worse than user + item biases (0.944 on this split): the
    # U-RBM has no direct way to learn a user's rating level on all items at once. Weights shared by all
    # visible units (S[k, hidden]) give it one.
    {"shared_weights": True},
    {"shared_weights": True, "hidden_dropout": 0.5},
    {"shared_weights": True, "hidden_dropout": 0.5, "shared_lr_multiplier": 20.0},  # S learns ~ per rated item
    {"shared_weights": True, "hidden_dropout": 0.5, "shared_lr_multiplier": 20.0, "weight_decay": 0.01},
    {"shared_weights": True, "hidden_dropout": 0.5, "shared_lr_multiplier": 100.0, "weight_decay": 0.01},
    {"shared_weights": True, "hidden_dropout": 0.5, "shared_lr_multiplier": 20.0, "weight_decay": 0.01,
     "cd_k_schedule": [[0, 1], [20, 3]]},                    # CD-3 from epoch 21
    # the best on validation so far plus one change each (run after the first full benchmark)
    *({"shared_weights": True, "hidden_dropout": 0.5, "shared_lr_multiplier": 20.0, "weight_decay": 0.01,
       "cd_k_schedule": [[0, 1], [20, 3]], **change}
      for change in ({"hidden_dropout": 0.7}, {"bias_learning_rate": 0.005}, {"n_hidden": 100})),
]
# (prediction="exact", eq. 8, was tried as well and stopped: one validation pass took minutes on 2 busy cores.)


def _validation_split(path):
    base = splits.canonical_ml100k(path, "u1").train  # u1.test is never read
    tr, val = splits.random_split(base, ratio=0.9, seed=42)
    data = TrainingData(tr)
    vu, vi = data.user_index(val["user_id"]), data.item_index(val["movie_id"])
    return data, vu, vi, val["user_rating"].to_numpy(np.float32), tr, val


def _bias_rows(tr, val):
    """Validation RMSE of user + item biases (shrunk by ``lam`` ratings, item biases first), a reference
    for what a model that learns each user's rating level must at least reach."""
    mu, rows = tr["user_rating"].mean(), []
    for lam in (5, 10, 25):
        bi = tr.groupby("movie_id")["user_rating"].agg(lambda x: (x - mu).sum() / (len(x) + lam))
        res = tr["user_rating"] - mu - tr["movie_id"].map(bi)
        bu = res.groupby(tr["user_id"]).agg(lambda x: x.sum() / (len(x) + lam))
        pred = (mu + val["movie_id"].map(bi).fillna(0.0) + val["user_id"].map(bu).fillna(0.0)).clip(1, 5)
        rows.append(_common.row(f"user_item_bias (lambda={lam})",
                                {"val_rmse": M.rmse(val["user_rating"].to_numpy(np.float32), pred.to_numpy(np.float32))}))
    return rows


def _trial(params, data, vu, vi, truth):
    """Trains ``params`` with the validation RMSE after every epoch; the row of the best epoch."""
    curve = []

    def track(epoch, rec):
        curve.append(M.rmse(truth, rec.predict(vu, vi)))

    start = time.perf_counter()
    RBMRecommender(**params).fit(data, on_epoch_end=track)
    best = int(np.argmin(curve))
    print(f"{params}: best val rmse {curve[best]:.4f} at epoch {best + 1}; last {curve[-1]:.4f}", flush=True)
    return _common.row("rbm", {"val_rmse": curve[best]}, time.perf_counter() - start, params=params,
                       best_epoch=best + 1, val_rmse_per_epoch=[round(c, 4) for c in curve])


def tune(args, cfg):
    data, vu, vi, truth, tr, val = _validation_split(args.data)
    path = _common.RESULTS / "rbm_ml100k_tuning.json"
    previous = json.loads(path.read_text()) if path.is_file() else {}
    item_mean = registry.create("item_mean").fit(data)
    mean_row = _common.row("item_mean", {"val_rmse": M.rmse(truth, item_mean.predict(vu, vi))})
    print(f"item_mean val rmse {mean_row['metrics']['val_rmse']:.4f}", flush=True)
    extra = {}
    if args.grid in ("all", "first"):
        rows = [mean_row] + [_trial({**TUNE_BASE, **trial, "epochs": TUNE_EPOCHS}, data, vu, vi, truth)
                             for trial in TUNE_TRIALS]
    else:  # keep the first search as it was recorded
        rows = previous.get("rows") or []
    if args.grid in ("all", "user"):
        done = {} if args.fresh else {
            json.dumps(r["params"], sort_keys=True): r
            for r in (previous.get("user_rbm_search") or {}).get("rows", []) if "params" in r}
        user_rows = [mean_row] + _bias_rows(tr, val)
        for trial in USER_TRIALS:
            params = {**USER_BASE, **trial}
            key = json.dumps(params, sort_keys=True)
            user_rows.append(done[key] if key in done else _trial(params, data, vu, vi, truth))
            extra["user_rbm_search"] = {"protocol": USER_SEARCH_PROTOCOL, "rows": user_rows}
            _write_tuning(rows, extra)  # after every trial: a long search keeps what it has
    elif previous.get("user_rbm_search"):
        extra["user_rbm_search"] = previous["user_rbm_search"]
    _write_tuning(rows, extra)


def _write_tuning(rows, extra):
    _common.write_results("rbm_ml100k_tuning", "MovieLens 100K",
                          "validation: random 90/10 (seed 42) of u1.base; u1.test never read. rows: the first "
                          f"search, each trial TUNE_BASE plus its overrides, {TUNE_EPOCHS} epochs, validation RMSE "
                          "after every epoch (train_seconds include the per-epoch validation predictions). "
                          "user_rbm_search: the user-based RBM's own search (see its protocol).", rows, **extra)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=None, help="the ml-100k folder (default ../shared/data/ml-100k)")
    p.add_argument("--config", type=Path, default=_common.REPO / "configs" / "rbm_ml100k.yaml")
    p.add_argument("--tune", action="store_true")
    p.add_argument("--grid", choices=("all", "first", "user"), default="all",
                   help="--tune: which search to run; the other is kept from the existing tuning file")
    p.add_argument("--fresh", action="store_true",
                   help="--tune: rerun user-search trials already recorded with the same parameters")
    args = p.parse_args(argv)
    cfg = _common.read_config(args.config)
    if args.data is None:
        args.data = _common.data_dir("ml-100k")
    elif not args.data.is_dir():
        print(f"SKIP: {args.data} not found (pass --data).")
        return
    (tune if args.tune else run)(args, cfg)


if __name__ == "__main__":
    main()
