"""Speed of loading MovieLens 100K and of full-catalog top-10 evaluation of all 943 users.

Compares the vectorized evaluation (tfrec.evaluation: batched scoring, argpartition, sparse hit
lookup) with a plain per-user Python loop computing the same nDCG@10 on the same scores, in the
same run. The scores are those of the ``mf`` family trained by the Trainer for 3 epochs (the
model ``tfrec evaluate`` trains). Writes benchmarks/results/eval_speed_ml100k.json.

    python benchmarks/eval_speed_ml100k.py
"""

import statistics
import time

import numpy as np

import _common

from tfrec import metrics as M
from tfrec.data import load_movielens
from tfrec.data.training_data import Columns
from tfrec.evaluation import EvaluationData, Protocol
from tfrec.training.family_algorithm import FamilyAlgorithm


def timed(fn, repeats=5):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main():
    path = _common.data_dir("ml-100k")
    load_s, ml = timed(lambda: load_movielens(path), 3)
    split = Protocol("msr_stratified").split(ml.ratings)[0]
    data = EvaluationData.build(split.train, split.test, Columns())
    # the mf family trained by the Trainer (as `tfrec evaluate` trains it); its scorer gives the scores timed here
    algo = FamilyAlgorithm("mf", training={"epochs": 3, "verbose": 0}, log=lambda msg: None).fit(data.train)
    users = np.flatnonzero(data.num_relevant > 0)

    def vectorized():
        recs, _ = algo.recommend(users, k=10, exclude_seen=True)
        hits = M.hits_matrix(recs, data.relevant[users])
        return M.ndcg_at_k(hits, data.num_relevant[users])

    def naive():
        seen = data.train.seen_matrix().tolil().rows
        rel = data.relevant.tolil().rows
        total = 0.0
        for u in users:
            s = algo.score(np.array([u]))[0].copy()
            s[seen[u]] = -np.inf
            top = sorted(range(len(s)), key=lambda i: -s[i])[:10]
            relevant = set(rel[u])
            dcg = sum(1 / np.log2(r + 2) for r, i in enumerate(top) if i in relevant)
            idcg = sum(1 / np.log2(r + 2) for r in range(min(10, int(data.num_relevant[u]))))
            total += dcg / idcg
        return total / len(users)

    vec_s, ndcg_vec = timed(vectorized, 5)
    naive_s, ndcg_naive = timed(naive, 1)
    if not np.isclose(ndcg_vec, ndcg_naive, atol=1e-4):
        raise SystemExit(f"vectorized nDCG {ndcg_vec} != loop nDCG {ndcg_naive}")
    rows = [
        _common.row("load_movielens(ml-100k, side features)", {"seconds": load_s, "goal_seconds": 5.0}),
        _common.row("full-catalog top-10 eval, 943 users (tfrec, vectorized)",
                    {"seconds": vec_s, "goal_seconds": 3.0, "ndcg@10": ndcg_vec, "users": len(users),
                     "speedup_vs_loop": naive_s / vec_s}),
        _common.row("same, per-user Python loop (reference)", {"seconds": naive_s, "ndcg@10": ndcg_naive}),
    ]
    for r in rows:
        print(r["algorithm"], r["metrics"])
    _common.write_results("eval_speed_ml100k", "MovieLens 100K", "median wall time of 3 loads / 5 evaluations; mf "
                          "family (Trainer, 3 epochs) scores on the msr_stratified split; the loop reference "
                          "computes the same nDCG@10", rows)


if __name__ == "__main__":
    main()
