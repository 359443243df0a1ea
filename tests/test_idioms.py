"""Everyday Python in differentiated functions: None defaults and `is None`, lambdas and
functools.partial, lists (the functions are in idiom_funcs.py). Derivatives against closed
forms and central finite differences, both modes, both backends."""

import functools

import numpy as np
import pytest

import idiom_funcs as idf
import s2sad
from numeric import check_grad, fd

pytestmark = pytest.mark.usefixtures("each_backend")
MODES = pytest.mark.parametrize("mode", ["reverse", "forward"])
X = np.array([0.5, -1.5, 2.0])


# --- None defaults and `is None` -----------------------------------------------------------------

@MODES
def test_none_default_resolved_per_call_types(mode):
    g = s2sad.grad(idf.scaled, mode=mode)
    np.testing.assert_allclose(g(X), 8 * X, rtol=1e-14)                      # scale defaults to 2
    np.testing.assert_allclose(g(X, 3.0), 18 * X, rtol=1e-14)
    np.testing.assert_allclose(g(X, 3.0, 1.0), 6 * (3 * X + 1), rtol=1e-14)   # shift given
    gx, gs = s2sad.grad(idf.scaled, wrt=(0, 1), mode=mode)(X, 3.0, 1.0)
    np.testing.assert_allclose(gs, np.sum(2 * (3 * X + 1) * X), rtol=1e-14)
    check_grad(idf.scaled, (X, 0.7, -0.2), mode)


@MODES
def test_none_in_conditional_expression(mode):
    w = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(s2sad.grad(idf.weighted_or_plain, mode=mode)(X), 2 * X, rtol=1e-14)
    np.testing.assert_allclose(s2sad.grad(idf.weighted_or_plain, mode=mode)(X, w), 2 * w * X, rtol=1e-14)


def test_module_setting_that_is_none_then_set(monkeypatch):
    g = s2sad.grad(idf.shifted_by_setting)
    np.testing.assert_allclose(g(X), 2 * X, rtol=1e-14)
    monkeypatch.setattr(idf, "OFFSET", 0.5)
    np.testing.assert_allclose(g(X), 2 * (X - 0.5), rtol=1e-14)   # (checked at every call)
    monkeypatch.setattr(idf, "OFFSET", None)
    np.testing.assert_allclose(g(X), 2 * X, rtol=1e-14)


def test_none_argument_cannot_be_differentiated():
    with pytest.raises(s2sad.S2SADError, match="cannot differentiate with respect to 'scale': it is None"):
        s2sad.grad(idf.scaled, wrt=(0, 1))(X)


def test_is_between_values_refused():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: 'is' and 'is not' compare with None"):
        s2sad.grad(idf.compares_values_with_is)(1.0, 2.0)


def test_none_used_as_a_number_refused_where_used():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: a value here is None, and mul cannot take None"):
        s2sad.grad(idf.uses_none)(X)


@MODES
def test_none_is_false_as_a_condition(mode):
    assert s2sad.grad(idf.doubled_if_flag, mode=mode)(1.5) == 1.0
    assert s2sad.grad(idf.doubled_if_flag, mode=mode)(1.5, True) == 2.0


# --- array defaults -------------------------------------------------------------------------------

# An array default of a helper (a module array named in its def) used to crash the compiler
@MODES
def test_array_default_of_a_helper_is_read_at_each_call(mode):
    x, s = np.array([0.3, -0.2, 0.5]), 1.5
    g = s2sad.grad(idf.misfits_by_default_and_by_keyword, wrt=(0, 1), mode=mode)
    gx, gs = g(x, s)
    w = idf.WEIGHTS
    np.testing.assert_allclose(gx, 2 * (x - w) + 2 * (1 - s) ** 2 * x - 2 * (w * s - x), rtol=1e-14)
    np.testing.assert_allclose(gs, -2 * (1 - s) * np.sum(x * x) + 2 * np.sum((w * s - x) * w), rtol=1e-14)
    check_grad(idf.misfits_by_default_and_by_keyword, (x, s), mode)
    w[1] = 7.0                                  # the default array changed in place: seen by the next call
    try:
        np.testing.assert_allclose(g(x, s)[0], 2 * (x - w) + 2 * (1 - s) ** 2 * x - 2 * (w * s - x), rtol=1e-14)
    finally:
        w[1] = -0.25


def test_array_default_written_by_a_helper_is_refused():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: this writes into 'buf', an array from outside"):
        s2sad.grad(idf.calls_a_helper_writing_its_default)(np.array([0.3, -0.2, 0.5]))


# --- closures -------------------------------------------------------------------------------------

@MODES
def test_closure_arrays_are_read_at_each_call(mode):
    X, y = np.array([[1.0, 2.0], [3.0, 4.0], [0.5, -1.0]]), np.array([1.0, 0.0, 2.0])
    loss, w = idf.make_ridge_loss(X, y, 0.5), np.array([0.1, 0.2])
    g = s2sad.grad(loss, mode=mode)
    np.testing.assert_allclose(g(w), 2 * X.T @ (X @ w - y) + w, rtol=1e-14)
    X[0, 0] = 5.0                                              # changed in place after the first call
    np.testing.assert_allclose(g(w), 2 * X.T @ (X @ w - y) + w, rtol=1e-14)
    check_grad(idf.make_ridge_loss(X, y, 0.1), (w,), mode)


def test_closure_array_written_is_refused():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: this writes into 'A', an array from outside"):
        s2sad.grad(idf.make_writer(np.eye(2)))(np.ones(2))


