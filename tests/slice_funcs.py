"""Functions whose slices are taken before the operations they slice, and whose copies go
(test_slices.py)."""

import numpy as np


def rk_stage(x, h):
    """An RK stage of a chain: the right-hand side slices a sum of vectors of one shape."""
    y = np.cos(x)
    k = np.concatenate((x[:1], x[1:] * y[:-1]))
    z = (y + h * k)[:-1]
    return np.sum(np.sin(z) * x[1:])


def broadcast_then_slice(x, c):
    """c may have one element (NumPy broadcasts it): the slice stays after the sum."""
    z = (x + c)[:-1]
    return np.sum(z * z)


def sliced_and_used(x):
    """The sum is read whole too: slicing it would compute it twice."""
    t = np.sin(x) + x
    return np.sum(t[1:] * t[:-1]) + np.sum(t)


def bound_after(x, n):
    """The slice's bound is computed after the operation."""
    t = x * 2.0 + 1.0
    m = n - 1
    return np.sum(t[:m] ** 2)


def copy_returned(x):
    """A copy that is a result: it must not share memory with the argument."""
    y = x.copy()
    return y


def copy_then_store(x):
    """A copy of an array the function then stores into."""
    a = np.sin(x)
    b = a.copy()
    a[0] = 5.0
    return np.sum(a * b)
