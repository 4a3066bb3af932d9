"""The before/after section of BENCHMARKS.md: headline numbers before and after the one-spine move.

"Before" is ``benchmarks/history_before_one_spine/<file>.json`` (each benchmark's own script); "after"
is ``benchmarks/results/<file>.json`` (``tfrec bench configs/bench/<file>.yaml``). The old search
histories kept in that folder (``*_tuning.json``) get no table: their successors are the searches of
``tfrec bench configs/bench/<file>.yaml`` (run kind ``tune``), shown in their own sections. The headlines and
their goals are listed in ``benchmarks/headlines.yaml``. Used by ``benchmarks/make_report.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

#: quality metrics compared in the per-file tables (first ones present in both files are shown)
COMPARED = ("rmse", "mae", "auc", "log_loss", "ndcg@10", "hr@10", "recall@20", "mrr@20",
            "top_100_categorical_accuracy", "test_rmse")


def _load(path: Path) -> Optional[Dict[str, Any]]:
    return json.loads(path.read_text()) if path.is_file() else None


def _row(res: Optional[Dict[str, Any]], name: str) -> Optional[Dict[str, Any]]:
    for r in (res or {}).get("rows", []):
        if r.get("algorithm") == name:
            return r
    return None


def _metric(res, row: str, metric: str) -> Optional[float]:
    r = _row(res, row)
    v = None if r is None else r.get("metrics", {}).get(metric)
    return None if v is None else float(v)


def _f(v: Optional[float]) -> str:
    return "missing" if v is None else f"{v:.4f}"


def _goal(h: Dict[str, Any]) -> str:
    if "at_least" in h:
        return f">= {h['at_least']}"
    if "at_most" in h:
        return f"<= {h['at_most']}"
    return f"< row '{h['below_row']}'"


def _met(h: Dict[str, Any], value: Optional[float], res) -> str:
    if value is None:
        return "no result"
    if "at_least" in h:
        ok = value >= h["at_least"]
    elif "at_most" in h:
        ok = value <= h["at_most"]
    else:
        other = _metric(res, h["below_row"], h["metric"])
        if other is None:
            return "no result"
        ok = value < other
    return "yes" if ok else "**no**"


def section(results: Path, before_dir: Path, spec_path: Path) -> str:
    """The markdown of the before/after section (headline table, then one comparison table per file)."""
    spec = yaml.safe_load(spec_path.read_text())
    lines: List[str] = [
        "## Before and after the one-spine move", "",
        "Before: each benchmark's own script (`benchmarks/history_before_one_spine/`, a snapshot of the old results files). After: the same benchmark as "
        "a config run by `tfrec bench configs/bench/<file>.yaml` through the registry and Trainer that "
        "`tfrec train` and `tfrec evaluate` use (`benchmarks/results/<file>.json`). Goals and rows: "
        "`benchmarks/headlines.yaml`.", "",
        "| headline | file | row | metric | goal | before | after | after command | goal met (after) |",
        "|---|---|---|---|---|---|---|---|---|"]
    for h in spec["headlines"]:
        before = _load(before_dir / f"{h['file']}.json")
        after = _load(results / f"{h['file']}.json")
        b = _metric(before, h.get("before_row", h["row"]), h.get("before_metric", h["metric"]))
        a = _metric(after, h["row"], h["metric"])
        command = (after or {}).get("command", "")
        met = _met(h, a, after) if command.startswith("tfrec ") else "not through `tfrec` yet"
        lines.append(f"| {h['name']} | {h['file']} | {h['row']} | {h['metric']} | {_goal(h)} | {_f(b)} | {_f(a)} "
                     f"| `{command}` | {met} |")
    lines.append("")
    for before_file in sorted(before_dir.glob("*.json")):
        if before_file.stem.endswith("_tuning"):  # search histories: kept as a record, no headline to compare
            continue
        before = _load(before_file)
        after = _load(results / before_file.name)
        if after is None:
            lines += [f"### {before_file.stem}: no after results file", ""]
            continue
        renames = (spec.get("renames") or {}).get(before_file.stem, {})
        pairs = [(r["algorithm"], renames.get(r["algorithm"], r["algorithm"])) for r in before.get("rows", [])]
        pairs = [(b, a) for b, a in pairs if _row(after, a) is not None]
        metrics = [m for m in COMPARED
                   if any(_metric(before, b, m) is not None and _metric(after, a, m) is not None for b, a in pairs)]
        lines += [f"### {before_file.stem}", "", f"after: `{after.get('command', '')}`", ""]
        if not pairs or not metrics:
            lines += ["(no row and metric in common)", ""]
            continue
        lines.append("| row | " + " | ".join(f"{m} before | {m} after" for m in metrics) + " |")
        lines.append("|---|" + "---|---|" * len(metrics))
        for b, a in pairs:
            cells = [a if a == b else f"{a} (was {b})"]
            for m in metrics:
                cells += [_f(_metric(before, b, m)).replace("missing", ""), _f(_metric(after, a, m)).replace("missing", "")]
            lines.append("| " + " | ".join(cells) + " |")
        dropped = [r["algorithm"] for r in before.get("rows", [])
                   if _row(after, renames.get(r["algorithm"], r["algorithm"])) is None]
        if dropped:
            lines.append("")
            lines.append(f"rows of the before file not in the after file: {', '.join(dropped)}")
        lines.append("")
    return "\n".join(lines) + "\n"
