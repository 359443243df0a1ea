"""Numba implementations of the helpers in `s2sad.runtime`.

Generated code calls the helpers of `s2sad.runtime` (`unbroadcast`, `copy_into`, `record`, …).
Importing this module registers an implementation of each for Numba's nopython mode
(`numba.extending.overload`), chosen by the argument types at compile time, so the same
generated source runs under both backends. Stores into arrays are written as loops: Numba's
general array assignment (``tape[k] = value``) costs well over a second of compile time.
"""

from __future__ import annotations

import functools
import math
import operator
import warnings
from functools import partial
from types import ModuleType

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.cpython.unsafe.tuple import tuple_setitem
from numba.extending import intrinsic, overload

from .. import checkpoint, runtime
from ..cache import machine_code_cache_trusted
from . import python

# Implementations are cached on disk like the helpers below: compiling one costs each new process
# about 0.1 s the first time a generated function uses it with a new signature. (Not where others
# could replace the cached files: cache.py.)
_CACHE = machine_code_cache_trusted(__file__)
_cached_overload = partial(overload, jit_options={"cache": _CACHE})


@_cached_overload(np.reshape)
def _reshape_any_layout(a, newshape):
    """``np.reshape`` of an array that is not C-contiguous (a transposed view, or a cotangent
    coming back through one): NumPy copies it into C order first, and so does this (Numba's own
    reshape takes contiguous arrays only; the lowering refuses writes through such a reshape)."""
    if isinstance(a, types.Array) and a.layout != "C":
        return lambda a, newshape: np.ascontiguousarray(a).reshape(newshape)


@intrinsic
def _signals(typingctx):
    """``PyErr_CheckSignals()``: Python's handlers of the signals that came (a KeyboardInterrupt
    for Ctrl-C), -1 if one raised. (Called with the GIL, which compiled code holds.)"""
    def codegen(context, builder, signature, args):
        check = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []),
                                               "PyErr_CheckSignals")
        return builder.call(check, [])
    return types.int32(), codegen


_Interrupted = runtime.Interrupted


@_cached_overload(runtime.poll_signals)
def _poll_signals(k):
    def poll(k):
        if k & 16383 == 0 and _signals() != 0:
            raise _Interrupted()
    return poll


def _count_not_finite(a) -> int:
    """How many of a float array's elements are not finite (a stand-in: only its Numba
    implementation below is ever called)."""
    return int(np.size(a) - np.isfinite(a).sum())


@_cached_overload(_count_not_finite)
def _count_not_finite_impl(a):
    if a.layout == "C":  # (the exponent's bits all set: an infinity or a NaN; counted without a branch, which vectorises)
        def contiguous(a):
            bits = a.reshape(a.size).view(np.uint64)
            count = 0
            for k in range(bits.shape[0]):
                count += (bits[k] & 0x7FF0000000000000) == 0x7FF0000000000000
            return count
        return contiguous

    def strided(a):
        count = 0
        for value in a.flat:
            count += not np.isfinite(value)
        return count
    return strided


@njit(cache=_CACHE)
def all_finite(a) -> bool:
    """Are all of a float array's elements finite? (A compiled derivative's outputs, checked after
    each call: backend/numba.py.) Read at the speed of memory: 4 MB in about 0.15 ms."""
    return _count_not_finite(a) == 0


def owned(value, shared: bool = True):
    """(`value`, is it finite?), with an array copied when it is `shared`: what the checked entry
    of a compiled derivative (backend/checked.py) makes of each result, so that no array a call
    returns is another's or an argument's (`overlaps` tells which may be; a buffer the derivative
    made for this call alone is the caller's). Floats and float arrays are checked as
    `backend.numba._finite` checks them; other values pass."""
    if isinstance(value, np.ndarray):
        return value.copy() if shared else value, value.dtype.kind != "f" or bool(np.isfinite(value).all())
    return value, not isinstance(value, float) or value - value == 0.0


@_cached_overload(owned)
def _owned(value, shared=True):
    if isinstance(value, types.Array):
        return _owned_floats if isinstance(value.dtype, types.Float) else _owned_array
    return _owned_float if isinstance(value, types.Float) else _owned_other


def _owned_floats(value, shared=True):
    return value.copy() if shared else value, all_finite(value)


def _owned_array(value, shared=True):
    return value.copy() if shared else value, True


def _owned_float(value, shared=True):
    return value, finite(value)


def _owned_other(value, shared=True):
    return value, True


def overlaps(a, b) -> bool:
    """May result `a` share memory with `b` (an argument, or another result)? For two arrays,
    whether their spans of memory overlap; False when either is a number, a boolean or None;
    True (may) for anything else, which `owned` then copies."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return bool(np.may_share_memory(a, b))
    return not any(isinstance(v, (int, float, bool, np.number, np.bool_, type(None))) for v in (a, b))


@_cached_overload(overlaps)
def _overlaps(a, b):
    if isinstance(a, types.Array) and isinstance(b, types.Array):
        return _overlapping_spans
    plain = (types.Number, types.Boolean, types.NoneType, types.Omitted)
    if isinstance(a, plain) or isinstance(b, plain):
        return lambda a, b: False
    return lambda a, b: True


@njit(cache=_CACHE)
def _span(a):
    """The first byte of array `a`'s memory and the one after its last (strides may be negative)."""
    low = np.int64(a.ctypes.data)
    high = low
    for k in range(a.ndim):
        step = np.int64(a.shape[k] - 1) * np.int64(a.strides[k])
        if step < 0:
            low += step
        else:
            high += step
    return low, high + np.int64(a.itemsize)


def _overlapping_spans(a, b):
    if a.size == 0 or b.size == 0:
        return False
    low_a, high_a = _span(a)
    low_b, high_b = _span(b)
    return low_a < high_b and low_b < high_a


def finite(value) -> bool:
    """Is `value` finite, as `owned` checks it? (A result the checked entry does not return.)"""
    return owned(value)[1]


@_cached_overload(finite)
def _finite(value):
    if isinstance(value, types.Array) and isinstance(value.dtype, types.Float):
        return _finite_floats
    return _finite_float if isinstance(value, types.Float) else _finite_other


def _finite_floats(value):
    return all_finite(value)


def _finite_float(value):
    return value - value == 0.0  # (inf - inf and nan - nan are nan)


def _finite_other(value):
    return True


def _compiled_as_written(*functions) -> None:
    """Runtime helpers that Numba compiles as they are written: each is compiled once, cached
    with the package, and called by generated code in its place."""
    for function in functions:
        _cached_overload(function)(_calling(njit(cache=_CACHE)(function)))


def _calling(compiled):
    """An overload's typing function whose implementation calls `compiled` (whatever the types):
    a function of this module's naming it as a global. (A closure over the dispatcher, the
    obvious way, misses Numba's cache in every new process, since the cache hashes the
    closure's contents, and a dispatcher pickles differently each time: half a second of
    compiling per helper and signature, and an index on disk that grows at every run.)"""
    name = f"_compiled_{compiled.py_func.__name__}"
    globals()[name] = compiled
    exec(compile(f"def {name}_call(*args):\n    return {name}(*args)\n", __file__, "exec"), globals())
    call = globals()[f"{name}_call"]

    def typing(*args):
        return call
    return typing


