"""The one error of config files and ``--set`` overrides, and :class:`Locator`, which says where a key came from."""

from __future__ import annotations

from typing import Dict, Mapping, NoReturn, Optional


class ConfigError(ValueError):
    """A config file or ``--set`` override is invalid; the message names the file, line and dotted key.

    Attributes:
      key: the dotted key at fault (``"training.epochs"``, ``"algorithms[2].params"``), or None for the
        whole file.
      source: the file (and the ``--set ...`` override) the value came from, or None.
      line: 1-based line of ``key`` in ``source``, or None (unknown, or the value came from ``--set``).
    """

    def __init__(self, message: str, key: Optional[str] = None, source: Optional[str] = None,
                 line: Optional[int] = None):
        self.key = key
        self.source = source
        self.line = line
        self.message = message
        where = f"{source}:{line}" if source and line else source
        super().__init__(f"{where}: {message}" if where else message)


class Locator:
    """Where the values of one config came from: its file, the line of each key, the ``--set`` overrides.

    Args:
      source: the file name (None: a dict built in code).
      lines: dotted key -> 1-based line in ``source`` (from :func:`tfrec.config.read_yaml`). Default {}.
      origins: dotted key -> the override that set it, e.g. ``"--set training.epochs=3"``. Default {}.

    Example:
      >>> loc = Locator("x.yaml", {"training": 1, "training.epochs": 2})
      >>> loc.where("training.epochs")
      ('x.yaml', 2)
    """

    def __init__(self, source: Optional[str] = None, lines: Optional[Mapping[str, int]] = None,
                 origins: Optional[Mapping[str, str]] = None):
        self.source = source
        self.lines: Dict[str, int] = dict(lines or {})
        self.origins: Dict[str, str] = dict(origins or {})

    def origin(self, key: str) -> Optional[str]:
        """The ``--set`` override that set ``key``, a section above it or a key inside it, or None."""
        for k, origin in self.origins.items():
            if key == k or key.startswith(k + ".") or key.startswith(k + "[") or k.startswith(key + "."):
                return origin
        return None

    def where(self, key: Optional[str]):
        """(source text, line or None) of ``key``: the file and line, or ``"file (--set k=v)"``."""
        origin = self.origin(key) if key else None
        if origin:
            return (f"{self.source} ({origin})" if self.source else origin), None
        return self.source, self.line_of(key)

    def line_of(self, key: Optional[str]) -> Optional[int]:
        """Line of ``key``, else of the nearest section above it that has one."""
        while key:
            if key in self.lines:
                return self.lines[key]
            cut = max(key.rfind("."), key.rfind("["))
            key = key[:cut] if cut > 0 else ""
        return None

    def error(self, key: Optional[str], message: str) -> ConfigError:
        source, line = self.where(key)
        return ConfigError(message, key=key, source=source, line=line)

    def fail(self, key: Optional[str], message: str) -> NoReturn:
        """Raises :class:`ConfigError` for ``key`` with its file, line or override."""
        raise self.error(key, message)
