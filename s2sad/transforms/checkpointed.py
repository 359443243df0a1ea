"""Reverse a top-level ``for`` loop by a checkpointing schedule (s2sad/checkpoint.py) instead of
taping every iteration.

The loop is seen as steps ``x_{k+1} = body(x_k, i_k)`` over its carried values x. The forward
sweep runs the schedule's rows up to FIRSTURN: ADVANCE runs the primal body for steps k … j-1,
TAKESHOT copies the carried values into row j of their snapshot arrays (one per carried value,
with a leading slot axis). One more step from x_{l-1} gives the loop's results. The reverse sweep
runs the remaining rows: ADVANCE and TAKESHOT as before, RESTORE copies the carried values back
from a slot, and a turn (FIRSTURN, YOUTURN) takes the adjoint of step k from the current x_k,
computing the step's forward values again first (the primal body, with the tapes of its own
inner loops, followed by its reversed body). Both sweeps are a ``while`` loop over the rows::

    actions = binomial_schedule(n, 2)
    turn = first_turn(actions)
    snap_x = np.empty(snapshot_slots(actions))
    row, x, advanced = 0, x0, 0
    while row < turn:
        action, k, j = actions[row, 0], actions[row, 1], actions[row, 2]
        if action == 0:           # ADVANCE: steps k … j-1 of the primal loop
            for i in range(k, j): x = step(x, i)
            advanced += j - k
        else:                     # TAKESHOT
            snap_x[j] = x
        row += 1

`advanced` counts the steps the ADVANCE rows ran (the policy's `advances(n)`); the derivative
returns it with its tape bytes.
"""

from __future__ import annotations

from typing import Callable

from .. import primitives as P
from ..checkpoint import ADVANCE, RESTORE, TAKESHOT, YOUTURN, Binomial, Periodic, Policy, StoreAll
from ..errors import S2SADError, located
from ..ir.builder import Builder, const
from ..ir.core import Atom, Block, Eqn, ForRange, If, Var, While, block_defs, clone, walk
from ..ir.types import I64
from ..passes.draws import standard_draws_in
from . import reverse as R
from .common import adjoint_name, zeros_like

# A branch of a schedule interpreter: (builder, k, j, the carried values) → their new values.
Case = Callable[[Builder, Atom, Atom, list], list]


def policy_for(policy: Policy | None, stmt) -> Policy | None:
    """The policy that reverses loop `stmt`: the one its ``s2sad.checkpointed`` marker names, else
    the function's `policy` for a loop at the top level of the function; None when the loop is
    taped (StoreAll). Loops nested in other statements are taped inside the step that runs them;
    a marker on one is refused."""
    top = any(out in R._top_level for out in stmt.outs)
    marker = getattr(stmt, "checkpoint", None)
    if marker is not None and not top:
        raise located("s2sad.checkpointed marks loops at the top level of the function; this loop is inside "
                      "another statement, whose steps store what this loop needs: mark the outer loop instead",
                      stmt.loc)
    chosen = marker or policy
    return chosen if top and chosen is not None and not isinstance(chosen, StoreAll) else None


def _schedule_params(policy: Policy) -> dict:
    if isinstance(policy, Periodic):
        return {"policy": "periodic", "count": policy.every}
    if isinstance(policy, Binomial):
        return {"policy": "binomial", "count": policy.snapshots}
    raise S2SADError(f"checkpoint={policy!r}: use s2sad.StoreAll(), s2sad.Periodic(every=k) or "
                     "s2sad.Binomial(snapshots=s)")


