"""Random draws are NumPy's under both backends: the numbers drawn (bit for bit), the state
NumPy's global stream and the Generators are left in, the errors for bad parameters; and the
derivatives of the draws agree between backends and with finite differences."""

import functools
import warnings

import numba
import numpy as np
import pytest

import s2sad
from s2sad.backend import stream

from . import draw_funcs as df

BACKENDS = pytest.mark.parametrize("backend", ["python", "numba"])
MODES = pytest.mark.parametrize("mode", ["reverse", "forward"])
GENERATOR = object()  # stands for a fresh np.random.default_rng(5) in each run
MU3, SIGMA21 = np.array([0.1, -0.4, 2.0]), np.array([[0.5], [1.5]])
LO3, HI3 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 2.5])
CASES = {  # the function, its arguments, the arguments differentiated
    "legacy": (df.legacy_draws, (0.3, 1.7, -0.5, 2.0, 5), (0, 1, 2, 3)),
    "legacy shorthands": (df.legacy_shorthands, (0.3, 3), (0,)),
    "legacy arrays": (df.legacy_array_draws, (MU3, SIGMA21, LO3, HI3), (0, 1, 2, 3)),
    "seeded": (df.seeded_draws, (0.3, 7), (0,)),
    "generator": (df.generator_draws, (GENERATOR, 0.3, 1.7, -0.5, 2.0, 5), (1, 2, 3, 4)),
    "generator arrays": (df.generator_array_draws, (GENERATOR, MU3, SIGMA21, LO3, HI3), (1, 2, 3, 4)),
    "made generators": (df.made_generators, (0.3, 11), (0,)),
    "integer draws": (df.integer_draws, (GENERATOR, np.linspace(0.3, 1.7, 6), 0.7, 6, 3), (1, 2)),
    "integer bounds": (df.integer_bounds, (GENERATOR, np.array([0.5, -1.0, 2.0]), 0.7, 2, 9), (1, 2)),
}


def _start() -> tuple:
    """NumPy's global state at the start of every run: seeded by the user, with a Gaussian cached
    (which the first normal draw of the function must return)."""
    np.random.seed(123)
    np.random.normal()
    state = np.random.get_state()
    assert state[3] == 1
    return state


START = _start()


@functools.cache
def _derivative(name: str, mode: str, backend: str):
    f, _, wrt = CASES[name]
    return (s2sad.vjp if mode == "reverse" else s2sad.jvp)(f, wrt=wrt, backend=backend)


def _run(name: str, call, changed: dict | None = None):
    """``call(*args)`` from the state START, with a fresh Generator where the case takes one (and
    the arguments `changed` replaced): its result, then what follows it: NumPy's global state, the
    next user draws from it, and the next draws of the Generator."""
    args = [np.random.default_rng(5) if a is GENERATOR else a for a in CASES[name][1]]
    for k, value in (changed or {}).items():
        args[k] = value
    np.random.set_state(START)
    result = call(*args)
    rngs = [a for a in args if isinstance(a, np.random.Generator)]
    return result, (np.random.get_state(), np.random.normal(size=3), [r.random(3) for r in rngs])


def _assert_identical(got, expected):
    """Equal bit for bit, item by item (nested tuples and lists of numbers and arrays)."""
    if isinstance(expected, (tuple, list)):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            _assert_identical(g, e)
    else:
        np.testing.assert_array_equal(got, expected, strict=True)


def _vectors(values, seed: int) -> tuple:
    """One fixed vector (or number) shaped like each of `values`."""
    rng = np.random.default_rng(seed)
    return tuple(rng.uniform(0.5, 1.5, np.shape(v)) if np.ndim(v) else float(rng.uniform(0.5, 1.5)) for v in values)


def _derivative_run(name: str, mode: str, backend: str):
    """The function's values and the derivative's results (cotangents of the arguments, or
    tangents of the results), from a run of the derivative; and what follows it."""
    f, args, wrt = CASES[name]
    plain, _ = _run(name, f)
    g = _derivative(name, mode, backend)
    vectors = _vectors(plain, 1) if mode == "reverse" else _vectors([args[k] for k in wrt], 2)
    call = (lambda *a: g(*a, vectors)) if mode == "reverse" else (lambda *a: g(*a, *vectors))
    with warnings.catch_warnings():
        warnings.simplefilter("error", s2sad.BackendFallbackWarning)
        return _run(name, call), vectors


