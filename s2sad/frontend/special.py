"""scipy.special's functions: their primitives (`erf`, `expit`, …) and compositions
(``logsumexp``, ``softmax``, ``log_softmax``).

Importing SciPy takes a while, so s2sad does not: SciPy's functions join the tables (`P.NUMPY`,
`COMPOSED`) once SciPy has been imported, which code calling them has done. `register` adds them
(`s2sad rules` calls it to list them); without SciPy installed, nothing is added.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .. import primitives as P
from ..ir.builder import const
from ..ir.core import Atom
from .composed import _array, _calls, _choose, _composes, _flag, _none, _reduce, _reduced_axes, _restored, _spread

if TYPE_CHECKING:
    from .lower import Lowering

_registered: list = []  # the scipy.special module, once registered


def register() -> bool:
    """Add scipy.special's supported functions to the tables (once); False without SciPy."""
    if _registered:
        return True
    try:
        import scipy.special as special
    except ImportError:
        return False
    P.NUMPY.update({special.erf: P.erf, special.erfc: P.erfc, special.gammaln: P.gammaln,
                    special.digamma: P.digamma, special.expit: P.expit, special.logit: P.logit,
                    special.xlogy: P.xlogy})
    _composes(special.logsumexp, P.amax, P.eq, P.where, P.exp, P.sub, P.sum, P.div, P.log1p, P.log, P.add)(logsumexp)
    _composes(special.softmax, P.amax, P.sub, P.exp, P.sum, P.div)(softmax)
    _composes(special.log_softmax, P.amax, P.isfinite, P.where, P.select, P.sub, P.exp, P.sum, P.log)(log_softmax)
    _registered.append(special)
    return True


def register_if_imported() -> None:
    """`register`, if the program has imported scipy.special (cheap otherwise: called at every call
    the frontend lowers)."""
    if not _registered and "scipy.special" in sys.modules:
        register()


def module():
    """scipy.special, if registered (for the names `s2sad rules` lists), else None."""
    return _registered[0] if _registered else None


def logsumexp(lo: "Lowering", node, a, axis=const(None), b=const(None), keepdims=const(False),
              return_sign=const(False)) -> Atom:
    """log Σ exp(a) over `axis`, as SciPy computes it: with m the maximum, attained k times, and s
    the sum of exp(a − m) over the other elements, log1p(s / k) + log k + m (no overflow, and
    precise when the maximum dominates). b= and return_sign= are not supported."""
    if not _none(b) or _flag(lo, return_sign, node, "return_sign"):
        raise lo.error(node, "scipy.special.logsumexp: b= and return_sign=True are not supported")
    op = _calls(lo, node)
    x = _array(lo, a, node, "logsumexp")
    ndim = x.type.ndim
    axes = _reduced_axes(lo, axis, ndim, node)
    top = _reduce(lo, P.amax, x, axes, node)
    wide = _spread(lo, top, axes, ndim, node)
    at_top = op(P.eq, x, wide)
    count = _reduce(lo, P.sum, op(P.where, at_top, 1.0, 0.0), axes, node)
    rest = _reduce(lo, P.sum, op(P.where, at_top, 0.0, op(P.exp, op(P.sub, x, wide))), axes, node)
    value = op(P.add, op(P.add, op(P.log1p, op(P.div, rest, count)), op(P.log, count)), top)
    return _restored(lo, value, axes, ndim, node) if _flag(lo, keepdims, node, "keepdims") else value


def softmax(lo: "Lowering", node, x, axis=const(None)) -> Atom:
    """exp(x − max) / Σ exp(x − max) over `axis`, as SciPy computes it."""
    op = _calls(lo, node)
    v = _array(lo, x, node, "softmax")
    axes = _reduced_axes(lo, axis, v.type.ndim, node)
    shifted = op(P.exp, op(P.sub, v, _spread(lo, _reduce(lo, P.amax, v, axes, node), axes, v.type.ndim, node)))
    return op(P.div, shifted, _spread(lo, _reduce(lo, P.sum, shifted, axes, node), axes, v.type.ndim, node))


def log_softmax(lo: "Lowering", node, x, axis=const(None)) -> Atom:
    """(x − m) − log Σ exp(x − m) over `axis`, m the maximum (0 where it is not finite), as SciPy
    computes it."""
    op = _calls(lo, node)
    v = _array(lo, x, node, "log_softmax")
    axes = _reduced_axes(lo, axis, v.type.ndim, node)
    top = _spread(lo, _reduce(lo, P.amax, v, axes, node), axes, v.type.ndim, node)
    shifted = op(P.sub, v, _choose(lo, op(P.isfinite, top), top, const(0.0), node))
    total = _spread(lo, _reduce(lo, P.sum, op(P.exp, shifted), axes, node), axes, v.type.ndim, node)
    return op(P.sub, shifted, op(P.log, total))
