"""Loop-invariant code motion: compute once, before the loop, what does not change in it::

    for i in range(n):                  t = -k
        t = -k              →           for i in range(n):
        x = t * x                           x = t * x

The loop may run zero times, and then the program as written computes nothing of its body.
Indexing, division and powers, cheap and often raising on values such a loop would not have
met, are never moved. What cannot raise is moved unconditionally: elementwise operations on at
most one array (no shapes to disagree), transposes and shapes. What may raise (operations on
arrays whose shapes may not match, linear algebra) is moved under a test that the loop runs at
least once, with an unread placeholder otherwise::

    for i in range(n):                  if 0 < n:
        h = np.tanh(W @ x + h)              t = W @ x
                                        else:
                                            t = np.empty((0,))
                                        for i in range(n):
                                            h = np.tanh(t + h)

(a ``while`` loop's test is its condition, evaluated once more before the loop, when that
condition cannot raise; otherwise such equations stay in the loop). Nor is an array the loop
stores into moved (``scores = np.zeros(k)`` at the top of each iteration is a fresh array each
time; hoisted, every store would have to copy it). Besides saving work, a hoisted value needs no
tape in reverse mode.
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.aliases import Aliases
from ..ir.builder import Builder, const, loop_runs, placeholder
from ..ir.core import Block, Eqn, ForRange, If, Var, While, block_defs, free_vars, substitute, use_counts
from .shapes import ELEMENTWISE

# Never moved: cheap, and often raising on values a loop that never runs would not meet.
_KEPT = {P.getitem, P.in_bounds, P.in_bounds_span, P.div, P.floordiv, P.mod, P.pow, P.int_sum, P.int_difference,
         P.int_product, P.int_negation}
# Equations that raise on no value of their operands (given at most one array among them).
_TOTAL = (ELEMENTWISE - _KEPT - {P.checked_range, P.checked_ordered_range, P.accumulate, P.masked_product}) \
    | {P.neg, P.transpose, P.shape, P.placeholder}


def licm(fn):
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
    """Remove the invariant statements from the loop's body; return what replaces them before
    the loop: those that cannot raise, then an `If` computing the others when the loop runs."""
    variant = set().union(*(block_defs(b) for b in loop.blocks()))
    stored = _stored(loop)
    before = Builder(loop.loc)
    runs = loop_runs(loop, before)
    hoisted, guarded, kept = [], [], []
    for stmt in loop.body.stmts:
        if not _invariant(stmt, variant) or any(stored(v) for v in stmt.outs):
            kept.append(stmt)
        elif _total(stmt) and not _reads(stmt, guarded):
            hoisted.append(stmt)
            variant -= set(stmt.outs)
        elif runs is not None and runs != const(False) and all(v.type.kind != "rng" for v in stmt.outs):
            guarded.append(stmt)
            variant -= set(stmt.outs)
        else:
            kept.append(stmt)
    loop.body.stmts[:] = kept
    if runs == const(True) or not guarded:
        return hoisted + guarded
    return hoisted + before.stmts + [_guard(loop, guarded, runs)]


def _guard(loop, guarded: list, runs) -> If:
    """`guarded` under ``if runs:``; the values the loop reads are the `If`'s results."""
    uses = use_counts(Block([], [loop], []))
    needed = [v for stmt in guarded for v in stmt.outs if v in uses]
    orelse = Builder(loop.loc)
    empty = [placeholder(v.type, orelse) for v in needed]
    outs = [Var(v.name, v.type) for v in needed]
    for region in loop.blocks():
        substitute(region, dict(zip(needed, outs)))
    return If(outs, runs, Block([], guarded, needed), Block([], orelse.stmts, empty), loop.loc)


def _stored(loop):
    """A test: may the loop store into (memory shared with) this value?"""
    block = Block([], [loop], [])
    return Aliases(block).stored_into(block)


def _reads(stmt, stmts: list) -> bool:
    return bool(free_vars(stmt) & {v for s in stmts for v in s.outs})


def _invariant(stmt, variant: set[Var]) -> bool:
    return _pure(stmt) and not free_vars(stmt) & variant


def _pure(stmt) -> bool:
    """Pure and not in place (an `If` an inner loop's motion made: when everything in it is)."""
    if isinstance(stmt, If):
        return all(_pure(s) for b in stmt.blocks() for s in b.stmts)
    return (isinstance(stmt, Eqn) and stmt.prim.pure and not stmt.prim.inplace and stmt.prim not in _KEPT
            and bool(stmt.outs))


def _total(stmt) -> bool:
    """Can this equation never raise?"""
    return (isinstance(stmt, Eqn) and stmt.prim in _TOTAL
            and sum(isinstance(a, Var) and a.type.is_array and a.type.ndim > 0 for a in stmt.ins) <= 1)
