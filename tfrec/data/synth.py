"""Synthetic datasets at the shapes of real ones, with planted structure so model quality is checkable.

``tfrec data synth --like ml-25m|criteo|rsc15 --rows N`` writes Parquet (or CSV) shards and a
``manifest.json`` (:mod:`tfrec.data.manifest`). What each generator plants:

* ``ml-25m`` (ratings: user, item, rating, timestamp; the real set's 162,541 users and 59,047
  rated movies): power-law user activity and item popularity; users and items fall in
  ``clusters`` groups, and a user picks an item group with probability proportional to
  ``exp(sharpness * affinity[user group, item group])``; ratings are half stars around
  3.5 + affinity + user and item biases. A model that learns the groups beats popularity.
* ``criteo`` (ctr: label, I1..I13, C1..C26 with the Kaggle set's cardinalities, capped at
  ``max_cardinality``): power-law categorical ids, log-normal counts with missing values, and a
  label drawn from ``sigmoid(bias + first-order effects + crosses)``. ``crosses`` pairs of
  low-cardinality columns get a random effect per value pair (``cross_strength``); with
  ``crosses=0`` the label depends on each feature alone (the null data: crossing models gain nothing).
* ``rsc15`` (sessions: session, item, time; the YOOCHOOSE click log's 37,483 items): sessions of
  geometric length (at least 2 clicks); each next click is, with probability ``successor_p``, the
  previous item's planted successor, otherwise an item of the session's group (by popularity) or
  a popular item. A sequence model that learns the successors beats popularity.

Everything is drawn from one seeded ``numpy.random.Generator``: the same arguments give the same
files. Rows are generated one shard at a time (memory grows with the shard, not the dataset).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Iterator, Optional

import numpy as np
import pandas as pd

from tfrec.data.manifest import Manifest, Shard, shard_name, write_manifest
from tfrec.data.shard_writer import ROW_GROUP_ROWS

__all__ = ["LIKE", "SynthSpec", "synthesize"]

#: the real datasets' shapes (distinct users/items/sessions, rows)
LIKE: Dict[str, Dict[str, int]] = {
    "ml-25m": {"users": 162_541, "items": 59_047, "rows": 25_000_095},
    "criteo": {"rows": 45_840_617},
    "rsc15": {"items": 37_483, "rows": 31_637_239},
}

#: Criteo Kaggle display-ads categorical cardinalities (C1..C26)
CRITEO_CARDINALITY = (1460, 583, 10_131_227, 2_202_608, 305, 24, 12_517, 633, 3, 93_145, 5683, 8_351_593, 3194,
                      27, 14_992, 5_461_306, 10, 5652, 2173, 4, 7_046_547, 18, 15, 286_181, 105, 142_572)
#: columns (0-based C index) of the planted crosses, low-cardinality ones so every pair value is seen often
_CROSS_COLUMNS = ((5, 13), (8, 19), (16, 21), (4, 22), (0, 24), (1, 7))


@dataclass
class SynthSpec:
    """Settings of a synthetic dataset (defaults match the real set's shape; see the module docstring)."""

    like: str
    rows: int
    seed: int = 0
    clusters: int = 16
    sharpness: float = 3.0
    crosses: int = 4
    cross_strength: float = 1.0
    max_cardinality: int = 1_000_000
    successor_p: float = 0.5
    users: Optional[int] = None
    items: Optional[int] = None


def _powerlaw_weights(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """[n] probabilities ~ rank^-exponent, in a random order of the ids."""
    w = (np.arange(1, n + 1, dtype=np.float64)) ** -exponent
    return rng.permutation(w / w.sum())


def _sample(p: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` draws of ids with probabilities ``p`` (inverse CDF; faster than ``choice`` for big ``p``)."""
    cdf = np.cumsum(p)
    return np.minimum(np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right"), len(p) - 1)


def _user_counts(activity: np.ndarray, rows: int, cap: int) -> np.ndarray:
    """Ratings per user: about ``activity * rows``, at least 1 and at most ``cap`` (the items), adding up to
    at least ``rows`` where ``len(activity) * cap`` allows: users held at the cap pass their excess on to
    the others (the multiplier of ``activity`` grows until the counts cover ``rows``), so no shard is left empty."""
    def counts(scale: float) -> np.ndarray:
        return np.minimum(cap, np.maximum(1, np.floor(activity * scale))).astype(np.int64)

    out = counts(rows)
    if out.sum() >= rows or len(activity) * cap < rows:
        return out
    lo, hi = float(rows), float(rows) * 2
    while counts(hi).sum() < rows:
        lo, hi = hi, hi * 2
    for _ in range(64):  # bisection on the multiplier: the smallest that covers rows
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if counts(mid).sum() < rows else (lo, mid)
    return counts(hi)


def _ratings(spec: SynthSpec, shards: int, rng: np.random.Generator, meta: Dict[str, int]) -> Iterator[pd.DataFrame]:
    n_users = spec.users or LIKE["ml-25m"]["users"]
    n_items = spec.items or LIKE["ml-25m"]["items"]
    n_users = min(n_users, max(2, spec.rows // 5))  # small row counts: keep >= ~5 ratings per user on average
    n_items = min(n_items, max(2, spec.rows // 5))
    meta.update(user=n_users, item=n_items)
    activity = _powerlaw_weights(n_users, 0.9, rng)
    popularity = _powerlaw_weights(n_items, 1.0, rng)
    user_group = rng.integers(0, spec.clusters, n_users)
    item_group = rng.integers(0, spec.clusters, n_items)
    affinity = rng.normal(0.0, 1.0, (spec.clusters, spec.clusters))
    user_bias = rng.normal(0.0, 0.3, n_users)
    item_bias = rng.normal(0.0, 0.3, n_items)
    group_pick = np.exp(spec.sharpness * affinity)
    group_pick /= group_pick.sum(axis=1, keepdims=True)
    members = [np.flatnonzero(item_group == g) for g in range(spec.clusters)]
    within = [popularity[m] / popularity[m].sum() if len(m) else m for m in members]
    expected = (group_pick * affinity).sum(axis=1)  # mean affinity of each user group's picks: ratings centre at 3.5
    # ratings per user (>= 1, <= items), then users in contiguous blocks of about rows / shards ratings:
    # one block = one shard, so pairs of different shards never collide and de-duplication stays in a shard
    counts = _user_counts(activity, spec.rows, n_items)
    targets = np.diff(np.linspace(0, spec.rows, shards + 1).astype(np.int64))
    bounds = np.searchsorted(np.cumsum(counts), np.cumsum(targets)[:-1])
    for block, target in zip(np.split(np.arange(n_users), bounds), targets):
        target = min(int(target), len(block) * n_items)
        users = np.empty(0, dtype=np.int64)
        items = np.empty(0, dtype=np.int64)
        while len(users) < target and len(block):  # draw, de-duplicate, top up the shortfall
            need = int((target - len(users)) * 1.2) + 16
            extra_users = block[_sample(counts[block] / counts[block].sum(), need, rng)]
            groups = np.empty(need, dtype=np.int64)
            for g in range(spec.clusters):  # the item group of each rating, from the user's group
                idx = np.flatnonzero(user_group[extra_users] == g)
                groups[idx] = _sample(group_pick[g], len(idx), rng)
            extra_items = np.empty(need, dtype=np.int64)
            for g in range(spec.clusters):
                idx = np.flatnonzero(groups == g)
                pool, p = (members[g], within[g]) if len(members[g]) else (np.arange(n_items), popularity)
                extra_items[idx] = pool[_sample(p, len(idx), rng)]
            users = np.concatenate([users, extra_users])
            items = np.concatenate([items, extra_items])
            _, first = np.unique(users * n_items + items, return_index=True)
            first.sort()
            users, items = users[first], items[first]
        keep = np.sort(rng.permutation(len(users))[:target])
        users, items = users[keep], items[keep]
        aff = affinity[user_group[users], item_group[items]] - expected[user_group[users]]
        score = 3.5 + 0.8 * aff + user_bias[users] + item_bias[items] + rng.normal(0.0, 0.5, len(users))
        rating = np.clip(np.round(score * 2) / 2, 0.5, 5.0).astype(np.float32)
        timestamp = rng.integers(820_000_000, 1_570_000_000, len(users))
        yield pd.DataFrame({"user": users.astype(np.int32), "item": items.astype(np.int32), "rating": rating,
                            "timestamp": timestamp.astype(np.int64)})


def _ctr(spec: SynthSpec, shards: int, rng: np.random.Generator, meta: Dict[str, int]) -> Iterator[pd.DataFrame]:
    cards = [min(c, spec.max_cardinality) for c in CRITEO_CARDINALITY]
    meta.update({f"C{j + 1}": c for j, c in enumerate(cards)})
    first_order = [rng.normal(0.0, 0.3, min(c, 10_000)) for c in cards]  # hashed effect tables
    int_weight = rng.normal(0.0, 0.15, 13)
    pairs = _CROSS_COLUMNS[: spec.crosses]
    cross_tables = [rng.normal(0.0, spec.cross_strength, (cards[a], cards[b])) for a, b in pairs]
    per_shard = np.diff(np.linspace(0, spec.rows, shards + 1).astype(np.int64))
    bias = None
    for n in per_shard:
        cols = {}
        logit = np.zeros(n)
        for j, card in enumerate(cards):
            u = rng.random(n)
            ids = np.minimum(card - 1, np.floor((card + 1.0) ** u - 1.0)).astype(np.int64)  # log-uniform: power law
            cols[f"C{j + 1}"] = ids
            logit += first_order[j][ids % len(first_order[j])]
        for (a, b), table in zip(pairs, cross_tables):
            logit += table[cols[f"C{a + 1}"], cols[f"C{b + 1}"]]
        for j in range(13):
            counts = np.floor(rng.lognormal(1.0 + 0.2 * j, 1.2, n))
            logit += int_weight[j] * (np.log1p(counts) - 1.5)
            counts[rng.random(n) < 0.1 + 0.02 * j] = np.nan
            cols[f"I{j + 1}"] = counts.astype(np.float32)
        if bias is None:  # the first shard fixes the bias that gives the Kaggle set's CTR of about 0.256
            lo, hi = -30.0, 30.0
            for _ in range(50):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if np.mean(1.0 / (1.0 + np.exp(-(logit + mid)))) < 0.256 else (lo, mid)
            bias = (lo + hi) / 2
        label = (rng.random(n) < 1.0 / (1.0 + np.exp(-(logit + bias)))).astype(np.int8)
        frame = pd.DataFrame({"label": label})
        for j in range(13):
            frame[f"I{j + 1}"] = cols[f"I{j + 1}"]
        for j in range(26):
            frame[f"C{j + 1}"] = cols[f"C{j + 1}"].astype(np.int32)
        yield frame


def _sessions(spec: SynthSpec, shards: int, rng: np.random.Generator, meta: Dict[str, int]) -> Iterator[pd.DataFrame]:
    n_items = min(spec.items or LIKE["rsc15"]["items"], max(2, spec.rows // 5))
    meta.update(item=n_items)
    popularity = _powerlaw_weights(n_items, 1.0, rng)
    group = rng.integers(0, spec.clusters, n_items)
    members = [np.flatnonzero(group == g) for g in range(spec.clusters)]
    within = [popularity[m] / popularity[m].sum() for m in members]
    successor = rng.integers(0, n_items, n_items)
    per_shard = np.diff(np.linspace(0, spec.rows, shards + 1).astype(np.int64))
    next_session, clock = 0, 1_396_310_400.0  # 2014-04-01, the YOOCHOOSE log's first day
    for n in per_shard:
        lengths = 2 + rng.geometric(1 / 2.2, size=max(1, n // 3))
        lengths = lengths[np.cumsum(lengths) <= n]
        if lengths.sum() < n:
            lengths = np.append(lengths, n - lengths.sum())
        lengths = lengths[lengths > 0]
        sid = np.repeat(np.arange(next_session, next_session + len(lengths)), lengths)
        pos = np.arange(len(sid)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        session_group = rng.integers(0, spec.clusters, len(lengths))[sid - next_session]
        items = np.empty(len(sid), dtype=np.int64)
        draw = rng.random(len(sid))
        for i in range(int(lengths.max())):  # click i of every session at once
            at = np.flatnonzero(pos == i)
            if i == 0:
                items[at] = _sample(popularity, len(at), rng)
                continue
            follow = at[draw[at] < spec.successor_p]
            items[follow] = successor[items[follow - 1]]
            rest = at[draw[at] >= spec.successor_p]
            for g in range(spec.clusters):
                idx = rest[session_group[rest] == g]
                if len(idx) and len(members[g]):
                    items[idx] = members[g][_sample(within[g], len(idx), rng)]
                elif len(idx):
                    items[idx] = _sample(popularity, len(idx), rng)
        gaps = rng.exponential(60.0, len(sid))
        times = clock + np.cumsum(gaps)
        clock = float(times[-1]) + 1.0
        next_session += len(lengths)
        yield pd.DataFrame({"session": sid.astype(np.int64), "item": items.astype(np.int32), "time": times})


_GENERATORS = {"ml-25m": ("ratings", _ratings), "criteo": ("ctr", _ctr), "rsc15": ("sessions", _sessions)}


def synthesize(spec: SynthSpec, out, shards: int = 8, file_format: str = "parquet", log=None) -> Manifest:
    """Writes the synthetic dataset ``spec`` into folder ``out`` as shards plus ``manifest.json``.

    Args:
      spec: what to generate (``spec.like`` one of ``LIKE``; ``spec.rows`` >= 1).
      out: output folder; created; must be empty or absent (an earlier run's files are never mixed in).
      shards: number of shard files (the ratings generator may write fewer: it splits by user blocks).
      file_format: "parquet" (pyarrow) or "csv".
      log: function of one line per shard written, or None.

    Returns:
      The written :class:`Manifest`.

    Raises:
      ValueError: an unknown ``like`` or format, rows < 1, shards < 1, or a non-empty ``out``.
    """
    if spec.like not in _GENERATORS:
        raise ValueError(f"--like must be one of {', '.join(_GENERATORS)}, got {spec.like!r}")
    if file_format not in ("parquet", "csv"):
        raise ValueError(f"format must be 'parquet' or 'csv', got {file_format!r}")
    if spec.rows < 1 or shards < 1:
        raise ValueError(f"rows and shards must be >= 1, got rows={spec.rows}, shards={shards}")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"output folder {out} is not empty; choose a new folder (shards are never mixed)")
    out.mkdir(parents=True, exist_ok=True)
    kind, generate = _GENERATORS[spec.like]
    rng = np.random.default_rng(spec.seed)
    shards = min(shards, spec.rows)
    written, schema, cardinality = [], {}, {}
    for i, frame in enumerate(generate(spec, shards, rng, cardinality)):
        name = shard_name(i, shards, file_format)
        tmp = out / f".{name}.tmp"
        if file_format == "parquet":
            frame.to_parquet(tmp, index=False, row_group_size=ROW_GROUP_ROWS)
        else:
            frame.to_csv(tmp, index=False)
        os.replace(tmp, out / name)
        written.append(Shard(name, len(frame), (out / name).stat().st_size))
        schema = {c: str(frame[c].dtype) for c in frame.columns}
        if log:
            log(f"wrote {out / name} ({len(frame):,} rows)")
    source = {"generator": "tfrec data synth", **asdict(spec)}
    manifest = Manifest(out, kind, file_format, schema, written, {}, cardinality, source)
    write_manifest(manifest)
    return manifest
