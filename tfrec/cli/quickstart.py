"""``tfrec quickstart``: train, evaluate, export and query retrieval + ranking on MovieLens 100K."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "quickstart",
        help="train + evaluate + export two-tower retrieval and a ranking model on MovieLens 100K (1-2 min)",
        description=(
            "The end-to-end tour: load MovieLens 100K, split 80/20 at random (seed 42, the TFRS tutorials' "
            "protocol), train a two-tower retrieval model (in-batch softmax) and a rating (ranking) model, "
            "evaluate top-100 accuracy and RMSE on the held-out 20%%, export both in TF Serving's layout "
            "(retrieval as <name> brute force and <name>_scann with a recall-tuned ScaNN index), and print the "
            "top 10 movies of a sample user from the exported SavedModel. "
            "Without --data it downloads MovieLens 100K into the data folder first (see `tfrec data`). "
            "Example: tfrec quickstart --output runs/quickstart"
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data", help="MovieLens 100K folder (u.data, u.item, ...); default: ml-100k in the data folder "
                   "($TFREC_DATA or ~/.cache/tfrec/data), downloaded and verified the first time")
    p.add_argument("--encoding", help="text encoding of the --data files (default latin-1, MovieLens 100K's)")
    p.add_argument("--output", default="runs/quickstart", help="folder for metrics.json and models/")
    p.add_argument("--name", default="movies", help="model name of the retrieval export")
    p.add_argument("--epochs", type=int, default=3, help="retrieval training epochs")
    p.add_argument("--ranking-epochs", type=int, default=3, help="ranking training epochs")
    p.add_argument("--embedding-dim", type=int, default=32, help="embedding size of both models")
    p.add_argument("--user", default="42", help="user whose top 10 is printed")
    p.add_argument("-k", type=int, default=10, help="list length of the exported retrieval signatures")
    p.add_argument("--scann-recall", type=float, default=0.95, help="recall@k target of the ScaNN index")
    p.add_argument("--seed", type=int, default=42, help="seed of the split and the models")
    p.set_defaults(func=run)


def load_data(path: Optional[str], encoding: Optional[str] = None):
    """MovieLens 100K from ``path`` or, without one, from the data folder (downloaded there if absent).

    Raises:
      DownloadError: no ``path`` and the download failed (the message says what to do).
    """
    from tfrec.data import load_movielens
    from tfrec.data.download import download_dataset
    from tfrec.progress import Progress

    if path:
        return load_movielens(path, encoding=encoding)
    folder = download_dataset("ml-100k", progress=Progress, log=lambda msg: print(msg, flush=True))
    return load_movielens(folder, layout="ml-100k")


def top_k_accuracy(rec, test, data, k: int = 100) -> float:
    """Share of held-out (user, item) pairs whose item is in the user's top-k of the whole catalog
    (training items not removed: TFRS's FactorizedTopK / top_100_categorical_accuracy protocol)."""
    import numpy as np

    from tfrec.recommenders.base import top_k

    users = data.user_index(test["user_id"].to_numpy())
    items = data.item_index(test["movie_id"].to_numpy())
    hits = 0
    uniq, inverse = np.unique(users, return_inverse=True)
    top = np.empty((len(uniq), k), np.int64)
    for s in range(0, len(uniq), 512):
        top[s:s + 512] = top_k(rec.score(uniq[s:s + 512]), k)[0]
    for row, item in zip(inverse, items):
        hits += int(item >= 0 and item in top[row])
    return hits / len(test)


def run(args) -> int:
    if args.epochs < 1 or args.ranking_epochs < 1 or args.k < 1:
        print("tfrec quickstart: error: --epochs, --ranking-epochs and -k must be positive", file=sys.stderr)
        return 2
    t_all = time.perf_counter()
    out = Path(args.output)
    print("tfrec quickstart: MovieLens 100K -> two-tower retrieval + ranking -> TF Serving export", flush=True)
    from tfrec.data.download import DownloadError

    try:
        ml = load_data(args.data, args.encoding)
    except DownloadError as e:
        print(f"tfrec quickstart: error: {e}", file=sys.stderr)
        return 2
    import numpy as np

    import tfrec  # noqa: F401
    import tensorflow as tf

    from tfrec.data.training_data import TrainingData
    from tfrec.export.retrieval import export_retrieval
    from tfrec.export.signatures import FeatureModelModule, export_signatures
    from tfrec.splits import random_split
    from tfrec.training.family_algorithm import FamilyAlgorithm

    ratings = ml.ratings
    train, test = random_split(ratings, 0.8, seed=args.seed)
    data = TrainingData(train)
    print(f"[1/5] data: {len(ratings)} ratings, {data.n_users} users, {data.n_items} movies; "
          f"train {len(train)} / test {len(test)} (random 80/20, seed {args.seed})", flush=True)

    t0 = time.perf_counter()
    # the two_tower family, trained by the Trainer of `tfrec train` (10% of the training rows carved for early stopping)
    retrieval = FamilyAlgorithm("two_tower", {"embedding_dim": args.embedding_dim},
                                training={"optimizer": "adagrad", "learning_rate": 0.1, "batch_size": 8192,
                                          "epochs": args.epochs, "seed": args.seed, "verbose": 0},
                                log=lambda msg: None).fit(data).trained
    t_ret = time.perf_counter() - t0
    t0 = time.perf_counter()
    # the ranking family (user id, movie id -> MLP -> rating), trained the same way on the same carve
    ranking = FamilyAlgorithm("ranking", {"embedding_dim": args.embedding_dim, "hidden_units": [64, 32]},
                              training={"optimizer": "adam", "learning_rate": 0.003, "batch_size": 4096,
                                        "epochs": args.ranking_epochs, "seed": args.seed, "verbose": 0},
                              log=lambda msg: None).fit(data).trained
    t_rank = time.perf_counter() - t0
    print(f"[2/5] trained two-tower retrieval ({args.epochs} epochs, {t_ret:.1f} s) and ranking MLP "
          f"({args.ranking_epochs} epochs, {t_rank:.1f} s)", flush=True)

    acc100 = top_k_accuracy(retrieval, test, data, 100)
    acc10 = top_k_accuracy(retrieval, test, data, 10)
    known = (data.user_index(test["user_id"].to_numpy()) >= 0)
    pred = ranking.predict(data.user_index(test["user_id"].to_numpy()), data.item_index(test["movie_id"].to_numpy()))
    rmse = float(np.sqrt(np.mean((pred - test["user_rating"].to_numpy(np.float32)) ** 2)))
    print(f"[3/5] held-out: retrieval top-100 accuracy {acc100:.4f} (top-10 {acc10:.4f}); ranking RMSE "
          f"{rmse:.4f} on {len(test)} ratings ({int(known.sum())} with a known user)", flush=True)

    base = out / "models"
    t0 = time.perf_counter()
    item_ids, item_emb = retrieval.candidate_embeddings()
    users = np.asarray(data.user_ids).astype(str)
    test_users = np.unique(data.user_index(test["user_id"].to_numpy()))
    tuning_queries = retrieval.query_embeddings(test_users[test_users >= 0])
    exp = export_retrieval(base, args.name, retrieval.model.query_tower,
                           {"user_id": tf.TensorSpec([None], tf.string)}, np.asarray(item_ids).astype(str), item_emb,
                           k=args.k, scann=True, scann_recall=args.scann_recall, tuning_queries=tuning_queries,
                           warmup_examples={"user_id": users[:4]}, query_takes_dict=True, log=None)
    low, high = ranking.rating_range_
    ranker = FeatureModelModule(ranking.model, {"user_id": tf.TensorSpec([None], tf.string),
                                                "movie_id": tf.TensorSpec([None], tf.string)},
                                output_name="score", transform=lambda x: tf.clip_by_value(x, low, high))
    rank_path = export_signatures(
        base, f"{args.name}_ranking", ranker, ranker.signatures(), version=exp.version,
        warmup_requests=[("serving_default", {"user_id": users[:4].astype(object),
                                              "movie_id": np.asarray(item_ids[:4]).astype(str).astype(object)})],
        info={"kind": "ranking", "inputs": ["user_id", "movie_id"], "output": "score"})
    t_exp = time.perf_counter() - t0
    t = exp.tuning
    print(f"[4/5] exported version {exp.version} to {base}/ in {t_exp:.1f} s:", flush=True)
    print(f"      {args.name:<16} brute-force top-{args.k} (loads in stock TF Serving)")
    print(f"      {args.name + '_scann':<16} ScaNN: {t.summary()}")
    print(f"      {args.name + '_ranking':<16} (user_id, movie_id) -> score (predicted rating)")
    print(f"      configs: {base / 'models.config'} (tfrec serve), {base / 'models.tfserving.config'} (stock TF Serving)")

    loaded = tf.saved_model.load(str(exp.paths[args.name]))
    user = str(args.user)
    if user not in set(users):
        print(f"(user {user!r} is not in the training data; showing the first user instead)")
        user = users[0]
    seen = train.loc[train["user_id"].astype(str) == user, "movie_id"].astype(str).tolist()
    width = max(len(seen), 1)
    res = loaded.signatures["exclude"](user_id=tf.constant([user]),
                                       exclude_items=tf.constant([seen + [""] * (width - len(seen))]))
    rec_items = [v.decode() for v in res["item_ids"].numpy()[0]]
    rec_scores = res["scores"].numpy()[0]
    rank_scores = loaded_rank = tf.saved_model.load(str(rank_path)).signatures["serving_default"](
        user_id=tf.constant([user] * len(rec_items)), movie_id=tf.constant(rec_items))["score"].numpy()
    del loaded_rank
    titles = dict(zip(ml.movies["movie_id"].astype(str), ml.movies["movie_title"].astype(str)))
    print(f"[5/5] top {len(rec_items)} for user {user} from the exported SavedModel ({len(seen)} rated movies "
          f"excluded), with the ranking model's predicted rating:")
    for r, (item, score, rating) in enumerate(zip(rec_items, rec_scores, rank_scores), 1):
        print(f"  {r:>2}. {titles.get(item, item):<55} score {score:6.3f}  rating {rating:4.2f}")

    metrics = {
        "dataset": "MovieLens 100K", "split": f"random 80/20, seed {args.seed}",
        "retrieval": {"top_100_accuracy": acc100, "top_10_accuracy": acc10, "epochs": args.epochs,
                      "train_seconds": t_ret,
                      "protocol": "held-out (user, item) pairs whose item is in the user's top-k of all items "
                                  "(training items not removed; TFRS FactorizedTopK)"},
        "ranking": {"rmse": rmse, "epochs": args.ranking_epochs, "train_seconds": t_rank},
        "export": {"base_path": str(base), "version": exp.version, "models": sorted(list(exp.paths) + [rank_path.parent.name]),
                   "scann": t.to_dict() if t else None, "seconds": t_exp},
        "total_seconds": time.perf_counter() - t_all,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float) + "\n")
    print(f"done in {metrics['total_seconds']:.0f} s; metrics in {out / 'metrics.json'}. Next:")
    print(f"  tfrec serve --model-config {base / 'models.config'}")
    titles_arg = f" --titles {ml.path}" if ml.path else ""
    print(f"  tfrec recommend --server http://localhost:8501 --model {args.name}_scann --user {user} -k 10{titles_arg}")
    return 0
