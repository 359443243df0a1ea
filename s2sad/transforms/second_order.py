"""Forward over reverse: the forward transform applied to the reverse transform's IR.

The gradient of a scalar function is the reverse sweep seeded with 1.0; its tangent in a
direction v is the Hessian-vector product H·v, computed without forming H::

    def f_vjp(x, out_bar):             def f_hvp(x, x_dot):
        y = x * x                          y = x * x
        out = sin(y)           →           y_dot = x_dot * x * 2.0
        y_bar = out_bar * cos(y)           out = sin(y)
        x_bar = y_bar * x * 2.0            y_bar = cos(y)
        return out, x_bar, tape_bytes      y_bar_dot = -sin(y) * y_dot
                                           x_bar = y_bar * x * 2.0
                                           x_bar_dot = (y_bar_dot * x + y_bar * x_dot) * 2.0
                                           return out, x_bar, x_bar_dot

The reverse IR contains tapes, in-place accumulation, loops carrying tapes and checkpointing
schedules; every float-valued primitive there has a JVP rule (linear ones are the same
operation on tangents, a float tape gets a tangent tape), and integer-valued ones (trip counts,
schedule rows, tape sizes) get no tangent. The statistics the reverse function returns
(`tape_bytes`, `advances`) are dropped.
"""

from __future__ import annotations

from typing import Callable

from ..errors import S2SADError
from ..ir.builder import const
from ..ir.core import Function, substitute
from ..passes.activity import active_values
from .common import not_one_float
from .forward import forward


def require_scalar_result(primal: Function) -> None:
    """Forward over reverse seeds the reverse sweep with 1.0: f must return one float."""
    what = not_one_float(primal)
    if what:
        raise S2SADError(f"hvp and hessian need a function returning one float, but {primal.name} returns {what}; "
                         "use s2sad.jacobian for non-scalar outputs", primal.filename, primal.lineno)


def forward_over_reverse(vjp: Function, wrt: list[int], tangents: Callable = forward) -> Function:
    """``f_vjp(*params, out_bar) -> (out, *grads, *statistics)`` of a function with one scalar
    result becomes ``f_hvp(*params, *directions) -> (out, *grads, *hvps)``, where
    ``hvps[k] = Σ_j H_kj · directions[j]`` over the `wrt` parameters. Edits `vjp`. `tangents` is
    the forward transform to apply (`vector_forward`: k directions per parameter, ``f_vhvp``)."""
    (bar,), params = vjp.params[-1:], vjp.params[:-1]
    substitute(vjp.body, {bar: const(1.0)})  # the seed: ∂out/∂out
    value, grads = vjp.results[0], vjp.results[1:1 + len(wrt)]
    vjp.body.params, vjp.body.results = params, list(grads)
    vjp.arg_names = vjp.arg_names[:len(params)]
    made = tangents(vjp, wrt, active_values(vjp, wrt))
    made.body.results = [value] + made.body.results
    made.name = vjp.name.removesuffix("_vjp") + ("_hvp" if tangents is forward else "_vhvp")
    made.twins = vjp.twins + made.twins
    return made
