"""Exceptions raised while a derivative runs name the user's file, line and statement.

They are `DerivativeError`s (an `S2SADError`) that are also of the original exception's type, with
the original chained. Code run as Python is located through its traceback; machine code is run
again as Python to find the statement.
"""

import pickle
import re
import warnings

import numpy as np
import pytest

import s2sad
import run_time_funcs as rf

FILE = rf.__file__.rsplit("/", 1)[-1]


def line_of(fn, comment: str) -> int:
    """The line of `fn`'s module holding ``# comment``."""
    with open(rf.__file__) as handle:
        for number, text in enumerate(handle, 1):
            if text.rstrip().endswith(f"# {comment}"):
                return number
    raise AssertionError(comment)


def raised(call, kind, comment: str) -> s2sad.S2SADError:
    """The error `call` raises: a located DerivativeError of `kind` at the line of `comment`."""
    with pytest.raises(s2sad.DerivativeError) as info:
        call()
    error = info.value
    assert isinstance(error, kind) and isinstance(error, s2sad.S2SADError)
    assert isinstance(error.__cause__, kind) and not isinstance(error.__cause__, s2sad.S2SADError)
    assert error.filename == rf.__file__ and error.lineno == line_of(rf, comment), str(error)
    assert error.source_line.endswith(f"# {comment}")
    assert re.match(rf".*{FILE}:{error.lineno}: {kind.__name__} in the derivative of ", str(error)), str(error)
    return error


X, W, V = np.linspace(0.1, 0.5, 3), np.ones((2, 3)), np.ones((2, 3))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_shape_mismatch_names_the_statement(each_backend, mode):
    """V @ h with h of 2 elements and V of 3 columns: NumPy's ValueError (Numba's own words under
    Numba), located in the loop."""
    error = raised(lambda: s2sad.grad(rf.layer_then_readout, mode=mode)(X, W, V), ValueError, "readout")
    assert "ValueError in the derivative of layer_then_readout" in error.message


def test_an_index_out_of_range_names_the_statement(each_backend):
    error = raised(lambda: s2sad.grad(rf.picked)(X, 5), IndexError, "pick")
    assert "5" in str(error.__cause__) or "out of bounds" in str(error.__cause__)
    assert s2sad.grad(rf.picked)(X, -1) == pytest.approx(np.array([0.0, 0.0, 8 * X[-1]]))


def test_a_singular_matrix_names_the_statement_and_is_a_linalg_error(each_backend):
    A = np.array([[1.0, 2.0], [2.0, 4.0]])
    error = raised(lambda: s2sad.grad(rf.solved, wrt=(0, 1))(A, np.ones(2)), np.linalg.LinAlgError, "solve")
    assert "singular" in str(error.__cause__).lower()
    with pytest.raises(np.linalg.LinAlgError):  # (as around NumPy's own solve, a caller's handler catches it)
        s2sad.grad(rf.solved)(A, np.ones(2))


def test_an_error_in_a_helper_names_the_helpers_statement(each_backend):
    error = raised(lambda: s2sad.grad(rf.stepped)(np.ones(3), np.ones((3, 2)), 2), ValueError, "helper step")
    assert error.source_line == "return np.tanh(W @ h)  # helper step"  # (the helper's line, not the call's)


