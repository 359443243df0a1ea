"""Calls of plain arguments (floats and float64 arrays) go straight to the generated function once
a call of their kind has made and checked its derivative: the same results, and the same checks
where they matter (a module number that changed, vectors of the wrong shape, arguments the
function writes into)."""

import numpy as np
import pytest

import s2sad
from . import alias_funcs as af
from . import state_funcs as sf

X = np.array([0.3, -1.2, 2.0])


def test_a_module_number_changed_between_calls_is_seen(each_backend, monkeypatch):
    g = s2sad.grad(sf.reads_module_number)
    assert g(0.5) == g(0.7) == sf.SCALE
    monkeypatch.setattr(sf, "SCALE", 3.0)
    assert g(0.5) == 3.0


@pytest.mark.parametrize("make, good, bad", [
    (lambda: s2sad.jvp(lambda x: np.sin(x) * x), (X, X), (X, X[:2])),
    (lambda: s2sad.vjp(lambda x: np.sin(x) * x), (X, X), (X, X[:2])),
    (lambda: s2sad.hvp(lambda x: np.sum(x ** 3)), (X, X), (X, X[:2])),
], ids=["jvp", "vjp", "hvp"])
def test_vectors_of_the_wrong_shape_are_refused_on_later_calls(each_backend, make, good, bad):
    d = make()
    first = d(*good)
    again = d(*good)
    for a, b in zip(np.atleast_1d(first), np.atleast_1d(again)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(s2sad.S2SADError, match="shape|broadcast"):  # (compiled code may fail first)
        d(*bad)


def test_a_function_writing_into_its_argument_is_checked_at_every_call():
    """A read-only array given to a function that writes into it is refused on every call."""
    g = s2sad.grad(af.reversed_param, backend="python")  # (x[::-1][0] = ...: a write into the caller's array)
    x = np.array([1.0, 2.0, 3.0])
    g(x.copy())
    frozen = x.copy()
    frozen.setflags(write=False)
    for _ in range(2):
        with pytest.raises(s2sad.S2SADError):
            g(frozen)


def _cubes(x):
    return np.sum(x ** 3) + x[0] * x[-1]


@pytest.mark.numba
def test_calls_after_the_machine_code_ran_go_directly_and_meet_new_layouts_and_errors():
    """Once its machine code has run, a compiled derivative is called directly (`direct` in
    backend/numba.py): a strided array (a new layout for Numba) still gets the right gradient,
    and an error of the code is still located at the user's statement."""
    g = s2sad.grad(_cubes, backend="numba")
    expected = 3 * X ** 2 + np.array([X[-1], 0.0, X[0]])
    np.testing.assert_allclose(g(X), expected, rtol=1e-14)
    assert g.made()[0].core.direct is not None
    strided = np.repeat(X, 2)[::2]
    assert not strided.flags.c_contiguous
    np.testing.assert_allclose(g(strided), expected, rtol=1e-14)
    with pytest.raises(s2sad.DerivativeError, match="test_quick_calls.py") as info:
        g(np.zeros(0))  # (x[0] of an empty array)
    assert isinstance(info.value, IndexError)
