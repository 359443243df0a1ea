"""Derivatives inside differentiated code: a call to ``s2sad.grad(f)`` (or ``value_and_grad``)
in a function being differentiated, and ``s2sad.grad(s2sad.grad(f))``::

    dloss = s2sad.grad(loss)

    def meta_loss(phi, X, y, alpha):
        theta = phi - alpha * dloss(phi, X, y)      # one inner gradient step
        return loss(theta, X, y)

The call is replaced by f's reverse-mode IR — its forward sweep and its reverse sweep, seeded
with 1.0 — inlined at the call, and the gradients it returns stand for the call's value. The
outer transform then differentiates that code like any other: forward over reverse for a JVP,
reverse over reverse for a gradient. The IR is closed under both transforms: tapes, in-place
adjoint updates and loops are ordinary statements with rules of their own.
"""

from __future__ import annotations

import weakref

from .. import primitives as P
from ..errors import S2SADError, located
from ..ir.builder import Builder, const
from ..ir.core import Atom, Block, Eqn, Function, Loc, Var, clone, copy_function, walk
from ..ir.types import F64, Type
from ..transforms.common import not_one_float
from .values import TupleVal
from .parse import note_opaque


def is_derivative(obj) -> bool:
    """Is `obj` a derivative object of s2sad.api (`grad`, `value_and_grad`, `jvp`, `vjp`)?"""
    from ..api import Derivative  # (the API builds on the pipeline, which builds on this module)
    return isinstance(obj, Derivative)


def check_inlinable(d, loc: Loc | None) -> None:
    """Refuse a derivative object other than s2sad.grad and s2sad.value_and_grad."""
    if d.kind not in ("grad", "value_and_grad"):
        raise located(f"a call to s2sad.{d.kind} inside a differentiated function is not supported; "
                      "call a s2sad.grad or s2sad.value_and_grad of the function instead", loc)


_GRADIENT_IR: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # derivative → {types: IR}


def gradient_ir(d, types: list[Type], loc: Loc | None) -> Function:
    """The IR of `d.fn` (the function `d` differentiates) for these argument types in `d`'s mode:
    ``f_vjp(*params, out_bar) -> (out, *grads, tape_bytes[, advances])`` or ``f_jvp(*params,
    *tangents) -> (out, out_dot)``. Made once per types (a loop body is lowered again until its
    types settle; inlining copies the IR), and again when what it assumed no longer holds."""
    known = _GRADIENT_IR.setdefault(d, {})
    key = tuple(types)
    if key not in known or not all(a.holds() for a in known[key].assumed):
        known[key] = _derivative_ir(d, types, loc)
    return known[key]


def _derivative_ir(d, types: list[Type], loc: Loc | None) -> Function:
    from ..pipeline import prepare, transform
    check_inlinable(d, loc)
    primal = prepare(d.fn, types)
    what = not_one_float(primal)
    if what:
        raise located(f"{d.fn.__name__} returns {what}, but a gradient needs a function returning one float", loc)
    if d.mode == "forward" and any(types[k].is_array for k in d.wrt):
        raise located(f"a gradient of {d.fn.__name__} with mode='forward' is taken here with respect to an array; "
                      "inside a differentiated function, forward mode is supported for numbers only: use "
                      "mode='reverse' (the same gradient, one sweep)", loc)
    if d.mode == "forward" and len(d.wrt) > 1 and any(isinstance(e, Eqn) and not e.prim.pure
                                                      for e in walk(primal.body)):
        raise located(f"{d.fn.__name__} draws random numbers or assigns globals, and a forward-mode gradient with "
                      "respect to several parameters would run it once per parameter; use mode='reverse'", loc)
    derivative = transform(copy_function(primal), list(d.wrt), d.mode, d.checkpoint)
    derivative.assumed = primal.assumed
    if derivative.namespaces:
        raise located(f"{d.fn.__name__} reads a module's global array; pass it as an argument to differentiate "
                      "its gradient", loc)
    return derivative


