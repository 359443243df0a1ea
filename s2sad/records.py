"""Derivations kept across processes: a new process with a warm cache differentiates nothing.

A derivative follows from its function's source, from the sources of the functions it calls, from
what the names outside them referred to when the compiler looked them up (module numbers, NumPy's
functions, closure variables, helper functions), from the argument types and options, and from
s2sad's own code. So after a derivation s2sad writes a *record* into the cache, under a key made
of what is known before deriving (s2sad's code; the versions of Python, NumPy and gast; the
function's module, name, source, code and defaults; the argument types; the options). It holds:

- every name from outside that the compiler looked up, in order (`parse.Read`), and what it
  found, described so that another process can compare: a number by its type and value, an
  array by its kind (dtype and rank: arrays are read when the code runs), a module by its name,
  a library function by its path, a user's function by a digest of its source and code and by its
  defaults;
- what a call needs besides the generated code: the generated modules' files, the user's statement
  behind each generated line, the result types and structure, the namespaces the code reads and
  writes, the effects of a call, which names the derivative assumes fixed.

A later process with the same key looks every name up again, in the same order and in the same
places, and takes the record only if each finds the same thing; it then loads the generated
modules (checked against the hashes in their names) without lowering or transforming anything.
A read that does not match, a file that is gone, a record that does not parse: the function is
differentiated as usual, and its record written again.

Anything a record cannot describe keeps the derivation in the process, with no record: a custom
rule, a derivative object or a class the function uses, a container class other than tuple, list
and dict among the arguments or results, a function wrapped by a decorator, numbers read at run
time because they kept changing. The record is JSON (nothing in it runs); it lives in the cache
directory that cache.py keeps private to its owner, beside the modules it names.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import json
import os
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gast
import numpy as np

from .cache import cache_dir, content_key
from .containers import Node, Static
from .effects import Effects
from .errors import S2SADError
from .frontend.lower import _Cells, _Namespace, _namespace_of
from .frontend.parse import Assumption, Reads, _namespace as closure_cells, read_text
from .frontend.shipping import _library, fingerprint
from .ir.core import Loc
from .ir.types import Type, type_of_value

FORMAT = 1
_MISSING = object()


class _Undescribable(Exception):
    """Something the derivation read cannot be written in a record."""


class _Mismatch(Exception):
    """A record does not hold for the functions and values of this process."""


@dataclass(frozen=True)
class Result:
    """A result of a function, as a call needs to know it: its type."""

    type: Type


@dataclass(frozen=True)
class Outline:
    """What calling a derivative needs to know of its primal without its IR: where it is defined,
    and the types and structure of what it returns. (`primal.results` and an outline's `results`
    both have a ``.type`` per result.)"""

    name: str
    filename: str
    lineno: int
    results: tuple
    out_tree: Any

    @classmethod
    def of(cls, primal) -> "Outline":
        return cls(primal.name, primal.filename, primal.lineno, tuple(Result(r.type) for r in primal.results),
                   primal.out_tree)


@dataclass(frozen=True)
class Form:
    """A generated module of a derivative: its file and text, the user's statement behind each
    of its lines, the entry point's name and the function a backend compiles."""

    path: str
    source: str
    lines: dict
    entry: str
    core: str


@dataclass
class Recipe:
    """Everything that loading a derivative needs, made from its IR or read from a record:
    the forms ``"python"``, ``"compiled"`` (Numba's, when compiled) and ``"tiered"`` (once made:
    pipeline._tiered)."""

    outline: Outline
    mode: str
    forms: dict
    namespaces: dict
    assumed: tuple
    effects: Effects
    global_stream: bool

    @property
    def origin(self) -> str:
        o = self.outline
        return f"{os.path.basename(o.filename)}:{o.lineno} ({o.name}), {self.mode} mode"


# --- the key ---------------------------------------------------------------------------------

