"""Data of a training run: load, split (train / validation / test), vocabularies and ``tf.data``.

The split is leakage-free by construction:

1. the protocol of ``data.protocol`` (``tfrec.evaluation.protocols``) splits the interactions into
   train and test; the test rows are only used by the final evaluation;
2. ``data.validation_ratio`` of the *training* rows are carved out (seeded with ``data.seed``) for
   early stopping and tuning by ``tfrec.splits.validation_carve`` (global protocol: a random share of
   all training rows, not per user); the model fits on the rest;
3. the user and item vocabularies (``TrainingData``) come from the training rows (fit + validation),
   so their indices are the ones ``tfrec.evaluation.Evaluator`` gives the same training frame.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import pandas as pd

from tfrec.data.filters import filter_outliers
from tfrec.data.training_data import TrainingData
from tfrec.evaluation.protocols import Protocol

from tfrec.config import RunConfig

REPO = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """The first folder searched for datasets (see :func:`tfrec.data.download.data_roots`)."""
    from tfrec.data.download import data_roots

    return data_roots()[0]


def resolve_path(config: RunConfig) -> Path:
    """The dataset folder of ``config.data``: ``path``, else ``dataset`` as a path or a name under the data root.

    Raises:
      FileNotFoundError: no such folder (says where it looked and how to fix it).
    """
    if config.data.path:
        candidates = [Path(config.data.path).expanduser()]
    else:
        from tfrec.data.download import data_roots

        candidates = [Path(config.data.dataset).expanduser()] + [r / config.data.dataset for r in data_roots()]
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError(
        f"Dataset folder for data.dataset={config.data.dataset!r} / data.path={config.data.path!r} not found; "
        f"looked in {', '.join(str(c) for c in candidates)}. Set data.path to the folder, TFREC_DATA to the "
        "folder that holds it, or download it: tfrec data download NAME."
    )


@dataclasses.dataclass
class RunData:
    """The frames and vocabularies of one run.

    Attributes:
      path: the dataset folder (None for training rows handed over by a caller, see :func:`carve`).
      protocol: the :class:`Protocol` that made the train/test split (None likewise).
      train: the protocol's training rows (fit + validation), index reset to 0..n-1.
      fit: training rows the model fits on; ``fit.index`` are their positions in ``train``.
      val: validation rows (carved from ``train``); ``val.index`` likewise.
      test: the protocol's test rows (final evaluation only).
      negatives: sampled negative item ids of the ``ncf`` protocol, else None.
      vocab: :class:`TrainingData` of ``train``: ``vocab.user_ids`` / ``vocab.item_ids``.
      items, users: item / user metadata frames (or None).
      extra: family-specific data (e.g. feature vocabularies).
    """

    path: Optional[Path]
    protocol: Optional[Protocol]
    train: pd.DataFrame
    fit: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    negatives: Optional[np.ndarray]
    vocab: TrainingData
    items: Optional[pd.DataFrame] = None
    users: Optional[pd.DataFrame] = None
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def indices(self, frame: pd.DataFrame) -> Tuple[np.ndarray, np.ndarray]:
        """int32 user and item indices of ``frame`` (``OOV_INDEX`` = -1 for ids not in training)."""
        cols = self.vocab.columns
        return self.vocab.user_index(frame[cols.user]), self.vocab.item_index(frame[cols.item])


Frames = Tuple[pd.DataFrame, Optional[pd.DataFrame], Optional[pd.DataFrame]]


def load_movielens_frames(path: Path, *, encoding: Optional[str] = None, rating_scale: Any = "auto",
                          duplicates: str = "error") -> Frames:
    """(ratings, movies, users) of a MovieLens folder (any layout ``tfrec.data.load_movielens`` reads).

    Args:
      path: the dataset folder.
      encoding, rating_scale, duplicates: as ``tfrec.data.load_movielens`` (``data.encoding``,
        ``data.rating_scale``, ``data.duplicates`` of a config).
    """
    from tfrec.data import load_movielens

    scale = tuple(rating_scale) if isinstance(rating_scale, list) else rating_scale
    ml = load_movielens(path, encoding=encoding, rating_scale=scale, duplicates=duplicates)
    return ml.ratings, ml.movies, ml.users


def _movielens_loader(config: RunConfig) -> Tuple[Callable[[Path], Any], str]:
    """The MovieLens loader with the config's loading options, and its cache key."""
    d = config.data
    options = {"encoding": d.encoding, "rating_scale": d.rating_scale, "duplicates": d.duplicates}
    return (lambda path: load_movielens_frames(path, **options)), f"load_movielens_frames{options!r}"


