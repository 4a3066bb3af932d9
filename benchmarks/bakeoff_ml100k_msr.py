"""Bake-off on MovieLens 100K under Microsoft Recommenders' protocol.

Protocol: per-user stratified split 75/25 (``python_stratified_split``, seed 42), top-10 over the
full catalog with each user's training items removed, every test interaction relevant.
Writes benchmarks/results/bakeoff_ml100k_msr.json.

    python benchmarks/bakeoff_ml100k_msr.py [--algorithms random,popularity,mf,item_knn,two_tower]
"""

import argparse

import _common

from tfrec.data import load_movielens
from tfrec.evaluation import Evaluator
from tfrec.evaluation.registry import ALGORITHMS

DEFAULT = ["random", "popularity", "item_knn", "mf", "two_tower"]
PARAMS = {"item_knn": {"k": 40, "implicit": True}}

# Microsoft Recommenders, examples/06_benchmarks/movielens.ipynb, MovieLens 100k, top-10
# (https://github.com/recommenders-team/recommenders/blob/main/examples/06_benchmarks/movielens.ipynb)
MSR = "Microsoft Recommenders benchmark table, MovieLens 100k (recommenders-team/recommenders, examples/06_benchmarks)"
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithms", default=",".join(DEFAULT))
    parser.add_argument("--churn", action="store_true", help="also refit each algorithm with seed+1 and report churn")
    args = parser.parse_args()
    path = _common.data_dir("ml-100k")
    ml = load_movielens(path)
    ev = Evaluator(ml.ratings, "msr_stratified", k=10, churn=args.churn)
    rows = []
    for name in args.algorithms.split(","):
        if name not in ALGORITHMS:
            print(f"skipping {name}: not registered in this checkout")
            continue
        r = ev.evaluate(name, **PARAMS.get(name, {}))
        print(name, {k: round(v, 4) for k, v in r["metrics"].items()})
        rows.append(_common.row(name, r["metrics"], r["train_seconds"], r["examples_per_second"],
                                eval_seconds=round(r["eval_seconds"], 3), params=PARAMS.get(name, {})))
    _common.write_results("bakeoff_ml100k_msr", "MovieLens 100K (ml-100k/u.data)",
                          "stratified per-user 75/25 split (Microsoft Recommenders python_stratified_split, seed 42); "
                          "top-10 over the full catalog, training items removed; all test interactions relevant",
                          rows, anchors=ANCHORS)


if __name__ == "__main__":
    main()
