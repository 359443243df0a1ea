"""Checkpointing schedules for reversing a loop of `l` steps.

A loop ``x_{k+1} = step(x_k, k)`` for ``k = 0 … l-1`` is reversed by taking the adjoint of each
step, last step first; the adjoint of step k needs the state x_k. A *policy* decides which
states are kept (as snapshots) and which are recomputed from an earlier snapshot:

- `StoreAll` keeps every state: no recomputation, l - 1 snapshots.
- `Periodic(every=k)` keeps every k-th state and, in reverse, re-runs one segment of k steps at
  a time, keeping that segment's states.
- `Binomial(snapshots=s)` is the optimal schedule of Griewank (1992) and Griewank & Walther
  (2000, "Algorithm 799: revolve") for s snapshots: the fewest step evaluations possible.

A policy's `actions(l)` is its schedule as an ``int64`` array of rows ``(action, k, j)``:

==========  =====  ==========  ==============================================================
action      k      j           meaning
==========  =====  ==========  ==============================================================
ADVANCE     start  stop        run steps start … stop-1: the current state goes x_start → x_stop
TAKESHOT    step   slot        copy the current state, x_k, into snapshot `slot`
RESTORE     step   slot        the current state becomes a copy of snapshot `slot`, which holds x_k
FIRSTURN    step   -1          the forward sweep ends; then as YOUTURN (always step l - 1)
YOUTURN     step   -1          the adjoint of step k, from the current state x_k
==========  =====  ==========  ==============================================================

The rows before FIRSTURN are the forward sweep; there the current state is x_{l-1}, and one more
step gives the loop's result x_l (generated code runs what follows the loop before going on).
The rows from FIRSTURN on are the reverse sweep: the adjoints of steps l-1, …, 0, in that order,
each exactly once. A schedule for l = 0 steps is empty. `run_schedule` executes a schedule in
plain Python and checks it; generated code runs the same rows in a ``while`` loop with one
``if`` per action (see tests/test_checkpoint.py for the pattern under Numba).

`actions(l)` holds about 3.5·l rows. Generated code never makes it: it makes the same rows in
the same order one at a time, in O(s) memory. Compiled code keeps the schedule's *state*,
`start(l)` (the row to run next, and for Binomial(s) Revolve's stack of s snapshot positions:
O(s) integers), and `next_action(state)` makes each row from it in turn; the Python backend takes
them from a generator, `rows(l)`, which keeps the same integers in its local variables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any, Callable, Iterable, Iterator, Union

import numpy as np

from .errors import S2SADError

# --- the action encoding ----------------------------------------------------------------------

ADVANCE = 0
TAKESHOT = 1
RESTORE = 2
FIRSTURN = 3
YOUTURN = 4
ACTION_NAMES = {ADVANCE: "ADVANCE", TAKESHOT: "TAKESHOT", RESTORE: "RESTORE", FIRSTURN: "FIRSTURN",
                YOUTURN: "YOUTURN"}


Row = tuple[int, int, int]  # (action, k, j)


def _array(rows: Iterable[Row]) -> np.ndarray:
    """The rows as an ``int64`` array of shape (rows, 3)."""
    return np.array(list(rows), dtype=np.int64).reshape(-1, 3)


def first_turn(actions: np.ndarray) -> int:
    """The index of the FIRSTURN row: the number of rows of the forward sweep (0 if no steps)."""
    for row in range(actions.shape[0]):
        if actions[row, 0] == FIRSTURN:
            return row
    return 0


def snapshot_slots(actions: np.ndarray) -> int:
    """The number of snapshot slots a schedule uses (slots are numbered from 0)."""
    most = 0
    for row in range(actions.shape[0]):
        if actions[row, 0] == TAKESHOT and actions[row, 2] >= most:
            most = actions[row, 2] + 1
    return most


def format_schedule(actions: np.ndarray) -> str:
    """The schedule one row a line, e.g. ``ADVANCE 0 3`` (for reading and for the docs)."""
    def line(action: int, k: int, j: int) -> str:
        name = ACTION_NAMES[int(action)]
        return f"{name} {k}" if action in (FIRSTURN, YOUTURN) else f"{name} {k} {j}"
    return "\n".join(line(*row) for row in actions.tolist())


# --- argument checks ----------------------------------------------------------------------------

def _count(owner: str, name: str, value: Any, least: int, meaning: str) -> int:
    """`value` as an int ≥ `least`, or an S2SADError saying what `owner` expects."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise S2SADError(f"{owner}: {name}={value!r} is not an integer; {name} is {meaning}")
    if value < least:
        raise S2SADError(f"{owner}: {name}={value!r}; {name} must be at least {least} ({meaning})")
    return int(value)