_LOADED: Dict[Tuple[str, str, float], Any] = {}


def _load_cached(loader, path: Path, key: Optional[str] = None):
    """Loads once per process and file state (tuning trials reuse the parsed frames; frames are not mutated)."""
    stamp = max((p.stat().st_mtime for p in path.iterdir() if p.is_file()), default=0.0)
    key = (key or f"{loader.__module__}.{loader.__qualname__}", str(path.resolve()), stamp)
    if key not in _LOADED:
        if len(_LOADED) >= 4:
            _LOADED.clear()
        _LOADED[key] = loader(path)
    return _LOADED[key]


def prepare(config: RunConfig, loader: Optional[Callable[[Path], Tuple[pd.DataFrame, Any, Any]]] = None,
            row_filter: Optional[Callable[[pd.DataFrame], pd.DataFrame]] = None) -> RunData:
    """Loads and splits the data of ``config`` (see the module docstring; the carve is :func:`carve`).

    Args:
      config: the run config.
      loader: path -> (interactions, items metadata or None, users metadata or None); None =
        :func:`load_movielens_frames` with ``data.encoding``, ``data.rating_scale`` and ``data.duplicates``.
      row_filter: applied to the training rows before the validation carve (e.g. keep positives).
    """
    path = resolve_path(config)
    key = None
    if loader is None:
        loader, key = _movielens_loader(config)
    frame, items, users = _load_cached(loader, path, key=key)
    if config.data.max_rows is not None:
        frame = frame.iloc[: config.data.max_rows]
    if config.data.filter is not None:
        frame, _ = filter_outliers(frame, **config.data.filter.model_dump())
    protocol = Protocol(config.data.protocol, dict(config.data.protocol_params))
    folds = protocol.split(frame, data_path=path)
    return carve(config, folds[0].train, folds[0].test, negatives=folds[0].negatives, protocol=protocol, path=path,
                 items=items, users=users, row_filter=row_filter)


def carve(config: RunConfig, train: pd.DataFrame, test: Optional[pd.DataFrame] = None, *,
          negatives: Optional[np.ndarray] = None, protocol: Optional[Protocol] = None, path: Optional[Path] = None,
          items: Optional[pd.DataFrame] = None, users: Optional[pd.DataFrame] = None,
          row_filter: Optional[Callable[[pd.DataFrame], pd.DataFrame]] = None) -> RunData:
    """The run data of a train/test split: the validation carve and the vocabularies (steps 2-3 of the module docstring).

    :func:`prepare` calls it on the protocol's split; ``tfrec evaluate`` (``FamilyAlgorithm``) on the
    evaluator's training rows of a fold, so that both train on the same fit / validation rows.

    Args:
      config: the run config (``data.validation_ratio`` and ``data.seed`` carve the validation rows).
      train: [n, ...] the training rows of the split (the index is ignored; the row order matters).
      test: the test rows, or None (an empty frame: no final evaluation).
      negatives: sampled negative item ids of the ``ncf`` protocol. Default None.
      protocol: the protocol that made the split, or None (the caller's own split). Default None.
      path: the dataset folder, or None. Default None.
      items, users: item / user metadata frames. Default None.
      row_filter: applied to the training rows before the carve (e.g. keep positives). Default None.

    Raises:
      ValueError: fewer than 2 training rows, or a carve that leaves an empty fit or validation set.
    """
    from tfrec import splits

    where = path if path is not None else "the given training rows"
    _sessions_only(config, "rating data")
    if test is None:
        test = train.iloc[:0]
    if row_filter is not None:
        train = row_filter(train)
    if len(train) < 2:
        raise ValueError(f"The training split of {where} has {len(train)} rows; there is nothing to train on. "
                         "Check data.max_rows / data.min_rating.")
    # positional index: fit.index / val.index are row positions in train (and in vocab.frame)
    train = train.reset_index(drop=True)
    fit, val = splits.validation_carve(train, config.data.validation_ratio, seed=config.data.seed)
    if len(val) == 0 or len(fit) == 0:
        raise ValueError(f"data.validation_ratio={config.data.validation_ratio} leaves an empty fit or validation "
                         f"set from {len(train)} training rows; use a ratio between 0.05 and 0.5.")
    # The MovieLens ratings frames already carry the user and movie features, so no metadata frames
    # are attached (TrainingData._align names the id column 'index' after its reindex).
    vocab = TrainingData(train)
    return RunData(path, protocol, train, fit, val, test, negatives, vocab, items, users)


