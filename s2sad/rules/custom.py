"""The rules of `s2sad.custom_rule` functions: the user's JVP and VJP, lowered where they are
used. ``custom(value, *args; rule)`` takes its derivatives from them, and `stop` (the arguments
as the function's body sees them) has none."""

from __future__ import annotations

from .. import primitives as P
from ..errors import located
from ..ir.builder import Sym, apply, const
from . import defrule, zero_derivative


def _lower(fn, atoms: list, b) -> list:
    from ..frontend.lower import lower_call  # (the frontend imports the rules' primitives)
    return lower_call(fn, atoms, b)


def _missing(rule, mode: str, method: str, b):
    return located(f"{rule.fn.__name__} has a custom rule but no {mode}-mode derivative; give one with "
                   f"@{rule.fn.__name__}.{method}", b.loc)


def _jvp(primals, tangents, out, rule):
    args, arg_tangents = primals[1:], tangents[1:]
    if all(t is None for t in arg_tangents):
        return None
    if rule.jvp is None:
        raise _missing(rule, "forward", "defjvp", out.b)
    filled = [t if t is not None else (apply(P.zeros_like, a) if a.ndim else Sym(const(0.0), out.b))
              for a, t in zip(args, arg_tangents)]
    tangents = _lower(rule.jvp, [s.atom for s in args + filled], out.b)
    if len(tangents) != 1:
        raise located(f"the jvp of {rule.fn.__name__} returns {len(tangents)} values; it must return one "
                      "tangent, of the function's value", out.b.loc)
    return _checked(Sym(tangents[0], out.b), out, rule, "the tangent it returns")


def _vjp(g, primals, out, rule):
    args = primals[1:]
    if rule.vjp is None:
        raise _missing(rule, "reverse", "defvjp", out.b)
    cotangents = _lower(rule.vjp, [s.atom for s in args] + [out.atom, g.atom], out.b)
    if len(cotangents) != len(args):
        raise located(f"the vjp of {rule.fn.__name__} returns {len(cotangents)} values for "
                      f"{len(args)} arguments", out.b.loc)
    return [None] + [None if c.type.kind == "none" else _checked(Sym(c, out.b), a, rule, f"cotangent {k}")
                     for k, (c, a) in enumerate(zip(cotangents, args))]


def _checked(value: Sym, like: Sym, rule, what: str) -> Sym:
    if value.type != like.type and not (like.type.is_array and value.type.is_scalar):
        raise located(f"{what} of {rule.fn.__name__}'s rule is {value.type}, but must be {like.type}", value.b.loc)
    if like.type.is_array and value.type.is_scalar:
        return apply(P.full, apply(P.shape, like), value)
    return value


defrule(P.custom, _jvp, _vjp)
zero_derivative(P.stop)
