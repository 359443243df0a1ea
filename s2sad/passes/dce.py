"""Dead-code elimination: drop pure equations whose results nobody reads, and the results of
`if` statements and loop-carried values (with what computes them) that nobody reads::

    t = sin(x)          # t unused
    u = cos(x)          →   u = cos(x)
    return u                return u

Statements are visited last to first, and removing one forgets its reads, so that the operands
it made dead go in the same sweep; sweeps repeat until nothing changes (a loop's carried values,
once pruned, can free what precedes the loop).
"""

from __future__ import annotations

from ..ir.core import Block, Eqn, ForRange, Function, If, Var, While, block_uses, free_vars, use_counts, walk


def dce(fn: Function) -> Function:
    dce_block(fn.body)
    return fn


def dce_block(block: Block) -> Block:
    """Remove dead code from `block`, keeping what its results need."""
    while _sweep(block, use_counts(block)):
        pass
    return block


def _sweep(block: Block, uses: dict[Var, int]) -> bool:
    changed, kept = False, []
    for stmt in reversed(block.stmts):
        if isinstance(stmt, If):
            changed |= _prune_if(stmt, uses)
        elif isinstance(stmt, (ForRange, While)):
            changed |= _prune_loop(stmt, uses)
        for inner in stmt.blocks():
            changed |= _sweep(inner, uses)
        if _removable(stmt, uses):
            changed = True
            _forget_reads(stmt, uses)
        else:
            kept.append(stmt)
    block.stmts[:] = reversed(kept)
    return changed


def _forget_reads(stmt, uses) -> None:
    """`stmt` is removed: what it read is read once less."""
    for atom in stmt.ins:
        _drop_use(atom, uses)
    for inner in stmt.blocks():
        for atom in block_uses(inner):
            _drop_use(atom, uses)


def _removable(stmt, uses) -> bool:
    if any(uses.get(v, 0) for v in stmt.outs):
        return False
    if isinstance(stmt, Eqn):
        return stmt.prim.pure and not stmt.prim.statement  # (a check, with no result, is kept for what it raises)
    if isinstance(stmt, While):
        return False  # it may not terminate; keep it
    return not any(isinstance(s, Eqn) and not s.prim.pure for s in walk(Block([], [stmt])))


def _prune_if(stmt: If, uses) -> bool:
    dead = [k for k, v in enumerate(stmt.outs) if not uses.get(v, 0)]
    for k in reversed(dead):
        del stmt.outs[k]
        for branch in stmt.blocks():
            _drop_use(branch.results.pop(k), uses)
    return bool(dead)


def _prune_loop(stmt, uses) -> bool:
    """Drop carried values that nothing after the loop reads, and that the loop reads only to
    compute their own next value (a tape nobody replays, a counter nobody uses)."""
    skip = 1 if isinstance(stmt, ForRange) else 0
    live = {k for k, out in enumerate(stmt.outs) if uses.get(out, 0)}
    effects, reads = _effects(stmt), _reads_of(stmt)
    while True:
        needed = _depends(reads, [stmt.body.results[k] for k in live] + effects)
        grown = live | {k for k in range(len(stmt.outs))
                        if any(r.params[skip + k] in needed for r in stmt.blocks())}
        if grown == live:
            break
        live = grown
    dead = [k for k in range(len(stmt.outs)) if k not in live]
    for k in reversed(dead):
        del stmt.outs[k]
        _drop_use(stmt.init.pop(k), uses)
        for r in stmt.blocks():
            del r.params[skip + k]
        _drop_use(stmt.body.results.pop(k), uses)
    return bool(dead)


def _effects(stmt) -> list:
    """What a loop needs whatever it carries: its condition, its impure operations' and checks'
    operands (an index checked against an array keeps the array), what decides whether and how often the statements holding them run (an if's condition, a
    loop's bounds), and what the `while` loops inside it read (they are never removed)."""
    roots = list(stmt.cond.results) if isinstance(stmt, While) else []
    for s in walk(Block([], stmt.body.stmts)):
        if isinstance(s, Eqn) and (not s.prim.pure or s.prim.statement):
            roots += s.ins
        elif isinstance(s, While):
            roots += free_vars(s)
        elif isinstance(s, (If, ForRange)) and not _removable(s, {}):
            roots += s.ins
    return roots


def _reads_of(stmt) -> dict:
    """Each value bound in `stmt`'s regions, at any depth → what computing it reads (a nested
    statement's results and region parameters read whatever the statement reads)."""
    reads: dict = {}
    for region in stmt.blocks():
        for s in walk(region):
            needs = list(s.ins) + [a for inner in s.blocks() for a in block_uses(inner)]
            for out in s.outs:
                reads[out] = needs
            for inner in s.blocks():
                for param in inner.params:
                    reads[param] = needs
    return reads


def _depends(reads: dict, roots: list) -> set:
    """Every value that `roots` depend on, following `reads`."""
    seen, todo = set(), [a for a in roots if isinstance(a, Var)]
    while todo:
        v = todo.pop()
        if v not in seen:
            seen.add(v)
            todo += [a for a in reads.get(v, ()) if isinstance(a, Var)]
    return seen


def _drop_use(atom, uses) -> None:
    if isinstance(atom, Var):
        uses[atom] -= 1
