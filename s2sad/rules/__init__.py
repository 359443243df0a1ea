"""The derivative-rule registry: for each primitive, its JVP and its VJP side by side.

A rule is two small functions over `Sym` values (arithmetic on them emits IR):

    jvp(primals, tangents, out, **params) -> tangent of out, or None when it is zero
    vjp(g, primals, out, **params)        -> one cotangent per operand (None: no contribution)

`tangents[k]` is None when operand k is inactive. What a VJP reads from the forward sweep is
whatever its emitted IR refers to; the reverse transform finds that out, so rules do not declare
it. Helpers cover the common shapes: `elementwise` (one partial per operand), `linear`,
`zero_derivative`, and `unbroadcast` for operands that were broadcast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from .. import primitives as P
from ..errors import located
from ..ir.builder import Sym, apply
from ..ir.core import Const
from ..ir.types import Type


@dataclass
class Rule:
    prim: P.Primitive
    jvp: Callable
    vjp: Callable
    zero: bool = False  # the derivative is zero everywhere it exists (comparisons, floor, ints)
    refused: str = ""  # why the value cannot be differentiated yet (its rules raise, naming the line)
    partials: tuple | None = None  # an `elementwise` rule's partials (rules/lanes.py applies them to lanes)
    signs: tuple | None = None  # a `linear` rule's signs


RULES: dict[P.Primitive, Rule] = {}


def defrule(prim: P.Primitive, jvp: Callable, vjp: Callable) -> Rule:
    RULES[prim] = Rule(prim, jvp, vjp)
    return RULES[prim]


def zero_derivative(*prims: P.Primitive) -> None:
    """Primitives whose outputs carry no derivative (comparisons, integer ops, floor)."""
    for prim in prims:
        RULES[prim] = Rule(prim, lambda *a, **k: None, lambda g, primals, out, **k: [None] * len(primals),
                           zero=True)


def refuse(prim: P.Primitive, why: str) -> None:
    """A primitive whose value depends on its operands but has no derivative rule yet: on a
    differentiated path it is refused at its line (a primitive without any rule would count as
    constant, and its derivative would silently be zero)."""
    def raise_(out: Sym):
        raise located(f"{prim.name} cannot be differentiated: {why}", out.b.loc)

    RULES[prim] = Rule(prim, lambda primals, tangents, out, **k: raise_(out),
                       lambda g, primals, out, **k: raise_(out), refused=why)


def rule_for(prim: P.Primitive) -> Rule | None:
    return RULES.get(prim)


# --- broadcasting -----------------------------------------------------------------------

def _ndim(t: Type) -> int:
    return t.ndim if t.is_array else 0


def may_broadcast(k: int, primals: list[Sym], out: Sym, sized: bool = False) -> bool:
    """Can operand k's shape differ from the result's? Only if it has fewer axes, or another
    operand is an array that could stretch one of its length-1 axes, or the result is a draw of
    a given size (`sized`), which may stretch them too."""
    nk = primals[k].ndim
    if nk < out.ndim:
        return True
    return nk > 0 and (sized or any(p.ndim > 0 for j, p in enumerate(primals) if j != k))


def sized_draw(prim: P.Primitive, primals: list[Sym]) -> bool:
    """Whether `prim` is a random draw given a `size` (``np.random.normal(loc, scale, size)``)."""
    return "size" in prim.operands and primals[prim.operands.index("size")].type.kind != "none"


def unbroadcast(g: Sym, k: int, primals: list[Sym], out: Sym, sized: bool = False) -> Sym:
    """The cotangent `g` of the result summed down to operand k's shape."""
    x = primals[k]
    if not may_broadcast(k, primals, out, sized) or g is None:
        return g
    if x.ndim == 0:
        return apply(P.sum, g)
    return apply(P.unbroadcast, g, apply(P.shape, x))


def broadcast_to_out(t: Sym, k: int, primals: list[Sym], out: Sym, sized: bool = False) -> Sym:
    """Tangent `t` of operand k stretched to the result's shape, where they may differ."""
    if t is None or (not may_broadcast(k, primals, out, sized) and t.type == out.type):
        return t
    return apply(P.broadcast_like, t, out) if out.ndim else t


def add_tangents(terms: list) -> Sym | None:
    """The sum of the non-None terms (None when all are None)."""
    present = [t for t in terms if t is not None]
    if not present:
        return None
    total = present[0]
    for t in present[1:]:
        total = total + t
    return total


def choose(c: Sym, a, b) -> Sym:
    """``a if c else b`` elementwise: `np.where` for arrays, a conditional expression for scalars."""
    arrays = any(isinstance(v, Sym) and v.ndim for v in (c, a, b))
    return apply(P.where if arrays else P.select, c, a, b)


