"""ScaNN indexes whose settings are tuned until recall@k against brute force reaches a target.

ScaNN's defaults give poor recall (about 0.3 recall@10 on 1M x 32-d with TFRS's 100 leaves / search
10 / no reordering), so :func:`tune_scann` builds one tree (``num_leaves`` about sqrt(N)) and sweeps
the two search-time knobs, ``num_leaves_to_search`` and ``num_reordering_candidates``, measuring
recall@k of each setting on held-out queries against exact (brute-force) top-k. Of the settings
that reach the target it keeps the one with the lowest measured single-query latency.

Example:
  >>> import numpy as np
  >>> rng = np.random.default_rng(0)
  >>> items = rng.normal(size=(3000, 8)).astype("float32")
  >>> queries = rng.normal(size=(100, 8)).astype("float32")
  >>> searcher, report = tune_scann(items, queries, k=5, target_recall=0.9, latency_queries=20, log=None)
  >>> report.recall >= 0.9
  True
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

_SCANN_HINT = ("ScaNN is not installed in this environment; install it with `pip install scann[tf]` "
               "(the build matching TensorFlow 2.20 is scann 1.4.2) or export without ScaNN (--no-scann).")


def require_scann():
    """Imports and returns ``scann.scann_ops.py.scann_ops`` (registers the ``Scann>`` TF ops).

    Raises:
      ImportError: ScaNN is missing, with the command that installs it.
    """
    try:
        from scann.scann_ops.py import scann_ops
    except ImportError as e:  # pragma: no cover - scann is a dependency of tfrec
        raise ImportError(_SCANN_HINT) from e
    return scann_ops


@dataclasses.dataclass
class ScannSettings:
    """Settings of one ScaNN index.

    Attributes:
      num_leaves: partitions of the k-means tree; 0 means no tree (asymmetric hashing over every
        candidate, then exact re-scoring), used for small catalogs.
      num_leaves_to_search: partitions searched per query (ignored when ``num_leaves`` is 0).
      num_reordering_candidates: candidates re-scored exactly after asymmetric hashing.
      dimensions_per_block: dimensions per asymmetric-hashing block.
      anisotropic_quantization_threshold: ScaNN's anisotropic loss threshold (0.2 is ScaNN's advice
        for dot product).
      training_sample_size: candidates sampled to train the tree and the hashing codebooks.
    """

    num_leaves: int
    num_leaves_to_search: int
    num_reordering_candidates: int
    dimensions_per_block: int = 2
    anisotropic_quantization_threshold: float = 0.2
    training_sample_size: int = 100_000

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class ScannTuning:
    """What :func:`tune_scann` chose and measured.

    Attributes:
      settings: the chosen :class:`ScannSettings`.
      k: neighbours per query the recall was measured at.
      target_recall: the requested recall@k.
      recall: recall@k of the chosen settings on the tuning queries.
      reached_target: ``recall >= target_recall``.
      scann_latency_ms: median single-query latency of the ScaNN TF op (inside a ``tf.function``).
      brute_force_latency_ms: median single-query latency of exact matmul + top-k, measured the same way.
      speedup: ``brute_force_latency_ms / scann_latency_ms``.
      build_seconds: time to build (train) the index.
      tuning_seconds: total time of the search, the build included.
      num_candidates, dim, num_queries: sizes of the problem.
      trials: every setting tried, with its recall (and latency where measured).
    """

    settings: ScannSettings
    k: int
    target_recall: float
    recall: float
    reached_target: bool
    scann_latency_ms: float
    brute_force_latency_ms: float
    speedup: float
    build_seconds: float
    tuning_seconds: float
    num_candidates: int
    dim: int
    num_queries: int
    trials: List[Dict[str, Any]]

    def to_dict(self) -> Dict[str, Any]:
        out = dataclasses.asdict(self)
        out["settings"] = self.settings.to_dict()
        return out

    def summary(self) -> str:
        s = self.settings
        tree = (f"{s.num_leaves} leaves, search {s.num_leaves_to_search}" if s.num_leaves else "no tree")
        return (f"ScaNN ({tree}, reorder {s.num_reordering_candidates}): recall@{self.k} "
                f"{self.recall:.3f} (target {self.target_recall}), {self.scann_latency_ms:.3f} ms/query vs "
                f"{self.brute_force_latency_ms:.3f} ms brute force ({self.speedup:.1f}x), "
                f"built in {self.build_seconds:.1f} s")


def default_num_leaves(num_candidates: int) -> int:
    """About sqrt(N) leaves (1000 for 1M candidates); 0 (no tree) under 5,000 candidates."""
    if num_candidates < 5000:
        return 0
    return int(min(4000, max(16, round(math.sqrt(num_candidates)))))


def build_scann(embeddings: np.ndarray, k: int, settings: ScannSettings):
    """Builds a ScaNN TF searcher (``ScannSearcher``) over ``embeddings`` with dot-product scoring.

    Args:
      embeddings: [num_candidates, dim] float32 candidate embeddings.
      k: default neighbours per query.
      settings: the index settings.

    Returns:
      The searcher; ``searcher.serialize_to_module()`` gives the trackable state to save.
    """
    scann_ops = require_scann()
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = emb.shape[0]
    sample = int(min(n, settings.training_sample_size))
    builder = scann_ops.builder(emb, int(min(k, n)), "dot_product")
    if settings.num_leaves:
        min_partition = int(max(1, min(50, n // (4 * settings.num_leaves))))
        builder = builder.tree(num_leaves=settings.num_leaves, num_leaves_to_search=settings.num_leaves_to_search,
                               training_sample_size=sample, min_partition_size=min_partition)
    builder = builder.score_ah(settings.dimensions_per_block,
                               anisotropic_quantization_threshold=settings.anisotropic_quantization_threshold,
                               training_sample_size=sample)
    builder = builder.reorder(int(min(n, max(k, settings.num_reordering_candidates))))
    return builder.build()


def exact_top_k(embeddings: np.ndarray, queries: np.ndarray, k: int, chunk: int = 256) -> np.ndarray:
    """[num_queries, k] indices of the exact top-k dot products (best first), computed in chunks."""
    emb = np.asarray(embeddings, dtype=np.float32)
    k = min(k, emb.shape[0])
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        scores = np.asarray(queries[start:start + chunk], dtype=np.float32) @ emb.T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(scores, part, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        out[start:start + chunk] = np.take_along_axis(part, order, axis=1)
    return out


def recall_at_k(retrieved: np.ndarray, exact: np.ndarray) -> float:
    """Mean fraction of each row of ``exact`` found in the same row of ``retrieved``."""
    exact = np.asarray(exact)
    retrieved = np.asarray(retrieved)
    hits = sum(len(set(r.tolist()) & set(e.tolist())) for r, e in zip(retrieved, exact))
    return float(hits) / float(exact.size) if exact.size else 1.0


def median_latency_ms(fn: Callable[[np.ndarray], Any], queries: np.ndarray, n: int) -> float:
    """Median wall time in ms of ``fn(query[None])`` over ``n`` single queries (after 5 warm-up calls)."""
    queries = np.asarray(queries, dtype=np.float32)
    for i in range(min(5, len(queries))):
        fn(queries[i:i + 1])
    times = []
    for i in range(n):
        q = queries[i % len(queries): i % len(queries) + 1]
        t0 = time.perf_counter()
        fn(q)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1000.0)


def scann_search_fn(searcher, k: int, leaves_to_search: int, reorder: int):
    """A ``tf.function`` running one ScaNN batched search with the given knobs (for latency runs)."""
    import tensorflow as tf

    @tf.function
    def search(q):
        r = searcher.search_batched(q, final_num_neighbors=k, pre_reorder_num_neighbors=reorder,
                                    leaves_to_search=leaves_to_search)
        return r.indices, r.distances

    return lambda q: search(tf.constant(q))


def brute_force_search_fn(embeddings: np.ndarray, k: int):
    """A ``tf.function`` computing exact top-k by matmul (the latency baseline)."""
    import tensorflow as tf

    table = tf.constant(np.asarray(embeddings, dtype=np.float32))
    k = int(min(k, embeddings.shape[0]))

    @tf.function
    def search(q):
        return tf.math.top_k(tf.linalg.matmul(q, table, transpose_b=True), k=k)

    return lambda q: search(tf.constant(q))


def _grid(settings_leaves: int, n: int, k: int) -> Tuple[List[int], List[int]]:
    if settings_leaves:
        fractions = (0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 0.35, 0.5, 1.0)
        leaves = sorted({int(min(settings_leaves, max(1, round(settings_leaves * f)))) for f in fractions})
    else:
        leaves = [-1]
    reorders = sorted({int(min(n, max(k, round(k * m)))) for m in (2, 4, 10, 20, 50, 100)})
    return leaves, reorders


def tune_scann(embeddings: np.ndarray, queries: np.ndarray, k: int = 10, target_recall: float = 0.95, *,
               num_leaves: Optional[int] = None, latency_queries: int = 200, max_eval_queries: int = 1000,
               measure_candidates: int = 3, margin: float = 0.01, seed: int = 0,
               log: Optional[Callable[[str], None]] = print) -> Tuple[Any, ScannTuning]:
    """Builds a ScaNN index over ``embeddings`` and picks search settings reaching ``target_recall``.

    Args:
      embeddings: [num_candidates, dim] float32 candidate embeddings.
      queries: [num_queries, dim] float32 held-out query embeddings (e.g. of test users); recall is
        measured on at most ``max_eval_queries`` of them.
      k: neighbours per query (the exported top-k).
      target_recall: recall@k against brute force to reach, in (0, 1].
      num_leaves: tree size; default :func:`default_num_leaves` (about sqrt(N); no tree under 5,000).
      latency_queries: single queries timed per measured setting.
      max_eval_queries: queries used for recall.
      measure_candidates: how many of the cheapest settings that reach the target get their
        latency measured; the fastest is kept.
      margin: settings must reach ``target_recall + margin`` (at most 1) on the tuning queries, so
        that recall on other queries of the same distribution stays above the target.
      seed: seed of the query subsample.
      log: called with progress lines; None for silence.

    Returns:
      ``(searcher, report)``: the built ScaNN TF searcher and a :class:`ScannTuning`. When no setting
      reaches the target, the most accurate one is returned with ``reached_target=False``.

    Raises:
      ValueError: malformed shapes or a target outside (0, 1].
    """
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    q = np.ascontiguousarray(queries, dtype=np.float32)
    if emb.ndim != 2 or q.ndim != 2 or emb.shape[1] != q.shape[1] or len(emb) == 0 or len(q) == 0:
        raise ValueError(f"tune_scann expects non-empty [N, d] candidates and [Q, d] queries of the same d. "
                         f"Received: embeddings {emb.shape}, queries {q.shape}")
    if not 0.0 < float(target_recall) <= 1.0:
        raise ValueError(f"Received an invalid target_recall, expected a value in (0, 1]. Received: {target_recall}")
    if k < 1:
        raise ValueError(f"k must be a positive integer. Received: k={k}")
    say = log or (lambda _s: None)
    threshold = min(1.0, float(target_recall) + max(0.0, float(margin)))
    n, dim = emb.shape
    k = int(min(k, n))
    t_start = time.perf_counter()
    rng = np.random.default_rng(seed)
    if len(q) > max_eval_queries:
        q = q[rng.choice(len(q), max_eval_queries, replace=False)]
    exact = exact_top_k(emb, q, k)
    leaves = default_num_leaves(n) if num_leaves is None else int(num_leaves)
    if leaves < 0 or leaves > n:
        raise ValueError(f"num_leaves must be in [0, {n}] (number of candidates). Received: num_leaves={num_leaves}")
    leaves_grid, reorder_grid = _grid(leaves, n, k)
    build_settings = ScannSettings(num_leaves=leaves, num_leaves_to_search=max(1, leaves_grid[len(leaves_grid) // 2]),
                                   num_reordering_candidates=reorder_grid[-1])
    t0 = time.perf_counter()
    searcher = build_scann(emb, k, build_settings)
    build_seconds = time.perf_counter() - t0
    say(f"ScaNN: built {'a ' + str(leaves) + '-leaf tree' if leaves else 'a tree-less index'} over {n} x {dim} "
        f"in {build_seconds:.1f} s; tuning on {len(q)} queries for recall@{k} >= {target_recall} "
        f"(+{threshold - target_recall:.3f} margin)")

    trials: List[Dict[str, Any]] = []
    passing: List[Dict[str, Any]] = []
    levels_with_pass = 0
    for lts in leaves_grid:
        passed_here = False
        for r in reorder_grid:
            res = searcher.search_batched_parallel(q, final_num_neighbors=k, pre_reorder_num_neighbors=r,
                                                   leaves_to_search=lts)
            rec = recall_at_k(res.indices.numpy(), exact)
            # cost proxy: hashed candidates scanned (cheap, ~1/8 of an exact dot) + exact re-scores
            scanned = n * (lts / leaves if leaves else 1.0)
            trial = {"num_leaves_to_search": lts, "num_reordering_candidates": r, "recall": round(rec, 5),
                     "cost": scanned / 8.0 + r}
            trials.append(trial)
            if rec >= threshold:
                passing.append(trial)
                passed_here = True
                break
        if passed_here:
            levels_with_pass += 1
            if passing[-1]["num_reordering_candidates"] == reorder_grid[0] or levels_with_pass >= 2:
                break
    if passing:
        candidates = sorted(passing, key=lambda t: t["cost"])[:max(1, measure_candidates)]
    else:
        candidates = [max(trials, key=lambda t: (t["recall"], -t["cost"]))]
        say(f"ScaNN: no setting reached recall@{k} >= {threshold:.3f}; best was {candidates[0]['recall']:.3f}")
    for t in candidates:
        fn = scann_search_fn(searcher, k, t["num_leaves_to_search"], t["num_reordering_candidates"])
        t["latency_ms"] = round(median_latency_ms(fn, q, latency_queries), 4)
    best = min(candidates, key=lambda t: t["latency_ms"])
    bf_ms = median_latency_ms(brute_force_search_fn(emb, k), q, latency_queries)
    chosen = dataclasses.replace(build_settings, num_leaves_to_search=int(best["num_leaves_to_search"]) if leaves else 0,
                                 num_reordering_candidates=int(best["num_reordering_candidates"]))
    report = ScannTuning(
        settings=chosen, k=k, target_recall=float(target_recall), recall=float(best["recall"]),
        reached_target=bool(best["recall"] >= target_recall), scann_latency_ms=float(best["latency_ms"]),
        brute_force_latency_ms=round(bf_ms, 4), speedup=round(bf_ms / max(best["latency_ms"], 1e-9), 2),
        build_seconds=round(build_seconds, 3), tuning_seconds=round(time.perf_counter() - t_start, 3),
        num_candidates=int(n), dim=int(dim), num_queries=int(len(q)), trials=trials)
    say(report.summary())
    return searcher, report
