"""What one call of a differentiated function does besides returning values, and how
derivatives that call the generated code several times keep to one call's worth of it.

A function may write into its argument arrays (NumPy's in-place updates reach the caller's
arrays; the generated code does the same, see the `writeback` primitive), assign module globals,
and draw from NumPy's global random stream or from Generators it is given. A gradient must be
the gradient of one call of the function, and leave that state as one call would. Forward-mode
gradients, Jacobians and Hessians run the generated code once per column: `Effects.repeatable`
makes every run after the first start from the state before the first, so that all columns
belong to the same call and the state ends as one call leaves it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from . import primitives as P
from .ir.core import Block, Eqn, ForRange, Function, If, Var, While, walk


@dataclass(frozen=True)
class Effects:
    """The state a function's call changes (found in its primal IR)."""

    written: tuple[int, ...]      # parameters whose arrays it writes into
    globals: tuple[tuple, ...]    # (namespace, name) of the module globals it assigns
    global_stream: bool           # whether it draws from (or seeds) np.random's global stream
    generators: tuple[int, ...]   # parameters that are random Generators
    updated: tuple[int, ...] = ()  # parameters that are numbers updated in place (x += ...)
    # integer array parameters, each with the line and kind of the first operation on its elements that
    # NumPy would compute in the array's own integer type (`narrow_integer_uses`)
    narrow: tuple[tuple[int, int | None, str, bool], ...] = ()

    @classmethod
    def of(cls, primal: Function) -> "Effects":
        eqns = [s for s in walk(primal.body) if isinstance(s, Eqn)]
        written = tuple(primal.params.index(e.ins[0]) for e in eqns if e.prim is P.writeback)
        assigned = tuple(dict.fromkeys((primal.namespaces[e.params["space"]], e.params["name"])
                                       for e in eqns if e.prim is P.global_write))
        generators = tuple(k for k, p in enumerate(primal.params) if p.type.kind == "rng")
        return cls(written, assigned, any(e.prim in P.GLOBAL_STREAM for e in eqns), generators, primal.updated,
                   narrow_integer_uses(primal))

    def narrow_problem(self, fn_name: str, names: list[str], args: list) -> tuple[str, int | None] | None:
        """Why a call's integer arithmetic would not be NumPy's, and its line, or None: an integer array
        of another type than int64 (int32, uint8, ...) whose elements the function computes with, which
        NumPy does in that type (wrapping around at its range, giving that type) and s2sad in int64."""
        for k, line, what, unsigned_only in self.narrow:
            dtype = getattr(args[k], "dtype", None)
            if dtype is not None and dtype.kind in ("u" if unsigned_only else "iu") and dtype != np.int64:
                return (f"{fn_name} computes with the elements of its argument '{names[k]}' ({what} here), an "
                        f"array of {dtype}: NumPy computes in {dtype} (or {'u' if dtype.kind == 'u' else ''}int64 for "
                        f"sums), wrapping around at its range, and gives {dtype}; s2sad computes in int64. Pass an "
                        f"int64 array ({names[k]}.astype(np.int64))"), line
        return None

    def __bool__(self) -> bool:
        return bool(self.written or self.globals or self.global_stream or self.generators)

    def argument_problem(self, fn_name: str, names: list[str], args: list, converted: set[int],
                         outside: Sequence[tuple[str, np.ndarray]] = ()) -> str | None:
        """Why a call's writes into its arguments would not be NumPy's, or None: an argument s2sad
        converted (the write would miss the caller's array), or arguments sharing memory with
        another argument or with an array from outside the function that it reads (`outside`:
        names and arrays of modules and closures; NumPy would see the write through the other)."""
        for k in self.updated:
            if k in converted and isinstance(args[k], (float, int, bool)):
                return (f"{fn_name} updates its argument '{names[k]}' in place ({names[k]} += ...), as NumPy would "
                        "update your 0-d array, but s2sad takes a 0-d array as a number, which the update would not "
                        "reach; pass a float (or a 1-element array)")
        for k in self.written:
            if k in converted:
                return (f"{fn_name} writes into its argument '{names[k]}', as NumPy would write into your array, "
                        "but s2sad converted that argument to a float64 array (or a list to an array), which the "
                        "write would not reach; pass a float64 array")
            for j, other in enumerate(args):
                if j != k and isinstance(other, np.ndarray) and np.shares_memory(args[k], other):
                    return (f"{fn_name} writes into its argument '{names[k]}', which shares memory with "
                            f"'{names[j]}': NumPy would see the write through '{names[j]}', s2sad would not; "
                            "pass separate arrays (a copy)")
            for name, array in outside:
                if isinstance(args[k], np.ndarray) and np.shares_memory(args[k], array):
                    return (f"{fn_name} writes into its argument '{names[k]}', which shares memory with the array "
                            f"'{name}' it reads from outside (a module's or a closure's): NumPy would see the write "
                            f"through '{name}', s2sad would not; pass a copy")
        return None

    def repeatable(self, run: Callable, args: list) -> Callable:
        """`run`, made to start every call after the first from the state before the first."""
        if not self:
            return run
        saved = self.save(args)
        calls = 0

        def again(*a):
            nonlocal calls
            if calls:
                saved()
            calls += 1
            return run(*a)
        return again

    def save(self, args: list) -> Callable[[], None]:
        """Save the state a call changes; the function returned puts it back."""
        arrays = [(args[k], args[k].copy()) for k in self.written]
        values = [(space, name, getattr(space, name)) for space, name in self.globals]
        stream = np.random.get_state() if self.global_stream else None
        generators = [(args[k], copy.deepcopy(args[k].bit_generator.state)) for k in self.generators]

        def restore() -> None:
            for array, before in arrays:
                array[...] = before
            for space, name, value in values:
                setattr(space, name, value)
            if stream is not None:
                np.random.set_state(stream)
            for generator, state in generators:
                generator.bit_generator.state = state
        return restore



