"""Checkpointing schedules (s2sad/checkpoint.py): the Binomial schedule's cost against the
Griewank–Walther optimum and a brute-force search, the Periodic and StoreAll costs against
their formulas, gradients through each schedule (in Python and in a Numba-compiled
interpreter), and the policies' argument checks."""

from dataclasses import FrozenInstanceError

import numba
import numpy as np
import pytest

from numeric import fd
from s2sad import S2SADError
from s2sad import runtime
from s2sad.checkpoint import (ADVANCE, END, FIRSTURN, RESTORE, TAKESHOT, YOUTURN, Binomial, Periodic,
                              StoreAll, beta, binomial_cost, format_schedule, lazy_rows, next_action,
                              optimal_split, run_schedule, first_turn, snapshot_slots, split)


def trivial(state, k):
    """A step that changes nothing: for counting."""
    return state


def trivial_adjoint(state, k, bar):
    return bar


def run_counting(policy, l):
    """Run `policy`'s schedule for l steps with trivial steps; return its RunStats."""
    return run_schedule(policy.actions(l), (0.0,), trivial, trivial_adjoint, (1.0,))[2]


def check_run(policy, l, advances):
    """The schedule's run makes `advances` advances, one more step for the result, uses the
    slots the policy announces, and takes each step's adjoint once, last step first."""
    stats = run_counting(policy, l)
    assert stats.advances == advances == policy.advances(l), (policy, l)
    assert stats.step_calls == advances + (l > 0)
    assert stats.peak_snapshots == policy.slots(l), (policy, l)
    assert stats.turns == list(range(l - 1, -1, -1)), (policy, l)


# --- the Binomial schedule is optimal --------------------------------------------------------------

def brute_force_costs(most_steps, most_snapshots):
    """p[l][s]: the fewest advances reversing l steps with s snapshots, over every first split
    m (advance m steps, reverse the rest with s - 1 snapshots, then the first m with s)."""
    never = 10 ** 9
    p = [[0] * (most_snapshots + 1) for _ in range(most_steps + 1)]
    for l in range(2, most_steps + 1):
        p[l][0] = never
        for s in range(1, most_snapshots + 1):
            p[l][s] = min(m + p[m][s] + p[l - m][s - 1] for m in range(1, l))
    return p


def test_binomial_cost_is_the_brute_force_optimum():
    p = brute_force_costs(80, 8)
    for l in range(81):
        for s in range(1, 9):
            assert binomial_cost(l, s) == p[l][s], (l, s)


def test_binomial_cost_by_hand():
    assert [beta(2, t) for t in range(-1, 4)] == [0, 1, 3, 6, 10]
    assert binomial_cost(2, 1) == 1           # advance one step, turn, restore x_0, turn
    assert binomial_cost(10, 1) == 45         # one snapshot: 9 + 8 + … + 1
    assert binomial_cost(7, 2) == 3 * 7 - 10  # t = 3: β(2, 2) = 6 < 7 ≤ β(2, 3) = 10
    assert binomial_cost(100, 99) == binomial_cost(100, 1000) == 99  # enough to keep every state


def test_binomial_schedules_cost_the_optimum():
    for l in range(201):
        for s in range(1, 11):
            check_run(Binomial(s), l, binomial_cost(l, s))


@pytest.mark.parametrize("l, s", [(20_000, 4), (100_000, 10), (5_000, 3000)])
def test_binomial_schedules_for_long_loops(l, s):
    actions = Binomial(s).actions(l)
    advancing = actions[actions[:, 0] == ADVANCE]
    assert int((advancing[:, 2] - advancing[:, 1]).sum()) == binomial_cost(l, s)
    assert snapshot_slots(actions) == min(s, l - 1)
    turns = actions[np.isin(actions[:, 0], (FIRSTURN, YOUTURN)), 1]
    np.testing.assert_array_equal(turns, np.arange(l - 1, -1, -1))


