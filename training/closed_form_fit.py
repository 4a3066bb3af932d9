"""``tfrec train`` of a family fitted in closed form (``task.closed_form``): no Keras loop.

The Trainer hands such a family here after it has checked and claimed the run folder. The family
prepares its data as a Keras family does (the same split, the same item vocabulary), fits itself on
the fit rows (``task.fit_closed_form(params, run)``) and is evaluated by the family's own final
evaluation (``task.evaluate``). The run folder gets ``config.yaml`` (written by the Trainer),
``vocab/`` and ``metrics.json`` (``history`` empty, ``closed_form: true``); there is no ``model/``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

__all__ = ["fit_closed_form", "refuse_closed_form_run"]


def fit_closed_form(config, task, out: Path, train_frame, log: Callable[[str], None]) -> Tuple[Dict[str, Any], Any, Any]:
    """Fits and evaluates a closed-form family; writes ``out/vocab`` and ``out/metrics.json``.

    Args:
      config: the run's checked config (``model.params`` merged over the family's defaults).
      task: the registered family (``closed_form`` True).
      out: the run folder (exists; ``config.yaml`` written).
      train_frame: training rows split off by the caller, or None (``task.prepare(config)``).
      log: progress-line function.

    Returns:
      (metrics.json contents, the fitted algorithm, the family's run data).
    """
    from tfrec.training.callbacks import atomic_write_text

    timing: Dict[str, float] = {}
    t_start = t0 = time.perf_counter()
    run = task.prepare(config) if train_frame is None else task.prepare_frame(config, train_frame)
    task.write_vocab(run, out / "vocab")
    timing["data_seconds"] = time.perf_counter() - t0
    log(f"data: {task.describe_data(run)}")
    t0, cpu0 = time.perf_counter(), time.process_time()
    algo = task.fit_closed_form(dict(config.model.params), run)
    timing["fit_seconds"] = time.perf_counter() - t0
    timing["fit_cpu_seconds"] = time.process_time() - cpu0
    log(f"fitted {task.name} in closed form in {timing['fit_seconds']:.2f}s (no Keras training)")
    final: Dict[str, Any] = {}
    source: Optional[str] = None
    if config.evaluation.enabled and train_frame is None:
        t0 = time.perf_counter()
        final = task.evaluate(algo, run, config)
        source = f"{type(task).__module__}.{type(task).__qualname__}.evaluate"
        timing["eval_seconds"] = time.perf_counter() - t0
        log("test: " + ", ".join(f"{k} {v:.4f}" for k, v in final.items() if isinstance(v, float)))
    timing["total_seconds"] = time.perf_counter() - t_start
    n_fit = len(run.fit)
    metrics = {
        "status": "completed",
        "model": task.name,
        "closed_form": True,
        "history": [],
        "epochs_completed": 0,
        "final": final,
        "final_source": source,
        "timing": {k: round(v, 3) for k, v in timing.items()},
        "train_examples_per_second": round(n_fit / max(timing["fit_seconds"], 1e-9), 1),
        "train_examples_per_epoch": n_fit,
        "notes": ["fitted in closed form by the algorithm itself: no epochs, no model/ folder"],
    }
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2, default=float) + "\n")
    log(f"done in {timing['total_seconds']:.1f}s; run folder {out}")
    return metrics, algo, run


def refuse_closed_form_run(run_dir: Path) -> None:
    """Raises ValueError when ``run_dir`` holds a closed-form run (no ``model/`` to rebuild or export)."""
    path = Path(run_dir) / "metrics.json"
    metrics = json.loads(path.read_text()) if path.is_file() else {}
    if metrics.get("closed_form"):
        raise ValueError(f"{run_dir} is a run of {metrics.get('model')!r}, fitted in closed form: it has no trained "
                         "model to rebuild or export (its test metrics are in metrics.json). Export a run of a "
                         "Keras family such as gru4rec.")
