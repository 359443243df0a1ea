"""Functions whose Numba derivatives compute short vectors element by element (test_fuse.py)."""

import numpy as np

from loop_funcs import rk4_chain_rhs


def mixture(X, means):
    """Rows of two arrays: their shapes agree only when the data says so (a test at run time)."""
    total = 0.0
    for i in range(X.shape[0]):
        for j in range(means.shape[0]):
            d = X[i] - means[j]
            total = total + np.exp(-0.5 * np.sum(d * d * (1.0 + 0.5 * np.tanh(d))))
    return total


def pairs(pos):
    """Rows of one array: one shape (no test)."""
    e = 0.0
    for i in range(pos.shape[0]):
        for j in range(i + 1, pos.shape[0]):
            d = pos[i] - pos[j]
            e = e + np.sqrt(np.sum(d * d))
    return e


def twice(x, y):
    """x's adjoint is added to (x_bar += …) from two uses."""
    return np.sum(np.sin(x) * y) + np.sum(x * x * y)


def scaled_sum(a, b):
    """A sum over vectors whose lengths may differ (b of length 1 broadcasts)."""
    return np.sum(a * b - a)


def update_from_own_reversed_row(A, w):
    """An update whose operand is a view of the array it updates: not an element loop."""
    B = A * 1.0
    B[0] += np.flip(B[0]) * w
    return np.sum(B * B)


calls = 0


def counted_pairs(pos):
    """Writes a module global, which Numba cannot compile: the derivative falls back to Python."""
    global calls
    calls += 1
    return pairs(pos)


def reciprocal_rows(X, w):
    """Element loops divide numbers, where the vectorised form divided arrays: a zero gives inf
    in both."""
    total = 0.0
    for i in range(X.shape[0]):
        total = total + np.sum(np.where(X[i] != 0.0, w / X[i], 0.0))
    return total


def rk4_chain(x, s):
    """Runge-Kutta steps of y' = (x₀, x_i y_{i−1}), whose adjoints updated by element loops may
    share memory with values still needed (copied once, before the loop)."""
    h = 2.0 / s
    y = np.zeros(x.shape[0])
    for _ in range(s):
        k1 = rk4_chain_rhs(x, y)
        k2 = rk4_chain_rhs(x, y + 0.5 * h * k1)
        k3 = rk4_chain_rhs(x, y + 0.5 * h * k2)
        k4 = rk4_chain_rhs(x, y + h * k3)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return np.sum(y * y)


def nearest_cost(points, centroids):
    """k-means: each point's squared distance to its nearest centroid (a matrix minus a row,
    summed over an axis; its adjoint spreads a vector along the rows)."""
    total = 0.0
    for i in range(points.shape[0]):
        d = centroids - points[i]
        total = total + np.min(np.sum(d * d, axis=1))
    return total


def axis_sums(A, B, steps):
    """Matrix expressions summed over each axis, and over both, in a loop."""
    total = 0.0
    for t in range(steps):
        rows = np.sum(np.tanh(A * B) * (t + 1.0), axis=1)
        cols = np.sum(A * A - B, axis=0)
        total = total + np.sum(rows * rows) + np.sum(cols * np.sin(cols)) + np.sum(A * B)
    return total


def spread_product(X, W, v):
    """A vector spread along a matrix's rows, times the matrix, then multiplied by another
    matrix (the adjoint of a sum over the columns that feeds a product: made element by element)."""
    total = 0.0
    for t in range(3):
        Z = np.tanh(X @ W)
        s = np.sum(Z * Z, axis=1)
        total = total + np.sum(s * v) * (t + 1.0)
    return total


def stencil(u0, alpha, steps):
    """Explicit heat steps: the Laplacian's interior stored into a slice of zeros."""
    u = u0.copy()
    n = u.shape[0]
    for t in range(steps):
        lap = np.zeros(n)
        lap[1:-1] = u[2:] - 2.0 * u[1:-1] + u[:-2]
        u = u + alpha * lap
    return np.sum(u ** 2)


def overlapping_stores(u0):
    """Slices of the array stored into: NumPy reads the whole right-hand side first."""
    u = u0 * 1.0
    u[1:-1] = u[2:] + 2.0 * u[:-2]
    u[1:] += u[:-1] * 3.0
    return np.sum(u ** 2)


def sliced_bounds(x, a, b):
    """Slices with bounds known only at run time (negative, past the end), and a step of 2."""
    y = np.zeros(x.shape[0])
    y[a:b] = x[a:b] * x[a:b] + 1.0
    y[a:] += np.sin(x[a:]) * 2.0
    y[::2] -= x[::2] * 0.5
    y[-3:] = y[-3:] + x[:3] * 2.0
    return np.sum(y * y)


def row_and_column_slices(X, v):
    """Slice regions in a row (Y[i, 1:]) and in a column (Y[1:, j]) of a matrix."""
    Y = np.zeros(X.shape)
    for i in range(X.shape[0]):
        Y[i, 1:] = X[i, 1:] * v[:-1] + 1.0
        Y[1:, i % X.shape[1]] += X[1:, 0] * 2.0
    return np.sum(Y * Y)


def stencil_2d(u0, alpha, steps):
    """Explicit heat steps on a grid: the five-point Laplacian into the interior of zeros."""
    u = u0.copy()
    for t in range(steps):
        lap = np.zeros(u.shape)
        lap[1:-1, 1:-1] = u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4.0 * u[1:-1, 1:-1]
        u = u + alpha * lap
    return np.sum(u ** 2)


def block_slices(A, B, a, b):
    """Matrix slice regions with bounds known at run time, and a step of 2 on the rows."""
    C = np.ones(A.shape)
    C[a:, 1:b] += A[a:, 1:b] * B[a:, :b - 1] + 1.0
    C[::2, 1:] = C[::2, 1:] * 0.5 + np.sin(A[::2, :-1])
    return np.sum(C * C)


def stitched(x, y, s):
    """Concatenations whose elementwise piece comes first, last, and between two others, in a
    loop: each is an array stored into piece by piece, the piece by an element loop."""
    total = 0.0
    for _ in range(s):
        a = np.concatenate((np.sin(x[1:]) * y[1:], x[:1]))
        b = np.concatenate((x[:1], y[:2], x[3:] * a[3:]))
        c = np.concatenate((y[:1], x[1:-1] * b[1:-1], y[-1:]))
        total = total + np.sum(a * b * c)
        y = y + 0.1 * c
    return total
