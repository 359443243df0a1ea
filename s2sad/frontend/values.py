"""Compile-time values of the frontend that are not IR values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PyObj:
    """A compile-time Python object a name refers to (a module, a function), or a string literal
    passed to a function."""

    obj: object


@dataclass(frozen=True)
class TupleVal:
    """A Python tuple of values (``a, b``), unpacked or returned, never an IR value itself."""

    items: tuple


@dataclass(frozen=True)
class DictVal:
    """The ``**kwargs`` of a function being inlined: keyword arguments to pass on, never an IR
    value itself."""

    items: dict