# ------------------------------------------------------------------------------------------------
# Other dataset formats: CTR tables (Criteo) and session click logs (GRU4Rec)


def detect_format(config: RunConfig, path: Optional[Path] = None) -> str:
    """``config.data.format``, or for "auto" the format of the dataset folder's files.

    With ``data.ctr`` set the format is "ctr". Otherwise a folder with a CSV/TXT whose header starts
    with ``label,I1`` (or a headerless 40-field TSV) is "criteo"; one whose file starts with
    ``SessionId`` (or the session column of ``data.columns``) is "sessions"; anything else "movielens".
    """
    if config.data.format != "auto":
        return config.data.format
    if config.data.ctr is not None:
        return "ctr"
    session_col = config.data.columns.get("session", "SessionId")
    path = path or resolve_path(config)
    names = [config.data.file] if config.data.file else sorted(p.name for p in path.iterdir() if p.is_file())
    for name in names:
        f = path / name
        if f.suffix.lower() not in (".csv", ".txt", ".tsv") or not f.is_file():
            continue
        with open(f, encoding=config.data.encoding or "utf-8", errors="replace") as fh:
            head = fh.readline()
        fields = [x.strip().strip('"') for x in head.replace("\t", ",").split(",")]
        if fields[:2] == ["label", "I1"] or len(fields) == 40:
            return "criteo"
        if fields and (fields[0] == session_col or (config.data.columns and set(config.data.columns.values())
                                                     <= set(fields))):
            return "sessions"
    return "movielens"


def _one_file(path: Path, config: RunConfig, pattern: str, what: str) -> Path:
    if config.data.file:
        f = path / config.data.file
        if not f.is_file():
            raise FileNotFoundError(f"data.file={config.data.file!r} not found in {path}.")
        return f
    found = sorted(path.glob(pattern))
    if len(found) != 1:
        raise FileNotFoundError(
            f"{path} has {len(found)} files matching {pattern!r} ({', '.join(p.name for p in found) or 'none'}); "
            f"set data.file to the {what} file.")
    return found[0]


@dataclasses.dataclass
class TableRunData:
    """The rows of a CTR-table run (``data.format: criteo`` or ``ctr``): one impression per row.

    Attributes:
      path: the file read.
      frame: every row (criteo: ``label``, ``I1..I13`` float64 with NaN, ``C1..C26`` str; ctr: the
        columns of ``data.ctr``, numeric float64 with NaN, categorical str).
      fit, val, test: the fixed seeded split (``data.seed``; ``data.validation_ratio``, ``data.test_ratio``).
      label: the 0/1 label column.
      split: how the rows were split, in words.
      numeric, categorical: the numeric and categorical feature columns.
      extra: family-specific data.
    """

    path: Path
    frame: pd.DataFrame
    fit: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    label: str
    split: str
    numeric: Tuple[str, ...] = ()
    categorical: Tuple[str, ...] = ()
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def describe(self) -> str:
        ctr = float(self.fit[self.label].mean())
        return (f"{self.path}: {self.split}: {len(self.fit)} fit / {len(self.val)} validation / {len(self.test)} "
                f"test rows (fit CTR {ctr:.3f})")


