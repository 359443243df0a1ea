"""Element loops in the Numba backend's code (passes/fuse.py): the derivatives agree with the
Python backend's vectorised code and with finite differences, on the loop path and on the
vectorised path kept for operands that broadcast; what may not be fused is not."""

import ast
import inspect
import re

import numpy as np
import pytest

import fuse_funcs as ff
import s2sad
from numeric import check_grad, fd

R = np.random.default_rng(11)
ELEMENT_LOOP = re.compile(r"for e\d* in range\(")

CASES = {  # name: (function, arguments, whether the Numba derivative has an element loop)
    "rows of two arrays": (ff.mixture, (R.normal(size=(6, 3)), R.normal(size=(2, 3))), True),
    "rows broadcasting": (ff.mixture, (R.normal(size=(6, 3)), R.normal(size=(2, 1))), True),
    "rows of one array": (ff.pairs, (R.normal(size=(5, 3)),), True),
    "adjoint added twice": (ff.twice, (R.normal(size=4), R.normal(size=4)), True),
    "sum, same lengths": (ff.scaled_sum, (R.normal(size=5), R.normal(size=5)), True),
    "sum, broadcasting": (ff.scaled_sum, (R.normal(size=5), R.normal(size=1)), True),
    "update from its own view": (ff.update_from_own_reversed_row, (R.normal(size=(2, 4)), 0.7), True),
    "adjoints sharing memory": (ff.rk4_chain, (R.normal(size=6), 5), True),
    "matrix minus rows, summed over an axis": (ff.nearest_cost, (R.normal(size=(7, 3)), R.normal(size=(4, 3))), True),
    "matrix minus broadcasting rows": (ff.nearest_cost, (R.normal(size=(7, 1)), R.normal(size=(4, 3))), True),
    "matrices summed over each axis": (ff.axis_sums, (R.normal(size=(3, 4)), R.normal(size=(3, 4)), 3), True),
    "matrices summed, one broadcasting": (ff.axis_sums, (R.normal(size=(3, 4)), R.normal(size=(1, 4)), 2), True),
    "a spread vector times a matrix, into a product": (ff.spread_product, (R.normal(size=(5, 3)), R.normal(size=(3, 4)),
                                                                           R.normal(size=5)), True),
    "a stencil into a slice": (ff.stencil, (R.normal(size=9), 0.2, 4), True),
    "stores into slices read from the same array": (ff.overlapping_stores, (R.normal(size=7),), True),
    "slices of run-time bounds, inside": (ff.sliced_bounds, (R.normal(size=9), 2, 7), True),
    "slices of run-time bounds, negative": (ff.sliced_bounds, (R.normal(size=9), -5, -1), True),
    "slices of run-time bounds, past the end": (ff.sliced_bounds, (R.normal(size=9), 4, 100), True),
    "slices of run-time bounds, empty": (ff.sliced_bounds, (R.normal(size=9), 6, 2), True),
    "slices of a row and of a column": (ff.row_and_column_slices, (R.normal(size=(4, 3)), R.normal(size=3)), True),
    "a stencil into a matrix's interior": (ff.stencil_2d, (R.normal(size=(6, 5)), 0.1, 3), True),
    "matrix slices of run-time bounds": (ff.block_slices, (R.normal(size=(5, 4)), R.normal(size=(5, 4)), 1, 3), True),
    "matrix slices from the end": (ff.block_slices, (R.normal(size=(5, 4)), R.normal(size=(5, 4)), -2, 3), True),
    "concatenations stored piece by piece": (ff.stitched, (R.normal(size=6), R.normal(size=6), 3), True),
}


def _source(fn, args, mode, backend):
    types = {name: f"f64[{','.join(':' * np.ndim(a))}]" if np.ndim(a) else ("i64" if isinstance(a, int) else "f64")
             for name, a in zip(fn.__code__.co_varnames, args)}
    return s2sad.derivative_source(fn, mode, _wrt(args), types=types, backend=backend)


def _wrt(args) -> tuple:
    return tuple(k for k, a in enumerate(args) if not isinstance(a, int))


@pytest.mark.numba
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_numba_code_agrees_with_finite_differences(name, mode, monkeypatch):
    fn, args, _ = CASES[name]
    monkeypatch.setenv("S2SAD_BACKEND", "numba")
    got = check_grad(fn, args, mode, _wrt(args), rtol=1e-6, atol=1e-8)
    monkeypatch.setenv("S2SAD_BACKEND", "python")
    for g, h in zip(got, s2sad.grad(fn, wrt=_wrt(args), mode=mode)(*args)):
        np.testing.assert_allclose(g, h, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(CASES))
def test_element_loops_only_in_numba_code(name):
    fn, args, fused = CASES[name]
    assert bool(ELEMENT_LOOP.search(_source(fn, args, "reverse", "numba"))) == fused
    assert not ELEMENT_LOOP.search(_source(fn, args, "reverse", "python"))


def test_broadcasting_operands_take_the_vectorised_path():
    """With means of one column, X[i] - means[j] broadcasts: the test of lengths fails and the
    vectorised update (with its unbroadcast, summing over the row) runs."""
    X, means = CASES["rows broadcasting"][1]
    g = s2sad.grad(ff.mixture, wrt=1, backend="numba")(X, means)
    np.testing.assert_allclose(g, fd(ff.mixture, (X, means), 1), rtol=1e-6)
    source = _source(ff.mixture, (X, means), "reverse", "numba")
    assert "if " in source and "unbroadcast(" in source