# --- integer arrays of another type than int64 ------------------------------------------------------
# The IR's integers are int64. An int32 or uint8 array argument is given to the generated code as it
# is, which is NumPy's own behaviour wherever its elements are only moved (views, copies, selections,
# maxima), compared, used as indices or converted to floats; arithmetic on them NumPy computes in
# their type (200 + 100 is 44 in uint8), compiled code in int64. `narrow_integer_uses` finds, for each
# integer array parameter, the first operation of the second kind.

_MOVES = {P.getitem, P.reshape, P.transpose, P.ravel, P.flatten, P.copy, P.expand_dims, P.squeeze, P.flip,
          P.broadcast_to, P.swapaxes, P.amax, P.amin, P.concatenate, P.stack, P.tile, P.repeat, P.roll, P.diag,
          P.tril, P.triu, P.pad, P.select, P.where}  # (their result holds the operand's elements, in its type)
_EXACT = {P.eq, P.ne, P.lt, P.le, P.gt, P.ge, P.argmax, P.argmin, P.argsort, P.sort_columns, P.searchsorted,
          P.shape, P.size, P.astype, P.to_float, P.isnan, P.isfinite, P.isinf, P.mean, P.writeback, P.digitize,
          P.checked_index, P.in_bounds, P.in_bounds_span}


_WIDENED = {P.sum, P.cumsum, P.prod, P.cumprod}  # (of signed integers: NumPy's are in int64, as s2sad's)


def narrow_integer_uses(primal: Function) -> tuple[tuple[int, int | None, str, bool], ...]:
    """For each integer array parameter, (its index, the line, the operation, whether it concerns
    unsigned integers only) of the first operation that computes with its elements (or values made
    of them): of any, and of any but sums and products, which NumPy computes in int64 for signed
    integers."""
    uses = []
    for k, param in enumerate(primal.params):
        if param.type.is_array and param.type.element.kind == "i64":
            held = _carriers(primal.body, param)
            for unsigned_only, skipped in ((True, set()), (False, _WIDENED)):
                found = _first_arithmetic(primal.body, held, skipped)
                if found is not None:
                    uses.append((k, *found, unsigned_only))
    return tuple(uses)


def _carriers(body: Block, param: Var) -> set[Var]:
    """`param` and the values holding its elements: results of moves, and values loops and branches
    carry from them (to a fixed point)."""
    held = {param}
    while True:
        before = len(held)
        for stmt in walk(body):
            if isinstance(stmt, Eqn):
                if stmt.prim in _MOVES and _holds(stmt, held) and stmt.outs and \
                        stmt.outs[0].type.element.kind == "i64":
                    held.add(stmt.outs[0])
            else:
                for source, target in _flows(stmt):
                    if source in held and isinstance(target, Var):
                        held.add(target)
        if len(held) == before:
            return held


def _holds(eqn: Eqn, held: set[Var]) -> bool:
    """Whether `eqn`'s result holds elements of a held value (an index only selects)."""
    operands = eqn.ins[:1] if eqn.prim is P.getitem else eqn.ins[1:] if eqn.prim in (P.where, P.select) else eqn.ins
    return any(isinstance(a, Var) and a in held for a in operands)


def _flows(stmt) -> list[tuple]:
    """(value, what it becomes) across a loop or a branch: initial values into the body's and the
    condition's parameters and the loop's results, the body's results into both, a branch's results
    into its outputs."""
    if isinstance(stmt, If):
        return [(r, out) for block in (stmt.then, stmt.orelse) for r, out in zip(block.results, stmt.outs)]
    params = stmt.body.params[1:] if isinstance(stmt, ForRange) else stmt.body.params
    pairs = []
    for targets in [params, stmt.outs] + ([stmt.cond.params] if isinstance(stmt, While) else []):
        pairs += list(zip(stmt.init, targets)) + list(zip(stmt.body.results, targets))
    return pairs


def _first_arithmetic(body: Block, held: set[Var], skipped: set) -> tuple[int | None, str] | None:
    for stmt in walk(body):
        if not isinstance(stmt, Eqn) or stmt.prim in _MOVES or stmt.prim in _EXACT or stmt.prim in skipped \
                or stmt.prim.statement:
            continue
        if stmt.prim.inplace and stmt.ins[0] not in held:
            continue  # (held elements stored into another array, or used as indices: converted as NumPy does)
        if any(isinstance(a, Var) and a in held for a in stmt.ins) and \
                not (stmt.outs and stmt.outs[0].type.element.kind in ("f64", "bool")):
            return (stmt.loc.lineno if stmt.loc else None), f"'{stmt.prim.name}'"
    return None
