"""Lane forms of derivative rules, for the vector forward transform
(`s2sad/transforms/vector_forward.py`): the tangent of an equation's output for all k lanes
at once, each tangent with a leading axis of lanes (shape (k, *value.shape))::

    lane_jvp(primals, tangents, out, k, **params) -> the batched tangent, None when it is zero,
                                                     or NotImplemented (the transform then
                                                     loops over the lanes with the rule's jvp)

Elementwise and linear operations reuse their rule's partials and signs: a batch is given
axes of length 1 after its lane axis up to the result's rank, so that NumPy's broadcasting
(which aligns trailing axes) pairs each lane with the primal partials. Indexing and stores
take a leading full slice; matrix products put the batch where NumPy's product of stacks
would (`lanes_matmul` where Numba's product would refuse three axes).
"""

from __future__ import annotations

from typing import Callable

from .. import primitives as P
from ..ir.builder import Builder, Sym, apply
from ..ir.core import Atom
from . import RULES, _times, add_tangents, sized_draw

LANE_RULES: dict[P.Primitive, Callable] = {}


def lane_rule(prim: P.Primitive) -> Callable | None:
    """The lane form of `prim`'s rule, or None (the transform loops over the lanes)."""
    if prim in LANE_RULES:
        return LANE_RULES[prim]
    rule = RULES.get(prim)
    if rule is not None and rule.partials is not None:
        return _elementwise(prim, rule.partials)
    if rule is not None and rule.signs is not None:
        return _linear(rule.signs)
    return None


def spread(t: Sym, ndim: int) -> Sym:
    """The batch `t` with axes of length 1 after its lane axis, up to `ndim` axes per lane."""
    for _ in range(ndim - (t.ndim - 1)):
        t = apply(P.expand_dims, t, axis=1)
    return t


def shape_of_batch(k: Atom, like: Atom, b: Builder) -> Atom:
    """The shape ``(k, *like.shape)`` (``k`` for a number), emitted into `b`."""
    if not like.type.is_array:
        return k
    shape = b.emit(P.shape, [like])
    return b.emit(P.make_tuple, [k] + [b.emit(P.getitem, [shape, j], spec=("i",)) for j in range(like.type.ndim)])


def batch_shape(k: Sym, like: Sym) -> Sym:
    """``(k, *like.shape)`` (``k`` for a number)."""
    return Sym(shape_of_batch(k.atom, like.atom, k.b), k.b)


def _filled(total: Sym | None, active: list[int], primals: list[Sym], out: Sym) -> Sym | None:
    """The sum of the terms of the `active` operands, broadcast to (k, *out.shape) where it may
    have another shape (no active operand has the result's rank without another array operand
    that could stretch its axes of length 1)."""
    surely = any(primals[j].ndim == out.ndim and not any(p.ndim and p.atom is not primals[j].atom for p in primals)
                 for j in active)
    return total if total is None or surely else apply(P.lanes_full, total, out)


def _elementwise(prim: P.Primitive, partials: tuple) -> Callable:
    def jvp(primals, tangents, out, k, **params):
        if sized_draw(prim, primals):
            return NotImplemented
        active = [j for j, t in enumerate(tangents) if t is not None]
        terms = [_times(spread(tangents[j], out.ndim), partials[j], primals, out) for j in active]
        return _filled(add_tangents(terms), active, primals, out)
    return jvp


def _linear(signs: tuple) -> Callable:
    def jvp(primals, tangents, out, k, **params):  # (operands past the signs give only a shape: fits_shape's)
        active = [j for j, t in enumerate(tangents[:len(signs)]) if t is not None]
        terms = [spread(tangents[j], out.ndim) if signs[j] == 1 else -spread(tangents[j], out.ndim) for j in active]
        return _filled(add_tangents(terms), active, primals, out)
    return jvp


# --- indexing and stores --------------------------------------------------------------------

ALL = (None, None, None)  # the operands of a full slice


