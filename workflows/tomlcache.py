"""TOML parsed once: the data of a text kept by the text's content hash.

Every ``petitions`` command reads a few TOML files (the workflow definition a
petition is pinned to, the taxonomy, the privacy policy, the labels), and
``tomllib`` parses in pure Python: on each start that is a noticeable share of
the time a short command takes.  :func:`loads` returns what
``tomllib.loads(text)`` returns, from a file named by the text's sha256 in a
cache folder when one is there (written with :mod:`marshal`, which loads in
microseconds), else by parsing the text and writing that file for next time.

The folder is ``PETITIONS_CACHE_DIR``, else ``$XDG_CACHE_HOME/petitions``,
else ``~/.cache/petitions`` (made readable by its owner only); an empty
``PETITIONS_CACHE_DIR`` switches the cache off.  A file is used only when it
names the same hash inside it, so a damaged or misplaced file is parsed anew;
a folder that cannot be read or written just means parsing every time.  Data
:mod:`marshal` cannot hold (TOML dates and times) is not cached.  The cache
is the same trust as the user's own files: whoever can write there can
already change what the user runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
import threading
from typing import Any

CACHE_ENV = "PETITIONS_CACHE_DIR"
#: Bumped when the file layout changes; with the interpreter's tag, as .pyc files.
_LAYOUT = 1


def cache_dir() -> str | None:
    """The cache folder in force, or None when caching is switched off."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return chosen or None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "petitions")


def _path(folder: str, key: str) -> str:
    return os.path.join(folder, f"{key}.{sys.implementation.cache_tag}-{_LAYOUT}.toml.marshal")


def loads(text: str) -> dict[str, Any]:
    """``tomllib.loads(text)``, from the cache when it holds this text's data
    (a fresh copy each call: callers may change what they get)."""
    folder = cache_dir()
    if folder is None:
        return _parse(text)
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    path = _path(folder, key)
    try:
        with open(path, "rb") as fh:
            stored = marshal.load(fh)
        if (isinstance(stored, tuple) and len(stored) == 2 and stored[0] == key
                and isinstance(stored[1], dict)):
            data: dict[str, Any] = stored[1]
            return data
    except (OSError, EOFError, ValueError, TypeError):
        pass
    data = _parse(text)
    _store(folder, path, key, data)
    return data


def _parse(text: str) -> dict[str, Any]:
    import tomllib  # only when a text is not in the cache

    return tomllib.loads(text)


def _store(folder: str, path: str, key: str, data: dict[str, Any]) -> None:
    try:
        blob = marshal.dumps((key, data))
    except ValueError:
        return  # dates or times: not cached
    temp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"  # one writer per name
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with open(temp, "wb") as fh:
            fh.write(blob)
        os.replace(temp, path)  # whole or not at all, for a reader at the same time
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)


__all__ = ["CACHE_ENV", "cache_dir", "loads"]