# --- lambda and functools.partial -----------------------------------------------------------------

Xr, yr, wr = np.array([[1.0, 2.0], [3.0, 4.0], [0.5, -1.0]]), np.array([1.0, 0.0, 2.0]), np.array([0.1, 0.2])


@MODES
def test_lambda_given_to_grad(mode):
    X = Xr.copy()
    g = s2sad.grad(lambda w: idf.squared_error(w, X, yr), mode=mode)
    np.testing.assert_allclose(g(wr), 2 * X.T @ (X @ wr - yr), rtol=1e-14)
    X[1, 1] = 7.0                                             # (a closure array: read at every call)
    np.testing.assert_allclose(g(wr), 2 * X.T @ (X @ wr - yr), rtol=1e-14)
    a, b = (lambda u: u * 3.0), (lambda u: u * 5.0)          # (two on one line, told apart)
    assert (s2sad.grad(a, mode=mode)(1.0), s2sad.grad(b, mode=mode)(1.0)) == (3.0, 5.0)


@MODES
def test_partial_given_to_grad(mode):
    X = Xr.copy()
    by_keyword = functools.partial(idf.squared_error, X=X, y=yr)
    g = s2sad.grad(by_keyword, mode=mode)
    np.testing.assert_allclose(g(wr), 2 * X.T @ (X @ wr - yr), rtol=1e-14)
    X[0, 0] = -2.0                                            # (bound arrays are read at every call)
    np.testing.assert_allclose(g(wr), 2 * X.T @ (X @ wr - yr), rtol=1e-14)
    np.testing.assert_allclose(s2sad.grad(by_keyword, wrt="y", mode=mode)(wr), -2 * (X @ wr - yr), rtol=1e-14)
    by_position = functools.partial(lambda X, y, w: idf.squared_error(w, X, y), X, yr)
    np.testing.assert_allclose(s2sad.hessian(by_position)(wr), 2 * X.T @ X, rtol=1e-14)


def test_partial_source_is_printed():
    source = s2sad.derivative_source(functools.partial(idf.squared_error, X=Xr, y=yr), args=(wr,))
    assert "def partial_squared_error_vjp(w, X, y, out_bar):" in source


@MODES
def test_lambdas_and_partials_inside(mode):
    assert s2sad.grad(idf.lambda_inside, mode=mode)(1.5) == 3.0
    assert s2sad.grad(idf.lambda_reads_names_when_called, mode=mode)(1.5) == 14.0
    assert s2sad.grad(idf.partial_of_numpy, mode=mode)(1.5) == pytest.approx(3 * 1.5 ** 2, rel=1e-14)
    y0 = np.array([1.0, 2.0])
    check_grad(idf.integrate_lambda, (y0, 0.7), mode)
    check_grad(idf.integrate_partial, (y0, 0.7), mode)


# --- list literals -------------------------------------------------------------------------------

@MODES
def test_np_array_of_nested_lists(mode):
    check_grad(idf.rotation_energy, (0.3, 1.7), mode)


@MODES
def test_lists_given_to_concatenate_stack_and_block(mode):
    A, B = np.array([[0.5, -1.0], [2.0, 0.3]]), np.array([[1.5, 0.2], [-0.7, 0.9]])
    check_grad(idf.joined, (A, B), mode)
    check_grad(idf.blocks, (A, 0.4), mode)
    assert idf.blocks(A, 0.4) == pytest.approx(s2sad.value_and_grad(idf.blocks, mode=mode)(A, 0.4)[0])


@MODES
def test_asarray_is_the_array_and_array_a_copy(mode):
    x = np.array([1.0, 2.0, 3.0])
    value, g = s2sad.value_and_grad(idf.as_array_is_the_same_array, mode=mode)(x.copy())
    assert value == idf.as_array_is_the_same_array(x.copy())
    np.testing.assert_allclose(g, [8.0 + 2.0, 2 * 2.0, 2 * 3.0 + 1.0], rtol=1e-14)


# A list given where NumPy takes an array (np.concatenate(([0.0], x)), np.diag([1.0, 2.0]), x * [1.0, 2.0])
# was refused ("a tuple or a list passed to a function must hold integers (a shape)")
@MODES
def test_lists_of_numbers_where_numpy_takes_arrays(mode):
    x, s = np.array([0.5, -1.5, 2.0]), 0.7
    v = s2sad.value_and_grad(idf.lists_where_numpy_takes_arrays, mode=mode)(x, s)[0]
    assert v == pytest.approx(idf.lists_where_numpy_takes_arrays(x, s), rel=1e-14)
    check_grad(idf.lists_where_numpy_takes_arrays, (x, s), mode)


def test_a_list_repeated_by_a_number_is_refused():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: .* is a list: expected a number or an array"):
        s2sad.grad(idf.list_repeated)(1.0)


def test_ragged_and_empty_lists_are_refused():
    with pytest.raises(s2sad.S2SADError, match="np.array of a ragged list"):
        s2sad.grad(lambda x: np.sum(np.array([x, np.ones(2)])))(1.0)
    with pytest.raises(s2sad.S2SADError, match="np.array of an empty list"):
        s2sad.grad(lambda x: x + np.sum(np.array([])))(1.0)


# --- lists built in loops ---------------------------------------------------------------------------

@MODES
def test_trajectory_kept_in_a_list(mode):
    check_grad(idf.trajectory, (0.7, 1.3, 6), mode, wrt=(0, 1))
    check_grad(idf.trajectory, (np.array([0.7, -0.2]), 1.3, 6), mode, wrt=(0, 1))


