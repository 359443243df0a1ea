"""Shared test setup: generated modules go to a per-session cache directory (removed at exit)."""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Most tests check derivatives, not compilation: they run the generated code as Python. The
# Numba backend has tests of its own (test_numba_backend.py), which ask for it explicitly.
os.environ.setdefault("S2SAD_BACKEND", "python")

if "S2SAD_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="s2sad-test-cache-")
    os.environ["S2SAD_CACHE_DIR"] = _cache   # inherited by the CLI subprocesses too
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)
