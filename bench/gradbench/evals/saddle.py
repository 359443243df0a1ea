"""GradBench's ``saddle`` eval (Pearlmutter and Siskind): the saddle point of

    f(x₁, y₁, x₂, y₂) = (x₁² + y₁²) − (x₂² + y₂²)

by nested gradient descent: r₁ = argmin over (x₁, y₁) of max over (x₂, y₂) of f, then r₂ = argmax
over (x₂, y₂) of f(r₁, ·), every descent starting at the given point and following GradBench's
solver (solver.py). The inner maximisation is a function that s2sad differentiates for the outer
descent: its loop calls the inner gradient, which s2sad inlines, so the outer gradient is a
derivative of code that computes derivatives.

The descents' objectives come from the same compiled s2sad derivative as their gradients
(`solver.objective_and_gradient`). The four functions choose the mode of each derivative: ``ff``, ``fr``, ``rf``, ``rr`` (outer,
then inner; f forward, r reverse). s2sad takes a forward-mode gradient inside a differentiated
function with respect to numbers only, so the points are pairs of numbers here.
"""

from __future__ import annotations

import numpy as np
import s2sad

from . import solver
from .common import Job, derivative


def f(x1: float, y1: float, x2: float, y2: float) -> float:
    """The function whose saddle point is sought."""
    return (x1 * x1 + y1 * y1) - (x2 * x2 + y2 * y2)


def minus_f(x1: float, y1: float, x2: float, y2: float) -> float:
    """−f: the inner maximisation minimises it."""
    return -f(x1, y1, x2, y2)


def descent_step(x1: float, y1: float, p0: float, p1: float, fp: float, g0: float, g1: float, i: int,
                 eta: float) -> tuple:
    """One iteration of GradBench's descent on −f(x1, y1, ·) from (p0, p1), whose value is fp
    and gradient (g0, g1): the new point, value, counters, whether to go on and whether the
    gradient must be computed again (the point moved)."""
    go = True
    moved = False
    if np.sqrt(g0 * g0 + g1 * g1) <= 1e-5:
        go = False
    elif i == 10:
        eta = eta * 2.0
        i = 0
    else:
        n0 = p0 - eta * g0
        n1 = p1 - eta * g1
        if np.sqrt((p0 - n0) ** 2 + (p1 - n1) ** 2) <= 1e-5:
            go = False
        else:
            f_new = minus_f(x1, y1, n0, n1)
            if f_new < fp:
                p0 = n0
                p1 = n1
                fp = f_new
                moved = True
                i = i + 1
            else:
                eta = eta / 2.0
                i = 0
    return p0, p1, fp, i, eta, go, moved


def inner_max_r(x1: float, y1: float, s0: float, s1: float) -> float:
    """max over (x2, y2) of f(x1, y1, x2, y2) by descent from (s0, s1), the inner gradient in
    reverse mode."""
    p0, p1 = s0, s1
    fp = minus_f(x1, y1, p0, p1)
    g0, g1 = d_minus_f_r(x1, y1, p0, p1)
    i = 0
    eta = 1e-5
    go = True
    while go:
        p0, p1, fp, i, eta, go, moved = descent_step(x1, y1, p0, p1, fp, g0, g1, i, eta)
        if moved:
            g0, g1 = d_minus_f_r(x1, y1, p0, p1)
    return f(x1, y1, p0, p1)


def inner_max_f(x1: float, y1: float, s0: float, s1: float) -> float:
    """`inner_max_r` with the inner gradient in forward mode."""
    p0, p1 = s0, s1
    fp = minus_f(x1, y1, p0, p1)
    g0, g1 = d_minus_f_f(x1, y1, p0, p1)
    i = 0
    eta = 1e-5
    go = True
    while go:
        p0, p1, fp, i, eta, go, moved = descent_step(x1, y1, p0, p1, fp, g0, g1, i, eta)
        if moved:
            g0, g1 = d_minus_f_f(x1, y1, p0, p1)
    return f(x1, y1, p0, p1)


# The inner gradients, made at module level (a derivative called inside a differentiated function
# must be), on the Python backend: the outer derivative inlines their code, and under the
# `numba` backend compiles it with the rest.
d_minus_f_r = s2sad.grad(minus_f, wrt=("x2", "y2"), mode="reverse", backend="python")
d_minus_f_f = s2sad.grad(minus_f, wrt=("x2", "y2"), mode="forward", backend="python")
INNER = {"r": inner_max_r, "f": inner_max_f}
MODES = {"r": "reverse", "f": "forward"}


def saddle(outer: str, inner: str, start: np.ndarray) -> np.ndarray:
    """(r₁, r₂) concatenated, with the outer derivative in mode `outer` and the inner one in mode
    `inner` ('f' or 'r')."""
    vg_outer = derivative(s2sad.value_and_grad, INNER[inner], wrt=("x1", "y1"), mode=MODES[outer])
    vg_f = derivative(s2sad.value_and_grad, f, wrt=("x2", "y2"), mode=MODES[outer])
    s0, s1 = float(start[0]), float(start[1])
    r1 = solver.argmin(*solver.objective_and_gradient(lambda p: vg_outer(p[0], p[1], s0, s1)), start)
    r2 = solver.argmax(*solver.objective_and_gradient(lambda p: vg_f(r1[0], r1[1], p[0], p[1])), start)
    return np.concatenate((r1, r2))


def _job(outer: str, inner: str):
    def prepare(input: dict) -> Job:
        start = np.array(input["start"], dtype=np.float64)
        return Job(lambda: saddle(outer, inner, start), lambda r: r.tolist())
    return prepare


FUNCTIONS = {o + i: _job(o, i) for o in "fr" for i in "fr"}
