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


@dataclass
class Source:
    """A parsed function: its tree, where it lives, and the namespaces its names resolve in."""

    fn: types.FunctionType
    tree: gast.FunctionDef
    filename: str
    first_line: int
    lines: list[str]
    namespace: dict = field(default_factory=dict)

    def loc(self, node: gast.AST | None) -> Loc:
        lineno = getattr(node, "lineno", None) or 1
        absolute = self.first_line + lineno - 1
        text = self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""
        return Loc(self.filename, absolute, text.strip())

    def resolve(self, name: str):
        """The object `name` refers to in the function's closure, globals or builtins."""
        if name in self.namespace:
            return self.namespace[name]
        if name in self.fn.__globals__:
            return self.fn.__globals__[name]
        if hasattr(builtins, name):
            return getattr(builtins, name)
        raise KeyError(name)


_CACHE: dict[types.FunctionType, Source] = {}


def parse(fn) -> Source:
    """Parse `fn`'s source (cached per function object)."""
    if fn in _CACHE:
        return _CACHE[fn]
    if not isinstance(fn, types.FunctionType):
        raise S2SADError(f"s2sad differentiates Python functions; got {type(fn).__name__} {fn!r}")
    filename = inspect.getsourcefile(fn) or "<unknown>"
    try:
        lines, first_line = inspect.getsourcelines(fn)
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
    source = Source(fn, tree, filename, first_line, text.splitlines(), _namespace(fn))
    _CACHE[fn] = source
    return source


def _namespace(fn) -> dict:
    """The closure's variables (globals are looked up live, when the function is compiled)."""
    if not fn.__closure__:
        return {}
    return {name: cell.cell_contents for name, cell in zip(fn.__code__.co_freevars, fn.__closure__)}
