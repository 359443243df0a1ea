"""Shared test setup: generated modules go to a per-session cache directory (removed at exit)."""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# By default a test runs the generated code as Python. The core suites run a second time compiled
# by Numba (the `each_backend` fixture below, marked `numba`), and the Numba tests
# (test_numba_backend.py, test_numba_runtime.py, the rule sweep's Numba test) ask for it.
os.environ.setdefault("S2SAD_BACKEND", "python")
os.environ.setdefault("S2SAD_TIERED", "0")  # a compiled test waits for its machine code (test_tiers.py: not)

if "S2SAD_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="s2sad-test-cache-")
    os.environ["S2SAD_CACHE_DIR"] = _cache   # inherited by the CLI subprocesses too
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)

# Numba compiles the tests' code without LLVM's optimisations (NUMBA_OPT=0: 40% less time for the
# compiled runs; the same values, since Numba never reorders floating-point arithmetic), into a
# cache of the session's own (NUMBA_CACHE_DIR: so that a user's later run from this checkout
# never loads a runtime helper compiled so). Set NUMBA_OPT=3 to test what users run.
if "NUMBA_OPT" not in os.environ:
    os.environ["NUMBA_OPT"] = "0"
    if "NUMBA_CACHE_DIR" not in os.environ:
        _numba_cache = tempfile.mkdtemp(prefix="s2sad-test-numba-")
        os.environ["NUMBA_CACHE_DIR"] = _numba_cache
        atexit.register(shutil.rmtree, _numba_cache, ignore_errors=True)


def optimised(tmp_path, **more) -> dict:
    """The environment of a process that compiles as users do (NUMBA_OPT=3, Numba's default),
    into a cache of its own: for the tests of machine code cached by one process and loaded by
    another (code compiled without optimisations calls Numba's helpers in a way Numba does not
    cache)."""
    return {**os.environ, "NUMBA_OPT": "3", "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache"), **more}


# --- the core suites under both backends ------------------------------------------------------

import warnings  # noqa: E402

import pytest  # noqa: E402

import s2sad  # noqa: E402


@pytest.fixture(params=["python", pytest.param("numba", marks=pytest.mark.numba)])
def each_backend(request, monkeypatch):
    """Run a test with the generated code as Python, then compiled by Numba (backend "auto").

    Under Numba the test fails if a derivative falls back to Python, unless it is marked
    ``falls_back`` (writing a module global is the one construct that must)."""
    if request.param == "python":
        monkeypatch.setenv("S2SAD_BACKEND", "python")
        yield "python"
        return
    monkeypatch.setenv("S2SAD_BACKEND", "auto")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", s2sad.BackendFallbackWarning)
        yield "numba"
    fell = [str(w.message) for w in caught if issubclass(w.category, s2sad.BackendFallbackWarning)]
    if fell and request.node.get_closest_marker("falls_back") is None:
        pytest.fail(f"a derivative fell back to Python: {fell[0]}")
