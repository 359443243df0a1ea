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
from ..ir.builder import Builder, Sym, const, placeholder
from ..ir.core import (TEMP, Atom, Block, Const, Eqn, ForRange, Function, If, Var, While, block_defs, block_uses, clone,
                       free_vars, label, substitute, walk)
from ..ir.types import BOOL, F64, I64
from ..rules.core import IndexAdd
from ..passes.bounds import drop_checks
from ..passes.cse import COSTLY, key_of
from ..passes.dce import dce_block
from ..passes.shapes import (ShapeRoots, drop_broadcasts, guard_carried_shapes, invariant, key_ndim, scope_before,
                             shape_expression, shape_of_key)
from .common import twins_of, adjoint_name, atom_of, require_rule, syms, zeros_like


_tapes: set[Var] = set()  # the filled tapes of the reverse transform in progress
_sparse_tapes: set[Var] = set()  # those with rows only where a branch ran (read by tape_row)
_ragged_tapes: dict[Var, int] = {}  # those whose entries may change shape (record_ragged) → the entries' ndim
_flags: dict[tuple, Var] = {}  # (an if, what each branch yields) → the flag saying which branch ran
_primal_roots: list[ShapeRoots] = []  # shape facts of the function being transformed
_function_body: list[Block] = []  # the body of the function being transformed
_scopes: dict[int, tuple] = {}  # id(a forward loop) → (it, the values bound before it)
_shapes_made: dict[int, tuple] = {}  # id(a loop's setup builder) → (it, the tape entries' shapes computed there)
_top_level: set[Var] = set()  # its parameters and the values its top-level statements bind
_twins: list = []  # (x, x_bar) for the adjoints made so far (see common.twins_of)
_policy: list = [None]  # the checkpointing policy for the function's top-level for loops
_extra_bytes: list[Atom] = []  # the sizes of checkpointed loops' snapshot arrays and logs of draws
_advances: list[Atom] = []  # the steps checkpointed loops ran again (their ADVANCE rows)
_known: list[dict] = []  # for each forward block being reversed, inner last: its costly numbers (`_reuse_forward`)


def reverse(fn: Function, wrt: list[int], active: set[Var], checkpoint=None) -> Function:
    """``f(*params) -> results`` becomes
    ``f_vjp(*params, *result_bars) -> (*results, *param_bars, tape_bytes[, advances])``, where
    `tape_bytes` counts the bytes the call's tapes and snapshots held and `advances`, returned
    only when a loop is checkpointed, the loop steps it ran again (`checkpoint`, a policy of
    s2sad/checkpoint.py, reverses the function's top-level for loops; see
    transforms/checkpointed.py)."""
    _tapes.clear()
    _sparse_tapes.clear()
    _ragged_tapes.clear()
    _shapes_made.clear()
    _scopes.clear()
    _function_body[:] = [fn.body]
    _flags.clear()
    _twins.clear()
    _extra_bytes.clear()
    _advances.clear()
    _known.clear()
    _policy[0] = checkpoint
    guard_carried_shapes(fn.body, active)
    _top_level.clear()
    _top_level.update(fn.params, *(stmt.outs for stmt in fn.body.stmts))
    from . import checkpointed  # (which builds on this module)
    checkpointed.standard_draws_before(fn.body, checkpoint, active)
    _primal_roots[:] = [ShapeRoots(fn.body)]
    bars = [Var(adjoint_name(r) if isinstance(r, Var) else "out_bar", F64.with_ndim(_ndim(r)))
            for r in fn.results]
    b = Builder()
    b.comment("forward sweep")
    for stmt in fn.body.stmts:
        b.append(stmt)
    forward_sweep = b.stmts
    rb = Builder()
    rb.comment("reverse sweep")
    adj: dict[Var, Atom] = {}
    for r, bar in zip(fn.results, bars):
        seed = rb.emit(P.copy, [bar], bar.name) if bar.type.is_array else bar  # never update the caller's array
        accumulate(adj, r, seed, active, rb)
    _reverse_stmts(forward_sweep, adj, active, rb)
    grads = [adj.get(fn.params[k]) or zeros_like(fn.params[k], rb) for k in wrt]
    size = _tape_bytes([t for stmt in forward_sweep for t in stmt.outs if t in _tapes], rb)
    size = _total(size, _extra_bytes, "tape_bytes", rb)
    statistics = [size] + ([_total(const(0), _advances, "advances", rb)] if _advances else [])
    b.stmts = forward_sweep + rb.stmts
    body = b.block(fn.params + bars, fn.results + grads + statistics)
    return Function(f"{fn.name}_vjp", body, fn.filename, fn.lineno, fn.arg_names + [v.name for v in bars], fn.namespaces,
                    list(_twins))


