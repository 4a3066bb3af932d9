"""Fault tolerance: a ``tfrec train`` killed with SIGKILL after a completed epoch resumes from it.

The run is killed as soon as the BackupAndRestore state of the first epoch is on disk; rerunning the
same command must start at the next epoch (no completed epoch repeated: checked in events.jsonl and
epochs.jsonl) and end close to an uninterrupted run of the same config. The two runs differ only in
the shuffle order after the restart (the tf.data iterator starts afresh), hence a tolerance.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # several TensorFlow processes
EPOCHS = 4
RMSE_TOLERANCE = 0.03  # measured spread between resumed and uninterrupted runs: below 0.01


def _config(tmp_path, ml100k_path) -> Path:
    path = tmp_path / "resume.yaml"
    path.write_text(textwrap.dedent(f"""
        data: {{path: {ml100k_path}, max_rows: 12000, validation_ratio: 0.1}}
        model: {{name: mf, params: {{embedding_dim: 8}}}}
        training:
          epochs: {EPOCHS}
          batch_size: 64
          learning_rate: 0.003
          early_stopping: {{enabled: false}}
        evaluation: {{k: [10]}}
        output: {{tensorboard: false, saved_model: false}}
        """))
    return path


def _command(config: Path, run_dir: Path):
    return [sys.executable, "-m", "tfrec.cli.main", "train", "--config", str(config), "--run-dir", str(run_dir)]


def _read_jsonl(path: Path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    env.pop("TF_CONFIG", None)
    return env


def test_sigkill_then_rerun_continues_from_last_completed_epoch(tmp_path, ml100k_path):
    config = _config(tmp_path, ml100k_path)
    run_dir = tmp_path / "run"
    backup_index = run_dir / "backup" / "chief" / "checkpoint"
    proc = subprocess.Popen(_command(config, run_dir), cwd=REPO, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            if backup_index.exists() and _read_jsonl(run_dir / "epochs.jsonl"):
                os.kill(proc.pid, signal.SIGKILL)
                break
            if proc.poll() is not None:
                pytest.fail("the run ended before it could be killed:\n" + proc.stdout.read()[-3000:])
            time.sleep(0.02)
        else:
            pytest.fail("no epoch completed within 240 s")
    finally:
        proc.wait(timeout=60)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert not (run_dir / "metrics.json").exists()

    second = subprocess.run(_command(config, run_dir), cwd=REPO, env=_env(), capture_output=True, text=True,
                            timeout=300)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "resuming after completed epoch" in second.stdout

    events = _read_jsonl(run_dir / "events.jsonl")
    starts = [i for i, e in enumerate(events) if e["event"] == "train_begin"]
    assert len(starts) == 2
    resumed_at = events[starts[1]]["initial_epoch"]
    assert resumed_at >= 1
    # the epochs the first process completed are exactly the ones before resumed_at
    first_epochs = [e["epoch"] for e in events[starts[0]:starts[1]] if e["event"] == "epoch_begin"]
    assert max(first_epochs) in (resumed_at - 1, resumed_at)  # killed at the end of, or inside, the next epoch
    second_epochs = [e["epoch"] for e in events[starts[1]:] if e["event"] == "epoch_begin"]
    assert second_epochs == list(range(resumed_at, EPOCHS))  # no completed epoch repeated
    history = _read_jsonl(run_dir / "epochs.jsonl")
    assert [r["epoch"] for r in history] == list(range(EPOCHS))  # each epoch logged once
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] == resumed_at - 1
    assert len(metrics["history"]) == EPOCHS

    # an uninterrupted run of the same config ends within tolerance
    from tfrec.training import Trainer, load_config

    whole = Trainer(load_config(config), run_dir=tmp_path / "whole", log=lambda m: None).fit()
    assert whole.resumed_from is None
    assert abs(metrics["final"]["rmse"] - whole.final["rmse"]) < RMSE_TOLERANCE, (metrics["final"]["rmse"],
                                                                                whole.final["rmse"])
    # and the resumed run did learn: its last epoch beats its first on validation
    assert history[-1]["metrics"]["val_rmse"] < history[0]["metrics"]["val_rmse"]
