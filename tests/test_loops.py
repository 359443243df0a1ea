"""Loops, while loops, break/continue/early return and array stores: derivatives against central
finite differences and closed forms, in both modes (the functions are in loop_funcs.py)."""

import numpy as np
import pytest

import loop_funcs as lf
import s2sad
from numeric import check_grad, fd

pytestmark = pytest.mark.usefixtures("each_backend")  # every test, compiled and not
MODES = pytest.mark.parametrize("mode", ["reverse", "forward"])


def rng():
    return np.random.default_rng(20240611)


# --- 1. damped oscillator -------------------------------------------------------------------------

OSC = dict(k=2.0, x0=1.0, v0=0.3, c=0.1, dt=0.01, n=1000)


def oscillator_sensitivities(k, x0, v0, c, dt, n):
    """∂x_n/∂(k, x0, v0, c) from the matrix form s_{j+1} = A s_j of explicit Euler."""
    A = np.array([[1.0, dt], [-k * dt, 1.0 - c * dt]])
    dA_dk = np.array([[0.0, 0.0], [-dt, 0.0]])
    dA_dc = np.array([[0.0, 0.0], [0.0, -dt]])
    s, ds_dk, ds_dc = np.array([x0, v0]), np.zeros(2), np.zeros(2)
    for _ in range(n):
        ds_dk, ds_dc, s = A @ ds_dk + dA_dk @ s, A @ ds_dc + dA_dc @ s, A @ s
    An = np.linalg.matrix_power(A, n)
    return ds_dk[0], An[0, 0], An[0, 1], ds_dc[0]


@MODES
def test_oscillator_sensitivity_to_stiffness(mode):
    value, dk = s2sad.value_and_grad(lf.oscillator, wrt="k", mode=mode)(*OSC.values())
    assert value == pytest.approx(lf.oscillator(*OSC.values()), rel=1e-15)
    expected = oscillator_sensitivities(*OSC.values())[0]
    assert dk == pytest.approx(expected, rel=1e-10)
    assert dk == pytest.approx(fd(lf.oscillator, list(OSC.values()), 0), rel=1e-6)


@MODES
def test_oscillator_sensitivity_to_initial_state_and_damping(mode):
    got = s2sad.grad(lf.oscillator, wrt=("k", "x0", "v0", "c"), mode=mode)(*OSC.values())
    np.testing.assert_allclose(got, oscillator_sensitivities(*OSC.values()), rtol=1e-10, atol=1e-13)
    args = list(OSC.values())
    np.testing.assert_allclose(got[1:3], [fd(lf.oscillator, args, 1), fd(lf.oscillator, args, 2)], rtol=1e-6)


def test_oscillator_jvp_and_vjp_agree():
    args = list(OSC.values())
    _, dot = s2sad.jvp(lf.oscillator, wrt=("x0", "v0"))(*args, 0.7, -1.3)
    _, (gx, gv) = s2sad.vjp(lf.oscillator, wrt=("x0", "v0"))(*args, 1.0)
    assert dot == pytest.approx(0.7 * gx - 1.3 * gv, rel=1e-12)


def test_oscillator_zero_steps():
    assert s2sad.grad(lf.oscillator, wrt=("k", "x0", "v0"))(2.0, 1.0, 0.3, 0.1, 0.01, 0) == (0.0, 1.0, 0.0)


# --- 2. tanh RNN through time ---------------------------------------------------------------------

def rnn_args(T=20, H=4, D=3):
    r = rng()
    return 0.6 * r.normal(size=(H, H)), 0.6 * r.normal(size=(H, D)), r.normal(size=H), r.normal(size=(T, D))


def rnn_bptt(W, U, h0, xs, every_step):
    """Back-propagation through time by hand: (∂/∂W, ∂/∂U, ∂/∂h0)."""
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(W @ hs[-1] + U @ x))
    gW, gU, dh = np.zeros_like(W), np.zeros_like(U), np.zeros_like(h0)
    for t in range(len(xs) - 1, -1, -1):
        h = hs[t + 1]
        if every_step or t == len(xs) - 1:
            dh = dh + 2 * h
        da = dh * (1 - h * h)
        gW += np.outer(da, hs[t])
        gU += np.outer(da, xs[t])
        dh = W.T @ da
    return gW, gU, dh


@MODES
@pytest.mark.parametrize("loss, every_step", [(lf.rnn_final, False), (lf.rnn_total, True)],
                         ids=["final-step", "summed-over-time"])
def test_rnn_loss_through_time(loss, every_step, mode):
    args = rnn_args()
    got = s2sad.grad(loss, wrt=("W", "U", "h0"), mode=mode)(*args)
    for g, e in zip(got, rnn_bptt(*args, every_step=every_step)):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-13)
    check_grad(loss, args, mode, wrt=(0, 1))


@pytest.mark.parametrize("net, mode", [
    pytest.param(lf.rnn_backward_in_time, "reverse", id="step-reverse"),
    pytest.param(lf.rnn_backward_in_time, "forward", id="step-forward"),
    pytest.param(lf.rnn_backward_in_time_t, "reverse", id="t-reverse"),
    pytest.param(lf.rnn_backward_in_time_t, "forward", id="t-forward"),
])
def test_rnn_negative_step_loop_is_the_reversed_sequence(net, mode):
    W, U, h0, xs = rnn_args(T=12)
    got = s2sad.grad(net, wrt=(0, 1, 2), mode=mode)(W, U, h0, xs)
    for g, e in zip(got, rnn_bptt(W, U, h0, xs[::-1], every_step=False)):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-13)
    gx = s2sad.grad(net, wrt="xs", mode=mode)(W, U, h0, xs)
    np.testing.assert_allclose(gx, fd(net, (W, U, h0, xs), 3), rtol=1e-5, atol=1e-8)


# --- 3. Lennard-Jones -----------------------------------------------------------------------------

LJ_POS = np.array([[0.0, 0.0, 0.0], [1.12, 0.05, -0.02], [0.1, 1.08, 0.07],
                   [-0.05, 0.12, 1.15], [1.05, 1.1, 0.95]])


def lj_forces(pos, eps, sigma, cutoff=np.inf):
    """F_i = Σ_j 24 ε (2 (σ/r)^12 - (σ/r)^6) / r² · (p_i - p_j)."""
    forces = np.zeros_like(pos)
    for i in range(len(pos)):
        for j in range(len(pos)):
            d = pos[i] - pos[j]
            r2 = d @ d
            if i != j and r2 < cutoff ** 2:
                s6 = (sigma ** 2 / r2) ** 3
                forces[i] += 24 * eps * (2 * s6 * s6 - s6) / r2 * d
    return forces


LJ_CASES = [
    pytest.param(lf.lennard_jones, "reverse", id="triangular-reverse"),
    pytest.param(lf.lennard_jones, "forward", id="triangular-forward"),
    pytest.param(lf.lennard_jones_all_pairs, "reverse", id="all-pairs-reverse"),
    pytest.param(lf.lennard_jones_all_pairs, "forward", id="all-pairs-forward"),
]


@pytest.mark.parametrize("energy, mode", LJ_CASES)
def test_lennard_jones_forces(energy, mode):
    eps, sigma = 1.3, 0.95
    value, grad = s2sad.value_and_grad(energy, wrt=("pos", "eps"), mode=mode)(LJ_POS, eps, sigma)
    forces = -grad[0]
    np.testing.assert_allclose(forces, lj_forces(LJ_POS, eps, sigma), rtol=1e-10, atol=1e-12)
    assert np.abs(forces.sum(axis=0)).max() < 1e-12 * np.abs(forces).max()   # Newton's third law
    assert grad[1] == pytest.approx(value / eps, rel=1e-12)
    np.testing.assert_allclose(grad[0], fd(energy, (LJ_POS, eps, sigma), 0), rtol=1e-6, atol=1e-7)


