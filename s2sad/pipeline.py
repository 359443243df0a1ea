"""The whole compiler, top to bottom.

    user function ──parse, lower──▶ IR ──verify, simplify, CSE, LICM, DCE──▶ activity analysis
        ──forward or reverse transform──▶ IR ──simplify, broadcasts, CSE, DCE──▶ codegen ──▶ .py file
        ──import (plain Python) ──▶ callable
          └─(Numba) element loops ──▶ codegen ──▶ .py file ──import, numba.njit──▶ callable

`derive` runs it for one function, one argument-type signature and one set of options.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .backend import numba as numba_backend
from .backend.background import TIERS, interruptible
from .backend.checked import copies
from .backend import python as python_backend
from .cache import write_module
from .codegen import module_source
from .effects import Effects
from .errors import S2SADError, internal_error
from .frontend.lower import lower
from .frontend.parse import recording_reads
from .frontend.nested import source_function
from . import primitives as P
from .ir.core import Eqn, Function, copy_function
from .located import LINES, Deadline, located, locating
from . import records
from .records import Form, Outline, Recipe
from .ir.printer import print_function
from .ir.types import Type
from .ir.verify import verify
from .passes.activity import active_values
from .passes.bounds import check_bounds, strip_bounds
from .passes.chunks import chunk_tapes
from .passes.copies import elide_copies
from .passes.cse import cse
from .passes.dce import dce
from .passes.draws import draws_for_numba, draws_from_global_stream
from .passes.entry import hoist_global_reads, split_entry
from .passes.fuse import fuse_loops, split_concatenations
from .passes.fuse_nd import fuse_arrays
from .passes.inplace import contiguous_operands, reuse_buffers, update_in_place
from .passes.licm import licm
from .passes.slices import push_slices
from .passes.polls import poll_loops
from .passes.shapes import simplify_broadcasts
from .passes.simplify import simplify, strip_custom
from .transforms.forward import forward
from .transforms.reverse import reverse
from .transforms.second_order import forward_over_reverse, require_scalar_result
from .transforms.vector_forward import vector_forward

MODES = ("forward", "reverse")  # of first derivatives (grad, jvp, vjp)
# and forward over reverse (Hessian-vector products), and the vector forms of forward mode and of forward over
# reverse, k tangents per sweep (`jacobian` and `hessian` use them)
DERIVATIVES = MODES + ("hvp", "vforward", "vhvp")
CALLS_BEFORE_ENTRY = 1000  # short calls of a compiled derivative before its checked entry is compiled


class Derived:
    """The result of differentiating one function for one signature: the loaded derivative,
    what calling it needs to know (`outline`, `effects`, `assumed`), and its IR, made again on
    demand when the derivative was read from a record (records.py)."""

    def __init__(self, outline: Outline, assumed: tuple, source: str, path: str, fn: Callable, core: Callable,
                 effects: Effects, ir: Callable[[], tuple[Function, Function]],
                 entry: Callable[[int], Callable | None] | None = None):
        self.outline = outline    # the primal's name, place, result types and structure
        self.assumed = assumed    # what names outside the function referred to (checked by `current`)
        self.source = source      # the generated module's source
        self.path = path          # where it was written
        self.fn = fn              # the loaded derivative function
        self.core = core          # what the backend compiled: `fn` itself, or the core it calls
        self.effects = effects    # the state one call changes besides its results
        self.scalar = False       # found to return one float (checked at the first call that needs it)
        self.short = self._copied  # what a short call runs (api.py): `fn`, each array it returns its own
        self.dropped = 0          # how many of the first results a short call leaves out (set before the first)
        self._ir = ir
        self._entry = entry       # makes the checked entry that `short` becomes (compiled code), None if none
        self._short_calls = 0

    @functools.cached_property
    def _made(self) -> tuple[Function, Function]:
        return self._ir()

    @property
    def primal(self) -> Function:
        """The primal IR, after cleanup."""
        return self._made[0]

    @property
    def derivative(self) -> Function:
        """The transformed IR, after cleanup."""
        return self._made[1]

    def _copied(self, *args) -> Any:
        """`fn`'s results but the first `dropped`, with each array copied (no result is another's,
        an argument's, or a buffer of the derivative's). Every `CALLS_BEFORE_ENTRY` calls, the
        checked entry is asked for, which does the copies and the check of the results in the call
        of machine code (backend/checked.py); once there is one, the short calls run it instead."""
        self._short_calls += 1
        if self._entry is not None and self._short_calls % CALLS_BEFORE_ENTRY == 0:
            self.short = self._entry(self.dropped) or self.short
        out = self.fn(*args)
        return copies(out[self.dropped:] if self.dropped else out)

    def current(self) -> bool:
        """Do the names outside the function still refer to what they did when it was made?"""
        return not self.assumed or all(a.holds() for a in self.assumed)


def prepare(fn, arg_types: list[Type], run_time: frozenset = frozenset()) -> Function:
    """Lower `fn` and clean up its IR (verifying after every pass); `run_time` names module
    numbers to read at run time rather than take as constants ((id(globals), name) pairs)."""
    with room_to_recurse():
        ir = lower(fn, arg_types, run_time)
        for step in (verify, hoist_global_reads, simplify, cse, licm, dce, push_slices, dce):
            ir = step(ir) or ir
        verify(ir)
    return ir


def transform(primal: Function, wrt: list[int], mode: str, checkpoint=None) -> Function:
    """The forward (`f_jvp`), reverse (`f_vjp`) or forward-over-reverse (`f_hvp`) derivative IR
    of `primal`, or their vector forms (`vforward`: `f_vjvp`, `vhvp`: `f_vhvp`, k tangents at
    once, transforms/vector_forward.py); `checkpoint` is the reverse transform's checkpointing policy (forward mode
    stores nothing and ignores it)."""
    with room_to_recurse():
        return _transform(primal, wrt, mode, checkpoint)


def _transform(primal: Function, wrt: list[int], mode: str, checkpoint) -> Function:
    if mode in ("hvp", "vhvp"):
        require_scalar_result(primal)
        vjp = _cleaned(writebacks_last(reverse(primal, wrt, active_values(primal, wrt), checkpoint)), _CLEANUP[1:])
        tangents = forward if mode == "hvp" else vector_forward
        return _cleaned(forward_over_reverse(vjp, wrt, tangents))  # (custom rules' markers kept until now)
    active = active_values(primal, wrt)
    if mode == "reverse":
        derivative = reverse(primal, wrt, active, checkpoint)
    else:
        derivative = (forward if mode == "forward" else vector_forward)(primal, wrt, active)
    return _cleaned(writebacks_last(derivative))


def writebacks_last(fn: Function) -> Function:
    """Move the writes into the caller's arrays (`writeback`) to the end of `fn`: the reverse sweep
    reads the parameters' first values, which they overwrite."""
    last = [s for s in fn.body.stmts if isinstance(s, Eqn) and s.prim is P.writeback]
    fn.body.stmts[:] = [s for s in fn.body.stmts if not (isinstance(s, Eqn) and s.prim is P.writeback)] + last
    return fn