def _tape_bytes(tapes: list[Var], b: Builder) -> Atom:
    total = const(0)
    for tape in tapes:
        total = b.emit(P.add, [total, b.emit(P.nbytes, [tape])], "tape_bytes")
    return total


def _total(start: Atom, counts: list[Atom], name: str, b: Builder) -> Atom:
    for count in counts:
        start = b.emit(P.add, [start, count], name)
    return start


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
        adj[var] = _add_to(adj[var], c, var, b)
        _twins.extend(twins_of({var: adj[var]}))
        return
    if isinstance(c, Var) and c.name == TEMP:
        c.name = adjoint_name(var)
    adj[var] = c
    _twins.extend(twins_of({var: c}))


def _add_to(total: Atom, c: Atom, var: Var, b: Builder) -> Atom:
    """``total + c``: an in-place `accumulate` for arrays of var's type, which codegen prints as
    ``x_bar += c`` when nothing else reads ``x_bar`` (simplify makes ``x_bar += np.outer(a, b)``
    an `add_outer`)."""
    if not (var.type.is_array and total.type == c.type == var.type):
        return b.emit(P.add, [total, c], adjoint_name(var))
    return b.emit(P.accumulate, [total, c], adjoint_name(var))


def _accumulate_index(adj: dict, var: Var, contribution: IndexAdd, b: Builder) -> None:
    """``x_bar[index] += g``, starting from zeros when `var` has no adjoint yet."""
    base = adj[var] if var in adj else b.emit(P.zeros_like, [var], adjoint_name(var))
    ins = [base, *(atom_of(a) for a in contribution.index), atom_of(contribution.g)]
    adj[var] = b.emit(P.index_add, ins, adjoint_name(var), spec=contribution.spec)
    _twins.extend(twins_of({var: adj[var]}))


def _reverse_stmts(stmts: list, adj: dict, active: set[Var], b: Builder) -> None:
    """Reverse `stmts` (a forward block's statement list, which loops may add tape set-up to)."""
    _known.append({key_of(s): s.outs[0] for s in stmts if _costly_number(s)})
    try:
        for stmt in reversed(list(stmts)):
            _REVERSE[type(stmt)](stmt, adj, active, b, stmts)
    finally:
        _known.pop()


def _costly_number(stmt) -> bool:
    return isinstance(stmt, Eqn) and stmt.prim in COSTLY and len(stmt.outs) == 1 and stmt.outs[0].type.is_scalar \
        and stmt.prim.pure and not stmt.prim.inplace


def _reuse_forward(b: Builder, start: int) -> None:
    """A derivative rule's ``cos(x)`` is the forward sweep's ``c = cos(x)`` when the forward code
    computed it (a rotation's sine and cosine), rather than computed again. Of the statements a
    rule added to `b` from `start` on, each that computes a costly number the forward code
    computed too, with the same operands, in the block being reversed or one enclosing it (so it
    ran wherever this reverse runs), becomes a copy of that forward value (which the reverse sweep
    then reads as it reads any other: directly, from a branch's results, or from a tape)."""
    for k in range(start, len(b.stmts)):
        stmt = b.stmts[k]
        if _costly_number(stmt):
            key = key_of(stmt)
            found = next((known[key] for known in reversed(_known) if key in known), None)
            if found is not None:
                b.stmts[k] = Eqn(stmt.outs, P.copy, [found], {}, stmt.loc)


def _reverse_eqn(eqn: Eqn, adj: dict, active: set[Var], b: Builder, container: list) -> None:
    if not eqn.outs or eqn.outs[0] not in adj:
        return
    g = adj.pop(eqn.outs[0])
    rule = require_rule(eqn)
    start = len(b.stmts)
    with b.at(eqn.loc):
        cotangents = rule.vjp(Sym(g, b), syms(eqn.ins, b), Sym(eqn.outs[0], b), **eqn.params)
        _reuse_forward(b, start)
        for a, ct in zip(eqn.ins, cotangents):
            accumulate(adj, a, ct, active, b)


def _reverse_if(stmt: If, adj: dict, active: set[Var], b: Builder, container: list) -> None:
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
    defined = [block_defs(branch) for branch in forward_if.blocks()]
    inside = defined[0] | defined[1]
    read = [a for blk in reverse_if.blocks() for a in block_uses(blk)]
    needed = list(dict.fromkeys(a for a in read if isinstance(a, Var) and a in inside))
    mapping = {}
    for v in needed:
        out = Var(v.name, v.type)
        if v in _tapes:
            _tapes.add(out)
        for branch, its_own in zip(forward_if.blocks(), defined):
            branch.results.append(v if v in its_own else _placeholder(v, branch))
        forward_if.outs.append(out)
        mapping[v] = out
    for blk in reverse_if.blocks():
        substitute(blk, mapping)


