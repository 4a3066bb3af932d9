"""MultiWorkerMirroredStrategy on shard files: two workers each stream their own half of the files.

MovieLens 100K is split 90/10 (seeded); the training rows become 4 Parquet shards (ids indexed from
the training rows only; test rows of unknown users/items get -1, MF's unknown row). Two worker
processes (TF_CONFIG on 127.0.0.1) train MF reading disjoint files; one process trains on all files
with the same global batch. Both reach a comparable test RMSE, well below the global mean's.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tfrec.data.errors import DataFormatError
from tfrec.data.manifest import Manifest, write_manifest
from tfrec.data.shard_writer import ShardWriter

REPO = Path(__file__).resolve().parents[1]
GLOBAL_BATCH = 256


def _write_shards(ml100k_path: Path, folder: Path, n_shards: int = 4):
    frame = pd.read_csv(ml100k_path / "u.data", sep="\t", names=["user", "item", "rating", "ts"])
    rng = np.random.default_rng(0)
    test_mask = rng.random(len(frame)) < 0.1
    train, test = frame[~test_mask], frame[test_mask]
    users, items = np.unique(train["user"]), np.unique(train["item"])

    def index(vocab, values):  # training index, -1 for an id not in the training rows
        pos = np.clip(np.searchsorted(vocab, values), 0, len(vocab) - 1)
        return np.where(vocab[pos] == values, pos, -1).astype(np.int32)

    folder.mkdir()
    shards = []
    shuffled = train.sample(frac=1.0, random_state=0)
    bounds = np.linspace(0, len(shuffled), n_shards + 1).astype(int)
    for k in range(n_shards):
        part = shuffled.iloc[bounds[k]:bounds[k + 1]]
        writer = ShardWriter(folder / f"part-{k:05d}.parquet", "parquet")
        writer.write(pd.DataFrame({"user": index(users, part["user"].to_numpy()),
                                   "item": index(items, part["item"].to_numpy()),
                                   "rating": part["rating"].to_numpy(np.float32)}))
        shards.append(writer.close())
    manifest = Manifest(folder, "ratings", "parquet", {"user": "int32", "item": "int32", "rating": "float32"},
                        shards, cardinality={"user": len(users), "item": len(items)},
                        source={"mean_rating": float(train["rating"].mean())})
    write_manifest(manifest)
    test_file = folder.parent / "test.npz"
    np.savez(test_file, user=index(users, test["user"].to_numpy()), item=index(items, test["item"].to_numpy()),
             rating=test["rating"].to_numpy(np.float32))
    return manifest, test_file, float(np.sqrt(np.mean((test["rating"] - train["rating"].mean()) ** 2)))


def _run(args, tf_config=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO), CUDA_VISIBLE_DEVICES="")
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return subprocess.Popen([sys.executable, str(REPO / "tests" / "shard_worker.py"), *map(str, args)], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_two_workers_on_disjoint_files_match_one_worker(tmp_path, ml100k_path):
    manifest, test_file, mean_rmse = _write_shards(ml100k_path, tmp_path / "shards")
    socks = [socket.socket() for _ in range(2)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    cluster = {"worker": [f"127.0.0.1:{s.getsockname()[1]}" for s in socks]}
    for s in socks:
        s.close()
    procs = [_run([manifest.folder, test_file, tmp_path / f"w{i}.json", GLOBAL_BATCH, "--multi"],
                  {"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(2)]
    procs.append(_run([manifest.folder, test_file, tmp_path / "single.json", GLOBAL_BATCH]))
    try:
        outs = [p.communicate(timeout=400)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-4000:]
    w0, w1, single = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("w0", "w1", "single"))

    # disjoint halves of the files, together all of them
    assert w0["replicas"] == w1["replicas"] == 2 and single["replicas"] == 1
    assert not set(w0["files"]) & set(w1["files"])
    assert sorted(w0["files"] + w1["files"]) == sorted(str(p) for p in manifest.paths())
    # the same synchronous steps on both workers: one model
    assert w0["iterations"] == w1["iterations"] == 4 * w0["steps"]
    assert w0["rmse"] == pytest.approx(w1["rmse"], abs=1e-5)
    # the same quality as one worker reading every file, and a model that learned (beats the global mean)
    assert abs(w0["rmse"] - single["rmse"]) < 0.03, (w0["rmse"], single["rmse"])
    assert w0["rmse"] < mean_rmse - 0.05 and single["rmse"] < mean_rmse - 0.05, (w0, single, mean_rmse)


def test_truncated_shard_is_named(tmp_path, ml100k_path):
    import tensorflow as tf

    from tfrec.training.distributed_input import distributed_shards

    manifest, _, _ = _write_shards(ml100k_path, tmp_path / "shards")
    victim = manifest.paths()[2]
    victim.write_bytes(victim.read_bytes()[:-100])
    with pytest.raises(DataFormatError, match="part-00002.parquet"):
        distributed_shards(tf.distribute.get_strategy(), manifest, ["user", "item", "rating"], 64)
