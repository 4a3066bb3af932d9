"""GPU check: each model family trains a few hundred steps on GPU with mixed precision, beside CPU.

For every family (mf, neumf, two_tower, ranking, dcn, deepfm) on MovieLens 100K: ``--steps`` training
steps at batch ``--batch-size`` with ``strategy: gpu`` + ``mixed_precision: true``, then the same on
``strategy: cpu`` in float32. Throughput is training examples per second of the epochs after the
first (the first holds the graph tracing). Writes ``benchmarks/results/gpu_check.json``.

Without a GPU it says so and exits with status 0 without writing results.

Usage: python benchmarks/gpu_check.py [--steps 300] [--batch-size 1024] [--families mf,two_tower]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import data_dir, row, write_results  # noqa: E402

FAMILIES = {
    "mf": {"embedding_dim": 64},
    "neumf": {},
    "two_tower": {"embedding_dim": 64},
    "ranking": {},
    "dcn": {},
    "deepfm": {"task": "ctr"},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--families", default=",".join(FAMILIES))
    args = parser.parse_args()

    import tfrec  # noqa: F401
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        print("gpu_check: no GPU visible to TensorFlow (tf.config.list_physical_devices('GPU') is empty); nothing to "
              "measure. Run it on a machine with a GPU and `pip install 'tensorflow[and-cuda]'`. Exiting.")
        return 0
    path = data_dir("ml-100k")
    from tfrec.training import Trainer, from_dict

    rows, errors = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.families.split(","):
            per_device = {}
            for device, strategy, mixed in (("gpu", "gpu", True), ("cpu", "cpu", False)):
                raw = {
                    "data": {"path": str(path)},
                    "model": {"name": family, "params": FAMILIES[family]},
                    "training": {"epochs": 1, "batch_size": args.batch_size, "strategy": strategy,
                                 "mixed_precision": mixed, "early_stopping": {"enabled": False}, "verbose": 0},
                    "evaluation": {"enabled": False},
                    "output": {"tensorboard": False, "saved_model": False, "backup": False},
                }
                n_fit = 72_000  # ml-100k random 80/20 with 10% validation: 72,000 fit rows (neumf adds negatives)
                raw["training"]["epochs"] = max(2, math.ceil(args.steps / math.ceil(n_fit / args.batch_size)))
                try:
                    result = Trainer(from_dict(raw), run_dir=Path(tmp) / f"{family}_{device}", log=lambda m: None).fit()
                except Exception as e:  # noqa: BLE001 - report the family's failure and go on with the others
                    errors[f"{family}/{device}"] = f"{type(e).__name__}: {str(e)[:300]}"
                    print(f"{family:10s} {device}: FAILED {errors[f'{family}/{device}']}", flush=True)
                    continue
                seconds = [h["seconds"] for h in result.history[1:]] or [result.history[0]["seconds"]]
                eps = result.metrics["train_examples_per_epoch"] / statistics.median(seconds)
                per_device[device] = eps
                print(f"{family:10s} {device}: {eps:,.0f} examples/s (mixed precision {result.metrics['mixed_precision']}, "
                      f"{result.metrics['devices']})", flush=True)
            gpu, cpu = per_device.get("gpu"), per_device.get("cpu")
            rows.append(row(family, {"gpu_examples_per_second": gpu, "cpu_examples_per_second": cpu,
                                     "speedup": gpu / cpu if gpu and cpu else None}, examples_per_second=gpu))
    write_results("gpu_check", "ml-100k",
                  f"each family ~{args.steps} steps at batch {args.batch_size}: strategy gpu + mixed_float16 vs "
                  "strategy cpu float32; examples/s = training examples / median epoch seconds after the first epoch",
                  rows, gpus=[g.name for g in gpus], errors=errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
