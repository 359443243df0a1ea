"""Derivatives on Dask workers (processes): examples/ensemble_dask.py, and a script run as
``__main__`` whose functions the workers receive by value. One LocalCluster serves the module;
both scripts connect to it with ``--address``. Skipped when Dask is not installed."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

distributed = pytest.importorskip("dask.distributed")

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


@pytest.fixture(scope="module")
def scheduler():
    """The address of a LocalCluster of two single-threaded worker processes, which inherit
    this process's environment (the session's cache directory, its backend)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def run(args: list[str], cwd) -> str:
    """Run Python with this checkout's s2sad first on the path; its standard output."""
    path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    out = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONPATH=path))
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_ensemble_example_gives_the_serial_gradients_on_the_workers(scheduler, tmp_path):
    stdout = run([os.path.join(ROOT, "examples", "ensemble_dask.py"), "--quick", "--chunk", "10",
                  "--address", scheduler], tmp_path)
    assert "dask: 2 worker processes, 4 tasks of up to 10 members" in stdout, stdout
    assert "max |dask - serial| = 0.0" in stdout, stdout
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    try:
        import ensemble_dask as example
    finally:
        sys.path.pop(0)
    printed = [float(v) for v in re.search(r"gradient of member 0: \[(.*)\]", stdout)[1].split()]
    params, steps = example.ensemble(40)[0], 2000
    h = 1e-6 * params
    central = [(example.misfit(params + h[i] * e, steps) - example.misfit(params - h[i] * e, steps)) / (2 * h[i])
               for i, e in enumerate(np.eye(3))]
    np.testing.assert_allclose(printed, central, rtol=1e-5)


SCRIPT = '''
"""Gradients of functions of this script, run as __main__, on the workers of a cluster."""
import os
import sys

import numpy as np
from dask.distributed import Client

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


denergy = s2sad.grad(energy)


def task(x):
    """The gradient, the worker's process, the derivative object it ran and the module it wrote."""
    return denergy(x, 3), os.getpid(), id(denergy), os.path.basename(denergy.made()[0].path)


if __name__ == "__main__":
    xs = [np.array([0.1, 0.2, 0.3]) * k for k in range(8)]
    serial = [denergy(x, 3) for x in xs]
    os.remove(__file__)  # (nothing can read this file now: the workers derive from what they receive)
    with Client(sys.argv[1]) as client:
        results = client.gather(client.map(task, xs))
    print("max difference", max(np.max(np.abs(r[0] - s)) for r, s in zip(results, serial)))
    made = {}
    for _, pid, ident, _ in results:
        made.setdefault(pid, set()).add(ident)
    print("derivatives per worker", sorted(len(v) for v in made.values()))
    print("generated modules", sorted({r[3] for r in results} | {os.path.basename(denergy.made()[0].path)}))
    print("gradient", results[1][0].tolist())
'''


def test_a_script_run_as_main_is_differentiated_on_the_workers(scheduler, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    stdout = run([str(script), scheduler], tmp_path)
    assert not script.exists()
    assert "max difference 0.0" in stdout, stdout
    assert all(n == 1 for n in eval(re.search(r"derivatives per worker (.*)", stdout)[1])), stdout  # made once each
    assert len(eval(re.search(r"generated modules (.*)", stdout)[1])) == 1, stdout  # the caller's, in the shared cache
    gradient = eval(re.search(r"gradient (.*)", stdout)[1])
    np.testing.assert_allclose(gradient, 3 * (np.array([0.1, 0.2, 0.3]) - [0.5, -1.0, 2.0]), rtol=1e-12)
