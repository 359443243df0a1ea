"""The public API: `grad`, `value_and_grad`, `jvp`, `vjp`, `derivative_source`.

Each returns a derivative object that compiles the user's function once per argument-type
signature (floats, ints, bools, float/int/bool arrays of each rank) and then calls the
generated code. Derivative objects pickle by reference to the user's function.
"""

from __future__ import annotations

import functools
import inspect
import numbers
from typing import Any, Callable, Sequence

import numpy as np

from .checkpoint import Policy
from .errors import S2SADError
from .ir.types import Type, parse_type, type_of_value
from .frontend.nested import source_function
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
    return list(inspect.signature(fn).parameters)


def _normalise_wrt(fn, wrt: Wrt) -> tuple[tuple[int, ...], bool]:
    """(`wrt` as parameter indices, whether the caller asked for a tuple)."""
    names = _param_names(fn)
    single = isinstance(wrt, (int, str))
    indices = []
    for w in [wrt] if single else list(wrt):
        if isinstance(w, str):
            if w not in names:
                raise _fail(fn, f"wrt={w!r} is not a parameter of {fn.__name__}{tuple(names)}")
            w = names.index(w)
        if not isinstance(w, int) or not -len(names) <= w < len(names):
            raise _fail(fn, f"wrt={w!r} is out of range: {fn.__name__} has {len(names)} parameters")
        indices.append(w % len(names))
    if not indices:
        raise _fail(fn, "wrt must name at least one parameter")
    return tuple(indices), not single


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
    """`value` as the generated code expects it; floats for differentiated arguments."""
    if type(value) is float or (type(value) is np.ndarray and value.dtype == np.float64 and value.ndim):
        return value  # (the common case, on every call)
    if isinstance(value, (list, tuple, np.ndarray)):
        value = np.asarray(value)  # (an ndarray subclass, np.memmap or np.matrix, as a plain array)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.dtype != np.float64:
        value = value.astype(np.float64)
    if differentiated:
        if value is None:
            raise _fail(fn, f"cannot differentiate with respect to '{name}': it is None")
        if isinstance(value, (bool, np.bool_)) or (isinstance(value, np.ndarray) and value.dtype.kind == "b"):
            raise _fail(fn, f"cannot differentiate with respect to '{name}': it is a bool")
        if isinstance(value, numbers.Integral):
            value = float(value)
        elif isinstance(value, np.ndarray) and value.dtype.kind in "iu":
            value = value.astype(np.float64)
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        value = value.item()  # a NumPy scalar or 0-d array is a number
    if type_of_value(value) is None:
        raise _fail(fn, f"argument '{name}' is {type(value).__name__} {value!r:.40}; s2sad handles floats, "
                        "ints, bools and NumPy arrays of them")
    return value


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
        self._changes: dict[tuple, int] = {}  # module floats → how often they changed between calls
        self._run_time: set[tuple] = set()  # module floats read at run time (they keep changing)
        self.tape_bytes: int | None = None  # bytes the tapes and snapshots of the last reverse-mode call held
        self.advances: int | None = None  # loop steps the last reverse-mode call ran again (checkpointing)
        self.signature = inspect.signature(fn)
        self._names = list(self.signature.parameters)
        functools.update_wrapper(self, fn, updated=() if isinstance(fn, Derivative) else ("__dict__",))

    def __repr__(self) -> str:
        return f"<s2sad.{self.kind} of {self.fn.__qualname__}, wrt={self.wrt}, mode={self.mode!r}>"

    def __reduce__(self):
        return (_rebuild, (type(self), self.fn, self.wrt if self.as_tuple else self.wrt[0], self.mode,
                           self.backend, self.checkpoint))

    def bind(self, args: tuple, kwargs: dict) -> "Bound":
        names = self._names
        if kwargs or len(args) != len(names):  # (all arguments given by position need no binding)
            try:
                bound = self.signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise _fail(self.fn, f"{self.fn.__name__}: {exc}") from None
            bound.apply_defaults()
            args = tuple(bound.arguments.values())
        prepared = [_prepare_arg(self.fn, name, value, k in self.wrt) for k, (name, value) in enumerate(zip(names, args))]
        return Bound((p, isinstance(a, np.ndarray) and p is not a) for p, a in zip(prepared, args))

    def runner(self, derived: Derived, args: "Bound", repeated: bool = False) -> Callable:
        """The generated function to call with `args`, after checking that its writes into them
        are NumPy's; with `repeated`, made so that each call starts from the state the first saw
        (for derivatives that run it once per column)."""
        effects = derived.effects
        if effects.written:
            problem = effects.argument_problem(self.fn.__name__, self._names, args, args.converted)
            if problem:
                raise _fail(self.fn, problem)
        return effects.repeatable(derived.fn, args) if repeated else derived.fn

    def compiled(self, args: list, mode: str) -> Derived:
        # keyed by what decides the IR types (cheaper to build than the types themselves)
        key = (mode, *((type(a), a.dtype, a.ndim) if type(a) is np.ndarray else type(a) for a in args))
        made = self._compiled.get(key, ())
        for derived in made:
            if derived.current():
                return derived
        if made:
            self._note_changes(made[0])
        types = [type_of_value(a) for a in args]
        derived = derive(self.fn, types, list(self.wrt), mode, self.backend, self.checkpoint, frozenset(self._run_time))
        self._compiled[key] = (derived, *made[:_KEPT - 1])  # (the last few, for a flag switched back and forth)
        return derived

    def made(self) -> list[Derived]:
        """The derivatives made so far, for each argument-type signature the newest first."""
        return [derived for made in self._compiled.values() for derived in made]

    def _note_changes(self, derived: Derived) -> None:
        """Count the module floats that changed since `derived` was made; one that keeps changing
        (a coefficient set before every call) is read at run time from then on, rather than make
        the derivative again at every change."""
        for a in derived.primal.assumed:
            if not a.holds() and isinstance(a.value, float) and isinstance(a.container, dict) \
                    and a.container.get("__name__") is not None:
                key = (id(a.container), a.name)
                self._changes[key] = self._changes.get(key, 0) + 1
                if self._changes[key] >= _CHANGES_BEFORE_RUN_TIME:
                    self._run_time.add(key)

    def _statistics(self, returned: tuple, n: int) -> tuple:
        """The first `n` values a reverse-mode derivative returned; the rest are its statistics
        (tape bytes, and the loop steps checkpointing ran again when a loop is checkpointed),
        kept as attributes."""
        self.tape_bytes = returned[n]
        self.advances = returned[n + 1] if len(returned) > n + 1 else 0
        return returned[:n]

    def derived(self, *args, **kwargs) -> Derived:
        """The compiled derivative (IR, generated source, file) for these arguments."""
        return self.compiled(self.bind(args, kwargs), self.mode_for_transform)

    def _pack(self, grads: list) -> Any:
        return tuple(grads) if self.as_tuple else grads[0]

    def check_scalar_output(self, derived: Derived, instead: str) -> None:
        """Refuse a function that does not return one float (`instead` names what handles it)."""
        what = not_one_float(derived.primal)
        if what:
            raise S2SADError(f"{self.kind} needs a function returning one float, but {self.fn.__name__} returns "
                             f"{what}; use {instead} for non-scalar outputs", *_where(self.fn))

    def split(self, args: tuple, what: str) -> tuple[list, list]:
        """``(*arguments, *vectors)`` → (the bound arguments, one float vector per `wrt` parameter,
        checked to have its shape); `what` names the vectors in errors."""
        n = len(self.signature.parameters)
        if len(args) != n + len(self.wrt):
            raise _fail(self.fn, f"{self.kind} of {self.fn.__name__} takes {n} arguments and {len(self.wrt)} "
                                 f"{what}(s), got {len(args)} values")
        primals = self.bind(args[:n], {})
        vectors = [_prepare_arg(self.fn, f"{what} {i}", t, True) for i, t in enumerate(args[n:])]
        for t, k in zip(vectors, self.wrt):
            if np.shape(t) != np.shape(primals[k]):
                raise _fail(self.fn, f"the {what} for argument {k} ({self._names[k]}) has shape {np.shape(t)}, "
                                     f"but the argument has shape {np.shape(primals[k])}")
        return primals, vectors