@njit(cache=_CACHE)
def _row_starts(shape, small):
    """For an array of `shape` (at least one axis) read row by row in C order (a row: its last
    axis), where each row starts in a C-ordered array of shape `small` that broadcasts to it,
    and how far one step along the last axis moves there (0 if `small` stretches that axis)."""
    ndim, lead = len(shape), len(shape) - len(small)
    steps = np.zeros(ndim, dtype=np.int64)  # (0 along the axes `small` stretches or lacks)
    stride = 1
    for axis in range(ndim - 1, lead - 1, -1):
        length = small[axis - lead]
        if length != 1:
            steps[axis] = stride
        stride *= length
    rows = 1
    for axis in range(ndim - 1):
        rows *= shape[axis]
    starts = np.empty(rows, dtype=np.int64)
    index = np.zeros(ndim, dtype=np.int64)
    position = 0
    for row in range(rows):
        starts[row] = position
        axis = ndim - 2  # (an odometer over the axes but the last)
        while axis >= 0:
            index[axis] += 1
            position += steps[axis]
            if index[axis] < shape[axis]:
                break
            position -= steps[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
    return starts, steps[ndim - 1]


@njit(cache=_CACHE)
def _require_broadcast(shape, small):
    """Raise, as NumPy would, unless an array of shape `small` broadcasts to `shape`."""
    lead = len(shape) - len(small)
    fits = lead >= 0
    for k in range(len(small)):
        if fits and small[k] != 1 and small[k] != shape[lead + k]:
            fits = False
    if not fits:
        raise ValueError("operands could not be broadcast together")


@njit(cache=_CACHE)
def _sum_to(g, out):
    """Add every element of `g` into `out`, broadcasting in reverse: axes of `out` of length 1
    (and leading axes `out` lacks) are summed over."""
    _require_broadcast(g.shape, out.shape)
    flat_out, flat_g = out.reshape(-1), np.ascontiguousarray(g).reshape(-1)
    if g.ndim == 0 or flat_g.size == 0:
        if flat_g.size:
            flat_out[0] += flat_g[0]
        return out
    starts, step = _row_starts(g.shape, out.shape)
    last = g.shape[g.ndim - 1]
    for row in range(starts.shape[0]):
        begin, position = row * last, starts[row]
        if step == 0:  # (the last axis summed over)
            total = 0.0
            for j in range(last):
                total += flat_g[begin + j]
            flat_out[position] += total
        else:
            for j in range(last):
                flat_out[position + j * step] += flat_g[begin + j]
    return out


@njit(cache=_CACHE)
def _unbroadcast_array(g, shape):
    """`g` summed down to `shape` (the caller has found that they differ)."""
    return _sum_to(g, np.zeros(shape))


@njit(cache=_CACHE)
def _full(shape, value):
    return np.full(shape, value)


@overload(runtime.unbroadcast, inline="always")
def _unbroadcast(g, shape):
    """Inlined, so the common case (nothing was broadcast) costs a comparison of shapes, not a
    call: adjoints in inner loops call this once per operand."""
    if isinstance(g, types.Array) and g.ndim == len(shape):
        def same_rank(g, shape):
            if g.shape == shape:
                return g
            return _unbroadcast_array(g, shape)
        return same_rank
    if isinstance(g, types.Array):
        return lambda g, shape: _unbroadcast_array(g, shape)
    return lambda g, shape: _full(shape, g)


@_cached_overload(runtime.expand_to)
def _expand_to(g, shape, axis=None):
    if not isinstance(g, types.Array) or isinstance(axis, (types.NoneType, types.Omitted)) or axis is None:
        return lambda g, shape, axis=None: _full(shape, g)

    def spread(g, shape, axis=None):
        kept = shape  # the reduced axes kept, with length 1: g in that shape broadcasts to `shape`
        for a in _axes(axis):
            kept = tuple_setitem(kept, a % len(shape), 1)
        return _broadcast_to(np.ascontiguousarray(g).reshape(kept), shape)
    return spread


def _axes(axis):
    return (axis,) if isinstance(axis, int) else axis


@overload(_axes)
def _axes_impl(axis):
    if isinstance(axis, types.Integer):
        return lambda axis: (axis,)
    return lambda axis: axis


@njit(cache=_CACHE)
def _broadcast_to(value, shape):
    """A new array of `shape` holding `value` broadcast (the shapes are checked)."""
    _require_broadcast(shape, value.shape)
    out = np.empty(shape)
    _spread(out.reshape(-1), shape, np.ascontiguousarray(value).reshape(-1), value.shape)
    return out


@njit(cache=_CACHE)
def _broadcast_array_like(t, like):
    if t.ndim == like.ndim and t.shape == like.shape:
        return t
    return _broadcast_to(t, like.shape)


@_cached_overload(runtime.broadcast_like)
def _broadcast_like(t, like):
    if isinstance(t, types.Array):
        return lambda t, like: _broadcast_array_like(t, like)
    return lambda t, like: _full(like.shape, t)


@njit(cache=_CACHE)
def _copy(region, value):
    """``region[...] = value``, broadcasting `value` (the shapes are checked). Compiled once and
    cached with the package: Numba's own array assignment costs each generated function over a
    second of compile time."""
    if region.ndim == value.ndim and region.shape == value.shape:
        _copy_rows(region, value)
    else:
        _copy_rows(region, _broadcast_to(value, region.shape))


@njit(cache=_CACHE)
def _copy_rows(region, value):
    """``region[...] = value`` for arrays of one shape, of any layout, a row (the last axis) at a
    time (NumPy's C order): explicit loops, which cost far less than np.ndindex's tuples."""
    if region.ndim == 1:
        for j in range(region.shape[0]):
            region[j] = value[j]
    elif region.ndim == 2:
        for i in range(region.shape[0]):
            for j in range(region.shape[1]):
                region[i, j] = value[i, j]
    elif region.size:
        for index in np.ndindex(region.shape[:-1]):
            row, source = region[index], value[index]
            for j in range(row.shape[0]):
                row[j] = source[j]


@njit(cache=_CACHE)
def _copy_flat(region, value):
    """``region[...] = value`` for C-ordered arrays (`value` broadcast when shapes differ)."""
    if region.ndim != value.ndim or region.shape != value.shape:
        _copy(region, value)
        return
    out, source = region.reshape(-1), value.reshape(-1)
    for i in range(out.shape[0]):
        out[i] = source[i]


@njit(cache=_CACHE)
def _spread(out, shape, value, small):
    """Fill `out` (a C-ordered array of `shape`, flat) with `value` (one of shape `small`, flat)
    broadcast to it (the shapes are checked)."""
    if len(shape) == 0 or out.size == 0:
        if out.size:
            out[0] = value[0]
        return
    starts, step = _row_starts(shape, small)
    last = shape[len(shape) - 1]
    for row in range(starts.shape[0]):
        begin, position = row * last, starts[row]
        if step == 0:  # (one value along the last axis)
            single = value[position]
            for j in range(last):
                out[begin + j] = single
        else:
            for j in range(last):
                out[begin + j] = value[position + j * step]


@njit(cache=_CACHE)
def _fill(region, value):
    """``region[...] = value`` for a number."""
    if region.ndim == 1:
        for j in range(region.shape[0]):
            region[j] = value
    elif region.ndim == 2:
        for i in range(region.shape[0]):
            for j in range(region.shape[1]):
                region[i, j] = value
    else:
        for index in np.ndindex(region.shape):
            region[index] = value


@njit(cache=_CACHE)
def _fill_flat(region, value):
    """``region[...] = value`` for a number and a C-ordered array."""
    out = region.reshape(-1)
    for i in range(out.shape[0]):
        out[i] = value


@_cached_overload(runtime.copy_into)
def _copy_into(region, value):
    contiguous = isinstance(region, types.Array) and region.layout == "C"
    if isinstance(value, types.Array):
        if contiguous and value.layout == "C":
            return lambda region, value: _copy_flat(region, value)
        return lambda region, value: _copy(region, value)
    if contiguous:
        return lambda region, value: _fill_flat(region, value)
    return lambda region, value: _fill(region, value)


@_cached_overload(np.clip)
def _clip_numbers(x, lo, hi):
    """np.clip of numbers, which Numba's own np.clip (of arrays) does not take: NumPy's
    np.minimum(np.maximum(x, lo), hi), NaN where x or a bound is NaN."""
    if all(isinstance(v, (types.Integer, types.Float)) for v in (x, lo, hi)):
        return lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi)
    return None


def numpy_clip(x, lo, hi):
    """np.clip, as generated code compiled by Numba calls it (see `numpy_for_numba`)."""
    return np.clip(x, lo, hi)


@overload(numpy_clip)
def _numpy_clip(x, lo, hi):
    """NumPy's np.minimum(np.maximum(x, lo), hi), of numbers and arrays: NaN where x or a bound is
    NaN (Numba's np.clip of arrays ignores a NaN bound)."""
    return lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi)


_RAGGED_LIST = runtime.RAGGED_LIST
_compiled_as_written(runtime.checked_span, runtime.checked_entered, runtime.checked_unpack, runtime.checked_single,
                     runtime.checked_int_divisor, runtime.checked_int_exponent, runtime.checked_int_power,
                     runtime.checked_int_sum, runtime.checked_int_difference, runtime.checked_int_product,
                     runtime.checked_int_negation,
                     runtime.checked_sections, runtime.checked_square, runtime.checked_interp_points,
                     runtime.checked_weights_total,
                     runtime.list_capacity, runtime.list_position, runtime.nonempty_list, runtime.last_writes,
                     runtime.running_extreme, runtime.sort_columns, runtime.checked_mask, runtime.to_int,
                     runtime.checked_fraction, runtime.histogram_span, runtime.histogram_weights, runtime.increasing,
                     runtime.slice_span)
_OUT_OF_BOUNDS = runtime.OUT_OF_BOUNDS


def _divided_by_zero(ufunc: str):
    message = f"divide by zero encountered in {ufunc}"

    def warn() -> None:
        warnings.warn(message, RuntimeWarning, stacklevel=3)
    return warn


@_cached_overload(runtime.numpy_divisor)
def _numpy_divisor(divisor, ufunc):
    """The divisor unchanged (compiled integer division follows NumPy's error model: 0, or inf),
    and NumPy's RuntimeWarning when it is 0 (an array: when one of its elements is), given in
    object mode (a branch taken only then)."""
    if not isinstance(ufunc, types.StringLiteral):
        return None
    warn = _divided_by_zero(ufunc.literal_value)
    zero = _holds_zero if isinstance(divisor, types.Array) else _is_zero

    def divisor_(divisor, ufunc):
        if zero(divisor):
            with numba.objmode():
                warn()
        return divisor
    return divisor_


@njit(cache=_CACHE)
def _is_zero(d):
    return d == 0


@njit(cache=_CACHE)
def _holds_zero(a):
    for d in a.flat:
        if d == 0:
            return True
    return False


