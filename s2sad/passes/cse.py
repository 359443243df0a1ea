"""Common-subexpression elimination: an equation that repeats an earlier one (same primitive,
same operands, same parameters) reuses its result::

    a = getitem(x, i)               a = getitem(x, i)
    b = getitem(x, i)       →       c = mul(a, a)
    c = mul(a, b)

Values are immutable in the IR, so equal operands mean equal results for pure primitives. An
equation in a region may reuse one from an enclosing region, never the other way round. Only
equations reading an array, or computing a costly function of numbers (`COSTLY`: a sine, an
exponential), are shared; repeating ``2 * x`` is cheaper than naming it.
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.core import Block, Eqn, Function, substitute


def cse(fn: Function) -> Function:
    mapping: dict = {}
    _cse_block(fn.body, {}, mapping)
    substitute(fn.body, mapping)
    return fn


def key_of(eqn: Eqn):
    """Equal for equations computing the same value (same primitive, operands, parameters)."""
    return (eqn.prim, tuple(a if not hasattr(a, "value") else ("const", repr(a.value)) for a in eqn.ins),
            tuple(sorted((k, repr(v)) for k, v in eqn.params.items())))


# Functions of numbers that cost tens of cycles (one for + and *): worth naming once, where the
# same number's sine appears twice (a rotation matrix; a derivative rule's ``cos(x)`` beside the
# primal's).
COSTLY = {P.sin, P.cos, P.tan, P.exp, P.log, P.sqrt, P.tanh, P.sinh, P.cosh, P.arcsin, P.arccos, P.arctan,
          P.arctan2, P.pow, P.expm1, P.log1p, P.log2, P.log10, P.cbrt, P.hypot, P.erf, P.erfc, P.gammaln,
          P.digamma, P.arcsinh, P.arccosh, P.arctanh, P.logaddexp, P.expit}

# Fresh arrays that derivatives fill in place (adjoints, tangents, tapes): sharing one would make
# codegen copy it before every update of either.
_FILLED = {P.zeros_like, P.tape}


def _worth_sharing(stmt) -> bool:
    """Pure single-result equations that touch an array, or compute a costly function of numbers
    (scalar arithmetic is cheaper to repeat than to name), except the allocations of arrays to be
    filled."""
    return (isinstance(stmt, Eqn) and len(stmt.outs) == 1 and stmt.prim.pure and not stmt.prim.inplace
            and stmt.prim not in _FILLED and (stmt.prim in COSTLY or any(a.type.is_array for a in stmt.ins)))


def _cse_block(block: Block, available: dict, mapping: dict) -> None:
    available = dict(available)
    kept = []
    for stmt in block.stmts:
        substitute(Block([], [stmt], []), mapping)
        if _worth_sharing(stmt):
            key = key_of(stmt)
            if key in available:
                mapping[stmt.outs[0]] = available[key]
                continue
            available[key] = stmt.outs[0]
        for inner in stmt.blocks():
            _cse_block(inner, available, mapping)
        kept.append(stmt)
    block.stmts[:] = kept
