"""GRU4Rec (three losses) against Popularity and the successor rule on rsc15-yoochoose-100k, in one run.

Protocol (GRU4Rec's): train on ``train_full``, test on ``test`` (the last day). Every test click except
the last of its session is a query; the relevant item is the next click of the same session; the
model's state is built from the session's earlier clicks only (test sessions are never trained on).
Ranks are taken against ALL training items, ``rank = (scores > target_score).sum() + 1``; Recall@20
and MRR@20 are averaged over the queries. Test clicks on items unseen in training are dropped (as the
official code does; there are none in this sample).

Baselines: Popularity (most clicked training items) and the successor rule (items that most often
directly follow the current item in training sessions; popularity only breaks ties, so zero-count
items are not flattered by the ``>`` ranking).

Hyperparameters: ``configs/gru4rec_rsc15.yaml`` (from the official RSC15 parameters, then chosen with
``--tune`` on ``train_tr`` -> ``train_valid``; ``test`` is never read while tuning).

Run:
  python benchmarks/gru4rec_rsc15_100k.py                 # ~15-30 min on 2 busy cores
  python benchmarks/gru4rec_rsc15_100k.py --losses bpr-max
  python benchmarks/gru4rec_rsc15_100k.py --tune          # writes gru4rec_rsc15_100k_tuning.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402  (imports tfrec first)

import numpy as np  # noqa: E402

from tfrec.data import load_sessions  # noqa: E402
from tfrec.models.gru4rec import LOSSES  # noqa: E402
from tfrec.recommenders.gru4rec import GRU4RecRecommender  # noqa: E402
from tfrec.recommenders.session_baselines import SessionPopularity, SuccessorRule  # noqa: E402

ANCHORS = [
    {"algorithm": "GRU4Rec (official PyTorch, cross-entropy; full RSC15, not this 100k sample)",
     "metrics": {"recall@20": 0.7283, "mrr@20": 0.3205},
     "dataset": "RSC15 (YOOCHOOSE clicks, GRU4Rec preprocessing: train_full / last-day test)",
     "source": "hidasib/GRU4Rec_PyTorch_Official README, 'Reproducing results on public datasets', Results "
               "table, RSC15 row; Hidasi & Czapp, The Effect of Third Party Implementations on Reproducibility, "
               "RecSys 2023 (arXiv:2307.14956)"},
]


def _params(algo: GRU4RecRecommender) -> dict:
    keys = ("layers", "loss", "batch_size", "n_epochs", "learning_rate", "dropout_p_embed", "dropout_p_hidden",
            "n_sample", "sample_alpha", "bpreg", "elu_param", "logq", "constrained_embedding", "embedding", "seed")
    return {k: getattr(algo, k) for k in keys}


def _gru_row(label, algo, metrics, train_seconds, k):
    return _common.row(
        label, {f"recall@{k}": metrics[f"recall@{k}"], f"mrr@{k}": metrics[f"mrr@{k}"]}, train_seconds,
        algo.events_per_second, params=_params(algo),
        epoch_seconds=[round(s, 2) for s in algo.epoch_seconds],
        events_per_second_note="training (input, next-click) pairs per second in the last epoch",
        train_loss_per_epoch=[round(v, 4) for v in algo.losses], n_queries=metrics["n_queries"])


def run(args, cfg):
    k = int(cfg.get("k", 20))
    folder = args.data
    train = load_sessions(folder / cfg["data"]["train"])
    test = load_sessions(folder / cfg["data"]["test"])
    rows = []
    for base in (SessionPopularity(), SuccessorRule()):
        t0 = time.perf_counter()
        base.fit(train)
        fit_s = time.perf_counter() - t0
        m = base.evaluate_sessions(test, k=k)
        rows.append(_common.row(base.name, {f"recall@{k}": m[f"recall@{k}"], f"mrr@{k}": m[f"mrr@{k}"]}, fit_s, None,
                                n_queries=m["n_queries"]))
        print(f"{base.name:16s} R@{k} {m[f'recall@{k}']:.4f}  MRR@{k} {m[f'mrr@{k}']:.4f}", flush=True)
    for loss in args.losses:
        params = dict(cfg["gru4rec"][loss])
        algo = GRU4RecRecommender(loss=loss, seed=args.seed, verbose=True, **params)
        t0 = time.perf_counter()
        algo.fit(train)
        train_s = time.perf_counter() - t0
        m = algo.evaluate_sessions(test, k=k)
        rows.append(_gru_row(f"gru4rec ({loss})", algo, m, train_s, k))
        print(f"gru4rec {loss:9s} R@{k} {m[f'recall@{k}']:.4f}  MRR@{k} {m[f'mrr@{k}']:.4f}  "
              f"train {train_s:.0f}s  {algo.events_per_second:.0f} events/s", flush=True)
    name = "gru4rec_rsc15_100k"
    previous = _common.RESULTS / f"{name}.json"
    if set(args.losses) != set(LOSSES) and previous.is_file():  # keep rows of losses not rerun now
        done = {r["algorithm"] for r in rows}
        rows += [r for r in json.loads(previous.read_text())["rows"] if r["algorithm"] not in done]
    _common.write_results(
        name, "rsc15-yoochoose-100k",
        f"train_full -> test (GRU4Rec protocol): next-click of every test event, ranked against all "
        f"{len(train['ItemId'].unique())} training items, rank = (scores > target).sum() + 1; Recall@{k}, MRR@{k}. "
        "Hyperparameters from configs/gru4rec_rsc15.yaml (chosen on train_tr -> train_valid).",
        rows, anchors=ANCHORS, seed=args.seed)


def tune(args, cfg):
    k = int(cfg.get("k", 20))
    tcfg = cfg["tune"]
    metric = tcfg.get("metric") or f"mrr@{k}"
    train = load_sessions(args.data / cfg["data"]["tune_train"])
    valid = load_sessions(args.data / cfg["data"]["tune_valid"])  # the test file is never read here
    rows = []
    for base in (SessionPopularity(), SuccessorRule()):
        m = base.fit(train).evaluate_sessions(valid, k=k)
        rows.append(_common.row(base.name, {f"recall@{k}": m[f"recall@{k}"], f"mrr@{k}": m[f"mrr@{k}"]}))
        print(f"{base.name:16s} R@{k} {m[f'recall@{k}']:.4f}  MRR@{k} {m[f'mrr@{k}']:.4f}", flush=True)
    for loss in args.losses:
        grid = tcfg["grid"].get(loss, {})
        keys = list(grid)
        for values in itertools.product(*(grid[key] for key in keys)):
            params = {**cfg["gru4rec"][loss], **dict(zip(keys, values)), "n_epochs": int(tcfg.get("n_epochs", 5))}
            algo = GRU4RecRecommender(loss=loss, seed=args.seed, **params)
            t0 = time.perf_counter()
            algo.fit(train)
            train_s = time.perf_counter() - t0
            m = algo.evaluate_sessions(valid, k=k)
            rows.append(_gru_row(f"gru4rec ({loss})", algo, m, train_s, k))
            print(f"{loss:13s} {dict(zip(keys, values))}: R@{k} {m[f'recall@{k}']:.4f} MRR@{k} {m[f'mrr@{k}']:.4f} "
                  f"({train_s:.0f}s)", flush=True)
    best = {}
    for r in rows:
        if r["algorithm"].startswith("gru4rec"):
            if r["algorithm"] not in best or r["metrics"][metric] > best[r["algorithm"]]["metrics"][metric]:
                best[r["algorithm"]] = r
    for label, r in best.items():
        print(f"best {label} by {metric}: {r['metrics']} {r['params']}")
    name = "gru4rec_rsc15_100k_tuning"
    previous = _common.RESULTS / f"{name}.json"
    if previous.is_file():  # keep earlier trials of other losses/settings
        seen = {json.dumps([r["algorithm"], r.get("params")], sort_keys=True) for r in rows}
        rows = [r for r in json.loads(previous.read_text())["rows"]
                if json.dumps([r["algorithm"], r.get("params")], sort_keys=True) not in seen] + rows
    _common.write_results(
        name, "rsc15-yoochoose-100k",
        f"tuning: train_tr -> train_valid (test never read); {tcfg.get('n_epochs', 5)} epochs; selection by {metric}",
        rows, seed=args.seed)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=None,
                   help="folder holding the rsc15-yoochoose-100k files (default ../shared/data/rsc15-yoochoose-100k)")
    p.add_argument("--config", type=Path, default=_common.REPO / "configs" / "gru4rec_rsc15.yaml")
    p.add_argument("--losses", nargs="+", choices=list(LOSSES), default=list(LOSSES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tune", action="store_true")
    args = p.parse_args(argv)
    cfg = _common.read_config(args.config)
    if args.data is None:
        args.data = _common.data_dir("rsc15-yoochoose-100k")
    elif not args.data.is_dir():
        print(f"SKIP: {args.data} not found (pass --data).")
        return
    (tune if args.tune else run)(args, cfg)


if __name__ == "__main__":
    main()