@_cached_overload(runtime.checked_index)
def _checked_index(index, n):
    if isinstance(index, types.Array):
        def entries(index, n):
            out = np.empty(index.shape, dtype=np.int64)
            for k in range(index.size):
                i = index.flat[k]
                if i < -n or i >= n:
                    raise IndexError(_OUT_OF_BOUNDS)
                out.flat[k] = i + n if i < 0 else i
            return out
        return entries

    def one(index, n):
        if index < -n or index >= n:
            raise IndexError(_OUT_OF_BOUNDS)
        return index + n if index < 0 else index
    return one


_NEGATIVE_SIZE = "negative dimensions are not allowed"


@_cached_overload(runtime.draw_integers)
def _draw_integers(rng, low, high, size):
    """``rng.integers`` with NumPy's checks (Numba's own has another message, and no form
    with `high` alone)."""
    alone = isinstance(low, types.NoneType)
    if isinstance(size, types.NoneType):
        def one(rng, low, high, size):
            if alone and high <= 0:
                raise ValueError("high <= 0")
            start = 0 if alone else low
            if start >= high:
                raise ValueError("low >= high")
            return rng.integers(start, high)
        return one

    def many(rng, low, high, size):
        if alone and high <= 0:
            raise ValueError("high <= 0")
        start = 0 if alone else low
        if start >= high:
            raise ValueError("low >= high")
        if min(size) < 0 if isinstance(size, tuple) else size < 0:
            raise ValueError(_NEGATIVE_SIZE)
        return rng.integers(start, high, size)
    return many


@njit(cache=_CACHE)
def _choice(rng, n, k, replace):
    """NumPy's Generator.choice(n, k, replace) for an integer n (numpy/random/_generator.pyx):
    the same draws from the stream in the same order, so the same numbers. With replacement,
    integers(0, n, k); without, a partial Fisher-Yates shuffle of range(n) from the end when n
    is over 10,000 and k over n // 50, else Floyd's algorithm with a hash set, then a shuffle."""
    if n <= 0 and k != 0:
        raise ValueError("a must be a positive integer unless no samples are taken")
    if replace:
        if k < 0:
            raise ValueError(_NEGATIVE_SIZE)
        if k == 0:
            return np.empty(0, dtype=np.int64)
        return rng.integers(0, n, k)
    if k > n:
        raise ValueError("Cannot take a larger sample than population when replace is False")
    if k < 0:
        raise ValueError(_NEGATIVE_SIZE)
    if n > 10000 and k > n // 50:
        idx = np.arange(n)
        for i in range(n - 1, max(n - k, 1) - 1, -1):
            j = rng.integers(0, i + 1)
            idx[i], idx[j] = idx[j], idx[i]
        return idx[n - k:].copy()
    out = np.empty(k, dtype=np.int64)
    mask = np.int64(1.2 * k)
    for shift in (1, 2, 4, 8, 16, 32):
        mask |= mask >> shift
    seen = np.full(mask + 1, -1, dtype=np.int64)
    for j in range(n - k, n):
        val = rng.integers(0, j + 1)
        loc = val & mask
        while seen[loc] != -1 and seen[loc] != val:
            loc = (loc + 1) & mask
        if seen[loc] == -1:
            seen[loc] = val
            out[j - n + k] = val
        else:
            loc = j & mask
            while seen[loc] != -1:
                loc = (loc + 1) & mask
            seen[loc] = j
            out[j - n + k] = j
    for i in range(k - 1, 0, -1):
        j = rng.integers(0, i + 1)
        out[i], out[j] = out[j], out[i]
    return out


@_cached_overload(runtime.draw_choice)
def _draw_choice(rng, n, size, replace):
    if isinstance(size, types.NoneType):
        return lambda rng, n, size, replace: _choice(rng, n, 1, replace)[0]
    return lambda rng, n, size, replace: _choice(rng, n, size, replace)


@_cached_overload(runtime.list_grow)
def _list_grow(buffer, item, k):
    def grow(buffer, item, k):
        rows = runtime.list_capacity(k)
        if k > 0 and buffer.shape[1:] != np.shape(item):
            raise ValueError(_RAGGED_LIST)
        if k > 0 and buffer.shape[0] == rows:
            return buffer
        out = np.empty((rows,) + np.shape(item))
        if k > 0:
            _copy(out[:k], buffer[:k])
        return out
    return grow


@_cached_overload(runtime.list_resized)
def _list_resized(g, k, after=False):
    def resized(g, k, after=False):
        rows = runtime.list_capacity(k) if after else runtime.list_capacity(k - 1) if k > 0 else 0
        out = np.zeros((rows,) + g.shape[1:])
        m = min(rows, g.shape[0])
        _copy(out[:m], g[:m])
        return out
    return resized


@_cached_overload(runtime.joined_shape)
def _joined_shape(a, b):
    if len(a) < len(b):
        return lambda a, b: _joined_longer(b, a)
    return lambda a, b: _joined_longer(a, b)


@njit(cache=_CACHE)
def _joined_longer(a, b):
    """`joined_shape` for a at least as long as b: the broadcast shape, or a when there is none."""
    out = a
    lead = len(a) - len(b)
    for k in range(len(b)):
        if out[lead + k] == 1:
            out = tuple_setitem(out, lead + k, b[k])
        elif b[k] != 1 and b[k] != out[lead + k]:
            return a
    return out


@_cached_overload(runtime.list_rows)
def _list_rows(buffer, item, k, n):
    def rows(buffer, item, k, n):
        if k == 0:
            return np.empty((n,) + np.shape(item))
        if buffer.shape[1:] != np.shape(item):
            raise ValueError(_RAGGED_LIST)
        return buffer
    return rows


# Adding into a region is left to Numba, inlined: it compiles quickly, and a call per small
# region (a particle's row) would cost more than the addition.
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


@_cached_overload(runtime.broadcast_shapes)
def _broadcast_shapes(a, b):
    if len(a) != len(b):
        return lambda a, b: np.broadcast_shapes(a, b)

    def same_length(a, b):
        out = a
        for k in range(len(a)):
            if a[k] == 1:
                out = tuple_setitem(out, k, b[k])
            elif b[k] != 1 and b[k] != a[k]:
                raise ValueError("shapes cannot be broadcast together")
        return out
    return same_length


def _positions(index):
    """The positions an index array selects: its own values, or where a mask is true (a stand-in:
    only its Numba implementation below is ever called)."""


@overload(_positions)
def _positions_impl(index):
    if isinstance(index.dtype, types.Boolean):
        return lambda index: np.nonzero(index)[0]
    return lambda index: index


@_cached_overload(runtime.add_at)
def _add_at(x, index, value):
    """Scatter-add along the first axis, in order; a boolean mask selects the positions. (The
    implementation closes over nothing but a bool, so Numba's cache can key it.)"""
    array = isinstance(value, types.Array)
    if index.ndim > 1 and not isinstance(index.dtype, types.Boolean):
        # (an index array of several axes, as np.interp's positions of a matrix: each of its elements
        # selects a row of x, in C order, and the value has the index's axes first, as NumPy's)
        if array:
            def scatter_rows(x, index, value):
                flat = np.ascontiguousarray(index).reshape(index.size)
                rows = np.ascontiguousarray(np.broadcast_to(value, index.shape + x.shape[1:]))
                rows = rows.reshape((index.size,) + x.shape[1:])
                for k in range(flat.shape[0]):
                    x[flat[k]] += rows[k]
            return scatter_rows

        def scatter_number(x, index, value):
            flat = np.ascontiguousarray(index).reshape(index.size)
            for k in range(flat.shape[0]):
                x[flat[k]] += value
        return scatter_number

    def scatter(x, index, value):
        where = _positions(index)
        for k in range(where.shape[0]):
            x[where[k]] += value[k] if array else value
    return scatter


@_cached_overload(runtime.add_outer)
def _add_outer(x, a, b):
    def rank_one_update(x, a, b):
        for i in range(a.shape[0]):
            ai = a[i]
            for j in range(b.shape[0]):
                x[i, j] += ai * b[j]
        return x
    return rank_one_update


@njit(cache=_CACHE)
def _dot(a, b):
    return np.dot(a, b)


@_cached_overload(operator.matmul)
def _matmul(a, b):
    """``a @ b`` of float vectors and matrices, through one helper compiled once per layout and
    cached with the package. Numba's own product is compiled into every function that uses it,
    at about 0.2 s per layout, and its first use in a process costs 0.3 s more (BLAS set-up).
    The result is Numba's own: `_dot` is its ``np.dot``."""
    if not all(isinstance(x, types.Array) and x.ndim <= 2 for x in (a, b)):
        return None
    if all(x.dtype == types.float64 for x in (a, b)):
        return lambda a, b: _dot(a, b)
    if {a.dtype, b.dtype} <= {types.float64, types.int64, types.boolean} and types.float64 in (a.dtype, b.dtype):
        return lambda a, b: _dot(a.astype(np.float64), b.astype(np.float64))  # (NumPy's product of mixed types)
    return None


@_cached_overload(runtime.lanes_full)
def _lanes_full(t, like):
    def full(t, like):
        shape = (t.shape[0],) + like.shape
        return t if t.shape == shape else np.broadcast_to(t, shape).copy()
    return full