def reverse_checkpointed(stmt: ForRange | While, seeds: dict, adj: dict, active: set, b: Builder,
                         container: list, policy: Policy) -> Atom:
    """Reverse `stmt` by `policy`'s schedule: the forward sweep (`container`) runs the rows before
    the first turn, and `b` gets the others; return the number of steps the ADVANCE rows ran.
    A ``while`` loop's trip count is known only once it has run: the forward sweep runs it as
    written, counting its steps, and the reverse sweep runs the whole schedule from its initial
    state (one forward sweep more than for the same loop written with ``for``)."""
    draws = _standard_draws(stmt)
    _check_body(stmt, draws)
    loop = _as_for(stmt, active) if isinstance(stmt, While) else stmt
    copies: dict = {}
    primal = clone(loop, copies)  # the primal loop, before reversing the body adds its inner tapes
    params = loop.body.params[1:]
    position = Var("k", I64)
    body, carried, accumulators = R._reverse_body(loop, params, seeds, active, position)
    m = len(params)
    if isinstance(stmt, While):
        n = R._count_iterations(stmt)
        b.comment(f"checkpointed while loop ({policy!r}): the schedule over the steps it ran, from its start")
        actions, turn, snaps, takeshot = _schedule(policy, n, stmt.body.params[:m], loop.init, b)
        first, state, advanced = const(0), list(loop.init), const(0)
    else:
        first, state, snaps, advanced, actions, takeshot, logs = _forward_rows(
            loop, primal, policy, container, [copies[z] for z in draws])
        if draws:  # (the steps run again read the draws the forward sweep recorded)
            primal = _replayed(primal, {copies[z]: log for z, log in zip(draws, logs)})
            _replayed(loop, dict(zip(draws, logs)), in_place=True)
    bars = [seeds.get(k) or zeros_like(stmt.outs[k], b, adjoint_name(params[k])) for k in carried]
    accs = [adj.get(v) or zeros_like(v, b, adjoint_name(v)) for v in accumulators]
    b.comment(f"checkpointed loop ({policy!r}): the remaining rows, one step's adjoint at each turn")
    reverse_cases = [(ADVANCE, _advance_case(primal, m, -1, quiet=True)), (RESTORE, _restore_case(m)), (TAKESHOT, takeshot),
                     (YOUTURN, _turn_case(loop, body, m, position))]  # (FIRSTURN too)
    rows = b.emit(P.getitem, [b.emit(P.shape, [actions]), 0], "rows", spec=("i",))
    names = [p.name for p in params] + [f"snap_{p.name}" for p in params] + \
        [adjoint_name(params[k]) for k in carried] + [adjoint_name(v) for v in accumulators] + ["advanced"]
    values = _interpret(actions, first, rows, state + snaps + bars + accs + [advanced], names, reverse_cases, b,
                        stmt.loc)
    outs = values[2 * m:-1]
    adj.update(zip(accumulators, outs[len(carried):]))
    for k, out in zip(carried, outs):
        R.accumulate(adj, loop.init[k], out, active, b)
    return values[-1]


def _forward_rows(stmt: ForRange, primal: ForRange, policy: Policy, container: list, draws: list):
    """Replace the for loop `stmt` in the forward sweep by the schedule's rows up to the first
    turn and the last step, recording the values of the `draws` of `primal` (`_recording`);
    return (the first turn, the state there, the snapshot arrays, the steps advanced, the
    schedule, the TAKESHOT case, the logs of the draws)."""
    fwd = Builder(stmt.loc)
    fwd.comment(f"checkpointed loop ({policy!r}): forward rows, up to the first turn")
    n = fwd.emit(P.trip_count, [stmt.start, stmt.stop, stmt.step], "n")
    params = stmt.body.params[1:]
    actions, turn, snaps, takeshot = _schedule(policy, n, params, stmt.init, fwd)
    m = len(params)
    primal, logs = _recording(primal, draws, n, fwd) if draws else (primal, [])
    forward_cases = [(ADVANCE, _advance_case(primal, m, 2 * m, 2 * m + 1, logs=len(logs))), (TAKESHOT, takeshot)]
    values = _interpret(actions, const(0), turn, list(stmt.init) + snaps + [const(0), const(0)] + logs,
                        [p.name for p in params] + [f"snap_{p.name}" for p in params] + ["advanced", "at"] +
                        [log.name for log in logs], forward_cases, fwd, stmt.loc)
    state, snaps, (advanced, at), logs = values[:m], values[m:2 * m], values[2 * m:2 * m + 2], values[2 * m + 2:]
    fwd.comment("the last step, from the state at the first turn, to the loop's results")
    last = clone(primal, {})
    last.start = _index(primal, at, fwd)
    last.init, last.outs = list(state) + logs, list(stmt.outs) + [Var(log.name, log.type) for log in logs]
    fwd.append(last)
    R._extra_bytes.extend(fwd.emit(P.nbytes, [log], "drawn_bytes") for log in last.outs[m:])
    at_stmt = next(i for i, s in enumerate(container) if s is stmt)
    container[at_stmt:at_stmt + 1] = fwd.stmts
    return turn, state, snaps, advanced, actions, takeshot, last.outs[m:]


# --- random draws in a checkpointed for loop ---------------------------------------------------
# A step run again must see the numbers the forward sweep drew, and the generator must advance
# only as NumPy's does. The body's draws are written as standard variates first (passes/draws.py:
# ``loc + scale * z``, so the derivatives in loc and scale stay), the forward sweep records each
# step's z in a log (a row per step for a number, a ragged tape for an array), and the steps run
# again read z back instead of drawing. The logs take the draws' memory, not the steps' other
# values.

