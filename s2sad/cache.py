"""Where generated modules live: real `.py` files in a cache directory.

The directory is ``$S2SAD_CACHE_DIR`` when set, otherwise the platform's user cache directory
(``~/.cache/s2sad`` on Linux, ``~/Library/Caches/s2sad`` on macOS, ``%LOCALAPPDATA%\\s2sad``
on Windows). Files are named by a hash of their content, of the s2sad version and of the
runtime helpers they call, so that machine code Numba cached for a module is never reused with
helpers that have changed since. Files are written atomically (to a temporary file, then
renamed), so concurrent processes never see half-written modules.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import tempfile
from pathlib import Path


def cache_dir() -> Path:
    override = os.environ.get("S2SAD_CACHE_DIR")
    if override:
        path = Path(override)
    elif sys.platform == "darwin":
        path = Path.home() / "Library" / "Caches" / "s2sad"
    elif os.name == "nt":
        path = Path(os.environ.get("LOCALAPPDATA", Path.home())) / "s2sad"
    else:
        path = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "s2sad"
    path.mkdir(parents=True, exist_ok=True)
    return path


def content_key(text: str) -> str:
    return hashlib.sha256(text.encode() + _runtime_fingerprint()).hexdigest()[:20]


@functools.cache
def _runtime_fingerprint() -> bytes:
    """The s2sad version and the text of the runtime helpers generated code calls (the
    checkpointing schedules' generators among them)."""
    from . import __version__
    here = Path(__file__).parent
    helpers = [here / "runtime.py", here / "backend" / "numba_runtime.py", here / "checkpoint.py"]
    return __version__.encode() + b"".join(path.read_bytes() for path in helpers)


def write_module(source: str, stem: str) -> Path:
    """Store `source` as ``<stem>_<hash>.py`` (once) and return its path."""
    path = cache_dir() / f"{stem}_{content_key(source)}.py"
    if path.exists() and path.read_text() == source:
        return path
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(source)
    os.replace(tmp, path)
    return path
