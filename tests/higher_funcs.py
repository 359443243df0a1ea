"""Functions for test_higher_order.py: Hessian-vector products, Hessians and Jacobians."""

import numpy as np


def fan_out(x, y):
    v = np.cos(x) + x * y
    return np.exp(v) + v ** 2


def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def lennard_jones(pos):
    e = 0.0
    n = pos.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            d = pos[i] - pos[j]
            r2 = np.sum(d * d)
            s6 = 1.0 / (r2 * r2 * r2)
            e = e + 4.0 * (s6 * s6 - s6)
    return e


def branch_and_while(x):
    s = 0.0
    k = 0
    while s < 3.0:
        s = s + np.exp(x[k % 3] * 0.1) * (1.0 + s * x[1])
        k += 1
    if s > 3.5:
        s = s * x[2]
    else:
        s = s - x[2] * x[2]
    return s


def stores(x):
    y = np.zeros(x.shape[0])
    for i in range(1, x.shape[0] - 1):
        y[i] = x[i - 1] * x[i + 1] + np.sin(x[i])
    y[0] = x[0] ** 3
    return np.sum(y * y)


def network(x, w1, b1, w2):
    """u(x), a one-hidden-layer tanh network of a scalar input."""
    return np.sum(w2 * np.tanh(w1 * x + b1))


def rollout(p, n):
    x = p * 1.0
    for i in range(n):
        x = x + 0.1 * np.sin(x * p)
    return np.sum(x * x)


def eigen_energy(a, b):
    """A quadratic form in the lowest eigenvector of a: the reverse sweep holds `inverse_gaps`."""
    w, v = np.linalg.eigh(a)
    u = v[:, 0]
    return u @ b @ u + np.sum(w * w)


def weighted(x, w):
    return np.sum(w * np.sin(x) * x)


def vector_valued(x):
    return np.sin(x) * x[0] + x ** 2


def matrix_to_vector(a):
    return np.tanh(a @ np.linspace(1.0, -2.0, 3))


def scalar_to_vector(t):
    return np.stack((np.sin(t), t * t, np.exp(t)))


def two_results(x):
    return np.sum(x), np.sum(x * x)


def count_positive(x):
    return np.sum(x > 0.0)


def flagged(x, on):
    return np.sum(x * x) if on else np.sum(x)


def counted(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * i
    return s


def pair_residuals(cams, pts):
    """Two residuals per observation j, from its 3 camera numbers and 2 point numbers only: a
    block-sparse Jacobian."""
    n = pts.shape[0]
    r = np.zeros((n, 2))
    for j in range(n):
        c = cams[j]
        r[j, 0] = c[0] * np.sin(pts[j, 0]) + c[1] * pts[j, 1] ** 2
        r[j, 1] = np.exp(c[2] * pts[j, 0]) - c[0] * pts[j, 1]
    return r


def coupled_where_zero(x):
    """Entries that are zero at x[1] = 0 (∂(x0·x1)/∂x0) or on a branch not taken (x2 > 0)."""
    return np.stack((x[0] * x[1], np.where(x[2] > 0.0, x[2] * x[0], 0.0), x[2] + 0.0 * x[1], np.sin(x[3])))


def hidden_entry(x):
    """Row 0 depends on both x0 and x1, row 1 on x1 alone."""
    return np.stack((x[0] + 2.0 * x[1], x[1] ** 2))


def scaled_squares(x, *, scale=2.0):
    """A keyword-only parameter, which the reverse-mode Jacobian's call of the function passes by name."""
    return scale * x ** 2
