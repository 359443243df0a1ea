"""Derivative objects pickle with the sources they derive from (s2sad/frontend/shipping.py).

Round trips in this process (pickle and cloudpickle), a script run as ``__main__`` whose
derivatives another process unpickles after the script has gone, and the refusals: a function
whose source cannot be read, and a function that differs where it is unpickled (its code, or a
module value set at run time).
"""

import collections
import functools
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import pickle_funcs as F
import s2sad
from s2sad.frontend import parse, shipping

cloudpickle = pytest.importorskip("cloudpickle")

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
X = np.array([0.1, -0.4, 0.7])

KINDS = {  # derivative object, its arguments
    "grad": (lambda: s2sad.grad(F.weighted), (X,)),
    "value_and_grad": (lambda: s2sad.value_and_grad(F.weighted, mode="forward"), (X,)),
    "jvp": (lambda: s2sad.jvp(F.weighted), (X, np.ones(3))),
    "vjp": (lambda: s2sad.vjp(F.weighted), (X, 1.0)),
    "hvp": (lambda: s2sad.hvp(F.weighted), (X, np.ones(3))),
    "hessian": (lambda: s2sad.hessian(F.weighted), (X,)),
    "jacobian": (lambda: s2sad.jacobian(F.helper, mode="reverse"), (X,)),
    "decorated": (lambda: F.decorated, (X,)),
    "grad of grad": (lambda: s2sad.grad(s2sad.grad(F.scalar), wrt=(0, 1)), (0.3, 1.2)),
    "custom rule": (lambda: s2sad.grad(F.with_rule), (X,)),
    "lambda": (lambda: s2sad.grad(F.squares), (X,)),
    "partial": (lambda: s2sad.grad(functools.partial(F.scalar, b=1.5)), (0.3,)),
}


def same(a, b) -> bool:
    """Equal values, element for element, through tuples."""
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return np.array_equal(a, b)


@pytest.mark.parametrize("library", [pickle, cloudpickle], ids=["pickle", "cloudpickle"])
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_derivative_gives_the_same_values_once_unpickled(kind, library):
    make, args = KINDS[kind]
    made = make()
    again = library.loads(library.dumps(made))
    assert type(again) is type(made) and (again.wrt, again.mode, again.as_tuple) == (made.wrt, made.mode, made.as_tuple)
    assert same(again(*args), made(*args))


def test_the_same_bytes_unpickled_again_give_the_derivative_already_made():
    payload = pickle.dumps(s2sad.grad(F.weighted, wrt="x"))
    first = pickle.loads(payload)
    value = first(X)
    second = pickle.loads(payload)
    assert second is first
    np.testing.assert_array_equal(second(X), value)
    assert len(first.made()) == 1  # (derived once)


def test_a_function_pickled_by_value_is_derived_from_the_source_it_carries(monkeypatch):
    """cloudpickle pickles a module registered by value as it pickles ``__main__``: the function
    arrives detached from its file, and the worker must not read one."""
    made = s2sad.grad(F.weighted)
    cloudpickle.register_pickle_by_value(F)
    try:
        payload = cloudpickle.dumps(made)
    finally:
        cloudpickle.unregister_pickle_by_value(F)

    def no_files(fn):
        raise AssertionError(f"read the file of {fn.__qualname__}")
    monkeypatch.setattr(parse, "file_text", no_files)
    again = pickle.loads(payload)
    assert again.fn is not F.weighted and again.fn.__globals__ is not F.__dict__
    assert again.fn.__code__.co_filename == F.weighted.__code__.co_filename  # (errors name the file)
    monkeypatch.setattr(shipping, "_UNPACKED", collections.OrderedDict())  # (as in another process)
    relayed = pickle.loads(cloudpickle.dumps(again))  # (a scheduler passing the task on, without the file too)
    assert relayed is not again
    np.testing.assert_array_equal(again(X), made(X))
    np.testing.assert_array_equal(relayed(X), made(X))


