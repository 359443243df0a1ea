"""Functions that share memory between names, views and helpers, and update it in place;
differentiated by tests/test_aliasing.py, which checks them against NumPy running them."""

import numpy as np

G = np.array([1.0, 2.0, 3.0])


# --- an update through one name is seen through the others -------------------------------------

def scaled_through_alias(x):
    v = x
    v *= 2.0
    return np.sum(x * x)


def shifted_under_transpose(A):
    m = A.T
    A += 1.0
    return np.sum(m * m * A[0, 1])


def shifted_through_slice(x):
    v = x[1:]
    v += 1.0
    return np.sum(x * x)


def stored_through_row_view(x):
    y = x.copy()
    row = y[0:2]
    row[0] = 5.0
    return np.sum(row * x[0:2]) + np.sum(y * y)


def stored_through_moved_axes(x):
    y = np.moveaxis(x.copy(), 0, 1)
    y[0, 0] = 5.0 * x[1, 1]
    return np.sum(y * x.T)


def stored_through_transpose(x):
    y = x.copy()
    t = y.T
    t[0, 1] = 5.0 * t[0, 0]
    return np.sum(y * x)


def stored_through_swapped_axes(x):
    y = x * 3.0
    s = np.swapaxes(y, 0, 1)
    s[0, 1] *= x[0, 0]
    return np.sum(y * y)


def stored_through_second_name(x):
    y = x * 2.0
    z = y
    z[0] = 1.0
    return np.sum(y * x)


def stored_through_chained_index(A):
    B = A.copy()
    B[1][0] = A[0][1] * A[1][1]
    B[0][1:] *= 2.0
    return np.sum(B * B)


def stored_through_subscripted_view(x):
    y = np.sin(x)
    y[1:][0] = 7.0 * x[0]
    return np.sum(y * x)


def expanded_view_written(x):
    y = x * 1.5
    e = y[None, :]
    c = np.expand_dims(y, 0)
    c *= 2.0
    return np.sum(e * y)


def flipped_view_written(x):
    y = x + 0.5
    f = np.flip(y)
    f[0] = f[1] * f[2]
    return np.sum(y * x)


def reshaped_new_array_written(x):
    y = np.zeros(6)
    y[:] = x
    m = y.reshape((2, 3))
    m[1, 1] = m[0, 0] * 3.0
    return np.sum(y * y)


def reshaped_computed_vector_written(x):
    y = np.sin(x[::-1]) * 2.0  # (a vector NumPy makes is contiguous: its reshape is a view)
    m = np.reshape(y, (2, 3))
    m[1, 1] = m[0, 0] * 3.0
    return np.sum(y * x)


def diagonal_sees_later_writes(A):
    d = np.diag(A)
    A = A * 1.0
    B = A.copy()
    e = np.diag(B)
    B[0, 0] = 10.0 * B[1, 1]
    return np.sum(d * d) + np.sum(e * e)


def taken_column_is_a_copy(A):
    B = A * 2.0
    t = np.take(B, 0, axis=1)
    B[0, 0] = 100.0
    return np.sum(t * t) + np.sum(B)


def index_array_read_is_a_copy(x):
    y = x * 2.0
    z = y[np.arange(0, 3, 2)]
    y[0] = 50.0
    return np.sum(z * z) + np.sum(y)


def tuple_holds_a_written_array(x):
    y = x * 1.0
    pair = (y, x)
    y[0] = 9.0
    a, b = pair
    return np.sum(a * b)


def positive_is_a_copy(x):
    y = +x
    y[0] = 5.0
    return np.sum(x * y)


def unchanged_value_is_a_copy(x):
    y = x * 1.0
    y[0] = 5.0
    return np.sum(x * y)


# --- helpers write into their arguments ----------------------------------------------------------

def decrement(a):
    a -= 1.0


def put_five(a):
    a[0] = 5.0
    return 0.0


def first_two(a):
    return a[:2]


def helper_decrements(x):
    y = x * 1.0
    decrement(y)
    return np.sum(y * y)


def helper_stores(x):
    y = x * 1.0
    t = put_five(y)
    return np.sum(y * x) + t


def helper_returns_a_view(x):
    y = x * 1.0
    v = first_two(y)
    v *= 3.0
    return np.sum(y * y)


def helper_writes_into_a_row(A):
    B = A * 1.0
    decrement(B[1])
    return np.sum(B * A)


