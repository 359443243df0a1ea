"""While loops whose tapes grow, run in chunks of steps that store without growing.

A ``while`` loop's trip count is known only once it ends, so the forward sweep of its derivative
stores on tapes that grow (`record_grow`, doubled when full). Compiled, a store that may replace
its tape makes the tape a value the loop reassigns: Numba then counts references on it at every
step and keeps it in memory, several times the cost of the store itself. In the Numba form, such
a loop runs in chunks instead: before a chunk, the tapes get room for its steps (`reserve`: 16
entries, then doubled, as `record_grow` grows them), and within it the stores are plain ones into
a tape that stays the same, as in a ``for`` loop's preallocated tape::

    while i < n:                                 more = True
        tape_x = record_grow(tape_x, k, x)       while more:
        x = step(x)                                  stop = max(2 * k, 16)
        i = i + 1                       →            tape_x = reserve(tape_x, stop)
        k = k + 1                                    while k < stop and i < n:
                                                         tape_x[k] = x
                                                         x = step(x)
                                                         i = i + 1
                                                         k = k + 1
                                                     more = k == stop

A chunk ends when it is full (then the next one tests the condition) or when the condition is
false (then k < stop, and the outer loop ends). A condition that may have effects is tested only
where the chunk has room, in an ``if``. Stores of numbers, and of arrays on a tape allocated with
its rows' shape, become plain stores; others keep `record_grow`.
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.builder import Builder, const
from ..ir.core import TEMP, Block, Const, Eqn, Function, If, Var, While
from ..ir.types import BOOL


def chunk_tapes(fn: Function) -> Function:
    """`fn` with its while loops that store on growable tapes run in chunks (see above)."""
    _visit(fn.body, _allocations(fn.body))
    return fn


def _allocations(block: Block) -> dict[Var, Eqn]:
    """The tape allocations of `block` and the regions in it."""
    found = {}
    for stmt in block.stmts:
        if isinstance(stmt, Eqn) and stmt.prim is P.tape:
            found[stmt.outs[0]] = stmt
        for inner in stmt.blocks():
            found.update(_allocations(inner))
    return found


def _visit(block: Block, allocations: dict) -> None:
    for at, stmt in enumerate(block.stmts):
        for inner in stmt.blocks():
            _visit(inner, allocations)
        if isinstance(stmt, While):
            block.stmts[at] = _chunked(stmt, allocations)


def _chunked(loop: While, allocations: dict) -> While:
    """`loop` run in chunks, or `loop` itself when none of its stores can be a plain one."""
    stores = [s for s in _stores(loop.body) if _plain(s, loop, allocations)]
    if not stores:
        return loop
    counter = loop.body.params.index(stores[0].ins[1])
    tapes = sorted({loop.body.params.index(s.ins[0]) for s in stores})
    for s in stores:  # tape[k] = value, into the room the chunk made
        s.prim, s.params = P.setitem, {"spec": ("i",)}
    params = [Var(p.name, p.type) for p in loop.body.params]
    b = Builder(loop.loc)
    stop = b.emit(P.max, [b.emit(P.mul, [const(2), params[counter]]), const(_FIRST)], "stop")
    carried = list(params)
    for t in tapes:
        carried[t] = b.emit(P.reserve, [params[t], stop], params[t].name)
    inner = While([Var(p.name, p.type) for p in params], carried, _bounded(loop.cond, counter, stop), loop.body,
                  loop.loc)
    b.append(inner)
    more = b.emit(P.eq, [inner.outs[counter], stop], "more")
    flag = Var("more", BOOL)
    cond = Block([Var(p.name, p.type) for p in params] + [flag], [], [flag])
    body = Block(params + [Var("more", BOOL)], b.stmts, inner.outs + [more])
    return While(loop.outs + [Var("more", BOOL)], loop.init + [const(True)], cond, body, loop.loc)


_FIRST = 16  # entries of a tape's first chunk (record_grow's first capacity too)


def _stores(block: Block) -> list[Eqn]:
    """The `record_grow` equations of a loop body, in its ifs too (not in inner loops)."""
    found = []
    for stmt in block.stmts:
        if isinstance(stmt, Eqn) and stmt.prim is P.record_grow:
            found.append(stmt)
        elif isinstance(stmt, If):
            found += _stores(stmt.then) + _stores(stmt.orelse)
    return found


def _plain(store: Eqn, loop: While, allocations: dict) -> bool:
    """Can `store` be a plain store into a chunk's room? Its tape must be carried by `loop`
    from an allocation whose entries have the shape of the value (a number's, or the rows'
    shape given), and its position the loop's step counter (0, then one more each step)."""
    tape, position, value = store.ins
    params = loop.body.params
    if tape not in params or position not in params:
        return False
    allocation = allocations.get(loop.init[params.index(tape)])
    shaped = allocation is not None and (len(allocation.ins) == 2 if value.type.is_array
                                         else tape.type.ndim == 1 and value.type.is_scalar)
    return shaped and _counts_steps(loop, params.index(position))


def _counts_steps(loop: While, j: int) -> bool:
    """Does the value loop carries at `j` start at 0 and grow by one at every step?"""
    start, step = loop.init[j], loop.body.results[j]
    return isinstance(start, Const) and start.value == 0 and any(
        isinstance(s, Eqn) and s.prim is P.add and s.outs[0] is step and s.ins == [loop.body.params[j], const(1)]
        for s in loop.body.stmts)


def _bounded(cond: Block, counter: int, stop: Var) -> Block:
    """`cond` and, first, ``k < stop``: without an effect, ``k < stop and cond``; else the
    condition is evaluated only when the chunk has room."""
    b = Builder()
    room = b.emit(P.lt, [cond.params[counter], stop])
    if all(isinstance(s, Eqn) and s.prim.pure and not s.prim.inplace for s in cond.stmts):
        test = b.emit(P.and_, [room, cond.results[0]])
        return Block(cond.params, cond.stmts + b.stmts, [test])
    test = Var(TEMP, BOOL)
    b.append(If([test], room, Block([], cond.stmts, list(cond.results)), Block([], [], [const(False)])))
    return Block(cond.params, b.stmts, [test])
