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


# --- the checked entry: results copied and checked in the call of machine code ------------------

def _square_sum(x):
    return 0.5 * np.sum(x * x)  # (its gradient is x, its Hessian-vector product v)


def _sum_of_both(x, y):
    return np.sum(x + y)  # (both gradients are the same ones: one array, or two)


def _logs(x):
    return np.sum(np.log(x))


@pytest.fixture
def entry_soon(monkeypatch):
    """Short calls reach the checked entry at their second call."""
    from s2sad import pipeline
    monkeypatch.setattr(pipeline, "CALLS_BEFORE_ENTRY", 2)


def _through_entry(d, *args):
    """`d(*args)` four times (the first makes the derivative, the third its checked entry); the
    last call's result, after checking that calls go through the entry."""
    for _ in range(4):
        out = d(*args)
    derived = d.made()[0]
    assert derived.short.__name__ == "checked"  # (not `Derived._copied`, the Python path)
    return out


@pytest.mark.numba
@pytest.mark.parametrize("make, args, expected", [
    (lambda: s2sad.grad(_cubes, backend="numba"), (X,), 3 * X ** 2 + np.array([X[-1], 0.0, X[0]])),
    (lambda: s2sad.grad(lambda a, b: a * b + np.sin(a), wrt=(0, 1), backend="numba"), (0.5, 2.0),
     (2.0 + np.cos(0.5), 0.5)),
    (lambda: s2sad.value_and_grad(_square_sum, backend="numba"), (X,), (0.5 * np.sum(X * X), X)),
    (lambda: s2sad.jvp(_square_sum, backend="numba"), (X, 2 * X), (0.5 * np.sum(X * X), 2 * np.sum(X * X))),
    (lambda: s2sad.vjp(lambda x: np.sin(x) * x, backend="numba"), (X, X), (np.sin(X) * X, X * (np.cos(X) * X + np.sin(X)))),
    (lambda: s2sad.hvp(_square_sum, backend="numba"), (X, X[::-1].copy()), X[::-1]),
], ids=["grad", "grad-floats", "value_and_grad", "jvp", "vjp", "hvp"])
def test_the_checked_entry_gives_the_values_of_the_full_path(entry_soon, make, args, expected):
    out = _through_entry(make(), *args)
    for a, b in zip(out if isinstance(out, tuple) else (out,), expected if isinstance(expected, tuple) else (expected,)):
        np.testing.assert_allclose(a, b, rtol=1e-14)
        assert type(a) is type(b) or isinstance(b, np.floating) and type(a) is float


@pytest.mark.numba
def test_arrays_returned_through_the_entry_are_the_callers_own(entry_soon):
    """No array a short call returns is another result, an argument, or a buffer a later call
    writes into: the Hessian-vector product of ½|x|² is v itself, and the two gradients of
    Σ(x + y) are one array for the derivative."""
    v = X[::-1].copy()
    h = s2sad.hvp(_square_sum, backend="numba")
    product = _through_entry(h, X, v)
    assert not np.shares_memory(product, v)
    product[:] = 7.0
    np.testing.assert_array_equal(v, X[::-1])
    np.testing.assert_array_equal(h(X, v), X[::-1])

    g = s2sad.grad(_sum_of_both, wrt=(0, 1), backend="numba")
    gx, gy = _through_entry(g, X, X + 1.0)
    assert not np.shares_memory(gx, gy)
    gx[:] = 5.0
    np.testing.assert_array_equal(gy, np.ones(3))
    again = g(X, X + 1.0)
    np.testing.assert_array_equal(again[0], np.ones(3))
    assert not np.shares_memory(again[0], gx) and not np.shares_memory(again[1], gy)


@pytest.mark.numba
def test_non_finite_results_through_the_entry_warn_or_raise_as_numpy_does(entry_soon):
    g = s2sad.grad(_logs, backend="numba")
    np.testing.assert_allclose(_through_entry(g, X + 3.0), 1 / (X + 3.0), rtol=1e-14)
    zero = np.array([1.0, 0.0, 2.0])
    with pytest.warns(RuntimeWarning, match="infinities or NaNs"):
        out = g(zero)
    assert np.isinf(out[1]) and out[0] == 1.0
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        g(zero)
    h = s2sad.hvp(_logs, backend="numba")
    np.testing.assert_allclose(_through_entry(h, X + 3.0, X), -X / (X + 3.0) ** 2, rtol=1e-14)
    with pytest.warns(RuntimeWarning, match="infinities or NaNs"):
        h(zero, np.ones(3))  # (the gradient, which hvp does not return, is checked too)


