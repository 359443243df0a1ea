"""Helpers the generated code calls, where one NumPy expression would not do.

Each is a small function on NumPy arrays, written so that Numba can compile it too.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Iterator

import numpy as np

from . import checkpoint as _checkpoint

# What generated code may import from here (codegen reserves these names).
__all__ = ["add_at", "add_into", "add_outer", "binomial_schedule", "broadcast_like", "broadcast_shapes",
           "checked_ordered_range", "checked_range", "checked_scale", "checked_sections", "checked_seed", "checked_single",
           "checked_size", "checked_square", "checked_interp_points", "checked_weights_total",
           "checked_entered", "checked_fraction", "checked_index", "checked_mask", "checked_span", "checked_unpack", "copy_into",
           "checked_int_difference", "checked_int_divisor", "checked_int_exponent", "checked_int_negation",
           "checked_int_power", "checked_int_product", "checked_int_sum", "numpy_divisor",
           "cross_vectors", "digamma", "draw_choice", "draw_integers", "erf", "erfc", "expand_to", "expit", "fits_shape",
           "full_rank_gram", "gammaln", "histogram_span", "histogram_weights", "increasing", "inverse_gaps",
           "joined_shape", "keeps_shape", "lane_store", "lanes_full", "lanes_matmul", "last_writes", "list_capacity",
           "list_grow", "list_position", "nonempty_list", "list_resized", "list_rows", "log_draw", "log_draws",
           "logged_draws", "logit", "masked_product", "next_action",
           "periodic_schedule", "poll_signals", "ragged_matrix", "ragged_row", "record", "record_grow",
           "record_ragged", "reserve", "running_extreme", "schedule_slots", "slice_span", "sort_columns", "square_r", "sub_into", "tape_row",
           "thin_reciprocal", "to_int", "trigamma", "unbroadcast", "unrecord", "untape_row", "unrepeat",
           "untile", "xlogy"]


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


def broadcast_shapes(a: tuple, b: tuple) -> tuple:
    """The shape of an elementwise operation on arrays of shapes a and b."""
    return np.broadcast_shapes(a, b)


def joined_shape(a: tuple, b: tuple) -> tuple:
    """The shape of an elementwise operation on arrays of shapes a and b, computed before a loop
    that makes such an operation (passes/shapes.py); when they do not broadcast, the longer of
    the two: the operation itself raises where NumPy's would, if the loop runs."""
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return tuple(a) if len(a) >= len(b) else tuple(b)


