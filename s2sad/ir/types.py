"""Types of IR values.

    type ::= f64 | i64 | bool | none | array(dtype, ndim) | tuple(n) | rng

Scalars are `f64`, `i64` and `bool`; `array(f64, 2)` is a float matrix of any shape;
`tuple(n)` is a tuple of `n` integers (what `x.shape` gives); `none` is Python's ``None``
(used for absent slice bounds); `rng` is a NumPy random `Generator`. Only `f64` values and `f64` arrays carry derivatives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_SCALAR_RANK = {"bool": 0, "i64": 1, "f64": 2}


@dataclass(frozen=True)
class Type:
    kind: str  # "f64", "i64", "bool", "none", "array", "tuple", "rng"
    dtype: str = ""  # element kind of an array
    ndim: int = 0  # rank of an array, length of a tuple

    def __str__(self) -> str:
        if self.kind == "array":
            return f"{self.dtype}[{','.join(':' * self.ndim)}]"
        if self.kind == "tuple":
            return f"tuple{self.ndim}"
        return self.kind

    @property
    def is_array(self) -> bool:
        return self.kind == "array"

    @property
    def is_scalar(self) -> bool:
        return self.kind in _SCALAR_RANK

    @property
    def element(self) -> "Type":
        """The scalar type of an array's elements (the type itself for a scalar)."""
        return Type(self.dtype) if self.is_array else self

    @property
    def differentiable(self) -> bool:
        return self.element.kind == "f64"

    def with_ndim(self, ndim: int) -> "Type":
        """The array of this element type with `ndim` axes (a scalar when ndim is 0)."""
        elem = self.element.kind
        return Type(elem) if ndim == 0 else Type("array", elem, ndim)


F64 = Type("f64")
I64 = Type("i64")
BOOL = Type("bool")
NONE = Type("none")
RNG = Type("rng")  # a NumPy random Generator


def array(dtype: str, ndim: int) -> Type:
    return Type("array", dtype, ndim) if ndim else Type(dtype)


def tuple_of(n: int) -> Type:
    return Type("tuple", "i64", n)


def promote(*types: Type) -> Type:
    """NumPy's result type for an elementwise operation on `types` (bool < i64 < f64)."""
    elem = max((t.element.kind for t in types), key=_SCALAR_RANK.__getitem__)
    ndim = max(t.ndim if t.is_array else 0 for t in types)
    return Type(elem).with_ndim(ndim)


def parse_type(text: str) -> Type:
    """Parse a type written as in `s2sad show --types`: ``f64``, ``i64``, ``f64[:,:]`` …"""
    text = text.strip().replace(" ", "")
    aliases = {"float": "f64", "float64": "f64", "int": "i64", "int64": "i64"}
    base, _, rest = text.partition("[")
    base = aliases.get(base, base)
    if base not in _SCALAR_RANK:
        raise ValueError(f"unknown type {text!r}: use f64, i64, bool, or f64[:] with one ':' per axis")
    if not rest:
        return Type(base)
    ndim = rest.rstrip("]").count(":")
    return array(base, ndim)


def type_of_value(value: object) -> Type | None:
    """The IR type of a runtime argument, or None when the compiler cannot handle it."""
    if value is None:
        return NONE
    if isinstance(value, np.random.Generator):
        return RNG
    if isinstance(value, (bool, np.bool_)):
        return BOOL
    if isinstance(value, (int, np.integer)):
        return I64
    if isinstance(value, (float, np.floating)):
        return F64
    if isinstance(value, np.ndarray):
        kind = value.dtype.kind
        if kind == "f" and value.dtype == np.float64:
            return array("f64", value.ndim)
        if kind in "iu":
            return array("i64", value.ndim)
        if kind == "b":
            return array("bool", value.ndim)
    return None
