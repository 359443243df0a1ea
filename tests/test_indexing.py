"""Reading through integer and boolean index arrays: the adjoint is a scatter-add, and a
repeated index adds once per repetition."""

import numpy as np
import pytest

import index_funcs as xf
import s2sad
from numeric import fd

pytestmark = pytest.mark.usefixtures("each_backend")  # every test, compiled and not
MODES = pytest.mark.parametrize("mode", ["reverse", "forward"])
X = np.array([0.3, -1.2, 0.8, 2.0])
IDX = np.array([0, 2, 2, 3, 0, 0])


@MODES
def test_repeated_indices_add_once_per_repetition(mode):
    g = s2sad.grad(xf.gather_sum, mode=mode)(X, IDX)
    np.testing.assert_array_equal(g, np.bincount(IDX, minlength=4).astype(float))


@MODES
def test_gather_through_a_nonlinear_function(mode):
    g = s2sad.grad(xf.gather_sin, mode=mode)(X, IDX)
    np.testing.assert_allclose(g, fd(xf.gather_sin, (X, IDX), 0), rtol=1e-7)


@MODES
def test_gather_rows_of_a_matrix(mode):
    W = np.random.default_rng(2).normal(size=(4, 3))
    g = s2sad.grad(xf.gather_rows, mode=mode)(W, IDX)
    np.testing.assert_allclose(g, 2 * W * np.bincount(IDX, minlength=4)[:, None], rtol=1e-13)


@MODES
def test_boolean_mask(mode):
    g = s2sad.grad(xf.positive_cubes, mode=mode)(X)
    np.testing.assert_allclose(g, np.where(X > 0, 3 * X ** 2, 0.0), rtol=1e-13)


@MODES
def test_negated_reads_scatter_too(mode):
    """``x_bar[idx] += -g`` stays a scatter (subtracting from x_bar[idx], a copy, would be lost)."""
    g = s2sad.grad(xf.minus_gather, mode=mode)(X, IDX)
    np.testing.assert_array_equal(g, 1.0 - np.bincount(IDX, minlength=4))
    np.testing.assert_array_equal(s2sad.grad(xf.minus_masked, mode=mode)(X), np.where(X > 0.0, -1.0, 0.0))


def test_generated_code_scatters_with_add_at():
    source = s2sad.derivative_source(xf.gather_sum, args=(X, IDX))
    assert "add_at(x_bar, idx, " in source


@pytest.mark.parametrize("f, args, where", [
    (xf.store_through_index, (X, IDX), "y[idx] = 0.0"),
    (xf.two_index_arrays, (np.ones((3, 3)), IDX[:2], IDX[:2]), "W[i, j]"),
])
def test_unsupported_index_arrays_are_refused(f, args, where):
    with pytest.raises(s2sad.S2SADError, match="an index array must be the only index") as info:
        s2sad.grad(f)(*args)
    assert where in info.value.source_line


@MODES
def test_entries_of_a_row_are_read_as_entries_of_the_array(mode):
    P = np.array([[0.3, -1.2, 0.8], [2.0, 0.5, -0.4], [1.1, 0.2, 0.9]])
    C = np.array([[1.0, 0.5, -0.3], [0.2, -0.7, 1.4], [0.6, 0.6, 0.1]])
    got = s2sad.grad(xf.rows_read_by_entry, wrt=(0, 1), mode=mode)(P, C)
    for k in (0, 1):
        np.testing.assert_allclose(got[k], fd(xf.rows_read_by_entry, (P, C), k), rtol=1e-7, atol=1e-10)


@MODES
def test_a_row_of_gathered_rows_is_not_composed(mode):
    X, idx = np.arange(12.0).reshape(4, 3) / 7.0, np.array([2, 0, 3])
    assert xf.row_of_gathered_rows(X, idx) == pytest.approx(np.sum(X[0] ** 2) + np.sum(np.sin(X[idx, 0])))
    g = s2sad.grad(xf.row_of_gathered_rows, mode=mode)(X, idx)
    np.testing.assert_allclose(g, fd(xf.row_of_gathered_rows, (X, idx), 0), rtol=1e-7, atol=1e-10)


def test_a_row_read_by_entry_needs_no_row_adjoint():
    """``P[j][k]`` is ``P[j, k]``: the adjoint adds into P_bar's entries, with no zero row a step."""
    source = s2sad.derivative_source(xf.rows_read_by_entry, wrt=(0, 1), args=(np.ones((3, 3)), np.ones((3, 3))))
    reverse = source.split("# reverse sweep")[1]
    assert "np.zeros(" not in reverse.split("for ")[1] and "P_bar[j, 0] +=" in reverse
