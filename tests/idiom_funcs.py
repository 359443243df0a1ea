"""Everyday Python idioms in differentiated functions (used by test_idioms.py)."""

import numpy as np

OFFSET = None  # (a module setting that is None until a script sets it)


def scaled(x, scale=None, shift=None):
    if scale is None:
        scale = 2.0
    y = x * scale
    if shift is not None and scale is not None:
        y = y + shift
    return np.sum(y * y)


def shifted_by_setting(x):
    if OFFSET is None:
        return np.sum(x * x)
    return np.sum((x - OFFSET) ** 2)


def weighted_or_plain(x, w=None):
    return np.sum(x * x) if w is None else np.sum(w * x * x)


def compares_values_with_is(x, y):
    return x * 2.0 if x is y else x


def uses_none(x, scale=None):
    return np.sum(x * scale)


def doubled_if_flag(x, flag=None):
    if flag:
        return x * 2.0
    return x
