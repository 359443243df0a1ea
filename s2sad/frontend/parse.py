"""Reading a user's function: source text → gast tree, plus what its names refer to."""

from __future__ import annotations

import builtins
import functools
import inspect
import linecache
import os
import re
import textwrap
import threading
import types
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import gast

from ..errors import S2SADError
from ..ir.core import Loc
from ..ir.types import type_of_value


_MISSING = object()


@dataclass(frozen=True, eq=False)
class Assumption:
    """A name from outside the function that the derivative took as fixed when it was made:
    `name` in `container` (a module's globals dict, or a closure cell) held `value`. A derivative
    checks its assumptions at every call and is made again when one no longer holds (a module
    number or a helper function changed since)."""

    container: object
    name: str
    value: object
    kind_only: bool = False  # (a value read at run time: only its kind, `type_of_value`, must stay)
    numbers: object = None  # (a container of numbers: its `numbers_of` when read, which its items must keep)

    def now(self) -> object:
        """What the name holds now."""
        return _read(self.container, self.name)

    def holds(self) -> bool:
        now = _read(self.container, self.name)
        if self.numbers is not None:  # (a list or dict may have been changed in place since)
            return numbers_of(now) == self.numbers
        if now is self.value:
            return True
        if self.kind_only:
            return now is not _MISSING and type_of_value(now) == type_of_value(self.value)
        return type(now) is type(self.value) and isinstance(now, (bool, int, float)) and now == self.value


def numbers_of(value) -> tuple | None:
    """A tuple, list or dict holding only numbers, booleans, None and such containers (nested;
    a dict's keys strings or integers), as a comparable description of its types and values
    (None for anything else, a bare number among them)."""
    def leaf(v):
        if v is None or type(v) in (bool, int, float):
            return type(v).__name__, repr(v)
        return node(v)

    def node(v):
        if type(v) in (tuple, list):
            items = [leaf(i) for i in v]
            return None if None in items else (type(v).__name__, tuple(items))
        if type(v) is dict and all(type(k) in (str, int) for k in v):
            items = [leaf(i) for i in v.values()]
            return None if None in items else ("dict", tuple(zip(v.keys(), items)))
        return None

    return node(value)


def _read(container, name: str):
    if isinstance(container, dict):
        return container.get(name, _MISSING)
    try:
        return container.cell_contents
    except ValueError:  # (an empty cell)
        return _MISSING


@dataclass
class Source:
    """A parsed function: its tree, where it lives, and the namespaces its names resolve in."""

    fn: types.FunctionType
    tree: gast.FunctionDef
    filename: str
    first_line: int
    lines: list[str]
    namespace: dict = field(default_factory=dict)  # closure cells by name
    text: Text | None = None  # the source as read (what a pickled derivative carries)

    def loc(self, node: gast.AST | None) -> Loc:
        lineno = getattr(node, "lineno", None) or 1
        absolute = self.first_line + lineno - 1
        text = self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""
        return Loc(self.filename, absolute, text.strip())

    def resolve(self, name: str):
        """The object `name` refers to now in the function's closure, globals or builtins."""
        return self.lookup(name)[0]

    def lookup(self, name: str) -> tuple[object, Assumption | None]:
        """(the object `name` refers to now, the assumption that it keeps referring to it: None
        for a builtin)."""
        if name in self.namespace:
            cell = self.namespace[name]
            value = _read(cell, name)
            if value is not _MISSING:
                note_read(self.fn, "cell", name, value, cell)
                return value, Assumption(cell, name, value, numbers=numbers_of(value))
        if name in self.fn.__globals__:
            value = self.fn.__globals__[name]
            note_read(self.fn, "global", name, value, self.fn.__globals__)
            return value, Assumption(self.fn.__globals__, name, value, numbers=numbers_of(value))
        if hasattr(builtins, name):
            note_read(self.fn, "builtin", name, getattr(builtins, name), None)
            return getattr(builtins, name), None
        raise KeyError(name)


@dataclass(frozen=True, eq=False)
class Read:
    """One name from outside a function that the compiler looked up while it lowered: `name`
    in `owner`'s closure (``cell``), globals (``global``) or the builtins (``builtin``), or an
    attribute of the module `owner` (``attr``); it held `value`, found in `container` (the
    cell, or the dict; None for a builtin)."""

    owner: object
    where: str
    name: str
    value: object
    container: object


class Reads(list):
    """The `Read`s of one derivation, in order; `opaque` says the compiler also used what it
    had lowered before (a nested derivative's IR) without looking its names up again."""

    opaque = False


_RECORDING = threading.local()


