"""State: module globals read and written, random draws, and what tapes hold."""

import numpy as np
import pytest

import s2sad
from numeric import fd

from . import state_funcs as sf

pytestmark = pytest.mark.usefixtures("each_backend")  # every test, compiled and not

MODES = pytest.mark.parametrize("mode", ["reverse", "forward"])


@pytest.mark.falls_back  # Numba cannot write module globals
@MODES
def test_global_counter_uses_the_values_the_forward_sweep_saw(mode):
    """f bumps a global c and returns x*c; F(x) = f(x) + f(x) has F' = c+1 + c+2 (3 from c = 0)."""
    sf.c = 0
    assert s2sad.grad(sf.twice, mode=mode)(2.0) == 3.0
    assert sf.c == 2  # the derivative ran the forward sweep once, like the primal
    assert s2sad.grad(sf.twice, mode=mode)(2.0) == 7.0
    assert sf.c == 4


@pytest.mark.falls_back  # Numba cannot write module globals
def test_global_counter_value_matches_the_primal():
    sf.c = 0
    value, grad = s2sad.value_and_grad(sf.twice)(2.0)
    sf.c = 0
    assert value == sf.twice(2.0) == 6.0
    assert grad == 3.0


@pytest.mark.falls_back  # Numba cannot write module globals
@MODES
def test_global_written_then_read_carries_the_derivative(mode, monkeypatch):
    """SCALE <- SCALE*x, then SCALE*x: d/dx (s x^2) = 2 s x with the value read before the write."""
    monkeypatch.setattr(sf, "SCALE", 2.0)
    g = s2sad.grad(sf.write_then_read, mode=mode)(3.0)
    assert g == pytest.approx(2 * 2.0 * 3.0)
    assert sf.SCALE == 6.0


@MODES
def test_global_array_is_read(mode):
    x = np.array([0.3, -0.2])
    expected = (1 - np.tanh(sf.W @ x) ** 2) @ sf.W
    np.testing.assert_allclose(s2sad.grad(sf.reads_global_array, mode=mode)(x), expected, rtol=1e-12)


def test_global_array_changed_in_place_is_seen():
    x = np.array([0.3, -0.2])
    g = s2sad.grad(sf.reads_global_array)
    g(x)
    saved = sf.W.copy()
    sf.W[0, 0] = 5.0
    try:
        np.testing.assert_allclose(g(x), (1 - np.tanh(sf.W @ x) ** 2) @ sf.W, rtol=1e-12)
    finally:
        sf.W[:] = saved


def test_module_number_is_a_literal_in_the_generated_code():
    source = s2sad.derivative_source(sf.reads_module_number)
    assert "2.0" in source and "SCALE" not in source


def test_global_access_is_visible_in_generated_code():
    source = s2sad.derivative_source(sf.twice)
    assert "state_funcs.c = " in source and "= state_funcs.c" in source


@MODES
def test_seeded_normal_draws_are_reparameterised(mode):
    g = s2sad.grad(sf.mc_normal, wrt=(0, 1), mode=mode)(0.5, 2.0)
    np.testing.assert_allclose(g, (fd(sf.mc_normal, (0.5, 2.0), 0), fd(sf.mc_normal, (0.5, 2.0), 1)), rtol=1e-6)
    assert g[0] == pytest.approx(2 * 0.5, abs=0.3)  # E[z^2] = mu^2 + sigma^2: 2 mu
    assert g[1] == pytest.approx(2 * 2.0, abs=0.3)  # and 2 sigma


@MODES
def test_monte_carlo_through_a_loop(mode):
    theta = np.array([0.3, 0.5])
    g = s2sad.grad(sf.mc_reparameterised, mode=mode)(theta)
    np.testing.assert_allclose(g, fd(sf.mc_reparameterised, (theta,), 0), rtol=1e-6)


def test_draws_are_made_once_per_call():
    """The adjoint reuses the forward sweep's draws: a Generator advances exactly as for the primal."""
    x = np.array([0.5, -1.0, 2.0])
    rng_primal, rng_grad = np.random.default_rng(3), np.random.default_rng(3)
    z = np.random.default_rng(3).standard_normal(3)
    sf.draws_from(x, rng_primal)
    g = s2sad.grad(sf.draws_from)(x, rng_grad)
    np.testing.assert_allclose(g, 2 * z * x, rtol=1e-12)
    assert rng_primal.random() == rng_grad.random()


