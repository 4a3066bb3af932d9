"""PNG charts of run folders and results files (matplotlib, Agg backend: no display needed).

Three charts, each from a file the project writes:

* :func:`training_curves`: a run folder's ``epochs.jsonl`` (``tfrec train``): training and validation
  curves per metric, the best epoch marked.
* :func:`metrics_by_algorithm`: a results file (``tfrec evaluate``'s ``results.json`` or a
  ``benchmarks/results/*.json``): one panel per metric, one bar per algorithm.
* :func:`recall_vs_latency`: ``benchmarks/results/scann_1m.json``: recall@k against the median query
  latency of ScaNN and brute force, and the recall of each setting the ScaNN tuner tried.

:func:`charts_for` picks the charts that fit a path; ``tfrec report`` and
``benchmarks/make_report.py`` both call it.

Example:
    >>> import json, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> res = {"rows": [{"algorithm": "a", "metrics": {"rmse": 0.9}}, {"algorithm": "b", "metrics": {"rmse": 1.1}}]}
    >>> _ = (folder / "res.json").write_text(json.dumps(res))
    >>> [p.name for p in charts_for(folder / "res.json", folder / "charts")]
    ['res_metrics.png']
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

# quality metrics, in the order they are shown; the first ones found are charted
_PREFERRED = ("rmse", "mae", "auc", "log_loss", "logloss", "ndcg@", "hr@", "recall@", "precision@", "map@",
              "mrr@", "top_10_categorical_accuracy", "top_100_categorical_accuracy")
_LOWER_IS_BETTER = re.compile(r"(^|_)(rmse|mae|loss|log_loss|logloss|latency|seconds|ms)(_|$|@)")
_MAX_PANELS = 6
_DPI = 90


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "axes.spines.top": False,
                         "axes.spines.right": False})
    return plt


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` is better (rmse, mae, *loss, latency, seconds)."""
    return bool(_LOWER_IS_BETTER.search(metric.lower()))


