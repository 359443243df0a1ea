"""The Numba backend: the loop workloads compile in nopython mode (no fallback) and agree with
the Python backend; what Numba cannot compile falls back with one warning, or raises."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import s2sad
import s2sad.primitives as P
from conftest import optimised
from s2sad.ir.core import copy_function, walk
from s2sad.ir.types import F64, I64
from s2sad.ir.verify import verify
from s2sad.passes.chunks import chunk_tapes
from s2sad.pipeline import prepare, transform

from . import loop_funcs as lf
from . import state_funcs as sf

R = np.random.default_rng(5)
X3 = np.array([0.3, -1.2, 0.8])
WORKLOADS = {
    "oscillator": (lf.oscillator, (2.0, 1.0, 0.0, 0.1, 0.01, 500), 0),
    "rnn": (lf.rnn_total, (R.normal(size=(4, 4)) * 0.5, R.normal(size=(4, 3)), np.zeros(4), R.normal(size=(12, 3))),
            (0, 1)),
    "lennard_jones": (lf.lennard_jones, (R.normal(size=(5, 3)) * 2.0, 1.0, 1.0), 0),
    "heat": (lf.heat_misfit, (R.normal(size=16), R.normal(size=16), 0.2, 30), 0),
    "newton_while": (lf.newton_sqrt, (2.0,), 0),
    "branch_in_loop": (lf.branch_in_loop, (0.7, 9), 0),
    "fill": (lf.fill_then_sum, (R.normal(size=6), R.normal(size=6)), (0, 1)),
    "resnet": (lf.resnet, (R.normal(size=(3, 4, 4)) * 0.3, R.normal(size=4)), (0, 1)),
}


def _close(a, b):
    for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-13)


# Forward mode over many inputs (rnn, resnet, heat) compiles in the core suites' Numba runs.
@pytest.mark.parametrize("name, mode", [(name, mode) for name in WORKLOADS for mode in ("reverse", "forward")
                                        if mode == "reverse" or name not in ("rnn", "resnet", "heat")])
def test_compiles_in_nopython_mode_and_agrees(name, mode):
    fn, args, wrt = WORKLOADS[name]
    g = s2sad.grad(fn, wrt=wrt, mode=mode, backend="numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error", s2sad.BackendFallbackWarning)
        compiled = g(*args)
    jitted = g.made()[0].core.jitted
    assert len(jitted.signatures) == 1, "the derivative did not run as Numba-compiled code"
    _close(compiled, s2sad.grad(fn, wrt=wrt, mode=mode, backend="python")(*args))


# The workloads of bench/loops.py, at its quick sizes: the ones the speed measurements are of.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import loops as bench_loops  # noqa: E402

BENCH_WORKLOADS = bench_loops.workloads(quick=True)


@pytest.mark.numba
@pytest.mark.parametrize("name", sorted(BENCH_WORKLOADS))
def test_benchmark_workloads_compile_in_nopython_mode(name):
    fn, args, wrt = BENCH_WORKLOADS[name]
    wrt = wrt if isinstance(wrt, tuple) else (wrt,)
    g = s2sad.grad(fn, wrt=wrt, backend="numba")  # (raises rather than fall back)
    with warnings.catch_warnings():
        warnings.simplefilter("error", s2sad.BackendFallbackWarning)
        compiled = g(*args)
    assert len(g.made()[0].core.jitted.signatures) == 1
    _close(compiled, s2sad.grad(fn, wrt=wrt, backend="python")(*args))


def test_tape_bytes_under_numba():
    g = s2sad.grad(lf.oscillator, backend="numba")
    g(2.0, 1.0, 0.0, 0.1, 0.01, 500)
    assert 8 * 500 <= g.tape_bytes <= 2 * 8 * 500


def test_auto_falls_back_with_one_warning_and_a_right_gradient(monkeypatch):
    monkeypatch.setenv("S2SAD_BACKEND", "auto")
    sf.c = 0
    g = s2sad.grad(sf.twice, backend="auto")
    with pytest.warns(s2sad.BackendFallbackWarning, match="state_funcs.c = ") as caught:
        assert g(2.0) == 3.0
    assert caught[0].filename == __file__  # the warning points at the call, not into s2sad
    with warnings.catch_warnings():
        warnings.simplefilter("error", s2sad.BackendFallbackWarning)
        assert g(2.0) == 7.0  # no second warning
    assert sf.c == 4


def test_numba_backend_raises_instead_of_falling_back():
    sf.c = 0
    with pytest.raises(s2sad.S2SADError, match="Numba cannot compile"):
        s2sad.grad(sf.twice, backend="numba")(2.0)
    assert sf.c == 0  # nothing ran


def test_python_backend_never_compiles():
    g = s2sad.grad(lf.oscillator, backend="python")
    g(2.0, 1.0, 0.0, 0.1, 0.01, 10)
    derived = g.made()[0]
    assert not hasattr(derived.core, "jitted")


def test_seeded_legacy_draws_match_numpy_under_numba():
    """np.random.seed inside the function seeds the compiled code's generator: same draws as NumPy."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", s2sad.BackendFallbackWarning)
        value, g = s2sad.value_and_grad(sf.legacy_draws, backend="numba")(0.7)
    z = (np.random.seed(1), np.random.normal(0.0, 1.0, 4))[1]
    assert value == pytest.approx(sf.legacy_draws(0.7), rel=1e-14)
    assert g == pytest.approx(np.sum(z * np.exp(z * 0.7)), rel=1e-12)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_generator_made_from_a_seed_runs_compiled(mode):
    """default_rng(seed) is made by a Python entry point; the compiled core draws from it, the
    same numbers NumPy draws."""
    for f, args, wrt in [(sf.mc_normal, (0.5, 2.0), (0, 1)), (sf.generator_from_parameter, (X3, 7), 0)]:
        with warnings.catch_warnings():
            warnings.simplefilter("error", s2sad.BackendFallbackWarning)
            g = s2sad.value_and_grad(f, wrt=wrt, mode=mode, backend="numba")
            value, grad = g(*args)
        expected = s2sad.value_and_grad(f, wrt=wrt, mode=mode, backend="python")(*args)
        assert value == pytest.approx(f(*args), rel=1e-13)
        np.testing.assert_allclose(grad, expected[1], rtol=1e-12)
        derived = g.made()[0]
        assert len(derived.core.jitted.signatures) == 1
        verify(derived.derivative)  # splitting off the entry point left the derivative whole
    u = np.random.default_rng(7).uniform(0.0, 1.0, 3)  # d/dx sum(u * x * x): the same draws
    np.testing.assert_allclose(s2sad.grad(sf.generator_from_parameter, mode=mode, backend="numba")(X3, 7),
                               2 * u * X3, rtol=1e-13)


