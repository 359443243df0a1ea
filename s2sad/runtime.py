"""Helpers the generated code calls, where one NumPy expression would not do.

Each is a small function on NumPy arrays, written so that Numba can compile it too.
"""

from __future__ import annotations

import numpy as np


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `g` down to `shape`: the adjoint of broadcasting a value of `shape` to ``g.shape``."""
    g = np.asarray(g)
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    axes = tuple(k for k, n in enumerate(shape) if n == 1 and g.shape[k] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def expand_to(g, shape: tuple, axis=None) -> np.ndarray:
    """Broadcast `g` (a reduction's result over `axis`) back to `shape`: the adjoint of `sum`."""
    if axis is not None:
        axes = axis if isinstance(axis, tuple) else (axis,)
        g = np.expand_dims(g, tuple(a % len(shape) for a in axes))
    return np.broadcast_to(g, shape).copy()


def broadcast_like(t, like: np.ndarray) -> np.ndarray:
    """`t` broadcast to the shape of `like` (a tangent of an operand, given the result's shape)."""
    t = np.asarray(t, dtype=np.float64)
    return t if t.shape == np.shape(like) else t + np.zeros(np.shape(like))


def record(tape: np.ndarray, k: int, n: int, value) -> np.ndarray:
    """Store `value` at ``tape[k]`` of a tape for `n` steps, allocating it at the first store
    (for arrays whose shape is first known inside the loop)."""
    if tape.shape[0] != n:
        tape = np.empty((n,) + np.shape(value))
    tape[k] = value
    return tape


def record_grow(tape: np.ndarray, k: int, value) -> np.ndarray:
    """Store `value` at ``tape[k]``, doubling the tape when it is full (for while loops)."""
    if k >= tape.shape[0] or tape.shape[1:] != np.shape(value):
        grown = np.empty((max(2 * tape.shape[0], k + 1, 16),) + np.shape(value), dtype=tape.dtype)
        if tape.shape[1:] == np.shape(value):
            grown[:tape.shape[0]] = tape
        tape = grown
    tape[k] = value
    return tape
