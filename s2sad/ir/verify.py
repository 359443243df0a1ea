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
    _verify_block(fn.body, [set()], bound)


def _bind(var: Var, scopes: list[set[Var]], bound: set[Var]) -> None:
    if var in bound:
        raise VerifyError(f"{var!r} is bound twice")
    bound.add(var)
    scopes[-1].add(var)


def _check_use(atom: Atom, scopes: list[set[Var]], where) -> None:
    if isinstance(atom, Const):
        return
    if not any(atom in s for s in scopes):
        raise VerifyError(f"{atom!r} used before definition (or outside its region) in {where}")


def _verify_block(block: Block, scopes: list[set[Var]], bound: set[Var]) -> None:
    scopes = scopes + [set()]
    for p in block.params:
        _bind(p, scopes, bound)
    for stmt in block.stmts:
        try:
            for atom in stmt.ins:
                _check_use(atom, scopes, stmt)
            _VERIFIERS[type(stmt)](stmt, scopes, bound)
            for out in stmt.outs:
                _bind(out, scopes, bound)
        except VerifyError as exc:
            exc.loc = exc.loc or stmt.loc
            raise
    for r in block.results:
        _check_use(r, scopes, "region results")


def _verify_eqn(eqn: Eqn, scopes, bound) -> None:
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


def _verify_if(stmt: If, scopes, bound) -> None:
    if stmt.cond.type != BOOL:
        raise VerifyError(f"if-condition has type {stmt.cond.type}")
    for branch, what in ((stmt.then, "then-branch"), (stmt.orelse, "else-branch")):
        _verify_block(branch, scopes, bound)
        _check_yields(branch, stmt.outs, what)


def _verify_for(stmt: ForRange, scopes, bound) -> None:
    if [p.type for p in stmt.body.params[1:]] != [a.type for a in stmt.init]:
        raise VerifyError("loop-carried parameters do not match their initial values")
    if stmt.body.params[0].type != I64:
        raise VerifyError("loop index must be i64")
    _verify_block(stmt.body, scopes, bound)
    _check_yields(stmt.body, stmt.outs, "for-body")


def _verify_while(stmt: While, scopes, bound) -> None:
    _verify_block(stmt.cond, scopes, bound)
    if len(stmt.cond.results) != 1 or stmt.cond.results[0].type != BOOL:
        raise VerifyError("while-condition must yield one bool")
    _verify_block(stmt.body, scopes, bound)
    _check_yields(stmt.body, stmt.outs, "while-body")


_VERIFIERS = {Eqn: _verify_eqn, If: _verify_if, ForRange: _verify_for, While: _verify_while}
