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
