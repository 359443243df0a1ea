"""Where generated modules live: real `.py` files in a cache directory.

The directory is ``$S2SAD_CACHE_DIR`` when set, otherwise the platform's user cache directory
(``~/.cache/s2sad`` on Linux, ``~/Library/Caches/s2sad`` on macOS, ``%LOCALAPPDATA%\\s2sad``
on Windows). Files are named by a hash of their content, of the s2sad version and of the
runtime helpers they call, so that machine code Numba cached for a module is never reused with
helpers that have changed since. Files are written atomically (to a temporary file, then
renamed), so concurrent processes never see half-written modules.

Code found in the cache is run, so the cache must be the user's alone: the directory and Numba's
``__pycache__`` in it are made with mode 0700 and checked to belong to the user and to be
writable by no one else. One that others could write is made private, and the machine code in it
removed; one that belongs to someone else, or cannot be made or written, is replaced by a private
directory of the process's own, with a warning (`CacheWarning`). Generated modules are run from
the source s2sad generated (or, read back, from text whose hash matches the file's name), never
from bytecode files, which are not written. docs/design.md, "The cache", says what this protects
against.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import shutil
import stat
import sys
import tempfile
import warnings
from pathlib import Path

from .errors import S2SADError


def cache_dir() -> Path:
    """The directory generated modules and their machine code go to: the configured one
    (`configured_dir`) when it is private to this user, otherwise (with one warning) a private
    directory of this process's own (`_private`)."""
    path = configured_dir()
    used = _USED.get(path)
    if used is None or not used.is_dir():  # (checked once; made again if it was removed since)
        used = _USED[path] = _private(path)
    return used


def configured_dir() -> Path:
    """``$S2SAD_CACHE_DIR``, or the platform's user cache directory."""
    override = os.environ.get("S2SAD_CACHE_DIR")
    if override:
        return Path(override)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "s2sad"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "s2sad"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "s2sad"


_USED: dict[Path, Path] = {}  # configured directory → the directory used for it


class CacheWarning(UserWarning):
    """The cache directory could not be used as it is (s2sad went on with another)."""


def _private(path: Path, problem: str | None = None) -> Path:
    """`path`, made (mode 0700, with Numba's ``__pycache__``) and checked to be private; or, if
    it cannot be (or has the `problem` given), a new private directory of this process's, with
    a warning saying why."""
    problem = problem or _make_private(path)
    if problem is None:
        return path
    replacement = Path(tempfile.mkdtemp(prefix="s2sad-cache-"))  # (mode 0700, unpredictable name)
    atexit.register(shutil.rmtree, replacement, ignore_errors=True)
    warnings.warn(f"the s2sad cache directory {path} {problem}; this process keeps its generated code in "
                  f"{replacement} instead, and compiles it again next time (set S2SAD_CACHE_DIR to a directory "
                  "of your own that no one else can write)", CacheWarning, stacklevel=3)
    return replacement


def _make_private(path: Path) -> str | None:
    """Make `path` and its ``__pycache__`` (mode 0700); None if they are private to this user,
    else what is wrong. A directory of the user's that others could write is made private, and
    the machine code Numba cached in it, which they could have replaced, is removed."""
    numba_cache = path / "__pycache__"
    try:
        for directory in (path, numba_cache):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            problem = _foreign(directory)
            if problem == "can be written by other users":
                directory.chmod(0o700)
                shutil.rmtree(numba_cache, ignore_errors=True)
                warnings.warn(f"the s2sad cache directory {directory} could be written by other users: it is now "
                              "private (mode 0700), and the machine code cached in it, which anyone could have "
                              "replaced, was removed", CacheWarning, stacklevel=4)
            elif problem is not None:
                return problem
        if not os.access(path, os.W_OK | os.X_OK):
            return "cannot be written"
    except OSError as exc:
        return f"cannot be used ({exc.strerror or exc})"
    return None


def _foreign(directory: Path) -> str | None:
    """Why code found in `directory` could have been put there by someone else (None: it could
    not, as far as the file system tells; always None where it has no owners, on Windows)."""
    info = directory.lstat()
    if stat.S_ISLNK(info.st_mode):
        info = directory.stat()
        if info.st_uid != os.geteuid():
            return "is a link to a directory of another user"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a directory"
    if os.name == "nt":
        return None
    if info.st_uid not in (os.geteuid(), 0):  # (root can change anything anyway)
        return "belongs to another user"
    if info.st_mode & 0o022:
        return "can be written by other users"
    return None


def machine_code_cache_trusted(source_file: str) -> bool:
    """May Numba cache the machine code of functions defined in `source_file`, and load it from
    its cache: is the directory it uses writable by this user (or root) alone? That is
    ``__pycache__`` beside the file (made private with the cache), or ``$NUMBA_CACHE_DIR`` (made
    with mode 0700 if it does not exist). If not, the code is compiled afresh in each process,
    with one warning."""
    where = os.environ.get("NUMBA_CACHE_DIR")
    directory = Path(where) if where else Path(source_file).parent / "__pycache__"
    if directory in _TRUSTED:
        return _TRUSTED[directory]
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        problem = _foreign(directory)
    except OSError as exc:
        problem = f"cannot be used ({exc.strerror or exc})"
    if problem is not None:
        warnings.warn(f"Numba's cache directory {directory} {problem}: s2sad does not load machine code from it, "
                      "nor cache any there (each process compiles again)", CacheWarning, stacklevel=3)
    _TRUSTED[directory] = problem is None
    return _TRUSTED[directory]


_TRUSTED: dict[Path, bool] = {}


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
    """Store `source` as ``<stem>_<hash>.py`` (once) and return its path. A cache that fails
    (removed, made read-only or filled since it was checked) is left for a private directory of
    this process's, with one warning."""
    name = f"{stem}_{content_key(source)}.py"
    try:
        return _written(cache_dir() / name, source)
    except OSError as exc:
        configured = configured_dir()
        if _USED.get(configured) != configured:  # (a replacement failed: nothing else to try)
            raise S2SADError(f"s2sad cannot write the generated module {name} ({exc.strerror or exc}), in the "
                             f"cache directory {configured} nor in a private one") from exc
        _USED[configured] = _private(configured, f"failed ({exc.strerror or exc})")
        return _written(cache_dir() / name, source)


def _written(path: Path, source: str) -> Path:
    if path.is_file() and path.read_text() == source:
        return path
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(source)
    os.replace(tmp, path)
    return path