@_cached_overload(runtime.lanes_matmul)
def _lanes_matmul(a, b):
    """The products with each matrix of a batch as one product of two matrices: the batch's rows
    stacked (a batch on the left), or its columns side by side (on the right)."""
    if a.ndim == 3:
        def left(a, b):
            k, m, n = a.shape
            rows = _dot(np.ascontiguousarray(a).reshape(k * m, n), b)
            return rows.reshape((k, m) + rows.shape[1:])
        return left

    def right(a, b):
        k, n, p = b.shape
        columns = _dot(a, np.ascontiguousarray(b.transpose((1, 0, 2))).reshape(n, k * p))
        if a.ndim == 1:
            return columns.reshape(k, p)
        return np.ascontiguousarray(columns.reshape(a.shape[0], k, p).transpose((1, 0, 2)))
    return right


# --- float arrays: np.zeros(shape) and np.empty(shape) through cached helpers ----------------------
# Numba compiles its own np.zeros and np.empty into every function that calls them, once per
# shape type (about 0.1 s each; a derivative with tapes uses three to six). The helpers are
# compiled once per machine and cached with the package. Inside them an explicit dtype selects
# Numba's own implementation, which the overloads below leave alone.

@njit(cache=_CACHE)
def _empty_f64(shape):
    return np.empty(shape, np.float64)


@njit(cache=_CACHE)
def _zeros_f64(shape):
    out = np.empty(shape, np.float64)
    out.fill(0.0)
    return out


def _float_allocation(shape, dtype) -> bool:
    """A float64 array of a shape given as a number or a tuple of numbers, dtype not given."""
    sized = isinstance(shape, types.Integer) or (isinstance(shape, types.UniTuple)
                                                 and isinstance(shape.dtype, types.Integer))
    return sized and (dtype is float or isinstance(dtype, types.Omitted))  # (not given: either, by Numba's path)


@_cached_overload(np.empty)
def _empty(shape, dtype=float):
    if _float_allocation(shape, dtype):
        return lambda shape, dtype=float: _empty_f64(shape)
    return None


@_cached_overload(np.zeros)
def _zeros(shape, dtype=float):
    if _float_allocation(shape, dtype):
        return lambda shape, dtype=float: _zeros_f64(shape)
    return None


_CHANGED_SHAPE = runtime.CHANGED_SHAPE


def _put(tape, k, value):
    """``tape[k] = value`` (a stand-in: only its Numba implementation below is ever called)."""
    tape[k] = value


@_cached_overload(_put)
def _put_impl(tape, k, value):
    if isinstance(value, types.Array):
        return lambda tape, k, value: _copy(tape[k], value)

    def put_number(tape, k, value):
        tape[k] = value
    return put_number


@_cached_overload(runtime.lane_store)
def _lane_store(batch, lane, value):
    def store(batch, lane, value):
        _put(batch, lane, value)
        return batch
    return store


@njit(cache=_CACHE)
def _store(tape, k, value, capacity, exact):
    """`runtime._store`, compiled: ``tape[k] = value``, reallocating for `capacity` entries (an
    empty value of another shape only makes its row, unless `exact`)."""
    shape = np.shape(value)
    if tape.shape[1:] != shape:
        if exact and tape.shape[0] > 0:
            raise ValueError(_CHANGED_SHAPE)
        if np.size(value) == 0 and tape.shape[0] > 0:
            if tape.size == 0 and _total(shape) > _total(tape.shape[1:]):
                return np.empty((max(capacity, tape.shape[0], k + 1),) + shape, dtype=tape.dtype)
            return tape if k < tape.shape[0] else _grown(tape, capacity)
        if tape[:k].size > 0:
            raise ValueError(_CHANGED_SHAPE)
        tape = np.empty((max(capacity, k + 1),) + shape, dtype=tape.dtype)
    elif k >= tape.shape[0]:
        tape = _grown(tape, capacity)
    _put(tape, k, value)
    return tape


def _total(shape):
    """The sum of a shape's lengths (0 for a scalar's)."""
    return sum(shape)


@overload(_total)
def _total_of(shape):
    if len(shape) == 0:
        return lambda shape: 0

    def total(shape):
        result = 0
        for n in shape:
            result += n
        return result
    return total


@njit(cache=_CACHE)
def _grown(tape, capacity):
    """`runtime._grown`, compiled."""
    grown = np.empty((capacity,) + tape.shape[1:], dtype=tape.dtype)
    _copy(grown[:tape.shape[0]], tape)
    return grown


@_cached_overload(runtime.reserve)
def _reserve(tape, rows):
    return lambda tape, rows: tape if rows <= tape.shape[0] else _grown(tape, rows)


@njit(cache=_CACHE)
def _record(tape, k, n, value, exact):
    return _store(tape if tape.shape[0] == n else tape[:0], k, value, n, exact)


@njit(cache=_CACHE)
def _record_grow(tape, k, value, exact):
    return _store(tape, k, value, max(2 * tape.shape[0], k + 1, 16), exact)


# The tape helpers are compiled once and cached with the package, like `_copy`.
_cached_overload(runtime.record)(lambda tape, k, n, value, exact=False:
                                 lambda tape, k, n, value, exact=False: _record(tape, k, n, value, exact))
@overload(runtime.record_grow, inline="always", jit_options={"cache": True})
def _record_grow_inline(tape, k, value, exact=False):
    """A number stored on a growable tape (a while loop's): inlined into the loop, the tape
    doubled when full, a few instructions per store; an array through `_record_grow`."""
    if tape.ndim == 1 and not isinstance(value, types.Array):
        def number(tape, k, value, exact=False):
            if k >= tape.shape[0]:  # (the test inlined; the growth, rare, is the logs' own)
                tape = runtime._room(tape, k + 1)
            tape[k] = value
            return tape
        return number
    return lambda tape, k, value, exact=False: _record_grow(tape, k, value, exact)


def hide_inlining_report() -> None:
    """Numba's pedantic check of inlined code reports the tape the inlined store may grow as out
    of scope; the code is right (tests/test_numba_backend.py), and the report is for Numba's
    authors. Filtered when this module is imported and again as each compile begins
    (`_BeforeCompiling`): a filter added inside a `warnings.catch_warnings` block (pytest runs
    each test in one) is gone when the block ends."""
    message = r".*variable '_record_grow_inline"
    category = numba.core.errors.NumbaIRAssumptionWarning
    if not any(f[0] == "ignore" and f[1] is not None and f[1].pattern == message and f[2] is category
               for f in warnings.filters):
        warnings.filterwarnings("ignore", message, category)


hide_inlining_report()
_compiled_as_written(runtime.fits_shape, runtime.keeps_shape, runtime.unrecord, runtime.tape_row, runtime.untape_row,
                     runtime.cross_vectors,
                     runtime.record_ragged, runtime._reindexed, runtime._entry, runtime.ragged_row, runtime.ragged_matrix,
                     runtime._room, runtime.log_draw, runtime.log_draws, runtime.logged_draws)
# NumPy's checks of a draw's parameters (passes/draws.py)
_compiled_as_written(runtime.checked_scale, runtime.checked_range, runtime.checked_ordered_range, runtime.checked_size,
                     runtime.checked_seed)


def _masked(t, d):
    if t == 0.0:
        return 0.0
    return t * d




# --- scipy.special's functions: ufuncs of their scalar formulas -----------------------------------
# The Python backend calls SciPy's own (`s2sad.runtime`); these agree with them to a few units in
# the last place (digamma and trigamma to about 1e-14, relative, away from digamma's zero).

def _expit(x):
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # (no overflow of exp(-x) for large negative x)
    return e / (1.0 + e)


def _logit(p):
    """SciPy's formula: log(p / (1 - p)), and near 1/2, where that loses precision,
    log1p(s) - log1p(-s) with s = 2p - 1."""
    if 0.3 <= p <= 0.65:
        s = 2.0 * (p - 0.5)
        return math.log1p(s) - math.log1p(-s)
    return math.log(p / (1.0 - p))


def _xlogy(x, y):
    if x == 0.0 and not math.isnan(y):
        return 0.0
    return x * math.log(y)


@njit(cache=_CACHE)
def _digamma_positive(x):
    """ψ(x) for x > 0: ψ(x) = ψ(x + 1) − 1/x up to x ≥ 10, then the asymptotic series
    ln x − 1/(2x) − Σ B₂ₖ / (2k x²ᵏ) to the term in x⁻¹⁴."""
    shift = 0.0
    while x < 10.0:
        shift -= 1.0 / x
        x += 1.0
    w = 1.0 / (x * x)
    tail = w * (1 / 12 - w * (1 / 120 - w * (1 / 252 - w * (1 / 240 - w * (1 / 132 - w * (691 / 32760 - w / 12))))))
    return shift + math.log(x) - 0.5 / x - tail


@njit(cache=_CACHE)
def _trigamma_positive(x):
    """ψ₁(x) for x > 0: ψ₁(x) = ψ₁(x + 1) + 1/x² up to x ≥ 10, then the asymptotic series
    1/x + 1/(2x²) + Σ B₂ₖ / x²ᵏ⁺¹ to the term in x⁻¹⁵."""
    shift = 0.0
    while x < 10.0:
        inverse = 1.0 / x
        shift += inverse * inverse
        x += 1.0
    v = 1.0 / x
    w = v * v
    tail = v * w * (1 / 6 - w * (1 / 30 - w * (1 / 42 - w * (1 / 30 - w * (5 / 66 - w * (691 / 2730 - w * 7 / 6))))))
    return shift + v + 0.5 * w + tail


