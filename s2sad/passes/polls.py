"""Compiled loops that Ctrl-C stops.

Code run as Python stops at a KeyboardInterrupt between any two bytecodes; machine code never
looks, so an endless ``while`` loop compiled by Numba could only be killed. In the Numba form,
every ``while`` loop counts its steps, and every loop of the function's top level holding
another loop (a time-stepping loop) uses its counter, to ask Python every 16,384 steps whether
a signal came (`poll_signals`: about a nanosecond a step). Other ``for`` loops end on their own,
and are left as they are, for LLVM to vectorise (a call, even one not taken, would stop it),
as are most element loops (passes/fuse.py: those of a matrix poll once a row)::

    while x > tol:                     polls = 0
        x = step(x)           →        while x > tol:
                                           polls = polls + 1
                                           poll_signals(polls)
                                           x = step(x)

A signal raises KeyboardInterrupt from the call, as it would from the Python form.
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.builder import const
from ..ir.core import Eqn, ForRange, Function, Var, While, walk
from ..ir.types import I64


def poll_loops(fn: Function) -> Function:
    """`fn` with a `poll_signals` at the top of its ``while`` loops' bodies and of its top-level
    ``for`` loops holding a loop."""
    for stmt in list(walk(fn.body)):
        if isinstance(stmt, While):
            _count(stmt)
    for stmt in fn.body.stmts:
        if isinstance(stmt, ForRange) and any(isinstance(s, (ForRange, While)) for s in walk(stmt.body)):
            stmt.body.stmts.insert(0, Eqn([], P.poll_signals, [stmt.body.params[0]], {}, stmt.loc))
    return fn


def _count(loop: While) -> None:
    """Carry a step counter through `loop` and poll with it."""
    in_cond, in_body, after, out = Var("polls", I64), Var("polls", I64), Var("polls", I64), Var("polls", I64)
    loop.init.append(const(0))
    loop.cond.params.append(in_cond)
    loop.body.params.append(in_body)
    loop.body.stmts[:0] = [Eqn([after], P.add, [in_body, const(1)], {}, loop.loc),
                           Eqn([], P.poll_signals, [after], {}, loop.loc)]
    loop.body.results.append(after)
    loop.outs.append(out)
