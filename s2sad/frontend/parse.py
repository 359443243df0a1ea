"""Reading a user's function: source text → gast tree, plus what its names refer to."""

from __future__ import annotations

import builtins
import inspect
import textwrap
import types
from dataclasses import dataclass, field

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

    def holds(self) -> bool:
        now = _read(self.container, self.name)
        if now is self.value:
            return True
        if self.kind_only:
            return now is not _MISSING and type_of_value(now) == type_of_value(self.value)
        return type(now) is type(self.value) and isinstance(now, (bool, int, float)) and now == self.value


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
                return value, Assumption(cell, name, value)
        if name in self.fn.__globals__:
            value = self.fn.__globals__[name]
            return value, Assumption(self.fn.__globals__, name, value)
        if hasattr(builtins, name):
            return getattr(builtins, name), None
        raise KeyError(name)


_CACHE: dict[types.FunctionType, Source] = {}


def parse(fn) -> Source:
    """Parse `fn`'s source (cached per function object)."""
    if fn in _CACHE:
        return _CACHE[fn]
    if not isinstance(fn, types.FunctionType):
        raise S2SADError(f"s2sad differentiates Python functions; got {type(fn).__name__} {fn!r}")
    code = fn.__code__  # (its own code: `inspect` given fn itself would follow a decorator's __wrapped__
    filename = inspect.getsourcefile(code) or "<unknown>"  # to the undecorated function)
    try:
        lines, first_line = inspect.getsourcelines(code)
    except (OSError, TypeError) as exc:
        raise S2SADError(f"cannot read the source of {fn.__qualname__} ({exc}); define it in a file",
                         filename) from None
    text = textwrap.dedent("".join(lines))
    if fn.__name__ == "<lambda>":
        raise S2SADError("lambda functions cannot be differentiated; use a def statement",
                         filename, first_line, lines[0])
    module = gast.parse(text)
    tree = module.body[0]
    if not isinstance(tree, gast.FunctionDef):
        raise S2SADError(f"expected a def statement for {fn.__qualname__}", filename, first_line, lines[0])
    if tree.name != code.co_name or len(tree.args.posonlyargs) + len(tree.args.args) != code.co_argcount:
        raise S2SADError(f"the source of {fn.__qualname__} has changed since it was defined (line {first_line} "
                         f"now holds def {tree.name}); reload the module", filename, first_line, lines[0])
    source = Source(fn, tree, filename, first_line, text.splitlines(), _namespace(fn))
    _CACHE[fn] = source
    return source


def _namespace(fn) -> dict:
    """The closure's cells by name (read when the function is compiled, as globals are)."""
    if not fn.__closure__:
        return {}
    return dict(zip(fn.__code__.co_freevars, fn.__closure__))
