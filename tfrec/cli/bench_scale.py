"""The ``scale`` runs of ``tfrec bench``: one train config on synthetic data of several sizes.

For each size the parent process writes (or reuses) the synthetic shard folder with ``tfrec data
synth`` in a child process, then runs a second child, ``python -m tfrec.cli.bench_scale JOB``,
that trains the config with the Trainer (streamed shard input, final block evaluation) and
exports the run with ``tfrec export`` (ScaNN variant). ``peak_rss_mb`` is that child's peak resident
set since it started (``VmHWM``, reported by the child at exit and polled by the parent), so every
size's memory is measured on its own.

Row ``<label>_<rows>`` metrics: ``peak_rss_mb``, ``train_examples_per_s`` (the trainer's examples
per second of ``model.fit``), ``seconds_<stage>`` (``synth`` when the data was written in this
run, ``data``: split scan and input set-up, ``build``, ``train``, ``save_model``, ``eval``: final
full-catalog evaluation, ``export``: ``tfrec export`` with ScaNN tuning, ``child_total``: the
child's wall time including its imports), and the final test metrics.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = ["child_main", "ensure_synth", "peak_rss_mb", "run_child", "run_scale", "synth_folder", "train_in_child"]


def peak_rss_mb(pid: Optional[int] = None) -> Optional[float]:
    """The peak resident set (``VmHWM`` of ``/proc/<pid>/status``) of a process since its ``exec``, in MiB;
    None where ``/proc`` is unavailable. (``ru_maxrss`` is not used: Linux carries the parent's
    resident set into a child's ``ru_maxrss`` at ``exec``, so it overstates a small child.)"""
    try:
        with open(f"/proc/{pid or 'self'}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def run_child(cmd: Sequence[str], poll_seconds: float = 0.1) -> Tuple[int, float, float]:
    """Runs ``cmd`` (its output goes to this process's) and returns (exit code, wall seconds, peak RSS MiB).

    The peak is the child's own ``VmHWM``, read every ``poll_seconds`` while it runs (a child that
    reports its own peak at exit, as :func:`child_main` does, is exact; a spike in the last poll
    interval can be missed otherwise).
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(cmd))
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, peak_rss_mb(proc.pid) or 0.0)
        time.sleep(poll_seconds)
    return proc.returncode, time.perf_counter() - t0, peak




def synth_folder(folder: Path, want: Dict[str, Any], args: Sequence[str], log=print) -> Dict[str, Any]:
    """The synthetic shard folder ``folder``: reused when its manifest's generator settings equal ``want``
    (which holds ``rows``), else written by ``tfrec data synth ARGS --out FOLDER`` in a child process.

    Returns:
      {"path", "reused", "seconds"?, "peak_rss_mb"?}.

    Raises:
      ValueError: the folder exists with other data (says what differs), or the synth child failed.
    """
    from tfrec.data.manifest import MANIFEST, read_manifest

    if (folder / MANIFEST).is_file():
        manifest = read_manifest(folder)
        have = manifest.source
        differs = [k for k in want if have.get(k) != want[k]]
        if differs:
            raise ValueError(f"{folder} holds another synthetic dataset ({', '.join(f'{k}={have.get(k)!r}' for k in differs)}"
                             f"; this run wants {', '.join(f'{k}={want[k]!r}' for k in differs)}); remove it or set "
                             "data_dir to another folder")
        if manifest.rows != want["rows"]:
            raise ValueError(f"{folder} holds {manifest.rows:,} rows, not {want['rows']:,} (written by an older tfrec "
                             "data synth that left shards empty); remove it to write it again")
        log(f"tfrec bench: reusing {folder} ({want['rows']:,} rows, same generator settings)")
        return {"path": folder, "reused": True}
    cmd = [sys.executable, "-m", "tfrec.cli.main", "data", "synth", *args, "--out", str(folder)]
    log(f"tfrec bench: {' '.join(['tfrec'] + cmd[3:])}")
    code, seconds, rss = run_child(cmd)
    if code != 0:
        raise ValueError(f"tfrec data synth ({folder.name}) exited with status {code} (its error is above)")
    return {"path": folder, "reused": False, "seconds": round(seconds, 3), "peak_rss_mb": round(rss, 1)}


def ensure_synth(scale, rows: int, log=print) -> Dict[str, Any]:
    """The ratings shard folder of ``rows`` interactions of a scale run (see :func:`synth_folder`)."""
    s = scale.synth
    want = {"like": s.like, "rows": rows, "seed": s.seed, "clusters": s.clusters}
    return synth_folder(Path(scale.data_dir) / f"{s.like}-{rows}", want,
                        ["--like", s.like, "--rows", str(rows), "--shards", str(s.shards), "--seed", str(s.seed),
                         "--clusters", str(s.clusters)], log)


def train_in_child(raw: Dict[str, Any], folder, source: str, export: Dict[str, Any], name: str,
                   log=print) -> Tuple[Dict[str, Any], float, float]:
    """Trains config ``raw`` on shard folder ``folder`` in a child process (``python -m
    tfrec.cli.bench_scale JOB``): (the child's result, its wall seconds, its peak RSS in MiB).

    Args:
      export: the job's export section (``{"enabled": False}``: no export).

    Raises:
      RuntimeError: the child failed (its error went to the console).
    """
    raw = json.loads(json.dumps(raw))
    raw.setdefault("data", {})["path"] = str(folder)
    with tempfile.TemporaryDirectory(prefix="tfrec-bench-child-") as tmp:
        job = {"config": raw, "run_dir": f"{tmp}/run", "base_path": f"{tmp}/models", "result": f"{tmp}/result.json",
               "export": export, "source": source}
        Path(tmp, "job.json").write_text(json.dumps(job))
        log(f"tfrec bench: {name}: training in a child process (peak memory measured alone)")
        code, seconds, rss = run_child([sys.executable, "-m", "tfrec.cli.bench_scale", f"{tmp}/job.json"])
        if code != 0 or not Path(job["result"]).is_file():
            raise RuntimeError(f"{name}: the training child exited with status {code} (its error is above)")
        return json.loads(Path(job["result"]).read_text()), seconds, rss


def _row(name: str, data: Dict[str, Any], result: Dict[str, Any], seconds: float, rss: float) -> Dict[str, Any]:
    timing = result["timing"]
    stages = {"data": "data_seconds", "build": "build_seconds", "train": "fit_seconds",
              "save_model": "export_seconds", "eval": "eval_seconds"}
    metrics: Dict[str, Any] = {"peak_rss_mb": round(max(rss, result.get("peak_rss_mb") or 0.0), 1),
                               "train_examples_per_s": result["train_examples_per_second"]}
    if not data["reused"]:
        metrics["seconds_synth"] = round(data["seconds"], 3)
    metrics.update({f"seconds_{k}": timing[v] for k, v in stages.items() if v in timing})
    if "export_seconds" in result:
        metrics["seconds_export"] = round(result["export_seconds"], 3)
    metrics["seconds_child_total"] = round(seconds, 3)
    metrics.update({k: v for k, v in result["final"].items() if isinstance(v, (int, float))})
    if result.get("scann"):
        metrics["scann_recall"] = result["scann"]["recall"]
    row = {"algorithm": name, "metrics": metrics, "train_seconds": timing.get("fit_seconds"),
           "examples_per_second": result["train_examples_per_second"],
           "data": {"fit_rows": result["train_examples_per_epoch"], "path": str(data["path"]),
                    "reused": data["reused"]}}
    if not data["reused"]:
        row["data"]["synth_peak_rss_mb"] = round(data["peak_rss_mb"], 1)
    return row


def run_scale(prepared, scale, seed: Optional[int], log=print) -> Tuple[List[Dict[str, Any]], List[Dict[str, str]]]:
    """Every size of a scale run: (rows, failures); a failed size is recorded and the next one runs."""
    rows, failures = [], []
    for n, name in zip(scale.rows, prepared.rows):
        try:
            data = ensure_synth(scale, n, log)
            raw = json.loads(json.dumps(prepared.raw))
            if seed is not None:
                raw.setdefault("training", {})["seed"] = int(seed)
            result, seconds, rss = train_in_child(raw, data["path"], prepared.source, scale.export.model_dump(),
                                                  name, log)
            rows.append(_row(name, data, result, seconds, rss))
            log(f"tfrec bench: {name}: peak RSS {rss:,.0f} MiB, {result['train_examples_per_second']:,.0f} examples/s")
        except Exception as e:  # noqa: BLE001 -- a failed size is recorded; the others go on
            failures.append({"algorithm": name, "error": f"{type(e).__name__}: {e}"})
    return rows, failures


def child_main(argv: Sequence[str]) -> int:
    """The child of :func:`run_scale`: ``python -m tfrec.cli.bench_scale JOB.json`` (train, evaluate, export)."""
    job = json.loads(Path(argv[0]).read_text())
    import tfrec  # noqa: F401  (tf_keras before TensorFlow)
    from tfrec.config import Locator, validate
    from tfrec.export.run import export_run
    from tfrec.training.config import Config
    from tfrec.training.trainer import Trainer

    config = validate(Config, job["config"], Locator(job["source"], {}, {}))
    result = Trainer(config, run_dir=job["run_dir"], overwrite=True).fit()
    out: Dict[str, Any] = {"timing": result.metrics["timing"], "final": result.final,
                           "train_examples_per_second": result.metrics["train_examples_per_second"],
                           "train_examples_per_epoch": result.metrics["train_examples_per_epoch"],
                           "peak_rss_after_training_mb": peak_rss_mb()}
    export = job["export"]
    if export["enabled"]:
        t0 = time.perf_counter()
        exported = export_run(job["run_dir"], job["base_path"], name="scale", k=export["k"], scann=export["scann"],
                              scann_recall=export["scann_recall"])
        out["export_seconds"] = time.perf_counter() - t0
        out["scann"] = exported.tuning
    out["peak_rss_mb"] = peak_rss_mb()
    Path(job["result"]).write_text(json.dumps(out, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
