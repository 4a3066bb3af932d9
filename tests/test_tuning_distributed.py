"""Distributed search on 127.0.0.1: a chief serving the keras-tuner oracle and two ``tfrec tune`` workers.

The chief runs in a thread of this process (the same ``training.tuner.tune(role="chief")`` that
``tfrec tune --distributed chief`` runs) to save one TensorFlow start-up; the workers are separate
processes started with ``tfrec tune --distributed worker``.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import tfrec  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # several TensorFlow processes
MAX_TRIALS = 3


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_chief_and_two_workers(tmp_path, ml100k_path, monkeypatch):
    config = tmp_path / "tune.yaml"
    config.write_text(textwrap.dedent(f"""
        data: {{path: {ml100k_path}, max_rows: 2000, validation_ratio: 0.2}}
        model: {{name: mf, params: {{embedding_dim: 4}}}}
        training: {{epochs: 1, batch_size: 256, verbose: 0}}
        output: {{tensorboard: false}}
        tuner: {{algorithm: random, max_trials: {MAX_TRIALS}, directory: {tmp_path / 'search'}}}
        search_space:
          training.learning_rate: {{type: float, min: 1.0e-3, max: 1.0e-1, sampling: log}}
          model.params.embedding_dim: {{type: int, min: 2, max: 8, step: 2}}
        """))
    port = _free_port()
    from tfrec.training import load_config
    from tfrec.training.tuner import distributed_env, tune

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    distributed_env("chief", "127.0.0.1", port)
    chief_result = {}

    def run_chief():
        try:
            chief_result["out"] = tune(load_config(config), role="chief", log=lambda m: None)
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            chief_result["error"] = e

    chief = threading.Thread(target=run_chief, daemon=True)
    chief.start()
    workers = []
    try:
        for i in range(2):
            env = dict(os.environ, PYTHONPATH=str(REPO))
            for k in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
                env.pop(k, None)
            cmd = [sys.executable, "-m", "tfrec.cli.main", "tune", "--config", str(config), "--distributed", "worker",
                   "--oracle-ip", "127.0.0.1", "--oracle-port", str(port), "--tuner-id", f"tuner{i}", "--quiet-trials"]
            workers.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                            text=True))
        outputs = [w.communicate(timeout=300)[0] for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
        distributed_env(None)
    for w, out in zip(workers, outputs):
        assert w.returncode == 0, out[-4000:]
    chief.join(timeout=60)
    assert not chief.is_alive(), "the chief did not stop after the workers finished"
    assert "error" not in chief_result, chief_result.get("error")

    ran = []
    for out in outputs:
        line = [x for x in out.splitlines() if x.startswith("worker done: ran ")]
        assert line, out[-2000:]
        ran.append(int(line[0].split()[3]))
    assert sum(ran) == MAX_TRIALS  # the oracle handed out each trial once
    rows = chief_result["out"]["rows"]
    assert len(rows) == MAX_TRIALS and all(r["status"] == "COMPLETED" for r in rows)
    results = json.loads((tmp_path / "search" / "search" / "results.json").read_text())
    assert len(results["trials"]) == MAX_TRIALS
    assert (tmp_path / "search" / "search" / "best_config.yaml").exists()
