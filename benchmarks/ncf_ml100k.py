"""NCF (GMF, MLP, NeuMF with and without pre-training) against popularity, BPR-MF and rating MF.

Baselines: ``popularity``; ``bpr_mf``, matrix factorization trained on the implicit feedback with
BPR (the NCF paper's MF baseline; settings in ``BPR_PARAMS`` below, chosen on the same validation
split as the NCF models); ``mf_explicit_ratings``, the biased MF of :mod:`tfrec.recommenders.mf` trained
with squared error on the star ratings (a rating predictor, not trained for this ranking task; kept
for continuity with earlier runs, where this row was named ``mf``).

Protocol (He et al., WWW 2017): each user's latest interaction is held out (ties broken with seed
42); it is ranked among 99 items the user never interacted with (seed 42); HR@10 and NDCG@10, ties
counted against the model (:class:`tfrec.evaluation.Evaluator`, protocol ``ncf``). The same
fitted models are also scored over the full catalog (seen items removed) against the same held-out
item: full-catalog HR@10 / NDCG@10.

Hyperparameters come from ``configs/ncf_ml100k.yaml``; they were chosen with ``--tune``, which
carves a second leave-one-out (with its own 99 negatives) out of the *training* part and never
looks at the test rows. ``--tune`` writes ``benchmarks/results/<name>_tuning.json``.

Run:
  python benchmarks/ncf_ml100k.py                                  # ml-100k, ~30-60 min on 2 busy cores
  python benchmarks/ncf_ml100k.py --data ../shared/data/ml-1m      # the same on ML-1M (ratings.dat)
  python benchmarks/ncf_ml100k.py --tune                           # validation search
"""

from __future__ import annotations

import argparse
import functools
import itertools
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
from tfrec.data.training_data import OOV_INDEX  # noqa: E402
from tfrec.evaluation import Evaluator  # noqa: E402
from tfrec.recommenders.mf import MatrixFactorizationRecommender  # noqa: E402
from tfrec.recommenders.ncf import NCFRecommender  # noqa: E402
from tfrec.recommenders.popularity import PopularityRecommender  # noqa: E402

K = 10
ANCHORS = [
    {"algorithm": "NeuMF (with pre-training), 64 predictive factors",
     "metrics": {"hr@10": 0.730, "ndcg@10": 0.447},
     "dataset": "MovieLens 1M",
     "source": "He et al., Neural Collaborative Filtering, WWW 2017, Table 2 (ML-1M, factors 64)"},
]


def sampled_metrics(predict, fold, k=K):
    """HR@k / NDCG@k of the held-out item among its sampled negatives, ties counted against the model
    (as the Evaluator). ``predict(users, items)`` returns scores; used on the validation fold only."""
    users = fold.test["user_idx"].to_numpy()
    keep = users != OOV_INDEX
    cand = np.concatenate([fold.test["item_idx"].to_numpy()[:, None], fold.negatives], axis=1)[keep]
    scores = predict(np.repeat(users[keep], cand.shape[1]), cand.ravel()).reshape(cand.shape)
    scores[cand == OOV_INDEX] = -np.inf
    rank = (scores[:, 1:] >= scores[:, :1]).sum(axis=1)
    hit = rank < k
    return float(hit.mean()), float(np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0).mean())


def keras_predict(model):
    import tensorflow as tf

    fn = tf.function(lambda x: model(x), reduce_retracing=True)

    def predict(users, items):
        out = []
        for lo in range(0, len(users), 262144):
            out.append(fn({"user_idx": tf.constant(users[lo:lo + 262144], tf.int32),
                           "item_idx": tf.constant(items[lo:lo + 262144], tf.int32)}).numpy())
        return np.concatenate(out)

    return predict


def full_catalog(algo, fold, k=K):
    """Full-catalog HR@k / NDCG@k of the held-out item, training items removed from each list."""
    users = np.flatnonzero(fold.num_relevant > 0)
    recs, _ = algo.recommend(users, k=k, exclude_seen=True)
    hits = M.hits_matrix(recs, fold.relevant[users])
    n_rel = fold.num_relevant[users]
    return {f"full_hr@{k}": M.hit_rate_at_k(hits, n_rel), f"full_ndcg@{k}": M.ndcg_at_k(hits, n_rel)}


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(_common.REPO))
    except ValueError:
        return str(path)


def dataset_name(path: Path) -> str:
    return path.resolve().name


# -- tuning ------------------------------------------------------------------------------------------
TUNE_GRID = {
    # each model's search space: learning rate x factors x batch size; epochs picked by validation HR
    "gmf": {"embedding_dim": [16, 64], "learning_rate": [0.001, 0.005], "batch_size": [1024]},
    "mlp": {"mlp_embedding_dim": [32, 64], "hidden_units": [[64, 32, 16]], "learning_rate": [0.001, 0.005],
            "batch_size": [1024]},
    "bpr": {"embedding_dim": [64], "learning_rate": [0.001, 0.005], "l2": [0.0, 1e-4], "batch_size": [256]},
}

