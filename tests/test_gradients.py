"""Derivative values against central finite differences and closed forms, in both modes."""

import numpy as np
import pytest

import s2sad
from numeric import check_grad
from funcs import (array_pair, augmented, branch_local, conditional_expr, diagonal_copy_in_loop,
                   diagonal_copy_updated, diagonal_matrix_energy, diagonal_matrix_updated, diagonal_scaled_updated,
                   euler_step, fan_out, first_column, first_square, floor_divide_by_one, if_elif_else, index_product,
                   logsumexp, masked_in_branch, matrix_element, min_of, mse, nested_ifs, outer_loss,
                   repeated_operands, reshaped_in_branch, returns_array, returns_pair, returns_pair_named,
                   returns_same_twice, shared_weights, sin_poly, sin_sq_exp, slice_sum, symmetrised, tanh_layer,
                   three_args, weighted_after_return, with_default)

pytestmark = pytest.mark.usefixtures("each_backend")  # every test, compiled and not

MODES = pytest.mark.parametrize("mode", ["reverse", "forward"])


# --- scalar functions -----------------------------------------------------------------------

@MODES
@pytest.mark.parametrize("x, y", [(0.3, -0.7), (1.2, 0.4), (-2.0, 1.5)])
def test_fan_out_closed_form(mode, x, y):
    v = np.cos(x) + x * y
    common = np.exp(v) + 2 * v
    gx, gy = s2sad.grad(fan_out, wrt=(0, 1), mode=mode)(x, y)
    assert gx == pytest.approx(common * (y - np.sin(x)), rel=1e-12)
    assert gy == pytest.approx(common * x, rel=1e-12)
    check_grad(fan_out, (x, y), mode)


@MODES
@pytest.mark.parametrize("x", [-1.3, 0.0, 0.5, 2.1])
def test_sin_sq_exp(mode, x):
    expected = np.exp(x) * (2 * x * np.cos(x ** 2) + np.sin(x ** 2))
    assert s2sad.grad(sin_sq_exp, mode=mode)(x) == pytest.approx(expected, rel=1e-12, abs=1e-14)
    check_grad(sin_sq_exp, (x,), mode)


@MODES
def test_repeated_operand_gets_every_partial(mode):
    x = np.array([0.4, 1.3, 2.2])
    expected = 2 * x + np.sqrt(2.0) + x ** x * (np.log(x) + 1) + np.arctan2(x, x + 1) + x / (x * x + (x + 1) ** 2)
    np.testing.assert_allclose(s2sad.grad(repeated_operands, mode=mode)(x), expected, rtol=1e-12)
    check_grad(repeated_operands, (x,), mode)


@MODES
def test_adding_a_transposed_adjoint_to_itself(mode):
    x, w = np.arange(9.0).reshape(3, 3) / 4.0, np.arange(9.0, 18.0).reshape(3, 3)
    np.testing.assert_allclose(s2sad.grad(symmetrised, mode=mode)(x, w), np.cos(x) * (w + w.T), rtol=1e-13)


class _Marked(np.ndarray):
    """An ndarray subclass (as np.memmap or a user's own array type is)."""


