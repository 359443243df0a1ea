"""Checkpointed loops in reverse mode (`grad(..., checkpoint=policy)` and the per-loop marker
`s2sad.checkpointed`, transforms/checkpointed.py): the same gradients under every policy, against
finite differences too, under both backends; the steps run again equal the policy's
`advances(l)`; while loops; and what is refused."""

import numpy as np
import pytest

import s2sad
from s2sad.checkpoint import binomial_cost
from loop_funcs import (branch_in_first_steps, crank_nicolson, grow_until, heat_misfit, newton_sqrt, oscillator,
                        power_iteration, rnn_final, rnn_total, two_while_loops)
from numeric import fd

POLICIES = [s2sad.Periodic(1), s2sad.Periodic(2), s2sad.Periodic(3), s2sad.Periodic(50),
            s2sad.Binomial(1), s2sad.Binomial(2), s2sad.Binomial(4)]


def nested(x, n):
    """A loop whose body has a loop of its own (taped inside each step's adjoint)."""
    s = x
    for t in range(n):
        acc = 0.0
        for m in range(3):
            acc = acc + np.sin(s * (m + 1.0))
        s = s + 0.1 * acc
    return s


def _rng():
    return np.random.default_rng(6)


def _cases():
    """(function, arguments, wrt, loop length l)."""
    rng = _rng()
    W, U, h0, xs = 0.5 * rng.random((3, 3)), rng.random((3, 2)), rng.random(3), rng.random((7, 2))
    return {
        "oscillator": (oscillator, (1.3, 0.5, 0.1, 0.2, 0.05, 10), (0, 1, 2, 3, 4), 10),
        "heat": (heat_misfit, (rng.random(8), rng.random(8), 0.2, 9), (0, 1, 2), 9),
        "rnn_final": (rnn_final, (W, U, h0, xs), (0, 1, 2, 3), 7),
        "rnn_total": (rnn_total, (W, U, h0, xs), (0, 1, 2, 3), 7),
        "nested": (nested, (0.7, 6), (0,), 6),
    }


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_policies_give_the_same_gradient(each_backend, name):
    f, args, wrt, l = CASES[name]
    reference = s2sad.grad(f, wrt=wrt)(*args)
    for policy in POLICIES:
        g = s2sad.grad(f, wrt=wrt, checkpoint=policy)
        got = g(*args)
        for a, b in zip(reference, got, strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=0, err_msg=f"{name} {policy}")
        assert g.advances == policy.advances(l), (name, policy)


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_finite_differences(name):
    f, args, wrt, l = CASES[name]
    got = s2sad.grad(f, wrt=wrt, checkpoint=s2sad.Binomial(2))(*args)
    for k, g in zip(wrt, got, strict=True):
        np.testing.assert_allclose(g, fd(f, args, k), rtol=1e-6, atol=1e-7, err_msg=f"{name} wrt {k}")


# Steps whose inner loops fill arrays later ones read, or whose branches leave tape entries empty.
INNER = {"crank_nicolson": (crank_nicolson, (np.sin(np.linspace(0.3, 2.8, 6)), 0.4, 5), (0, 1)),
         "two_while_loops": (two_while_loops, (0.5, 0.4), (0, 1)),
         "branch_in_first_steps": (branch_in_first_steps, (np.array([0.3, -0.2]), 0.4, 20), (0, 1))}


@pytest.mark.parametrize("name", sorted(INNER))
def test_steps_with_inner_loops_and_branches(each_backend, name):
    """Against finite differences: under both policies in Python, and one compiled by Numba."""
    f, args, wrt = INNER[name]
    policies = [s2sad.Periodic(2), s2sad.Binomial(2)] if each_backend == "python" else [s2sad.Binomial(2)]
    for policy in policies:
        got = s2sad.grad(f, wrt=wrt, checkpoint=policy)(*args)
        for k, g in zip(wrt, got, strict=True):
            np.testing.assert_allclose(g, fd(f, args, k), rtol=1e-6, atol=1e-7, err_msg=f"{name} {policy} wrt {k}")