SCRIPT = '''
import os, sys
import cloudpickle
import numpy as np
import s2sad

RATE = 0.25
TARGET = np.array([0.5, -1.0, 2.0])


def pull(x):
    return RATE * (x - TARGET) ** 2


def energy(x, n):
    total = 0.0
    for i in range(n):
        total = total + np.sum(pull(x)) * (i + 1)
    return total


if __name__ == "__main__":
    objects = (s2sad.grad(energy), s2sad.hessian(energy, backend="python"))
    x = np.array([0.1, 0.2, 0.3])
    expected = [d(x, 3) for d in objects]
    with open(sys.argv[1], "wb") as out:
        cloudpickle.dump((objects, expected), out)
    os.remove(__file__)  # (the process that unpickles cannot read this file)
'''

LOAD = '''
import pickle, sys
import numpy as np
objects, expected = pickle.load(open(sys.argv[1], "rb"))
x = np.array([0.1, 0.2, 0.3])
for d, e in zip(objects, expected):
    got = d(x, 3)
    assert np.array_equal(got, e), (got, e)
    print(d.kind, got.ravel().tolist())
'''


def test_a_script_run_as_main_sends_derivatives_that_another_process_derives_without_it(tmp_path):
    script, payload, elsewhere = tmp_path / "script.py", tmp_path / "derivatives.pkl", tmp_path / "elsewhere"
    script.write_text(SCRIPT)
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    for args, cwd in (([str(script), str(payload)], tmp_path), (["-c", LOAD, str(payload)], elsewhere)):
        out = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
    assert not script.exists()
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    x, target = np.array([0.1, 0.2, 0.3]), np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(eval(lines["grad"]), 6 * 2 * 0.25 * (x - target), rtol=1e-12)  # Σ(i+1) = 6
    np.testing.assert_allclose(eval(lines["hessian"]), np.diag([3.0] * 3).ravel(), rtol=1e-12)


def test_a_function_whose_source_cannot_be_read_cannot_be_pickled():
    names = {"np": np}
    exec(compile("def made(x):\n    return np.sum(x ** 2)\n", "<made>", "exec"), names)
    with pytest.raises(s2sad.S2SADError, match="cannot pickle the derivative of made: cannot read the source") as exc:
        pickle.dumps(s2sad.grad(names["made"]))
    assert (exc.value.filename, exc.value.lineno) == ("<made>", 1)


@pytest.mark.parametrize("name, value", [("SCALE", 0.75), ("WEIGHTS", np.array([1.0, -2.0, 0.5]))])
def test_a_module_value_set_at_run_time_is_refused_where_the_module_is_imported_anew(monkeypatch, name, value):
    """A function pickled by reference is imported anew where it is unpickled, with its module's
    values as the import makes them: one the caller changed would silently differ."""
    monkeypatch.setattr(F, name, value)
    payload = pickle.dumps(s2sad.grad(F.weighted))
    monkeypatch.undo()  # (here, as in a process importing the module anew)
    with pytest.raises(s2sad.S2SADError, match=f"reads pickle_funcs.{name}, which is .* here but was .* where "
                                               f"the derivative was pickled") as exc:
        pickle.loads(payload)
    assert exc.value.filename == F.__file__


def test_a_function_whose_code_differs_where_it_is_unpickled_is_refused(monkeypatch):
    def helper(x):
        return np.cos(x)
    payload = pickle.dumps(s2sad.grad(F.weighted))
    monkeypatch.setattr(F.helper, "__code__", helper.__code__)
    with pytest.raises(s2sad.S2SADError, match="helper here is not the function the derivative was pickled with"):
        pickle.loads(payload)


def test_a_function_pickled_by_value_in_an_argument_is_refused_at_the_call():
    """Only the functions a derivative's function reads travel with their source: one passed in
    an argument (pickled on its own, by value) has none, which the error says at the call."""
    cloudpickle.register_pickle_by_value(F)
    try:
        act = pickle.loads(cloudpickle.dumps(F.helper))
    finally:
        cloudpickle.unregister_pickle_by_value(F)
    np.testing.assert_array_equal(act(X), F.helper(X))
    with pytest.raises(s2sad.S2SADError, match="cannot read the source of helper: it was pickled by value without "
                                               "it") as exc:
        s2sad.grad(F.apply)(X, {"act": act})
    assert (exc.value.filename, exc.value.source_line) == (F.__file__, 'return np.sum(params["act"](x))')