@MODES
def test_losses_appended_per_epoch(mode):
    r = np.random.default_rng(3)
    X, y, w = r.normal(size=(5, 2)), r.normal(size=5), r.normal(size=2)
    value, g = s2sad.value_and_grad(idf.losses_by_epoch, mode=mode)(w, X, y, 4)
    assert value == pytest.approx(idf.losses_by_epoch(w, X, y, 4), rel=1e-14)
    check_grad(idf.losses_by_epoch, (w, X, y, 4), mode, wrt=(0,))


@MODES
def test_list_appended_in_a_branch_holds_the_rows_stored(mode):
    for x in (0.7, np.array([0.7, -0.4])):
        value, g = s2sad.value_and_grad(idf.appends_in_a_branch, mode=mode)(x, 5)
        assert value == pytest.approx(idf.appends_in_a_branch(x, 5), rel=1e-14)
        np.testing.assert_allclose(g, fd(idf.appends_in_a_branch, [x, 5], 0), rtol=1e-6)
    assert s2sad.grad(idf.appends_in_a_branch, mode=mode)(0.7, 0) == 0.0   # (no item: an empty list)


@MODES
@pytest.mark.parametrize("fn", [idf.polynomial_design_columns, idf.blocks_joined_along_axes])
def test_lists_stacked_or_concatenated_along_another_axis(fn, mode):
    w, x = np.array([0.5, -1.0, 0.3, 0.2]), np.linspace(-1.0, 1.0, 5)
    value = s2sad.value_and_grad(fn, mode=mode)(w, x)[0]
    assert value == pytest.approx(fn(w, x), rel=1e-13)
    check_grad(fn, (w, x), mode)


def test_a_list_concatenated_along_an_axis_its_items_lack_is_refused():
    with pytest.raises(s2sad.S2SADError, match="axis of np.concatenate of the list rows"):
        s2sad.grad(idf.rows_concatenated_past_their_axes)(np.ones(2), np.ones(3))


@MODES
def test_eye_with_a_diagonal_above_or_below_the_main_one(mode):
    u0 = np.sin(np.linspace(0.0, 3.0, 5))
    value, g = s2sad.value_and_grad(idf.implicit_heat_steps, wrt=(0, 1), mode=mode)(0.3, u0, 4)
    assert value == pytest.approx(idf.implicit_heat_steps(0.3, u0, 4), rel=1e-13)
    check_grad(idf.implicit_heat_steps, (0.3, u0, 4), mode, wrt=(0, 1))
    h = s2sad.hessian(idf.implicit_heat_steps)(0.3, u0, 4)
    step = s2sad.grad(idf.implicit_heat_steps, backend="python")
    assert h == pytest.approx(fd(lambda k: step(k, u0, 4), [0.3], 0), rel=1e-6)


def test_eye_of_a_diagonal_computed_at_run_time_is_refused():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: .*k"):
        s2sad.grad(idf.eye_of_a_variable_diagonal)(np.ones(3), 1)


@MODES
def test_lists_of_an_enumerated_loop(mode):
    check_grad(idf.two_lists_enumerated, (np.array([0.3, -1.1, 0.8]), np.array([1.5, 0.5, -0.7])), mode)


def test_append_loop_is_a_preallocated_array():
    source = s2sad.derivative_source(idf.trajectory, args=(0.7, 1.3, 6))
    assert "list_rows(xs, x, i, count)" in source and "xs[i] = x" in source and ".append" not in source


@pytest.mark.parametrize("fn, message", [
    (idf.appends_the_same_array, r"xs.append\(...\) appends an array made before this iteration"),
    (idf.comprehension_of_argument_rows, r"this list comprehension makes a list of the caller's or a module's "
                                          r"arrays, or of arrays written into before it \(or views of them\)"),
    (idf.comprehension_of_rows_then_written, "'A' was appended to a list, which holds the array itself"),
    (idf.writes_an_appended_array, "'x' was appended to a list, which holds the array itself"),
    (idf.writes_into_an_item_read_in_the_loop, "'h' is an item of the list hs, which is the array that was put in"),
    (idf.appends_in_a_helper, r"xs.append\(...\) is supported in the straight-line code that made the list"),
    (idf.reads_above_the_first_append, r"ys\[...\] is read in its loop above the loop's first append to ys"),
    (idf.appends_items_of_other_lengths, r"in appends_items_of_other_lengths: the items appended to a list in a loop "
                                         "have different shapes"),
    (idf.list_plus_list, r"xs is a list \(built in a loop; np.array\(xs\) makes an array of it\)"),
], ids=["same-array", "comprehension-of-argument-rows", "comprehension-then-written", "written-after", "written-item", "in-a-helper", "read-above-first-append", "ragged", "list-plus-list"])
def test_list_appends_that_would_differ_from_python_are_refused(fn, message):
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: .*" + message):
        s2sad.grad(fn)(np.array([1.0, 2.0]), 3)


@MODES
def test_a_comprehension_of_rows_of_a_local_array(mode):
    x = np.array([0.3, -0.5, 0.7])
    value, g = s2sad.value_and_grad(idf.comprehension_of_rows, mode=mode)(x, 2)
    assert value == pytest.approx(idf.comprehension_of_rows(x, 2), rel=1e-14)
    np.testing.assert_allclose(g, fd(idf.comprehension_of_rows, [x, 2], 0), rtol=1e-6, atol=1e-9)


