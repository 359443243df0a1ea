"""Golden tests: generated derivative source and IR compared with tests/golden/*.txt.

Run with ``S2SAD_UPDATE_GOLDEN=1`` to rewrite the golden files (then read the diff!).
The generated header names the source file by absolute path; only its base name is kept.
"""

import os
import re
from pathlib import Path

import pytest

import s2sad
import golden_funcs as G

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("S2SAD_UPDATE_GOLDEN") == "1"

VECTOR = {"W": "f64[:,:]", "x": "f64[:]", "b": "f64[:]"}
CASES = {   # name: (function, wrt, types)
    "fan_out": (G.fan_out, ("x", "y"), None),
    "sin_poly": (G.sin_poly, 0, None),
    "piecewise": (G.piecewise, ("x", "y"), None),
    "mlp_head": (G.mlp_head, ("W", "b"), VECTOR),
    "monte_carlo": (G.monte_carlo, ("mu", "sigma"), None),
    "euler": (G.euler, ("k", "x0"), {"n": "i64"}),
    "pair_energy": (G.pair_energy, "pos", {"pos": "f64[:,:]"}),
    "trajectory": (G.trajectory, ("k", "x0"), {"n": "i64"}),
}


# The Numba backend's form of the same derivatives: short vectors element by element.
NUMBA_CASES = {
    "pair_energy": CASES["pair_energy"],
    "mixture_fit": (G.mixture_fit, ("X", "means"), {"X": "f64[:,:]", "means": "f64[:,:]"}),
    "relax_until": (G.relax_until, ("x", "a"), {"x": "f64[:]"}),  # (tapes grown in runs of steps)
}


def normalise(text: str) -> str:
    """Replace absolute paths of golden_funcs.py by its base name."""
    path = re.escape(os.path.abspath(G.__file__))
    text = re.sub(path, "golden_funcs.py", text)
    return re.sub(r"(?<![\w.])/\S*/(golden_funcs\.py)", r"\1", text)


def generate(kind: str, fn, wrt, types) -> str:
    if kind in ("reverse", "forward", "hvp"):
        return s2sad.derivative_source(fn, kind, wrt, types=types)
    if kind == "ir":
        return s2sad.ir_source(fn, None, wrt, types=types)
    return s2sad.ir_source(fn, kind.removeprefix("ir_"), wrt, types=types)


def check(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    text = normalise(text)
    if not text.endswith("\n"):
        text += "\n"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"{path} is missing: run with S2SAD_UPDATE_GOLDEN=1 to create it"
    expected = path.read_text()
    assert text == expected, f"{path.name} differs; if the change is intended, rerun with S2SAD_UPDATE_GOLDEN=1"


@pytest.mark.parametrize("kind", ["reverse", "forward", "hvp", "ir", "ir_reverse", "ir_forward"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name, kind):
    fn, wrt, types = CASES[name]
    check(f"{name}.{kind}", generate(kind, fn, wrt, types))


@pytest.mark.parametrize("name", sorted(NUMBA_CASES))
def test_golden_numba_source(name):
    fn, wrt, types = NUMBA_CASES[name]
    check(f"{name}.reverse-numba", s2sad.derivative_source(fn, "reverse", wrt, types=types, backend="numba"))


def test_golden_files_have_no_absolute_paths():
    if not GOLDEN.exists():
        pytest.skip("no golden files yet")
    for path in GOLDEN.glob("*.txt"):
        text = path.read_text()
        assert str(Path.home()) not in text and "/tmp/" not in text and str(GOLDEN.parent) not in text, path


def test_generated_source_is_valid_python():
    """Each generated module compiles and defines the derivative function under its documented name."""
    for name, (fn, wrt, types) in CASES.items():
        for mode, suffix in (("reverse", "_vjp"), ("forward", "_jvp")):
            namespace: dict = {}
            exec(compile(s2sad.derivative_source(fn, mode, wrt, types=types), f"{name}.{mode}", "exec"), namespace)
            assert callable(namespace.get(fn.__name__ + suffix)), (name, mode)


def test_normalise_keeps_line_numbers():
    text = s2sad.derivative_source(G.sin_poly)
    first = normalise(text).splitlines()[0]
    line = G.sin_poly.__code__.co_firstlineno
    assert f"from golden_funcs.py:{line} (sin_poly), reverse mode" in first
    assert os.sep + "golden_funcs.py" not in first


def test_temporaries_do_not_take_a_user_variable_named_t():
    """Unnamed values print as t, t1, …; a user's own `t` keeps its name, and no temporary
    takes it (``for t in range(t)`` would read wrongly)."""
    import loop_funcs as lf
    for mode in ("reverse", "forward"):
        source = s2sad.derivative_source(lf.rnn_final, mode, 0, types={"W": "f64[:,:]", "U": "f64[:,:]",
                                                                        "h0": "f64[:]", "xs": "f64[:,:]"})
        assert "for t in range(" in source
        assert not re.search(r"^\s*t = ", source, re.M), source


def test_golden_checkpointed_source():
    """A small loop reversed by the Binomial schedule: snapshots saved and restored by row."""
    source = s2sad.derivative_source(G.euler, "reverse", ("k", "x0"), types={"n": "i64"}, backend="python",
                                     checkpoint=s2sad.Binomial(2))
    check("euler.reverse-binomial", source)