def key(fn, arg_types: list, wrt: list[int], mode: str, compiled: bool, checkpoint, run_time: frozenset) -> str | None:
    """The record's name for this derivation, or None if it is not kept across processes."""
    if run_time or not isinstance(fn, types.FunctionType) or "__wrapped__" in fn.__dict__:
        return None
    policy = "none" if checkpoint is None else repr(checkpoint)
    if checkpoint is not None and type(checkpoint).__module__ != "s2sad.checkpoint":
        return None
    try:
        parts = [FORMAT, compiler_fingerprint(), fn.__module__, fn.__qualname__, _source_digest(fn), _defaults(fn),
                 [_tree(t) for t in arg_types], list(wrt), mode, compiled, policy]
    except (_Undescribable, S2SADError):
        return None
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


@functools.cache
def compiler_fingerprint() -> str:
    """A digest of s2sad's own source and of the versions of what shapes a derivation."""
    digest = hashlib.sha256(repr((sys.version, np.__version__, getattr(gast, "__version__", "?"))).encode())
    here = Path(__file__).parent
    for path in sorted(here.rglob("*.py")):
        digest.update(str(path.relative_to(here)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _source_digest(fn: types.FunctionType) -> str:
    """A digest of `fn`'s source as s2sad reads it and of its code (two lambdas on one line have
    the same source text, but not the same code)."""
    text = read_text(fn)
    return hashlib.sha256(repr((text.filename, text.first_line, text.lines, fingerprint(fn.__code__))).encode()
                          ).hexdigest()


def _defaults(fn: types.FunctionType) -> list:
    kw = fn.__kwdefaults__ or {}
    return [[_plain(d) for d in fn.__defaults__ or ()], [[k, _plain(kw[k])] for k in sorted(kw)]]


def _plain(value) -> list:
    """A number or None, described (`_Undescribable` for anything else)."""
    if value is None:
        return ["none"]
    if type(value) in (bool, int, float) or isinstance(value, (np.bool_, np.integer, np.floating)):
        return ["number", f"{type(value).__module__}.{type(value).__qualname__}", repr(value)]
    raise _Undescribable


def _tree(tree) -> list:
    """An argument's type or structure, or a result's structure, as JSON."""
    if tree is None:
        return ["none"]
    if isinstance(tree, Type):
        return ["type", tree.kind, tree.dtype, tree.ndim]
    if isinstance(tree, Node) and tree.cls in (tuple, list, dict) and all(type(k) in (str, int) for k in tree.keys):
        return ["node", tree.cls.__name__, [[type(k).__name__, k] for k in tree.keys], [_tree(c) for c in tree.children]]
    if isinstance(tree, Static):
        return ["static", _plain(tree.value) if not isinstance(tree.value, str) else ["str", tree.value]]
    raise _Undescribable


def _tree_back(data: list):
    kind = data[0]
    if kind == "none":
        return None
    if kind == "type":
        return Type(*data[1:])
    if kind == "node":
        cls = {"tuple": tuple, "list": list, "dict": dict}[data[1]]
        keys = tuple(k if t == "str" else int(k) for t, k in data[2])
        return Node(cls, keys, tuple(_tree_back(c) for c in data[3]))
    raise _Mismatch


# --- writing a record --------------------------------------------------------------------------

def save(name: str | None, fn, reads: Reads, recipe: Recipe) -> None:
    """Write the record `name` of `fn`'s derivation (nothing if `name` is None or the derivation
    read something a record cannot describe; a cache that cannot be written keeps no record)."""
    if name is None or reads.opaque:
        return
    try:
        text = json.dumps(_record(fn, reads, recipe))
    except _Undescribable:
        return
    path = cache_dir() / f"derivation_{name}.json"
    try:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError:
        pass


def _record(fn, reads: Reads, recipe: Recipe) -> dict:
    objects: dict[int, int] = {id(fn): 0}  # the functions and modules met so far → their number
    held = [fn]  # (so that no object met dies and leaves its id to another)
    out, where_read, seen = [], {}, set()
    for r in reads:
        once = (id(r.owner), r.where, r.name, id(r.value))
        if once in seen:
            continue
        seen.add(once)
        if id(r.owner) not in objects:
            raise _Undescribable
        out.append([objects[id(r.owner)], r.where, r.name, _describe(r.value, objects, held)])
        if r.container is not None:
            where_read.setdefault((id(r.container), r.name), len(out) - 1)
    try:
        assumed = [[where_read[(id(a.container), a.name)], a.kind_only] for a in recipe.assumed]
    except KeyError:
        raise _Undescribable from None
    spaces = {alias: _space(space, held) for alias, space in recipe.namespaces.items()}
    aliases = {id(space): alias for alias, space in recipe.namespaces.items()}
    e = recipe.effects
    if any(id(space) not in aliases for space, _ in e.globals):
        raise _Undescribable
    forms = {}
    for kind, form in recipe.forms.items():
        if Path(form.path).parent != cache_dir():
            raise _Undescribable
        forms[kind] = {"file": Path(form.path).name, "entry": form.entry, "core": form.core,
                       "lines": [[k, loc.filename, loc.lineno, loc.source_line] for k, loc in form.lines.items()]}
    o = recipe.outline
    return {"reads": out, "assumed": assumed, "namespaces": spaces,
            "effects": [list(e.written), [[aliases[id(s)], n] for s, n in e.globals], e.global_stream,
                        list(e.generators), list(e.updated), [list(use) for use in e.narrow]],
            "outline": [o.name, o.filename, o.lineno, [_tree(r.type) for r in o.results], _tree(o.out_tree)],
            "forms": forms, "mode": recipe.mode, "global_stream": recipe.global_stream}


def _describe(value, objects: dict, held: list) -> list:
    """What a name found, as a record writes it (see the module's docstring)."""
    if id(value) in objects:
        return ["same", objects[id(value)]]
    if isinstance(value, np.ndarray):
        kind = type_of_value(value)
        if kind is None:
            raise _Undescribable
        return ["array", _tree(kind)]
    if isinstance(value, types.ModuleType):
        if sys.modules.get(value.__name__) is not value:
            raise _Undescribable
        spec = ["module", value.__name__]
    elif isinstance(value, types.FunctionType) and not _library(value):
        if "__wrapped__" in value.__dict__:
            raise _Undescribable
        try:
            spec = ["function", _source_digest(value), _defaults(value)]
        except S2SADError:
            raise _Undescribable from None
    else:
        path = _library_path(value)
        if path is None:
            return _plain(value)
        return ["library", path]
    objects[id(value)] = len(held)
    held.append(value)
    return spec


def _library_path(value) -> str | None:
    """Where a library's function (or class, or ufunc) is found (``numpy.sin``), if it is found
    there: None for anything else."""
    if not callable(value):
        return None
    module = getattr(value, "__module__", None)
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    paths = [f"{module}.{name}"] if module and name else []
    if isinstance(value, np.ufunc):
        paths += [f"numpy.{value.__name__}", f"scipy.special.{value.__name__}"]
    for path in paths:
        root = path.split(".")[0]
        if _library(sys.modules.get(root)) and _resolve(path) is value:
            return path
    return None


def _resolve(path: str):
    """The object at `path` among the modules imported so far (never importing one)."""
    parts = path.split(".")
    for k in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:k]))
        if module is not None:
            obj = module
            for part in parts[k:]:
                obj = getattr(obj, part, _MISSING)
            return obj
    return _MISSING


