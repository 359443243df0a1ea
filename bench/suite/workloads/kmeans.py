"""The k-means objective of GradBench (its ``kmeans`` eval): the cost Σ_i min_j |c_j − x_i|² of
points x_i against centroids c_j, differentiated with respect to the centroids. The NumPy
definition is the GradBench tool's own (``bench/gradbench/evals/kmeans.py``): a loop over the
points, each against all the centroids at once, as one writes it without forming the n × k × d
differences. (GradBench's eval asks for the gradient and the Hessian's diagonal, for a Newton
step; the tool gets both from one forward-over-reverse ``s2sad.hvp``. Here, as for the other
workloads, the gradient.)
"""

from __future__ import annotations

import numpy as np

from suite.evals import kmeans
from suite.workload import Form, Workload


def _vectorised(total, smallest):
    """The cost over all points at once (n × k × d differences), for a tool whose sum and min
    over an axis are `total(a, axis)` and `smallest(a, axis)`."""
    def cost(points, centroids):
        d = points[:, None, :] - centroids[None, :, :]
        return total(smallest(total(d * d, 2), 1), 0)
    return cost


def torch_form(torch):
    return _vectorised(torch.sum, torch.amin)


def jax_form(jax):
    return _vectorised(jax.numpy.sum, jax.numpy.min)


def tf_form(tf):
    return _vectorised(tf.reduce_sum, tf.reduce_min)


def _args(quick: bool) -> tuple[np.ndarray, np.ndarray]:
    """Points around k true centres; the centroids start at k of the points."""
    r = np.random.default_rng(0)
    n, k, d = (500, 5, 4) if quick else (10_000, 100, 8)
    centres = 3.0 * r.normal(size=(k, d))
    points = centres[r.integers(0, k, n)] + r.normal(size=(n, d))
    return points, points[r.choice(n, k, replace=False)].copy()


VECTORISED = "vectorised over the points (n × k × d differences)"

WORKLOAD = Workload(
    name="kmeans",
    title="k-means cost (GradBench)",
    numpy=kmeans.cost,
    make_args=_args,
    size=lambda a: f"n={a[0].shape[0]} k={a[1].shape[0]} d={a[0].shape[1]}",
    wrt=(1,),
    forms={
        "torch": Form(torch_form, f"{VECTORISED}; torch.amin"),
        "jax": Form(jax_form, VECTORISED),
        "tf": Form(tf_form, VECTORISED),
    },
)
