"""Derivations kept across processes (s2sad/records.py): a derivative made once is loaded, not
made again, by a later derivative object or process, and only while everything the compiler
read outside the function is still what it was."""

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.special

import s2sad
from s2sad import pipeline

HELPERS = """
import numpy as np

SCALE = 2.0

def shape(x):
    return np.sin(x) * SCALE
"""

MODEL = """
import numpy as np
import {helpers} as helpers

def loss(x, power=2):
    return np.sum(helpers.shape(x) ** power)
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache directory of the test's own, and a place for its modules on the import path."""
    monkeypatch.setenv("S2SAD_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "src").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    return tmp_path


def write(cache: Path, name: str, text: str):
    """Write the module `name` and import it afresh."""
    (cache / "src" / f"{name}.py").write_text(textwrap.dedent(text))
    sys.modules.pop(name, None)
    importlib.invalidate_caches()
    return importlib.import_module(name)


class Derivations:
    """Counts the functions the compiler lowers (a derivation read from a record lowers none)."""

    def __init__(self, monkeypatch):
        self.count = 0
        prepare = pipeline.prepare

        def counted(*args, **kwargs):
            self.count += 1
            return prepare(*args, **kwargs)
        monkeypatch.setattr(pipeline, "prepare", counted)


def derived_once(cache: Path, monkeypatch, name: str):
    """The helper and model modules `name`, the count of derivations, and the model's gradient
    made once."""
    helpers = write(cache, f"helpers_{name}", HELPERS)
    model = write(cache, f"model_{name}", MODEL.format(helpers=f"helpers_{name}"))
    made = Derivations(monkeypatch)
    s2sad.grad(model.loss, backend="python")(X)
    return helpers, model, made


def records(cache: Path) -> list[Path]:
    return sorted((cache / "cache").glob("derivation_*.json"))


def expected(x, scale=2.0, power=2):
    return power * (np.sin(x) * scale) ** (power - 1) * np.cos(x) * scale


X = np.array([0.3, -1.2, 2.0])


def test_a_second_derivative_object_loads_the_record(cache, monkeypatch):
    write(cache, "helpers_a", HELPERS)
    model = write(cache, "model_a", MODEL.format(helpers="helpers_a"))
    made = Derivations(monkeypatch)
    first = s2sad.grad(model.loss, backend="python")(X)
    assert made.count == 1 and len(records(cache)) == 1
    record = json.loads(records(cache)[0].read_text())  # (JSON: nothing in it runs)
    assert ["global", "SCALE", ["number", "builtins.float", "2.0"]] in [r[1:] for r in record["reads"]]
    again = s2sad.grad(model.loss, backend="python")(X)
    assert made.count == 1  # (nothing lowered)
    np.testing.assert_array_equal(again, first)
    np.testing.assert_allclose(again, expected(X), rtol=1e-14)


def test_a_loaded_record_keeps_the_numbers_updated_in_place(cache, monkeypatch):
    """`z *= 2.0` of a number parameter: a 0-d array there is refused (NumPy would update it in
    place), by a derivative loaded from its record too."""
    model = write(cache, "model_updates", """
        def loss(x, z):
            z *= 2.0
            return x * z
    """)
    made = Derivations(monkeypatch)
    assert s2sad.grad(model.loss, backend="python")(0.5, 1.5) == 3.0
    for _ in range(2):  # (made, then loaded by a new derivative object)
        with pytest.raises(s2sad.S2SADError, match="updates its argument 'z' in place"):
            s2sad.grad(model.loss, backend="python")(0.5, np.array(1.5))
    assert made.count == 1


def test_a_changed_module_number_makes_the_derivative_again(cache, monkeypatch):
    helpers, model, made = derived_once(cache, monkeypatch, "b")
    helpers.SCALE = 3.0
    np.testing.assert_allclose(s2sad.grad(model.loss, backend="python")(X), expected(X, 3.0), rtol=1e-14)
    assert made.count == 2


def test_a_changed_helper_source_makes_the_derivative_again(cache, monkeypatch):
    _, model, made = derived_once(cache, monkeypatch, "c")
    write(cache, "helpers_c", HELPERS.replace("np.sin(x)", "np.cos(x)"))  # (the same names, another body)
    model = write(cache, "model_c", MODEL.format(helpers="helpers_c"))
    np.testing.assert_allclose(s2sad.grad(model.loss, backend="python")(X),
                               -2 * (np.cos(X) * 2.0) * np.sin(X) * 2.0, rtol=1e-14)
    assert made.count == 2


def test_a_module_name_bound_to_another_module_makes_the_derivative_again(cache, monkeypatch):
    write(cache, "helpers_d2", HELPERS.replace("SCALE = 2.0", "SCALE = 5.0"))
    _, model, made = derived_once(cache, monkeypatch, "d")
    model.helpers = sys.modules["helpers_d2"]  # (`import helpers_d2 as helpers`: the function's text is the same)
    np.testing.assert_allclose(s2sad.grad(model.loss, backend="python")(X), expected(X, 5.0), rtol=1e-14)
    assert made.count == 2


def test_changed_defaults_and_closures_make_the_derivative_again(cache, monkeypatch):
    _, model, made = derived_once(cache, monkeypatch, "e")
    model.loss.__defaults__ = (3,)
    np.testing.assert_allclose(s2sad.grad(model.loss, backend="python")(X), expected(X, power=3), rtol=1e-14)
    assert made.count == 2

    def scaled(k):
        return lambda x: np.sum(x * k)
    for k in (2.0, 7.0):
        np.testing.assert_allclose(s2sad.grad(scaled(k), backend="python")(X), np.full(3, k))
    assert made.count == 4


def test_a_record_that_does_not_hold_is_written_again_and_a_broken_one_ignored(cache, monkeypatch):
    helpers, model, made = derived_once(cache, monkeypatch, "f")
    [record] = records(cache)
    helpers.SCALE = 3.0
    s2sad.grad(model.loss, backend="python")(X)
    assert "3.0" in record.read_text()  # (the record now holds for the new value)
    s2sad.grad(model.loss, backend="python")(X)
    assert made.count == 2
    record.write_text("{not json")
    np.testing.assert_allclose(s2sad.grad(model.loss, backend="python")(X), expected(X, 3.0), rtol=1e-14)
    form = json.loads(record.read_text())["forms"]["python"]["file"]
    (cache / "cache" / form).write_text("def loss_vjp(*args):\n    return 0.0\n")  # (not the text its name hashes)
    np.testing.assert_allclose(s2sad.grad(model.loss, backend="python")(X), expected(X, 3.0), rtol=1e-14)
    assert made.count == 4


def test_what_a_record_cannot_describe_is_derived_in_the_process(cache, monkeypatch):
    model = write(cache, "model_g", """
        import numpy as np
        import s2sad

        @s2sad.custom_rule
        def soft(x):
            return np.log1p(np.exp(x))

        @soft.defvjp
        def soft_vjp(x, y, ybar):
            return ybar / (1.0 + np.exp(-x))

        def loss(x):
            return np.sum(soft(x))
        """)
    made = Derivations(monkeypatch)
    for _ in range(2):
        np.testing.assert_allclose(s2sad.grad(model.loss, backend="python")(X), 1 / (1 + np.exp(-X)), rtol=1e-14)
    assert made.count == 2 and records(cache) == []


SCRIPT = """
import sys
import numpy as np
import s2sad
from s2sad import pipeline
sys.path.insert(0, sys.argv[1])
import model_h
if sys.argv[2] == "warm":
    def refuse(*args, **kwargs):
        raise AssertionError("derived again")
    pipeline.prepare = refuse
gradient = s2sad.grad(model_h.loss, backend=sys.argv[3])(np.array([0.3, -1.2, 2.0]))
print(repr(gradient.tolist()))
"""


@pytest.mark.parametrize("backend", ["python", pytest.param("auto", marks=pytest.mark.numba)])
def test_a_new_process_with_a_warm_cache_derives_nothing(cache, backend):
    write(cache, "helpers_h", HELPERS)
    write(cache, "model_h", MODEL.format(helpers="helpers_h"))
    env = {"S2SAD_CACHE_DIR": str(cache / "cache"), "S2SAD_BACKEND": backend}
    outputs = [subprocess.run([sys.executable, "-c", SCRIPT, str(cache / "src"), stage, backend], check=True,
                              capture_output=True, text=True, env={**os.environ, **env}).stdout
               for stage in ("cold", "warm")]
    assert outputs[0] == outputs[1]
    np.testing.assert_allclose(eval(outputs[1]), expected(X), rtol=1e-14)


def test_functions_of_scipy_special_are_recorded(cache, monkeypatch):
    model = write(cache, "model_i", """
        import numpy as np
        import scipy.special

        def loss(x):
            return np.sum(scipy.special.gammaln(x + 2.0))
        """)
    made = Derivations(monkeypatch)
    for _ in range(2):
        np.testing.assert_allclose(s2sad.grad(model.loss, backend="python")(X + 1.0), scipy.special.digamma(X + 3.0),
                                   rtol=1e-12)
    assert made.count == 1 and len(records(cache)) == 1