@MODES
def test_array_subclasses_are_taken_as_plain_arrays(mode):
    """Each call is compiled for its argument types; a subclass must not blur them (a 2-D and
    then a 1-D argument of one subclass once shared one derivative)."""
    g = s2sad.grad(first_square, mode=mode)
    matrix, vector = np.arange(6.0).reshape(2, 3).view(_Marked), np.array([3.0, 1.0, 2.0]).view(_Marked)
    np.testing.assert_array_equal(g(matrix), [[0.0, 2.0, 4.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(g(vector), [6.0, 0.0, 0.0])
    assert type(g(vector)) is np.ndarray


@MODES
def test_sin_poly_at_two(mode):
    got = s2sad.grad(sin_poly, mode=mode)(2.0)
    assert got == pytest.approx(6 * np.cos(9.0), rel=1e-12)
    assert got == pytest.approx(-5.4668, abs=1e-4)


def test_euler_step_forward():
    y0, p, h = 1.5, 0.8, 0.1
    expected = -h * y0 ** 2
    value, dot = s2sad.jvp(euler_step, wrt="p")(y0, p, h, 1.0)
    assert value == pytest.approx(y0 - h * p * y0 ** 2)
    assert dot == pytest.approx(expected, rel=1e-12)
    assert s2sad.grad(euler_step, wrt="p", mode="forward")(y0, p, h) == pytest.approx(expected, rel=1e-12)
    assert s2sad.grad(euler_step, wrt="p", mode="reverse")(y0, p, h) == pytest.approx(expected, rel=1e-12)


@MODES
@pytest.mark.parametrize("theta, expected", [(1.0, 2.0), (3.0, 2.0), (2.0, 4.0)])
def test_min_tie_goes_to_first_argument(mode, theta, expected):
    """min(θ², 2θ): the derivative of the smaller argument — 2θ at θ=1, 2 at θ=3.

    At the tie θ=2 (θ² = 2θ = 4) the derivative of min is not defined; s2sad gives all of the
    adjoint to the *first* argument (as Python's min returns its first argument on a tie), so
    the result is d(θ²)/dθ = 2θ = 4.0, not 2.0 (the second argument's) or an average.
    """
    assert s2sad.grad(min_of, mode=mode)(theta) == expected


# --- control flow ---------------------------------------------------------------------------------

@MODES
@pytest.mark.parametrize("x, expected", [(-2.0, 3 * 4.0), (0.3, np.cos(0.3)), (1.5, 2 * np.exp(3.0))])
def test_if_elif_else_each_branch(mode, x, expected):
    assert s2sad.grad(if_elif_else, mode=mode)(x) == pytest.approx(expected, rel=1e-12)
    check_grad(if_elif_else, (x,), mode)


@MODES
@pytest.mark.parametrize("x, y", [(1.0, 2.0), (1.5, -0.5), (-1.0, 3.0), (-2.0, -0.25)])
def test_nested_ifs(mode, x, y):
    check_grad(nested_ifs, (x, y), mode)


@MODES
@pytest.mark.parametrize("x, y", [(2.0, 1.0), (0.5, 1.5)])
def test_conditional_expression(mode, x, y):
    gx, gy = s2sad.grad(conditional_expr, wrt=(0, 1), mode=mode)(x, y)
    if x > y:   # z * x = x² y
        assert (gx, gy) == pytest.approx((2 * x * y, x * x))
    else:       # (x + sin y) x
        assert (gx, gy) == pytest.approx((2 * x + np.sin(y), x * np.cos(y)))
    check_grad(conditional_expr, (x, y), mode)


@MODES
@pytest.mark.parametrize("x, y", [(0.4, 0.7), (-0.4, 0.7)])
def test_intermediate_defined_in_one_branch(mode, x, y):
    check_grad(branch_local, (x, y), mode)


@MODES
@pytest.mark.parametrize("c", [1.0, -1.0])
def test_branch_residuals_of_every_type(mode, c):
    """The branch not taken yields placeholders of the residuals' types: a bool matrix and an int
    vector, an int vector after an early return, a shape read by a loop's reverse sweep."""
    X = np.array([[0.2, 0.7, 0.9], [0.6, 0.4, 1.3]])
    x = np.array([0.5, -1.2, 2.0, 0.3])
    taken = c > 0.0
    mask = np.where(X > 0.5, np.arange(3.0), 0.0)
    cases = [(masked_in_branch, X, 2 * X + mask * taken),
             (weighted_after_return, x, 2 * x * np.arange(4.0) if taken else np.ones(4)),
             (reshaped_in_branch, X, 9 * X ** 3 * taken + 1.0)]
    for f, arg, expected in cases:
        gx, gc = check_grad(f, (arg, c), mode)
        np.testing.assert_allclose(gx, expected, rtol=1e-13, err_msg=f.__name__)
        assert gc == 0.0


@MODES
def test_augmented_assignment(mode):
    check_grad(augmented, (0.7, -1.3), mode)


# --- arrays -----------------------------------------------------------------------------------------

def _rng():
    return np.random.default_rng(1234)


@MODES
def test_linear_regression_mse(mode):
    rng = _rng()
    X, y, w = rng.normal(size=(7, 3)), rng.normal(size=7), rng.normal(size=3)
    got = s2sad.grad(mse, mode=mode)(w, X, y)
    expected = 2 / len(y) * X.T @ (X @ w - y)
    assert isinstance(got, np.ndarray) and got.shape == w.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    check_grad(mse, (w, X, y), mode, wrt=(0, 1, 2))


@MODES
def test_tanh_layer_broadcasting(mode):
    rng = _rng()
    W, b, x, target = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=4), rng.normal(size=3)
    gW, gb = s2sad.grad(tanh_layer, wrt=("W", "b"), mode=mode)(W, b, x, target)
    h = np.tanh(W @ x + b)
    delta = 2 * (h - target) * (1 - h ** 2)
    np.testing.assert_allclose(gb, delta, rtol=1e-12)
    np.testing.assert_allclose(gW, np.outer(delta, x), rtol=1e-12)
    check_grad(tanh_layer, (W, b, x, target), mode, wrt=(0, 1, 2, 3))


@MODES
def test_tanh_layer_scalar_bias_broadcast(mode):
    rng = _rng()
    W, x, target = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)
    gb = s2sad.grad(tanh_layer, wrt="b", mode=mode)(W, 0.3, x, target)
    assert isinstance(gb, float)
    h = np.tanh(W @ x + 0.3)
    assert gb == pytest.approx(np.sum(2 * (h - target) * (1 - h ** 2)), rel=1e-12)


@MODES
def test_logsumexp_gradient_is_softmax(mode):
    x = np.array([0.5, -1.0, 2.0, 0.0])
    np.testing.assert_allclose(s2sad.grad(logsumexp, mode=mode)(x), np.exp(x) / np.exp(x).sum(), rtol=1e-12)


@MODES
def test_indexing_reads(mode):
    x = np.array([1.5, -2.0, 3.0, 0.5])
    np.testing.assert_array_equal(s2sad.grad(index_product, mode=mode)(x), [-2.0, 1.5, 0.0, 0.0])
    np.testing.assert_allclose(s2sad.grad(slice_sum, mode=mode)(x), [0.0, -4.0, 6.0, 0.0])
    A = _rng().normal(size=(3, 2))
    expected = np.stack([np.cos(A[:, 0]) * A[:, 1], np.sin(A[:, 0])], axis=1)
    np.testing.assert_allclose(s2sad.grad(first_column, mode=mode)(A), expected, rtol=1e-12)
    B = _rng().normal(size=(2, 3))
    expected = np.ones((2, 3))
    expected[0, 1] += B[1, 0]
    expected[1, 0] += B[0, 1]
    np.testing.assert_allclose(s2sad.grad(matrix_element, mode=mode)(B), expected, rtol=1e-12)


@MODES
def test_inlined_helper_with_shared_weights_adds_adjoints(mode):
    rng = _rng()
    w, x1, x2 = rng.normal(size=3), rng.normal(size=3), rng.normal(size=3)
    gw, g1, g2 = s2sad.grad(shared_weights, wrt=(0, 1, 2), mode=mode)(w, x1, x2)
    a, b = w @ x1, w @ x2
    np.testing.assert_allclose(gw, b * x1 + a * x2, rtol=1e-12)
    np.testing.assert_allclose(g1, b * w, rtol=1e-12)
    np.testing.assert_allclose(g2, a * w, rtol=1e-12)


# --- wrt, signatures, argument conversion -----------------------------------------------------------

ARGS = (1.3, -0.6, 0.9)


def _three_args_grads(a, b, c):
    return b ** 2 + np.sin(c), 2 * a * b, a * np.cos(c)


@MODES
def test_wrt_variants(mode):
    ga, gb, gc = _three_args_grads(*ARGS)
    assert s2sad.grad(three_args, mode=mode)(*ARGS) == pytest.approx(ga)
    assert s2sad.grad(three_args, wrt=1, mode=mode)(*ARGS) == pytest.approx(gb)
    assert s2sad.grad(three_args, wrt="c", mode=mode)(*ARGS) == pytest.approx(gc)
    assert s2sad.grad(three_args, wrt=-1, mode=mode)(*ARGS) == pytest.approx(gc)
    assert s2sad.grad(three_args, wrt=-3, mode=mode)(*ARGS) == pytest.approx(ga)
    both = s2sad.grad(three_args, wrt=(2, "a"), mode=mode)(*ARGS)
    assert isinstance(both, tuple) and both == pytest.approx((gc, ga))
    single = s2sad.grad(three_args, wrt=("b",), mode=mode)(*ARGS)
    assert isinstance(single, tuple) and single == pytest.approx((gb,))


@MODES
def test_value_and_grad(mode):
    value, grads = s2sad.value_and_grad(three_args, wrt=(0, 1, 2), mode=mode)(*ARGS)
    assert value == pytest.approx(three_args(*ARGS), rel=1e-15)
    assert grads == pytest.approx(_three_args_grads(*ARGS))
    value, g = s2sad.value_and_grad(sin_poly, mode=mode)(2.0)
    assert (value, g) == pytest.approx((np.sin(9.0), 6 * np.cos(9.0)))


def test_decorator_forms():
    assert s2sad.grad(sin_poly)(2.0) == pytest.approx(6 * np.cos(9.0))
    assert s2sad.grad(wrt=1)(three_args)(*ARGS) == pytest.approx(_three_args_grads(*ARGS)[1])


@MODES
def test_default_arguments_and_keyword_call(mode):
    g = s2sad.grad(with_default, mode=mode)
    assert g(2.0) == pytest.approx(12.0)
    assert g(2.0, 0.5) == pytest.approx(2.0)
    assert g(2.0, scale=0.5) == pytest.approx(2.0)
    assert g(x=2.0, scale=0.5) == pytest.approx(2.0)
    assert s2sad.grad(with_default, wrt="scale", mode=mode)(x=2.0) == pytest.approx(4.0)


@MODES
def test_int_arguments_become_float(mode):
    g = s2sad.grad(fan_out, wrt=(0, 1), mode=mode)
    assert g(1, 2) == pytest.approx(g(1.0, 2.0), rel=1e-15)
    assert all(type(v) is float for v in g(1, 2))
    got = s2sad.grad(index_product, mode=mode)(np.array([3, 4, 5]))
    assert got.dtype == np.float64 and got.tolist() == [4.0, 3.0, 0.0]
    got = s2sad.grad(logsumexp, mode=mode)([1, 2])   # a list becomes an array
    assert isinstance(got, np.ndarray) and got.shape == (2,)
    assert s2sad.grad(sin_poly, mode=mode)(np.float32(2.0)) == pytest.approx(6 * np.cos(9.0))


@MODES
def test_gradient_shapes_and_types(mode):
    assert type(s2sad.grad(sin_poly, mode=mode)(1.0)) is float
    A = np.ones((2, 3))
    g = s2sad.grad(matrix_element, mode=mode)(A)
    assert isinstance(g, np.ndarray) and g.shape == (2, 3) and g.dtype == np.float64
    g = s2sad.grad(index_product, mode=mode)(np.ones(5))
    assert g.shape == (5,)


# --- jvp and vjp -----------------------------------------------------------------------------------

@pytest.mark.parametrize("f", [
    returns_pair_named,
    returns_pair,
])
def test_vjp_tuple_output_with_tuple_cotangent(f):
    x, y, u, v = 0.7, -1.1, 2.0, -3.0
    values, (gx, gy) = s2sad.vjp(f, wrt=(0, 1))(x, y, (u, v))
    assert values == pytest.approx((x * y, np.sin(x) + y))
    assert gx == pytest.approx(u * y + v * np.cos(x))
    assert gy == pytest.approx(u * x + v)
    _, gx_only = s2sad.vjp(f)(x, y, (u, v))
    assert gx_only == pytest.approx(u * y + v * np.cos(x))


def test_vjp_same_value_returned_twice():
    values, g = s2sad.vjp(returns_same_twice)(2.0, (1.0, 10.0))
    assert values == (4.0, 4.0)
    assert g == 22.0


def test_jvp_same_value_returned_twice():
    assert s2sad.jvp(returns_same_twice)(2.0, 1.0) == ((4.0, 4.0), (2.0, 2.0))


@MODES
def test_np_outer(mode):
    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0, 0.5])
    ga, gb = s2sad.grad(outer_loss, wrt=(0, 1), mode=mode)(a, b)
    np.testing.assert_allclose(ga, 2 * a * np.sum(b ** 2))
    np.testing.assert_allclose(gb, 2 * b * np.sum(a ** 2))