def test_lennard_jones_formulations_agree():
    assert lf.lennard_jones(LJ_POS, 1.3, 0.95) == pytest.approx(lf.lennard_jones_all_pairs(LJ_POS, 1.3, 0.95))


@MODES
def test_lennard_jones_with_cutoff(mode):
    cutoff = 1.3   # some pairs of LJ_POS are nearer, some farther
    d = np.linalg.norm(LJ_POS[:, None] - LJ_POS[None], axis=-1)
    assert (d[np.triu_indices(5, 1)] < cutoff).any() and (d[np.triu_indices(5, 1)] > cutoff).any()
    grad = s2sad.grad(lf.lennard_jones_cutoff, mode=mode)(LJ_POS, 1.3, 0.95, cutoff)
    np.testing.assert_allclose(-grad, lj_forces(LJ_POS, 1.3, 0.95, cutoff), rtol=1e-10, atol=1e-12)


# --- 4. portfolio rebalancing ---------------------------------------------------------------------

def portfolio_args():
    returns = 1.0 + 0.04 * rng().normal(size=(12, 3))
    return np.array([0.5, 0.3, 0.2]), 0.004, returns, 100.0


@MODES
def test_portfolio_sensitivity_to_cost_rate(mode):
    w, cost, returns, wealth0 = portfolio_args()
    value, g = s2sad.value_and_grad(lf.portfolio, wrt="cost", mode=mode)(w, cost, returns, wealth0)
    growth = returns @ w                                      # wealth factor before costs
    turnover = np.abs(growth[:, None] - returns) @ w          # Σ_i w_i |R_t - r_ti|
    factors = growth - cost * turnover
    assert value == pytest.approx(wealth0 * np.prod(factors), rel=1e-12)
    assert g == pytest.approx(value * np.sum(-turnover / factors), rel=1e-10)


@MODES
def test_portfolio_sensitivity_to_weights_and_initial_wealth(mode):
    w, cost, returns, wealth0 = portfolio_args()
    _, _, g0 = check_grad(lf.portfolio, (w, cost, returns, wealth0), mode, wrt=(0, 1, 3))
    assert g0 == pytest.approx(lf.portfolio(w, cost, returns, wealth0) / wealth0, rel=1e-12)


# --- 5, 6. while loops ----------------------------------------------------------------------------

@MODES
@pytest.mark.parametrize("a", [0.3, 2.0, 10.0, 1.0e4])
def test_newton_sqrt(mode, a):
    value, g = s2sad.value_and_grad(lf.newton_sqrt, mode=mode)(a)
    assert value == pytest.approx(np.sqrt(a), rel=1e-13)
    assert g == pytest.approx(0.5 / np.sqrt(a), rel=1e-9)


@MODES
@pytest.mark.parametrize("x, k", [(0.5, 0), (1.0, 1), (3.0, 2), (5.0, 3), (1000.0, 10)])
def test_halving_while_trip_count_depends_on_input(mode, x, k):
    value, g = s2sad.value_and_grad(lf.halve_below_one, mode=mode)(x)
    assert value == x / 2 ** k
    assert g == 2.0 ** -k
    assert s2sad.grad(lf.halvings_times_x, mode=mode)(x) == k * 2.0 ** -k
    if x != 1.0:   # 1.0 is where the trip count jumps
        assert g == pytest.approx(fd(lf.halve_below_one, (x,), 0), rel=1e-8)


def test_while_tape_grows_with_trip_count():
    g = s2sad.grad(lf.newton_sqrt)
    g(2.0)
    few = g.tape_bytes
    g(1.0e12)
    assert g.tape_bytes > few


OSCILLATOR_WRT = (0, 1, 2, 3)


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 33, 1000])
def test_a_while_loops_gradient_is_the_for_loops(n):
    """The oscillator written with while and with for: the same gradient, at step counts around
    the sizes the growable tapes take (16, then doubled: where the compiled form's runs of steps
    end, passes/chunks.py)."""
    args = (2.0, 1.0, 0.3, 0.1, 0.01, n)
    expected = s2sad.grad(lf.oscillator, wrt=OSCILLATOR_WRT)(*args)
    assert s2sad.grad(lf.oscillator_while, wrt=OSCILLATOR_WRT)(*args) == pytest.approx(expected, rel=1e-14)


def test_a_while_loops_derivative_called_with_more_steps_then_far_fewer():
    g = s2sad.grad(lf.oscillator_while, wrt=OSCILLATOR_WRT)
    for n in (20, 5000, 3, 0, 70):
        args = (2.0, 1.0, 0.3, 0.1, 0.01, n)
        assert g(*args) == pytest.approx(s2sad.grad(lf.oscillator, wrt=OSCILLATOR_WRT)(*args), rel=1e-14)
        assert 2 * 8 * n <= g.tape_bytes <= 2 * 2 * 8 * max(n, 16)  # (x and v: two tapes, doubled as needed)


@pytest.mark.parametrize("n", [0, 5, 40])
def test_a_while_loops_vector_state(n):
    """x keeps x0's shape: its tape's rows have that shape, and it grows as the loop runs."""
    x0 = np.linspace(0.1, 1.0, 5)
    g = s2sad.grad(lf.relax, wrt=(0, 1))
    gx, ga = g(x0, 0.3, n)
    ex, ea = s2sad.grad(lf.relax_for, wrt=(0, 1))(x0, 0.3, n)
    np.testing.assert_allclose(gx, ex, rtol=1e-14)
    assert ga == pytest.approx(ea, rel=1e-14, abs=1e-300)
    assert 2 * 8 * x0.size * n <= g.tape_bytes <= 2 * 2 * 8 * x0.size * max(n, 16)  # (x and sin(x))
    if n:
        check_grad(lf.relax, (x0, 0.3, n), "reverse", wrt=(0, 1))


@MODES
@pytest.mark.parametrize("n", [1, 4, 9])
def test_nested_while_loops(mode, n):
    check_grad(lf.nested_while, (0.7, n), mode, wrt=(0,))


@pytest.mark.parametrize("n", [2, 17, 40])
def test_numbers_stored_in_one_branch_of_a_long_while_loop(n):
    check_grad(lf.branch_in_a_long_while, (np.array([0.3, -0.4, 0.8]), n), "reverse", wrt=(0,))


def test_while_loops_whose_condition_draws():
    """Their condition is evaluated once a step, as written (passes/chunks.py: only where the
    compiled form's run of steps has room)."""
    value, g = s2sad.value_and_grad(lf.draws_in_a_while_condition)(0.5, 6)
    assert value == lf.draws_in_a_while_condition(0.5, 6)
    assert g == pytest.approx(fd(lf.draws_in_a_while_condition, (0.5, 6), 0), rel=1e-8)


@pytest.mark.parametrize("x", [0.3, -0.5])
def test_a_long_while_true_loop_with_break(x):
    """From x = -0.5, y falls away from -0.2 and grow_until's loop runs its 50 steps."""
    check_grad(lf.grow_until, (x,), "reverse")


# --- 7. branches inside loops ---------------------------------------------------------------------

def branch_in_loop_by_hand(x, n):
    s, ds = 1.0, 0.0
    for _ in range(n):
        s, ds = (s * x, ds * x + s) if s > 0 else (s + x, ds + 1.0)
    return s, ds


