"""Loop-invariant code motion: compute once, before the loop, what does not change in it::

    for i in range(n):                  t = -k
        t = -k              →           for i in range(n):
        x = t * x                           x = t * x

Indexing, division and powers are never moved, since the loop may run zero times and they can
raise on values a loop that never runs would not have met. (An operation on arrays whose shapes
do not broadcast is still moved: it raises before a zero-trip loop rather than not at all, the
one difference from the program as written.) Nor is an array the loop stores into
(``scores = np.zeros(k)`` at the top of each iteration is a fresh array each time; hoisted, every
store would have to copy it). Besides saving work, a hoisted value needs no tape in reverse mode.
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.aliases import Aliases
from ..ir.core import Block, Eqn, ForRange, Function, Var, While, block_defs

_UNSAFE = {P.getitem, P.div, P.floordiv, P.mod, P.pow}


def licm(fn: Function) -> Function:
    _hoist_in(fn.body)
    return fn


def _hoist_in(block: Block) -> None:
    out = []
    for stmt in block.stmts:
        for inner in stmt.blocks():
            _hoist_in(inner)
        if isinstance(stmt, (ForRange, While)):
            out += _hoist(stmt)
        out.append(stmt)
    block.stmts[:] = out


def _hoist(loop) -> list:
    """Remove the invariant equations from the loop's body; return them in order."""
    variant = set().union(*(block_defs(b) for b in loop.blocks()))
    stored = _stored(loop)
    hoisted, kept = [], []
    for stmt in loop.body.stmts:
        if _invariant(stmt, variant) and not stored(stmt.outs[0]):
            hoisted.append(stmt)
            variant -= set(stmt.outs)
        else:
            kept.append(stmt)
    loop.body.stmts[:] = kept
    return hoisted


def _stored(loop):
    """A test: may the loop store into (memory shared with) this value?"""
    block = Block([], [loop], [])
    return Aliases(block).stored_into(block)


def _invariant(stmt, variant: set[Var]) -> bool:
    return (isinstance(stmt, Eqn) and stmt.prim.pure and not stmt.prim.inplace and stmt.prim not in _UNSAFE
            and stmt.outs and not any(isinstance(a, Var) and a in variant for a in stmt.ins))