@pytest.mark.parametrize("name", CASES)
@MODES
@BACKENDS
def test_draws_and_streams_are_numpys(name, mode, backend):
    """The values are the plain function's bit for bit, and NumPy's stream and the Generator are
    left where the plain function leaves them."""
    (values, _), after = _derivative_run(name, mode, backend)[0]
    plain, plain_after = _run(name, CASES[name][0])
    _assert_identical(values, plain)
    _assert_identical(after, plain_after)


@pytest.mark.parametrize("name", CASES)
@MODES
def test_compiled_derivatives_are_the_python_backends(name, mode):
    (_, compiled), _ = _derivative_run(name, mode, "numba")[0]
    (_, python), _ = _derivative_run(name, mode, "python")[0]
    for c, p in zip(compiled if isinstance(compiled, tuple) else (compiled,), python if isinstance(python, tuple)
                    else (python,), strict=True):
        np.testing.assert_allclose(c, p, rtol=1e-12, atol=1e-14)


H = 1e-6


@pytest.mark.parametrize("name", CASES)
@MODES
def test_derivatives_of_the_draws_match_finite_differences(name, mode):
    """Reparameterised draws: each run from START draws the same standard variates, so central
    differences of the function see the derivative s2sad computes."""
    f, args, wrt = CASES[name]
    ((values, result), _), vectors = _derivative_run(name, mode, "python")
    if mode == "reverse":  # ∂/∂args[k] of Σ cotangent · value, one element of args[k] at a time
        result = result if len(wrt) > 1 else (result,)
        for k, got in zip(wrt, result, strict=True):
            np.testing.assert_allclose(got, _fd(name, k, vectors), rtol=1e-6, atol=1e-8, err_msg=f"argument {k}")
    else:  # the derivative along the tangents, one result at a time
        plus, _ = _run(name, f, {k: args[k] + H * t for k, t in zip(wrt, vectors)})
        minus, _ = _run(name, f, {k: args[k] - H * t for k, t in zip(wrt, vectors)})
        for got, p, m in zip(result, plus, minus, strict=True):
            np.testing.assert_allclose(got, (np.asarray(p) - m) / (2 * H), rtol=1e-6, atol=1e-8)


def _fd(name: str, k: int, cotangents: tuple):
    """∂/∂args[k] of Σ cotangent · value by central differences, each run from START."""
    f, args, _ = CASES[name]
    x = np.array(args[k], dtype=float)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        sides = []
        for sign in (1, -1):
            moved = x.copy()
            moved[index] += sign * H
            values, _ = _run(name, f, {k: moved if moved.ndim else float(moved)})
            sides.append(sum(np.sum(c * np.asarray(v)) for c, v in zip(cotangents, values, strict=True)))
        grad[index] = (sides[0] - sides[1]) / (2 * H)
    return grad if grad.ndim else float(grad)


@pytest.mark.parametrize("bit_generator", [np.random.MT19937, np.random.Philox, np.random.SFC64, np.random.PCG64DXSM])
def test_generators_on_every_bit_generator_draw_numpys_numbers(bit_generator):
    """Compiled code draws through the Generator's own bit generator, whichever it is."""
    f, args, _ = CASES["generator"]
    g, cotangents = _derivative("generator", "reverse", "numba"), _vectors(_run("generator", f)[0], 1)
    rngs = [np.random.Generator(bit_generator(5)) for _ in range(2)]
    plain = f(rngs[0], *args[1:])
    (values, _) = g(rngs[1], *args[1:], cotangents)
    _assert_identical(values, plain)
    _assert_identical(rngs[1].random(3), rngs[0].random(3))


BAD = [  # a case, arguments NumPy refuses, and the error (raised after some draws, or before any)
    ("legacy", {1: -1.0}, ValueError),                   # scale < 0, at the first draw
    ("legacy", {3: np.inf}, OverflowError),              # an infinite range, after three draws
    ("legacy arrays", {0: np.zeros(2)}, ValueError),     # loc does not broadcast to the size (4, 3)
    ("legacy arrays", {1: -SIGMA21}, ValueError),        # negative scales
    ("seeded", {1: -1}, ValueError),                     # seeds out of range
    ("seeded", {1: 2 ** 32}, ValueError),
    ("generator", {2: -1.0}, ValueError),
    ("generator", {3: 3.0}, ValueError),                 # high < low, which a Generator refuses
    ("generator arrays", {4: np.full(3, np.inf)}, OverflowError),
    ("integer draws", {4: 7}, ValueError),                # a larger sample than the population, without replacement
    ("integer bounds", {3: 5, 4: 5}, ValueError),         # low >= high
    ("integer bounds", {3: -3, 4: 0}, ValueError),        # high <= 0 (rng.integers(hi))
]


