"""GradBench's ``lse`` eval: log Σ exp(x_i), computed as a + log Σ exp(x_i − a) with a = max x
(the usual shift that keeps exp from overflowing), and its gradient by s2sad's reverse mode."""

from __future__ import annotations

from typing import Any

import numpy as np
import s2sad

from .common import Job, derivative, primal


def logsumexp(x: np.ndarray) -> float:
    """log Σ exp(x_i), shifted by the largest element."""
    a = np.max(x)
    return a + np.log(np.sum(np.exp(x - a)))


def _x(input: dict) -> np.ndarray:
    return np.array(input["x"], dtype=np.float64)


def _primal(input: dict) -> Job:
    x, f = _x(input), primal(logsumexp)
    return Job(lambda: f(x), float)


def _gradient(input: dict) -> Job:
    x, g = _x(input), derivative(s2sad.grad, logsumexp)
    return Job(lambda: g(x), lambda r: r.tolist())


FUNCTIONS = {"primal": _primal, "gradient": _gradient}
