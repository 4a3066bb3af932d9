"""A quiet console and progress in log files: ``tfrec train`` run as a user runs it, output sent to a file."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tfrec.progress import Progress, default_interval, format_duration

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "train_mf_ml100k.yaml"
NOISE = ("cuInit", "oneDNN", "cpu_feature_guard", "rendezvous", "absl::InitializeLog")


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "GRPC_VERBOSITY")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


@pytest.mark.slow
def test_train_to_a_file_is_quiet_and_reports_progress(ml100k_path, tmp_path):
    log = tmp_path / "log.txt"
    with open(log, "w") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "tfrec.cli.main", "train", "--config", str(CONFIG), "--data", str(ml100k_path),
             "--set", "training.epochs=1", "--run-dir", str(tmp_path / "run")],
            stdout=out, stderr=subprocess.PIPE, text=True, env=_env(TFREC_PROGRESS_SECONDS="0.01"), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert not [line for line in proc.stderr.splitlines() if any(n in line for n in NOISE)], proc.stderr
    lines = log.read_text().splitlines()
    progress = [line for line in lines if line.startswith("epoch 1/1: ")]
    assert progress, lines
    # step count, rates, ETA and the running loss, all on plain lines (no terminal control characters)
    assert all("steps (" in p and "examples/s" in p and "ETA " in p and ", loss " in p for p in progress)
    assert "\r" not in log.read_text() and "\x1b" not in log.read_text()


@pytest.mark.slow
def test_quickstart_console_has_no_native_log_lines(ml100k_path, tmp_path):
    # quickstart also builds a ScaNN index, whose absl lines TF_CPP_MIN_LOG_LEVEL does not govern
    proc = subprocess.run(
        [sys.executable, "-m", "tfrec.cli.main", "quickstart", "--data", str(ml100k_path), "--output",
         str(tmp_path / "qs"), "--epochs", "1", "--ranking-epochs", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(), timeout=600)
    assert proc.returncode == 0, proc.stdout
    assert not [line for line in proc.stdout.splitlines() if any(n in line for n in NOISE + ("I0000",))], proc.stdout
    assert "[5/5] top 10 for user 42" in proc.stdout


@pytest.mark.slow
def test_verbose_brings_tensorflow_logging_back(ml100k_path, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "tfrec.cli.main", "train", "--config", str(CONFIG),
         "--data", str(ml100k_path), "--set", "training.epochs=1", "--set", "evaluation.k=[]",
         "--run-dir", str(tmp_path / "run"), "--verbose"],
        capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert any(n in proc.stderr for n in NOISE), proc.stderr


def test_progress_in_a_file_writes_one_line_per_interval(monkeypatch):
    clock = iter(range(100))
    monkeypatch.setattr("tfrec.progress.time.monotonic", lambda: float(next(clock)))
    out = io.StringIO()
    p = Progress(total=20, desc="epoch 1/1", unit="steps", items_per_unit=10, stream=out, interval=5, tty=False)
    for _ in range(20):  # one step per (fake) second
        p.update(1, loss=0.5)
    p.close()
    lines = out.getvalue().splitlines()
    # starts at t=0; updates at t=1..20; a line when 5 s passed since the last one: t=5, 10, 15, 20
    assert [line.split(":")[1].split("/")[0].strip() for line in lines] == ["5", "10", "15", "20"]
    assert lines[0] == "epoch 1/1: 5/20 steps (25%), 1 steps/s, 10 examples/s, ETA 0:15, loss 0.5000"


def test_progress_on_a_terminal_redraws_one_bar_and_clears_it():
    out = io.StringIO()
    p = Progress(total=4, desc="x", stream=out, interval=100, tty=True)
    p._write(p.start + 1.0)
    p.update(4)
    p._write(p.start + 2.0)
    p.close()
    text = out.getvalue()
    assert text.count("\r\033[K") == 3 and "\n" not in text
    assert "[" + "=" * 24 + "]" in text


def test_progress_interval_env_is_checked(monkeypatch):
    monkeypatch.setenv("TFREC_PROGRESS_SECONDS", "2.5")
    assert default_interval() == 2.5
    monkeypatch.setenv("TFREC_PROGRESS_SECONDS", "soon")
    with pytest.raises(ValueError, match="TFREC_PROGRESS_SECONDS must be a number of seconds >= 0. Received: "
                                         "TFREC_PROGRESS_SECONDS='soon'"):
        default_interval()
    assert format_duration(3725.2) == "1:02:05" and format_duration(65) == "1:05"


def test_evaluate_reports_progress_per_algorithm_off_a_terminal(ml100k_path, tmp_path, capsys, monkeypatch):
    from tfrec.cli.main import main

    monkeypatch.setenv("TFREC_PROGRESS_SECONDS", "0")
    cfg = tmp_path / "bake.yaml"
    cfg.write_text("protocol: {name: msr_stratified}\nk: 5\nalgorithms: [random, popularity]\n")
    assert main(["evaluate", "--config", str(cfg), "--data", str(ml100k_path), "--run-dir", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in err if line.startswith("evaluate algorithms:")] == [
        "evaluate algorithms: 1/2 algorithms (50%)", "evaluate algorithms: 2/2 algorithms (100%)"]


def test_native_absl_info_lines_are_filtered_but_errors_and_python_output_pass(tmp_path):
    script = (
        "import os, sys\n"
        "from tfrec.cli.native_logs import NativeLogFilter\n"
        "with NativeLogFilter():\n"
        "    os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are written to '\n"
        "             b'STDERR\\n')\n"
        "    os.write(2, b'\\r[=====     ] 50%')\n"  # a progress bar's redraw: no newline
        "    os.write(2, b'\\rdone\\nI0000 00:00:1796521273.438758   27541 single_machine_factory_impl.h:178] AH')\n"
        "    os.write(2, b' training\\nE0000 00:00:1796521273.438758   27541 x.cc:12] a real error\\n')\n"
        "    print('python line', file=sys.stderr, flush=True)\n"
        "    os.write(2, b'no newline at the end')\n"
        "print('out')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, env=_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == (b"\r[=====     ] 50%\rdone\nE0000 00:00:1796521273.438758   27541 x.cc:12] a real error\n"
                           b"python line\nno newline at the end")
    assert proc.stdout == b"out\n"


def test_native_filter_still_forwards_the_last_words_of_a_crash(tmp_path):
    script = (
        "import os\n"
        "from tfrec.cli.native_logs import NativeLogFilter\n"
        "f = NativeLogFilter().__enter__()\n"
        "os.write(2, b'F0000 00:00:1.0   1 x.cc:1] Check failed: fatal\\n')\n"
        "os._exit(134)\n"  # dies without leaving the filter
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=_env(), timeout=60)
    assert proc.returncode == 134
    assert "Check failed: fatal" in proc.stderr


def test_progress_logger_writes_through_a_log_function():
    # the tuner runs trials through the trainer with a prefixing (or silent) log function
    import numpy as np

    import tfrec  # noqa: F401
    import tensorflow as tf

    from tfrec.training.callbacks import LogStream, ProgressLogger

    lines = []
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
    model.compile("sgd", "mse")
    x, y = np.ones((64, 2), np.float32), np.zeros((64, 1), np.float32)
    cb = ProgressLogger(batch_size=8, epochs=2, stream=LogStream(lambda m: lines.append("[trial 1] " + m)),
                        interval=0.0, tty=False)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[cb], validation_data=(x[:16], y[:16]))
    steps = [line for line in lines if line.startswith("[trial 1] epoch 2/2: ")]
    assert len(steps) == 8 and steps[-1].startswith("[trial 1] epoch 2/2: 8/8 steps (100%)")
    assert all(", loss " in line and "examples/s" in line for line in steps)
    # the validation pass reports too (its length is not known in advance: no percentage)
    val = [line for line in lines if line.startswith("[trial 1] epoch 2/2 validation: ")]
    assert [line.split(",")[0] for line in val] == ["[trial 1] epoch 2/2 validation: 1 steps",
                                                    "[trial 1] epoch 2/2 validation: 2 steps"]