def _steps(l: Any) -> int:
    return _count("schedule", "steps", l, 0, "the number of loop iterations")


# --- Griewank–Walther theory ----------------------------------------------------------------------

def beta(s: int, t: int) -> int:
    """β(s, t) = C(s + t, s): the most steps s snapshots reverse with no step advanced more
    than t times (a turn's own evaluation of its step not counted); 0 for t < 0."""
    return math.comb(s + t, s) if t >= 0 else 0


def _repetitions(l: int, s: int) -> int:
    """The t with β(s, t - 1) < l ≤ β(s, t), for l ≥ 1 and s ≥ 1 (a doubling then a bisection)."""
    high = 1
    while beta(s, high) < l:
        high *= 2
    low = -1  # β(s, low) < l ≤ β(s, high)
    while high - low > 1:
        mid = (low + high) // 2
        if beta(s, mid) < l:
            low = mid
        else:
            high = mid
    return high


def binomial_cost(l: int, s: int) -> int:
    """p(l, s) = t·l - β(s + 1, t - 1): the fewest forward step evaluations that reverse l steps
    with s snapshots (the turns' own step evaluations not counted), t as in `_repetitions`."""
    l = _steps(l)
    s = _count("binomial_cost", "s", s, 1, "the number of snapshots")
    if l == 0:
        return 0
    t = _repetitions(l, s)
    return t * l - beta(s + 1, t - 1)


def optimal_split(l: int, s: int) -> int:
    """An m such that advancing m steps, reversing the last l - m steps with s - 1 snapshots
    and then the first m with s costs p(l, s), for l ≥ 2 and s ≥ 1.

    p(·, s) is convex and piecewise linear, with slope t on (β(s, t-1), β(s, t)]. With t the
    repetition number of (l, s), every m with β(s, t-2) ≤ m ≤ β(s, t-1) and
    β(s-1, t-1) ≤ l - m ≤ β(s-1, t) balances the slopes of m + p(m, s) and p(l - m, s - 1) at t,
    so minimises their sum; such m exist because β(s, t) = β(s, t-1) + β(s-1, t). The largest is
    taken: the part reversed with one snapshot fewer is then the shortest."""
    t = _repetitions(l, s)
    low = max(1, beta(s, t - 2), l - beta(s - 1, t))
    high = min(beta(s, t - 1), l - beta(s - 1, t - 1))
    assert low <= high, (l, s, low, high)
    return high


# --- schedules --------------------------------------------------------------------------------------

def _binomial_rows(l: int, s: int, split: Callable[[int, int, int], int]) -> Iterator[Row]:
    """Revolve's schedule: to reverse steps a … b-1 from x_a (kept in `slot` when b - a > 1)
    with s snapshots, advance m = optimal_split(b - a, s) steps, keep x_{a+m} in the next slot,
    reverse a+m … b-1 with s - 1 snapshots, restore x_a and reverse a … a+m-1 with s.
    `split(n, s, depth)` is optimal_split(n, s) for s ≥ 2, at the stack's depth (`slot`); with one
    snapshot left the split is n - 1 (advance to the last step, turn, restore, and so on).

    The reversal of the right part comes first and the left part waits on a stack, so the
    recursion is a loop, made one row at a time (a generator): at most s parts wait, whatever l."""
    if l == 0:
        return
    if l > 1:
        yield TAKESHOT, 0, 0
    waiting: list[tuple[int, int, int, int]] = []  # left parts: (a, b, snapshots, slot of x_a)
    a, b, slot, turn = 0, l, 0, FIRSTURN
    while True:
        while b - a > 1:
            m = b - a - 1 if s == 1 else split(b - a, s, slot)
            yield ADVANCE, a, a + m
            waiting.append((a, a + m, s, slot))
            a, s, slot = a + m, s - 1, slot + 1
            if b - a > 1:
                yield TAKESHOT, a, slot
        yield turn, a, -1
        turn = YOUTURN
        if not waiting:
            return
        a, b, s, slot = waiting.pop()
        yield RESTORE, a, slot


