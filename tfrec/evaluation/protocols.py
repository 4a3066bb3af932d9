"""Evaluation protocols: how a dataset is split and how recommendations are ranked.

=================  ==========================================================================
name               what it does
=================  ==========================================================================
``msr_stratified`` Microsoft Recommenders' stratified split (per-user 75/25, seed 42);
                   full-catalog top-k with seen items removed.
``random``         random ratio split (``ratio``, default 0.8, TFRS tutorials); full catalog.
``temporal``       per-user temporal split (``ratio``, default 0.8); full catalog.
``leave_one_out``  one interaction of each user held out (``pick``: ``latest``, default, or
                   ``random``); full catalog; adds ARHR, cumulative and rating hit rates.
``ncf``            leave-one-out + ``num_negatives`` (default 99) sampled negatives per test user
                   (He et al. 2017); the held-out item is ranked among its negatives.
``canonical``      the ml-100k ``u1..u5``/``ua``/``ub`` files (``split``, default ``u1``) read
                   from the data folder; full catalog.
``kfold``          ``k``-fold (default 5) random folds; metrics are the mean over folds.
=================  ==========================================================================
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any, Dict, List, Optional

import pandas as pd

from tfrec import splits
from tfrec.data.training_data import Columns

PROTOCOLS = ("msr_stratified", "random", "temporal", "leave_one_out", "ncf", "canonical", "kfold")

_PARAMS = {
    "msr_stratified": {"ratio": 0.75, "seed": 42},
    "random": {"ratio": 0.8, "seed": 42},
    "temporal": {"ratio": 0.8},
    "leave_one_out": {"seed": 42, "pick": "latest"},
    "ncf": {"num_negatives": 99, "seed": 42, "pick": "latest"},
    "canonical": {"split": "u1"},
    "kfold": {"k": 5, "seed": 42},
}


@dataclasses.dataclass
class Protocol:
    """A named protocol and its parameters (see the module docstring for the names).

    Raises:
      ValueError: an unknown name (the message lists the valid ones) or an unknown parameter.
    """

    name: str = "msr_stratified"
    params: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.name not in PROTOCOLS:
            close = difflib.get_close_matches(self.name, PROTOCOLS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"Unknown protocol {self.name!r}.{hint} Valid protocols: {', '.join(PROTOCOLS)}.")
        allowed = _PARAMS[self.name]
        unknown = sorted(set(self.params) - set(allowed))
        if unknown:
            raise ValueError(
                f"Unknown parameter(s) {unknown} for protocol {self.name!r}; valid parameters: {sorted(allowed)}."
            )
        self.params = {**allowed, **self.params}

    @property
    def sampled(self) -> bool:
        """True when ranking is against sampled negatives instead of the full catalog."""
        return self.name == "ncf"

    @property
    def leave_one_out(self) -> bool:
        return self.name in ("leave_one_out", "ncf")

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}({args})"

    def split(self, frame: pd.DataFrame, columns: Columns = Columns(), data_path: Optional[Path] = None) -> List[splits.Split]:
        """Splits ``frame`` (or reads the canonical files from ``data_path``) into one or more folds."""
        p = self.params
        kw = {"user_col": columns.user, "item_col": columns.item}
        if columns.rating is not None:
            kw["rating_col"] = columns.rating
        if columns.time is not None:
            kw["time_col"] = columns.time
        tkw = kw
        if self.name == "msr_stratified":
            return [splits.stratified_split(frame, ratio=p["ratio"], seed=p["seed"], **kw)]
        if self.name == "random":
            return [splits.random_split(frame, ratio=p["ratio"], seed=p["seed"], **kw)]
        if self.name == "temporal":
            return [splits.temporal_split(frame, ratio=p["ratio"], **tkw)]
        if self.name == "leave_one_out":
            return [splits.leave_one_out(frame, seed=p["seed"], pick=p["pick"], **tkw)]
        if self.name == "ncf":
            return [splits.ncf_split(frame, num_negatives=p["num_negatives"], seed=p["seed"], pick=p["pick"], **tkw)]
        if self.name == "kfold":
            return list(splits.kfold_split(frame, k=p["k"], seed=p["seed"], **kw))
        # canonical
        if data_path is None:
            raise ValueError("Protocol 'canonical' reads the u1..u5/ua/ub files: pass the ml-100k folder as data_path / --data.")
        split = splits.canonical_ml100k(data_path, p["split"])
        return [split]