def _placeholder(v: Var, branch: Block) -> Atom:
    """A value of `v`'s type for the branch that did not compute `v` (never read)."""
    b = Builder()
    out = placeholder(v.type, b)
    branch.stmts += b.stmts
    if isinstance(out, Var):
        out.name = v.name
    return out


# --- loops ----------------------------------------------------------------------------------
#
# A loop is reversed by a loop over the same iterations backwards. Its adjoint carries the
# adjoints of the loop-carried values, and accumulates those of values it reads from outside
# (weights). Whatever the reversed body reads from the forward body is recorded on a tape, one
# entry per iteration: a preallocated array (`np.empty(n)`) for `for` loops, a growable one
# (`record_grow`) for `while` loops, whose trip count the forward loop counts.

def _reverse_loop(stmt, adj: dict, active: set[Var], b: Builder, container: list) -> None:
    seeds = {k: adj.pop(out) for k, out in enumerate(stmt.outs) if out in adj}
    if not seeds:
        return
    from . import checkpointed  # (which builds on this module)
    policy = checkpointed.policy_for(_policy[0], stmt)
    if policy is not None:
        _advances.append(checkpointed.reverse_checkpointed(stmt, seeds, adj, active, b, container, policy))
        return
    is_for = isinstance(stmt, ForRange)
    skip = 1 if is_for else 0
    params = stmt.body.params[skip:]
    setup = Builder(stmt.loc)
    if is_for:
        n = setup.emit(P.trip_count, [stmt.start, stmt.stop, stmt.step], "n")
        position = Var(stmt.body.params[0].name, I64)
    else:
        n, position = _count_iterations(stmt), Var("k", I64)
    body, carried, accumulators = _reverse_body(stmt, params, seeds, active, position)
    _record_tapes(stmt, body, setup, n, position, is_for)
    _insert_before(container, stmt, setup.stmts)
    init = [seeds.get(k) or zeros_like(stmt.outs[k], b, adjoint_name(params[k])) for k in carried]
    init += [adj.get(v) or zeros_like(v, b, adjoint_name(v)) for v in accumulators]
    start, stop, step = b.emit(P.sub, [n, 1]), const(-1), const(-1)
    outs = [Var(adjoint_name(params[k]), params[k].type) for k in carried] + \
           [Var(adjoint_name(v), v.type) for v in accumulators]
    b.append(ForRange(outs, start, stop, step, init, body, stmt.loc))
    adj.update(zip(accumulators, outs[len(carried):]))
    for k, out in zip(carried, outs):
        accumulate(adj, stmt.init[k], out, active, b)


def _count_iterations(stmt: While) -> Var:
    """Add an iteration counter to a while loop; return its final value."""
    count = Var("count", I64)
    k_cond, k_body = Var("k", I64), Var("k", I64)
    stmt.init.append(const(0))
    stmt.cond.params.append(k_cond)
    stmt.body.params.append(k_body)
    inner = Builder(stmt.loc)
    stmt.body.results.append(inner.emit(P.add, [k_body, 1], "k"))
    stmt.body.stmts += inner.stmts
    stmt.outs.append(count)
    return count


def _reverse_body(stmt, params, seeds, active, position):
    """The reversed loop body, its carried adjoints (indices into params) and the outside values
    whose adjoints it accumulates."""
    carried = [k for k, p in enumerate(params) if k < len(stmt.outs) and (p in active or k in seeds)]
    bars = {k: Var(adjoint_name(params[k]), params[k].type) for k in carried}
    outside = [v for v in _ordered(free_vars(stmt)) if v in active]
    acc = {v: Var(adjoint_name(v), v.type) for v in outside}
    _twins.extend(twins_of(acc) + twins_of({r: bars[k] for k, r in enumerate(stmt.body.results)
                                            if k in bars and isinstance(r, Var)}))
    inner = Builder(stmt.loc)
    env: dict = dict(acc)
    for k in carried:
        accumulate(env, stmt.body.results[k], bars[k], active, inner)
    _reverse_stmts(stmt.body.stmts, env, active, inner)
    results = [env.get(params[k]) or zeros_like(params[k], inner) for k in carried]
    changed = [v for v in outside if env.get(v) is not acc[v]]
    results += [env[v] for v in changed]
    body = Block([position] + [bars[k] for k in carried] + [acc[v] for v in changed], inner.stmts, results)
    return body, carried, changed  # (dead code is removed by _record_tapes)