def _segments(l: int, every: int) -> tuple[int, int]:
    """Periodic(every) over l steps: the number of segments, and of the segments whose first state
    is kept (all but a last segment of one step, which keeps nothing)."""
    segments = (l + every - 1) // every
    kept = segments - (l - (segments - 1) * every == 1) if l > 0 else 0
    return segments, kept


def _segment_rows(l: int, every: int) -> Iterator[Row]:
    """Segments a … b-1 of `every` steps: the forward sweep keeps each segment's first state
    (slots 0, 1, …) and the last segment's other states (the slots after them: the segment's
    tape). In reverse, each earlier segment is re-run from its first state to fill the tape
    again. The last state of a segment is never kept: it is current when its step turns.
    Made one row at a time (a generator), each segment's bounds when it comes."""
    if l == 0:
        return
    segments, kept = _segments(l, every)

    def record(a: int, b: int) -> Iterator[Row]:
        """From x_a (in its slot), advance to x_{b-1}, keeping x_{a+1} … x_{b-2} in the tape."""
        for k in range(a + 1, b):
            yield ADVANCE, k - 1, k
            if k < b - 1:
                yield TAKESHOT, k, kept + k - a - 1

    def reverse(a: int, b: int, slot: int, turn: int) -> Iterator[Row]:
        """From x_{b-1}, the adjoints of steps b-1 … a (the first by `turn`), restoring the others
        from the tape."""
        yield turn, b - 1, -1
        for k in range(b - 2, a - 1, -1):
            yield RESTORE, k, slot if k == a else kept + k - a - 1
            yield YOUTURN, k, -1

    for slot in range(segments):
        a = slot * every
        if slot < kept:
            yield TAKESHOT, a, slot
        if a + every < l:
            yield ADVANCE, a, a + every
    last = (segments - 1) * every
    yield from record(last, l)
    yield from reverse(last, l, segments - 1, FIRSTURN)
    for slot in range(segments - 2, -1, -1):
        a = slot * every
        yield RESTORE, a, slot
        yield from record(a, a + every)
        yield from reverse(a, a + every, slot, YOUTURN)


def _periodic_slots(l: int, every: int) -> int:
    """The slots of Periodic(every) for l steps: the first states it keeps and one segment's tape."""
    kept = _segments(l, every)[1]
    return kept + max(0, min(every, l) - 2) if l > 0 else 0


# --- lazy schedules: the next row on demand ----------------------------------------------------------
# A schedule as a small int64 array, its *state*: the row to run next in its first three entries,
# then what the generator needs to make the rows after it. `next_action(state)` replaces the row
# by the next one, in place; after the last row the row is END. The state of Binomial(s) holds,
# besides a few integers, the s steps its snapshots start from and the steps they reach (Revolve's
# stack) and each depth's last split; Periodic's a few integers: O(s) memory whatever l. The
# functions below are plain integer arithmetic on that array, compiled by Numba for the Numba
# backend (s2sad/backend/numba_runtime.py), and give exactly the rows of `actions(l)` (the rows of
# `_binomial_rows` and `_segment_rows`, a call a row: those generators stopped after each row).

END = 5  # the row after a schedule's last: its generator is done
PERIODIC, BINOMIAL = 0, 1  # the policy, in a state

