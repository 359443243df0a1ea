"""The forward transform: tangents ride alongside primals, statement by statement.

    def f(x):                      def f_jvp(x, x_dot):
        y = sin(x)                     y = sin(x)
        return y * x       →           y_dot = cos(x) * x_dot
                                       z = y * x
                                       z_dot = y_dot * x + y * x_dot
                                       return z, z_dot

Control flow is unchanged: an `if` yields the tangents of the values it yields.
"""

from __future__ import annotations

from ..ir.builder import Builder, Sym
from ..ir.core import TEMP, Atom, Block, Eqn, ForRange, Function, If, Var, While
from ..ir.types import F64
from .common import twins_of, atom_of, require_rule, syms, tangent_name, zeros_like


def forward(fn: Function, wrt: list[int], active: set[Var]) -> Function:
    """``f(*params) -> results`` becomes ``f_jvp(*params, *tangents) -> (*results, *result_tangents)``."""
    tangents = [Var(tangent_name(fn.params[k]), F64.with_ndim(_ndim(fn.params[k]))) for k in wrt]
    tan: dict[Var, Atom] = {fn.params[k]: t for k, t in zip(wrt, tangents)}
    b = Builder()
    _forward_stmts(fn.body, tan, active, b)
    out_tangents = [_tangent_or_zero(r, tan, b) for r in fn.results]
    body = b.block(fn.params + tangents, fn.results + out_tangents)
    return Function(f"{fn.name}_jvp", body, fn.filename, fn.lineno,
                    fn.arg_names + [t.name for t in tangents], fn.namespaces, twins_of(tan))


def _ndim(var: Var) -> int:
    return var.type.ndim if var.type.is_array else 0


def _tangent_or_zero(atom: Atom, tan: dict, b: Builder) -> Atom:
    if isinstance(atom, Var) and atom in tan:
        return tan[atom]
    if not atom.type.differentiable:
        return atom_of(0.0)
    return zeros_like(atom, b, tangent_name(atom) if isinstance(atom, Var) else "zeros")


def _forward_stmts(block: Block, tan: dict, active: set[Var], b: Builder) -> None:
    for stmt in block.stmts:
        _FORWARD[type(stmt)](stmt, tan, active, b)


def _forward_eqn(eqn: Eqn, tan: dict, active: set[Var], b: Builder) -> None:
    b.append(eqn)
    if not any(out in active for out in eqn.outs):
        return
    ins_tan = [Sym(tan[a], b) if isinstance(a, Var) and a in tan else None for a in eqn.ins]
    if all(t is None for t in ins_tan):
        return
    rule = require_rule(eqn)
    with b.at(eqn.loc):
        result = rule.jvp(syms(eqn.ins, b), ins_tan, Sym(eqn.outs[0], b), **eqn.params)
    if result is not None:
        t = atom_of(result)
        if isinstance(t, Var) and t.name == TEMP:
            t.name = tangent_name(eqn.outs[0])
        tan[eqn.outs[0]] = t


def _forward_if(stmt: If, tan: dict, active: set[Var], b: Builder) -> None:
    branches = []
    for branch in stmt.blocks():
        inner = Builder(b.loc)
        _forward_stmts(branch, tan, active, inner)
        branches.append((branch, inner))
    tangent_outs = []
    for k, out in enumerate(stmt.outs):
        if out not in active or not any(isinstance(br.results[k], Var) and br.results[k] in tan
                                         for br, _ in branches):
            continue
        t = Var(tangent_name(out), out.type)
        tangent_outs.append(t)
        for branch, inner in branches:
            branch.results.append(_tangent_or_zero(branch.results[k], tan, inner))
        tan[out] = t
    for branch, inner in branches:
        branch.stmts = inner.stmts
    stmt.outs = stmt.outs + tangent_outs
    b.append(stmt)


def _forward_loop(stmt, tan: dict, active: set[Var], b: Builder) -> None:
    """Carry the tangent of every active loop-carried value beside it."""
    regions = [stmt.cond, stmt.body] if isinstance(stmt, While) else [stmt.body]
    skip = 0 if isinstance(stmt, While) else 1  # a for body's first parameter is its index
    carried = [k for k, p in enumerate(stmt.body.params[skip:]) if p in active or stmt.outs[k] in active]
    stmt.init = stmt.init + [_tangent_or_zero(stmt.init[k], tan, b) for k in carried]
    for region in regions:
        params = region.params[skip:]
        dots = [Var(tangent_name(params[k]), params[k].type) for k in carried]
        tan.update(zip((params[k] for k in carried), dots))
        region.params = region.params + dots
    inner = Builder(b.loc)
    _forward_stmts(stmt.body, tan, active, inner)
    stmt.body.stmts = inner.stmts
    stmt.body.results = stmt.body.results + [_tangent_or_zero(stmt.body.results[k], tan, inner) for k in carried]
    if isinstance(stmt, While):
        cond = Builder(b.loc)
        _forward_stmts(stmt.cond, {}, set(), cond)
        stmt.cond.stmts = cond.stmts
    outs = [Var(tangent_name(stmt.outs[k]), stmt.outs[k].type) for k in carried]
    tan.update(zip((stmt.outs[k] for k in carried), outs))
    stmt.outs = stmt.outs + outs
    b.append(stmt)


_FORWARD = {Eqn: _forward_eqn, If: _forward_if, ForRange: _forward_loop, While: _forward_loop}