def _ordered(values) -> list:
    return sorted(values, key=lambda v: v.id)


def _record_tapes(stmt, body: Block, setup: Builder, n: Atom, position: Var, is_for: bool) -> None:
    """Give the reversed `body` what it reads from the forward loop body: what is cheap (see
    `_cheap`; everything, in a loop of varying length) is recomputed, a value of an inner loop
    whose length changes from one iteration to the next is had by re-running it, and everything
    else is recorded on a tape."""
    forward_defs = block_defs(stmt.body)
    reads, mapping = Builder(stmt.loc), {}
    if is_for:
        mapping[stmt.body.params[0]] = _index_at(stmt, position, reads)
    definitions = {out: s for s in stmt.body.stmts for out in s.outs}
    where = _tape_position(stmt, is_for)

    roots = ShapeRoots(body, outer=_primal_roots[0], twins=_twins)
    drop_broadcasts(body, roots)
    drop_checks(body)  # (the forward sweep made them)
    if is_for and any(out in _top_level for out in stmt.outs):  # (else the outer loop would tape those shapes)
        _shapes_made_before(stmt, body, roots, forward_defs, setup)
    dce_block(body)
    _shapes_from_operands(body, roots, forward_defs)
    wanted = {a for a in block_uses(body) if isinstance(a, Var)}

    cheap = _anything if _varying_length(stmt) else _cheap
    taped: dict = {}  # a value of the forward body → its tape

    def provide(v: Var) -> None:
        """Make `v` available at the top of the reversed body (mapping[v])."""
        if v in mapping or _recompute(v, definitions, forward_defs, stmt.body.params[0] if is_for else None,
                                      mapping, reads, cheap):
            return
        loop = definitions.get(v)
        if _rerunnable(loop, forward_defs) and (v in _tapes or _rerun_anyway(loop, wanted)):
            _rerun(loop, v, definitions, forward_defs, mapping, reads, provide, wanted)
            return
        if v.type.kind == "tuple":  # (a shape: its lengths are taped, and the tuple made again)
            mapping[v] = _tape_items(stmt, v, loop, setup, n, where, is_for, roots, reads, position)
            return
        result = _next_value(stmt, v, definitions, roots, setup) if is_for else None
        if result is not None:  # (v is the result of the step before, or the initial value at the first step)
            tape = taped[result] = taped.get(result) or _add_tape(stmt, result, setup, n, where, is_for,
                                                                    definitions[result], roots)
            row = reads.emit(P.getitem, [tape, reads.emit(P.sub, [position, const(1)])], v.name, spec=("i",))
            first = reads.emit(P.gt, [position, const(0)])
            mapping[v] = reads.emit(P.select, [first, row, stmt.init[stmt.body.params.index(v) - 1]], v.name)
            return
        tape_final = taped[v] = taped.get(v) or _add_tape(stmt, v, setup, n, where, is_for, loop, roots)
        if tape_final in _ragged_tapes:  # (integers and booleans are stored as floats: exact below 2**53)
            row = reads.emit(P.ragged_row, [tape_final, position], v.name, ndim=_ragged_tapes[tape_final])
            kind = v.type.element.kind
            mapping[v] = row if kind == "f64" else reads.emit(P.astype, [row], v.name, dtype=kind)
        elif tape_final in _sparse_tapes:
            mapping[v] = reads.emit(P.tape_row, [tape_final, position], v.name)
        else:
            mapping[v] = reads.emit(P.getitem, [tape_final, position], v.name, spec=("i",))

    for v in _ordered(wanted & forward_defs):
        provide(v)
    substitute(Block([], body.stmts, body.results), mapping)
    substitute(Block([], reads.stmts, []), mapping)
    body.stmts[:0] = reads.stmts


def _shapes_made_before(stmt: ForRange, body: Block, roots: ShapeRoots, forward_defs: set, setup: Builder) -> None:
    """Read each ``shape(v)`` of the reversed body, for v of a shape the same at every iteration, off
    the shape computed once before the loop (`_shape_before`, the shape of v's tape too): v itself
    need not be taped for it (``z_bar = np.zeros(z.shape)``), nor its shape computed at every step."""
    mapping: dict = {}
    for eqn in walk(body):
        if isinstance(eqn, Eqn) and eqn.prim in (P.shape, P.zeros_like) and eqn.ins[0] in forward_defs \
                and eqn.ins[0].type.is_array:
            shape = _shape_before(stmt, eqn.ins[0], roots, setup)
            if shape is not None and eqn.prim is P.shape:
                mapping[eqn.outs[0]] = shape
            elif shape is not None:
                eqn.prim, eqn.ins, eqn.params = P.zeros, [shape], {}
    substitute(body, mapping)


