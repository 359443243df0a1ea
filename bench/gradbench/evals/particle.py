"""GradBench's ``particle`` eval (Pearlmutter and Siskind): a charged particle starts at (0, 8)
with velocity (0.75, 0) in the field of two charges, at (10, 10 − w) and (10, 0), and moves by
Euler steps of 0.1 until it crosses the x axis; the objective is the square of where it crosses
(interpolated linearly), minimised over w by GradBench's gradient descent (solver.py) from the
given w.

Each Euler step needs the force, −∇ₓ of the potential p(x) = Σ 1/|x − charge|, which s2sad
computes inside the trajectory; the descent needs the derivative of the whole trajectory with
respect to w, which differentiates through those inner gradients and the ``while`` loop. The four
functions choose the modes: ``ff``, ``fr``, ``rf``, ``rr`` (outer, then inner; f forward, r
reverse). The objective the descent evaluates comes from the same compiled derivative as its
gradient (`solver.objective_and_gradient`).
"""

from __future__ import annotations

import numpy as np
import s2sad

from . import solver
from .common import Job, derivative


def potential(x0: float, x1: float, w: float) -> float:
    """p at the point (x0, x1) for the control w: the sum of the inverse distances to the
    charges."""
    return 1.0 / np.sqrt((x0 - 10.0) ** 2 + (x1 - (10.0 - w)) ** 2) + 1.0 / np.sqrt((x0 - 10.0) ** 2 + x1 ** 2)


def crossing(x0: float, x1: float, v0: float, v1: float) -> float:
    """The square of the x coordinate where the particle, at (x0, x1) with velocity (v0, v1),
    crosses the x axis on a straight line."""
    t = -x1 / v1
    x = x0 + t * v0
    return x * x


def trajectory_r(w: float) -> float:
    """The objective, the force from a reverse-mode gradient of the potential."""
    x0, x1, v0, v1 = 0.0, 8.0, 0.75, 0.0
    dt = 0.1
    go = True
    while go:
        a0, a1 = d_potential_r(x0, x1, w)
        x0 = x0 + dt * v0
        x1 = x1 + dt * v1
        if x1 <= 0.0:
            go = False
        else:
            v0 = v0 - dt * a0
            v1 = v1 - dt * a1
    return crossing(x0, x1, v0, v1)


def trajectory_f(w: float) -> float:
    """`trajectory_r` with the force from a forward-mode gradient."""
    x0, x1, v0, v1 = 0.0, 8.0, 0.75, 0.0
    dt = 0.1
    go = True
    while go:
        a0, a1 = d_potential_f(x0, x1, w)
        x0 = x0 + dt * v0
        x1 = x1 + dt * v1
        if x1 <= 0.0:
            go = False
        else:
            v0 = v0 - dt * a0
            v1 = v1 - dt * a1
    return crossing(x0, x1, v0, v1)


# The inner gradients, at module level (as s2sad requires of a derivative called inside a
# differentiated function); the outer derivative inlines their code.
d_potential_r = s2sad.grad(potential, wrt=("x0", "x1"), mode="reverse", backend="python")
d_potential_f = s2sad.grad(potential, wrt=("x0", "x1"), mode="forward", backend="python")
INNER = {"r": trajectory_r, "f": trajectory_f}
MODES = {"r": "reverse", "f": "forward"}


def particle(outer: str, inner: str, w0: float) -> float:
    """The w where the descent stops, with the outer derivative in mode `outer` and the inner one
    in mode `inner` ('f' or 'r')."""
    vg = derivative(s2sad.value_and_grad, INNER[inner], wrt="w", mode=MODES[outer])
    objective, gradient = solver.objective_and_gradient(lambda p: (lambda v, g: (v, np.array([g])))(*vg(p[0])))
    return float(solver.argmin(objective, gradient, np.array([w0]))[0])


def _job(outer: str, inner: str):
    def prepare(input: dict) -> Job:
        w0 = float(input["w"])
        return Job(lambda: particle(outer, inner, w0), float)
    return prepare


FUNCTIONS = {o + i: _job(o, i) for o in "fr" for i in "fr"}
