"""NumPy functions lowered as other primitives, or with their arguments put in one form first.

``np.moveaxis`` is a transpose, ``np.hstack``, ``np.vstack`` and ``np.column_stack`` are
concatenations, and ``np.take`` is an index read: written that way they need no derivative rules of their own, and
compile under Numba as the primitives do. ``np.tile`` and ``np.pad`` become their primitives with
one count (or pair of widths) per axis, the only form their rules and Numba implementations take.

Each lowering is a function whose parameters after the first two are NumPy's, so a call binds to
it as to the NumPy function; it gets the `Lowering` and the call's node, for emitting and errors.
"""

from __future__ import annotations

import ast
import inspect
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import gast
import numpy as np

from .. import primitives as P
from ..ir.builder import const
from ..ir.core import Atom, Const
from ..ir.types import I64
from . import contract
from .values import PyObj, TupleVal

if TYPE_CHECKING:
    from .lower import Lowering


@dataclass(frozen=True)
class Composition:
    lower: Callable  # (lowering, node, *NumPy's arguments) -> Atom; with from_node, (lowering, node)
    primitives: tuple[P.Primitive, ...]  # what it becomes (their rules give the derivative), for `s2sad rules`
    from_node: bool = False  # reads literal arguments (einsum's subscripts) from the call's source
    view: bool = False  # NumPy's result is a view of the first argument (else new memory, even when the
    #                     primitives it becomes would give a view: np.take(A, 0, axis=1) is A[:, 0] copied)
    boolean: bool = False  # the result is booleans (np.isclose): no derivative, whatever the parts have


COMPOSED: dict[object, Composition] = {}


def _composes(numpy_fn, *primitives: P.Primitive, from_node: bool = False, view: bool = False,
              boolean: bool = False):
    def register(lower: Callable) -> Callable:
        COMPOSED[numpy_fn] = Composition(lower, primitives, from_node, view, boolean)
        return lower
    return register


def lower_composed(lo: "Lowering", numpy_fn, args: list, kwargs: dict, node) -> Atom:
    """Lower the call ``numpy_fn(*args, **kwargs)``."""
    composition = COMPOSED[numpy_fn]
    try:
        bound = inspect.signature(composition.lower).bind(lo, node, *args, **kwargs)
    except TypeError as exc:
        raise lo.error(node, f"bad arguments to {P.numpy_name(numpy_fn)}: {exc}") from None
    mark = lo.mark()
    result = composition.lower(*bound.args, **bound.kwargs)
    if composition.view:
        return result
    if isinstance(result, TupleVal):  # (np.meshgrid: arrays of their own)
        return TupleVal(tuple(lo.new_memory(item, mark, node) for item in result.items))
    return lo.new_memory(result, mark, node)


# --- reading arguments ------------------------------------------------------------------------

def _array(lo: "Lowering", value, node, name: str) -> Atom:
    atom = lo.operand(value, node)
    if not atom.type.is_array:
        raise lo.error(node, f"np.{name} takes an array, not {atom.type}")
    return atom


def _arrays(lo: "Lowering", value, node, name: str) -> list[Atom]:
    if not isinstance(value, TupleVal) or not value.items:
        raise lo.error(node, f"np.{name} takes a tuple of arrays")
    return [_array(lo, v, node, name) for v in value.items]


def _literal(lo: "Lowering", value, node, what: str):
    """The Python value of a literal argument: a number, a string, or a tuple of them (nested)."""
    if isinstance(value, Const):
        return value.value
    if isinstance(value, PyObj) and isinstance(value.obj, str):
        return value.obj
    if isinstance(value, TupleVal):
        return tuple(_literal(lo, v, node, what) for v in value.items)
    raise lo.error(node, f"{what} must be a literal")


def _axes(lo: "Lowering", value, ndim: int, node, what: str) -> tuple[int, ...]:
    """A literal axis or tuple of axes, each counted from 0."""
    axes = _literal(lo, value, node, what)
    axes = axes if isinstance(axes, tuple) else (axes,)
    for a in axes:
        try:
            P.check_axis(a, ndim)
        except TypeError as exc:
            raise lo.error(node, f"{what}: {exc}") from None
    return tuple(a % ndim for a in axes)


def _one_axis(lo: "Lowering", value, ndim: int, node, name: str) -> int:
    """A literal axis (one integer), counted from 0."""
    axes = _axes(lo, value, ndim, node, "axis")
    if len(axes) != 1 or isinstance(_literal(lo, value, node, "axis"), tuple):
        raise lo.error(node, f"np.{name} takes one axis (an integer)")
    return axes[0]


def _slices(ndim: int) -> tuple[list, tuple]:
    """Index operands and spec selecting everything along `ndim` axes (``x[:, :]``)."""
    return [const(None)] * (3 * ndim), ("s",) * ndim


def _flag(lo: "Lowering", value, node, what: str) -> bool:
    flag = _literal(lo, value, node, what)
    if not isinstance(flag, bool):
        raise lo.error(node, f"{what} must be True or False, written as a literal")
    return flag


def _count(lo: "Lowering", value, node, what: str) -> int:
    count = _literal(lo, value, node, what)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise lo.error(node, f"{what} must be a literal integer of at least 1, not {count!r}")
    return count


def _none(value) -> bool:
    return isinstance(value, Const) and value.value is None


def _slice_along(lo: "Lowering", x: Atom, axis: int, start, stop, node) -> Atom:
    """``x[start:stop]`` along `axis` (everything along the others); the bounds numbers, None or
    atoms."""
    operands = []
    for k in range(x.type.ndim):
        operands += [_bound(start), _bound(stop), const(None)] if k == axis else [const(None)] * 3
    return lo.emit(P.getitem, [x, *operands], node, spec=("s",) * x.type.ndim)


def _bound(value) -> Atom:
    return value if isinstance(value, Atom) else const(value)


def _component(lo: "Lowering", x: Atom, k: int, node) -> Atom:
    """``x[..., k]``."""
    operands, spec = _slices(x.type.ndim - 1)
    return lo.emit(P.getitem, [x, *operands, const(k)], node, spec=spec + ("i",))


def _placed(lo: "Lowering", x: Atom, axis: int, ndim: int, node) -> Atom:
    """A vector with new axes around it, so that its one axis is `axis` of `ndim` (``x[None, :, None]``)."""
    spec = ("n",) * axis + ("s",) + ("n",) * (ndim - axis - 1)
    return lo.emit(P.getitem, [x, const(None), const(None), const(None)], node, spec=spec)


def _reduced_axes(lo: "Lowering", value, ndim: int, node) -> tuple[int, ...] | None:
    """A reduction's literal axis (an integer or a tuple), as sorted axes counted from 0, or None
    when it reduces every axis."""
    if _none(value):
        return None
    axes = tuple(sorted(set(_axes(lo, value, ndim, node, "axis"))))
    return None if len(axes) == ndim else axes


def _reduce(lo: "Lowering", prim: P.Primitive, x: Atom, axes, node) -> Atom:
    """``prim(x, axis=axes)`` for a reduction (axes None, or sorted)."""
    axis = axes if axes is None or len(axes) > 1 else axes[0]
    return lo.emit(prim, [x], node, axis=axis)


def _restored(lo: "Lowering", value: Atom, axes, ndim: int, node) -> Atom:
    """A reduction's result with the reduced axes back, of length 1 (``keepdims=True``)."""
    if not value.type.is_array:
        return lo.emit(P.full, [const((1,) * ndim), value], node) if ndim else value
    for a in sorted(axes):
        value = lo.emit(P.expand_dims, [value], node, axis=a)
    return value


def _spread(lo: "Lowering", value: Atom, axes, ndim: int, node) -> Atom:
    """A reduction's result shaped to broadcast against the array it reduced."""
    return value if axes is None else _restored(lo, value, axes, ndim, node)


def _choose(lo: "Lowering", condition: Atom, a, b, node) -> Atom:
    """``a if condition else b`` elementwise (`np.where`, or a conditional expression for numbers)."""
    arrays = any(isinstance(v, Atom) and v.type.is_array for v in (condition, a, b))
    return lo.emit(P.where if arrays else P.select, [condition, a, b], node)


def _calls(lo: "Lowering", node):
    """``op(prim, *operands, **params)``: emit at the call's node (compositions of several steps)."""
    return lambda prim, *ins, **params: lo.emit(prim, [v if isinstance(v, Atom) else const(v) for v in ins],
                                                node, **params)


# --- the compositions -------------------------------------------------------------------------