def test_vjp_array_output():
    x = np.array([1.0, 2.0, 3.0])
    ct = np.array([0.5, -1.0, 2.0])
    value, g = s2sad.vjp(returns_array)(x, ct)
    np.testing.assert_array_equal(value, 2 * x)
    np.testing.assert_array_equal(g, 2 * ct)
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    (prod, total), (gx, gy) = s2sad.vjp(array_pair, wrt=("x", "y"))(x, y, (np.array([1.0, 10.0]), 2.0))
    np.testing.assert_array_equal(prod, x * y)
    assert total == 3.0
    np.testing.assert_allclose(gx, np.array([1.0, 10.0]) * y + 2.0)
    np.testing.assert_allclose(gy, np.array([1.0, 10.0]) * x)


def test_jvp_multiple_tangents():
    a, b, c = ARGS
    da, db, dc = 0.3, -2.0, 1.5
    value, dot = s2sad.jvp(three_args, wrt=(0, 1, 2))(a, b, c, da, db, dc)
    ga, gb, gc = _three_args_grads(a, b, c)
    assert value == pytest.approx(three_args(a, b, c))
    assert dot == pytest.approx(ga * da + gb * db + gc * dc, rel=1e-12)
    value, dot = s2sad.jvp(three_args, wrt=("c", "a"))(a, b, c, dc, da)
    assert dot == pytest.approx(gc * dc + ga * da, rel=1e-12)