@pytest.mark.parametrize("steps", [0, 1, 2, 5])
def test_short_loops(each_backend, steps):
    args = (1.3, 0.5, 0.1, 0.2, 0.05, steps)
    reference = s2sad.grad(oscillator, wrt=(0, 1, 2))(*args)
    for policy in (s2sad.Periodic(2), s2sad.Binomial(1), s2sad.Binomial(3)):
        g = s2sad.value_and_grad(oscillator, wrt=(0, 1, 2), checkpoint=policy)
        value, got = g(*args)
        assert value == oscillator(*args)
        np.testing.assert_allclose(got, reference, rtol=1e-12, atol=0)
        assert g.advances == policy.advances(steps)


def test_snapshots_take_less_memory_than_tapes():
    f, args, wrt, l = CASES["heat"]
    taped = s2sad.grad(f, wrt=wrt)
    taped(*args)
    few = s2sad.grad(f, wrt=wrt, checkpoint=s2sad.Binomial(2))
    few(*args)
    assert 0 < few.tape_bytes < taped.tape_bytes


def test_the_source_shows_the_schedule():
    source = s2sad.derivative_source(oscillator, wrt=1, args=(1.3, 0.5, 0.1, 0.2, 0.05, 10),
                                     checkpoint=s2sad.Binomial(2))
    assert "binomial_schedule(" in source and "snap_x[j] = x" in source and "x = snap_x[j]" in source
    assert "next_action(schedule)" in source and "actions" not in source  # (rows made one at a time)


def euler_sin(x0, dt, steps):
    x = x0
    for t in range(steps):
        x = x + dt * np.sin(x)
    return x


@pytest.mark.parametrize("backend, steps", [("python", 20_000),
                                            pytest.param("numba", 1_000_000, marks=pytest.mark.numba)])
def test_a_long_loop_holds_its_snapshots_and_no_schedule(backend, steps):
    """Binomial(10) holds 10 snapshots and its schedule's state (73 integers) whatever the number
    of steps: its tape bytes say so, and so does the memory allocated during a call (tracemalloc
    sees what Numba-compiled code allocates too), where an array of the schedule's rows would take
    about 3.4 rows of 24 bytes a step (1.6 MB for 20 000 steps, 83 MB for 10⁶)."""
    import tracemalloc
    policy = s2sad.Binomial(10)
    g = s2sad.grad(euler_sin, wrt=0, backend=backend, checkpoint=policy)
    g(0.3, 1e-3, 10)  # (compiled, and the runtime's helpers imported)
    tracemalloc.start()
    try:
        got = g(0.3, 1e-7, steps)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert g.tape_bytes == 8 * 10 + 8 * (13 + 6 * 10) and g.advances == policy.advances(steps)
    assert peak < 50_000, peak
    assert got == s2sad.grad(euler_sin, wrt=0, backend=backend)(0.3, 1e-7, steps)  # (StoreAll's, to the bit)


@pytest.mark.parametrize("policy, steps", [(s2sad.Binomial(10), 5_000), (s2sad.Binomial(3), 200),
                                           (s2sad.Binomial(1), 40), (s2sad.Periodic(7), 300)])
def test_the_steps_run_and_the_rows_made_counted(monkeypatch, policy, steps):
    """Counted by instrumenting the Python backend's derivative of `euler_sin`, which calls np.sin
    once a step it runs forward (a turn needs cos alone): the steps run are the ADVANCE rows'
    `advances(l)` (binomial_cost(l, s) for Binomial) and the step to the result, where StoreAll
    runs each of the l steps once; and the schedule is asked for each row once, not once a step:
    its generator gives the rows of `actions(l)`, in order, and no more."""
    args = (0.3, 1e-3, steps)
    taped = s2sad.grad(euler_sin, wrt=0, backend="python")
    g = s2sad.grad(euler_sin, wrt=0, backend="python", checkpoint=policy)
    expected = taped(*args)
    g(0.3, 1e-3, 3)  # (differentiated and imported before counting)
    sin, made_by, calls, rows = np.sin, type(policy).rows, [], []

    def counted_sin(x):
        calls.append(x)
        return sin(x)

    def counted_rows(self, l):
        for row in made_by(self, l):
            rows.append(row)
            yield row

    monkeypatch.setattr(np, "sin", counted_sin)
    monkeypatch.setattr(type(policy), "rows", counted_rows)
    got = g(*args)
    evaluations = len(calls)
    calls.clear()
    assert taped(*args) == expected and len(calls) == steps
    assert got == expected  # (to the bit)
    assert evaluations == policy.advances(steps) + 1 == g.advances + 1
    if isinstance(policy, s2sad.Binomial):
        assert evaluations == binomial_cost(steps, policy.snapshots) + 1
    assert rows == [tuple(row) for row in policy.actions(steps).tolist()]


