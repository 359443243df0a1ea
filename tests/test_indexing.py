"""Reading and storing through integer and boolean index arrays: the adjoint of a read is a
scatter-add (a repeated index adds once per repetition), and a store keeps NumPy's semantics
(where an index repeats, the last value written stays; ``+=`` adds once)."""

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
    assert "add_at(x_bar, " in source and "checked_index(idx, " in source


A = np.array([[0.5, -1.2, 2.0], [-0.3, 0.8, 1.1], [1.4, -0.6, 0.2]])
V = np.array([1.5, -0.7, 2.5])
STORES = [
    (xf.store_through_index, (X, IDX)),
    (xf.two_index_arrays, (A, np.array([0, 2, 2, 1]), np.array([1, -1, 1, 0]))),
    (xf.relu_in_place, (X,)),
    (xf.relu_of_a_matrix, (A, X[:3])),
    (xf.values_stored_at_repeated_indices, (X, V)),
    (xf.added_at_repeated_indices, (X, V)),
    (xf.columns_updated, (A,)),
    (xf.rows_of_a_mask_doubled, (A, np.array([True, False, True]))),
    (xf.positive_entries_rooted, (A,)),
    (xf.scatter_added, (X, np.array([1.0, 2.0, -1.0, 0.5]))),
    (xf.pairs_stored, (A, np.array([0, 2, 1, 2]), np.array([1, 1, -1, 1]))),
    (xf.cross_entropy, (A, np.array([2, 0, 1]))),
    (xf.stores_in_a_loop, (X, np.array([1, 3, 0]))),
    (xf.along_axes, (A, np.array([[2, 0], [1, 1], [0, 2]]))),
    (xf.put_along_rows, (A, np.array([[2, 0], [1, 1], [0, 2]]))),
    (xf.indices_written_as_lists, (X,)),
    (xf.masks_combined, (X,)),
    (xf.embedding_lookup, (A, np.array([[0, 2, 2], [1, 0, 2]]))),
    (xf.index_arrays_with_two_axes, (X, np.array([0, 3, 3, 1]))),
    (xf.pairs_of_two_axes, (A, np.array([0, 2, 2]), np.array([1, -1]))),
    (xf.logical_functions, (np.array([0.3, -1.2, 0.8, 2.0, 0.6]), 6)),
    (xf.stored_through_two_axes, (X, np.array([0, 1, 2, 1]))),
    (xf.array_then_integer_apart, (np.arange(24.0).reshape(2, 3, 4) / 10.0, np.linspace(-1.0, 1.0, 9).reshape(3, 3))),
]


@MODES
@pytest.mark.parametrize("f, args", STORES, ids=[f.__name__ for f, _ in STORES])
def test_stores_and_gathers_through_index_arrays_give_numpys_values(f, args, mode):
    value, g = s2sad.value_and_grad(f, mode=mode)(*[np.copy(a) for a in args])
    assert value == pytest.approx(f(*[np.copy(a) for a in args]), rel=1e-13)
    np.testing.assert_allclose(g, fd(f, args, 0), rtol=1e-6, atol=1e-9)


def test_the_last_value_written_at_a_repeated_index_stays():
    y = s2sad.grad(xf.values_stored_at_repeated_indices, wrt=(1,))(X, V)[0]
    np.testing.assert_array_equal(y, [0.0, 3.0, 1.0])  # (v[0] is overwritten by v[2] at x[0])
    assert s2sad.grad(xf.added_at_repeated_indices)(X, V)[3] == pytest.approx(
        fd(xf.added_at_repeated_indices, (X, V), 0)[3], rel=1e-6)


@pytest.mark.parametrize("f, args, error", [
    (xf.store_through_index, (X, np.array([0, 4])), "index out of bounds"),
    (xf.two_index_arrays, (A, np.array([0, 1]), np.array([3, 0])), "index out of bounds"),
    (xf.rows_of_a_mask_doubled, (A, np.array([True, False])), "boolean index did not match"),
    (xf.gather_sin, (X, np.array([0, 4])), "index out of bounds"),
    (xf.gather_sin, (X, np.array([-5, 1])), "index out of bounds"),
    (xf.embedding_lookup, (A, np.array([[0, 3]])), "index out of bounds"),
    (xf.scatter_past_the_end, (X,), "index out of bounds"),
])
def test_indices_out_of_bounds_raise_index_error_as_numpy_does(f, args, error):
    with pytest.raises(IndexError):
        f(*args)
    with pytest.raises(IndexError, match=error):
        s2sad.grad(f)(*args)


def test_the_scatter_of_a_column_gather_is_a_loop_over_its_axis():
    source = s2sad.derivative_source(xf.columns_updated, args=(A,), backend="numba")
    assert "add_at(A_bar[1:, :].transpose((1, 0)), " in source


