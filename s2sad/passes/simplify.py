"""Simplification: fold constants, remove algebraic identities, and resolve `if` statements
whose condition is a constant::

    a = mul(x, 1.0)         (a is x)
    b = add(2.0, 3.0)   →   (b is 5.0)
    c = mul(a, b)           c = mul(x, 5.0)

The identities are the builder's (`ir.builder.simplify_eqn`), so IR built by rules and IR run
through this pass obey the same laws.
"""

from __future__ import annotations

from ..ir.builder import simplify_eqn
from ..ir.core import Block, Const, Eqn, Function, If, substitute


def simplify(fn: Function) -> Function:
    mapping: dict = {}
    _simplify_block(fn.body, mapping)
    substitute(fn.body, mapping)
    return fn


def _simplify_block(block: Block, mapping: dict) -> None:
    kept = []
    for stmt in block.stmts:
        substitute(Block([], [stmt], []), mapping)
        if isinstance(stmt, Eqn) and len(stmt.outs) == 1:
            folded = simplify_eqn(stmt.prim, stmt.ins, stmt.params, stmt.outs[0].type)
            if folded is not None:
                mapping[stmt.outs[0]] = folded
                continue
        if isinstance(stmt, If) and isinstance(stmt.cond, Const):
            taken = stmt.then if stmt.cond.value else stmt.orelse
            _simplify_block(taken, mapping)
            kept += taken.stmts
            mapping.update(zip(stmt.outs, taken.results))
            continue
        for inner in stmt.blocks():
            _simplify_block(inner, mapping)
        kept.append(stmt)
    block.stmts[:] = kept