# BPR-MF baseline (not an algorithm of the tfrec evaluate registry, so its settings live here rather
# than in the config); chosen with --tune --models bpr on the validation split (ncf_ml100k_tuning.json):
# 64 factors, Adam 5e-3, batch 256, one negative per positive: l2 1e-3: val HR@10 0.673 (epoch 10);
# l2 0: 0.672 (epoch 7, falls to 0.63 by epoch 15)
BPR_PARAMS = {"embedding_dim": 64, "learning_rate": 0.005, "l2": 0.001, "batch_size": 256, "epochs": 10,
              "num_negatives": 1}


NEUMF_GRID = {
    # NeuMF from scratch: the GMF/MLP sizes of the config, Adam learning rate searched
    "neumf": [{"learning_rate": 0.001}, {"learning_rate": 0.005}],
    # NeuMF from the config's trained GMF and MLP: the fine-tuning optimizer (paper: plain SGD)
    "neumf_pretrain": [{"optimizer": "sgd", "learning_rate": 0.01}, {"optimizer": "sgd", "learning_rate": 0.1},
                       {"optimizer": "adam", "learning_rate": 0.0001}],
}


def tune(args):
    df = load_movielens(args.data).ratings
    train = splits.ncf_split(df, num_negatives=99, seed=args.seed).train  # test rows dropped here
    ev = Evaluator(train, protocol="ncf", protocol_params={"num_negatives": 99, "seed": args.seed}, k=K,
                   progress=False)
    fold = ev.folds[0]
    print(f"validation: {len(fold.test)} users, train {len(fold.train.frame)} rows")
    rows = []
    models = args.models.split(",") if args.models else list(TUNE_GRID)
    cfg = {a["name"] + ("_pretrain" if (a.get("params") or {}).get("pretrain") else ""): dict(a.get("params") or {})
           for a in _common.read_config(args.config)["algorithms"]} if args.config.is_file() else {}
    pretrained = {}
    for model_name in models:
        if model_name in NEUMF_GRID:
            for override in (json.loads(args.grid) if args.grid else NEUMF_GRID[model_name]):
                params = {**cfg[model_name], **override}
                if model_name == "neumf_pretrain" and not pretrained:
                    for part in ("gmf", "mlp"):
                        pretrained[part] = NCFRecommender(model=part, seed=args.seed, **cfg[part]).fit(fold.train).model
                curve = []

                def track(stage, epoch, model, curve=curve, params=params):
                    curve.append(sampled_metrics(keras_predict(model), fold))
                    print(f"  {model_name} {params} epoch {epoch}: val hr {curve[-1][0]:.4f} ndcg {curve[-1][1]:.4f}",
                          flush=True)

                rec = NCFRecommender(model="neumf", seed=args.seed, **{**params, "epochs": args.tune_epochs})
                rec.fit(fold.train, on_epoch_end=track, **(pretrained if model_name == "neumf_pretrain" else {}))
                hr = [c[0] for c in curve]
                best = int(np.argmax(hr))
                rows.append(_common.row(model_name, {"val_hr@10": hr[best], "val_ndcg@10": curve[best][1]},
                                        rec.train_seconds_, rec.examples_seen_ / rec.train_seconds_,
                                        params=params, best_epoch=best + 1, val_hr_curve=[round(h, 4) for h in hr]))
            continue
        grid = json.loads(args.grid) if args.grid else TUNE_GRID[model_name]
        keys = list(grid)
        for values in itertools.product(*(grid[k] for k in keys)):
            params = dict(zip(keys, values))
            curve = []

            def track(stage, epoch, model, curve=curve):
                curve.append(sampled_metrics(keras_predict(model), fold))
                print(f"  {model_name} {params} epoch {epoch}: val hr {curve[-1][0]:.4f} ndcg {curve[-1][1]:.4f}",
                      flush=True)

            rec = NCFRecommender(model=model_name, epochs=args.tune_epochs, seed=args.seed, **params)
            rec.fit(fold.train, on_epoch_end=track)
            hr = [c[0] for c in curve]
            best = int(np.argmax(hr))
            rows.append(_common.row(model_name, {"val_hr@10": hr[best], "val_ndcg@10": curve[best][1]},
                                    rec.train_seconds_, rec.examples_seen_ / rec.train_seconds_,
                                    params=params, best_epoch=best + 1,
                                    val_hr_curve=[round(h, 4) for h in hr]))
    name = ("ncf_" + dataset_name(args.data).replace("-", "")) + "_tuning"
    previous = _common.RESULTS / f"{name}.json"
    if previous.is_file():  # keep the rows of settings not searched in this call

        done = {(r["algorithm"], json.dumps(r["params"], sort_keys=True)) for r in rows}
        rows = [r for r in json.loads(previous.read_text())["rows"]
                if (r["algorithm"], json.dumps(r["params"], sort_keys=True)) not in done] + rows
    _common.write_results(name, dataset_name(args.data),
                          "validation: ncf_split(train, 99 negatives, seed) carved from the training part of "
                          "ncf_split(data, 99, seed); test rows never used", rows)


