"""Decorated functions, differentiated by tests/test_decorators.py: the decorator's wrapper is
part of the function, as when Python calls it."""

import functools

import numpy as np


def doubled(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return 2.0 * fn(x)
    return wrapper


def shifted(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs) + np.sum(args[0])
    return wrapper


def registered(fn):  # (returns the function itself)
    return fn


@doubled
def square(x):
    return x * x


@shifted
def weighted(x, w):
    return np.sum(w * x * x)


@registered
@doubled
def cube(x):
    return x * x * x


def calls_decorated(x):
    return square(x) + cube(x)


def calls_with_keywords(x, w):
    return weighted(x, w=w)
