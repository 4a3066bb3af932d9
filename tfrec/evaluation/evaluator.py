"""The evaluator: several algorithms, one protocol, one table with every metric that applies.

In the spirit of the classic ``Evaluator`` / ``EvaluatedAlgorithm`` / ``EvaluationData`` /
``RecommenderMetrics`` course framework, rebuilt to be leakage-free by construction: algorithms
receive only :class:`TrainingData` (built from the training split); test interactions are used
only to score the algorithm's output.

Example:

>>> from tfrec.data import load_movielens
>>> from tfrec.evaluation import Evaluator
>>> from tfrec.training import build_algorithm
>>> ml = load_movielens("../shared/data/ml-100k")                       # doctest: +SKIP
>>> ev = Evaluator(ml.ratings, protocol="msr_stratified", k=10)          # doctest: +SKIP
>>> table = ev.run([build_algorithm("popularity"), build_algorithm("mf")])  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tfrec import metrics as M
from tfrec.data.training_data import OOV_INDEX, Columns, TrainingData
from tfrec.evaluation.blocks import cosine_pair_similarity
from tfrec.evaluation.protocols import Protocol
from tfrec.recommenders.base import Algorithm

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class EvaluationData:
    """One fold of a protocol: the training data algorithms see, and the held-out test.

    Attributes:
      train: :class:`TrainingData` of the training split (the only thing ``fit`` gets).
      test: test rows with int32 ``user_idx`` / ``item_idx`` columns (``OOV_INDEX`` for ids not in
        the training vocabulary).
      negatives: [n_test, N] item indices of sampled negatives (``ncf`` protocol), else None.
      relevant: [n_users, n_items] CSR matrix of test interactions (relevant items) of known
        users and items.
      num_relevant: [n_users] relevant test items per user, counting items unknown to training
        (they can never be recommended, and still count as misses).
    """

    train: TrainingData
    test: pd.DataFrame
    negatives: Optional[np.ndarray]
    relevant: sp.csr_matrix
    num_relevant: np.ndarray

    @classmethod
    def build(cls, train_frame: pd.DataFrame, test_frame: pd.DataFrame, columns: Columns,
              negatives=None, items=None, users=None, relevance_threshold=None) -> "EvaluationData":
        train = TrainingData(train_frame, columns, items=items, users=users)
        test = test_frame.copy()
        test["user_idx"] = train.user_index(test[columns.user])
        test["item_idx"] = train.item_index(test[columns.item])
        test = test.reset_index(drop=True)
        rel = test
        if relevance_threshold is not None:
            if columns.rating is None or columns.rating not in test.columns:
                raise ValueError("relevance_threshold needs a rating column in the test data.")
            rel = test[test[columns.rating] >= relevance_threshold]
        rel_known_user = rel[rel["user_idx"] != OOV_INDEX]
        num_relevant = np.bincount(rel_known_user["user_idx"], minlength=train.n_users)
        known = rel_known_user[rel_known_user["item_idx"] != OOV_INDEX]
        relevant = sp.csr_matrix(
            (np.ones(len(known), np.float32), (known["user_idx"].to_numpy(), known["item_idx"].to_numpy())),
            shape=(train.n_users, train.n_items))
        relevant.data[:] = 1.0
        neg_idx = None if negatives is None else train.item_index(np.asarray(negatives).ravel()).reshape(np.shape(negatives))
        return cls(train, test, neg_idx, relevant, num_relevant)


class EvaluatedAlgorithm:
    """Fits one algorithm on an :class:`EvaluationData` and computes every metric that applies.

    Pair metrics of the test rows (``predict_rows``: a model's context features come from the row):
    RMSE and MAE of a rating model (``predicts_ratings``), AUC and log loss of a click model
    (``click_threshold``: the label is ``rating >= click_threshold``). With ``ranking`` (default True)
    also the top-k metrics (``k``) over the full catalog, or over sampled candidates (``ncf`` protocol).
    """

    def __init__(self, algorithm: Algorithm, protocol: Protocol, k: int = 10, exclude_seen: bool = True,
                 hit_threshold: float = 4.0, churn: bool = False, factorized_ks: Sequence[int] = (),
                 ranking: bool = True):
        self.ranking = ranking
        self.algorithm = algorithm
        self.protocol = protocol
        self.k = k
        self.exclude_seen = exclude_seen
        self.hit_threshold = hit_threshold
        self.churn = churn
        self.factorized_ks = tuple(factorized_ks)

    def evaluate(self, data: EvaluationData) -> Dict[str, Any]:
        algo = self.algorithm
        twin = copy.deepcopy(algo) if self.churn else None
        start = time.perf_counter()
        algo.fit(data.train)
        fit_seconds = time.perf_counter() - start
        examples = getattr(algo, "examples_seen_", None) or len(data.train.frame)
        out: Dict[str, Any] = {"metrics": {}, "train_seconds": fit_seconds,
                               "examples_per_second": examples / max(fit_seconds, 1e-9)}
        m = out["metrics"]
        cols = data.train.columns
        t0 = time.perf_counter()
        pairs = (data.test, data.test["user_idx"].to_numpy(), data.test["item_idx"].to_numpy())
        if cols.rating and cols.rating in data.test.columns:
            truth = data.test[cols.rating].to_numpy(np.float32)
            if algo.predicts_ratings:
                pred = algo.predict_rows(*pairs)
                m["rmse"] = M.rmse(truth, pred)
                m["mae"] = M.mae(truth, pred)
            elif algo.click_threshold is not None:  # P(rating >= threshold) of each test row
                prob = algo.predict_rows(*pairs)
                clicks = (truth >= algo.click_threshold).astype(np.float32)
                m["auc"] = M.auc(clicks, prob)
                m["log_loss"] = M.log_loss(clicks, prob)
        if self.ranking:  # top-k lists: sampled candidates (ncf protocol) or the full catalog
            m.update(self._sampled(algo, data) if self.protocol.sampled else self._full_catalog(algo, data, twin))
        if self.factorized_ks:
            m.update(M.factorized_top_k(factorized_ranks(algo, data), self.factorized_ks))
        out["eval_seconds"] = time.perf_counter() - t0
        return out

    # -- sampled-negative ranking (NCF protocol) -------------------------------------------------
    def _sampled(self, algo: Algorithm, data: EvaluationData) -> Dict[str, float]:
        test = data.test
        users = test["user_idx"].to_numpy()
        keep = users != OOV_INDEX
        cand = np.concatenate([test["item_idx"].to_numpy()[:, None], data.negatives], axis=1)[keep]
        users = users[keep]
        scores = algo.score_pairs(np.repeat(users, cand.shape[1]), cand.ravel()).reshape(cand.shape)
        pos = scores[:, :1]
        # pessimistic ties: a negative scored equal to the positive ranks above it
        rank = (scores[:, 1:] >= pos).sum(axis=1)  # 0-based rank of the held-out item
        hit = rank < self.k
        return {
            f"hr@{self.k}": float(hit.mean()),
            f"ndcg@{self.k}": float(np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0).mean()),
            f"mrr@{self.k}": float(np.where(hit, 1.0 / (rank + 1.0), 0.0).mean()),
            "test_users": int(len(users)),
        }

    # -- full-catalog top-k ---------------------------------------------------------------------
    def _full_catalog(self, algo: Algorithm, data: EvaluationData, twin: Optional[Algorithm]) -> Dict[str, float]:
        k = self.k
        users = np.flatnonzero(data.num_relevant > 0)
        recs, rec_scores = algo.recommend(users, k=k, exclude_seen=self.exclude_seen)
        hits = M.hits_matrix(recs, data.relevant[users])
        n_rel = data.num_relevant[users]
        out = {
            f"ndcg@{k}": M.ndcg_at_k(hits, n_rel),
            f"precision@{k}": M.precision_at_k(hits, n_rel),
            f"recall@{k}": M.recall_at_k(hits, n_rel),
            f"map@{k}": M.map_at_k(hits, n_rel),
            f"hr@{k}": M.hit_rate_at_k(hits, n_rel),
        }
        # ARHR is a leave-one-out metric; elsewhere users have several held-out items and the per-user
        # sum of 1/rank (which can exceed 1) goes by its own name
        if self.protocol.leave_one_out:
            out[f"arhr@{k}"] = M.arhr_at_k(hits, n_rel)
        else:
            out[f"reciprocal_rank_sum@{k}"] = M.reciprocal_rank_sum_at_k(hits, n_rel)
        train = data.train
        if self.protocol.leave_one_out and train.columns.rating in data.test.columns:
            # one left-out item per user: hit rates by its rating
            test = data.test[data.test["user_idx"] != OOV_INDEX]
            pos = pd.Series(np.arange(len(users)), index=users)
            row = pos.reindex(test["user_idx"].to_numpy()).to_numpy()
            ok = ~np.isnan(row)
            user_hit = hits.any(axis=1)[row[ok].astype(int)]
            ratings = test[train.columns.rating].to_numpy()[ok]
            out[f"cumulative_hr@{k}"] = M.cumulative_hit_rate(user_hit, ratings, threshold=self.hit_threshold)
            for rating, value in sorted(M.rating_hit_rate(user_hit, ratings).items()):
                out[f"rating_hr@{k}[{rating:g}]"] = value
        out["catalog_coverage"] = M.catalog_coverage(recs, train.n_items)
        if algo.predicts_ratings:
            # share of users with at least one top-k item predicted >= hit_threshold
            predicted = algo.predict(np.repeat(users, recs.shape[1]), recs.ravel()).reshape(recs.shape)
            out["user_coverage"] = M.user_coverage(predicted, threshold=self.hit_threshold)
        out["diversity"] = M.diversity(recs, _cosine_item_similarity(train))
        popularity = train.item_popularity()
        rank = np.empty(train.n_items, np.int64)
        rank[np.argsort(-popularity, kind="stable")] = np.arange(1, train.n_items + 1)
        out["novelty"] = M.novelty(recs, rank)
        out["test_users"] = int(len(users))
        if twin is not None:
            if hasattr(twin, "seed"):
                twin.seed = int(twin.seed) + 1
            twin.fit(train)
            recs_b, _ = twin.recommend(users, k=k, exclude_seen=self.exclude_seen)
            out["churn"] = M.churn(recs, recs_b)
        return out


def factorized_ranks(algo: Algorithm, data: EvaluationData, users_per_chunk: int = 256,
                     rows_per_chunk: int = 4096) -> np.ndarray:
    """[n_test] rank of each test row's item among all catalog items for its user (``M.positive_ranks``).

    The whole training catalog competes (a user's training items too); rows whose user or item is not
    in the training vocabulary get ``M.UNRANKED`` (a miss). Users are scored ``users_per_chunk`` at a
    time and their rows ranked ``rows_per_chunk`` at a time (memory: that many rows of scores).
    """
    test = data.test
    users = test["user_idx"].to_numpy()
    items = test["item_idx"].to_numpy()
    ranks = np.full(len(test), M.UNRANKED, np.int64)
    rows = np.flatnonzero((users != OOV_INDEX) & (items != OOV_INDEX))
    rows = rows[np.argsort(users[rows], kind="stable")]
    by_user = users[rows]
    known = np.unique(by_user)
    for start in range(0, len(known), users_per_chunk):
        chunk = known[start:start + users_per_chunk]
        scores = np.asarray(algo.score(chunk))
        sel = rows[np.searchsorted(by_user, chunk[0], "left"):np.searchsorted(by_user, chunk[-1], "right")]
        for r in range(0, len(sel), rows_per_chunk):
            part = sel[r:r + rows_per_chunk]
            ranks[part] = M.positive_ranks(scores[np.searchsorted(chunk, users[part])], items[part])
    return ranks


def _cosine_item_similarity(train: TrainingData):
    """Item-item cosine similarity of the binary training interaction vectors, as a function of
    index arrays (training data only, so it leaks nothing; bounded memory, see
    :func:`tfrec.evaluation.blocks.cosine_pair_similarity`)."""
    return cosine_pair_similarity(train.seen_matrix())


class Evaluator:
    """Runs algorithms on one dataset and protocol and collects one results table.

    Args:
      ratings: interactions, one row each (e.g. ``load_movielens(path).ratings``).
      protocol: a protocol name or :class:`Protocol` (see :mod:`tfrec.evaluation.protocols`).
      k: list length for top-k metrics. Default 10.
      columns: column names (TFDS ``movielens`` names by default).
      items, users: optional item/user metadata frames handed to algorithms for side features.
      data_path: data folder (the ``canonical`` protocol reads its split files from it).
      exclude_seen: remove training items from each user's top-k. Default True.
      relevance_threshold: count a test item as relevant only if its rating is >= this; default
        None (every held-out interaction is relevant, as Microsoft Recommenders).
      protocol_params: parameters of the protocol (e.g. ``{"ratio": 0.8}``).
      churn: also refit each algorithm with seed + 1 and report how much its lists changed.
      progress: show progress bars.
      factorized_ks: also report ``top_<K>_categorical_accuracy`` for these K: the TFRS factorized
        top-K accuracy of each test interaction over the whole training catalog, seen items not
        removed (:func:`factorized_ranks`). Default () (off).
    """

    def __init__(self, ratings: pd.DataFrame, protocol: Union[str, Protocol] = "msr_stratified", *, k: int = 10,
                 columns: Columns = Columns(), items: Optional[pd.DataFrame] = None,
                 users: Optional[pd.DataFrame] = None, data_path: Optional[Union[str, Path]] = None,
                 exclude_seen: bool = True, relevance_threshold: Optional[float] = None,
                 protocol_params: Optional[Dict[str, Any]] = None, churn: bool = False, progress: bool = True,
                 factorized_ks: Sequence[int] = ()):
        if not isinstance(k, int) or k <= 0:
            raise ValueError(f"Received an invalid value for k, expected a positive integer. Received: k={k!r}")
        self.protocol = protocol if isinstance(protocol, Protocol) else Protocol(protocol, dict(protocol_params or {}))
        self.k = k
        self.columns = columns
        self.exclude_seen = exclude_seen
        self.churn = churn
        self.progress = progress
        bad = [k for k in factorized_ks if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0]
        if bad:
            raise ValueError(f"factorized_ks must be positive integers. Received: factorized_ks={list(factorized_ks)!r}")
        self.factorized_ks = tuple(int(k) for k in factorized_ks)
        folds = self.protocol.split(ratings, columns, Path(data_path) if data_path else None)
        self.folds: List[EvaluationData] = []
        for fold in folds:
            train, test = fold.train, fold.test
            if self.protocol.name == "canonical":
                train, test = (_join_side_features(f, ratings, columns) for f in (train, test))
            self.folds.append(EvaluationData.build(train, test, columns, negatives=fold.negatives, items=items,
                                                   users=users, relevance_threshold=relevance_threshold))
        self.results: List[Dict[str, Any]] = []
        #: algorithms that failed under ``run(..., on_error="record")``: ``{"algorithm", "error"}``
        self.failures: List[Dict[str, str]] = []

    def evaluate(self, algorithm: Algorithm) -> Dict[str, Any]:
        """Evaluates one (unfitted) algorithm on every fold; returns ``{"algorithm", "metrics",
        "train_seconds", "examples_per_second", "eval_seconds"}`` (fold means; ``metrics_std`` too
        when there are several folds).

        Raises:
          TypeError: ``algorithm`` is not an ``Algorithm`` (a name: build it with
            ``tfrec.training.build_algorithm(name, params)``).
        """
        algo = _checked(algorithm)
        runs = []
        for fold in self._progress(self.folds, f"{algo.name}", len(self.folds) > 1):
            fold_algo = copy.deepcopy(algo) if len(self.folds) > 1 else algo
            runs.append(EvaluatedAlgorithm(fold_algo, self.protocol, self.k, self.exclude_seen,
                                           churn=self.churn, factorized_ks=self.factorized_ks).evaluate(fold))
        names = list(runs[0]["metrics"])
        result = {
            "algorithm": algo.name,
            "metrics": {n: float(np.mean([r["metrics"][n] for r in runs])) for n in names},
            "train_seconds": float(np.mean([r["train_seconds"] for r in runs])),
            "examples_per_second": float(np.mean([r["examples_per_second"] for r in runs])),
            "eval_seconds": float(np.mean([r["eval_seconds"] for r in runs])),
        }
        if len(runs) > 1:
            result["metrics_std"] = {n: float(np.std([r["metrics"][n] for r in runs])) for n in names}
        self.results.append(result)
        return result

    def run(self, algorithms: Sequence[Algorithm], *, on_error: str = "raise") -> pd.DataFrame:
        """Evaluates each algorithm (unfitted instances, e.g. from ``tfrec.training.build_algorithm``)
        and returns the table (one row per algorithm).

        Args:
          algorithms: what to evaluate, in table order.
          on_error: "raise" (default): an algorithm that fails stops the run; "record": its failure
            is appended to ``self.failures`` (``{"algorithm", "error"}``) and the next one runs.
        """
        if on_error not in ("raise", "record"):
            raise ValueError(f"on_error must be 'raise' or 'record'. Received: on_error={on_error!r}")
        for spec in self._progress(list(algorithms), "algorithms", True):
            try:
                self.evaluate(spec)
            except Exception as e:  # noqa: BLE001 -- any failure of one algorithm is recorded, not swallowed
                if on_error == "raise":
                    raise
                name = _spec_name(spec)
                logger.error("algorithm %s failed: %s: %s", name, type(e).__name__, e)
                self.failures.append({"algorithm": name, "error": f"{type(e).__name__}: {e}"})
        return self.table()

    def table(self) -> pd.DataFrame:
        """The results so far: one row per algorithm, one column per metric plus timings."""
        rows = []
        for r in self.results:
            row = {"algorithm": r["algorithm"], **r["metrics"], "train_seconds": r["train_seconds"],
                   "examples_per_second": r["examples_per_second"]}
            rows.append(row)
        return pd.DataFrame(rows).set_index("algorithm") if rows else pd.DataFrame()

    def _progress(self, items, desc, enabled):
        """``items``, reporting progress on stderr (a bar on a terminal, else a line every
        ``$TFREC_PROGRESS_SECONDS``, see :class:`tfrec.progress.Progress`)."""
        if not (self.progress and enabled):
            return items
        import sys

        from tfrec.progress import Progress

        items = list(items)
        bar = Progress(len(items), desc=f"evaluate {desc}", unit="folds" if desc != "algorithms" else "algorithms",
                       stream=sys.stderr)

        def report():
            try:
                for item in items:
                    yield item
                    bar.update(1)
            finally:
                bar.close()

        return report()


def _spec_name(spec: Any) -> str:
    """The result-row name of an algorithm."""
    return str(getattr(spec, "name", spec))


def _checked(algorithm: Any) -> Algorithm:
    if not isinstance(algorithm, Algorithm):
        hint = (f" Build it by name with tfrec.training.build_algorithm({algorithm!r})."
                if isinstance(algorithm, str) else "")
        raise TypeError(f"Evaluator takes Algorithm instances. Received: {type(algorithm).__name__} "
                        f"{algorithm!r}.{hint}")
    return algorithm


def _join_side_features(frame: pd.DataFrame, full: pd.DataFrame, columns: Columns) -> pd.DataFrame:
    """Adds the side-feature columns of ``full`` to a split read from files (by user and item id)."""
    extra = [c for c in full.columns if c not in frame.columns]
    if not extra:
        return frame
    keys = [columns.user, columns.item]
    side = full.drop_duplicates(keys)[keys + extra]
    merged = frame.merge(side, on=keys, how="left")
    return merged