@MODES
def test_the_same_local_array_appended_at_every_step(mode):
    x, b = np.array([0.3, 0.5, 0.7]), np.array([1.0, -2.0, 0.5])
    value, g = s2sad.value_and_grad(idf.appends_the_same_local_array, wrt=(0, 1), mode=mode)(x, b, 3)
    assert value == pytest.approx(idf.appends_the_same_local_array(x, b, 3), rel=1e-14)
    for k in (0, 1):
        np.testing.assert_allclose(g[k], fd(idf.appends_the_same_local_array, [x, b, 3], k), rtol=1e-6, atol=1e-9)


def test_the_same_array_appended_and_written_at_every_step_is_refused():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: ys.append\(...\) appends an array made before "
                                               r"this iteration and written into"):
        s2sad.grad(idf.appends_the_same_array_written_at_each_step)(np.array([1.0, 2.0, 3.0]), np.ones(3), 3)


@MODES
@pytest.mark.parametrize("fn, args", [
    (idf.appends_in_a_while_loop, (np.array([0.7, -0.4]), 3)),
    (idf.appends_in_a_while_loop, (0.7, 0)),
    (idf.until_small, (np.array([0.8, -0.6]), 0.9)),
    (idf.two_appends_per_step, (np.array([0.3, 0.7]), 3)),
    (idf.appends_in_an_inner_loop, (np.array([0.3, 0.7]),)),
    (idf.appends_until_a_break, (0.2,)),
    (idf.list_made_again_at_each_step, (np.array([-1.1, -0.6]), 0.4)),
    (idf.list_made_again_in_a_while_loop, (np.array([-1.1, -0.6]), 0.4)),
], ids=["while", "while-never-entered", "while-past-16-rows", "two-per-step", "inner-loop", "break", "made-again",
        "made-again-while"])
def test_lists_that_grow(fn, args, mode):
    """Lists appended to a number of times known only as the loop runs: their rows grow (and
    the reverse sweep shrinks their adjoint back, on the same schedule)."""
    value, g = s2sad.value_and_grad(fn, mode=mode)(*args)
    assert value == pytest.approx(fn(*args), rel=1e-14)
    np.testing.assert_allclose(g, fd(fn, list(args), 0), rtol=1e-6, atol=1e-9)


@MODES
def test_lists_read_in_the_loop_that_appends_to_them(mode):
    """``hs[-1]``, ``hs[i]`` and ``len(hs)`` in the loop (and a while loop's condition) read the
    items appended so far; the items before the loop are its first rows."""
    check_grad(idf.reads_its_list_in_the_loop, (np.array([0.3, -0.7]), 4), mode, wrt=(0,))
    check_grad(idf.reads_its_list_in_the_loop, (0.3, 0), mode, wrt=(0,))
    value, g = s2sad.value_and_grad(idf.recurrence_until_long_enough, mode=mode)(0.7)
    assert value == pytest.approx(idf.recurrence_until_long_enough(0.7), rel=1e-14)
    assert g == pytest.approx(fd(idf.recurrence_until_long_enough, [0.7], 0), rel=1e-6)
    r = np.random.default_rng(5)
    args = (0.5 * r.normal(size=(3, 3)), r.normal(size=(3, 2)), r.normal(size=3), r.normal(size=(5, 2)))
    check_grad(idf.rnn_states, args, mode, wrt=(0, 1, 2))


def test_a_list_read_past_its_end_raises_index_error_as_python_does():
    with pytest.raises(IndexError, match="list index out of range"):
        idf.reads_past_its_end(np.ones(2), 2)
    with pytest.raises(IndexError, match="list index out of range"):
        s2sad.grad(idf.reads_past_its_end)(np.ones(2), 2)


def test_a_list_grown_in_a_while_loop_is_read_back_by_the_reverse_sweep_without_a_tape():
    source = s2sad.derivative_source(idf.until_small, args=(np.array([0.8, -0.6]), 0.9))
    assert "xs = list_grow(xs, x, n_xs)" in source and "_bar1 = list_resized(xs_bar1, n_xs)" in source
    assert "tape_xs" not in source


@MODES
def test_lists_built_over_arrays_and_containers(mode):
    A = np.array([[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8]])
    check_grad(idf.states_over_rows, (np.array([0.1, 0.2]), A), mode)
    W1, W2 = np.array([[0.5, -1.0], [1.5, 0.2]]), np.array([[0.3, 0.1], [-0.4, 0.9]])
    g = s2sad.grad(idf.activations_of_layers, wrt=(0, 1), mode=mode)([W1, W2], np.array([0.3, -0.6]))
    np.testing.assert_allclose(g[1], fd(lambda x: idf.activations_of_layers([W1, W2], x), [np.array([0.3, -0.6])], 0),
                               rtol=1e-6)


@MODES
def test_list_comprehensions_feeding_numpy(mode):
    check_grad(idf.comprehension_over_range, (np.array([0.3, -1.2, 2.0]),), mode)
    W = np.array([[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8]])
    check_grad(idf.comprehension_over_rows, (W, np.array([0.4, -0.9])), mode)


@MODES
def test_nested_list_comprehensions(mode):
    x = np.array([0.3, -1.2, 2.0])
    value, g = s2sad.value_and_grad(idf.nested_comprehensions, mode=mode)(x)
    assert value == pytest.approx(idf.nested_comprehensions(x), rel=1e-14)
    np.testing.assert_allclose(g, fd(idf.nested_comprehensions, [x], 0), rtol=1e-6)


def test_comprehension_of_lists_is_refused():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: a list comprehension whose items are lists"):
        s2sad.grad(idf.comprehension_of_lists)(np.array([1.0, 2.0]))