class Bound(list):
    """Arguments as the generated code takes them; `converted` holds the indices of arrays that
    were converted (a copy, not the caller's array)."""

    def __init__(self, prepared):
        pairs = list(prepared)
        super().__init__(value for value, _ in pairs)
        self.converted = {k for k, (_, copied) in enumerate(pairs) if copied}


def _rebuild(cls, fn, wrt, mode, backend, checkpoint):
    return cls(fn, wrt, mode=mode, backend=backend, checkpoint=checkpoint)


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


def _as_output(value: Any, like: Any) -> Any:
    """A result in the form of `like`: a float for a scalar, an array of its shape otherwise."""
    if isinstance(like, np.ndarray):
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
        args = self.bind(args, kwargs)
        derived = self.compiled(args, self.mode)
        self.check_scalar_output(derived, "s2sad.vjp")
        if self.mode == "reverse":
            value, *grads = self._statistics(self.runner(derived, args)(*args, 1.0), 1 + len(self.wrt))
        else:
            value, grads = self._forward_grads(self.runner(derived, args, repeated=True), args)
        grads = [_as_output(g, args[k]) for g, k in zip(grads, self.wrt)]
        return _plain(value), self._pack(grads)

    def _forward_grads(self, run: Callable, args: list) -> tuple[Any, list]:
        """Forward mode: one JVP per element of each differentiated argument (`run` starts each
        from the same state)."""
        zero_tangents = [np.zeros_like(args[k]) if isinstance(args[k], np.ndarray) else 0.0 for k in self.wrt]
        value, grads = None, []
        for slot, k in enumerate(self.wrt):
            grad = np.zeros(np.shape(args[k]))
            for index, e in basis(np.shape(args[k])):
                tangents = list(zero_tangents)
                tangents[slot] = e
                value, grad[index] = run(*args, *tangents)
            grads.append(grad)
        if value is None:
            value = run(*args, *zero_tangents)[0]
        return value, grads


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
        primals, tangents = self.split(args, "tangent")
        derived = self.compiled(primals, "forward")
        out = self.runner(derived, primals)(*primals, *tangents)
        m = len(derived.derivative.results) // 2
        values, dots = out[:m], out[m:]
        values, dots = [_plain(v) for v in values], [_plain(d) for d in dots]
        return (values[0], dots[0]) if m == 1 else (tuple(values), tuple(dots))