@_composes(np.moveaxis, P.transpose, view=True)
def moveaxis(lo: "Lowering", node, a, source, destination) -> Atom:
    """A transpose: the moved axes at their destinations, the others in their order."""
    x = _array(lo, a, node, "moveaxis")
    ndim = x.type.ndim
    src = _axes(lo, source, ndim, node, "source")
    dst = _axes(lo, destination, ndim, node, "destination")
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise lo.error(node, "source and destination must name as many axes, each once")
    order = [k for k in range(ndim) if k not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return lo.emit(P.transpose, [x], node, axes=tuple(order))  # (a view: a store into it is refused)


@_composes(np.hstack, P.concatenate)
def hstack(lo: "Lowering", node, tup) -> Atom:
    """Vectors joined end to end; arrays with more axes along their second."""
    arrays = _arrays(lo, tup, node, "hstack")
    return lo.emit(P.concatenate, arrays, node, axis=0 if arrays[0].type.ndim == 1 else 1)


@_composes(np.vstack, P.concatenate)
def vstack(lo: "Lowering", node, tup) -> Atom:
    """Arrays joined along their first axis, a vector counting as a row."""
    arrays = [lo.emit(P.expand_dims, [x], node, axis=0) if x.type.ndim == 1 else x
              for x in _arrays(lo, tup, node, "vstack")]
    return lo.emit(P.concatenate, arrays, node, axis=0)


@_composes(np.column_stack, P.concatenate)
def column_stack(lo: "Lowering", node, tup) -> Atom:
    """Arrays joined along their second axis, a vector counting as a column."""
    arrays = _arrays(lo, tup, node, "column_stack")
    if any(x.type.ndim == 0 for x in arrays):
        raise lo.error(node, "np.column_stack takes vectors and arrays here, not numbers")
    columns = [lo.emit(P.expand_dims, [x], node, axis=1) if x.type.ndim == 1 else x for x in arrays]
    return lo.emit(P.concatenate, columns, node, axis=1)


def _nested(lo: "Lowering", value, node, name: str) -> Atom:
    """A list or tuple (nested) of numbers and arrays of one shape as the array NumPy makes of it:
    numbers packed into a vector, arrays stacked along a new first axis."""
    if not isinstance(value, TupleVal):
        return lo.operand(value, node)
    if not value.items:
        raise lo.error(node, f"np.{name} of an empty list is not supported (its shape and type are unknown)")
    items = [_nested(lo, v, node, name) for v in value.items]
    if any(i.type.ndim != items[0].type.ndim for i in items):
        raise lo.error(node, f"np.{name} of a ragged list: its items have different numbers of axes")
    if items[0].type.ndim == 0:
        return lo.emit(P.pack, items, node)
    return lo.emit(P.stack, items, node, axis=0)


def _as_float(lo: "Lowering", x: Atom, dtype, node, name: str) -> Atom:
    if dtype is None:
        return x
    if not (isinstance(dtype, PyObj) and dtype.obj in (float, np.float64)):
        raise lo.error(node, f"np.{name}: dtype may only be float (or np.float64) here")
    return x if x.type.kind == "f64" or x.type.dtype == "f64" else lo.emit(P.mul, [x, const(1.0)], node)


@_composes(np.array, P.pack, P.stack, P.copy)
def array(lo: "Lowering", node, object, dtype=None) -> Atom:
    """A new array: a copy of an array, or the array a (nested) list of numbers and arrays makes."""
    return _as_float(lo, _nested(lo, object, node, "array"), dtype, node, "array")


@_composes(np.asarray, P.pack, P.stack, view=True)
def asarray(lo: "Lowering", node, a, dtype=None) -> Atom:
    """An array itself (no copy), or the array a (nested) list makes."""
    return _as_float(lo, _nested(lo, a, node, "asarray"), dtype, node, "asarray")


@_composes(np.block, P.pack, P.expand_dims, P.concatenate)
def block(lo: "Lowering", node, arrays) -> Atom:
    """Nested lists of arrays joined: the innermost lists along the last axis, the next along the
    one before it, ..."""
    def depth(v) -> int:
        if not isinstance(v, TupleVal):
            return 0
        depths = {depth(i) for i in v.items}
        if len(depths) != 1:
            raise lo.error(node, "np.block takes lists nested to the same depth everywhere")
        return 1 + depths.pop()

    def leaves(v):
        return [x for i in v.items for x in leaves(i)] if isinstance(v, TupleVal) else [lo.operand(v, node)]

    levels = depth(arrays)
    ndim = max([levels] + [x.type.ndim for x in leaves(arrays)])

    def build(v, level: int) -> Atom:
        if not isinstance(v, TupleVal):
            x = lo.operand(v, node)
            x = lo.emit(P.pack, [x], node) if x.type.ndim == 0 else x
            while x.type.ndim < ndim:
                x = lo.emit(P.expand_dims, [x], node, axis=0)
            return x
        parts = [build(i, level + 1) for i in v.items]
        return parts[0] if len(parts) == 1 else lo.emit(P.concatenate, parts, node, axis=ndim - levels + level - 1)

    if levels == 0:
        raise lo.error(node, "np.block takes a list of arrays")
    return build(arrays, 1)


@_composes(np.tile, P.tile)
def tile(lo: "Lowering", node, A, reps) -> Atom:
    """One count per axis: missing counts are 1, and an array with fewer axes than counts gets
    leading axes of length 1 (``x[None, :]``), as NumPy does."""
    x = _array(lo, A, node, "tile")
    counts = _literal(lo, reps, node, "reps")
    counts = counts if isinstance(counts, tuple) else (counts,)
    lead = len(counts) - x.type.ndim
    if lead > 0:
        operands, spec = _slices(x.type.ndim)
        x = lo.emit(P.getitem, [x, *operands], node, spec=("n",) * lead + spec)
    return lo.emit(P.tile, [x], node, reps=(1,) * -lead + counts)


@_composes(np.take, P.getitem, P.checked_index)
def take(lo: "Lowering", node, a, indices, axis=const(None)) -> Atom:
    """An index read: ``x.ravel()[idx]`` without an axis; ``x[idx]`` along the first axis, and
    along another one between two swaps of it with the first. Its adjoint adds into the
    positions read, once per read."""
    x = _array(lo, a, node, "take")
    index = lo.operand(indices, node)
    if index.type != I64 and not (index.type.is_array and index.type.dtype == "i64" and index.type.ndim == 1):
        raise lo.error(node, f"np.take takes one integer or a vector of integers as indices, not {index.type}")
    if isinstance(axis, Const) and axis.value is None:
        flat = lo.emit(P.ravel, [x], node) if x.type.ndim > 1 else x
        return lo.emit(P.getitem, [flat, _checked(lo, index, lo.emit(P.size, [x], node), node)], node, spec=("i",))
    along = _one_axis(lo, axis, x.type.ndim, node, "take")
    index = _checked(lo, index, lo.emit(P.getitem, [lo.emit(P.shape, [x], node), const(along)], node, spec=("i",)),
                     node)
    if not index.type.is_array:  # one integer: x[:, i]
        before, spec = _slices(along)
        after, spec_after = _slices(x.type.ndim - along - 1)
        return lo.emit(P.getitem, [x, *before, index, *after], node, spec=spec + ("i",) + spec_after)
    if along:
        x = lo.emit(P.swapaxes, [x], node, axis1=0, axis2=along)
    taken = lo.emit(P.getitem, [x, index], node, spec=("i",))
    return lo.emit(P.swapaxes, [taken], node, axis1=0, axis2=along) if along else taken


def _checked(lo: "Lowering", index: Atom, length: Atom, node) -> Atom:
    """An index array (or integer) checked to lie within `length` (NumPy's IndexError)."""
    return lo.emit(P.checked_index, [index, length], node)


@_composes(np.take_along_axis, P.ravel, P.getitem, P.checked_index)
def take_along_axis(lo: "Lowering", node, arr, indices, axis) -> Atom:
    """``arr[i, indices[i, j]]`` (axis=1) or ``arr[indices[i, j], j]`` (axis=0), of a vector or a
    matrix: a read of arr's elements in C order at flat positions computed from the indices."""
    x, index = _array(lo, arr, node, "take_along_axis"), lo.operand(indices, node)
    if not (index.type.is_array and index.type.dtype == "i64" and index.type.ndim == x.type.ndim <= 2):
        raise lo.error(node, "np.take_along_axis takes a vector or a matrix and integer indices of as many axes")
    (along,) = _axes(lo, axis, x.type.ndim, node, "axis")
    flat = lo.flat_along(x, index, along, node)  # (the indices broadcast against arr's other axis)
    taken = lo.emit(P.getitem, [lo.emit(P.ravel, [x], node), lo.emit(P.ravel, [flat], node)], node, spec=("i",))
    return lo.emit(P.reshape, [taken, lo.emit(P.shape, [flat], node)], node)


def _running_extreme(larger: bool):
    """``np.maximum.accumulate(x, axis=0)`` (`larger`) or ``np.minimum.accumulate``, of a vector
    or a matrix: x read where each running extreme comes from, so that its derivative goes to the
    element that attains it (the first one, on ties)."""
    def accumulate(lo: "Lowering", node, array, axis=const(0)) -> Atom:
        name = f"{'maximum' if larger else 'minimum'}.accumulate"
        x = _array(lo, array, node, name)
        if x.type.ndim > 2:
            raise lo.error(node, f"np.{name} is supported for vectors and matrices")
        (along,) = _axes(lo, axis, x.type.ndim, node, "axis")
        positions = _by_columns(lo, P.running_extreme, x, along, node, larger=larger)
        return take_along_axis(lo, node, x, positions, const(along))
    return accumulate


def _by_columns(lo: "Lowering", prim: P.Primitive, x: Atom, along: int, node, **params) -> Atom:
    """`prim`, which gives positions along the first axis of each column of a matrix, applied
    along `along` of x (a vector, or a matrix), the positions laid out like x."""
    if x.type.ndim == 1:
        positions = lo.emit(prim, [lo.emit(P.expand_dims, [x], node, axis=1)], node, **params)
        return lo.emit(P.getitem, [positions, const(None), const(None), const(None), const(0)], node, spec=("s", "i"))
    if along == 0:
        return lo.emit(prim, [x], node, **params)
    return lo.emit(P.transpose, [lo.emit(prim, [lo.emit(P.transpose, [x], node)], node, **params)], node)


_composes(np.maximum.accumulate, P.running_extreme, P.ravel, P.getitem, P.checked_index)(_running_extreme(True))
_composes(np.minimum.accumulate, P.running_extreme, P.ravel, P.getitem, P.checked_index)(_running_extreme(False))


def _along(lo: "Lowering", a, axis, node, name: str, reduces: bool) -> tuple[Atom, int, Callable]:
    """The values `a` sorts or summarises, the axis along which, and what gives the result its
    shape: a vector (axis 0), a matrix along one axis, (axis=None) an array ravelled, or an array
    of more axes along one of them, as a matrix with that axis last (each row one of its lines),
    whose result (`reduces`: of one number per row) is shaped back."""
    x = _array(lo, a, node, name)
    if _none(axis):
        return (lo.emit(P.ravel, [x], node) if x.type.ndim > 1 else x), 0, lambda r: r
    along = _one_axis(lo, axis, x.type.ndim, node, name)
    if x.type.ndim <= 2:
        return x, along, lambda r: r
    op = _calls(lo, node)
    others = [k for k in range(x.type.ndim) if k != along]
    lengths = [op(P.getitem, op(P.shape, x), k, spec=("i",)) for k in range(x.type.ndim)]
    rows = lengths[others[0]]
    for k in others[1:]:
        rows = op(P.mul, rows, lengths[k])
    lines = op(P.copy, op(P.transpose, x, axes=tuple(others + [along])))  # (C order, for the reshape)
    matrix = op(P.reshape, lines, op(P.make_tuple, rows, lengths[along]))

    def shaped(result: Atom) -> Atom:
        if reduces:
            return op(P.reshape, result, op(P.make_tuple, *[lengths[k] for k in others]))
        back = op(P.reshape, result, op(P.make_tuple, *[lengths[k] for k in others + [along]]))
        order = others + [along]
        return op(P.transpose, back, axes=tuple(order.index(k) for k in range(x.type.ndim)))
    return matrix, 1, shaped


def _sort_positions(lo: "Lowering", x: Atom, along: int, node) -> Atom:
    """The positions that sort x along `along` (a stable sort: ties keep their order)."""
    if x.type.ndim == 1:
        return lo.emit(P.argsort, [x], node)
    return _by_columns(lo, P.sort_columns, x, along, node)


def _sorted(lo: "Lowering", x: Atom, along: int, node) -> Atom:
    """x in increasing order along `along`: read at the positions of a stable sort, so that the
    derivative of each sorted element goes to the element it came from."""
    positions = _sort_positions(lo, x, along, node)
    if x.type.ndim == 1:
        return lo.emit(P.getitem, [x, positions], node, spec=("i",))
    return take_along_axis(lo, node, x, positions, const(along))


@_composes(np.argsort, P.argsort, P.sort_columns)
def argsort(lo: "Lowering", node, a, axis=const(-1), kind=const(None), order=const(None)) -> Atom:
    """The positions that sort a vector, or a matrix along an axis; ties keep their order
    (kind='stable'), whatever `kind`."""
    if not _none(order):
        raise lo.error(node, "np.argsort's order= (of structured arrays) is not supported")
    x, along, shaped = _along(lo, a, axis, node, "argsort", reduces=False)
    return shaped(_sort_positions(lo, x, along, node))


@_composes(np.sort, P.argsort, P.sort_columns, P.getitem)
def sort(lo: "Lowering", node, a, axis=const(-1), kind=const(None), order=const(None)) -> Atom:
    if not _none(order):
        raise lo.error(node, "np.sort's order= (of structured arrays) is not supported")
    x, along, shaped = _along(lo, a, axis, node, "sort", reduces=False)
    return shaped(_sorted(lo, x, along, node))


def _at_fraction(lo: "Lowering", x: Atom, along: int, fraction: Atom, node) -> Atom:
    """The element at `fraction` (0 to 1) of the way through x sorted along `along`, interpolated
    linearly between its neighbours (NumPy's method='linear'); NaN where x holds a NaN (as NumPy's
    median and percentiles give)."""
    op, s = _calls(lo, node), _sorted(lo, x, along, node)
    last = op(P.sub, op(P.getitem, op(P.shape, s), along, spec=("i",)), 1)
    position = op(P.mul, op(P.to_float, fraction) if fraction.type.kind != "f64" else fraction, op(P.to_float, last))
    below = op(P.min, op(P.to_int, op(P.floor, position)), last)
    above = op(P.min, op(P.add, below, 1), last)

    def at(k: Atom) -> Atom:  # (s[k], s[k] of every column, or s[:, k])
        if along == 0:
            return op(P.getitem, s, k, spec=("i",))
        return op(P.getitem, s, None, None, None, k, spec=("s", "i"))
    low, high = at(below), at(above)
    value = op(P.add, low, op(P.mul, op(P.sub, position, op(P.to_float, below)), op(P.sub, high, low)))
    nan = op(P.any_, op(P.isnan, x), axis=along if x.type.ndim > 1 else None)
    return _choose(lo, nan, const(float("nan")), value, node)


@_composes(np.median, P.argsort, P.sort_columns, P.getitem)
def median(lo: "Lowering", node, a, axis=const(None)) -> Atom:
    """The middle of the sorted elements (the mean of the two middle ones for an even count)."""
    x, along, shaped = _along(lo, a, axis, node, "median", reduces=True)
    return shaped(_at_fraction(lo, x, along, const(0.5), node))


@_composes(np.quantile, P.argsort, P.sort_columns, P.getitem)
def quantile(lo: "Lowering", node, a, q, axis=const(None)) -> Atom:
    """The q-th quantile (q a number from 0 to 1), interpolated linearly (NumPy's default)."""
    x, along, shaped = _along(lo, a, axis, node, "quantile", reduces=True)
    return shaped(_at_fraction(lo, x, along, _fraction(lo, q, 1.0, node), node))


@_composes(np.percentile, P.argsort, P.sort_columns, P.getitem)
def percentile(lo: "Lowering", node, a, q, axis=const(None)) -> Atom:
    """The q-th percentile (q a number from 0 to 100), interpolated linearly (NumPy's default)."""
    x, along, shaped = _along(lo, a, axis, node, "percentile", reduces=True)
    return shaped(_at_fraction(lo, x, along, _fraction(lo, q, 100.0, node), node))


def _fraction(lo: "Lowering", q, scale: float, node) -> Atom:
    q = lo.operand(q, node)
    if not q.type.is_scalar or q.type.kind == "bool":
        raise lo.error(node, "the quantile must be one number (several at once are not supported yet)")
    if isinstance(q, Const) and not 0 <= q.value <= scale:
        raise lo.error(node, f"the quantile must be between 0 and {scale:g}")
    q = lo.emit(P.checked_fraction, [q, const(scale)], node) if not isinstance(q, Const) else q
    return lo.emit(P.div, [q, const(scale)], node) if scale != 1.0 else q


@_composes(np.interp, P.interp_points, P.searchsorted, P.clip, P.getitem, P.where)
def interp(lo: "Lowering", node, x, xp, fp, left=const(None), right=const(None), period=const(None)) -> Atom:
    """Piecewise-linear interpolation of (xp, fp) at x, constant beyond the ends (fp[0], fp[-1]),
    computed as NumPy computes it: fp[j] at a point xp[j], slope * (x - xp[j]) + fp[j] between
    points, from the right end of the interval where that is NaN (an infinite slope), fp[j]
    between equal values; NaN at a NaN x (of two or more points); fp[0] everywhere of one point."""
    if not (_none(left) and _none(right) and _none(period)):
        raise lo.error(node, "np.interp's left=, right= and period= are not supported")
    op = _calls(lo, node)
    x, xp, fp = (lo.operand(v, node) for v in (x, xp, fp))
    if not (xp.type.is_array and fp.type.is_array and xp.type.ndim == fp.type.ndim == 1):
        raise lo.error(node, "np.interp takes the points xp and values fp as vectors")
    n = op(P.getitem, op(P.shape, fp), 0, spec=("i",))
    op(P.interp_points, op(P.getitem, op(P.shape, xp), 0, spec=("i",)), n)
    last = op(P.sub, n, 1)
    j = op(P.sub, op(P.searchsorted, xp, x, side="right"), 1)  # (xp[j] <= x < xp[j + 1]; -1 before xp[0])
    k = op(P.clip, j, 0, op(P.max, op(P.sub, n, 2), 0))  # (the interval, within the points)
    k1 = op(P.clip, op(P.add, k, 1), 0, last)
    x0, x1 = op(P.getitem, xp, k, spec=("i",)), op(P.getitem, xp, k1, spec=("i",))
    y0, y1 = op(P.getitem, fp, k, spec=("i",)), op(P.getitem, fp, k1, spec=("i",))
    width = op(P.sub, x1, x0)  # (0 only in intervals not selected below: no warning of a division by 0)
    slope = op(P.div, op(P.sub, y1, y0), _choose(lo, op(P.eq, width, 0.0), 1.0, width, node))
    inner = op(P.add, op(P.mul, slope, op(P.sub, x, x0)), y0)
    other = op(P.add, op(P.mul, slope, op(P.sub, x, x1)), y1)
    flat = op(P.bitand, op(P.isnan, other), op(P.eq, y0, y1))
    inner = _choose(lo, op(P.isnan, inner), _choose(lo, flat, y0, other, node), inner, node)
    inner = _choose(lo, op(P.bitand, op(P.eq, x, x0), op(P.isnan, inner)), y0, inner, node)
    first, final = op(P.getitem, fp, 0, spec=("i",)), op(P.getitem, fp, last, spec=("i",))
    value = _choose(lo, op(P.lt, j, 0), first, _choose(lo, op(P.ge, j, last), final, inner, node), node)
    return _choose(lo, op(P.bitand, op(P.isnan, x), op(P.gt, n, 1)), x, value, node)


# --- small functions: a scale, a difference of reductions, NaN-skipping reductions, a weighted mean ----

def _scaled(factor: float, name: str):
    def scale(lo: "Lowering", node, x) -> Atom:
        return lo.emit(P.mul, [lo.operand(x, node), const(factor)], node)
    scale.__doc__ = f"np.{name}: x times {factor!r}."
    return scale


for _fn, _factor in ((np.deg2rad, np.pi / 180.0), (np.radians, np.pi / 180.0), (np.rad2deg, 180.0 / np.pi),
                     (np.degrees, 180.0 / np.pi)):
    _composes(_fn, P.mul)(_scaled(_factor, _fn.__name__))


@_composes(np.exp2, P.pow)
def exp2(lo: "Lowering", node, x) -> Atom:
    """2 ** x."""
    return lo.emit(P.pow, [const(2.0), lo.operand(x, node)], node)


@_composes(np.positive, P.copy)
def positive(lo: "Lowering", node, x) -> Atom:
    """+x: a copy of an array, the number itself."""
    x = lo.operand(x, node)
    return lo.emit(P.copy, [x], node) if x.type.is_array else x


def _in_floats(lo: "Lowering", x: Atom, node) -> Atom:
    if x.type.element.kind == "f64":
        return x
    return lo.emit(P.astype, [x], node, dtype="f64") if x.type.is_array else lo.emit(P.to_float, [x], node)


@_composes(np.fabs, P.abs)
def fabs(lo: "Lowering", node, x) -> Atom:
    """|x| in floats, whatever x's type (NumPy's fabs of integers gives floats)."""
    return lo.emit(P.abs, [_in_floats(lo, lo.operand(x, node), node)], node)


@_composes(np.float_power, P.pow)
def float_power(lo: "Lowering", node, x1, x2) -> Atom:
    """x1 ** x2 computed in floats, whatever the operands' types."""
    return lo.emit(P.pow, [_in_floats(lo, lo.operand(x1, node), node), _in_floats(lo, lo.operand(x2, node), node)],
                   node)


@_composes(np.logaddexp2, P.logaddexp)
def logaddexp2(lo: "Lowering", node, x1, x2) -> Atom:
    """log2(2**x1 + 2**x2), as logaddexp of the exponents in base e (no overflow)."""
    op, ln2 = _calls(lo, node), float(np.log(2.0))
    return op(P.div, op(P.logaddexp, op(P.mul, lo.operand(x1, node), ln2), op(P.mul, lo.operand(x2, node), ln2)), ln2)


@_composes(np.sinc, P.sin, P.where)
def sinc(lo: "Lowering", node, x) -> Atom:
    """sin(πx)/(πx), 1 at 0 (where the quotient is taken of 1, so that no NaN reaches a derivative)."""
    op, x = _calls(lo, node), lo.operand(x, node)
    zero = op(P.eq, x, 0.0)
    scaled = _choose(lo, zero, 1.0, op(P.mul, x, float(np.pi)), node)
    return _choose(lo, zero, 1.0, op(P.div, op(P.sin, scaled), scaled), node)


@_composes(np.heaviside, P.where)
def heaviside(lo: "Lowering", node, x1, x2) -> Atom:
    """0 below 0, 1 above, x2 at 0, NaN at NaN."""
    op, x, at_zero = _calls(lo, node), lo.operand(x1, node), lo.operand(x2, node)
    steps = _choose(lo, op(P.lt, x, 0.0), 0.0, _choose(lo, op(P.gt, x, 0.0), 1.0, at_zero, node), node)
    return _choose(lo, op(P.isnan, x), float("nan"), steps, node)


def _covariance(lo: "Lowering", node, m, rowvar, bias, ddof, name: str) -> Atom:
    """np.cov of the variables in the rows of m (its columns with rowvar=False; a vector is one
    variable): the centred rows' products over N − ddof (ddof 1 by default, 0 with bias)."""
    op, x = _calls(lo, node), _array(lo, m, node, name)
    if x.type.ndim > 2:
        raise lo.error(node, f"np.{name} takes a vector or a matrix")
    if x.type.ndim == 1:
        x = lo.emit(P.expand_dims, [x], node, axis=0)
    elif not _flag(lo, rowvar, node, "rowvar"):
        x = lo.emit(P.transpose, [x], node)
    n = op(P.to_float, op(P.getitem, op(P.shape, x), 1, spec=("i",)))
    shift = _literal(lo, ddof, node, "ddof") if not _none(ddof) else (0 if _flag(lo, bias, node, "bias") else 1)
    if not isinstance(shift, int) or shift < 0:
        raise lo.error(node, f"np.{name}'s ddof must be a literal integer of at least 0")
    centred = op(P.sub, x, lo.emit(P.expand_dims, [lo.emit(P.mean, [x], node, axis=1)], node, axis=1))
    return op(P.div, op(P.matmul, centred, lo.emit(P.transpose, [centred], node)), op(P.sub, n, float(shift)))


@_composes(np.cov, P.mean, P.matmul, P.div)
def cov(lo: "Lowering", node, m, y=const(None), rowvar=const(True), bias=const(False), ddof=const(None)) -> Atom:
    if not _none(y):
        raise lo.error(node, "np.cov's y= is not supported; stack the variables into m")
    return _one_variable(lo, _covariance(lo, node, m, rowvar, bias, ddof, "cov"), m, node)


@_composes(np.corrcoef, P.mean, P.matmul, P.sqrt, P.div)
def corrcoef(lo: "Lowering", node, x, y=const(None), rowvar=const(True)) -> Atom:
    """The covariances over the products of the standard deviations."""
    if not _none(y):
        raise lo.error(node, "np.corrcoef's y= is not supported; stack the variables into x")
    c = _covariance(lo, node, x, rowvar, const(False), const(None), "corrcoef")
    d = lo.emit(P.sqrt, [lo.emit(P.diag, [c], node)], node)
    r = lo.emit(P.div, [c, lo.emit(P.outer, [d, d], node)], node)
    return _one_variable(lo, r, x, node)


def _one_variable(lo: "Lowering", c: Atom, m, node) -> Atom:
    """c's only entry when m is a vector (one variable: NumPy gives a number), else c."""
    return lo.emit(P.getitem, [c, const(0), const(0)], node, spec=("i", "i")) \
        if lo.operand(m, node).type.ndim == 1 else c


@_composes(np.ptp, P.amax, P.amin, P.sub)
def ptp(lo: "Lowering", node, a, axis=const(None), keepdims=const(False)) -> Atom:
    """The range, max − min, over `axis`."""
    kwargs = {"axis": axis, "keepdims": keepdims}
    return lo.emit(P.sub, [lo.call_primitive(P.amax, [a], kwargs, node), lo.call_primitive(P.amin, [a], kwargs, node)],
                   node)


def _without_nan(lo: "Lowering", a, fill: float, node) -> tuple[Atom, Atom]:
    """(a with its NaNs replaced by `fill`, where a is NaN)."""
    x = _array(lo, a, node, "nan-reduction")
    nan = lo.emit(P.isnan, [x], node)
    return lo.emit(P.where, [nan, const(fill), x], node), nan


def _count_kept(lo: "Lowering", nan: Atom, kwargs: dict, node) -> Atom:
    """How many elements are not NaN (where `nan` is not set), as a float."""
    return lo.call_primitive(P.sum, [lo.emit(P.where, [nan, const(0.0), const(1.0)], node)], kwargs, node)


@_composes(np.nansum, P.isnan, P.where, P.sum)
def nansum(lo: "Lowering", node, a, axis=const(None), keepdims=const(False)) -> Atom:
    """The sum of the elements that are not NaN (0 for none); of integers, their sum (an integer)."""
    x = _array(lo, a, node, "nan-reduction")
    clean = x if x.type.element.kind != "f64" else _without_nan(lo, x, 0.0, node)[0]
    return lo.call_primitive(P.sum, [clean], {"axis": axis, "keepdims": keepdims}, node)


@_composes(np.nanmean, P.isnan, P.where, P.sum, P.div)
def nanmean(lo: "Lowering", node, a, axis=const(None), keepdims=const(False)) -> Atom:
    """The mean of the elements that are not NaN (NaN for none, as NumPy, which warns)."""
    kwargs = {"axis": axis, "keepdims": keepdims}
    clean, kept = _without_nan(lo, a, 0.0, node)
    return lo.emit(P.div, [lo.call_primitive(P.sum, [clean], kwargs, node), _count_kept(lo, kept, kwargs, node)], node)


def _nan_extreme(prim: P.Primitive, fill: float):
    def extreme(lo: "Lowering", node, a, axis=const(None), keepdims=const(False)) -> Atom:
        kwargs = {"axis": axis, "keepdims": keepdims}
        x = _array(lo, a, node, "nan-reduction")
        if x.type.element.kind != "f64":  # (integers hold no NaN: their extreme, an integer, as NumPy's)
            return lo.call_primitive(prim, [x], kwargs, node)
        clean, kept = _without_nan(lo, x, fill, node)
        found = lo.call_primitive(prim, [clean], kwargs, node)
        none = lo.emit(P.eq, [_count_kept(lo, kept, kwargs, node), const(0.0)], node)
        return _choose(lo, none, const(float("nan")), found, node)
    extreme.__doc__ = f"np.{prim.name} of the elements that are not NaN (NaN for none, as NumPy, which warns)."
    return extreme


_composes(np.nanmax, P.isnan, P.where, P.amax)(_nan_extreme(P.amax, -np.inf))
_composes(np.nanmin, P.isnan, P.where, P.amin)(_nan_extreme(P.amin, np.inf))


@_composes(np.average, P.mul, P.sum, P.div, P.weights_total)
def average(lo: "Lowering", node, a, axis=const(None), weights=const(None), returned=const(False),
            keepdims=const(False)) -> Atom:
    """The mean, or with weights (of a's shape, or broadcasting to it) Σ a·w / Σ w."""
    if _flag(lo, returned, node, "returned"):
        raise lo.error(node, "np.average's returned=True is not supported; compute the sum of weights apart")
    kwargs = {"axis": axis, "keepdims": keepdims}
    if _none(weights):
        return lo.call_primitive(P.mean, [a], kwargs, node)
    x, w = _array(lo, a, node, "average"), lo.operand(weights, node)
    w = lo.emit(P.broadcast_to, [w, lo.emit(P.shape, [x], node)], node)
    total = lo.call_primitive(P.sum, [w], kwargs, node)
    lo.emit(P.weights_total, [lo.emit(P.any_, [lo.emit(P.eq, [total, const(0.0)], node)], node)], node)
    return lo.emit(P.div, [lo.call_primitive(P.sum, [lo.emit(P.mul, [x, w], node)], kwargs, node), total], node)


@_composes(np.count_nonzero, P.ne, P.astype, P.sum)
def count_nonzero(lo: "Lowering", node, a, axis=const(None), keepdims=const(False)) -> Atom:
    """How many elements are not zero (an integer; no derivative)."""
    nonzero = lo.emit(P.ne, [_array(lo, a, node, "count_nonzero"), const(0.0)], node)
    return lo.call_primitive(P.sum, [lo.emit(P.astype, [nonzero], node, dtype="i64")],
                             {"axis": axis, "keepdims": keepdims}, node)


@_composes(np.random.randn, P.random_standard_normal)
def randn(lo: "Lowering", node, *dims) -> Atom:
    """NumPy's legacy ``randn(d0, d1, ...)``: ``standard_normal((d0, d1, ...))``, the same draws."""
    return lo.call_primitive(P.random_standard_normal, [TupleVal(tuple(dims))] if dims else [], {}, node)


@_composes(np.random.rand, P.random_random)
def rand(lo: "Lowering", node, *dims) -> Atom:
    """NumPy's legacy ``rand(d0, d1, ...)``: ``random((d0, d1, ...))``, the same draws."""
    return lo.call_primitive(P.random_random, [TupleVal(tuple(dims))] if dims else [], {}, node)


@_composes(np.pad, P.pad)
def pad(lo: "Lowering", node, array, pad_width, mode=PyObj("constant"), constant_values=const(0.0)) -> Atom:
    """Constant padding, the widths given as NumPy takes them (one count, a (before, after) pair,
    or a pair per axis) made a pair per axis."""
    x = _array(lo, array, node, "pad")
    kind = _literal(lo, mode, node, "mode")
    if kind != "constant":
        raise lo.error(node, f"np.pad supports mode='constant' only, not {kind!r}")
    widths = _literal(lo, pad_width, node, "pad_width")
    try:
        pairs = np.broadcast_to(np.asarray(widths), (x.type.ndim, 2))
    except ValueError:
        raise lo.error(node, f"pad_width={widths!r} does not give a (before, after) pair for each of "
                             f"the {x.type.ndim} axes") from None
    if pairs.dtype.kind not in "iu":
        raise lo.error(node, f"pad_width={widths!r} must hold integers")
    if isinstance(constant_values, TupleVal):
        raise lo.error(node, "constant_values must be one number (the same on every side)")
    value = lo.operand(constant_values, node)
    return lo.emit(P.pad, [x, value], node, widths=tuple(tuple(int(n) for n in pair) for pair in pairs))


@_composes(np.diff, P.getitem, P.sub)
def diff(lo: "Lowering", node, a, n=const(1), axis=const(-1)) -> Atom:
    """The n-th difference along `axis`: ``x[1:] - x[:-1]`` there, n times (``!=`` for booleans,
    as NumPy). prepend= and append= are not supported."""
    x = _array(lo, a, node, "diff")
    count = _count(lo, n, node, "the n of np.diff")
    along = _one_axis(lo, axis, x.type.ndim, node, "diff")
    for _ in range(count):
        op = P.ne if x.type.dtype == "bool" else P.sub
        x = lo.emit(op, [_slice_along(lo, x, along, 1, None, node), _slice_along(lo, x, along, None, -1, node)], node)
    return x


def trapezoid(lo: "Lowering", node, y, x=const(None), dx=const(1.0), axis=const(-1)) -> Atom:
    """The trapezoidal rule along `axis`, as NumPy computes it: the sum of d · (y[1:] + y[:-1]) / 2,
    with d the spacing dx, or the differences of the sample points x (a vector along `axis`, or an
    array of y's shape)."""
    op = _calls(lo, node)
    values = _array(lo, y, node, "trapezoid")
    ndim = values.type.ndim
    along = _one_axis(lo, axis, ndim, node, "trapezoid")
    if _none(x):
        step = lo.operand(dx, node)
    else:
        points = _array(lo, x, node, "trapezoid")
        if points.type.ndim == 1:
            step = _placed(lo, diff(lo, node, points), along, ndim, node) if ndim > 1 else diff(lo, node, points)
        elif points.type.ndim == ndim:
            step = diff(lo, node, points, axis=const(along))
        else:
            raise lo.error(node, f"np.trapezoid takes sample points x of one axis or of y's {ndim}, "
                                 f"not {points.type.ndim}")
    pairs = op(P.add, _slice_along(lo, values, along, 1, None, node), _slice_along(lo, values, along, None, -1, node))
    return op(P.sum, op(P.div, op(P.mul, step, pairs), 2.0), axis=along)


for _name in ("trapezoid", "trapz"):  # (NumPy 2.0 renamed np.trapz, and 2.4 removed it)
    if hasattr(np, _name):
        _composes(getattr(np, _name), P.getitem, P.sub, P.add, P.mul, P.div, P.sum)(trapezoid)


@_composes(np.convolve, P.convolve, P.getitem, P.minimum, P.maximum, P.floordiv)
def convolve(lo: "Lowering", node, a, v, mode=PyObj("full")) -> Atom:
    """The discrete convolution of two vectors: the full one, or its window of `mode` ("same":
    as long as the longer vector, centred; "valid": where they overlap completely)."""
    return _convolution(lo, node, a, v, mode, "convolve")


@_composes(np.correlate, P.convolve, P.flip, P.getitem, P.minimum, P.maximum, P.floordiv)
def correlate(lo: "Lowering", node, a, v, mode=PyObj("valid")) -> Atom:
    """The cross-correlation of two real vectors, c[k] = Σ a[n + k] v[n]: the convolution of a
    with v reversed, in the same windows (a "same" window starts half an element later when v is
    the longer one, as NumPy's does)."""
    return _convolution(lo, node, a, v, mode, "correlate")


def _convolution(lo: "Lowering", node, a, v, mode, name: str) -> Atom:
    op = _calls(lo, node)
    x, y = (_array(lo, w, node, name) for w in (a, v))
    if x.type.ndim != 1 or y.type.ndim != 1:
        raise lo.error(node, f"np.{name} takes two vectors (NumPy refuses arrays of other numbers of axes)")
    window = _literal(lo, mode, node, f"the mode of np.{name}")
    if window not in ("full", "same", "valid"):
        raise lo.error(node, f"np.{name}'s mode must be 'full', 'same' or 'valid', not {window!r}")
    full = op(P.convolve, x, op(P.flip, y) if name == "correlate" else y)
    if window == "full":
        return full
    n, m = (op(P.getitem, op(P.shape, w), const(0), spec=("i",)) for w in (x, y))
    shorter, longer = op(P.minimum, n, m), op(P.maximum, n, m)
    start = op(P.sub, shorter, const(1))
    if window == "valid":
        return op(P.getitem, full, start, longer, const(None), spec=("s",))
    if name == "correlate":  # (+1 when v is the longer: NumPy correlates v with a, then reverses)
        start = op(P.add, start, op(P.minimum, op(P.maximum, op(P.sub, m, n), const(0)), const(1)))
    start = op(P.floordiv, start, const(2))
    return op(P.getitem, full, start, op(P.add, start, longer), const(None), spec=("s",))


def _truth(lo: "Lowering", x, node) -> Atom:
    """x as booleans: x != 0 elementwise, unless it holds booleans already."""
    atom = lo.operand(x, node)
    return atom if atom.type.element.kind == "bool" else lo.emit(P.ne, [atom, const(0)], node)


def _logical(prim: P.Primitive):
    def logical(lo: "Lowering", node, x1, x2) -> Atom:
        return lo.emit(prim, [_truth(lo, x1, node), _truth(lo, x2, node)], node)
    logical.__doc__ = f"Elementwise logic of the operands' truth values: ``{prim.name}`` of booleans."
    return logical


for _fn, _prim in ((np.logical_and, P.bitand), (np.logical_or, P.bitor), (np.logical_xor, P.bitxor)):
    _composes(_fn, _prim, P.ne)(_logical(_prim))


@_composes(np.logical_not, P.invert, P.not_, P.ne)
def logical_not(lo: "Lowering", node, x) -> Atom:
    """The negated truth values: ``~`` of boolean arrays, ``not`` of a single boolean (whose ``~``
    in Python is an integer)."""
    truth = _truth(lo, x, node)
    return lo.emit(P.invert if truth.type.is_array else P.not_, [truth], node)


@_composes(np.histogram, P.ravel, P.amin, P.amax, P.histogram_span, P.histogram_weights, P.increasing,
           P.linspace, P.searchsorted, P.clip, P.index_add, P.getitem, P.astype)
def histogram(lo: "Lowering", node, a, bins=const(10), range=const(None), density=const(None),
              weights=const(None)) -> TupleVal:
    """(counts, edges): the elements of a (flattened) in each of `bins` equal bins over `range`
    (by default from a's smallest element to its largest), or between the edges given by an
    array `bins`. An element is in bin i when edges[i] <= x < edges[i + 1], the last bin holding
    its upper edge too; elements outside, and NaN, are in none. The counts have no derivative;
    with `weights`, the sums of the weights in each bin have theirs, and the edges have one in
    the range (its ends, or a's extremes)."""
    op = _calls(lo, node)
    values = _array(lo, a, node, "histogram")
    x = op(P.ravel, values)
    edges = _histogram_edges(lo, node, x, bins, range)
    n = op(P.sub, op(P.getitem, op(P.shape, edges), 0, spec=("i",)), 1)
    # the bin of each element, moved up by one: 0 below the first edge, n + 1 above the last (or NaN)
    after = op(P.searchsorted, edges, x, side="right")
    last = op(P.getitem, edges, -1, spec=("i",))
    bin_ = op(P.clip, _choose(lo, op(P.eq, x, last), n, after, node), 0, op(P.add, n, 1))
    added = const(1.0) if _none(weights) else \
        op(P.ravel, op(P.histogram_weights, _array(lo, weights, node, "histogram"), values))
    totals = op(P.index_add, op(P.zeros, op(P.add, n, 2)), bin_, added, spec=("i",))
    counts = op(P.getitem, totals, 1, op(P.add, n, 1), None, spec=("s",))
    if not _none(density) and _flag(lo, density, node, "density"):
        counts = op(P.div, op(P.div, counts, diff(lo, node, edges)), op(P.sum, counts))
    elif _none(weights):
        counts = op(P.astype, counts, dtype="i64")
    return TupleVal((counts, edges))


def _histogram_edges(lo: "Lowering", node, x: Atom, bins, span) -> Atom:
    op = _calls(lo, node)
    given = lo.operand(bins, node)
    if given.type.is_array:
        if given.type.ndim != 1 or not _none(span):
            raise lo.error(node, "np.histogram takes its bins as a number of bins, or as a vector of edges (without "
                                 "range=)")
        return op(P.increasing, given)
    if given.type.kind != "i64":
        raise lo.error(node, f"np.histogram's bins must be an integer or a vector of edges, not {given.type}")
    if isinstance(given, Const) and given.value < 1:
        raise lo.error(node, f"np.histogram's bins must be at least 1, not {given.value}")
    if _none(span):  # (a's extremes; 0 and 1 for an empty array, as NumPy)
        empty = op(P.eq, op(P.size, x), 0)
        ends = [_choose(lo, empty, const(float(end)),
                        op(extreme, op(P.concatenate, x, op(P.pack, bound), axis=0)), node)
                for end, extreme, bound in ((0, P.amin, np.inf), (1, P.amax, -np.inf))]
    elif isinstance(span, TupleVal) and len(span.items) == 2:
        ends = [lo.operand(v, node) for v in span.items]
    else:
        raise lo.error(node, "np.histogram's range must be a pair (low, high)")
    first, last = (op(P.histogram_span, *ends, upper=upper) for upper in (False, True))
    return op(P.linspace, first, last, op(P.add, given, 1))


@_composes(np.cross, P.cross_vectors, P.getitem, P.mul, P.sub, P.pack, P.stack)
def cross(lo: "Lowering", node, a, b) -> Atom:
    """The cross product of 3-vectors (arrays of them along the last axis, broadcast against each
    other), from their components as NumPy computes it. Other lengths raise ValueError."""
    op = _calls(lo, node)
    u, v = (lo.emit(P.cross_vectors, [_array(lo, w, node, "cross")], node) for w in (a, b))
    (u0, u1, u2), (v0, v1, v2) = ([_component(lo, w, k, node) for k in range(3)] for w in (u, v))
    parts = [op(P.sub, op(P.mul, u1, v2), op(P.mul, u2, v1)), op(P.sub, op(P.mul, u2, v0), op(P.mul, u0, v2)),
             op(P.sub, op(P.mul, u0, v1), op(P.mul, u1, v0))]
    if parts[0].type.ndim == 0:
        return lo.emit(P.pack, parts, node)
    return lo.emit(P.stack, parts, node, axis=parts[0].type.ndim)


@_composes(np.kron, P.getitem, P.mul, P.reshape)
def kron(lo: "Lowering", node, a, b) -> Atom:
    """The Kronecker product, as NumPy forms it: with the operands given as many axes (leading
    ones of length 1), ``a[:, None, :, None] * b[None, :, None, :]`` reshaped to
    (a0·b0, a1·b1)."""
    op = _calls(lo, node)
    u, v = _array(lo, a, node, "kron"), _array(lo, b, node, "kron")
    ndim = max(u.type.ndim, v.type.ndim)

    def interleaved(w: Atom, pair: tuple) -> Atom:
        spec = ("n", "n") * (ndim - w.type.ndim) + pair * w.type.ndim
        return lo.emit(P.getitem, [w, *[const(None)] * (3 * w.type.ndim)], node, spec=spec)

    product = op(P.mul, interleaved(u, ("s", "n")), interleaved(v, ("n", "s")))
    shape = op(P.shape, product)
    lengths = [op(P.mul, op(P.getitem, shape, 2 * k, spec=("i",)), op(P.getitem, shape, 2 * k + 1, spec=("i",)))
               for k in range(ndim)]
    return op(P.reshape, product, op(P.make_tuple, *lengths))


def _triangle_indices(lower: bool):
    def indices(lo: "Lowering", node, n, k=const(0), m=None) -> TupleVal:
        """The (rows, columns) index arrays of the upper (lower) triangle of an n × m matrix from
        the k-th diagonal, in NumPy's order: integers, with no derivative."""
        name = "tril_indices" if lower else "triu_indices"
        ints = [lo.operand(v, node) for v in (n, k, n if m is None else m)]
        if any(not (v.type.is_scalar and v.type.kind == "i64") for v in ints):
            raise lo.error(node, f"np.{name} takes integers n, k and m")
        return TupleVal(tuple(lo.emit(P.triangle_indices, ints, node, lower=lower, part=part) for part in (0, 1)))
    return indices


_composes(np.triu_indices, P.triangle_indices)(_triangle_indices(False))
_composes(np.tril_indices, P.triangle_indices)(_triangle_indices(True))


@_composes(np.meshgrid, P.getitem, P.broadcast_to)
def meshgrid(lo: "Lowering", node, *xi, copy=const(True), sparse=const(False), indexing=PyObj("xy")) -> TupleVal:
    """Coordinate arrays from vectors, each a new array: the k-th varies along axis k of the
    result ('ij'), or with the first two axes swapped ('xy', NumPy's default)."""
    order = _literal(lo, indexing, node, "indexing")
    if order not in ("xy", "ij"):
        raise lo.error(node, f"np.meshgrid: indexing must be 'xy' or 'ij', not {order!r}")
    if not _flag(lo, copy, node, "copy") or _flag(lo, sparse, node, "sparse"):
        raise lo.error(node, "np.meshgrid supports copy=True and sparse=False only (full arrays of their own)")
    vectors = [_array(lo, v, node, "meshgrid") for v in xi]
    if not vectors or any(v.type.ndim != 1 for v in vectors):
        raise lo.error(node, "np.meshgrid takes one or more vectors (1-D arrays)")
    op = _calls(lo, node)
    axes = list(range(len(vectors)))
    if order == "xy" and len(axes) > 1:
        axes[:2] = [1, 0]
    lengths = {axis: op(P.getitem, op(P.shape, v), 0, spec=("i",)) for v, axis in zip(vectors, axes)}
    shape = op(P.make_tuple, *[lengths[k] for k in range(len(axes))])
    return TupleVal(tuple(op(P.broadcast_to, _placed(lo, v, axis, len(axes), node), shape)
                          for v, axis in zip(vectors, axes)))


# --- shapes and orders: views, as NumPy's ---------------------------------------------------------

@_composes(np.identity, P.eye)
def identity(lo: "Lowering", node, n, dtype=const(None)) -> Atom:
    """The n × n identity matrix (floats), np.eye(n)."""
    if not _none(dtype):
        raise lo.error(node, "np.identity makes floats here; dtype= is not supported")
    return lo.emit(P.eye, [lo.operand(n, node)], node)


def _flip_along(axis: int, name: str):
    def lower(lo: "Lowering", node, m) -> Atom:
        x = _array(lo, m, node, name)
        if x.type.ndim <= axis:
            raise lo.error(node, f"np.{name} takes an array of at least {axis + 1} axes, not {x.type}")
        return lo.emit(P.flip, [x], node, axis=axis)
    lower.__doc__ = f"np.flip(m, axis={axis}): a view in reversed order along that axis."
    return lower


_composes(np.flipud, P.flip, view=True)(_flip_along(0, "flipud"))
_composes(np.fliplr, P.flip, view=True)(_flip_along(1, "fliplr"))


def _at_least(ndim: int, name: str):
    """np.atleast_1d, _2d, _3d of one array: the array itself when it has that many axes, else a
    view with axes of length 1 (a vector v becomes v[None, :], then v[None, :, None]); a number
    becomes a new array of one element."""
    def lower(lo: "Lowering", node, *arys) -> Atom:
        if len(arys) != 1:
            raise lo.error(node, f"np.{name} takes one array here (call it once per array)")
        x = lo.operand(arys[0], node)
        if not x.type.is_array:
            return lo.emit(P.full, [const((1,) * ndim), x], node)
        while x.type.ndim < ndim:
            axis = {0: 0, 1: 0}.get(x.type.ndim, x.type.ndim)  # (NumPy: (N,) → (1, N) → (1, N, 1))
            x = lo.emit(P.expand_dims, [x], node, axis=axis)
        return x
    lower.__doc__ = _at_least.__doc__
    return lower


for _n, _fn in ((1, np.atleast_1d), (2, np.atleast_2d), (3, np.atleast_3d)):
    _composes(_fn, P.expand_dims, P.full, view=True)(_at_least(_n, _fn.__name__))


@_composes(np.diagonal, P.diag, view=True)
def diagonal(lo: "Lowering", node, a, offset=const(0), axis1=const(0), axis2=const(1)) -> Atom:
    """The `offset`-th diagonal of a matrix (a read-only view, as NumPy's): np.diag(a, offset)."""
    x = _array(lo, a, node, "diagonal")
    if x.type.ndim != 2 or _literal(lo, axis1, node, "axis1") != 0 or _literal(lo, axis2, node, "axis2") != 1:
        raise lo.error(node, "np.diagonal takes a matrix here, with axis1=0 and axis2=1")
    return diagonal_at(lo, node, x, offset)


@_composes(np.append, P.ravel, P.concatenate)
def append(lo: "Lowering", node, arr, values, axis=const(None)) -> Atom:
    """`values` after `arr`: both flattened when `axis` is None, else joined along `axis` (a new
    array, as NumPy's)."""
    x, v = lo.operand(arr, node), lo.operand(values, node)
    if _none(axis):
        parts = [lo.emit(P.ravel, [a], node) if a.type.is_array else lo.emit(P.full, [const((1,)), a], node)
                 for a in (x, v)]
        return lo.emit(P.concatenate, parts, node, axis=0)
    if not (x.type.is_array and v.type.is_array and x.type.ndim == v.type.ndim):
        raise lo.error(node, "np.append along an axis takes two arrays of as many axes")
    return lo.emit(P.concatenate, [x, v], node, axis=_one_axis(lo, axis, x.type.ndim, node, "append"))


@_composes(np.split, P.getitem, P.checked_sections, view=True)
def split(lo: "Lowering", node, ary, indices_or_sections, axis=const(0)) -> Atom:
    """Views of `ary` cut along `axis`: into a literal count of equal sections (checked at run
    time, as NumPy checks it), or at literal indices (``np.split(x, [2, 5])``)."""
    x = _array(lo, ary, node, "split")
    along = _one_axis(lo, axis, x.type.ndim, node, "split")
    cuts = _literal(lo, indices_or_sections, node, "the sections or indices of np.split")
    if type(cuts) is int and cuts >= 1:
        op = _calls(lo, node)
        length = op(P.checked_sections, op(P.getitem, op(P.shape, x), along, spec=("i",)), cuts)
        bounds = [None] + [op(P.mul, length, k) for k in range(1, cuts)] + [None]
    elif isinstance(cuts, tuple) and all(type(c) is int for c in cuts):
        bounds = [None, *cuts, None]
    else:
        raise lo.error(node, "np.split takes a literal count of sections (at least 1) or a literal list of "
                             f"integer indices here, not {cuts!r}")
    return TupleVal(tuple(_slice_along(lo, x, along, start, stop, node) for start, stop in zip(bounds, bounds[1:])))


# --- products and polynomials ------------------------------------------------------------------

@_composes(np.linalg.multi_dot, P.matmul)
def multi_dot(lo: "Lowering", node, arrays) -> Atom:
    """The product of the arrays, left to right (NumPy may choose another order: the same product,
    up to rounding)."""
    if not isinstance(arrays, TupleVal) or len(arrays.items) < 2:
        raise lo.error(node, "np.linalg.multi_dot takes a list of at least two arrays")
    items = [_array(lo, a, node, "linalg.multi_dot") for a in arrays.items]
    product = items[0]
    for item in items[1:]:
        product = lo.emit(P.matmul, [product, item], node)
    return product


@_composes(np.linalg.matrix_power, P.matmul, P.inv, P.eye, view=True)
def matrix_power(lo: "Lowering", node, a, n) -> Atom:
    """A square matrix to a literal integer power, by repeated squaring (the inverse's power for
    n < 0, the identity for 0); for n = 1 the matrix itself, as NumPy returns it (the products are
    new arrays)."""
    x = _array(lo, a, node, "linalg.matrix_power")
    power = _literal(lo, n, node, "the power of np.linalg.matrix_power")
    if type(power) is not int or x.type.ndim != 2:
        raise lo.error(node, "np.linalg.matrix_power takes a matrix and a literal integer power here")
    if power == 0:
        size = lo.emit(P.getitem, [lo.emit(P.shape, [x], node), const(0)], node, spec=("i",))
        return lo.emit(P.eye, [size], node)
    if power < 0:
        x, power = lo.emit(P.inv, [x], node), -power
    result, square = None, x
    while power:
        if power & 1:
            result = square if result is None else lo.emit(P.matmul, [result, square], node)
        power >>= 1
        if power:
            square = lo.emit(P.matmul, [square, square], node)
    return result


@_composes(np.polyval, P.mul, P.add)
def polyval(lo: "Lowering", node, p, x) -> Atom:
    """p[0] x^(n-1) + … + p[n-1] by Horner's rule from zeros shaped like x, as NumPy computes it,
    for coefficients given as a list or tuple."""
    if not isinstance(p, TupleVal) or not p.items:
        raise lo.error(node, "np.polyval takes its coefficients as a list or tuple here (of numbers or "
                             "arrays), not an array: write the polynomial out, or loop over the coefficients")
    op, at = _calls(lo, node), lo.operand(x, node)
    value = op(P.add, op(P.mul, 0.0, at), lo.operand(p.items[0], node))  # (NumPy starts from zeros like x)
    for c in p.items[1:]:
        value = op(P.add, op(P.mul, value, at), lo.operand(c, node))
    return value


@_composes(np.nan_to_num, P.isnan, P.isinf, P.where)
def nan_to_num(lo: "Lowering", node, x, copy=const(True), nan=const(0.0), posinf=const(None),
               neginf=const(None)) -> Atom:
    """NaN replaced by `nan`, +inf by `posinf` and −inf by `neginf` (the largest and the most
    negative float by default); the derivative passes where the value was finite, 0 elsewhere."""
    if not _flag(lo, copy, node, "copy"):
        raise lo.error(node, "np.nan_to_num(copy=False) writes into its argument; use the result instead")
    op, value = _calls(lo, node), lo.operand(x, node)
    if value.type.element.kind != "f64":  # (integers and booleans: NumPy's copy, of their dtype)
        return op(P.copy, value) if value.type.is_array else value
    big = float(np.finfo(np.float64).max)
    high = const(big) if _none(posinf) else lo.operand(posinf, node)
    low = const(-big) if _none(neginf) else lo.operand(neginf, node)
    infinite = op(P.isinf, value)
    value = _choose(lo, op(P.and_ if not value.type.is_array else P.bitand, infinite, op(P.gt, value, 0.0)),
                    high, value, node)
    value = _choose(lo, op(P.and_ if not value.type.is_array else P.bitand, infinite, op(P.lt, value, 0.0)),
                    low, value, node)
    return _choose(lo, op(P.isnan, value), lo.operand(nan, node), value, node)


# --- np.linalg.norm: the p-norms (the 2-norm, Frobenius for matrices) are the `norm` primitive, over
# all axes or the given ones; the other orders are compositions, with the derivatives of their parts
# (at a zero element, that of np.abs: 0).

_INF = float("inf")


@_composes(np.linalg.norm, P.norm, P.abs, P.sum, P.amax, P.amin, P.svd_s)
def norm(lo: "Lowering", node, x, ord=const(None), axis=const(None), keepdims=const(False)) -> Atom:
    """Vector norms along one axis: None and 2 (the 2-norm), 1, inf, -inf and other orders p
    ((Σ |x|ᵖ)^(1/p), the `norm` primitive too); matrix norms over two axes: None and 'fro'
    (Frobenius), 1, -1, inf, -inf (the largest or smallest column or row sum of |x|) and, of a
    matrix, 2, -2 and 'nuc' (the largest, smallest or sum of its singular values). Without an
    axis, the 2-norm of all the elements; with an order, a vector's or a matrix's."""
    v = _array(lo, x, node, "linalg.norm")
    ndim = v.type.ndim
    order = None if _none(ord) else _literal(lo, ord, node, "ord")
    if _none(axis):
        if order is not None and ndim > 2:
            raise lo.error(node, f"np.linalg.norm with ord={order!r} takes a vector or a matrix (or give axis=)")
        axes = None if order is None else tuple(range(ndim))
    else:
        axes = _axes(lo, axis, ndim, node, "axis")
        if len(axes) not in (1, 2) or len(set(axes)) != len(axes):
            raise lo.error(node, "np.linalg.norm takes one axis (vector norms) or two different ones (matrix norms)")
    if axes is None:  # (Numba's np.linalg.norm takes one or two axes: more are summed over)
        value = lo.emit(P.norm, [v], node, axis=tuple(range(ndim)) if ndim > 2 else None)
    elif len(axes) == 1:
        value = _vector_norm(lo, v, order, axes[0], node)
    else:
        value = _matrix_norm(lo, v, order, axes, node)
    return _restored(lo, value, axes or range(ndim), ndim, node) if _flag(lo, keepdims, node, "keepdims") else value


def _vector_norm(lo: "Lowering", v: Atom, order, axis: int, node) -> Atom:
    op = _calls(lo, node)
    if order is not None and (isinstance(order, bool) or not isinstance(order, (int, float)) or order == 0):
        raise lo.error(node, f"np.linalg.norm: ord={order!r} is not a supported vector norm (None, 2, 1, inf, -inf, "
                             "or another nonzero number p)")
    extreme = {_INF: P.amax, -_INF: P.amin, 1: P.sum}.get(order)
    if extreme is not None:  # (np.inf, -np.inf: the largest, smallest |x|; 1: their sum)
        return op(extreme, op(P.abs, v), axis=axis)
    return op(P.norm, v, ord=2 if order is None else float(order), axis=axis if v.type.ndim > 1 else None)


def _matrix_norm(lo: "Lowering", v: Atom, order, axes: tuple, node) -> Atom:
    op = _calls(lo, node)
    rows, cols = axes
    if order is None or order == "fro":
        return op(P.norm, v, axis=None if v.type.ndim == 2 else tuple(sorted(axes)))
    if order in (2, -2, "nuc"):
        if v.type.ndim != 2:
            raise lo.error(node, f"np.linalg.norm with ord={order!r} takes a matrix (no stacks)")
        values = op(P.svd_s, v, full_matrices=True, compute_uv=False)
        return op({2: P.amax, -2: P.amin, "nuc": P.sum}[order], values)
    if order not in (1, -1, _INF, -_INF):
        raise lo.error(node, f"np.linalg.norm: ord={order!r} is not a matrix norm (None, 'fro', 1, -1, inf, -inf, "
                             "2, -2 or 'nuc')")
    if order in (1, -1):  # the column sums' extreme: summed over the rows
        summed, other = rows, cols - (cols > rows)
    else:  # the row sums'
        summed, other = cols, rows - (rows > cols)
    sums = op(P.sum, op(P.abs, v), axis=summed)
    return op(P.amax if order > 0 else P.amin, sums, axis=other)


@_composes(np.isclose, P.sub, P.abs, P.mul, P.add, P.le, P.eq, P.isfinite, P.isnan, P.where, P.select, boolean=True)
def isclose(lo: "Lowering", node, a, b, rtol=const(1e-05), atol=const(1e-08), equal_nan=const(False)) -> Atom:
    """NumPy's test, elementwise: a == b, or |a − b| <= atol + rtol·|b| where b is finite (and,
    with equal_nan, both NaN). Booleans: no derivative."""
    op = _calls(lo, node)
    x, y = lo.operand(a, node), lo.operand(b, node)
    bound = op(P.add, lo.operand(atol, node), op(P.mul, lo.operand(rtol, node), op(P.abs, y)))
    within = op(P.le, op(P.abs, op(P.sub, x, y)), bound)
    close = _choose(lo, op(P.eq, x, y), const(True), _choose(lo, op(P.isfinite, y), within, const(False), node), node)
    if _flag(lo, equal_nan, node, "equal_nan"):
        both_nan = _choose(lo, op(P.isnan, x), op(P.isnan, y), const(False), node)
        close = _choose(lo, both_nan, const(True), close, node)
    return close


@_composes(np.allclose, P.sub, P.abs, P.mul, P.add, P.le, P.eq, P.isfinite, P.isnan, P.where, P.select, P.all_,
           boolean=True)
def allclose(lo: "Lowering", node, a, b, rtol=const(1e-05), atol=const(1e-08), equal_nan=const(False)) -> Atom:
    """np.isclose everywhere: one boolean."""
    close = isclose(lo, node, a, b, rtol, atol, equal_nan)
    return lo.emit(P.all_, [close], node) if close.type.is_array else close


# --- contractions (frontend/contract.py): literal subscripts decide the composition -------------
# Their subscripts and axes are read off the call's source (a string, or lists such as
# ``axes=([1], [0])``, which are not values of the language), so they are lowered from the node.

_TENSORDOT = inspect.signature(lambda a, b, axes=2: None)  # how np.tensordot binds its arguments


@_composes(np.einsum, *contract.EINSUM_PRIMITIVES, from_node=True)
def einsum(lo: "Lowering", node) -> Atom:
    """``np.einsum('ij,jk->ik', a, b)``."""
    if node.keywords or len(node.args) < 2:
        raise lo.error(node, "np.einsum takes the subscripts and one or two operands (no keywords)")
    subscripts = _source_literal(lo, node.args[0], "the subscripts of np.einsum")
    if not isinstance(subscripts, str):
        raise lo.error(node, "the subscripts of np.einsum must be a string such as 'ij,jk->ik'")
    operands = [lo.value(a) for a in node.args[1:]]
    return _contraction(lo, node, f"np.einsum({subscripts!r}, ...)", operands,
                        lambda: contract.parse_einsum(subscripts, [_ndim(x) for x in operands]))


@_composes(np.tensordot, *contract.TENSORDOT_PRIMITIVES, from_node=True)
def tensordot(lo: "Lowering", node) -> Atom:
    """``np.tensordot(a, b, axes=2)``: an einsum whose subscripts come from `axes`."""
    try:
        bound = _TENSORDOT.bind(*node.args, **{k.arg: k.value for k in node.keywords})
    except TypeError as exc:
        raise lo.error(node, f"bad arguments to np.tensordot: {exc}") from None
    a, b = lo.value(bound.arguments["a"]), lo.value(bound.arguments["b"])
    axes = _source_literal(lo, bound.arguments["axes"], "the axes of np.tensordot") if "axes" in bound.arguments else 2
    return _contraction(lo, node, f"np.tensordot(..., axes={axes!r})", [a, b],
                        lambda: contract.tensordot_spec(_ndim(a), _ndim(b), axes))


def _contraction(lo: "Lowering", node, call: str, operands: list[Atom], spec) -> Atom:
    """The contraction ``spec()`` of `operands`; a refused one names `call` (the pattern)."""
    try:
        found = spec()
    except contract.Refused as exc:
        raise lo.error(node, f"{call}: {exc}") from None
    return contract.contract(found, operands, lambda prim, ins, **params: lo.emit(prim, ins, node, **params))




def diagonal_at(lo: "Lowering", node, v, k=const(0)) -> Atom:
    """np.diag(v, k) with an offset: of a vector, the square matrix of size len(v) + |k| with v on
    its k-th diagonal (np.diag(v) padded with zeros); of a matrix, its k-th diagonal (the main
    diagonal of A[:, k:] or A[-k:, :], a read-only view as NumPy's)."""
    x = lo.operand(v, node)
    offset = _literal(lo, k, node, "the k of np.diag")
    if not isinstance(offset, int) or isinstance(offset, bool):
        raise lo.error(node, f"the k of np.diag must be a literal integer, not {offset!r}")
    if not x.type.is_array or x.type.ndim not in (1, 2):
        raise lo.error(node, f"np.diag takes a vector or a matrix, not {x.type}")
    if offset == 0:
        return lo.emit(P.diag, [x], node)
    if x.type.ndim == 1:
        widths = ((0, offset), (offset, 0)) if offset > 0 else ((-offset, 0), (0, -offset))
        return lo.emit(P.pad, [lo.emit(P.diag, [x], node), const(0.0)], node, widths=widths)
    band = _slice_along(lo, x, 1, offset, None, node) if offset > 0 else _slice_along(lo, x, 0, -offset, None, node)
    return lo.emit(P.diag, [band], node)

# --- the math module: functions of numbers ------------------------------------------------------

def _number(lo: "Lowering", value, node, name: str) -> Atom:
    """An operand of math.`name`, in floats: a number (math's functions take no arrays: Python
    raises TypeError for one of more than one element)."""
    x = lo.operand(value, node)
    if x.type.is_array:
        raise lo.error(node, f"math.{name} takes a number, not {x.type}; use np.{_NUMPY_NAME.get(name, name)} "
                             "for arrays")
    return _in_floats(lo, x, node)


_NUMPY_NAME = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh", "acosh": "arccosh",
               "atanh": "arctanh", "atan2": "arctan2", "fabs": "abs", "pow": "power", "lgamma": "(scipy.special) gammaln"}