@MODES
@pytest.mark.parametrize("f, args", [(xf.rows_stored_through_two_axes, (A, np.array([[0.5, -1.0, 2.0]]))),
                                     (xf.pairs_stored_through_two_axes, (A, np.array([[0.3, -0.4]])))],
                         ids=lambda a: getattr(a, "__name__", ""))
def test_stores_through_index_arrays_of_two_axes(f, args, mode):
    """The positions are read ravelled in C order with the values broadcast to the selection."""
    value, grads = s2sad.value_and_grad(f, wrt=(0, 1), mode=mode)(*[np.copy(a) for a in args])
    assert value == pytest.approx(f(*[np.copy(a) for a in args]), rel=1e-13)
    for k, g in enumerate(grads):
        np.testing.assert_allclose(g, fd(f, args, k), rtol=1e-6, atol=1e-9)


_T = np.arange(24.0).reshape(2, 3, 4) / 10.0
_W = np.linspace(-1.0, 1.0, 6).reshape(2, 3)


_T3 = np.linspace(-1.2, 1.1, 24).reshape(2, 3, 4)
ADVANCED = [
    (xf.integer_and_array_apart, (_T, _W)),
    (xf.index_arrays_beside_a_slice, (_T3, np.linspace(0.5, 1.5, 9).reshape(3, 3))),
    (xf.index_arrays_next_to_each_other, (_T3, np.linspace(0.5, 1.5, 12).reshape(2, 2, 3))),
    (xf.index_arrays_and_none, (_T3, np.linspace(0.5, 1.5, 12).reshape(2, 2, 1, 3))),
    (xf.a_mask_beside_an_array, (_T3, np.linspace(0.5, 1.5, 9).reshape(3, 3))),
    (xf.index_array_beside_none, (X, IDX)),
    (xf.stores_beside_a_slice, (_T3, np.array([[0.3, -0.2, 0.5], [1.1, 0.7, -0.9], [0.2, 0.4, 0.6]]))),
    (xf.ellipses, (_T3, np.linspace(0.5, 1.5, 6).reshape(2, 3))),
]


@MODES
@pytest.mark.parametrize("f, args", ADVANCED, ids=[f.__name__ for f, _ in ADVANCED])
def test_index_arrays_beside_slices_none_and_each_other_select_as_numpy_does(f, args, mode):
    """Arrays and integers select together: their broadcast axes come first when a slice or None
    separates them, else in their place (the weights, of NumPy's result shape, tell the order)."""
    wrt = (0, 1) if f is xf.stores_beside_a_slice else (0,)
    value, grads = s2sad.value_and_grad(f, wrt=wrt, mode=mode)(*[np.copy(a) for a in args])
    assert value == pytest.approx(f(*[np.copy(a) for a in args]), rel=1e-13)
    for k, g in zip(wrt, grads):
        np.testing.assert_allclose(g, fd(f, args, k), rtol=1e-6, atol=1e-9)


def test_the_two_step_form_of_an_integer_and_an_array_apart_agrees():
    assert xf.integer_and_array_apart_in_two_steps(_T, _W) == xf.integer_and_array_apart(_T, _W)
    np.testing.assert_allclose(s2sad.grad(xf.integer_and_array_apart)(_T, _W),
                               s2sad.grad(xf.integer_and_array_apart_in_two_steps)(_T, _W), rtol=1e-14)


def test_two_ellipses_are_refused_as_numpy_refuses_them():
    with pytest.raises(IndexError):
        xf.two_ellipses(_T3)
    with pytest.raises(s2sad.S2SADError, match="an index can only have a single ellipsis"):
        s2sad.grad(xf.two_ellipses)(_T3)


def test_a_mask_of_two_axes_beside_another_index_is_refused():
    with pytest.raises(s2sad.S2SADError, match="a mask of two or more axes selects alone") as info:
        s2sad.grad(xf.a_mask_of_two_axes_beside_an_index)(_T3)
    assert "T[T[:, :, 0] > 0.0, np.array([0])]" in info.value.source_line


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


GRID = np.array([0.0, 0.5, 1.5, 2.0])
INTEGERS = [
    (xf.linear_lookup, (X, 0.45)),
    (xf.linear_lookup, (X, 1.0)),
    (xf.cells_of_points, (X, np.array([0.3, 2.7, 1.1]))),
    (xf.piecewise_linear, (np.array([0.2, 1.7, 0.9]), GRID, X)),
    (xf.binned, (np.array([0.2, -1.7, 0.9]), np.array([-1.0, 0.0, 1.0]))),
    (xf.extremes, (X,)),
    (xf.clipped_integer_index, (X, 5.5)),
    (xf.allocations_with_dtypes, (X[:3],)),
    (xf.allocations_like_integers, (np.array([0.35, -0.55, 1.9]), np.array([1, 2, 3]))),
    (xf.integer_results_of_float_functions, (np.array([0.35, -0.55, 1.9]), np.array([1, -2, 3]))),
    (xf.clipped_booleans_and_integers, (np.array([0.35, -0.55, 1.9]), np.array([1, -2, 3]))),
]


