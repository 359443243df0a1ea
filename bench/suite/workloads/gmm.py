"""The Gaussian mixture objective of ADBench and GradBench (their ``gmm``), with the Wishart
prior, differentiated with respect to the weights, the means and the inverse covariance factors.
Implemented here from the definition in those benchmarks:

- component j has log-weight ``alphas[j]``, mean ``means[j]`` and an inverse Cholesky factor
  Q_j: lower triangular, diagonal ``exp(icf[j, :d])``, strict lower part ``icf[j, d:]`` in
  column-major order;
- objective = const + Σ_i logsumexp_j(alphas_j + Σ icf[j, :d] − ½|Q_j (x_i − μ_j)|²)
  − n logsumexp(alphas) + Σ_j (½γ² (|exp(icf[j, :d])|² + |icf[j, d:]|²) − m Σ icf[j, :d]);
- const = −(n d / 2) log 2π − k C(d, γ, m), the Gaussian and Wishart normalisations (no
  derivative; computed once by `constant` and passed in, since it needs log Γ).
"""

from __future__ import annotations

import math

import numpy as np

from suite.workload import Form, Workload


def gmm_objective(alphas, means, icf, x, gamma, m, const):
    n, d = x.shape
    k = means.shape[0]
    main = np.zeros((n, k))
    prior = 0.0
    for j in range(k):
        q = icf[j, :d]
        Q = np.diag(np.exp(q))
        idx = d
        for col in range(d):
            for row in range(col + 1, d):
                Q[row, col] = icf[j, idx]
                idx = idx + 1
        z = (x - means[j]) @ Q.T
        main[:, j] = alphas[j] + np.sum(q) - 0.5 * np.sum(z * z, axis=1)
        lower = icf[j, d:]
        prior = prior + 0.5 * gamma * gamma * (np.sum(np.exp(q) ** 2) + np.sum(lower * lower)) - m * np.sum(q)
    top = np.max(main, axis=1)
    slse = np.sum(top + np.log(np.sum(np.exp(main - np.expand_dims(top, 1)), axis=1)))
    amax = np.max(alphas)
    lse_alphas = amax + np.log(np.sum(np.exp(alphas - amax)))
    return const + slse - n * lse_alphas + prior


def constant(n: int, d: int, k: int, gamma: float, m: float) -> float:
    """The objective's constant: the Gaussian normalisation and k Wishart normalisations."""
    dof = d + m + 1
    log_gamma_d = 0.25 * d * (d - 1) * math.log(math.pi) + sum(
        math.lgamma(0.5 * dof + 0.5 * (1 - j)) for j in range(1, d + 1))
    wishart = dof * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_d
    return -0.5 * n * d * math.log(2.0 * math.pi) - k * wishart


def lower_index(d: int) -> np.ndarray:
    """A (d, d) integer map: entry [r, c] of the strict lower part of Q is element
    ``index[r, c]`` of ``concatenate(([0], icf[j, d:]))``; every other entry is element 0."""
    index = np.zeros((d, d), dtype=np.int64)
    position = 1
    for col in range(d):
        for row in range(col + 1, d):
            index[row, col] = position
            position += 1
    return index


def autograd_form(anp):
    def objective(alphas, means, icf, x, gamma, m, const):
        n, d = x.shape
        index = lower_index(d)
        columns, prior = [], 0.0
        for j in range(means.shape[0]):
            q = icf[j, :d]
            Q = anp.diag(anp.exp(q)) + anp.concatenate((anp.zeros(1), icf[j, d:]))[index]
            z = anp.dot(x - means[j], Q.T)
            columns.append(alphas[j] + anp.sum(q) - 0.5 * anp.sum(z * z, axis=1))
            prior = prior + 0.5 * gamma * gamma * (anp.sum(anp.exp(q) ** 2) + anp.sum(icf[j, d:] ** 2)) \
                - m * anp.sum(q)
        main = anp.stack(columns, axis=1)
        top = anp.max(main, axis=1)
        slse = anp.sum(top + anp.log(anp.sum(anp.exp(main - top[:, None]), axis=1)))
        amax = anp.max(alphas)
        return const + slse - n * (amax + anp.log(anp.sum(anp.exp(alphas - amax)))) + prior
    return objective