def prepare_criteo(config: RunConfig) -> TableRunData:
    """Loads a CTR table and splits it: seeded permutation -> fit / validation / test.

    The table is Criteo-layout (``tfrec.data.load_criteo``), or with ``data.ctr`` set any CSV with
    those label, numeric and categorical columns (``tfrec.data.load_ctr_csv``; other columns ignored).

    With ``validation_ratio`` 0.1, ``test_ratio`` 0.1 and ``seed`` 42 this is the fixed split of
    ``configs/bench/ctr_criteo10k.yaml`` (first ``round(0.8 n)`` permuted rows fit, next ``round(0.1 n)``
    validation, the rest test). Nothing is fitted here: the feature layers adapt on ``fit`` only.
    """
    from tfrec.data import CRITEO_SCHEMA, CTRSchema, load_criteo, load_ctr_csv

    _sessions_only(config, "CTR tables")
    path = resolve_path(config)
    d = config.data
    enc = d.encoding or "utf-8"
    if d.ctr is not None:
        schema = CTRSchema(label=d.ctr.label, numeric=d.ctr.numeric, categorical=d.ctr.categorical)
        f = _one_file(path, config, "*.csv", "CTR table CSV")
        frame = _load_cached(lambda _p: load_ctr_csv(f, schema, encoding=enc).frame, f.parent,
                             key=f"{f}:{schema.to_config()}:{enc}")
    else:
        schema = CRITEO_SCHEMA
        f = _one_file(path, config, "*.csv", "Criteo CSV")
        frame = _load_cached(lambda _p: load_criteo(f, encoding=enc).frame, f.parent, key=f"{f}:{enc}")
    if config.data.max_rows is not None:
        frame = frame.iloc[: config.data.max_rows]
    n = len(frame)
    order = np.random.default_rng(d.seed).permutation(n)
    n_fit = int(round((1.0 - d.validation_ratio - d.test_ratio) * n))
    n_val = int(round(d.validation_ratio * n))
    fit, val, test = (frame.iloc[order[:n_fit]], frame.iloc[order[n_fit:n_fit + n_val]],
                      frame.iloc[order[n_fit + n_val:]])
    if min(len(fit), len(val), len(test)) == 0:
        raise ValueError(f"The split of {n} rows of {f} leaves an empty fit, validation or test set; raise "
                         "data.max_rows or change data.validation_ratio / data.test_ratio.")
    ratios = f"{1 - d.validation_ratio - d.test_ratio:g}/{d.validation_ratio:g}/{d.test_ratio:g}"
    return TableRunData(f, frame, fit, val, test, schema.label, f"fixed split {ratios} (seed {d.seed})",
                        numeric=schema.numeric, categorical=schema.categorical)


@dataclasses.dataclass
class SessionRunData:
    """The click logs of a session run (``data.format: sessions``), GRU4Rec's ``SessionId, ItemId, Time``.

    Attributes:
      path: the training click log.
      train: every training click (fit + validation sessions).
      fit: clicks the model trains on (sessions ending before the last ``session_days``).
      val: validation clicks (sessions ending in the last ``session_days`` of ``train``; only items in
        ``fit``), for early stopping.
      test: held-out clicks (the final evaluation only).
      item_ids: [n_items] raw item ids of ``fit``; index i = item i of the model.
      extra: family-specific data.
    """

    path: Path
    train: pd.DataFrame
    fit: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    item_ids: np.ndarray
    split: str
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def describe(self) -> str:
        def n(frame):
            return f"{len(frame)} clicks / {frame['SessionId'].nunique()} sessions"

        return (f"{self.path.parent}: {self.split}: fit {n(self.fit)}, validation {n(self.val)}, test {n(self.test)}; "
                f"{len(self.item_ids)} items")

    def item_index(self, raw) -> np.ndarray:
        """Raw item ids -> int32 indices (-1 = not in ``item_ids``)."""
        return pd.Index(self.item_ids).get_indexer(pd.Index(np.asarray(raw, dtype=object))).astype(np.int32)


