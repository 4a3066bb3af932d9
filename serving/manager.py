"""Loading, versioning and calling SavedModels: the core of the model server.

:class:`ModelManager` polls each model's base path (every ``poll_seconds``), loads new integer
version folders (non-numeric folders such as an export's temporary folder are ignored), replays
their warm-up requests, routes requests to them, and unloads versions the policy no longer wants
(latest 1 by default). A new version takes traffic only once it is fully loaded and warmed up; the
version it replaces stops taking new requests at that moment and is unloaded once its in-flight
requests finish, so a version switch fails no request. A version that fails to load is retried
(``max_num_load_retries`` times, ``load_retry_interval_micros`` apart, as TF Serving's flags of those
names; its status is ``LOADING`` with the last error meanwhile), then reported as ``END`` with a
canonical error code, and never replaces a working one. ``version_labels`` of the config route
``/labels/<label>`` (REST) and ``model_spec.version_label`` (gRPC) requests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from tfrec.serving.batching import Batcher, BatchOptions
from tfrec.serving.config import ModelConfig, parse_config_file
from tfrec.serving.errors import ServingError, error_code_of, invalid, not_found, servable_not_found
from tfrec.serving.limits import RequestLimits

logger = logging.getLogger("tfrec.serving")

DEFAULT_SIGNATURE = "serving_default"

# ModelVersionStatus.State names (tensorflow_serving/apis/get_model_status.proto)
START, LOADING, AVAILABLE, UNLOADING, END = "START", "LOADING", "AVAILABLE", "UNLOADING", "END"

_SCANN_STATE = {"tried": False, "ok": False, "error": ""}


def register_scann_ops() -> bool:
    """Imports ScaNN's TF ops so that ``*_scann`` SavedModels load; False (with a log line) if missing."""
    if not _SCANN_STATE["tried"]:
        _SCANN_STATE["tried"] = True
        try:
            from scann.scann_ops.py import scann_ops  # noqa: F401  (registers the Scann> ops)

            _SCANN_STATE["ok"] = True
        except Exception as e:  # noqa: BLE001 - the server still serves non-ScaNN models
            _SCANN_STATE["error"] = str(e)
            logger.warning("ScaNN ops not available (%s); ScaNN SavedModels will fail to load. "
                           "Install with `pip install scann[tf]`.", e)
    return _SCANN_STATE["ok"]


@dataclasses.dataclass
class VersionStatus:
    """One entry of ``model_version_status``."""

    version: int
    state: str
    error_code: str = "OK"
    error_message: str = ""


