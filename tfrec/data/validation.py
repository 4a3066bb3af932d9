"""Checks of loaded ratings: values inside the rating scale, one rating per (user, item).

Both run on a ratings frame still in file order (row ``i`` is the file's ``i``-th data line), so an
error names the file and the line. Duplicate (user, item) rows are an error by default; a policy
keeps the last one or their mean instead.

Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"user_id": ["1", "1", "2"], "movie_id": ["5", "5", "5"],
    ...                       "user_rating": [4.0, 2.0, 3.0], "timestamp": [10, 20, 30]})
    >>> resolve_duplicates(frame, "mean", locate=None)["user_rating"].tolist()
    [3.0, 3.0]
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

DUPLICATE_POLICIES: Tuple[str, ...] = ("error", "keep-last", "mean")
KEYS = ("user_id", "movie_id")

# locate(row, problem, hint) raises a DataFormatError naming the file and line of data row ``row``
Locate = Callable[[int, str, str], None]


def check_policy(duplicates: str) -> None:
    """Raises ValueError for an unknown duplicates policy (lists the valid ones)."""
    if duplicates not in DUPLICATE_POLICIES:
        raise ValueError(f"Unknown duplicates policy {duplicates!r}; expected one of {list(DUPLICATE_POLICIES)} "
                         "('error': refuse the file, 'keep-last': keep each pair's last line, 'mean': their mean "
                         "rating at the last line's position and time).")


def check_rating_scale(frame: pd.DataFrame, scale: Optional[Sequence[float]], locate: Locate,
                       column: str = "user_rating") -> None:
    """Raises (through ``locate``) at the first rating outside ``scale`` = (low, high), inclusive.

    Args:
      frame: ratings in file order.
      scale: (low, high), or None to skip the check.
      locate: raises the error for a data row (see ``Locate``).
      column: the rating column.
    """
    if scale is None:
        return
    low, high = (float(v) for v in scale)
    if not low <= high:
        raise ValueError(f"rating_scale must be (low, high) with low <= high. Received: rating_scale={tuple(scale)}.")
    values = frame[column].to_numpy(np.float64)
    bad = ~((values >= low) & (values <= high))  # NaN is outside too
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        locate(row, f"rating {values[row]:g} is outside the rating scale {low:g}..{high:g}"
                    f"{f' ({int(bad.sum())} ratings outside in all)' if bad.sum() > 1 else ''}.",
               "Fix that line, or pass the scale of your data (rating_scale=(low, high); rating_scale=None "
               "to skip the check).")


def resolve_duplicates(frame: pd.DataFrame, policy: str, locate: Optional[Locate],
                       keys: Sequence[str] = KEYS, column: str = "user_rating",
                       line_of: Optional[Callable[[int], int]] = None) -> pd.DataFrame:
    """Applies a duplicates policy to a ratings frame in file order.

    Args:
      frame: ratings; row ``i`` is the ``i``-th data line.
      policy: "error" (raise through ``locate`` at the first repeated pair, naming the earlier line),
        "keep-last" (each pair's last line), or "mean" (the pair's mean rating, at its last line with
        the latest timestamp).
      locate: raises the error for a data row (see ``Locate``); needed with "error".
      keys: the columns that identify a pair.
      column: the rating column.
      line_of: 1-based file line of a data row, to name the earlier line in the error; None: the
        data row number is named instead.

    Returns:
      the frame without repeated pairs, index reset (unchanged when there are none).
    """
    check_policy(policy)
    keys = list(keys)
    repeated = frame.duplicated(keys, keep="first").to_numpy()
    if not repeated.any():
        return frame
    if policy == "error":
        row = int(np.flatnonzero(repeated)[0])
        same = (frame[keys] == frame[keys].iloc[row]).all(axis=1).to_numpy()
        first = int(np.flatnonzero(same)[0])
        pair = ", ".join(f"{k} {frame[k].iloc[row]!r}" for k in keys)
        where = f"line {line_of(first)}" if line_of else f"data row {first + 1}"
        more = int(repeated.sum())
        locate(row, f"({pair}) is rated again; first rated on {where}"
                    f"{f' ({more} repeated lines in all)' if more > 1 else ''}.",
               "Remove the repeated lines, or choose a policy: duplicates='keep-last' or 'mean' "
               "(--duplicates keep-last|mean).")
    last = ~frame.duplicated(keys, keep="last").to_numpy()
    out = frame[last].copy()
    if policy == "mean":
        groups = frame.groupby(keys, sort=False)
        out[column] = groups[column].transform("mean").to_numpy()[last].astype(frame[column].dtype)
        if "timestamp" in frame.columns:
            out["timestamp"] = groups["timestamp"].transform("max").to_numpy()[last]
    return out.reset_index(drop=True)