class VJP(Derivative):
    """``h(*args, cotangent)`` → ``(f(*args), cotangents)``; a tuple cotangent for a tuple output."""

    kind = "vjp"

    def __call__(self, *args):
        n = len(self.signature.parameters)
        if len(args) != n + 1:
            raise _fail(self.fn, f"vjp of {self.fn.__name__} takes {n} arguments and one cotangent, "
                                 f"got {len(args)} values")
        primals = self.bind(args[:n], {})
        derived = self.compiled(primals, "reverse")
        m = len(derived.primal.results)
        cotangents = args[n] if m > 1 else (args[n],)
        if m > 1 and (not isinstance(cotangents, tuple) or len(cotangents) != m):
            raise _fail(self.fn, f"{self.fn.__name__} returns {m} values: pass a tuple of {m} cotangents")
        cotangents = [_prepare_arg(self.fn, "cotangent", c, True) for c in cotangents]
        for c, r in zip(cotangents, derived.primal.results):
            if np.ndim(c) != (r.type.ndim if r.type.is_array else 0):
                raise _fail(self.fn, f"the cotangent has {np.ndim(c)} axes, but {self.fn.__name__}'s result "
                                     f"has {r.type.ndim if r.type.is_array else 0}")
        out = self._statistics(self.runner(derived, primals)(*primals, *cotangents), m + len(self.wrt))
        values, grads = out[:m], out[m:]
        for c, v in zip(cotangents, values):
            if np.shape(c) != np.shape(v):
                raise _fail(self.fn, f"the cotangent has shape {np.shape(c)}, but the result has shape "
                                     f"{np.shape(v)}")
        grads = [_as_output(g, primals[k]) for g, k in zip(grads, self.wrt)]
        values = [_plain(v) for v in values]
        return (values[0] if m == 1 else tuple(values)), self._pack(grads)


# --- public factories ---------------------------------------------------------------------------

def decorated(cls, f: Callable | None, wrt: Wrt, **options):
    """``cls(f, wrt, **options)``; without `f`, the decorator that makes it
    (``@s2sad.grad(wrt=(0, 1))``)."""
    if f is None:
        return lambda g: cls(g, wrt, **options)
    return cls(f, wrt, **options)


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


def _types_for(fn, args: Sequence | None, types: Sequence | dict | None, wrt: tuple[int, ...]) -> list[Type]:
    """Argument types from example `args`, from `types` (strings such as ``"f64[:]"``), or f64."""
    names = _param_names(fn)
    if args is not None:
        return [type_of_value(_prepare_arg(fn, n, a, k in wrt)) for k, (n, a) in enumerate(zip(names, args))]
    if isinstance(types, dict):
        unknown = set(types) - set(names)
        if unknown:
            raise _fail(fn, f"types given for unknown parameters: {', '.join(sorted(unknown))}")
        types = [types.get(n, "f64") for n in names]
    types = list(types) if types is not None else ["f64"] * len(names)
    try:
        return [t if isinstance(t, Type) else parse_type(t) for t in types]
    except ValueError as exc:
        raise _fail(fn, str(exc)) from None


def derivative_source(f: Callable, mode: str = "reverse", wrt: Wrt = 0, *, args: Sequence | None = None,
                      types: Sequence | dict | None = None, backend: str = "auto", checkpoint=None) -> str:
    """The generated derivative module's source, for argument types taken from example `args`,
    from `types` (``{"x": "f64[:]"}`` or a list), or f64 scalars by default: the code `backend`
    runs (Numba's has element loops where the Python backend's is vectorised). `mode` is
    "reverse", "forward" or "hvp" (forward over reverse: f, its gradient and H·v)."""
    _check_options(f, mode, backend, checkpoint, DERIVATIVES)
    indices, _ = _normalise_wrt(f, wrt)
    return derive(f, _types_for(f, args, types, indices), list(indices), mode, backend, checkpoint).source


def ir_source(f: Callable, mode: str | None = None, wrt: Wrt = 0, *, args: Sequence | None = None,
              types: Sequence | dict | None = None, checkpoint=None) -> str:
    """The printed IR of `f` (or of its derivative, when `mode` is given)."""
    if mode is not None:
        _check_options(f, mode, "auto", checkpoint, DERIVATIVES)
    indices, _ = _normalise_wrt(f, wrt)
    return ir_text(f, _types_for(f, args, types, indices), list(indices), mode, checkpoint)
