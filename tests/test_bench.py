"""The comparison benchmark's harness (bench/run.py), at small sizes and against autograd only,
so that the benchmark cannot silently break: every workload's NumPy form differentiated by s2sad
agrees with finite differences and its autograd form with s2sad; a failing or disagreeing tool is
recorded as such; and the command writes its three kinds of files."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("autograd", reason="the benchmark's tests compare with autograd (pip install -e '.[test]')")

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

from suite import report, tools, workloads  # noqa: E402
from suite.measure import CANNOT, ERROR, NOT_INSTALLED, OK, WRONG, check_tools  # noqa: E402
from suite.tools import Prepared  # noqa: E402
from suite.workload import Form  # noqa: E402

INSTALLED = {"s2sad": "test", "autograd": "test"}
PYTHON_S2SAD = tools.S2sad(backend="python")  # (compiles in a fraction of Numba's time; run.py uses Numba)


@pytest.mark.parametrize("work", workloads.WORKLOADS, ids=lambda w: w.name)
def test_numpy_and_autograd_forms_agree_with_s2sad(work):
    results, passed = check_tools(work, work.args(quick=True), [PYTHON_S2SAD, tools.Autograd()], INSTALLED)
    assert results["s2sad"].status == OK, results["s2sad"]
    assert results["s2sad"].checked_against == "finite differences"
    assert results["autograd"].status == OK, results["autograd"]
    assert results["autograd"].checked_against == "s2sad"
    assert set(passed) == {"s2sad", "autograd"}


class Fake(tools.Tool):
    """A tool whose gradient is s2sad's times `factor`, or that raises."""

    def __init__(self, name: str, factor: float = 1.0, fail: bool = False) -> None:
        self.name, self.factor, self.fail = name, factor, fail

    def prepare(self, work, args):
        if self.fail:
            raise RuntimeError("cannot trace this")
        inner = PYTHON_S2SAD.prepare(work, args)
        return Prepared(inner.gradient, inner.primal,
                        lambda g: tuple(self.factor * x for x in inner.to_numpy(g)))


def test_failures_are_recorded_not_dropped():
    work = workloads.select("linear_regression")[0]
    fakes = [Fake("off", 1 + 1e-6), Fake("close", 1 + 1e-12), Fake("raises", fail=True), Fake("absent")]
    versions = INSTALLED | {"off": "1", "close": "1", "raises": "1", "absent": None}
    results, passed = check_tools(work, work.args(quick=True), [PYTHON_S2SAD, *fakes], versions)
    assert results["off"].status == WRONG and results["off"].error == pytest.approx(1e-6, rel=1e-3)
    assert results["close"].status == OK
    assert results["raises"].status == ERROR and "cannot trace this" in results["raises"].message
    assert results["absent"].status == NOT_INSTALLED
    assert set(passed) == {"s2sad", "close"}


def test_a_form_that_cannot_be_written_is_shown(monkeypatch):
    work = workloads.select("linear_regression")[0]
    monkeypatch.setitem(work.forms, "autograd", Form(missing="no such operation"))
    results, _ = check_tools(work, work.args(quick=True), [PYTHON_S2SAD, tools.Autograd()], INSTALLED)
    assert results["autograd"].status == CANNOT and results["autograd"].message == "no such operation"


def test_summary_is_a_geometric_mean():
    assert report.geometric_mean([2.0, 8.0]) == pytest.approx(4.0)
    assert report.geometric_mean([]) is None


def test_run_writes_json_markdown_and_plots(tmp_path):
    for name in ("tqdm", "matplotlib"):  # (the bench extra's; the test extra stays light)
        pytest.importorskip(name, reason="bench/run.py needs the bench extra: pip install -e '.[bench]'")
    out = tmp_path / "results"
    command = [sys.executable, str(BENCH / "run.py"), "--quick", "--only", "linear_regression",
               "--tools", "s2sad,autograd", "--out", str(out), "--rounds", "1", "--block", "0.02"]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
    data = json.loads((out / "results.json").read_text())
    assert data["machine"]["cpu"] and data["machine"]["libraries"]["numpy"] == np.__version__
    [result] = data["workloads"]
    assert result["tools"]["s2sad"]["status"] == OK and result["tools"]["s2sad"]["gradient"] > 0
    assert result["tools"]["autograd"]["status"] == OK and result["tools"]["s2sad"]["first_call"] > 0
    assert data["summary"]["autograd"]["workloads"] == 1
    table = (out / "results.md").read_text()
    assert "| workload | size | primal (NumPy) | primal (Numba) | s2sad gradient |" in table
    assert "not run" in table  # torch, jax and tf were not asked for: shown, not hidden
    assert sorted(p.name for p in out.glob("*.png")) == ["ratios.png", "times.png"]