@MODES
def test_legacy_seeded_draws(mode):
    z = (np.random.seed(1), np.random.normal(0.0, 1.0, 4))[1]
    g = s2sad.grad(sf.legacy_draws, mode=mode)(0.7)
    assert g == pytest.approx(np.sum(z * np.exp(z * 0.7)), rel=1e-12)


def test_scalar_loop_tape_is_O_n_floats():
    g = s2sad.grad(sf.scalar_loop)
    g(0.3, 100)
    small = g.tape_bytes
    g(0.3, 1000)
    large = g.tape_bytes
    assert large == 10 * small
    assert 8 * 1000 <= large <= 2 * 8 * 1000  # at most two float64 per step
    assert "np.empty(" in s2sad.derivative_source(sf.scalar_loop, types={"n": "i64"})


def test_tape_bytes_of_straight_line_code_is_zero():
    g = s2sad.grad(sf.reads_module_number)
    g(1.0)
    assert g.tape_bytes == 0


def test_while_loop_tape_grows():
    g = s2sad.grad(sf.while_loop)
    assert g(1.0) == pytest.approx(fd(sf.while_loop, (1.0,), 0), rel=1e-6)
    assert g.tape_bytes >= 8 * 8  # one float per iteration at least
    assert "record_grow(tape_" in s2sad.derivative_source(sf.while_loop, backend="python")
    compiled = s2sad.derivative_source(sf.while_loop, backend="numba")  # (stored into in runs of steps)
    assert "reserve(tape_" in compiled and "record_grow" not in compiled


# --- module state read by helpers, names changed between calls, one state per derivative -------

@pytest.mark.falls_back  # Numba cannot write module globals
@MODES
def test_a_helper_reads_the_global_its_caller_assigns(mode):
    """f bumps c and calls a helper reading c (no global statement): F = f + f has F' = 1 + 2."""
    sf.c = 0
    g = s2sad.value_and_grad(sf.scaled_twice, mode=mode)
    assert g(2.0) == (6.0, 3.0)
    assert g(2.0) == (14.0, 7.0)  # (c went on from 2: the second call sees the state, not a constant)
    assert sf.c == 4
    sf.c = 0
    assert s2sad.value_and_grad(sf.read_before_bump, mode=mode)(2.0) == (2.0, 1.0)


@MODES
def test_a_module_number_changed_after_the_first_call_is_seen(mode, monkeypatch):
    g = s2sad.grad(sf.flagged, mode=mode)
    monkeypatch.setattr(sf, "FLAG", True)
    assert g(2.0) == 4.0
    monkeypatch.setattr(sf, "FLAG", False)
    assert g(2.0) == 12.0
    monkeypatch.setattr(sf, "FLAG", True)
    assert g(2.0) == 4.0
    h = s2sad.grad(sf.steps_loop, mode=mode)
    monkeypatch.setattr(sf, "STEPS", 2)
    assert h(0.5) == pytest.approx(np.cos(0.5))
    monkeypatch.setattr(sf, "STEPS", 4)
    assert h(0.5) == pytest.approx(sum(i * np.cos(0.5 * i) for i in range(4)))


def test_an_array_of_a_settings_module_is_read_at_every_call(monkeypatch):
    x = np.array([1.0, -2.0])
    weights = np.array([0.5, 3.0])
    monkeypatch.setattr(sf.model_settings, "WEIGHTS", weights)
    g = s2sad.grad(sf.settings_weights)
    np.testing.assert_allclose(g(x), 2 * weights * x)
    weights[1] = -1.0  # (changed in place)
    np.testing.assert_allclose(g(x), 2 * weights * x)
    monkeypatch.setattr(sf.model_settings, "WEIGHTS", np.array([2.0, 2.0]))  # (rebound)
    np.testing.assert_allclose(g(x), 4 * x)
    with pytest.raises(s2sad.S2SADError, match="this writes into 'WEIGHTS', an array from outside the function"):
        s2sad.grad(sf.settings_weights_written)(x)


def test_a_number_of_a_settings_module_changed_after_the_first_call_is_seen(monkeypatch):
    g = s2sad.grad(sf.settings_loop)
    monkeypatch.setattr(sf.model_settings, "STEPS", 3)
    assert g(2.0) == 12.0
    monkeypatch.setattr(sf.model_settings, "STEPS", 5)
    assert g(2.0) == 20.0


def test_a_helper_function_redefined_after_the_first_call_is_seen(monkeypatch):
    x = np.array([0.3, -0.5])
    g = s2sad.grad(sf.uses_activation)
    np.testing.assert_allclose(g(x), 1 - np.tanh(x) ** 2)
    monkeypatch.setattr(sf, "activation", np.sin)
    np.testing.assert_allclose(g(x), np.cos(x))


