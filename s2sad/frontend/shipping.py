"""Sources that travel with a pickled derivative, so that another process derives without files.

A derivative is made from its function's source, and from the sources of the functions it calls.
A process that unpickles a derivative (a Dask worker, a `multiprocessing` child) may have no
such files: a function defined in a script run as ``__main__`` or in a notebook cell is pickled
by value by cloudpickle, its code detached from any file, and a worker on another machine has
none of the caller's files anyway. So a pickled derivative carries, for its function and each
user function that function may call (`functions_read`), the text s2sad reads (`parse.Text`)
and a fingerprint of the function's code; the unpickling process registers each text for the
function object pickle gives back (`receive`), and `parse.read_text` reads it from there rather
than from a file. A function whose code differs from the one the text was read for (a module
of another version where the worker imports it by reference), or that reads a module's number
or array whose value differs (set at run time in the caller, where the worker imports the
module anew), is refused when unpickled, with an `S2SADError` saying so, rather than
differentiated with another's source or values.

Unpickling the same bytes again gives the object made the first time (`unpack`): a Dask worker
unpickles a task's function once per task, and without this every task would derive and load
the derivative anew. The bytes hold everything the derivative reads (the function's code, the
globals cloudpickle ships with it, the sources), so equal bytes make an equal derivative.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import pickle
import sys
import threading
import types
import weakref
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..custom import CustomRule
from ..errors import S2SADError
from .nested import is_derivative
from .parse import ANONYMOUS_FILE, Text, read_text

_LIBRARIES = frozenset({"numpy", "scipy", "numba", "s2sad", "s2sad_generated"})
_ITEMS = 100  # a longer container among a function's globals holds data, not the functions it calls


@dataclass(frozen=True)
class Shipped:
    """What travels with a pickled derivative for one function: its source, where it was
    defined, its code's fingerprint and the values it reads from modules imported by reference;
    for a source that could not be read, the error that parsing the function raises instead."""

    text: Text | None
    filename: str
    line: int
    fingerprint: str
    problem: str = ""
    values: tuple[tuple[str, str], ...] = ()  # (module.name, the value shown) of `values_read`


# --- the pickling side ---------------------------------------------------------------------

def collect(fn) -> tuple[tuple[types.FunctionType, Shipped], ...]:
    """(function, what travels for it) for `fn` and each user function it may call: nothing
    for a derivative object (which ships its own when pickled). Raises a located
    `S2SADError` if `fn`'s own source cannot be read, since no process could derive it then."""
    shipped = tuple((f, dataclasses.replace(_shipped(f), values=values_read(f))) for f in functions_read(fn))
    if shipped and shipped[0][0] is fn and shipped[0][1].text is None:
        entry = shipped[0][1]
        raise S2SADError(f"cannot pickle the derivative of {fn.__qualname__}: {entry.problem}", entry.filename,
                         entry.line)
    return shipped


def functions_read(fn) -> list[types.FunctionType]:
    """`fn` (first) and the user functions it may call, found as cloudpickle finds the globals
    it ships: the names its code (and the code nested in it) reads, looked up in its globals, as
    attributes of a module it reads, in its closure and defaults; through custom rules (their
    function and rules), partials, small containers and ``__wrapped__``. Not NumPy's, SciPy's,
    s2sad's or the standard library's functions, and not what a derivative object holds."""
    found: dict[int, types.FunctionType] = {}
    seen: set[int] = set()
    todo = [fn]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or is_derivative(obj) or _library(obj):
            continue
        seen.add(id(obj))
        if isinstance(obj, types.FunctionType):
            found[id(obj)] = obj
        todo += reversed(_referenced(obj))
    return list(found.values())


def _referenced(obj) -> list:
    """The objects `obj` may lead a derivative to: see `functions_read`."""
    if isinstance(obj, types.FunctionType):
        names = _names(obj.__code__)
        out = []
        for value in (obj.__globals__[n] for n in names if n in obj.__globals__):
            if not isinstance(value, types.ModuleType):
                out.append(value)
            elif not _library(value):  # (`helpers.energy(x)`: the module's functions the code names)
                out += [getattr(value, n) for n in names if isinstance(getattr(value, n, None), types.FunctionType)]
        out += [cell.cell_contents for cell in obj.__closure__ or () if _filled(cell)]
        out += [*(obj.__defaults__ or ()), *(obj.__kwdefaults__ or {}).values()]
        return out + ([obj.__wrapped__] if "__wrapped__" in obj.__dict__ else [])
    if isinstance(obj, CustomRule):
        return [obj.fn, obj.jvp, obj.vjp]
    if isinstance(obj, functools.partial):
        return [obj.func, *obj.args, *obj.keywords.values()]
    if isinstance(obj, (tuple, list, dict)) and len(obj) <= _ITEMS:
        return list(obj.values() if isinstance(obj, dict) else obj)
    return []