def prepare_sessions(config: RunConfig) -> SessionRunData:
    """Loads GRU4Rec click logs and splits them by time (``tfrec.splits.session_time_split``).

    Click logs with other column names are read with ``data.columns`` (``{session: sid, item: iid,
    time: ts}``); ``data.order_by`` names tie-breakers of the in-session order (``[time, seq]``);
    ``data.encoding`` the text encoding (see ``tfrec.data.load_sessions``).

    Test: ``data.test_file`` (default the folder's ``*_test.txt``, e.g. rsc15's last day), else the
    sessions ending in the last ``session_days`` of the training log. Validation: the training
    sessions ending in the last ``session_days`` days, restricted to items of the rest (on the rsc15
    sample's ``train_full`` this gives exactly its ``train_tr`` / ``train_valid`` files). Fit: the
    other training sessions, or with ``data.fit_validation`` every training click (``fit`` = ``train``).
    """
    from tfrec import splits
    from tfrec.data import load_sessions

    path = resolve_path(config)
    d = config.data
    options = {"columns": dict(d.columns) or None, "encoding": d.encoding or "utf-8",
               "order_by": list(d.order_by) or None}

    def read(file: Path) -> pd.DataFrame:
        return _load_cached(lambda _p: load_sessions(file, **options), file.parent, key=f"{file}:{options!r}")

    f = _one_file(path, config, "*_train_full.txt", "training click log")
    train = read(f)
    if config.data.max_rows is not None:
        train = train.iloc[: config.data.max_rows]
    days = config.data.session_days
    test_path = path / config.data.test_file if config.data.test_file else None
    if test_path is None:
        found = sorted(path.glob("*_test.txt"))
        test_path = found[0] if len(found) == 1 else None
    if test_path is not None:
        test = read(test_path)
        split = f"test {test_path.name}"
    else:
        train, test = splits.session_time_split(train, test_days=days, min_item_support=1)
        split = f"test = sessions ending in the last {days:g} day(s)"
    fit, val = splits.session_time_split(train, test_days=days, min_item_support=1)
    if len(fit) == 0 or len(val) == 0:
        raise ValueError(f"data.session_days={days} leaves no fit or no validation sessions in {f}; change it "
                         "or data.max_rows.")
    split += f"; validation = training sessions ending in the last {days:g} day(s)"
    if config.data.fit_validation:  # train on the whole training log; validation only reports
        fit = train
        split += " (also trained on: data.fit_validation)"
    items = np.asarray(pd.unique(fit["ItemId"]), dtype=object)
    return SessionRunData(f, train, fit, val, test, items, split)


def _sessions_only(config: RunConfig, what: str) -> None:
    if config.data.fit_validation:
        raise ValueError(f"data.fit_validation applies to session click logs (data.format: sessions) only; {what} "
                         "keep their validation rows out of training. Remove data.fit_validation.")


