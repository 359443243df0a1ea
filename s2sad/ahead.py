"""Ahead-of-time compilation: fill the cache with a derivative's machine code before its first call.

``s2sad.compile_ahead(f, types, mode=...)`` (and ``s2sad compile FILE.py:FUNC``) makes the
derivative of `f` for the argument types given and has Numba compile it into the on-disk cache,
without running it: the derivative is called on example arguments of those types, and its
compiled core stops where it would start computing (`backend.numba.compiling_only`). A later
process that calls the derivative with arguments of those types then loads the machine code
instead of compiling it (C-contiguous arrays, as NumPy makes them).
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

from .api import _normalise_wrt, _types_for, value_and_grad
from .backend.numba import CompiledAhead, compiling_only
from .errors import S2SADError
from .frontend.parse import as_function
from .higher_order import hvp
from .ir.types import Type

AHEAD_MODES = ("reverse", "forward", "hvp")


def compile_ahead(f: Callable, types: Sequence | dict | None = None, *, mode: str = "reverse", wrt=0,
                  checkpoint=None) -> float:
    """Compile the `mode` derivative of `f` with respect to `wrt` for argument `types` (as for
    `s2sad.derivative_source`: ``{"x": "f64[:]"}``, a list, or f64 scalars) into the cache;
    returns the seconds it took. Raises `S2SADError` where Numba cannot compile it."""
    f = as_function(f)
    if mode not in AHEAD_MODES:
        raise S2SADError(f"mode={mode!r}: compile_ahead takes one of {', '.join(AHEAD_MODES)}")
    indices, _ = _normalise_wrt(f, wrt)
    arg_types, _ = _types_for(f, None, types, indices)
    args = [_example(t) for t in arg_types]
    if mode == "hvp":
        derivative, args = hvp(f, wrt, backend="numba", checkpoint=checkpoint), args + [args[k] for k in indices]
    else:
        derivative = value_and_grad(f, wrt, mode=mode, backend="numba", checkpoint=checkpoint)
    started = time.perf_counter()
    with compiling_only():
        try:
            derivative(*args)
        except CompiledAhead:
            return time.perf_counter() - started
    raise S2SADError(f"the {mode}-mode derivative of {f.__qualname__} has no code for Numba to compile")


def _example(t: Type):
    """A value of type `t` (only its type matters: the derivative is compiled, not run)."""
    if t.is_array:
        return np.full((1,) * t.ndim, _example(t.element))
    if t.kind in ("f64", "i64", "bool"):
        return {"f64": 1.0, "i64": 1, "bool": True}[t.kind]
    raise S2SADError(f"compile_ahead takes numbers and arrays of them, not {t}")