@MODES
def test_appends_in_straight_line_code(mode):
    check_grad(idf.straight_line_appends, (1.5, 0.3), mode)
    assert s2sad.value_and_grad(idf.straight_line_appends, mode=mode)(1.5, 0.3)[0] == idf.straight_line_appends(1.5, 0.3)
    x = np.array([1.0, 2.0])
    value, g = s2sad.value_and_grad(idf.appended_array_written_after, mode=mode)(x)
    assert value == idf.appended_array_written_after(x.copy()) == 12.0
    np.testing.assert_allclose(g, [1.0, 3.0], rtol=1e-14)


@MODES
def test_list_with_items_before_its_loop(mode):
    for x0, n in ((0.5, 5), (np.array([0.5, -1.0]), 3), (np.array([0.5, -1.0]), 0)):
        value, g = s2sad.value_and_grad(idf.trajectory_with_its_start, mode=mode)(x0, n)
        assert value == pytest.approx(idf.trajectory_with_its_start(x0, n), rel=1e-14)
        np.testing.assert_allclose(g, fd(idf.trajectory_with_its_start, [x0, n], 0), rtol=1e-6)


@pytest.mark.parametrize("fn", [idf.summed_list_of_rows, idf.stacked_list_of_numbers])
def test_an_empty_list_used_as_an_array_is_refused_where_numpy_would_differ(fn):
    """A list of arrays with no items is, to NumPy, an array of no numbers (np.sum gives 0.0),
    not one of no rows; with items, the same code is differentiated."""
    x = np.array([0.3, -0.7])
    check_grad(fn, (x, 3), "reverse", (0,))
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: in .*a list of arrays built in a loop is "
                                              "empty where it is used as an array"):
        s2sad.grad(fn)(x, 0)


# --- the math module ---------------------------------------------------------------------------------

# The math module's functions of numbers were refused ("math.sin is not supported")
@MODES
def test_math_functions_of_numbers(mode):
    a, b = 1.3, 0.7
    v, (ga, gb) = s2sad.value_and_grad(idf.math_of_numbers, wrt=(0, 1), mode=mode)(a, b)
    assert v == pytest.approx(idf.math_of_numbers(a, b), rel=1e-14)
    assert ga == pytest.approx(fd(idf.math_of_numbers, (a, b), 0), rel=1e-7)
    assert gb == pytest.approx(fd(idf.math_of_numbers, (a, b), 1), rel=1e-7)
    check_grad(idf.pendulum, (0.4, 1.2, 50), mode, (0, 1))


@MODES
def test_math_floor_ceil_and_trunc_give_integers(mode):
    x = np.array([0.5, -1.5, 2.0, 3.0])
    g = s2sad.grad(idf.cell_of, wrt=(0, 1), mode=mode)(x, 1.3, 0.5)   # i = 2, j = 3 - 2 = 1
    np.testing.assert_allclose(g[0], [2.0 - 1.3 / 0.5, 2.0, -1.5, 0.0], rtol=1e-14)
    assert g[1] == pytest.approx(-x[0] / 0.5, rel=1e-14)


def test_math_function_of_an_array_is_refused():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: math.sin takes a number, not f64\[:\]; "
                                               r"use np.sin for arrays"):
        s2sad.grad(idf.math_of_an_array)(np.ones(3))


# --- Python's sum, max and min --------------------------------------------------------------------------

# sum of a list literal or of an array, and max/min of several numbers or of a vector, were refused
@MODES
def test_python_sum_max_and_min_of_lists_and_arrays(mode):
    x, A = np.array([0.7, -1.3, 2.1, 0.4]), np.array([[1.0, 2.0, -0.5], [0.3, -1.2, 0.8]])
    v = s2sad.value_and_grad(idf.python_reductions, wrt=(0, 1), mode=mode)(x, A)[0]
    assert v == pytest.approx(idf.python_reductions(x, A), rel=1e-14)
    check_grad(idf.python_reductions, (x, A), mode)


@MODES
def test_python_max_and_min_of_a_vector_with_a_nan_compare_as_python(mode):
    nan = float("nan")
    for x in (np.array([1.0, nan, 0.5]), np.array([nan, 1.0, 0.5]), np.array([0.3, -1.0, 0.5])):
        value, g = s2sad.value_and_grad(idf.extremes_past_a_nan, mode=mode)(x, 4)
        np.testing.assert_equal(value, idf.extremes_past_a_nan(x, 4))
    value, g = s2sad.value_and_grad(idf.extremes_past_a_nan, mode=mode)(np.array([1.0, nan, 0.5]), 4)
    np.testing.assert_array_equal(g, [1.0 + 4.0 - 1.0, 0.0, 2.0])  # (max x[0], min x[2]; max(xs) 4·x[0], min(xs) x[0])


# max(1.0, nan) is 1.0 in Python, but its derivative went to the NaN operand (the rule chose the
# first operand where a >= b, which a NaN makes False)
@MODES
def test_python_max_and_min_of_two_numbers_and_a_nan_follow_the_operand_returned(mode):
    nan = float("nan")
    value, g = s2sad.value_and_grad(idf.extremes_of_two_with_a_nan, wrt=(0, 1), mode=mode)(1.5, nan)
    assert value == idf.extremes_of_two_with_a_nan(1.5, nan) == 1.5 + 3.0 + 4.5
    assert g == (1.0 + 2.0 + 3.0, 0.0)
    value, g = s2sad.value_and_grad(idf.extremes_of_two_with_a_nan, wrt=(0, 1), mode=mode)(nan, 1.5)
    assert np.isnan(value) and np.isnan(idf.extremes_of_two_with_a_nan(nan, 1.5))
    assert g[1] == 0.0  # (max(nan, y) and min(nan, y) are the NaN: nothing flows to y)
    check_grad(idf.extremes_of_two_with_a_nan, (0.7, -0.4), mode)


