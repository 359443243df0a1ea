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

from .api import (Bound, Derivative, Wrt, _as_output, _fail, _plain, basis, decorated, outputs, unit_tangents,
                  zeros_like_each)
from .containers import flatten_like, unflatten


class HVP(Derivative):
    """``h(*args, *directions)`` → H·v: the Hessian of f (which returns one float) with respect
    to the `wrt` parameters times one direction per parameter, shaped like it (a container for a
    container); several `wrt` parameters give a tuple, ``Σ_j H_kj v_j`` for each parameter k."""

    kind = "hvp"
    mode_for_transform = "hvp"

    def __call__(self, *args):
        primals, directions = self.split(args, "direction")
        return self._pack(primals.regroup(self.wrt, self.value_grad_hvp(primals, directions)[2]))

    def value_grad_hvp(self, primals: list, directions: list) -> tuple[float, list, list]:
        """(f, its gradients, the Hessian-vector products) for bound arguments (`bind`) and one
        direction per leaf of the `wrt` parameters, from one call of the generated code (the
        gradients and products one per leaf too)."""
        primals = primals if isinstance(primals, Bound) else Bound(primals)
        value, *rest = self.generated(primals)(*primals, *directions)
        like = [primals[k] for k in primals.leaves(self.wrt)] * 2
        shaped = [_as_output(r, x) for r, x in zip(rest, like)]
        return _plain(value), shaped[:len(like) // 2], shaped[len(like) // 2:]

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


def nested_blocks(outer, inner, blocks: list[list]) -> Any:
    """A table of blocks (``blocks[i][j]`` for leaf i of a value of structure `outer` and leaf j
    of one of structure `inner`; None for one number or array) as nested containers: `outer`'s
    structure holding, in each leaf, `inner`'s (a float for a block of shape ())."""
    rows = [outputs(inner, [_plain(b[()]) if not np.ndim(b) else b for b in row]) for row in blocks]
    return rows[0] if outer is None else unflatten(outer, rows)


class Hessian(_OneParameter, HVP):
    """``H(*args)`` → the Hessian of f with respect to one parameter, of shape
    ``arg.shape + arg.shape`` (a float for a scalar parameter): one HVP per basis vector. For a
    container parameter, a container of containers: ``H[a][b]`` of shape
    ``a.shape + b.shape`` holds ∂²f/∂a∂b for leaves a and b (``H['W']['b']`` for a dict)."""

    kind = "hessian"

    def __call__(self, *args, **kwargs):
        primals = self.bind(args, kwargs)
        wrt = primals.leaves(self.wrt)
        xs = [primals[k] for k in wrt]
        blocks = [[np.zeros(np.shape(a) + np.shape(b)) for b in xs] for a in xs]
        f_hvp = self.generated(primals, repeated=True)
        for j, x in enumerate(xs):
            for index, e in basis(np.shape(x)):
                products = f_hvp(*primals, *unit_tangents(primals, wrt, j, e))[1 + len(xs):]
                for i, product in enumerate(products):
                    blocks[i][j][(Ellipsis,) + index] = product
        tree = primals.trees[self.wrt[0]]
        return nested_blocks(tree, tree, blocks)


class Jacobian(_OneParameter):
    """``J(*args)`` → ∂f/∂args[wrt] for f returning one float or one float array, of shape
    ``out.shape + arg.shape``: one JVP per element of the argument (forward mode) or one VJP per
    element of the result (reverse mode; f is called once, in Python, for the result's shape, and
    the state it changes is put back). All columns belong to one call of f: each starts from the
    state the first saw, and the state ends as one call leaves it. For a container result or
    parameter, containers of blocks: the result's structure outside, the parameter's inside
    (``J['h']['W']`` is ∂h/∂W, of shape ``h.shape + W.shape``)."""

    kind = "jacobian"

    @property
    def mode_for_transform(self) -> str:
        return self.mode

    def __call__(self, *args, **kwargs):
        primals = self.bind(args, kwargs)
        derived = self.compiled(primals, self.mode)
        results = derived.primal.results
        wrong = [r for r in results if not r.type.differentiable]
        if wrong or not results:
            what = f"a value of type {wrong[0].type}" if wrong else "no value"
            raise _fail(self.fn, f"jacobian needs a function returning float numbers or float arrays (or "
                                 f"containers of them), but {self.fn.__name__} returns {what}")
        wrt = primals.leaves(self.wrt)
        run = self.runner(derived, primals, repeated=True)
        blocks = self._forward(run, primals, wrt, len(results)) if self.mode == "forward" else \
            self._reverse(derived, run, primals, wrt)
        return nested_blocks(derived.primal.out_tree, primals.trees[self.wrt[0]], blocks)

    def _forward(self, run: Callable, primals: list, wrt: list[int], m: int) -> list[list]:
        """Column by column: J[..., i] = J e_i, for each result (blocks[result][leaf])."""
        blocks = [[None] * len(wrt) for _ in range(m)]
        for j, k in enumerate(wrt):
            for index, e in basis(np.shape(primals[k])):
                dots = run(*primals, *unit_tangents(primals, wrt, j, e))[m:]
                for i, dot in enumerate(dots):
                    if blocks[i][j] is None:
                        blocks[i][j] = np.zeros(np.shape(dot) + np.shape(primals[k]))
                    blocks[i][j][(Ellipsis,) + index] = dot
        if any(b is None for row in blocks for b in row):  # (an empty argument: the result's shape from one call)
            values = run(*primals, *zeros_like_each(primals[k] for k in wrt))[:m]
            blocks = [[np.zeros(np.shape(v) + np.shape(primals[k])) if b is None else b for b, k in zip(row, wrt)]
                      for row, v in zip(blocks, values)]
        return blocks

    def _reverse(self, derived, fn: Callable, primals: list, wrt: list[int]) -> list[list]:
        """Row by row: J[i] = e_iᵀ J, for each result (whose shapes come from a call of f, whose
        effects are undone)."""
        undo = derived.effects.save(primals)
        out = self.fn(*primals.structured())
        undo()
        tree = derived.primal.out_tree
        shapes = [np.shape(v) for v in ([out] if tree is None else [v for _, v in flatten_like(tree, out, "", "")])]
        blocks = [[np.zeros(shape + np.shape(primals[k])) for k in wrt] for shape in shapes]
        zeros = zeros_like_each(np.zeros(shape) for shape in shapes)
        for i, shape in enumerate(shapes):
            for index, e in basis(shape):
                row = self._statistics(fn(*primals, *unit_tangents(zeros, range(len(shapes)), i, e)),
                                       len(shapes) + len(wrt))[len(shapes):]
                for j, (g, k) in enumerate(zip(row, wrt)):
                    blocks[i][j][index] = _as_output(g, primals[k])
        return blocks


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
