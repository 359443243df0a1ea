"""Copies nobody needs: ``c = copy(p)`` where neither p nor c (nor anything sharing memory with
either) is ever stored into, and neither reaches the function's results, is p itself::

    t = lap_bar[1:-1].copy()         t = lap_bar[1:-1]
    u_bar[:-2] += t             →    u_bar[:-2] += t

The rules copy a region they read before a store may change it (the adjoint of ``x[idx] = v``
reads ``x_bar[idx]``, then clears it); when the store turns out dead (x was an array of zeros,
whose adjoint nobody needs), the copy is left guarding nothing. A value returned keeps its
copy, so that a result never shares memory with an argument or another result.
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.aliases import Aliases
from ..ir.core import Eqn, Function, Var, substitute, walk
from .dce import dce


def elide_copies(fn: Function) -> Function:
    if not any(isinstance(s, Eqn) and s.prim is P.copy for s in walk(fn.body)):
        return fn  # (no copy: the aliases need not be computed)
    aliases = Aliases(fn.body)
    stored = aliases.stored_into(fn.body)
    returned = {aliases.find(r) for r in fn.body.results if isinstance(r, Var)}
    mapping = {s.outs[0]: s.ins[0] for s in walk(fn.body)
               if isinstance(s, Eqn) and s.prim is P.copy and isinstance(s.ins[0], Var) and s.ins[0].type.is_array
               and not any(stored(v) or aliases.find(v) in returned for v in (s.ins[0], s.outs[0]))}
    substitute(fn.body, mapping)
    return dce(fn) if mapping else fn
