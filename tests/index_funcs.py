"""Reads through index arrays, for test_indexing.py."""

import numpy as np


def gather_sum(x, idx):
    return np.sum(x[idx])


def gather_sin(x, idx):
    return np.sum(np.sin(x[idx]) * x[idx])


def gather_rows(W, idx):
    return np.sum(W[idx] ** 2)


def positive_cubes(x):
    return np.sum(x[x > 0.0] ** 3)


def minus_gather(x, idx):
    return np.sum(-x[idx]) + np.sum(x)


def minus_masked(x):
    return np.sum(-x[x > 0.0])


def store_through_index(x, idx):
    y = x.copy()
    y[idx] = 0.0
    return np.sum(y * np.arange(1.0, 1.0 + y.shape[0]))


def two_index_arrays(W, i, j):
    return np.sum(np.sin(W[i, j])) + np.sum(W[np.arange(2), j[:2]] ** 2)


# --- stores through index arrays and masks (NumPy is the reference: see the tests) ---------------

def relu_in_place(h):
    h = h.copy()
    h[h < 0] = 0.0
    return np.sum(h * h)


def relu_of_a_matrix(W, x):
    H = np.outer(x, x) * W
    H[H < 0.1] *= 0.5
    return np.sum(H ** 2)


def values_stored_at_repeated_indices(x, v):
    y = x.copy()
    idx = np.array([0, 2, 0])  # (x[0] keeps v[2], the last written)
    y[idx] = v
    return np.sum(y * np.arange(1.0, 1.0 + y.shape[0]))


def added_at_repeated_indices(x, v):
    y = x.copy()
    idx = np.array([3, 1, 3])  # (x[3] gets v[2] once: the store is buffered)
    y[idx] += v * 2.0
    y[idx] -= v[0]
    return np.sum(y ** 2)


def columns_updated(A):
    B = A.copy()
    idx = np.array([2, 0])
    B[:, idx] = np.sin(B[:, idx])
    B[1, idx] *= 3.0
    B[idx, 1:] /= 2.0
    return np.sum(B ** 2) + np.sum(A[1:, idx])


def rows_of_a_mask_doubled(A, m):
    B = A.copy()
    B[m] = B[m] * 2.0
    return np.sum(B ** 3)


def positive_entries_rooted(A):
    B = A.copy()
    B[B > 0] = np.sqrt(B[B > 0])
    return np.sum(B * B * B)


def scatter_added(x, v):
    y = np.zeros(3)
    np.add.at(y, np.array([2, 0, 2, 2]), v * x[0])  # (repeats add up)
    np.add.at(y, 1, x[1])
    return np.sum(y ** 2) + np.sum(x)


def pairs_stored(W, i, j):
    V = W.copy()
    V[i, j] = np.cos(W[j, i])
    V[i, 1] += 2.0 * W[0, 0]
    return np.sum(V ** 2)


def cross_entropy(logits, y):
    z = logits - np.max(logits, axis=1)[:, None]
    p = np.exp(z) / np.sum(np.exp(z), axis=1)[:, None]
    return -np.mean(np.log(p[np.arange(logits.shape[0]), y]))


def stores_in_a_loop(x, idx):
    y = x.copy()
    for t in range(3):
        y[idx] = 0.5 * y[idx] + np.sin(y[idx[::-1]])
        y[y > 1.0] -= 0.1 * t
    return np.sum(y ** 2)


def stored_through_two_axes(x, idx):
    y = x.copy()
    y[idx.reshape(2, -1)] = 0.0
    return np.sum(y * x)


def rows_stored_through_two_axes(X, v):
    """Rows named by an index of two axes, one repeated (the last row written stays), then added
    into through the same index (each repetition adds once, as in NumPy)."""
    I = np.array([[0, 2], [2, 1]])
    Y = X * 1.0
    Y[I] = v
    Y[I] += np.sin(X[I])
    return np.sum(Y * Y * X)


def pairs_stored_through_two_axes(A, v):
    r = np.array([[0, 2], [1, 2]])
    c = np.array([[1, 0], [1, 0]])
    B = A * 1.0
    B[r, c] = v
    B[r, c] *= 2.0
    return np.sum(B * B * A)


def index_arrays_beside_a_slice(T, w):
    r = np.array([0, 1, 1])
    c = np.array([1, 0, 3])
    return np.sum(T[r, :, c] ** 2 * w)  # (shape (3, 3): the arrays' axis first)


def index_arrays_next_to_each_other(T, w):
    rows = np.array([[2], [0]])
    return np.sum(np.cos(T[:, rows, np.array([1, 3, 0])]) * w)  # (shape (2, 2, 3): in place)


def index_arrays_and_none(T, w):
    return np.sum(np.sin(T[None, np.array([1, 0]), :, np.array([[3], [2]])]) * w)  # (shape (2, 2, 1, 3))


def a_mask_beside_an_array(T, w):
    return np.sum(T[T[:, 0, 0] > -0.5, 1:, np.array([2])] * w[:2, :2])  # (the mask's set positions)