def _space(space, held: list) -> list:
    """A namespace the generated code reads (a module, the globals or the closure of a function
    met), as a record writes it."""
    for k, obj in enumerate(held):
        if space is obj:
            return ["object", k]
        if isinstance(obj, types.FunctionType):
            if getattr(space, "__dict__", None) is obj.__globals__ or \
                    isinstance(space, _Namespace) and space._mapping is obj.__globals__:
                return ["globals", k]
            cells = closure_cells(obj)
            if isinstance(space, _Cells) and space._cells.keys() == cells.keys() and \
                    all(space._cells[n] is c for n, c in cells.items()):
                return ["cells", k]
    raise _Undescribable


# --- reading a record back ----------------------------------------------------------------------

def load(name: str | None, fn) -> Recipe | None:
    """The recipe of `fn`'s derivation from the record `name`, if there is one and everything it
    read is found again as it was; None otherwise."""
    if name is None:
        return None
    try:
        record = json.loads((cache_dir() / f"derivation_{name}.json").read_text())
        return _recipe(record, fn)
    except (OSError, ValueError, KeyError, IndexError, TypeError, _Mismatch, S2SADError):
        return None


def _recipe(record: dict, fn) -> Recipe:
    held = [fn]
    found = []
    for owner, where, name, spec in record["reads"]:
        value, container = _look_up(held[owner], where, name)
        if not _matches(value, spec, held):
            raise _Mismatch
        found.append((container, name, value))
    assumed = tuple(Assumption(*found[k], kind_only=bool(kind_only)) for k, kind_only in record["assumed"])
    spaces = {alias: _space_back(spec, held) for alias, spec in record["namespaces"].items()}
    written, assigned, stream, generators, updated, narrow = record["effects"]
    effects = Effects(tuple(written), tuple((spaces[alias], n) for alias, n in assigned), bool(stream),
                      tuple(generators), tuple(updated), tuple(tuple(use) for use in narrow))
    name, filename, lineno, results, out_tree = record["outline"]
    outline = Outline(name, filename, lineno, tuple(Result(_tree_back(r)) for r in results), _tree_back(out_tree))
    forms = {kind: _form_back(form) for kind, form in record["forms"].items()}
    return Recipe(outline, record["mode"], forms, spaces, assumed, effects, bool(record["global_stream"]))