def _batched(lib, diag_embed, logsumexp, gather_lower):
    """The objective over all components at once, for a tool whose array functions are `lib`
    (with exp, sum over ``axis``, einsum), given its diag-embedding, logsumexp over an axis, and
    the lower part of Q for every component from ``icf[:, d:]`` and `lower_index`."""
    def objective(alphas, means, icf, x, gamma, m, const):
        n, d = x.shape
        q = icf[:, :d]
        Q = diag_embed(lib.exp(q)) + gather_lower(icf[:, d:], lower_index(d))
        z = lib.einsum("kab,nkb->nka", Q, x[:, None, :] - means[None, :, :])
        main = alphas + lib.sum(q, axis=1) - 0.5 * lib.sum(z * z, axis=2)
        prior = lib.sum(0.5 * gamma * gamma * (lib.sum(lib.exp(q) ** 2, axis=1) + lib.sum(icf[:, d:] ** 2, axis=1))
                        - m * lib.sum(q, axis=1))
        return const + lib.sum(logsumexp(main, 1)) - n * logsumexp(alphas, 0) + prior
    return objective


def torch_form(torch):
    def gather_lower(lower, index):
        padded = torch.cat((torch.zeros(lower.shape[0], 1, dtype=lower.dtype), lower), 1)
        return padded[:, torch.from_numpy(index)]
    return _batched(torch, torch.diag_embed, lambda a, axis: torch.logsumexp(a, axis), gather_lower)


def jax_form(jax):
    jnp = jax.numpy

    def gather_lower(lower, index):
        return jnp.concatenate((jnp.zeros((lower.shape[0], 1)), lower), 1)[:, index]
    return _batched(jnp, jax.vmap(jnp.diag), lambda a, axis: jax.nn.logsumexp(a, axis), gather_lower)


def tf_form(tf):
    class TfArrays:  # the three array functions `_batched` uses, under NumPy's names
        exp = staticmethod(tf.exp)
        einsum = staticmethod(tf.einsum)

        @staticmethod
        def sum(a, axis=None):
            return tf.reduce_sum(a, axis)

    def gather_lower(lower, index):
        padded = tf.concat((tf.zeros((tf.shape(lower)[0], 1), tf.float64), lower), 1)
        return tf.gather(padded, index, axis=1)
    return _batched(TfArrays, tf.linalg.diag, lambda a, axis: tf.reduce_logsumexp(a, axis), gather_lower)


def _args(quick: bool) -> tuple:
    r = np.random.default_rng(0)
    n, d, k = (100, 2, 3) if quick else (1000, 5, 10)
    gamma, m = 1.0, 0.0
    icf = 0.3 * r.normal(size=(k, d * (d + 1) // 2))
    return (r.normal(size=k), r.normal(size=(k, d)), icf, r.normal(size=(n, d)), gamma, m,
            constant(n, d, k, gamma, m))


BATCHED = "batched over the components"

WORKLOAD = Workload(
    name="gmm",
    title="GMM objective, Wishart prior (ADBench)",
    numpy=gmm_objective,
    make_args=_args,
    size=lambda a: f"n={a[3].shape[0]} d={a[3].shape[1]} k={a[1].shape[0]}",
    wrt=(0, 1, 2),
    forms={
        "autograd": Form(autograd_form, "no in-place store: Q by gathering, component columns stacked"),
        "torch": Form(torch_form, f"{BATCHED}; torch.logsumexp"),
        "jax": Form(jax_form, f"{BATCHED}; jax.nn.logsumexp"),
        "tf": Form(tf_form, f"{BATCHED}; tf.reduce_logsumexp"),
    },
)
