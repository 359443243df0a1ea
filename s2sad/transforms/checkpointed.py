"""Reverse a top-level ``for`` loop by a checkpointing schedule (s2sad/checkpoint.py) instead of
taping every iteration.

The loop is seen as steps ``x_{k+1} = body(x_k, i_k)`` over its carried values x. The forward
sweep runs the schedule's rows up to FIRSTURN: ADVANCE runs the primal body for steps k … j-1,
TAKESHOT copies the carried values into row j of their snapshot arrays (one per carried value,
with a leading slot axis). One more step from x_{l-1} gives the loop's results. The reverse sweep
runs the remaining rows: ADVANCE and TAKESHOT as before, RESTORE copies the carried values back
from a slot, and a turn (FIRSTURN, YOUTURN) takes the adjoint of step k from the current x_k,
computing the step's forward values again first (the primal body, with the tapes of its own
inner loops, followed by its reversed body). Both sweeps are a ``while`` loop over the rows,
which the schedule makes one at a time from its state (a few integers and, for Binomial, six a
snapshot: no array of the schedule's rows is made)::

    schedule = binomial_schedule(n, 2)   # the state, at the first row
    snap_x = np.empty(schedule_slots(schedule))
    x, advanced = x0, 0
    while schedule[0] < 3:               # up to FIRSTURN
        action, k, j = schedule[0], schedule[1], schedule[2]
        next_action(schedule)            # the next row, in place
        if action == 0:                  # ADVANCE: steps k … j-1 of the primal loop
            for i in range(k, j): x = step(x, i)
            advanced += j - k
        else:                            # TAKESHOT
            snap_x[j] = x

The reverse sweep's loop goes on from the same state to the END row.

`advanced` counts the steps the ADVANCE rows ran (the policy's `advances(n)`); the derivative
returns it with its tape bytes.
"""

from __future__ import annotations

from typing import Callable

from .. import primitives as P
from ..checkpoint import ADVANCE, END, FIRSTURN, RESTORE, TAKESHOT, YOUTURN, Binomial, Periodic, Policy, StoreAll
from ..errors import S2SADError, located
from ..ir.builder import Builder, const
from ..ir.core import Atom, Block, Eqn, ForRange, If, Var, While, clone, walk
from ..ir.types import I64, Type
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
    _check_body(stmt)
    logged = any(_is_position(s) for s in walk(stmt.body))
    loop = _as_for(stmt, active) if isinstance(stmt, While) else stmt
    primal = clone(loop, {})  # the primal loop, before reversing the body adds its inner tapes
    params = loop.body.params[1:]
    position = Var("k", I64)
    body, carried, accumulators = R._reverse_body(loop, params, seeds, active, position)
    m = len(params)
    if isinstance(stmt, While):
        n = R._count_iterations(stmt)
        log = _record_while(stmt, container) if logged else None
        b.comment(f"checkpointed while loop ({policy!r}): the schedule over the steps it ran, from its start")
        schedule, snaps, takeshot = _schedule(policy, n, stmt.body.params[:m], loop.init, b)
        state, advanced = list(loop.init), const(0)
    else:
        schedule, state, snaps, advanced, takeshot, log = _forward_rows(loop, primal, policy, container, logged)
    if logged:  # (the steps run again read the draws the forward sweep stored)
        primal = _replayed(primal, log)
        _replayed(loop, log, in_place=True)
    bars = [seeds.get(k) or zeros_like(stmt.outs[k], b, adjoint_name(params[k])) for k in carried]
    accs = [adj.get(v) or zeros_like(v, b, adjoint_name(v)) for v in accumulators]
    b.comment(f"checkpointed loop ({policy!r}): the remaining rows, one step's adjoint at each turn")
    reverse_cases = [(ADVANCE, _advance_case(primal, m, -1, quiet=True)), (RESTORE, _restore_case(m)), (TAKESHOT, takeshot),
                     (YOUTURN, _turn_case(loop, body, m, position))]  # (FIRSTURN too)
    names = [p.name for p in params] + [f"snap_{p.name}" for p in params] + \
        [adjoint_name(params[k]) for k in carried] + [adjoint_name(v) for v in accumulators] + ["advanced"]
    _, values = _interpret(schedule, END, state + snaps + bars + accs + [advanced], names, reverse_cases, b, stmt.loc)
    outs = values[2 * m:-1]
    adj.update(zip(accumulators, outs[len(carried):]))
    for k, out in zip(carried, outs):
        R.accumulate(adj, loop.init[k], out, active, b)
    return values[-1]


