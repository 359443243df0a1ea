"""Fewer allocations in compiled loops (passes/inplace.py): updates in place of a state the loop
replaces, and buffers for arrays made at every iteration. The compiled derivatives agree with
finite differences and with the Python backend; the caller's arrays are left as they were; and
the generated code shows the update or the buffer where it may be made, and not where an array
outlives its iteration or the update would read what it writes."""

import re

import numpy as np
import pytest

import inplace_funcs as fi
import s2sad
from numeric import check_grad

R = np.random.default_rng(5)

CASES = {  # name: (function, arguments, the differentiated arguments)
    "heat from the argument": (fi.heat_from_argument, (R.normal(size=12), 0.2, 6), (0,)),
    "heat, no step": (fi.heat_from_argument, (R.normal(size=12), 0.2, 0), (0,)),
    "start needed after": (fi.start_needed_after, (R.normal(size=5), 4), (0,)),
    "start read inside": (fi.start_read_inside, (R.normal(size=5), 3), (0,)),
    "doubled": (fi.doubled, (R.normal(size=4), 3), (0,)),
    "broadcast into": (fi.broadcast_into, (R.normal(size=6), R.normal(size=1), 3), (0, 1)),
    "while loop": (fi.relaxed, (R.normal(size=4), 0.3, 1e-6), (0, 1)),
    "adjoint read thrice": (fi.adjoint_read_thrice, (R.normal(size=10), 0.2, 5), (0,)),
    "carried products": (fi.carried_products, (R.normal(size=4), 4), (0,)),
    "listed rows": (fi.listed_rows, (R.normal(size=4), 3), (0,)),
    "scratch rows": (fi.scratch_rows, (R.normal(size=5), 4), (0,)),
    "midpoint steps": (fi.midpoint_steps, (R.normal(size=6), 0.1, 5), (0, 1)),
    "transposed products": (fi.transposed_products, (R.normal(size=(3, 4)), R.normal(size=(5, 4)), 3), (0, 1)),
}


def _source(fn, args, wrt, mode="reverse", backend="numba"):
    types = {name: f"f64[{','.join(':' * np.ndim(a))}]" if np.ndim(a) else ("i64" if isinstance(a, int) else "f64")
             for name, a in zip(fn.__code__.co_varnames, args)}
    return s2sad.derivative_source(fn, mode, wrt, types=types, backend=backend)


@pytest.mark.numba
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_derivatives_agree_with_finite_differences(name, mode, monkeypatch):
    fn, args, wrt = CASES[name]
    before = [np.copy(a) for a in args]
    monkeypatch.setenv("S2SAD_BACKEND", "numba")
    got = check_grad(fn, args, mode, wrt, rtol=1e-6, atol=1e-8)
    value = s2sad.value_and_grad(fn, wrt=wrt, mode=mode)(*args)[0]
    assert value == pytest.approx(fn(*args), rel=1e-13)
    for a, b in zip(args, before):  # (a copy is updated, never the caller's array)
        np.testing.assert_array_equal(a, b)
    monkeypatch.setenv("S2SAD_BACKEND", "python")
    for g, h in zip(got, s2sad.grad(fn, wrt=wrt, mode=mode)(*args)):
        np.testing.assert_allclose(g, h, rtol=1e-12, atol=1e-14)


def test_a_state_replaced_at_every_step_is_updated_in_a_copy_of_the_argument():
    fn, args, wrt = CASES["heat from the argument"]
    forward = _source(fn, args, wrt).split("# reverse sweep")[0]
    assert "u = u0.copy()" in forward
    assert re.search(r"u\[e\] \+= alpha \* lap\[e\]", forward) and "u = u + " not in forward
    assert ".copy()" not in _source(fn, args, wrt, backend="python").split("# reverse sweep")[0]


def test_a_state_starting_from_a_fresh_array_needs_no_copy():
    fn, args, wrt = CASES["adjoint read thrice"]
    forward = _source(fn, args, wrt).split("# reverse sweep")[0]
    assert forward.count(".copy()") == 1  # (the function's own u0.copy())
    assert re.search(r"u\[e\] \+= alpha \* lap\[e\]", forward)


