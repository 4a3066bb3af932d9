"""The model server: REST + gRPC front ends over one :class:`~serving.manager.ModelManager`.

:class:`ModelServer` is what ``tfrec serve --engine builtin`` runs; :func:`tfserving_command` builds
the command line of a real ``tensorflow_model_server`` for ``--engine tfserving`` (and ``auto``
when that binary is on PATH).

Example (in-process, ephemeral ports)::

    server = ModelServer(configs_from_base_path("models"), rest_port=0, grpc_port=0).start()
    print(server.rest_url, server.grpc_target)
    ...
    server.stop()
"""

from __future__ import annotations

import logging
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import List, Optional, Sequence

from tfrec.serving.batching import BatchOptions
from tfrec.serving.config import ModelConfig
from tfrec.serving.limits import RequestLimits
from tfrec.serving.manager import ModelManager

logger = logging.getLogger("tfrec.serving")


REST_ENGINES = ("uvicorn", "stdlib")


class ModelServer:
    """REST (uvicorn) and gRPC (thread pool) servers over one model manager.

    Args:
      configs: models to serve.
      rest_port: REST port (0 picks a free one; None disables REST).
      grpc_port: gRPC port (0 picks a free one; None disables gRPC).
      host: interface to bind (TF Serving binds all: ``0.0.0.0``).
      poll_seconds: base-path polling period (0 disables polling).
      batch_options: server-side batching.
      config_file: re-read when it changes (see :class:`ModelManager`).
      grpc_workers: gRPC thread-pool size.
      warmup: replay warm-up requests on load.
      limits: request limits (rows, ``exclude_items``, body size, deadlines, connections).
      max_num_load_retries: loads retried after a failure (TF Serving's flag; default 5).
      load_retry_interval_micros: wait between load tries (TF Serving's flag; default 60 s).
      rest_engine: ``uvicorn`` (default) or ``stdlib`` (the standard library's ``ThreadingHTTPServer``,
        without header deadline or connection limit; kept for side-by-side measurement).
    """

    def __init__(self, configs: Sequence[ModelConfig], rest_port: Optional[int] = 8501,
                 grpc_port: Optional[int] = 8500, host: str = "0.0.0.0", poll_seconds: float = 1.0,
                 batch_options: BatchOptions = BatchOptions(), config_file: Optional[Path] = None,
                 grpc_workers: int = 16, warmup: bool = True, limits: RequestLimits = RequestLimits(),
                 max_num_load_retries: int = 5, load_retry_interval_micros: int = 60_000_000,
                 rest_engine: str = "uvicorn"):
        if rest_engine not in REST_ENGINES:
            raise ValueError(f"rest_engine must be one of {REST_ENGINES}, got {rest_engine!r}")
        self.host = host
        self.limits = limits
        self.rest_engine = rest_engine
        self.manager = ModelManager(configs, poll_seconds=poll_seconds, batch_options=batch_options,
                                    config_file=config_file, warmup=warmup, limits=limits,
                                    max_num_load_retries=max_num_load_retries,
                                    load_retry_interval_micros=load_retry_interval_micros)
        self._rest_port = rest_port
        self._grpc_port = grpc_port
        self._grpc_workers = grpc_workers
        self.rest = None
        self.grpc = None
        self.rest_port: Optional[int] = None
        self.grpc_port: Optional[int] = None
        self._stopped = threading.Event()

    @property
    def rest_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.rest_port}"

    @property
    def grpc_target(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"{host}:{self.grpc_port}"

    def start(self) -> "ModelServer":
        """Loads the models on disk, then opens the ports (so a ready server can answer at once)."""
        from tfrec.serving.grpc_service import make_grpc_server
        from tfrec.serving.rest import RestApp

        self.manager.start()
        try:
            if self._rest_port is not None:
                address = (self.host, int(self._rest_port))
                if self.rest_engine == "stdlib":
                    from tfrec.serving.rest_stdlib import StdlibRestServer

                    self.rest = StdlibRestServer(address, RestApp(self.manager, self.limits))
                else:
                    from tfrec.serving.rest_server import RestServer

                    self.rest = RestServer(address, RestApp(self.manager, self.limits))
                self.rest.start()
                self.rest_port = self.rest.port
            if self._grpc_port is not None:
                host = f"[{self.host}]" if ":" in self.host else self.host
                self.grpc, self.grpc_port = make_grpc_server(self.manager, f"{host}:{int(self._grpc_port)}",
                                                             self._grpc_workers, self.limits)
                self.grpc.start()
        except Exception:
            self.stop(drain_seconds=0)
            raise
        return self

    def stop(self, drain_seconds: float = 30.0) -> bool:
        """Stops accepting requests, finishes in-flight ones (up to ``drain_seconds``), unloads models.

        Returns True when every in-flight request finished in time.
        """
        if self._stopped.is_set():
            return True
        self._stopped.set()
        ok = True
        grpc_done = None
        if self.grpc is not None:
            grpc_done = self.grpc.stop(grace=drain_seconds)  # rejects new RPCs, lets running ones finish
        if self.rest is not None:
            ok = self.rest.drain(timeout=drain_seconds)
            self.rest.close()
        if grpc_done is not None:
            ok = grpc_done.wait(timeout=drain_seconds + 1) and ok
        self.manager.stop(timeout=drain_seconds)
        return ok

    def serve_until_signal(self, drain_seconds: float = 30.0) -> int:
        """Blocks until SIGTERM or SIGINT, then drains (see :meth:`stop`). Returns 0 on a clean drain."""
        stop = threading.Event()
        received: List[int] = []

        def handler(signum, _frame):
            received.append(signum)
            stop.set()

        old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not stop.wait(0.5):
                pass
        finally:
            for s, h in old.items():
                signal.signal(s, h)
        name = signal.Signals(received[0]).name if received else "signal"
        inflight = self.rest.inflight if self.rest is not None else 0
        print(f"tfrec serve: {name} received; draining {inflight} in-flight REST request(s) "
              f"(up to {drain_seconds:.0f} s)", flush=True)
        t0 = time.perf_counter()
        ok = self.stop(drain_seconds=drain_seconds)
        print(f"tfrec serve: stopped in {time.perf_counter() - t0:.2f} s"
              + ("" if ok else " (some requests did not finish in time)"), flush=True)
        return 0 if ok else 1


def find_tensorflow_model_server() -> Optional[str]:
    """Path of ``tensorflow_model_server`` on PATH, or None."""
    return shutil.which("tensorflow_model_server")


def tfserving_command(binary: str, rest_port: int, grpc_port: int, model_config: Optional[Path] = None,
                      model_base_path: Optional[Path] = None, model_name: Optional[str] = None,
                      poll_seconds: float = 1.0, batch_options: BatchOptions = BatchOptions()) -> List[str]:
    """The ``tensorflow_model_server`` command line equivalent to a ``tfrec serve`` invocation."""
    cmd = [binary, f"--port={grpc_port}", f"--rest_api_port={rest_port}",
           f"--file_system_poll_wait_seconds={max(1, int(round(poll_seconds)))}"]
    if model_config is not None:
        cmd += [f"--model_config_file={model_config}",
                f"--model_config_file_poll_wait_seconds={max(1, int(round(poll_seconds)))}"]
    else:
        cmd += [f"--model_name={model_name}", f"--model_base_path={Path(model_base_path).resolve()}"]
    if batch_options.enabled:
        cmd.append("--enable_batching=true")
    return cmd
