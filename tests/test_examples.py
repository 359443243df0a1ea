"""The examples run and print what they promise."""

import os
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
EXAMPLES = os.path.join(ROOT, "examples")


def run(name: str, *args: str) -> str:
    """Run an example with this checkout's s2sad first on the path."""
    path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    out = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *args], capture_output=True, text=True,
                         timeout=300, env=dict(os.environ, PYTHONPATH=path))
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_quickstart_gradients_match_their_references():
    stdout = run("quickstart.py")
    assert "def f_vjp(" in stdout
    differences = [float(d) for d in re.findall(r"largest (?:relative|absolute) difference: (\S+)", stdout)]
    assert len(differences) == 2 and max(differences) < 1e-8, stdout


def test_custom_rule_example_learns_the_weights():
    assert "quantised weights [ 0.5  -1.25  2.  ]" in run("custom_rule.py")


def test_neural_ode_learns_in_constant_memory(tmp_path):
    stdout = run("neural_ode.py", "--epochs", "4", "--plot", str(tmp_path / "loss.png"))
    losses = [float(x) for x in re.findall(r"epoch +\d+ +loss (\S+)", stdout)]
    assert len(losses) == 4 and losses[-1] < losses[0], stdout
    assert float(re.search(r"from StoreAll's gradient, relative: (\S+)", stdout)[1]) < 1e-10, stdout
    kept, store_all = map(int, re.search(r"(\d+) with Binomial\(8\), (\d+) with StoreAll", stdout).groups())
    assert 0 < 100 * kept < store_all, stdout


def test_newton_cg_converges_in_a_few_steps():
    stdout = run("newton_cg.py")
    norms = [float(n) for n in re.findall(r"\|gradient\| (\S+)", stdout)]
    assert norms[-1] < 1e-10 and len(norms) <= 8, stdout
    assert all(b < a for a, b in zip(norms, norms[1:])), stdout
    assert float(re.search(r"\|H v - hvp\(v\)\| = (\S+)", stdout).group(1)) < 1e-12


def test_pinn_residual_matches_finite_differences_and_fits():
    stdout = run("pinn.py")
    assert float(re.search(r"finite differences: largest difference (\S+)", stdout).group(1)) < 1e-5, stdout
    assert float(re.search(r"fitted: residual max \|u_xx - f\| = (\S+)", stdout).group(1)) < 1e-5, stdout
    assert float(re.search(r"max \|u - sin\(pi x\)\| on a finer grid = (\S+)", stdout).group(1)) < 1e-4, stdout