_STANDARD_DRAWS = frozenset({P.rng_standard_normal, P.rng_random, P.random_standard_normal, P.random_random})


def standard_draws_before(block: Block, policy: Policy | None, active: set) -> None:
    """Rewrite the draws at the top level of the bodies of the for loops of `block` that `policy`
    checkpoints as standard variates, in place (the values computed from active operands join
    `active`): before the function's shape facts are computed, which would otherwise name the
    draws they replace (a draw multiplied in an inner loop)."""
    for stmt in block.stmts:
        if isinstance(stmt, ForRange) and policy_for(policy, stmt) is not None:
            before = set(block_defs(stmt.body))
            standard_draws_in(stmt.body)
            for s in stmt.body.stmts:  # (the new loc + scale * z: active where loc or scale is)
                if isinstance(s, Eqn) and not before.issuperset(s.outs) and any(a in active for a in s.ins):
                    active.update(s.outs)


def _standard_draws(stmt) -> list[Var]:
    """The standard variates a checkpointed loop's steps draw at their top level (rewritten so
    by `standard_draws_before`); none for a while loop, whose draws are refused."""
    if not isinstance(stmt, ForRange):
        return []
    return [s.outs[0] for s in stmt.body.stmts if isinstance(s, Eqn) and s.prim in _STANDARD_DRAWS]


def _step_number(loop: ForRange, b: Builder) -> Atom:
    """k, for the step whose loop index is start + k * step."""
    return b.emit(P.floordiv, [b.emit(P.sub, [loop.body.params[0], loop.start]), loop.step], "step")


def _recording(primal: ForRange, draws: list[Var], n: Atom, b: Builder) -> tuple[ForRange, list[Var]]:
    """A copy of the primal loop that also records the values of its `draws` at each of its `n`
    steps, in logs it carries after its own values (allocated into `b`); and those logs."""
    copies: dict = {}
    loop = clone(primal, copies)
    drawn = {copies[z]: z for z in draws}
    head = Builder(loop.loc)
    k = _step_number(loop, head)
    stmts, logs = list(head.stmts), []
    for stmt in loop.body.stmts:
        stmts.append(stmt)
        z = stmt.outs[0] if isinstance(stmt, Eqn) and stmt.outs and stmt.outs[0] in drawn else None
        if z is None:
            continue
        if z.type.is_array and z.type.ndim > 2:
            raise located(f"a checkpointed loop records its draws, of one or two axes; this one has {z.type.ndim}: "
                          "use checkpoint=None", stmt.loc)
        name = f"drawn_{z.name}" if z.name else "drawn"
        logs.append(b.emit(P.tape, [n] if z.type.is_scalar else [], name, dtype="f64", ndim=0))
        log, _ = R._carry(loop, logs[-1], name)
        store = Builder(stmt.loc)
        R._yield(loop, store.emit(P.record_ragged, [log, k, n, z], log.name) if z.type.is_array else
                 store.emit(P.setitem, [log, k, z], log.name, spec=("i",)))
        stmts += store.stmts
    loop.body.stmts[:] = stmts
    return loop, logs


def _replayed(loop: ForRange, logs: dict, in_place: bool = False) -> ForRange:
    """`loop` (a copy, unless `in_place`) whose draws (the keys of `logs`) read the values the
    forward sweep recorded in their logs."""
    if not in_place:
        copies: dict = {}
        loop, logs = clone(loop, copies), {copies[z]: log for z, log in logs.items()}
    head = Builder(loop.loc)
    k = _step_number(loop, head)
    stmts = list(head.stmts)
    for stmt in loop.body.stmts:
        z = stmt.outs[0] if isinstance(stmt, Eqn) and stmt.outs and stmt.outs[0] in logs else None
        if z is None:
            stmts.append(stmt)
        elif z.type.is_array:
            stmts.append(Eqn([z], P.ragged_row, [logs[z], k], {"ndim": z.type.ndim}, stmt.loc))
        else:
            stmts.append(Eqn([z], P.getitem, [logs[z], k], {"spec": ("i",)}, stmt.loc))
    loop.body.stmts[:] = stmts
    return loop


