"""Nested element loops over arrays of three axes in the Numba backend's code
(passes/fuse_nd.py): the vector forward mode's batches of tangents computed through broadcasts
to a batch's shape, added axes, transposes and gathers without an array per operation. The
derivatives agree with the Python backend's vectorised code and with finite differences, on the
loops' path and on NumPy's path kept for operands that broadcast."""

import re

import numpy as np
import pytest

import fuse_nd_funcs as fn
import s2sad
from numeric import fd

R = np.random.default_rng(5)
BONES = 9  # (2 × 9 parameters: the Jacobian has the columns of the vector forward mode)
NESTED = re.compile(r"for a\d* in range\(.*\):\n\s+for b\d* in range\(.*\):\n\s+for c\d* in range\(")


def _args(weight_rows: int = 7) -> tuple:
    theta = R.normal(size=2 * BONES)
    base = R.normal(size=(7, 2))
    weights = R.random((weight_rows, BONES))
    return theta, base, weights, np.array([0, 3, -1, 3, 6, 2, 0, -7]), 0.5


def _fd_jacobian(f, args):
    return np.array([fd(lambda t: f(t, *args[1:])[k], (args[0],), 0) for k in range(f(*args).size)])


def _source(f, mode: str, types: str) -> str:
    return s2sad.derivative_source(f, mode, (0,), types=types, backend="numba")


TYPES = {"theta": "f64[:]", "base": "f64[:,:]", "weights": "f64[:,:]", "index": "i64[:]", "shift": "f64"}


@pytest.mark.numba
@pytest.mark.parametrize("weight_rows", [7, 1])
def test_jacobian_agrees_with_python_and_finite_differences(weight_rows):
    """Gathered rows (repeated, and counted from the end) on the loops' path; with weights of one
    row (``moved * weights[:, i]`` broadcasts a number over the points), on NumPy's path."""
    args = _args(weight_rows)
    compiled = s2sad.jacobian(fn.gathered, backend="numba")(*args)
    plain = s2sad.jacobian(fn.gathered, backend="python")(*args)
    np.testing.assert_allclose(compiled, plain, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(compiled, _fd_jacobian(fn.gathered, args), rtol=1e-6, atol=1e-8)


def test_the_batches_are_computed_by_nested_loops():
    """A bone's transform (its parameter's tangent spread over the matrix), the skinning's update,
    the broadcast column added, and the residuals (gathered, transposed and negated): four nests of
    loops, each writing one array, reading through the views and broadcasts, NumPy's form beside
    them; the Python backend's code has none."""
    source = _source(fn.gathered, "vforward", TYPES)
    assert len(NESTED.findall(source)) == 4
    stores = re.findall(r"\n\s+(\w+\[a, b, c1?\] = .*)", source)
    assert [re.sub(r"\b(?!a\b|b\b|c1?\b)[A-Za-z_]\w*", "x", line) for line in stores] == [
        "x[a, b, c1] = x",  # (the transform's tangent, the expression computed into a temporary)
        "x[a, b, c1] = x[a, b, c1] + x[a, b, c1] * x[c1]",
        "x[a, b, c1] = x[a, b, c1] + x[a, b]",
        "x[a, b, c1] = -x[a, c1, x[b]]",
    ]
    assert "for a in range(" not in s2sad.derivative_source(fn.gathered, "vforward", (0,), types=TYPES,
                                                            backend="python")


@pytest.mark.numba
def test_gathered_indices_out_of_bounds_raise_as_in_numpy():
    args = list(_args())
    args[3] = np.array([0, 7])
    for backend in ("numba", "python"):
        with pytest.raises(IndexError):
            s2sad.jacobian(fn.gathered, backend=backend)(*args)


@pytest.mark.numba
def test_reverse_mode_through_transposes_of_batches():
    A, B = R.normal(size=(3, 4, 5)), R.normal(size=(3, 5, 4))
    for k in (0, 1):
        compiled = s2sad.grad(fn.swapped_product, wrt=k, backend="numba")(A, B)
        np.testing.assert_allclose(compiled, s2sad.grad(fn.swapped_product, wrt=k, backend="python")(A, B),
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(compiled, fd(fn.swapped_product, (A, B), k), rtol=1e-6, atol=1e-8)


@pytest.mark.numba
@pytest.mark.parametrize("wrt", [0, 1])
def test_tangents_read_through_transposes_in_a_loop(wrt):
    """Each operand, read twice, is tested once; the Jacobian agrees with the Python backend's
    and with finite differences."""
    X, W = R.normal(size=(4, 5)), R.normal(size=(3, 5))
    compiled = s2sad.jacobian(fn.accumulated_squares, wrt=wrt, backend="numba")(X, W)
    np.testing.assert_allclose(compiled, s2sad.jacobian(fn.accumulated_squares, wrt=wrt, backend="python")(X, W),
                               rtol=1e-12, atol=1e-14)
    x = (X, W)[wrt]
    for k in range(3):  # (three entries of the result, against finite differences)
        index = np.unravel_index(7 * k + 2, X.shape)
        column = fd(lambda v: fn.accumulated_squares(*((v, W) if wrt == 0 else (X, v)))[index], (x,), 0)
        np.testing.assert_allclose(compiled[index], column, rtol=1e-6, atol=1e-8)
    source = s2sad.derivative_source(fn.accumulated_squares, "vforward", (wrt,),
                                     types={"X": "f64[:,:]", "W": "f64[:,:]"}, backend="numba")
    tests = re.findall(r"\n\s+if (.*):\n\s+\w+ = np\.empty\(", source)
    for test in tests:
        conditions = [c.strip("() ") for c in test.split(" and ")]
        assert len(set(conditions)) == len(conditions), test