def stores_beside_a_slice(T, v):
    U = T * 1.0
    U[np.array([1, 0, 1]), :, np.array([0, 2, 0])] = np.sin(v)  # (repeated: the last value stays)
    U[0, 1:, np.array([3, 1])] *= 2.0
    U[:, np.array([[2], [0]]), np.array([1, 3])] += v[0, 0]
    return np.sum(U * U * np.arange(24.0).reshape(2, 3, 4))


def embedding_lookup(E, tokens):
    return np.sum(np.tanh(E[tokens]) * np.arange(1.0, 1.0 + E.shape[1]))  # (rows of E in tokens' shape)


def index_arrays_with_two_axes(x, idx):
    return np.sum(x[idx.reshape(2, -1)] ** 2 * np.array([1.0, 2.0]))


def pairs_of_two_axes(A, r, c):
    return np.sum(np.sin(A[r, c[:, None]]))  # (r and c broadcast against each other)


def integer_and_array_apart(T, w):
    idx = np.array([0, 1])
    return np.sum(T[1, :, idx] * w)  # (NumPy's result has idx's axis first)


def array_then_integer_apart(T, w):
    """The array's axis comes first either way: NumPy's result and the positional one agree."""
    idx = np.array([0, 1, 1])
    U = T * 1.0
    U[idx[:2], :, 1] = w[:2] * 2.0
    return np.sum(T[idx, :, 1] * w) + np.sum(U * T)


def integer_and_array_apart_in_two_steps(T, w):
    idx = np.array([0, 1])
    return np.sum(np.moveaxis(T[1][:, idx], 1, 0) * w)


def index_array_beside_none(x, idx):
    return np.sum(x[idx, None] * np.arange(1.0, 1.0 + idx.shape[0])[:, None])


def a_mask_of_two_axes_beside_an_index(T):
    return np.sum(T[T[:, :, 0] > 0.0, np.array([0])])  # <- refused


def _rotate(p, c):
    """Reads the entries of a row it is given (inlined at each call with a row of an array)."""
    return p[0] * c[0] - p[1] * c[1] + np.sin(p[2] * c[2])


def rows_read_by_entry(P, C):
    """Each row of P and C is passed on and read entry by entry: X[j][k] is X[j, k]."""
    s = 0.0
    for j in range(P.shape[0]):
        s = s + _rotate(P[j], C[j]) * P[j][1]
    return s


def row_of_gathered_rows(X, idx):
    """``X[idx][1]`` is row idx[1] of X, not ``X[idx, 1]``: index arrays are not composed."""
    G = X[idx]
    return np.sum(G[1] * G[1]) + np.sum(np.sin(G[:, 0]))


# --- integers computed from floats: they select, the values they select carry the derivative -----

def linear_lookup(table, t):
    """A texture-style lookup: the cell from int(), the weight from what is left."""
    s = t * (table.shape[0] - 1)
    i = min(int(s), table.shape[0] - 2)
    w = s - i
    return (1 - w) * table[i] + w * table[i + 1]


def cells_of_points(table, s):
    idx = np.floor(s).astype(int)
    return np.sum(table[idx] * (s - idx)) + np.sum(table[(s * 1.2).astype(np.int64)])


def piecewise_linear(x, grid, values):
    """np.interp written by hand: np.searchsorted finds the interval."""
    k = np.clip(np.searchsorted(grid, x) - 1, 0, grid.shape[0] - 2)
    w = (x - grid[k]) / (grid[k + 1] - grid[k])
    return np.sum((1 - w) * values[k] + w * values[k + 1])


def binned(x, bins):
    return np.sum(x ** 2 * np.digitize(x, bins)) + np.sum(x * np.digitize(x, bins, right=True))


def extremes(x):
    return x[np.argmax(x)] * 2.0 + x[np.argmin(x)] + np.sum(x[np.argmax(np.outer(x, x), axis=1)])


def clipped_integer_index(x, t):
    return x[np.clip(int(t), 0, x.shape[0] - 1)] ** 2


def integer_of_nan(x):
    return x[int(x[0] * np.inf)]


def along_axes(A, idx):
    return np.sum(np.take_along_axis(A, idx, axis=1) ** 2) + np.sum(np.take_along_axis(A, np.array([[2, 0, 1]]), 0))


def put_along_rows(A, idx):
    B = A.copy()
    np.put_along_axis(B, idx, np.sin(A[:, :2]), axis=1)
    return np.sum(B ** 2)


def allocations_with_dtypes(x):
    k = np.zeros(3, dtype=int)
    k[1] = 2
    e = np.full(3, 1.5, dtype=float)
    r = np.arange(3, dtype=float)
    b = np.ones(3, dtype=bool)
    return np.sum(x[k] * e) + np.sum(r * x) + np.sum(x[b]) + np.sum(np.eye(3, dtype=int) @ x)


