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
from .ir.core import Eqn, Function, walk


@dataclass(frozen=True)
class Effects:
    """The state a function's call changes (found in its primal IR)."""

    written: tuple[int, ...]      # parameters whose arrays it writes into
    globals: tuple[tuple, ...]    # (namespace, name) of the module globals it assigns
    global_stream: bool           # whether it draws from (or seeds) np.random's global stream
    generators: tuple[int, ...]   # parameters that are random Generators
    updated: tuple[int, ...] = ()  # parameters that are numbers updated in place (x += ...)

    @classmethod
    def of(cls, primal: Function) -> "Effects":
        eqns = [s for s in walk(primal.body) if isinstance(s, Eqn)]
        written = tuple(primal.params.index(e.ins[0]) for e in eqns if e.prim is P.writeback)
        assigned = tuple(dict.fromkeys((primal.namespaces[e.params["space"]], e.params["name"])
                                       for e in eqns if e.prim is P.global_write))
        generators = tuple(k for k, p in enumerate(primal.params) if p.type.kind == "rng")
        return cls(written, assigned, any(e.prim in P.GLOBAL_STREAM for e in eqns), generators, primal.updated)

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

