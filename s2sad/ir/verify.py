"""The IR verifier: every value defined before use and bound exactly once, types consistent.

Run after every pass in tests; a failure is a compiler bug, reported with the statement.
"""

from __future__ import annotations

from .core import Atom, Block, Const, Eqn, ForRange, Function, If, Var, While
from .types import BOOL, I64


class VerifyError(AssertionError):
    loc = None  # the user's line of the innermost statement involved, when known


def verify(fn: Function) -> None:
    bound: set[Var] = set()
    _verify_block(fn.body, set(), bound)


# `scope` is the set of values visible where the walk is: a block adds what it binds and takes
# it away again when it ends (one set, rather than one per enclosing region to search).

def _bind(var: Var, scope: set[Var], bound: set[Var], local: list[Var]) -> None:
    if var in bound:
        raise VerifyError(f"{var!r} is bound twice")
    bound.add(var)
    scope.add(var)
    local.append(var)


def _check_use(atom: Atom, scope: set[Var], where) -> None:
    if isinstance(atom, Const):
        return
    if atom not in scope:
        raise VerifyError(f"{atom!r} used before definition (or outside its region) in {where}")


def _verify_block(block: Block, scope: set[Var], bound: set[Var]) -> None:
    local: list[Var] = []
    try:
        _verify_stmts(block, scope, bound, local)
    finally:
        scope.difference_update(local)


def _verify_stmts(block: Block, scope: set[Var], bound: set[Var], local: list[Var]) -> None:
    for p in block.params:
        _bind(p, scope, bound, local)
    for stmt in block.stmts:
        try:
            for atom in stmt.ins:
                _check_use(atom, scope, stmt)
            _VERIFIERS[type(stmt)](stmt, scope, bound)
            for out in stmt.outs:
                _bind(out, scope, bound, local)
        except VerifyError as exc:
            exc.loc = exc.loc or stmt.loc
            raise
    for r in block.results:
        _check_use(r, scope, "region results")


def _verify_eqn(eqn: Eqn, scope, bound) -> None:
    if eqn.prim.name == "comment":
        return
    expected = eqn.prim.out_type([a.type for a in eqn.ins], eqn.params)
    if len(eqn.outs) == 1 and eqn.outs[0].type != expected:
        raise VerifyError(f"{eqn.prim.name} gives {expected}, but its result is typed {eqn.outs[0].type}")


def _check_yields(block: Block, outs: list[Var], what: str) -> None:
    if len(block.results) != len(outs):
        raise VerifyError(f"{what} yields {len(block.results)} values for {len(outs)} results")
    for r, o in zip(block.results, outs):
        if r.type != o.type:
            raise VerifyError(f"{what} yields {r.type} for a result of type {o.type}")


def _verify_if(stmt: If, scope, bound) -> None:
    if stmt.cond.type != BOOL:
        raise VerifyError(f"if-condition has type {stmt.cond.type}")
    for branch, what in ((stmt.then, "then-branch"), (stmt.orelse, "else-branch")):
        _verify_block(branch, scope, bound)
        _check_yields(branch, stmt.outs, what)


def _verify_for(stmt: ForRange, scope, bound) -> None:
    if [p.type for p in stmt.body.params[1:]] != [a.type for a in stmt.init]:
        raise VerifyError("loop-carried parameters do not match their initial values")
    if stmt.body.params[0].type != I64:
        raise VerifyError("loop index must be i64")
    _verify_block(stmt.body, scope, bound)
    _check_yields(stmt.body, stmt.outs, "for-body")


def _verify_while(stmt: While, scope, bound) -> None:
    _verify_block(stmt.cond, scope, bound)
    if len(stmt.cond.results) != 1 or stmt.cond.results[0].type != BOOL:
        raise VerifyError("while-condition must yield one bool")
    _verify_block(stmt.body, scope, bound)
    _check_yields(stmt.body, stmt.outs, "while-body")


_VERIFIERS = {Eqn: _verify_eqn, If: _verify_if, ForRange: _verify_for, While: _verify_while}