def untile(g: np.ndarray, shape: tuple) -> np.ndarray:
    """The adjoint of ``np.tile(x, reps)`` for x of `shape` (as many axes as g): g's tiles,
    each of `shape`, added up."""
    if 0 in shape:
        return np.zeros(shape)
    tiles = [size for n, m in zip(shape, np.shape(g)) for size in (m // n, n)]
    return np.asarray(g, dtype=np.float64).reshape(tiles).sum(axis=tuple(range(0, len(tiles), 2)))


def unrepeat(g: np.ndarray, shape: tuple, repeats: int, axis=None) -> np.ndarray:
    """The adjoint of ``np.repeat(x, repeats, axis)`` for x of `shape`: each run of `repeats`
    copies of an element, added up."""
    g = np.asarray(g, dtype=np.float64)
    if not repeats:
        return np.zeros(shape)
    if axis is None:
        return g.reshape(-1, repeats).sum(axis=1).reshape(shape)
    axis %= len(shape)
    runs = tuple(shape[:axis]) + (shape[axis], repeats) + tuple(shape[axis + 1:])
    return g.reshape(runs).sum(axis=axis + 1)


def add_at(x: np.ndarray, index: np.ndarray, value) -> None:
    """``x[index] += value`` where repeated indices each add (``np.add.at``)."""
    if index.dtype == np.bool_:
        x[index] += value
    else:
        np.add.at(x, index, value)


def copy_into(region: np.ndarray, value) -> None:
    """``region[...] = value``: store into a view (``x[1:-1]``, ``x[i]``), broadcasting value."""
    region[...] = value


RAGGED_LIST = ("the items appended to a list in a loop have different shapes, and s2sad keeps such a list as an "
               "array of rows of one shape (np.array of the list would fail in NumPy too)")


EMPTY_LIST = ("a list of arrays built in a loop is empty where it is used as an array: NumPy takes an empty list for "
              "an array of no numbers (np.array([]) has one axis, np.sum([], axis=0) is 0.0, np.stack([]) raises), "
              "not for one of no rows like its items, so the results would differ")


def nonempty_list(rows: np.ndarray) -> np.ndarray:
    """The rows of a list built in a loop, after checking that it has items (see EMPTY_LIST)."""
    if rows.shape[0] == 0:
        raise ValueError(EMPTY_LIST)
    return rows


def list_rows(buffer, item, k: int, n: int) -> np.ndarray:
    """The array a list appended to once per loop iteration is kept in: a new one of `n` rows
    shaped like `item` at the first iteration (k = 0), `buffer` itself after."""
    if k == 0:
        return np.empty((n,) + np.shape(item))
    if buffer.shape[1:] != np.shape(item):
        raise ValueError(RAGGED_LIST)
    return buffer


def checked_fraction(q, scale: float):
    """`q`, after checking that it lies within 0 ... scale (a quantile, or a percentile): NumPy's
    ValueError otherwise (NaN too)."""
    if not 0.0 <= q <= scale:
        raise ValueError("quantiles must be in the range [0, 1] (percentiles in [0, 100])")
    return q


def histogram_span(low: float, high: float, upper: bool) -> float:
    """One end of np.histogram's range (the upper one if `upper`), as NumPy takes it: a
    ValueError for a range that is not finite or that decreases, and an empty range widened by
    0.5 on each side."""
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("the range of np.histogram is not finite")
    if low > high:
        raise ValueError("max must be larger than min in range parameter.")
    if low == high:
        return high + 0.5 if upper else low - 0.5
    return high if upper else low


def histogram_weights(weights: np.ndarray, a: np.ndarray) -> np.ndarray:
    """`weights`, after checking that they have a's shape (np.histogram's weights=)."""
    if weights.shape != a.shape:
        raise ValueError("weights should have the same shape as a.")
    return weights


def increasing(edges: np.ndarray) -> np.ndarray:
    """`edges`, after checking that they do not decrease (np.histogram's bins as an array)."""
    for k in range(1, edges.shape[0]):
        if edges[k - 1] > edges[k]:
            raise ValueError("`bins` must increase monotonically, when an array")
    return edges


def to_int(x) -> int:
    """``int(x)``: x truncated toward zero, with Python's errors for NaN and infinities (which
    compiled code would turn into an arbitrary integer)."""
    f = float(x)
    if f != f:
        raise ValueError("cannot convert float NaN to integer")
    if math.isinf(f):
        raise OverflowError("cannot convert float infinity to integer")
    return int(x)


def last_writes(index: np.ndarray, n: int) -> np.ndarray:
    """Which entries of an index array into an axis of length `n` are written last, for
    ``x[index] = v`` (NumPy keeps the last value written where an index repeats): a mask over
    `index`. Raises NumPy's IndexError for an index out of bounds."""
    kept = np.zeros(index.shape[0], dtype=np.bool_)
    seen = np.zeros(n, dtype=np.bool_)
    for j in range(index.shape[0] - 1, -1, -1):
        i = index[j]
        if i < -n or i >= n:
            raise IndexError(OUT_OF_BOUNDS)
        i = i + n if i < 0 else i
        if not seen[i]:
            seen[i] = True
            kept[j] = True
    return kept


def running_extreme(x: np.ndarray, larger: bool) -> np.ndarray:
    """Where each element of ``np.maximum.accumulate(x)`` (`larger`; else ``np.minimum``) comes
    from, column by column of a matrix (along its first axis): the first position attaining the
    running extreme, and from the first NaN on that NaN's position (NumPy's maximum keeps a NaN)."""
    n, m = x.shape
    positions = np.zeros((n, m), dtype=np.int64)
    for j in range(m):
        best = 0
        for k in range(1, n):
            held, new = x[best, j], x[k, j]
            if held == held and (new != new or (new > held if larger else new < held)):
                best = k
            positions[k, j] = best
    return positions


def sort_columns(x: np.ndarray) -> np.ndarray:
    """The positions that sort each column of a matrix (a stable sort: ties keep their order)."""
    positions = np.empty(x.shape, dtype=np.int64)
    for j in range(x.shape[1]):
        positions[:, j] = np.argsort(np.ascontiguousarray(x[:, j]), kind="mergesort")
    return positions


def checked_mask(mask: np.ndarray, n: int) -> np.ndarray:
    """`mask`, after checking that it has the length `n` of the axis it selects from."""
    if mask.shape[0] != n:
        raise IndexError(MASK_LENGTH)
    return mask


def checked_index(index, n: int):
    """`index` (an integer or an integer array) into an axis of length `n`, counted from the
    start (negative entries count from the end); NumPy's IndexError when out of bounds."""
    if np.any(np.less(index, -n)) or np.any(np.greater_equal(index, n)):
        raise IndexError(OUT_OF_BOUNDS)
    if np.ndim(index) == 0:  # (an integer stays one: a 0-d array would make x[..., i] a copy)
        return int(index) + n if index < 0 else int(index)
    return np.where(np.less(index, 0), np.add(index, n), index)


def checked_span(first: int, last: int, n: int) -> None:
    """NumPy's IndexError if an index from `first` to `last` (none when last < first) falls
    outside an axis of length `n`: the indices a loop will use, checked before it runs."""
    if first <= last and (first < -n or last >= n):
        raise IndexError(OUT_OF_BOUNDS)


def draw_integers(rng, low, high, size):
    """``rng.integers(low, high, size)``, or ``rng.integers(high, size=size)`` when `low` is None."""
    return rng.integers(high, size=size) if low is None else rng.integers(low, high, size)


def draw_choice(rng, n: int, size, replace: bool):
    """``rng.choice(n, size, replace=replace)``: integers below n (backend/numba_runtime.py draws
    them with NumPy's algorithm)."""
    return rng.choice(n, size, replace=replace)


NO_ITERATION = ("a loop whose first iteration changes the type of a value it carries (a number the loop makes an "
                "array) ran no iteration, so the value kept its first type; s2sad gives such a value one type, "
                "that of the iterations")


NO_ITERATION_UNBOUND = ("a loop that alone assigns a name read after it ran no iteration, so the name is unbound "
                        "after it (Python raises UnboundLocalError where it is read)")


def checked_entered(trips: int, unbound: bool = False) -> None:
    """A run-time refusal (NO_ITERATION, or NO_ITERATION_UNBOUND when the loop was lowered so to
    bind a name only it assigns) when a loop lowered with its first iteration apart
    (frontend/lower.py, `settled_region`) would not run it: `trips`, its number of iterations (a
    while loop's condition as it starts)."""
    if trips < 1:
        if unbound:
            raise ValueError(NO_ITERATION_UNBOUND)
        raise ValueError(NO_ITERATION)


def checked_unpack(m: int, n: int) -> None:
    """Python's ValueError when `m` items (an array's first axis) are unpacked into `n` names."""
    if m > n:
        raise ValueError("too many values to unpack (expected " + str(n) + ")")
    if m < n:
        raise ValueError("not enough values to unpack (expected " + str(n) + ", got " + str(m) + ")")


def checked_single(size: int) -> None:
    """NumPy's ValueError when ``x.item()`` is asked of an array of `size` elements, not one."""
    if size != 1:
        raise ValueError("can only convert an array of size 1 to a Python scalar")


def checked_square(rows: int, cols: int) -> None:
    """NumPy's ValueError when einsum collapses the axes of a matrix that is not square into one
    index (``np.einsum('ii', A)``)."""
    if rows != cols:
        raise ValueError("einsum: dimensions in operand for collapsing index don't match (the matrix is not square)")


def checked_weights_total(zero: bool) -> None:
    """NumPy's ZeroDivisionError when np.average's weights sum to 0."""
    if zero:
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")


def checked_interp_points(points: int, values: int) -> None:
    """NumPy's ValueError when np.interp is given no points, or not one value per point."""
    if points == 0:
        raise ValueError("array of sample points is empty")
    if points != values:
        raise ValueError("fp and xp are not of the same length.")


def checked_int_exponent(exponent) -> None:
    """NumPy's ValueError when integer arrays are raised to a negative integer power."""
    for k in np.asarray(exponent).ravel():
        if k < 0:
            raise ValueError("Integers to negative integer powers are not allowed.")


def checked_int_divisor(divisor: int) -> None:
    """Python's ZeroDivisionError for a division (or modulo) of integers by 0."""
    if divisor == 0:
        raise ZeroDivisionError("integer division or modulo by zero")


def numpy_divisor(divisor, ufunc: str):
    """The integer divisor of a NumPy division (np.mod, np.floor_divide, np.divide ..., or one
    of integer arrays), a number as NumPy's integer: so that a division of Python's integers by 0
    gives NumPy's result (0, or inf) and its RuntimeWarning rather than Python's
    ZeroDivisionError. (`ufunc` names the function in the warning compiled code gives.)"""
    return divisor if isinstance(divisor, np.ndarray) else np.int64(divisor)


def checked_int_power(base: int, exponent: int) -> None:
    """Refuse a power of Python's ints that s2sad's int64 arithmetic would not give: a negative
    exponent (Python's result is a float) or a result past int64 (Python's ints do not wrap)."""
    if exponent < 0:
        raise ValueError("an integer to a negative integer power is a float in Python, which s2sad's "
                         "integer arithmetic does not give; write float(n) ** m")
    power, limit = 1, 9223372036854775807
    for _ in range(exponent):
        if power != 0 and abs(base) > limit // abs(power):
            raise OverflowError("this integer power exceeds int64, where Python's int would not wrap around; "
                                "write float(n) ** m")
        power = power * base
        if power == 0 or power == 1:
            break


def _overflow_message(what: str) -> str:
    return ("integer overflow: this " + what + " exceeds the 64-bit integers s2sad computes with, where Python's "
            "int would not wrap around; compute it with floats (float(n))")


_SUM_OVERFLOW, _DIFFERENCE_OVERFLOW, _PRODUCT_OVERFLOW, _NEGATION_OVERFLOW = (
    _overflow_message(what) for what in ("sum", "difference", "product", "negation"))


def checked_int_sum(a: int, b: int) -> None:
    """Refuse ``a + b`` of integers whose exact value leaves int64 (passes/overflow.py)."""
    if (b > 0 and a > 9223372036854775807 - b) or (b < 0 and a < -9223372036854775808 - b):
        raise OverflowError(_SUM_OVERFLOW)


def checked_int_difference(a: int, b: int) -> None:
    """Refuse ``a - b`` of integers whose exact value leaves int64."""
    if (b < 0 and a > 9223372036854775807 + b) or (b > 0 and a < -9223372036854775808 + b):
        raise OverflowError(_DIFFERENCE_OVERFLOW)


def checked_int_product(a: int, b: int) -> None:
    """Refuse ``a * b`` of integers whose exact value leaves int64 (the quotients are taken
    only when an operand is past 3037000499, the square root of int64's range). (Numbers
    written out: module integers stop Numba caching the helper.)"""
    if -3037000499 <= a <= 3037000499 and -3037000499 <= b <= 3037000499:
        return
    if a > 0:
        wraps = b > 9223372036854775807 // a if b > 0 else b < -9223372036854775808 // a
    elif a < 0:
        wraps = a < -9223372036854775808 // b if b > 0 else (b != 0 and b < 9223372036854775807 // a)
    else:
        wraps = False
    if wraps:
        raise OverflowError(_PRODUCT_OVERFLOW)


def checked_int_negation(a: int) -> None:
    """Refuse ``-a`` and ``abs(a)`` of the one int64 whose negation leaves int64, -2⁶³."""
    if a == -9223372036854775808:
        raise OverflowError(_NEGATION_OVERFLOW)


def slice_span(n: int, start: int, stop: int, step: int) -> tuple[int, int]:
    """Where the slice ``start:stop:step`` (step > 0) of an axis of length `n` begins, and how
    many elements it has: Python's ``slice.indices``, negative bounds counted from the end and
    both clipped to the axis (an element loop over a slice region runs over these)."""
    start = max(start + n, 0) if start < 0 else min(start, n)
    stop = max(stop + n, 0) if stop < 0 else min(stop, n)
    return start, max(0, (stop - start + step - 1) // step)


OUT_OF_BOUNDS = "index out of bounds for its axis"


class Interrupted(Exception):
    """A signal (Ctrl-C) stopped compiled code (poll_signals); re-raised as KeyboardInterrupt."""


def poll_signals(k: int) -> None:
    """In compiled loops, at step k: every 16,384 steps, `Interrupted` if a signal came (Python,
    which checks for signals itself, needs nothing: backend/numba_runtime.py compiles this)."""
MASK_LENGTH = "boolean index did not match the length of the indexed axis"


def list_capacity(k: int) -> int:
    """The rows of a list's array once its item k is stored (`list_grow`): 16, doubled as
    needed. A schedule of k alone, so that the reverse sweep knows every earlier size."""
    rows = 16
    while rows <= k:
        rows *= 2
    return rows


def list_grow(buffer, item, k: int) -> np.ndarray:
    """The array a list appended to a number of times not known in advance is kept in, ready
    for item k: `buffer` itself while it has room, else a new one of ``list_capacity(k)`` rows
    holding buffer's first k."""
    rows = list_capacity(k)
    if k > 0 and buffer.shape[1:] != np.shape(item):
        raise ValueError(RAGGED_LIST)
    if k > 0 and buffer.shape[0] == rows:
        return buffer
    out = np.empty((rows,) + np.shape(item))
    if k > 0:
        out[:k] = buffer[:k]
    return out


def list_position(i: int, n: int) -> int:
    """The position of ``xs[i]`` in a list of `n` items (counted from the end when i < 0), or
    Python's IndexError."""
    if i < -n or i >= n:
        raise IndexError("list index out of range")
    return i + n if i < 0 else i


def list_resized(g: np.ndarray, k: int, after: bool = False) -> np.ndarray:
    """`g` cut or padded with zero rows to the size `list_grow` gave the array before item k
    (none at k = 0), or, `after`, once it is stored: the adjoint of the growth for item k (g
    has the rows after it) and, `after`, its own adjoint (g has the rows before it)."""
    rows = list_capacity(k) if after else list_capacity(k - 1) if k > 0 else 0
    out = np.zeros((rows,) + g.shape[1:])
    m = min(rows, g.shape[0])
    out[:m] = g[:m]
    return out


def add_into(region: np.ndarray, value) -> None:
    """``region += value``: add into a view, broadcasting value."""
    region += value


def sub_into(region: np.ndarray, value) -> None:
    """``region -= value``: subtract from a view, broadcasting value."""
    region -= value


def add_outer(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``x += np.outer(a, b)``, in place; returns x."""
    x += np.outer(a, b)
    return x


CHANGED_SHAPE = ("an array the reverse sweep needs changes shape from one loop iteration to the next, "
                 "and such arrays cannot be recorded yet")


def masked_product(t, d):
    """``t * d``, but 0 wherever `t` is 0, even where `d` is infinite or NaN.

    `t` is a tangent or a cotangent and `d` a partial derivative that can be infinite or NaN at
    finite inputs (``0.5 / np.sqrt(x)`` at 0). A zero `t` means that this term contributes
    nothing; ``0 * inf`` would instead give NaN and spread into every derivative the sum reaches.
    Costs a minimum on top of the product (NaN exactly when an element is), and the mask only
    where there is a NaN. (Numba compiles a ufunc instead, `backend/numba_runtime.py`.)"""
    if not isinstance(t, np.ndarray) and not isinstance(d, np.ndarray):
        return t * d if t != 0.0 else 0.0
    product = np.multiply(t, d)
    if math.isnan(np.minimum.reduce(product, axis=None, initial=0.0)):
        product = np.where(np.equal(t, 0.0), 0.0, product)
    return product


def keeps_shape(x: np.ndarray, shape: tuple, runs: bool = True) -> np.ndarray:
    """`x`, the initial value of an array a loop carries, after checking that the loop body's
    first iteration gives it back with the same shape, `shape` (computed from the values the
    shape depends on, all bound before the loop): then every iteration does, and the reverse sweep
    records the array on a tape of rows of x's shape (passes/shapes.py). Not checked when the loop
    does not `runs`."""
    if runs and x.shape != shape:
        raise ValueError(CHANGED_SHAPE)
    return x


def fits_shape(x: np.ndarray, like: np.ndarray, in_place: bool = False, runs: bool = True) -> np.ndarray:
    """`x`, after checking that it broadcasts to ``like.shape`` (so that an elementwise operation
    of `x` with an array of like's shape keeps that shape). Checked before a loop whose carried
    array is combined with `x`, where the reverse sweep relies on the carried array keeping the
    shape of its initial value `like`; otherwise that array changes shape in the loop (not
    checked when the loop does not `runs`: then NumPy combines nothing). With `in_place`,
    checked for ``like op= x``, which NumPy refuses when it would change like's shape."""
    if not runs:
        return x
    lead = like.ndim - x.ndim
    for k in range(x.ndim):
        if lead < 0 or (x.shape[k] != 1 and x.shape[k] != like.shape[lead + k]):
            if in_place:
                raise ValueError(IN_PLACE_SHAPE)
            raise ValueError(CHANGED_SHAPE)
    return x


IN_PLACE_SHAPE = "non-broadcastable operand: an in-place operation cannot change its array's shape"


def cross_vectors(x: np.ndarray) -> np.ndarray:
    """`x`, after checking that its last axis holds 3 elements: the vectors of ``np.cross``,
    which is computed from their components x[..., 0], x[..., 1] and x[..., 2]."""
    if x.shape[-1] != 3:
        raise ValueError("incompatible dimensions for cross product (np.cross takes vectors of 3 elements here)")
    return x


# scipy.special's functions, as generated code calls them: SciPy's own, imported when first
# needed (importing SciPy takes a while). Numba compiles ufuncs of their formulas instead
# (`backend/numba_runtime.py`).

@functools.cache
def _scipy_special():
    import scipy.special
    return scipy.special


def _special(name: str, doc: str):
    def helper(*args):
        return getattr(_scipy_special(), name)(*args)
    helper.__name__ = helper.__qualname__ = name
    helper.__doc__ = doc
    return helper


erf = _special("erf", "The error function, ``scipy.special.erf``.")
erfc = _special("erfc", "The complementary error function 1 - erf(x), ``scipy.special.erfc``.")
gammaln = _special("gammaln", "log |Γ(x)|, ``scipy.special.gammaln``.")
digamma = _special("digamma", "ψ(x), the derivative of log Γ(x), ``scipy.special.digamma``.")
expit = _special("expit", "The logistic sigmoid 1 / (1 + exp(-x)), ``scipy.special.expit``.")
logit = _special("logit", "log(p / (1 - p)), the inverse of expit, ``scipy.special.logit``.")
xlogy = _special("xlogy", "x · log(y), 0 where x is 0 (unless y is NaN), ``scipy.special.xlogy``.")


def trigamma(x):
    """ψ₁(x), the derivative of digamma: ``scipy.special.polygamma(1, x)``."""
    return _scipy_special().polygamma(1, x)


# NumPy's checks of a random draw's parameters, which Numba's draws do not make: the code Numba
# compiles makes them before drawing (passes/draws.py), and raises as NumPy would. Each returns
# its first operand (`checked_range` the range), so that the draw depends on it.

def checked_scale(scale):
    """`scale` (of a normal draw), after checking that no element is negative (NaN passes)."""
    if np.any(np.less(scale, 0.0)):
        raise ValueError("scale < 0")
    return scale


def checked_range(low, high):
    """``high - low`` (of a uniform draw), after checking that it is finite."""
    span = high - low
    if not np.all(np.isfinite(span)):
        raise OverflowError("Range exceeds valid bounds")
    return span


def checked_ordered_range(low, high):
    """``high - low`` (of a Generator's uniform draw), after checking that it is finite and not
    negative."""
    span = checked_range(low, high)
    if np.any(np.less(span, 0.0)):
        raise ValueError("high - low < 0")
    return span


def checked_size(size: tuple, shape: tuple) -> tuple:
    """`size`, after checking that parameters of `shape` broadcast to it (a draw of `size`)."""
    if np.broadcast_shapes(shape, size) != size:
        raise ValueError("shape mismatch: the parameters of a random draw do not broadcast to its size")
    return size


def checked_sections(n: int, sections: int) -> int:
    """The length of each of `sections` equal parts of an axis of `n` (``np.split(x, sections)``),
    after checking that they are equal, as NumPy does."""
    if n % sections != 0:
        raise ValueError("array split does not result in an equal division")
    return n // sections


def checked_seed(seed: int) -> int:
    """`seed` (of ``np.random.seed``), after checking that it is a 32-bit unsigned integer."""
    if seed < 0 or seed > 4294967295:
        raise ValueError("Seed must be between 0 and 2**32 - 1")
    return seed


def lane_store(batch: np.ndarray, lane: int, value) -> np.ndarray:
    """``batch[lane] = value``, and the batch: a lane's tangent stored into a batch of tangents."""
    batch[lane] = value
    return batch


def lanes_full(t: np.ndarray, like) -> np.ndarray:
    """The batch `t` of shape (k, 1.., *s) broadcast to (k, *like.shape): itself when it has that
    shape, else a new array."""
    shape = (t.shape[0],) + np.shape(like)
    return t if t.shape == shape else np.broadcast_to(t, shape).copy()


def lanes_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` where one operand is a batch of matrices (k, m, n) and the other a vector or a
    matrix: the product for each matrix of the batch, stacked."""
    return np.matmul(a, b)


def record(tape: np.ndarray, k: int, n: int, value, exact: bool = False) -> np.ndarray:
    """Store `value` at ``tape[k]`` of a tape for `n` steps, allocating it at the first store
    (for arrays whose shape is first known inside the loop). See `_store` for `exact`."""
    return _store(tape if tape.shape[0] == n else tape[:0], k, value, n, exact)


def record_grow(tape: np.ndarray, k: int, value, exact: bool = False) -> np.ndarray:
    """Store `value` at ``tape[k]``, doubling the tape when it is full (for while loops)."""
    return _store(tape, k, value, max(2 * tape.shape[0], k + 1, 16), exact)


_UNSET = -1.0  # (a ragged tape's start of an entry not stored yet)

# A ragged tape holds one array per loop step whose shape may change from one step to the next
# (``M[i, i + 1:]`` in an elimination): a flat buffer holding its index capacity C, then the
# entries' starts (C + 1 positions, entry k ending where k + 1 starts) and shapes (ndim lengths
# each), then the entries' elements one after another. Positions and lengths are stored as
# floats (exact below 2**53), as are integer and boolean entries. Entries are stored in step order,
# each at most once: one not stored (where the branch computing it did not run) is empty, and the
# positions not known yet are _UNSET. A for loop's tape has an index for its n steps; a while
# loop's starts with 16 entries and doubles its index (and its buffer) as needed.

def record_ragged(tape: np.ndarray, k: int, n: int, value: np.ndarray) -> np.ndarray:
    """Store `value` as entry k of a ragged tape for `n` steps (0: not known in advance),
    allocated at the first store for entries the size of the first."""
    ndim = value.ndim
    if tape.shape[0] == 0:
        slots = n if n > 0 else 16
        head = 2 + slots * (1 + ndim)
        tape = np.empty(head + slots * value.size)
        tape[0] = slots
        tape[1] = head
        tape[2:head] = _UNSET
    slots = int(tape[0])
    if k >= slots:  # (a while loop's index is full: twice the entries, the elements moved after it)
        tape = _reindexed(tape, max(2 * slots, k + 1), ndim)
        slots = int(tape[0])
    if tape[1 + k] < 0:  # (the entries since the last one stored were not: they are empty)
        j = k
        while tape[1 + j] < 0:
            j -= 1
        tape[2 + j:2 + k] = tape[1 + j]
    start = int(tape[1 + k])
    tape = _room(tape, start + value.size)
    tape[start:start + value.size] = value.ravel()
    tape[2 + k] = start + value.size
    for axis in range(ndim):
        tape[2 + slots + k * ndim + axis] = value.shape[axis]
    return tape


# A checkpointed loop's log of draws: the numbers its steps drew, one after another in the order
# they were drawn (a loop's steps count their draws: `position` is where a draw's numbers start).
# It doubles when full. Steps run again read their draws back from their positions.

def log_draw(log: np.ndarray, position: int, z: float) -> np.ndarray:
    """The log with the number `z` drawn at `position`."""
    log = _room(log, position + 1)
    log[position] = z
    return log


def log_draws(log: np.ndarray, position: int, z: np.ndarray) -> np.ndarray:
    """The log with the array `z` drawn from `position` on (its elements in order)."""
    log = _room(log, position + z.size)
    log[position:position + z.size] = z.ravel()
    return log


def _room(log: np.ndarray, end: int) -> np.ndarray:
    """`log`, or a copy twice as long (at least `end`) when it ends before `end`: how the logs of
    draws, ragged tapes and (compiled) the tapes of numbers in while loops grow."""
    if end <= log.shape[0]:
        return log
    grown = np.empty(max(2 * log.shape[0], end, 16), dtype=log.dtype)
    grown[:log.shape[0]] = log
    return grown


def logged_draws(log: np.ndarray, position: int, shape) -> np.ndarray:
    """The array of `shape` drawn from `position` on, read back from the log (a new array)."""
    out = np.empty(shape)
    out.reshape(out.size)[:] = log[position:position + out.size]
    return out


def _reindexed(tape: np.ndarray, slots: int, ndim: int) -> np.ndarray:
    """A ragged tape with an index of `slots` entries (more than it has), and room for twice its
    elements: its starts moved by the longer index, its shapes and elements copied after it."""
    old = int(tape[0])
    head_before, head = 2 + old * (1 + ndim), 2 + slots * (1 + ndim)
    elements = tape.shape[0] - head_before
    out = np.empty(head + 2 * elements)
    out[0] = slots
    out[2:head] = _UNSET
    starts = tape[1:2 + old]
    out[1:2 + old] = np.where(starts < 0, _UNSET, starts + (head - head_before))
    out[2 + slots:2 + slots + old * ndim] = tape[2 + old:head_before]
    out[head:head + elements] = tape[head_before:]
    return out


def ragged_row(tape: np.ndarray, k: int) -> np.ndarray:
    """Entry k (a vector) of a ragged tape (a view; empty for an entry not stored)."""
    start, stop = _entry(tape, k)
    return tape[start:stop]


def ragged_matrix(tape: np.ndarray, k: int) -> np.ndarray:
    """Entry k (a matrix) of a ragged tape (a view; 0 × 0 for an entry not stored)."""
    start, stop = _entry(tape, k)
    if start == stop and (tape.shape[0] == 0 or k >= tape[0] or tape[2 + int(tape[0]) + 2 * k] < 0):
        return np.empty((0, 0))
    shapes = 2 + int(tape[0]) + 2 * k
    return tape[start:stop].reshape((int(tape[shapes]), int(tape[shapes + 1])))


def _entry(tape: np.ndarray, k: int) -> tuple:
    """Where entry k of a ragged tape starts and stops: nowhere (0, 0) when it was not stored (a
    branch that did not run at that step, and at none after it)."""
    if tape.shape[0] == 0 or k >= tape[0] or tape[1 + k] < 0 or tape[2 + k] < 0:
        return 0, 0
    return int(tape[1 + k]), int(tape[2 + k])


def tape_row(tape: np.ndarray, k: int) -> np.ndarray:
    """``tape[k]`` of a tape stored into only where a branch ran (its rows end at the last such
    iteration); past its rows (where the branch did not run, and the row is not read), zeros of
    its entries' shape."""
    if k < tape.shape[0]:
        return tape[k]
    return np.zeros(tape.shape[1:], dtype=tape.dtype)


def untape_row(g: np.ndarray, k: int, tape: np.ndarray) -> np.ndarray:
    """The cotangent of `tape` from the cotangent `g` of ``tape_row(tape, k)``: zeros but row k."""
    out = np.zeros(tape.shape)
    if k < tape.shape[0]:
        out[k] = g
    return out


def unrecord(g: np.ndarray, k: int, tape: np.ndarray) -> np.ndarray:
    """The cotangent of the tape a `record` or `record_grow` stored into at row k, from the
    cotangent `g` of the tape it returned: g's rows that were the tape's, row k cleared (the
    stored value's), or zeros when that store allocated the tape afresh. Linear in g, and its
    own adjoint: ``unrecord(h, k, g)`` carries a cotangent h of the result back to g."""
    out = np.zeros(tape.shape)
    if tape.shape[1:] == g.shape[1:]:
        rows = min(tape.shape[0], g.shape[0])
        out[:rows] = g[:rows]
        if k < rows:
            out[k] = 0.0
    return out


def _store(tape: np.ndarray, k: int, value, capacity: int, exact: bool = False) -> np.ndarray:
    """``tape[k] = value``, reallocating for `capacity` entries when the tape is too short or has
    no entries of `value`'s shape yet. Unless `exact` (a value computed at every iteration), an
    empty value of another shape than the tape's entries (a placeholder from a branch not taken,
    or an inner loop's tape of nothing but those) is not stored, but its row is made: the reverse
    sweep reads every row, and this one only where the branch was not taken, which does not use
    it. While every entry is empty, the tape takes the shape of the empty entry with the most
    rows (the reverse sweep indexes them). An `exact` entry of another shape than the k before it
    is an array changing shape between iterations: CHANGED_SHAPE."""
    shape = np.shape(value)
    if tape.shape[1:] != shape:
        if exact and tape.shape[0]:  # (rows of another shape were stored)
            raise ValueError(CHANGED_SHAPE)
        if np.size(value) == 0 and tape.shape[0]:  # (rows made already, of entries that may be empty too)
            if np.size(tape) == 0 and sum(shape) > sum(tape.shape[1:]):  # (all empty: the entries that can be
                return np.empty((max(capacity, tape.shape[0], k + 1),) + shape, dtype=tape.dtype)  # indexed most)
            return tape if k < tape.shape[0] else _grown(tape, capacity)
        if np.size(tape[:k]):
            raise ValueError(CHANGED_SHAPE)
        tape = np.empty((max(capacity, k + 1),) + shape, dtype=tape.dtype)
    elif k >= tape.shape[0]:
        tape = _grown(tape, capacity)
    tape[k] = value
    return tape


def reserve(tape: np.ndarray, rows: int) -> np.ndarray:
    """`tape`, or a copy of it with `rows` entries when it has fewer: the room a while loop's
    tapes get before a run of steps that stores into them without growing them (passes/chunks.py)."""
    return tape if rows <= tape.shape[0] else _grown(tape, rows)


def _grown(tape: np.ndarray, capacity: int) -> np.ndarray:
    """A copy of `tape` with room for `capacity` entries."""
    grown = np.empty((capacity,) + tape.shape[1:], dtype=tape.dtype)
    grown[:tape.shape[0]] = tape
    return grown


# --- helpers of the linear-algebra rules ----------------------------------------------------------
# Each refuses, with NumPy's LinAlgError, the inputs at which the derivative it serves does not
# exist, rather than return infinities. Written so that Numba compiles the same code.

_EPS = 2.220446049250313e-16  # np.finfo(np.float64).eps


def inverse_gaps(values: np.ndarray) -> np.ndarray:
    """F with F[i, j] = 1 / (values[j] - values[i]) off the diagonal and 0 on it: the factor of
    the derivative of eigenvectors (values = eigenvalues) and singular vectors (values = the
    squared singular values). Two values closer than n·eps·max|values| (not told apart at
    working precision) have no such derivative: LinAlgError."""
    n = values.shape[0]
    scale = 0.0
    for i in range(n):
        scale = max(scale, abs(values[i]))
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                gap = values[j] - values[i]
                if abs(gap) <= n * _EPS * scale:
                    raise np.linalg.LinAlgError("repeated eigenvalues or singular values: their vectors "
                                                "have no derivative there")
                out[i, j] = 1.0 / gap
    return out


def thin_reciprocal(s: np.ndarray, x: np.ndarray) -> np.ndarray:
    """1 / s, the weights of the terms of the singular vectors' derivative that leave the span of
    U (a tall x) or of V (a wide x); zeros for a square x, where those terms vanish. A
    non-square x with a zero singular value (below max(m, n)·eps·max(s)) has no such
    derivative: LinAlgError."""
    m, n = x.shape
    if m == n:
        return np.zeros(s.shape[0])
    top = 0.0
    for i in range(s.shape[0]):
        top = max(top, s[i])
    for i in range(s.shape[0]):
        if s[i] <= max(m, n) * _EPS * top:
            raise np.linalg.LinAlgError("a zero singular value of a non-square matrix: its singular "
                                        "vectors have no derivative there")
    return 1.0 / s


def full_rank_gram(x: np.ndarray, rank: int) -> np.ndarray:
    """xᵀ x, for the derivative of a least-squares solution, which exists only where x has full
    column rank (`rank`, as np.linalg.lstsq found it): LinAlgError otherwise."""
    if rank < x.shape[1]:
        raise np.linalg.LinAlgError("np.linalg.lstsq is differentiated only at a matrix of full column "
                                    "rank (as many independent rows as columns)")
    return x.T @ x


def square_r(r: np.ndarray) -> np.ndarray:
    """`r`, the R factor of a reduced QR, checked to be square: a wide matrix's (m × n, m < n) has
    another derivative, not computed (LinAlgError)."""
    if r.shape[0] != r.shape[1]:
        raise np.linalg.LinAlgError("np.linalg.qr is differentiated only for a square or tall matrix")
    return r


# --- checkpointing schedules (s2sad/checkpoint.py) ------------------------------------------------
# Generated code holds a schedule whose first three entries are the row to run next and asks
# `next_action` for each row in turn: no schedule of l rows is ever made. Under Numba the schedule
# is the int64 state checkpoint.py makes and `next_action` the state machine there
# (backend/numba_runtime.py); in Python, a list holding the row, the rows after it coming from the
# policy's generator (`Policy.rows`), which keeps the same integers in its local variables.

class _RowSchedule(list):
    """A schedule for the Python backend: the list [action, k, j] of its current row, and the
    rows after it, from `rows` (END after the last). `slots` and `nbytes` are those of the
    compiled form's `state`, which holds what the generator holds (tape_bytes counts it)."""

    __slots__ = ("following", "slots", "nbytes")

    def __init__(self, rows: Iterator[tuple[int, int, int]], state: np.ndarray) -> None:
        end = (_checkpoint.END, -1, -1)
        super().__init__(end)
        self.following = itertools.chain(rows, itertools.repeat(end)).__next__
        self.slots = int(_checkpoint.schedule_slots(state))
        self.nbytes = state.nbytes
        next_action(self)


def next_action(schedule: _RowSchedule) -> int:
    """Replace the schedule's row by the next one (END after the last); return its action."""
    schedule[0], schedule[1], schedule[2] = row = schedule.following()
    return row[0]


def schedule_slots(schedule: _RowSchedule) -> int:
    """The number of snapshot slots the schedule uses."""
    return schedule.slots


def periodic_schedule(n: int, every: int) -> _RowSchedule:
    """`Periodic(every)`'s schedule for a loop of n steps, at its first row."""
    return _RowSchedule(_checkpoint.Periodic(every).rows(n), _checkpoint.periodic_state(n, every))


def binomial_schedule(n: int, snapshots: int) -> _RowSchedule:
    """`Binomial(snapshots)`'s schedule for a loop of n steps, at its first row."""
    return _RowSchedule(_checkpoint.Binomial(snapshots).rows(n), _checkpoint.binomial_state(n, snapshots))
