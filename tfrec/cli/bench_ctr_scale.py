"""The ``ctr_scale`` runs of ``tfrec bench``: CTR models on Criteo-shaped synthetic data, planted vs null.

The parent process writes (or reuses, when the manifest holds the same generator settings) two
shard folders with ``tfrec data synth --like criteo`` in child processes: the planted data
(``synth.crosses`` feature-pair crosses) and the null data (``--crosses 0``, the same other
settings). Then every model trains on each folder in its own child process
(``python -m tfrec.cli.bench_scale JOB``: the Trainer with ``data.format: shards``, streamed rows,
final test AUC; no export), so each peak resident set is measured alone.

Row ``<model>`` metrics: ``auc_planted``, ``auc_null``, ``log_loss_planted``, ``log_loss_null``,
``peak_rss_mb`` (the larger of the two children's peaks), ``peak_rss_mb_planted`` / ``_null``,
``train_examples_per_s_planted`` / ``_null``, ``seconds_train_planted`` / ``_null``, and, beside
the baseline, ``auc_gain_planted`` (AUC minus the baseline's on the planted data) and
``auc_diff_null`` (likewise on the null data). The results file's ``goals`` says per model whether
the gain is at least ``min_gain`` and the null difference at most ``max_null_gap`` in size.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

from tfrec.cli.bench_scale import synth_folder, train_in_child

__all__ = ["ensure_ctr_synth", "merged_config", "run_ctr_scale"]

def merged_config(train: Dict[str, Any], model: Dict[str, Any]) -> Dict[str, Any]:
    """``train`` with the model's sections merged over it (nested mappings merged key by key)."""
    out = json.loads(json.dumps(train))
    for key, value in model.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged_config(out[key], value)
        else:
            out[key] = json.loads(json.dumps(value))
    return out


def ensure_ctr_synth(scale, crosses: int, log=print) -> Dict[str, Any]:
    """The Criteo-shaped shard folder with ``crosses`` planted crosses (see :func:`synth_folder`)."""
    s = scale.synth
    strength = s.cross_strength if crosses else 1.0
    want = {"like": "criteo", "rows": scale.rows, "seed": s.seed, "crosses": crosses, "cross_strength": strength,
            "max_cardinality": s.max_cardinality}
    name = (f"criteo-{scale.rows}-crosses{crosses}" + (f"x{strength:g}" if crosses else "")
            + f"-card{s.max_cardinality}-seed{s.seed}")
    return synth_folder(Path(scale.data_dir) / name, want,
                        ["--like", "criteo", "--rows", str(scale.rows), "--shards", str(s.shards), "--seed", str(s.seed),
                         "--crosses", str(crosses), "--cross-strength", str(strength),
                         "--max-cardinality", str(s.max_cardinality)], log)


def run_ctr_scale(prepared, scale, seed, log=print,
                  suffix: str = "") -> Tuple[List[Dict[str, Any]], List[Dict[str, str]], Dict[str, Any]]:
    """Every model of a ctr_scale run on the planted and the null data: (rows, failures, extras).

    ``prepared.rows`` are the model names plus ``suffix`` (the run's row suffix, e.g. " [1M]"). The
    extras (``data``, ``goals``) are results-file keys for a run without a suffix, and go under
    ``by_run[<suffix stripped>]`` for a run with one, so several sizes can share one results file.
    """
    rows, failures = [], []
    models = {name + suffix: name for name in scale.models}
    try:
        data = {"planted": ensure_ctr_synth(scale, scale.synth.crosses, log), "null": ensure_ctr_synth(scale, 0, log)}
    except Exception as e:  # noqa: BLE001 -- recorded as the failure of every row
        return [], [{"algorithm": n, "error": f"{type(e).__name__}: {e}"} for n in prepared.rows], {}
    for name in prepared.rows:
        raw = merged_config(prepared.raw, scale.models[models[name]])
        if seed is not None:
            raw.setdefault("training", {})["seed"] = int(seed)
        try:
            metrics: Dict[str, Any] = {}
            for which in ("planted", "null"):
                r, seconds, rss = train_in_child(raw, data[which]["path"], prepared.source, {"enabled": False},
                                                 f"{name} ({which} data)", log)
                r["peak_rss_mb"] = max(rss, r.get("peak_rss_mb") or 0.0)
                r["child_seconds"] = seconds
                metrics.update({f"auc_{which}": round(r["final"]["auc"], 6),
                                f"log_loss_{which}": round(r["final"]["log_loss"], 6),
                                f"peak_rss_mb_{which}": round(r["peak_rss_mb"], 1),
                                f"train_examples_per_s_{which}": r["train_examples_per_second"],
                                f"seconds_train_{which}": r["timing"].get("fit_seconds"),
                                f"seconds_child_{which}": round(r["child_seconds"], 3)})
                metrics[f"n_test_{which}"] = r["final"]["n_test"]
                metrics.setdefault("fit_rows", r["train_examples_per_epoch"])
            metrics["peak_rss_mb"] = max(metrics["peak_rss_mb_planted"], metrics["peak_rss_mb_null"])
            rows.append({"algorithm": name, "metrics": metrics,
                         "train_seconds": metrics["seconds_train_planted"],
                         "examples_per_second": metrics["train_examples_per_s_planted"]})
            log(f"tfrec bench: {name}: AUC planted {metrics['auc_planted']:.4f}, null {metrics['auc_null']:.4f}, "
                f"peak RSS {metrics['peak_rss_mb']:,.0f} MiB")
        except Exception as e:  # noqa: BLE001 -- a failed model is recorded; the others go on
            failures.append({"algorithm": name, "error": f"{type(e).__name__}: {e}"})
    extras = {"data": {k: {key: str(v) if key == "path" else v for key, v in d.items()} for k, d in data.items()}}
    base = next((r for r in rows if r["algorithm"] == scale.baseline + suffix), None)
    if base is not None:
        goals = {}
        for r in rows:
            m = r["metrics"]
            m["auc_gain_planted"] = round(m["auc_planted"] - base["metrics"]["auc_planted"], 6)
            m["auc_diff_null"] = round(m["auc_null"] - base["metrics"]["auc_null"], 6)
            if r is not base:
                gain, gap = m["auc_gain_planted"] >= scale.min_gain, abs(m["auc_diff_null"]) <= scale.max_null_gap
                goals[r["algorithm"]] = {"auc_gain_planted": m["auc_gain_planted"], "gain_goal": scale.min_gain,
                                         "gain_met": bool(gain), "auc_diff_null": m["auc_diff_null"],
                                         "null_goal": scale.max_null_gap, "null_met": bool(gap),
                                         "met": bool(gain and gap)}
        extras["goals"] = {"baseline": scale.baseline, "rows": scale.rows, "models": goals,
                           "all_met": all(g["met"] for g in goals.values()) if goals else False}
    if suffix:
        extras = {"by_run": {suffix.strip(): extras}}
    return rows, failures, extras
