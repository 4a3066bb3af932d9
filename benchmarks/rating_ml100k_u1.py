"""Rating prediction on MovieLens 100K's canonical u1.base / u1.test split.

Writes benchmarks/results/rating_ml100k_u1.json: RMSE and MAE of the global mean, the damped item
mean, item-kNN and biased MF (plus any extra registered rating predictors named with --algorithms).

    python benchmarks/rating_ml100k_u1.py [--algorithms global_mean,item_mean,item_knn,mf]
"""

import argparse

import _common

from tfrec.data import load_movielens
from tfrec.evaluation import Evaluator

ANCHORS = [
    {"algorithm": "SVD (MSR)", "metrics": {"rmse": 0.938681, "mae": 0.742690},
     "source": "Microsoft Recommenders benchmark table, MovieLens 100k (its stratified 75/25 split, not u1)"},
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithms", default="global_mean,item_mean,item_knn,mf")
    args = parser.parse_args()
    path = _common.data_dir("ml-100k")
    ml = load_movielens(path)
    ev = Evaluator(ml.ratings, "canonical", protocol_params={"split": "u1"}, data_path=path, k=10)
    rows = []
    for name in args.algorithms.split(","):
        r = ev.evaluate(name)
        metrics = {k: r["metrics"][k] for k in ("rmse", "mae") if k in r["metrics"]}
        print(name, metrics)
        rows.append(_common.row(name, metrics, r["train_seconds"], r["examples_per_second"]))
    _common.write_results("rating_ml100k_u1", "MovieLens 100K (u1.base / u1.test)",
                          "canonical u1 split (80,000 train / 20,000 test ratings); RMSE and MAE on every test rating",
                          rows, anchors=ANCHORS)


if __name__ == "__main__":
    main()
