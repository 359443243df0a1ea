"""Functions whose derivatives fail at run time for some arguments (tests/test_run_time_errors.py).
Each failing statement ends with a comment naming it, which the tests look for."""

import numpy as np


def layer_then_readout(x, W, V):
    h = np.tanh(W @ x)
    s = 0.0
    for i in range(3):
        s = s + np.sum(V @ h)  # readout
    return s


def picked(x, k):
    y = x * 2.0
    return y[k] ** 2  # pick


def solved(A, b):
    c = np.cos(b)
    return np.sum(np.linalg.solve(A, c))  # solve


def logged(x):
    y = x - 1.0
    return np.sum(np.log(y))  # log


def _step(h, W):
    return np.tanh(W @ h)  # helper step


def stepped(h, W, n):
    for i in range(n):
        h = _step(h, W)
    return np.sum(h)


def triangle(A, n):
    """Row n is never read: the inner loop is empty there."""
    s = 0.0
    for i in range(n + 1):
        for j in range(i, n):
            s = s + A[i, j] * A[j, i]
    return s


def lagged(x, k):
    s = 0.0
    for i in range(2, k):
        s = s + x[i - 2] * x[i]  # lagged
    return s


def guarded(x, n):
    s = 0.0
    for i in range(n + 1):
        if i < n:
            s = s + x[i] ** 2
    return s


def stored(x, k):
    y = x * 1.0
    y[k] = 3.0 * x[0]  # store
    return np.sum(y * y)


def pairs(pos):
    n = pos.shape[0]
    e = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            d = pos[i] - pos[j]
            e = e + 1.0 / np.sum(d * d)
    for i in range(1, n - 1):
        e = e + np.sum(pos[i - 1] * pos[i + 1])
    return e


def endless(x, tol):
    """Never returns for x > tol ≥ 0.5: x settles at 1.0."""
    while x > tol:
        x = 0.5 * (x + 1.0)
    return x * x


def _normalise(a):
    a[1] = np.min(np.arange(3) * 3.0) - np.dot(a[1:], np.arange(3) * 1.5)
    return 0.3 * np.sum(np.sin(a))


def written_in_a_while(u, lam):
    """A store through a helper in a while loop nested in a for loop: the store's check reads
    the array's shape; the loop's result is not needed by the derivative in some sweeps."""
    for step in range(u.shape[0]):
        it = 0
        while it < 1 and lam < -1.1:
            it = it + 1
            lam = lam + 0.3
            d = _normalise(u)
    return np.sum(u ** 2) + lam


def gates(z):
    i, f, o = np.split(z, 3)  # split
    return np.sum(np.tanh(i) * f + o)


def integer_powers(x, k, m):
    return np.sum(x * k ** m)  # integer power


def integer_scalar_power(x, n, m):
    return x * n ** m  # scalar power


def literal_negative_power(x):
    return x * 2 ** -1


def large_integer_power(x, n):
    return x * 2 ** n  # large power


def factorial_weight(x, n):
    f = 1
    for k in range(1, n + 1):
        f = f * k  # factorial
    return x / f


def fibonacci_weight(x, n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b  # fibonacci
    return x * a


def cubed_count(x, n):
    return x * abs(n * n * n)  # cubed count


def magnitude(x, n):
    return x * abs(n)  # magnitude


def stencil_indices(x, c):
    s = 0.0
    for i in range(1, len(x) - 1):
        s = s + x[i + 1] - 2.0 * x[2 * i % len(x)] + x[i - 1] * c
    return s


def integer_quotient(x, n, m):
    return x * (n // m) + x * (n % m)  # integer quotient


def numpy_integer_quotients(x, n, m):
    """NumPy's functions divide Python's ints as NumPy's: by 0, 0 (or inf) and a warning."""
    return x * np.mod(n, m) + x * np.floor_divide(n, m) + x * np.remainder(n, m)


def numpy_integer_ratio(x, n, m):
    return x * np.divide(n, m)


def array_quotients(x, counts, m):
    """Integer arrays are NumPy's too: divided by 0, zeros and a warning."""
    return x * np.sum(counts // m) + x * np.sum(np.mod(counts, m))


def element_quotient(x, counts, m):
    """An array's element is NumPy's integer, and so is what is computed from it."""
    k = counts[0] + 1
    return x * (k // m) + x * (k % m)


def checked_steps(x, dt, n):
    """The program's own checks: asserts (a literal message, an f-string's, none) and a raise
    alone in an if."""
    assert dt > 0, "dt must be positive"  # positive step
    assert x.shape[0] == 3, f"x has {x.shape[0]} components"  # three components
    if n < 0:
        raise ValueError("n must not be negative")  # steps counted
    y = x
    for k in range(n):
        assert np.all(np.isfinite(y))  # finite state
        y = y + dt * np.sin(y)
    return np.sum(y ** 2)


def raises_without_a_message(x):
    if x[0] > 10.0:
        raise RuntimeError  # too large
    return np.sum(x * x)


def raises_in_an_else(x):
    if x[0] > 0.0:
        y = x
    else:
        raise ValueError("x[0] must be positive")
    return np.sum(y)
