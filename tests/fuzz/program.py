"""A generated program: its module source, its entry function's name and its sample arguments.

s2sad reads a function's source with `inspect`, so a program is written to a real module file
(in a temporary directory) and imported from there before it is run or differentiated.
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
import os
import signal
import sys
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import numpy as np

_DIRECTORY: Path | None = None
_COUNTER = itertools.count()


def program_directory() -> Path:
    """The temporary directory the program modules of this process are written to."""
    global _DIRECTORY
    if _DIRECTORY is None:
        _DIRECTORY = Path(tempfile.mkdtemp(prefix="s2sad-fuzz-"))
    return _DIRECTORY


@dataclass
class Program:
    """A module's source, the name of the function to differentiate in it, and its arguments.

    `args` holds (parameter name, value) pairs in parameter order; `tags` names the constructs
    the generator used (``"while"``, ``"store-shared"``, ...)."""

    seed: int
    source: str
    entry: str
    args: list[tuple[str, Any]]
    tags: frozenset[str] = frozenset()
    notes: dict = field(default_factory=dict)

    @property
    def values(self) -> list[Any]:
        return [value for _, value in self.args]

    def fresh_args(self) -> list[Any]:
        """The arguments as a call receives them: deep copies of the values (a run may write
        into arrays), and a new Generator for each `SeededGenerator`."""
        return [value.make() if isinstance(value, SeededGenerator) else copy.deepcopy(value) for value in self.values]

    def load(self) -> ModuleType:
        """The program imported from a new module file (a unique name, so that nothing cached
        for an earlier program, by s2sad or by `linecache`, is ever reused)."""
        name = f"fuzz_program_{os.getpid()}_{next(_COUNTER)}"
        path = program_directory() / f"{name}.py"
        path.write_text(self.source)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SyntaxWarning)  # (a minimiser's candidate: `1.0[::-1]`)
                spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module

    def with_changes(self, **changes) -> Program:
        fields = dict(seed=self.seed, source=self.source, entry=self.entry, args=self.args, tags=self.tags,
                      notes=self.notes)
        fields.update(changes)
        return Program(**fields)


@dataclass(frozen=True)
class SeededGenerator:
    """An argument that is a ``np.random.default_rng(seed)`` made afresh for every call."""

    seed: int

    def make(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)


def unload(module: ModuleType) -> None:
    """Forget a loaded program module (its file stays until the directory is removed)."""
    sys.modules.pop(module.__name__, None)


def literal(value: Any) -> str:
    """Python source that rebuilds an argument value."""
    if isinstance(value, SeededGenerator):
        return f"np.random.default_rng({value.seed})"
    if isinstance(value, np.ndarray):
        if value.dtype == bool:
            return f"np.array({value.tolist()!r})"
        if value.dtype.kind in "iu":
            return f"np.array({value.tolist()!r})"
        return f"np.array({_float_list(value.tolist())})"
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    return repr(float(value))


def _float_list(items) -> str:
    if isinstance(items, list):
        return "[" + ", ".join(_float_list(item) for item in items) + "]"
    return repr(float(items))


class Timeout(Exception):
    """A run took longer than its deadline."""


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise `Timeout` in the main thread after `seconds` (no limit when None or off the main thread)."""
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return
    try:
        previous = signal.signal(signal.SIGALRM, _alarm)
    except ValueError:  # not the main thread
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _alarm(signum, frame):
    raise Timeout("timed out")