@MODES
@pytest.mark.parametrize("f, args", INTEGERS, ids=[f"{f.__name__}-{k}" for k, (f, _) in enumerate(INTEGERS)])
def test_integers_computed_from_floats_select_without_a_derivative(f, args, mode):
    wrt = tuple(k for k, a in enumerate(args) if isinstance(a, float) or np.asarray(a).dtype == float)
    value, grads = s2sad.value_and_grad(f, wrt=wrt, mode=mode)(*args)
    assert value == pytest.approx(f(*args), rel=1e-13)
    for k, g in zip(wrt, grads):
        np.testing.assert_allclose(g, fd(f, args, k), rtol=1e-6, atol=1e-9)


def test_int_of_nan_raises_as_python_does():
    with pytest.raises(OverflowError):
        xf.integer_of_nan(np.array([1.0, 2.0]))
    with pytest.raises(OverflowError, match="cannot convert float infinity to integer"):
        s2sad.grad(xf.integer_of_nan)(np.array([1.0, 2.0]))


@pytest.mark.parametrize("f, message", [
    (xf.float_operand_of_and, "& | ^ and ~ take booleans or integers, not floats"),
    (xf.invert_of_a_boolean, "~ of a single boolean is ambiguous"),
    (xf.negative_of_a_mask, r"NumPy raises TypeError for -a \(negative\) of boolean arrays"),
    (xf.difference_of_masks, r"NumPy raises TypeError for a - b \(subtract\) of boolean arrays"),
    (xf.sum_of_two_booleans, r"\+ of two booleans is ambiguous \(2 for Python's True \+ True, True for NumPy's\)"),
])
def test_bitwise_operators_refuse_what_numpy_or_python_would_do_otherwise(f, message):
    with pytest.raises(s2sad.S2SADError, match=r"index_funcs.py:\d+: .*" + message):
        s2sad.grad(f)(X)


def test_squeeze_without_an_axis_asks_for_one():
    message = "name the axis to remove"
    f = xf.squeezed_without_an_axis
    with pytest.raises(s2sad.S2SADError, match=r"index_funcs.py:\d+: .*" + message):
        s2sad.grad(f)(X)


@MODES
def test_np_newaxis_adds_an_axis_as_none_does(mode):
    w = np.linspace(-1.0, 1.0, 16).reshape(4, 4)
    value, (gx, gw) = s2sad.value_and_grad(xf.new_axes_by_name, wrt=(0, 1), mode=mode)(X, w)
    assert value == pytest.approx(xf.new_axes_by_name(X, w), rel=1e-13)
    np.testing.assert_allclose(gx, fd(xf.new_axes_by_name, (X, w), 0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gw, fd(xf.new_axes_by_name, (X, w), 1), rtol=1e-6, atol=1e-9)
    out, tangent = s2sad.jvp(lambda x: x[:, np.newaxis] * x[np.newaxis, :])(X, np.ones(4))
    assert out.shape == tangent.shape == (4, 4)
    np.testing.assert_allclose(tangent, X[:, None] + X[None, :], rtol=1e-14)


@MODES
def test_np_ix_selects_and_stores_the_grid_of_its_vectors(mode):
    A = np.linspace(-1.0, 1.3, 12).reshape(3, 4)
    w = np.array([[0.5, -0.7], [1.1, 0.2], [0.3, 0.9]])
    value, grads = s2sad.value_and_grad(xf.submatrix_through_ix, wrt=(0, 1), mode=mode)(A, w)
    assert value == pytest.approx(xf.submatrix_through_ix(A, w), rel=1e-13)
    for k, g in enumerate(grads):
        np.testing.assert_allclose(g, fd(xf.submatrix_through_ix, (A, w), k), rtol=1e-6, atol=1e-9)


@MODES
def test_np_where_of_a_condition_and_np_nonzero_give_numpys_positions(mode):
    x = np.array([0.3, -1.2, 0.8, -0.1, 2.0, -0.7])
    A = np.linspace(-1.0, 1.3, 12).reshape(3, 4)
    value, grads = s2sad.value_and_grad(xf.positions_of_nonzero_elements, wrt=(0, 1), mode=mode)(x, A)
    assert value == pytest.approx(xf.positions_of_nonzero_elements(x, A), rel=1e-13)
    for k, g in enumerate(grads):
        np.testing.assert_allclose(g, fd(xf.positions_of_nonzero_elements, (x, A), k), rtol=1e-6, atol=1e-9)