@MODES
@pytest.mark.parametrize("x", [1.1, 0.6, -0.7, -1.6])
def test_branch_inside_loop(mode, x):
    n = 9
    value, g = s2sad.value_and_grad(lf.branch_in_loop, mode=mode)(x, n)
    assert (value, g) == pytest.approx(branch_in_loop_by_hand(x, n), rel=1e-13)
    assert g == pytest.approx(fd(lf.branch_in_loop, (x, n), 0), rel=1e-6)


@MODES
def test_branch_on_each_element(mode):
    x = np.array([0.4, 0.9, -0.3, 1.2, 0.8, -1.1, 0.5])
    check_grad(lf.branch_on_element, (x,), mode, wrt=(0,), rtol=1e-7)


# --- 8. in-place fills ----------------------------------------------------------------------------

@MODES
def test_fill_then_sum(mode):
    a, b = rng().normal(size=6), rng().normal(size=6)[::-1].copy()
    ga, gb = s2sad.grad(lf.fill_then_sum, wrt=(0, 1), mode=mode)(a, b)
    np.testing.assert_allclose(ga, b + np.cos(a), rtol=1e-13)
    np.testing.assert_allclose(gb, a, rtol=1e-13)


@MODES
def test_recurrence_on_a_copy(mode):
    x = np.array([0.9, 1.1, 0.7, 1.3, 0.8, 1.05])
    before = x.copy()
    check_grad(lf.recurrence_on_copy, (x,), mode, wrt=(0,), rtol=1e-7)
    np.testing.assert_array_equal(x, before)   # the argument is not written


@MODES
def test_fill_matrix_elementwise(mode):
    a = np.array([0.3, -1.2, 0.8, 2.0])
    g = s2sad.grad(lf.fill_matrix, mode=mode)(a)
    # Σ_ij (a_i cos a_j)² = Σ a² · Σ cos² a
    expected = 2 * a * np.sum(np.cos(a) ** 2) - np.sum(a * a) * np.sin(2 * a)
    np.testing.assert_allclose(g, expected, rtol=1e-12)


@MODES
def test_augmented_store_accumulates_columns(mode):
    A = rng().normal(size=(3, 4))
    g = s2sad.grad(lf.accumulate_columns, mode=mode)(A)
    np.testing.assert_allclose(g, A / np.linalg.norm(A, axis=0), rtol=1e-12)


@MODES
def test_column_stores(mode):
    A, x = rng().normal(size=(3, 4)), np.array([0.5, -1.0, 2.0, 0.3])
    gA, gx = s2sad.grad(lf.set_columns, wrt=(0, 1), mode=mode)(A, x)
    np.testing.assert_allclose(gA, np.cos(A * x) * x, rtol=1e-12)
    np.testing.assert_allclose(gx, np.sum(np.cos(A * x) * A, axis=0), rtol=1e-12)


@MODES
def test_overwritten_slice_keeps_the_stored_values_adjoint(mode):
    x = np.array([0.5, 1.5, -0.3, 2.0])
    np.testing.assert_allclose(s2sad.grad(lf.overwrite_slice, mode=mode)(x), [5.0, 5.0, 4.0, 4.0])


def test_store_into_product_with_one():
    x = np.array([0.5, 1.5, -0.3])
    np.testing.assert_allclose(s2sad.grad(lf.scaled_by_one_then_store)(x), [0.0, 3.0, -0.6])


# --- 9. explicit heat equation (the 4D-Var pattern) -----------------------------------------------

HEAT = [pytest.param((lf.heat_state, lf.heat_misfit), id="carried-laplacian"),
        pytest.param((lf.heat_state_fresh, lf.heat_misfit_fresh), id="fresh-laplacian")]
N_POINTS, STEPS, ALPHA = 20, 50, 0.2


def heat_matrix():
    L = np.zeros((N_POINTS, N_POINTS))
    for i in range(1, N_POINTS - 1):
        L[i, i - 1:i + 2] = [1.0, -2.0, 1.0]
    return np.linalg.matrix_power(np.eye(N_POINTS) + ALPHA * L, STEPS)


def heat_data():
    grid = np.linspace(0.0, 1.0, N_POINTS)
    return np.sin(3 * np.pi * grid) + 0.3 * rng().normal(size=N_POINTS), np.exp(-20 * (grid - 0.4) ** 2)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("funcs", HEAT)
