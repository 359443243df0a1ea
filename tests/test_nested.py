"""Derivatives of code that calls derivatives (frontend/nested.py): the inner gradient's code is
inlined and differentiated again — reverse over reverse for `grad`, forward over reverse in
forward mode. Checked against finite differences of the whole function and closed forms."""

import numpy as np
import pytest

import s2sad
import nested_funcs as nf
from nested_funcs import (both, calls_gradient_of_vector, calls_gradient_reading_global, calls_jvp, d_sin_cube,
                          d_task_loss,
                          dd_sin_cube, grad_made_inside, gradient_norm, meta_loss, step_through_while, two_steps,
                          value_plus_slope,
                          with_int_argument)
from numeric import fd


def _maml_args():
    rng = np.random.default_rng(3)
    return rng.random(3), rng.random((8, 3)), rng.random(8), rng.random((6, 3)), rng.random(6), 0.3


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_maml_meta_gradient(each_backend, mode):
    args = _maml_args()
    got = s2sad.grad(meta_loss, mode=mode)(*args)
    np.testing.assert_allclose(got, fd(meta_loss, args, 0), rtol=1e-6, atol=1e-9)
    # not first-order MAML, ∇L_test(θ'): the inner step's Hessian counts
    phi, Xtr, ytr, Xte, yte, alpha = args
    first_order = d_task_loss(phi - alpha * d_task_loss(phi, Xtr, ytr), Xte, yte)
    assert np.max(np.abs(got - first_order)) > 1e-4


def test_second_order_through_a_taped_loop(each_backend):
    args = (np.array([0.5, -0.3, 0.8]), np.array([0.2, 0.4, -0.1]), 5, 0.1)
    got = s2sad.grad(two_steps)(*args)
    np.testing.assert_allclose(got, fd(two_steps, args, 0), rtol=1e-6, atol=1e-9)


def test_second_order_through_a_while_loop(each_backend):
    args = (0.6, 3.0, 0.05)
    for mode in ("reverse", "forward"):
        got = s2sad.grad(step_through_while, mode=mode)(*args)
        assert got == pytest.approx(fd(step_through_while, args, 0), rel=1e-6)


def test_gradients_of_gradients_against_closed_forms(each_backend):
    x = 0.7
    s, c = np.sin(x), np.cos(x)
    assert d_sin_cube(x) == pytest.approx(c * x ** 3 + 3 * s * x ** 2, rel=1e-14)
    assert dd_sin_cube(x) == pytest.approx(-s * x ** 3 + 6 * c * x ** 2 + 6 * s * x, rel=1e-13)
    third = s2sad.grad(dd_sin_cube)
    assert third(x) == pytest.approx(-c * x ** 3 - 9 * s * x ** 2 + 18 * c * x + 6 * s, rel=1e-12)


def test_tuples_and_value_and_grad_inside():
    a, b = 0.4, 1.3
    for f in (gradient_norm, value_plus_slope, with_int_argument):
        args = (a, b) if f is not with_int_argument else (a, 2)
        got = s2sad.grad(f, wrt=(0, 1) if f is not with_int_argument else 0)(*args)
        wrt = (0, 1) if f is not with_int_argument else (0,)
        expected = [fd(f, args, k) for k in wrt]
        np.testing.assert_allclose(np.atleast_1d(got), expected, rtol=1e-6)
    assert value_plus_slope(a, b) == pytest.approx(both(a, b) + 3.0 * (2 * a * b + b * np.exp(a * b)))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_inner_gradients_in_forward_mode(mode, each_backend):
    """An inner s2sad.grad(f, mode="forward") runs f's tangent code (seeded once per parameter)."""
    a, b = 0.4, 1.3
    for f in (nf.forward_gradient_norm, nf.forward_value_plus_slope):
        got = s2sad.grad(f, wrt=(0, 1), mode=mode)(a, b)
        np.testing.assert_allclose(got, [fd(f, (a, b), k) for k in (0, 1)], rtol=1e-6)
    source = s2sad.derivative_source(nf.forward_gradient_norm, backend="python")
    assert "_dot" in source and "both's gradient: reverse sweep" not in source  # (tangent code, no inner sweep)


@pytest.mark.parametrize("f, message", [
    (nf.forward_gradient_of_array, "forward mode is supported for numbers only"),
    (grad_made_inside, "make the derivative outside the function"),
    (calls_jvp, "s2sad.jvp inside a differentiated function is not supported"),
    (calls_gradient_of_vector, "needs a function returning one float"),
    (calls_gradient_reading_global, "reads a module's global array"),
])
def test_refusals(f, message):
    with pytest.raises(s2sad.S2SADError, match=message) as info:
        s2sad.grad(f)(np.array([0.5, 0.2, 0.1]) if f not in (grad_made_inside, calls_jvp) else 0.5)
    assert info.value.lineno is not None


def test_the_source_shows_both_sweeps_of_the_inner_gradient():
    source = s2sad.derivative_source(meta_loss, args=_maml_args())
    assert "# task_loss's gradient: forward sweep" in source and "# task_loss's gradient: reverse sweep" in source
    assert source.count("# forward sweep") == source.count("# reverse sweep") == 1  # the outer sweeps