def test_a_closure_cell_changed_after_the_first_call_is_seen():
    closed, change = sf.make_counter_closure()
    g = s2sad.grad(closed)
    assert g(2.0) == 1.0
    change(3.0)
    assert g(2.0) == 3.0
    assert s2sad.grad(sf.make_closure(5.0))(1.0) == 5.0


def test_default_values_replaced_after_the_first_call_are_seen(monkeypatch):
    x = np.array([0.3, -0.5])
    g = s2sad.grad(sf.weighted_by_defaults)
    np.testing.assert_allclose(g(x), 4.0 * x)
    monkeypatch.setattr(sf.weighted_by_defaults, "__defaults__", (3.0,))
    np.testing.assert_allclose(g(x), 12.0 * x)
    monkeypatch.setattr(sf.weighted_by_defaults, "__kwdefaults__", {"c": 5.0})
    np.testing.assert_allclose(g(x), 30.0 * x)
    np.testing.assert_allclose(g(x, c=1.0), 6.0 * x)


@pytest.mark.falls_back  # Numba cannot write module globals
@pytest.mark.parametrize("make, expected", [
    (lambda f: s2sad.grad(f, mode="forward"), lambda x: 2 * x),
    (lambda f: s2sad.jacobian(f), lambda x: 2 * x),
    (lambda f: s2sad.jacobian(f, mode="reverse"), lambda x: 2 * x),
    (lambda f: s2sad.hessian(f), lambda x: 2 * np.eye(3)),
    (lambda f: (lambda x: s2sad.hvp(f)(x, np.ones_like(x))), lambda x: 2 * np.ones(3)),
], ids=["forward-grad", "jacobian", "jacobian-reverse", "hessian", "hvp"])
def test_derivatives_with_several_runs_belong_to_one_call(make, expected, monkeypatch):
    """counted(x) = Σx² · calls after bumping calls: every column sees calls = 1, and one call's
    worth of state is left (calls = 1), as after one call of the function."""
    monkeypatch.setattr(sf, "calls", 0)
    x = np.array([0.5, -1.5, 2.0])
    np.testing.assert_allclose(make(sf.counted)(x), expected(x), rtol=1e-12)
    assert sf.calls == 1


@MODES
def test_a_global_read_in_one_branch_is_read_again_after_it(mode):
    for x in (np.array([0.3, -0.2]), np.array([-0.3, 0.2])):
        expected = (W_SUM_ROWS if x[0] > 0 else 2.0) + W_SUM_ROWS
        np.testing.assert_allclose(s2sad.grad(sf.reads_global_in_one_branch, mode=mode)(x), expected)


W_SUM_ROWS = np.sum(sf.W, axis=0)


@pytest.mark.falls_back  # Numba cannot write module globals
@MODES
def test_a_global_assigned_in_loops_carries_its_derivative(mode, monkeypatch):
    monkeypatch.setattr(sf, "SCALE", 0.5)
    expected_value = sf.assigns_global_in_loops(0.7)
    expected_scale = sf.SCALE

    def fresh(x):
        sf.SCALE = 0.5
        return sf.assigns_global_in_loops(x)
    expected_grad = fd(fresh, (0.7,), 0)
    sf.SCALE = 0.5
    value, grad = s2sad.value_and_grad(sf.assigns_global_in_loops, mode=mode)(0.7)
    assert value == pytest.approx(expected_value, rel=1e-13)
    assert grad == pytest.approx(expected_grad, rel=1e-6)
    assert sf.SCALE == expected_scale  # (the module holds what one call leaves, in both modes)


PUBLISHED = [(sf.stores_into_a_new_global, 0.5), (sf.squares_what_a_helper_made_global, np.array([0.5, -0.2])),
             (sf.writes_a_global_view_in_a_loop, np.array([0.5, -0.2, 0.7]))]


@pytest.mark.falls_back  # Numba cannot write module globals
@MODES
@pytest.mark.parametrize("f, x", PUBLISHED, ids=[f.__name__ for f, _ in PUBLISHED])
def test_a_global_assigned_an_array_sees_later_writes_into_it(f, x, mode, monkeypatch):
    """NumPy's module holds the array itself, so a store into it after the assignment is seen
    there (forward mode used to leave the module the array as it was before the store)."""
    monkeypatch.setattr(sf, "HELD", np.zeros(2))
    expected = f(np.copy(x))
    expected_held = sf.HELD.copy()

    def fresh(v):
        sf.HELD = np.zeros(2)
        return f(v)
    expected_grad = fd(fresh, (x,), 0)
    sf.HELD = np.zeros(2)
    value, grad = s2sad.value_and_grad(f, mode=mode)(np.copy(x))
    assert value == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-6)
    np.testing.assert_array_equal(sf.HELD, expected_held)


