"""Overhead of ``training.Trainer`` against a plain ``model.fit`` on the same model and data.

Protocol: MovieLens 100K, ``configs/train_mf_ml100k.yaml`` (biased MF, random 80/20 split, 10% of the
training rows for validation), early stopping off so both run the same number of epochs. In one
process, alternating (plain, trainer) ``--repeats`` times:

* plain: the same examples, ``tf.data`` pipeline, model and optimizer, then
  ``model.fit(train, validation_data=val, epochs=E, verbose=0)``;
* trainer: ``Trainer(config).fit()`` with everything on: per-epoch BackupAndRestore state, epoch
  log, best checkpoint, TensorBoard logs, console line.

Reported: median seconds of the fit phase (plain ``model.fit`` vs the Trainer's ``fit_seconds``,
which includes all its callbacks) and their ratio; also the Trainer's whole run without the final
test evaluation (data preparation, build, fit, checkpoints, export) against plain data + build + fit.

Usage: python benchmarks/trainer_overhead.py [--repeats 5] [--epochs 10]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=1024)
    args = parser.parse_args()
    path = data_dir("ml-100k")

    import tensorflow as tf

    from training import Trainer, load_config
    from training import data as data_lib
    from training.tasks import get_task
    from training.trainer import make_optimizer

    overrides = [f"data.path={path}", f"training.epochs={args.epochs}", f"training.batch_size={args.batch_size}",
                 "training.early_stopping.enabled=false", "training.verbose=2", "output.saved_model=false"]
    config = load_config(REPO / "configs" / "train_mf_ml100k.yaml", overrides)

    def plain() -> dict:
        t0 = time.perf_counter()
        tf.keras.utils.set_random_seed(config.training.seed)
        task = get_task("mf")
        run = task.prepare(config)
        params = dict(config.model.params)
        model = task.build_model(params, run)
        fit_x, fit_y = task.examples(run, run.fit, "fit")
        val_x, val_y = task.examples(run, run.val, "val")
        bs = config.training.batch_size
        train_ds = data_lib.make_dataset(fit_x, fit_y, bs, shuffle_buffer=config.training.shuffle_buffer,
                                         seed=config.training.seed)
        val_ds = data_lib.make_dataset(val_x, val_y, bs)
        model({k: v[:2] for k, v in fit_x.items()})
        task.compile(model, make_optimizer(config, -(-len(fit_y) // bs)), config)
        t1 = time.perf_counter()
        hist = model.fit(train_ds, validation_data=val_ds, epochs=config.training.epochs, verbose=0).history
        t2 = time.perf_counter()
        return {"fit": t2 - t1, "total": t2 - t0, "val_rmse": min(hist["val_rmse"])}

    def trainer(tmp: Path, i: int) -> dict:
        t0 = time.perf_counter()
        cfg = load_config(REPO / "configs" / "train_mf_ml100k.yaml", overrides + ["evaluation.enabled=false"])
        result = Trainer(cfg, run_dir=tmp / f"run{i}", overwrite=True, log=lambda m: None).fit()
        t1 = time.perf_counter()
        return {"fit": result.metrics["timing"]["fit_seconds"], "total": t1 - t0, "val_rmse": result.best_value}

    plain()  # warm-up: first imports and graph-building caches in both paths
    with tempfile.TemporaryDirectory() as tmp:
        trainer(Path(tmp), -1)
        runs = {"plain": [], "trainer": []}
        for i in range(args.repeats):
            runs["plain"].append(plain())
            runs["trainer"].append(trainer(Path(tmp), i))
            print(f"repeat {i + 1}/{args.repeats}: plain fit {runs['plain'][-1]['fit']:.2f}s, "
                  f"trainer fit {runs['trainer'][-1]['fit']:.2f}s", flush=True)

    med = {k: {m: statistics.median(r[m] for r in v) for m in ("fit", "total", "val_rmse")} for k, v in runs.items()}
    fit_overhead = med["trainer"]["fit"] / med["plain"]["fit"] - 1.0
    total_overhead = med["trainer"]["total"] / med["plain"]["total"] - 1.0
    print(f"median fit: plain {med['plain']['fit']:.2f}s, trainer {med['trainer']['fit']:.2f}s -> overhead "
          f"{100 * fit_overhead:+.1f}%")
    print(f"median whole run (no test evaluation): plain {med['plain']['total']:.2f}s, trainer "
          f"{med['trainer']['total']:.2f}s -> overhead {100 * total_overhead:+.1f}%")
    rows = [
        row("plain model.fit", {"best_val_rmse": med["plain"]["val_rmse"]}, train_seconds=med["plain"]["fit"],
            whole_run_seconds=round(med["plain"]["total"], 3), fit_seconds_all=[round(r["fit"], 3) for r in runs["plain"]]),
        row("training.Trainer", {"best_val_rmse": med["trainer"]["val_rmse"]}, train_seconds=med["trainer"]["fit"],
            whole_run_seconds=round(med["trainer"]["total"], 3),
            fit_seconds_all=[round(r["fit"], 3) for r in runs["trainer"]]),
    ]
    write_results(
        "trainer_overhead", "ml-100k",
        f"MF (configs/train_mf_ml100k.yaml), {args.epochs} epochs, batch {args.batch_size}, early stopping off; "
        f"{args.repeats} alternating repeats in one process after one warm-up each; medians. Trainer fit includes "
        "BackupAndRestore, epoch log, best checkpoint, TensorBoard and console callbacks.",
        rows, fit_overhead=round(fit_overhead, 4), whole_run_overhead=round(total_overhead, 4),
        target="fit overhead <= 5%", meets_target=bool(fit_overhead <= 0.05),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
