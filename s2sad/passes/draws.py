"""Random draws in the form Numba compiles, drawing NumPy's numbers.

Numba's draws use NumPy's algorithms, but its `normal` and `uniform` take only numbers for their
parameters (and a method Numba defines cannot be extended), and they check nothing: NumPy raises
for a negative scale, an infinite range (or, for a Generator, high < low), parameters that do not
broadcast to `size`, or a seed out of range. In the code Numba compiles, each normal and uniform
draw (legacy or of a Generator) is therefore written as NumPy computes it, after NumPy's checks::

    np.random.normal(loc, scale, size)   →  loc + checked_scale(scale) * np.random.standard_normal(size)
    np.random.uniform(low, high, size)   →  low + checked_range(low, high) * np.random.random(size)
    rng.uniform(low, high, size)         →  low + checked_ordered_range(low, high) * rng.random(size)

one standard variate per element, in order, as NumPy draws them, so the numbers are the same.
Without `size`, the shape is the broadcast shape of array parameters; with it, array parameters
must broadcast to it (`checked_size`). A check of literal parameters that pass is left out, and
``np.random.seed(s)`` becomes ``np.random.seed(checked_seed(s))``. Only the code Numba compiles
is rewritten; the Python backend keeps the calls as written.

`draws_from_global_stream` says whether a function uses NumPy's global stream: the backend then
runs the compiled code on it (`backend/stream.py`).
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.builder import Builder
from ..ir.core import Block, Const, Eqn, Function, substitute, walk


def draws_for_numba(fn: Function) -> Function:
    """`fn` with its draws rewritten as above (in place)."""
    mapping: dict = {}
    for block in [fn.body] + [b for stmt in walk(fn.body) for b in stmt.blocks()]:
        _rewrite(block, mapping)
    substitute(fn.body, mapping)
    return fn


def standard_draws_in(block: Block) -> None:
    """The draws at the top level of `block` rewritten as above (in place; for both backends:
    a checkpointed loop records the standard variates its steps draw)."""
    mapping: dict = {}
    _rewrite(block, mapping)
    substitute(block, mapping)


def draws_from_global_stream(fn: Function) -> bool:
    """Whether `fn` draws from, or seeds, NumPy's global random stream."""
    return any(isinstance(s, Eqn) and s.prim in P.GLOBAL_STREAM for s in walk(fn.body))


def _rewrite(block: Block, mapping: dict) -> None:
    new: list = []
    for stmt in block.stmts:
        rewrite = _REWRITES.get(stmt.prim) if isinstance(stmt, Eqn) else None
        if rewrite is None:
            new.append(stmt)
            continue
        b = Builder(stmt.loc)
        value = rewrite(b, *stmt.ins)
        if stmt.outs:
            mapping[stmt.outs[0]] = value
        new += b.stmts
    block.stmts[:] = new


def _normal(standard: P.Primitive):
    """``loc + scale * z``, z drawn by `standard` (from the same Generator, if any)."""
    def rewrite(b: Builder, *ins):
        rng, (loc, scale, size) = _generator(ins)
        scale = b.emit(P.checked_scale, [scale])
        z = b.emit(standard, [*rng, _shape(b, size, loc, scale)])
        return b.emit(P.add, [loc, b.emit(P.mul, [scale, z])])
    return rewrite


def _uniform(standard: P.Primitive, check: P.Primitive):
    """``low + (high - low) * u``, u drawn by `standard` on [0, 1) (from the same Generator, if
    any), ``high - low`` given by `check`."""
    def rewrite(b: Builder, *ins):
        rng, (low, high, size) = _generator(ins)
        span = b.emit(check, [low, high])
        u = b.emit(standard, [*rng, _shape(b, size, low, high)])
        return b.emit(P.add, [low, b.emit(P.mul, [span, u])])
    return rewrite


def _generator(ins: tuple) -> tuple[list, tuple]:
    """A draw's Generator operand (a list of zero or one), and its other operands."""
    return ([ins[0]], ins[1:]) if ins[0].type.kind == "rng" else ([], ins)


def _shape(b: Builder, size, *params):
    """The shape to draw: `size` (checked against array parameters), or theirs."""
    shapes = [b.emit(P.shape, [a]) for a in params if a.type.is_array]
    if not shapes:
        return size
    shape = shapes[0] if len(shapes) == 1 else b.emit(P.broadcast_shapes, shapes)
    if isinstance(size, Const) and size.value is None:
        return shape
    if size.type.kind != "tuple":
        size = b.emit(P.make_tuple, [size])
    return b.emit(P.checked_size, [size, shape])


def _seed(b: Builder, seed):
    checked = b.emit(P.checked_seed, [seed]) if seed.type.kind == "i64" else seed
    return b.emit(P.random_seed, [checked])


_REWRITES = {
    P.random_normal: _normal(P.random_standard_normal),
    P.rng_normal: _normal(P.rng_standard_normal),
    P.random_uniform: _uniform(P.random_random, P.checked_range),
    P.rng_uniform: _uniform(P.rng_random, P.checked_ordered_range),  # a Generator's needs low <= high
    P.random_seed: _seed,
}