def test_forward_mode_ignores_the_policy():
    f, args, wrt, l = CASES["oscillator"]
    got = s2sad.grad(f, wrt=wrt, mode="forward", checkpoint=s2sad.Binomial(2))(*args)
    np.testing.assert_allclose(got, s2sad.grad(f, wrt=wrt)(*args), rtol=1e-12)


def stochastic_oscillator(x, sigma, n):
    """Euler–Maruyama steps with a Generator made in the function: numbers and vectors drawn,
    with parameters that carry derivatives (loc, scale)."""
    rng = np.random.default_rng(0)
    for t in range(n):
        x = x + 0.1 * np.sin(x) + sigma * rng.normal(0.0, 0.3, x.shape[0]) + 0.01 * rng.standard_normal()
    return np.sum(x ** 2)


def legacy_stream_walk(x, sigma, n):
    np.random.seed(3)
    s = 0.0
    for t in range(n):
        x = x + 0.1 * np.tanh(x) + sigma * np.random.normal(0.0, 1.0, 3)
        s = s + np.sum(x) * np.random.uniform(0.5, 1.5)
    return s + np.random.standard_normal()  # (the stream after the loop: where NumPy's would be)


def reparameterised_draws(mu, sigma, n):
    """Draws whose loc, scale and bounds are differentiated (a reparameterised Monte Carlo)."""
    rng = np.random.default_rng(4)
    total = 0.0
    for t in range(n):
        total = total + np.sum(rng.normal(mu, np.exp(sigma), 3) ** 2) + rng.uniform(mu, mu + np.cosh(sigma))
    return total / n


def multiplicative_noise(x, rng, n):
    for t in range(n):
        x = 0.9 * x + 0.2 * rng.standard_normal((2, 2)) @ x
    return np.sum(x)


def draws_in_a_branch(x, sigma, n):
    """Draws in both branches of an if, one of them a 3-axis array (the steps' numbers drawn vary)."""
    rng = np.random.default_rng(0)
    for t in range(n):
        if np.sum(x) > 0.2:
            x = x + sigma * rng.standard_normal(3)
        else:
            x = x * (1.0 + 0.1 * np.sum(rng.normal(0.0, sigma, (2, 1, 2))))
    return np.sum(x ** 2)


def draws_in_an_inner_loop(x, sigma, n):
    """A step that draws in an inner loop whose length depends on the step, and reseeds NumPy's
    stream at every third step (steps run again leave out the seeding)."""
    s = 0.0
    for t in range(n):
        if t % 3 == 0:
            np.random.seed(t)
        for j in range(t % 2 + 1):
            x = np.tanh(x) + sigma * np.random.standard_normal(3)
            s = s + np.random.uniform(0.0, sigma)
    return np.sum(x) + s


def draws_in_a_while_loop(x, sigma):
    """A checkpointed while loop drawing numbers and, in an inner while loop, vectors."""
    rng = np.random.default_rng(2)
    k = 0
    while k < 5:
        x = x * 1.1 + sigma * rng.normal(0.0, 1.0)
        m = 0
        while m < k % 3:
            x = x + 0.1 * np.sum(rng.uniform(0.0, sigma, 2))
            m = m + 1
        k = k + 1
    return np.sum(x)


STOCHASTIC = [(stochastic_oscillator, lambda: (np.array([0.3, -0.2, 0.5]), 0.7, 7)),
              (legacy_stream_walk, lambda: (np.array([0.3, -0.2, 0.5]), 0.7, 7)),
              (reparameterised_draws, lambda: (0.4, -0.3, 6)),
              (multiplicative_noise, lambda: (np.array([0.3, -0.2]), np.random.default_rng(5), 6)),
              (draws_in_a_branch, lambda: (np.array([0.3, -0.2, 0.5]), 0.4, 7)),
              (draws_in_an_inner_loop, lambda: (np.array([0.3, -0.2, 0.5]), 0.7, 7)),
              (draws_in_a_while_loop, lambda: (np.array([0.3, -0.2]), 0.6))]