def _schedule(policy: Policy, n: Atom, params: list[Var], init: list[Atom], b: Builder):
    """The schedule of `n` steps, its first turn, the snapshot arrays and the TAKESHOT case."""
    actions = b.emit(P.schedule, [n], "actions", **_schedule_params(policy))
    turn = b.emit(P.first_turn, [actions], "turn")
    slots = b.emit(P.snapshot_slots, [actions], "slots")
    snaps, allocated = zip(*(_snapshot_array(p, x0, slots, b) for p, x0 in zip(params, init)))
    return actions, turn, list(snaps), _takeshot_case(list(allocated), slots)


def _as_for(stmt: While, active: set) -> ForRange:
    """A copy of the while loop's body as a for loop over its steps (its condition left out: the
    reverse sweep runs only steps the forward sweep counted); the copies of active values are
    added to `active`."""
    body = Block([Var("i", I64)] + stmt.body.params, stmt.body.stmts, stmt.body.results)
    loop = ForRange(list(stmt.outs), const(0), const(0), const(1), list(stmt.init), body, stmt.loc)
    copies: dict = {}
    loop = clone(loop, copies)
    active.update(copy for v, copy in copies.items() if v in active)
    return loop


def _without_prints(stmt):
    """`stmt` without the prints of its regions (a step run again in the reverse sweep)."""
    for s in walk(Block([], [stmt])):
        for region in s.blocks():
            region.stmts[:] = [t for t in region.stmts if not (isinstance(t, Eqn) and t.prim is P.print_)]
    return stmt


def _check_body(stmt: ForRange | While, draws: list[Var]) -> None:
    """Refuse a body that does what running a step again would do differently: draws other than
    `draws` (those at the top level of a for loop's body, which are recorded), seeding, reading a
    module global that the function changes."""
    for s in walk(Block([], [stmt])):
        if isinstance(s, Eqn) and not s.prim.pure and s.prim not in (P.comment, P.print_) \
                and not (s.outs and s.outs[0] in draws):
            raise located(f"a checkpointed loop runs its steps again, but this step calls {s.prim.name}, "
                          "which would not give the same values twice; use checkpoint=None", s.loc)


def _snapshot_array(param: Var, init: Atom, slots: Atom, b: Builder) -> tuple[Var, bool]:
    """The snapshot array of a carried value and whether it is allocated already:
    ``np.empty(slots)`` for a number, ``np.empty((slots,) + x0.shape)`` for an array known to keep
    the shape of its initial value; otherwise allocated by its first store (`record`, which
    refuses a later value of another shape). Its size in bytes goes to the tape bytes."""
    name = f"snap_{param.name}"
    if not param.type.is_array:
        snap = b.emit(P.tape, [slots], name, dtype=param.type.kind, ndim=0)
        R._extra_bytes.append(b.emit(P.nbytes, [snap], "snapshot_bytes"))
        return snap, True
    kind, ndim = param.type.element.kind, param.type.ndim
    roots = R._primal_roots[0]
    if roots(param) is roots(init):
        snap = b.emit(P.tape, [slots, init], name, dtype=kind, ndim=ndim)
        R._extra_bytes.append(b.emit(P.nbytes, [snap], "snapshot_bytes"))
        return snap, True
    R._extra_bytes.append(b.emit(P.mul, [slots, b.emit(P.nbytes, [init])], "snapshot_bytes"))
    return b.emit(P.tape, [], name, dtype=kind, ndim=ndim), False


def _index(loop: ForRange, k: Atom, b: Builder) -> Atom:
    """The loop index of step k: start + k * step."""
    return b.emit(P.add, [loop.start, b.emit(P.mul, [k, loop.step])], loop.body.params[0].name)


def _interpret(actions: Atom, first: Atom, last: Atom, values: list, names: list[str], cases: list,
               b: Builder, loc) -> list[Var]:
    """A while loop over rows first … last-1 of `actions` carrying `values`, one `if` per case
    (the last case is the `else`); returns the values after it."""
    def carried() -> tuple[Var, list[Var]]:
        return Var("row", I64), [Var(n, v.type) for n, v in zip(names, values)]

    row_c, params_c = carried()
    cb = Builder(loc)
    cond = Block([row_c] + params_c, cb.stmts, [cb.emit(P.lt, [row_c, last])])
    row, params = carried()
    inner = Builder(loc)
    action, k, j = (inner.emit(P.getitem, [actions, row, column], name, spec=("i", "i"))
                    for column, name in ((0, "action"), (1, "k"), (2, "j")))
    results = _dispatch(action, k, j, params, cases, inner, loc)
    body = Block([row] + params, inner.stmts, [inner.emit(P.add, [row, 1], "row")] + results)
    _, outs = carried()
    b.append(While([Var("row", I64)] + outs, [first] + list(values), cond, body, loc))
    return outs


