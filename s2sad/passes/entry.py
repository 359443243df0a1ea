"""Make in Python, before the compiled code runs, what compiled code cannot make or read.

Numba compiles draws from a `np.random.Generator` passed in as an argument, but cannot create
one; and it reads a module's global (an array, or a number read at run time) once, when it
compiles, and never again. So, when the derivative creates Generators at its top level from a
constant seed or a parameter, or reads globals of a module it does not write to, the function is
split in two::

    def f_vjp(x, out_bar):                          def f_vjp(x, out_bar):
        rng = np.random.default_rng(42)                 rng = np.random.default_rng(42)
        W = physics.W                                   W = physics.W
        z = rng.standard_normal(3)          →           out, x_bar = f_vjp_core(x, out_bar, rng, W)
        ...                                             return (out, x_bar, 0)
        return (out, x_bar, 0)
                                                    def f_vjp_core(x, out_bar, rng, W):
                                                        z = rng.standard_normal(3)
                                                        ...
                                                        return (out, x_bar)

The entry point runs as Python, so it reads the array's current contents at every call, and
the core is what the backend compiles. Moving these to the start is safe: creating a Generator
from a seed reads no other state, and nothing in the function writes the globals read. A
Generator created anywhere else (inside a loop or branch, or from a computed seed) is left in
place, and the Numba backend falls back to Python for that function, with a warning, as it does
for a function that writes a global.
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.core import Block, Const, Eqn, Function, Var, substitute, walk


def split_entry(fn: Function) -> list[Function]:
    """`[fn]`, or `[entry, core]` when `fn` makes values the entry point should make instead."""
    hoisted = _generators(fn) + _global_reads(fn)
    if not hoisted:
        return [fn]
    made: dict = {}  # one equation per value the core receives (one read per global)
    for eqn in hoisted:
        made.setdefault(_key(eqn), eqn)
    _remove(fn.body, {id(e) for e in hoisted}, {e.outs[0]: made[_key(e)].outs[0] for e in hoisted})
    returned = list(dict.fromkeys(r for r in fn.results if isinstance(r, Var)))
    core = Function(f"{fn.name}_core", Block(fn.params + [e.outs[0] for e in made.values()], fn.body.stmts, returned),
                    fn.filename, fn.lineno, fn.arg_names, fn.namespaces)
    return [_entry(fn, core, list(made.values())), core]


def hoist_global_reads(fn: Function) -> Function:
    """Read each module global once, at the start, in a function that assigns none: every read
    of it then gives the same value, so loops need not tape it, nor checkpointed loops read it
    again (and refuse it, as they refuse draws)::

        for i in range(n):                      W = m.W
            y = m.W @ y              →          for i in range(n):
                                                    y = W @ y
    """
    eqns = [s for s in walk(fn.body) if isinstance(s, Eqn)]
    if any(s.prim is P.global_write for s in eqns):
        return fn
    reads = [s for s in eqns if s.prim is P.global_read]
    first: dict = {}
    for eqn in reads:
        first.setdefault(_key(eqn), eqn)
    _remove(fn.body, {id(e) for e in reads}, {e.outs[0]: first[_key(e)].outs[0] for e in reads})
    fn.body.stmts[:0] = list(first.values())
    return fn


def _entry(fn: Function, core: Function, making: list[Eqn]) -> Function:
    """``fn(*params)``: make what `making` makes, call `core` with it, return fn's results."""
    params = [Var(p.name, p.type) for p in fn.params]
    renamed = dict(zip(fn.params, params))
    made = [Eqn([Var(e.outs[0].name, e.outs[0].type)], e.prim, [renamed.get(a, a) for a in e.ins], e.params, e.loc)
            for e in making]
    reasons = [text for prim, text in _REASONS.items() if any(e.prim is prim for e in making)]
    note = Eqn([], P.comment, [], {"text": "in Python: " + "; ".join(reasons)})
    outs = [Var(r.name, r.type) for r in core.results]
    call = Eqn(outs, P.call, params + [e.outs[0] for e in made],
               {"function": core.name, "types": tuple(v.type for v in outs)})
    renamed |= dict(zip(core.results, outs))
    results = [r if isinstance(r, Const) else renamed[r] for r in fn.results]
    return Function(fn.name, Block(params, [note, *made, call], results), fn.filename, fn.lineno, fn.arg_names,
                    fn.namespaces)


_REASONS = {P.default_rng: "compiled code cannot create a Generator",
            P.global_read: "compiled code would read a global only once"}


def _key(eqn: Eqn):
    return (eqn.params["space"], eqn.params["name"]) if eqn.prim is P.global_read else id(eqn)


def _generators(fn: Function) -> list[Eqn]:
    """Generators created at the top level from a literal seed or a parameter."""
    params = set(fn.params)
    return [s for s in fn.body.stmts if isinstance(s, Eqn) and s.prim is P.default_rng
            and all(isinstance(a, Const) or a in params for a in s.ins)]


def _global_reads(fn: Function) -> list[Eqn]:
    """Reads of globals, anywhere, when the function writes no global."""
    eqns = [s for s in walk(fn.body) if isinstance(s, Eqn)]
    if any(s.prim is P.global_write for s in eqns):
        return []
    return [s for s in eqns if s.prim is P.global_read]


def _remove(block: Block, ids: set, mapping: dict) -> None:
    """Drop the equations whose ids are `ids` from `block` (nested regions too) and read their
    values from `mapping`."""
    for stmt in walk(block):
        for inner in stmt.blocks():
            inner.stmts[:] = [s for s in inner.stmts if id(s) not in ids]
    block.stmts[:] = [s for s in block.stmts if id(s) not in ids]
    substitute(block, {k: v for k, v in mapping.items() if k is not v})
