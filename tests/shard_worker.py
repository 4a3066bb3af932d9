"""One training process of tests/test_multiworker_shards.py: MF on a ratings shard folder.

Usage: python tests/shard_worker.py SHARD_FOLDER TEST_NPZ OUT_JSON GLOBAL_BATCH
Under ``TF_CONFIG`` it is one worker of a ``MultiWorkerMirroredStrategy``; without it, one process.
"""

import json
import sys

import numpy as np

import tfrec  # noqa: F401  (tf_keras)
import tensorflow as tf

from tfrec.training.strategy import make_placement

folder, test_npz, out_json, global_batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
placement = make_placement("multi_worker" if "--multi" in sys.argv else "cpu", log=lambda m: None)

from tfrec.data.manifest import read_manifest  # noqa: E402
from tfrec.models.mf import MatrixFactorization  # noqa: E402
from tfrec.training.distributed_input import distributed_shards, steps_per_epoch, worker_files  # noqa: E402

manifest = read_manifest(folder)
strategy = placement.strategy
tf.keras.utils.set_random_seed(0)
with strategy.scope():
    model = MatrixFactorization(manifest.cardinality["user"], manifest.cardinality["item"], embedding_dim=8,
                                global_mean=float(manifest.source["mean_rating"]))
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="mse")
ds = distributed_shards(strategy, manifest, ["user", "item", "rating"], global_batch, shuffle_buffer=4096, seed=0,
                        map_fn=lambda b: ({"user_idx": b["user"], "item_idx": b["item"]}, b["rating"]))
steps = steps_per_epoch(strategy, manifest, global_batch)
model.fit(ds, epochs=4, steps_per_epoch=steps, verbose=0)
test = np.load(test_npz)
pred = model({"user_idx": tf.constant(test["user"]), "item_idx": tf.constant(test["item"])}).numpy()
rmse = float(np.sqrt(np.mean((pred - test["rating"]) ** 2)))
json.dump({"rmse": rmse, "steps": steps, "files": worker_files(strategy, manifest),
           "iterations": int(model.optimizer.iterations.numpy()), "replicas": strategy.num_replicas_in_sync},
          open(out_json, "w"))