_CLEANUP = (strip_custom, simplify, dce, elide_copies, simplify_broadcasts, cse, dce)


def _cleaned(derivative: Function, steps=_CLEANUP) -> Function:
    verify(derivative)
    for step in steps:
        derivative = step(derivative)
        verify(derivative)
    return derivative


def resolve_backend(backend: str) -> str:
    """'auto' means Numba (falling back to Python with a warning), unless the environment variable
    S2SAD_BACKEND names another backend."""
    if backend != "auto":
        return backend
    chosen = os.environ.get("S2SAD_BACKEND") or "auto"
    if chosen not in ("auto", "numba", "python"):
        raise S2SADError(f"S2SAD_BACKEND={chosen!r}: use auto, numba or python")
    return chosen


@contextmanager
def reporting_internal_errors(fn):
    """Let `S2SADError`s through; turn any other exception raised while `fn` is differentiated
    into an `InternalError` naming it (the original chained)."""
    try:
        yield
    except S2SADError:
        raise
    except Exception as exc:
        code = getattr(source_function(fn), "__code__", None)
        raise internal_error(exc, getattr(fn, "__qualname__", repr(fn)), code and code.co_filename,
                             code and code.co_firstlineno) from exc


def derive(fn, arg_types: list[Type], wrt: list[int], mode: str, backend: str = "python",
           checkpoint=None, run_time: frozenset = frozenset()) -> Derived:
    """Differentiate `fn` for `arg_types`: generate, write, load (and compile) the derivative."""
    with reporting_internal_errors(fn), without_cycle_collection():
        return _derive(fn, arg_types, wrt, mode, backend, checkpoint, run_time)