def _shapes_from_operands(body: Block, roots: ShapeRoots, forward_defs: set) -> None:
    """Compute each ``shape(v)`` the reversed body reads from values it has anyway (read by the
    reversed body, or from outside the loop) rather than taping v for its shape:
    ``(d * d).shape`` is ``d.shape``, ``(a + b).shape`` is ``np.broadcast_shapes(a.shape,
    b.shape)``, ``(W @ h).shape`` is ``(W.shape[0],)``, and ``u[2:].shape`` is ``u0[2:].shape``
    when u keeps the shape of u0 through the loop."""
    shape_reads = {id(s) for s in walk(body) if isinstance(s, Eqn) and s.prim is P.shape}
    at_hand = {a for s in walk(body) if id(s) not in shape_reads for a in s.ins} | set(body.results)

    def available(a) -> bool:
        return a not in forward_defs or a in at_hand

    mapping: dict = {}
    for block in [body] + [b for s in walk(body) for b in s.blocks()]:
        stmts = []
        for stmt in block.stmts:
            if id(stmt) in shape_reads and not available(stmt.ins[0]):
                b = Builder(stmt.loc)
                shape = shape_expression(stmt.ins[0], roots, available, b)
                if shape is not None:
                    stmts += b.stmts
                    mapping[stmt.outs[0]] = shape
                    continue
            stmts.append(stmt)
        block.stmts = stmts
    substitute(body, mapping)


def _rerunnable(loop, forward_defs: set) -> bool:
    """An inner loop whose trip count changes with the outer iteration (its tapes would be
    ragged) and that draws nothing random: the reverse sweep re-runs it instead."""
    if not isinstance(loop, (ForRange, While)) or any(
            isinstance(s, Eqn) and not s.prim.pure for s in walk(Block([], [loop]))):
        return False
    bounds = [loop.start, loop.stop, loop.step] if isinstance(loop, ForRange) else []
    return isinstance(loop, While) or any(isinstance(b, Var) and b in forward_defs for b in bounds)


def _rerun_anyway(loop, wanted: set) -> bool:
    """Will the reversed body re-run `loop` for its tapes? Then its other results are had from
    that run too, rather than taped."""
    return any(out in _tapes and out in wanted for out in loop.outs)


def _rerun(loop, needed: Var, definitions: dict, forward_defs: set, mapping: dict, reads: Builder, provide,
           wanted: set) -> None:
    """Copy the forward `loop` (recording its own tapes afresh) into the reversed body, keeping
    only `needed` and the carried values the reversed body reads. A result provided already
    (taped, or by an earlier copy) keeps its value: statements placed before this copy read it."""
    for setup in _allocations(loop, definitions):
        _copy_in(setup, forward_defs, mapping, reads, provide)
    copies = dict(mapping)
    copied = clone(loop, copies)
    drop_checks(Block([], [copied]))  # (the forward sweep made them)
    dce_block(Block([], [copied], [copies[o] for o in loop.outs if o in wanted or o is needed]))
    for out in loop.outs:
        if out not in mapping and copies[out] in copied.outs:
            mapping[out] = copies[out]
    _copy_in(copied, forward_defs, mapping, reads, provide)


def _allocations(loop, definitions: dict) -> list:
    """The tape allocations a loop starts from (set up just before it, in the same body)."""
    return [definitions[a] for a in loop.init
            if isinstance(a, Var) and a in definitions and getattr(definitions[a], "prim", None) is P.tape]


def _copy_in(stmt, forward_defs: set, mapping: dict, reads: Builder, provide) -> None:
    """Append `stmt` (a copy, or cloned here) after providing the forward values it reads."""
    for v in _ordered({a for a in free_vars(stmt) if a in forward_defs}):
        provide(v)
    reads.append(stmt if all(v not in forward_defs for v in stmt.outs) else clone(stmt, mapping))


def _recompute(v: Var, definitions: dict, forward_defs: set, index, mapping: dict, b: Builder,
               cheap) -> bool:
    """Recompute `v` in the reverse body when `cheap` says its equation is (``i - 1``, ``X[i]``).
    False: tape it."""
    if v in mapping:
        return True
    eqn = definitions.get(v)
    if not isinstance(eqn, Eqn) or not eqn.prim.pure or eqn.prim.inplace or not cheap(eqn, forward_defs):
        return False
    for a in eqn.ins:
        if isinstance(a, Var) and a in forward_defs and a is not index \
                and not _recompute(a, definitions, forward_defs, index, mapping, b, cheap):
            return False
    mapping[v] = b.emit(eqn.prim, [mapping.get(a, a) for a in eqn.ins], v.name, **eqn.params)
    return True


