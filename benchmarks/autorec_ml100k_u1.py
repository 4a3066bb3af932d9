"""AutoRec (I- and U-) rating prediction against biased MF, item mean and the RBM, in one run.

Two protocols, one results file each:

* ``autorec_ml100k_u1``: MovieLens 100K canonical split ``u1.base`` / ``u1.test`` (the split of the
  GC-MC and Sparse FC anchors), RMSE and MAE on ``u1.test``.
* ``autorec_ml_latest_small``: ml-latest-small, random 90/10 split (seed 42, the AutoRec paper's
  ratio), RMSE and MAE.

Every algorithm runs through :class:`tfrec.evaluation.Evaluator` (fit on the training split only;
the ranking metrics it adds are full-catalog top-10 with training items removed).
Hyperparameters come from ``configs/autorec_ml100k.yaml``; they were chosen with ``--tune``, which
holds out a random 10% (seed 42) of the *training* ratings (``u1.base``) as validation, picks
lambda, the learning rate and the epoch count by validation RMSE, and never reads ``u1.test``.

Run:
  python benchmarks/autorec_ml100k_u1.py                     # both files, ~15-30 min on 2 busy cores
  python benchmarks/autorec_ml100k_u1.py --only u1
  python benchmarks/autorec_ml100k_u1.py --tune              # validation search (writes *_tuning.json)
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
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
from tfrec.recommenders.autorec import AutoRecRecommender  # noqa: E402

ANCHORS_U1 = [
    {"algorithm": "GC-MC", "metrics": {"rmse": 0.905}, "dataset": "MovieLens 100K, u1.base/u1.test",
     "source": "Berg, Kipf & Welling, Graph Convolutional Matrix Completion, 2017 (arXiv:1706.02263), Table 2"},
    {"algorithm": "Sparse FC", "metrics": {"rmse": 0.895}, "dataset": "MovieLens 100K, u1.base/u1.test",
     "source": "Muller et al., Kernel Sparse Fully Connected (Sparse FC), 2018, ML-100K table"},
    {"algorithm": "I-AutoRec (for reference, other dataset)", "metrics": {"rmse": 0.831},
     "dataset": "MovieLens 1M, random 90/10",
     "source": "Sedhain et al., AutoRec: Autoencoders Meet Collaborative Filtering, WWW 2015, Table 1"},
]
ANCHORS_LATEST = [ANCHORS_U1[2]]


def algorithms(cfg: dict):
    """(label, algorithm) pairs of the config's AutoRec entries (the baselines are added by ``run``)."""
    return [(spec["name"], registry.create(spec["name"], **dict(spec.get("params") or {})))
            for spec in cfg["algorithms"] if spec["name"] in ("i_autorec", "u_autorec")]


def rbm_or_none(dataset: str):
    """The RBM with its owner's tuned settings (configs/rbm_ml100k.yaml), or None where it is absent."""
    if "rbm" not in registry.ALGORITHMS:
        return None
    params = {}
    cfg_path = _common.REPO / "configs" / "rbm_ml100k.yaml"
    if cfg_path.is_file():
        for spec in _common.read_config(cfg_path).get("algorithms") or []:
            if spec.get("name") == "rbm":
                params = dict(spec.get("params") or {})
    if dataset == "ml-latest-small":  # half stars: ten rating classes 0.5 .. 5.0
        params.update(n_ratings=10, min_rating=0.5, rating_step=0.5)
    return registry.create("rbm", **params)


def evaluate_all(ev: Evaluator, algos, dataset):
    rows = []
    for label, algo in algos:
        res = ev.evaluate(algo)
        metrics = {k: v for k, v in res["metrics"].items() if k != "test_users"}
        rows.append(_common.row(label, metrics, res["train_seconds"], res["examples_per_second"],
                                params={k: v for k, v in vars(algo).items()
                                        if isinstance(v, (int, float, str, bool)) and not k.startswith("_")}))
        print(f"{dataset} {label:12s} rmse {metrics.get('rmse', float('nan')):.4f} mae {metrics.get('mae', float('nan')):.4f}"
              f" ndcg@10 {metrics.get('ndcg@10', float('nan')):.4f}  {res['train_seconds']:.1f}s", flush=True)
    return rows


def run(args):
    cfg = _common.read_config(args.config)
    from tfrec.recommenders.mean import ItemMeanRecommender
    from tfrec.recommenders.mf import MatrixFactorizationRecommender

    def baselines(dataset):
        base = [("mf", MatrixFactorizationRecommender(seed=args.seed)), ("item_mean", ItemMeanRecommender())]
        rbm = rbm_or_none(dataset)
        return base + ([("rbm", rbm)] if rbm is not None else [])

    if args.only in ("", "u1"):
        path = args.data / "ml-100k"
        ml = load_movielens(path)
        ev = Evaluator(ml.ratings, protocol="canonical", protocol_params={"split": "u1"}, data_path=path, k=10,
                       progress=False)
        rows = evaluate_all(ev, algorithms(cfg) + baselines("ml-100k"), "ml-100k")
        _common.write_results(
            "autorec_ml100k_u1", "ml-100k",
            "canonical u1.base / u1.test (80/20); RMSE/MAE on u1.test, predictions clipped to [1, 5]; ranking "
            "metrics full-catalog top-10, training items removed. Hyperparameters: configs/autorec_ml100k.yaml "
            "(lambda, learning rate and epochs chosen on a random 10% of u1.base, seed 42)",
            rows, anchors=ANCHORS_U1, rbm_included=any(r["algorithm"] == "rbm" for r in rows))
    if args.only in ("", "latest"):
        path = args.data / "ml-latest-small"
        ml = load_movielens(path)
        ev = Evaluator(ml.ratings, protocol="random", protocol_params={"ratio": 0.9, "seed": args.seed}, k=10,
                       progress=False)
        rows = evaluate_all(ev, algorithms(cfg) + baselines("ml-latest-small"), "ml-latest-small")
        _common.write_results(
            "autorec_ml_latest_small", "ml-latest-small",
            f"random 90/10 split of all ratings (seed {args.seed}); RMSE/MAE on the 10%, predictions clipped to "
            "[0.5, 5]; ranking metrics full-catalog top-10, training items removed. Hyperparameters: "
            "configs/autorec_ml100k.yaml (tuned on ml-100k u1.base validation; not re-tuned here)",
            rows, anchors=ANCHORS_LATEST, rbm_included=any(r["algorithm"] == "rbm" for r in rows))