def test_max_of_a_list_of_arrays_is_refused_as_python_would_fail():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: max of a list of arrays compares them"):
        s2sad.grad(idf.max_of_a_list_of_arrays)(np.ones(2))


def test_max_of_a_matrix_is_refused_as_python_would_fail():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: max of an array of 2 axes compares its rows"):
        s2sad.grad(idf.max_of_a_matrix)(np.ones((2, 2)))


# sum(w * v for w, v in zip(W, x)) was refused ("generator expressions are not supported")
@MODES
def test_python_sum_max_and_min_of_generator_expressions(mode):
    x, t = np.array([0.7, -1.3, 2.1]), 0.6
    gx, gt = check_grad(idf.python_reductions_of_generators, (x, t), mode)
    np.testing.assert_allclose(gx, idf.WEIGHTS3 + [0.0, 0.0, 2 * 2.1] - [1.0, 0.0, 0.0], rtol=1e-14)
    np.testing.assert_allclose(gt, 1 / 2 + 2 * t / 3 + 3 * t ** 2 / 4, rtol=1e-14)


def test_any_of_a_generator_is_refused_as_it_stops_early():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: generator expressions are not supported"):
        s2sad.grad(idf.any_of_a_generator)(X)


# bool(err < tol) was refused ("builtins.bool is not supported")
@MODES
def test_bool_of_a_condition_ends_a_loop(mode):
    x = np.array([0.5, 1.2, 3.0])
    v, g = s2sad.value_and_grad(idf.converges, mode=mode)(x, 1e-12)
    assert v == idf.converges(x, 1e-12)
    np.testing.assert_allclose(g, np.sqrt(2.0), rtol=1e-12)


# --- arrays unpacked into names --------------------------------------------------------------------

# x, y, z = pos, r0, r1 = M and for a, b in pairs were refused ("cannot unpack an array into names")
@MODES
def test_arrays_unpacked_into_names(mode):
    r = np.random.default_rng(3)
    pos, M, pairs = r.normal(size=3), r.normal(size=(2, 3)), r.normal(size=(4, 2))
    v = s2sad.value_and_grad(idf.unpacked_vectors, wrt=(0, 1, 2), mode=mode)(pos, M, pairs)[0]
    assert v == pytest.approx(idf.unpacked_vectors(pos, M, pairs), rel=1e-14)
    check_grad(idf.unpacked_vectors, (pos, M, pairs), mode)
    v = s2sad.value_and_grad(idf.unpacked_rows_written, mode=mode)(M)[0]
    assert v == pytest.approx(idf.unpacked_rows_written(M), rel=1e-14)
    check_grad(idf.unpacked_rows_written, (M,), mode)


@pytest.mark.parametrize("n, message", [(4, r"too many values to unpack \(expected 3\)"),
                                        (2, r"not enough values to unpack \(expected 3, got 2\)")])
def test_unpacking_an_array_of_another_length_raises_pythons_value_error(n, message):
    with pytest.raises(ValueError, match=message) as info:
        s2sad.grad(idf.unpacked_three)(np.ones(n))
    assert isinstance(info.value, s2sad.DerivativeError)
    assert info.value.filename == idf.__file__ and info.value.source_line.endswith("# unpack three")
    with pytest.raises(ValueError, match=message):
        idf.unpacked_three(np.ones(n))
    assert s2sad.grad(idf.unpacked_three)(np.array([2.0, 3.0, 5.0])) == pytest.approx([15.0, 10.0, 6.0])


# --- .item() and float() --------------------------------------------------------------------------

# .item() was refused ("attribute .item is not supported"); it is the element itself, with its derivative
@MODES
def test_item_reads_the_element_with_its_derivative(mode):
    x, A = np.array([0.7, -1.3, 2.1]), np.array([[1.0, 2.0, -0.5], [0.3, -1.2, 0.8]])
    v = s2sad.value_and_grad(idf.items_of_elements, wrt=(0, 1), mode=mode)(x, A)[0]
    assert v == pytest.approx(idf.items_of_elements(x, A), rel=1e-14)
    check_grad(idf.items_of_elements, (x, A), mode)
    assert s2sad.grad(idf.item_of_many, mode=mode)(np.array([1.5])) == pytest.approx([2.0])


def test_item_of_an_array_of_several_elements_raises_numpys_value_error():
    with pytest.raises(ValueError, match="can only convert an array of size 1 to a Python scalar") as info:
        s2sad.grad(idf.item_of_many)(np.ones(2))
    assert isinstance(info.value, s2sad.DerivativeError) and info.value.source_line.endswith("# item of many")


def test_float_of_an_array_is_refused_as_numpy_raises():
    with pytest.raises(TypeError):
        idf.float_of_an_array(np.ones(1))
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: float\(\) of an array: NumPy raises TypeError"):
        s2sad.grad(idf.float_of_an_array)(np.ones(1))


# --- items of containers the function made, assigned ------------------------------------------------

# p["b"] -= ... on a float item was refused ("it would change the container") even for a dict the
# function made itself
@MODES
def test_items_of_a_dict_or_list_the_function_made_are_assigned(mode):
    x, s = np.array([0.7, -1.3, 2.1]), 0.6
    v = s2sad.value_and_grad(idf.local_dict_items, wrt=(0, 1), mode=mode)(x, s)[0]
    assert v == pytest.approx(idf.local_dict_items(x, s), rel=1e-14)
    check_grad(idf.local_dict_items, (x, s), mode)


