"""Parameter containers: tuples, lists, dicts, namedtuples and dataclasses of numbers and arrays,
nested, as arguments and results ("pytrees").

A container is split at the API boundary into its *leaves* (numbers and arrays, which the
generated code takes as separate parameters) and its *structure* (a `Node`), which is part of
the signature a derivative is compiled for. Gradients, tangents and cotangents are rebuilt from
the structure after the call, so a gradient with respect to a dict is a dict with the same keys,
one with respect to a dataclass the same dataclass. Inside the function the lowering binds a
container parameter to the compile-time structure of its leaves (frontend/structures.py): the IR
sees numbers and arrays only.

A structure (a *tree*) is a `Node` (a container: its class, its keys, a tree per item), a
`Static` (a value a container holds that is not a number or an array, such as a string or an
activation function: a constant of the compiled code, part of the signature), or a leaf: the
leaf's IR `Type` (or, for structures of values that are not arguments, any placeholder).

Which container kinds exist is the registry `KINDS`. A list or tuple of numbers (or of such
lists, nested) is not a container: it is converted to an array, as NumPy's ``np.asarray`` does.
"""

from __future__ import annotations

import collections
import dataclasses
import numbers
import re
import types
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from .custom import CustomRule
from .errors import S2SADError


@dataclass(frozen=True)
class Static:
    """A value a container holds that is not a number or an array (a string, a function, None):
    a constant of the compiled code, part of the signature it is compiled for."""

    value: object


@dataclass(frozen=True)
class Node:
    """A container: its class (``dict``, a dataclass, …), its keys (dict keys, field names, or the
    indices of a tuple or a list) and one tree per item."""

    cls: type
    keys: tuple
    children: tuple

    @property
    def kind(self) -> "Kind":
        return kind_of_class(self.cls)

    def __str__(self) -> str:
        return self.kind.describe(self.cls)


@dataclass(frozen=True)
class Kind:
    """One kind of container: how to tell it, take it apart and build it again, and how its keys
    read in a path (``['W1']``, ``[2]``, ``.W1``)."""

    name: str
    is_class: Callable[[type], bool]
    split: Callable[[Any], tuple[tuple, tuple]]  # container → (keys, items)
    build: Callable[[type, tuple, list], Any]  # (class, keys, items) → container
    step: Callable[[Any], str]  # a key as a step of a path

    def describe(self, cls: type) -> str:
        return f"a {self.name} {cls.__name__}" if self.name in ("namedtuple", "dataclass") else f"a {self.name}"


