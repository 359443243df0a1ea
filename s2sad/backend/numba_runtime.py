"""Numba implementations of the helpers in `s2sad.runtime`.

Generated code calls the helpers of `s2sad.runtime` (`unbroadcast`, `copy_into`, `record`, …).
Importing this module registers an implementation of each for Numba's nopython mode
(`numba.extending.overload`), chosen by the argument types at compile time, so the same
generated source runs under both backends. Stores into arrays are written as loops: Numba's
general array assignment (``tape[k] = value``) costs well over a second of compile time.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from .. import runtime


@njit(cache=True)
def _sum_to(g, out):
    """Add every element of `g` into `out`, broadcasting in reverse: axes of `out` of length 1
    (and leading axes `out` lacks) are summed over."""
    flat_out = out.reshape(-1)
    flat_g = np.ascontiguousarray(g).reshape(-1)
    lead = g.ndim - out.ndim
    for i in range(flat_g.size):
        rest, position, stride = i, 0, 1
        for axis in range(g.ndim - 1, -1, -1):
            index = rest % g.shape[axis]
            rest //= g.shape[axis]
            target = axis - lead
            if target >= 0:
                if out.shape[target] != 1:
                    position += index * stride
                stride *= out.shape[target]
        flat_out[position] += flat_g[i]
    return out


@overload(runtime.unbroadcast)
def _unbroadcast(g, shape):
    if isinstance(g, types.Array) and g.ndim == len(shape):
        def same_rank(g, shape):
            if g.shape == shape:
                return g
            return _sum_to(g, np.zeros(shape))
        return same_rank
    if isinstance(g, types.Array):
        return lambda g, shape: _sum_to(g, np.zeros(shape))
    return lambda g, shape: np.full(shape, g)


@njit(cache=True)
def _spread(g, out, reduced):
    """Fill `out` with `g` repeated along the axes marked in `reduced` (the adjoint of a sum)."""
    flat_out = out.reshape(-1)
    flat_g = np.ascontiguousarray(g).reshape(-1)
    for i in range(flat_out.size):
        rest, position, stride = i, 0, 1
        for axis in range(out.ndim - 1, -1, -1):
            index = rest % out.shape[axis]
            rest //= out.shape[axis]
            if not reduced[axis]:
                position += index * stride
                stride *= out.shape[axis]
        flat_out[i] = flat_g[position]
    return out


@overload(runtime.expand_to)
def _expand_to(g, shape, axis=None):
    if not isinstance(g, types.Array) or isinstance(axis, (types.NoneType, types.Omitted)) or axis is None:
        return lambda g, shape, axis=None: np.full(shape, g)

    def spread(g, shape, axis=None):
        out = np.empty(shape)
        reduced = np.zeros(out.ndim, dtype=np.bool_)
        for a in _axes(axis):
            reduced[a % out.ndim] = True
        return _spread(g, out, reduced)
    return spread


def _axes(axis):
    return (axis,) if isinstance(axis, int) else axis


@overload(_axes)
def _axes_impl(axis):
    if isinstance(axis, types.Integer):
        return lambda axis: (axis,)
    return lambda axis: axis


@overload(runtime.broadcast_like)
def _broadcast_like(t, like):
    if isinstance(t, types.Array) and t.ndim == like.ndim:
        def same_rank(t, like):
            if t.shape == like.shape:
                return t
            return t + np.zeros(like.shape)
        return same_rank
    return lambda t, like: t + np.zeros(like.shape)


@overload(runtime.copy_into)
def _copy_into(region, value):
    if isinstance(value, types.Array):
        def copy_array(region, value):
            source = np.broadcast_to(value, region.shape)
            for index in np.ndindex(region.shape):
                region[index] = source[index]
        return copy_array

    def fill(region, value):
        for index in np.ndindex(region.shape):
            region[index] = value
    return fill


@overload(runtime.add_into)
def _add_into(region, value):
    def add(region, value):
        region += value
    return add


@overload(runtime.sub_into)
def _sub_into(region, value):
    def sub(region, value):
        region -= value
    return sub


@overload(runtime.add_outer)
def _add_outer(x, a, b):
    def rank_one_update(x, a, b):
        for i in range(a.shape[0]):
            ai = a[i]
            for j in range(b.shape[0]):
                x[i, j] += ai * b[j]
        return x
    return rank_one_update


_CHANGED_SHAPE = runtime.CHANGED_SHAPE


def _put(tape, k, value):
    """``tape[k] = value`` (a stand-in: only its Numba implementation below is ever called)."""
    tape[k] = value


@overload(_put)
def _put_impl(tape, k, value):
    if isinstance(value, types.Array):
        return lambda tape, k, value: runtime.copy_into(tape[k], value)

    def put_number(tape, k, value):
        tape[k] = value
    return put_number


@overload(runtime.record)
def _record(tape, k, n, value):
    def store(tape, k, n, value):
        if tape.shape[0] != n or tape.shape[1:] != np.shape(value):
            if np.size(value) == 0:
                return tape
            if tape.shape[0] == n and k > 0:
                raise ValueError(_CHANGED_SHAPE)
            tape = np.empty((n,) + np.shape(value), dtype=tape.dtype)
        _put(tape, k, value)
        return tape
    return store


@overload(runtime.record_grow)
def _record_grow(tape, k, value):
    def store(tape, k, value):
        if tape.shape[1:] != np.shape(value):
            if np.size(value) == 0:
                return tape
            if k > 0 and tape.shape[0] > 0:
                raise ValueError(_CHANGED_SHAPE)
            tape = np.empty((max(16, k + 1),) + np.shape(value), dtype=tape.dtype)
        elif k >= tape.shape[0]:
            grown = np.empty((max(2 * tape.shape[0], k + 1),) + np.shape(value), dtype=tape.dtype)
            runtime.copy_into(grown[:tape.shape[0]], tape)
            tape = grown
        _put(tape, k, value)
        return tape
    return store
