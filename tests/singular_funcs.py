"""Functions with terms at points where their derivative is infinite or NaN, beside terms that do
not depend on those points."""

import numpy as np

# x in `singular_terms`: each element sits at a singular point of the operation that reads it.
POINT = np.array([0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0,
                  1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 2.0, 2.0])
inf, nan = np.inf, np.nan
# ∂/∂x there, by the conventions at these points (docs/language.md, "Non-differentiable points").
PARTIALS = np.array([inf, inf, inf, inf, inf, inf, inf, -inf, inf, -inf, inf, inf, 0.0, nan, nan, nan, nan, nan,
                     inf, -inf, 1.0, -inf, nan, nan, nan, nan, nan, nan])


def singular_terms(x, y):
    """One term per singular point, plus y: ∂/∂y is 1 whatever the other partials are."""
    elementwise = (np.sqrt(x[0]) + np.cbrt(x[1]) + np.log(x[2]) + np.log1p(x[3]) + np.log2(x[4])
                   + np.log10(x[5]) + x[6] ** 0.5 + np.reciprocal(x[7]) + np.arcsin(x[8]) + np.arccos(x[9])
                   + np.arctanh(x[10]) + np.arccosh(x[11]))
    pairs = (x[12] ** x[13] + np.hypot(x[14], x[15]) + np.arctan2(x[16], x[17]) + x[18] / x[19]
             + x[20] % x[21])
    return elementwise + pairs + np.linalg.norm(x[22:25]) + np.std(x[25:28]) + y


def norm_plus(x, y):
    return np.linalg.norm(x) + y


def norm_of_head_plus_last(x):
    return np.linalg.norm(x[:2]) + x[2]


def singular_and_plain(x, y):
    """Two results: the singular terms, and y alone (a zero cotangent for the first must leave
    no trace in x's)."""
    return singular_terms(x, 0.0), 2.0 * y


def draw_at_zero_scale(mu, sigma, y):
    """A normal draw of scale 0 (its derivative with respect to the scale is 0 / 0) and y."""
    return np.sum(np.random.normal(mu, sigma, 3)) + y


def first_row_minimum(X):
    """The minimum of X's first row: a NaN in another row (whose minimum is NaN, attained by no
    element) must not reach the gradient through that row's zero cotangent."""
    return np.min(X, axis=1)[0]


def spreads_over_rows(X, y):
    """np.std and np.var (with ddof=1) over the rows: NaN for no rows, and var's NaN for one."""
    return np.std(X, axis=0) + np.var(X, axis=0, ddof=1) + y


def negative_integer_powers(x, n, k):
    """A float array to negative integer powers: a literal, an integer and integers, and an element
    in a loop (NumPy's infinity at 0)."""
    total = x ** -2 + x ** n + x ** k
    for i in range(len(x)):
        total[i] += x[i] ** n
    return total


def negative_integer_powers_sum(x, n, k):
    return np.sum(negative_integer_powers(x, n, k))


def covariance_of_samples(x, y):
    """np.cov of one variable (its samples x), over N - 1, and y."""
    return np.cov(x) + y