# Python frames the compiler may stack while it works: its frontend walks the user's expressions
# recursively (gast's conversion, the lowering visitor), a few frames per level, so a sum of a
# thousand terms (which Python itself compiles) needs several thousand. From Python 3.11 on, a
# call between Python functions uses no C stack, so the higher limit is safe there.
DEEPEST_RECURSION = 20_000 if sys.version_info >= (3, 11) else 8_000


@contextmanager
def room_to_recurse():
    """Raise the interpreter's recursion limit to `DEEPEST_RECURSION` while the compiler works
    (never lower it), and put it back afterwards. Not around Numba's compilation or Python's
    compiling of the generated module: those recurse in C, where a deeper limit could overflow
    the stack (codegen keeps the generated expressions shallow instead)."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, DEEPEST_RECURSION))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


@contextmanager
def without_cycle_collection():
    """Pause Python's cycle collector while a derivative is made. The IR of a long function is
    hundreds of thousands of objects, all alive until the end, which every full collection
    would walk again: a third of the time of a 2,000-statement function. Reference counting
    still frees what is dropped; the collector resumes afterwards (unless it was off before)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _derive(fn, arg_types: list[Type], wrt: list[int], mode: str, backend: str, checkpoint,
            run_time: frozenset) -> Derived:
    backend = resolve_backend(backend)
    compiled = backend in ("auto", "numba")  # Numba's form has element loops

    def ir() -> tuple[Function, Function]:
        primal = prepare(fn, arg_types, run_time)
        return primal, transform(check_bounds(copy_function(primal)), wrt, mode, checkpoint)  # (the transforms
        # edit what they get)
    name = records.key(fn, arg_types, wrt, mode, compiled, checkpoint, run_time)
    recipe = records.load(name, fn)
    if recipe is None:
        with recording_reads() as reads:
            made = ir()
        recipe = _recipe(*made, mode, backend)
        records.save(name, fn, reads, recipe)
        ir = lambda: made  # noqa: E731
    return _assemble(recipe, backend, ir)


def _recipe(primal: Function, derivative: Function, mode: str, backend: str) -> Recipe:
    """What loading the derivative needs, made from its IR: its generated forms: the Python
    form, and for a compiled `backend` Numba's; for `auto`, whose first calls run while Numba
    compiles, also the tiered form (`_tiered`), so that a record holds it for later processes."""
    outline = Outline.of(primal)
    recipe = Recipe(outline, mode, {}, derivative.namespaces, primal.assumed, Effects.of(primal),
                    draws_from_global_stream(derivative))
    recipe.forms["python"] = _form(derivative, recipe.origin, compiled=False)
    if backend in ("auto", "numba"):
        recipe.forms["compiled"] = _form(derivative, recipe.origin, compiled=True)
    if backend == "auto":
        _tiered(recipe)
    return recipe


def _tiered(recipe: Recipe) -> Form:
    """The Python form that stops when told to (`interruptible`): what runs a compiled
    derivative's first calls while Numba compiles, and a failed call again to locate its error.
    Made once, from the Python form's text."""
    if "tiered" not in recipe.forms:
        python = recipe.forms["python"]
        source, lines = interruptible(python.source, python.lines)
        recipe.forms["tiered"] = Form(str(write_module(source, python.entry)), source, lines, python.entry, python.core)
    return recipe.forms["tiered"]


def _assemble(recipe: Recipe, backend: str, ir: Callable[[], tuple[Function, Function]]) -> Derived:
    """Load the derivative `recipe` describes, for `backend` (resolved)."""
    compiled = backend in ("auto", "numba")
    origin, python, spaces = recipe.origin, recipe.forms["python"], recipe.namespaces
    module = _load(recipe.forms["compiled"] if compiled else python, spaces)
    if compiled:
        module.core = numba_backend.compile(module.core, module.source, origin, strict=backend == "numba",
                                            fallback=_plain(python, spaces),
                                            python_tier=lambda tiers: _plain(_tiered(recipe), spaces, tiers),
                                            global_stream=recipe.global_stream, namespaces=spaces)
        setattr(module.module, module.core_name, module.core)  # the entry point (if separate) calls it by name
    entry = getattr(module.module, python.entry)
    again = _python_again(recipe, spaces) if compiled else None
    fn = located(entry if compiled else _numpy_scalars(entry), recipe.outline, again)
    checked = None
    if compiled:
        module.core.on_direct.append(_calling_directly(module, fn, entry is module.core))
        if entry is module.core:  # (an entry of its own, around the core, is Python: it gets none)
            checked = _checked_entry(module.core, recipe.outline, again)
    return Derived(recipe.outline, recipe.assumed, module.source, module.path, fn, module.core, recipe.effects, ir,
                   checked)