# Where a state keeps what: after the row (entries 0-2), the policy, l, the count (every, or the
# snapshots, never more than l - 1 for Binomial: the same schedule), the slots, where the
# generator is (its phase), whether it has turned, and the values of each policy's loop.
_POLICY, _STEPS, _COUNT, _SLOTS, _PHASE, _TURNED = 3, 4, 5, 6, 7, 8
_A, _B, _DEPTH = 9, 10, 11                 # Binomial: steps a … b-1 to reverse; the stack's depth
_SEGMENT, _K, _KEPT, _SEGMENTS = 9, 10, 11, 12  # Periodic: the segment, the step within it
_HEADER = 13                               # Binomial's stack from here: (a, b) of each depth,
#                                            then (t, β(s', t-2), β(s', t-1), β(s', t)) of each depth's last split
_BIG = 1 << 62                             # "more than any loop's steps"


def _emit(state: np.ndarray, action: int, k: int, j: int) -> int:
    """Make (action, k, j) the state's current row; return the action."""
    state[0] = action
    state[1] = k
    state[2] = j
    return action


def _turn(state: np.ndarray, k: int) -> int:
    """The row of a turn at step k: FIRSTURN the first time, then YOUTURN."""
    action = FIRSTURN + state[_TURNED]  # (YOUTURN = FIRSTURN + 1)
    state[_TURNED] = 1
    return _emit(state, action, k, -1)


def _next_beta(b: int, s: int, t: int) -> int:
    """β(s, t) from b = β(s, t - 1), as b·(s + t)/t computed without overflowing int64: b = q·t + r
    gives q·(s + t) + r + r·s/t, the last quotient exact. _BIG when it would pass 2⁶²."""
    q = b // t
    r = b - q * t
    if q > _BIG // (s + t):
        return _BIG
    return q * (s + t) + r + r * s // t


def _previous_beta(b: int, s: int, t: int) -> int:
    """β(s, t - 1) from b = β(s, t), t ≥ 1: b·t/(s + t), computed as q·t + r·t/(s + t) with
    b = q·(s + t) + r (no product larger than b·t/(s + t) + (s + t)·t)."""
    q = b // (s + t)
    r = b - q * (s + t)
    return q * t + r * t // (s + t)


def _repetitions_near(l: int, s: int, t: int, b2: int, b1: int, b0: int) -> tuple[int, int, int, int]:
    """The repetition number t of (l, s) (β(s, t-1) < l ≤ β(s, t)) and β(s, t-2), β(s, t-1),
    β(s, t), found from those of another length with the same s by moving t up or down one at a
    time (a multiplication and an exact division a move, none when t is the same)."""
    while b0 < l:
        t += 1
        b2, b1, b0 = b1, b0, _next_beta(b0, s, t)
    while t > 0 and b1 >= l:
        t -= 1
        b0, b1 = b1, b2
        b2 = _previous_beta(b2, s, t - 1) if t >= 2 else 0
    return t, b2, b1, b0


def _split_from(l: int, b2: int, b1: int) -> int:
    """`optimal_split(l, s)` from β(s, t-2) and β(s, t-1), t the repetition number:
    min(β(s, t-1), l - β(s-1, t-1)), where β(s-1, t-1) = β(s, t-1) - β(s, t-2) (Pascal's rule)."""
    return min(b1, l - (b1 - b2))


def split(l: int, s: int) -> int:
    """`optimal_split(l, s)` in integer arithmetic alone, for l ≥ 2 and s ≥ 1, in O(t) operations."""
    t, b2, b1, b0 = _repetitions_near(l, s, 0, 0, 0, 1)
    return _split_from(l, b2, b1)


def _cached_split(state: np.ndarray, l: int, depth: int) -> int:
    """`split(l, s - depth)`, starting from the repetition number the last split at this depth
    found (kept in the state, with its β values): successive splits at one depth have about the
    same t, so that a split costs a few comparisons."""
    at = _HEADER + 2 * state[_COUNT] + 4 * depth
    t, b2, b1, b0 = _repetitions_near(l, state[_COUNT] - depth, state[at], state[at + 1], state[at + 2],
                                      state[at + 3])
    state[at], state[at + 1], state[at + 2], state[at + 3] = t, b2, b1, b0
    return _split_from(l, b2, b1)


# Binomial's phases: where `_binomial_next` resumes.
_START, _DESCEND, _ADVANCED, _TURNED_AT, _DONE = 0, 1, 2, 3, 4


