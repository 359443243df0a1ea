"""Dead-code elimination: drop pure equations whose results nobody reads, and the results of
`if` statements (with what their branches compute for them) that nobody reads::

    t = sin(x)          # t unused
    u = cos(x)          →   u = cos(x)
    return u                return u

Repeats until nothing changes (removing one value can make its operands dead).
"""

from __future__ import annotations

from ..ir.core import Block, Eqn, Function, If, Var, use_counts


def dce(fn: Function) -> Function:
    while _sweep(fn.body, use_counts(fn.body)):
        pass
    return fn


def _sweep(block: Block, uses: dict[Var, int]) -> bool:
    changed, kept = False, []
    for stmt in block.stmts:
        if isinstance(stmt, If):
            changed |= _prune_if(stmt, uses)
        for inner in stmt.blocks():
            changed |= _sweep(inner, uses)
        if _removable(stmt, uses):
            changed = True
        else:
            kept.append(stmt)
    block.stmts[:] = kept
    return changed


def _removable(stmt, uses) -> bool:
    if any(uses.get(v, 0) for v in stmt.outs):
        return False
    if isinstance(stmt, Eqn):
        return stmt.prim.pure
    return isinstance(stmt, If) and not any(b.stmts for b in stmt.blocks())


def _prune_if(stmt: If, uses) -> bool:
    dead = [k for k, v in enumerate(stmt.outs) if not uses.get(v, 0)]
    if not dead:
        return False
    for k in reversed(dead):
        del stmt.outs[k]
        for branch in stmt.blocks():
            r = branch.results.pop(k)
            if isinstance(r, Var):
                uses[r] -= 1
    return True
