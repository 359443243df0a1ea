"""Integer indices checked where compiled code would read or write past an array.

NumPy raises IndexError for ``x[5]`` into three elements. Code run as Python does the same, but
Numba's machine code does not check bounds (its ``boundscheck`` option slows every access of a
loop, by 2.8× on the Lennard-Jones gradient), and would read memory past the array: a value
silently wrong. So each integer index of a basic index (`getitem`, `setitem` and the in-place
stores) in the primal is checked against its axis first (`in_bounds`, a statement), unless it
provably lies within it::

    for i in range(1, n - 1):              for i in range(1, n - 1):
        s = s + x[i + 1] * x[k]      →         checked_index(k, x.shape[0])
                                               s = s + x[i + 1] * x[k]

where ``n = len(x)`` (or ``x.shape[0]``): i + 1 < n - 1 + 1 = len(x), and i + 1 ≥ 2 ≥ 0. The proof
covers what loops over an array's own axis write: an index built from loop counters and
constants, whose least value is at least 0 and whose bound is the axis's length plus at most 0.
The derivative's other sweeps index with the same integers into arrays of the same shapes, so
the primal's checks cover them. The Python form drops the checks (`strip_bounds`): NumPy makes
them.
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.core import TEMP, Block, Const, Eqn, ForRange, Function, Var, While, walk
from ..ir.types import I64
from .overflow import check_overflow


_BOUNDS = frozenset({P.in_bounds, P.in_bounds_span})
_CHECKS = _BOUNDS | {P.int_sum, P.int_difference, P.int_product, P.int_negation}


def check_bounds(fn: Function) -> Function:
    """`fn` with an `in_bounds` check before each basic index that may fall outside its axis, and
    the checks of its integer arithmetic that may leave int64 (passes/overflow.py)."""
    _Prover(fn).visit(fn.body, set())
    return check_overflow(fn)


def strip_bounds(fn: Function) -> Function:
    """`fn` without its index checks (for code run as Python, where NumPy checks)."""
    drop_checks(fn.body, _BOUNDS)
    return fn


def drop_checks(block: Block, checks: frozenset = _CHECKS) -> None:
    """Remove the checks in `block` and the regions nested in it (code whose checks were made:
    the Python form, or a copy run again in the reverse sweep)."""
    block.stmts[:] = [s for s in block.stmts if not (isinstance(s, Eqn) and s.prim in checks)]
    for stmt in block.stmts:
        for inner in stmt.blocks():
            drop_checks(inner, checks)


def _indexed() -> set:
    """The primitives taking (array, *basic index, [value]; spec)."""
    return {p for p in P.ALL.values() if "spec" in p.statics}


class _Prover:
    """What the checks need to know of `fn`: each value's equation, each loop counter's loop."""

    def __init__(self, fn: Function) -> None:
        self.indexed = _indexed()
        self.defs = {out: s for s in walk(fn.body) if isinstance(s, Eqn) for out in s.outs}
        self.loops: dict[Var, ForRange] = {}
        self.carried: dict[Var, tuple] = {}  # a loop's carried value → (its initial value, its body's result, param)
        self.before: dict[int, list[Eqn]] = {}  # the checks to make before a loop (by its id)
        self.defined: dict[int, set] = {}  # the values defined in a loop (by its id)
        for stmt in walk(fn.body):
            if isinstance(stmt, ForRange):
                self.loops[stmt.body.params[0]] = stmt
                self.carry(stmt, [stmt.body.params[1:]])
            elif isinstance(stmt, While):
                self.carry(stmt, [stmt.cond.params, stmt.body.params])

    def carry(self, loop, params: list[list[Var]]) -> None:
        for k, (init, result, out) in enumerate(zip(loop.init, loop.body.results, loop.outs)):
            for each in params:
                self.carried[each[k]] = (init, result, params[-1][k])
            self.carried[out] = (init, result, params[-1][k])

    def visit(self, block: Block, seen: set, loop: ForRange | None = None) -> None:
        """Check the indices in `block` (the body of `loop`, if given), but those checked already
        before it (`seen`: keys of the checks that dominate it)."""
        out, seen = [], set(seen)
        for stmt in block.stmts:
            for inner in stmt.blocks():
                self.visit(inner, seen, stmt if isinstance(stmt, ForRange) else None)
            if isinstance(stmt, Eqn) and stmt.prim in self.indexed and stmt.ins[0].type.is_array:
                out += self.checks(stmt, seen, loop)
            out += self.before.pop(id(stmt), [])
            out.append(stmt)
        block.stmts[:] = out

    def checks(self, eqn: Eqn, seen: set, loop: ForRange | None) -> list[Eqn]:
        """The checks `eqn`'s integer indices need (and have not had: `seen`). An index i + c
        of the `loop` whose body `eqn` is in is checked before the loop, for all its values."""
        base, made, position, axis = eqn.ins[0], [], 1, 0
        for kind in eqn.params["spec"]:
            if kind == "i":
                index = eqn.ins[position]
                key = (index.value if isinstance(index, Const) else index, self.origin(base), axis)
                if index.type.is_scalar and index.type.element.kind == "i64" and key not in seen \
                        and not self.within(index, base, axis):
                    seen.add(key)
                    span = self.span(index, loop, base)
                    if span is None:
                        made += self.check(P.in_bounds, [index], base, axis, eqn.loc)
                    else:
                        self.before.setdefault(id(loop), []).extend(
                            self.check(P.in_bounds_span, span, self.origin(base), axis, eqn.loc))
            position += {"i": 1, "s": 3}.get(kind, 0)
            axis += kind != "n"
        return made

    @staticmethod
    def check(prim, indices: list, base, axis: int, loc) -> list[Eqn]:
        """`prim(*indices, len(base's axis))`, with the equations computing its operands."""
        shape, length = Var(TEMP, P.shape.typer([base.type], {})), Var(TEMP, I64)
        eqns = [Eqn([shape], P.shape, [base], {}, loc),
                Eqn([length], P.getitem, [shape, Const(axis, I64)], {"spec": ("i",)}, loc)]
        operands = []
        for index in indices:
            if isinstance(index, tuple):  # (a value plus a constant)
                value, offset = index
                if offset:
                    moved = Var(TEMP, I64)
                    eqns.append(Eqn([moved], P.add if offset > 0 else P.sub, [value, Const(abs(offset), I64)], {}, loc))
                    value = moved
                index = value
            operands.append(index)
        return eqns + [Eqn([], prim, [*operands, length], {}, loc)]

    def span(self, index, loop: ForRange | None, base) -> list | None:
        """The first and last values (value, offset) of `index`, an i + c of `loop`'s counter i
        stepping by 1, when `base`'s shape is known before the loop; else None."""
        if loop is None or not (isinstance(loop.step, Const) and loop.step.value == 1):
            return None
        counter, offset = self.symbolic(index)
        if counter is not loop.body.params[0] or self.origin(base) in self.inside(loop):
            return None
        return [(loop.start, offset), (loop.stop, offset - 1)]

    def inside(self, loop: ForRange) -> set:
        """The values `loop` defines (its parameters, and every value bound in it)."""
        if id(loop) not in self.defined:
            self.defined[id(loop)] = {v for s in walk(loop.body) for v in [*s.outs, *(p for b in s.blocks()
                                                                                     for p in b.params)]} \
                | set(loop.body.params) | set(loop.outs)
        return self.defined[id(loop)]

    # --- the proof ---------------------------------------------------------------------------

    def within(self, index, base, axis: int) -> bool:
        """Does `index` provably lie in [0, len(base's axis))?"""
        least, bound = self.least(index), self.bound(index)
        if least is None or least < 0 or bound is None:
            return False
        length, offset = bound
        return offset <= 0 and length is not None and self.is_length(length, base, axis)

    def least(self, v, depth: int = 0) -> int | None:
        """A lower bound of integer `v`, when one is evident."""
        if isinstance(v, Const):
            return v.value if isinstance(v.value, int) else None
        if depth > 20:
            return None
        if v in self.loops:
            loop = self.loops[v]
            return self.least(loop.start, depth + 1) if self._positive_step(loop) else None
        eqn = self.defs.get(v)
        if eqn is not None and eqn.prim in (P.add, P.sub):
            a, b = (self.least(x, depth + 1) for x in eqn.ins)
            if eqn.prim is P.add:
                return a + b if a is not None and b is not None else None
            if a is not None and isinstance(eqn.ins[1], Const) and isinstance(eqn.ins[1].value, int):
                return a - eqn.ins[1].value
        return None

    def bound(self, v, depth: int = 0) -> tuple | None:
        """(L, k) such that v < L + k (L a value, or None for 0), when evident."""
        if v in self.loops:
            loop = self.loops[v]
            return self.symbolic(loop.stop) if self._positive_step(loop) else None
        eqn = self.defs.get(v)
        if depth < 20 and eqn is not None and eqn.prim in (P.add, P.sub) and isinstance(eqn.ins[1], Const) \
                and isinstance(eqn.ins[1].value, int):
            inner = self.bound(eqn.ins[0], depth + 1)
            if inner is not None:
                step = eqn.ins[1].value if eqn.prim is P.add else -eqn.ins[1].value
                return inner[0], inner[1] + step
        return None

    def symbolic(self, v, depth: int = 0) -> tuple:
        """`v` as (L, k): L + k, with L a value (or None)."""
        if isinstance(v, Const):
            return (None, v.value) if isinstance(v.value, int) else (v, 0)
        eqn = self.defs.get(v)
        if depth < 20 and eqn is not None and eqn.prim in (P.add, P.sub) and isinstance(eqn.ins[1], Const) \
                and isinstance(eqn.ins[1].value, int):
            length, offset = self.symbolic(eqn.ins[0], depth + 1)
            return length, offset + (eqn.ins[1].value if eqn.prim is P.add else -eqn.ins[1].value)
        return v, 0

    @staticmethod
    def _positive_step(loop: ForRange) -> bool:
        return isinstance(loop.step, Const) and isinstance(loop.step.value, int) and loop.step.value > 0

    def is_length(self, length, base, axis: int) -> bool:
        """Is `length` ``base.shape[axis]`` (of base, or of an array of its shape)?"""
        eqn = self.defs.get(length)
        if eqn is None or eqn.prim is not P.getitem or not (isinstance(eqn.ins[1], Const) and eqn.ins[1].value == axis):
            return False
        shape = self.defs.get(eqn.ins[0])
        return shape is not None and shape.prim is P.shape and self.same_shape(shape.ins[0], base)

    def same_shape(self, a, b) -> bool:
        return self.origin(a) is self.origin(b)

    def origin(self, v, depth: int = 0):
        """The array whose shape `v` has for sure: through stores into it, and loops that carry it
        and only store into it."""
        v = self.stored(v)
        if v in self.carried and depth < 20:
            init, result, param = self.carried[v]
            if self.stored(result) is param:
                return self.origin(init, depth + 1)
        return v

    def stored(self, v):
        """The array `v` is, through the stores that made it."""
        for _ in range(10_000):
            eqn = self.defs.get(v)
            if eqn is None or not eqn.prim.inplace or not eqn.ins or eqn.ins[0].type != v.type:
                return v
            v = eqn.ins[0]
        return v