def _binomial_next(state: np.ndarray) -> int:
    """The next row of `_binomial_rows` (see it: the same loop, stopped after each row). The
    left parts waiting are a stack of (a, b) by depth; at depth d the snapshots left are s - d
    and x_a is in slot d."""
    while True:
        phase = state[_PHASE]
        a, b, depth = state[_A], state[_B], state[_DEPTH]
        if phase == _START:
            if state[_STEPS] == 0:
                state[_PHASE] = _DONE
                continue
            state[_PHASE] = _DESCEND
            if state[_STEPS] > 1:
                return _emit(state, TAKESHOT, 0, 0)
        elif phase == _DESCEND:
            if b - a <= 1:
                state[_PHASE] = _TURNED_AT
                return _turn(state, a)
            m = b - a - 1 if state[_COUNT] - depth == 1 else _cached_split(state, b - a, depth)
            state[_HEADER + 2 * depth] = a
            state[_HEADER + 2 * depth + 1] = a + m
            state[_DEPTH] = depth + 1
            state[_A] = a + m
            state[_PHASE] = _ADVANCED
            return _emit(state, ADVANCE, a, a + m)
        elif phase == _ADVANCED:
            state[_PHASE] = _DESCEND
            if b - a > 1:
                return _emit(state, TAKESHOT, a, depth)
        elif phase == _TURNED_AT and depth > 0:
            depth -= 1
            a = state[_HEADER + 2 * depth]
            state[_A], state[_B], state[_DEPTH] = a, state[_HEADER + 2 * depth + 1], depth
            state[_PHASE] = _DESCEND
            return _emit(state, RESTORE, a, depth)
        else:
            state[_PHASE] = _DONE
            return _emit(state, END, -1, -1)


# Periodic's phases: the forward sweep's snapshot and advance of a segment, the recording of a
# segment's states (an advance, then a snapshot), its reversal (the turn at its last step, then a
# restore and a turn for each step before it).
_SHOOT, _SKIP, _RECORD, _RECORDED, _LAST_TURN, _BACK, _BACK_TURN = 0, 1, 2, 3, 4, 5, 6


def _periodic_next(state: np.ndarray) -> int:
    """The next row of `_segment_rows` (see it), segment by segment."""
    l, every, kept = state[_STEPS], state[_COUNT], state[_KEPT]
    while True:
        phase, segment, k = state[_PHASE], state[_SEGMENT], state[_K]
        a = segment * every
        b = min(a + every, l)
        if l == 0 or segment < 0:
            return _emit(state, END, -1, -1)
        if phase == _SHOOT:
            if segment == state[_SEGMENTS]:
                state[_SEGMENT], state[_K], state[_PHASE] = segment - 1, a - every + 1, _RECORD
                continue
            state[_PHASE] = _SKIP
            if segment < kept:
                return _emit(state, TAKESHOT, a, segment)
        elif phase == _SKIP:
            state[_SEGMENT], state[_PHASE] = segment + 1, _SHOOT
            if b < l:
                return _emit(state, ADVANCE, a, b)
        elif phase == _RECORD:
            if k >= b:
                state[_PHASE] = _LAST_TURN
                continue
            state[_PHASE] = _RECORDED
            return _emit(state, ADVANCE, k - 1, k)
        elif phase == _RECORDED:
            state[_K], state[_PHASE] = k + 1, _RECORD
            if k < b - 1:
                return _emit(state, TAKESHOT, k, kept + k - a - 1)
        elif phase == _LAST_TURN:
            state[_K], state[_PHASE] = b - 2, _BACK
            return _turn(state, b - 1)
        elif phase == _BACK:
            if k < a:
                state[_SEGMENT], state[_K], state[_PHASE] = segment - 1, a - every + 1, _RECORD
                if segment > 0:
                    return _emit(state, RESTORE, a - every, segment - 1)
                continue
            state[_PHASE] = _BACK_TURN
            return _emit(state, RESTORE, k, segment if k == a else kept + k - a - 1)
        else:
            state[_K], state[_PHASE] = k - 1, _BACK
            return _turn(state, k)