def _forward_rows(stmt: ForRange, primal: ForRange, policy: Policy, container: list, logged: bool):
    """Replace the for loop `stmt` in the forward sweep by the schedule's rows up to the first
    turn and the last step, storing the draws of `primal` in a log if `logged`; return (the
    schedule's state at the first turn, the loop's state there, the snapshot arrays, the steps
    advanced, the TAKESHOT case, the log of the draws or None)."""
    fwd = Builder(stmt.loc)
    fwd.comment(f"checkpointed loop ({policy!r}): forward rows, up to the first turn")
    n = fwd.emit(P.trip_count, [stmt.start, stmt.stop, stmt.step], "n")
    params = stmt.body.params[1:]
    schedule, snaps, takeshot = _schedule(policy, n, params, stmt.init, fwd)
    m = len(params)
    logs = [fwd.emit(P.tape, [n], "drawn_log", dtype="f64", ndim=0)] if logged else []
    if logged:
        primal = clone(primal, {})
        _record_draws(primal, logs[0])
    forward_cases = [(ADVANCE, _advance_case(primal, m, 2 * m, 2 * m + 1, logs=len(logs))), (TAKESHOT, takeshot)]
    schedule, values = _interpret(schedule, FIRSTURN, list(stmt.init) + snaps + [const(0), const(0)] + logs,
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
    return schedule, state, snaps, advanced, takeshot, (last.outs[m:] or [None])[0]


def _record_while(stmt: While, container: list) -> Var:
    """Make the checkpointed while loop `stmt` of the forward sweep store its draws in a log
    (allocated before it); return the log after it."""
    at = next(i for i, s in enumerate(container) if s is stmt)
    before, after = Builder(stmt.loc), Builder(stmt.loc)
    log = _record_draws(stmt, before.emit(P.tape, [], "drawn_log", dtype="f64", ndim=0))
    R._extra_bytes.append(after.emit(P.nbytes, [log], "drawn_bytes"))
    container[at:at + 1] = before.stmts + [stmt] + after.stmts
    return log


# --- random draws in a checkpointed loop -------------------------------------------------------
# A step run again must see the numbers the forward sweep drew, and the generator must advance
# only as NumPy's does. Every draw of the loop's steps (in branches and inner loops too) is written
# as standard variates first (passes/draws.py: ``loc + scale * z``, so the derivatives in loc and
# scale stay), and the loop counts the numbers its steps draw: ``drawn = draw_position(drawn, z)``
# after each draw, carried from step to step, so that a snapshot holds the count too. The forward
# sweep stores each draw's numbers in one log, from the count before it (`_record_draws`); steps
# run again read them back from there and seed nothing (`_replayed`). The log takes the draws'
# memory, not the steps' other values.

_STANDARD_DRAWS = frozenset({P.rng_standard_normal, P.rng_random, P.random_standard_normal, P.random_random})


def standard_draws_before(block: Block, policy: Policy | None, active: set) -> None:
    """Rewrite the draws of the loops of `block` that `policy` checkpoints as standard variates
    and count them (above), in place (the values computed from active operands join `active`):
    before the function's shape facts are computed, which would otherwise name the draws they
    replace (a draw multiplied in an inner loop)."""
    for stmt in block.stmts:
        if isinstance(stmt, (ForRange, While)) and policy_for(policy, stmt) is not None:
            before = {v for s in walk(stmt.body) for v in s.outs}
            for region in [stmt.body] + [r for s in walk(stmt.body) for r in s.blocks()]:
                standard_draws_in(region)
            for s in walk(stmt.body):  # (the new loc + scale * z: active where loc or scale is)
                if isinstance(s, Eqn) and not before.issuperset(s.outs) and any(a in active for a in s.ins):
                    active.update(s.outs)
            if any(_is_draw(s) for s in walk(stmt.body)):
                _count_draws(stmt)


def _is_draw(stmt) -> bool:
    return isinstance(stmt, Eqn) and stmt.prim in _STANDARD_DRAWS


def _is_position(stmt) -> bool:
    return isinstance(stmt, Eqn) and stmt.prim is P.draw_position


def _count_draws(stmt: ForRange | While) -> None:
    """Carry the count of the numbers drawn through the loop `stmt`, from 0."""
    def count(draw: Eqn, state: list, b: Builder) -> list:
        z = draw.outs[0]
        return [b.emit(P.draw_position, [state[0], z], "drawn", array=z.type.is_array)]

    if isinstance(stmt, While):
        stmt.cond.params.append(Var("drawn", I64))
    drawn = Var("drawn", I64)
    stmt.body.params.append(drawn)
    stmt.init.append(const(0))
    stmt.outs.append(Var("drawn", I64))
    stmt.body.results += _thread(stmt.body, [drawn], _is_draw, count)


def _thread(block: Block, state: list[Atom], concerns: Callable, update: Callable) -> list[Atom]:
    """Thread the values `state` through `block` in program order, in place: after each equation
    that `concerns`, ``update(eqn, state, builder)`` emits what gives the new state; a branch or
    an inner loop holding such an equation carries the state through its regions. Returns the
    state at the block's end."""
    stmts: list = []
    for stmt in block.stmts:
        stmts.append(stmt)
        if isinstance(stmt, Eqn):
            if concerns(stmt):
                b = Builder(stmt.loc)
                state = update(stmt, state, b)
                stmts += b.stmts
            continue
        if not any(concerns(s) for s in walk(Block([], [stmt]))):
            continue
        fresh = lambda: [Var(v.name, v.type) for v in state]  # noqa: E731
        if isinstance(stmt, If):
            stmt.then.results += _thread(stmt.then, list(state), concerns, update)
            stmt.orelse.results += _thread(stmt.orelse, list(state), concerns, update)
        else:
            if isinstance(stmt, While):
                if any(concerns(s) for s in walk(stmt.cond)):
                    raise located("a checkpointed loop runs its steps again and reads back what they drew, but a "
                                  "draw in the condition of a while loop in a step cannot be read back: draw in "
                                  "the loop's body, or use checkpoint=None", stmt.loc)
                stmt.cond.params += fresh()
            params = fresh()
            stmt.body.params += params
            stmt.init += state
            stmt.body.results += _thread(stmt.body, params, concerns, update)
        state = fresh()
        stmt.outs += state
    block.stmts[:] = stmts
    return state


def _record_draws(loop: ForRange | While, log: Atom) -> Var:
    """Make the steps of `loop` (in place) store their draws in the log `log`, which it carries;
    return the log after it."""
    def store(position: Eqn, state: list, b: Builder) -> list:
        at, z = position.ins
        return [b.emit(P.log_draw, [state[0], at, z], "drawn_log", array=z.type.is_array)]

    param, final = R._carry(loop, log, "drawn_log")
    R._yield(loop, _thread(loop.body, [param], _is_position, store)[0])
    return final


def _replayed(loop: ForRange, log: Atom, in_place: bool = False) -> ForRange:
    """`loop` (a copy, unless `in_place`) whose draws read the numbers the forward sweep stored
    in `log`, and which seeds nothing."""
    if not in_place:
        loop = clone(loop, {})
    for region in [r for s in walk(Block([], [loop])) for r in s.blocks()]:
        at = {s.ins[1]: s.ins[0] for s in region.stmts if _is_position(s)}
        region.stmts[:] = [_read_back(s, log, at) for s in region.stmts
                           if not (isinstance(s, Eqn) and s.prim is P.random_seed)]
    return loop


def _read_back(stmt, log: Atom, at: dict):
    """A draw of a checkpointed loop's step read back from the log (`at`: where each draw's
    numbers start); any other statement as it is."""
    if not _is_draw(stmt):
        return stmt
    z = stmt.outs[0]
    if z.type.is_array:
        return Eqn([z], P.logged_draws, [log, at[z], stmt.ins[-1]], {}, stmt.loc)
    return Eqn([z], P.getitem, [log, at[z]], {"spec": ("i",)}, stmt.loc)


def _schedule(policy: Policy, n: Atom, params: list[Var], init: list[Atom], b: Builder):
    """The state of the schedule of `n` steps (at its first row), the snapshot arrays and the
    TAKESHOT case. The state's bytes count in the tape bytes, with the snapshots'."""
    schedule = b.emit(P.schedule, [n], "schedule", **_schedule_params(policy))
    R._extra_bytes.append(b.emit(P.nbytes, [schedule], "schedule_bytes"))
    slots = b.emit(P.schedule_slots, [schedule], "slots")
    snaps, allocated = zip(*(_snapshot_array(p, x0, slots, b) for p, x0 in zip(params, init)))
    return schedule, list(snaps), _takeshot_case(list(allocated), slots)


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


# Calls with effects that a step may make and run again: prints and seeding (which steps run again
# leave out), and making a Generator (whose draws they read back from the log).
_RUN_AGAIN = frozenset({P.comment, P.print_, P.random_seed, P.default_rng})


def _check_body(stmt: ForRange | While) -> None:
    """Refuse a body that does what running a step again would do differently: calls with
    effects other than draws (which are read back) and `_RUN_AGAIN`, such as reading a module
    global that the function changes. (A while loop's condition is not evaluated again.)"""
    for s in walk(stmt.body):
        if isinstance(s, Eqn) and not s.prim.pure and s.prim not in _RUN_AGAIN and not _is_draw(s):
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


_SCHEDULE = Type("array", "i64", 1)


def _interpret(schedule: Atom, stop: int, values: list, names: list[str], cases: list, b: Builder,
               loc) -> tuple[Var, list[Var]]:
    """A while loop over the rows of the schedule whose state is `schedule`, from its current
    row to the first whose action is `stop` or more (FIRSTURN: the forward sweep's rows; END:
    all), carrying `values`, one `if` per case (the last case is the `else`). Each turn of the
    loop reads the row, asks the schedule for the next (`next_action`) and runs the row's case.
    Returns the schedule's state and the values after it."""
    def carried() -> tuple[Var, list[Var]]:
        return Var("schedule", _SCHEDULE), [Var(n, v.type) for n, v in zip(names, values)]

    state_c, params_c = carried()
    cb = Builder(loc)
    cond = Block([state_c] + params_c, cb.stmts,
                 [cb.emit(P.lt, [cb.emit(P.getitem, [state_c, 0], spec=("i",)), stop])])
    state, params = carried()
    inner = Builder(loc)
    action, k, j = (inner.emit(P.getitem, [state, column], name, spec=("i",))
                    for column, name in ((0, "action"), (1, "k"), (2, "j")))
    following = inner.emit(P.next_action, [state], "schedule")
    results = _dispatch(action, k, j, params, cases, inner, loc)
    body = Block([state] + params, inner.stmts, [following] + results)
    state_out, outs = carried()
    b.append(While([state_out] + outs, [schedule] + list(values), cond, body, loc))
    return state_out, outs


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