def test_a_write_into_what_a_global_may_refer_to_is_refused(monkeypatch):
    monkeypatch.setattr(sf, "HELD", np.zeros(2))
    with pytest.raises(s2sad.S2SADError, match="may or may not refer to") as info:
        s2sad.grad(sf.writes_what_may_be_global)(np.array([0.5, -0.2]), 1.0)
    assert info.value.source_line.strip() == "y *= y"


KEEPERS = [sf.keeps_a_view_of_its_argument, sf.keeps_its_argument_after_writing_it]


@pytest.mark.falls_back  # Numba cannot write module globals
@MODES
@pytest.mark.parametrize("f", KEEPERS, ids=[f.__name__ for f in KEEPERS])
def test_a_global_assigned_a_view_of_a_written_argument_views_the_callers_array(f, mode, monkeypatch):
    """NumPy's module holds a view of the caller's array, whose contents the function leaves
    written (it used to hold a copy: the caller's later writes did not reach it)."""
    monkeypatch.setattr(sf, "HELD", np.zeros(2))
    x = np.array([1.0, 2.0, 3.0])
    expected_x = x.copy()
    expected = f(expected_x)
    expected_held = sf.HELD.copy()
    expected_grad = fd(lambda v: f(v.copy()), (x,), 0)
    value, grad = s2sad.value_and_grad(f, mode=mode)(x)
    assert value == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-6)
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(sf.HELD, expected_held)
    assert np.shares_memory(sf.HELD, x)
    x[:] = -1.0  # (seen in the module, as in NumPy)
    np.testing.assert_array_equal(sf.HELD, -np.ones(2))


def test_a_global_that_may_be_a_written_argument_is_refused(monkeypatch):
    monkeypatch.setattr(sf, "HELD", np.zeros(2))
    with pytest.raises(s2sad.S2SADError, match="may or may not refer to the memory of an argument") as info:
        s2sad.grad(sf.keeps_what_may_be_its_argument)(np.array([0.5, -0.2]), 1.0)
    assert info.value.source_line.strip() == "return np.sum(x * y)"


@pytest.mark.falls_back  # Numba cannot write module globals
@MODES
def test_an_augmented_assignment_to_a_global_array_updates_it_in_place(mode, monkeypatch):
    """``global G; G += x`` updates G's memory in NumPy, which every other name for it sees (it used
    to rebind G to a new array, leaving the other names as they were)."""
    monkeypatch.setattr(sf, "HELD", np.zeros(2))
    x = np.array([0.5, -1.5])
    expected = sf.updates_a_global_in_place(x)
    expected_held = sf.HELD.copy()
    expected_grad = fd(sf.updates_a_global_in_place, (x,), 0)
    value, grad = s2sad.value_and_grad(sf.updates_a_global_in_place, mode=mode)(x)
    assert value == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-6)
    np.testing.assert_array_equal(sf.HELD, expected_held)


def test_an_augmented_assignment_to_the_modules_array_is_refused(monkeypatch):
    monkeypatch.setattr(sf, "HELD", np.zeros(2))
    with pytest.raises(s2sad.S2SADError, match="an array from outside the function") as info:
        s2sad.grad(sf.updates_the_modules_array_in_place)(np.array([0.5, -0.2]))
    assert "# <-" in info.value.source_line


@pytest.mark.parametrize("policy", [None, s2sad.Periodic(every=2), s2sad.Binomial(snapshots=1)],
                         ids=["store-all", "periodic", "binomial"])
def test_print_runs_in_the_forward_sweep_only(policy, capfd):
    x = np.array([0.5, 1.5])
    sf.prints_as_it_goes(x)
    expected = capfd.readouterr().out
    value, grad = s2sad.value_and_grad(sf.prints_as_it_goes, checkpoint=policy)(x)
    assert capfd.readouterr().out.split() == expected.split()  # (once per step, as when the function runs)
    assert value == pytest.approx(sf.prints_as_it_goes(x))
    np.testing.assert_allclose(grad, fd(sf.prints_as_it_goes, (x,), 0), rtol=1e-6)