def _math_of_one(prim: P.Primitive, name: str):
    def lower(lo: "Lowering", node, x, /) -> Atom:
        return lo.emit(prim, [_number(lo, x, node, name)], node)
    lower.__doc__ = f"math.{name}(x): np.{prim.name} of the number x."
    return lower


def _math_of_two(prim: P.Primitive, name: str):
    def lower(lo: "Lowering", node, x, y, /) -> Atom:
        return lo.emit(prim, [_number(lo, x, node, name), _number(lo, y, node, name)], node)
    lower.__doc__ = f"math.{name}(x, y): np.{prim.name} of the numbers x and y."
    return lower


def _math_to_integer(prim: P.Primitive, name: str):
    def lower(lo: "Lowering", node, x, /) -> Atom:
        """An integer, as Python's math.floor, math.ceil and math.trunc give (an integer index)."""
        x = lo.operand(x, node)
        if x.type.is_array:
            raise lo.error(node, f"math.{name} takes a number, not {x.type}; use np.{name} for arrays")
        if x.type.element.kind != "f64":
            return x
        return lo.emit(P.to_int, [lo.emit(prim, [x], node)], node)
    return lower


for _name, _prim in (("sin", P.sin), ("cos", P.cos), ("tan", P.tan), ("asin", P.arcsin), ("acos", P.arccos),
                     ("atan", P.arctan), ("sinh", P.sinh), ("cosh", P.cosh), ("tanh", P.tanh),
                     ("asinh", P.arcsinh), ("acosh", P.arccosh), ("atanh", P.arctanh), ("exp", P.exp),
                     ("expm1", P.expm1), ("log1p", P.log1p), ("log2", P.log2), ("log10", P.log10),
                     ("sqrt", P.sqrt), ("fabs", P.abs), ("erf", P.erf), ("erfc", P.erfc), ("lgamma", P.gammaln),
                     ("cbrt", P.cbrt), ("isfinite", P.isfinite), ("isnan", P.isnan), ("isinf", P.isinf)):
    if hasattr(math, _name):  # (math.cbrt: Python 3.11)
        _composes(getattr(math, _name), _prim, boolean=_name.startswith("is"))(_math_of_one(_prim, _name))