def _digamma(x):
    """ψ(x); below 0 by reflection, ψ(x) = ψ(1 − x) − π / tan(πx), with πx reduced to the
    fractional part of x. At the poles, SciPy's values: −inf at +0, inf at −0, NaN below."""
    if x <= 0.0 and x == math.floor(x):
        return -math.copysign(math.inf, x) if x == 0.0 else math.nan
    if x < 0.0:
        return _digamma_positive(1.0 - x) - math.pi / math.tan(math.pi * (x - math.floor(x)))
    return _digamma_positive(x)


def _trigamma(x):
    """ψ₁(x); below 0 by reflection, ψ₁(x) = π² / sin²(πx) − ψ₁(1 − x); inf at the poles."""
    if x <= 0.0 and x == math.floor(x):
        return math.inf
    if x < 0.0:
        ratio = math.pi / math.sin(math.pi * (x - math.floor(x)))
        return ratio * ratio - _trigamma_positive(1.0 - x)
    return _trigamma_positive(x)


def _erf(x):
    return math.erf(x)


def _erfc(x):
    return math.erfc(x)


def _gammaln(x):
    return -math.inf if x == -math.inf else math.lgamma(x)  # (SciPy's value there)


# Helpers compiled as ufuncs: Numba fuses a ufunc into the array expression around it (one loop,
# no temporary array), which a call of an overloaded function would break up. The backend binds
# the ufunc in place of the runtime helper in the code it compiles (`UFUNCS`): masked_product, and
# those calling scipy.special.
_UNARY, _BINARY = ["float64(float64)"], ["float64(float64, float64)"]
_FORMULAS = {runtime.masked_product: (_masked, _BINARY), runtime.erf: (_erf, _UNARY), runtime.erfc: (_erfc, _UNARY),
             runtime.gammaln: (_gammaln, _UNARY), runtime.digamma: (_digamma, _UNARY),
             runtime.trigamma: (_trigamma, _UNARY), runtime.expit: (_expit, _UNARY), runtime.logit: (_logit, _UNARY),
             runtime.xlogy: (_xlogy, _BINARY)}
UFUNCS = frozenset(_FORMULAS)


@functools.cache
def ufunc(helper):
    """The ufunc Numba compiles for `helper` (one of `UFUNCS`), made at its first use: each costs
    about 0.1 s, even loaded from the cache."""
    formula, signatures = _FORMULAS[helper]
    return numba.vectorize(signatures, cache=_CACHE)(formula)


def _calling_ufunc(helper):
    """An overload's typing function whose implementation calls `helper`'s ufunc."""
    def typing(*args):
        compiled = ufunc(helper)
        return lambda *args: compiled(*args)
    return typing


for _helper in UFUNCS:
    _cached_overload(_helper)(_calling_ufunc(_helper))  # (elsewhere)


# --- NumPy reductions Numba lacks: over one axis, and var/std with ddof --------------------------

@njit(cache=_CACHE)
def _reduced_shape(shape, axis):
    """`shape` without `axis` (a tuple one shorter)."""
    out = shape[1:]
    for k in range(len(out)):
        out = tuple_setitem(out, k, shape[k] if k < axis else shape[k + 1])
    return out


_MAX, _MIN, _PROD = 0, 1, 2


@njit(cache=_CACHE)
def _blocks_along(a, axis):
    """`a` (C-ordered, copied if it is not) as three axes: those before `axis`, `axis`, and those
    after it, so that a reduction over `axis` reads contiguous memory in its inner loop."""
    before, after = 1, 1
    for k in range(a.ndim):
        if k < axis:
            before *= a.shape[k]
        elif k > axis:
            after *= a.shape[k]
    return np.ascontiguousarray(a).reshape((before, a.shape[axis], after))


@njit(cache=_CACHE)
def _reduce(a, axis, op):
    """np.max, np.min or np.prod (`op`) of `a` (two or more axes) over `axis`; NaN propagates
    through max and min, as in NumPy."""
    axis = axis % a.ndim
    along = a.shape[axis]
    if along == 0 and op != _PROD:
        raise ValueError("zero-size array to reduction operation which has no identity")
    out = np.ones(_reduced_shape(a.shape, axis), dtype=a.dtype)
    blocks = _blocks_along(a, axis)
    before, after = blocks.shape[0], blocks.shape[2]
    rows = out.reshape((before, after))
    if after == 1 and op != _PROD:  # (the last axis: each result from contiguous values)
        for b in range(before):
            best = blocks[b, 0, 0]
            for j in range(1, along):
                value = blocks[b, j, 0]
                if (value > best if op == _MAX else value < best) or value != value:
                    best = value
            rows[b, 0] = best
        return out
    for b in range(before):
        for j in range(along):
            for i in range(after):
                value = blocks[b, j, i]
                if op == _PROD:
                    rows[b, i] *= value
                elif j == 0:
                    rows[b, i] = value
                else:
                    current = rows[b, i]
                    better = value > current if op == _MAX else value < current
                    if better or value != value:  # (a NaN, once there, stays: nothing compares greater)
                        rows[b, i] = value
    return out


# A vector reduced over its one axis. Named functions, not lambdas: Numba's cache tells functions
# apart by name, line and bytecode, and lambdas for max and min on one line would share an entry.
def _max_of_vector(a, axis=None):
    return np.max(a)


def _min_of_vector(a, axis=None):
    return np.min(a)


def _prod_of_vector(a, axis=None):
    return np.prod(a)


_WHOLE = {_MAX: _max_of_vector, _MIN: _min_of_vector, _PROD: _prod_of_vector}


def _over_axis(op: int):
    def implement(a, axis=None):
        if not _given(axis) and _float_array(a) and op in _OWN_EXTREME:
            return _OWN_EXTREME[op]
        if not (isinstance(a, types.Array) and isinstance(axis, types.Integer)):
            return None  # Numba's own implementation
        return _WHOLE[op] if a.ndim == 1 else lambda a, axis=None: _reduce(a, axis, op)
    return implement


for _function, _op in ((np.max, _MAX), (np.amax, _MAX), (np.min, _MIN), (np.amin, _MIN), (np.prod, _PROD)):
    _cached_overload(_function)(_over_axis(_op))


@njit(cache=_CACHE)
def _divide(total, count):
    """total / count with NumPy's result for a count of 0 (inf, or nan for 0 / 0)."""
    if count > 0:
        return total / count
    return np.nan if total == 0 else np.inf


def _given(value) -> bool:
    return value is not None and not isinstance(value, (types.NoneType, types.Omitted))


@njit(cache=_CACHE)
def _sum_keeping(a, axes):
    """`a` summed over `axes`, which are kept with length 1, and how many elements each sum adds."""
    kept, n = a.shape, 1
    for k in axes:
        kept = tuple_setitem(kept, k % a.ndim, 1)
        n *= a.shape[k % a.ndim]
    return _sum_to(a, np.zeros(kept)), n


@njit(cache=_CACHE)
def _without_axes(shape, axes, like):
    """`shape` without `axes`, as a tuple of the length of `like`."""
    out, position = like, 0
    for k in range(len(shape)):
        if k not in axes and k - len(shape) not in axes:
            out = tuple_setitem(out, position, shape[k])
            position += 1
    return out


def _spread_over_axes(root: bool, kept: int):
    """np.var (or np.std) over a tuple of axes leaving `kept` of them: the sums keep the reduced
    axes (with length 1) until the end."""
    def over(a, axis=None, ddof=0):
        total, n = _sum_keeping(a, axis)
        centred = a - total / n
        squares, _ = _sum_keeping(centred * centred, axis)
        value = squares / max(n - ddof, 0)
        value = np.sqrt(value) if root else value
        return value.reshape(_without_axes(a.shape, axis, a.shape[:kept]))
    return over


def _spread_over_axis(root: bool):
    """np.var (or np.std) with an axis or ddof, which Numba's own lacks."""
    def implement(a, axis=None, ddof=0):
        if not isinstance(a, types.Array) or not (_given(axis) or _given(ddof)):
            return None
        if isinstance(axis, types.UniTuple) and axis.count < a.ndim:
            return _spread_over_axes(root, a.ndim - axis.count)
        if isinstance(axis, types.Integer) and a.ndim > 1:  # (a vector's one axis is all of it, as are all the axes)
            def along(a, axis=None, ddof=0):
                n = a.shape[axis % a.ndim]
                centred = a - runtime.expand_to(np.sum(a, axis=axis) / n, a.shape, axis=axis)
                value = np.sum(centred * centred, axis=axis) / max(n - ddof, 0)  # an array: 0 gives inf or nan
                return np.sqrt(value) if root else value
            return along

        def whole(a, axis=None, ddof=0):
            centred = a - np.sum(a) / a.size
            value = _divide(np.sum(centred * centred), max(a.size - ddof, 0))
            return np.sqrt(value) if root else value
        return whole
    return implement


_cached_overload(np.var)(_spread_over_axis(False))
_cached_overload(np.std)(_spread_over_axis(True))