_ARITHMETIC = {P.add, P.sub, P.mul, P.neg}


def _cheap(eqn: Eqn, forward_defs: set) -> bool:
    """Scalar arithmetic, a view into an array from outside the loop, or +, -, * of arrays
    (``pos[i] - pos[j]``): one pass over operands that are themselves recomputed costs no more
    than writing a tape entry and reading it back."""
    if eqn.prim is P.getitem:
        return eqn.ins[0] not in forward_defs
    if eqn.prim in _ARITHMETIC:
        return True
    return all(a.type.is_scalar for a in eqn.ins) and eqn.outs[0].type.is_scalar


def _anything(eqn: Eqn, forward_defs: set) -> bool:
    return True


def _varying_length(stmt) -> bool:
    """Is `stmt` an inner loop whose trip count may change from one outer iteration to the next?
    Its tapes would have to be filled by re-running it in the outer reverse sweep, which computes
    every value of its body again anyway; recomputing in its own reverse sweep is no dearer."""
    if isinstance(stmt, While):  # nested, when none of its results is bound at the top level
        return not any(out in _top_level for out in stmt.outs)
    return any(isinstance(b, Var) and b not in _top_level for b in (stmt.start, stmt.stop, stmt.step))


def _index_at(stmt: ForRange, position: Var, b: Builder) -> Atom:
    """The loop index of iteration `position`: start + position * step."""
    return b.emit(P.add, [stmt.start, b.emit(P.mul, [position, stmt.step])], stmt.body.params[0].name)


def _tape_items(stmt, v: Var, definition, setup: Builder, n: Atom, where: Atom, is_for: bool, roots,
                reads: Builder, position: Atom) -> Var:
    """A tuple (of lengths) the reversed body reads: a tape per item, and the tuple made again."""
    fb = Builder(stmt.loc)
    items = [fb.emit(P.getitem, [v, const(j)], v.name, spec=("i",)) for j in range(v.type.ndim)]
    _insert_after(stmt.body.stmts, definition if definition is not None else where, fb.stmts)
    read = [reads.emit(P.getitem, [_add_tape(stmt, item, setup, n, where, is_for, s, roots), position], v.name,
                       spec=("i",)) for item, s in zip(items, fb.stmts)]
    return reads.emit(P.make_tuple, read, v.name)


def _tape_position(stmt, is_for: bool) -> Atom:
    """The tape slot of the current forward iteration: (i - start) // step, or the counter."""
    if not is_for:
        return stmt.body.params[-1]
    b = Builder(stmt.loc)
    i = stmt.body.params[0]
    k = b.emit(P.floordiv, [b.emit(P.sub, [i, stmt.start]), stmt.step], "k")
    if isinstance(k, Var) and k is not i:
        k.name = "k"
    stmt.body.stmts[:0] = b.stmts
    return k


def _add_tape(stmt, v: Var, setup: Builder, n: Atom, where: Atom, is_for: bool, definition,
              roots: ShapeRoots) -> Var:
    """Carry a tape for `v` through the forward loop; return the filled tape after it. It is
    allocated before the loop when v's shape is known there (see `_shaped_like`): for the n
    steps of a for loop, or with no entries yet, of that shape, for a while loop's steps;
    otherwise at the first store, which checks that later entries have the same shape."""
    ndim = v.type.ndim if v.type.is_array else 0
    like = (_shaped_like(stmt, v, roots) or _slice_like(stmt, v, roots, setup)
            or _shape_before(stmt, v, roots, setup)) if ndim else None
    preallocated = is_for and (ndim == 0 or like is not None)
    rows_known = not is_for and like is not None  # (grown by record_grow, its entries of like's shape)
    size = ([n] if ndim == 0 else [n, like]) if preallocated else [const(0), like] if rows_known else []
    name = f"tape_{label(v)}"
    present = _presence(definition, v) if isinstance(definition, If) and not preallocated else None
    exact = True if isinstance(definition, Eqn) and definition.prim is not P.placeholder else None
    # (an array whose shape is not known to stay the same: entries of any shape)
    carried_value = definition is None and v in stmt.body.params
    made = isinstance(definition, (ForRange, While, If))  # (an inner loop's result or tape, a branch's value)
    ragged = not preallocated and not rows_known and (exact or carried_value or made) and ndim in (1, 2)
    shaped = {"shaped": True} if like is not None and like.type.kind == "tuple" else {}  # (size: [n, a shape])
    empty = setup.emit(P.tape, size, name, dtype="f64" if ragged else v.type.element.kind, ndim=0 if ragged else ndim,
                       **shaped)
    carried, final = _carry(stmt, empty, name)
    tb = Builder(stmt.loc)
    if ragged:
        def store(b: Builder, tape: Var) -> Var:
            return b.emit(P.record_ragged, [tape, where, n if is_for else const(0), v], tape.name)
        _ragged_tapes[final] = ndim
    else:
        def store(b: Builder, tape: Var) -> Var:
            return _recorded(b, tape, where, n, v, is_for, exact or present is not None)
    if preallocated:
        written = tb.emit(P.setitem, [carried, where, v], carried.name, spec=("i",))
    elif present is not None:  # (stored where the branch computing v ran; the other rows are never read)
        written = _record_if(stmt, definition, present, carried, store)
    else:
        written = store(tb, carried)
    _insert_after(stmt.body.stmts, definition if definition is not None else where, tb.stmts)
    _yield(stmt, written)
    _tapes.add(final)
    if present is not None:
        _sparse_tapes.add(final)
    return final