# -- tuning on a validation split of u1.base ------------------------------------------------------------
TUNE_GRID = {"based_on": ["item", "user"], "l2": [30.0, 100.0, 300.0]}


def tune(args):
    base = splits.canonical_ml100k(args.data / "ml-100k", "u1").train  # u1.test is never read
    tr, val = splits.random_split(base, ratio=0.9, seed=args.seed)
    extra = {}
    if args.train_fraction:  # fit on fewer rows (the first of the shuffled 90%), same validation rows
        if not 0 < args.train_fraction < 0.9:
            raise SystemExit(f"--train-fraction must be in (0, 0.9) of u1.base. Received: {args.train_fraction}")
        tr = tr.iloc[:round(args.train_fraction * len(base))]
        extra = {"train_fraction": args.train_fraction}
    if args.seed != 42:  # another validation split (and model seed): recorded beside the seed-42 rows
        extra["seed"] = args.seed
    data = TrainingData(tr)
    vu, vi = data.user_index(val["user_id"]), data.item_index(val["movie_id"])
    truth = val["user_rating"].to_numpy(np.float32)
    rows = []
    grid = json.loads(args.grid) if args.grid else TUNE_GRID
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, values))
        if args.based_on and params["based_on"] != args.based_on:
            continue
        curve = []

        def track(epoch, rec, curve=curve):
            curve.append(M.rmse(truth, rec.predict(vu, vi)))
            if epoch % 10 == 0:
                print(f"  {params} epoch {epoch}: val rmse {curve[-1]:.4f}", flush=True)

        fit_params = {"epochs": args.tune_epochs, "learning_rate": args.learning_rate, **params}
        rec = AutoRecRecommender(batch_size=args.batch_size, seed=args.seed, **fit_params)
        rec.fit(data, on_epoch_end=track)
        best = int(np.argmin(curve))
        rows.append(_common.row(rec.name, {"val_rmse": curve[best]}, rec.train_seconds_, None,
                                params={**params, **extra, "batch_size": args.batch_size, "learning_rate": rec.learning_rate,
                                        "hidden_units": rec.hidden_units},
                                final_epoch=rec.epochs, val_rmse_final=round(curve[-1], 6),
                                tune_args=" ".join(sys.argv[1:]),
                                best_epoch=best + 1, val_rmse_every_10=[round(c, 4) for c in curve[9::10]]))
        print(f"{params}: best val rmse {curve[best]:.4f} at epoch {best + 1}", flush=True)
    name = "autorec_ml100k_u1_tuning"
    previous = _common.RESULTS / f"{name}.json"
    if previous.is_file():
        done = {json.dumps(r["params"], sort_keys=True) for r in rows}
        rows = [r for r in json.loads(previous.read_text())["rows"]
                if json.dumps(r["params"], sort_keys=True) not in done] + rows
    _common.write_results(name, "ml-100k", "validation: random 90/10 (seed 42, or the row's params.seed) of u1.base; "
                          "u1.test never read", rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=_common.DATA_ROOT,
                   help="folder holding ml-100k/ and ml-latest-small/ (default ../shared/data)")
    p.add_argument("--config", type=Path, default=_common.REPO / "configs" / "autorec_ml100k.yaml")
    p.add_argument("--only", choices=["", "u1", "latest"], default="")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--tune", action="store_true")
    p.add_argument("--based-on", default="", help="--tune: only 'item' or 'user'")
    p.add_argument("--grid", default="", help='--tune: JSON search space replacing the built-in one, e.g. '
                   '\'{"based_on": ["item"], "l2": [150.0, 200.0]}\'')
    p.add_argument("--tune-epochs", type=int, default=300)
    p.add_argument("--train-fraction", type=float, default=0.0,
                   help="--tune: fit on this fraction of u1.base (< 0.9; default all of the 90%%), to see how the "
                   "best epoch moves with the amount of training data")
    p.add_argument("--batch-size", type=int, default=None, help="--tune: rows per batch (default: full batch)")
    p.add_argument("--learning-rate", type=float, default=3e-3)
    args = p.parse_args(argv)
    if not (args.data / "ml-100k").is_dir():
        print(f"SKIP: {args.data / 'ml-100k'} not found (pass --data).")
        return
    (tune if args.tune else run)(args)


if __name__ == "__main__":
    main()
