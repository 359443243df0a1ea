"""Functions whose loops make arrays at every iteration (tests/test_inplace.py)."""

import numpy as np


def heat_from_argument(u0, alpha, steps):
    """The state starts as the caller's array and is replaced at every step."""
    u = u0
    n = u.shape[0]
    for _ in range(steps):
        lap = np.zeros(n)
        lap[1:-1] = u[2:] - 2.0 * u[1:-1] + u[:-2]
        u = u + alpha * lap
    return np.sum(u ** 2)


def start_needed_after(u0, steps):
    """The initial state is read again after the loop."""
    u = u0
    for _ in range(steps):
        u = u + 0.1 * np.sin(u)
    return np.sum(u) + np.sum(u0 ** 2)


def start_read_inside(u0, steps):
    """The initial state is read by every step."""
    u = u0
    for _ in range(steps):
        u = u - 0.2 * (u - u0) * u
    return np.sum(u * u)


def doubled(x, steps):
    """The update reads the array it updates twice."""
    for _ in range(steps):
        x = x + x * 0.5
        x = x + x
    return np.sum(np.sin(x))


def broadcast_into(u, v, steps):
    """`v` of one element broadcasts into the state's shape."""
    for _ in range(steps):
        u = u + 0.5 * v * u
    return np.sum(u ** 2)


def relaxed(x, a, tol):
    """A while loop carrying a vector it updates by subtraction."""
    step = 1.0
    while step > tol:
        dx = a * np.sin(x)
        x = x - dx
        step = np.sum(dx * dx)
    return np.sum(x * x)


def adjoint_read_thrice(u0, alpha, steps):
    """The reverse sweep's ``lap_bar = u_bar * alpha`` is read by three updates."""
    u = u0.copy()
    n = u.shape[0]
    for _ in range(steps):
        lap = np.zeros(n)
        lap[1:-1] = u[2:] - 2.0 * u[1:-1] + u[:-2]
        u = u + alpha * lap
    return np.sum(u ** 3)


def carried_products(x, steps):
    """Each step's product is carried to the next two steps: it outlives its iteration."""
    prev, cur = x, x * 1.1
    for _ in range(steps):
        new = prev * cur * 0.5 + 0.1
        prev, cur = cur, new
    return np.sum(prev) + np.sum(cur ** 2)


def listed_rows(x, steps):
    """Each step's array is appended to a list (which keeps its own copy of the row)."""
    rows = []
    for k in range(steps):
        row = np.sin(x * (k + 1.0))
        rows.append(row)
        x = x + 0.1 * row * row
    return np.sum(np.stack(rows) ** 2) + np.sum(x)


def scratch_rows(x, steps):
    """An array made empty at every step and filled."""
    n = x.shape[0]
    total = 0.0
    for k in range(steps):
        scratch = np.empty(n)
        scratch[:] = np.cos(x * k)
        total = total + np.sum(scratch * x) + scratch[0] * scratch[-1]
    return total


def midpoint_steps(x, h, steps):
    """A midpoint integrator: each step's midpoint is taped for the reverse sweep and read again
    in the step."""
    for _ in range(steps):
        mid = x + 0.5 * h * np.sin(x)
        x = x + h * np.sin(mid)
    return np.sum(x * x)


def transposed_products(W, P, n):
    """A product with a transpose made before the loop (``P.T``, strided rows), at every step,
    on both sides of the product."""
    Q = P.T
    total = 0.0
    for _ in range(n):
        M = W @ Q
        total = total + np.sum(np.tanh(M)) + np.sum(Q @ M.T)
        W = W * 0.9
    return total
