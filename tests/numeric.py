"""Numerical references shared by the tests."""

import numpy as np

H = 1e-6


def fd(f, args, k, h=H):
    """∂f/∂args[k] by central differences, shaped like args[k] (the other arguments, index
    arrays among them, are passed as they are)."""
    args = list(args)
    x = args[k] = np.array(args[k], dtype=float) if isinstance(args[k], np.ndarray) else args[k]
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