@contextmanager
def recording_reads() -> Iterator[Reads]:
    """Collect the names from outside that the compiler looks up in this thread meanwhile (the
    derivations kept across processes check them again: records.py)."""
    outer = getattr(_RECORDING, "reads", None)
    _RECORDING.reads = reads = Reads()
    try:
        yield reads
    finally:
        _RECORDING.reads = outer
        if outer is not None:
            outer += reads
            outer.opaque |= reads.opaque


def note_read(owner, where: str, name: str, value, container) -> None:
    reads = getattr(_RECORDING, "reads", None)
    if reads is not None:
        reads.append(Read(owner, where, name, value, container))


def note_opaque() -> None:
    reads = getattr(_RECORDING, "reads", None)
    if reads is not None:
        reads.opaque = True


_CACHE: dict[types.FunctionType, Source] = {}


@dataclass(frozen=True)
class Text:
    """A function's source as s2sad reads it: the lines of its def statement, from `first_line`
    of `filename` on (for a lambda, every line of its file, from line 1)."""

    filename: str
    first_line: int
    lines: tuple[str, ...]


def read_text(fn: types.FunctionType) -> Text:
    """`fn`'s source: the text already parsed, or the text a pickled derivative brought for it
    (frontend/shipping.py), or else its file's."""
    if fn in _CACHE and _CACHE[fn].text is not None:
        return _CACHE[fn].text
    from .shipping import shipped_text  # (shipping reads sources with this module's reader)
    return shipped_text(fn) or file_text(fn)


ANONYMOUS_FILE = "<dynamic-code>"  # the file name cloudpickle gives the code of a function it pickles by value


def file_text(fn: types.FunctionType) -> Text:
    """`fn`'s source, read from its file (or from `linecache`)."""
    code = fn.__code__  # (its own code: `inspect` given fn itself would follow a decorator's __wrapped__
    if code.co_filename == ANONYMOUS_FILE:
        raise S2SADError(f"cannot read the source of {fn.__qualname__}: it was pickled by value without it (a "
                         "pickled derivative carries the source of the functions its function reads, not of those "
                         "passed in its arguments); define it in a module that both sides import")
    filename = inspect.getsourcefile(code) or "<unknown>"  # to the undecorated function)
    try:
        lines, first_line = _source_lines(code, filename)
    except (OSError, TypeError) as exc:
        raise S2SADError(f"cannot read the source of {fn.__qualname__} ({exc}); define it in a file",
                         filename) from None
    if fn.__name__ == "<lambda>":
        return Text(filename, 1, tuple(linecache.getlines(filename)))
    return Text(filename, first_line, tuple(lines))


_DEF = re.compile(r"^(\s*def\s)|(\s*async\s+def\s)|(.*(?<!\w)lambda(:|\s))|^(\s*@)")


def _source_lines(code: types.CodeType, filename: str) -> tuple[list[str], int]:
    """`inspect.getsourcelines(code)`, without its search through every module imported for
    the one of a file on disk (a tenth of a second per function once Numba is imported, and
    again after each module imported since): the lines of the block at the def (or decorator)
    at or above the code's first line, and that line's number."""
    if not os.path.isfile(filename):
        return inspect.getsourcelines(code)
    linecache.checkcache(filename)
    lines = linecache.getlines(filename)
    at = code.co_firstlineno - 1
    if not lines or at >= len(lines):
        raise OSError("could not get source code")
    while at > 0 and not _DEF.match(lines[at]):
        at -= 1
    return inspect.getblock(lines[at:]), at + 1


def parse(fn) -> Source:
    """Parse `fn`'s source (cached per function object)."""
    if fn in _CACHE:
        return _CACHE[fn]
    if isinstance(fn, types.MethodType) and isinstance(fn.__func__, types.FunctionType):
        code = fn.__func__.__code__
        raise S2SADError(f"s2sad differentiates functions, not bound methods ({fn.__qualname__} of "
                         f"{type(fn.__self__).__name__} {fn.__self__!r:.60}): differentiate {fn.__qualname__} with the "
                         "object as an argument (a dataclass or namedtuple of numbers and arrays), or a function of "
                         "the numbers and arrays the method reads", code.co_filename, code.co_firstlineno)
    if not isinstance(fn, types.FunctionType):
        raise S2SADError(f"s2sad differentiates Python functions; got {type(fn).__name__} {fn!r}")
    code = fn.__code__
    found = read_text(fn)
    filename, first_line, lines = found.filename, found.first_line, list(found.lines)
    if fn.__name__ == "<lambda>":
        source = _lambda_source(fn, filename, lines)
        source.text = found
        _CACHE[fn] = source
        return source
    text = textwrap.dedent("".join(lines))
    module = gast.parse(text)
    tree = module.body[0]
    if isinstance(tree, gast.AsyncFunctionDef):
        raise S2SADError(f"{fn.__qualname__} is an async function, which cannot be differentiated; differentiate "
                         "a plain def that it awaits", filename, first_line, lines[0])
    if not isinstance(tree, gast.FunctionDef):
        raise S2SADError(f"expected a def statement for {fn.__qualname__}", filename, first_line, lines[0])
    if tree.name != code.co_name or len(tree.args.posonlyargs) + len(tree.args.args) != code.co_argcount:
        raise S2SADError(f"the source of {fn.__qualname__} has changed since it was defined (line {first_line} "
                         f"now holds def {tree.name}); reload the module", filename, first_line, lines[0])
    source = Source(fn, tree, filename, first_line, text.splitlines(), _namespace(fn), found)
    _CACHE[fn] = source
    return source


