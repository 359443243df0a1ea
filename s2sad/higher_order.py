"""Second derivatives and Jacobians: `hvp`, `hessian`, `jacobian`.

`hvp` runs the forward-over-reverse derivative (``f_hvp``, see
s2sad/transforms/second_order.py), which computes f, its gradient and H·v in one pass
without forming H. `hessian` calls it once per basis vector of the argument, and `jacobian`
calls the JVP once per input element (forward) or the VJP once per output element (reverse).
Those loops run in Python around the compiled derivative: each call does the work of one
product, and the call itself costs microseconds (docs/higher-order.md gives measurements).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .api import Derivative, Wrt, _as_output, _fail, _plain, basis, decorated


class HVP(Derivative):
    """``h(*args, *directions)`` → H·v: the Hessian of f (which returns one float) with respect
    to the `wrt` parameters times one direction per parameter, shaped like it; several `wrt`
    parameters give a tuple, ``Σ_j H_kj v_j`` for each parameter k."""

    kind = "hvp"
    mode_for_transform = "hvp"

    def __call__(self, *args):
        primals, directions = self.split(args, "direction")
        return self._pack(self.value_grad_hvp(primals, directions)[2])

    def value_grad_hvp(self, primals: list, directions: list) -> tuple[float, list, list]:
        """(f, its gradients, the Hessian-vector products) for bound arguments (`bind`) and one
        direction per `wrt` parameter, from one call of the generated code."""
        value, *rest = self.generated(primals)(*primals, *directions)
        like = [primals[k] for k in self.wrt] * 2
        shaped = [_as_output(r, x) for r, x in zip(rest, like)]
        return _plain(value), shaped[:len(self.wrt)], shaped[len(self.wrt):]

    def generated(self, primals: list, repeated: bool = False) -> Callable:
        """``f_hvp(*args, *directions) -> (f, *gradients, *products)`` for these arguments' types
        (`repeated`: every call starting from the state the first saw)."""
        return self.runner(self.compiled(primals, "hvp"), primals, repeated)  # (refused unless f returns a float)


class _OneParameter(Derivative):
    """A derivative with respect to one parameter (`wrt` names one, not a tuple)."""

    def __init__(self, fn: Callable, wrt: Wrt = 0, **options):
        super().__init__(fn, wrt, **options)
        if self.as_tuple:
            raise _fail(fn, f"{self.kind} takes one parameter in wrt (got {wrt!r}); use s2sad.hvp for several")


class Hessian(_OneParameter, HVP):
    """``H(*args)`` → the Hessian of f with respect to one parameter, of shape
    ``arg.shape + arg.shape`` (a float for a scalar parameter): one HVP per basis vector."""

    kind = "hessian"

    def __call__(self, *args, **kwargs):
        primals = self.bind(args, kwargs)
        x = primals[self.wrt[0]]
        shape = np.shape(x)
        h, f_hvp = np.zeros(shape + shape), self.generated(primals, repeated=True)
        for index, e in basis(shape):
            h[(Ellipsis,) + index] = f_hvp(*primals, e)[2]
        return _plain(h[()]) if not shape else h


class Jacobian(_OneParameter):
    """``J(*args)`` → ∂f/∂args[wrt] for f returning one float or one float array, of shape
    ``out.shape + arg.shape``: one JVP per element of the argument (forward mode) or one VJP per
    element of the result (reverse mode; f is called once, in Python, for the result's shape, and
    the state it changes is put back). All columns belong to one call of f: each starts from the
    state the first saw, and the state ends as one call leaves it."""

    kind = "jacobian"

    @property
    def mode_for_transform(self) -> str:
        return self.mode

    def __call__(self, *args, **kwargs):
        primals = self.bind(args, kwargs)
        derived = self.compiled(primals, self.mode)
        results = derived.primal.results
        if len(results) != 1 or not results[0].type.differentiable:
            what = "a tuple" if len(results) != 1 else f"a value of type {results[0].type}"
            raise _fail(self.fn, f"jacobian needs a function returning one float or float array, but "
                                 f"{self.fn.__name__} returns {what}")
        x = primals[self.wrt[0]]
        run = self.runner(derived, primals, repeated=True)
        columns = self._forward(run, primals, x) if self.mode == "forward" else self._reverse(derived, run, primals)
        return _plain(columns[()]) if not columns.ndim else columns

    def _forward(self, fn: Callable, primals: list, x: Any) -> np.ndarray:
        """Column by column: J[..., i] = J e_i."""
        shape, j = np.shape(x), None
        for index, e in basis(shape):
            dot = fn(*primals, e)[1]
            if j is None:
                j = np.zeros(np.shape(dot) + shape)
            j[(Ellipsis,) + index] = dot
        if j is None:  # (an empty argument: the result's shape from one call)
            j = np.zeros(np.shape(fn(*primals, np.zeros(shape))[0]) + shape)
        return j

    def _reverse(self, derived, fn: Callable, primals: list) -> np.ndarray:
        """Row by row: J[i] = e_iᵀ J (the result's shape from a call of f, whose effects are undone)."""
        undo = derived.effects.save(primals)
        out_shape = np.shape(self.fn(*primals))
        undo()
        like = primals[self.wrt[0]]
        j = np.zeros(out_shape + np.shape(like))
        for index, e in basis(out_shape):
            value, row = self._statistics(fn(*primals, e), 2)
            j[index] = _as_output(row, like)
        return j


def hvp(f: Callable | None = None, wrt: Wrt = 0, *, backend: str = "auto", checkpoint=None) -> HVP:
    """``h(*args, v)`` → H·v, the Hessian of `f` (returning one float) with respect to
    ``args[wrt]`` times `v` (shaped like that argument), by forward over reverse without
    forming H. With a tuple `wrt`, ``h(*args, *vs)`` returns a tuple. `checkpoint` is the policy
    of the reverse sweep, as for `grad`."""
    return decorated(HVP, f, wrt, backend=backend, checkpoint=checkpoint)


def hessian(f: Callable | None = None, wrt: Wrt = 0, *, backend: str = "auto", checkpoint=None) -> Hessian:
    """``H(*args)`` → the Hessian of `f` (returning one float) with respect to ``args[wrt]``, of
    shape ``arg.shape + arg.shape`` (a float for a scalar argument), from one `hvp` per basis
    vector."""
    return decorated(Hessian, f, wrt, backend=backend, checkpoint=checkpoint)


def jacobian(f: Callable | None = None, wrt: Wrt = 0, *, mode: str = "forward", backend: str = "auto",
             checkpoint=None) -> Jacobian:
    """``J(*args)`` → ∂f/∂args[wrt] of shape ``out.shape + arg.shape`` for `f` returning one
    float or float array: one JVP per argument element (``mode="forward"``, the default, cheaper
    when the argument is the smaller) or one VJP per result element (``mode="reverse"``)."""
    return decorated(Jacobian, f, wrt, mode=mode, backend=backend, checkpoint=checkpoint)
