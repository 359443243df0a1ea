"""The reverse transform: a forward sweep (the primal), then a reverse sweep that walks the
statements backwards and accumulates adjoints, as plainly as a hand-written adjoint::

    def f(x, y):                   def f_vjp(x, y, z_bar):
        v = x * y                      # forward sweep
        z = sin(v)         →           v = x * y
        return z                       z = sin(v)
                                       # reverse sweep
                                       v_bar = z_bar * cos(v)
                                       x_bar = v_bar * y
                                       y_bar = v_bar * x
                                       return z, x_bar, y_bar

A value used twice gets the sum of both contributions. An `if` is reversed by an `if` on the
same condition; values its reverse branches read from the forward branches (residuals) are
yielded out of the forward `if`, with a placeholder from the branch that did not compute them.
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.builder import Builder, Sym, const
from ..ir.core import Atom, Block, Eqn, Function, If, Var, block_defs, block_uses, substitute
from ..ir.types import F64
from ..rules.core import IndexAdd
from .common import adjoint_name, atom_of, require_rule, syms, zeros_like


def reverse(fn: Function, wrt: list[int], active: set[Var]) -> Function:
    """``f(*params) -> results`` becomes ``f_vjp(*params, *result_bars) -> (*results, *param_bars)``."""
    bars = [Var(adjoint_name(r) if isinstance(r, Var) else "out_bar", F64.with_ndim(_ndim(r)))
            for r in fn.results]
    b = Builder()
    b.comment("forward sweep")
    for stmt in fn.body.stmts:
        b.append(stmt)
    b.comment("reverse sweep")
    adj: dict[Var, Atom] = {}
    for r, bar in zip(fn.results, bars):
        accumulate(adj, r, bar, active, b)
    _reverse_stmts(fn.body.stmts, adj, active, b)
    grads = [adj.get(fn.params[k]) or zeros_like(fn.params[k], b) for k in wrt]
    body = b.block(fn.params + bars, fn.results + grads)
    return Function(f"{fn.name}_vjp", body, fn.filename, fn.lineno, fn.arg_names + [v.name for v in bars])


def _ndim(atom: Atom) -> int:
    return atom.type.ndim if atom.type.is_array else 0


def accumulate(adj: dict, var: Atom, contribution, active: set[Var], b: Builder) -> None:
    """Add `contribution` (a `Sym`, an atom, an `IndexAdd`, or None) to the adjoint of `var`."""
    if contribution is None or not isinstance(var, Var) or var not in active:
        return
    if isinstance(contribution, IndexAdd):
        _accumulate_index(adj, var, contribution, b)
        return
    c = atom_of(contribution)
    if var in adj:
        adj[var] = b.emit(P.add, [adj[var], c], adjoint_name(var))
        return
    if isinstance(c, Var) and c.name == "t":
        c.name = adjoint_name(var)
    adj[var] = c


def _accumulate_index(adj: dict, var: Var, contribution: IndexAdd, b: Builder) -> None:
    """``x_bar[index] += g``, starting from zeros when `var` has no adjoint yet."""
    base = adj[var] if var in adj else b.emit(P.zeros_like, [var], adjoint_name(var))
    ins = [base, *(atom_of(a) for a in contribution.index), atom_of(contribution.g)]
    adj[var] = b.emit(P.index_add, ins, adjoint_name(var), spec=contribution.spec)


def _reverse_stmts(stmts: list, adj: dict, active: set[Var], b: Builder) -> None:
    for stmt in reversed(stmts):
        _REVERSE[type(stmt)](stmt, adj, active, b)


def _reverse_eqn(eqn: Eqn, adj: dict, active: set[Var], b: Builder) -> None:
    if not eqn.outs or eqn.outs[0] not in adj:
        return
    g = adj.pop(eqn.outs[0])
    rule = require_rule(eqn)
    with b.at(eqn.loc):
        cotangents = rule.vjp(Sym(g, b), syms(eqn.ins, b), Sym(eqn.outs[0], b), **eqn.params)
        for a, ct in zip(eqn.ins, cotangents):
            accumulate(adj, a, ct, active, b)


def _reverse_if(stmt: If, adj: dict, active: set[Var], b: Builder) -> None:
    seeds = {k: adj.pop(out) for k, out in enumerate(stmt.outs) if out in adj}
    if not seeds:
        return
    branches = [_reverse_branch(branch, seeds, adj, active, b) for branch in stmt.blocks()]
    changed = [v for v in _ordered_union(env for env, _ in branches) if
               any(env.get(v) is not adj.get(v) for env, _ in branches)]
    outs = [Var(adjoint_name(v), v.type if v.type.is_array else F64) for v in changed]
    blocks = []
    for env, inner in branches:
        results = [env[v] if v in env else zeros_like(v, inner) for v in changed]
        blocks.append(inner.block((), results))
    reverse_if = If(outs, stmt.cond, blocks[0], blocks[1], stmt.loc)
    _extract_residuals(stmt, reverse_if)
    b.append(reverse_if)
    adj.update(zip(changed, outs))


def _reverse_branch(branch: Block, seeds: dict, adj: dict, active: set[Var], b: Builder):
    """The reverse of one branch: (adjoints after it, builder holding its statements)."""
    inner = Builder(b.loc)
    env = dict(adj)
    for k, g in seeds.items():
        accumulate(env, branch.results[k], g, active, inner)
    _reverse_stmts(branch.stmts, env, active, inner)
    local = block_defs(branch)
    return {v: a for v, a in env.items() if v not in local}, inner


def _ordered_union(envs) -> list[Var]:
    seen: dict[Var, None] = {}
    for env in envs:
        seen.update(dict.fromkeys(env))
    return list(seen)


def _extract_residuals(forward_if: If, reverse_if: If) -> None:
    """Yield out of `forward_if` every value its reverse reads from inside its branches."""
    inside = block_defs(forward_if.then) | block_defs(forward_if.orelse)
    read = [a for blk in reverse_if.blocks() for a in block_uses(blk)]
    needed = list(dict.fromkeys(a for a in read if isinstance(a, Var) and a in inside))
    mapping = {}
    for v in needed:
        out = Var(v.name, v.type)
        for branch in forward_if.blocks():
            branch.results.append(v if v in block_defs(branch) else _placeholder(v, branch))
        forward_if.outs.append(out)
        mapping[v] = out
    for blk in reverse_if.blocks():
        substitute(blk, mapping)


def _placeholder(v: Var, branch: Block) -> Atom:
    """A value of `v`'s type for the branch that did not compute `v` (never read)."""
    if v.type.is_scalar:
        return const({"f64": 0.0, "i64": 0, "bool": False}[v.type.kind])
    out = Var(v.name, v.type)
    branch.stmts.append(Eqn([out], P.placeholder, [], {"ndim": v.type.ndim}))
    return out


_REVERSE = {Eqn: _reverse_eqn, If: _reverse_if}
