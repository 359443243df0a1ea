"""The Numba implementations of the runtime helpers agree with the Python ones."""

import numba
import numpy as np
import pytest

import s2sad.backend.numba_runtime  # noqa: F401  (registers the implementations)
from s2sad import runtime as rt


@numba.njit
def _unbroadcast(g, x):
    return rt.unbroadcast(g, x.shape)


@numba.njit
def _expand_axis0(g, x):
    return rt.expand_to(g, x.shape, axis=0)


@numba.njit
def _expand_axes02(g, x):
    return rt.expand_to(g, x.shape, axis=(0, 2))


@numba.njit
def _expand_all(g, x):
    return rt.expand_to(g, x.shape)


@numba.njit
def _broadcast_like(t, x):
    return rt.broadcast_like(t, x)


@numba.njit
def _tapes(n):
    rows, scalars = np.empty((0, 0)), np.empty(0)
    for k in range(n):
        rows = rt.record(rows, k, n, np.arange(3.0) * k)
        scalars = rt.record_grow(scalars, k, k * 1.5)
    return rows, scalars


@pytest.mark.parametrize("target", [(4, 3), (1, 3), (3,), (4, 1), (1, 1)])
def test_unbroadcast(target):
    g = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_allclose(_unbroadcast(g, np.zeros(target)), rt.unbroadcast(g, target), rtol=1e-14)


def test_expand_to():
    g = np.arange(3.0)
    np.testing.assert_array_equal(_expand_axis0(g, np.zeros((4, 3))), rt.expand_to(g, (4, 3), axis=0))
    np.testing.assert_array_equal(_expand_axes02(g, np.zeros((2, 3, 4))), rt.expand_to(g, (2, 3, 4), axis=(0, 2)))
    np.testing.assert_array_equal(_expand_all(2.5, np.zeros((2, 2))), np.full((2, 2), 2.5))


def test_broadcast_like():
    np.testing.assert_array_equal(_broadcast_like(np.ones(3), np.zeros((2, 3))), np.ones((2, 3)))
    same = np.ones((2, 3))
    assert _broadcast_like(same, np.zeros((2, 3))) is same


def test_record_and_record_grow():
    rows, scalars = _tapes(20)
    np.testing.assert_array_equal(rows, np.arange(20.0)[:, None] * np.arange(3.0))
    np.testing.assert_array_equal(scalars[:20], np.arange(20) * 1.5)
    assert scalars.shape[0] >= 20