_SAYS = {ADVANCE: "advance: run the loop's steps between the row's two step numbers",
         TAKESHOT: "store the state in the row's snapshot slot", RESTORE: "restore the state from the row's slot",
         YOUTURN: "a turn: the adjoint of the row's step, from the current state"}


def _dispatch(action: Atom, k: Atom, j: Atom, values: list, cases: list, b: Builder, loc) -> list:
    """``if action == code: case … else: the next cases`` (the last case is the `else`),
    yielding the carried values; each case opens with a comment saying what it does."""
    code, case = cases[0]
    if len(cases) == 1:
        b.comment(_SAYS[code])
        return case(b, k, j, values)
    then, orelse = Builder(loc), Builder(loc)
    then.comment(_SAYS[code])
    then_results = case(then, k, j, values)
    else_results = _dispatch(action, k, j, values, cases[1:], orelse, loc)
    outs = [Var(v.name, v.type) for v in values]
    test = b.emit(P.eq, [action, code])
    b.append(If(outs, test, Block([], then.stmts, then_results), Block([], orelse.stmts, else_results), loc))
    return outs


def _advance_case(primal: ForRange, m: int, counter: int, at: int | None = None, quiet: bool = False,
                  logs: int = 0) -> Case:
    """ADVANCE: the primal loop over steps k … j-1 from the current state (the first m values),
    adding j - k to the step counter (values[counter]) and, if `at` is given, setting the step
    reached (values[at]) to j; the loop carries the last `logs` values too (the logs of its
    draws). `quiet` (in the reverse sweep): without the body's prints, which the forward sweep
    made."""
    def case(b: Builder, k: Atom, j: Atom, values: list) -> list:
        loop = _without_prints(clone(primal, {})) if quiet else clone(primal, {})
        loop.start, loop.stop = _index(primal, k, b), _index(primal, j, b)
        rest = len(values) - logs
        loop.init = list(values[:m]) + list(values[rest:])
        b.append(loop)
        out = list(loop.outs[:m]) + values[m:rest] + list(loop.outs[m:])
        out[counter] = b.emit(P.add, [values[counter], b.emit(P.sub, [j, k])], "advanced")
        if at is not None:
            out[at] = j
        return out
    return case


def _takeshot_case(allocated: list[bool], slots: Atom) -> Case:
    """TAKESHOT: copy the current state into slot j of the snapshot arrays (through `record`
    for an array not allocated yet)."""
    m = len(allocated)

    def case(b: Builder, k: Atom, j: Atom, values: list) -> list:
        snaps = [b.emit(P.setitem, [snap, j, x], snap.name, spec=("i",)) if ready else
                 b.emit(P.record, [snap, j, slots, x], snap.name)
                 for x, snap, ready in zip(values[:m], values[m:2 * m], allocated)]
        return values[:m] + snaps + values[2 * m:]
    return case


def _restore_case(m: int) -> Case:
    """RESTORE: the state becomes a copy of slot j (the steps may then update it in place)."""
    def case(b: Builder, k: Atom, j: Atom, values: list) -> list:
        state = []
        for x, snap in zip(values[:m], values[m:2 * m]):
            row = b.emit(P.getitem, [snap, j], x.name, spec=("i",))
            state.append(b.emit(P.copy, [row], x.name) if x.type.is_array else row)
        return state + values[m:]
    return case


def _turn_case(stmt: ForRange, body: Block, m: int, position: Var) -> Case:
    """A turn: the adjoint of step k from the current state. The step's forward values are
    computed again by the primal body (as the reverse transform left it: with the tapes of its
    own inner loops), then the reversed body runs; dead code is removed later."""
    def case(b: Builder, k: Atom, j: Atom, values: list) -> list:
        mapping: dict = {stmt.body.params[0]: _index(stmt, k, b), position: k}
        mapping.update(zip(stmt.body.params[1:], values[:m]))
        mapping.update(zip(body.params[1:], values[2 * m:-1]))
        for s in stmt.body.stmts + body.stmts:
            if not (isinstance(s, Eqn) and s.prim is P.print_):  # (printed by the forward sweep)
                b.append(_without_prints(clone(s, mapping)))
        results = [mapping.get(r, r) if isinstance(r, Var) else r for r in body.results]
        return values[:2 * m] + results + values[-1:]
    return case