def test_generator_made_in_a_loop_falls_back(monkeypatch):
    monkeypatch.setenv("S2SAD_BACKEND", "auto")
    with pytest.warns(s2sad.BackendFallbackWarning, match="default_rng"):
        g = s2sad.grad(sf.generator_per_step)(X3)
    z = sum(np.random.default_rng(i).standard_normal(3) for i in range(3))
    np.testing.assert_allclose(g, z, rtol=1e-13)


def test_ragged_tapes_compile_and_agree_with_python():
    u = np.linspace(0.1, 0.9, 6)
    np.testing.assert_allclose(s2sad.grad(lf.shrinking, backend="numba")(u),
                               s2sad.grad(lf.shrinking, backend="python")(u), rtol=1e-13)


def test_ragged_tapes_of_while_loops_grow_their_index():
    """40 steps of a while loop: the tape's index (16 entries at first) is doubled twice."""
    u = np.linspace(0.1, 0.9, 43)
    g = s2sad.grad(lf.shrinking_while, backend="numba")(u)
    np.testing.assert_allclose(g, s2sad.grad(lf.shrinking_while, backend="python")(u), rtol=1e-13)
    np.testing.assert_allclose(g, s2sad.grad(lf.shrinking_while, mode="forward", backend="python")(u), rtol=1e-10)


