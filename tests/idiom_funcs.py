"""Everyday Python idioms in differentiated functions (used by test_idioms.py)."""

import functools

import numpy as np

OFFSET = None  # (a module setting that is None until a script sets it)


def scaled(x, scale=None, shift=None):
    if scale is None:
        scale = 2.0
    y = x * scale
    if shift is not None and scale is not None:
        y = y + shift
    return np.sum(y * y)


def shifted_by_setting(x):
    if OFFSET is None:
        return np.sum(x * x)
    return np.sum((x - OFFSET) ** 2)


def weighted_or_plain(x, w=None):
    return np.sum(x * x) if w is None else np.sum(w * x * x)


def compares_values_with_is(x, y):
    return x * 2.0 if x is y else x


def uses_none(x, scale=None):
    return np.sum(x * scale)


def doubled_if_flag(x, flag=None):
    if flag:
        return x * 2.0
    return x


# --- closures -----------------------------------------------------------------------------------

def make_ridge_loss(X, y, lam):
    def loss(w):
        r = X @ w - y
        return np.sum(r ** 2) + lam * np.sum(w ** 2)
    return loss


def make_writer(A):
    def writes(x):
        A[0, 0] = 2.0
        return np.sum(A @ x)
    return writes


# --- lambda and functools.partial ----------------------------------------------------------------

def squared_error(w, X, y):
    r = X @ w - y
    return np.sum(r ** 2)


def lambda_inside(x):
    f = lambda z: z * z  # noqa: E731
    return f(x) + 1.0


def lambda_reads_names_when_called(x):
    a = 1.0
    f = lambda z: z * a  # noqa: E731
    s = 0.0
    for i in range(3):
        a = a * 2.0          # (Python's lambdas see the value at the call: 2, 4, 8)
        s = s + f(x)
    return s


def partial_of_numpy(x):
    g = functools.partial(np.power, x)
    return g(3.0)


def euler(f, y, h, n):
    for i in range(n):
        y = y + h * f(y)
    return y


def decay_rate(y, k):
    return -k * y


def integrate_lambda(y0, k):
    return np.sum(euler(lambda y: -k * y * y, y0, 0.1, 10))


def integrate_partial(y0, k):
    return np.sum(euler(functools.partial(decay_rate, k=k), y0, 0.1, 10))
