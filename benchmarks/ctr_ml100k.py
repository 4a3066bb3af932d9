"""MovieLens 100K as click-through-rate data: DeepFM, DCN-V2, FM and logistic regression.

Label: a rating of 4 or 5 is a positive (55.4% of ratings), 1-3 a negative. Split: ratings shuffled
with seed 42, 80% train (``tfrec.splits.random_split(ratings, 0.8, seed=42)``), the other 20% cut
in half (``random_split(rest, 0.5, seed=42)``) into validation (early stopping, best weights
restored) and test (scored once). Metrics: AUC and log loss on the test rows.

Features and model settings are those of the rating benchmark (``configs/dcn_ml100k.yaml``,
``configs/deepfm_ml100k.yaml``: ids, age, gender, occupation, zip, genres, year, timestamp), with
the task switched to CTR; FM uses DeepFM's features and embedding size without the deep part and
logistic regression the same features with one weight per category. They were not re-tuned for
CTR. examples/s: training examples per second over the epochs after the first.

Run:
  python benchmarks/ctr_ml100k.py        # ~10-20 min on 2 busy cores
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402  (imports tfrec first)

from ranking_ml100k import load_ratings, model_config, run_feature_model  # noqa: E402
from tfrec import splits  # noqa: E402

SEED = 42
MODELS = ("logreg", "fm", "deepfm", "dcn")


def model_settings(model: str):
    if model == "dcn":
        cfg = model_config("dcn_ml100k")
        return cfg["params"], cfg["training"]
    cfg = model_config("deepfm_ml100k")
    params = copy.deepcopy(cfg["params"])
    if model in ("fm", "logreg"):
        keep = ("embedding_l2", "first_order") if model == "fm" else ("embedding_l2",)
        params["model_params"] = {k: v for k, v in params.get("model_params", {}).items() if k in keep}
    return params, cfg["training"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="ml-100k folder (default ../shared/data/ml-100k)")
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args(argv)
    path = Path(args.data) if args.data else _common.data_dir("ml-100k")
    ratings = load_ratings(path)
    train, rest = splits.random_split(ratings, 0.8, seed=SEED)
    val, test = splits.random_split(rest, 0.5, seed=SEED)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; valid: {list(MODELS)}")
    rows = []
    for model in models:
        params, training = model_settings(model)
        start = time.perf_counter()
        out = run_feature_model(model, params, training, train, val, test, task="ctr", positive_threshold=4.0)
        info = out["info"]
        metrics = {"auc": out["test"]["auc"], "log_loss": out["test"]["log_loss"],
                   "val_auc": out["val"]["auc"], "val_log_loss": out["val"]["log_loss"]}
        print(f"{model}: {metrics} ({info['epochs']} epochs, {info['examples_per_second']:.0f} ex/s)", flush=True)
        rows.append(_common.row(model, metrics, train_seconds=info["train_seconds"],
                                examples_per_second=info["examples_per_second"], epochs=info["epochs"],
                                best_epoch=info["best_epoch"], wall_seconds=round(time.perf_counter() - start, 1),
                                params={"embedding_dim": params["embedding_dim"] if model != "logreg" else 1,
                                        **params.get("model_params", {}),
                                        **{k: v for k, v in training.items() if k != "early_stopping"}},
                                early_stopping={"monitor": "validation log loss (best weights restored)",
                                                "patience": training.get("early_stopping", {}).get("patience", 2)},
                                features=[f["name"] for f in params["features"]]))
    positives = float((ratings["user_rating"] >= 4).mean())
    _common.write_results(
        "ctr_ml100k", "ml-100k",
        "MovieLens 100K as CTR: rating >= 4 is a positive "
        f"({positives:.3f} of ratings). random_split 80/20 seed 42, the 20% split 50/50 (seed 42) into "
        "validation (early stopping) and test; AUC and log loss on test. Features and settings from the "
        "rating configs (not re-tuned for CTR); preprocessing fitted on the training rows.",
        rows,
        constant_log_loss_test=_constant_log_loss(train, test),
    )


def _constant_log_loss(train, test):
    """Log loss of predicting the training positive rate for every test row (the trivial baseline)."""
    from tfrec import metrics as M
    import numpy as np

    p = float((train["user_rating"] >= 4).mean())
    y = (test["user_rating"] >= 4).to_numpy(np.float64)
    return round(float(M.log_loss(y, np.full(len(y), p))), 6)


if __name__ == "__main__":
    main()
