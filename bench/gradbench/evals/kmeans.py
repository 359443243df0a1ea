"""GradBench's ``kmeans`` eval: the k-means cost Σ_i min_j |C_j − P_i|² (``cost``) and the Newton
direction J H⁻¹ for the centroids C (``dir``), where J is the cost's gradient and H its
Hessian, which is diagonal (each centroid's coordinates appear only in their own squares).

The gradient and the diagonal come from one call of s2sad's Hessian-vector product (forward over
reverse): for a diagonal H, H·1 is the diagonal. The cost is a loop over the points, as one
writes it in NumPy without forming the n × k × d differences at once.
"""

from __future__ import annotations

import numpy as np
import s2sad

from .common import Job, derivative, primal


def cost(points: np.ndarray, centroids: np.ndarray) -> float:
    """Σ over points of the squared distance to the nearest centroid."""
    total = 0.0
    for i in range(points.shape[0]):
        d = centroids - points[i]
        total = total + np.min(np.sum(d * d, axis=1))
    return total


def newton_direction(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """J / diag(H), from s2sad's forward-over-reverse derivative of `cost`."""
    h = derivative(s2sad.hvp, cost, wrt="centroids")
    _, (grad,), (diagonal,) = h.value_grad_hvp([points, centroids], [np.ones_like(centroids)])
    return grad / diagonal


def _args(input: dict) -> tuple[np.ndarray, np.ndarray]:
    return np.array(input["points"], dtype=np.float64), np.array(input["centroids"], dtype=np.float64)


def _cost(input: dict) -> Job:
    (P, C), f = _args(input), primal(cost)
    return Job(lambda: f(P, C), float)


def _dir(input: dict) -> Job:
    P, C = _args(input)
    return Job(lambda: newton_direction(P, C), lambda r: r.tolist())


FUNCTIONS = {"cost": _cost, "dir": _dir}