# --- loops ------------------------------------------------------------------------------------

def loop_writes_under_an_alias(x):
    y = x * 1.0
    v = y
    for i in range(3):
        y[0] = 2.0 * y[0]
    return np.sum(v * v)


def while_writes_under_a_column_view(A):
    B = A * 1.0
    v = B[:, 0]
    i = 0
    while i < 2:
        B[1] = B[1] * 2.0
        i += 1
    return np.sum(v * v)


def loop_scales_rows(X, w):
    Y = X.copy()
    for i in range(Y.shape[0]):
        row = Y[i]
        row *= w[i]
    return np.sum(Y * Y)


def loop_over_rows_writes_them(X):
    Y = X * 1.0
    for row in Y:
        row += row[0]
    return np.sum(Y * X)


def double_buffer(u0, r):
    u = u0.copy()
    v = np.zeros_like(u0)
    for t in range(4):
        v[1:-1] = u[1:-1] + r * (u[2:] - 2.0 * u[1:-1] + u[:-2])
        v[0] = u[0]
        v[-1] = u[-1]
        u, v = v, u
    return np.sum(u * u)


def helper_in_loop(x):
    y = x * 1.0
    for i in range(3):
        decrement(y)
        y *= 1.5
    return np.sum(y * y)


def branch_writes_through_view(x, c):
    y = x * 1.0
    v = y[1:]
    if c > 0.0:
        v *= 2.0
    else:
        y[0] = 3.0
    return np.sum(y * y) + np.sum(v)


def same_view_from_both_branches(x, c):
    y = x * 1.0
    if c > 0.0:
        v = y[1:]
    else:
        v = y[1:]
    v += 1.0
    return np.sum(y * y)


def new_arrays_from_both_branches(x, c):
    if c > 0.0:
        v = x * 2.0
    else:
        v = x * 3.0
    v[0] = 1.0
    return np.sum(v * x)


# --- more shapes of the same (views rebound in loops, in while conditions, chained) ---------------
def rebind_view_in_loop(x):
    y = x * 1.0
    v = y[:2]
    for i in range(3):
        v = y[1:]
        v *= 2.0
    return np.sum(y * y)

def while_cond_view(x):
    y = x * 1.0
    v = y[:1]
    while v[0] < 10.0:
        y *= 2.0
    return np.sum(y)

def reversed_param(x):
    x = x[::-1]
    x[0] = 5.0 * x[1]
    return np.sum(x * x)

def nested_loops_rows(X):
    Y = X * 1.0
    for k in range(2):
        for i in range(Y.shape[0]):
            r = Y[i]
            r[1:] += r[:-1] * 0.5
    return np.sum(Y * Y)

def helper_twice(x):
    y = x * 1.0
    z = y[1:]
    bump(z)
    bump(y)
    return np.sum(y[1:] * z)

def bump(a):  # (a helper that writes and returns nothing)
    a += 1.0
    a[0] *= 2.0

def cond_expr_same(x, c):
    y = x * 1.0
    v = y if c > 0 else y
    v[0] = 3.0
    return np.sum(y * x)

def transpose_of_view(A):
    B = A * 1.0
    c = B[:, 1:]
    d = c.T
    d[0, :] = 7.0
    return np.sum(B * A)


# --- the caller's arrays -----------------------------------------------------------------------

def writes_its_argument(x):
    x[0] = x[0] * x[1]
    x *= 2.0
    return np.sum(x * x)


def writes_its_argument_in_a_loop(x, n):
    for i in range(n):
        x[i % 3] = x[i % 3] * 1.5 + x[(i + 1) % 3]
    return np.sum(np.sin(x))


def writes_first_argument(x, y):
    x += y
    return np.sum(x * y)


def _increment(a):
    a += 1.0


def updates_a_number(x, z):
    z *= 2.0
    return x * z


def updates_a_number_in_a_helper(x, z):
    _increment(z)
    return x * z


WEIGHTS = np.ones(3)


def writes_its_argument_and_reads_a_global(x):
    x *= 2.0
    return np.sum(WEIGHTS * x)


# --- refused: NumPy's result would depend on what cannot be known here -------------------------

def alias_from_a_branch_written(x, c):
    y = x * 1.0
    if c > 0.0:
        v = y
    else:
        v = y * 2.0
    v[0] = 1.0  # <-
    return np.sum(y)