def write_vocab(vocab: TrainingData, folder: Path) -> None:
    """Writes ``users.txt`` and ``items.txt``: one raw id per line, line ``i`` = index ``i``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, ids in (("users.txt", vocab.user_ids), ("items.txt", vocab.item_ids)):
        tmp = folder / f".{name}.tmp"
        tmp.write_text("".join(f"{i}\n" for i in ids))
        os.replace(tmp, folder / name)


def read_vocab(folder: Path) -> Tuple[np.ndarray, np.ndarray]:
    """(user_ids, item_ids) as written by :func:`write_vocab` (str arrays)."""
    return tuple(np.array((Path(folder) / n).read_text().splitlines(), dtype=object) for n in ("users.txt", "items.txt"))


def make_dataset(features: Dict[str, np.ndarray], labels: Optional[np.ndarray], batch_size: int, *,
                 shuffle_buffer: int = 0, seed: int = 42, cache: bool = True, drop_remainder: bool = False,
                 repeat: bool = False):
    """In-memory examples -> ``tf.data``: cache, seeded reshuffling each epoch, batch, prefetch(AUTOTUNE).

    Args:
      features: name -> [n, ...] array.
      labels: [n] array or None.
      batch_size: global batch size.
      shuffle_buffer: 0 = keep the order; else the buffer (capped at n).
      seed: shuffle seed (the same order sequence on every worker).
      cache: ``Dataset.cache()`` the examples.
      drop_remainder: drop a last partial batch.
      repeat: repeat forever (parameter-server training).
    """
    import tensorflow as tf

    n = len(next(iter(features.values())))
    ds = tf.data.Dataset.from_tensor_slices((features, labels) if labels is not None else features)
    if cache:
        ds = ds.cache()
    if shuffle_buffer:
        ds = ds.shuffle(min(shuffle_buffer, n), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return _finish(ds)


def epoch_dataset(first: Tuple[Dict[str, np.ndarray], Optional[np.ndarray]],
                  draw: Callable[[], Tuple[Dict[str, np.ndarray], Optional[np.ndarray]]], batch_size: int, *,
                  drop_remainder: bool = False):
    """Examples drawn afresh for every epoch (e.g. sampled negatives): ``tf.data`` over a Python generator.

    Every pass over the dataset (every Keras epoch) is one epoch of examples: the first pass yields
    ``first``, each later pass calls ``draw()`` once and yields what it returns, in the order given
    (``draw`` shuffles if it wants shuffled batches). The cardinality is known (``n / batch_size``
    batches), so Keras counts steps as for an in-memory dataset.

    Args:
      first: (features, labels) of the first epoch: name -> [n, ...] arrays, [n] labels or None.
      draw: function returning the next epoch's (features, labels): the same names, dtypes and n.
      batch_size: global batch size.
      drop_remainder: drop a last partial batch. Default False.

    Raises:
      ValueError: a drawn epoch has another number of examples than ``first`` (when iterated).

    Example:
      >>> draws = iter([{"a": np.arange(4) + 10}])
      >>> ds = epoch_dataset(({"a": np.arange(4)}, None), lambda: (next(draws), None), 3)
      >>> [[b["a"].numpy().tolist() for b in ds] for _ in range(2)]
      [[[0, 1, 2], [3]], [[10, 11, 12], [13]]]
    """
    import tensorflow as tf

    x0, y0 = first
    n = len(next(iter(x0.values())))
    pending = [first]

    def epoch():
        x, y = pending.pop() if pending else draw()
        got = {k: len(v) for k, v in x.items()}
        if set(got) != set(x0) or any(v != n for v in got.values()) or (y is not None and len(y) != n):
            raise ValueError(f"An epoch of drawn examples must have the first epoch's features {sorted(x0)} with "
                             f"{n} rows each; received {got} (labels: {None if y is None else len(y)}).")
        stop = n - n % batch_size if drop_remainder else n
        for lo in range(0, stop, batch_size):
            xb = {k: v[lo:lo + batch_size] for k, v in x.items()}
            yield xb if y is None else (xb, y[lo:lo + batch_size])

    spec = {k: tf.TensorSpec((None,) + np.shape(v)[1:], tf.as_dtype(np.asarray(v).dtype)) for k, v in x0.items()}
    signature = spec if y0 is None else (spec, tf.TensorSpec((None,), tf.as_dtype(np.asarray(y0).dtype)))
    steps = n // batch_size if drop_remainder else -(-n // batch_size)
    ds = tf.data.Dataset.from_generator(epoch, output_signature=signature)
    ds = ds.apply(tf.data.experimental.assert_cardinality(steps))
    return _finish(ds)


def _finish(ds):
    """The options of every training pipeline (deterministic, sharded by data) and prefetch(AUTOTUNE)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = True
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)