@pytest.mark.parametrize("backend, policy", [("python", s2sad.Binomial(2)), ("python", s2sad.Periodic(3)),
                                             pytest.param("numba", s2sad.Binomial(2), marks=pytest.mark.numba)],
                         ids=["python-binomial", "python-periodic", "numba-binomial"])
@pytest.mark.parametrize("f, make", STOCHASTIC, ids=[f.__name__ for f, _ in STOCHASTIC])
def test_draws_in_checkpointed_loops_are_recorded_and_read_back(f, make, backend, policy):
    """The steps run again read the numbers the forward sweep drew: the same value and gradient
    as without checkpointing, and the stream (a Generator argument, NumPy's global stream) where
    a plain call leaves it."""
    wrt = (0, 1) if f is not multiplicative_noise else 0
    plain, args = make(), make()
    expected = f(*plain)
    after_plain = _stream(f, plain)
    value, g = s2sad.value_and_grad(f, wrt=wrt, checkpoint=policy, backend=backend)(*args)
    assert value == pytest.approx(expected, rel=1e-14)  # (machine code's tanh and NumPy's may differ in the last bit)
    assert _stream(f, args) == after_plain
    np.testing.assert_allclose(_flat(g), _flat(s2sad.value_and_grad(f, wrt=wrt)(*make())[1]), rtol=1e-13)


def _stream(f, args) -> str:
    """The state of the stream `f` draws from (its Generator argument, or NumPy's global one)."""
    return repr(args[1].bit_generator.state if f is multiplicative_noise else np.random.get_state())


def a_generator_made_in_a_step(x, sigma, n):
    """A Generator made at every step (seeded by the step): its draws are read back too."""
    for t in range(n):
        x = x + sigma * np.random.default_rng(t).standard_normal()
    return x


@pytest.mark.parametrize("policy", [None, s2sad.Binomial(2)], ids=["taped", "binomial"])
@pytest.mark.parametrize("f, make", STOCHASTIC[-3:] + [(a_generator_made_in_a_step, lambda: (0.3, 0.5, 5))],
                         ids=[f.__name__ for f, _ in STOCHASTIC[-3:]] + ["a_generator_made_in_a_step"])
def test_draws_in_branches_and_inner_loops_against_finite_differences(f, make, policy):
    """Each of these functions seeds its own stream, so central differences in sigma see the
    same draws."""
    x, sigma, *rest = make()
    got = s2sad.grad(f, wrt=1, checkpoint=policy)(x, sigma, *rest)
    h = 1e-6
    expected = (f(x, sigma + h, *rest) - f(x, sigma - h, *rest)) / (2 * h)
    np.testing.assert_allclose(got, expected, rtol=1e-7)


def test_hessian_vector_products_through_the_log_of_draws():
    x, v = np.array([0.3, -0.2, 0.5]), np.array([1.0, 0.5, -0.2])
    expected = s2sad.hvp(draws_in_a_branch)(x, 0.4, 7, v)
    np.testing.assert_allclose(s2sad.hvp(draws_in_a_branch, checkpoint=s2sad.Binomial(2))(x, 0.4, 7, v), expected,
                               rtol=1e-13)
    assert np.linalg.norm(expected) > 1.0


def draws_in_a_while_condition(x, n):
    rng = np.random.default_rng(0)
    for t in range(n):
        while rng.random() < 0.5:
            x = x * 1.1
    return x



def _flat(g):
    return np.concatenate([np.ravel(a) for a in (g if isinstance(g, tuple) else (g,))])


def test_the_logs_of_draws_count_in_the_tape_bytes():
    g = s2sad.grad(multiplicative_noise, checkpoint=s2sad.Binomial(2))
    g(np.array([0.3, -0.2]), np.random.default_rng(5), 6)
    assert g.tape_bytes >= 6 * 4 * 8  # (six draws of four numbers, besides the snapshots)