class Signature:
    """One callable signature of a loaded version.

    Attributes:
      name: signature key (e.g. ``serving_default``).
      inputs / outputs: name -> ``tf.TensorSpec``.
    """

    def __init__(self, name: str, fn, batch_options: BatchOptions, label: str,
                 limits: RequestLimits = RequestLimits()):
        import tensorflow as tf

        self.name = name
        self._fn = fn
        self.limits = limits
        _, kwargs = fn.structured_input_signature
        self.inputs: Dict[str, "tf.TensorSpec"] = dict(sorted(kwargs.items()))
        self.outputs = {k: tf.TensorSpec(v.shape, v.dtype, k) for k, v in sorted(fn.structured_outputs.items())}
        # Outputs of unknown rank (a ScaNN search's) may still be batch-first: the batcher checks each
        # merged call's outputs and stops merging for good when they are not.
        self._batched = batch_options.enabled and all(
            s.shape.rank and s.shape[0] is None for s in self.inputs.values()) and all(
            s.shape.rank is None or (s.shape.rank and s.shape[0] is None) for s in self.outputs.values())
        self._batcher = Batcher(self.call, batch_options, name=f"{label}:{name}") if self._batched else None

    def call(self, inputs: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """Calls the model on validated arrays; TF errors become ServingErrors."""
        import tensorflow as tf

        try:
            out = self._fn(**{n: tf.constant(v, dtype=self.inputs[n].dtype) for n, v in inputs.items()})
            return {k: v.numpy() for k, v in out.items()}
        except tf.errors.InvalidArgumentError as e:
            raise invalid(e.message.split("\n")[0]) from None
        except tf.errors.ResourceExhaustedError as e:
            raise ServingError("RESOURCE_EXHAUSTED", e.message.split("\n")[0]) from None
        except (ValueError, TypeError) as e:  # conversion of a value the checks let through
            raise invalid(str(e).split("\n")[0]) from None

    def validate(self, inputs: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """Checks names, dtypes, shapes and a common batch size; returns the arrays to call with."""
        from tfrec.serving.tensors import check_shape, dtype_name

        missing = [n for n in self.inputs if n not in inputs]
        if missing:
            raise invalid(f"missing input '{missing[0]}' for signature '{self.name}' (expects "
                          f"{', '.join(self.inputs)})")
        extra = [n for n in inputs if n not in self.inputs]
        if extra:
            raise invalid(f"unknown input '{extra[0]}' for signature '{self.name}' (expects {', '.join(self.inputs)})")
        out = {}
        batch = None
        for n, spec in self.inputs.items():
            arr = np.asarray(inputs[n])
            want_string = spec.dtype.name == "string"
            if want_string != (arr.dtype == object or arr.dtype.kind in "SU"):
                raise invalid(f"input '{n}' of signature '{self.name}' expects {dtype_name(spec.dtype)} values")
            check_shape(arr, spec, n, self.name)
            if spec.shape.rank and spec.shape[0] is None:
                if batch is None:
                    batch = (n, arr.shape[0])
                elif arr.shape[0] != batch[1]:
                    raise invalid(f"inputs '{batch[0]}' and '{n}' of signature '{self.name}' have different batch "
                                  f"sizes ({batch[1]} and {arr.shape[0]})")
            out[n] = arr
        self.limits.check_inputs(out, {n: bool(s.shape.rank and s.shape[0] is None) for n, s in self.inputs.items()})
        return out

    def submit(self, arrays: Mapping[str, np.ndarray], callback) -> bool:
        """Queues validated ``arrays`` on the batcher without waiting; ``callback(outputs, error)`` runs on
        a batch thread. Returns False (nothing queued) when the signature is not batched: use :meth:`call`."""
        return self._batcher is not None and self._batcher.submit(dict(arrays), callback)

    def run(self, inputs: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """Validates ``inputs`` and runs them (batched with other requests when the signature is)."""
        return self.execute(self.validate(inputs))

    def execute(self, arrays: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """Runs validated arrays, batched with other requests when the signature is."""
        if self._batcher is not None:
            return self._batcher.run(dict(arrays))
        return self.call(arrays)

    def close(self) -> None:
        if self._batcher is not None:
            self._batcher.close()


class Servable:
    """A loaded model version: its signatures, signature protos and in-flight request count."""

    def __init__(self, name: str, version: int, path: Path, batch_options: BatchOptions,
                 limits: RequestLimits = RequestLimits()):
        import tensorflow as tf

        self.name = name
        self.version = version
        self.path = path
        self.loaded = tf.saved_model.load(str(path))
        self.signature_defs = _read_signature_defs(path)
        self.signatures: Dict[str, Signature] = {
            k: Signature(k, fn, batch_options, f"{name}/{version}", limits) for k, fn in self.loaded.signatures.items()}
        self._inflight = 0
        self._cond = threading.Condition()

    def signature(self, name: str) -> Signature:
        sig = self.signatures.get(name or DEFAULT_SIGNATURE)
        if sig is None:
            raise invalid(f"Serving signature name: \"{name or DEFAULT_SIGNATURE}\" not found in signature def "
                          f"(model {self.name} version {self.version} has: {', '.join(sorted(self.signatures))})")
        return sig

    def predict(self, signature_name: str, inputs: Mapping[str, np.ndarray],
                output_filter: Sequence[str] = ()) -> Dict[str, np.ndarray]:
        sig = self.signature(signature_name)
        out = sig.run(inputs)
        if output_filter:
            unknown = [o for o in output_filter if o not in out]
            if unknown:
                raise invalid(f"output_filter: '{unknown[0]}' is not an output of signature '{sig.name}' "
                              f"(outputs: {', '.join(out)})")
            out = {o: out[o] for o in output_filter}
        return out

    def warmup(self) -> int:
        """Replays ``assets.extra/tf_serving_warmup_requests``; returns the number of requests run."""
        from tfrec.serving.tensors import proto_to_array
        from tfrec.export.warmup import read_warmup_requests

        requests = read_warmup_requests(self.path)
        for i, req in enumerate(requests):
            sig = self.signature(req.model_spec.signature_name)
            arrays = {k: proto_to_array(v, k, sig.inputs[k].dtype) if k in sig.inputs else None
                      for k, v in req.inputs.items()}
            try:
                sig.call(sig.validate(arrays))
            except ServingError as e:
                raise RuntimeError(f"warm-up request {i} failed: {e.message}") from None
        return len(requests)

    def _enter(self) -> None:
        with self._cond:
            self._inflight += 1

    def release(self) -> None:
        """Ends a request started by :meth:`ModelManager.acquire`."""
        self._exit()

    def _exit(self) -> None:
        with self._cond:
            self._inflight -= 1
            if self._inflight == 0:
                self._cond.notify_all()

    def wait_idle(self, timeout: Optional[float] = None) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._inflight == 0, timeout=timeout)

    def close(self) -> None:
        for sig in self.signatures.values():
            sig.close()
        self.signatures = {}
        self.loaded = None


def _read_signature_defs(path: Path):
    """The ``SignatureDef`` map of the SavedModel's first MetaGraph (what TF Serving reports as metadata)."""
    from google.protobuf import text_format
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow_serving.apis import get_model_metadata_pb2

    sm = saved_model_pb2.SavedModel()
    pb = path / "saved_model.pb"
    if pb.is_file():
        sm.ParseFromString(pb.read_bytes())
    else:
        text_format.Parse((path / "saved_model.pbtxt").read_text(), sm)
    out = get_model_metadata_pb2.SignatureDefMap()
    if sm.meta_graphs:
        for k, v in sm.meta_graphs[0].signature_def.items():
            out.signature_def[k].CopyFrom(v)
    return out


@dataclasses.dataclass
class _Failure:
    mtime: Optional[float]  # of saved_model.pb when it failed: a changed file is tried again at once
    attempts: int  # loads tried so far
    retry_at: float  # time.monotonic() of the next try (inf: no more retries)


@dataclasses.dataclass
class _Model:
    config: ModelConfig
    available: Dict[int, Servable] = dataclasses.field(default_factory=dict)
    status: Dict[int, VersionStatus] = dataclasses.field(default_factory=dict)
    failed: Dict[int, _Failure] = dataclasses.field(default_factory=dict)


_GC_LOCK = threading.Lock()


def freeze_heap() -> None:
    """Collects garbage, then moves every object alive now out of the collector's reach (``gc.freeze``).

    A loaded TensorFlow model leaves hundreds of thousands of long-lived Python objects; each full
    (generation 2) collection walked them all, stopping every serving thread for about 0.2 s (seen
    as the p99 of 128 clients). Called after each load and unload: ``gc.unfreeze`` first, so that the
    cycles of an unloaded version are still collected.
    """
    with _GC_LOCK:
        gc.unfreeze()
        gc.collect()
        gc.freeze()


class ModelManager:
    """Serves the models of ``configs``: polling, loading, routing, unloading.

    Args:
      configs: the models (see :mod:`serving.config`).
      poll_seconds: how often base paths (and ``config_file``) are re-read; 0 disables polling.
      batch_options: server-side batching of each signature.
      config_file: the model config file the configs came from; re-read when it changes, so that
        models added to it (e.g. by ``tfrec export``) are served without a restart.
      warmup: replay warm-up requests before a version takes traffic.
      limits: request limits checked on every call (rows, ``exclude_items`` length).
      max_num_load_retries: loads retried after a failure (TF Serving's default 5).
      load_retry_interval_micros: wait between tries (TF Serving's default 60 s).
    """

    def __init__(self, configs: Sequence[ModelConfig], poll_seconds: float = 1.0,
                 batch_options: BatchOptions = BatchOptions(), config_file: Optional[Path] = None,
                 warmup: bool = True, limits: RequestLimits = RequestLimits(), max_num_load_retries: int = 5,
                 load_retry_interval_micros: int = 60_000_000):
        if max_num_load_retries < 0 or load_retry_interval_micros < 0:
            raise ValueError(f"max_num_load_retries and load_retry_interval_micros must be >= 0, got "
                             f"{max_num_load_retries} and {load_retry_interval_micros}")
        self.limits = limits
        self.max_num_load_retries = int(max_num_load_retries)
        self.load_retry_interval = load_retry_interval_micros / 1e6
        self.poll_seconds = float(poll_seconds)
        self.batch_options = batch_options
        self.config_file = Path(config_file) if config_file else None
        self._config_mtime = self._mtime(self.config_file) if self.config_file else None
        self.warmup = warmup
        self._lock = threading.RLock()
        self._models: Dict[str, _Model] = {c.name: _Model(c) for c in configs}
        self._stop = threading.Event()
        self._poll_lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._unloaders: List[threading.Thread] = []

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> "ModelManager":
        """Loads what is on disk now (synchronously), then starts the polling thread."""
        import tensorflow  # noqa: F401  (load TF once before any thread does)

        register_scann_ops()
        self.poll_once()
        if self.poll_seconds > 0:
            self._thread = threading.Thread(target=self._poll_loop, name="model-poller", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stops polling and unloads every version once its in-flight requests finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        with self._lock:
            servables = [s for m in self._models.values() for s in m.available.values()]
            for m in self._models.values():
                m.available.clear()
        for s in servables:
            s.wait_idle(timeout)
            s.close()

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll_once()
            except Exception:  # noqa: BLE001 - a polling error must not stop the server
                logger.exception("polling the model base paths failed")

    @staticmethod
    def _mtime(path: Optional[Path]) -> Optional[float]:
        try:
            return path.stat().st_mtime if path else None
        except OSError:
            return None

    def _reload_config(self) -> None:
        mtime = self._mtime(self.config_file)
        if mtime is None or mtime == self._config_mtime:
            return
        try:
            configs = parse_config_file(self.config_file)
        except ValueError as e:
            logger.error("ignoring the changed model config file: %s", e)
            self._config_mtime = mtime
            return
        self._config_mtime = mtime
        with self._lock:
            for c in configs:
                if c.name not in self._models:
                    logger.info("model config: now serving %s from %s", c.name, c.base_path)
                    self._models[c.name] = _Model(c)
                elif self._models[c.name].config != c:
                    self._models[c.name].config = c
            removed = [n for n in self._models if n not in {c.name for c in configs}]
        for n in removed:
            logger.info("model config: %s removed", n)
            self._retire(n, keep=())
            with self._lock:
                self._models.pop(n, None)

    def poll_once(self) -> None:
        """One pass: re-read the config file, load wanted versions, unload unwanted ones."""
        with self._poll_lock:
            if self.config_file is not None:
                self._reload_config()
            for name in list(self._models):
                try:
                    self._sync_model(name)
                except Exception:  # noqa: BLE001 - one broken model must not stop the others
                    logger.exception("syncing model %s failed", name)

    def _disk_versions(self, model: _Model) -> Dict[int, Path]:
        from tfrec.export.layout import list_versions

        base = model.config.base_path
        return {v: base / str(v) for v in list_versions(base)}

    def _sync_model(self, name: str) -> None:
        with self._lock:
            model = self._models.get(name)
        if model is None:
            return
        on_disk = self._disk_versions(model)
        while True:
            # a failed version is skipped until its retry is due (or its saved_model.pb changes), so the
            # newest loadable versions are served meanwhile
            usable = []
            now = time.monotonic()
            for v, p in on_disk.items():
                failed = model.failed.get(v)
                if (failed is not None and v not in model.available and now < failed.retry_at
                        and failed.mtime == self._mtime(p / "saved_model.pb")):
                    continue
                usable.append(v)
            wanted = model.config.policy.choose(usable)
            new_failure = False
            for v in wanted:
                if v in model.available:
                    continue
                if not self._load(model, v, on_disk[v]):
                    new_failure = True
            if not new_failure:
                break
        keep = [v for v in wanted if v in model.available]
        if keep or not wanted:
            self._retire(name, keep=keep)
        for v in list(model.status):
            if v not in on_disk and model.status[v].state == END and v not in model.available:
                del model.status[v]

    def _load(self, model: _Model, version: int, path: Path) -> bool:
        name = model.config.name
        with self._lock:
            model.status[version] = VersionStatus(version, LOADING)
        t0 = time.perf_counter()
        try:
            servable = Servable(name, version, path, self.batch_options, self.limits)
            n_warm = servable.warmup() if self.warmup else 0
        except Exception as e:  # noqa: BLE001 - reported in the version status
            msg = str(e).strip().split("\n")[0] or type(e).__name__
            if "Op type not registered" in msg and "Scann" in msg:
                msg += " (this model needs the ScaNN ops: serve it with `tfrec serve`, which imports scann)"
            code = error_code_of(e)
            mtime = self._mtime(path / "saved_model.pb")
            with self._lock:
                prev = model.failed.get(version)
                attempts = (prev.attempts if prev is not None and prev.mtime == mtime else 0) + 1
                retry = attempts <= self.max_num_load_retries
                retry_at = time.monotonic() + self.load_retry_interval if retry else float("inf")
                model.failed[version] = _Failure(mtime, attempts, retry_at)
                if retry:
                    model.status[version] = VersionStatus(version, LOADING, code, f"{msg} (retry {attempts} of "
                                                          f"{self.max_num_load_retries} in {self.load_retry_interval:g} s)")
                else:
                    model.status[version] = VersionStatus(version, END, code, msg)
            logger.error("model %s version %d failed to load (attempt %d of %d): %s", name, version, attempts,
                         self.max_num_load_retries + 1, msg)
            return False
        with self._lock:
            model.available[version] = servable
            model.status[version] = VersionStatus(version, AVAILABLE)
            model.failed.pop(version, None)
        freeze_heap()
        logger.info("model %s version %d available (loaded in %.2f s, %d warm-up requests)", name, version,
                    time.perf_counter() - t0, n_warm)
        return True

    def _retire(self, name: str, keep: Sequence[int]) -> None:
        with self._lock:
            model = self._models.get(name)
            if model is None:
                return
            retired = [s for v, s in model.available.items() if v not in keep]
            for s in retired:
                del model.available[s.version]
                model.status[s.version] = VersionStatus(s.version, UNLOADING)
        for s in retired:
            t = threading.Thread(target=self._unload, args=(model, s), name=f"unload-{name}-{s.version}", daemon=True)
            t.start()
            self._unloaders.append(t)
        self._unloaders = [t for t in self._unloaders if t.is_alive()]

    def _unload(self, model: _Model, servable: Servable) -> None:
        servable.wait_idle()
        servable.close()
        with self._lock:
            model.status[servable.version] = VersionStatus(servable.version, END)
        freeze_heap()
        logger.info("model %s version %d unloaded", servable.name, servable.version)

    # -- requests ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def servable(self, name: str, version: Optional[int] = None, label: Optional[str] = None) -> Iterator[Servable]:
        """Holds a version for the duration of one request (it is not unloaded meanwhile).

        Raises:
          ServingError: NOT_FOUND ``Servable not found for request: Latest(<name>)`` (or ``Specific``).
        """
        s = self.acquire(name, version, label)
        try:
            yield s
        finally:
            s.release()

    def acquire(self, name: str, version: Optional[int] = None, label: Optional[str] = None) -> Servable:
        """Like :meth:`servable` for a request that ends on another thread: call ``release()`` once done."""
        with self._lock:
            model = self._models.get(name)
            if label is not None:
                version = self._resolve_label(model, name, label)
            s = None
            if model is not None and model.available:
                s = model.available.get(version) if version is not None else model.available[max(model.available)]
            if s is None:
                raise servable_not_found(name, version)
            s._enter()
        return s

    def predict(self, name: str, inputs: Mapping[str, np.ndarray], signature_name: str = DEFAULT_SIGNATURE,
                version: Optional[int] = None, output_filter: Sequence[str] = ()) -> Tuple[int, Dict[str, np.ndarray]]:
        """Runs one request; returns ``(version used, outputs)``."""
        with self.servable(name, version) as s:
            return s.version, s.predict(signature_name, inputs, output_filter)

    @staticmethod
    def _resolve_label(model: Optional[_Model], name: str, label: str) -> int:
        if model is None:
            raise servable_not_found(name, label=label)
        version = model.config.version_labels.get(label)
        if version is None:
            known = ", ".join(sorted(model.config.version_labels)) or "none"
            raise invalid(f"Unrecognized servable version label: {label} (model {name} has labels: {known})")
        return version

    def status(self, name: str, version: Optional[int] = None, label: Optional[str] = None) -> List[VersionStatus]:
        """``model_version_status`` entries, newest first (TF Serving's order).

        Raises:
          ServingError: NOT_FOUND when the model (or version) is unknown; INVALID_ARGUMENT for an
            unknown label.
        """
        with self._lock:
            model = self._models.get(name)
            if label is not None:
                version = self._resolve_label(model, name, label)
            if model is None or not model.status:
                raise not_found(f"Could not find any versions of model {name}")
            if version is not None:
                if version not in model.status:
                    raise not_found(f"Could not find version {version} of model {name}")
                return [dataclasses.replace(model.status[version])]
            return [dataclasses.replace(model.status[v]) for v in sorted(model.status, reverse=True)]

    def model_names(self) -> List[str]:
        with self._lock:
            return sorted(self._models)

    def versions(self, name: str) -> List[int]:
        """Versions of ``name`` taking traffic now."""
        with self._lock:
            model = self._models.get(name)
            return sorted(model.available) if model else []

    def wait_until_available(self, name: str, version: Optional[int] = None, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            vs = self.versions(name)
            if vs and (version is None or version in vs):
                return True
            time.sleep(0.02)
        return False