def _is_namedtuple(cls: type) -> bool:
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def _init_fields(cls: type) -> tuple[str, ...]:
    """The fields a dataclass's constructor takes (those it computes itself are left out)."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def _index_step(key) -> str:
    return f"[{key}]"


KINDS = (
    Kind("namedtuple", _is_namedtuple, lambda v: (type(v)._fields, tuple(v)), lambda cls, keys, items: cls(*items),
         lambda key: f".{key}"),
    Kind("tuple", lambda cls: cls is tuple, lambda v: (tuple(range(len(v))), tuple(v)),
         lambda cls, keys, items: tuple(items), _index_step),
    Kind("list", lambda cls: cls is list, lambda v: (tuple(range(len(v))), tuple(v)),
         lambda cls, keys, items: list(items), _index_step),
    Kind("dict", lambda cls: cls in (dict, collections.OrderedDict), lambda v: (tuple(v), tuple(v.values())),
         lambda cls, keys, items: cls(zip(keys, items)), lambda key: f"[{key!r}]"),
    Kind("dataclass", lambda cls: dataclasses.is_dataclass(cls),
         lambda v: (_init_fields(type(v)), tuple(getattr(v, f) for f in _init_fields(type(v)))),
         lambda cls, keys, items: cls(**dict(zip(keys, items))), lambda key: f".{key}"),
)


def kind_of_class(cls: type) -> Kind | None:
    """The container kind of instances of `cls` (None if they are not containers)."""
    if not isinstance(cls, type):
        return None
    return next((k for k in KINDS if k.is_class(cls)), None)


def is_container(value: Any) -> bool:
    """Is `value` a container, rather than a leaf or a constant? (A list or tuple of numbers is
    an array, as ``np.asarray`` makes it.)"""
    return kind_of_class(type(value)) is not None and not _array_like(value)


def _array_like(value: Any) -> bool:
    """A list or tuple of numbers, or of such lists, that NumPy makes a numeric array of."""
    if type(value) not in (list, tuple):
        return False
    if not all(_is_number(v) or _array_like(v) for v in value):
        return False
    try:
        return np.asarray(value).dtype != object
    except ValueError:  # (ragged: lists of different lengths are a container of arrays)
        return False


def _is_number(value: Any) -> bool:
    return isinstance(value, (numbers.Number, np.generic))


STATIC_TYPES = (str, type(None), types.FunctionType, types.BuiltinFunctionType, np.ufunc, CustomRule)


def is_static(value: Any) -> bool:
    """Can a container hold `value` as a constant of the compiled code (a string, None, a
    function, a NumPy ufunc, a s2sad.custom_rule function)?"""
    return isinstance(value, STATIC_TYPES)


# --- flattening and rebuilding --------------------------------------------------------------------

def flatten(value: Any, path: str, leaf: Callable[[str, Any], tuple[Any, Any]]) -> tuple[list, Any]:
    """(the leaves of `value`, in order, and its tree), where ``leaf(path, item)`` gives a leaf and
    its tree (the caller's choice: an IR type, …). `path` names `value` in messages; below it the
    paths read ``params['W1']``, ``layers[2].b``. A value that is not a container is one leaf,
    whatever it is (`leaf` refuses what it cannot take)."""
    leaves: list = []

    def walk(v, p, top):
        kind = kind_of_class(type(v))
        if kind is None or _array_like(v):
            if not top and is_static(v):
                return Static(v)
            made, tree = leaf(p, v)
            leaves.append(made)
            return tree
        keys, items = kind.split(v)
        return Node(type(v), keys, tuple(walk(item, p + kind.step(k), False) for k, item in zip(keys, items)))

    tree = walk(value, path, True)
    return leaves, tree


def unflatten(tree: Any, leaves: Iterable) -> Any:
    """The value of structure `tree` whose leaves are `leaves`, in order (constants as the tree
    holds them)."""
    items = iter(leaves)

    def build(t):
        if isinstance(t, Node):
            return t.kind.build(t.cls, t.keys, [build(c) for c in t.children])
        if isinstance(t, Static):
            return t.value
        return next(items)
    return build(tree)


def leaf_trees(tree: Any) -> list:
    """The leaves of a tree (their types, for a tree of argument types), in order."""
    return [t for t, _ in leaf_paths(tree, "")]


def leaf_paths(tree: Any, path: str) -> list[tuple[Any, str]]:
    """(leaf, its path below `path`) for each leaf of `tree`, in order."""
    if isinstance(tree, Node):
        kind = tree.kind
        return [pair for k, c in zip(tree.keys, tree.children) for pair in leaf_paths(c, path + kind.step(k))]
    return [] if isinstance(tree, Static) else [(tree, path)]


def leaf_names(tree: Any, name: str) -> Iterator[str]:
    """Readable identifiers for the leaves of `tree` below the parameter `name`: ``params_W1``,
    ``layers_2_b`` (the generated function's parameters)."""
    if isinstance(tree, Node):
        for k, c in zip(tree.keys, tree.children):
            yield from leaf_names(c, f"{name}_{re.sub(r'[^0-9A-Za-z_]+', '_', str(k)).strip('_') or 'item'}")
    elif not isinstance(tree, Static):
        yield name


def flatten_like(tree: Any, value: Any, path: str, what: str) -> list[tuple[str, Any]]:
    """(path, leaf) for each leaf of `value`, which must have the structure `tree` (a tangent, a
    cotangent or a direction for an argument or a result of that structure); whatever `value`
    holds where the tree holds a constant is left out. `what` names `value` in the error raised
    when its structure differs."""
    leaves: list = []

    def walk(t, v, p):
        if isinstance(t, Static):
            return
        if not isinstance(t, Node):
            leaves.append((p, v))
            return
        kind = t.kind
        keys = kind.split(v)[0] if kind_of_class(type(v)) is kind else None  # (a tuple of numbers too)
        if type(v) is not t.cls and not (kind.name == "dict" and isinstance(v, dict)) or keys != t.keys:
            raise S2SADError(f"{what} must have the structure of the value it goes with: at {p} that is "
                             f"{_shape_of(t)}, but {what} has {_described(v)}")
        for k, c, item in zip(t.keys, t.children, kind.split(v)[1]):
            walk(c, item, p + kind.step(k))

    walk(tree, value, path)
    return leaves


def _shape_of(tree: Node) -> str:
    if tree.kind.name in ("tuple", "list"):
        return f"{tree} of {len(tree.keys)} items"
    return f"{tree} with {'keys' if tree.kind.name == 'dict' else 'fields'} {', '.join(repr(k) for k in tree.keys)}"


def _described(value: Any) -> str:
    kind = kind_of_class(type(value))
    if kind is None or _array_like(value):
        return f"{type(value).__name__} {value!r:.40}"
    return _shape_of(Node(type(value), kind.split(value)[0], ()))


def describe(tree: Any) -> str:
    """A tree in words, for messages: "a dict", "a dataclass Model", "a number or an array"."""
    return str(tree) if isinstance(tree, Node) else "a number or an array"


# --- ravel ------------------------------------------------------------------------------------------

def ravel(params: Any) -> tuple[np.ndarray, Callable[[np.ndarray], Any]]:
    """``(vector, unravel)``: the leaves of `params` (a container of numbers and arrays, or one of
    them) concatenated into one float64 vector, and the function that makes a container of
    `params`' structure from such a vector (numbers as floats, arrays with their shapes, constants
    such as strings as they are). For optimisers that work on vectors::

        x0, unravel = s2sad.ravel(params)
        def fun(x):
            value, g = loss_and_grad(unravel(x), X, y)
            return value, s2sad.ravel(g)[0]
        scipy.optimize.minimize(fun, x0, jac=True)
    """
    leaves, tree = flatten(params, "params", _float_leaf)
    shapes = [np.shape(x) for x in leaves]
    sizes = [int(np.prod(s)) for s in shapes]
    vector = np.concatenate([np.ravel(x) for x in leaves]) if leaves else np.zeros(0)

    def unravel(v: np.ndarray) -> Any:
        v = np.asarray(v, dtype=np.float64)
        if v.shape != (sum(sizes),):
            raise S2SADError(f"unravel takes a vector of {sum(sizes)} numbers, got an array of shape {v.shape}")
        parts = np.split(v, np.cumsum(sizes)[:-1]) if sizes else []
        return unflatten(tree, [p.reshape(s) if s else float(p[0]) for p, s in zip(parts, shapes)])
    return vector, unravel


def _float_leaf(path: str, value: Any) -> tuple[np.ndarray, None]:
    if isinstance(value, (bool, np.bool_)) or not (_is_number(value) or isinstance(value, (np.ndarray, list, tuple))):
        raise S2SADError(f"ravel takes numbers and arrays in containers, but {path} is "
                         f"{type(value).__name__} {value!r:.40}")
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise S2SADError(f"ravel takes numbers and arrays in containers, but {path} is an array of {array.dtype}")
    return array.astype(np.float64), None