def _record_if(stmt, definition: If, present: Var, tape: Var, store) -> Var:
    """The tape after ``if present: store(...)``, right after `definition`; records under the
    same flag share one if."""
    at = next(i for i, s in enumerate(stmt.body.stmts) if s is definition) + 1
    guard = stmt.body.stmts[at] if at < len(stmt.body.stmts) else None
    if not (isinstance(guard, If) and guard.cond is present):
        guard = If([], present, Block([], [], []), Block([], [], []), stmt.loc)
        stmt.body.stmts.insert(at, guard)
    stored = Builder(stmt.loc)
    guard.then.results.append(store(stored, tape))
    guard.then.stmts += stored.stmts
    guard.orelse.results.append(tape)
    guard.outs.append(Var(tape.name, tape.type))
    return guard.outs[-1]


def _recorded(b: Builder, tape: Var, where: Atom, n: Atom, v: Var, is_for: bool, exact) -> Var:
    """The tape after ``record(tape, where, n, v)`` (``record_grow`` in a while loop)."""
    if is_for:
        return b.emit(P.record, [tape, where, n, v], tape.name, exact=exact)
    return b.emit(P.record_grow, [tape, where, v], tape.name, exact=exact)


def _presence(stmt: If, v: Var) -> Atom | None:
    """Whether `v`, an array an if yields, holds a value computed by its branch: a boolean the if
    yields too (False where a branch gives a placeholder, `_extract_residuals`), or None when
    every branch computes it."""
    k = stmt.outs.index(v)
    flags = [_branch_presence(branch, branch.results[k]) for branch in stmt.blocks()]
    if all(isinstance(f, Const) and f.value for f in flags):
        return None
    key = (id(stmt), *(f.value if isinstance(f, Const) else id(f) for f in flags))
    if key not in _flags:
        _flags[key] = Var("ran", BOOL)
        for branch, f in zip(stmt.blocks(), flags):
            branch.results.append(f)
        stmt.outs.append(_flags[key])
    return _flags[key]


def _branch_presence(branch: Block, result: Atom) -> Atom:
    definition = next((s for s in branch.stmts if result in s.outs), None)
    if isinstance(definition, Eqn) and definition.prim is P.placeholder:
        return const(False)
    if isinstance(definition, If):
        return _presence(definition, result) or const(True)
    return const(True)


def _carry(stmt, init: Atom, name: str) -> tuple[Var, Var]:
    """Add a carried value to a loop (before a while loop's counter, which stays last): its
    body parameter and the value after the loop."""
    param, final = Var(name, init.type), Var(name, init.type)
    if isinstance(stmt, While):
        stmt.cond.params.insert(-1, Var(name, init.type))
        stmt.body.params.insert(-1, param)
        stmt.init.insert(-1, init)
        stmt.outs.insert(-1, final)
    else:
        stmt.body.params.append(param)
        stmt.init.append(init)
        stmt.outs.append(final)
    return param, final


def _yield(stmt, value: Atom) -> None:
    if isinstance(stmt, While):
        stmt.body.results.insert(-1, value)
    else:
        stmt.body.results.append(value)


