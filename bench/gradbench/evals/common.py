"""What every eval module shares: the backend its derivatives run on, derivative objects made
once per backend, the primal compiled with Numba, and the timed runs GradBench asks for.

An eval module exposes ``FUNCTIONS``, a dict from the GradBench function name (``"primal"``,
``"gradient"``, ``"objective"``, ``"jacobian"``, ...) to a *preparer*: a callable taking the
message's ``input`` (JSON, already decoded) and returning a `Job`: the work to repeat, with its
arguments already converted to arrays, and the conversion of its result back to JSON. Converting
is not timed, as GradBench's own Python tools do not time it (their ``wrap.multiple_runs``).
"""

from __future__ import annotations

import os
import sys
import time
import types
from dataclasses import dataclass
from typing import Any, Callable

import s2sad

BACKENDS = ("numba", "python")

_backend = os.environ.get("S2SAD_GRADBENCH_BACKEND", "numba")


def backend() -> str:
    """The backend the derivatives run on: ``"numba"`` (the tool's default, compiled; a
    derivative that Numba cannot compile raises instead of running as Python) or ``"python"``
    (no compilation: the tests' choice)."""
    return _backend


def set_backend(name: str) -> None:
    """Choose the backend of the derivatives (and of the primals) made from now on."""
    global _backend
    if name not in BACKENDS:
        raise ValueError(f"backend {name!r}: use one of {BACKENDS}")
    _backend = name


_derivatives: dict[tuple, Any] = {}


def derivative(kind: Callable, fn: Callable, **options: Any) -> Any:
    """``kind(fn, backend=..., **options)`` (``s2sad.grad``, ``s2sad.vjp``, ...), made once per
    backend and reused: s2sad compiles a derivative once per argument types, at its first call."""
    key = (kind, fn, backend(), tuple(sorted(options.items())))
    if key not in _derivatives:
        _derivatives[key] = kind(fn, backend=backend(), **options)
    return _derivatives[key]


_primals: dict[tuple, Callable] = {}


def _njit_tree(fn: Callable) -> Callable:
    """`fn` compiled by ``numba.njit``, with the plain functions of its module that it calls
    compiled too (a copy of each, so that the module's own functions stay Python)."""
    import numba

    scope = dict(fn.__globals__)
    for name, value in fn.__globals__.items():
        if isinstance(value, types.FunctionType) and value.__module__ == fn.__module__:
            copy = types.FunctionType(value.__code__, scope, value.__name__, value.__defaults__, value.__closure__)
            scope[name] = numba.njit(copy)
    return scope[fn.__name__]


def primal(fn: Callable) -> Callable:
    """The function itself, compiled with Numba under the ``numba`` backend (the same NumPy
    source the derivatives are made from), or plain Python under the ``python`` backend."""
    key = (fn, backend())
    if key not in _primals:
        _primals[key] = _with_fallback(fn, _njit_tree(fn)) if backend() == "numba" else fn
    return _primals[key]


def _with_fallback(fn: Callable, compiled: Callable) -> Callable:
    """`compiled`, or `fn` from the first call on if Numba cannot compile it (its error is
    printed on standard error once: standard output is the protocol's)."""
    chosen: list[Callable] = []

    def call(*args: Any) -> Any:
        if chosen:
            return chosen[0](*args)
        try:
            result = compiled(*args)
            chosen.append(compiled)
        except Exception as e:  # Numba's typing errors have no common public base class
            print(f"numba could not compile {fn.__name__}; it runs as Python: {e}", file=sys.stderr)
            chosen.append(fn)
            result = fn(*args)
        return result

    return call


@dataclass
class Job:
    """One evaluation: `run()` does the work that is timed and returns its result, `post`
    turns that result into the JSON value of the response's ``output``."""

    run: Callable[[], Any]
    post: Callable[[Any], Any]


def timed_runs(job: Job, min_runs: int, min_seconds: float) -> tuple[Any, list[dict]]:
    """Run `job` once untimed by GradBench's statistics (its time is reported as ``"prepare"``:
    the first call, in which s2sad differentiates the function and Numba compiles it), then at
    least `min_runs` times and for at least `min_seconds` seconds, each run reported as one
    ``"evaluate"`` timing, as GradBench's protocol asks. Returns the JSON output of the last run
    and the timings."""
    start = time.perf_counter_ns()
    result = job.run()
    s2sad.wait_compiled()
    timings = [{"name": "prepare", "nanoseconds": time.perf_counter_ns() - start}]
    runs = 0
    elapsed = 0
    while runs < min_runs or elapsed < min_seconds * 1e9:
        start = time.perf_counter_ns()
        result = job.run()
        took = time.perf_counter_ns() - start
        timings.append({"name": "evaluate", "nanoseconds": took})
        elapsed += took
        runs += 1
    return job.post(result), timings