def test_refusals():
    with pytest.raises(s2sad.S2SADError, match="in the condition of a while loop in a step cannot be read back"):
        s2sad.grad(draws_in_a_while_condition, checkpoint=s2sad.Binomial(2))(1.0, 4)
    with pytest.raises(s2sad.S2SADError, match="checkpoint="):
        s2sad.grad(oscillator, checkpoint="binomial")


# --- while loops: counted as they run, then reversed by the whole schedule ----------------------

def while_loop(x):
    while x < 10.0:
        x = x * 1.5
    return x


def while_arrays(x, w):
    """A while loop carrying arrays and a number, with a branch in its body."""
    s = 0.0
    while s < 3.0:
        x = np.tanh(w * x) + 0.1
        if s > 1.0:
            x = x * 1.01
        s = s + np.sum(x * x)
    return np.sum(x * w) + s


def _while_cases():
    """(function, arguments, wrt, trip count)."""
    A = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 0.5]])
    return {
        "while_loop": (while_loop, (1.0,), (0,), 6),
        "newton_sqrt": (newton_sqrt, (2.0,), (0,), None),
        "grow_until": (grow_until, (0.3,), (0,), None),
        "power_iteration": (power_iteration, (A, np.array([1.0, 0.5, 0.2])), (0, 1), None),
        "while_arrays": (while_arrays, (np.linspace(0.1, 0.5, 4), np.linspace(0.5, 1.5, 4)), (0, 1), 3),
    }


WHILE_CASES = _while_cases()


@pytest.mark.parametrize("name", sorted(WHILE_CASES))
def test_while_loops_under_each_policy(each_backend, name):
    f, args, wrt, l = WHILE_CASES[name]
    reference = s2sad.grad(f, wrt=wrt)(*args)
    for policy in (s2sad.Periodic(2), s2sad.Periodic(50), s2sad.Binomial(1), s2sad.Binomial(3)):
        g = s2sad.grad(f, wrt=wrt, checkpoint=policy)
        got = g(*args)
        for a, b in zip(np.atleast_1d(reference) if len(wrt) == 1 else reference,
                        np.atleast_1d(got) if len(wrt) == 1 else got, strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-15, err_msg=f"{name} {policy}")
        if l is not None:
            assert g.advances == policy.advances(l), (name, policy)


def test_while_loop_against_finite_differences():
    f, args, wrt, l = WHILE_CASES["while_arrays"]
    got = s2sad.grad(f, wrt=wrt, checkpoint=s2sad.Binomial(2))(*args)
    for k, g in zip(wrt, got, strict=True):
        np.testing.assert_allclose(g, fd(f, args, k), rtol=1e-6, atol=1e-8)
    assert s2sad.grad(while_loop, checkpoint=s2sad.Periodic(4))(1.0) == pytest.approx(1.5 ** 6)


def test_while_loop_source_counts_then_runs_the_schedule():
    source = s2sad.derivative_source(while_loop, args=(1.0,), checkpoint=s2sad.Periodic(3))
    forward, reverse = source.split("# reverse sweep")
    assert "while " in forward and "periodic_schedule(" in reverse and "snap_x[j] = x" in reverse


# --- the per-loop marker ---------------------------------------------------------------------------

def marked_oscillator(x, v, n):
    for t in s2sad.checkpointed(range(n), snapshots=2):
        v = v - 0.1 * (x * x * x + 0.2 * v)
        x = x + 0.1 * v
    return x * x + v * v


def marked_every(x, v, n):
    for t in s2sad.checkpointed(range(n), every=3):
        v = v - 0.1 * (x * x * x + 0.2 * v)
        x = x + 0.1 * v
    return x * x + v * v


def unmarked(x, v, n):
    for t in range(n):
        v = v - 0.1 * (x * x * x + 0.2 * v)
        x = x + 0.1 * v
    return x * x + v * v


def marked_rows(X, w):
    """The marker over an array's rows; a second loop, unmarked, is taped."""
    h = 0.0
    for row in s2sad.checkpointed(X, snapshots=1):
        h = np.tanh(np.sum(row * w) + 0.5 * h)
    for t in range(3):
        h = h * 0.9
    return h


