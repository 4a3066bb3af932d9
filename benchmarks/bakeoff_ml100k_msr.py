"""Bake-off on MovieLens 100K under Microsoft Recommenders' protocol.

Protocol: per-user stratified split 75/25 (``python_stratified_split``, seed 42), top-10 over the
full catalog with each user's training items removed, every test interaction relevant. The
algorithms and their parameters are those of ``configs/bakeoff_ml100k.yaml``.
Writes benchmarks/results/bakeoff_ml100k_msr.json.

    python benchmarks/bakeoff_ml100k_msr.py [--churn] [--algorithms random,popularity,...]
    python benchmarks/bakeoff_ml100k_msr.py --tune   # compare two-tower candidates on validation

``--tune`` splits the *training* part again (same protocol, seed 43) and reports nDCG@10 of each
two-tower candidate on that validation split into bakeoff_ml100k_msr_tuning.json; the winner's
parameters are then written into the config by hand, and the test part is never looked at.
"""

import argparse


import _common

from tfrec.data import load_movielens
from tfrec.evaluation import Evaluator
from tfrec.splits import stratified_split

CONFIG = _common.REPO / "configs" / "bakeoff_ml100k.yaml"

# Microsoft Recommenders, examples/06_benchmarks/movielens.ipynb, MovieLens 100k, top-10
MSR = ("Microsoft Recommenders benchmark table, MovieLens 100k, top-10 "
       "(recommenders-team/recommenders, examples/06_benchmarks/movielens.ipynb)")
ANCHORS = [
    {"algorithm": name, "metrics": {"ndcg@10": ndcg, "precision@10": p, "recall@10": r, "map@10": m}, "source": MSR}
    for name, ndcg, p, r, m in [
        ("SVD (MSR)", 0.095930, 0.091198, 0.032783, 0.012873),
        ("SAR (MSR)", 0.382461, 0.330753, 0.176385, 0.110591),
        ("NCF (MSR)", 0.396118, 0.347296, 0.180775, 0.107720),
        ("LightGCN (MSR)", 0.419846, 0.379626, 0.144336, 0.088526),
        ("BPR (MSR)", 0.441997, 0.388229, 0.212522, 0.132478),
        ("BiVAE (MSR)", 0.475077, 0.411771, 0.219145, 0.146126),
    ]
]

BASE = {"query_features": "movielens_user", "candidate_features": "movielens_item", "embedding_dim": 32,
        "optimizer": "adam", "learning_rate": 0.002, "batch_size": 1024}
CANDIDATES = {
    "side_deep": dict(BASE, hidden_units=[64, 32], epochs=8),
    "side_deep_logq": dict(BASE, hidden_units=[64, 32], epochs=8, logq_correction=True),
    "side_deep_logq_e16": dict(BASE, hidden_units=[64, 32], epochs=16, logq_correction=True),
    "side_deep_logq_t05": dict(BASE, hidden_units=[64, 32], epochs=8, logq_correction=True, temperature=0.5),
    "id_logq": dict(BASE, query_features=None, candidate_features=None, epochs=8, logq_correction=True),
}


def tune(ml, args_only=None):
    train, _ = stratified_split(ml.ratings, ratio=0.75, seed=42)
    ev = Evaluator(train, "msr_stratified", protocol_params={"seed": 43}, k=10, progress=False)
    rows = []
    for label, params in CANDIDATES.items():
        if args_only and label not in args_only:
            continue
        r = ev.evaluate("two_tower", name=f"two_tower[{label}]", **params)
        print(label, round(r["metrics"]["ndcg@10"], 4))
        rows.append(_common.row(f"two_tower[{label}]", {"val_ndcg@10": r["metrics"]["ndcg@10"],
                                                        "val_precision@10": r["metrics"]["precision@10"]},
                                r["train_seconds"], r["examples_per_second"], params=params))
    _common.write_results("bakeoff_ml100k_msr_tuning", "MovieLens 100K (training part of the MSR split only)",
                          "validation: the 75% training part split again per user 75/25 (seed 43); nDCG@10 there",
                          rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithms", help="comma-separated subset of the config's algorithms")
    parser.add_argument("--churn", action="store_true", help="also refit each algorithm with seed+1 and report churn")
    parser.add_argument("--tune", action="store_true", help="compare two-tower candidates on a validation split")
    parser.add_argument("--only", help="with --tune: comma-separated candidate labels to run")
    args = parser.parse_args()
    ml = load_movielens(_common.data_dir("ml-100k"))
    if args.tune:
        return tune(ml, args.only.split(",") if args.only else None)
    cfg = _common.read_config(CONFIG)
    specs = cfg["algorithms"]
    if args.algorithms:
        wanted = args.algorithms.split(",")
        specs = [s for s in specs if s["name"] in wanted]
    ev = Evaluator(ml.ratings, "msr_stratified", protocol_params=cfg["protocol"]["params"], k=cfg["k"],
                   churn=args.churn)
    rows = []
    for spec in specs:
        params = dict(spec.get("params") or {})
        r = ev.evaluate(spec["name"], **params)
        print(spec["name"], {k: round(v, 4) for k, v in r["metrics"].items()})
        rows.append(_common.row(spec["name"], r["metrics"], r["train_seconds"], r["examples_per_second"],
                                eval_seconds=round(r["eval_seconds"], 3), params=params))
    _common.write_results("bakeoff_ml100k_msr", "MovieLens 100K (ml-100k/u.data)",
                          "stratified per-user 75/25 split (Microsoft Recommenders python_stratified_split, seed 42); "
                          "top-10 over the full catalog, training items removed; all test interactions relevant; "
                          "algorithms and parameters from configs/bakeoff_ml100k.yaml",
                          rows, anchors=ANCHORS)


if __name__ == "__main__":
    main()