_DAMAGED = """
import sys
from pathlib import Path
import s2sad
sys.path.insert(0, sys.argv[1])
import loop_funcs as lf
args, cache = (2.0, 1.0, 0.0, 0.1, 0.01, 50), Path(sys.argv[3])
expected = s2sad.grad(lf.oscillator, backend="numba")(*args)
index, = cache.glob("__pycache__/*.nbi")
data, = cache.glob("__pycache__/*.nbc")
target = index if sys.argv[2] == "truncate index" else data
target.write_bytes(b"garbage\\n" if sys.argv[2] == "overwrite data" else target.read_bytes()[:40])
g = s2sad.grad(lf.oscillator, backend="numba")  # a new dispatcher, which reads the cache
assert g(*args) == expected
assert len(g.made()[0].core.jitted.signatures) == 1
assert s2sad.grad(lf.oscillator, backend="numba")(*args) == expected  # the repaired cache loads
"""


@pytest.mark.parametrize("damage", ["truncate index", "truncate data", "overwrite data"])
def test_unreadable_numba_cache_files_are_recompiled(damage, tmp_path):
    """A damaged cache file is dropped and the derivative compiled again, to the same result (in
    a process compiling as users do, with the machine code beside the module)."""
    env = {k: v for k, v in optimised(tmp_path, S2SAD_CACHE_DIR=str(tmp_path)).items() if k != "NUMBA_CACHE_DIR"}
    subprocess.run([sys.executable, "-c", _DAMAGED, os.path.dirname(__file__), damage, str(tmp_path)], env=env,
                   check=True, capture_output=True, text=True)


_NEW_PROCESS = """
import sys
import s2sad
sys.path.insert(0, sys.argv[1])
import loop_funcs as lf
g = s2sad.grad(lf.oscillator, backend="numba")
print(g(2.0, 1.0, 0.0, 0.1, 0.01, 50))
stats = g.made()[0].core.jitted.stats
print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
"""


def test_a_new_process_loads_the_compiled_code_from_the_cache(tmp_path):
    env = optimised(tmp_path, S2SAD_CACHE_DIR=str(tmp_path / "cache"))
    runs = [subprocess.run([sys.executable, "-c", _NEW_PROCESS, os.path.dirname(__file__)], env=env,
                           capture_output=True, text=True, check=True).stdout.split("\n") for _ in range(2)]
    assert runs[0][0] == runs[1][0]  # the same gradient
    assert runs[0][1] == "0 1"  # compiled in the first process,
    assert runs[1][1] == "1 0"  # loaded from the cache in the second


_HELPERS = """
import numpy as np
import s2sad

def summed(x, n):
    total = 0.0
    for i in range(n):
        total = total + x[i] * x[i]
    return total

print(s2sad.grad(summed, backend="numba")(np.arange(4.0), 3))
"""


def test_runtime_helpers_compiled_once_are_loaded_by_the_next_process(tmp_path):
    """A new derivative in a new process compiles itself, but loads the runtime helpers it calls
    (here `checked_span`) from Numba's cache: nothing of s2sad's package is written there again."""
    def helper_files() -> set:
        return {p.relative_to(tmp_path) for p in (tmp_path / "numba-cache").rglob("*.nbc")
                if p.parent.name.startswith(("backend_", "s2sad_"))}
    script = tmp_path / "helpers.py"
    script.write_text(_HELPERS)
    seen = []
    for run in range(2):
        env = optimised(tmp_path, S2SAD_CACHE_DIR=str(tmp_path / f"cache{run}"))  # (a new derivative each time)
        out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.split() == ["[0.", "2.", "4.", "0.]"]
        seen.append(helper_files())
    assert seen[0] and seen[1] == seen[0]


def test_modules_are_named_for_the_runtime_they_are_compiled_with(monkeypatch):
    """Changed runtime helpers give the generated module a new file, so Numba's machine code
    cached for the old helpers is not reused."""
    from s2sad import cache
    first = s2sad.grad(lf.oscillator, backend="python").derived(2.0, 1.0, 0.0, 0.1, 0.01, 5).path
    monkeypatch.setattr(cache, "_runtime_fingerprint", lambda: b"other helpers")
    second = s2sad.grad(lf.oscillator, backend="python").derived(2.0, 1.0, 0.0, 0.1, 0.01, 5).path
    assert first != second
    assert open(first).read() == open(second).read()


