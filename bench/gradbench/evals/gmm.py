"""GradBench's ``gmm`` eval (from ADBench): the log posterior of a Gaussian mixture with a Wishart
prior on the precision matrices (``objective``) and its gradient with respect to the log-weights
alpha, the means mu and the precision factors q, l (``jacobian``), by s2sad's reverse mode.

Component k has the lower triangular factor Q_k, diagonal exp(q_k), strict lower part l_k column
by column, and precision Q_kᵀ Q_k; after the usual simplifications (GradBench's
evals/gmm/README.md) the objective is

    −(n d / 2) log 2π + Σ_i logsumexp_k(alpha_k + Σ q_k − ½|Q_k (x_i − mu_k)|²) − n logsumexp(alpha)
    − Σ_k (½ γ² (|exp q_k|² + |l_k|²) − m Σ q_k) + K C(d, γ, m),

where C is the log of the Wishart normalisation, a constant computed once from log Γ (no
derivative) and passed in.
"""

from __future__ import annotations

import math

import numpy as np
import s2sad

from .common import Job, derivative, primal


def log_posterior(alpha: np.ndarray, mu: np.ndarray, q: np.ndarray, l: np.ndarray, x: np.ndarray,
                  gamma: float, m: float, wishart_c: float) -> float:
    """The mixture's log likelihood of the rows of x plus the Wishart log prior."""
    n, d = x.shape
    K = alpha.shape[0]
    main = np.zeros((n, K))
    prior = 0.0
    for k in range(K):
        Q = np.diag(np.exp(q[k]))
        idx = 0
        for col in range(d):
            for row in range(col + 1, d):
                Q[row, col] = l[k, idx]
                idx = idx + 1
        z = (x - mu[k]) @ Q.T
        main[:, k] = alpha[k] + np.sum(q[k]) - 0.5 * np.sum(z * z, axis=1)
        prior = prior + 0.5 * gamma * gamma * (np.sum(np.exp(q[k]) ** 2) + np.sum(l[k] * l[k])) - m * np.sum(q[k])
    top = np.max(main, axis=1)
    slse = np.sum(top + np.log(np.sum(np.exp(main - np.expand_dims(top, 1)), axis=1)))
    amax = np.max(alpha)
    lse_alpha = amax + np.log(np.sum(np.exp(alpha - amax)))
    return -0.5 * n * d * np.log(2.0 * np.pi) + slse - n * lse_alpha - prior + K * wishart_c


def wishart_constant(d: int, gamma: float, m: int) -> float:
    """log of the Wishart normalisation of one component: n d (log γ − ½ log 2) − log Γ_d(n / 2),
    n = d + m + 1."""
    dof = d + m + 1
    log_gamma_d = 0.25 * d * (d - 1) * math.log(math.pi) + sum(
        math.lgamma(0.5 * dof + 0.5 * (1 - j)) for j in range(1, d + 1))
    return dof * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_d


def _args(input: dict) -> tuple:
    d, k = int(input["d"]), int(input["k"])
    alpha = np.array(input["alpha"], dtype=np.float64)
    mu = np.array(input["mu"], dtype=np.float64).reshape(k, d)
    q = np.array(input["q"], dtype=np.float64).reshape(k, d)
    l = np.array(input["l"], dtype=np.float64).reshape(k, d * (d - 1) // 2)
    x = np.array(input["x"], dtype=np.float64).reshape(int(input["n"]), d)
    gamma, m = float(input["gamma"]), int(input["m"])
    return alpha, mu, q, l, x, gamma, float(m), wishart_constant(d, gamma, m)


def _objective(input: dict) -> Job:
    args, f = _args(input), primal(log_posterior)
    return Job(lambda: f(*args), float)


def _post_jacobian(grads: tuple) -> dict:
    alpha, mu, q, l = grads
    return {"alpha": alpha.tolist(), "mu": mu.tolist(), "q": q.tolist(), "l": l.tolist()}


def _jacobian(input: dict) -> Job:
    args = _args(input)
    g = derivative(s2sad.grad, log_posterior, wrt=("alpha", "mu", "q", "l"))
    return Job(lambda: g(*args), _post_jacobian)


FUNCTIONS = {"objective": _objective, "jacobian": _jacobian}