def next_action(state: np.ndarray) -> int:
    """Replace the state's row by the schedule's next row (END after the last); return its
    action."""
    if state[0] == END:
        return END
    if state[_POLICY] == BINOMIAL:
        return _binomial_next(state)
    return _periodic_next(state)


def schedule_slots(state: np.ndarray) -> int:
    """The number of snapshot slots the schedule of `state` uses."""
    return state[_SLOTS]


def _state(policy: int, l: int, count: int, slots: int, size: int) -> np.ndarray:
    """A state of `size` entries at the schedule's first row."""
    state = np.zeros(max(size, _HEADER), dtype=np.int64)
    state[0] = ADVANCE  # (any action but END: next_action makes the first row)
    state[_POLICY], state[_STEPS], state[_COUNT], state[_SLOTS] = policy, l, count, slots
    return state


def binomial_state(l: int, snapshots: int) -> np.ndarray:
    """The state of Binomial(snapshots)'s schedule for l steps, at its first row: _HEADER
    integers and six a snapshot (never more snapshots than l - 1, which give the same rows)."""
    s = min(snapshots, max(l - 1, 1))
    state = _state(BINOMIAL, l, s, min(snapshots, max(l - 1, 0)), _HEADER + 6 * s)
    state[_B] = l
    state[_HEADER + 2 * s + 3::4] = 1  # β(s, 0) = 1: each depth's split starts from t = 0
    next_action(state)
    return state


def periodic_state(l: int, every: int) -> np.ndarray:
    """The state of Periodic(every)'s schedule for l steps, at its first row."""
    segments, kept = _segments(l, every)
    state = _state(PERIODIC, l, every, _periodic_slots(l, every), _HEADER)
    state[_SEGMENTS], state[_KEPT] = segments, kept
    next_action(state)
    return state


# What the Numba backend compiles into `next_action` and the state makers, inlined: a call per row
# costs more than most rows' work.
INLINED = (_emit, _turn, _next_beta, _previous_beta, _repetitions_near, _split_from, split, _cached_split,
           _binomial_next, _periodic_next, _segments, _periodic_slots, _state, binomial_state, periodic_state)


