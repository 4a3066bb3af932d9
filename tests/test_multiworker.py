"""MultiWorkerMirroredStrategy: two ``tfrec train`` workers on localhost ports (TF_CONFIG) train MF.

Both must finish, hold the same weights (synchronous all-reduce training) and reach a test RMSE
comparable to a single-worker run of the same config and global batch size.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # several TensorFlow processes
PER_WORKER_BATCH = 128


def _free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _config(tmp_path, ml100k_path, strategy, batch_size):
    path = tmp_path / f"{strategy}.yaml"
    path.write_text(textwrap.dedent(f"""
        data: {{path: {ml100k_path}, max_rows: 4000, validation_ratio: 0.1}}
        model: {{name: mf, params: {{embedding_dim: 8}}}}
        training:
          epochs: 2
          batch_size: {batch_size}
          learning_rate: 0.01
          strategy: {strategy}
          early_stopping: {{enabled: false}}
        output: {{tensorboard: false, saved_model: false}}
        """))
    return path


def _weights(prefix: Path):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(prefix))
    names = sorted(n for n in reader.get_variable_to_shape_map() if n.startswith("user_factors") or
                   n.startswith("item_factors") or "bias" in n)
    names = [n for n in names if "OPTIMIZER" not in n]
    return {n: reader.get_tensor(n) for n in names}


def test_two_workers_train_in_sync(tmp_path, ml100k_path):
    config = _config(tmp_path, ml100k_path, "multi_worker", PER_WORKER_BATCH)
    run_dir = tmp_path / "mw"
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO),
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        cmd = [sys.executable, "-m", "tfrec.cli.main", "train", "--config", str(config), "--run-dir", str(run_dir)]
        procs.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    outputs = []
    try:
        for p in procs:
            out, _ = p.communicate(timeout=300)
            outputs.append(out)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-4000:]
    assert "MultiWorkerMirroredStrategy: 2 workers, 2 replicas" in outputs[0]
    assert "worker 0 (chief)" in outputs[0]

    chief = json.loads((run_dir / "metrics.json").read_text())
    worker = json.loads((run_dir / "workers" / "worker_1" / "metrics.json").read_text())
    assert chief["global_batch_size"] == 2 * PER_WORKER_BATCH
    assert len(chief["history"]) == len(worker["history"]) == 2
    # the same all-reduced validation metrics on both workers
    assert chief["history"][-1]["val_rmse"] == worker["history"][-1]["val_rmse"]
    w_chief = _weights(run_dir / "model" / "weights")
    w_worker = _weights(run_dir / "workers" / "worker_1" / "model" / "weights")
    assert w_chief and w_chief.keys() == w_worker.keys()
    for name in w_chief:
        np.testing.assert_allclose(w_chief[name], w_worker[name], rtol=1e-6, atol=1e-7, err_msg=name)

    # a single worker with the same global batch reaches a comparable test RMSE
    from tfrec.training import Trainer, load_config

    single = Trainer(load_config(_config(tmp_path, ml100k_path, "cpu", 2 * PER_WORKER_BATCH)),
                     run_dir=tmp_path / "single", log=lambda m: None).fit()
    assert abs(single.final["rmse"] - chief["final"]["rmse"]) < 0.05, (single.final["rmse"], chief["final"]["rmse"])
