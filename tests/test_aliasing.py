"""NumPy's memory semantics: views, aliases and in-place updates through any name, in helpers,
branches and loops, and the caller's arrays. Each function is run by NumPy itself, as the
reference: s2sad must give its value, its arrays afterwards, and the finite-difference gradient,
in both modes and on both backends, or refuse the function at the line that makes the result
depend on what cannot be known."""

import copy

import numpy as np
import pytest

import s2sad
from s2sad import S2SADError

from . import alias_funcs as af
from .numeric import check_grad

pytestmark = pytest.mark.usefixtures("each_backend")
MODES = pytest.mark.parametrize("mode", ["reverse", "forward"])

X3 = np.array([0.7, -1.3, 2.1])
A22 = np.array([[1.2, -0.4], [0.3, 2.5]])
A33 = np.array([[1.2, -0.4, 0.5], [0.3, 2.5, -1.1], [0.8, 0.2, 1.7]])
A23 = np.array([[1.2, -0.4, 0.5], [0.3, 2.5, -1.1]])
A32 = A23.T.copy()
X6 = np.linspace(0.2, 1.2, 6)


def numpy_gradient(f, args, k, h=1e-6):
    """∂f/∂args[k] by central differences of NumPy's own run, on fresh copies of every argument."""
    x = np.asarray(args[k], dtype=float)
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        values = []
        for step in (h, -h):
            moved = copy.deepcopy(list(args))
            moved[k] = np.array(x, dtype=float) if x.shape else float(x)
            if x.shape:
                moved[k][index] += step
            else:
                moved[k] += step
            values.append(f(*moved))
        grad[index] = (values[0] - values[1]) / (2 * h)
    return grad[()] if not x.shape else grad


def check_against_numpy(f, args, wrt, mode):
    """s2sad's value, gradient and arguments afterwards against NumPy's."""
    expected_args = copy.deepcopy(list(args))
    expected = f(*expected_args)
    got_args = copy.deepcopy(list(args))
    value, grads = s2sad.value_and_grad(f, wrt=wrt, mode=mode)(*got_args)
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)
    for k, g in zip(wrt, grads):
        np.testing.assert_allclose(g, numpy_gradient(f, args, k), rtol=1e-6, atol=1e-6, err_msg=f"wrt {k}")
    for got, want in zip(got_args, expected_args):
        np.testing.assert_array_equal(got, want)  # (NumPy writes into the caller's arrays, so must s2sad)


CASES = [
    (af.scaled_through_alias, (X3,)),
    (af.shifted_under_transpose, (A22,)),
    (af.shifted_through_slice, (X3,)),
    (af.stored_through_row_view, (X3,)),
    (af.stored_through_moved_axes, (A22,)),
    (af.stored_through_transpose, (A23,)),
    (af.stored_through_swapped_axes, (A23,)),
    (af.stored_through_second_name, (X3,)),
    (af.stored_through_chained_index, (A22,)),
    (af.stored_through_subscripted_view, (X3,)),
    (af.expanded_view_written, (X3,)),
    (af.flipped_view_written, (X3,)),
    (af.reshaped_new_array_written, (X6,)),
    (af.reshaped_computed_vector_written, (X6,)),  # (used to be refused: its layout was thought unknown)
    (af.diagonal_sees_later_writes, (A33,)),
    (af.taken_column_is_a_copy, (A23,)),
    (af.index_array_read_is_a_copy, (X3,)),
    (af.tuple_holds_a_written_array, (X3,)),
    (af.positive_is_a_copy, (X3,)),
    (af.unchanged_value_is_a_copy, (X3,)),
    (af.helper_decrements, (X3,)),
    (af.helper_stores, (X3,)),
    (af.helper_returns_a_view, (X3,)),
    (af.helper_writes_into_a_row, (A23,)),
    (af.loop_writes_under_an_alias, (X3,)),
    (af.while_writes_under_a_column_view, (A22,)),
    (af.loop_scales_rows, (A32, np.array([0.5, -2.0, 1.5]))),
    (af.loop_over_rows_writes_them, (A32,)),
    (af.double_buffer, (X6, 0.2)),
    (af.helper_in_loop, (X3,)),
    (af.branch_writes_through_view, (X3, 1.0)),
    (af.branch_writes_through_view, (X3, -1.0)),
    (af.same_view_from_both_branches, (X3, 1.0)),
    (af.same_view_from_both_branches, (X3, -1.0)),
    (af.new_arrays_from_both_branches, (X3, -1.0)),
    (af.rebind_view_in_loop, (X3,)),
    (af.while_cond_view, (X3,)),
    (af.reversed_param, (X3,)),
    (af.nested_loops_rows, (A32,)),
    (af.helper_twice, (X3,)),
    (af.cond_expr_same, (X3, 1.0)),
    (af.transpose_of_view, (A23,)),
    (af.view_of_a_temporary_carried, (X3, 0.4)),
    (af.writes_its_argument, (X3,)),
    (af.writes_its_argument_in_a_loop, (X3, 5)),
    (af.writes_first_argument, (X3, X3[::-1].copy())),
    (af.shifted_into_itself, (X3,)),
    (af.rows_shifted_up, (A33,)),
    (af.row_from_next_row_in_a_loop, (A33,)),
    # a tuple of views unpacked into stores: the second store used to take its row as it was before the
    # first (a wrong value, without a warning), or to be refused as an overlap
    (af.rows_swapped_between_two_arrays, (A33, A33[::-1] * 0.5)),
    (af.rows_swapped_by_a_tuple, (A33,)),
    (af.reversed_into_itself, (X6,)),  # (used to be refused as an overlap)
    (af.shifted_through_views_of_views, (X6,)),  # (used to be refused as views with other strides)
    (af.off_diagonal_sees_later_writes, (A33,)),
    (af.copies_into_views, (np.array([0.7, -1.3, 2.1, 0.4]),)),  # (np.copyto and out= used to be refused)
    (af.outputs_by_position, (np.array([0.7, -1.3, 2.1, 0.4]),)),  # (used to be refused as having no effect)
    (af.ravel_of_a_c_ordered_copy_written, (np.asfortranarray(A33),)),
    # a step updating its arguments in place and returning them (``x, v = step(x, v, dt)``): the names are
    # those arrays all along (used to be refused, as names that may or may not share memory)
    (af.integrator_steps_its_arguments, (X3, X3[::-1] * 0.5)),
    (af.integrator_steps_through_views, (X3,)),
    (af.integrator_state_seen_through_an_earlier_name, (X3,)),
]


