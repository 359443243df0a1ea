"""Compile-time values of the frontend that are not IR values."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class PyObj:
    """A compile-time Python object a name refers to (a module, a function), or a string literal
    passed to a function."""

    obj: object


@dataclass(frozen=True)
class TupleVal:
    """A Python tuple of values (``a, b``), unpacked or returned, never an IR value itself; with
    `cls`, a list or a namedtuple (a container argument, or one the function builds)."""

    items: tuple
    cls: type = tuple
    ident: object = field(default=None, compare=False)  # (a list the function made: the same list after append)
    fields: tuple = field(default=(), compare=False)  # (names of the items of a plain tuple: NumPy's results)


@dataclass(frozen=True)
class DictVal:
    """A dict of values, never an IR value itself: the ``**kwargs`` of a function being inlined
    (keyword arguments to pass on), a dict argument, or a dict the function builds."""

    items: dict
    cls: type = dict
    ident: object = field(default=None, compare=False)  # (a dict the function made: the same dict after d[k] = v)


@dataclass(frozen=True)
class RecordVal:
    """A dataclass instance whose fields are values (a container argument, or one the function
    builds), never an IR value itself."""

    cls: type
    items: dict


@dataclass(frozen=True, eq=False)
class LambdaVal:
    """A ``lambda`` written in the function: its node, and where its free names are read. Called
    in the function that defines it, it reads that function's names as they are at the call (as
    Python does); passed to a helper, it reads them as they were when the helper was called
    (`env`; None while it is still in the function that defines it, `frame`)."""

    node: object
    src: object
    frame: object
    global_names: frozenset
    env: dict | None = None


@dataclass(frozen=True)
class PartialVal:
    """``functools.partial(func, *args, **kwargs)``: called, it calls `func` with these first."""

    func: object
    args: tuple
    kwargs: dict


@dataclass(frozen=True)
class ListArray:
    """A list built by appending once per iteration of a counted loop, held as the array of its
    items (`rows`, one row per item): read by index, by ``len``, by iterating, and by NumPy
    functions (which make arrays of lists)."""

    rows: object
    name: str


Container = TupleVal | DictVal | RecordVal


def contents(value: Container) -> tuple:
    """The values a container holds, in order."""
    return tuple(value.items) if isinstance(value, TupleVal) else tuple(value.items.values())


def with_contents(value: Container, items) -> Container:
    """A container like `value` holding `items` instead (in the same order)."""
    items = tuple(items)
    if isinstance(value, TupleVal):
        return replace(value, items=items)
    return replace(value, items=dict(zip(value.items, items)))
