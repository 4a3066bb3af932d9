"""Overhead of ``training.Trainer`` against a plain ``model.fit`` on the same model and data.

Protocol: MovieLens 100K, ``configs/train_mf_ml100k.yaml`` (biased MF, random 80/20 split, 10% of the
training rows for validation), early stopping off so both run the same number of epochs, at two batch
sizes (the trainer's cost is a fixed amount per epoch, so its share depends on the epoch length). In
one process, alternating (plain, trainer) ``--repeats`` times:

* plain: the same examples, ``tf.data`` pipeline, model and optimizer, then
  ``model.fit(train, validation_data=val, epochs=E, verbose=0)``;
* trainer: ``Trainer(config).fit()`` with everything on: per-epoch BackupAndRestore state, epoch
  log, best checkpoint, TensorBoard logs, console line.

Reported: median seconds of the fit phase (plain ``model.fit`` vs the Trainer's ``fit_seconds``,
which includes all its callbacks) and their ratio; also the Trainer's whole run without the final
test evaluation (data preparation, build, fit, checkpoints, export) against plain data + build + fit.

Usage: python benchmarks/trainer_overhead.py [--repeats 3] [--epochs 6] [--batch-sizes 256,1024]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import REPO, data_dir, row, write_results  # noqa: E402


def measure(path, batch_size: int, epochs: int, repeats: int) -> dict:
    """Alternates plain and trainer runs ``repeats`` times; returns medians and every sample."""
    import tensorflow as tf

    from tfrec.training import Trainer, load_config
    from tfrec.training import data as data_lib
    from tfrec.training.families.registry import get_task
    from tfrec.training.trainer import make_optimizer

    overrides = [f"data.path={path}", f"training.epochs={epochs}", f"training.batch_size={batch_size}",
                 "training.early_stopping.enabled=false", "training.verbose=2", "output.saved_model=false"]
    config = load_config(REPO / "configs" / "train_mf_ml100k.yaml", overrides)

    def plain() -> dict:
        t0 = time.perf_counter()
        tf.keras.utils.set_random_seed(config.training.seed)
        task = get_task("mf")
        run = task.prepare(config)
        model = task.build_model(dict(config.model.params), run)
        fit_x, fit_y = task.examples(run, run.fit, "fit")
        val_x, val_y = task.examples(run, run.val, "val")
        train_ds = data_lib.make_dataset(fit_x, fit_y, batch_size, shuffle_buffer=config.training.shuffle_buffer,
                                         seed=config.training.seed)
        val_ds = data_lib.make_dataset(val_x, val_y, batch_size)
        model({k: v[:2] for k, v in fit_x.items()})
        task.compile(model, make_optimizer(config, -(-len(fit_y) // batch_size)), config)
        t1, c1 = time.perf_counter(), time.process_time()
        hist = model.fit(train_ds, validation_data=val_ds, epochs=epochs, verbose=0).history
        t2, c2 = time.perf_counter(), time.process_time()
        return {"fit": t2 - t1, "fit_cpu": c2 - c1, "total": t2 - t0, "val_rmse": min(hist["val_rmse"]),
                "callbacks": 0.0, "callbacks_cpu": 0.0}

    def trainer(tmp: Path, i: int) -> dict:
        t0 = time.perf_counter()
        cfg = load_config(REPO / "configs" / "train_mf_ml100k.yaml", overrides + ["evaluation.enabled=false"])
        result = Trainer(cfg, run_dir=tmp / f"run{i}", overwrite=True, log=lambda m: None).fit()
        t1 = time.perf_counter()
        timing = result.metrics["timing"]
        return {"fit": timing["fit_seconds"], "fit_cpu": timing["fit_cpu_seconds"], "total": t1 - t0,
                "val_rmse": result.best_value, "callbacks": timing["callback_seconds"],
                "callbacks_cpu": timing["callback_cpu_seconds"]}

    plain()  # warm-up of both paths (first imports, graph caches)
    with tempfile.TemporaryDirectory() as tmp:
        trainer(Path(tmp), -1)
        runs = {"plain": [], "trainer": []}
        for i in range(repeats):
            runs["plain"].append(plain())
            runs["trainer"].append(trainer(Path(tmp), i))
            p, t = runs["plain"][-1], runs["trainer"][-1]
            print(f"batch {batch_size} repeat {i + 1}/{repeats}: plain fit {p['fit']:.2f}s ({p['fit_cpu']:.2f}s CPU), "
                  f"trainer fit {t['fit']:.2f}s ({t['fit_cpu']:.2f}s CPU; its callbacks {t['callbacks']:.2f}s, "
                  f"{t['callbacks_cpu']:.2f}s CPU)", flush=True)
    metrics = ("fit", "fit_cpu", "total", "val_rmse", "callbacks", "callbacks_cpu")
    med = {k: {m: statistics.median(r[m] for r in v) for m in metrics} for k, v in runs.items()}
    out = {
        "batch_size": batch_size, "epochs": epochs, "median": med, "runs": runs,
        "fit_overhead": med["trainer"]["fit"] / med["plain"]["fit"] - 1.0,
        "fit_cpu_overhead": med["trainer"]["fit_cpu"] / med["plain"]["fit_cpu"] - 1.0,
        "whole_run_overhead": med["trainer"]["total"] / med["plain"]["total"] - 1.0,
        # the same quantity measured inside one run, free of the noise between runs:
        "callback_share_of_fit": statistics.median(r["callbacks"] / r["fit"] for r in runs["trainer"]),
        "callback_cpu_share_of_fit": statistics.median(r["callbacks_cpu"] / r["fit_cpu"] for r in runs["trainer"]),
    }
    print(f"batch {batch_size}: median fit plain {med['plain']['fit']:.2f}s, trainer {med['trainer']['fit']:.2f}s -> "
          f"{100 * out['fit_overhead']:+.1f}% (CPU time {100 * out['fit_cpu_overhead']:+.1f}%); trainer callbacks "
          f"{100 * out['callback_share_of_fit']:.1f}% of its fit ({100 * out['callback_cpu_share_of_fit']:.1f}% of CPU); "
          f"whole run {100 * out['whole_run_overhead']:+.1f}%", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-sizes", default="256,1024", help="comma-separated batch sizes to measure")
    args = parser.parse_args()
    path = data_dir("ml-100k")
    results = [measure(path, int(b), args.epochs, args.repeats) for b in args.batch_sizes.split(",")]
    rows = []
    for r in results:
        med = r["median"]
        for name, key in (("plain model.fit", "plain"), ("training.Trainer", "trainer")):
            rows.append(row(f"{name} (batch {r['batch_size']})", {"best_val_rmse": med[key]["val_rmse"]},
                            train_seconds=med[key]["fit"], batch_size=r["batch_size"], epochs=r["epochs"],
                            whole_run_seconds=round(med[key]["total"], 3), fit_cpu_seconds=round(med[key]["fit_cpu"], 3),
                            callback_seconds=round(med[key]["callbacks"], 3),
                            callback_cpu_seconds=round(med[key]["callbacks_cpu"], 3),
                            fit_seconds_all=[round(x["fit"], 3) for x in r["runs"][key]]))
    summary = {str(r["batch_size"]): {"fit_overhead": round(r["fit_overhead"], 4),
                                      "fit_cpu_overhead": round(r["fit_cpu_overhead"], 4),
                                      "callback_share_of_fit": round(r["callback_share_of_fit"], 4),
                                      "callback_cpu_share_of_fit": round(r["callback_cpu_share_of_fit"], 4),
                                      "whole_run_overhead": round(r["whole_run_overhead"], 4)} for r in results}
    write_results(
        "trainer_overhead", "ml-100k",
        f"MF (configs/train_mf_ml100k.yaml), {args.epochs} epochs, early stopping off, batch sizes "
        f"{args.batch_sizes}; per batch size {args.repeats} alternating (plain, trainer) repeats in one process after "
        "one warm-up each; medians. fit_overhead = trainer fit seconds / plain model.fit seconds - 1 (wall clock: noisy "
        "on a shared machine); fit_cpu_overhead = the same with process CPU time; callback_share_of_fit = time inside "
        "the trainer's callbacks (BackupAndRestore, epoch log, best checkpoint, TensorBoard, console) / its fit time, "
        "measured in the same run (wall and CPU).",
        rows, overhead=summary, target="overhead <= 5%",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
