"""The GradBench tool (bench/gradbench/tool.py): GradBench's protocol messages replayed through it,
its answers checked against closed forms and finite differences, at small sizes and with the
Python backend (no Numba compilation), without GradBench installed.

One test runs the tool as GradBench does, in a subprocess speaking JSON lines; the others call
its message handler in this process."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TOOL_DIR = Path(__file__).resolve().parent.parent / "bench" / "gradbench"
sys.path.insert(0, str(TOOL_DIR))

import tool  # noqa: E402
from evals import ba, common, gmm, llsq, lstm  # noqa: E402
from evals import ht as hand  # noqa: E402

ONCE = {"min_runs": 1, "min_seconds": 0}


@pytest.fixture(autouse=True)
def python_backend():
    common.set_backend("python")
    yield


def evaluate(module: str, function: str, input, runs: dict = ONCE):
    """The tool's output for one evaluate message (after its define), checking the response."""
    assert tool.respond({"id": 0, "kind": "define", "module": module}) == {"id": 0, "success": True}
    payload = input | runs if isinstance(input, dict) else input
    response = tool.respond({"id": 1, "kind": "evaluate", "module": module, "function": function,
                             "input": payload})
    assert response["success"], response.get("error")
    names = [t["name"] for t in response["timings"]]
    assert names[0] == "prepare" and names[1:] == ["evaluate"] * (len(names) - 1)
    if isinstance(input, dict) and runs["min_runs"] > 0:
        assert len(names) - 1 >= runs["min_runs"]
    return json.loads(json.dumps(response["output"]))  # as the eval reads it