def test_heat_equation_gradient_wrt_initial_state(funcs, mode):
    state, misfit = funcs
    u0, target = heat_data()
    M = heat_matrix()
    np.testing.assert_allclose(state(u0, ALPHA, STEPS), M @ u0, rtol=1e-12, atol=1e-14)
    g = s2sad.grad(misfit, mode=mode)(u0, target, ALPHA, STEPS)
    np.testing.assert_allclose(g, 2 * M.T @ (M @ u0 - target), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(g, fd(misfit, (u0, target, ALPHA, STEPS), 0), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("funcs", HEAT)
def test_heat_equation_dot_product_test(funcs):
    """<ȳ, J ẋ> = <Jᵀ ȳ, ẋ> for random ẋ, ȳ, and both against the explicit matrix."""
    state = funcs[0]
    u0, _ = heat_data()
    r = rng()
    xdot, ybar = r.normal(size=N_POINTS), r.normal(size=N_POINTS)
    _, ydot = s2sad.jvp(state)(u0, ALPHA, STEPS, xdot)
    _, xbar = s2sad.vjp(state)(u0, ALPHA, STEPS, ybar.copy())
    assert ybar @ ydot == pytest.approx(xbar @ xdot, rel=1e-12)
    M = heat_matrix()
    np.testing.assert_allclose(ydot, M @ xdot, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(xbar, M.T @ ybar, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("how", ["vjp", "jvp"])
def test_jvp_and_vjp_leave_their_inputs_unchanged(how):
    u0, _ = heat_data()
    direction = rng().normal(size=N_POINTS)
    before, u_before = direction.copy(), u0.copy()
    if how == "vjp":
        s2sad.vjp(lf.heat_state_fresh)(u0, ALPHA, 3, direction)
    else:
        s2sad.jvp(lf.heat_state_fresh)(u0, ALPHA, 3, direction)
    np.testing.assert_array_equal(u0, u_before)
    np.testing.assert_array_equal(direction, before)


def test_heat_equation_alpha_sensitivity():
    u0, target = heat_data()
    g = s2sad.grad(lf.heat_misfit_fresh, wrt="alpha")(u0, target, ALPHA, STEPS)
    assert g == pytest.approx(fd(lf.heat_misfit_fresh, (u0, target, ALPHA, STEPS), 2), rel=1e-6)
    assert s2sad.grad(lf.heat_misfit_fresh, wrt="alpha", mode="forward")(u0, target, ALPHA, STEPS) == \
        pytest.approx(g, rel=1e-12)


# --- 10. residual network -------------------------------------------------------------------------

def resnet_by_hand(W, x):
    hs = [x]
    for Wl in W:
        hs.append(hs[-1] + np.tanh(Wl @ hs[-1]))
    gW, dh = np.zeros_like(W), 2 * hs[-1]
    for l in range(len(W) - 1, -1, -1):
        da = dh * (1 - np.tanh(W[l] @ hs[l]) ** 2)
        gW[l] = np.outer(da, hs[l])
        dh = dh + W[l].T @ da
    return gW, dh


@MODES
@pytest.mark.parametrize("net", [lf.resnet, lf.resnet_rows])
def test_resnet_over_layers(net, mode):
    r = rng()
    W, x = 0.5 * r.normal(size=(3, 4, 4)), r.normal(size=4)
    gW, gx = s2sad.grad(net, wrt=("W", "x"), mode=mode)(W, x)
    eW, ex = resnet_by_hand(W, x)
    np.testing.assert_allclose(gW, eW, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(gx, ex, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(gx, fd(net, (W, x), 1), rtol=1e-6)


# --- 11. Siamese loss with shared weights ---------------------------------------------------------

@MODES
def test_siamese_shared_weights_sum_both_uses(mode):
    r = rng()
    W, x1, x2 = 0.8 * r.normal(size=(2, 3, 3)), r.normal(size=3), r.normal(size=3)
    gW, g1, g2 = s2sad.grad(lf.siamese, wrt=(0, 1, 2), mode=mode)(W, x1, x2)
    gW1, gW2 = s2sad.grad(lf.siamese_untied, wrt=(0, 1), mode=mode)(W, W, x1, x2)
    np.testing.assert_allclose(gW, gW1 + gW2, rtol=1e-12, atol=1e-14)
    assert np.abs(gW1).max() > 1e-3 and np.abs(gW2).max() > 1e-3
    np.testing.assert_allclose(gW, fd(lf.siamese, (W, x1, x2), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g1, fd(lf.siamese, (W, x1, x2), 1), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g2, fd(lf.siamese, (W, x1, x2), 2), rtol=1e-6, atol=1e-8)


# --- 12. Gaussian mixture -------------------------------------------------------------------------

@MODES
def test_gmm_negative_log_likelihood(mode):
    r = rng()
    means, logw, X = r.normal(size=(3, 2)), r.normal(size=3), r.normal(size=(6, 2)) * 1.5
    value, (gm, gw) = s2sad.value_and_grad(lf.gmm_nll, wrt=("means", "logw"), mode=mode)(means, logw, X)
    weights = np.exp(logw) / np.exp(logw).sum()
    dens = np.exp(-0.5 * ((X[:, None, :] - means[None]) ** 2).sum(-1)) / (2 * np.pi) * weights
    assert value == pytest.approx(-np.log(dens.sum(1)).sum(), rel=1e-12)
    resp = dens / dens.sum(1, keepdims=True)
    np.testing.assert_allclose(gm, -np.einsum("ij,ijd->jd", resp, X[:, None, :] - means[None]), rtol=1e-10)
    np.testing.assert_allclose(gw, len(X) * weights - resp.sum(0), rtol=1e-10, atol=1e-13)


# --- 13. LSTM -------------------------------------------------------------------------------------

def lstm_args(T=8, H=3, D=2):
    r = rng()
    return (0.5 * r.normal(size=(4 * H, D)), 0.5 * r.normal(size=(4 * H, H)), 0.1 * r.normal(size=4 * H),
            r.normal(size=(T, D)), 0.1 * r.normal(size=H), 0.1 * r.normal(size=H))


@MODES
def test_lstm_through_time(mode):
    check_grad(lf.lstm, lstm_args(), mode, wrt=(0, 1, 2))


@MODES
def test_lstm_with_cell_state_in_loss(mode):
    check_grad(lf.lstm_cell_loss, lstm_args(), mode, wrt=(0, 1, 2, 4, 5))


def test_lstm_modes_agree():
    args = lstm_args()
    rev = s2sad.grad(lf.lstm_cell_loss, wrt=(0, 1, 2))(*args)
    fwd = s2sad.grad(lf.lstm_cell_loss, wrt=(0, 1, 2), mode="forward")(*args)
    for a, b in zip(rev, fwd):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


# --- 14. control through a simulated trajectory ---------------------------------------------------

def control_args(T=15):
    return 0.5 * rng().normal(size=(T, 2)), np.array([0.0, 0.0]), np.array([1.0, 0.5]), 0.1, 0.01


@MODES
def test_control_loss_wrt_controls(mode):
    check_grad(lf.control_loss, control_args(), mode, wrt=(0, 2))


@MODES
def test_control_loss_at_rest_wrt_controls(mode):
    check_grad(lf.control_loss_at_rest, control_args(), mode, wrt=(0, 1, 2))


def test_gradient_descent_on_the_controls_reduces_the_loss():
    u, x0, target, dt, effort = control_args()
    g = s2sad.value_and_grad(lf.control_loss_at_rest)
    losses = []
    for _ in range(20):
        loss, du = g(u, x0, target, dt, effort)
        losses.append(loss)
        u = u - 2.0 * du
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert losses[-1] < 0.2 * losses[0]


# --- 15. break, continue, early return ------------------------------------------------------------

@MODES
@pytest.mark.parametrize("x, expected", [
    ([0.3, -0.2, 1.4, 2.0], [0.0, 0.0, 2 * 1.4 * 3, 0.0]),   # returns from inside the loop at i = 2
    ([1.5, -0.2, 1.4, 2.0], [3.0, 0.0, 0.0, 0.0]),           # at i = 0
    ([0.3, -0.2, 0.4, 0.0], [1.0, 1.0, 1.0, 1.0]),           # runs through: the return after the loop
])
def test_early_return_from_search_loop(mode, x, expected):
    value, g = s2sad.value_and_grad(lf.first_above, mode=mode)(np.array(x), 1.0)
    assert value == pytest.approx(lf.first_above(np.array(x), 1.0))
    np.testing.assert_allclose(g, expected, rtol=1e-14)


@MODES
def test_enumerate_and_zip(mode):
    x, y = np.array([0.5, 1.5, -2.0]), np.array([0.3, -0.7, 1.1, 2.0])
    X, w = rng().normal(size=(3, 2)), np.array([0.5, 20.0, 1.0])
    np.testing.assert_allclose(s2sad.grad(lf.weighted_by_position, mode=mode)(x), 2 * np.arange(3) * x, rtol=1e-14)
    gx, gy = s2sad.grad(lf.paired_terms, wrt=(0, 1), mode=mode)(x, y)
    np.testing.assert_allclose(gx, y[:3] * [1, 3, 5], rtol=1e-14)
    np.testing.assert_allclose(gy, np.append(x * [1, 3, 5], 0.0), rtol=1e-14)
    g = s2sad.grad(lf.counted_rows, wrt=(0, 1), mode=mode)(X, w)  # (stops at w[1] > 10)
    np.testing.assert_allclose(g[0], np.vstack([2 * w[0] * X[0], np.zeros((2, 2))]), rtol=1e-14)
    np.testing.assert_allclose(g[1], [np.sum(X[0] ** 2), 0.0, 0.0], rtol=1e-14)


@MODES
@pytest.mark.parametrize("x, expected", [(2.0, 4.0), (0.5, np.cos(0.5)), (-3.0, -1.0)])
def test_returns_in_every_branch_of_an_elif_chain(mode, x, expected):
    value, g = s2sad.value_and_grad(lf.returns_in_both_branches, mode=mode)(x)
    assert value == pytest.approx(lf.returns_in_both_branches(x), rel=1e-15)
    assert g == pytest.approx(expected, rel=1e-14)


@MODES
@pytest.mark.parametrize("limit, stop", [(0.1, 0), (1.0, 1), (2.0, 2), (100.0, 4)])
def test_break_on_data_dependent_condition(mode, limit, stop):
    x = np.array([0.5, 1.0, -1.2, 0.7, 2.0])
    g = s2sad.grad(lf.sum_until, mode=mode)(x, limit)
    expected = np.where(np.arange(5) <= stop, 2 * x, 0.0)
    np.testing.assert_allclose(g, expected, rtol=1e-14)


@MODES
def test_continue_skips_odd_indices(mode):
    x = rng().normal(size=7)
    g = s2sad.grad(lf.even_terms, mode=mode)(x)
    expected = np.where(np.arange(7) % 2 == 0, np.sin(x) + x * np.cos(x), 0.0)
    np.testing.assert_allclose(g, expected, rtol=1e-13)


@MODES
def test_continue_skipping_array_work(mode):
    X = np.array([[0.5, 0.2], [-1.0, 0.1], [0.3, 0.9], [0.4, -0.8], [1.2, -0.1]])
    kept = X.sum(1) >= 0
    s = (X[kept] ** 2).sum(0)
    g = s2sad.grad(lf.positive_rows_energy, mode=mode)(X)
    np.testing.assert_allclose(g, np.where(kept[:, None], 4 * s * X, 0.0), rtol=1e-13)


@MODES
@pytest.mark.parametrize("x", [0.3, 2.0, 9.0, 12.0])
def test_while_true_with_break(mode, x):
    k = 0
    y = x
    while True:
        y, k = 1.5 * y + 0.1, k + 1
        if y > 10.0 or k >= 50:
            break
    assert s2sad.grad(lf.grow_until, mode=mode)(x) == pytest.approx(1.5 ** k, rel=1e-14)


@MODES
@pytest.mark.parametrize("x, expected", [(0.3, 3 * 2.0 ** 5), (7.3, 3.0), (60.0, 3.0), (150.0, 1.0)])
def test_return_from_inside_while(mode, x, expected):
    assert s2sad.grad(lf.while_return, mode=mode)(x) == pytest.approx(expected, rel=1e-14)


# `while True:` left only by a return was refused: "returns a value on some paths and nothing (None) on others"
@MODES
def test_while_true_left_by_a_return(mode):
    check_grad(lf.landing_time, (3.0, 9.81), mode)
    assert s2sad.grad(lf.newton_root_forever, mode=mode)(2.3) == pytest.approx(1.5 / np.sqrt(2.3), rel=1e-10)


# for ... in reversed(...) was refused: "'reversed' refers to type <class 'reversed'>"
@MODES
def test_loops_over_reversed_ranges_and_arrays(mode):
    r = rng()
    U, b = np.triu(r.normal(size=(4, 4))) + 3.0 * np.eye(4), r.normal(size=4)
    (gb,) = check_grad(lf.back_substitution_reversed, (U, b), mode, (1,))
    x = np.linalg.solve(U, b)
    np.testing.assert_allclose(gb, np.linalg.solve(U.T, 2 * x), rtol=1e-12)
    x, A = r.normal(size=5), r.normal(size=(3, 2))
    assert s2sad.value_and_grad(lf.reversed_rows_and_items, mode=mode)(x, A)[0] == \
        pytest.approx(lf.reversed_rows_and_items(x, A), rel=1e-14)
    check_grad(lf.reversed_rows_and_items, (x, A), mode)


@MODES
def test_power_iteration_with_break(mode):
    A = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, -1.0]])
    w, V = np.linalg.eigh(A)
    top = V[:, np.argmax(np.abs(w))]
    value, g = s2sad.value_and_grad(lf.power_iteration, mode=mode)(A, np.ones(3))
    assert value == pytest.approx(np.max(np.abs(w)), rel=1e-12)
    np.testing.assert_allclose(g, np.outer(top, top), atol=1e-6)   # ∂λ/∂A = v vᵀ


# --- 16. negative steps, triangular loops ---------------------------------------------------------

@MODES
def test_negative_step_range(mode):
    x = rng().normal(size=6)
    np.testing.assert_allclose(s2sad.grad(lf.backward_horner, mode=mode)(x), 2 * x * 0.5 ** np.arange(6),
                               rtol=1e-14)


@MODES
@pytest.mark.parametrize("n", [7, 6, 2, 1, 0])
def test_negative_step_of_two(mode, n):
    x = rng().normal(size=n)
    expected = np.zeros(n)
    for i in range(n - 1, 0, -2):
        expected[i] += x[i - 1]
        expected[i - 1] += x[i]
    np.testing.assert_allclose(s2sad.grad(lf.every_other_from_end, mode=mode)(x), expected, rtol=1e-14)


@MODES
def test_triangular_forward_substitution(mode):
    r = rng()
    A, b = r.normal(size=(4, 4)) + 3 * np.eye(4), r.normal(size=4)
    L = np.tril(A)
    y = np.linalg.solve(L, b)
    lam = np.linalg.solve(L.T, 2 * y)     # adjoint solve
    gA, gb = s2sad.grad(lf.forward_substitution, wrt=(0, 1), mode=mode)(A, b)
    np.testing.assert_allclose(gb, lam, rtol=1e-12)
    np.testing.assert_allclose(gA, -np.tril(np.outer(lam, y)), rtol=1e-12, atol=1e-15)


@MODES
def test_triangular_loop_over_rows(mode):
    P = rng().normal(size=(4, 3))
    # Σ_{i<j} P_i·P_j: the gradient of row i is the sum of the other rows
    np.testing.assert_allclose(s2sad.grad(lf.triangular_rows, mode=mode)(P), P.sum(0) - P, rtol=1e-13)


# --- small cases ----------------------------------------------------------------------------------

@MODES
@pytest.mark.parametrize("n", [1, 4])
def test_carried_value_rebound_from_others(mode, n):
    assert s2sad.grad(lf.last_product, mode=mode)(0.7, n) == pytest.approx(float(n))


@MODES
def test_loop_index_named_like_a_temporary(mode):
    x = np.array([0.5, 1.5, -0.3, 2.0])
    value, g = s2sad.value_and_grad(lf.shifted_element_sum, mode=mode)(x, 1, 3)
    assert value == pytest.approx(-0.9)
    np.testing.assert_allclose(g, [0.0, 0.0, 3.0, 0.0])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("flags", [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
def test_array_in_branch_in_loop(mode, flags):
    x = np.array([0.5, 1.5, -0.3])
    weights = sum(i * i for i, f in enumerate(flags) if f > 0)
    g = s2sad.grad(lf.array_in_branch_in_loop, mode=mode)(x, np.array(flags))
    np.testing.assert_allclose(g, weights * np.sin(2 * x), rtol=1e-13)


# --- inner loops that fill arrays later loops read -------------------------------------------------

def crank_nicolson_matrix(r, n):
    """M with u' = M u for one step: (I - r/2 L)⁻¹ (I + r/2 L), L the second difference."""
    L = np.diag(np.full(n - 1, 1.0), -1) - 2 * np.eye(n) + np.diag(np.full(n - 1, 1.0), 1)
    return np.linalg.solve(np.eye(n) - 0.5 * r * L, np.eye(n) + 0.5 * r * L)


@MODES
def test_crank_nicolson_with_a_thomas_solver(mode):
    u0, r, steps = np.sin(np.linspace(0.3, 2.8, 6)), 0.4, 3
    Ms = np.linalg.matrix_power(crank_nicolson_matrix(r, 6), steps)
    assert lf.crank_nicolson(u0, r, steps) == pytest.approx(np.sum((Ms @ u0) ** 2), rel=1e-12)
    gu, gr = check_grad(lf.crank_nicolson, (u0, r, steps), mode, wrt=(0, 1))
    np.testing.assert_allclose(gu, 2 * Ms.T @ Ms @ u0, rtol=1e-12)


@MODES
def test_while_loop_reading_what_another_left(mode):
    check_grad(lf.two_while_loops, (0.5, 0.4), mode)


@MODES
@pytest.mark.parametrize("c", [0.5, 2.0], ids=["never taken", "taken"])
def test_branch_an_inner_loop_does_not_take(mode, c):
    u0, y = np.array([0.2, 0.7, 0.9, 0.4]), 0.5
    gu, gy, gc = check_grad(lf.branch_in_inner_loop, (u0, y, c), mode)
    if c < 1.0:
        u1 = np.tanh(u0 * y)
        u2 = np.tanh(u1 * y)
        np.testing.assert_allclose(gu, (1 - u2 ** 2) * y * (1 - u1 ** 2) * y, rtol=1e-13)
    assert gc == 0.0


@MODES
def test_branch_taken_in_the_first_steps_of_a_long_while_loop(mode):
    x, y, n = np.array([0.3, -0.2]), 0.4, 20
    w = np.array([y, y + 0.5])
    gx, gy = check_grad(lf.branch_in_first_steps, (x, y, n), mode, wrt=(0, 1))
    np.testing.assert_allclose(gx, np.sum(2 * w * np.exp(2 * np.outer(x, w)), axis=1) + y + 0.5 * n, rtol=1e-13)
    assert gy == pytest.approx(np.sum(2 * x[:, None] * np.exp(2 * np.outer(x, w))) + np.sum(x), rel=1e-13)


# --- 17. the generated reverse-mode source --------------------------------------------------------

def test_oscillator_reverse_source_has_tape_and_reverse_loop():
    source = s2sad.derivative_source(lf.oscillator, types={"n": "i64"})
    lines = source.splitlines()
    tape = next(k for k, line in enumerate(lines) if "np.empty(" in line)   # preallocated from the trip count
    reverse = next(k for k, line in enumerate(lines) if line.lstrip().startswith("for ")
                   and "range(" in line and line.rstrip().endswith("-1, -1):"))
    assert tape < reverse
    assert any(f"tape_{name}" in lines[tape] for name in ("x", "v"))
    compile(source, "oscillator_vjp.py", "exec")


def test_while_reverse_source_runs_its_recorded_iterations_backwards():
    source = s2sad.derivative_source(lf.newton_sqrt)
    assert "while " in source and "-1, -1):" in source
    compile(source, "newton_vjp.py", "exec")


@MODES
def test_like_allocations(mode):
    """zeros_like, ones_like, full_like and empty_like allocate float arrays of x's shape."""
    x = np.array([1.0, 2.0, 3.0])
    g = s2sad.grad(lf.like_allocations, mode=mode)(x)
    np.testing.assert_allclose(g, 2 * (2 * x + 3) * 2, rtol=1e-14)


# --- what the tapes hold -------------------------------------------------------------------------

@pytest.mark.parametrize("funcs", HEAT)
def test_heat_equation_tapes_nothing(funcs):
    """The step is linear in u and every shape is u0's: the adjoint needs no forward value."""
    u0, target = heat_data()
    g = s2sad.grad(funcs[1])
    g(u0, target, ALPHA, STEPS)
    assert g.tape_bytes == 0


@pytest.mark.parametrize("u0, kappa", [(np.linspace(0.1, 0.9, 5), np.array([0.3])),
                                       (np.linspace(0.1, 0.9, 6).reshape(2, 3), np.array([0.2, -0.1, 0.4])),
                                       (np.linspace(0.1, 0.9, 6).reshape(2, 3), np.array([[0.2], [0.5]]))],
                         ids=["length-one", "row", "column"])
def test_carried_array_broadcast_with_a_smaller_array_keeps_its_shape(u0, kappa):
    """kappa broadcasts to u0's shape: nothing of u is taped, and the gradients are right."""
    g = s2sad.grad(lf.damped, wrt=(0, 1))
    g(u0, kappa, 4)
    assert g.tape_bytes == 2 * 4 * u0.size * 8  # u and sin(u) (for the adjoints of sin and of kappa)
    check_grad(lf.damped, (u0, kappa, 4), "reverse", (0, 1))


@pytest.mark.parametrize("u0, kappa, steps", [(np.array([0.3]), np.linspace(0.1, 0.9, 5), 3),
                                              (np.array([0.3]), np.linspace(0.1, 0.9, 5), 1),
                                              (np.array([[0.3, 0.1]]), np.linspace(0.1, 0.9, 6).reshape(3, 2), 3)],
                         ids=["longer", "longer-one-step", "more-rows"])
def test_carried_array_broadcast_up_in_the_loop(u0, kappa, steps):
    """kappa stretches u in the first step, so u changes shape in the loop: forward mode follows
    it; reverse mode refuses with the function's name (also for a single step: the check that
    kappa fits u0's shape is made once, before the loop)."""
    check_grad(lf.damped, (u0, kappa, steps), "forward", (0, 1))
    with pytest.raises(s2sad.S2SADError, match=r"loop_funcs.py:\d+: in damped: an array the reverse sweep needs "
                                              "changes shape"):
        s2sad.grad(lf.damped, wrt=(0, 1))(u0, kappa, steps)


def test_rnn_tapes_only_hidden_states():
    """Shapes of W @ h and U @ x come from W and U, so only the hidden states are stored."""
    W, U, h0, xs = rnn_args(T=20, H=4, D=3)
    g = s2sad.grad(lf.rnn_total, wrt=(0, 1))
    g(W, U, h0, xs)
    # h after each step, on a tape of 20 rows of the shape of W @ h + U @ x (h0's, but h0 need not
    # have it: the reverse sweep reads h0 at the first step, and the row before at the others)
    assert g.tape_bytes == 20 * 4 * 8


def lstm_loss_args(T=6, H=3, D=2):
    r = rng()
    return (0.5 * r.normal(size=(4 * H, D)), 0.5 * r.normal(size=(4 * H, H)), 0.1 * r.normal(size=4 * H),
            r.normal(size=(T, D)), 0.5 * r.normal(size=(T, H)))


def test_lstm_gates_go_on_tapes_of_rows():
    """z's shape is read off Wx, Wh and b, its gates' off z's and the bounds, c's and h's are checked
    once to be their zeros': every tape has a row of known shape per step (no ragged tape, whose
    index would add to the bytes), and the gradients are right."""
    args = lstm_loss_args()
    check_grad(lf.lstm_loss, args, "reverse", (0, 1, 2))
    g = s2sad.grad(lf.lstm_loss, wrt=(0, 1, 2))
    g(*args)
    T, H = args[3].shape[0], args[1].shape[1]
    # per step: c, h after the step, the three exps and sigmoids, g, tanh(c): 10 H numbers (z's
    # shape, all the reverse sweep reads of z, is computed before the loop)
    assert g.tape_bytes == T * 10 * H * 8


@pytest.mark.parametrize("a0", [np.full(3, 0.7), np.array([0.7])], ids=["kept", "broadcast-up"])
def test_carried_array_shaped_by_a_product(a0):
    """a's shape after a step is a0's broadcast with W's rows: kept when a0 has W's rows; stretched
    in the first step otherwise, which reverse mode refuses before the loop (and not when the loop
    runs no step); forward mode follows it either way."""
    r = rng()
    W, xs = r.normal(size=(3, 2)), r.normal(size=(4, 2))
    check_grad(lf.grown_by_product, (W, xs, a0), "forward", (0, 2))
    if a0.shape == (3,):
        check_grad(lf.grown_by_product, (W, xs, a0), "reverse", (0, 2))
        g = s2sad.grad(lf.grown_by_product, wrt=(0, 2))
        g(W, xs, a0)
        assert g.tape_bytes == 2 * 4 * 3 * 8  # a and tanh(W @ x), 4 rows of 3 each
        return
    with pytest.raises(s2sad.S2SADError, match=r"loop_funcs.py:\d+: in grown_by_product: an array the reverse "
                                              "sweep needs changes shape"):
        s2sad.grad(lf.grown_by_product, wrt=(0, 2))(W, xs, a0)
    value, grads = s2sad.value_and_grad(lf.grown_by_product, wrt=(0, 2))(W, xs[:0], a0)
    assert value == pytest.approx(0.49) and np.array_equal(grads[1], [1.4]) and not grads[0].any()


@MODES
def test_a_carried_array_made_of_length_one_may_be_stretched_by_broadcasting(mode):
    """``h = np.zeros(1)`` then ``h = np.tanh(W @ x + h)``: the axis of length 1, written so, is
    not checked to be kept (as an argument's is, above); h goes on a ragged tape."""
    r = rng()
    W, xs = r.normal(size=(3, 2)), r.normal(size=(4, 2))
    check_grad(lf.grown_from_one, (W, xs), mode, (0,))
    value, grad = s2sad.value_and_grad(lf.grown_from_one)(W, xs[:0])
    assert value == 0.0 and not grad.any()


@pytest.mark.parametrize("n", [1, 2, 7])
def test_concatenated_state_keeps_its_shape(n):
    """``np.concatenate((x[:1], x[1:] * y[:-1]))`` has x's shape, so y keeps it through the loop:
    the tapes, allocated before the loop, hold only the four slices ``(y + c k)[:-1]`` the
    products need (not y, the k's, nor anything for shapes), and the gradient is right."""
    x, s = np.linspace(0.2, 0.9, n), 5
    g = s2sad.grad(lf.rk4_chain)
    g(x, s)
    assert g.tape_bytes == 4 * s * (n - 1) * 8
    source = s2sad.derivative_source(lf.rk4_chain, args=(x, s), backend="numba")
    assert "record(" not in source and "unbroadcast" not in source
    check_grad(lf.rk4_chain, (x, s), "reverse", (0,))
    check_grad(lf.rk4_chain, (x, s), "forward", (0,))


@MODES
def test_concatenation_of_mismatched_slices_changes_shape(mode):
    """``y[:2]`` and ``y[1:]`` overlap: y grows by one at every step (a ragged tape in reverse mode)."""
    check_grad(lf.growing_chain, (np.linspace(0.2, 0.9, 4), 3), mode, (0,))


SHRINKING = (np.linspace(0.1, 0.9, 6),)
GROWING = (np.array([[0.3, -0.2, 0.5]]), np.linspace(-1.0, 1.0, 12).reshape(4, 3))


@MODES
def test_carried_arrays_whose_shape_changes(mode):
    """A carried array whose shape changes: forward mode follows it, reverse mode records it at
    every step on a ragged tape (a flat buffer with each entry's start and shape)."""
    check_grad(lf.shrinking, SHRINKING, mode)


def test_carried_arrays_grown_by_broadcasting_are_refused_in_reverse_mode():
    """``x = x + y * x`` with y of more rows than x: the reverse sweep assumes that x keeps its
    shape (checked before the loop: fits_shape), and the check refuses with the function's name."""
    check_grad(lf.growing, GROWING, "forward")
    with pytest.raises(s2sad.S2SADError, match=r"loop_funcs.py:\d+: in growing: an array the reverse "
                                              "sweep needs changes shape"):
        s2sad.grad(lf.growing)(*GROWING)


SELECTION = np.array([0.8, -0.2, 0.9, 0.3])


@pytest.mark.parametrize("f", [lf.selection_in_some_iterations, lf.selection_in_the_first_step_of_a_while])
def test_values_a_branch_computes_on_some_steps_are_taped_where_it_ran(f):
    check_grad(f, (SELECTION,), "reverse", (0,))
    source = s2sad.derivative_source(f, args=(SELECTION,))
    assert "if ran:" in source and "ragged_row(" in source


@MODES
@pytest.mark.parametrize("f", [lf.sorted_prefixes, lf.masks_of_growing_prefixes, lf.prefix_in_a_branch,
                               lf.grown_on_even_steps], ids=lambda f: f.__name__)
def test_integer_arrays_and_arrays_of_a_branch_that_change_shape(f, mode):
    check_grad(f, (np.array([0.3, -0.2, 0.5, 1.1, -0.7, 0.4]), 6), mode, (0,))


@MODES
def test_a_selection_whose_length_changes_at_every_step_is_on_a_ragged_tape(mode):
    """y[y > 0.1] has two elements at the first step of a while loop and none at the second."""
    check_grad(lf.selection_that_empties, (SELECTION,), mode, (0,))


@MODES
@pytest.mark.parametrize("f", [lf.selection_that_empties_in_a_branch, lf.branches_of_other_lengths])
def test_a_selection_of_a_branch_whose_length_changes_is_on_a_ragged_tape_where_it_ran(f, mode):
    """An empty selection is an entry like any other; a step where the branch did not run stores
    none, and its entry reads empty."""
    check_grad(f, (SELECTION,), mode, (0,))


@MODES
def test_a_carried_value_only_an_inner_while_reads_is_kept(mode):
    assert s2sad.grad(lf.counter_read_by_inner_while, mode=mode)(2.0, 4) == pytest.approx(1.5 ** 4)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_kept_inner_loop_keeps_what_its_length_needs(mode, each_backend):
    x = np.array([0.5, -1.5])
    np.testing.assert_allclose(s2sad.grad(lf.kept_loop_reads_a_carried_length, mode=mode)(x), 2 * x)


_SPD = np.array([[4.0, 1.0, 0.5, 0.2], [1.0, 3.0, 0.3, 0.1], [0.5, 0.3, 2.5, 0.4], [0.2, 0.1, 0.4, 2.0]])
_B = np.array([0.3, -1.2, 0.8, 0.5])
SHAPE_CHANGING = [
    (lf.back_substitution, (np.triu(_SPD), _B)),
    (lf.gaussian_elimination, (_SPD + np.array([[0.0, 0.3, 0.0, 0.0]] * 4), _B)),
    (lf.cholesky_by_hand, (_SPD,)),
    (lf.dense_block, (np.array([0.3, -0.6]), np.array([0.8, -0.5, 1.1]))),
    (lf.schur_updates, (_SPD,)),
    (lf.shrinking_while, (np.linspace(0.1, 0.9, 21),)),
]


@pytest.mark.parametrize("backend, mode", [("python", "reverse"), ("python", "forward"),
                                           pytest.param("numba", "reverse", marks=pytest.mark.numba)],
                         ids=["python-reverse", "python-forward", "numba-reverse"])
@pytest.mark.parametrize("f, args", SHAPE_CHANGING, ids=[f.__name__ for f, _ in SHAPE_CHANGING])
def test_arrays_whose_shape_changes_from_step_to_step(f, args, backend, mode, monkeypatch):
    """Hand-written elimination, back substitution, Cholesky and a dense block: the arrays the
    reverse sweep reads (M[i, i + 1:], a growing h, a shrinking Schur complement) are recorded
    on ragged tapes (in a while loop too: 18 steps, past the 16 entries of its first index)."""
    monkeypatch.setenv("S2SAD_BACKEND", backend)
    check_grad(f, args, mode)


def test_ragged_tapes_in_the_generated_code_and_their_hessian():
    source = s2sad.derivative_source(lf.back_substitution, args=(np.triu(_SPD), _B))
    assert "record_ragged(tape_" in source and "ragged_row(tape_" in source
    H = s2sad.hessian(lf.cholesky_by_hand)(_SPD)
    np.testing.assert_allclose(H.reshape(16, 16), H.reshape(16, 16).T, rtol=1e-9, atol=1e-12)
    v = np.linspace(-1.0, 1.0, 16).reshape(4, 4)
    step = 1e-6
    g = s2sad.grad(lf.cholesky_by_hand)
    np.testing.assert_allclose(s2sad.hvp(lf.cholesky_by_hand)(_SPD, v),
                               (g(_SPD + step * v) - g(_SPD - step * v)) / (2 * step), rtol=1e-6, atol=1e-8)


_BACK_SUBSTITUTION_GRAD = s2sad.grad(lf.back_substitution)


def _squared_gradient(A):
    return np.sum(_BACK_SUBSTITUTION_GRAD(A, _B) ** 2)


def test_reverse_over_a_ragged_tape_is_refused_at_its_line():
    with pytest.raises(s2sad.S2SADError, match="whose arrays change shape from one step to the next"):
        s2sad.grad(_squared_gradient)(np.triu(_SPD))


# --- loop-invariant code motion and loops that run no step -------------------------------------

_X3, _W2, _W3 = np.array([0.3, -0.2, 0.5]), np.eye(2), np.array([[0.2, 0.1, 0.0], [0.0, 0.3, -0.1], [0.1, 0.0, 0.2]])
NEVER_RUN = [(lf.invariant_product, (_X3, _W2, 0)), (lf.invariant_product_in_a_while, (_X3, _W2, 0.0)),
             (lf.invariant_of_nested_loops, (_X3, _W2, 2, 0)), (lf.invariant_of_nested_loops, (_X3, _W2, 0, 2)),
             (lf.carried_with_an_outside_array, (_X3, np.ones(2), 0))]


@MODES
@pytest.mark.parametrize("f, args", NEVER_RUN, ids=lambda a: getattr(a, "__name__", ""))
def test_what_a_loop_that_runs_no_step_would_compute_never_raises(f, args, mode):
    """Moved before the loop, a product of arrays whose shapes do not match (or the check that a
    carried array keeps its shape) would raise where NumPy, running no step, raises nothing."""
    value, grads = s2sad.value_and_grad(f, wrt=(0,), mode=mode)(*args)
    assert value == f(*args)
    np.testing.assert_allclose(grads[0], fd(f, list(args), 0), rtol=1e-6, atol=1e-7)


@MODES
@pytest.mark.parametrize("f, args", [(lf.invariant_product, (_X3, _W3, 3)),
                                     (lf.invariant_product_in_a_while, (_X3, _W3, 0.45)),
                                     (lf.invariant_of_nested_loops, (_X3, _W3, 2, 3)),
                                     (lf.carried_with_an_outside_array, (_X3, np.full(3, 0.1), 4))],
                         ids=lambda a: getattr(a, "__name__", ""))
def test_invariants_moved_before_loops_that_run(f, args, mode):
    check_grad(f, args, mode, wrt=(0, 1))


def test_a_moved_product_is_computed_when_the_loop_runs():
    source = s2sad.derivative_source(lf.invariant_of_nested_loops, args=(_X3, _W3, 2, 3), wrt=(0,))
    forward = source[:source.index("for i in range(n)")]
    assert "0 < n" in forward and "0 < m" in forward and "W @ x" in forward, source
    assert "np.empty((0,))" in forward, source  # (what the loops read, unread when they run no step)


# --- a value the first iteration makes an array: the first iteration lowered apart ------------------

_ROWS = np.random.default_rng(7).normal(size=(6, 4))
FIRST_RETYPES = [(lf.summed_rows, (_ROWS, np.linspace(-1.0, 1.0, 4))), (lf.summed_over_rows, (_ROWS, 5)),
                 (lf.largest_so_far, (_ROWS, 2)), (lf.summed_while_positive, (_ROWS, -1.0))]


@MODES
@pytest.mark.parametrize("f, args", FIRST_RETYPES, ids=lambda a: getattr(a, "__name__", ""))
def test_a_number_the_first_iteration_makes_an_array(f, args, mode):
    value, grads = s2sad.value_and_grad(f, wrt=(0,), mode=mode)(*args)
    assert value == pytest.approx(f(*args), rel=1e-14)
    np.testing.assert_allclose(grads[0], fd(f, list(args), 0), rtol=1e-6, atol=1e-7)


def test_the_first_iteration_lowered_apart_reads_as_written():
    source = s2sad.derivative_source(lf.summed_rows, args=FIRST_RETYPES[0][1], wrt=(0,), backend="python")
    forward = source[:source.index("# reverse sweep")]
    assert "checked_entered(len(range(t1)))\n    t2 = X[0]\n    t3 = t2 * v\n" in forward, source
    assert "total = t3\n    for i in range(1, t1):\n        total = total + X[i] * v\n" in forward, source


@pytest.mark.parametrize("f, args", [(lf.summed_rows, (_ROWS[:0], np.ones(4))), (lf.summed_over_rows, (_ROWS, 0)),
                                     (lf.largest_so_far, (_ROWS[:0], 1)), (lf.summed_while_positive, (_ROWS, 99.0))],
                         ids=lambda a: getattr(a, "__name__", ""))
def test_a_loop_lowered_apart_that_runs_no_iteration_is_refused_where_it_is(f, args):
    """NumPy would keep the number (the value a loop of no iteration leaves); s2sad, which gives
    the value the iterations' type, says so at the loop."""
    with pytest.raises(s2sad.DerivativeError, match=r"loop_funcs.py:\d+: in \w+: a loop whose first iteration changes "
                                                    r"the type .* ran no iteration.*np.zeros_like"):
        s2sad.grad(f)(*args)


def test_a_value_that_changes_type_at_every_iteration_is_still_refused():
    def grows(x):
        s = x[0]
        for i in range(3):
            s = np.stack((s, s))
        return np.sum(s)
    with pytest.raises(s2sad.S2SADError, match=r"'s' is f64\[:\] after the loop's first iteration and f64\[:,:\] after its "
                                               r"second; keep its type and number of axes the same"):
        s2sad.grad(grows)(np.ones(2))


# --- a name that only the loop assigns, read after it: the first iteration lowered apart -----------

# `mid` assigned only in the loop and returned after it was refused ("'mid' is assigned only inside
# the loop at line N; assign it before the loop")
@MODES
def test_a_name_only_the_loop_assigns_is_its_last_value_after_it(mode):
    value, (ga, gtol) = s2sad.value_and_grad(lf.bisected_cube_root, wrt=(0, 1), mode=mode)(3.0, 1e-12)
    mid = lf.bisected_cube_root(3.0, 1e-12) / 3.0
    assert value == 3.0 * mid and mid == pytest.approx(3.0 ** (1 / 3), rel=1e-11)
    assert (ga, gtol) == (mid, 0.0)   # (bisection is piecewise constant in a)
    X = np.random.default_rng(3).normal(size=(3, 4))
    check_grad(lf.last_of_each_row, (X, 2), mode, wrt=(0,))


@pytest.mark.parametrize("f, args", [(lf.last_of_each_row, (np.ones((0, 2)), 1)),
                                     (lf.last_of_each_row, (np.ones((3, 0)), 1))], ids=["for", "while"])
def test_a_loop_that_alone_binds_a_name_and_runs_no_iteration_is_refused_where_it_is(f, args):
    """(Python raises UnboundLocalError where the name is read.)"""
    with pytest.raises(s2sad.DerivativeError, match=r"loop_funcs.py:\d+: in \w+: a loop that alone assigns a name "
                                                    r"read after it ran no iteration.*assign the name before the loop"):
        s2sad.grad(f)(*args)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_rotation_in_a_loop_reads_its_sine_and_cosine_back(mode):
    angles = np.array([0.3, 0.8, -1.2, 2.0])
    xs, ys = np.array([1.0, 0.5, -0.7, 0.2]), np.array([0.4, -1.1, 0.3, 0.9])
    check_grad(lf.turned_points, (angles, xs, ys), mode)
    source = s2sad.derivative_source(lf.turned_points, mode, 0, args=(angles, xs, ys))
    computed = source if mode == "forward" else source.split("# reverse sweep")[1]
    assert computed.count("np.sin(") == (1 if mode == "forward" else 0), source
    assert computed.count("np.cos(") == (1 if mode == "forward" else 0), source