def _shaped_like(stmt, v: Var, roots: ShapeRoots) -> Atom | None:
    """An array bound before the loop `stmt` with the shape of `v` in every iteration: v's
    initial value, when v is carried and keeps its shape, or v's shape root, when bound outside
    the loop (``lap = np.zeros(n)`` has the shape of u0 when ``n = u0.shape[0]``); else None."""
    like = _initial_value(stmt, v)
    if like is not None:
        return like if roots(v) is roots(like) else None
    root = roots(v)
    return root if isinstance(root, Var) and root is not v and root not in block_defs(stmt.body) else None


def _slice_like(stmt, v: Var, roots: ShapeRoots, setup: Builder) -> Atom | None:
    """For a value shaped like a slice with constant bounds ``z[:-1]`` (the slice itself, or an
    elementwise operation of such slices) of an array z shaped like one bound before the loop
    `stmt` (its root r), the same slice of r, emitted into `setup`; else None."""
    root = roots(v)
    made = roots.definitions.get(root)
    if root not in roots.sliced or not isinstance(made, Eqn) or made.prim is not P.getitem:
        return None
    base, inside = roots.sliced[root][0], block_defs(stmt.body)
    if not isinstance(base, Var) or base in inside or any(a in inside for a in made.ins[1:]):
        return None  # (bounds bound in the loop: see _shape_before)
    return setup.emit(P.getitem, [base, *made.ins[1:]], v.name, **made.params)


def _next_value(stmt: ForRange, v: Var, definitions: dict, roots: ShapeRoots, setup: Builder) -> Var | None:
    """For an array the loop carries whose shape may change (``h = np.tanh(W @ h + U @ x)`` from
    h0 of any shape), the body's result it is at the next step, when that result is an equation's
    and has a shape known before the loop: the reverse sweep reads v from that result's tape of
    rows (at the step before; the initial value at the first), rather than from a ragged tape."""
    if v not in stmt.body.params[1:] or not v.type.is_array or _shaped_like(stmt, v, roots) is not None:
        return None
    result = stmt.body.results[stmt.body.params.index(v) - 1]
    definition = definitions.get(result)
    if not isinstance(definition, Eqn) or definition.prim is P.placeholder or result.type != v.type:
        return None
    base, inside = roots.sliced[result][0] if result in roots.sliced else None, block_defs(stmt.body)
    sliced = isinstance(base, Var) and base not in inside and definition.prim is P.getitem \
        and not any(a in inside for a in definition.ins[1:])
    if _shaped_like(stmt, result, roots) is None and not sliced \
            and _shape_before(stmt, result, roots, setup, commit=False) is None:
        return None
    return result


def _shape_before(stmt, v: Var, roots: ShapeRoots, setup: Builder, commit: bool = True) -> Atom | None:
    """v's shape, computed into `setup` from values bound before the loop `stmt`, when it is the
    same at every iteration (``(Wx.shape[0],)`` for ``z = Wx @ x[t] + Wh @ h``, and the shapes of
    z's slices); else None. Unless `commit`, only whether it can be (nothing is emitted)."""
    key = roots.key(v)
    if key is v or not invariant(key, stmt) or key_ndim(key) != v.type.ndim:
        return None
    if id(stmt) not in _scopes:
        _scopes[id(stmt)] = (stmt, scope_before(_function_body[0], stmt) or set())
    scope = _scopes[id(stmt)][1]
    b = Builder(stmt.loc)
    if _shapes_made.get(id(setup), (None,))[0] is not setup:
        _shapes_made[id(setup)] = (setup, {})
    made = dict(_shapes_made[id(setup)][1])
    shape = shape_of_key(key, b, lambda a: a in scope, made)
    if shape is None or not commit:
        return shape
    _shapes_made[id(setup)][1].update(made)
    setup.stmts += b.stmts
    return shape


def _initial_value(stmt, v: Var) -> Atom | None:
    """For a loop-carried parameter, its initial value (whose shape the tape entries share)."""
    skip = 1 if isinstance(stmt, ForRange) else 0
    for p, init in zip(stmt.body.params[skip:], stmt.init):
        if p is v:
            return init
    return None


def _insert_after(stmts: list, anchor, new: list) -> None:
    """Insert `new` right after the statement `anchor` (or after the one defining it), else first."""
    for i, s in enumerate(stmts):
        if s is anchor or anchor in getattr(s, "outs", ()):
            stmts[i + 1:i + 1] = new
            return
    stmts[:0] = new


def _insert_before(container: list, stmt, new: list) -> None:
    at = next(i for i, s in enumerate(container) if s is stmt)
    container[at:at] = new


_REVERSE = {Eqn: _reverse_eqn, If: _reverse_if, ForRange: _reverse_loop, While: _reverse_loop}
