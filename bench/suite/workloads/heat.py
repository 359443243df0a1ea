"""The heat-equation inverse problem: how the misfit of the final temperatures depends on the
initial ones.

    u ← u + α Δu  (explicit steps, Δu_i = u_{i+1} − 2u_i + u_{i−1} inside, 0 at both ends)
    loss = Σ (u_final − target)²,   differentiated with respect to u_0

The NumPy form stores the interior of the Laplacian into a zero array (``lap[1:-1] = ...``);
autograd cannot store into an array, so its form pads the interior with zeros instead, as do the
peers. JAX writes the time loop as ``lax.fori_loop``.
"""

from __future__ import annotations

import numpy as np

from loops import heat  # (bench/loops.py)
from suite.workload import Form, Workload


def autograd_form(anp):
    def loss(u0, target, alpha, steps):
        u = u0
        for _ in range(steps):
            lap = anp.concatenate((anp.zeros(1), u[2:] - 2.0 * u[1:-1] + u[:-2], anp.zeros(1)))
            u = u + alpha * lap
        return anp.sum((u - target) ** 2)
    return loss


def torch_form(torch):
    pad = torch.nn.functional.pad

    def loss(u0, target, alpha, steps):
        u = u0
        for _ in range(steps):
            u = u + alpha * pad(u[2:] - 2.0 * u[1:-1] + u[:-2], (1, 1))
        return torch.sum((u - target) ** 2)
    return loss


def jax_form(jax):
    jnp = jax.numpy

    def loss(u0, target, alpha, steps):
        def step(_, u):
            return u + alpha * jnp.pad(u[2:] - 2.0 * u[1:-1] + u[:-2], 1)
        u = jax.lax.fori_loop(0, steps, step, u0)
        return jnp.sum((u - target) ** 2)
    return loss


def tf_form(tf):
    def loss(u0, target, alpha, steps):
        u = u0
        for _ in tf.range(steps):
            u = u + alpha * tf.pad(u[2:] - 2.0 * u[1:-1] + u[:-2], [[1, 1]])
        return tf.reduce_sum((u - target) ** 2)
    return loss


def _args(quick: bool) -> tuple:
    r = np.random.default_rng(0)
    n, steps = (50, 40) if quick else (200, 400)
    return r.normal(size=n), r.normal(size=n), 0.2, steps


PADDED = "the Laplacian's interior padded with zeros"

WORKLOAD = Workload(
    name="heat",
    title="heat equation, inverse problem",
    numpy=heat,
    make_args=_args,
    size=lambda a: f"{a[0].shape[0]} points x {a[3]} steps",
    wrt=(0,),
    forms={
        "autograd": Form(autograd_form, f"no in-place store: {PADDED}"),
        "torch": Form(torch_form, PADDED),
        "jax": Form(jax_form, f"lax.fori_loop; {PADDED}"),
        "tf": Form(tf_form, f"tf.range loop; {PADDED}"),
    },
)