@MODES
@pytest.mark.parametrize("f, args", CASES, ids=[f"{f.__name__}-{k}" for k, (f, _) in enumerate(CASES)])
def test_gives_numpys_values_gradients_and_arrays(f, args, mode):
    floats = tuple(k for k, a in enumerate(args) if isinstance(a, (float, np.ndarray)))
    check_against_numpy(f, args, floats, mode)


REFUSED = [
    (af.alias_from_a_branch_written, (X3, 1.0), "may or may not share memory"),
    (af.alias_from_a_branch_read_after_a_write, (X3, 1.0), "may or may not share memory"),
    (af.reshape_of_an_argument_written, (X3,), "reshape"),
    (af.diagonal_written, (A22,), "read-only view"),
    (af.float_into_int_array, (X3,), "cannot store that result in place"),
    (af.module_array_written, (1.0,), "writes into 'G', an array from outside the function"),
    (af.conditional_expression_writes, (X3, 1.0), "use an if statement"),
    (af.view_of_a_path_dependent_alias_written, (X3, 1.0), "may or may not share memory"),
    (af.row_set_from_a_column, (A33,), "depends on the order of the elements in memory"),
    (af.row_set_from_a_column_view, (A33,), "depends on the order of the elements in memory"),
    (af.cumsum_into, (X3,), "out= is supported for NumPy's ufuncs"),
    (af.masked_store_from_an_overlapping_view, (X3,), "through a mask from a view of the same memory"),
    (af.ravel_of_a_copy_written, (np.asfortranarray(A33),), "reshape"),
    (af.ravel_of_zeros_like_written, (np.asfortranarray(A33),), "reshape"),
]


@pytest.mark.parametrize("f, args, words", REFUSED, ids=[f.__name__ for f, *_ in REFUSED])
def test_what_depends_on_the_unknowable_is_refused_at_its_line(f, args, words):
    with pytest.raises(S2SADError) as info:
        s2sad.grad(f)(*args)
    assert words in info.value.message
    assert "# <-" in info.value.source_line
    assert not isinstance(info.value, s2sad.InternalError)


def test_an_update_that_would_change_the_shape_raises_as_numpy_does():
    x, y = np.ones((3, 1)), np.ones(4)
    with pytest.raises(ValueError):
        af.update_changing_shape(x.copy(), y)
    with pytest.raises(ValueError):
        s2sad.grad(af.update_changing_shape)(x.copy(), y)


@pytest.mark.parametrize("make", [
    lambda f: s2sad.grad(f, mode="forward"),
    lambda f: s2sad.jacobian(f),
    lambda f: s2sad.jacobian(f, mode="reverse"),
    lambda f: s2sad.hessian(f),
], ids=["forward-grad", "jacobian", "jacobian-reverse", "hessian"])
def test_derivatives_running_the_code_per_column_write_the_arguments_once(make):
    """Each column starts from the arguments as they were; afterwards they hold one call's writes."""
    x = X3.copy()
    expected = X3.copy()
    af.writes_its_argument(expected)
    result = make(af.writes_its_argument)(x)
    np.testing.assert_array_equal(x, expected)
    gradient = s2sad.grad(af.writes_its_argument)(X3.copy())
    first = result if np.ndim(result) == 1 else None
    if first is not None:
        np.testing.assert_allclose(first, gradient, rtol=1e-12)