def test_a_float_item_of_a_dict_argument_is_refused_where_assigned():
    params = {"b": 1.0, "W": np.ones(2)}
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: assigning to params\['b'\] \(an item of a "
                                               r"dict the function was given\) is not supported: s2sad cannot "
                                               r"change the caller's container") as info:
        s2sad.grad(idf.float_item_of_a_dict_argument)(params, 2.0)
    assert info.value.source_line.endswith("# item of the caller's dict") and params["b"] == 1.0


def test_an_item_of_a_made_dict_assigned_in_a_loop_is_refused():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: assigning to p\['b'\] is supported in the "
                                               r"straight-line code that made p") as info:
        s2sad.grad(idf.local_dict_item_in_a_loop)(np.ones(2))
    assert info.value.source_line.endswith("# item in a loop")


# --- np.triu_indices and np.tril_indices -------------------------------------------------------------

# np.triu_indices was refused ("numpy.triu_indices is not supported"), and an index that is a tuple value
@MODES
def test_triangle_indices_gather_and_store(mode):
    A = np.random.default_rng(5).normal(size=(3, 3))
    v, g = s2sad.value_and_grad(idf.triangle_gathers, mode=mode)(A, 3)
    assert v == pytest.approx(idf.triangle_gathers(A, 3), rel=1e-14)
    check_grad(idf.triangle_gathers, (A, 3), mode, (0,))


def test_astype_to_single_precision_is_refused_as_s2sad_computes_in_float64():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: x.astype\(np.float32\): s2sad computes in "
                                               r"float64 and int64 only"):
        s2sad.grad(idf.astype_single)(np.ones(2))


def test_an_index_tuple_holding_none_is_refused():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: an index that is a tuple holds integers or "
                                               r"index arrays here"):
        s2sad.grad(idf.index_tuple_with_none)(np.ones((2, 2)))


# --- minibatches drawn from a Generator -------------------------------------------------------------

# rng.permutation, rng.choice and rng.integers were refused ("Generator.permutation is not supported")
@MODES
def test_minibatch_sgd_draws_numpys_batches(mode):
    data = np.random.default_rng(1)
    w, X, y = np.array([0.1, -0.2]), data.normal(size=(6, 2)), data.normal(size=6)
    mine, plain = np.random.default_rng(5), np.random.default_rng(5)
    v, (gw, glr) = s2sad.value_and_grad(idf.minibatch_sgd, wrt=(0, 4), mode=mode)(w, X, y, mine, 0.05)
    assert v == pytest.approx(idf.minibatch_sgd(w, X, y, plain, 0.05), rel=1e-13)
    assert mine.bit_generator.state == plain.bit_generator.state   # (the Generator advanced as NumPy's)
    f = lambda w, lr: idf.minibatch_sgd(w, X, y, np.random.default_rng(5), lr)  # noqa: E731
    np.testing.assert_allclose(gw, fd(f, (w, 0.05), 0), rtol=1e-6)
    assert glr == pytest.approx(fd(f, (w, 0.05), 1), rel=1e-6)


# rng.shuffle was refused ("Generator.shuffle is not supported")
@MODES
def test_shuffle_writes_numpys_order_into_the_array(mode):
    x, M = np.linspace(0.2, 1.0, 5), np.arange(6.0).reshape(3, 2) + 0.5
    x1, M1, x2, M2 = x.copy(), M.copy(), x.copy(), M.copy()
    mine, plain = np.random.default_rng(3), np.random.default_rng(3)
    v, (gx, gM) = s2sad.value_and_grad(idf.shuffled_in_place, wrt=(0, 2), mode=mode)(x1, mine, M1)
    assert v == idf.shuffled_in_place(x2, plain, M2)
    np.testing.assert_array_equal(x1, x2)  # (the arguments as NumPy's shuffle left them)
    np.testing.assert_array_equal(M1, M2)
    assert mine.bit_generator.state == plain.bit_generator.state
    f = lambda x, M: idf.shuffled_in_place(x.copy(), np.random.default_rng(3), M.copy())  # noqa: E731
    np.testing.assert_allclose(gx, fd(f, (x, M), 0), rtol=1e-6)
    np.testing.assert_allclose(gM, fd(f, (x, M), 1), rtol=1e-6, atol=1e-8)


# --- and / or: the second operand only when the first does not decide -----------------------------

@MODES
@pytest.mark.parametrize("i, expected", [(0, [3.0, 0.0, 0.0]), (1, [1.0, 0.0, 0.0]), (3, [0.0, 0.0, 4.0])])
def test_and_or_read_an_element_only_when_their_first_operand_allows(i, expected, mode):
    """(NumPy raises IndexError for x[3]: the derivative must not read it either.)"""
    x = np.array([0.5, -1.5, 2.0])
    value, grad = s2sad.value_and_grad(idf.guarded_reads, mode=mode)(x, i)
    assert value == idf.guarded_reads(x, i)
    np.testing.assert_allclose(grad, expected, rtol=1e-15)


@pytest.mark.parametrize("noisy", [False, True])
def test_a_draw_in_a_second_operand_is_made_only_when_python_makes_it(noisy):
    rng = np.random.default_rng(5)
    first = rng.normal() if noisy else 0.0
    scale = 6.0 if first > 0.0 else 2.0
    value, grad = s2sad.value_and_grad(idf.draws_only_if_asked)(X, noisy)
    assert value == idf.draws_only_if_asked(X, noisy)
    np.testing.assert_allclose(grad, scale * rng.normal(size=3), rtol=1e-15)


