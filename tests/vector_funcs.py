"""Functions whose Jacobians and Hessians tests/test_vector_forward.py computes in vector
forward mode."""

import numpy as np


def scalar(x, y):
    return np.sin(x) * y + x ** 3


def broadcasting(x, A):
    return np.tanh(A * x + x[0]) / (1.0 + x * x)


def products(W, x):
    h = np.tanh(W @ x)
    return (h @ W) * np.sum(W, axis=0) + x @ W.T @ W


def carried(x, n):
    h = x
    for i in range(n):
        h = np.sin(h) * x + h[::-1] * 0.5
    return h


def counted(x):
    s = x * 1.0
    k = 0
    while k < 3 and np.sum(s) < 100.0:
        s = s * x + 1.0
        k = k + 1
    return s


def branches(x):
    if np.sum(x) > 0.0:
        y = x * x
    else:
        y = -np.exp(x)
    if x[0] > x[1]:
        y = y + x[1]
    return y


def reductions(X):
    return np.concatenate((np.sum(X * X, axis=0), np.max(X, axis=1), np.array([np.mean(X), np.prod(X)])))


def stores(x, idx):
    y = np.zeros(x.shape[0] + 1)
    for i in range(1, x.shape[0]):
        y[i] = x[i] * x[i - 1]
    y[0] += np.sum(x[idx] ** 2)
    y[-1] = x[-1]
    return y[1:] * y[0]


def solved(A, b):
    return np.linalg.solve(A, b) + np.linalg.inv(A) @ b * np.linalg.det(A)


def two_results(W, x):
    return {"h": np.tanh(W @ x), "s": np.sum(W) * x[0]}


def layer_loss(params, x):
    return np.tanh(params["W"] @ x + params["b"]) * params["c"]


def appended(x):
    rows = []
    for i in range(3):
        rows.append(x * (i + 1.0))
    return np.sum(np.array(rows) ** 2, axis=0)


def energy(x):
    return np.sum(np.sin(x) * x[::-1]) + np.sum(x) ** 3 + x[0] * x[1]


def loop_energy(x):
    h = 0.5
    for i in range(x.shape[0]):
        h = np.tanh(h * x[i] + x[i - 1])
    return h * h


def while_energy(x):
    h = 0.5
    k = 0
    while k < x.shape[0]:
        h = np.tanh(h * x[k] + x[k - 1])
        k = k + 1
    return h * h


def symmetrised(x):
    """An in-place update by the array's own transpose (``fits_shape`` checks the operand's shape,
    a linear operation with an operand of no derivative)."""
    y = x.T * x
    y += y.T
    return y
