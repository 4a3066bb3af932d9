"""Hyperparameter search for MF on MovieLens 100K: does the best config beat the default one?

Protocol: ``configs/tune_mf_ml100k.yaml`` (random 80/20 split of ml-100k, seed 42; 10% of the training
rows carved out for validation). In one run of this script:

1. the default config (the search's base values: embedding_dim 32, l2 1e-4, lr 0.005, batch 1024,
   adam, early stopping on val_rmse) is trained and its best validation RMSE recorded;
2. a keras-tuner search (``--algorithm``, ``--trials`` trials) over learning rate, embedding size,
   L2 and batch size runs through ``training.tuner`` (each trial reports its best val_rmse);
3. the search's ``best_config.yaml`` and the default config are both trained once more with the
   final test evaluation (test split untouched until then).

The claim checked: best trial's validation RMSE < default's validation RMSE. Test RMSEs are
reported beside it.

Usage: python benchmarks/tune_ml100k.py [--trials 10] [--algorithm random]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import REPO, data_dir, row, write_results  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--algorithm", default="random", choices=["random", "bayesian", "hyperband"])
    args = parser.parse_args()
    path = data_dir("ml-100k")

    from tfrec.training import Trainer, load_config
    from tfrec.training.tuner import distributed_env, tune

    distributed_env(None)
    say = lambda m: print(m, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = load_config(REPO / "configs" / "tune_mf_ml100k.yaml",
                           [f"data.path={path}", f"tuner.max_trials={args.trials}", f"tuner.algorithm={args.algorithm}",
                            f"tuner.directory={tmp / 'search'}", "tuner.overwrite=true"])

        # 1. the default config, validation only (as a trial sees it)
        default_cfg = base.replace({})
        default_cfg.search_space = {}
        t0 = time.perf_counter()
        default_val = Trainer(default_cfg.replace({"evaluation.enabled": False, "output.saved_model": False}),
                              run_dir=tmp / "default_val", log=lambda m: None).fit()
        say(f"default config: best val_rmse {default_val.best_value:.4f} (epoch {default_val.best_epoch + 1}), "
            f"{time.perf_counter() - t0:.0f}s")

        # 2. the search
        t0 = time.perf_counter()
        out = tune(base, log=say, quiet_trials=True)
        search_seconds = time.perf_counter() - t0
        trials = out["rows"]
        best_trial = trials[0]
        say(f"search: {len(trials)} trials in {search_seconds:.0f}s; best val_rmse {best_trial['val_rmse']:.4f}")

        # 3. default and best configs with the final test evaluation
        best_cfg = load_config(out["paths"]["best_config"])
        finals = {}
        for name, cfg in (("default", default_cfg), ("best", best_cfg)):
            result = Trainer(cfg.replace({"output.saved_model": False}), run_dir=tmp / f"final_{name}",
                             log=lambda m: None).fit()
            finals[name] = result
            say(f"{name}: val_rmse {result.best_value:.4f}, test rmse {result.final['rmse']:.4f}")

    keys = list(base.search_space)
    rows = [row("mf default config", {"val_rmse": default_val.best_value,
                                      "test_rmse": finals["default"].final["rmse"],
                                      "test_mae": finals["default"].final["mae"]},
                train_seconds=finals["default"].metrics["timing"]["fit_seconds"],
                config={k: default_cfg.get(k) for k in keys})]
    rows.append(row("mf best config (search)", {"val_rmse": best_trial["val_rmse"],
                                                "val_rmse_retrained": finals["best"].best_value,
                                                "test_rmse": finals["best"].final["rmse"],
                                                "test_mae": finals["best"].final["mae"]},
                    train_seconds=finals["best"].metrics["timing"]["fit_seconds"],
                    config={k: best_cfg.get(k) for k in keys}, trial=best_trial["trial"]))
    for t in trials:
        rows.append(row(f"trial {t['trial']}", {"val_rmse": t["val_rmse"]}, status=t["status"],
                        config={k: t.get(k) for k in keys}))
    beats = best_trial["val_rmse"] < default_val.best_value
    say(f"best config beats the default on validation: {beats} ({best_trial['val_rmse']:.4f} vs "
        f"{default_val.best_value:.4f})")
    write_results(
        "tune_ml100k", "ml-100k",
        f"MF, random 80/20 split (seed 42), validation = 10% of the training rows (seed 42); {args.algorithm} search "
        f"of {args.trials} trials over {', '.join(keys)}; objective best val_rmse (early stopping, patience 2, "
        "max 30 epochs); default and best configs retrained with the test evaluation.",
        rows, search_seconds=round(search_seconds, 1), best_beats_default_on_validation=bool(beats),
        default_val_rmse=round(default_val.best_value, 6), best_val_rmse=round(best_trial["val_rmse"], 6),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
