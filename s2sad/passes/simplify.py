"""Simplification: fold constants, remove algebraic identities, and resolve `if` statements
whose condition is a constant::

    a = mul(x, 1.0)         (a is x)
    b = add(2.0, 3.0)   →   (b is 5.0)
    c = mul(a, b)           c = mul(x, 5.0)

and ``x[idx] += -v`` becomes ``x[idx] -= v``.

The identities are the builder's (`ir.builder.simplify_eqn`), so IR built by rules and IR run
through this pass obey the same laws.
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.builder import simplify_eqn
from ..ir.core import Block, Const, Eqn, Function, If, substitute, use_counts, walk


def simplify(fn: Function) -> Function:
    mapping: dict = {}
    _simplify_block(fn.body, mapping)
    substitute(fn.body, mapping)
    _subtract_negated(fn.body)
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


def _subtract_negated(block: Block) -> None:
    """``index_add(x, idx, neg(v))`` → ``index_sub(x, idx, v)``, also through an ``unbroadcast``
    that only this store reads. Not through an index array: only adding has a scatter form
    (``add_at``), where repeated indices accumulate."""
    definitions = {s.outs[0]: s for s in walk(block) if isinstance(s, Eqn) and len(s.outs) == 1}
    uses = use_counts(block)
    for stmt in walk(block):
        if not (isinstance(stmt, Eqn) and stmt.prim is P.index_add) or any(a.type.is_array for a in stmt.ins[1:-1]):
            continue
        value = stmt.ins[-1]
        spread = definitions.get(value)
        if isinstance(spread, Eqn) and spread.prim is P.unbroadcast and uses.get(value) == 1:
            negated = definitions.get(spread.ins[0])
            if isinstance(negated, Eqn) and negated.prim is P.neg and uses.get(spread.ins[0]) == 1:
                spread.ins = [negated.ins[0], spread.ins[1]]
                stmt.prim = P.index_sub
            continue
        if isinstance(spread, Eqn) and spread.prim is P.neg:
            stmt.prim, stmt.ins = P.index_sub, stmt.ins[:-1] + [spread.ins[0]]


def strip_custom(fn: Function) -> Function:
    """Remove the identities that mark a `custom_rule` call (`stop`, `custom`) once the
    derivative no longer needs them."""
    mapping = {}
    for block in [fn.body] + [b for s in walk(fn.body) for b in s.blocks()]:
        kept = []
        for stmt in block.stmts:
            if isinstance(stmt, Eqn) and stmt.prim in (P.stop, P.custom):
                mapping[stmt.outs[0]] = stmt.ins[0]
            else:
                kept.append(stmt)
        block.stmts[:] = kept
    substitute(fn.body, mapping)
    return fn