# --- singular partials --------------------------------------------------------------------
# At a pole or a branch point (sqrt at 0, 1/b at b = 0, arcsin at ±1, the norm of a zero vector)
# a partial derivative is infinite or NaN although the inputs are finite. Multiplied by a zero
# tangent (forward mode: the direction of another argument) or a zero cotangent (reverse mode: a
# result that does not count), it would give 0 · inf = NaN, and the NaN would spread into every
# derivative the sum reaches, also those that do not depend on that point. Such partials are
# multiplied by `masked`, which gives 0 where the tangent or cotangent is 0: the conventions at
# those points (an infinite or NaN derivative) hold wherever the tangent is not zero. Partials
# that are infinite only because the value overflowed (exp of a large number) are not masked:
# the value is then infinite too.


@dataclass(frozen=True)
class Singular:
    """A partial that may be infinite or NaN at finite inputs; `finite(*primals, out)` is true
    where it is known not to be (an integer exponent), so that no mask is needed."""

    partial: Callable
    finite: Callable = lambda *primals: False

    def __call__(self, *primals):
        return self.partial(*primals)


def masked(t: Sym, d) -> Sym:
    """t · d, with 0 where t is 0 (whatever d is): for numbers ``t * d if t != 0.0 else 0.0``
    (which does not even compute d where t is 0), for arrays `masked_product`; a plain product
    when d is a finite number."""
    value = d.atom.value if isinstance(d, Sym) and isinstance(d.atom, Const) else d
    if isinstance(value, (int, float)) and math.isfinite(value):
        return t * d
    if t.ndim == 0 and (not isinstance(d, Sym) or d.ndim == 0):
        return choose(apply(P.ne, t, 0.0), t * d, 0.0)
    return apply(P.masked_product, t, d)


def _times(t: Sym, partial: Callable, primals: list, out: Sym) -> Sym:
    d = partial(*primals, out)
    return masked(t, d) if _singular(partial, primals, out) else t * d


def _singular(partial: Callable, primals: list, out: Sym) -> bool:
    return isinstance(partial, Singular) and not partial.finite(*primals, out)


# --- families -----------------------------------------------------------------------------

def elementwise(prim: P.Primitive, *partials: Callable) -> Rule:
    """An elementwise primitive given ∂out/∂operand_k = partials[k](*primals, out) (a `Singular`
    partial is multiplied with `masked`).

    JVP: Σ_k partial_k · t_k.  VJP: operand k gets unbroadcast(g · partial_k).
    """
    def jvp(primals, tangents, out, **params):
        sized = sized_draw(prim, primals)
        terms = [None if t is None else broadcast_to_out(_times(t, d, primals, out), k, primals, out, sized)
                 for k, (t, d) in enumerate(zip(tangents, partials))]
        return add_tangents(terms)

    def vjp(g, primals, out, **params):
        sized = sized_draw(prim, primals)
        cotangents = []
        for k in range(len(primals)):
            same = [j for j, p in enumerate(primals) if p.atom is primals[k].atom]
            if same[0] < k:  # an operand repeated (x * x): its first position takes it all
                cotangents.append(None)
                continue
            singular = any(_singular(partials[j], primals, out) for j in same)
            cotangents.append(unbroadcast(_times_partials(g, [partials[j](*primals, out) for j in same], singular),
                                          k, primals, out, sized))
        return cotangents

    rule = defrule(prim, jvp, vjp)
    rule.partials = partials
    return rule


def _times_partials(g: Sym, terms: list, singular: bool = False) -> Sym:
    """g · Σ terms; equal terms (both partials of x * x are x) are counted, so x * x gives
    g · 2 · x for a number g, g · x · 2 for an array (one pass, either way, under Numba).
    `singular`: a term may be infinite or NaN, and the product is `masked`."""
    if singular:
        return masked(g, add_tangents(terms))
    if all(isinstance(t, Sym) and t.atom is terms[0].atom for t in terms):
        if len(terms) == 1:
            return g * terms[0]
        return g * float(len(terms)) * terms[0] if g.ndim == 0 else g * terms[0] * float(len(terms))
    return g * add_tangents(terms)


def linear(prim: P.Primitive, *signs: float) -> Rule:
    """out = Σ_k signs[k] · operand_k (add, sub, neg, float): derivatives need no primal values."""
    def jvp(primals, tangents, out, **params):
        total = None
        for k, (t, s) in enumerate(zip(tangents, signs)):
            if t is None:
                continue
            t = broadcast_to_out(t, k, primals, out)
            total = (t if s == 1 else -t) if total is None else (total + t if s == 1 else total - t)
        return total

    def vjp(g, primals, out, **params):
        return [unbroadcast(g if s == 1 else -g, k, primals, out) for k, s in enumerate(signs)]

    rule = defrule(prim, jvp, vjp)
    rule.signs = signs
    return rule


from . import core, custom, lanes  # noqa: E402,F401  (registers the rules)