def _names(code: types.CodeType) -> list[str]:
    """The global and attribute names `code` and the code objects nested in it read."""
    names = list(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += _names(const)
    return list(dict.fromkeys(names))


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:  # (an empty cell)
        return False
    return True


def _library(obj) -> bool:
    """Is `obj` a module, or a function, of a library s2sad never reads the source of?"""
    if not isinstance(obj, (types.FunctionType, types.ModuleType)):
        return False
    name = (obj.__name__ if isinstance(obj, types.ModuleType) else obj.__module__) or ""
    root = name.split(".")[0]
    return root in _LIBRARIES or (root in sys.stdlib_module_names and root != "__main__")


_READ: "weakref.WeakKeyDictionary[types.FunctionType, tuple[types.CodeType, Shipped]]" = weakref.WeakKeyDictionary()


def _shipped(fn: types.FunctionType) -> Shipped:
    """What travels for `fn` (read once per function object and code, as `parse` reads it
    once): the source it came with if it was unpickled here (a scheduler passing a task on), or
    its file's."""
    code = fn.__code__
    known = _READ.get(fn)
    if known is not None and known[0] is code:
        return known[1]
    try:
        text, problem = read_text(fn), ""
    except S2SADError as exc:
        text, problem = None, exc.message
    entry = Shipped(text, text.filename if text else code.co_filename, code.co_firstlineno, fingerprint(code),
                    problem)
    _READ[fn] = (code, entry)
    return entry


def values_read(fn: types.FunctionType) -> tuple[tuple[str, str], ...]:
    """(``module.name``, the value shown) for each number and array `fn`'s code names in a module
    that another process imports anew rather than receive by value: `fn`'s own module when `fn`
    is pickled by reference, and a module it reads attributes of (``helpers.SCALE``). Those are
    the values a process unpickling `fn` has only if its import makes them."""
    names = _names(fn.__code__)
    spaces = [(fn.__module__, fn.__globals__)] if _by_reference(fn) else []
    spaces += [(m.__name__, vars(m)) for n in names if isinstance(m := fn.__globals__.get(n), types.ModuleType)
               and not _library(m) and not _registered_by_value(m)]
    return tuple((f"{where}.{n}", shown) for where, space in spaces for n in names
                 if (shown := _shown(space.get(n, _ABSENT))) is not None)


_ABSENT = object()


def _shown(value) -> str | None:
    """A number as its repr, an array as its type, shape and a digest of its bytes; None for
    anything else."""
    if value is _ABSENT:
        return "absent"
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return repr(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        digest = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:12]
        return f"an array of {value.dtype} of shape {value.shape} (digest {digest})"
    return None


def _by_reference(fn: types.FunctionType) -> bool:
    """Does pickle save `fn` by reference (its module's name and its own), which the unpickling
    process imports anew?"""
    module = sys.modules.get(fn.__module__ or "")
    if module is None or fn.__module__ == "__main__" or _registered_by_value(module):
        return False
    found = module
    for part in fn.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is fn


def _registered_by_value(module: types.ModuleType) -> bool:
    """Has the module (or a package holding it) been registered with cloudpickle to be pickled
    by value (``cloudpickle.register_pickle_by_value``)?"""
    try:
        import cloudpickle
    except ImportError:
        return False
    return any(module.__name__ == name or module.__name__.startswith(name + ".")
               for name in cloudpickle.list_registry_pickle_by_value())


def fingerprint(code: types.CodeType) -> str:
    """A digest of what `code` does (its bytecode, names, constants and nested code, not its
    file name), equal in every process that has the same code, pickled by value or imported."""
    digest = hashlib.sha256()
    _feed(digest, code)
    return digest.hexdigest()[:24]


def _feed(digest, code: types.CodeType) -> None:
    digest.update(repr((code.co_name, code.co_firstlineno, code.co_argcount, code.co_posonlyargcount,
                        code.co_kwonlyargcount, code.co_flags, code.co_names, code.co_varnames, code.co_freevars,
                        code.co_cellvars)).encode())
    digest.update(code.co_code)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _feed(digest, const)
        else:
            digest.update(_stable(const).encode())


def _stable(const) -> str:
    """A constant's repr, the same in every process (a frozenset's items sorted)."""
    if isinstance(const, frozenset):
        return "frozenset(" + ", ".join(sorted(_stable(c) for c in const)) + ")"
    if isinstance(const, tuple):
        return "(" + ", ".join(_stable(c) for c in const) + ")"
    return f"{type(const).__name__}:{const!r}"


# --- the unpickling side -------------------------------------------------------------------

_RECEIVED: "weakref.WeakKeyDictionary[types.FunctionType, Shipped]" = weakref.WeakKeyDictionary()


def receive(shipped: tuple[tuple[types.FunctionType, Shipped], ...]) -> None:
    """Register the sources a pickled derivative brought, each for its function as pickle gave
    it back (by value, or imported by reference). Raises a located `S2SADError`, before
    anything is registered, if a function here is not the one its source was read for (its
    code, or a value it reads from a module imported here anew, differs)."""
    for fn, entry in shipped:
        problem = _difference(fn, entry)
        if problem:
            raise S2SADError(problem, entry.filename, entry.line)
    for fn, entry in shipped:
        if fn.__code__.co_filename == ANONYMOUS_FILE and entry.text is not None:
            fn.__code__ = fn.__code__.replace(co_filename=entry.filename)  # (errors and tracebacks name the file)
        _RECEIVED[fn] = entry


def _difference(fn: types.FunctionType, entry: Shipped) -> str:
    """Why `fn`, as unpickled here, is not the function `entry` was made for (its code, or a
    value it reads from a module imported here anew), or ""."""
    if fingerprint(fn.__code__) != entry.fingerprint:
        module = getattr(fn, "__module__", None) or "its module"
        return (f"{fn.__qualname__} here is not the function the derivative was pickled with (their code differs: "
                f"is {module} of another version here?); install the same code on both sides")
    here = dict(values_read(fn))
    for name, there in entry.values:
        if here.get(name, "absent") != there:
            return (f"{fn.__qualname__} reads {name}, which is {here.get(name, 'absent')} here but was {there} where "
                    "the derivative was pickled: a module pickled by reference is imported anew here, without the "
                    f"values given to it at run time; pass {name.rsplit('.', 1)[-1]} as an argument (or set it here "
                    "too)")
    return ""


def shipped_text(fn: types.FunctionType) -> Text | None:
    """The source a pickled derivative brought for `fn` (None if none did); an `S2SADError` if
    it brought the reason it could not."""
    entry = _RECEIVED.get(fn)
    if entry is None:
        return None
    if entry.text is None:
        raise S2SADError(entry.problem, entry.filename, entry.line)
    return entry.text


# --- pickling an object once per process -------------------------------------------------------

_UNPACKED: "collections.OrderedDict[bytes, tuple[Any, tuple]]" = collections.OrderedDict()  # digest → (made, shipped)
_KEEP = 64  # objects kept per process for bytes seen again
_LOCK = threading.Lock()


def pack(state: tuple) -> bytes:
    """`state` pickled by cloudpickle when it is installed (functions of ``__main__`` by value,
    as Dask pickles them), otherwise by pickle."""
    try:
        import cloudpickle
    except ImportError:
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    return cloudpickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)


def unpack(payload: bytes, build: Callable[[tuple], Any]) -> Any:
    """``build(state)`` for the state `pack` made `payload` from, ``(*state, shipped)``, once its
    sources are received (`receive`); the same object again when these bytes were unpacked
    before in this process (the last `_KEEP` kept), its sources checked again against the
    functions and module values as they are now."""
    key = hashlib.sha256(payload).digest()
    with _LOCK:
        known = _UNPACKED.get(key)
        if known is not None:
            _UNPACKED.move_to_end(key)
    if known is not None:
        receive(known[1])
        return known[0]
    *state, shipped = pickle.loads(payload)
    receive(shipped)
    made = build(tuple(state))
    with _LOCK:
        made = _UNPACKED.setdefault(key, (made, shipped))[0]
        _UNPACKED.move_to_end(key)
        while len(_UNPACKED) > _KEEP:
            _UNPACKED.popitem(last=False)
    return made