@MODES
@pytest.mark.parametrize("a, b, expected", [(0.5, 2.0, (3.0, 0.0)), (0.0, 2.0, (0.0, 3.0))])
def test_and_or_give_the_operand_that_decides(a, b, expected, mode):
    value, grads = s2sad.value_and_grad(idf.or_of_numbers, wrt=(0, 1), mode=mode)(a, b)
    assert value == idf.or_of_numbers(a, b)
    np.testing.assert_allclose(grads, expected, rtol=1e-15)


@MODES
@pytest.mark.parametrize("x0", [0.7, -0.7])
def test_and_or_values_mixed_with_conditions(x0, mode):
    x = np.array([x0, -0.4, 1.3])
    value, grad = s2sad.value_and_grad(idf.and_or_values, mode=mode)(x)
    assert value == idf.and_or_values(x)
    expected = [1.3, 0.0, 0.7] if x0 > 0 else [0.0, 1.3, -0.4]
    np.testing.assert_allclose(grad, expected, rtol=1e-15)


@pytest.mark.parametrize("n, k", [(5, 2), (2, 1)])
def test_and_or_of_integers_is_an_integer(n, k):
    x = np.array([0.7, -0.4, 1.3])
    grad = s2sad.grad(idf.index_by_and_or)(x, n)
    np.testing.assert_array_equal(grad, np.eye(3)[k] * 2.0)


def test_a_second_operand_that_writes_into_an_array_is_refused():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: an operand of and/or after the first that "
                                               r"writes into an array or assigns a global is not supported; use an "
                                               r"if statement"):
        s2sad.grad(idf.condition_writes)(X, True)


# --- module tuples, lists and dicts of numbers -----------------------------------------------------

def _smoothed_grad(alpha, gain):
    taps, x_last = np.array(idf.TAPS + (0.0,)), sum(idf.TAPS)
    coeff = np.zeros(4)   # s = a x2 + (1-a)(a x1 + (1-a)(a x0 + (1-a) x0))
    coeff[0], coeff[1], coeff[2] = (1 - alpha) ** 2, alpha * (1 - alpha), alpha
    return coeff * gain + taps + np.array([0.0, 0.0, 0.0, x_last])


# A module dict or tuple of numbers (CONFIG = {"dt": 0.01}, WEIGHTS = (0.2, 0.3)) was refused ("'CONFIG'
# refers to dict ..., which a differentiated function cannot use")
@MODES
def test_module_containers_of_numbers_are_constants_checked_at_every_call(mode, monkeypatch):
    x = np.array([0.5, -1.5, 2.0, 0.7])
    g = s2sad.value_and_grad(idf.smoothed, mode=mode)
    value, grad = g(x)
    assert value == pytest.approx(idf.smoothed(x), rel=1e-14)
    np.testing.assert_allclose(grad, _smoothed_grad(0.3, 2.0), rtol=1e-14)
    monkeypatch.setitem(idf.SETTINGS, "alpha", 0.5)   # (changed in place: the derivative is made again)
    monkeypatch.setitem(idf.SETTINGS, "gains", [1.0, 3.0])
    value, grad = g(x)
    assert value == pytest.approx(idf.smoothed(x), rel=1e-14)
    np.testing.assert_allclose(grad, _smoothed_grad(0.5, 3.0), rtol=1e-14)


def test_assigning_an_item_of_a_module_dict_is_refused():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: assigning to SETTINGS\['alpha'\] .* is not "
                                               r"supported"):
        s2sad.grad(idf.writes_into_settings)(X)


# --- array methods ----------------------------------------------------------------------------------

@MODES
def test_methods_that_are_numpy_functions(mode):
    A, v = np.array([[2.0, -1.0], [0.5, 3.0]]), np.array([0.3, -0.7])
    value, grads = s2sad.value_and_grad(idf.method_calls, wrt=(0, 1), mode=mode)(A, v)
    assert value == pytest.approx(idf.method_calls(A, v), rel=1e-14)
    for k, g in zip((0, 1), grads):
        np.testing.assert_allclose(g, fd(idf.method_calls, (A, v), k), rtol=1e-6, atol=1e-8)


@MODES
@pytest.mark.parametrize("fn", [idf.filled_then_written, idf.sorted_in_place], ids=["fill", "sort"])
def test_fill_and_sort_write_every_element_and_views_see_it(fn, mode):
    x = np.array([0.5, -1.5, 2.0, 0.7])
    value, g = s2sad.value_and_grad(fn, mode=mode)(x)
    assert value == pytest.approx(fn(x), rel=1e-14)
    np.testing.assert_allclose(g, fd(fn, (x,), 0), rtol=1e-6, atol=1e-8)


def test_sort_of_an_argument_sorts_the_callers_array():
    x = np.array([0.5, -1.5, 2.0, 0.7])
    expected = x.copy()
    value = idf.sorted_argument(expected)
    got = s2sad.value_and_grad(idf.sorted_argument)(x)[0]
    assert got == pytest.approx(value, rel=1e-14)
    np.testing.assert_array_equal(x, expected)


def test_a_writing_method_used_for_its_result_is_refused():
    with pytest.raises(s2sad.S2SADError, match=r"fill\(\.\.\.\) writes into the array and returns None"):
        s2sad.grad(idf.fill_result_used)(np.ones(3))