def test_arguments_sharing_memory_with_a_written_one_are_refused():
    x = X3.copy()
    with pytest.raises(S2SADError, match="shares memory with 'y'"):
        s2sad.grad(af.writes_first_argument)(x, x)
    with pytest.raises(S2SADError, match="shares memory"):
        s2sad.grad(af.writes_first_argument)(x[:3], x[::-1])


def test_a_written_argument_converted_to_float_is_refused():
    with pytest.raises(S2SADError, match="converted"):
        s2sad.grad(af.writes_its_argument)(np.array([1, 2, 3]))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_written_argument_given_as_a_list_is_refused(mode):
    """Python would write into the caller's list; s2sad's array made of it would take the write
    instead, leaving the list as it was."""
    for wrt in (0, 1):
        with pytest.raises(S2SADError, match=r"alias_funcs.py:\d+: .*converted that argument .*\(or a list to an array\)"):
            s2sad.grad(af.writes_first_argument, wrt=wrt, mode=mode)([1.0, 2.0, 3.0], X3[:3])
    assert s2sad.grad(af.writes_first_argument, wrt=1, mode=mode)(X3[:3].copy(), [1.0, 2.0, 3.0]) is not None


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_number_updated_in_place_refuses_a_0d_array(mode):
    """NumPy's `z *= 2.0` updates a 0-d array in place, which s2sad takes as a number: refused
    for a 0-d array, and a float (which Python rebinds) is differentiated as ever."""
    for fn, grads in ((af.updates_a_number, (3.0, 1.0)), (af.updates_a_number_in_a_helper, (1.5, 0.5))):
        with pytest.raises(S2SADError, match=r"alias_funcs.py:\d+: .* updates its argument 'z' in place"):
            s2sad.grad(fn, wrt=(0, 1), mode=mode)(0.5, np.array(1.5))
        z = np.array(1.5)
        with pytest.raises(S2SADError, match="0-d array"):
            s2sad.grad(fn, mode=mode)(0.5, z)
        assert z == 1.5
        value, (gx, gz) = s2sad.value_and_grad(fn, wrt=(0, 1), mode=mode)(0.5, 1.5)
        assert value == fn(0.5, 1.5) and (gx, gz) == grads


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_copy_of_a_0d_array_may_be_updated_but_not_the_array_on_any_path(mode):
    """`w = z.copy(); w += x` leaves the caller's 0-d array alone, as NumPy does: differentiated.
    Where w may be z itself (on one branch, or as a loop starts), NumPy's update would reach
    the caller's array: refused, whichever path the call takes."""
    g = s2sad.grad(af.updates_a_copy_of_a_number, wrt=(0, 1), mode=mode)(0.5, np.array(1.5))
    assert g == (1.5, 2.0 * 1.5 + 0.5)
    for args in ((0.5, np.array(1.5)), (-0.5, np.array(1.5))):
        with pytest.raises(S2SADError, match=r"alias_funcs.py:\d+: .* updates its argument 'z' in place"):
            s2sad.grad(af.updates_a_number_on_one_path, wrt=(0, 1), mode=mode)(*args)
    with pytest.raises(S2SADError, match="updates its argument 'z' in place"):
        s2sad.grad(af.updates_a_number_carried_by_a_loop, wrt=(0, 1), mode=mode)(0.5, np.array(1.5), 3)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_written_argument_sharing_memory_with_a_global_it_reads_is_refused(mode):
    """Given the module's own array WEIGHTS, NumPy's `x *= 2.0` doubles WEIGHTS too, which the
    function then reads; s2sad reads WEIGHTS as an array apart."""
    fn = af.writes_its_argument_and_reads_a_global
    with pytest.raises(S2SADError, match=r"alias_funcs.py:\d+: .*shares memory with the array 'WEIGHTS' it reads"):
        s2sad.grad(fn, mode=mode)(af.WEIGHTS)
    with pytest.raises(S2SADError, match="'WEIGHTS'"):
        s2sad.grad(fn, mode=mode)(af.WEIGHTS[1:])
    np.testing.assert_array_equal(af.WEIGHTS, np.ones(3))
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(s2sad.grad(fn, mode=mode)(x), 2.0 * af.WEIGHTS, rtol=1e-15)
    np.testing.assert_array_equal(x, [2.0, 4.0, 6.0])


def test_the_generated_code_writes_the_argument_after_the_reverse_sweep():
    source = s2sad.derivative_source(af.writes_its_argument, args=(X3,), backend="python")
    sweep, write = source.index("# reverse sweep"), source.index("x[:] = ")
    assert sweep < write < source.index("return ")


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("f", [af.split_then_write, af.flipud_then_write, af.atleast_2d_then_write,
                               af.matrix_power_one_then_write],
                         ids=lambda f: f.__name__)
def test_writes_through_views_of_composed_functions_reach_the_array(f, mode):
    x = np.array([0.5, 1.5, -2.0, 0.25])
    assert s2sad.value_and_grad(f, mode=mode)(x)[0] == pytest.approx(f(x), rel=1e-12)
    check_grad(f, (x,), mode)