@pytest.mark.parametrize("f, policy", [(marked_oscillator, s2sad.Binomial(2)), (marked_every, s2sad.Periodic(3))])
def test_a_marked_loop_is_checkpointed(each_backend, f, policy):
    args = (0.8, 0.1, 11)
    assert f(*args) == unmarked(*args)  # undifferentiated, the marker is the range itself
    reference = s2sad.grad(unmarked, wrt=(0, 1))(*args)
    for option in (None, s2sad.StoreAll(), s2sad.Binomial(5)):  # the marker wins over the option
        g = s2sad.grad(f, wrt=(0, 1), checkpoint=option)
        np.testing.assert_allclose(g(*args), reference, rtol=1e-12)
        assert g.advances == policy.advances(11)


def test_marker_over_rows():
    X, w = np.random.default_rng(1).random((6, 3)), np.array([0.3, -0.2, 0.5])
    g = s2sad.grad(marked_rows, wrt=(0, 1))
    got = g(X, w)
    for k in (0, 1):
        np.testing.assert_allclose(got[k], fd(marked_rows, (X, w), k), rtol=1e-6, atol=1e-9)
    assert g.advances == s2sad.Binomial(1).advances(6)


def test_the_printed_ir_shows_the_marker():
    text = s2sad.ir_source(marked_every, args=(0.8, 0.1, 11))
    assert "checkpointed Periodic(every=3)" in text


def marked_inner(x, n):
    for t in range(n):
        for m in s2sad.checkpointed(range(3), snapshots=1):
            x = x * 1.1
    return x


def marker_without_policy(x, n):
    for t in s2sad.checkpointed(range(n)):
        x = x * 1.1
    return x


def marker_with_both(x, n):
    for t in s2sad.checkpointed(range(n), snapshots=2, every=3):
        x = x * 1.1
    return x


def marker_computed(x, n):
    for t in s2sad.checkpointed(range(n), snapshots=n):
        x = x * 1.1
    return x


def marker_zero(x, n):
    for t in s2sad.checkpointed(range(n), snapshots=0):
        x = x * 1.1
    return x


@pytest.mark.parametrize("f, message", [
    (marked_inner, "marks loops at the top level"),
    (marker_without_policy, "give one of snapshots"),
    (marker_with_both, "give one of snapshots"),
    (marker_computed, "known when the function is compiled"),
    (marker_zero, "must be at least 1"),
])
def test_marker_refusals(f, message):
    with pytest.raises(s2sad.S2SADError, match=message) as info:
        s2sad.grad(f)(1.0, 3)
    assert info.value.lineno is not None


def test_the_marker_checks_its_arguments_when_run():
    with pytest.raises(s2sad.S2SADError, match="give one of snapshots"):
        marker_with_both(1.0, 3)


def steps_with_a_linear_body(x):
    """Each step's adjoint is empty (d + 1.0 passes d_bar on unchanged): the schedule's turn
    branch holds only its comment."""
    d = x
    while d < 1.0:
        d = d + 1.0
    return d


@pytest.mark.parametrize("policy", [s2sad.Periodic(every=2), s2sad.Binomial(snapshots=2)], ids=["periodic", "binomial"])
def test_steps_whose_adjoint_is_empty(each_backend, policy):
    assert s2sad.value_and_grad(steps_with_a_linear_body, checkpoint=policy)(-2.5) == (1.5, 1.0)


DRIFT = np.array([[0.9, 0.1], [-0.2, 0.8]])


def steps_reading_a_module_array(x):
    for t in range(7):
        x = np.tanh(DRIFT @ x) + 0.1 * x
    return np.sum(x * x)


@pytest.mark.parametrize("policy", [s2sad.Periodic(every=2), s2sad.Binomial(snapshots=2)], ids=["periodic", "binomial"])
def test_steps_reading_a_module_array(each_backend, policy):
    """The function assigns no global, so the array is read once, before the loop: the steps run
    again read the same values."""
    x = np.array([0.3, -0.7])
    expected = s2sad.grad(steps_reading_a_module_array)(x)
    np.testing.assert_allclose(s2sad.grad(steps_reading_a_module_array, checkpoint=policy)(x), expected, rtol=1e-12)
    np.testing.assert_allclose(expected, [fd(steps_reading_a_module_array, (x,), 0)[k] for k in range(2)], rtol=1e-6)