# --- np.all and np.any over one axis, which Numba's own lack ---------------------------------------

@njit(cache=_CACHE)
def _truth_along(a, axis, every):
    """np.all (`every`) or np.any of `a` (two or more axes) over `axis`."""
    axis = axis % a.ndim
    out = np.full(_reduced_shape(a.shape, axis), every)
    blocks, rows = _blocks_along(a, axis), out.reshape(-1)
    after = blocks.shape[2]
    for b in range(blocks.shape[0]):
        for j in range(blocks.shape[1]):
            for i in range(after):
                if (blocks[b, j, i] != 0) != every:
                    rows[b * after + i] = not every
    return out


def _all_of_vector(a, axis=None):
    return np.all(a)


def _any_of_vector(a, axis=None):
    return np.any(a)


def _truth_over_axis(every: bool):
    def implement(a, axis=None):
        if not (isinstance(a, types.Array) and isinstance(axis, types.Integer)):
            return None  # Numba's own implementation
        if a.ndim == 1:
            return _all_of_vector if every else _any_of_vector
        return lambda a, axis=None: _truth_along(a, axis, every)
    return implement


_cached_overload(np.all)(_truth_over_axis(True))
_cached_overload(np.any)(_truth_over_axis(False))


# --- np.cumprod along an axis, which Numba's own lacks ---------------------------------------------

@njit(cache=_CACHE)
def _cumprod_along(a, axis):
    """The running product along `axis` (two or more axes), one line at a time."""
    last = a.ndim - 1
    lines = np.swapaxes(a, axis % a.ndim, last)
    out = np.empty(lines.shape, dtype=a.dtype)
    for index in np.ndindex(lines.shape[:-1]):
        line, target = lines[index], out[index]
        for k in range(line.shape[0]):
            target[k] = line[k] if k == 0 else target[k - 1] * line[k]
    return np.ascontiguousarray(np.swapaxes(out, axis % a.ndim, last))


def _cumprod_of_vector(a, axis=None):
    return np.cumprod(a)


@_cached_overload(np.cumprod)
def _cumprod(a, axis=None):
    if not (isinstance(a, types.Array) and isinstance(axis, types.Integer)):
        return None
    return _cumprod_of_vector if a.ndim == 1 else lambda a, axis=None: _cumprod_along(a, axis)


# --- NumPy shape functions Numba lacks with an axis -------------------------------------------------

@njit(cache=_CACHE)
def _require_length_one(a, axis):
    if a.shape[axis % a.ndim] != 1:
        raise ValueError("cannot select an axis to squeeze out which has size not equal to one")


@_cached_overload(np.squeeze)
def _squeeze(a, axis=None):
    if not (isinstance(a, types.Array) and isinstance(axis, types.Integer)):
        return None
    if a.ndim == 1:
        def single(a, axis=None):
            _require_length_one(a, axis)
            return a[0]
        return single

    def squeeze(a, axis=None):
        _require_length_one(a, axis)
        return a.reshape(_reduced_shape(a.shape, axis % a.ndim))

    def squeeze_view(a, axis=None):  # (Numba reshapes only contiguous arrays)
        _require_length_one(a, axis)
        return np.moveaxis(a, axis, 0)[0]
    return squeeze if a.layout == "C" else squeeze_view


@_cached_overload(np.flip)
def _flip(a, axis=None):
    if isinstance(a, types.Array) and isinstance(axis, types.Integer):
        return lambda a, axis=None: np.swapaxes(np.swapaxes(a, 0, axis)[::-1], 0, axis)
    return None


# --- np.full with an array fill value, which Numba's own lacks ------------------------------------

@_cached_overload(np.full)
def _full_of_array(shape, fill_value, dtype=None):
    """Only a float64 array without `dtype=` (what generated code writes); the rest is Numba's."""
    if not (isinstance(fill_value, types.Array) and fill_value.dtype == types.float64) or _given(dtype):
        return None

    return lambda shape, fill_value, dtype=None: _broadcast_to(fill_value, shape)


# --- rearrangements Numba lacks: np.tile, np.repeat and np.roll with an axis, np.pad ---------------
# Each result element copies one element of the operand (or, for np.pad, is the fill value). Along
# each axis the result's index i reads the operand's index (i - shift) // step, wrapped around the
# operand's length or, for np.pad, outside it reading the fill value. One gather does them all,
# and the same map run backwards adds a cotangent's copies up (the adjoints of tile and repeat).

@njit(cache=_CACHE)
def _sources(shape, operand, shift, step, wrap):
    """The map above, one axis per row: for each index i along axis k of a result of `shape`, the
    index of the operand (of shape `operand`) that it reads, or -1 where it reads the fill value."""
    longest = 0
    for k in range(len(shape)):
        longest = max(longest, shape[k])
    maps = np.empty((len(shape), longest), dtype=np.int64)
    for k in range(len(shape)):
        if shape[k] == 0:
            continue
        source = -shift[k] // step[k]  # (for i = 0; then one more every step[k] indices: no division)
        phase = -shift[k] - source * step[k]
        wrapped = source % operand[k] if wrap else source
        for i in range(shape[k]):
            if wrap:
                maps[k, i] = wrapped
            else:
                maps[k, i] = source if 0 <= source < operand[k] else -1
            phase += 1
            if phase == step[k]:
                phase, source, wrapped = 0, source + 1, wrapped + 1
                if wrapped == operand[k]:
                    wrapped = 0
    return maps


@njit(cache=_CACHE)
def _gather(x, out, shift, step, wrap, fill):
    """Fill `out` from `x` (as many axes as `out`) through the map above, a row (the last axis) at
    a time; returns `out`."""
    if out.size == 0:
        return out
    maps, last = _sources(out.shape, x.shape, shift, step, wrap), out.ndim - 1
    if out.ndim == 1:
        _gather_row(out, x, maps[0], fill)
        return out
    for index in np.ndindex(out.shape[:-1]):
        source, inside = index, True
        for k in range(last):
            inside = inside and maps[k, index[k]] >= 0
            source = tuple_setitem(source, k, max(maps[k, index[k]], 0))
        if inside:
            _gather_row(out[index], x[source], maps[last], fill)
        else:
            out[index][:] = fill
    return out


@njit(cache=_CACHE, inline="always")
def _gather_row(row, source, map_, fill):
    for j in range(row.shape[0]):
        row[j] = source[map_[j]] if map_[j] >= 0 else fill


@njit(cache=_CACHE)
def _fold(g, shape, step):
    """The adjoint of a wrapping gather without shift: g's elements added into an array of `shape`
    at the index each was copied from."""
    out = np.zeros(shape)
    if g.size == 0:
        return out
    maps, last = _sources(g.shape, shape, _filled(shape, 0), step, True), g.ndim - 1
    if g.ndim == 1:
        _fold_row(out, g, maps[0])
        return out
    for index in np.ndindex(g.shape[:-1]):
        source = index
        for k in range(last):
            source = tuple_setitem(source, k, maps[k, index[k]])
        _fold_row(out[source], g[index], maps[last])
    return out


@njit(cache=_CACHE, inline="always")
def _fold_row(row, g, map_):
    for j in range(g.shape[0]):
        row[map_[j]] += g[j]


@njit(cache=_CACHE, inline="always")
def _filled(like, value):
    """A tuple as long as `like` holding `value` everywhere."""
    out = like
    for k in range(len(like)):
        out = tuple_setitem(out, k, value)
    return out


@njit(cache=_CACHE, inline="always")
def _along(like, axis, value, rest):
    """A tuple as long as `like`: `value` at `axis`, `rest` elsewhere."""
    return tuple_setitem(_filled(like, rest), axis % len(like), value)


@njit(cache=_CACHE)
def _tile_array(a, reps):
    shape = a.shape
    for k in range(a.ndim):
        shape = tuple_setitem(shape, k, a.shape[k] * reps[k])
    ones = _filled(a.shape, 1)
    return _gather(a, np.empty(shape, dtype=a.dtype), _filled(a.shape, 0), ones, True, 0)


@_cached_overload(np.tile)
def _tile(A, reps):
    """Only reps with one count per axis (what generated code writes)."""
    if isinstance(A, types.Array) and isinstance(reps, types.BaseTuple) and len(reps) == A.ndim:
        return lambda A, reps: _tile_array(A, reps)
    return None


@njit(cache=_CACHE)
def _repeat_along(a, repeats, axis):
    axis %= a.ndim
    shape = tuple_setitem(a.shape, axis, a.shape[axis] * repeats)
    return _gather(a, np.empty(shape, dtype=a.dtype), _filled(a.shape, 0), _along(a.shape, axis, repeats, 1),
                   True, 0)


@_cached_overload(np.repeat)
def _repeat(a, repeats, axis=None):
    if isinstance(a, types.Array) and isinstance(repeats, types.Integer) and isinstance(axis, types.Integer):
        return lambda a, repeats, axis=None: _repeat_along(a, repeats, axis)
    return None  # Numba's own (without an axis)


@njit(cache=_CACHE)
def _roll_along(a, shift, axis):
    ones = _filled(a.shape, 1)
    return _gather(a, np.empty(a.shape, dtype=a.dtype), _along(a.shape, axis, shift, 0), ones, True, 0)


