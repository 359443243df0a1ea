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
    y[idx] = 0.0  # <- store
    return np.sum(y)


def two_index_arrays(W, i, j):
    return np.sum(W[i, j])


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
