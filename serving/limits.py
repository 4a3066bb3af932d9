"""Request limits of the model server (what one client may ask of it), with TF Serving's flag names.

TF Serving rejects a request with more rows than the batching ``max_batch_size`` with
``Task size <n> is larger than maximum input batch size <max>`` (INVALID_ARGUMENT, HTTP 400);
:class:`RequestLimits` applies the same rule to every request (batched or not), caps the length of
the ``exclude_items`` input, the request body, the time a client may take to send its headers and
body, the time one request may run, and the number of open connections.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Optional

import numpy as np

from tfrec.serving.errors import ServingError, invalid

EXCLUDE_INPUT = "exclude_items"


@dataclasses.dataclass(frozen=True)
class RequestLimits:
    """Limits applied to every REST and gRPC request.

    Attributes:
      max_batch_size: rows per request (``--max-batch-size``, default 1024); more is a 400 with
        TF Serving's ``Task size ... is larger than maximum input batch size ...``. None: no cap.
      max_exclude_items: items per row of the ``exclude_items`` input (default 10,000). None: no cap.
      max_body_bytes: REST request body (and gRPC message) size (default 64 MiB); larger is a 413.
      header_timeout_s: seconds a REST client may take to send a request's headers (default 10); the
        connection is closed after that (a client that trickles bytes is cut off).
      body_timeout_s: seconds a REST client may take to send the body once the headers are in (default 30).
      request_timeout_s: seconds one request may run in the model (default 30); then 504
        ``DEADLINE_EXCEEDED``. None: no limit.
      max_connections: open REST connections (default 4096); further ones are closed at once.
      keep_alive_s: an idle keep-alive connection is closed after this many seconds (default 60).
      workers: threads running REST requests' model calls (default 64); requests beyond wait.
    """

    max_batch_size: Optional[int] = 1024
    max_exclude_items: Optional[int] = 10_000
    max_body_bytes: int = 64 * 1024 * 1024
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    request_timeout_s: Optional[float] = 30.0
    max_connections: int = 4096
    keep_alive_s: float = 60.0
    workers: int = 64

    def __post_init__(self):
        for name in ("max_batch_size", "max_exclude_items", "request_timeout_s"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise ValueError(f"RequestLimits.{name} must be positive or None, got {v!r}")
        for name in ("max_body_bytes", "header_timeout_s", "body_timeout_s", "max_connections", "keep_alive_s",
                     "workers"):
            v = getattr(self, name)
            if v <= 0:
                raise ValueError(f"RequestLimits.{name} must be positive, got {v!r}")

    def check_rows(self, rows: int) -> None:
        """Raises INVALID_ARGUMENT (TF Serving's wording) when a request has too many rows."""
        if self.max_batch_size is not None and rows > self.max_batch_size:
            raise invalid(f"Task size {rows} is larger than maximum input batch size {self.max_batch_size}")

    def check_inputs(self, inputs: Mapping[str, np.ndarray], batched: Mapping[str, bool]) -> None:
        """Checks the rows of batched inputs and the length of ``exclude_items``.

        Args:
          inputs: input name -> array.
          batched: input name -> whether its first dimension is the batch.
        """
        for name, arr in inputs.items():
            if batched.get(name) and np.ndim(arr):
                self.check_rows(int(np.shape(arr)[0]))
        exclude = inputs.get(EXCLUDE_INPUT)
        if exclude is not None and self.max_exclude_items is not None and np.ndim(exclude) >= 1:
            n = int(np.shape(exclude)[-1])
            if n > self.max_exclude_items:
                raise invalid(f"input '{EXCLUDE_INPUT}' has {n} items per row, more than the limit of "
                              f"{self.max_exclude_items} (--max-exclude-items)")

    def check_body(self, size: int) -> None:
        """Raises RESOURCE_EXHAUSTED (HTTP 413 on REST) for a body over ``max_body_bytes``."""
        if size > self.max_body_bytes:
            raise ServingError("RESOURCE_EXHAUSTED", f"Request body of {size} bytes exceeds the limit of "
                                                     f"{self.max_body_bytes} bytes (--max-body-bytes)")
