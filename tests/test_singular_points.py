"""At a point where a partial derivative is infinite or NaN (sqrt at 0, the norm of a zero
vector, ...), that value stays in the derivatives that depend on the point: a zero tangent
(forward mode) or a zero cotangent (reverse mode) contributes zero through it, rather than
0 · inf = NaN in every derivative the sum reaches. Both modes, both backends."""

import functools

import numpy as np
import pytest

import s2sad

from . import singular_funcs as sf

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's, at the singular points
BACKENDS = pytest.mark.parametrize("backend", ["python", "numba"])
MODES = pytest.mark.parametrize("mode", ["forward", "reverse"])
NAN3 = [np.nan] * 3


@functools.cache
def _grad(fn, wrt, mode: str, backend: str):
    return s2sad.grad(fn, wrt=wrt, mode=mode, backend=backend)


@MODES
@BACKENDS
def test_the_norm_of_a_zero_vector_leaves_the_other_partial_alone(mode, backend):
    x_bar, y_bar = _grad(sf.norm_plus, (0, 1), mode, backend)(np.zeros(3), 2.0)
    assert y_bar == 1.0
    np.testing.assert_array_equal(x_bar, NAN3)  # the convention at 0, where x's tangent is not 0


@MODES
@BACKENDS
def test_the_norm_of_a_zero_part_leaves_the_other_elements_alone(mode, backend):
    got = _grad(sf.norm_of_head_plus_last, 0, mode, backend)(np.array([0.0, 0.0, 1.0]))
    np.testing.assert_array_equal(got, [np.nan, np.nan, 1.0])


@MODES
@BACKENDS
def test_each_singular_partial_stays_where_it_belongs(mode, backend):
    """Every element of x sits at a singular point of its own term: each partial is that term's
    (the convention there, infinite or NaN), and the others, like ∂/∂y, are untouched."""
    x_bar, y_bar = _grad(sf.singular_terms, (0, 1), mode, backend)(sf.POINT, 0.5)
    assert y_bar == 1.0
    np.testing.assert_array_equal(x_bar, sf.PARTIALS)


@BACKENDS
def test_a_zero_cotangent_contributes_zero(backend):
    """Reverse mode: the first result's cotangent is 0, so x's cotangent is 0 (a row of a
    Jacobian made by reverse mode), not NaN; a cotangent of 1 gives the partials."""
    vjp = s2sad.vjp(sf.singular_and_plain, wrt=(0, 1), backend=backend)
    _, (x_bar, y_bar) = vjp(sf.POINT, 0.5, (0.0, 1.0))
    np.testing.assert_array_equal(x_bar, np.zeros_like(sf.POINT))
    assert y_bar == 2.0
    _, (x_bar, y_bar) = vjp(sf.POINT, 0.5, (1.0, 0.0))
    np.testing.assert_array_equal(x_bar, sf.PARTIALS)
    assert y_bar == 0.0


@BACKENDS
def test_a_zero_tangent_contributes_zero(backend):
    """Forward mode, one direction at a time: x's tangent 0 (y's 1) leaves the first result's
    tangent 0; a tangent along one element of x gives that element's partial."""
    jvp = s2sad.jvp(sf.singular_and_plain, wrt=(0, 1), backend=backend)
    _, dots = jvp(sf.POINT, 0.5, np.zeros_like(sf.POINT), 1.0)
    assert dots == (0.0, 2.0)
    for k in (0, 7, 13, 22):
        _, dots = jvp(sf.POINT, 0.5, np.eye(len(sf.POINT))[k], 0.0)
        np.testing.assert_array_equal(dots, (sf.PARTIALS[k], 0.0))


@MODES
@BACKENDS
def test_a_draw_of_zero_scale(mode, backend):
    """∂/∂scale of a normal draw is (z − loc) / scale: 0 / 0 at scale 0."""
    got = _grad(sf.draw_at_zero_scale, (0, 1, 2), mode, backend)(0.3, 0.0, 1.5)
    np.testing.assert_array_equal(got, (3.0, np.nan, 1.0))


@MODES
@BACKENDS
def test_a_nan_row_of_an_extreme_over_an_axis_is_not_read(mode, backend):
    X = np.array([[1.0, 2.0], [np.nan, 3.0]])
    got = _grad(sf.first_row_minimum, 0, mode, backend)(X)
    np.testing.assert_array_equal(got, [[1.0, 0.0], [0.0, 0.0]])


@pytest.mark.parametrize("rows", [0, 1])
@BACKENDS
def test_std_and_var_of_too_few_elements_are_nan_as_in_numpy(rows, backend):
    """No rows: NumPy's std and var are NaN (0 / 0), and so is var with ddof=1 of one row; their
    derivatives are NaN or empty, not an error (the maximum that scales std's rounding test
    failed over an empty axis, and var's 2 / (n - ddof) divided Python numbers by 0)."""
    X, cotangent = np.zeros((rows, 3)), np.array([1.0, 2.0, 3.0])
    value, (X_bar, y_bar) = s2sad.vjp(sf.spreads_over_rows, wrt=(0, 1), backend=backend)(X, 0.5, cotangent)
    np.testing.assert_array_equal(value, sf.spreads_over_rows(X, 0.5))
    assert X_bar.shape == (rows, 3) and y_bar == 6.0
    assert np.isnan(X_bar).all()
    value, dot = s2sad.jvp(sf.spreads_over_rows, wrt=(0, 1), backend=backend)(X, 0.5, np.ones((rows, 3)), 1.0)
    np.testing.assert_array_equal(value, sf.spreads_over_rows(X, 0.5))
    np.testing.assert_array_equal(dot, [np.nan] * 3 if rows else [1.0] * 3)


@MODES
@BACKENDS
def test_a_float_to_a_negative_integer_power_at_0_is_infinite(mode, backend):
    """NumPy's infinity (Numba's power of a float by an integer raised ZeroDivisionError)."""
    x, n, k = np.array([0.0, 2.0]), -1, np.array([-3, -1])
    expected = sf.negative_integer_powers(x, n, k)
    assert np.isinf(expected[0])
    value, dot = s2sad.jvp(sf.negative_integer_powers, backend=backend)(x, n, k, np.array([0.0, 1.0]))
    np.testing.assert_array_equal(value, expected)
    assert dot[0] == 0.0 and dot[1] == -2 * 2.0 ** -3 - 2 * 2.0 ** -2 - 2.0 ** -2
    got = _grad(sf.negative_integer_powers_sum, 0, mode, backend)(x, n, k)
    assert np.isinf(got[0]) and got[1] == dot[1]


@MODES
@BACKENDS
def test_the_covariance_of_one_sample_is_nan_as_in_numpy(mode, backend):
    """N - 1 = 0: NumPy's NaN (its division by 0), and a derivative (0 / 0 where x is, as x's own
    centred value is 0: its value is not checked); the derivative's partial 1 / (N - 1) divided
    Python numbers (float(N) - 1.0) and raised ZeroDivisionError."""
    x = np.array([0.5])
    assert np.isnan(sf.covariance_of_samples(x, 1.0))
    value, (x_bar, y_bar) = s2sad.value_and_grad(sf.covariance_of_samples, (0, 1), mode=mode, backend=backend)(x, 1.0)
    assert np.isnan(value) and x_bar.shape == (1,) and y_bar == 1.0
