"""GradBench's ``llsq`` eval (cmpad's ``llsq_obj``): the least-squares misfit of a polynomial
with coefficients x to the sign function sampled at n points of [−1, 1],

    y(x) = ½ Σ_i (s_i − Σ_j x_j t_i^j)²,   t_i = −1 + 2i/(n − 1),   s_i = sign(t_i),

and its gradient with respect to x by s2sad's reverse mode."""

from __future__ import annotations

import numpy as np
import s2sad

from .common import Job, derivative, primal


def llsq(x: np.ndarray, n: int) -> float:
    """½ |s − V x|² for the Vandermonde matrix V of the points t, built a power at a time."""
    t = -1.0 + np.arange(n) * 2.0 / (n - 1)
    r = np.sign(t)
    power = np.ones(n)
    for j in range(x.shape[0]):
        r = r - x[j] * power
        power = power * t
    return 0.5 * np.sum(r * r)


def _args(input: dict) -> tuple[np.ndarray, int]:
    return np.array(input["x"], dtype=np.float64), int(input["n"])


def _primal(input: dict) -> Job:
    (x, n), f = _args(input), primal(llsq)
    return Job(lambda: f(x, n), float)


def _gradient(input: dict) -> Job:
    (x, n), g = _args(input), derivative(s2sad.grad, llsq)
    return Job(lambda: g(x, n), lambda r: r.tolist())


FUNCTIONS = {"primal": _primal, "gradient": _gradient}
