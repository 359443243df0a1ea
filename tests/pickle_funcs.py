"""Functions whose derivatives test_pickling.py and test_dask.py pickle: a module number and
array, a helper, a decorated derivative, a custom rule and a lambda."""

import numpy as np

import s2sad

SCALE = 0.5
WEIGHTS = np.array([1.0, -2.0, 0.25])


def helper(x):
    return np.tanh(x) * SCALE


def weighted(x):
    return np.sum(helper(x) * WEIGHTS) + np.sum(x ** 2)


@s2sad.grad
def decorated(x):
    return np.sum(np.sin(x) * WEIGHTS)


@s2sad.custom_rule
def softplus(x):
    return np.log1p(np.exp(x))


@softplus.defvjp
def softplus_vjp(x, out, out_bar):
    return out_bar / (1.0 + np.exp(-x))


def with_rule(x):
    return np.sum(softplus(x) * WEIGHTS)


def scalar(a, b):
    return np.sin(a) * b ** 2


squares = lambda x: np.sum(x ** 2 * WEIGHTS)  # noqa: E731


def apply(x, params):
    return np.sum(params["act"](x))