def central(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of f (array-valued or not) along each element of x: of shape
    f's shape + x's shape."""
    cols = []
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += eps
        down[idx] -= eps
        cols.append((np.asarray(f(up)) - np.asarray(f(down))) / (2 * eps))
    return np.stack(cols, axis=-1).reshape(cols[0].shape + x.shape)


def test_protocol_in_a_subprocess():
    messages = [
        {"id": 0, "kind": "start", "eval": "hello"},
        {"id": 1, "kind": "define", "module": "hello"},
        {"id": 2, "kind": "evaluate", "module": "hello", "function": "square", "input": 3.0},
        {"id": 3, "kind": "analysis", "of": 2, "valid": True},
        {"id": 4, "kind": "evaluate", "module": "hello", "function": "double", "input": 9.0},
        {"id": 5, "kind": "define", "module": "nonesuch"},
    ]
    proc = subprocess.run([sys.executable, str(TOOL_DIR / "tool.py"), "--backend", "python"],
                          input="".join(json.dumps(m) + "\n" for m in messages),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    responses = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in responses] == list(range(6))
    assert responses[0]["tool"] == "s2sad"
    assert responses[1]["success"] and responses[3] == {"id": 3}
    assert responses[2]["output"] == 9.0 and responses[4]["output"] == 18.0
    assert responses[4]["timings"][-1]["name"] == "evaluate"
    assert not responses[5]["success"] and "nonesuch" in responses[5]["error"]


def test_an_error_is_a_failed_response():
    response = tool.respond({"id": 7, "kind": "evaluate", "module": "lse", "function": "gradient",
                             "input": {"y": [1.0]} | ONCE})
    assert response["id"] == 7 and not response["success"] and "KeyError" in response["error"]


def test_lse():
    x = np.array([0.3, -1.2, 2.5, 0.0])
    assert evaluate("lse", "primal", {"x": x.tolist()}) == pytest.approx(np.log(np.sum(np.exp(x))))
    softmax = np.exp(x) / np.sum(np.exp(x))
    assert evaluate("lse", "gradient", {"x": x.tolist()}, {"min_runs": 3, "min_seconds": 0}) == pytest.approx(softmax)


def test_llsq():
    x = np.array([0.5, -0.25, 0.125])
    n = 7
    t = np.linspace(-1, 1, n)
    expected = 0.5 * np.sum((np.sign(t) - (x[0] + x[1] * t + x[2] * t * t)) ** 2)
    assert evaluate("llsq", "primal", {"x": x.tolist(), "n": n}) == pytest.approx(expected)
    fd = central(lambda v: llsq.llsq(v, n), x)
    assert evaluate("llsq", "gradient", {"x": x.tolist(), "n": n}) == pytest.approx(fd, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("ell", [1, 2, 4])
def test_det(ell):
    A = np.random.default_rng(ell).random((ell, ell)) + np.eye(ell)
    input = {"A": A.ravel().tolist(), "ell": ell}
    assert evaluate("det", "primal", input) == pytest.approx(np.linalg.det(A))
    adjugate_t = np.linalg.det(A) * np.linalg.inv(A).T  # d det / dA
    assert evaluate("det", "gradient", input) == pytest.approx(adjugate_t.ravel())


def test_ode():
    # RK4 integrates y_i (polynomials of degree i + 1 in t) exactly up to degree 4:
    # y_i(2) = x_0 ⋯ x_i 2^(i+1) / (i + 1)!, and the last one's gradient is y_last / x_j.
    x = np.array([0.7, 1.3, 0.9])
    exact = np.array([np.prod(x[:i + 1]) * 2.0 ** (i + 1) / math.factorial(i + 1) for i in range(3)])
    assert evaluate("ode", "primal", {"x": x.tolist(), "s": 2}) == pytest.approx(exact)
    assert evaluate("ode", "gradient", {"x": x.tolist(), "s": 2}) == pytest.approx(exact[-1] / x)


def test_kmeans():
    rng = np.random.default_rng(3)
    points = rng.random((12, 2))
    centroids = points[-3:]
    input = {"points": points.tolist(), "centroids": centroids.tolist()}
    d2 = np.sum((points[:, None, :] - centroids[None, :, :]) ** 2, axis=2)
    assert evaluate("kmeans", "cost", input) == pytest.approx(np.sum(np.min(d2, axis=1)))
    nearest = np.argmin(d2, axis=1)
    newton = [centroids[j] - points[nearest == j].mean(axis=0) for j in range(3)]  # J / diag(H)
    assert np.array(evaluate("kmeans", "dir", input)) == pytest.approx(np.array(newton))


def test_gmm():
    rng = np.random.default_rng(4)
    d, k, n = 3, 2, 5
    input = {"d": d, "k": k, "n": n, "m": 1, "gamma": 1.5, "x": rng.normal(size=(n, d)).tolist(),
             "alpha": rng.normal(size=k).tolist(), "mu": rng.uniform(size=(k, d)).tolist(),
             "q": rng.normal(size=(k, d)).tolist(), "l": rng.normal(size=(k, d * (d - 1) // 2)).tolist()}
    # the objective against the definition: Σ_i log Σ_k φ_k N(x_i; μ_k, (QᵀQ)⁻¹) + Σ_k log Wishart(QᵀQ)
    args = gmm._args(input)
    alpha, mu, q, l, x = args[:5]
    phi = np.exp(alpha) / np.sum(np.exp(alpha))
    total = 0.0
    precisions = []
    for j in range(k):
        Q = np.diag(np.exp(q[j]))
        rows, cols = np.tril_indices(d, -1)
        order = np.lexsort((rows, cols))  # the lower part column by column
        Q[rows[order], cols[order]] = l[j]
        precisions.append(Q.T @ Q)
    for i in range(n):
        total += np.log(sum(phi[j] * np.sqrt(np.linalg.det(P / (2 * np.pi)))
                            * np.exp(-0.5 * (x[i] - mu[j]) @ P @ (x[i] - mu[j])) for j, P in enumerate(precisions)))
    dof = d + 1 + 1
    for P in precisions:  # Wishart(P; V = I / γ², dof)
        gamma = 1.5
        log_norm = (0.5 * dof * d * math.log(2) + 0.5 * dof * math.log(np.linalg.det(np.eye(d) / gamma ** 2))
                    + 0.25 * d * (d - 1) * math.log(math.pi)
                    + sum(math.lgamma(0.5 * dof + 0.5 * (1 - j)) for j in range(1, d + 1)))
        total += 0.5 * (dof - d - 1) * math.log(np.linalg.det(P)) - 0.5 * gamma ** 2 * np.trace(P) - log_norm
    assert evaluate("gmm", "objective", input) == pytest.approx(total, rel=1e-10)
    out = evaluate("gmm", "jacobian", input)
    for i, name in enumerate(("alpha", "mu", "q", "l")):
        fd = central(lambda v: gmm.log_posterior(*args[:i], v, *args[i + 1:]), args[i])
        assert np.array(out[name]) == pytest.approx(fd, rel=1e-6, abs=1e-7), name


def test_lstm():
    rng = np.random.default_rng(5)
    layers, b, c = 2, 3, 4
    input = {"main_params": rng.random((2 * layers, 4 * b)).tolist(), "extra_params": rng.random((3, b)).tolist(),
             "state": rng.random((2 * layers, b)).tolist(),
             "sequence": rng.integers(0, 2, (c, b)).astype(float).tolist()}
    main, extra, state, seq = lstm._args(input)
    assert evaluate("lstm", "objective", input) == pytest.approx(lstm.loss(main, extra, state, seq))
    out = np.array(evaluate("lstm", "jacobian", input))
    fd_main = central(lambda v: lstm.loss(v, extra, state, seq), main)
    fd_extra = central(lambda v: lstm.loss(main, v, state, seq), extra)
    assert out == pytest.approx(np.concatenate((fd_main.ravel(), fd_extra.ravel())), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("rotation", [[0.1, -0.2, 0.15], [0.0, 0.0, 0.0]], ids=["rotated", "zero-rotation"])
def test_ba(rotation):
    cam = rotation + [0.2, -0.1, -3.0, 1.2, 0.1, -0.05, 0.01, -0.002]
    input = {"n": 2, "m": 3, "p": 5, "cam": cam, "x": [0.3, -0.2, 1.5], "w": 0.8, "feat": [0.05, -0.02]}
    objective = evaluate("ba", "objective", input)
    cams, X, w, obs, feats = ba._args(input)
    r = ba.reprojection(cams[obs[:, 0]], X[obs[:, 1]], w, feats)
    assert objective["reproj_error"]["repeated"] == 5 and objective["w_err"]["repeated"] == 5
    assert objective["reproj_error"]["elements"] == pytest.approx(r[0].tolist())
    assert objective["w_err"]["element"] == pytest.approx(1 - 0.8 ** 2)
    out = evaluate("ba", "jacobian", input)
    # observation 0's block: its camera's 11 parameters, its point's 3, its weight
    block = np.concatenate([central(lambda v: ba.reprojection(v[None], X[:1], w[:1], feats[:1])[0], cams[0]),
                            central(lambda v: ba.reprojection(cams[:1], v[None], w[:1], feats[:1])[0], X[0]),
                            central(lambda v: ba.reprojection(cams[:1], X[:1], v, feats[:1])[0], w[:1])], axis=1)
    assert np.array(out["vals"][:30]).reshape(2, 15) == pytest.approx(block, rel=1e-6, abs=1e-8)
    n, m, p = 2, 3, 5
    assert out["cols"][:15] == list(range(11)) + [11 * n, 11 * n + 1, 11 * n + 2, 11 * n + 3 * m]
    assert out["rows"][:3] == [0, 15, 30] and out["rows"][-1] == 2 * p * 15 + p
    assert out["cols"][-1] == 11 * n + 3 * m + p - 1 and out["vals"][-1] == pytest.approx(-2 * 0.8)


def synthetic_hand(rng, complicated: bool) -> dict:
    """A made-up hand in GradBench's input format: 22 bones in a chain of fingers, 8 vertices,
    5 observed points."""
    bones, verts, points = 22, 8, 5
    parents = [-1] + [0 if i % 4 == 1 else i - 1 for i in range(1, bones)]

    def transforms():
        t = np.tile(np.eye(4), (bones, 1, 1))
        t[:, :3, :] += 0.2 * rng.normal(size=(bones, 3, 4))
        return t.tolist()

    weights = rng.random((verts, bones))
    model = {"bone_count": bones, "bone_names": [f"b{i}" for i in range(bones)], "parents": parents,
             "base_relatives": transforms(), "inverse_base_absolutes": transforms(),
             "base_positions": np.hstack((rng.normal(size=(verts, 3)), np.ones((verts, 1)))).tolist(),
             "weights": (weights / weights.sum(axis=1, keepdims=True)).tolist(),
             "triangles": rng.integers(0, verts, (6, 3)).tolist(), "is_mirrored": bool(complicated)}
    input = {"theta": (0.3 * rng.normal(size=26)).tolist(),
             "data": {"model": model, "correspondences": rng.integers(0, 6 if complicated else verts, points).tolist(),
                      "points": rng.normal(size=(points, 3)).tolist()},
             "us": rng.random((points, 2)).tolist() if complicated else []}
    return input


@pytest.mark.parametrize("complicated", [False, True], ids=["simple", "complicated"])
def test_ht(complicated):
    input = synthetic_hand(np.random.default_rng(6), complicated)
    residuals = np.array(evaluate("ht", "objective", input))
    is_complicated, args = hand._args(input)
    f = hand.residuals_complicated if complicated else hand.residuals_simple
    assert is_complicated == complicated and residuals == pytest.approx(f(*args))
    J = np.array(evaluate("ht", "jacobian", input))
    assert J.shape == (15, 28 if complicated else 26)
    fd_theta = central(lambda v: f(v, *args[1:]), args[0])
    assert J[:, -26:] == pytest.approx(fd_theta, rel=1e-5, abs=1e-7)
    if complicated:  # residual row 3i + j against its own point's u
        fd_us = central(lambda v: f(args[0], v, *args[2:]), args[1]).reshape(15, 5, 2)
        own = fd_us[np.arange(15), np.arange(15) // 3]
        assert J[:, :2] == pytest.approx(own, rel=1e-5, abs=1e-7)


NO_REPEAT = {"min_runs": 0, "min_seconds": 0}  # the first call only: a descent runs many derivatives


@pytest.mark.parametrize("function", ["rr", "ff", "rf"])
def test_saddle(function):
    # GradBench's expected answer for the start (1, 1): the four coordinates at 8.246e-06
    out = evaluate("saddle", function, {"start": [1.0, 1.0]}, NO_REPEAT)
    assert out == pytest.approx([8.246324826140356e-06] * 4, rel=1e-6)


@pytest.mark.parametrize("function", ["rr", "fr"])
def test_particle(function):
    assert evaluate("particle", function, {"w": 0.0}, NO_REPEAT) == pytest.approx(0.2071918746486116, rel=1e-9)