def test_a_damaged_generated_module_is_written_again(tmp_path, monkeypatch):
    monkeypatch.setenv("S2SAD_CACHE_DIR", str(tmp_path))
    args = (2.0, 1.0, 0.0, 0.1, 0.01, 5)
    derived = s2sad.grad(lf.oscillator, backend="python").derived(*args)
    text = open(derived.path).read()
    with open(derived.path, "w") as handle:
        handle.write(text[: len(text) // 2])  # as if a write had stopped half-way
    g = s2sad.grad(lf.oscillator, backend="python")
    assert g(*args) == pytest.approx(s2sad.grad(lf.oscillator, mode="forward")(*args), rel=1e-12)
    assert open(g.derived(*args).path).read() == text
    assert not list(tmp_path.glob("*.tmp"))  # no temporary file left behind


def test_a_strided_view_is_reshaped_as_numpy_does():
    """np.reshape of a view that is not C-contiguous copies it, in NumPy and in the compiled
    code (Numba's own reshape takes contiguous arrays only)."""
    x = np.random.default_rng(1).normal(size=(3, 2, 8))
    g = s2sad.grad(lf.reshaped_norm, backend="numba")
    np.testing.assert_allclose(g(x[:, :, ::2]), 2 * x[:, :, ::2], rtol=1e-13)
    np.testing.assert_allclose(g(np.ascontiguousarray(x[:, :, ::2])), 2 * x[:, :, ::2], rtol=1e-13)


def test_a_later_layout_numba_refuses_falls_back_too(monkeypatch):
    """Numba compiles again for a new argument layout; if it refuses that one, the call still
    runs, as Python, with the warning. (The refusal of strided arguments is simulated here: the
    operations s2sad emits compile for every layout.)"""
    from numba.core.errors import TypingError

    from s2sad.backend import numba as numba_backend
    real = numba_backend.jit

    def refusing_strided(fn):
        compiled = real(fn)

        class Dispatcher:
            signatures = property(lambda self: compiled.signatures)

            def __call__(self, *args):
                if any(isinstance(a, np.ndarray) and not a.flags.c_contiguous for a in args):
                    raise TypingError("np.reshape() supports contiguous array only")
                return compiled(*args)
        return Dispatcher()
    monkeypatch.setattr(numba_backend, "jit", refusing_strided)
    monkeypatch.setenv("S2SAD_BACKEND", "auto")
    x = np.random.default_rng(1).normal(size=(3, 2, 8))
    g = s2sad.grad(lf.reshaped_norm)
    expected = 2 * x[:, :, ::2]
    np.testing.assert_allclose(g(np.ascontiguousarray(x[:, :, ::2])), expected, rtol=1e-13)
    with pytest.warns(s2sad.BackendFallbackWarning, match="np.reshape"):
        np.testing.assert_allclose(g(x[:, :, ::2]), expected, rtol=1e-13)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_store_from_an_overlapping_view_reads_the_old_values(mode):
    """``y[1:] = y[:-1]`` shifts y; an element-by-element copy in place would smear y[0]."""
    x = np.arange(1.0, 6.0)
    for backend in ("python", "numba"):
        g = s2sad.grad(lf.shifted_in_place, mode=mode, backend=backend)(x)
        np.testing.assert_array_equal(g, [0.0, 0.0, 0.0, 2.0, 0.0])


def draw_around(mu, sigma, w):
    rng = np.random.default_rng(3)
    return np.sum(rng.normal(mu, sigma) * w)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_normal_draws_with_array_parameters_compile_and_draw_numpys_numbers(mode):
    """Numba's Generator.normal takes no array loc or scale: the compiled code draws standard
    normals and scales them, the same numbers NumPy draws."""
    mu, sigma, w = np.array([0.1, -0.4, 2.0]), np.array([[0.5], [1.5]]), np.array([1.0, -2.0, 0.5])
    g = s2sad.value_and_grad(draw_around, wrt=(0, 1), mode=mode, backend="numba")
    value, (mu_bar, sigma_bar) = g(mu, sigma, w)
    assert value == draw_around(mu, sigma, w)
    z = (np.random.default_rng(3).normal(mu, sigma) - mu) / sigma
    np.testing.assert_allclose(mu_bar, np.sum(np.broadcast_to(w, z.shape), axis=0), rtol=1e-12)
    np.testing.assert_allclose(sigma_bar, np.sum(w * z, axis=1, keepdims=True), rtol=1e-12)


@pytest.mark.numba
def test_a_slow_first_call_says_what_it_compiles_once(monkeypatch, capfd, tmp_path):
    """A first call still running after notice.SLOW seconds prints a line on stderr for each slow
    step (here the threshold is 0: whatever the first call costs, it is "slow"); later calls,
    and calls with S2SAD_QUIET set, print nothing. (A new cache: a first call that only loads
    machine code compiles nothing, and says nothing of it.)"""
    from s2sad import notice
    monkeypatch.setenv("S2SAD_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(notice, "SLOW", 0.0)
    monkeypatch.delenv("S2SAD_QUIET", raising=False)
    grad = s2sad.grad(lf.oscillator, backend="numba")
    args = (2.0, 1.0, 0.0, 0.1, 0.01, 50)
    grad(*args)
    first = capfd.readouterr().err
    assert first.count("s2sad: Numba is compiling the derivative of") == 1 and "oscillator" in first
    assert "cached in" in first and first.count("s2sad: making the reverse-mode derivative of oscillator") == 1
    grad(*args)
    assert capfd.readouterr().err == ""
    monkeypatch.setenv("S2SAD_QUIET", "1")
    s2sad.grad(lf.oscillator, backend="numba", mode="forward")(*args)
    assert "s2sad:" not in capfd.readouterr().err


@pytest.mark.numba
def test_a_compiled_call_goes_straight_to_the_machine_code(monkeypatch):
    """Once compiled, a call neither arms the slow-call notice nor formats its message (that cost
    20 µs per call): only a first call that compiles goes through it (one that loads the machine
    code from the cache does not)."""
    from s2sad import notice
    armed = []
    real = notice.if_slow

    def counting(message, active=True):
        armed.append(message)
        return real(message, active)
    monkeypatch.setattr(notice, "if_slow", counting)
    grad = s2sad.grad(lf.oscillator, backend="numba")
    grad(2.0, 1.0, 0.0, 0.1, 0.01, 20)
    assert sum(m.startswith("Numba is compiling") for m in armed) <= 1
    first = len(armed)
    for _ in range(2):
        grad(2.0, 1.0, 0.0, 0.1, 0.01, 20)
    assert len(armed) == first


def test_a_while_loops_gradient_compiles_without_numbas_pedantic_warning():
    """Numba's internal check of inlined code (NumbaIRAssumptionWarning) is not shown to users
    for the growable tapes' inlined store (where a loop is not run in chunks)."""
    from numba.core.errors import NumbaIRAssumptionWarning
    with warnings.catch_warnings(record=True) as caught:
        g = s2sad.grad(lf.settling_while, backend="numba")(0.7)
    assert not [w for w in caught if issubclass(w.category, NumbaIRAssumptionWarning)]
    assert g == pytest.approx(s2sad.grad(lf.settling_while, backend="python")(0.7), rel=1e-13)
    assert g == pytest.approx(s2sad.grad(lf.settling_while, mode="forward", backend="python")(0.7), rel=1e-12)


def test_while_loops_storing_on_growable_tapes_run_in_chunks():
    """The compiled form stores plainly into tapes given room before each run of steps; a
    condition that draws is evaluated only where the run has room (once a step, as written)."""
    source = s2sad.derivative_source(lf.oscillator_while, args=(2.0, 1.0, 0.3, 0.1, 0.01, 40), backend="numba")
    assert "tape_x = reserve(tape_x, stop)" in source and "while k1 < stop and n > 0:" in source  # (k: the argument)
    assert "record_grow" not in source
    source = s2sad.derivative_source(lf.draws_in_a_while_condition, args=(0.5, 3), backend="numba")
    assert "if k < stop:" in source and "record_grow" not in source
    g = s2sad.grad(lf.draws_in_a_while_condition, backend="numba")(0.5, 6)
    assert g == pytest.approx(s2sad.grad(lf.draws_in_a_while_condition, backend="python")(0.5, 6), rel=1e-14)


@pytest.mark.parametrize("f, ndims", [(lf.oscillator_while, (0, 0, 0, 0, 0, None)), (lf.relax, (1, 0, None)),
                                      (lf.nested_while, (0, None)), (lf.branch_in_a_long_while, (1, None)),
                                      (lf.draws_in_a_while_condition, (0, None))],
                         ids=["numbers", "vector", "nested", "branch", "drawing_condition"])
def test_while_loops_in_chunks_are_well_formed_ir(f, ndims):
    """passes/chunks.py on the reverse-mode derivative (the plain stores it makes included)."""
    types = [I64 if n is None else F64.with_ndim(n) for n in ndims]
    derivative = transform(prepare(f, types), [0], "reverse", None)
    chunked = chunk_tapes(copy_function(derivative))
    verify(chunked)
    assert not any(getattr(s, "prim", None) is P.record_grow for s in walk(chunked.body))


_WARM_FUNCS = '''
import numpy as np


def oscillator(k, x0, v0, c, dt, n):
    x, v = x0, v0
    for i in range(n):
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
    return x


def log_sum_exp_rows(X):
    top = np.max(X, axis=1)
    return np.sum(top + np.log(np.sum(np.exp(X - top[:, None]), axis=1))) + np.sum(np.maximum(X, 0.5))
'''

_WARM_RUN = """
import sys
import numpy as np
import s2sad
sys.path.insert(0, sys.argv[1])
import warm_funcs as w
X = np.arange(12.0).reshape(3, 4) / 7.0
print(repr(s2sad.grad(w.oscillator, backend="numba")(2.0, 1.0, 0.0, 0.1, 0.01, 50)))
print("numba.np.arraymath" in sys.modules, "scipy.linalg" in sys.modules)
grad = s2sad.grad(w.log_sum_exp_rows, backend="numba")
print(repr(grad(X if sys.argv[2] == "cold" else np.asfortranarray(X)).tolist()))
"""


@pytest.mark.numba
def test_a_new_process_loads_machine_code_without_numbas_start_up_and_still_compiles(tmp_path):
    """A process whose cache has the machine code loads it without importing Numba's
    implementations (nor SciPy's BLAS with them: numba_load.py); a derivative it then has to
    compile (here for a new memory layout) is prepared as in any process, and both are right."""
    (tmp_path / "warm_funcs.py").write_text(_WARM_FUNCS)
    env = optimised(tmp_path, S2SAD_CACHE_DIR=str(tmp_path / "cache"))
    outputs = [subprocess.run([sys.executable, "-c", _WARM_RUN, str(tmp_path), stage], env=env, check=True,
                              capture_output=True, text=True, timeout=600).stdout.split("\n")
               for stage in ("cold", "warm")]
    sys.path.insert(0, str(tmp_path))
    try:
        import warm_funcs as w
        X = np.arange(12.0).reshape(3, 4) / 7.0
        expected = (s2sad.grad(w.oscillator, backend="python")(2.0, 1.0, 0.0, 0.1, 0.01, 50),
                    s2sad.grad(w.log_sum_exp_rows, backend="python")(X))
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("warm_funcs", None)
    for out in outputs:
        assert eval(out[0]) == pytest.approx(expected[0], rel=1e-13)
        np.testing.assert_allclose(eval(out[2]), expected[1], rtol=1e-13)
    assert outputs[1][1] == "False False"  # (the warm process: nothing of Numba's start-up imported)


def test_machine_code_calling_a_symbol_the_linker_lacks_is_not_loaded_without_numbas_start_up():
    """LLVM stops the process on a symbol it cannot resolve: a cache entry declaring one that is
    not known yet is loaded only after Numba's full start-up, which registers such symbols."""
    import llvmlite.binding as ll
    from numba.core.registry import cpu_target

    from s2sad.backend.numba_load import _linkable, undefined_symbols

    codegen = cpu_target.target_context.codegen()

    def library(*declared: str) -> tuple:
        text = "".join(f"declare double @{name}(double)\n" for name in declared)
        return ("example", "bitcode", ll.parse_assembly(text).as_bitcode())

    assert _linkable(library("sin", "exp", "llvm.fabs.f64"), codegen)
    assert not _linkable(library("sin", "s2sad_no_such_symbol"), codegen)

    def object_code(*called: str) -> tuple:  # (as Numba caches it: the object code, and its bitcode)
        declared = "".join(f"declare double @{name}(double)\n" for name in called)
        body = "".join(f"  %r{k} = call double @{name}(double %x)\n" for k, name in enumerate(called))
        module = ll.parse_assembly(f"{declared}define double @f(double %x) {{\n{body}  ret double %x\n}}\n")
        machine = ll.Target.from_default_triple().create_target_machine(codemodel="jitdefault")
        return "example", "object", (machine.emit_object(module), module.as_bitcode())

    if sys.platform.startswith("linux"):  # (ELF object code: its symbol table is read)
        assert sorted(undefined_symbols(object_code("sin", "s2sad_no_such_symbol")[2][0])) == \
            ["s2sad_no_such_symbol", "sin"]
    assert _linkable(object_code("sin", "exp"), codegen)
    assert not _linkable(object_code("sin", "s2sad_no_such_symbol"), codegen)


def rounded(x, w):
    return np.round(x * w, 1) + np.round(x, 25) + np.round(x, -2) + np.around(x[0] * w, 3)


def test_round_compiled_gives_numpy_s_values():
    """NumPy's steps (x times 10 ** decimals, rounded half to even, divided back): Numba's own
    np.round returned x where the product overflows (NumPy gives inf) and rounded differently
    past 22 decimals."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(size=300) * 10.0 ** rng.integers(-30, 30, 300),
                        [1.25e308, 2.5, -0.5, 0.05, 0.15, -0.0, 1.23456e-20]])
    with np.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value, _ = s2sad.jvp(rounded, backend="numba")(x, 1.0, np.zeros_like(x))
        np.testing.assert_array_equal(value, rounded(x, 1.0))


def clipped(x, lo, hi):
    return np.clip(x, lo, hi) + np.clip(x[0], lo, hi) + x.clip(lo, 2.0)


@pytest.mark.parametrize("lo, hi", [(np.nan, 1.0), (0.0, np.nan), (0.5, 0.25), (-1.0, 1.0)])
def test_clip_compiled_gives_numpy_s_values_at_nan_bounds(lo, hi):
    """np.minimum(np.maximum(x, lo), hi), as NumPy: NaN where a bound is NaN (Numba's np.clip,
    and s2sad's of numbers, ignored a NaN bound)."""
    x = np.array([0.5, np.nan, -3.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value, _ = s2sad.jvp(clipped, backend="numba")(x, lo, hi, np.ones(4))
    np.testing.assert_array_equal(value, clipped(x, lo, hi))


def square_roots(x):
    return x ** 0.5 + np.power(x, 0.5)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_a_float_array_to_the_power_one_half_is_its_square_root(backend):
    """NumPy's power of a float array by 0.5 is np.sqrt (NaN at -inf, -0 at -0); compiled code's
    pow gave inf and 0 there. (Of a number, NumPy's is pow: inf at -inf.)"""
    x = np.array([-np.inf, -0.0, 4.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value, _ = s2sad.jvp(square_roots, backend=backend)(x, np.ones(4))
        expected = square_roots(x)
    np.testing.assert_array_equal(value, expected)
    np.testing.assert_array_equal(np.signbit(value), np.signbit(expected))