@pytest.mark.parametrize("name, bad, error", BAD)
@BACKENDS
def test_bad_parameters_raise_as_numpy_does(name, bad, error, backend):
    """Where NumPy raises, the derivative raises the same error, with the streams where NumPy
    leaves them (the draws made before it stay made)."""
    f = CASES[name][0]
    with pytest.raises(error) as plain_error:
        _run(name, f, bad)
    plain_after = np.random.get_state()
    g, cotangents = _derivative(name, "reverse", backend), _vectors(_run(name, f)[0], 1)
    with pytest.raises(error, match=_first_words(str(plain_error.value))):
        _run(name, lambda *a: g(*a, cotangents), bad)
    _assert_identical(np.random.get_state(), plain_after)


def _first_words(message: str) -> str:
    """The start of NumPy's message, which the checks of compiled code repeat (a Generator's
    scalar range error says more)."""
    return {"high - low range exceeds valid bounds": "range exceeds valid bounds"}.get(message, message)[:12]


@numba.njit
def _numbas_own_draws(seed):
    if seed >= 0:
        np.random.seed(seed)
    return np.random.random(3)


def test_numbas_own_stream_is_left_as_it_was():
    """Numba's stream, which the user's own compiled functions draw from, is not NumPy's: a
    derivative that borrows NumPy's stream gives Numba's back as it found it."""
    expected = _numbas_own_draws(9), _numbas_own_draws(-1)
    _numbas_own_draws(9)
    _run("seeded", lambda *a: _derivative("seeded", "reverse", "numba")(*a, (np.ones(3), np.ones(2))))
    np.testing.assert_array_equal(_numbas_own_draws(-1), expected[1])


@pytest.fixture
def pcg64_global_stream():
    """NumPy's global stream on a PCG64 bit generator, as `np.random.set_bit_generator` makes it."""
    saved = np.random.get_bit_generator()
    np.random.set_bit_generator(np.random.PCG64(1))
    yield
    np.random.set_bit_generator(saved)


LEGACY_ARGS, LEGACY_COTANGENTS = CASES["legacy"][1], (1.0, np.ones(3), np.ones((2, 3)), np.ones(5), 1.0,
                                                   np.ones((2, 2)), 1.0, np.ones(5), np.ones(2), np.ones(5), np.ones(5))


def test_a_global_stream_other_than_mt19937_is_refused_by_numba(pcg64_global_stream):
    with pytest.raises(s2sad.S2SADError, match="NumPy's global random stream is a PCG64, not the MT19937"):
        s2sad.vjp(df.legacy_draws, backend="numba")(*LEGACY_ARGS, LEGACY_COTANGENTS)


def test_a_global_stream_other_than_mt19937_runs_as_python(pcg64_global_stream, monkeypatch):
    """Numba draws with MT19937 only: on another bit generator the Python derivative runs, and
    draws what NumPy draws."""
    monkeypatch.setenv("S2SAD_BACKEND", "auto")
    state = np.random.get_state(legacy=False)
    plain = df.legacy_draws(*LEGACY_ARGS)
    plain_after = np.random.get_state(legacy=False)
    np.random.set_state(state)
    with pytest.warns(s2sad.BackendFallbackWarning, match="not the MT19937"):
        values, _ = s2sad.vjp(df.legacy_draws)(*LEGACY_ARGS, LEGACY_COTANGENTS)
    _assert_identical(values, plain)
    assert np.random.get_state(legacy=False) == plain_after


def test_a_state_laid_out_otherwise_is_refused(monkeypatch):
    """If the Gaussian record cannot be found where the layout check expects it, compiled code
    does not draw (its draws could differ from NumPy's)."""
    monkeypatch.setattr(stream, "_offsets", {})
    monkeypatch.setattr(stream, "_thread", type(stream._thread)())
    monkeypatch.setattr(stream, "_gauss_offset", lambda rs: None)
    with pytest.raises(s2sad.S2SADError, match="NumPy's random state is not laid out as expected"):
        s2sad.vjp(df.legacy_draws, backend="numba")(*LEGACY_ARGS, LEGACY_COTANGENTS)


def test_choice_with_probabilities_is_refused_at_its_line():
    with pytest.raises(s2sad.S2SADError, match=r"draw_funcs.py:\d+: Generator.choice with probabilities p= is not "
                                               r"supported") as info:
        s2sad.grad(df.choice_with_probabilities, wrt=1)(np.random.default_rng(0), np.ones(3))
    assert info.value.source_line.endswith("# choice with p")
