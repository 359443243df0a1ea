"""The public API: `grad`, `value_and_grad`, `jvp`, `vjp`, `derivative_source`.

Each returns a derivative object that compiles the user's function once per argument-type
signature (floats, ints, bools, float/int/bool arrays of each rank, and the structure of
container arguments: s2sad/containers.py) and then calls the generated code. Derivative objects
pickle with the sources of the user's functions (s2sad/frontend/shipping.py), so that another
process, a Dask worker among them, derives them without the caller's files.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import types
from typing import Any, Callable, Sequence

import numpy as np

from . import notice
from .checkpoint import Policy
from .containers import Node, flatten, flatten_like, is_container, leaf_trees, unflatten
from .errors import S2SADError
from .ir.types import Type, parse_type, type_of_value
from .frontend import shipping
from .frontend.nested import source_function
from .frontend.parse import as_function
from .pipeline import DERIVATIVES, MODES, Derived, derive, ir_text
from .transforms.common import not_one_float

BACKENDS = ("auto", "python", "numba")
_KEPT = 4  # derivatives kept per argument types, made under different values of the module's numbers
_CHANGES_BEFORE_RUN_TIME = 3  # a module float changed this often between calls is read at run time
Wrt = int | str | Sequence[int | str]


# --- options -------------------------------------------------------------------------------

def _where(fn) -> tuple[str | None, int | None]:
    code = getattr(source_function(fn), "__code__", None)
    return (code.co_filename, code.co_firstlineno) if code else (None, None)


def _fail(fn, message: str) -> S2SADError:
    return S2SADError(message, *_where(fn))


def _param_names(fn) -> list[str]:
    if not callable(fn) or not hasattr(source_function(fn), "__code__"):
        raise S2SADError(f"s2sad differentiates Python functions; got {type(fn).__name__}")
    parameters = inspect.signature(fn).parameters.values()
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            star = "*" if p.kind is p.VAR_POSITIONAL else "**"
            raise _fail(fn, f"{fn.__name__} takes {star}{p.name}; s2sad differentiates functions with named "
                            "parameters (pass a tuple or a dict as one parameter instead)")
    return [p.name for p in parameters]


def _normalise_wrt(fn, wrt: Wrt) -> tuple[tuple[int, ...], bool]:
    """(`wrt` as parameter indices, whether the caller asked for a tuple)."""
    names = _param_names(fn)
    single = isinstance(wrt, (numbers.Integral, str))
    if not single and not isinstance(wrt, (tuple, list)):
        raise _fail(fn, f"wrt={wrt!r}: give a parameter's index or name, or a tuple of them")
    indices = [_wrt_index(fn, names, w) for w in ([wrt] if single else list(wrt))]
    if not indices:
        raise _fail(fn, "wrt must name at least one parameter")
    for k, index in enumerate(indices):
        if index in indices[:k]:
            raise _fail(fn, f"wrt={wrt!r} names the parameter {names[index]!r} twice; name each parameter once")
    return tuple(indices), not single


def _wrt_index(fn, names: list[str], w: Any) -> int:
    """The index of the parameter `w` names (its name, or its index, negative from the end)."""
    if isinstance(w, str):
        if w not in names:
            raise _fail(fn, f"wrt={w!r} is not a parameter of {fn.__name__}{tuple(names)}")
        return names.index(w)
    if isinstance(w, (bool, np.bool_)) or not isinstance(w, numbers.Integral):
        raise _fail(fn, f"wrt={w!r}: give a parameter's index or name, or a tuple of them")
    if not -len(names) <= w < len(names):
        raise _fail(fn, f"wrt={w!r} is out of range: {fn.__name__} has {len(names)} parameters")
    return int(w) % len(names)


def _check_options(fn, mode: str, backend: str, checkpoint, modes: tuple = MODES) -> None:
    if not isinstance(mode, str) or mode not in modes:
        choices = ", ".join(repr(m) for m in modes[:-1]) + f" or {modes[-1]!r}"
        raise _fail(fn, f"mode={mode!r}: use {choices} (example arguments go in args=...)")
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise _fail(fn, f"backend={backend!r}: use 'auto', 'python' or 'numba'")
    if checkpoint is not None and not isinstance(checkpoint, Policy):
        raise _fail(fn, f"checkpoint={checkpoint!r}: use s2sad.StoreAll() (the default), "
                        "s2sad.Periodic(every=k) or s2sad.Binomial(snapshots=s)")


# --- arguments -------------------------------------------------------------------------------

def _prepare_arg(fn, name: str, value: Any, differentiated: bool) -> Any:
    """`value` as the generated code expects it; floats for differentiated arguments. `name` is
    the argument's name, or the path of a container's leaf (``params['W1']``)."""
    if type(value) is float or (type(value) is np.ndarray and value.dtype == np.float64 and value.ndim):
        return value  # (the common case, on every call)
    if isinstance(value, np.ma.MaskedArray):
        raise _fail(fn, f"{_called(name)} is a masked array, whose mask s2sad would ignore; pass the values to use "
                        "(x.filled(value), or x.compressed() for the unmasked ones)")
    if isinstance(value, (list, tuple, np.ndarray)):
        value = np.asarray(value)  # (an ndarray subclass, np.memmap or np.matrix, as a plain array)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.dtype != np.float64:
        value = value.astype(np.float64)
    if differentiated:
        if value is None:
            raise _fail(fn, f"cannot differentiate with respect to '{name}': it is None")
        if isinstance(value, (bool, np.bool_)) or (isinstance(value, np.ndarray) and value.dtype.kind == "b"):
            raise _fail(fn, f"cannot differentiate with respect to {_called(name)}: it is a bool")
        if isinstance(value, numbers.Integral):
            value = float(value)
        elif isinstance(value, np.ndarray) and value.dtype.kind in "iu":
            value = value.astype(np.float64)
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        value = value.item()  # a NumPy scalar or 0-d array is a number
    if type_of_value(value) is None:
        what = f"argument '{name}'" if name.isidentifier() else name
        raise _fail(fn, f"{what} is {type(value).__name__} {value!r:.40}; s2sad handles floats, ints, bools and "
                        "NumPy arrays of them, and tuples, lists, dicts, namedtuples and dataclasses of those (which "
                        "may also hold strings, functions and None, as constants)")
    return value


def _called(path: str) -> str:
    """An argument's name in quotes, a container's leaf as its path (``params['W1']``)."""
    return f"'{path}'" if path.isidentifier() else path


class Bound(list):
    """Arguments as the generated code takes them: each argument, or the leaves of a container
    argument one after the other. `trees` holds each argument's structure (None for a number or
    an array), `paths` each leaf's name in messages (``x``, ``params['W1']``), and `converted` the
    indices of arrays that were converted (a copy, not the caller's array)."""

    def __init__(self, leaves, converted: set[int] = frozenset(), trees: Sequence | None = None,
                 paths: Sequence[str] | None = None):
        super().__init__(leaves)
        self.converted = set(converted)
        self.trees = tuple(trees) if trees is not None else (None,) * len(self)
        self.paths = list(paths) if paths is not None else [f"argument {k}" for k in range(len(self))]
        self.counts = [1 if tree is None else len(leaf_trees(tree)) for tree in self.trees]
        self.starts = [sum(self.counts[:k]) for k in range(len(self.trees))]

    def leaves(self, params: Sequence[int]) -> list[int]:
        """The indices of the leaves of these arguments, in order."""
        return [i for k in params for i in range(self.starts[k], self.starts[k] + self.counts[k])]

    def types(self) -> list:
        """Each argument's type: its IR type, or its structure with the types of its leaves."""
        return [type_of_value(self[start]) if tree is None else tree for start, tree in zip(self.starts, self.trees)]

    def regroup(self, params: Sequence[int], values: Sequence) -> list:
        """One value per argument of `params`, from `values`, one per leaf of theirs: a container
        rebuilt with the argument's structure."""
        out, at = [], 0
        for k in params:
            part, at = values[at:at + self.counts[k]], at + self.counts[k]
            out.append(part[0] if self.trees[k] is None else unflatten(self.trees[k], part))
        return out

    def structured(self) -> list:
        """The arguments as the function takes them (containers rebuilt around the leaves)."""
        return self.regroup(range(len(self.trees)), self)


def prepare_arguments(fn, names: Sequence[str], args: Sequence, wrt: Sequence[int]) -> Bound:
    """`args` (one per parameter of `fn`, named `names`) as the generated code takes them:
    converted (floats for the `wrt` parameters), containers flattened into their leaves."""
    leaves, copied, trees, paths = [], [], [], []
    for k, (name, value) in enumerate(zip(names, args)):
        if type(value) is float or (type(value) is np.ndarray and value.dtype == np.float64 and value.ndim):
            leaves.append(value)  # (the common case, on every call: as it is)
            copied.append(False)
            trees.append(None)
            paths.append(name)
            continue

        def leaf(path: str, v: Any, differentiated: bool = k in wrt) -> tuple[Any, Any]:
            prepared = _prepare_arg(fn, path, v, differentiated)
            copied.append(isinstance(v, (np.ndarray, list, tuple)) and prepared is not v)  # (a list: an array now)
            paths.append(path)
            return prepared, type_of_value(prepared)
        made, tree = flatten(value, name, leaf) if is_container(value) else ([leaf(name, value)[0]], None)
        leaves += made
        trees.append(tree)
    return Bound(leaves, {i for i, c in enumerate(copied) if c}, trees, paths)


class Derivative:
    """A derivative of `fn`, compiled lazily per argument-type signature."""

    kind = "derivative"
    mode_for_transform = "reverse"

    def __init__(self, fn: Callable, wrt: Wrt = 0, *, mode: str = "reverse", backend: str = "auto",
                 checkpoint=None):
        _check_options(fn, mode, backend, checkpoint)
        self.fn = fn
        self.wrt, self.as_tuple = _normalise_wrt(fn, wrt)
        self.mode = mode
        self.backend = backend
        self.checkpoint = checkpoint
        self._compiled: dict[tuple, tuple[Derived, ...]] = {}
        self._quick: dict[tuple, Derived] = {}  # (`_plain_key`) → the derivative a call of such arguments runs
        self._changes: dict[tuple, int] = {}  # module floats → how often they changed between calls
        self._run_time: set[tuple] = set()  # module floats read at run time (they keep changing)
        self.tape_bytes: int | None = None  # bytes the tapes and snapshots of the last reverse-mode call held
        self.advances: int | None = None  # loop steps the last reverse-mode call ran again (checkpointing)
        self.signature = inspect.signature(fn)
        self._names = list(self.signature.parameters)
        self._defaults = _default_values(fn)  # (the signature's, made again when they are replaced)
        functools.update_wrapper(self, fn, updated=() if isinstance(fn, Derivative) else ("__dict__",))

    def __repr__(self) -> str:
        return f"<s2sad.{self.kind} of {self.fn.__qualname__}, wrt={self.wrt}, mode={self.mode!r}>"

    def __reduce__(self):
        """Pickled with the sources it derives from (frontend/shipping.py): a process that
        unpickles it reads none of the caller's files, and unpickling the same bytes again (a
        Dask worker's next task) gives the same derivative, already made."""
        wrt = self.wrt if self.as_tuple else self.wrt[0]
        return (_unpickle, (shipping.pack((type(self), self.fn, wrt, self.options(), shipping.collect(self.fn))),))

    def options(self) -> dict:
        """The options it was made with (as keywords of its class)."""
        return {"mode": self.mode, "backend": self.backend, "checkpoint": self.checkpoint}

    def bind(self, args: tuple, kwargs: dict) -> "Bound":
        names = self._names
        if kwargs or len(args) != len(names):  # (all arguments given by position need no binding)
            defaults = _default_values(self.fn)
            if len(defaults) != len(self._defaults) or any(a is not b for a, b in zip(defaults, self._defaults)):
                self.signature, self._defaults = inspect.signature(self.fn), defaults  # (f.__defaults__ = ...)
            try:
                bound = self.signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise _fail(self.fn, f"{self.fn.__name__}: {exc}") from None
            bound.apply_defaults()
            args = tuple(bound.arguments.values())
        return prepare_arguments(self.fn, names, args, self.wrt)

    def call_original(self, values: Sequence) -> Any:
        """The function itself called with `values`, one per parameter (as `bind` orders them):
        keyword-only parameters passed by name."""
        keyword_only = inspect.Parameter.KEYWORD_ONLY
        params = self.signature.parameters.values()
        return self.fn(*[v for v, p in zip(values, params) if p.kind is not keyword_only],
                       **{p.name: v for v, p in zip(values, params) if p.kind is keyword_only})

    def quick(self, args: tuple, vectors: int, like_arguments: bool = True) -> tuple[tuple | None, Derived | None]:
        """For `args` (the arguments, then `vectors` tangents, directions or a cotangent) all plain
        (`_plain_key`): their key, and the derivative a call of their kind made and checked, if
        it still holds (and, `like_arguments`, the vectors have the shapes of the `wrt`
        arguments); (None, None) for other arguments."""
        n = len(self._names)
        key = _plain_key(args, n + vectors)
        derived = self._quick.get(key)
        if derived is None or not derived.current():
            return key, None
        if like_arguments:
            for k in self.wrt:
                vector, like = args[n], args[k]
                n += 1
                if type(vector) is not type(like) or type(like) is not float and vector.shape != like.shape:
                    return key, None
        return key, derived

    def remember(self, key: tuple | None, derived: Derived, results: int = 1, tree=None, dropped: int = 0) -> None:
        """Send the next calls of `key`'s kind straight to `derived` (when the arguments were plain,
        the function returns one value, and it writes into none of its arguments), which leave
        out its first `dropped` results (`Derived.short`)."""
        effects = derived.effects
        if key is not None and results == 1 and tree is None and not (effects.written or effects.updated):
            derived.dropped = dropped
            self._quick[key] = derived

    def runner(self, derived: Derived, args: "Bound", repeated: bool = False) -> Callable:
        """The generated function to call with `args`, after checking that its writes into them
        are NumPy's; with `repeated`, made so that each call starts from the state the first saw
        (for derivatives that run it once per column)."""
        effects = derived.effects
        if effects.narrow:
            problem = effects.narrow_problem(self.fn.__name__, args.paths, args)
            if problem:
                raise S2SADError(problem[0], _where(self.fn)[0], problem[1])
        if effects.written or effects.updated:
            outside = [(a.name, a.now()) for a in derived.assumed if a.kind_only and isinstance(a.now(), np.ndarray)]
            problem = effects.argument_problem(self.fn.__name__, args.paths, args, args.converted, outside)
            if problem:
                raise _fail(self.fn, problem)
        return effects.repeatable(derived.fn, args) if repeated else derived.fn

    @staticmethod
    def signature_key(args: "Bound", mode: str) -> tuple:
        """What decides the derivative's IR types for `args` (cheaper to build than the types)."""
        return (mode, args.trees, *((type(a), a.dtype, a.ndim) if type(a) is np.ndarray else type(a) for a in args))

    def compiled(self, args: list, mode: str) -> Derived:
        """The derivative for these arguments (a `Bound`, or a list of numbers and arrays)."""
        args = args if isinstance(args, Bound) else Bound(args)
        key = self.signature_key(args, mode)
        made = self._compiled.get(key, ())
        for derived in made:
            if derived.current():
                return derived
        if made:
            self._note_changes(made[0])
        with notice.if_slow(f"making the {mode}-mode derivative of {self.fn.__qualname__}; it is kept for the "
                            "later calls in this process"):
            derived = derive(self.fn, args.types(), args.leaves(self.wrt), mode, self.backend, self.checkpoint,
                             frozenset(self._run_time))
        self._compiled[key] = (derived, *made[:_KEPT - 1])  # (the last few, for a flag switched back and forth)
        return derived

    def made(self) -> list[Derived]:
        """The derivatives made so far, for each argument-type signature the newest first."""
        return [derived for made in self._compiled.values() for derived in made]

    def _note_changes(self, derived: Derived) -> None:
        """Count the module floats that changed since `derived` was made; one that keeps changing
        (a coefficient set before every call) is read at run time from then on, rather than make
        the derivative again at every change."""
        for a in derived.assumed:
            if not a.holds() and isinstance(a.value, float) and (isinstance(a.container, types.CellType) or (
                    isinstance(a.container, dict) and a.container.get("__name__") is not None)):
                key = (id(a.container), a.name)
                self._changes[key] = self._changes.get(key, 0) + 1
                if self._changes[key] >= _CHANGES_BEFORE_RUN_TIME:
                    self._run_time.add(key)

    def _statistics(self, returned: tuple, n: int) -> tuple:
        """The first `n` values a reverse-mode derivative returned; the rest are its statistics
        (`_keep_statistics`)."""
        return self._keep_statistics(returned, n)[:n]

    def _keep_statistics(self, returned: tuple, n: int) -> tuple:
        """`returned`, the values a reverse-mode derivative returned, after keeping as attributes
        its statistics, after the first `n` (tape bytes, and the loop steps checkpointing ran again
        when a loop is checkpointed)."""
        self.tape_bytes = returned[n]
        self.advances = returned[n + 1] if len(returned) > n + 1 else 0
        return returned

    def derived(self, *args, **kwargs) -> Derived:
        """The compiled derivative (IR, generated source, file) for these arguments."""
        return self.compiled(self.bind(args, kwargs), self.mode_for_transform)

    def _owned_like(self, results: tuple, start: int, args: tuple) -> Any:
        """``results[start:]``, one per `wrt` parameter, each in the form of its argument in `args`
        (plain ones: `_plain_key`) as `_as_output` makes it, packed (`_pack`): a short call's
        results, whose arrays are the caller's own already."""
        shaped = []
        for k in self.wrt:
            value, like = results[start], args[k]
            start += 1
            kind = type(value)
            if kind is not type(like) or kind is not float and (value.shape != like.shape or value.dtype != _F64):
                value = _as_output(value, like, True)
            shaped.append(value)
        return tuple(shaped) if self.as_tuple else shaped[0]

    def _pack(self, grads: list) -> Any:
        return tuple(grads) if self.as_tuple else grads[0]

    def check_scalar_output(self, derived: Derived, instead: str) -> None:
        """Refuse a function that does not return one float (`instead` names what handles it)."""
        if derived.scalar:
            return
        tree = derived.outline.out_tree
        what = str(tree) if isinstance(tree, Node) and tree.cls is not tuple else not_one_float(derived.outline)
        if what:
            raise S2SADError(f"{self.kind} needs a function returning one float, but {self.fn.__name__} returns "
                             f"{what}; use {instead} for non-scalar outputs", *_where(self.fn))
        derived.scalar = True  # (checked once)

    def split(self, args: tuple, what: str) -> tuple[Bound, list]:
        """``(*arguments, *vectors)`` → (the bound arguments, the float leaves of one vector per
        `wrt` parameter, which must have its structure and its leaves' shapes); `what` names the
        vectors in errors."""
        n = len(self.signature.parameters)
        if len(args) != n + len(self.wrt):
            raise _fail(self.fn, f"{self.kind} of {self.fn.__name__} takes {n} arguments and {len(self.wrt)} "
                                 f"{what}(s), got {len(args)} values")
        primals = self.bind(args[:n], {})
        vectors = []
        for k, vector in zip(self.wrt, args[n:]):
            like = [primals[i] for i in primals.leaves([k])]
            label = f"argument {k} ({self._names[k]})" if primals.trees[k] is None else self._names[k]
            vectors += self.leaves_like(primals.trees[k], vector, like, label, what, "argument")
        return primals, vectors

    def structured_like(self, tree, value: Any, path: str, what: str) -> list[tuple[str, Any]]:
        """`flatten_like`, its errors located at the function."""
        try:
            return flatten_like(tree, value, path, what)
        except S2SADError as exc:
            raise _fail(self.fn, exc.message) from None

    def leaves_like(self, tree, value: Any, like: list, label: str, what: str, whose: str) -> list:
        """The float leaves of `value`, a tangent, cotangent or direction for a value of structure
        `tree` (None for one number or array) whose leaves are `like`: each must have its leaf's
        shape. `label` names that value in errors, `whose` its kind ("argument", "result")."""
        items = [(label, value)] if tree is None else self.structured_like(tree, value, label, f"the {what}")
        leaves = []
        for (path, v), x in zip(items, like):
            v = _prepare_arg(self.fn, f"{what} for {path}" if tree is None else f"the {what}'s {path}", v, True)
            if np.shape(v) != np.shape(x):
                raise _fail(self.fn, f"the {what} for {path} has shape {np.shape(v)}, but the {whose} has shape "
                                     f"{np.shape(x)}")
            leaves.append(v)
        return leaves


def _default_values(fn) -> list:
    """The default values of `fn`'s parameters (of the function a `functools.wraps` wrapper wraps),
    positional then keyword-only."""
    fn = inspect.unwrap(fn)
    return [*(getattr(fn, "__defaults__", None) or ()), *(getattr(fn, "__kwdefaults__", None) or {}).values()]


def outputs(tree, values: Sequence) -> Any:
    """The value a function returns, from its results' values (one, or the leaves of the
    container it returns, built again with its structure `tree`)."""
    values = [_plain(v) for v in values]
    return values[0] if tree is None else unflatten(tree, values)


def _rebuild(cls, fn, wrt, mode, backend, checkpoint):
    """A derivative pickled before pickles carried sources (by reference to its function)."""
    return cls(fn, wrt, mode=mode, backend=backend, checkpoint=checkpoint)


def _unpickle(payload: bytes) -> Derivative:
    """A derivative from what `Derivative.__reduce__` packed (once per process for these bytes)."""
    return shipping.unpack(payload, _unpacked)


def _unpacked(state: tuple) -> Derivative:
    cls, fn, wrt, options = state
    return cls(fn, wrt, **options)


def basis(shape: tuple):
    """(index, e) for each element of an array of `shape`, e the unit vector at that index (a
    fresh array, or 1.0 for a scalar)."""
    for index in np.ndindex(shape):
        e = np.zeros(shape)
        e[index] = 1.0
        yield index, (e if shape else 1.0)


def _plain(value: Any) -> Any:
    """A result as the user expects it: a Python float for a scalar, arrays as they are."""
    return float(value) if isinstance(value, (float, np.floating)) else value


def _as_output(value: Any, like: Any, owned: bool = False) -> Any:
    """A result in the form of `like`: a float for a scalar, an array of its shape otherwise, the
    caller's own (a copy, unless `owned`: a short call's results are copies already)."""
    if isinstance(like, np.ndarray):
        if type(value) is np.ndarray and value.dtype == _F64 and value.shape == like.shape:
            return value if owned else value.copy()  # (the common case, and the fastest copy)
        return np.array(value, dtype=np.float64).reshape(like.shape)
    return float(value)


# --- grad and value_and_grad ----------------------------------------------------------------

class Grad(Derivative):
    """``g(*args)`` → ∂f/∂args[wrt], shaped like that argument (a float for a scalar)."""

    kind = "grad"

    @property
    def mode_for_transform(self) -> str:
        return self.mode

    def __call__(self, *args, **kwargs):
        return self.value_and_grad(args, kwargs)[1]

    def value_and_grad(self, args: tuple, kwargs: dict) -> tuple[Any, Any]:
        key = _plain_key(args, len(self._names)) if not kwargs and self.mode == "reverse" else None
        quick = self._quick.get(key)
        if quick is not None and quick.current():  # (the shortest way, for numbers and float arrays: `remember`)
            out = self._keep_statistics(quick.short(*args, 1.0), 1 + len(self.wrt))
            return float(out[0]), self._owned_like(out, 1, args)
        args = self.bind(args, kwargs)
        derived = self.compiled(args, self.mode)
        self.check_scalar_output(derived, "s2sad.vjp")
        wrt = args.leaves(self.wrt)
        if self.mode == "reverse":
            value, *grads = self._statistics(self.runner(derived, args)(*args, 1.0), 1 + len(wrt))
            self.remember(key, derived)
        else:
            value, grads = self._forward_grads(self.runner(derived, args, repeated=True), args, wrt)
        grads = [_as_output(g, args[k]) for g, k in zip(grads, wrt)]
        return _plain(value), self._pack(args.regroup(self.wrt, grads))


    def _forward_grads(self, run: Callable, args: list, wrt: list[int]) -> tuple[Any, list]:
        """Forward mode: one JVP per element of each differentiated argument (`run` starts each
        from the same state)."""
        value, grads = None, []
        for slot, k in enumerate(wrt):
            grad = np.zeros(np.shape(args[k]))
            for index, e in basis(np.shape(args[k])):
                value, grad[index] = run(*args, *unit_tangents(args, wrt, slot, e))
            grads.append(grad)
        if value is None:
            value = run(*args, *zeros_like_each(args[k] for k in wrt))[0]
        return value, grads


def _plain_key(args: tuple, n: int) -> tuple | None:
    """For `n` arguments that are all floats and float64 arrays (one per parameter, and the
    vectors), what decides their derivative (each one's number of axes, -1 for a float); None
    for any other. Once a call of such arguments has made and checked its derivative, the next
    go straight to its generated function: no binding, conversion or check of the arguments."""
    if len(args) != n:
        return None
    key = []
    for a in args:
        kind = type(a)
        if kind is float:
            key.append(-1)
        elif kind is np.ndarray and (a.dtype is _F64 or a.dtype == _F64) and a.ndim:
            key.append(a.ndim)
        else:
            return None
    return tuple(key)


def _same_shape(a: Any, b: Any) -> bool:
    """Have `a` and `b` (numbers or arrays) the same shape? (Of a float and an array, or two
    arrays, without `np.shape`'s dispatch: a call's short path.)"""
    kind = type(a)
    if kind is type(b) and (kind is float or kind is np.ndarray):
        return kind is float or a.shape == b.shape
    return _shape(a) == _shape(b)


def _shape(value: Any) -> tuple:
    """`np.shape` of a float or an array, without its dispatch (a call's short path)."""
    kind = type(value)
    return value.shape if kind is np.ndarray else () if kind is float else np.shape(value)


_F64 = np.dtype(np.float64)  # (the descriptor NumPy's float64 arrays share: compared by identity first)


def zeros_like_each(values) -> list:
    """A zero of each value's shape (0.0 for a number)."""
    return [np.zeros(np.shape(x)) if np.ndim(x) else 0.0 for x in values]


def unit_tangents(args: list, wrt: list[int], slot: int, e: Any) -> list:
    """Tangents (or directions) for the leaves `wrt` of `args`: `e` for the one at `slot`, zeros
    for the others."""
    tangents = zeros_like_each(args[k] for k in wrt)
    tangents[slot] = e
    return tangents


class ValueAndGrad(Grad):
    """``h(*args)`` → ``(f(*args), ∂f/∂args[wrt])``."""

    kind = "value_and_grad"

    def __call__(self, *args, **kwargs):
        return self.value_and_grad(args, kwargs)


# --- jvp and vjp ------------------------------------------------------------------------------

class JVP(Derivative):
    """``h(*args, *tangents)`` → ``(f(*args), directional derivative)``; one tangent per `wrt`."""

    kind = "jvp"
    mode_for_transform = "forward"

    def __call__(self, *args):
        key, quick = self.quick(args, len(self.wrt))
        if quick is not None:
            out = quick.short(*args)
            return _plain(out[0]), _plain(out[1])
        primals, tangents = self.split(args, "tangent")
        derived = self.compiled(primals, "forward")
        out = self.runner(derived, primals)(*primals, *tangents)
        m = len(derived.outline.results)
        tree = derived.outline.out_tree
        self.remember(key, derived, m, tree)
        return outputs(tree, out[:m]), outputs(tree, out[m:])


class VJP(Derivative):
    """``h(*args, cotangent)`` → ``(f(*args), cotangents)``; the cotangent has the structure of
    f's result (a tuple for a tuple, a dict for a dict)."""

    kind = "vjp"

    def __call__(self, *args):
        n = len(self._names)
        key, quick = self.quick(args, 1, like_arguments=False)
        if quick is not None:
            try:  # (a cotangent not of the result's shape: the slow path says so)
                out = self._keep_statistics(quick.short(*args), 1 + len(self.wrt))
            except S2SADError:
                out = None
            if out is not None and _same_shape(out[0], args[n]):
                return _plain(out[0]), self._owned_like(out, 1, args)
        if len(args) != n + 1:
            raise _fail(self.fn, f"vjp of {self.fn.__name__} takes {n} arguments and one cotangent, "
                                 f"got {len(args)} values")
        primals = self.bind(args[:n], {})
        derived = self.compiled(primals, "reverse")
        results, tree = derived.outline.results, derived.outline.out_tree
        m = len(results)
        if tree is not None and tree.cls is tuple and len(tree.keys) == m and \
                (not isinstance(args[n], tuple) or len(args[n]) != m):
            raise _fail(self.fn, f"{self.fn.__name__} returns {m} values: pass a tuple of {m} cotangents")
        items = [("the result", args[n])] if tree is None else \
            self.structured_like(tree, args[n], "result", "the cotangent")
        cotangents = [_prepare_arg(self.fn, "cotangent" if tree is None else f"the cotangent for {path}", c, True)
                      for path, c in items]
        for c, r, (path, _) in zip(cotangents, results, items):
            if np.ndim(c) != (r.type.ndim if r.type.is_array else 0):
                raise _fail(self.fn, f"the cotangent has {np.ndim(c)} axes, but {self.fn.__name__}'s "
                                     f"{path.removeprefix('the ')} has {r.type.ndim if r.type.is_array else 0}")
        wrt = primals.leaves(self.wrt)
        out = self._statistics(self.runner(derived, primals)(*primals, *cotangents), m + len(wrt))
        values, grads = out[:m], out[m:]
        for c, v, (path, _) in zip(cotangents, values, items):
            if np.shape(c) != np.shape(v):
                raise _fail(self.fn, f"the cotangent has shape {np.shape(c)}, but {path} has shape {np.shape(v)}")
        grads = [_as_output(g, primals[k]) for g, k in zip(grads, wrt)]
        self.remember(key, derived, m, tree)
        return outputs(tree, values), self._pack(primals.regroup(self.wrt, grads))


# --- public factories ---------------------------------------------------------------------------

def decorated(cls, f: Callable | None, wrt: Wrt, **options):
    """``cls(f, wrt, **options)``; without `f`, the decorator that makes it
    (``@s2sad.grad(wrt=(0, 1))``)."""
    if f is None:
        return lambda g: cls(as_function(g), wrt, **options)
    return cls(as_function(f), wrt, **options)


def _factory(cls):
    def make(f: Callable | None = None, wrt: Wrt = 0, *, mode: str = "reverse", backend: str = "auto",
             checkpoint=None):
        return decorated(cls, f, wrt, mode=mode, backend=backend, checkpoint=checkpoint)
    return make


grad = _factory(Grad)
grad.__doc__ = """∂f/∂args[wrt] by reverse (default) or forward mode.

``s2sad.grad(f, wrt=0, *, mode="reverse", backend="auto", checkpoint=None)`` returns
``g(*args)``, the gradient with the shape of the argument (a float for a scalar). `wrt` is a
parameter index, a parameter name, or a tuple of them (then `g` returns a tuple). Usable as
``@s2sad.grad``, ``@s2sad.grad(wrt=(0, 1))`` or ``s2sad.grad(f, wrt="x")``."""
grad.__name__ = "grad"

value_and_grad = _factory(ValueAndGrad)
value_and_grad.__doc__ = "Like `grad`, but returns ``(f(*args), gradient)``."
value_and_grad.__name__ = "value_and_grad"


def jvp(f: Callable | None = None, wrt: Wrt = 0, *, backend: str = "auto") -> JVP:
    """``h(*args, *tangents)`` → ``(f(*args), J·tangents)`` by forward mode."""
    return decorated(JVP, f, wrt, mode="forward", backend=backend)


def vjp(f: Callable | None = None, wrt: Wrt = 0, *, backend: str = "auto", checkpoint=None) -> VJP:
    """``h(*args, cotangent)`` → ``(f(*args), cotangentᵀ·J)`` by reverse mode."""
    return decorated(VJP, f, wrt, backend=backend, checkpoint=checkpoint)


def _types_for(fn, args: Sequence | None, types: Sequence | dict | None, wrt: tuple[int, ...]) -> tuple[list, list[int]]:
    """(the argument types, the indices of the `wrt` parameters' leaves among the generated
    function's parameters), from example `args` (containers among them), from `types` (strings
    such as ``"f64[:]"``), or f64."""
    names = _param_names(fn)
    if args is not None:
        if len(args) < len(names):  # (the parameters with defaults)
            try:
                given = inspect.signature(fn).bind(*args)
            except TypeError as exc:
                raise _fail(fn, f"args: {exc}") from None
            given.apply_defaults()
            args = list(given.arguments.values())
        bound = prepare_arguments(fn, names, args, wrt)
        return bound.types(), bound.leaves(wrt)
    if isinstance(types, dict):
        unknown = set(types) - set(names)
        if unknown:
            raise _fail(fn, f"types given for unknown parameters: {', '.join(sorted(unknown))}")
        types = [types.get(n, "f64") for n in names]
    types = list(types) if types is not None else ["f64"] * len(names)
    try:
        return [t if isinstance(t, Type) else parse_type(t) for t in types], list(wrt)
    except ValueError as exc:
        raise _fail(fn, str(exc)) from None


def derivative_source(f: Callable, mode: str = "reverse", wrt: Wrt = 0, *, args: Sequence | None = None,
                      types: Sequence | dict | None = None, backend: str = "auto", checkpoint=None) -> str:
    """The generated derivative module's source, for argument types taken from example `args`,
    from `types` (``{"x": "f64[:]"}`` or a list), or f64 scalars by default: the code `backend`
    runs (Numba's has element loops where the Python backend's is vectorised). `mode` is
    "reverse", "forward" or "hvp" (forward over reverse: f, its gradient and H·v), or "vforward"
    and "vhvp", their vector forms (tangents with a leading axis of lanes)."""
    f = as_function(f)
    _check_options(f, mode, backend, checkpoint, DERIVATIVES)
    indices, _ = _normalise_wrt(f, wrt)
    arg_types, leaves = _types_for(f, args, types, indices)
    return derive(f, arg_types, leaves, mode, backend, checkpoint).source


def ir_source(f: Callable, mode: str | None = None, wrt: Wrt = 0, *, args: Sequence | None = None,
              types: Sequence | dict | None = None, checkpoint=None) -> str:
    """The printed IR of `f` (or of its derivative, when `mode` is given)."""
    f = as_function(f)
    if mode is not None:
        _check_options(f, mode, "auto", checkpoint, DERIVATIVES)
    indices, _ = _normalise_wrt(f, wrt)
    arg_types, leaves = _types_for(f, args, types, indices)
    return ir_text(f, arg_types, leaves, mode, checkpoint)
