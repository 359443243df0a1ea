"""The gradient-descent solver of GradBench's ``saddle`` and ``particle`` evals (its
cpp/gradbench/gd.hpp, the reference every tool follows), in two forms:

- `argmin` in plain Python, around an objective and a gradient given as functions (for the
  outermost optimisation, which nothing differentiates);
- `descend`, the same loop written for s2sad, for an optimisation that an outer derivative
  differentiates through (``saddle``'s inner maximisation): its gradient is a derivative
  object called inside it, which s2sad inlines (docs/higher-order.md).

The method: from x, step to x − η ∇f while that decreases f; halve η when it does not, double it
after 10 successful steps; stop when |∇f| ≤ 1e-5 or the step moves x by at most 1e-5.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

TOLERANCE = 1e-5


def argmin(objective: Callable[[np.ndarray], float], gradient: Callable[[np.ndarray], np.ndarray],
           x0: np.ndarray) -> np.ndarray:
    """The point where gradient descent from `x0` stops."""
    x = np.array(x0, dtype=np.float64)
    fx = objective(x)
    gx = gradient(x)
    i = 0
    eta = 1e-5
    while True:
        if np.sqrt(np.sum(gx * gx)) <= TOLERANCE:
            return x
        if i == 10:
            eta *= 2.0
            i = 0
            continue
        x_new = x - eta * gx
        if np.sqrt(np.sum((x - x_new) ** 2)) <= TOLERANCE:
            return x
        f_new = objective(x_new)
        if f_new < fx:
            x, fx = x_new, f_new
            gx = gradient(x)
            i += 1
        else:
            eta /= 2.0
            i = 0


def argmax(objective: Callable[[np.ndarray], float], gradient: Callable[[np.ndarray], np.ndarray],
           x0: np.ndarray) -> np.ndarray:
    """`argmin` of −objective."""
    return argmin(lambda x: -objective(x), lambda x: -gradient(x), x0)


def objective_and_gradient(value_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]]
                           ) -> tuple[Callable[[np.ndarray], float], Callable[[np.ndarray], np.ndarray]]:
    """An objective and a gradient for `argmin` from one function returning both: the solver asks
    for the gradient only at the point whose value it has just computed, so that value's call
    keeps its gradient (one derivative call per point instead of a primal call and then a
    derivative call)."""
    kept: dict[bytes, np.ndarray] = {}

    def objective(x: np.ndarray) -> float:
        value, grad = value_and_grad(x)
        kept.clear()
        kept[x.tobytes()] = np.asarray(grad, dtype=np.float64)
        return value

    def gradient(x: np.ndarray) -> np.ndarray:
        if x.tobytes() not in kept:
            objective(x)
        return kept[x.tobytes()]

    return objective, gradient
