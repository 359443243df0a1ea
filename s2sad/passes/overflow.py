"""Integer arithmetic checked where 64-bit integers would wrap around.

Python's ints never overflow: ``f = f * k`` past 20! is an exact big int, ``a + b`` of Fibonacci
numbers past the 92nd too. s2sad computes integers as int64 (NumPy's integers, and machine
integers under Numba), which wrap around silently: a factorial's weight, a hash, a count of
combinations would be a wrong number. So each `+`, `-` and `*` of two integers, and each `-n` and
``abs(n)`` (whose int64 overflows at -2⁶³ alone), is checked first (`int_sum`, `int_difference`,
`int_product`, `int_negation`: statements raising OverflowError where the exact result leaves
int64), unless the operands are provably small enough::

    f = f * k          →      checked_int_product(f, k)
                              f = f * k

Operands are bounded by the bits of their magnitude: a constant's own; an array's length (read
from its shape) below 2⁴⁸, as no array the machine can hold or a loop go through is longer; a
loop counter by its range's bounds; a sum by one bit more than its larger operand, a product by
the sum of its operands' bits, a remainder by its divisor's, a floor quotient by its dividend's.
Anything else (an argument, a value loaded from an array, a value a loop carries) may be any
int64. So the index arithmetic of loops over arrays (``x[i + 1]``, ``x[2 * i]`` for ``i`` in
``range(1, len(x) - 1)``) has no check and keeps its vectorised loops.

The checks are the primal's, in both forms: the Python form meets np.int64 values too (an
element of an integer array, which NumPy would wrap), and it locates a failure of machine code
(s2sad/located.py) by failing alike. The reverse sweep's re-runs of inner loops drop them (as
they drop the index checks: passes/bounds.py, `drop_checks`).
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.core import Block, Const, Eqn, ForRange, Function, Var, walk

_BITS = 64         # any int64: |v| ≤ 2⁶³
_AXIS_BITS = 48    # an array's length along an axis
_FITS = 63         # |v| < 2⁶³: no overflow
_DEPTH = 40
_CHECKS = {P.add: P.int_sum, P.sub: P.int_difference, P.mul: P.int_product, P.neg: P.int_negation,
           P.abs: P.int_negation}


def check_overflow(fn: Function) -> Function:
    """`fn` with a check before each integer `+`, `-`, `*`, negation and abs that may leave int64."""
    _Bounds(fn).visit(fn.body)
    return fn


def _integer(atom) -> bool:
    return atom.type.is_scalar and atom.type.element.kind in ("i64", "bool")


class _Bounds:
    """The bits of each integer value's magnitude, from its equation."""

    def __init__(self, fn: Function) -> None:
        self.defs = {out: s for s in walk(fn.body) if isinstance(s, Eqn) for out in s.outs}
        self.loops = {s.body.params[0]: s for s in walk(fn.body) if isinstance(s, ForRange)}
        self.known: dict[Var, int] = {}

    def visit(self, block: Block) -> None:
        out = []
        for stmt in block.stmts:
            for inner in stmt.blocks():
                self.visit(inner)
            if isinstance(stmt, Eqn) and stmt.prim in _CHECKS and len(stmt.outs) == 1 \
                    and stmt.outs[0].type.is_scalar and stmt.outs[0].type.element.kind == "i64" \
                    and all(_integer(a) for a in stmt.ins) and self.bits(stmt.outs[0]) > _FITS:
                out.append(Eqn([], _CHECKS[stmt.prim], list(stmt.ins), {}, stmt.loc))
            out.append(stmt)
        block.stmts[:] = out

    def bits(self, v, depth: int = 0) -> int:
        """An n such that |v| < 2ⁿ (64: any int64)."""
        if isinstance(v, Const):
            return abs(int(v.value)).bit_length() if isinstance(v.value, (int, bool)) else _BITS
        if depth > _DEPTH or not isinstance(v, Var):
            return _BITS
        if v not in self.known:
            self.known[v] = min(self._bits(v, depth), _BITS)
        return self.known[v]

    def _bits(self, v: Var, depth: int) -> int:
        if v in self.loops:  # (a counter lies between its range's start and stop)
            loop = self.loops[v]
            return max(self.bits(loop.start, depth + 1), self.bits(loop.stop, depth + 1))
        eqn = self.defs.get(v)
        if eqn is None:
            return _BITS
        ins = [self.bits(a, depth + 1) if _integer(a) else _BITS for a in eqn.ins]
        if eqn.prim in (P.add, P.sub):
            return max(ins) + 1
        if eqn.prim is P.mul:
            return ins[0] + ins[1]
        if eqn.prim in (P.neg, P.abs, P.floordiv):
            return ins[0] + (ins[0] >= _BITS)  # (-(-2⁶³) and -2⁶³ // -1 leave int64)
        if eqn.prim is P.mod:
            return ins[1]
        if eqn.prim in (P.max, P.min):
            return max(ins)
        if eqn.prim is P.getitem and self._shape(eqn.ins[0]):
            return _AXIS_BITS
        return _BITS

    def _shape(self, v) -> bool:
        eqn = self.defs.get(v)
        return eqn is not None and eqn.prim is P.shape
