"""Numerical references shared by the tests."""

import numpy as np

H = 1e-6


def fd(f, args, k, h=H):
    """∂f/∂args[k] by central differences, shaped like args[k]."""
    args = [np.array(a, dtype=float) if isinstance(a, np.ndarray) else a for a in args]
    x = args[k]
    if not isinstance(x, np.ndarray):
        lo, hi = list(args), list(args)
        lo[k], hi[k] = x - h, x + h
        return (f(*hi) - f(*lo)) / (2 * h)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        lo, hi = x.copy(), x.copy()
        lo[index] -= h
        hi[index] += h
        grad[index] = (f(*args[:k], hi, *args[k + 1:]) - f(*args[:k], lo, *args[k + 1:])) / (2 * h)
    return grad
