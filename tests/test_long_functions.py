"""Long and deep functions: a 2,000-statement function differentiates (in both modes) to the right
gradient; expressions and nesting deeper than the interpreter's default recursion limit allows
the compiler's recursive walks do not fail; and Numba failing in any way while it compiles (a
`RecursionError` inside Numba on a huge generated function) ends in the fallback to Python with
a warning, or an `S2SADError` with ``backend="numba"``, in this process and in the worker.

How fast long functions differentiate is measured by bench/long_functions.py, not here."""

import sys
from pathlib import Path

import numpy as np
import pytest

import s2sad
from s2sad.backend import background
from s2sad.backend import numba as numba_backend
from s2sad.cache import write_module

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from long_functions import arguments, generate, load  # noqa: E402


def _central(f, args: tuple, k: int, direction, h: float = 1e-6) -> float:
    """The central difference of f along `direction` in its k-th argument."""
    plus, minus = list(args), list(args)
    plus[k], minus[k] = args[k] + h * direction, args[k] - h * direction
    return (f(*plus) - f(*minus)) / (2 * h)


@pytest.fixture(scope="module")
def long_function(tmp_path_factory):
    return load(generate(2000, seed=3, name="long2000"), str(tmp_path_factory.mktemp("long")), "long_2000")


def test_a_2000_statement_function_differentiates_in_reverse_mode(long_function):
    args = arguments()
    gx, gv = s2sad.grad(long_function, wrt=("x", "v"), backend="python")(*args)
    direction = np.linspace(-1.0, 1.0, args[2].size)
    assert gx == pytest.approx(_central(long_function, args, 0, 1.0), rel=1e-6, abs=1e-8)
    assert gv @ direction == pytest.approx(_central(long_function, args, 2, direction), rel=1e-6, abs=1e-8)


def test_a_2000_statement_function_differentiates_in_forward_mode(long_function):
    args = arguments()
    gx = s2sad.grad(long_function, wrt="x", mode="forward", backend="python")(*args)
    assert gx == pytest.approx(_central(long_function, args, 0, 1.0), rel=1e-6, abs=1e-8)


def test_a_long_function_with_loops_and_branches(tmp_path):
    f = load(generate(400, seed=5, control=True, name="control400"), str(tmp_path), "control_400")
    args = arguments(2)
    gy, gw = s2sad.grad(f, wrt=("y", "w"), backend="python")(*args)
    direction = np.arange(1.0, args[3].size + 1)
    assert gy == pytest.approx(_central(f, args, 1, 1.0), rel=1e-6, abs=1e-8)
    assert gw @ direction == pytest.approx(_central(f, args, 3, direction), rel=1e-6, abs=1e-8)


def _module(tmp_path, name: str, body: list[str]):
    return load(f"def {name}(x):\n" + "".join(f"    {line}\n" for line in body), str(tmp_path), f"deep_{name}")


def test_a_sum_of_600_terms(tmp_path):
    """One expression deeper than the default recursion limit lets gast and the lowering walk
    (Python compiles it); the generated code splits the sum rather than nest it as deeply."""
    f = _module(tmp_path, "long_sum", ["return " + " + ".join(f"np.sin({i}.0 * x)" for i in range(600))])
    closed = sum(i * np.cos(i * 0.3) for i in range(600))
    assert s2sad.grad(f, backend="python")(0.3) == pytest.approx(closed, rel=1e-12)
    assert s2sad.grad(f, mode="forward", backend="python")(0.3) == pytest.approx(closed, rel=1e-12)


def test_ifs_nested_as_deep_as_python_allows(tmp_path):
    depth = 95  # (Python refuses 100 levels of indentation)
    body = ["y = x"] + [f"{'    ' * k}if x > {-k - 1}.0:\n{'    ' * (k + 2)}y = y * 1.5 + x" for k in range(depth)]
    f = _module(tmp_path, "nested", body + ["return y"])
    expected = sum(1.5 ** k for k in range(depth + 1))  # y = x, then y = 1.5 y + x depth times
    assert s2sad.grad(f, backend="python")(0.3) == pytest.approx(expected, rel=1e-12)
    assert s2sad.grad(f, mode="forward", backend="python")(0.3) == pytest.approx(expected, rel=1e-12)


# --- Numba failing while it compiles -------------------------------------------------------------

def _square(x):
    return x * x


@pytest.fixture
def numba_recursing(monkeypatch):
    """Numba's compile of the derivative raising RecursionError, as it does after minutes on a
    huge function (only the derivative's: the runtime helpers compile as usual)."""
    pytest.importorskip("numba")
    real = numba_backend.jit

    def recursing(fn):
        jitted = real(fn)

        def compile(signature):  # (what the dispatcher's own _compile_for_args calls)
            raise RecursionError("maximum recursion depth exceeded while calling a Python object")
        jitted.compile = compile
        return jitted
    monkeypatch.setattr(numba_backend, "jit", recursing)
    monkeypatch.setenv("S2SAD_TIERED", "0")  # (compiled in this process, where the patch is)


def test_numba_recursing_falls_back_to_python_with_a_warning(numba_recursing, monkeypatch):
    monkeypatch.setenv("S2SAD_BACKEND", "auto")
    with pytest.warns(s2sad.BackendFallbackWarning, match="RecursionError"):
        assert s2sad.grad(_square)(3.0) == pytest.approx(6.0)


def test_numba_recursing_is_an_error_with_the_numba_backend(numba_recursing):
    with pytest.raises(s2sad.S2SADError, match="RecursionError"):
        s2sad.grad(_square, backend="numba")(3.0)


def test_the_worker_reports_numba_recursing_as_a_refusal(numba_recursing):
    path = write_module("def square(x):\n    return x * x\n", "square")
    outcome, reason = background._compile(str(path), "square", (3.0,))
    assert outcome == "refused" and "RecursionError" in reason


def test_failures_of_numba_compiling_are_told_from_errors_of_the_code_it_runs():
    numba = pytest.importorskip("numba")
    add = numba.njit(lambda a, b: a + b)
    with pytest.raises(Exception) as typing:
        add(object(), 1.0)
    assert numba_backend.raised_by_numba(typing.value)
    with pytest.raises(ValueError) as running:  # (raised by Numba's broadcasting, in the machine code)
        add(np.zeros(2), np.zeros(3))
    assert not numba_backend.raised_by_numba(running.value)