@_cached_overload(np.roll)
def _roll(a, shift, axis=None):
    if isinstance(a, types.Array) and isinstance(shift, types.Integer) and isinstance(axis, types.Integer):
        return lambda a, shift, axis=None: _roll_along(a, shift, axis)
    return None  # Numba's own (without an axis)


@njit(cache=_CACHE)
def _pad_constant(array, pad_width, value):
    shape, before = array.shape, _filled(array.shape, 0)
    for k in range(array.ndim):
        shape = tuple_setitem(shape, k, array.shape[k] + pad_width[k][0] + pad_width[k][1])
        before = tuple_setitem(before, k, pad_width[k][0])
    out = np.empty(shape, dtype=array.dtype)
    return _gather(array, out, before, _filled(array.shape, 1), False, value)


@_cached_overload(np.pad)
def _pad(array, pad_width, mode="constant", constant_values=0):
    """Constant padding with a (before, after) pair per axis (what generated code writes)."""
    default_mode = mode == "constant" or isinstance(mode, types.Omitted)  # (not given)
    if isinstance(array, types.Array) and isinstance(pad_width, types.BaseTuple) and len(pad_width) == array.ndim \
            and default_mode and isinstance(constant_values, (int, types.Number, types.Omitted)):
        return lambda array, pad_width, mode="constant", constant_values=0: \
            _pad_constant(array, pad_width, constant_values)
    return None


@_cached_overload(runtime.untile)
def _untile(g, shape):
    return lambda g, shape: _fold(g, shape, _filled(shape, 1))


@_cached_overload(runtime.unrepeat)
def _unrepeat(g, shape, repeats, axis=None):
    if _given(axis):
        return lambda g, shape, repeats, axis=None: _fold(g, shape, _along(shape, axis, repeats, 1))

    def flat(g, shape, repeats, axis=None):
        size = 1
        for n in shape:
            size *= n
        return _fold(np.ascontiguousarray(g).reshape(-1), (size,), (repeats,)).reshape(shape)
    return flat

# --- linear algebra ------------------------------------------------------------------------------
# The helpers of the decompositions' rules are written so that Numba compiles them as they are.

_compiled_as_written(runtime.inverse_gaps, runtime.thin_reciprocal, runtime.full_rank_gram, runtime.square_r)


def _of_integers(*arrays) -> bool:
    """Whether an argument is an array of integers or booleans, which NumPy's linear algebra
    computes with as float64 and Numba's own refuses."""
    return any(isinstance(a, types.Array) and isinstance(a.dtype, (types.Integer, types.Boolean)) for a in arrays)


@njit(cache=_CACHE)
def _singular_values(a):
    return np.linalg.svd(a, False)[1]


@_cached_overload(np.linalg.svd)
def _svd_values_alone(a, full_matrices=True, compute_uv=True):
    """``np.linalg.svd(a, compute_uv=False)``, which Numba's own lacks (the vectors are computed
    and dropped). Only a literal False is taken over, and an array of integers (cast to float64,
    as NumPy computes with it); the rest is Numba's."""
    values_alone = isinstance(compute_uv, types.BooleanLiteral) and compute_uv.literal_value is False
    if values_alone and _of_integers(a):
        return lambda a, full_matrices=True, compute_uv=True: _singular_values(a.astype(np.float64))
    if values_alone:
        return lambda a, full_matrices=True, compute_uv=True: _singular_values(a)
    vectors = compute_uv is True or isinstance(compute_uv, types.Omitted) or \
        isinstance(compute_uv, types.BooleanLiteral) and compute_uv.literal_value is True
    if vectors and _of_integers(a):  # (a Boolean not yet literal: Numba asks again with its value)
        return lambda a, full_matrices=True, compute_uv=True: np.linalg.svd(a.astype(np.float64), full_matrices)
    return None


@_cached_overload(np.linalg.lstsq)
def _lstsq_default_rcond(a, b, rcond=None):
    """``np.linalg.lstsq(a, b, rcond=None)``: NumPy's default cut-off, eps·max(m, n), which Numba's
    own (whose default is eps alone) takes only as a number. Arrays of integers are cast to float64,
    as NumPy computes with them."""
    if _of_integers(a, b):
        return lambda a, b, rcond=None: np.linalg.lstsq(a.astype(np.float64), b.astype(np.float64), rcond)
    if not isinstance(rcond, types.NoneType):
        return None
    return lambda a, b, rcond=None: np.linalg.lstsq(a, b, runtime._EPS * max(a.shape[0], a.shape[1]))


def _floats_for(fn, arity: int) -> None:
    """Register `fn` (one of np.linalg's) of arrays of integers or booleans as `fn` of their
    float64 values, as NumPy computes it (Numba's own refuses them)."""
    if arity == 1:
        @_cached_overload(fn)
        def one(a):
            return (lambda a: fn(a.astype(np.float64))) if _of_integers(a) else None
    else:
        @_cached_overload(fn)
        def two(a, b):
            return (lambda a, b: fn(a.astype(np.float64), b.astype(np.float64))) if _of_integers(a, b) else None


for _fn in (np.linalg.inv, np.linalg.det, np.linalg.slogdet, np.linalg.cholesky, np.linalg.eigh,
            np.linalg.eigvalsh, np.linalg.qr):
    _floats_for(_fn, 1)
_floats_for(np.linalg.solve, 2)


# --- NumPy functions Numba compiles slowly, through helpers cached with the package ---------------
# Numba compiles its own np.sum, np.max, np.min and np.where into every function that calls them,
# once per signature: np.sum over an axis costs about 1.3 s (its error message formats numbers),
# np.where about 1 s, np.max 0.5 s. The helpers below call Numba's own implementations through
# stand-ins and are compiled once per machine. The overloads above must be registered before
# Numba's own (which it registers when it first compiles in a process, or when its modules are
# imported, as below); registered after, they are never chosen and Numba's own compile as before.

def _own_sum(a, axis=None, dtype=None):
    """Numba's own np.sum (a stand-in: only its Numba implementation is ever called)."""


def _own_max(a):
    """Numba's own np.max (a stand-in)."""


def _own_min(a):
    """Numba's own np.min (a stand-in)."""


def _own_where(condition, x, y):
    """Numba's own np.where (a stand-in)."""


@njit(cache=_CACHE)
def _sum_all(a):
    return _own_sum(a)


@njit(cache=_CACHE)
def _sum_along(a, axis):
    return _own_sum(a, axis)


@njit(cache=_CACHE)
def _max_all(a):
    return _own_max(a)


@njit(cache=_CACHE)
def _min_all(a):
    return _own_min(a)


@njit(cache=_CACHE)
def _where_numbers(condition, x, y):
    return _own_where(condition, x, y)


def _float_array(a) -> bool:
    return isinstance(a, types.Array) and a.dtype == types.float64


def _max_whole(a, axis=None):
    return _max_all(a)


def _min_whole(a, axis=None):
    return _min_all(a)


_OWN_EXTREME = {_MAX: _max_whole, _MIN: _min_whole}


@_cached_overload(np.sum)
def _sum(a, axis=None, dtype=None):
    """A float array's sum, whole or over an axis given as a number; the rest is Numba's own."""
    if not _float_array(a) or _given(dtype):
        return None
    if not _given(axis):
        return lambda a, axis=None, dtype=None: _sum_all(a)
    if isinstance(axis, types.Integer):
        return lambda a, axis=None, dtype=None: _sum_along(a, axis)
    return None


@_cached_overload(np.where)
def _where(condition, x, y):
    """``np.where(c, 1.0, 0.0)`` of a boolean array and two floats (the adjoints of max and min)."""
    if isinstance(condition, types.Array) and isinstance(condition.dtype, types.Boolean) \
            and isinstance(x, types.Float) and isinstance(y, types.Float):
        return lambda condition, x, y: _where_numbers(condition, x, y)
    return None


# --- np.exp and np.tanh of float arrays, in loops the compiler vectorises --------------------------
# Numba computes them an element at a time with the C library's exp and tanh (4.5 and 14 ns each,
# where NumPy's vectorised loops take 0.6 and 1.2). The formulas below have no call and no branch
# (selects instead), so LLVM vectorises a loop of them: 3x and 6x faster, and within one unit in
# the last place of NumPy's results (as the C library's are). A lone number keeps the C library's
# functions, whose shorter chain of dependent operations suits a sum's loop better.

