"""Simplification: fold constants, remove algebraic identities, and resolve `if` statements
whose condition is a constant::

    a = mul(x, 1.0)         (a is x)
    b = add(2.0, 3.0)   →   (b is 5.0)
    c = mul(a, b)           c = mul(x, 5.0)

and ``x[idx] += -v`` becomes ``x[idx] -= v``, ``x_bar += np.outer(a, b)`` an `add_outer`.

The identities are the builder's (`ir.builder.simplify_eqn`), so IR built by rules and IR run
through this pass obey the same laws.
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.builder import simplify_eqn
from ..ir.core import Block, Const, Eqn, Function, If, label, substitute, use_counts, walk


def simplify(fn: Function) -> Function:
    mapping: dict = {}
    _simplify_block(fn.body, mapping, {})
    substitute(fn.body, mapping)
    _updates(fn.body)
    return fn


def _simplify_block(block: Block, mapping: dict, rows: dict) -> None:
    kept = []
    for stmt in block.stmts:
        substitute(Block([], [stmt], []), mapping)
        if isinstance(stmt, Eqn) and stmt.prim is P.getitem:
            _compose_index(stmt, rows)
        if isinstance(stmt, Eqn) and len(stmt.outs) == 1:
            folded = simplify_eqn(stmt.prim, stmt.ins, stmt.params, stmt.outs[0].type)
            if folded is not None:
                mapping[stmt.outs[0]] = folded
                continue
        if isinstance(stmt, If) and isinstance(stmt.cond, Const):
            taken = stmt.then if stmt.cond.value else stmt.orelse
            _simplify_block(taken, mapping, rows)
            kept += taken.stmts
            mapping.update(zip(stmt.outs, taken.results))
            continue
        for inner in stmt.blocks():
            _simplify_block(inner, mapping, rows)
        kept.append(stmt)
    block.stmts[:] = kept


def _compose_index(eqn: Eqn, rows: dict) -> None:
    """``X[j][k]`` becomes ``X[j, k]`` when ``X[j]`` selects by integers and neither index holds
    an index array (``X[idx][k]`` is ``X[idx[k]]``, not ``X[idx, k]``): the adjoint is then a
    store into an entry of X's adjoint, not into a zero row allocated and added in. `rows` maps
    such selections to their equations."""
    if any(a.type.is_array for a in eqn.ins[1:]):
        return
    inner = rows.get(eqn.ins[0])
    if inner is not None:
        eqn.ins = [inner.ins[0], *inner.ins[1:], *eqn.ins[1:]]
        eqn.params = {**eqn.params, "spec": inner.params["spec"] + eqn.params["spec"]}
    if all(kind == "i" for kind in eqn.params["spec"]) and eqn.outs[0].type.is_array:
        rows[eqn.outs[0]] = eqn


def _updates(block: Block) -> None:
    """Cheaper in-place updates, where only the update reads the value it adds:
    ``index_add(x, idx, neg(v))`` → ``index_sub(x, idx, v)`` (also through an ``unbroadcast``;
    not through an index array: only adding has a scatter form, ``add_at``, where repeated
    indices accumulate), and ``accumulate(x, outer(a, b))`` → ``add_outer(x, a, b)``, the
    rank-one update without forming the outer product. The zeros a tape's tangent starts from
    (``zeros_like(tape_x)``) become a tape like it (``np.empty(n)``): only entries written are
    read back."""
    definitions = {s.outs[0]: s for s in walk(block) if isinstance(s, Eqn) and len(s.outs) == 1}
    uses = use_counts(block)

    def made_by(value, prim):
        eqn = definitions.get(value)
        return eqn if isinstance(eqn, Eqn) and eqn.prim is prim and uses.get(value) == 1 else None

    for stmt in walk(block):
        if not isinstance(stmt, Eqn):
            continue
        if stmt.prim is P.accumulate and (outer := made_by(stmt.ins[1], P.outer)):
            stmt.prim, stmt.ins = P.add_outer, [stmt.ins[0], *outer.ins]
        elif stmt.prim is P.index_add and not any(a.type.is_array for a in stmt.ins[1:-1]):
            spread = made_by(stmt.ins[-1], P.unbroadcast)
            if spread and (negated := made_by(spread.ins[0], P.neg)):
                spread.ins = [negated.ins[0], spread.ins[1]]
                stmt.prim = P.index_sub
            elif negated := made_by(stmt.ins[-1], P.neg):
                stmt.prim, stmt.ins = P.index_sub, stmt.ins[:-1] + [negated.ins[0]]
        elif stmt.prim is P.zeros_like and (tape := _tape_allocation(definitions.get(stmt.ins[0]))):
            stmt.prim, stmt.ins, stmt.params = P.tape, list(tape.ins), dict(tape.params)
            stmt.outs[0].name = f"{label(tape.outs[0])}_dot"


def _tape_allocation(stmt) -> Eqn | None:
    return stmt if isinstance(stmt, Eqn) and stmt.prim is P.tape and stmt.params["dtype"] == "f64" else None


def strip_custom(fn: Function) -> Function:
    """Read past the identities that mark a `custom_rule` call (`stop`, `custom`) once the
    derivative no longer needs them; dead-code elimination then removes them."""
    substitute(fn.body, {s.outs[0]: s.ins[0] for s in walk(fn.body)
                         if isinstance(s, Eqn) and s.prim in (P.stop, P.custom)})
    return fn
