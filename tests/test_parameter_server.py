"""ParameterServerStrategy: 2 ps + 2 workers + a chief on 127.0.0.1, each a ``tfrec train`` process.

MF's embedding tables are partitioned across both parameter servers (``training.ps_shards: 2``), and
training completes every scheduled step after one worker is killed mid-training (the coordinator
reschedules that worker's steps on the other one). Adagrad: with Adam (lr 0.01) one run in seven of
this asynchronous two-worker training diverged in its first epoch.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EPOCHS = 4
BATCH = 128


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _config(tmp_path, ml100k_path):
    path = tmp_path / "ps.yaml"
    path.write_text(textwrap.dedent(f"""
        data: {{path: {ml100k_path}, max_rows: 4000, validation_ratio: 0.1}}
        model: {{name: mf, params: {{embedding_dim: 8}}}}
        training:
          epochs: {EPOCHS}
          batch_size: {BATCH}
          optimizer: adagrad
          learning_rate: 0.1
          strategy: parameter_server
          ps_shards: 2
          early_stopping: {{enabled: false}}
        evaluation: {{enabled: false}}
        output: {{tensorboard: false, saved_model: false}}
        """))
    return path


def _start(role, index, cluster, config, run_dir, log_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO), CUDA_VISIBLE_DEVICES="",
               TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": role, "index": index}}))
    cmd = [sys.executable, "-m", "tfrec.cli.main", "train", "--config", str(config), "--run-dir", str(run_dir)]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)


def _wait_for(path: Path, text: str, proc, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if text in path.read_text(errors="replace"):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow  # five TensorFlow processes
def test_sharded_embeddings_and_worker_loss(tmp_path, ml100k_path):
    config = _config(tmp_path, ml100k_path)
    run_dir = tmp_path / "run"
    ports = _free_ports(5)
    addr = [f"127.0.0.1:{p}" for p in ports]
    cluster = {"chief": addr[:1], "worker": addr[1:3], "ps": addr[3:]}
    servers = {f"{role}_{i}": _start(role, i, cluster, config, run_dir, tmp_path / f"{role}_{i}.log")
               for role, i in (("ps", 0), ("ps", 1), ("worker", 0), ("worker", 1))}
    chief_log = tmp_path / "chief.log"
    chief = _start("chief", 0, cluster, config, run_dir, chief_log)
    try:
        # kill worker 1 once the first epoch is done: the remaining epochs run on worker 0 alone
        killed_during_training = _wait_for(chief_log, f"epoch 1/{EPOCHS}", chief, timeout=400)
        servers["worker_1"].kill()
        chief.wait(timeout=400)
    finally:
        for p in [chief, *servers.values()]:
            if p.poll() is None:
                p.kill()
            p.wait()
    out = chief_log.read_text(errors="replace")
    assert chief.returncode == 0, out[-4000:]
    assert killed_during_training, out[-4000:]
    assert "ParameterServerStrategy: 2 workers, 2 parameter servers (2 shards per variable)" in out
    assert f"epoch {EPOCHS}/{EPOCHS}" in out.split(f"epoch 1/{EPOCHS}", 1)[1]

    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs_completed"] == EPOCHS
    n_fit = metrics["train_examples_per_epoch"]
    # every scheduled step ran; a step in flight on the killed worker may have reached the ps before it
    # died and is then run again on the other worker (at-least-once): at most one extra step
    assert EPOCHS * (n_fit // BATCH) <= metrics["optimizer_steps"] <= EPOCHS * (n_fit // BATCH) + 1
    history = [h["val_rmse"] for h in metrics["history"]]
    assert history[-1] < history[0], history

    vocab_users = len((run_dir / "vocab" / "users.txt").read_text().splitlines())
    # variable name -> its shards, e.g. "matrix_factorization/user_factors/embeddings"
    shards = {name.split("/", 1)[1]: parts for name, parts in metrics["variable_shards"].items()}
    for table in ("user_factors/embeddings", "item_factors/embeddings"):
        parts = shards[table]
        assert sorted(p["device"].split("/device:")[0] for p in parts) == [
            "/job:ps/replica:0/task:0", "/job:ps/replica:0/task:1"], parts
        assert all(p["shape"][1] == 8 for p in parts)
    # the two shards of the user table together hold one row per user (+1 out-of-vocabulary row)
    assert sum(p["shape"][0] for p in shards["user_factors/embeddings"]) == vocab_users + 1


@pytest.mark.parametrize("ps_shards, min_shard_bytes, expected", [
    (3, 1, [3, 1]),            # fixed shards, whatever the size
    (None, 10_000, [2, 1]),    # 1000 x 8 float32 = 32,000 bytes: pieces of >= 10,000 bytes, at most 2 (one per ps)
    (None, 1 << 20, [1, 1]),   # smaller than one shard: stays whole
])
def test_variable_partitioner(ps_shards, min_shard_bytes, expected):
    import tensorflow as tf

    from tfrec.training.strategy import variable_partitioner

    partitioner = variable_partitioner(2, ps_shards, min_shard_bytes)
    assert list(partitioner(tf.TensorShape([1000, 8]), tf.float32)) == expected


def test_ps_shards_must_be_positive():
    from tfrec.training import ConfigError, from_dict

    with pytest.raises(ConfigError, match="ps_shards"):
        from_dict({"data": {"path": "x"}, "model": {"name": "mf"}, "training": {"ps_shards": 0}})