def test_binomial_schedule_by_hand():
    assert format_schedule(Binomial(2).actions(4)).splitlines() == [
        "TAKESHOT 0 0", "ADVANCE 0 2", "TAKESHOT 2 1", "ADVANCE 2 3", "FIRSTURN 3", "RESTORE 2 1",
        "YOUTURN 2", "RESTORE 0 0", "ADVANCE 0 1", "YOUTURN 1", "RESTORE 0 0", "YOUTURN 0"]


# --- Periodic and StoreAll -----------------------------------------------------------------------

def periodic_advances(l, k):
    """l - 1 advances forward, and every segment of k steps but the last re-run (k - 1 each)."""
    return max(l - 1, 0) + max(-(-l // k) - 1, 0) * (k - 1)


def test_periodic_schedules_cost_their_formula():
    for l in range(61):
        for k in range(1, 13):
            check_run(Periodic(k), l, periodic_advances(l, k))


def test_periodic_memory_is_segment_starts_and_one_tape():
    # 1000 steps every 50: 20 first states and a tape of 48 states (the 50th is current)
    assert Periodic(50).slots(1000) == 20 + 48
    assert Periodic(50).advances(1000) == 999 + 19 * 49


def test_store_all_keeps_every_state_and_evaluates_each_step_once():
    for l in range(30):
        check_run(StoreAll(), l, max(l - 1, 0))


def test_policies_agree_when_memory_suffices():
    for l in range(12):
        store_all = StoreAll().actions(l)
        for policy in (Periodic(1), Periodic(max(l, 1)), Periodic(l + 5), Binomial(max(l - 1, 1)),
                       Binomial(l + 3)):
            np.testing.assert_array_equal(policy.actions(l), store_all, err_msg=f"{policy}, {l} steps")


def test_the_forward_sweep_ends_at_the_first_turn():
    for policy in (StoreAll(), Periodic(4), Binomial(3)):
        actions = policy.actions(17)
        turn = first_turn(actions)
        assert actions[turn, 0] == FIRSTURN and actions[turn, 1] == 16
        assert set(actions[:turn, 0]) <= {ADVANCE, TAKESHOT}        # nothing restored going forward
        assert FIRSTURN not in actions[turn + 1:, 0]
    assert first_turn(StoreAll().actions(0)) == 0 and len(StoreAll().actions(0)) == 0


def test_the_interpreter_refuses_an_inconsistent_schedule():
    actions = Binomial(2).actions(6)
    wrong = actions[actions[:, 0] != RESTORE]  # advances from a state it no longer holds
    with pytest.raises(ValueError, match="advances from x_3 to x_4, the state is x_5"):
        run_schedule(wrong, (0.0,), trivial, trivial_adjoint, (1.0,))
    wrong = actions.copy()
    wrong[actions[:, 0] == TAKESHOT, 2] += 1   # keeps states in other slots than it restores from
    with pytest.raises(ValueError, match="does not hold"):
        run_schedule(wrong, (0.0,), trivial, trivial_adjoint, (1.0,))


# --- the rows made one at a time: from the schedule's state, and by a generator ----------------------

def lazy_actions(state):
    """The rows `next_action` makes from `state`, as an array like `actions(l)`."""
    return np.array(list(lazy_rows(state)), dtype=np.int64).reshape(-1, 3)


def generated_actions(rows):
    """The rows of a generator (`policy.rows(l)`), as an array like `actions(l)`."""
    return np.array(list(rows), dtype=np.int64).reshape(-1, 3)


def python_backend_actions(schedule):
    """The rows the Python backend's schedule (`runtime.binomial_schedule`, …) gives, read and
    advanced as generated code does, as an array like `actions(l)`."""
    rows = []
    while schedule[0] != END:
        rows.append((schedule[0], schedule[1], schedule[2]))
        runtime.next_action(schedule)
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def test_split_is_the_optimal_split():
    for l in range(2, 401):
        for s in range(1, 13):
            assert split(l, s) == optimal_split(l, s), (l, s)
    for l, s in [(10 ** 4, 1), (10 ** 7, 2), (10 ** 7, 10), (2 ** 40, 3), (2 ** 40, 10 ** 6), (2 ** 61, 5),
                 (2 ** 61, 100), (2 ** 61, 10 ** 6)]:  # (checked against Python's exact integers)
        assert split(l, s) == optimal_split(l, s), (l, s)


def test_lazy_rows_are_the_binomial_schedule():
    """Both lazy forms (the state machine, and the generator with each depth's last split kept)
    against `actions`, made from the theory's splits."""
    for l in range(301):
        for s in range(1, 11):
            actions = Binomial(s).actions(l)
            np.testing.assert_array_equal(lazy_actions(Binomial(s).start(l)), actions,
                                          err_msg=f"Binomial({s}), {l} steps")
            np.testing.assert_array_equal(generated_actions(Binomial(s).rows(l)), actions,
                                          err_msg=f"Binomial({s}), {l} steps, generator")


def test_lazy_rows_are_the_periodic_schedule():
    for l in range(121):
        for policy in [StoreAll()] + [Periodic(k) for k in range(1, 13)] + [Periodic(l + 2)]:
            np.testing.assert_array_equal(lazy_actions(policy.start(l)), policy.actions(l), err_msg=f"{policy}, {l}")


@pytest.mark.parametrize("policy, l", [(Binomial(4), 20_000), (Binomial(10), 100_000), (Binomial(3000), 5_000),
                                       (Binomial(1), 700), (Binomial(2), 30_001), (Periodic(97), 100_000)])
def test_lazy_rows_of_long_loops(policy, l):
    actions = policy.actions(l)
    np.testing.assert_array_equal(lazy_actions(policy.start(l)), actions)
    np.testing.assert_array_equal(python_backend_actions(runtime.binomial_schedule(l, policy.snapshots)
                                                         if isinstance(policy, Binomial) else
                                                         runtime.periodic_schedule(l, policy.every)), actions)


def test_the_python_backends_schedule_counts_as_the_compiled_state():
    """Its slots and bytes (tape_bytes) are those of the state compiled code holds, which keeps
    the integers the generator keeps."""
    for l in (0, 1, 2, 7, 10 ** 6):
        for policy, schedule in ((Binomial(10), runtime.binomial_schedule(l, 10)),
                                 (Periodic(20), runtime.periodic_schedule(l, 20))):
            assert runtime.schedule_slots(schedule) == policy.slots(l), (policy, l)
            assert schedule.nbytes == policy.start(l).nbytes, (policy, l)


def test_the_rows_run_through_the_interpreter():
    for l in (0, 1, 2, 9, 64):
        for policy in (Binomial(1), Binomial(3), Periodic(4), StoreAll()):
            for rows in (policy.rows(l), lazy_rows(policy.start(l))):
                stats = run_schedule(rows, (0.0,), trivial, trivial_adjoint, (1.0,))[2]
                assert stats.advances == policy.advances(l) and stats.turns == list(range(l - 1, -1, -1))


def test_the_state_is_small_whatever_the_steps():
    """Binomial(s): 13 integers and six a snapshot (Revolve's stack, and each depth's last split);
    never more snapshots than l - 1 (the same rows). Periodic: 13 integers."""
    for l in (100, 10 ** 7, 10 ** 15):
        assert Binomial(10).start(l).nbytes == 8 * (13 + 6 * 10)
        assert Periodic(50).start(l).nbytes == 8 * 13
    assert Binomial(10 ** 6).start(5).size == 13 + 6 * 4


def test_the_state_goes_on_giving_the_end():
    state = Binomial(2).start(3)
    assert [tuple(row) for row in lazy_rows(state)] == [tuple(row) for row in Binomial(2).actions(3)]
    assert state[0] == END and next_action(state) == END and state[0] == END
    schedule = runtime.binomial_schedule(3, 2)
    python_backend_actions(schedule)
    assert runtime.next_action(schedule) == END and schedule[0] == END


def test_rows_of_a_loop_too_long_to_list():
    """The first rows of a schedule of 10¹² steps: the split of Revolve's recursion at each depth."""
    l, s = 10 ** 12, 10
    for rows in (Binomial(s).rows(l), lazy_rows(Binomial(s).start(l))):
        assert next(rows) == (TAKESHOT, 0, 0)
        a = 0
        for depth in range(3):
            m = optimal_split(l - a, s - depth)
            assert next(rows) == (ADVANCE, a, a + m)
            a += m
            assert next(rows) == (TAKESHOT, a, depth + 1)


@numba.njit
def compiled_rows(state, most):
    """The rows the compiled `next_action` makes from `state` (at most `most`)."""
    out = np.empty((most, 3), dtype=np.int64)
    n = 0
    while state[0] != END and n < most:
        out[n] = state[:3]
        runtime.next_action(state)
        n += 1
    return out[:n]


@numba.njit
def compiled_state(l, s, binomial):
    return runtime.binomial_schedule(l, s) if binomial else runtime.periodic_schedule(l, s)


@pytest.mark.numba
def test_compiled_rows_are_the_schedule():
    import s2sad.backend.numba_runtime  # noqa: F401  (registers the compiled forms)
    for policy, l in [(Binomial(1), 50), (Binomial(3), 1000), (Binomial(10), 100_000), (Binomial(200), 150),
                      (Periodic(1), 40), (Periodic(7), 1000), (Periodic(97), 10_000)]:
        binomial = isinstance(policy, Binomial)
        state = compiled_state(l, policy.snapshots if binomial else policy.every, binomial)
        np.testing.assert_array_equal(state, policy.start(l))
        actions = policy.actions(l)
        np.testing.assert_array_equal(compiled_rows(state, actions.shape[0] + 1), actions, err_msg=str(policy))
    big = compiled_state(2 ** 40, 3, True)  # (the split in int64, without overflow)
    assert tuple(compiled_rows(big, 2)[1]) == (ADVANCE, 0, optimal_split(2 ** 40, 3))


# --- gradients through the schedules --------------------------------------------------------------

DT, CUBIC, FORCE = 0.05, 0.3, 0.5


def oscillator_step(s, k):
    """One explicit Euler step of a forced, damped Duffing oscillator; the state carries its
    parameters, s = [x, v, stiffness, damping], so their adjoints come out of x̄_0."""
    x, v, stiffness, damping = s[0], s[1], s[2], s[3]
    out = s.copy()
    out[0] = x + DT * v
    out[1] = v + DT * (-stiffness * x - damping * v - CUBIC * x ** 3 + FORCE * np.sin(0.3 * k))
    return out


def oscillator_step_adjoint(s, k, bar):
    """x̄_k from x̄_{k+1} for `oscillator_step` at x_k = s."""
    x, v, stiffness, damping = s[0], s[1], s[2], s[3]
    out = bar.copy()
    out[0] = bar[0] + bar[1] * DT * (-stiffness - 3.0 * CUBIC * x ** 2)
    out[1] = bar[0] * DT + bar[1] * (1.0 - DT * damping)
    out[2] = bar[2] - bar[1] * DT * x
    out[3] = bar[3] - bar[1] * DT * v
    return out


START = np.array([1.0, 0.3, 2.0, 0.1])
SEED = np.array([1.0, 0.0, 0.0, 0.0])  # the gradient of the final position
STEPS = 150
POLICIES = [StoreAll(), Periodic(1), Periodic(7), Periodic(150), Periodic(400), Binomial(1),
            Binomial(3), Binomial(10), Binomial(200)]


def final_position(*start):
    state = np.array(start)
    for k in range(STEPS):
        state = oscillator_step(state, k)
    return state[0]


def python_gradient(policy):
    """(x_l, x̄_0) from the reference interpreter; states are 1-tuples of arrays."""
    (result,), (bar,), _ = run_schedule(
        policy.actions(STEPS), (START,), lambda s, k: (oscillator_step(s[0], k),),
        lambda s, k, b: (oscillator_step_adjoint(s[0], k, b[0]),), (SEED,))
    return result, bar


def test_gradients_agree_across_policies_and_with_finite_differences():
    reference, gradient = python_gradient(StoreAll())
    expected = [fd(final_position, START, k) for k in range(4)]
    np.testing.assert_allclose(gradient, expected, rtol=1e-6)
    for policy in POLICIES:
        result, bar = python_gradient(policy)
        np.testing.assert_allclose(result, reference, rtol=1e-12, err_msg=str(policy))
        np.testing.assert_allclose(bar, gradient, rtol=1e-12, err_msg=str(policy))


def test_snapshots_are_copies():
    """A step that updates its array in place does not change what the snapshots hold."""
    def scale_in_place(s, k):
        s[0] *= 1.5
        return s

    def adjoint(s, k, bar):
        return (bar[0] * 1.5,)

    (result,), (bar,), _ = run_schedule(Binomial(2).actions(9), (np.array([2.0]),),
                                        lambda s, k: (scale_in_place(s[0], k),), adjoint, (np.ones(1),))
    np.testing.assert_allclose([result[0], bar[0]], [2.0 * 1.5 ** 9, 1.5 ** 9], rtol=1e-15)


# The loop generated code will run: one `if` per action, the steps compiled with it.
@numba.njit
def run_compiled(actions, state0, slots, step, step_adjoint, seed):
    snapshots = np.empty((slots, state0.size))
    state, result, bar = state0.copy(), state0.copy(), seed.copy()
    row = 0
    while row < actions.shape[0]:
        action, k, j = actions[row, 0], actions[row, 1], actions[row, 2]
        if action == ADVANCE:
            for i in range(k, j):
                state = step(state, i)
        elif action == TAKESHOT:
            snapshots[j] = state
        elif action == RESTORE:
            state = snapshots[j].copy()
        else:  # FIRSTURN or YOUTURN
            if action == FIRSTURN:
                result = step(state, k)
            bar = step_adjoint(state, k, bar)
        row += 1
    return result, bar


@pytest.mark.numba
def test_compiled_interpreter_gives_the_same_gradients():
    step, step_adjoint = numba.njit(oscillator_step), numba.njit(oscillator_step_adjoint)
    for policy in POLICIES:
        actions = policy.actions(STEPS)
        result, bar = run_compiled(actions, START, policy.slots(STEPS), step, step_adjoint, SEED)
        reference, gradient = python_gradient(policy)
        np.testing.assert_allclose(result, reference, rtol=1e-12, err_msg=str(policy))
        np.testing.assert_allclose(bar, gradient, rtol=1e-12, err_msg=str(policy))


# --- arguments ------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, message", [
    (lambda: Binomial(0), "snapshots=0; snapshots must be at least 1"),
    (lambda: Binomial(-2), "must be at least 1"),
    (lambda: Binomial(2.0), "snapshots=2.0 is not an integer"),
    (lambda: Binomial(True), "is not an integer"),
    (lambda: Binomial("3"), "is not an integer"),
    (lambda: Periodic(0), "every=0; every must be at least 1"),
    (lambda: Periodic(2.5), "every=2.5 is not an integer"),
    (lambda: Periodic(None), "is not an integer"),
    (lambda: StoreAll().actions(-1), "steps=-1"),
    (lambda: Binomial(2).advances(3.0), "steps=3.0 is not an integer"),
    (lambda: binomial_cost(5, 0), "s=0"),
])
def test_bad_arguments_are_refused(make, message):
    with pytest.raises(S2SADError, match=message.replace("(", r"\(").replace(".", r"\.")):
        make()


def test_policies_are_frozen_values():
    assert Binomial(np.int64(3)) == Binomial(3) and type(Binomial(np.int64(3)).snapshots) is int
    assert len({Periodic(4), Periodic(4), StoreAll(), StoreAll()}) == 2
    with pytest.raises(FrozenInstanceError):
        Binomial(3).snapshots = 4