def test_an_operand_broadcasting_into_the_state_updates_it():
    fn, args, wrt = CASES["broadcast into"]
    forward = _source(fn, args, wrt).split("# reverse sweep")[0]
    assert re.search(r"(u\d?) = u\.copy\(\)", forward) and re.search(r"\bu\d? \+= ", forward)


def test_a_subtraction_updates_by_adding_the_negation():
    fn, args, wrt = CASES["while loop"]
    forward = _source(fn, args, wrt).split("# reverse sweep")[0]
    assert re.search(r"x1?\[e\] \+= -\w+", forward) and "x = x - " not in forward


def test_an_update_reading_its_own_array_makes_a_new_array():
    """``x + x``: updating x would change the operand being added."""
    fn, args, wrt = CASES["doubled"]
    source = _source(fn, args, wrt)
    assert "x += x" not in source and not re.search(r"x\d?\[e\] \+= x\d?\[e\]", source)


def test_an_array_read_several_times_in_the_reverse_sweep_takes_a_buffer():
    fn, args, wrt = CASES["adjoint read thrice"]
    reverse = _source(fn, args, wrt).split("# reverse sweep")[1]
    assert re.search(r"lap_bar_buffer = np\.empty\(", reverse)
    assert re.search(r"lap_bar\[e\] = u_bar\[e\] \* alpha", reverse) and "lap_bar = u_bar * alpha" not in reverse
    assert "_buffer" not in _source(fn, args, wrt, backend="python")


def test_arrays_that_outlive_their_iteration_take_no_buffer():
    fn, args, wrt = CASES["carried products"]
    forward = _source(fn, args, wrt).split("# reverse sweep")[0]
    assert "_buffer" not in forward and not re.search(r"\bbuffer\d* = np\.empty", forward)


def test_a_row_appended_to_a_list_is_made_in_no_array_of_its_own():
    """The list keeps a copy of each row (an array of rows), so the row itself need not outlive
    its step: it is computed into its tape, and copied into the list from there."""
    fn, args, wrt = CASES["listed rows"]
    loop = _source(fn, args, wrt).split("# reverse sweep")[0].split("for k in range(steps):")[1]
    assert re.search(r"tape_row_?\[k, e\] = row", loop) and re.search(r"copy_into\(rows\[k\], row1?\)", loop)
    assert "np.sin(t" not in loop.replace("np.sin(t2[e])", "")


def test_an_empty_array_made_at_every_step_is_made_once():
    fn, args, wrt = CASES["scratch rows"]
    forward = _source(fn, args, wrt).split("# reverse sweep")[0]
    assert re.search(r"scratch_buffer = np\.empty\(", forward) and "scratch = scratch_buffer" in forward


def test_a_taped_value_read_again_is_computed_into_its_tape():
    """The midpoint goes on a tape for the reverse sweep: it is computed into the tape's row, and
    the step reads it from there."""
    fn, args, wrt = CASES["midpoint steps"]
    forward = _source(fn, args, wrt).split("# reverse sweep")[0]
    assert len(re.findall(r"tape_\w+\[_, e\] = ", forward)) == 2  # (the two sines, each into its tape)
    assert forward.count("copy_into(tape_") == 1  # (the state x, read again after the step)
    assert re.search(r"x1\[e\] \+= h \* ", forward) and "np.empty(" not in forward.split("for _ in")[1]


def test_a_transpose_multiplied_in_a_loop_is_copied_once_before_it():
    """``W @ Q`` and ``Q @ M.T`` (Q = P.T) at every step read one C-ordered copy of Q made before
    the loop; the Python backend multiplies the view."""
    args = CASES["transposed products"][1]
    forward = _source(fi.transposed_products, args, (0, 1)).split("# reverse sweep")[0]
    copied = re.search(r"\n    (\w+) = Q\.copy\(\)\n", forward)
    assert copied and forward.index(copied.group(0)) < forward.index("for _ in range(")
    loop = forward[forward.index("for _ in range("):]
    assert re.search(rf"\w+ @ {copied.group(1)}\b", loop) and re.search(rf"\b{copied.group(1)} @ \w+", loop)
    assert ".copy()" not in _source(fi.transposed_products, args, (0, 1), backend="python").split("# reverse sweep")[0]