def test_an_update_reading_a_view_of_its_array_stays_vectorised():
    """``B[0] += np.flip(B[0]) * w`` element by element would read elements it has written."""
    fn, args, _ = CASES["update from its own view"]
    source = _source(fn, args, "reverse", "numba")
    assert "add_into(B[0], t1)" in source


def test_an_array_shared_with_a_live_value_is_copied_once_not_per_element():
    """An element loop updates an adjoint that may share memory with a value still needed (an
    unbroadcast returns its operand): the copy is made once, before the loop."""
    fn, args, _ = CASES["adjoints sharing memory"]
    tree = ast.parse(_source(fn, args, "reverse", "numba"))
    loops = [n for n in ast.walk(tree) if isinstance(n, ast.For) and ELEMENT_LOOP.match(ast.unparse(n))]
    copies = [n for loop in loops for n in ast.walk(loop) if isinstance(n, ast.Attribute) and n.attr == "copy"]
    assert loops and not copies


def test_rows_of_one_array_need_no_test():
    source = _source(ff.pairs, CASES["rows of one array"][1], "reverse", "numba")
    assert not any(isinstance(n, ast.If) for n in ast.walk(ast.parse(source))) and "np.sum" not in source


def test_fallback_runs_the_vectorised_code(monkeypatch):
    """Where Numba refuses a function, the Python fallback runs the vectorised form, not element
    loops in the interpreter."""
    monkeypatch.setenv("S2SAD_BACKEND", "auto")
    pos = CASES["rows of one array"][1][0]
    g = s2sad.grad(ff.counted_pairs)
    with pytest.warns(s2sad.BackendFallbackWarning):
        got = g(pos)
    np.testing.assert_allclose(got, fd(ff.counted_pairs, (pos,), 0), rtol=1e-6)
    derived = g.made()[0]
    assert ELEMENT_LOOP.search(derived.source)
    assert not ELEMENT_LOOP.search(inspect.getsource(derived.core.fallback.function))


def test_a_zero_divides_as_in_numpy():
    """Compiled code divides with NumPy's rules (inf, not ZeroDivisionError), so an element loop
    behaves as the vectorised form did."""
    X, w = np.array([[1.0, 0.0, 2.0], [0.5, 4.0, 0.0]]), np.array([1.0, 2.0, 3.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        compiled = s2sad.grad(ff.reciprocal_rows, wrt=1, backend="numba")(X, w)
        plain = s2sad.grad(ff.reciprocal_rows, wrt=1, backend="python")(X, w)
    np.testing.assert_allclose(compiled, plain, rtol=1e-15)  # (0 · inf is nan in both: the masked-out
    assert compiled[0] == 3.0                                 # branch still has a derivative)


def test_a_stencil_into_a_slice_is_one_loop_without_tests():
    """``lap[1:-1] = u[2:] - 2 u[1:-1] + u[:-2]``: the shape facts prove the three slices as long
    as the region, so the element loop runs from where the slice begins, untested."""
    source = _source(ff.stencil, CASES["a stencil into a slice"][1], "reverse", "numba")
    assert re.search(r"lap\[(\w+) \+ e\] = t\d\[e\] - 2\.0 \* t\d\[e\] \+ t\d\[e\]", source)
    assert "copy_into(lap" not in source  # (no vectorised form kept for another case)


def test_stores_reading_the_array_they_store_into_stay_vectorised():
    """Element by element, ``u[1:-1] = u[2:] + …`` would read what it has just written."""
    source = _source(ff.overlapping_stores, CASES["stores into slices read from the same array"][1], "reverse", "numba")
    assert "copy_into(u[1:-1]" in source and "add_into(u[1:]" in source


@pytest.mark.numba
def test_a_slice_store_follows_numpy_on_each_bound():
    """The values themselves (not only the gradients) of slice stores with every kind of bound."""
    x = R.normal(size=9)
    for a, b in [(2, 7), (-5, -1), (4, 100), (6, 2), (-100, 3), (0, 0)]:
        value = s2sad.value_and_grad(ff.sliced_bounds, backend="numba")(x, a, b)[0]
        assert value == pytest.approx(ff.sliced_bounds(x, a, b), rel=1e-14)


def test_a_grid_stencil_is_two_loops_without_tests():
    source = _source(ff.stencil_2d, CASES["a stencil into a matrix's interior"][1], "reverse", "numba")
    assert re.search(r"lap\[(\w+) \+ e, (\w+) \+ f\] = ", source) and "copy_into(lap" not in source


def test_a_concatenation_with_an_elementwise_piece_is_stored_piece_by_piece():
    """``np.concatenate((x[:1], x[1:] * y[:-1]))`` in a loop: a buffer allocated once, the first
    piece copied into it and the second computed into it by an element loop (no concatenation,
    no product array); the Python backend concatenates."""
    source = _source(ff.rk4_chain, CASES["adjoints sharing memory"][1], "reverse", "numba")
    forward = source.split("# reverse sweep")[0]
    assert "np.concatenate" not in forward and len(re.findall(r"k\d_buffer = np.empty\(t\d*\)", forward)) == 4
    assert re.search(r"\n\s+k1\[\w+ \+ e\] = like\w* ?\[e\] \* \w+\[e\]", forward)
    assert "np.concatenate" in _source(ff.rk4_chain, CASES["adjoints sharing memory"][1], "reverse", "python")