for _name, _prim in (("atan2", P.arctan2), ("hypot", P.hypot), ("pow", P.pow)):
    _composes(getattr(math, _name), _prim)(_math_of_two(_prim, _name))
for _name, _prim in (("floor", P.floor), ("ceil", P.ceil), ("trunc", P.trunc)):
    _composes(getattr(math, _name), _prim, P.to_int)(_math_to_integer(_prim, _name))
for _fn, _factor in ((math.radians, math.pi / 180.0), (math.degrees, 180.0 / math.pi)):
    _composes(_fn, P.mul)(lambda lo, node, x, /, _f=_factor, _n=_fn.__name__:
                          lo.emit(P.mul, [_number(lo, x, node, _n), const(_f)], node))


@_composes(math.log, P.log, P.div)
def math_log(lo: "Lowering", node, x, base=None, /) -> Atom:
    """math.log(x), or math.log(x, base) = log(x) / log(base)."""
    value = lo.emit(P.log, [_number(lo, x, node, "log")], node)
    if base is None:
        return value
    return lo.emit(P.div, [value, lo.emit(P.log, [_number(lo, base, node, "log")], node)], node)


@_composes(np.ix_, P.expand_dims, view=True)
def ix_(lo: "Lowering", node, *args) -> TupleVal:
    """np.ix_(rows, cols, ...): the k-th vector of integers given axes of length 1 before and
    after it, so that the index arrays broadcast to the grid of their combinations (views, as
    NumPy's reshapes are)."""
    vectors = [lo.operand(a, node) for a in args]
    if not vectors or any(not v.type.is_array or v.type.ndim != 1 or v.type.dtype != "i64" for v in vectors):
        raise lo.error(node, "np.ix_ takes vectors of integers here (for a mask m, write np.arange(len(m))[m])")
    items = []
    for k, v in enumerate(vectors):
        for axis in [0] * k + list(range(k + 1, len(vectors))):
            v = lo.emit(P.expand_dims, [v], node, axis=axis)
        items.append(v)
    return TupleVal(tuple(items))


