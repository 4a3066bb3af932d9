"""The error every tfrec data loader raises for a file it cannot read."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

_MAX_CONTENT = 120  # characters of the offending line quoted in a message


def escape_control(text: str, keep: str = "") -> str:
    r"""``text`` with every non-printable character (control bytes such as ESC, NUL, CR, bidi
    overrides) written as a Python escape (``\x1b``, ``\u202e``), except those in ``keep``.

    Error messages quote data and paths; escaping keeps a bad line from driving the terminal.

    Example:
        >>> print(escape_control("ok\x1b[31m red"))
        ok\x1b[31m red
        >>> escape_control("two\nlines", keep="\n") == "two\nlines"
        True
    """
    if text.isprintable() and not keep:
        return text
    return "".join(c if c.isprintable() or c in keep else repr(c)[1:-1] for c in text)


def _shorten(text: str, limit: int = _MAX_CONTENT) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


class DataFormatError(ValueError):
    """A data file is empty, truncated or malformed.

    The message names the file, the 1-based line number (where one line is to blame), the start of
    that line and what was expected there, e.g.::

        /data/ml-100k/u.data:7: expected 4 tab-separated fields (user_id, movie_id, user_rating,
        timestamp), found 3. Line: '196\\t242\\t3'. Fix or remove that line.

    Attributes:
      path: the file, as a string.
      line: 1-based line number, or ``None`` when the problem is not one line (an empty file).
      content: the offending line (shortened to 120 characters), or ``None``.
      problem: what is wrong, without the location.
    """

    def __init__(
        self,
        path: Union[str, Path],
        problem: str,
        *,
        line: Optional[int] = None,
        content: Optional[str] = None,
        hint: str = "",
    ):
        self.path = str(path)
        self.line = line
        self.content = None if content is None else _shorten(content)
        self.problem = problem
        where = escape_control(self.path if line is None else f"{self.path}:{line}")
        message = f"{where}: {escape_control(problem)}"
        if self.content is not None:
            message += f" Line: {escape_control(repr(self.content))}."
        if hint:
            message += f" {escape_control(hint)}"
        super().__init__(message)