def lazy_rows(state: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """The rows of the schedule of `state`, from its current row on, made one at a time (the
    state advances as they are taken)."""
    while state[0] != END:
        yield int(state[0]), int(state[1]), int(state[2])
        next_action(state)


# --- the Python backend's form: generators -------------------------------------------------------
# The Python backend runs the rows of `_binomial_rows` and `_segment_rows` themselves, generators
# that keep the same integers as a state (Revolve's stack, each depth's last split; a segment and a
# step), in local variables, where the state machine above would take twice as long a row.

def _split_keeping(s: int) -> Callable[[int, int, int], int]:
    """`split` at each of s depths, starting from the repetition number and β values the last
    split at that depth found (as `_cached_split` does in a state)."""
    found = [(0, 0, 0, 1)] * s  # (t, β(s', t-2), β(s', t-1), β(s', t)) a depth: t = 0 to start

    def split_at(l: int, snapshots: int, depth: int) -> int:
        t, b2, b1, b0 = found[depth] = _repetitions_near(l, snapshots, *found[depth])
        return _split_from(l, b2, b1)
    return split_at


# --- policies -----------------------------------------------------------------------------------------

class Policy:
    """What the three policies share: for a loop of `steps` iterations, `actions(steps)` is the
    schedule, `advances(steps)` the number of steps its ADVANCE rows run and
    `slots(steps)` the number of snapshot slots it uses. Generated code makes the rows one at a
    time, in O(snapshots) memory where `actions` takes O(steps): compiled code from the
    schedule's state, `start(steps)` (`lazy_rows(start(steps))` iterates them), the Python
    backend by a generator, `rows(steps)`."""

    def actions(self, steps: int) -> np.ndarray:
        return self._actions(_steps(steps))

    def start(self, steps: int) -> np.ndarray:
        """The state of the schedule, at its first row (see `next_action`)."""
        return self._start(_steps(steps))

    def rows(self, steps: int) -> Iterator[Row]:
        """The rows of `actions(steps)`, made one at a time by a generator (the Python backend's)."""
        return self._rows(_steps(steps))

    def advances(self, steps: int) -> int:
        return self._advances(_steps(steps))

    def slots(self, steps: int) -> int:
        return self._slots(_steps(steps))

    def _actions(self, l: int) -> np.ndarray:
        return _array(self._rows(l))

    def _rows(self, l: int) -> Iterator[Row]:
        raise NotImplementedError

    def _start(self, l: int) -> np.ndarray:
        raise NotImplementedError

    def _advances(self, l: int) -> int:
        raise NotImplementedError

    def _slots(self, l: int) -> int:
        raise NotImplementedError


@dataclass(frozen=True)
class StoreAll(Policy):
    """Keep every state the reverse sweep needs (the default): x_0 … x_{l-2} in l - 1 snapshots,
    x_{l-1} being current at the turn. No step is evaluated twice: the forward sweep's l - 1
    advances (and the step to the result) are all."""

    def _rows(self, l: int) -> Iterator[Row]:
        return _segment_rows(l, 1)

    def _start(self, l: int) -> np.ndarray:
        return periodic_state(l, 1)

    def _advances(self, l: int) -> int:
        return max(l - 1, 0)

    def _slots(self, l: int) -> int:
        return max(l - 1, 0)


@dataclass(frozen=True)
class Periodic(Policy):
    """Keep every `every`-th state, x_0, x_k, x_2k, … (k = every); in reverse, re-run each
    segment of k steps from its first state, keeping its states for its adjoints (a tape of
    k - 2 snapshots: the segment's last state is current when its step turns).

    For l steps in n = ⌈l / k⌉ segments this costs l - 1 + (n - 1)(k - 1) advances (every segment
    but the last is run twice) and at most n + max(0, min(k, l) - 2) snapshots."""

    every: int

    def __post_init__(self) -> None:
        every = _count("Periodic", "every", self.every, 1, "the number of steps between kept states")
        object.__setattr__(self, "every", every)

    def _rows(self, l: int) -> Iterator[Row]:
        return _segment_rows(l, self.every)

    def _start(self, l: int) -> np.ndarray:
        return periodic_state(l, self.every)

    def _advances(self, l: int) -> int:
        segments = -(-l // self.every)
        return max(l - 1, 0) + max(segments - 1, 0) * (self.every - 1)

    def _slots(self, l: int) -> int:
        return _periodic_slots(l, self.every)


@dataclass(frozen=True)
class Binomial(Policy):
    """Revolve's binomial schedule with `snapshots` snapshots (Griewank & Walther 2000): the
    fewest step evaluations any schedule with that many snapshots can make, p(l, s) advances
    (`binomial_cost`). Memory is fixed by s, whatever l; the cost grows like l·t, where
    t ≈ (s!·l)^(1/s) is the number of times a step is evaluated."""

    snapshots: int

    def __post_init__(self) -> None:
        snapshots = _count("Binomial", "snapshots", self.snapshots, 1, "the number of states kept at once")
        object.__setattr__(self, "snapshots", snapshots)

    def _actions(self, l: int) -> np.ndarray:
        """From Revolve's splits as the theory gives them (`optimal_split`)."""
        return _array(_binomial_rows(l, self.snapshots, lambda n, s, depth: optimal_split(n, s)))

    def _rows(self, l: int) -> Iterator[Row]:
        s = min(self.snapshots, max(l - 1, 1))  # (as in its state: the same rows)
        return _binomial_rows(l, s, _split_keeping(s))

    def _start(self, l: int) -> np.ndarray:
        return binomial_state(l, self.snapshots)

    def _advances(self, l: int) -> int:
        return binomial_cost(l, self.snapshots)

    def _slots(self, l: int) -> int:
        return min(self.snapshots, max(l - 1, 0))


# --- the reference interpreter --------------------------------------------------------------------

State = tuple
Seed = Union[State, Callable[[State], State]]


@dataclass
class RunStats:
    """What `run_schedule` counted."""

    advances: int = 0        # steps run by ADVANCE rows (p(l, s) for Binomial)
    step_calls: int = 0      # calls of `step`: the advances, and one to the loop's result
    turns: list[int] = field(default_factory=list)  # the steps whose adjoint was taken, in order
    peak_snapshots: int = 0  # slots that held a state (no slot is freed: this is the peak)


def _copy(state: State) -> State:
    """A state whose arrays are copies: a snapshot is not changed by steps that write in place."""
    return tuple(np.array(x, copy=True) if isinstance(x, np.ndarray) else x for x in state)


def _check(ok: bool, row: int, what: str) -> None:
    if not ok:
        raise ValueError(f"schedule row {row}: {what}")


def run_schedule(actions: np.ndarray | Iterable[tuple[int, int, int]], state0: State,
                 step: Callable[[State, int], State], step_adjoint: Callable[[State, int, State], State], seed: Seed
                 ) -> tuple[State, State, RunStats]:
    """Run a schedule in plain Python: the reference for the loop generated code runs.

    `step(x_k, k)` returns x_{k+1}; `step_adjoint(x_k, k, x̄_{k+1})` returns x̄_k (it evaluates
    the step again itself if it needs the step's intermediate values). States are tuples of
    floats and arrays; snapshots and restores copy the arrays. `seed` is the adjoint of the
    loop's result, or a function of the result that returns it.

    Returns the loop's result x_l, the adjoint x̄_0 and the `RunStats`. Every row is checked
    against the state the interpreter holds (a wrong schedule raises ValueError). `actions` may
    also be the rows one at a time (`policy.rows(l)`)."""
    stats = RunStats()
    slots: dict[int, tuple[int, State]] = {}  # slot → (k, x_k)
    k_now, state = 0, _copy(state0)
    result, bar = state, None

    def advance(state: State, start: int, stop: int) -> State:
        for k in range(start, stop):
            state = step(state, k)
        stats.step_calls += stop - start
        return state

    for row, (action, k, j) in enumerate(actions.tolist() if isinstance(actions, np.ndarray) else actions):
        if action == ADVANCE:
            _check(k == k_now and j > k, row, f"advances from x_{k} to x_{j}, the state is x_{k_now}")
            state, k_now = advance(state, k, j), j
            stats.advances += j - k
        elif action == TAKESHOT:
            _check(k == k_now, row, f"keeps x_{k}, the state is x_{k_now}")
            slots[j] = (k, _copy(state))
        elif action == RESTORE:
            _check(slots.get(j, (None,))[0] == k, row, f"restores x_{k} from slot {j}, which does not hold it")
            state, k_now = _copy(slots[j][1]), k
        else:
            _check(action in (FIRSTURN, YOUTURN) and k == k_now, row, f"turns step {k} at x_{k_now}")
            if action == FIRSTURN:
                result = advance(state, k, k + 1)
                bar = seed(result) if callable(seed) else seed
            bar = step_adjoint(state, k, bar)
            stats.turns.append(k)
    if bar is None:  # no steps: the result is x_0
        bar = seed(result) if callable(seed) else seed
    stats.peak_snapshots = len(slots)
    return result, bar, stats


# --- the per-loop marker ---------------------------------------------------------------------------

def checkpointed(iterable, *, snapshots: int | None = None, every: int | None = None):
    """Mark a loop for checkpointing in the source::

        for t in s2sad.checkpointed(range(n), snapshots=8):   # Binomial(snapshots=8)
        for t in s2sad.checkpointed(range(n), every=20):      # Periodic(every=20)

    Run undifferentiated, it returns `iterable` unchanged (after checking its arguments). The
    reverse transform reverses the marked loop by the policy it names, whatever the function's
    `checkpoint=` option; the marker goes on loops at the top level of the function."""
    marker_policy(snapshots, every)
    return iterable


def marker_policy(snapshots: Any = None, every: Any = None) -> Policy:
    """The policy `checkpointed(…, snapshots=s)` or `checkpointed(…, every=k)` names."""
    if (snapshots is None) == (every is None):
        raise S2SADError("s2sad.checkpointed(range(n), snapshots=s) or s2sad.checkpointed(range(n), every=k): "
                         "give one of snapshots (Binomial) and every (Periodic)")
    return Binomial(snapshots) if every is None else Periodic(every)
