"""Functions whose generated code is compared with tests/golden/*.txt.

Editing this file moves line numbers, which appear in the generated headers: regenerate the
golden files with ``S2SAD_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py``.
"""

import numpy as np


def fan_out(x, y):
    v = np.cos(x) + x * y
    return np.exp(v) + v ** 2


def sin_poly(x):
    return np.sin(x ** 2 + 2 * x + 1)


def piecewise(x, y):
    if x > y:
        z = x * np.sin(y)
    else:
        z = y * y - x
    return z + x


def mlp_head(W, x, b):
    h = np.tanh(W @ x + b)
    return h[0] * h[1] + np.sum(h[1:3])


def monte_carlo(mu, sigma):
    rng = np.random.default_rng(42)
    z = rng.normal(mu, sigma, 1000)
    return np.mean(np.sin(z))


def euler(k, x0, n):
    x = x0
    for i in range(n):
        x = x + 0.01 * (-k * x * x)
    return x


def pair_energy(pos):
    e = 0.0
    for i in range(pos.shape[0]):
        for j in range(i + 1, pos.shape[0]):
            d = pos[i] - pos[j]
            e = e + 1.0 / np.sum(d * d)
    return e


def mixture_fit(X, means):
    total = 0.0
    for i in range(X.shape[0]):
        for j in range(means.shape[0]):
            d = X[i] - means[j]
            total = total + np.exp(-np.sum(d * d))
    return total


def trajectory(k, x0, n):
    """Explicit Euler steps of dx/dt = -k sin(x), kept in a list (the trajectory idiom)."""
    x = x0
    xs = []
    for i in range(n):
        x = x - 0.1 * k * np.sin(x)
        xs.append(x)
    return np.sum(np.array(xs) ** 2)


def relax_until(x, a, tol):
    """A vector state and a number on the tapes of a while loop, which grow as it runs."""
    step = 1.0
    while step > tol:
        dx = a * np.sin(x)
        x = x - dx
        step = np.sum(dx * dx)
    return np.sum(x * x) + step
