"""Create random Generators outside the compiled code.

Numba compiles draws from a `np.random.Generator` passed in as an argument, but cannot create
one: ``np.random.default_rng(seed)`` does not compile in nopython mode. When every Generator the
function creates is made at its top level from a constant seed or a parameter, the function is
split in two::

    def f_vjp(x, out_bar):                          def f_vjp(x, out_bar):
        rng = np.random.default_rng(42)                 rng = np.random.default_rng(42)
        z = rng.standard_normal(3)          →           out, x_bar = f_vjp_core(x, out_bar, rng)
        ...                                             return (out, x_bar, 0)
        return (out, x_bar, 0)
                                                    def f_vjp_core(x, out_bar, rng):
                                                        z = rng.standard_normal(3)
                                                        ...
                                                        return (out, x_bar)

The entry point runs as Python and the core is what the backend compiles. Moving the creations
to the start is safe: creating a Generator from a seed reads no other state. A Generator created
anywhere else (inside a loop or branch, or from a computed seed) is left in place, and the Numba
backend falls back to Python for that function, with a warning.
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.core import Block, Const, Eqn, Function, Var


def split_generators(fn: Function) -> list[Function]:
    """`[fn]`, or `[entry, core]` when `fn` creates Generators that can be made outside the core."""
    params = set(fn.params)
    hoisted = [s for s in fn.body.stmts if isinstance(s, Eqn) and s.prim is P.default_rng
               and all(isinstance(a, Const) or a in params for a in s.ins)]
    if not hoisted:
        return [fn]
    generators = [s.outs[0] for s in hoisted]
    returned = list(dict.fromkeys(r for r in fn.results if isinstance(r, Var) and r not in generators))
    core_name = f"{fn.name}_core"
    core = Function(core_name, Block(fn.params + generators, [s for s in fn.body.stmts if s not in hoisted],
                                     returned),
                    fn.filename, fn.lineno, fn.arg_names, fn.namespaces)
    entry_params = [Var(p.name, p.type) for p in fn.params]
    outs = [Var(r.name, r.type) for r in returned]
    renamed = dict(zip(fn.params, entry_params)) | dict(zip(returned, outs))
    creations = [Eqn([Var(g.name, g.type)], P.default_rng, [renamed.get(a, a) for a in s.ins], s.params, s.loc)
                 for s, g in zip(hoisted, generators)]
    note = Eqn([], P.comment, [], {"text": "Generators are made here, in Python: compiled code cannot create one"})
    call = Eqn(outs, P.call, entry_params + [c.outs[0] for c in creations],
               {"function": core_name, "types": tuple(v.type for v in outs)})
    results = [r if isinstance(r, Const) else renamed.get(r, r) for r in fn.results]
    entry = Function(fn.name, Block(entry_params, [note, *creations, call], results),
                     fn.filename, fn.lineno, fn.arg_names, fn.namespaces)
    return [entry, core]
