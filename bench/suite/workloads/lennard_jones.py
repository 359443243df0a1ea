"""Lennard-Jones energy of a cluster, differentiated with respect to the positions (the forces).

    E = Σ_{i<j} 4ε ((σ²/r²)⁶ − (σ²/r²)³),   r² = |x_i − x_j|²

The NumPy form is the triangular pair loop of ``bench/loops.py``; the peers compute the same sum
over the pairs ``i < j``, vectorised, as their users would.
"""

from __future__ import annotations

import numpy as np

from loops import lennard_jones  # (bench/loops.py)
from suite.workload import Form, Workload

VECTORISED = "vectorised over the pairs i < j"


def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, 1)


def torch_form(torch):
    def energy(pos, eps, sigma):
        i, j = _pairs(pos.shape[0])
        d = pos[i] - pos[j]
        s6 = (sigma * sigma / torch.sum(d * d, dim=1)) ** 3
        return torch.sum(4.0 * eps * (s6 * s6 - s6))
    return energy


def jax_form(jax):
    jnp = jax.numpy

    def energy(pos, eps, sigma):
        i, j = _pairs(pos.shape[0])
        d = pos[i] - pos[j]
        s6 = (sigma * sigma / jnp.sum(d * d, axis=1)) ** 3
        return jnp.sum(4.0 * eps * (s6 * s6 - s6))
    return energy


def tf_form(tf):
    def energy(pos, eps, sigma):
        i, j = _pairs(pos.shape[0])
        d = tf.gather(pos, i) - tf.gather(pos, j)
        s6 = (sigma * sigma / tf.reduce_sum(d * d, axis=1)) ** 3
        return tf.reduce_sum(4.0 * eps * (s6 * s6 - s6))
    return energy


def _args(quick: bool) -> tuple:
    n = 16 if quick else 64
    # a jittered cubic lattice: no two particles start closer than about half the spacing
    side = int(np.ceil(n ** (1 / 3)))
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n]
    pos = 1.2 * grid + 0.1 * np.random.default_rng(0).normal(size=(n, 3))
    return pos.astype(np.float64), 1.0, 1.0


WORKLOAD = Workload(
    name="lennard_jones",
    title="Lennard-Jones energy",
    numpy=lennard_jones,
    make_args=_args,
    size=lambda a: f"{a[0].shape[0]} particles",
    wrt=(0,),
    forms={
        "torch": Form(torch_form, VECTORISED),
        "jax": Form(jax_form, VECTORISED),
        "tf": Form(tf_form, VECTORISED),
    },
)
