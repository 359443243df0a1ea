"""What a workload is: one function written in NumPy, re-expressed for each peer tool."""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

Args = tuple
FormMaker = Callable[[types.ModuleType], Callable]


@dataclass(frozen=True)
class Form:
    """One tool's expression of a workload.

    `make` receives the tool's array module (``autograd.numpy``, ``torch``, ``jax``,
    ``tensorflow``) and returns the function, with the NumPy form's parameters in the same order.
    `note` says how the form departs from the NumPy one (shown in the table); `missing` says why
    the tool cannot express the workload at all (then `make` is None)."""

    make: FormMaker | None = None
    note: str = ""
    missing: str = ""


@dataclass(frozen=True)
class Workload:
    """A function to differentiate, its arguments, and each tool's form of it.

    `numpy` is the one NumPy definition: s2sad differentiates it, it is the NumPy and Numba
    primal, and autograd runs it with ``autograd.numpy`` unless `forms` has an ``"autograd"``
    entry. For a scalar function the tools compute the gradient with respect to the arguments
    `wrt`; when `seeds` is given the function returns an array and the tools compute one VJP per
    seed (a cotangent shaped like the output), that is, rows of the Jacobian, stacked."""

    name: str
    title: str
    numpy: Callable
    make_args: Callable[[bool], Args]
    size: Callable[[Args], str]
    wrt: tuple[int, ...]
    forms: Mapping[str, Form] = field(default_factory=dict)
    seeds: Callable[[Args], list[np.ndarray]] | None = None
    jacobian: bool = False

    def __post_init__(self) -> None:
        if self.jacobian and (len(self.wrt) != 1 or self.seeds is not None):
            raise ValueError(f"{self.name}: a Jacobian workload has one differentiated argument and no seeds")

    def args(self, quick: bool) -> Args:
        return self.make_args(quick)


def rebound(fn: Callable, numpy: types.ModuleType | None = None,
            wrap: Callable[[Callable], Callable] | None = None) -> Callable:
    """A copy of `fn` whose global ``np`` is `numpy` (when given), and whose calls to the other
    plain functions of its module go to copies made the same way, each passed through `wrap`
    (``numba.njit``, for instance). The module itself is left unchanged."""
    scope = dict(fn.__globals__)
    if numpy is not None:
        scope["np"] = numpy
    for name, value in fn.__globals__.items():
        if isinstance(value, types.FunctionType) and value.__module__ == fn.__module__:
            copy = types.FunctionType(value.__code__, scope, value.__name__, value.__defaults__, value.__closure__)
            scope[name] = wrap(copy) if wrap else copy
    copy = types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)
    return wrap(copy) if wrap else copy


def torch_where(torch: types.ModuleType) -> Callable:
    """``where(c, a, b)`` for PyTorch, `b` a float."""
    def where(c, a, b: float):
        return torch.where(c, a, torch.as_tensor(b, dtype=torch.float64))
    return where


def tf_where(tf: types.ModuleType) -> Callable:
    """``where(c, a, b)`` for TensorFlow, `b` a float (broadcast to `a`'s shape, as tf.where needs)."""
    def where(c, a, b: float):
        return tf.where(c, a, tf.cast(b, tf.float64) + tf.zeros_like(a, tf.float64))
    return where