@pytest.mark.numba
def test_the_entry_meets_new_layouts_errors_and_changed_module_numbers(entry_soon, monkeypatch):
    g = s2sad.grad(_cubes, backend="numba")
    expected = 3 * X ** 2 + np.array([X[-1], 0.0, X[0]])
    _through_entry(g, X)
    np.testing.assert_allclose(g(np.repeat(X, 2)[::2]), expected, rtol=1e-14)
    with pytest.raises(s2sad.DerivativeError, match="test_quick_calls.py") as info:
        g(np.zeros(0))  # (x[0] of an empty array)
    assert isinstance(info.value, IndexError)
    s = s2sad.grad(sf.reads_module_number, backend="numba")
    assert _through_entry(s, 0.5) == sf.SCALE
    monkeypatch.setattr(sf, "SCALE", 3.0)
    assert s(0.5) == 3.0


def _refused_entry(x, out_bar):
    return object()  # (Numba refuses to type it)


@pytest.mark.numba
def test_an_entry_numba_refuses_leaves_the_calls_as_they_were(entry_soon, monkeypatch, recwarn):
    """The derivative keeps its machine code (no fallback to Python, no warning) and its calls
    their values and copies."""
    from s2sad.backend import numba as backend
    monkeypatch.setattr(backend, "entry_function", lambda fn, jitted, dropped: _refused_entry)
    g = s2sad.grad(_cubes, backend="numba")
    expected = 3 * X ** 2 + np.array([X[-1], 0.0, X[0]])
    results = [g(X) for _ in range(5)]
    for out in results:
        np.testing.assert_allclose(out, expected, rtol=1e-14)
    assert not any(np.shares_memory(a, b) for a in results for b in results if a is not b)
    assert g.made()[0].short.__name__ == "checked" and g.made()[0].core.direct is not None
    assert not [w for w in recwarn.list if issubclass(w.category, (s2sad.BackendFallbackWarning, RuntimeWarning))]


def _identity(x):
    return x


def _tail(x):
    return x[1:]


@pytest.mark.numba
def test_the_entry_copies_only_what_may_share_memory(entry_soon):
    """A result that is an argument or a view of one is copied (one that is another result:
    `test_arrays_returned_through_the_entry_are_the_callers_own`); one the derivative made for
    the call is not (it is the caller's already), and keeps its value through later calls."""
    x, t = X.copy(), 2 * X
    value, tangent = _through_entry(s2sad.jvp(_tail, backend="numba"), x, t)
    assert not np.shares_memory(value, x) and not np.shares_memory(tangent, t)
    value, bar = _through_entry(s2sad.vjp(_identity, backend="numba"), x, t)
    assert not np.shares_memory(value, x) and not np.shares_memory(bar, t)
    g = s2sad.grad(_cubes, backend="numba")
    first = _through_entry(g, X)
    np.testing.assert_array_equal(g(X + 1.0), 3 * (X + 1.0) ** 2 + np.array([X[-1] + 1.0, 0.0, X[0] + 1.0]))
    np.testing.assert_allclose(first, 3 * X ** 2 + np.array([X[-1], 0.0, X[0]]), rtol=1e-14)


def test_overlaps_tells_arrays_that_may_share_memory():
    from s2sad.backend.numba_runtime import overlaps
    import numba
    probe = numba.njit(lambda a, b: overlaps(a, b))
    a = np.arange(10.0)
    m = np.arange(12.0).reshape(3, 4)
    cases = [(a[:5], a[5:], False), (a[:6], a[5:], True), (a[::-1], a[3:4], True), (a[::2], a[1::2], True),
             (a, np.arange(3.0), False), (m[:, 0], m[2], True), (m[0], m[1], False), (a[:0], a, False),
             (m.T, m[1:2, 1:2], True), (a, 1.5, False)]
    for left, right, expected in cases:
        assert probe(left, right) is expected, (left, right)
        assert overlaps(left, right) is (expected or (isinstance(right, np.ndarray) and np.may_share_memory(left, right)))
