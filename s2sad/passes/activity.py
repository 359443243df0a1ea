"""Activity analysis: which values need derivatives.

A value is *varied* when it depends differentiably on a `wrt` parameter, *useful* when the
function's results depend differentiably on it, and *active* when both. Only active values
get tangents (forward mode) or adjoints (reverse mode)::

    def f(x, n):            # wrt = x
        a = n * 2           # a: not varied (depends only on n)
        b = x * a           # b: active
        c = x > 0           # c: not differentiable (a bool)
        return b            # active = {x, b}

The analysis builds one dependence graph (value → values computed from it) and walks it
forward from the `wrt` parameters and backward from the results.
"""

from __future__ import annotations

from collections import defaultdict

from ..ir.core import Block, Eqn, ForRange, Function, If, Var, While
from ..rules import rule_for


def active_values(fn: Function, wrt: list[int]) -> set[Var]:
    edges: dict[Var, set[Var]] = defaultdict(set)
    _block_edges(fn.body, edges)
    varied = _reach([fn.params[k] for k in wrt], edges)
    reverse: dict[Var, set[Var]] = defaultdict(set)
    for src, dsts in edges.items():
        for d in dsts:
            reverse[d].add(src)
    useful = _reach([r for r in fn.results if isinstance(r, Var)], reverse)
    return {v for v in varied & useful if v.type.differentiable}


def _reach(start: list[Var], edges: dict) -> set[Var]:
    seen, todo = set(), [v for v in start if v.type.differentiable]
    while todo:
        v = todo.pop()
        if v in seen:
            continue
        seen.add(v)
        todo += [d for d in edges.get(v, ()) if d.type.differentiable]
    return seen


def _link(edges, src, dst) -> None:
    if isinstance(src, Var):
        edges[src].add(dst)


def _block_edges(block: Block, edges) -> None:
    for stmt in block.stmts:
        _EDGES[type(stmt)](stmt, edges)
        for inner in stmt.blocks():
            _block_edges(inner, edges)


def _eqn_edges(eqn: Eqn, edges) -> None:
    """Operands → results, unless the primitive's derivative is zero. A primitive without a rule
    links them too: the transform then refuses it where it matters, rather than dropping a path."""
    rule = rule_for(eqn.prim)
    if rule is not None and rule.zero:
        return
    for a in eqn.ins:
        for out in eqn.outs:
            _link(edges, a, out)


def _if_edges(stmt: If, edges) -> None:
    for k, out in enumerate(stmt.outs):
        _link(edges, stmt.then.results[k], out)
        _link(edges, stmt.orelse.results[k], out)


def _carried_edges(init, params_lists, results, outs, edges) -> None:
    for k, out in enumerate(outs):
        sources = [init[k], results[k]]
        for src in sources:
            _link(edges, src, out)
            for params in params_lists:
                _link(edges, src, params[k])


def _for_edges(stmt: ForRange, edges) -> None:
    _carried_edges(stmt.init, [stmt.body.params[1:]], stmt.body.results, stmt.outs, edges)


def _while_edges(stmt: While, edges) -> None:
    _carried_edges(stmt.init, [stmt.cond.params, stmt.body.params], stmt.body.results, stmt.outs, edges)


_EDGES = {Eqn: _eqn_edges, If: _if_edges, ForRange: _for_edges, While: _while_edges}
