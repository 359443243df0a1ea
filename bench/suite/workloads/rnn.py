"""A tanh recurrent network through time, differentiated with respect to both weight matrices.

    h_t = tanh(W h_{t−1} + U x_t),   loss = Σ_t |h_t|²

JAX writes the time loop as ``lax.scan``, TensorFlow as a ``tf.range`` loop in ``tf.function``,
PyTorch as a Python loop.
"""

from __future__ import annotations

import numpy as np

from loops import rnn  # (bench/loops.py)
from suite.workload import Form, Workload


def torch_form(torch):
    def loss(W, U, h0, xs):
        h, total = h0, 0.0
        for t in range(xs.shape[0]):
            h = torch.tanh(W @ h + U @ xs[t])
            total = total + torch.sum(h * h)
        return total
    return loss


def jax_form(jax):
    jnp = jax.numpy

    def loss(W, U, h0, xs):
        def step(h, x):
            h = jnp.tanh(W @ h + U @ x)
            return h, jnp.sum(h * h)
        return jnp.sum(jax.lax.scan(step, h0, xs)[1])
    return loss


def tf_form(tf):
    def loss(W, U, h0, xs):
        h, total = h0, tf.constant(0.0, tf.float64)
        for t in tf.range(tf.shape(xs)[0]):
            h = tf.tanh(tf.linalg.matvec(W, h) + tf.linalg.matvec(U, xs[t]))
            total += tf.reduce_sum(h * h)
        return total
    return loss


def _args(quick: bool) -> tuple:
    r = np.random.default_rng(0)
    hidden, inputs, steps = (8, 4, 30) if quick else (32, 8, 300)
    return (0.1 * r.normal(size=(hidden, hidden)), 0.1 * r.normal(size=(hidden, inputs)), np.zeros(hidden),
            r.normal(size=(steps, inputs)))


WORKLOAD = Workload(
    name="rnn",
    title="tanh RNN through time",
    numpy=rnn,
    make_args=_args,
    size=lambda a: f"T={a[3].shape[0]} H={a[0].shape[0]}",
    wrt=(0, 1),
    forms={
        "torch": Form(torch_form),
        "jax": Form(jax_form, "lax.scan"),
        "tf": Form(tf_form, "tf.range loop (while_loop)"),
    },
)
