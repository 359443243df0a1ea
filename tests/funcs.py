"""Module-level functions differentiated by the tests (s2sad reads their source with inspect)."""

import numpy as np


# --- scalar functions -------------------------------------------------------------------------

def fan_out(x, y):
    v = np.cos(x) + x * y
    return np.exp(v) + v ** 2


def sin_sq_exp(x):
    return np.sin(x ** 2) * np.exp(x)


def sin_poly(x):
    return np.sin(x ** 2 + 2 * x + 1)


def euler_step(y0, p, h):
    y1 = y0 - h * p * y0 ** 2
    return y1


def min_of(theta):
    return min(theta ** 2, 2 * theta)


# --- control flow -------------------------------------------------------------------------------

def if_elif_else(x):
    if x < -1.0:
        y = x ** 3
    elif x < 1.0:
        y = np.sin(x)
    else:
        y = np.exp(2 * x)
    return y


def nested_ifs(x, y):
    if x > 0:
        if y > 0:
            z = x * y
        else:
            z = x * x * y
    else:
        if y > 0:
            z = x + y * y
        else:
            z = -x * y
    return z


def conditional_expr(x, y):
    z = x * y if x > y else x + np.sin(y)
    return z * x


def branch_local(x, y):
    if x > 0:
        t = np.exp(x * y)
        r = t * t + y
    else:
        r = y * y
    return r + x


# Values an `if`'s adjoint reads from inside a branch are yielded out of it, with a placeholder of
# their type from the other branch: a bool matrix, an int vector, a shape.

def masked_in_branch(X, c):
    y = 0.0
    if c > 0.0:
        cols = np.arange(X.shape[1])
        y = np.sum(np.where(X > 0.5, X * cols, 0.0))
    return y + np.sum(X * X)


def weighted_after_return(x, c):
    if c < 0.0:
        return np.sum(x)
    idx = np.arange(x.shape[0])
    return np.sum(x * x * idx)


def reshaped_in_branch(X, c):
    """Z = 2.25 X⁴ after the loop; its reverse sweep reads the shape (X.size,) made in the branch."""
    y = 0.0
    if c > 0.0:
        Z = X * X
        k = 0
        while k < 2:
            Z = np.reshape(np.reshape(Z, (X.size,)) * 1.5, X.shape) * X
            k = k + 1
        y = np.sum(Z)
    return y + np.sum(X)


def augmented(x, y):
    z = x
    z += y * x
    z *= y
    z -= x
    z /= 2.0
    return z


# --- arrays ----------------------------------------------------------------------------------------

def mse(w, X, y):
    return np.mean((X @ w - y) ** 2)


def tanh_layer(W, b, x, target):
    h = np.tanh(W @ x + b)
    return np.sum((h - target) ** 2)


def logsumexp(x):
    return np.log(np.sum(np.exp(x)))


def index_product(x):
    return x[0] * x[1]


def slice_sum(x):
    return np.sum(x[1:3] ** 2)


def first_column(A):
    return np.sum(np.sin(A[:, 0]) * A[:, 1])


def matrix_element(A):
    return A[0, 1] * A[1, 0] + A.sum()


def helper_affine(w, x):
    return np.dot(w, x)


def shared_weights(w, x1, x2):
    a = helper_affine(w, x1)
    b = helper_affine(w, x2)
    return a * b


# --- signatures --------------------------------------------------------------------------------------

def three_args(a, b, c):
    return a * b ** 2 + np.sin(c) * a


def with_default(x, scale=3.0):
    return scale * x ** 2


def returns_pair(x, y):
    return x * y, np.sin(x) + y


def returns_pair_named(x, y):
    p = x * y
    q = np.sin(x) + y
    return p, q


def returns_same_twice(x):
    a = x * 2.0
    return a, a


def returns_array(x):
    return 2.0 * x


def array_pair(x, y):
    prod = x * y
    total = np.sum(x)
    return prod, total


def outer_loss(a, b):
    return np.sum(np.outer(a, b) ** 2)


def floor_divide_by_one(x):
    return (x // 1.0) * x


def repeated_operands(x):
    """The same value in both operands of elementwise functions: x*x, hypot(x, x), x**x, arctan2."""
    return np.sum(x * x) + np.sum(np.hypot(x, x)) + np.sum(x ** x) + np.sum(np.arctan2(x, x + 1.0) * x)


def first_square(x):
    return np.sum(x[0] * x[0])


def symmetrised(x, w):
    """The two adjoints of sin(x) and its transpose are one array: x_bar += x_bar.T must copy."""
    s = np.sin(x)
    return np.sum((s + s.T) * w)


# --- np.diag of a matrix is a read-only view ----------------------------------------------------------

def diagonal_copy_updated(A):
    """The copy's tangent is updated in place: it must not be np.diag(A_dot) itself."""
    a = np.diag(A).copy()
    a[0:2] += 1.0
    return np.sum(a * a * a)


def diagonal_scaled_updated(A):
    """b = a * 1.0 is a copy of the view a; its tangent starts as a's."""
    a = np.diag(A)
    b = a * 1.0
    b[0] += 1.0
    return np.sum(b * b * b)


def diagonal_copy_in_loop(A):
    a = np.diag(A).copy()
    for i in range(2):
        a[i] = a[i] * a[i]
    return np.sum(a * a)


def diagonal_matrix_energy(v):
    """v's adjoint starts as np.diag of a matrix (a read-only view), then v * v's part is added."""
    s = np.sum(v * v * v)
    M = np.diag(v)
    return np.sum(M * M * 2.0) + s


def diagonal_matrix_updated(v):
    """np.diag of a vector is a new matrix, which may be stored into."""
    M = np.diag(v)
    M[0, 1] += v[2]
    return np.sum(M * M)