def test_jvp_tuple_output_and_arrays():
    x, y = 0.7, -1.1
    values, dots = s2sad.jvp(returns_pair, wrt=(0, 1))(x, y, 1.0, 2.0)
    assert values == pytest.approx((x * y, np.sin(x) + y))
    assert dots == pytest.approx((y + 2 * x, np.cos(x) + 2.0))
    rng = _rng()
    w, X, yy, dw = rng.normal(size=3), rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=3)
    value, dot = s2sad.jvp(mse)(w, X, yy, dw)
    assert dot == pytest.approx(2 / 5 * (X.T @ (X @ w - yy)) @ dw, rel=1e-12)


def test_reverse_and_forward_agree_on_every_function():
    rng = _rng()
    cases = [(fan_out, (0.2, 0.9), (0, 1)), (nested_ifs, (-0.5, 0.5), (0, 1)),
             (tanh_layer, (rng.normal(size=(2, 3)), rng.normal(size=2), rng.normal(size=3),
                           rng.normal(size=2)), (0, 1, 2)),
             (shared_weights, (rng.normal(size=4), rng.normal(size=4), rng.normal(size=4)), (0, 1, 2))]
    for f, args, wrt in cases:
        rev = s2sad.grad(f, wrt=wrt)(*args)
        fwd = s2sad.grad(f, wrt=wrt, mode="forward")(*args)
        for r, g in zip(rev, fwd):
            np.testing.assert_allclose(r, g, rtol=1e-12, atol=1e-14, err_msg=f.__name__)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_floor_division_by_one_is_not_the_identity_for_floats(mode):
    """x // 1.0 is floor(x) for floats (only integer // 1 may be dropped): d/dx floor(x)*x = floor(x)."""
    value, g = s2sad.value_and_grad(floor_divide_by_one, mode=mode)(2.5)
    assert value == 5.0
    assert g == 2.0