def test_nan_checks_name_the_statement(each_backend):
    """With NumPy's floating-point errors raised (np.errstate), a log of a negative number is
    located. Compiled code cannot stop at the operation: a result that is not finite makes it
    run again as Python, which raises where NumPy would."""
    with np.errstate(invalid="raise", divide="raise"):
        raised(lambda: s2sad.grad(rf.logged)(np.array([0.5, 2.0])), FloatingPointError, "log")


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_integers_to_negative_powers_raise_as_in_numpy(each_backend, mode):
    """NumPy's ValueError for integer arrays to a negative integer power (compiled integer powers
    would give 0); of Python's ints such a power is a float, refused alike where it happens (but
    a literal one, 2 ** -1, is Python's 0.5)."""
    k = np.array([1, 2, 3])
    raised(lambda: s2sad.grad(rf.integer_powers, mode=mode)(X, k, -1), ValueError, "integer power")
    raised(lambda: s2sad.grad(rf.integer_powers, mode=mode)(X, k, np.array([2, -1, 1])), ValueError, "integer power")
    np.testing.assert_allclose(s2sad.grad(rf.integer_powers, mode=mode)(X, k, 2), k ** 2, rtol=1e-15)
    error = raised(lambda: s2sad.grad(rf.integer_scalar_power, mode=mode)(0.5, 2, -1), ValueError, "scalar power")
    assert "float(n) ** m" in error.message
    assert s2sad.value_and_grad(rf.integer_scalar_power, mode=mode)(0.5, 2, 3) == (4.0, 8.0)
    assert s2sad.value_and_grad(rf.literal_negative_power, mode=mode)(0.5) == (0.25, 0.5)
    raised(lambda: s2sad.grad(rf.large_integer_power, mode=mode)(0.5, 70), OverflowError, "large power")
    assert s2sad.value_and_grad(rf.large_integer_power, mode=mode)(0.5, 62) == (2.0 ** 61, 2.0 ** 62)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_an_integer_division_by_zero_raises_as_in_python(each_backend, mode):
    """Python's ZeroDivisionError for ints (compiled integer division would give 0)."""
    raised(lambda: s2sad.grad(rf.integer_quotient, mode=mode)(0.5, 7, 0), ZeroDivisionError, "integer quotient")
    assert s2sad.value_and_grad(rf.integer_quotient, mode=mode)(0.5, -7, 2) == (-1.5, -3.0)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_numpy_s_integer_divisions_by_zero_give_numpy_s_result_and_warning(each_backend, mode):
    """np.mod(7, 0), an array element // 0 and an integer array // 0 are NumPy's 0 with its
    RuntimeWarning, and np.divide(7, 0) its inf, on both backends (only Python's own ints raise:
    above)."""
    counts = np.array([6, 2])
    for fn, args, value, slope in ((rf.numpy_integer_quotients, (0.5, 7, 0), 0.0, 0.0),
                                   (rf.numpy_integer_quotients, (0.5, 7, 2), 2.5, 5.0),
                                   (rf.element_quotient, (0.5, counts, 0), 0.0, 0.0),
                                   (rf.element_quotient, (0.5, counts, 2), 2.0, 4.0),
                                   (rf.array_quotients, (0.5, counts, 0), 0.0, 0.0),
                                   (rf.array_quotients, (0.5, counts, 2), 2.0, 4.0),
                                   (rf.numpy_integer_ratio, (0.5, 7, 2), 1.75, 3.5)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert fn(*args) == value
            numpy_warned = [str(w.message) for w in caught]
            caught.clear()
            assert s2sad.value_and_grad(fn, mode=mode)(*args) == (value, slope)
        ours = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
        assert bool(ours) == bool(numpy_warned) and all("divide by zero encountered in" in m for m in ours), ours
    with pytest.warns(RuntimeWarning, match="divide by zero encountered in"):
        value, slope = s2sad.value_and_grad(rf.numpy_integer_ratio, mode=mode)(0.5, 7, 0)
    assert value == np.inf and slope == np.inf


# Python's ints never wrap around, but int64's do: 25! and the 94th Fibonacci number were wrong
# numbers under Numba (and abs(-2**63) negative on both backends); refused where they happen
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_integer_arithmetic_past_int64_raises_where_python_would_not_wrap(each_backend, mode):
    raised(lambda: s2sad.grad(rf.factorial_weight, mode=mode)(1.5, 25), OverflowError, "factorial")
    raised(lambda: s2sad.grad(rf.fibonacci_weight, mode=mode)(1.5, 93), OverflowError, "fibonacci")
    raised(lambda: s2sad.grad(rf.cubed_count, mode=mode)(1.5, 3_000_000), OverflowError, "cubed count")
    raised(lambda: s2sad.grad(rf.cubed_count, mode=mode)(1.5, -2_097_152), OverflowError, "cubed count")
    error = raised(lambda: s2sad.grad(rf.magnitude, mode=mode)(1.5, -2 ** 63), OverflowError, "magnitude")
    assert "float(n)" in error.message
    for f, n in ((rf.factorial_weight, 20), (rf.fibonacci_weight, 91), (rf.cubed_count, 2_097_151),
                 (rf.cubed_count, -2_097_151), (rf.magnitude, -2 ** 63 + 1)):
        assert s2sad.value_and_grad(f, mode=mode)(1.5, n) == (f(1.5, n), f(2.0, n) - f(1.0, n))


def test_index_arithmetic_of_counters_over_an_axis_is_not_checked():
    source = s2sad.derivative_source(rf.stencil_indices, args=(X, 2.0))
    assert not any(f"checked_int_{kind}" in source for kind in ("sum", "difference", "product", "negation"))
    assert "checked_int_product(f, k)" in s2sad.derivative_source(rf.factorial_weight, args=(0.5, 3))


def test_the_error_pickles_with_its_kind_and_place():
    with pytest.raises(s2sad.DerivativeError) as info:
        s2sad.grad(rf.picked, backend="python")(X, 7)
    again = pickle.loads(pickle.dumps(info.value))
    assert isinstance(again, IndexError) and isinstance(again, s2sad.DerivativeError)
    assert (again.filename, again.lineno, str(again)) == (info.value.filename, info.value.lineno, str(info.value))


def test_machine_code_is_located_once_per_kind_of_failure(monkeypatch):
    """Under Numba, the failed call runs again as Python to find the statement: once for each
    kind of failure, however often it recurs (a caller's handler may meet it at every step)."""
    pytest.importorskip("numba")
    monkeypatch.setenv("S2SAD_BACKEND", "auto")
    g = s2sad.grad(rf.layer_then_readout)
    g(X, W, np.ones((2, 2)))  # (compiled for these types)
    runs = []
    import s2sad.located as located
    real = located._run_again
    monkeypatch.setattr(located, "_run_again", lambda *a: runs.append(1) or real(*a))
    for _ in range(3):
        with pytest.raises(ValueError, match="readout|np.dot|mismatch|incompatible"):
            g(X, W, V)
    assert len(runs) == 1


def test_unequal_sections_of_np_split_are_a_located_value_error(each_backend):
    error = raised(lambda: s2sad.grad(rf.gates)(np.ones(7)), ValueError, "split")
    assert "equal division" in str(error.__cause__)
    z = np.linspace(-1.0, 1.0, 6)
    expected = np.concatenate([(1 - np.tanh(z[:2]) ** 2) * z[2:4], np.tanh(z[:2]), np.ones(2)])
    np.testing.assert_allclose(s2sad.grad(rf.gates)(z), expected, rtol=1e-14)


# --- the program's own checks ---------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["python", pytest.param("numba", marks=pytest.mark.numba)])
def test_asserts_and_raises_of_the_program_are_checked_where_they_stand(backend):
    x = np.array([0.1, 0.2, 0.3])
    value, g = s2sad.value_and_grad(rf.checked_steps, backend=backend)(x, 0.1, 3)
    assert value == pytest.approx(rf.checked_steps(x, 0.1, 3), rel=1e-14)
    grad = s2sad.grad(rf.checked_steps, backend=backend)
    error = raised(lambda: grad(x, -0.1, 3), AssertionError, "positive step")
    assert "in the derivative of checked_steps: dt must be positive" in str(error)
    error = raised(lambda: grad(np.ones(4), 0.1, 3), AssertionError, "three components")
    assert "f'x has {x.shape[0]} components'" in str(error)  # (the message's source: its value is not computed)
    raised(lambda: grad(x, 0.1, -1), ValueError, "steps counted")
    raised(lambda: grad(np.array([np.nan, 1.0, 1.0]), 0.1, 2), AssertionError, "finite state")
    raised(lambda: s2sad.grad(rf.raises_without_a_message, backend=backend)(np.array([11.0])), RuntimeError,
           "too large")
    np.testing.assert_allclose(s2sad.grad(rf.raises_without_a_message, backend=backend)(np.array([1.5])), [3.0])


def test_a_raise_elsewhere_than_alone_in_an_if_is_refused():
    with pytest.raises(s2sad.S2SADError, match=r"raise is supported alone in an if without else"):
        s2sad.grad(rf.raises_in_an_else)(np.array([1.0]))
