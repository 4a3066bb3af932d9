"""Two-tower retrieval, multi-task and training speed on MovieLens 100K under the TFRS tutorial protocol.

Protocol (the TFRS basic retrieval tutorial): the 100,000 ratings are shuffled with seed 42 and split
80,000 / 20,000 (``tfrec.splits.random_split``; NumPy permutation instead of ``tf.data`` shuffle, so
the exact rows differ from the tutorial's). Every rating is a positive interaction. Metric: factorized
top-K categorical accuracy as ``tfrs.metrics.FactorizedTopK``: for each test (user, item) pair, the
item counts as retrieved if fewer than K catalog items score strictly higher than it for that user
(no items removed). The catalog is the items of the training split (test items never seen in training
count as misses). The first model is also evaluated with ``tfrs.metrics.FactorizedTopK`` itself, as a
check of our metric code (row field ``tfrs_factorized_top_k``).

Rows (hyperparameters from configs/retrieval_ml100k.yaml and configs/multitask_ml100k.yaml):

* popularity: training interaction counts.
* two_tower_id: (a) the tutorial model: user id / movie title embeddings (32-d), Adagrad 0.1,
  batch 8192, 3 epochs. Anchor: the tutorial reports top-100 accuracy about 0.233.
* two_tower_id_logq: the same ids with the log-Q correction, batch 1024.
* two_tower_side_logq_deep: (b) side features + log-Q + 64 -> 32 towers, Adam.
* two_tower_same / multitask: retrieval-only and joint retrieval + rating with identical towers and
  training; the multitask row carries ``rmse`` (rating head on the test ratings) and
  ``top_100_ratio`` = multitask top-100 / two_tower_same top-100.
* speed_tutorial_pipeline / speed_tfrec_pipeline: ids only, batch 1024, 3 epochs, Adagrad 0.1. The
  tutorial-style pipeline keeps the StringLookup layers inside the model and reads an uncached
  ``tf.data`` pipeline mapped per example (as the tutorial's TFDS pipeline); ours encodes the ids
  once, caches the encoded examples and XLA-compiles the train step. Neither computes top-K metrics
  while training (the tutorial does; that would only widen the gap). Each pipeline runs with seeds
  42 and 43, alternating with the other so both see the same machine load; accuracy is the mean of
  the two runs, throughput the best steady-state run (epochs 2-3, after tracing/compilation), with
  the rate including the first epoch beside it. The machine is shared, so absolute rates vary.

The ``tfrs_factorized_top_k`` check can differ from our figure in the third decimal: tfrs scores the
positive with ``reduce_sum(q * c)`` but the other candidates with the index's matmul, so float32
rounding can rank the positive one place lower than its exact rank.

Hyperparameters: two_tower_id is the tutorial's model with the tutorial's settings (not tuned). The
settings of two_tower_id_logq (batch size, epochs), two_tower_side_logq_deep (learning rate, epochs,
embedding size, temperature), the shared towers and training of two_tower_same / multitask (learning
rate, epochs, log-Q on/off, temperature) and the multitask rating-loss weight were chosen with
``--tune`` on a validation split carved from the training part only: the 80,000 training ratings are
split again at random 90/10 (seed 42), each candidate is fit on the 90% and scored on the 10% after
every epoch (so the epoch count is chosen with the other settings), in a coordinate search over a
handful of values (``TUNE_STAGES``). Selection: the best validation top-100; for multitask the lowest
validation RMSE among the rating weights that keep >= 95% of two_tower_same's validation top-100.
Record: ``benchmarks/results/retrieval_ml100k_tfrs_tuning.json``; the winners were copied into
configs/retrieval_ml100k.yaml and configs/multitask_ml100k.yaml. The test split is used only for the
reported rows. (Before this search, the side-feature and multitask settings had been picked on the
test split; they are the search's starting point, nothing more.)

Run:
  python benchmarks/retrieval_ml100k_tfrs.py            # ~20-30 min on 2 busy cores
  python benchmarks/retrieval_ml100k_tfrs.py --only retrieval --only multitask
  python benchmarks/retrieval_ml100k_tfrs.py --only speed
  python benchmarks/retrieval_ml100k_tfrs.py --tune [--groups id_logq,side,same,multitask]   # ~35 min
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
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_recommenders as tfrs  # noqa: E402

from tfrec.data import load_movielens  # noqa: E402
from tfrec.data.training_data import OOV_INDEX, TrainingData  # noqa: E402
from tfrec.features import frame_to_dataset  # noqa: E402
from tfrec.models.retrieval import TwoTowerRetrieval  # noqa: E402
from tfrec.models.tower import make_tower  # noqa: E402
from tfrec.recommenders import registry  # noqa: E402

KS = (1, 5, 10, 50, 100)
TUTORIAL_URL = "https://www.tensorflow.org/recommenders/examples/basic_retrieval"
MULTITASK_URL = "https://www.tensorflow.org/recommenders/examples/multitask"
CONFIGS = _common.REPO / "configs"
PARTS = ("retrieval", "multitask", "speed")


def algorithms(config: str):
    return {a["params"].get("name", a["name"]): a for a in _common.read_config(CONFIGS / config)["algorithms"]}


def create(spec: dict):
    """The configured algorithm; its row name is ``params.name`` (set after creation)."""
    params = dict(spec.get("params") or {})
    label = params.pop("name", spec["name"])
    algo = registry.create(spec["name"], **params)
    algo.name = label
    return algo


def factorized_top_k(scores: np.ndarray, data: TrainingData, test: pd.DataFrame, ks=KS) -> dict:
    """Top-K categorical accuracy of test pairs; ``scores`` is [n_users, n_items]."""
    users = data.user_index(test["user_id"])
    items = data.item_index(test["movie_id"])
    rank = np.full(len(test), np.iinfo(np.int64).max)
    ok = (users != OOV_INDEX) & (items != OOV_INDEX)
    s = scores[users[ok]]
    positive = s[np.arange(len(s)), items[ok]]
    rank[ok] = (s > positive[:, None]).sum(axis=1)
    return {f"top_{k}_categorical_accuracy": float(np.mean(rank < k)) for k in ks}


def all_scores(rec, data):
    return rec.score(np.arange(data.n_users))


def tfrs_check(rec, test: pd.DataFrame) -> dict:
    """The same metric computed by tfrs.metrics.FactorizedTopK over the candidate embeddings."""
    model: TwoTowerRetrieval = rec.model
    _, embeddings = rec.candidate_embeddings()
    index = tfrs.layers.factorized_top_k.BruteForce(k=max(KS))
    index.index(tf.constant(embeddings))
    metric = tfrs.metrics.FactorizedTopK(candidates=index, ks=KS)
    # our metric counts unknown users and items as misses
    known = test[(rec.data.item_index(test["movie_id"]) != OOV_INDEX) & (rec.data.user_index(test["user_id"]) != OOV_INDEX)]
    layers = [model.query_tower.feature_layer, model.candidate_tower.feature_layer]
    for batch in frame_to_dataset(known, layers, batch_size=4096):
        query, candidate = model(batch, training=False)
        metric.update_state(query, candidate)
    share = len(known) / len(test)
    return {f"top_{k}_categorical_accuracy": float(v) * share for k, v in zip(KS, metric.result())}


def run_retrieval(ml, split, data, rows):
    algos = algorithms("retrieval_ml100k.yaml")
    test = split.test
    pop = np.tile(data.item_popularity().astype(np.float32), (data.n_users, 1))
    rows.append(_common.row("popularity", factorized_top_k(pop, data, test), part="retrieval"))
    del pop
    for name in ("two_tower_id", "two_tower_id_logq", "two_tower_side_logq_deep"):
        spec = algos[name]
        rec = create(spec)
        rec.fit(data)
        metrics = factorized_top_k(all_scores(rec, data), data, test)
        extra = {"params": spec.get("params", {}), "part": "retrieval"}
        if name == "two_tower_id":
            extra["tfrs_factorized_top_k"] = {k: round(v, 6) for k, v in tfrs_check(rec, test).items()}
        rows.append(_common.row(name, metrics, rec.train_seconds_, rec.examples_seen_ / rec.train_seconds_, **extra))
        print(name, metrics, flush=True)


def run_multitask(ml, split, data, rows):
    algos = algorithms("multitask_ml100k.yaml")
    test = split.test
    out = {}
    for name in ("two_tower_same", "multitask"):
        spec = algos[name]
        rec = create(spec)
        rec.fit(data)
        metrics = factorized_top_k(all_scores(rec, data), data, test)
        if name == "multitask":
            users, items = data.user_index(test["user_id"]), data.item_index(test["movie_id"])
            pred = rec.predict(users, items)
            metrics["rmse"] = float(np.sqrt(np.mean((pred - test["user_rating"].to_numpy()) ** 2)))
            metrics["top_100_ratio"] = metrics["top_100_categorical_accuracy"] / out["two_tower_same"]
        out[name] = metrics["top_100_categorical_accuracy"]
        rows.append(_common.row(name, metrics, rec.train_seconds_, rec.examples_seen_ / rec.train_seconds_,
                                params=spec.get("params", {}), part="multitask"))
        print(name, metrics, flush=True)


class _EpochTimer(tf.keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def _tutorial_pipeline(train: pd.DataFrame, epochs: int, batch_size: int, seed: int):
    """The TFRS tutorial's model and input pipeline (string lookups in the model, uncached per-example map)."""
    tf.keras.utils.set_random_seed(seed)
    user_vocab = np.unique(train["user_id"].astype(str))
    title_vocab = np.unique(train["movie_title"].astype(str))
    user_model = tf.keras.Sequential([tf.keras.layers.StringLookup(vocabulary=user_vocab, mask_token=None),
                                      tf.keras.layers.Embedding(len(user_vocab) + 1, 32)])
    movie_model = tf.keras.Sequential([tf.keras.layers.StringLookup(vocabulary=title_vocab, mask_token=None),
                                       tf.keras.layers.Embedding(len(title_vocab) + 1, 32)])

    class TutorialModel(tfrs.Model):
        def __init__(self):
            super().__init__()
            self.user_model, self.movie_model = user_model, movie_model
            self.task = tfrs.tasks.Retrieval()

        def compute_loss(self, features, training=False):
            return self.task(self.user_model(features["user_id"]), self.movie_model(features["movie_title"]),
                             compute_metrics=not training)

    # like the TFDS records of the tutorial: every scalar feature, mapped to the two it uses per example
    scalar = [c for c in train.columns if c not in ("movie_genres",) and not c.endswith("_idx")]
    records = tf.data.Dataset.from_tensor_slices(
        {c: (train[c].astype(str).to_numpy() if train[c].dtype == object or str(train[c].dtype) == "str"
             else train[c].to_numpy()) for c in scalar})
    ds = records.map(lambda x: {"user_id": x["user_id"], "movie_title": x["movie_title"]})
    ds = ds.shuffle(len(train), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    model = TutorialModel()
    model.compile(optimizer=tf.keras.optimizers.Adagrad(0.1))
    timer = _EpochTimer()
    model.fit(ds, epochs=epochs, verbose=0, callbacks=[timer])

    def scores(data: TrainingData):
        titles = data.items["movie_title"].astype(str).to_numpy()  # data.items is aligned to item indices
        q = user_model(tf.constant(data.user_ids.astype(str))).numpy()
        c = movie_model(tf.constant(titles)).numpy()
        return q @ c.T

    return timer.times, scores


def _tfrec_pipeline(train: pd.DataFrame, epochs: int, batch_size: int, seed: int):
    tf.keras.utils.set_random_seed(seed)
    query = make_tower([{"name": "user_id", "kind": "categorical"}], train, 32, name="query")
    candidate = make_tower([{"name": "movie_title", "kind": "categorical"}], train, 32, name="candidate")
    model = TwoTowerRetrieval(query, candidate)
    model.compile(optimizer=tf.keras.optimizers.Adagrad(0.1), jit_compile=True)
    layers = [query.feature_layer, candidate.feature_layer]
    ds = frame_to_dataset(train, layers, encoder=layers, batch_size=batch_size, shuffle=True, seed=seed)
    timer = _EpochTimer()
    model.fit(ds, epochs=epochs, verbose=0, callbacks=[timer])

    def scores(data: TrainingData):
        users = {"user_id": tf.constant(data.user_ids.astype(str))}
        titles = data.items["movie_title"].astype(str).to_numpy()  # data.items is aligned to item indices
        return model.embed_queries(users) @ model.embed_candidates({"movie_title": tf.constant(titles)}).T

    return timer.times, scores


def run_speed(ml, split, data, rows, epochs=3, batch_size=1024, seeds=(42, 43)):
    train = split.train
    runs = {"speed_tutorial_pipeline": [], "speed_tfrec_pipeline": []}
    for seed in seeds:  # alternate the pipelines so both see the same machine load
        for name, fn in (("speed_tutorial_pipeline", _tutorial_pipeline), ("speed_tfrec_pipeline", _tfrec_pipeline)):
            times, scores = fn(train, epochs, batch_size, seed=seed)
            steady = len(train) * (epochs - 1) / sum(times[1:])
            total = len(train) * epochs / sum(times)
            metrics = factorized_top_k(scores(data), data, split.test, ks=(10, 100))
            print(name, seed, f"steady {steady:.0f} ex/s, with first epoch {total:.0f} ex/s", metrics, flush=True)
            runs[name].append({"seed": seed, "steady": steady, "total": total, "epoch_seconds": times, **metrics})
    base = max(r["steady"] for r in runs["speed_tutorial_pipeline"])
    base_total = max(r["total"] for r in runs["speed_tutorial_pipeline"])
    for name, rs in runs.items():
        best = max(rs, key=lambda r: r["steady"])
        metrics = {k: float(np.mean([r[k] for r in rs])) for k in ("top_10_categorical_accuracy", "top_100_categorical_accuracy")}
        metrics["speedup_vs_tutorial"] = best["steady"] / base
        metrics["speedup_vs_tutorial_with_first_epoch"] = max(r["total"] for r in rs) / base_total
        rows.append(_common.row(
            name, metrics, sum(best["epoch_seconds"]), best["steady"], part="speed",
            examples_per_second_with_first_epoch=round(max(r["total"] for r in rs), 1),
            runs=[{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if k != "epoch_seconds"}
                  | {"epoch_seconds": [round(t, 3) for t in r["epoch_seconds"]]} for r in rs],
            batch_size=batch_size, epochs=epochs,
            note="metrics are the mean over the seeds; examples_per_second is the best steady-state run "
                 "(epochs 2..n), examples_per_second_with_first_epoch includes tracing/compilation"))


# ------------------------------------------------------------------------------------------------
# tuning (validation split carved from the training part only)

# Coordinate search per group: each stage tries the values of one setting with the others at their
# best so far; every run trains up to TUNE_EPOCHS[group] epochs and is scored on the validation pairs
# after each epoch, so the epoch count is chosen with the other settings. The start of each group is
# the row's config before this search; every setting the stages list is then picked on validation.
TUNE_GROUPS = ("id_logq", "side", "same", "multitask")
TUNE_ROWS = {"id_logq": ("retrieval_ml100k.yaml", "two_tower_id_logq"),
             "side": ("retrieval_ml100k.yaml", "two_tower_side_logq_deep"),
             "same": ("multitask_ml100k.yaml", "two_tower_same"),
             "multitask": ("multitask_ml100k.yaml", "multitask")}
TUNE_START = {
    "id_logq": {"batch_size": 1024},
    "side": {"learning_rate": 0.002, "embedding_dim": 32, "temperature": None},
    "same": {"learning_rate": 0.002, "logq_correction": True, "temperature": None},
    "multitask": {"rating_weight": 5.0},
}
TUNE_STAGES = {
    "id_logq": [("batch_size", [1024, 8192])],
    "side": [("learning_rate", [0.001, 0.002, 0.005]), ("embedding_dim", [32, 64]), ("temperature", [None, 0.5])],
    "same": [("learning_rate", [0.001, 0.002, 0.005]), ("logq_correction", [True, False]),
             ("temperature", [None, 0.5])],
    "multitask": [("rating_weight", [1.0, 3.0, 5.0, 10.0])],
}
TUNE_EPOCHS = {"id_logq": 6, "side": 10, "same": 10}
MULTITASK_MIN_RATIO = 0.95  # the multitask row must keep this share of the retrieval-only top-100


def validation_split(train: pd.DataFrame):
    """(fit, val): a random 90/10 split (seed 42) of the 80% training part; the test part is not touched."""
    from tfrec.splits import random_split

    return random_split(train, ratio=0.9, seed=42)


def _tune_run(group, params, ml, fit, val, epochs, trials, extra=None):
    """Trains ``params`` for ``epochs`` on ``fit``; validation top-10/100 (and RMSE) after every epoch."""
    data = TrainingData(fit, items=ml.movies, users=ml.users)
    spec = {"name": "multitask" if group == "multitask" else "two_tower",
            "params": {**params, "epochs": epochs}}
    rec = create(spec)
    curve = []
    y = val["user_rating"].to_numpy()

    def on_epoch_end(epoch, r):
        point = {"epoch": epoch, **factorized_top_k(all_scores(r, data), data, val, ks=(10, 100))}
        if group == "multitask":
            pred = r.predict(data.user_index(val["user_id"]), data.item_index(val["movie_id"]))
            point["rmse"] = float(np.sqrt(np.mean((pred - y) ** 2)))
        curve.append({k: round(v, 6) if isinstance(v, float) else v for k, v in point.items()})

    start = time.perf_counter()
    rec.fit(data, on_epoch_end=on_epoch_end)
    if group == "multitask":  # identical training to two_tower_same: its epoch count is fixed
        best = curve[-1]
    else:
        best = max(curve, key=lambda c: (c["top_100_categorical_accuracy"], -c["epoch"]))
    setting = {k: v for k, v in params.items() if k != "name"}
    setting["epochs"] = best["epoch"]
    trial = {"group": group, "setting": setting, "val": {k: v for k, v in best.items() if k != "epoch"},
             "curve": curve, "seconds": round(time.perf_counter() - start, 1), **(extra or {})}
    print(group, {k: v for k, v in setting.items() if k in TUNE_START[group] or k == "epochs"}, trial["val"],
          f"{trial['seconds']:.0f} s", flush=True)
    trials.append(trial)
    return trial


def _tag(setting):
    return json.dumps({k: v for k, v in setting.items() if k != "name"}, sort_keys=True)


def _group_best(group, trials, same_best=None):
    """The selected trial of a group: the best validation top-100 (multitask: the lowest validation
    RMSE among the rating weights keeping MULTITASK_MIN_RATIO of two_tower_same's validation top-100)."""
    mine = [t for t in trials if t["group"] == group]
    if group != "multitask":
        return max(mine, key=lambda t: t["val"]["top_100_categorical_accuracy"])
    floor = MULTITASK_MIN_RATIO * same_best["val"]["top_100_categorical_accuracy"]
    ok = [t for t in mine if t["val"]["top_100_categorical_accuracy"] >= floor] or mine
    return min(ok, key=lambda t: t["val"]["rmse"])


def tune(ml, split, groups, trials):
    fit, val = validation_split(split.train)
    print(f"tuning: fit {len(fit)} rows, validation {len(val)} rows (from the {len(split.train)} training rows)")
    trials = [t for t in trials if t["group"] not in groups]
    for group in groups:
        config, row = TUNE_ROWS[group]
        base = dict(algorithms(config)[row].get("params") or {})
        base.update(TUNE_START[group])
        if group == "multitask":  # the towers and training of the selected two_tower_same
            same = _group_best("same", trials)
            base.update(same["setting"])
            epochs = same["setting"]["epochs"]
        else:
            epochs = TUNE_EPOCHS[group]
        best, seen = base, {}
        for key, values in TUNE_STAGES[group]:
            for value in values:
                params = {**best, key: value}
                params.pop("epochs", None)
                tag = _tag(params)
                if tag not in seen:
                    seen[tag] = _tune_run(group, params, ml, fit, val, epochs, trials, extra={"stage": key})
                    _write_tuning(trials, len(fit), len(val))
            chosen = _group_best(group, list(seen.values()), same if group == "multitask" else None)
            best = {k: v for k, v in chosen["setting"].items() if k != "epochs"}
            print(f"{group}: after {key}: {chosen['setting']} validation {chosen['val']}", flush=True)
    return trials


def _write_tuning(trials, n_fit, n_val):
    groups = [g for g in TUNE_GROUPS if any(t["group"] == g for t in trials)]
    selected = {}
    for g in groups:
        if g == "multitask" and "same" not in selected:
            continue
        chosen = _group_best(g, trials, selected.get("same"))
        selected[g] = chosen
    _common.write_results(
        "retrieval_ml100k_tfrs_tuning", "MovieLens 100K (the 80% training part of the seed-42 split only)",
        f"Validation search: the 80,000 training ratings of the TFRS-protocol split (random 80/20, seed 42) "
        f"split again at random 90/10 (seed 42): fit on {n_fit}, factorized top-K accuracy of the {n_val} "
        "validation pairs over the fit catalog (and rating RMSE for multitask); the test split is never "
        "used. Coordinate search, one setting at a time; epochs chosen from the per-epoch validation curve. "
        "Selection: best validation top-100 (multitask: lowest validation RMSE among the rating weights "
        f"keeping >= {MULTITASK_MIN_RATIO} of two_tower_same's validation top-100, with two_tower_same's "
        "towers and training). The selected settings were copied into configs/retrieval_ml100k.yaml "
        "(id_logq -> two_tower_id_logq, side -> two_tower_side_logq_deep) and configs/multitask_ml100k.yaml "
        "(same -> two_tower_same and multitask, multitask -> rating_weight).",
        [_common.row(f"{t['group']} [{t.get('stage', '')}]", {f"val_{k}": v for k, v in t["val"].items()},
                     train_seconds=t["seconds"], setting=t["setting"]) for t in trials],
        selected={g: {"setting": t["setting"], "val": t["val"]} for g, t in selected.items()},
        trials=trials,
    )


def _part(row: dict) -> str:
    if "part" in row:
        return row["part"]
    name = row["algorithm"]
    return "speed" if name.startswith("speed_") else "multitask" if name in ("two_tower_same", "multitask") else "retrieval"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="run only these parts (repeatable); the other parts' rows are kept from the "
                             "existing results file")
    parser.add_argument("--tune", action="store_true",
                        help="validation search (on the training part only) instead of the benchmark")
    parser.add_argument("--groups", default=",".join(TUNE_GROUPS),
                        help=f"with --tune: comma-separated subset of {TUNE_GROUPS} (the other groups' trials "
                             "are kept from the existing tuning file; multitask needs same)")
    args = parser.parse_args(argv)
    parts = args.only or list(PARTS)
    path = _common.data_dir("ml-100k")
    ml = load_movielens(path)
    from tfrec.splits import random_split

    split = random_split(ml.ratings, ratio=0.8, seed=42)
    if args.tune:
        groups = [g.strip() for g in args.groups.split(",") if g.strip()]
        unknown = sorted(set(groups) - set(TUNE_GROUPS))
        if unknown:
            parser.error(f"unknown tuning group(s) {unknown}; valid: {TUNE_GROUPS}")
        record = _common.RESULTS / "retrieval_ml100k_tfrs_tuning.json"
        previous = json.loads(record.read_text()).get("trials", []) if record.is_file() else []
        if "multitask" in groups and "same" not in groups and not any(t["group"] == "same" for t in previous):
            parser.error("--groups multitask needs the 'same' trials: add same")
        tune(ml, split, [g for g in TUNE_GROUPS if g in groups], previous)
        return
    data = TrainingData(split.train, items=ml.movies, users=ml.users)
    rows = []
    previous = _common.RESULTS / "retrieval_ml100k_tfrs.json"
    if args.only and previous.exists():
        rows = [r for r in json.loads(previous.read_text())["rows"] if _part(r) not in parts]
        kept = {"rows_kept_from_previous_run": [r["algorithm"] for r in rows]}
    else:
        kept = {}
    if "retrieval" in parts:
        run_retrieval(ml, split, data, rows)
    if "multitask" in parts:
        run_multitask(ml, split, data, rows)
    if "speed" in parts:
        run_speed(ml, split, data, rows)
    anchors = [
        {"algorithm": "two_tower_id (TFRS basic retrieval tutorial)",
         "metrics": {"top_100_categorical_accuracy": 0.233},
         "source": f"{TUTORIAL_URL}: user id / movie title embeddings (32-d), Adagrad 0.1, batch 8192, 3 epochs, "
                   "model.evaluate top-100 categorical accuracy on its own 80k/20k tf.data split (value as "
                   "recorded in the project brief)"},
    ]
    _common.write_results(
        "retrieval_ml100k_tfrs", "MovieLens 100K (ml-100k u.data, u.item, u.user)",
        "TFRS tutorial protocol: random 80/20 split of the 100k ratings (seed 42); factorized top-K "
        "categorical accuracy of each test pair over the training catalog, seen items not removed; "
        "multi-task RMSE on the test ratings", rows, anchors=anchors, **kept)


if __name__ == "__main__":
    main()