def test_kmeans_gradient_is_the_closed_form():
    from suite.evals import kmeans
    work = workloads.select("kmeans")[0]
    assert work.numpy is kmeans.cost  # the GradBench tool's definition, not a copy
    points, centroids = work.args(quick=True)
    [grad] = PYTHON_S2SAD.prepare(work, (points, centroids)).gradient()
    nearest = np.argmin(np.sum((points[:, None, :] - centroids[None]) ** 2, axis=2), axis=1)
    exact = np.stack([2.0 * np.sum(centroids[j] - points[nearest == j], axis=0) for j in range(len(centroids))])
    assert np.all(np.bincount(nearest, minlength=len(centroids)) > 0)  # every centroid has points
    assert np.asarray(grad) == pytest.approx(exact, rel=1e-12, abs=1e-9)


def test_hand_tracking_jacobian_matches_finite_differences_column_by_column():
    from suite.evals import ht
    work = workloads.select("hand_tracking")[0]
    assert work.numpy is ht.residuals_simple
    args = work.args(quick=True)
    theta, rest = args[0], args[1:]
    prepared = PYTHON_S2SAD.prepare(work, args)
    [J] = prepared.to_numpy(prepared.gradient())
    assert J.shape == (3 * args[1].shape[0], 26)
    eps = 1e-6
    for k in range(26):
        step = np.zeros(26)
        step[k] = eps
        column = (ht.residuals_simple(theta + step, *rest) - ht.residuals_simple(theta - step, *rest)) / (2 * eps)
        assert J[:, k] == pytest.approx(column, rel=1e-5, abs=1e-7), f"column {k}"
    assert np.all(J[:, 3:6].reshape(-1, 3, 3) == -np.eye(3))  # the translation moves every vertex alike


def test_the_synthetic_hand_rests_at_its_base_positions():
    from suite.evals import ht
    from suite.workloads import hand_tracking
    parents, relatives, inverse_absolutes, positions, weights = hand_tracking.hand_model(50, np.random.default_rng(1))
    assert parents.shape == (22,) and parents[0] == -1 and np.all(parents[1:] < np.arange(1, 22))
    assert weights.sum(axis=1) == pytest.approx(np.ones(50)) and np.all(positions[:, 3] == 1.0)
    # θ = 0 leaves every bone at rest (the global rotation takes its identity branch), so
    # skinning gives back the base positions
    rest = ht.vertex_positions(np.zeros(26), parents, relatives, inverse_absolutes, positions, weights, False)
    assert rest.T == pytest.approx(positions[:, :3], abs=1e-12)


def test_a_wrong_jacobian_column_fails_the_check():
    from suite.measure import FD_TOLERANCE, finite_difference_error
    work = workloads.select("hand_tracking")[0]
    args = work.args(quick=True)
    prepared = PYTHON_S2SAD.prepare(work, args)
    [J] = prepared.to_numpy(prepared.gradient())
    assert finite_difference_error(work, args, (J,)) < FD_TOLERANCE
    J[:, 7] *= 1.001
    assert finite_difference_error(work, args, (J,)) > FD_TOLERANCE


def test_tracing_tools_get_the_non_float_arguments_fixed():
    def f(x, n, flag, index):
        return x[index].sum() * n if flag else 0.0
    args = (np.arange(4.0), 3, True, np.array([1, 3]))
    fn, passed = tools._fixed(f, args)
    assert passed[0] is args[0] and passed[1:] == [None, None, None]
    assert fn(*passed) == 12.0
