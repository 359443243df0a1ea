"""Numerical references shared by the tests."""

import numpy as np

import s2sad

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


def check_grad(f, args, mode, wrt=None, rtol=1e-6, atol=1e-7):
    """The gradient of `f` w.r.t. each of `wrt` (default: every argument) against `fd`;
    returns the gradients."""
    wrt = tuple(range(len(args))) if wrt is None else tuple(wrt)
    got = s2sad.grad(f, wrt=wrt, mode=mode)(*args)
    for k, g in zip(wrt, got, strict=True):
        np.testing.assert_allclose(g, fd(f, args, k), rtol=rtol, atol=atol, err_msg=f"{f.__name__} wrt {k}")
    return got