def alias_from_a_branch_read_after_a_write(x, c):
    y = x * 1.0
    v = y if c > 0.0 else y * 2.0
    y[0] = 1.0
    return np.sum(v)  # <-


def reshape_of_an_argument_written(x):
    m = x.reshape(-1)
    m[0] = 1.0  # <-
    return np.sum(x)


def ravel_of_a_copy_written(A):
    B = A * 1.0  # (NumPy keeps A's layout: of a Fortran-ordered A, B.ravel() is a copy)
    r = B.ravel()
    r[1] = 9.0  # <-
    return np.sum(B * A)


def ravel_of_zeros_like_written(A):
    B = np.zeros_like(A)  # (likewise np.copy(A), A.astype(float) and +A)
    r = B.ravel()
    r[1] = 9.0  # <-
    return np.sum(B * A)


def ravel_of_a_c_ordered_copy_written(A):
    B = A.copy()  # (the method's order='C': B.ravel() is a view)
    r = B.ravel()
    r[1] = 9.0 * A[0, 0]
    return np.sum(B * A)


def diagonal_written(A):
    d = np.diag(A)
    d[0] = 1.0  # <-
    return np.sum(A)


def float_into_int_array(x):
    k = np.arange(3)
    k += 1.5  # <-
    return np.sum(x * k)


def module_array_written(x):
    G[0] = x  # <-
    return np.sum(G)


def update_changing_shape(x, y):
    x += y
    return np.sum(x)


def conditional_expression_writes(x, c):
    y = x * 1.0
    t = helper_stores(y) if c > 0.0 else 0.0  # <-
    return np.sum(y) + t


def view_of_a_path_dependent_alias_written(x, c):
    if c > 0.0:
        x = x * 2.0
    v = x[:2]
    v[0] = 1.0  # <-
    return np.sum(x)


def view_of_a_temporary_carried(x, c):
    """M is a transposed view of an array nothing else refers to: written in place on some
    iterations, rebound on others, it is an array of its own either way."""
    M = (np.outer(x, x) + 1.0).T
    for i in range(3):
        if c * i > 0.5:
            M /= 2.0 + M * M
        else:
            M = M * np.sin(M)
    return np.sum(M)


def shifted_into_itself(x):
    """y[1:] = y[:-1] (a delay line): NumPy copies the overlapping elements in the order that
    keeps them right, as if the right side were copied first."""
    y = x.copy()
    y[1:] = y[:-1]
    return np.sum(y * np.arange(3.0))


def shift_into(out, src):
    out[:] = src


def shifted_through_views_of_views(x):
    """Shifts whose two sides are views of views with the same stride (a helper's ``out[:] = src``
    given ``y[1:]`` and ``y[:-1]``, np.copyto of two slices, a slice of a row, of a reversed
    view): NumPy copies them as if the right side were copied first (they used to be refused as
    views with other strides)."""
    y = x * 1.0
    shift_into(y[1:], y[:-1])
    np.copyto(y[:-1], y[1:])
    v = y[::-1]
    v[:-1] = v[1:]
    y[::2][1:] = y[:-2:2]
    M = np.outer(y, x)
    M[1][1:] = M[1][:-1]
    return np.sum(y * x * np.arange(1.0, len(x) + 1.0)) + np.sum(M * M)


def rows_shifted_up(A):
    """A store into two axes from an overlapping view: NumPy copies the view first."""
    B = A.copy()
    B[:-1, :] = B[1:, :]
    return np.sum(B * B * A)


def row_from_next_row_in_a_loop(A):
    B = A.copy()
    for i in range(2):
        B[i] = 0.5 * B[i] + B[i + 1] * 0.0
        B[i, 1:] = B[i, :-1]
    return np.sum(B * A)


def row_set_from_a_column(A):
    B = A.copy()
    B[1] = B[:, 2]  # <-
    return np.sum(B * B)


def row_set_from_a_column_view(A):
    B = A.copy()
    c = B[:, 0]
    for i in range(2):
        B[i] = c  # <-
    return np.sum(B * B)


def rows_swapped_between_two_arrays(A, B):
    P = A.copy()
    Q = B.copy()
    P[0], Q[0] = Q[0], P[0]  # NumPy: Q[0] gets P[0] as the first store left it (Q's own row): no swap
    return np.sum(P * A) + 2.0 * np.sum(Q * B)