def allocations_like_integers(x, k):
    # (NumPy's _like arrays keep the dtype: floats stored into them are truncated)
    z = np.zeros_like(k)
    z[:] = x * 2.5
    f = np.full_like(k, 2.7)
    m = np.ones_like(k > 1)
    m[0] = x[0] * 0.0
    return np.sum(z * x) + np.sum(f * x) + np.sum(x[m])


def integer_results_of_float_functions(x, k):
    # (np.fabs of integers gives floats, np.nansum and np.nanmax integers: a float stored into each
    # is kept or truncated as NumPy does)
    a = np.fabs(k)
    a[0] = 2.7
    b = np.nansum(k) + k
    b[0] = 2.7
    c = np.nanmax(k) - k
    c[1] = 1.9
    return np.sum(a * x) + np.sum(b * x) + np.sum(c * x) + np.nanmin(k) * x[2] + np.sum(np.sinc(k) * x)


def clipped_booleans_and_integers(x, k):
    # (np.clip of booleans gives integers, of integers between float bounds floats, as NumPy does)
    a = np.clip(k > 1, 0, 1)
    a[0] = 2.7
    b = np.clip(k, 0, 1.5)
    b[1] = 2.7
    return np.sum(a * x) + np.sum(b * x)


def squeezed_without_an_axis(x):
    return np.sum(np.squeeze(x[None, :]))


def scatter_past_the_end(x):
    y = np.zeros(3)
    np.add.at(y, np.array([0, 3]), x[:2])
    return np.sum(y)


def indices_written_as_lists(x):
    y = x.copy()
    y[[0, 2]] = 3.0 * x[[1, 1]]                  # (a list of integers is an index array)
    y[[True, False, True, False]] *= 2.0         # (a list of booleans is a mask)
    np.add.at(y, [0, 0, 3], x[:3])
    return np.sum(y ** 2) + np.sum(x[[3, 0]] * x[[0, 3]])


def masks_combined(x):
    inside = (x > 0.0) & (x < 1.0)
    outside = ~inside | (x > 1.5)
    y = x.copy()
    y[inside ^ (x > 0.5)] *= 3.0
    return np.sum(np.where(inside, x ** 2, 0.0)) + np.sum(y[outside]) + np.sum(x[np.logical_and(x > -1.0, ~inside)])


def logical_functions(x, k):
    keep = np.logical_or(x < -1.0, np.logical_not(x < 0.5))
    return np.sum(x[np.logical_xor(keep, x > 1.0)]) + x[(k & 3) | 1] * float(k ^ 2)


def float_operand_of_and(x):
    return np.sum(x[(x > 0.0) & 1.0])


def invert_of_a_boolean(x):
    return x[0] if ~(x[0] > 0.0) else x[1]


def negative_of_a_mask(x):
    return np.sum(x * -(x > 0.0))


def difference_of_masks(x):
    return np.sum(x * ((x > 0.0) - (x > 1.0)))


def sum_of_two_booleans(x):
    return x[0] * ((x[0] > 0.0) + (x[1] > 0.0))


def ellipses(T, w):
    """``...`` stands for the full slices of the axes the other parts leave, in reads and stores."""
    U = T * 1.0
    U[..., 0] = 2.0 * T[..., 1]
    U[0, ...] += np.sin(T[1, ...])
    return np.sum(U * w[..., None]) + np.sum(np.cos(T[..., None, 1:]) * w[..., None, None]) + np.sum(T[...] ** 2)


def two_ellipses(T):
    return np.sum(T[..., 0, ...])  # <- refused, as NumPy refuses it


def new_axes_by_name(x, w):
    """``np.newaxis`` (a module attribute that is None) and a parameter bound to None add an axis,
    as a literal None does: the outer product of x with itself, then a column of x[0]."""
    return np.sum(x[:, np.newaxis] * x[np.newaxis, :] * w) + np.sum(x[np.newaxis] * x[0])


def submatrix_through_ix(A, w):
    """np.ix_ selects the grid of its vectors' combinations, read and written (the last value
    written to a repeated position staying)."""
    B = A * 1.0
    B[np.ix_(np.array([0, 0, 2]), np.array([3, 1]))] = w
    rows = [2, 1]
    return np.sum(B[np.ix_(rows, np.array([0, 3, 3]))] ** 2) + np.sum(A[np.ix_(np.array([1]), np.array([2, 0]))] * B[1:2, :2])


def positions_of_nonzero_elements(x, A):
    """np.where(c) and np.nonzero(c) give the positions of c's nonzero elements along each axis
    (integers without a derivative, as a mask's), np.flatnonzero those in the ravelled array."""
    (idx,) = np.where(x > 0.0)
    y = x * 1.0
    y[np.nonzero(x < -0.5)[0]] = 0.0
    r, c = np.nonzero(A > 0.0)
    k = np.flatnonzero(np.maximum(A, 0.0))
    return np.sum(x[idx] * idx) + np.sum(y * x) + np.sum(A[r, c] * (r + 2 * c)) + np.sum(A.ravel()[k] ** 2)
