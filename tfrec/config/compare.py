"""The ``compare`` run of ``tfrec bench``: tfrec algorithms beside a reference library on one split.

Example (a run of ``configs/bench/course_parity.yaml``)::

    - compare:
        reference: surprise
        data: {path: ../shared/data/ml-latest-small}
        protocol: {name: random, params: {ratio: 0.75, seed: 42}}
        algorithms:
          - name: item_knn
            label: "item KNNBasic cosine"
            params: {similarity: cosine, variant: basic}
            surprise: {class: KNNBasic, sim_options: {name: cosine, user_based: false}}

Each algorithm is a ``tfrec evaluate`` entry (``name``, ``label``, ``params``, ``training``, ``data``)
plus its counterpart in the reference library (``surprise``: the class and its keyword arguments).
Both are fitted on the same training rows and predict the same held-out rows; the row reports both
RMSEs and how many times faster tfrec's fit + predict was.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal

from pydantic import Field

from tfrec.config.evaluate import AlgorithmConfig, EvaluateDataConfig, ProtocolConfig
from tfrec.config.section import Fail, Section

__all__ = ["CompareAlgorithmConfig", "CompareConfig"]


class CompareAlgorithmConfig(AlgorithmConfig):
    """One compared algorithm: a ``tfrec evaluate`` entry and its reference counterpart.

    Attributes:
      surprise: the Surprise algorithm: ``{class: <KNNBasic, KNNWithMeans, KNNWithZScore, KNNBaseline,
        SVD, SVDpp, ...>, <its keyword arguments>}``. Required.
    """

    surprise: Dict[str, Any]


class CompareConfig(Section):
    """A ``compare`` run: see the module docstring.

    Attributes:
      reference: the reference library; only "surprise" (``scikit-surprise``, the ``bench`` extra).
      data: the ratings (as ``tfrec evaluate``'s ``data``).
      protocol: the split (as ``tfrec evaluate``'s ``protocol``); a protocol of one fold.
      algorithms: the compared pairs, in row order (at least one).
      repeats: each side is fitted and timed this many times; the fastest time counts (the RMSEs
        are those of the first). Default 1.
    """

    reference: Literal["surprise"] = "surprise"
    data: EvaluateDataConfig = Field(default_factory=EvaluateDataConfig)
    protocol: ProtocolConfig = Field(default_factory=ProtocolConfig)
    algorithms: List[CompareAlgorithmConfig] = Field(default_factory=list)
    repeats: int = Field(1, gt=0)

    def check(self, fail: Fail) -> None:
        if not self.algorithms:
            fail("algorithms", "config key 'algorithms' is empty; name at least one algorithm and its reference.")
        for i, spec in enumerate(self.algorithms):
            if spec.name is None:
                fail(f"algorithms[{i}]", f"config key 'algorithms[{i}]' needs a 'name' (a registered algorithm).")
            if "class" not in spec.surprise:
                fail(f"algorithms[{i}].surprise", f"config key 'algorithms[{i}].surprise' needs a 'class' (the "
                                                  "Surprise algorithm, e.g. KNNBaseline or SVD).")
