"""Linear regression: the mean squared residual, differentiated with respect to the weights.

    loss = mean((X w − y)²)

Vectorised in every tool: two matrix-vector products dominate.
"""

from __future__ import annotations

import numpy as np

from loops import linear_regression  # (bench/loops.py)
from suite.workload import Form, Workload


def torch_form(torch):
    def loss(w, X, y):
        r = X @ w - y
        return torch.mean(r * r)
    return loss


def jax_form(jax):
    def loss(w, X, y):
        r = X @ w - y
        return jax.numpy.mean(r * r)
    return loss


def tf_form(tf):
    def loss(w, X, y):
        r = tf.linalg.matvec(X, w) - y
        return tf.reduce_mean(r * r)
    return loss


def _args(quick: bool) -> tuple:
    r = np.random.default_rng(0)
    n, d = (2_000, 50) if quick else (20_000, 50)
    X = r.normal(size=(n, d))
    return r.normal(size=d), X, X @ r.normal(size=d) + 0.1 * r.normal(size=n)


WORKLOAD = Workload(
    name="linear_regression",
    title="linear regression",
    numpy=linear_regression,
    make_args=_args,
    size=lambda a: f"{a[1].shape[0]}x{a[1].shape[1]}",
    wrt=(0,),
    forms={"torch": Form(torch_form), "jax": Form(jax_form), "tf": Form(tf_form)},
)