def _look_up(owner, where: str, name: str) -> tuple[Any, Any]:
    """(what `name` refers to now where the compiler found it, the cell or dict holding it), as
    `parse.Source.lookup` would look it up; `_Mismatch` if it would be found elsewhere now."""
    if where == "attr":
        if not isinstance(owner, types.ModuleType) or not hasattr(owner, name):
            raise _Mismatch
        return getattr(owner, name), owner.__dict__
    if not isinstance(owner, types.FunctionType):
        raise _Mismatch
    cell = closure_cells(owner).get(name)
    in_cell = cell is not None and _filled(cell)
    if where == "cell" and in_cell:
        return cell.cell_contents, cell
    if where == "global" and not in_cell and name in owner.__globals__:
        return owner.__globals__[name], owner.__globals__
    if where == "builtin" and not in_cell and name not in owner.__globals__ and hasattr(builtins, name):
        return getattr(builtins, name), None
    raise _Mismatch


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def _matches(value, spec: list, held: list) -> bool:
    """Is `value` what `spec` describes (see `_describe`)? A module or function that is, is
    numbered as `_describe` numbered the one it saw."""
    kind = spec[0]
    if kind == "same":
        return value is held[spec[1]]
    if kind == "array":
        found = type_of_value(value) if isinstance(value, np.ndarray) else None
        return found is not None and _tree(found) == spec[1]
    if kind == "module":
        ok = isinstance(value, types.ModuleType) and value.__name__ == spec[1] and sys.modules.get(spec[1]) is value
    elif kind == "function":
        try:
            ok = isinstance(value, types.FunctionType) and not _library(value) and \
                "__wrapped__" not in value.__dict__ and _source_digest(value) == spec[1] and \
                _defaults(value) == spec[2]
        except (S2SADError, _Undescribable):
            ok = False
    elif kind == "library":
        return _library_path(value) == spec[1]
    else:
        try:
            return _plain(value) == spec
        except _Undescribable:
            return False
    if ok:
        held.append(value)
    return ok


def _space_back(spec: list, held: list):
    kind, k = spec
    if kind == "object":
        return held[k]
    if kind == "globals":
        return _namespace_of(held[k])
    if kind == "cells":
        return _Cells(closure_cells(held[k]))
    raise _Mismatch


def _form_back(data: dict) -> Form:
    """A generated module named in a record, read from the cache and checked against its name."""
    path = cache_dir() / data["file"]
    source = path.read_text()
    if not path.stem.endswith("_" + content_key(source)):
        raise _Mismatch
    lines = {int(k): Loc(f, int(n), t) for k, f, n, t in data["lines"]}
    return Form(str(path), source, lines, data["entry"], data["core"])