def _getitem(primals, tangents, out, k, spec, **others):
    x, *index = primals
    if tangents[0] is None:
        return None
    if others or sum(1 for a in index if a.ndim) > 1:  # (one index array's axes stay where it stands)
        return NotImplemented
    return apply(P.getitem, tangents[0], *ALL, *index, spec=("s",) + spec)


def _store(prim: P.Primitive) -> Callable:
    """``x[index] = v`` (or ``+=``, ``-=``) of the batches: the same store with a leading slice."""
    def jvp(primals, tangents, out, k, spec, **others):
        x, *index, v = primals
        tx, tv = tangents[0], tangents[-1]
        if others or any(a.ndim for a in index):  # (index arrays: stores with repeated indices, scatters)
            return NotImplemented
        base = tx if tx is not None else apply(P.zeros, batch_shape(k, x))
        region = P.index_result_type(x.type, [a.type for a in index], spec)
        value = 0.0 if tv is None else spread(tv, region.ndim if region.is_array else 0)
        return apply(prim, base, *ALL, *index, value, spec=("s",) + spec)
    return jvp


for _prim in (P.setitem, P.index_add, P.index_sub):
    LANE_RULES[_prim] = _store(_prim)
LANE_RULES[P.getitem] = _getitem


# --- products and changes of shape -----------------------------------------------------------

def _product(a: Sym, b: Sym, lanes_left: bool) -> Sym:
    """a @ b where a (`lanes_left`) or b is a batch."""
    if lanes_left:
        return a @ b if a.ndim == 2 else apply(P.lanes_matmul, a, b)
    if b.ndim == 3:
        return apply(P.lanes_matmul, a, b)
    return b @ a.T  # (k, n) @ (n, m) or (k, n) @ (n,): the batch of vectors b times aᵀ


def _matmul(primals, tangents, out, k, **params):
    (a, b), (ta, tb) = primals, tangents
    if a.ndim == 0 or b.ndim == 0:
        return NotImplemented
    return add_tangents([None if ta is None else _product(ta, b, True),
                         None if tb is None else _product(a, tb, False)])


LANE_RULES[P.matmul] = LANE_RULES[P.dot] = _matmul


def _first_only(make: Callable) -> Callable:
    """A rule linear in its first operand whose lane form is `make(t, x, out, k, **params)`."""
    def jvp(primals, tangents, out, k, **params):
        if tangents[0] is None or any(t is not None for t in tangents[1:]):
            return None if all(t is None for t in tangents) else NotImplemented
        return make(tangents[0], primals[0], out, k, **params)
    return jvp


def _shifted(axis: int) -> int:
    """An axis of a value as an axis of its batch."""
    return axis + 1 if axis >= 0 else axis


def _sum(t, x, out, k, axis=None):
    if x.ndim == 0:
        return t
    if axis is None:
        return apply(P.sum, apply(P.reshape, t, apply(P.make_tuple, k, -1)), axis=1)
    return NotImplemented if isinstance(axis, tuple) else apply(P.sum, t, axis=_shifted(axis))


def _transpose(t, x, out, k, axes=None):
    if x.ndim < 2:
        return t
    order = tuple(range(x.ndim - 1, -1, -1)) if axes is None else tuple(a % x.ndim for a in axes)
    return apply(P.transpose, t, axes=(0,) + tuple(a + 1 for a in order))


def _reshaped(t, x, out, k, **params):
    return apply(P.reshape, t, batch_shape(k, out))


LANE_RULES[P.copy] = _first_only(lambda t, x, out, k: apply(P.copy, t))
LANE_RULES[P.sum] = _first_only(_sum)
LANE_RULES[P.transpose] = _first_only(_transpose)
LANE_RULES[P.ravel] = LANE_RULES[P.reshape] = _first_only(_reshaped)
LANE_RULES[P.expand_dims] = _first_only(lambda t, x, out, k, axis: apply(P.expand_dims, t, axis=_shifted(axis)))
