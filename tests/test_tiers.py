"""The first calls of an `auto` derivative run as Python while a worker process compiles it
(s2sad/backend/background.py); later calls run the machine code the worker cached."""

import os
import warnings

import numpy as np
import pytest

import s2sad
from s2sad.backend import background

from . import state_funcs as sf

pytestmark = pytest.mark.numba


def stiff_sum(x, k):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.sin(k * x[i]) * x[i]
    return s


X = np.linspace(-1.0, 1.0, 7)


@pytest.fixture
def tiered(monkeypatch, tmp_path):
    """Tiers on, and a cache of the test's own, so that nothing is compiled yet; the worker
    compiles as users do (conftest.optimised), so that this process can load what it caches."""
    monkeypatch.setenv("NUMBA_OPT", "3")
    monkeypatch.setenv("S2SAD_TIERED", "1")
    monkeypatch.setenv("S2SAD_BACKEND", "auto")
    monkeypatch.setenv("S2SAD_CACHE_DIR", str(tmp_path))


def _compiled(g) -> bool:
    """Has the derivative run as machine code? (Numba is not even imported for it until then.)"""
    jitted = g.made()[0].core.jitted
    return jitted is not None and len(jitted.signatures) == 1


def test_first_calls_run_as_python_then_the_machine_code_the_worker_cached(tiered):
    g = s2sad.grad(stiff_sum, wrt=(0, 1))
    first = g(X, 1.5)
    assert not _compiled(g)  # the first call did not wait for Numba
    expected = s2sad.grad(stiff_sum, wrt=(0, 1), backend="python")(X, 1.5)
    for a, b in zip(first, expected):
        np.testing.assert_array_equal(a, b)
    s2sad.wait_compiled()
    later = g(X, 1.5)
    assert _compiled(g)
    stats = g.made()[0].core.jitted.stats
    assert stats.cache_hits and not stats.cache_misses  # loaded from the cache, not compiled here
    for a, b in zip(later, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    fresh = s2sad.grad(stiff_sum, wrt=(0, 1))  # (as in a new process: a new derivative, a warm cache)
    fresh(X, 1.5)  # (as Python, while a thread loads the machine code)
    s2sad.wait_compiled()
    fresh(X, 1.5)
    assert _compiled(fresh)
    stats = fresh.made()[0].core.jitted.stats
    assert stats.cache_hits and not stats.cache_misses


def test_a_python_call_slower_than_the_compile_so_far_makes_the_next_wait(tiered):
    g = s2sad.grad(stiff_sum)
    g(X, 0.5)
    tiers = g.made()[0].core.tiers
    assert tiers.future is not None and not _compiled(g)
    tiers.python_seconds = 1e9  # (as if the Python call had been slow)
    g(X, 0.5)
    assert _compiled(g)


def transposed_at_each_step(A, n):
    u = A * 1.0
    s = 0.0
    for k in range(n):
        t = np.cos(u)
        s = s + np.sum(t * t)
        u = (u + 0.1 * t).T
    return s + np.sum(u * A)


def test_code_numba_refuses_falls_back_once_the_worker_says_so(tiered):
    """(A state transposed at every step: Numba types the carried matrix with an unknown layout,
    and refuses to allocate one of it.)"""
    A = np.array([[0.2, -0.4, 0.1], [0.3, 0.5, -0.2], [0.7, 0.0, 0.4]])
    expected = s2sad.grad(transposed_at_each_step, backend="python")(A, 3)
    g = s2sad.grad(transposed_at_each_step)
    with warnings.catch_warnings():
        warnings.simplefilter("error", s2sad.BackendFallbackWarning)
        np.testing.assert_allclose(g(A, 3), expected, rtol=1e-13)  # (Python, while the worker tries)
    s2sad.wait_compiled()
    with pytest.warns(s2sad.BackendFallbackWarning, match="layout"):
        np.testing.assert_allclose(g(A, 3), expected, rtol=1e-13)


def test_a_warm_first_call_runs_as_python_while_numba_loads(tiered):
    """With the machine code in the cache, the first call of a new process does not wait for
    Numba's start-up: it runs as Python while a thread loads the machine code."""
    s2sad.grad(stiff_sum)(X, 0.5)
    s2sad.wait_compiled()  # (the worker has cached it)
    fresh = s2sad.grad(stiff_sum)
    fresh(X, 0.5)
    tiers = fresh.made()[0].core.tiers
    assert tiers.future is not None
    s2sad.wait_compiled()
    assert tiers.ready
    fresh(X, 0.5)
    assert _compiled(fresh)


def test_code_writing_module_globals_compiles_here(tiered):
    """The worker has not the user's modules: code naming one is compiled (refused) at once."""
    sf.c = 0
    with pytest.warns(s2sad.BackendFallbackWarning, match="state_funcs.c = "):
        assert s2sad.grad(sf.twice)(2.0) == 3.0


def test_without_a_worker_the_calls_compile(tiered, monkeypatch):
    """(The first call may run as Python while the cache is looked up in a thread.)"""
    monkeypatch.setattr(background, "_worker", lambda: None)
    g = s2sad.grad(stiff_sum)
    g(X, 0.5)
    s2sad.wait_compiled()
    g(X, 0.5)
    assert _compiled(g)


def test_tiers_off_waits_for_numba(tiered, monkeypatch):
    monkeypatch.setenv("S2SAD_TIERED", "0")
    g = s2sad.grad(stiff_sum)
    g(X, 0.25)
    assert _compiled(g)


def unseeded_draws(x):
    z = np.random.normal(0.0, 1.0, x.shape[0])
    return np.sum(np.exp(z * x))


def test_both_tiers_draw_the_same_numbers(tiered):
    """From a generator passed in, and from NumPy's global stream: the call run as Python and
    the compiled call draw what NumPy would, and leave the global stream where NumPy would."""
    x = np.linspace(0.1, 0.4, 3)
    g, h = s2sad.grad(sf.draws_from), s2sad.grad(unseeded_draws)
    calls = []
    for _ in range(2):
        np.random.seed(3)
        calls.append((g(x, np.random.default_rng(5)), h(x), np.random.random()))
        s2sad.wait_compiled()
    assert _compiled(g) and _compiled(h)
    np.random.seed(3)
    z = np.random.normal(0.0, 1.0, 3)
    for gx, hx, after in calls:
        np.testing.assert_allclose(gx, 2 * x * np.random.default_rng(5).standard_normal(3), rtol=1e-13)
        np.testing.assert_allclose(hx, z * np.exp(z * x), rtol=1e-13)
        assert after == calls[0][2]


def long_walk(x, n):
    s = x
    for i in range(n):
        s = s + 1e-7 * np.sin(s) + 1e-9 * np.random.normal()
    return s


def test_a_long_call_run_as_python_switches_to_the_machine_code_when_it_is_ready(tiered):
    """Ten million steps take the interpreter minutes, Numba seconds: the call stops running as
    Python when the worker is done, and runs compiled, from NumPy's stream as it was."""
    n = 10_000_000
    np.random.seed(9)
    g = s2sad.grad(long_walk)
    first = g(0.5, n)
    assert _compiled(g)
    after = np.random.random()
    np.random.seed(9)
    assert g(0.5, n) == first and np.random.random() == after


def test_a_warm_first_call_run_as_python_does_not_share_the_interpreter_with_the_load(tiered, monkeypatch):
    """The load (which imports Numba) starts once the first call, run as Python, has ended:
    run beside it, it would only slow it down."""
    from s2sad.backend import background
    s2sad.grad(stiff_sum)(X, 0.5)
    s2sad.wait_compiled()  # (the worker has cached it)
    events = []
    real_thread = background._in_thread
    monkeypatch.setattr(background, "_in_thread", lambda job: (events.append("load"), real_thread(job)))
    fresh = s2sad.grad(stiff_sum)
    real_timed = background.Tiers.timed

    def timed(self, fn, args):
        events.append("python call")
        return real_timed(self, fn, args)
    monkeypatch.setattr(background.Tiers, "timed", timed)
    fresh(X, 0.5)
    assert events == ["python call", "load"]
    s2sad.wait_compiled()
    fresh(X, 0.5)
    assert _compiled(fresh)


def test_a_long_warm_first_call_waits_for_the_load_rather_than_run_as_python(tiered):
    """A call that runs as Python for `PATIENCE` while the machine code is loaded from the cache
    waits for the load (rather than share the interpreter with it), then runs compiled."""
    s2sad.grad(long_walk)(0.5, 10)
    s2sad.wait_compiled()  # (cached by the worker)
    np.random.seed(9)
    expected = s2sad.grad(long_walk, backend="python")(0.5, 100)
    fresh = s2sad.grad(long_walk)
    np.random.seed(9)
    fresh(0.5, 1_000_000)  # (a million steps: seconds as Python)
    assert _compiled(fresh)
    np.random.seed(9)
    assert fresh(0.5, 100) == pytest.approx(expected, rel=1e-12)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_process_compiles_with_a_worker_of_its_own(tiered):
    """The parent's worker answers the parent only: a child forked while a compile was under
    way starts its own, rather than wait for an answer that never comes."""
    g = s2sad.grad(stiff_sum)
    expected = g(X, 0.75)  # (as Python; the parent's worker compiles)
    pid = os.fork()
    if pid == 0:  # the child
        ok = False
        try:
            g(X, 0.75)
            s2sad.wait_compiled(timeout=120)
            ok = np.allclose(g(X, 0.75), expected, rtol=1e-12) and _compiled(g)
        finally:
            os._exit(0 if ok else 1)
    assert os.waitpid(pid, 0)[1] == 0


def test_a_worker_that_dies_leaves_the_compile_to_this_process(tiered, monkeypatch):
    monkeypatch.setattr(background, "_STARTS", background._STARTS)  # (the restarts left, put back after)
    g = s2sad.grad(stiff_sum)
    background._worker().process.kill()  # (the worker this process started, killed before it answers)
    g(X, 0.125)  # (as Python, or compiled here if the worker's end is already known)
    s2sad.wait_compiled()
    g(X, 0.125)
    assert _compiled(g)