def _lambda_source(fn, filename: str, lines: list[str]) -> Source:
    """A lambda as the function ``def lambda_LINE(params): return body``, found in its file (whose
    `lines` are given) by its line, its parameters and (when a line holds several) the column its
    code starts at."""
    code = fn.__code__
    line = code.co_firstlineno
    where = (filename, line, lines[line - 1].strip() if 0 < line <= len(lines) else "")
    try:
        module = gast.parse("".join(lines))
    except SyntaxError:
        raise S2SADError("cannot read the source of this lambda; use a def statement", *where) from None
    params = list(code.co_varnames[:code.co_argcount])
    found = [n for n in gast.walk(module) if isinstance(n, gast.Lambda) and n.lineno == line
             and [a.id for a in n.args.posonlyargs + n.args.args] == params]
    columns = [p[2] for p in code.co_positions() if p[0] == line and p[2] is not None and p[3] and p[3] > p[2]]
    if len(found) > 1 and columns:
        found = [n for n in found if n.end_lineno != line
                 or n.col_offset <= min(columns) and max(columns) < n.end_col_offset]
    if len(found) != 1:
        raise S2SADError("cannot tell this lambda from the others on its line; use a def statement", *where)
    node = found[0]
    tree = gast.FunctionDef(f"lambda_{line}", node.args, [gast.copy_location(gast.Return(node.body), node.body)],
                            [], None, None, [])
    gast.copy_location(tree, node)
    gast.increment_lineno(tree, 1 - line)  # (numbered from the lambda's line, as a def's from its own)
    return Source(fn, tree, filename, line, [text.rstrip("\n") for text in lines[line - 1:]], _namespace(fn))


def _namespace(fn) -> dict:
    """The closure's cells by name (read when the function is compiled, as globals are)."""
    if not fn.__closure__:
        return {}
    return dict(zip(fn.__code__.co_freevars, fn.__closure__))


def as_function(fn):
    """The Python function s2sad differentiates for `fn`: `fn` itself, or for a
    ``functools.partial`` a small function, with source of its own, that calls the wrapped
    function with the bound arguments first (they are then names of its module: arrays among
    them are read at every call, numbers are constants)."""
    if not isinstance(fn, functools.partial):
        return fn
    inner = as_function(fn.func)
    signature = inspect.signature(fn)
    names: dict = {"_func": inner, "__name__": "partial"}
    names.update({f"_arg{k}": a for k, a in enumerate(fn.args)})
    call = [f"_arg{k}" for k in range(len(fn.args))]
    params = []
    for p in signature.parameters.values():
        if p.default is not p.empty:
            names[f"_default_{p.name}"] = p.default
        params.append(p.replace(annotation=p.empty, default=p.default if p.default is p.empty
                                else _Named(f"_default_{p.name}")))
        call.append({p.VAR_POSITIONAL: f"*{p.name}", p.VAR_KEYWORD: f"**{p.name}",
                     p.KEYWORD_ONLY: f"{p.name}={p.name}"}.get(p.kind, p.name))
    for key, value in fn.keywords.items():
        if key not in signature.parameters:  # (passed on to the wrapped function's **kwargs)
            names[f"_kw_{key}"] = value
            call.append(f"{key}=_kw_{key}")
    name = "partial_" + re.sub(r"\W", "_", getattr(inner, "__name__", "function"))
    header = str(inspect.Signature(params, return_annotation=inspect.Signature.empty))
    source = f"def {name}{header}:\n    return _func({', '.join(call)})\n"
    filename = f"<s2sad: {name} = functools.partial({getattr(inner, '__qualname__', inner)!s}, ...)>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), names)
    made = names[name]
    made.__qualname__ = name
    return made


class _Named:
    """A default value printed as the name that holds it (in a signature written as source)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name