@intrinsic
def _float_from_bits(typingctx, bits):
    """The float64 whose bits are the int64 `bits`."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


# exp(r) - 1 - r over |r| <= ln 2 / 2, and ln 2 in two parts (fdlibm's e_exp.c)
_EXP_P = (1.66666666666666019037e-01, -2.77777777770155933842e-03, 6.61375632143793436117e-05,
          -1.65339022054652515390e-06, 4.13813679705723846039e-08)
_LN2_HI, _LN2_LO, _INV_LN2 = 6.93147180369123816490e-01, 1.90821492927058770002e-10, 1.44269504088896338700e+00


@njit(cache=_CACHE, inline="always", error_model="numpy")
def _exp_formula(x):
    """exp(x): x = k ln 2 + r, exp(r) by fdlibm's rational form, times 2**k made from its bits (in
    two factors, so that 2**k for k down to -1075, subnormal results, and up to 1024 fit)."""
    c = min(max(x, -746.0), 710.0)
    n = np.int64(c * _INV_LN2 + (0.5 if c > 0.0 else -0.5))
    k = np.float64(n)
    hi, lo = c - k * _LN2_HI, k * _LN2_LO
    r = hi - lo
    t = r * r
    p = r - t * (_EXP_P[0] + t * (_EXP_P[1] + t * (_EXP_P[2] + t * (_EXP_P[3] + t * _EXP_P[4]))))
    y = 1.0 - ((lo - (r * p) / (2.0 - p)) - hi)
    half = n >> 1
    y = y * _float_from_bits((half + 1023) << 52) * _float_from_bits((n - half + 1023) << 52)
    y = np.inf if x > 709.782712893383973096 else y
    y = 0.0 if x < -745.13321910194110842 else y
    return x if x != x else y


# tanh(x) = x + x z P(z) / Q(z), z = x², for |x| < 0.625 (Cephes's tanh.c)
_TANH_P = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
_TANH_Q = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)


@njit(cache=_CACHE, inline="always", error_model="numpy")
def _tanh_formula(x):
    """tanh(x): Cephes's rational form near 0; 1 - 2 / (exp(2|x|) + 1), signed, elsewhere."""
    z = x * x
    near = x + x * z * ((_TANH_P[0] * z + _TANH_P[1]) * z + _TANH_P[2]) / \
        (((z + _TANH_Q[0]) * z + _TANH_Q[1]) * z + _TANH_Q[2])
    a = min(abs(x), 22.0)
    far = 1.0 - 2.0 / (_exp_formula(2.0 * a) + 1.0)
    far = far if x >= 0.0 else -far
    y = near if abs(x) < 0.625 else far
    return x if x == 0.0 or x != x else y  # (tanh(-0.0) is -0.0)


# The ufuncs' kernels: named functions (Numba's cache tells functions apart by name and line).
def _exp_kernel(x):
    return _exp_formula(x)


def _tanh_kernel(x):
    return _tanh_formula(x)


@functools.cache
def _kernel_ufunc(kernel):
    """The ufunc of float64 that Numba makes of `kernel` (at its first use: about 0.1 s, even
    loaded from the cache)."""
    return numba.vectorize(["float64(float64)"], cache=_CACHE)(kernel)


def fast_exp(x):
    """np.exp, as generated code compiled by Numba calls it (see `numpy_for_numba`)."""
    return np.exp(x)


def fast_tanh(x):
    """np.tanh, as generated code compiled by Numba calls it (see `numpy_for_numba`)."""
    return np.tanh(x)


def _of_float_arrays(kernel, numpy_function):
    """An overload computing `kernel` over a float64 array (a ufunc, which Numba fuses into the
    array expression around it), and `numpy_function` as Numba does for anything else."""
    def typing(x):
        if isinstance(x, types.Array) and x.dtype == types.float64:
            compiled = _kernel_ufunc(kernel)
            return lambda x: compiled(x)
        return lambda x: numpy_function(x)
    return typing


overload(fast_exp)(_of_float_arrays(_exp_kernel, np.exp))
overload(fast_tanh)(_of_float_arrays(_tanh_kernel, np.tanh))


def numpy_round(x, decimals=0):
    """np.round, as generated code compiled by Numba calls it (see `numpy_for_numba`)."""
    return np.round(x, decimals)


@njit(cache=_CACHE)
def _power_of_ten(n):
    """10.0 ** n as NumPy's rounding computes it: exact up to 1e8, then multiplied by 10 step by step."""
    if n < 9:
        return (1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8)[n]
    power = 1e9
    for _ in range(n - 9):
        power *= 10.0
    return power


@overload(numpy_round)
def _numpy_round(x, decimals=0):
    """NumPy's steps for floats: x times 10 ** decimals, rounded half to even, divided back (a
    division then a product for decimals < 0). Numba's own returns x where the product overflows
    (NumPy's inf) and splits 10 ** decimals in two past 22 decimals (another rounding)."""
    floats = isinstance(x, types.Float) or (isinstance(x, types.Array) and isinstance(x.dtype, types.Float))
    if not floats:
        return lambda x, decimals=0: np.round(x, decimals)

    def rounded(x, decimals=0):
        if decimals >= 0:
            scale = _power_of_ten(decimals)
            return np.rint(x * scale) / scale
        scale = _power_of_ten(-decimals)
        return np.rint(x / scale) * scale
    return rounded


@functools.cache
def numpy_for_numba() -> ModuleType:
    """NumPy as the generated modules that Numba compiles see it (their ``np``): NumPy itself but
    for np.exp and np.tanh, which over float arrays take the vectorised formulas above, and
    np.round and np.clip, which take NumPy's steps (`numpy_round`, `numpy_clip`)."""
    module = ModuleType("numpy")
    module.__dict__.update(np.__dict__)
    module.exp, module.tanh = fast_exp, fast_tanh
    module.round = module.around = numpy_round
    module.clip = numpy_clip
    return module


def _register_own() -> None:
    """The stand-ins' implementations: Numba's own (importing them registers Numba's overloads
    of the NumPy functions, after the ones above)."""
    from numba.np import arraymath

    overload(_own_sum)(arraymath.array_sum)
    overload(_own_max)(arraymath.npy_max)
    overload(_own_min)(arraymath.npy_min)
    overload(_own_where)(arraymath.ov_np_where_x_y)


def _ours_first(*functions) -> None:
    """Numba tries a function's overloads in the order they were registered: where its own came
    first (it compiled something in this process before this module was imported), move the
    overloads of this module ahead of them."""
    from numba.core.registry import cpu_target

    context = cpu_target.typing_context
    context.refresh()
    for function in functions:
        found = context._lookup_global(function)
        if found is None:
            continue
        ours = [t for t in found.templates if getattr(getattr(t, "_overload_func", None), "__module__", "") == __name__]
        rest = [t for t in found.templates if t not in ours]
        context._remove_global(function)
        context._insert_global(function, types.Function(tuple(ours + rest)))


@functools.cache
def _ready_to_compile() -> None:
    """What compiling needs of Numba beyond this module's overloads, done at the first compile
    of the process (importing Numba's implementations and refreshing its typing context cost a
    few tenths of a second, which a process that only loads machine code does not spend:
    numba_load.py)."""
    _register_own()
    _ours_first(np.sum, np.max, np.amax, np.min, np.amin, np.where, np.zeros, np.empty, np.all, np.any,
                operator.matmul)


def _bind_numpy_for_numba(fn) -> None:
    """Bind, in the module of `fn` (a generated module, one per derivative), the ufunc versions of
    the runtime helpers it imports, which Numba fuses into array expressions, and NumPy as Numba
    should compile it (`numpy_for_numba`). Done as Numba begins to compile `fn`: loading its
    machine code from the cache needs neither."""
    for helper in UFUNCS:
        if fn.__globals__.get(helper.__name__) is helper:
            fn.__globals__[helper.__name__] = ufunc(helper)
    if fn.__globals__.get("np") is np:
        fn.__globals__["np"] = numpy_for_numba()


class _BeforeCompiling(numba.core.event.Listener):
    """Numba's compiles, from their start: this module's preparations made first (for a
    generated function, the names it should see bound too)."""

    def on_start(self, event) -> None:
        _ready_to_compile()
        hide_inlining_report()
        fn = getattr(event.data.get("dispatcher"), "py_func", None)
        if fn is not None and fn.__globals__.get("__name__", "").startswith(python.PACKAGE + "."):
            _bind_numpy_for_numba(fn)

    def on_end(self, event) -> None:
        pass


numba.core.event.register("numba:compile", _BeforeCompiling())


# --- checkpointing schedules: the state machines of s2sad/checkpoint.py, compiled as written -------
# `next_action` is one call a row (its helpers inlined into it: a call costs more than a row's work,
# the state array's reference count updated at each level). The runtime's names, which the Python
# backend runs on its generators' schedules, stand for them here.

def _inlined_as_written(*functions) -> None:
    """Runtime helpers that Numba compiles as they are written, inlined where they are called."""
    for function in functions:
        _cached_overload(function, inline="always")(_itself(function))


def _overloaded_as_written(*functions, by=None) -> None:
    """Runtime helpers that Numba compiles as they are written (or as `by` is, for one), called
    directly (no wrapper in between: one call level)."""
    for function in functions:
        _cached_overload(function)(_itself(by or function))


def _itself(function):
    """An overload's typing function whose implementation is `function` itself (with its
    signature, as Numba asks of an overload)."""
    @functools.wraps(function)
    def typing(*args):
        return function
    return typing


_inlined_as_written(*checkpoint.INLINED)
_overloaded_as_written(checkpoint.next_action)  # (the state makers make the first row with it)
_overloaded_as_written(runtime.next_action, by=checkpoint.next_action)
_overloaded_as_written(runtime.schedule_slots, by=checkpoint.schedule_slots)
_overloaded_as_written(runtime.binomial_schedule, by=checkpoint.binomial_state)  # (the state as an array)
_overloaded_as_written(runtime.periodic_schedule, by=checkpoint.periodic_state)
