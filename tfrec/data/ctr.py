"""CTR tables: Criteo and any CSV with a declared schema (binary label, numeric and categorical columns).

Example:
  >>> from tfrec.data import CTRSchema, load_ctr_csv
  >>> schema = CTRSchema(label="clicked", numeric=["price"], categorical=["site", "device"])
  >>> data = load_ctr_csv("clicks.csv", schema=schema)  # doctest: +SKIP
  >>> data.frame.dtypes                                  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import pandas as pd

from tfrec.data._io import Field, data_line, first_line, read_table, sniff_sep
from tfrec.data.errors import DataFormatError


@dataclasses.dataclass(frozen=True)
class CTRSchema:
    """Which columns of a CTR table are the label, the numeric and the categorical features.

    Args:
      label: name of the 0/1 click column.
      numeric: names of the numeric feature columns (empty field = missing = NaN).
      categorical: names of the categorical feature columns (kept as text).
    """

    label: str
    numeric: Tuple[str, ...] = ()
    categorical: Tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "numeric", tuple(self.numeric))
        object.__setattr__(self, "categorical", tuple(self.categorical))
        names = [self.label, *self.numeric, *self.categorical]
        if not all(isinstance(n, str) and n for n in names):
            raise ValueError(f"CTRSchema column names must be non-empty strings; received {names!r}.")
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            raise ValueError(
                f"CTRSchema lists column(s) {dups} more than once (label, numeric and categorical must be "
                f"disjoint). Received: {self!r}."
            )

    @property
    def features(self) -> Tuple[str, ...]:
        """Numeric then categorical feature names."""
        return self.numeric + self.categorical

    @property
    def columns(self) -> Tuple[str, ...]:
        """Label then feature names."""
        return (self.label,) + self.features

    def to_config(self) -> Dict[str, Any]:
        """JSON-able dict; ``CTRSchema.from_config(schema.to_config()) == schema``."""
        return {"label": self.label, "numeric": list(self.numeric), "categorical": list(self.categorical)}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "CTRSchema":
        return cls(**config)


CRITEO_SCHEMA = CTRSchema(
    label="label",
    numeric=tuple(f"I{i}" for i in range(1, 14)),
    categorical=tuple(f"C{i}" for i in range(1, 27)),
)


@dataclasses.dataclass
class CTRData:
    """A CTR table read with a :class:`CTRSchema`.

    Attributes:
      frame: one row per impression, columns ``schema.columns`` in that order: the label int64 (0/1),
        numeric features float64 (NaN = missing), categorical features str (the ``missing`` marker,
        "" by default, where the field was empty).
      schema: the schema used.
      path: the file read.
      missing: the marker that stands for an empty categorical field.
    """

    frame: pd.DataFrame
    schema: CTRSchema
    path: Optional[Path] = None
    missing: str = ""

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def labels(self) -> np.ndarray:
        """[n] int64 labels."""
        return self.frame[self.schema.label].to_numpy(np.int64)

    def numeric_matrix(self) -> np.ndarray:
        """[n, len(schema.numeric)] float64 matrix (NaN = missing)."""
        return self.frame[list(self.schema.numeric)].to_numpy(np.float64)

    def __repr__(self) -> str:
        ctr = float(self.labels.mean()) if len(self) else float("nan")
        return (
            f"CTRData({len(self)} rows, CTR {ctr:.3f}, {len(self.schema.numeric)} numeric, "
            f"{len(self.schema.categorical)} categorical, path={str(self.path) if self.path else None!r})"
        )


def load_ctr_csv(
    path: Union[str, Path],
    schema: CTRSchema,
    *,
    sep: Optional[str] = None,
    header: bool = True,
    missing: str = "",
    encoding: str = "utf-8",
) -> CTRData:
    """Reads a CTR table with a declared schema.

    Args:
      path: the file.
      schema: label, numeric and categorical column names. With a header these are header names
        (other columns are ignored); without one the file must hold exactly ``schema.columns`` in
        that order.
      sep: field separator; None detects the first of tab, comma, semicolon, pipe in the first line.
      header: whether the first non-blank line is a header.
      missing: marker stored for an empty categorical field.
      encoding: text encoding of the file.

    Returns:
      CTRData (see its attributes for the dtypes).

    Raises:
      DataFormatError: empty file, missing header column, wrong number of fields, a label that is
        not 0 or 1, or a numeric field that is not a number (names file and line).
    """
    if not isinstance(schema, CTRSchema):
        raise TypeError(f"load_ctr_csv(schema=...) needs a CTRSchema; received {type(schema).__name__}: {schema!r}.")
    path = Path(path)
    sep = sep or sniff_sep(path, encoding=encoding)
    fields = [Field(schema.label, "float")]
    fields += [Field(n, "float?") for n in schema.numeric] + [Field(n, "str") for n in schema.categorical]
    frame = read_table(path, fields, sep=sep, header=header, encoding=encoding, quoted=sep == ",")
    label = frame[schema.label]
    bad = ~label.isin([0.0, 1.0]).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        number, text = data_line(path, row, header=header, sep=sep, encoding=encoding)
        raise DataFormatError(
            path, f"label {schema.label!r} is {label.iloc[row]}; expected 0 or 1.", line=number, content=text,
            hint="CTR labels are clicks: 1 = clicked, 0 = not clicked.",
        )  # fmt: skip
    frame[schema.label] = label.to_numpy(np.int64)
    for name in schema.numeric:
        frame[name] = frame[name].astype(np.float64)
    if missing != "":
        for name in schema.categorical:
            frame[name] = frame[name].mask(frame[name] == "", missing)
    return CTRData(frame=frame, schema=schema, path=path, missing=missing)


def load_criteo(path: Union[str, Path], *, sep: Optional[str] = None, missing: str = "",
                encoding: str = "utf-8") -> CTRData:
    """Reads Criteo display-ads data: ``label, I1..I13, C1..C26``.

    Accepts the CSV with header ``label,I1,...,C26`` (the shared ``criteo-10k`` sample) and the
    original headerless tab-separated ``train.txt`` (same 40 columns in the same order); the header
    is detected from the first field of the first line.

    Args:
      path: the file.
      sep: field separator; None detects tab or comma.
      missing: marker stored for an empty categorical field ("" by default).
      encoding: text encoding of the file.

    Returns:
      CTRData with ``schema == CRITEO_SCHEMA``: label int64, I1..I13 float64 (NaN = missing),
      C1..C26 str (hashed categories; ``missing`` where empty).
    """
    path = Path(path)
    sep = sep or sniff_sep(path, candidates=("\t", ","), encoding=encoding)
    _, line = first_line(path, encoding)
    header = line.split(sep)[0].strip().strip('"') == CRITEO_SCHEMA.label
    return load_ctr_csv(path, CRITEO_SCHEMA, sep=sep, header=header, missing=missing, encoding=encoding)