def inline_gradient(d, args: list[Atom], b: Builder, loc: Loc | None):
    """Append the reverse-mode code of `d.fn` at `args` to `b`; return what calling `d` returns
    (the gradient (a tuple for a tuple `wrt`), or ``(value, gradient)`` for value_and_grad), the
    arrays f writes into ((argument index, the value f leaves in it) pairs), and what the code
    assumes of names outside f (`Function.assumed`)."""
    types = [F64.with_ndim(a.type.ndim if a.type.is_array else 0) if k in d.wrt else a.type
             for k, a in enumerate(args)]  # (floats for differentiated arguments, as s2sad.grad makes them)
    note_opaque()  # (its IR may be one lowered before, whose names are not looked up again)
    derivative = gradient_ir(d, types, loc)
    args = [a if a.type == t else b.emit(P.to_float, [a], getattr(a, "name", "x")) for a, t in zip(args, types)]
    if d.mode == "forward":  # one tangent sweep per parameter (numbers only)
        seeds = [[const(float(j == k)) for j in range(len(d.wrt))] for k in range(len(d.wrt))]
        runs = [_inline(derivative, args + seed, b, d) for seed in seeds]
        value, grads, writes = runs[0][0][0], [run[0][1] for run in runs], runs[0][1]
    else:
        results, writes = _inline(derivative, args + [const(1.0)], b, d)
        value, *grads = results[:1 + len(d.wrt)]
    grad = TupleVal(tuple(grads)) if d.as_tuple else grads[0]
    return (TupleVal((value, grad)) if d.kind == "value_and_grad" else grad), writes, derivative.assumed


def _inline(derivative: Function, args: list[Atom], b: Builder, d) -> tuple[list, list]:
    """Append `derivative`'s code at `args` to `b`: (its results, the arrays it writes into as
    (argument index, the value it leaves in it) pairs)."""
    mapping = dict(zip(derivative.body.params, args))
    writes = []
    for stmt in derivative.body.stmts:
        if isinstance(stmt, Eqn) and stmt.prim is P.writeback:  # f writes into its argument: the caller's
            writes.append((derivative.body.params.index(stmt.ins[0]), mapping.get(stmt.ins[1], stmt.ins[1])))
            continue
        b.append(clone(stmt, mapping))
        _name_sweep(b.stmts[-1], _owner(d))
    return [mapping.get(r, r) for r in derivative.body.results], writes


def _owner(d) -> str:
    """``u's gradient``, ``the gradient of u's gradient``, …"""
    return f"the gradient of {_owner(d.fn)}" if is_derivative(d.fn) else f"{d.fn.__name__}'s gradient"


def _name_sweep(stmt, owner: str) -> None:
    """Say whose sweep a comment of the inlined code opens (``# u's gradient: forward sweep``);
    the sweeps of gradients it inlined in turn are named already."""
    for s in walk(Block([], [stmt])):
        if isinstance(s, Eqn) and s.prim is P.comment and s.params["text"] in ("forward sweep", "reverse sweep"):
            s.params["text"] = f"{owner}: {s.params['text']}"


def lower_derivative(d, arg_types: list[Type]) -> Function:
    """The IR of a derivative object itself, as the primal of another transform
    (``s2sad.grad(s2sad.grad(f))``): f's gradient code as a function of f's arguments."""
    names = list(d.signature.parameters)
    code = source_function(d).__code__
    if len(names) != len(arg_types):
        raise S2SADError(f"{d.__name__} takes {len(names)} arguments, got types for {len(arg_types)}",
                         code.co_filename, code.co_firstlineno)
    if not all(isinstance(t, Type) for t in arg_types):
        raise S2SADError(f"a derivative of {d.__name__}'s gradient takes numbers and arrays, not containers; pass "
                         "the container's arrays as separate arguments", code.co_filename, code.co_firstlineno)
    params = [Var(n, t) for n, t in zip(names, arg_types)]
    b = Builder()
    value, writes, assumed = inline_gradient(d, params, b, Loc(code.co_filename, code.co_firstlineno))
    for k, last in writes:
        b.append(Eqn([], P.writeback, [params[k], last], {}, None))
    results = [x for r in (value.items if isinstance(value, TupleVal) else [value])
               for x in (r.items if isinstance(r, TupleVal) else [r])]
    return Function(f"{d.kind}_{d.__name__}", b.block(params, results), code.co_filename, code.co_firstlineno,
                    names, {}, assumed=assumed)


def source_function(fn):
    """The Python function under any number of derivative objects (`fn` itself if it is one)."""
    while is_derivative(fn):
        fn = fn.fn
    return fn