def _checked_entry(core: Callable, outline: Outline, again: Callable) -> Callable[[int], Callable | None]:
    """What makes the calls of the checked entry of a compiled `core` (backend/checked.py:
    `core.checked`) that leave out the first `dropped` results, its errors located as the
    derivative's are; it gives None until the machine code has run."""
    return lambda dropped: core.checked(locating(outline, again), dropped)


def _calling_directly(module: "_Module", fn: Callable, whole: bool) -> Callable[[Callable], None]:
    """What to do once a compiled core's machine code has run: have the entry point (`fn`, or,
    when not the `whole` derivative, the generated entry that calls the core by name) call its
    shortest path (`direct`) from then on."""
    def tell(direct: Callable) -> None:
        setattr(module.module, module.core_name, direct)
        if whole:
            fn.calls(direct)
    return tell


def _numpy_scalars(fn: Callable) -> Callable:
    """`fn` (generated code run as Python) called with its float arguments as NumPy's float64:
    so that a division by zero gives NumPy's infinity and warning, as in the code Numba compiles
    (error_model='numpy'), not Python's ZeroDivisionError."""
    def call(*args):
        return fn(*[np.float64(a) if type(a) is float else a for a in args])
    return call


def _python_again(recipe: Recipe, namespaces: dict) -> Callable[[], tuple[Callable, Deadline]]:
    """The Python form of a compiled derivative that runs a failed call again to locate its
    error (`_tiered`), and its deadline (made at the first error)."""
    made = []

    def again() -> tuple[Callable, Deadline]:
        if not made:
            deadline = Deadline()
            tiered = _tiered(recipe)
            module = _load(tiered, namespaces, tiers=deadline)
            made.append((_numpy_scalars(getattr(module.module, tiered.entry)), deadline))
        return made[0]
    return again


def _plain(python: Form, namespaces: dict, tiers=None) -> Callable:
    """The Python backend's core, loaded at its first call: what runs if Numba refuses the
    compiled form (its element loops would run in the interpreter), or, with `tiers` and the
    tiered form, while Numba compiles it (and then stops when the machine code is ready:
    `interruptible`)."""
    def core(*args):
        if core.function is None:
            core.function = _numpy_scalars(_load(python, namespaces, tiers).core)
        return core.function(*args)
    core.function = None
    return core


@dataclass
class _Module:
    """A generated module, written and imported."""

    module: object     # the imported module
    source: str
    path: str
    core_name: str     # the function in it that a backend compiles (the entry point, or the core it calls)
    core: Callable


def _form(derivative: Function, origin: str, compiled: bool) -> Form:
    """Generate and write the derivative's module (in the form Numba compiles, if `compiled`).
    `derivative` stays whole, as `Derived` shows it."""
    with room_to_recurse():
        fn = copy_function(derivative)
        if compiled:
            for step in (draws_for_numba, update_in_place, split_concatenations, fuse_loops, fuse_arrays,
                         reuse_buffers, contiguous_operands, poll_loops, chunk_tapes):
                fn = step(fn)
        else:
            fn = dce(strip_bounds(fn))
        functions = split_entry(fn)
        source, lines = module_source(functions, origin)
    return Form(str(write_module(source, derivative.name)), source, lines, derivative.name, functions[-1].name)


def _load(form: Form, namespaces: dict, tiers=None) -> _Module:
    """Import a generated form, with `namespaces` bound in it (and `tiers`, the object the
    tiered form's loops ask whether to stop)."""
    if tiers is not None:
        namespaces = {**namespaces, TIERS: tiers}
    LINES[form.path] = form.lines
    module = python_backend.load(Path(form.path), namespaces, form.source)
    return _Module(module, form.source, form.path, form.core, getattr(module, form.core))


def ir_text(fn, arg_types: list[Type], wrt: list[int] | None = None, mode: str | None = None,
            checkpoint=None) -> str:
    """The printed IR of `fn`, or of its derivative when `mode` is given."""
    with reporting_internal_errors(fn), room_to_recurse():  # (print_function walks regions recursively)
        primal = prepare(fn, arg_types)
        return print_function(primal if mode is None else transform(primal, wrt or [0], mode, checkpoint))