def _rows(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The result rows of a benchmark file (``rows``) or of ``tfrec evaluate`` (``results``)."""
    rows = results.get("rows")
    if rows is None:
        rows = results.get("results")
    if not isinstance(rows, list):
        raise ValueError("not a results file: expected a 'rows' (benchmarks) or 'results' (tfrec evaluate) list "
                         f"of {{algorithm, metrics}}; found keys {sorted(results)[:10]}.")
    return [r for r in rows if isinstance(r, dict) and isinstance(r.get("metrics"), dict)]


def quality_metrics(rows: Sequence[Dict[str, Any]], limit: int = _MAX_PANELS) -> List[str]:
    """Quality metrics (rmse, auc, ndcg@k, ...; see ``_PREFERRED``) present in at least half the rows, in
    that order ([] when there are none)."""
    counts: Dict[str, int] = {}
    for r in rows:
        for m, v in r["metrics"].items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v:
                counts[m] = counts.get(m, 0) + 1
    common = [m for m, c in counts.items() if 2 * c >= len(rows)]
    chosen: List[str] = []
    for prefix in _PREFERRED:
        chosen += [m for m in common if (m == prefix or (prefix.endswith("@") and m.startswith(prefix)))
                   and m not in chosen]
    return chosen[:limit]


def choose_metrics(rows: Sequence[Dict[str, Any]], limit: int = _MAX_PANELS) -> List[str]:
    """The metrics worth charting: :func:`quality_metrics`, or without any the first numeric metrics
    present in at least half the rows."""
    chosen = quality_metrics(rows, limit)
    if chosen:
        return chosen
    common: List[str] = []
    for r in rows:
        for m, v in r["metrics"].items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and m not in common \
                    and 2 * sum(m in x["metrics"] for x in rows) >= len(rows):
                common.append(m)
    return common[:limit]


def result_rows(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The rows with metrics of a results file (benchmark ``rows`` or ``tfrec evaluate`` ``results``).

    Raises:
      ValueError: neither list is there.
    """
    return _rows(results)


def metrics_by_algorithm(results: Dict[str, Any], path: Path, metrics: Optional[Sequence[str]] = None,
                         title: Optional[str] = None) -> Path:
    """Bar chart of each algorithm's metrics, one panel per metric; writes ``path`` (PNG).

    Args:
      results: a parsed results file (``{"rows": [...]}`` or ``{"results": [...]}``, rows of
        ``{"algorithm", "metrics": {name: value}}``).
      path: the PNG to write.
      metrics: metric names to show; default :func:`choose_metrics`.
      title: figure title; default the file's ``benchmark`` and ``dataset``.

    Returns:
      ``path``.

    Raises:
      ValueError: no rows, or none of ``metrics`` in the rows.
    """
    rows = _rows(results)
    if not rows:
        raise ValueError("the results file has no rows with metrics to chart.")
    metrics = list(metrics) if metrics else choose_metrics(rows)
    missing = [m for m in metrics if not any(m in r["metrics"] for r in rows)]
    if not metrics or missing:
        known = sorted({m for r in rows for m in r["metrics"]})
        raise ValueError(f"metrics {missing or metrics} are not in the results; known metrics: {known}.")
    datasets = {r.get("dataset") for r in rows}
    labels = [str(r.get("algorithm", "?")) + (f" ({r['dataset']})" if len(datasets) > 1 and r.get("dataset") else "")
              for r in rows]
    plt = _pyplot()
    cols = min(len(metrics), 3)
    nrows = -(-len(metrics) // cols)
    height = max(1.6, 0.24 * len(rows) + 0.9)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.6 * cols + 1.6, height * nrows), squeeze=False, sharey=True)
    y = list(range(len(rows)))
    for i, metric in enumerate(metrics):
        ax = axes[i // cols][i % cols]
        values = [r["metrics"].get(metric) for r in rows]
        vals = [v if isinstance(v, (int, float)) and v == v else 0.0 for v in values]
        finite = [v for v, raw in zip(vals, values) if raw is not None]
        best = (min if lower_is_better(metric) else max)(finite) if finite else None
        colors = ["#2b6cb0" if v == best and raw is not None else "#a0aec0" for v, raw in zip(vals, values)]
        top = max(finite) if finite else 1.0
        low = min(finite) if finite else 0.0
        if finite and low > 0.5 * top:
            # close values (e.g. RMSE 0.918 .. 0.942): bars from 0 would hide the differences, so dots on a
            # zoomed axis instead
            pad = (top - low) * 0.15 or abs(top) * 0.01 or 0.01
            left, right = low - pad, top + 2.5 * pad
            shown = [yi for yi, raw in enumerate(values) if raw is not None]
            ax.hlines(shown, left, [vals[i] for i in shown], color="#e2e8f0", linewidth=1.0)
            ax.scatter([vals[i] for i in shown], shown, color=[colors[i] for i in shown], s=28, zorder=3)
            for yi, (v, raw) in enumerate(zip(vals, values)):
                ax.text(left + 0.3 * pad if raw is None else v + 0.3 * pad, yi, "n/a" if raw is None else f"{v:.4g}",
                        va="center", fontsize=7)
            ax.set_xlim(left, right)
        else:
            ax.barh(y, vals, color=colors, height=0.7)
            for yi, (v, raw) in enumerate(zip(vals, values)):
                ax.text(v + 0.01 * (top or 1.0), yi, "n/a" if raw is None else f"{v:.4g}", va="center", fontsize=7)
            ax.set_xlim(0, (top or 1.0) * 1.25)
        better = "lower" if lower_is_better(metric) else "higher"
        ax.set_title(f"{metric}\n({better} is better)", fontsize=9)
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.invert_yaxis()
        ax.tick_params(axis="x", labelsize=7)
    for j in range(len(metrics), nrows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.suptitle(title or " - ".join(str(results[k]) for k in ("benchmark", "dataset") if results.get(k))
                 or "metrics by algorithm", fontsize=10)
    return _save(fig, path)


def training_curves(records: Sequence[Dict[str, Any]], path: Path, title: str = "training curves") -> Path:
    """Training and validation curves of a run (``epochs.jsonl`` records); writes ``path`` (PNG).

    Args:
      records: ``epochs.jsonl`` lines: ``{"epoch": 0-based, "metrics": {"loss", "val_loss", ...},
        "best_epoch": ...}``.
      path: the PNG to write.
      title: figure title.

    Returns:
      ``path``.

    Raises:
      ValueError: no records.
    """
    if not records:
        raise ValueError("no epochs to chart: epochs.jsonl is empty (the run has not finished an epoch).")
    names: List[str] = []
    for r in records:
        for m in r.get("metrics", {}):
            base = m[4:] if m.startswith("val_") else m
            if base not in names and base != "learning_rate":
                names.append(base)
    names = sorted(names, key=lambda m: (m != "loss", names.index(m)))[:_MAX_PANELS]
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    cols = min(len(names), 3)
    nrows = -(-len(names) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.6 * cols + 0.4, 2.7 * nrows), squeeze=False)
    epochs = [r["epoch"] + 1 for r in records]
    best = records[-1].get("best_epoch")
    for i, base in enumerate(names):
        ax = axes[i // cols][i % cols]
        for key, label, style in ((base, "training", "-o"), ("val_" + base, "validation", "-s")):
            points = [(e, r["metrics"][key]) for e, r in zip(epochs, records) if key in r.get("metrics", {})]
            if points:
                ax.plot(*zip(*points), style, label=label, markersize=3, linewidth=1.4)
        if best is not None and best >= 0:
            ax.axvline(best + 1, color="#718096", linestyle="--", linewidth=0.8, label=f"best epoch {best + 1}")
        ax.set_title(base)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=7, frameon=False)
        ax.grid(alpha=0.3)
    for j in range(len(names), nrows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def recall_vs_latency(results: Dict[str, Any], path: Path) -> Path:
    """ScaNN against brute force: recall@k vs median latency, and the tuner's trials; writes ``path``.

    Args:
      results: ``benchmarks/results/scann_1m.json``: rows with ``metrics`` ``recall@<k>`` and
        ``latency_ms_p50``, an optional ``dataset`` per row and ``tuning_trials`` (``recall``,
        ``cost``, ``num_leaves_to_search``, ``num_reordering_candidates``) on the ScaNN rows.
      path: the PNG to write.

    Returns:
      ``path``.

    Raises:
      ValueError: no row has a recall@k and a latency_ms_p50.
    """
    rows = [r for r in _rows(results) if "latency_ms_p50" in r["metrics"]
            and any(m.startswith("recall@") for m in r["metrics"])]
    if not rows:
        raise ValueError("no row has recall@k and latency_ms_p50: not a ScaNN recall/latency results file.")
    recall_key = next(m for m in rows[0]["metrics"] if m.startswith("recall@"))
    plt = _pyplot()
    trials = [r for r in rows if r.get("tuning_trials")]
    fig, axes = plt.subplots(1, 2 if trials else 1, figsize=(10.5 if trials else 5.5, 3.6), squeeze=False)
    ax = axes[0][0]
    datasets = list(dict.fromkeys(str(r.get("dataset", "")) for r in rows))
    colors = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1"]
    for di, ds in enumerate(datasets):
        pts = [r for r in rows if str(r.get("dataset", "")) == ds]
        for r in pts:
            marker = "o" if "scann" in str(r.get("algorithm")) else "s"
            x, yv = r["metrics"]["latency_ms_p50"], r["metrics"][recall_key]
            ax.scatter([x], [yv], color=colors[di % len(colors)], marker=marker, s=40, zorder=3)
            ax.annotate(f"{r.get('algorithm')}\n{x:.3g} ms", (x, yv), textcoords="offset points", xytext=(6, -12),
                        fontsize=7)
        xs = [r["metrics"]["latency_ms_p50"] for r in pts]
        ys = [r["metrics"][recall_key] for r in pts]
        ax.plot(xs, ys, color=colors[di % len(colors)], linewidth=0.8, alpha=0.6, label=ds or None)
    ax.set_xscale("log")
    _plain_log_ticks(ax)
    ax.set_xlabel("median query latency (ms, log scale)")
    ax.set_ylabel(recall_key)
    ax.set_title(f"{recall_key} vs latency (o ScaNN, square brute force)")
    ax.grid(alpha=0.3, which="both")
    if any(datasets):
        ax.legend(fontsize=7, frameon=False, loc="lower right")
    if trials:
        ax2 = axes[0][1]
        target = results.get("target_recall")
        for di, r in enumerate(trials):
            t = r["tuning_trials"]
            ax2.scatter([x["cost"] for x in t], [x["recall"] for x in t], s=16, color=colors[di % len(colors)],
                        label=str(r.get("dataset", r.get("algorithm"))))
            chosen = r.get("settings", {})
            for x in t:
                if (x.get("num_leaves_to_search") == chosen.get("num_leaves_to_search")
                        and x.get("num_reordering_candidates") == chosen.get("num_reordering_candidates")):
                    ax2.scatter([x["cost"]], [x["recall"]], s=80, facecolors="none", edgecolors="black", zorder=3)
        if target:
            ax2.axhline(target, color="#718096", linestyle="--", linewidth=0.8, label=f"target {target}")
        ax2.set_xscale("log")
        _plain_log_ticks(ax2)
        ax2.set_xlabel("search cost (candidates scanned / 8 + exact re-scores, log scale)")
        ax2.set_ylabel("tuning recall")
        ax2.set_title("settings tried by the tuner (circled: chosen)")
        ax2.grid(alpha=0.3, which="both")
        ax2.legend(fontsize=7, frameon=False, loc="lower right")
    fig.suptitle(results.get("benchmark", "ScaNN") + ": recall vs latency", fontsize=10)
    return _save(fig, path)


def _plain_log_ticks(ax) -> None:
    """Log-scale x axis labelled at its major ticks only, as plain numbers (1, 10, 100; 0.5)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=_DPI, format="png", metadata={"Software": None})
    plt.close(fig)
    tmp.replace(path)
    return path


def charts_for(source: Path, out_dir: Path) -> List[Path]:
    """Writes the charts that fit ``source`` into ``out_dir`` and returns their paths.

    Args:
      source: a run folder (``epochs.jsonl`` -> training curves; ``results.json`` -> metrics), an
        ``epochs.jsonl``, or a results JSON file (metrics by algorithm; plus recall vs latency when its
        rows have ``latency_ms_p50`` and ``recall@k``).
      out_dir: folder of the PNGs.

    Raises:
      FileNotFoundError: ``source`` does not exist or a folder holds neither file.
      ValueError: a file is not valid JSON or has nothing to chart.
    """
    source, out_dir = Path(source), Path(out_dir)
    if not source.exists():
        raise FileNotFoundError(f"{source} not found: pass a run folder (with epochs.jsonl or results.json) or "
                                "a results .json file.")
    written: List[Path] = []
    if source.is_dir():
        epochs, results = source / "epochs.jsonl", source / "results.json"
        if not epochs.is_file() and not results.is_file():
            raise FileNotFoundError(f"{source} holds neither epochs.jsonl (tfrec train) nor results.json "
                                    "(tfrec evaluate); pass a run folder of one of them or a results .json file.")
        if epochs.is_file():
            written.append(training_curves(_read_jsonl(epochs), out_dir / "training_curves.png",
                                           title=f"training curves: {source.name}"))
        if results.is_file():
            written += charts_for(results, out_dir)
        return written
    if source.suffix == ".jsonl":
        return [training_curves(_read_jsonl(source), out_dir / "training_curves.png",
                                title=f"training curves: {source.parent.name}")]
    try:
        results = json.loads(source.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{source} is not valid JSON (line {e.lineno}: {e.msg}).") from None
    if not isinstance(results, dict):
        raise ValueError(f"{source} holds a JSON {type(results).__name__}, not a results object.")
    rows = _rows(results)
    if any("latency_ms_p50" in r["metrics"] for r in rows):
        written.append(recall_vs_latency(results, out_dir / f"{source.stem}_recall_latency.png"))
    else:
        written.append(metrics_by_algorithm(results, out_dir / f"{source.stem}_metrics.png"))
    return written


def _read_jsonl(path: Path) -> List[Dict[str, Any]]:
    out = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            if number < len(path.read_text().splitlines()):  # a torn last line is a killed write: skip it
                raise ValueError(f"{path}:{number} is not valid JSON.") from None
    return out