# -- final run ---------------------------------------------------------------------------------------
def run(args):
    cfg = _common.read_config(args.config)
    params = {a["name"] + ("_pretrain" if (a.get("params") or {}).get("pretrain") else ""): dict(a.get("params") or {})
              for a in cfg["algorithms"]}
    ml = load_movielens(args.data)
    df = ml.ratings
    proto = {"num_negatives": 99, "seed": args.seed}
    ev = Evaluator(df, protocol="ncf", protocol_params=proto, k=K, progress=False)
    loo = Evaluator(df, protocol="leave_one_out", protocol_params={"seed": args.seed}, k=K, progress=False).folds[0]
    fold = ev.folds[0]
    if not (np.array_equal(fold.train.user_ids, loo.train.user_ids) and np.array_equal(fold.train.item_ids, loo.train.item_ids)):
        raise RuntimeError("The NCF and leave-one-out training splits differ; cannot reuse the fitted models.")
    print(f"{dataset_name(args.data)}: {len(df)} ratings, {fold.train.n_users} users, {fold.train.n_items} items, "
          f"{len(fold.test)} test users", flush=True)
    rows = []
    fitted = {}

    def evaluate(label, algo, extra_seconds=0.0, **extra):
        res = ev.evaluate(algo)
        metrics = dict(res["metrics"])
        metrics.pop("test_users", None)
        metrics.update(full_catalog(algo, loo))
        seconds = res["train_seconds"] + extra_seconds
        examples = getattr(algo, "examples_seen_", None)
        eps = examples / res["train_seconds"] if examples else res["examples_per_second"]
        rows.append(_common.row(label, metrics, seconds, eps, **extra))
        fitted[label] = algo
        print(f"{label:16s} hr@10 {metrics['hr@10']:.4f} ndcg@10 {metrics['ndcg@10']:.4f} "
              f"full hr@10 {metrics['full_hr@10']:.4f}  {seconds:.1f}s", flush=True)

    evaluate("popularity", PopularityRecommender())
    evaluate("bpr_mf", NCFRecommender(model="bpr", seed=args.seed, **BPR_PARAMS), params=BPR_PARAMS)
    evaluate("mf_explicit_ratings", MatrixFactorizationRecommender(seed=args.seed),
             params="tfrec.recommenders.mf defaults (biased MF, squared error on the star ratings, embedding_dim 64); "
                    "named mf before")
    for name in ("gmf", "mlp", "neumf"):
        evaluate(name, NCFRecommender(model=name, seed=args.seed, **{k: v for k, v in params[name].items()}),
                 params=params[name])
    pre = dict(params["neumf_pretrain"])
    rec = NCFRecommender(model="neumf", seed=args.seed, **pre)
    # the pre-trained parts are the GMF and MLP rows above (trained on the same training data)
    rec.fit = functools.partial(rec.fit, gmf=fitted["gmf"].model, mlp=fitted["mlp"].model)
    pre_seconds = fitted["gmf"].train_seconds_ + fitted["mlp"].train_seconds_
    evaluate("neumf_pretrain", rec, extra_seconds=pre_seconds, params=pre,
             note="train_seconds includes the GMF and MLP pre-training rows; examples_per_second is of the "
                  "NeuMF stage")
    name = "ncf_" + dataset_name(args.data).replace("-", "")
    _common.write_results(
        name, dataset_name(args.data),
        f"ncf: leave-one-out latest (seed {args.seed}) + 99 sampled negatives (seed {args.seed}), HR@10/NDCG@10 with "
        "ties counted against the model; full_hr@10/full_ndcg@10: the same held-out item ranked over the full "
        "catalog, training items removed. Hyperparameters: " + _rel(args.config) + " (chosen on a validation "
        "leave-one-out carved from train)", rows, anchors=ANCHORS)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=_common.DATA_ROOT / "ml-100k",
                   help="MovieLens folder (ml-100k u.data, ml-1m ratings.dat or ml-latest ratings.csv)")
    p.add_argument("--config", type=Path, default=_common.REPO / "configs" / "ncf_ml100k.yaml")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--tune", action="store_true", help="validation search instead of the test run")
    p.add_argument("--models", default="", help="--tune: comma-separated subset of gmf,mlp,neumf,neumf_pretrain "
                   "(the neumf stages start from the config's GMF/MLP settings)")
    p.add_argument("--tune-epochs", type=int, default=20)
    p.add_argument("--grid", default="", help='--tune with one model: JSON search space replacing the built-in one; '
                   'gmf/mlp: a dict of lists, e.g. \'{"embedding_dim": [64], "l2": [1e-6, 1e-5]}\'; neumf stages: a '
                   'list of overrides of the config, e.g. \'[{"l2": 1e-6}]\'')
    args = p.parse_args(argv)
    if not args.data.is_dir():
        print(f"SKIP: dataset folder {args.data} not found (pass --data).")
        return
    (tune if args.tune else run)(args)


if __name__ == "__main__":
    main()
