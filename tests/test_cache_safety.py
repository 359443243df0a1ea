"""The cache runs only code s2sad wrote: planted bytecode and pickles never run, a cache others can
write or own is made private or replaced, and a cache that fails falls back with one warning."""

import importlib.util
import os
import pickle
import shutil
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import s2sad
from s2sad.cache import CacheWarning
from conftest import optimised

HERE = os.path.dirname(__file__)
ARGS = (2.0, 1.0, 0.0, 0.1, 0.01, 50)

_RUN = """
import sys, warnings
warnings.simplefilter("always")
import s2sad
sys.path.insert(0, sys.argv[1])
import loop_funcs as lf
g = s2sad.grad(lf.oscillator, backend=sys.argv[2])
print(repr(g(2.0, 1.0, 0.0, 0.1, 0.01, 50)))
print(g.made()[0].path)
"""


def run(cache: Path, backend: str, tmp_path: Path, **env) -> tuple[float, str, str]:
    """The gradient a new process computes with `cache`, the module's path, and its stderr."""
    environment = {k: v for k, v in optimised(tmp_path, S2SAD_CACHE_DIR=str(cache), **env).items()
                   if k != "NUMBA_CACHE_DIR" or "NUMBA_CACHE_DIR" in env}
    out = subprocess.run([sys.executable, "-c", _RUN, HERE, backend], env=environment, capture_output=True,
                         text=True, check=True, timeout=300)
    value, path = out.stdout.split("\n")[:2]
    return float(value), path, out.stderr


class Planted:
    """A pickle that, loaded, leaves a file behind: what an attacker's cache file would do."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_planted_bytecode_never_runs(tmp_path):
    """Bytecode with a valid header for the generated module, placed where Python's import would
    read it, is not read: modules run from their source."""
    cache, marker = tmp_path / "cache", tmp_path / "ran"
    expected, path, _ = run(cache, "python", tmp_path)
    module = Path(path)
    evil = compile(f"open({str(marker)!r}, 'w')\ndef oscillator_vjp(*a):\n    return 10.0, 10.0, 0, 0, 0, 0, 0, 0\n",
                   str(module), "exec")
    info = module.stat()
    pyc = Path(importlib.util.cache_from_source(str(module)))
    pyc.parent.mkdir(exist_ok=True)
    from importlib._bootstrap_external import _code_to_timestamp_pyc
    pyc.write_bytes(_code_to_timestamp_pyc(evil, info.st_mtime, info.st_size))
    again, _, _ = run(cache, "python", tmp_path)
    assert again == expected and not marker.exists()


def test_machine_code_planted_in_a_cache_others_could_write_never_loads(tmp_path):
    """A cache directory left writable by others (mode 777) may hold anyone's files: it is made
    private, with a warning, and Numba's cached files in it, pickles that would run when read,
    are removed first."""
    cache, marker = tmp_path / "cache", tmp_path / "ran"
    expected, _, _ = run(cache, "numba", tmp_path)
    numba_cache = cache / "__pycache__"
    indices = list(numba_cache.glob("*.nbi"))
    assert indices
    for index in indices:
        index.write_bytes(pickle.dumps(Planted(marker)))
    for directory in (cache, numba_cache):
        directory.chmod(0o777)
    again, _, stderr = run(cache, "numba", tmp_path)
    assert again == expected and not marker.exists()
    assert "could be written by other users" in stderr
    assert stat.S_IMODE(cache.stat().st_mode) == stat.S_IMODE(numba_cache.stat().st_mode) == 0o700


def test_a_numba_cache_directory_others_can_write_is_not_used(tmp_path):
    shared = tmp_path / "numba-shared"
    shared.mkdir()
    shared.chmod(0o777)
    value, _, stderr = run(tmp_path / "cache", "numba", tmp_path, NUMBA_CACHE_DIR=str(shared))
    assert value == run(tmp_path / "other", "python", tmp_path)[0]
    assert "does not load machine code from it" in stderr
    assert not [p for p in shared.rglob("*") if p.suffix in (".nbi", ".nbc")]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs to give a directory away")
def test_a_cache_directory_of_another_user_is_replaced(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o755)
    os.chown(foreign, 65534, 65534)
    value, path, stderr = run(foreign, "python", tmp_path)
    assert "belongs to another user" in stderr and not Path(path).is_relative_to(foreign)
    assert not list(foreign.iterdir())


def test_a_generated_module_changed_on_disk_is_not_loaded_by_the_worker(tmp_path):
    """The background compiler reads modules back from the cache: one whose text no longer
    matches the hash in its name is refused."""
    from s2sad.backend import python as python_backend
    g = s2sad.grad(lambda x: np.sin(x) * x, backend="python")
    g(0.3)
    path = Path(tmp_path / "copy_0123456789abcdef0123.py")
    path.write_text(Path(g.made()[0].path).read_text())
    with pytest.raises(s2sad.S2SADError, match="was changed after s2sad wrote it"):
        python_backend.load(path)


def gradient_with_cache(monkeypatch, cache) -> tuple[float, list[str]]:
    monkeypatch.setenv("S2SAD_CACHE_DIR", str(cache))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = s2sad.grad(lambda x: np.sin(x) * x ** 2, backend="python")(0.7)
    assert value == pytest.approx(np.cos(0.7) * 0.49 + 2 * 0.7 * np.sin(0.7), rel=1e-14)
    return value, [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]


def test_a_cache_that_cannot_be_made_falls_back_with_a_warning(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    _, said = gradient_with_cache(monkeypatch, blocker / "cache")
    assert len(said) == 1 and "cannot be used" in said[0]
    _, said = gradient_with_cache(monkeypatch, blocker)
    assert len(said) == 1 and "cannot be used (File exists)" in said[0]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_cache_falls_back_with_a_warning(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "__pycache__").mkdir()
    cache.chmod(0o500)
    try:
        _, said = gradient_with_cache(monkeypatch, cache)
    finally:
        cache.chmod(0o700)
    assert len(said) == 1 and "cannot be written" in said[0]


def test_a_cache_removed_while_running_is_made_again(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    gradient_with_cache(monkeypatch, cache)
    shutil.rmtree(cache)
    _, said = gradient_with_cache(monkeypatch, cache)
    assert not said and list(cache.glob("*.py"))


def test_a_directory_where_a_module_goes_falls_back_with_a_warning(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    _, _ = gradient_with_cache(monkeypatch, cache)
    for module in cache.glob("*.py"):
        module.unlink()
        module.mkdir()
    _, said = gradient_with_cache(monkeypatch, cache)
    assert len(said) == 1 and "failed" in said[0]
