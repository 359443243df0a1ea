"""GradBench's ``ode`` eval (cmpad's ``an_ode``): s steps of the classical Runge-Kutta method from
y(0) = 0 to y(2) for the chain

    y_0' = x_0,   y_i' = x_i y_{i−1}   (i > 0),

``primal`` returns y(2) and ``gradient`` the gradient of its last component with respect to x,
by s2sad's reverse mode through the s steps."""

from __future__ import annotations

import numpy as np
import s2sad

from .common import Job, derivative, primal


def rhs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The right-hand side: x_0, then x_i y_{i−1}."""
    z = np.empty(x.shape[0])
    z[0] = x[0]
    z[1:] = x[1:] * y[:-1]
    return z


def solve(x: np.ndarray, s: int) -> np.ndarray:
    """y(2) after s Runge-Kutta steps of size 2/s from y = 0."""
    h = 2.0 / s
    y = np.zeros(x.shape[0])
    for step in range(s):
        k1 = rhs(x, y)
        k2 = rhs(x, y + h * k1 / 2.0)
        k3 = rhs(x, y + h * k2 / 2.0)
        k4 = rhs(x, y + h * k3)
        y = y + h * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0
    return y


def last(x: np.ndarray, s: int) -> float:
    """The last component of y(2), the function GradBench differentiates."""
    y = solve(x, s)
    return y[x.shape[0] - 1]


def _args(input: dict) -> tuple[np.ndarray, int]:
    return np.array(input["x"], dtype=np.float64), int(input["s"])


def _primal(input: dict) -> Job:
    (x, s), f = _args(input), primal(solve)
    return Job(lambda: f(x, s), lambda r: r.tolist())


def _gradient(input: dict) -> Job:
    (x, s), g = _args(input), derivative(s2sad.grad, last)
    return Job(lambda: g(x, s), lambda r: r.tolist())


FUNCTIONS = {"primal": _primal, "gradient": _gradient}
