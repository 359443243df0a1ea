"""Slices taken before elementwise operations, not after::

    t = y + h * k              a = y[:-1]
    z = t[:-1]          →      b = k[:-1]
                               z = a + h * b

when `t` is read only by the slice and each of its array operands provably has its shape (the
shape facts of `passes.shapes`), so that NumPy broadcasts none of them. The values are the same;
the operation then computes only the elements kept, and the derivative of the slice of each
operand adds into a slice of that operand's adjoint, where the slice of the whole result would
spread its adjoint into an array of zeros first. The new statements take the place of the
operation (the operands are read where they were); the bounds must be known there.
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.builder import Builder
from ..ir.core import Block, Const, Eqn, Function, use_counts, walk
from .shapes import ELEMENTWISE, ShapeRoots

_ROUNDS = 8  # (each round pushes every slice one operation further)


def push_slices(fn: Function) -> Function:
    if not any(isinstance(s, Eqn) and s.prim is P.getitem and "s" in s.params["spec"] for s in walk(fn.body)):
        return fn  # (no slice: the shape facts need not be computed)
    for _ in range(_ROUNDS):
        roots, uses = ShapeRoots(fn.body, twins=fn.twins), use_counts(fn.body)
        blocks = [fn.body] + [b for stmt in walk(fn.body) for b in stmt.blocks()]
        if not [block for block in blocks if _push_block(block, roots, uses)]:
            break
    return fn


def _push_block(block: Block, roots: ShapeRoots, uses: dict) -> bool:
    position = {out: k for k, stmt in enumerate(block.stmts) for out in stmt.outs}
    moved: dict[int, list] = {}  # position of an operation → what replaces it
    dropped: set[int] = set()
    for k, stmt in enumerate(block.stmts):
        operation = _pushable(stmt, block, position, roots, uses)
        if operation is None or position[operation.outs[0]] in moved:
            continue
        b = Builder(operation.loc)
        index, params = stmt.ins[1:], stmt.params
        operands = [b.emit(P.getitem, [a, *index], **params) if a.type.is_array else a for a in operation.ins]
        b.append(Eqn(stmt.outs, operation.prim, operands, dict(operation.params), operation.loc))
        moved[position[operation.outs[0]]] = b.stmts
        dropped.add(k)
    if not moved:
        return False
    block.stmts[:] = [s for k, stmt in enumerate(block.stmts) if k not in dropped
                      for s in moved.get(k, [stmt])]
    return True


def _pushable(stmt, block: Block, position: dict, roots: ShapeRoots, uses: dict) -> Eqn | None:
    """The elementwise operation whose result `stmt` slices, when the slice may be taken of its
    operands instead (see the module's docstring)."""
    if not isinstance(stmt, Eqn) or stmt.prim is not P.getitem or set(stmt.params["spec"]) != {"s"}:
        return None
    t = stmt.ins[0]
    operation = block.stmts[position[t]] if t in position else None
    if not isinstance(operation, Eqn) or operation.prim not in ELEMENTWISE or operation.prim.inplace \
            or not operation.prim.pure or len(operation.outs) != 1 or uses.get(t) != 1:
        return None
    arrays = [a for a in operation.ins if a.type.is_array]
    if not all(a.type.ndim == t.type.ndim and roots.same(a, t) for a in arrays):
        return None  # (an operand NumPy broadcasts: its slice would not be the result's)
    where = position[t]
    if not all(isinstance(a, Const) or position.get(a, -1) < where for a in stmt.ins[1:]):
        return None  # (a bound computed after the operation)
    return operation
