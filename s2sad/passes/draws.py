"""Random draws in the form Numba compiles: ``rng.normal(loc, scale)`` with an array `loc` or
`scale` (Numba's `Generator.normal` takes only numbers, and a method Numba defines cannot be
extended) becomes ``loc + scale * rng.standard_normal(shape)``, where `shape` is `size` or the
broadcast shape of `loc` and `scale`. NumPy computes `normal` the same way, one standard normal
per element in order, so the draws are the same numbers. Only the code Numba compiles is
rewritten; the Python backend keeps the call as written.
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.builder import Builder
from ..ir.core import Block, Const, Eqn, Function, substitute, walk


def normal_draws_for_numba(fn: Function) -> Function:
    """`fn` with its normal draws of array parameters rewritten as above (in place)."""
    mapping: dict = {}
    for block in [fn.body] + [b for stmt in walk(fn.body) for b in stmt.blocks()]:
        _rewrite(block, mapping)
    substitute(fn.body, mapping)
    return fn


def _rewrite(block: Block, mapping: dict) -> None:
    new: list = []
    for stmt in block.stmts:
        if isinstance(stmt, Eqn) and stmt.prim is P.rng_normal and any(a.type.is_array for a in stmt.ins[1:3]):
            b = Builder(stmt.loc)
            mapping[stmt.outs[0]] = _scaled_standard_normal(b, *stmt.ins)
            new += b.stmts
        else:
            new.append(stmt)
    block.stmts[:] = new


def _scaled_standard_normal(b: Builder, rng, loc, scale, size):
    if isinstance(size, Const) and size.value is None:
        shapes = [b.emit(P.shape, [a]) for a in (loc, scale) if a.type.is_array]
        size = shapes[0] if len(shapes) == 1 else b.emit(P.broadcast_shapes, shapes)
    z = b.emit(P.rng_standard_normal, [rng, size])
    return b.emit(P.add, [loc, b.emit(P.mul, [scale, z])])
