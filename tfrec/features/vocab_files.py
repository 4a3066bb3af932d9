"""Vocabulary files: how :class:`~tfrec.features.FeatureLayer` vocabularies travel (as files, not lists).

A vocabulary is a text file, one token a line (line i -> index i + the lookup's first token index).
The layer's ``StringLookup`` / ``TextVectorization`` read it through a ``tf.lookup.TextFileInitializer``,
so ``tf.saved_model.save`` (and Keras ``model.save``) copy it into the SavedModel's ``assets/`` and
the served model reads it from there. ``get_config`` names the file and its size, never the tokens:
``{"vocabulary_file": path, "vocabulary_size": n}``.

* :func:`write_vocabulary`: tokens -> a file in this process' vocabulary folder (content-named, so
  equal vocabularies share one file); removed when the process exits.
* :func:`read_vocabulary`: a file -> its tokens.
* :func:`store_vocabularies` / :func:`resolve_vocabularies`: copy every vocabulary file a (nested)
  layer config names next to a saved config, with paths relative to it, and make them absolute again
  when the config is read back (what ``model/build.json`` of a training run does).

Example:
  >>> path = write_vocabulary(["a", "b"], "user_id")
  >>> read_vocabulary(path, 2)
  ['a', 'b']
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, List, Mapping, Optional, Sequence

_FOLDER: Optional[Path] = None
#: key of a vocabulary file in a FeatureLayer's serialized ``adapted_state`` entry
FILE_KEY = "vocabulary_file"
SIZE_KEY = "vocabulary_size"


def _folder() -> Path:
    global _FOLDER
    if _FOLDER is None or not _FOLDER.is_dir():
        _FOLDER = Path(tempfile.mkdtemp(prefix="tfrec_vocab_"))
        atexit.register(shutil.rmtree, str(_FOLDER), True)
    return _FOLDER


def write_vocabulary(tokens: Sequence[str], name: str) -> str:
    """Writes ``tokens`` (one a line) to this process' vocabulary folder; returns the file's path.

    Args:
      tokens: the vocabulary, index order.
      name: the feature's name (the file is ``<name>_<content hash>.txt``).

    Raises:
      ValueError: a token holds a line break (a vocabulary file has one token a line).
    """
    bad = next((t for t in tokens if "\n" in t or "\r" in t), None)
    if bad is not None:
        raise ValueError(f"Feature {name!r}: the value {bad!r} holds a line break; vocabulary files hold one "
                         f"value a line. Replace line breaks in that column, or use hash_bins.")
    text = "".join(f"{t}\n" for t in tokens).encode("utf-8")
    safe = "".join(c if c.isalnum() or c in "_-." else "_" for c in name) or "feature"
    path = _folder() / f"{safe}_{hashlib.sha1(text).hexdigest()[:12]}.txt"
    if not path.is_file():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(text)
        os.replace(tmp, path)
    return str(path)


def read_vocabulary(path: str, size: Optional[int] = None) -> List[str]:
    """The tokens of vocabulary file ``path`` (as :func:`write_vocabulary` wrote it).

    Args:
      path: the file.
      size: the expected number of tokens (None: do not check; 0: the file's placeholder line is ignored).

    Raises:
      FileNotFoundError: no such file.
      ValueError: the file does not hold ``size`` tokens.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"Vocabulary file {path} does not exist. A FeatureLayer config names its vocabulary files; keep "
            f"them next to the saved config (tfrec.features.vocab_files.store_vocabularies) or load the model "
            f"from its SavedModel, which holds them under assets/.")
    tokens = Path(path).read_bytes().decode("utf-8").split("\n")[:-1]
    if size is not None:
        if size == 0:
            return []
        if len(tokens) != size:
            raise ValueError(f"Vocabulary file {path} holds {len(tokens)} tokens; its config says "
                             f"vocabulary_size={size}.")
    return tokens


def _walk(config: Any, fn) -> Any:
    if isinstance(config, Mapping):
        if isinstance(config.get(FILE_KEY), str):
            return {**config, FILE_KEY: fn(config[FILE_KEY])}
        return {k: _walk(v, fn) for k, v in config.items()}
    if isinstance(config, tuple):
        return tuple(_walk(v, fn) for v in config)
    if isinstance(config, Sequence) and not isinstance(config, (str, bytes)):
        return [_walk(v, fn) for v in config]  # also TF's ListWrapper of a Keras layer's list attribute
    return config


def store_vocabularies(config: Any, base, subdir: str = "vocabularies") -> Any:
    """Copies every vocabulary file named in ``config`` into ``base/subdir``; returns the config with
    those paths relative to ``base`` (``"vocabularies/<file name>"``). ``config``: any nested
    dict/list, e.g. a model's ``get_config()``."""
    base = Path(base)

    def move(path: str) -> str:
        target = base / subdir / Path(path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file():
            shutil.copyfile(path, target)
        return f"{subdir}/{target.name}"

    return _walk(config, move)


def resolve_vocabularies(config: Any, base) -> Any:
    """``config`` with every relative vocabulary file path made absolute under ``base`` (the inverse
    of :func:`store_vocabularies`)."""
    base = Path(base)
    return _walk(config, lambda p: p if Path(p).is_absolute() else str(base / p))


__all__ = ["FILE_KEY", "SIZE_KEY", "read_vocabulary", "resolve_vocabularies", "store_vocabularies",
           "write_vocabulary"]