def test_derivatives_pickle_by_reference():
    """A derivative object pickles by reference to the user's function and its options."""
    import pickle
    g = s2sad.grad(fan_out, wrt=(0, 1), mode="forward")
    h = pickle.loads(pickle.dumps(g))
    assert (h.wrt, h.mode, h.as_tuple) == ((0, 1), "forward", True)
    assert h(0.3, -0.7) == g(0.3, -0.7)


# --- np.diag of a matrix is a read-only view, never updated in place ---------------------------------

@MODES
def test_copies_of_a_read_only_diagonal_are_updated(mode):
    A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.5]]) / 3
    d = np.diag(A)
    cases = [(diagonal_copy_updated, 3 * (d + [1.0, 1.0, 0.0]) ** 2),
             (diagonal_scaled_updated, 3 * (d + [1.0, 0.0, 0.0]) ** 2),
             (diagonal_copy_in_loop, np.where(np.arange(3) < 2, 4 * d ** 3, 2 * d))]
    for f, diagonal in cases:
        np.testing.assert_allclose(s2sad.grad(f, mode=mode)(A), np.diag(diagonal), rtol=1e-13, err_msg=f.__name__)
        check_grad(f, (A,), mode)


@MODES
def test_adjoint_that_is_a_read_only_diagonal_is_added_to(mode):
    v = np.array([0.3, -0.8, 1.1])
    np.testing.assert_allclose(check_grad(diagonal_matrix_energy, (v,), mode)[0], 3 * v ** 2 + 4 * v, rtol=1e-13)


@MODES
def test_a_diagonal_matrix_is_stored_into(mode):
    v = np.array([0.3, -0.8, 1.1])
    np.testing.assert_allclose(s2sad.grad(diagonal_matrix_updated, mode=mode)(v), [0.6, -1.6, 4.4], rtol=1e-13)


def test_the_tangent_of_a_copy_is_copied_once_not_in_every_step():
    """np.diag(A_dot) is a read-only view: its copy is made before the loop, where the stores then
    update it in place, rather than a copy in every iteration."""
    source = s2sad.derivative_source(diagonal_copy_in_loop, mode="forward", types=["f64[:,:]"], backend="python")
    loop = source[source.index("for "):]
    assert source.count(".copy()") == 2 and ".copy()" not in loop, source
