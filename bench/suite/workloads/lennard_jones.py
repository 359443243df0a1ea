"""Lennard-Jones energy of a cluster, differentiated with respect to the positions (the forces).

    E = Σ_{i<j} 4ε ((σ²/r²)⁶ − (σ²/r²)³),   r² = |x_i − x_j|²

The NumPy form is the triangular pair loop of ``bench/loops.py``; the peers compute the same sum
over the pairs ``i < j``, vectorised, as their users would.
"""

from __future__ import annotations

import functools

import numpy as np

from loops import lennard_jones  # (bench/loops.py)
from suite.workload import Form, Workload

VECTORISED = "vectorised over the pairs i < j"


@functools.lru_cache(maxsize=None)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs i < j of n particles (made once per n: eager tools call the energy each time,
    where JAX and TensorFlow run it once, to trace it)."""
    return np.triu_indices(n, 1)


def _vectorised(rows, total, take=lambda a, i: a[i]):
    """The energy over the pairs i < j, given a tool's sum along rows, its total sum and (where
    fancy indexing is spelled otherwise) its row gather."""
    def energy(pos, eps, sigma):
        i, j = _pairs(pos.shape[0])
        d = take(pos, i) - take(pos, j)
        s6 = (sigma * sigma / rows(d * d)) ** 3
        return total(4.0 * eps * (s6 * s6 - s6))
    return energy


def torch_form(torch):
    return _vectorised(lambda a: torch.sum(a, dim=1), torch.sum)


def jax_form(jax):
    jnp = jax.numpy
    return _vectorised(lambda a: jnp.sum(a, axis=1), jnp.sum)


def tf_form(tf):
    return _vectorised(lambda a: tf.reduce_sum(a, axis=1), tf.reduce_sum, tf.gather)


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