def rows_swapped_by_a_tuple(A):
    B = A.copy()
    B[0], B[1] = B[1], B[0]  # NumPy: both rows end up as the old row 1
    return np.sum(B * A) + B[0, 0]


def reversed_into_itself(x):
    y = x.copy()
    y[:] = y[::-1]  # NumPy copies the right side first: strides in opposite directions
    y[1:3] = y[2:0:-1]
    return np.sum(y * x) + y[0]


def off_diagonal_sees_later_writes(A):
    B = A.copy()
    d = np.diag(B, 1)  # a read-only view of the first superdiagonal
    B[0, 1] = 5.0 * A[2, 2]
    return np.sum(d * d) + np.sum(np.diag(B, -2))


def copies_into_views(x):
    y = np.zeros_like(x)
    np.copyto(y, x * 2.0)
    np.add(y[1:], y[:-1], out=y[1:])  # (NumPy computes as if its inputs were copied first)
    np.maximum(y, 0.0, out=y)
    np.multiply(x, y, out=x)  # (the caller's array)
    return np.sum(y * x)


def outputs_by_position(x):
    y = x * 1.0
    np.multiply(y, 2.0, y)  # (a ufunc's output given by position is its out=)
    np.negative(y[:-1][::-1], y[1:])
    np.subtract(x, y, x)  # (the caller's array)
    return np.sum(y * x)


def masked_store_from_an_overlapping_view(x):
    y = x * 1.0
    y[np.array([False, True, True])] = y[:2]  # <- (NumPy copies each run of set elements in turn: what a run reads may be written by an earlier one)
    return np.sum(y * x)


def cumsum_into(x):
    y = np.empty_like(x)
    np.cumsum(x, out=y)  # <- refused: out= of a function that is not a ufunc
    return np.sum(y)


def _kick_drift(x, v, dt):
    v -= dt * np.sin(x)
    x += dt * v
    return x, v  # (the arrays it was given, updated in place)


def integrator_steps_its_arguments(x, v):
    for _ in range(3):
        x, v = _kick_drift(x, v, 0.1)  # (the caller's arrays, all along)
    return np.sum(x * v)


def _kick_drift_through_views(x, v, dt):
    v[:] = v - dt * x
    x[:] += dt * v
    return x, v


def integrator_steps_through_views(x):
    v = np.zeros_like(x)
    k = 0
    while k < 3:
        x, v = _kick_drift_through_views(x, v, 0.2)
        k += 1
    return np.sum(x * x) + np.sum(v)


def integrator_state_seen_through_an_earlier_name(x0):
    x = x0.copy()
    first = x  # (the same array as x, before and after every step)
    v = x0 * 0.5
    for _ in range(3):
        x, v = _kick_drift(x, v, 0.1)
        first[0] = first[0] * 1.5
    return np.sum(first * x) + np.sum(v)


# --- views made by np.split, np.flipud and np.atleast_2d: a write through them reaches the array -----

def split_then_write(x):
    y = x * 1.0
    a, b = np.split(y, [2])
    b *= a[0]
    return np.sum(y * x)


def flipud_then_write(x):
    y = x * 1.0
    v = np.flipud(y)
    v[0] = 3.0 * x[1]
    return np.sum(y * x)


def atleast_2d_then_write(x):
    y = x * 1.0
    v = np.atleast_2d(y)
    v[0, 1] = 5.0
    return np.sum(y * x)


def matrix_power_one_then_write(x):
    A = np.outer(x, x) + 1.0
    B = np.linalg.matrix_power(A, 1)  # (A itself, as NumPy returns it)
    B[0, 0] = 3.0 * x[1]
    return np.sum(A * x[0]) + np.sum(np.linalg.matrix_power(A, 2))


def updates_a_copy_of_a_number(x, z):
    """`w` is always a copy of z (a new 0-d array in NumPy): updating it never reaches the caller's."""
    w = z.copy()
    w += x
    return w * z


def updates_a_number_on_one_path(x, z):
    """`w` is z itself on one path (NumPy's `w += x` then updates the caller's 0-d array), a copy on
    the other."""
    if x > 0:
        w = z.copy()
    else:
        w = z
    w += x
    return w * z


def updates_a_number_carried_by_a_loop(x, z, n):
    """`w` is z itself when the loop starts: the first `w += x` updates the caller's 0-d array."""
    w = z
    for _ in range(n):
        w += x
    return w * z