@_composes(np.nonzero, P.ne, P.arange, P.expand_dims, P.broadcast_to, P.getitem)
def nonzero(lo: "Lowering", node, a) -> TupleVal:
    """np.nonzero(a) (and np.where(a)): for each axis, the positions along it of a's nonzero
    elements in C order: that axis's np.arange, given a's shape, read through the mask a != 0."""
    mask = _array(lo, a, node, "nonzero")
    if mask.type.dtype != "bool":
        mask = lo.emit(P.ne, [mask, const(0)], node)
    ndim = mask.type.ndim
    shape = lo.emit(P.shape, [mask], node)
    items = []
    for k in range(ndim):
        along = lo.emit(P.arange, [lo.emit(P.getitem, [shape, const(k)], node, spec=("i",))], node)
        if ndim > 1:
            for axis in [0] * k + list(range(k + 1, ndim)):
                along = lo.emit(P.expand_dims, [along], node, axis=axis)
            along = lo.emit(P.broadcast_to, [along, shape], node)
        items.append(lo.read_index(along, ("i",), [mask], node))
    return TupleVal(tuple(items))


@_composes(np.flatnonzero, P.ne, P.ravel, P.arange, P.getitem)
def flatnonzero(lo: "Lowering", node, a) -> Atom:
    """np.flatnonzero(a): the positions of a's nonzero elements in a.ravel()."""
    mask = lo.emit(P.ravel, [_array(lo, a, node, "flatnonzero")], node)
    return nonzero(lo, node, mask).items[0]


def _source_literal(lo: "Lowering", node, what: str):
    """The Python value of a literal in the source (a string, a number, a tuple or list of them),
    or of a name bound to one outside the function."""
    if isinstance(node, gast.Name) and node.id not in lo.env:
        try:
            value = lo.src.resolve(node.id)
        except KeyError:
            raise lo.error(node, f"name '{node.id}' is not defined") from None
        if isinstance(value, (str, int, tuple, list)):
            return value
    try:
        return ast.literal_eval(gast.gast_to_ast(node))
    except (ValueError, TypeError, SyntaxError):
        raise lo.error(node, f"{what} must be written as a literal") from None


def _ndim(x: Atom) -> int:
    return x.type.ndim if x.type.is_array else 0
