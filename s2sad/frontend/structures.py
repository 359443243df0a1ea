"""Containers inside the function being lowered: tuples, lists, dicts, namedtuples and
dataclasses as compile-time structures of values.

A container parameter (s2sad/containers.py) is bound to a structure of its leaves, each leaf a
parameter of the IR function named after its path (``params['W1']`` → ``params_W1``), and its
constants (strings, functions) to `PyObj`s. Everything a container does is resolved while
lowering, so the IR keeps seeing numbers and arrays::

    params['W1'], params.W1, layers[2], layers[-1], layers[1:]  → the item's value
    w, b = params;  for layer in layers: …;  for k, v in params.items(): …   (unrolled)
    len(layers);  helper(params);  {"W": W};  [a, b];  Model(W=W, b=b);  model.predict(X)

A function returning a container returns its leaves, and the structure (`returned`) rebuilds
the result at the API. Writing into a container's array (``params['W1'][0] = 1.0``,
``params['W1'] -= g``) writes into that array, as NumPy does; assigning an item
(``params['W1'] = …``) would change the caller's container and is refused.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import types
from dataclasses import dataclass

import gast
import numpy as np

from ..containers import Node, Static, kind_of_class, leaf_names
from ..ir.builder import const
from ..ir.core import Atom, Const, Var
from .values import Container, DictVal, PyObj, RecordVal, TupleVal, contents

CONTAINERS = (TupleVal, DictVal, RecordVal)


@dataclass(frozen=True, eq=False)
class Method:
    """A method read from a container before it is called: a dict's ``items``, ``keys`` or
    ``values``, or a function defined in a dataclass or namedtuple's class (inlined)."""

    receiver: Container
    name: str
    fn: object = None


# --- parameters and results ---------------------------------------------------------------------

def parameters(names: list[str], arg_types: list) -> tuple[list[Var], list]:
    """(the IR function's parameters, the values the Python parameters are bound to): a
    parameter whose type is a container's structure (a `Node`) is bound to a structure of its
    leaves, one IR parameter each, named after its path (``params_W1``)."""
    params: list[Var] = []
    values = [_bound(tree, iter(leaf_names(tree, name)), params) for name, tree in zip(names, arg_types)]
    return params, values


def _bound(tree, names, params: list[Var]):
    if isinstance(tree, Node):
        return container_value(tree.cls, tree.keys, [_bound(c, names, params) for c in tree.children])
    if isinstance(tree, Static):
        return constant(tree.value)
    params.append(Var(next(names), tree))
    return params[-1]


def constant(value):
    """The value of a constant a container holds: a literal for None, an object otherwise."""
    return const(None) if value is None else PyObj(value)


def container_value(cls: type, keys: tuple, items: list) -> Container:
    """The compile-time value of a container of class `cls` holding `items` under `keys`."""
    kind = kind_of_class(cls).name
    if kind in ("tuple", "list", "namedtuple"):
        return TupleVal(tuple(items), cls)
    if kind == "dict":
        return DictVal(dict(zip(keys, items)), cls)
    return RecordVal(cls, dict(zip(keys, items)))


def returned(value) -> tuple[list, object]:
    """(the IR results, the structure that rebuilds the returned value from them): one value is
    its own result (structure None); a container gives its leaves, in order, and a `Node`."""
    if not isinstance(value, CONTAINERS):
        return [value], None
    results: list = []

    def tree(v):
        if isinstance(v, CONTAINERS):
            keys = tuple(range(len(v.items))) if isinstance(v, TupleVal) else tuple(v.items)
            if isinstance(v, TupleVal) and kind_of_class(v.cls).name == "namedtuple":
                keys = v.cls._fields
            return Node(v.cls, keys, tuple(tree(item) for item in contents(v)))
        if isinstance(v, PyObj) or isinstance(v, Const) and v.value is None:
            return Static(v.obj if isinstance(v, PyObj) else None)
        results.append(v)
        return v.type if isinstance(v, (Var, Const)) else None
    return results, tree(value)


# Python's container types, whose call on a container is a shallow copy (``dict(params)``)
_COPIES = (dict, list, tuple)


def makes_container(obj) -> bool:
    """Does calling `obj` make a container (a dataclass or namedtuple class, `enumerate`, `zip`,
    `dict`, `list` or `tuple` of a container)?"""
    return obj is enumerate or obj is zip or _copies(obj) \
        or getattr(kind_of_class(obj), "name", None) in ("namedtuple", "dataclass")


def _copies(obj) -> bool:
    """Is `obj` one of `_COPIES` (compared by identity: `obj` may be anything, an array too)?"""
    return any(obj is kind for kind in _COPIES)


def describe_value(value) -> str | None:
    """A container value in words ("a dict", "a dataclass Model"), None for other values."""
    if isinstance(value, Method):
        return f"the method .{value.name}"
    if not isinstance(value, CONTAINERS):
        return None
    return kind_of_class(value.cls).describe(value.cls)


# --- the part of `Lowering` that resolves containers ---------------------------------------------

class ContainerLowering:
    """Containers in the function's body (mixed into `Lowering`)."""

    def expr_List(self, node) -> TupleVal:
        made = TupleVal(tuple(self.expr(e) for e in node.elts), list, object())
        self.mem.lists[made.ident] = self.region  # (appended to only in this region)
        return made

    def expr_Dict(self, node) -> DictVal:
        items = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                raise self.error(node, "**spreading in a dict literal is not supported; name the keys")
            items[self.key(k)] = self.expr(v)
        made = DictVal(items, dict, object())
        self.mem.lists[made.ident] = self.region  # (its items assigned only in this region)
        return made

    def key(self, node):
        """A key written in the code: a string or number literal, a module constant, or a key
        bound by a loop over a dict."""
        if isinstance(node, gast.Constant) and isinstance(node.value, (str, int)):
            return node.value
        value = self.expr(node)
        if isinstance(value, Const) and isinstance(value.value, (int, str)):
            return value.value
        if isinstance(value, PyObj) and isinstance(value.obj, str):
            return value.obj
        raise self.error(node, "a dict's key must be known when the function is compiled: a string or an "
                               "integer written in the code, a module constant, or a key of a loop over a dict")

    # --- reading items -------------------------------------------------------------------------

    def container_item(self, base: Container, node):
        """``c[k]``: a dict's item, a tuple's or a list's (an integer or a slice known when the
        function is compiled)."""
        what = _described(node.value)
        if isinstance(base, RecordVal):
            raise self.error(node, f"{what} is {describe_value(base)}, which cannot be indexed; read its fields "
                                   f"as attributes ({what}.{next(iter(base.items), 'field')})")
        if isinstance(base, DictVal):
            key = self.key(node.slice)
            if key not in base.items:
                raise self.error(node, f"{what} has no key {key!r}; its keys are "
                                       f"{', '.join(repr(k) for k in base.items)}")
            return self.current(base.items[key], node, f"{what}[{key!r}]")
        if isinstance(node.slice, gast.Slice):
            bounds = [self.index_literal(b, what, base) if b is not None else None
                      for b in (node.slice.lower, node.slice.upper, node.slice.step)]
            cls = base.cls if base.cls in (tuple, list) else tuple
            return TupleVal(base.items[slice(*bounds)], cls)
        index = self.expr(node.slice)
        kinds = {i.type.kind for i in base.items if isinstance(i, (Var, Const)) and i.type.is_scalar}
        if isinstance(index, Var) and index.type.is_scalar and index.type.kind == "i64" and base.items \
                and len(kinds) == 1 and kinds <= {"i64", "f64"} and all(isinstance(i, (Var, Const)) for i in base.items):
            # (for w, v in zip(WEIGHTS, x) with WEIGHTS = (0.2, 0.3, 0.5): the item at a loop's index, read
            # from the array of the numbers, which raises IndexError out of range as Python does)
            numbers = self.call_object(np.array, [TupleVal(base.items, list)], {}, node)
            return self.read_index(numbers, ("i",), [index], node)
        k = self.literal_index(index, node.slice, what, base)
        if not -len(base.items) <= k < len(base.items):
            raise self.error(node, f"index {k} is out of range: {what} has {len(base.items)} items")
        return self.current(base.items[k], node, f"{what}[{k}]")

    def index_literal(self, node, what: str, base: TupleVal) -> int:
        return self.literal_index(self.expr(node), node, what, base)

    def literal_index(self, value, node, what: str, base: TupleVal) -> int:
        if isinstance(value, Const) and isinstance(value.value, int) and not isinstance(value.value, bool):
            return value.value
        kind = describe_value(base)
        raise self.error(node, f"{what} is {kind}: it can be indexed only by an integer known when the function "
                               f"is compiled (written in the code, or a module constant); to go through its items, "
                               f"write a for loop over it (without break or return, which make it a while loop)")

    def container_attribute(self, base: Container, node):
        """``c.field`` of a dataclass or a namedtuple, a method of its class, or a dict's
        ``items``/``keys``/``values``."""
        what, attr = _described(node.value), node.attr
        if isinstance(base, DictVal):
            if attr in ("items", "keys", "values"):
                return PyObj(Method(base, attr))
            raise self.error(node, f"{what} is a dict: .{attr} is not supported (supported: .items(), .keys(), "
                                   ".values(), and items read as [key])")
        if base.cls is list and attr in ("append", "extend", "insert", "pop"):
            raise self.error(node, f"{what}.{attr}(...) is not supported here: a list may grow only by one "
                                   f"{what}.append(item) per iteration of a for loop, at the top of its body "
                                   f"(not in a branch, no break or return), with {what} = [] before the loop; "
                                   "otherwise build an array (np.empty, then store into it)")
        names = getattr(base.cls, "_fields", ()) or getattr(base, "fields", ())
        fields = base.items if isinstance(base, RecordVal) else dict(zip(names, base.items))
        if attr in fields:
            return self.current(fields[attr], node, f"{what}.{attr}")
        member = inspect.getattr_static(base.cls, attr, None)
        if isinstance(member, property) and isinstance(member.fget, types.FunctionType):
            return self.inline(member.fget, [base], {}, node)
        if isinstance(member, types.FunctionType):
            return PyObj(Method(base, attr, member))
        fields_text = ", ".join(fields) or "none"
        raise self.error(node, f"{what} is {describe_value(base)}, which has no field or method '{attr}' that "
                               f"s2sad can use (its fields: {fields_text}; methods are functions defined in "
                               "its class)")

    # --- calls ---------------------------------------------------------------------------------

    def container_call(self, obj, args: list, kwargs: dict, node):
        """A call that makes or reads a container (``Model(W=…)``, ``enumerate(layers)``,
        ``zip(a, b)``, ``params.items()``, a method of a dataclass), or None for any other."""
        if isinstance(obj, Method):
            return self.method_call(obj, args, kwargs, node)
        if obj in (enumerate, zip) and args and all(isinstance(a, CONTAINERS) for a in args):
            return self.pairs(obj, args, kwargs, node)
        if _copies(obj):
            return self.copied(obj, args, kwargs, node)
        if makes_container(obj) and obj not in (enumerate, zip):
            return self.construct(obj, args, kwargs, node)
        return None

    def method_call(self, method: Method, args: list, kwargs: dict, node):
        if method.fn is not None:
            return self.inline(method.fn, [method.receiver, *args], kwargs, node)
        if args or kwargs:
            raise self.error(node, f".{method.name}() takes no arguments")
        items = method.receiver.items
        if method.name == "keys":
            return TupleVal(tuple(constant(k) if isinstance(k, str) else const(k) for k in items))
        if method.name == "values":
            return TupleVal(tuple(items.values()))
        return TupleVal(tuple(TupleVal((constant(k) if isinstance(k, str) else const(k), v)) for k, v in items.items()))

    def copied(self, cls: type, args: list, kwargs: dict, node) -> Container:
        """``dict(params)``, ``list(layers)``, ``tuple(items)``: a new container of the same items
        (a shallow copy, as Python makes: its arrays are the same arrays), whose items the
        function may assign without changing the original."""
        if cls is tuple and len(args) == 1 and not kwargs and getattr(getattr(args[0], "type", None), "kind", "") \
                == "tuple":
            return args[0]  # (tuple(x.shape): the shape itself)
        if len(args) != 1 or kwargs or not isinstance(args[0], CONTAINERS) \
                or (cls is dict) != isinstance(args[0], DictVal):
            what = "a dict (dict(params))" if cls is dict else f"a tuple, a list or a dict ({cls.__name__}(layers))"
            raise self.error(node, f"{cls.__name__}(...) is supported as a copy of {what} here; "
                                   "build other containers with a literal")
        if cls is dict:
            made = DictVal(dict(args[0].items), dict, object())
        else:
            made = TupleVal(tuple(self.iterated(args[0], node)), cls, object() if cls is list else None)
        if made.ident is not None:
            self.mem.lists[made.ident] = self.region  # (its items assigned, or appended to, in this region)
        return made

    def pairs(self, fn, args: list, kwargs: dict, node) -> TupleVal:
        """``enumerate(c)`` and ``zip(a, b, …)`` of containers, as tuples of tuples."""
        if fn is enumerate:
            start = kwargs.pop("start", args[1] if len(args) > 1 else const(0))
            if len(args) > 1 + ("start" not in kwargs and len(args) > 1) or kwargs \
                    or not (isinstance(start, Const) and isinstance(start.value, int)):
                raise self.error(node, "enumerate takes one container (and an integer start=)")
            items = self.iterated(args[0], node)
            return TupleVal(tuple(TupleVal((const(start.value + k), v)) for k, v in enumerate(items)))
        if kwargs:
            raise self.error(node, "zip takes containers only (no keywords)")
        return TupleVal(tuple(TupleVal(t) for t in zip(*(self.iterated(a, node) for a in args))))

    def construct(self, cls: type, args: list, kwargs: dict, node) -> Container:
        """``Model(W=W, b=b)``: a dataclass or a namedtuple made in the function (its class's own
        code, such as ``__post_init__``, runs when a returned one is rebuilt)."""
        try:
            bound = inspect.signature(cls).bind(*args, **kwargs)
        except TypeError as exc:
            raise self.error(node, f"bad arguments to {cls.__name__}: {exc}") from None
        bound.apply_defaults()
        keys = tuple(bound.arguments)
        items = [v if isinstance(v, (Var, Const, PyObj, *CONTAINERS)) else self.outside(v, f"{cls.__name__}.{k}", node)
                 for k, v in bound.arguments.items()]
        return container_value(cls, keys, items)

    # --- iteration -----------------------------------------------------------------------------

    def iterated(self, value: Container, node) -> tuple:
        """The items a for loop over a container goes through (a dict's keys)."""
        if isinstance(value, RecordVal):
            raise self.error(node, f"{describe_value(value)} cannot be iterated over; read its fields")
        if isinstance(value, DictVal):
            return tuple(constant(k) if isinstance(k, str) else const(k) for k in value.items)
        return value.items

    def unroll(self, node, value: Container, policy) -> None:
        """``for layer in layers:`` over a container: the body once per item, in order."""
        if policy is not None:
            raise self.error(node, "s2sad.checkpointed takes a range or an array, not a container")
        for item in self.iterated(value, node.iter):
            self.assign(node.target, self.current(item, node, _described(node.target)))
            self.lower_stmts(node.body)

    def indexes_container(self, node, iterable) -> bool:
        """Whether ``for k in range(...)`` goes through a container's items by index
        (``for k in range(len(layers)): W, b = layers[k]``): its body indexes a container by
        `k`, and its bounds are integers written in the code or the length of a container, so
        that it can be unrolled with `k` a constant, as a loop over the container is."""
        if not (isinstance(node.target, gast.Name) and isinstance(iterable, gast.Call)
                and isinstance(iterable.func, gast.Name) and iterable.func.id == "range"
                and self.expr(iterable.func) == PyObj(range) and not iterable.keywords):
            return False
        if not all(self.known_length(a) for a in iterable.args):
            return False
        index = node.target.id
        return any(isinstance(n, gast.Subscript) and isinstance(n.value, gast.Name)
                   and isinstance(self.env.get(n.value.id), CONTAINERS)
                   and any(isinstance(m, gast.Name) and m.id == index for m in gast.walk(n.slice))
                   for stmt in node.body for n in gast.walk(stmt))

    def known_length(self, node) -> bool:
        """Is `node` an integer written in the code, ``len(c)`` of a container `c`, or sums,
        differences, products and negations of these (``len(layers) - 1``, ``-1``)?"""
        if isinstance(node, gast.Constant):
            return type(node.value) is int
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd)):
            return self.known_length(node.operand)
        if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Add, gast.Sub, gast.Mult, gast.FloorDiv)):
            return self.known_length(node.left) and self.known_length(node.right)
        return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id == "len" \
            and self.expr(node.func) == PyObj(len) and len(node.args) == 1 and not node.keywords \
            and isinstance(node.args[0], gast.Name) and isinstance(self.env.get(node.args[0].id), CONTAINERS)

    def unroll_range(self, node, iterable, policy) -> None:
        """``for _k in range(len(...))`` that enumerate(...) or zip(...) of a container became:
        the body once per index, with the index a constant (so the container's items are known)."""
        if policy is not None:
            raise self.error(node, "s2sad.checkpointed takes a range or an array, not a container")
        bounds = self.range_bounds(iterable)
        if not all(isinstance(b, Const) for b in bounds):
            raise self.error(node, "zip of a container with an array is not supported: the array's length is not "
                                   "known when the derivative is made; zip it with a container or a range")
        for k in range(*(b.value for b in bounds)):
            self.assign(node.target, const(k))
            self.lower_stmts(node.body)

    # --- writing -------------------------------------------------------------------------------

    def container_store(self, target, base: Container, value: Atom, op) -> None:
        """``c[k] op= v`` for an array item: the array is updated in place, as NumPy does (the
        container then holds the same array). Assigning an item (``d[k] = v``, or ``op=`` of a
        number) changes the container itself: supported for a dict or a list the function made,
        in the straight-line code that made it (every name of it then names the changed one);
        refused for a container the function was given, which s2sad cannot change for the caller
        (docs/design.md, "Everyday Python")."""
        what, kind = _described(target), describe_value(base)
        item = self.container_item(base, target) if op is not None else None
        if op is not None and isinstance(item, Var) and item.type.is_array:
            self.update_in_place(target, what, item, self.binop_prim(op, target), value)
            return
        ident = getattr(base, "ident", None)
        if ident is None or base.cls not in (dict, list):
            raise self.error(target, f"assigning to {what} (an item of {kind} the function was given) is not "
                                     f"supported: s2sad cannot change the caller's container (only write into its "
                                     f"arrays, as NumPy does). Write into its array ({what}[...] = ...), or build a "
                                     f"new container and return it")
        if self.mem.lists.get(ident) is not self.region:
            raise self.error(target, f"assigning to {what} is supported in the straight-line code that made "
                                     f"{_described(target.value)} (not in a loop or a branch after it, nor in a "
                                     f"helper); build the container where its items are known")
        if any(getattr(i, "ident", None) is ident for v in self.env.values()
               if isinstance(v, CONTAINERS) for i in contents(v)):
            raise self.error(target, f"{_described(target.value)} is also an item of another container; assigning "
                                     "its items there is not supported")
        if op is not None:
            value = self.emit(self.binop_prim(op, target), [item, value], target, what)
        if isinstance(base, DictVal):
            new = dataclasses.replace(base, items={**base.items, self.key(target.slice): value})
        else:
            k = self.index_literal(target.slice, what, base)
            if not -len(base.items) <= k < len(base.items):
                raise self.error(target, f"list assignment index {k} is out of range: {what} has "
                                         f"{len(base.items)} items (Python raises IndexError)")
            items = list(base.items)
            items[k] = value
            new = dataclasses.replace(base, items=tuple(items))
        for key, bound in list(self.env.items()):
            if getattr(bound, "ident", None) is ident:
                self.env[key] = new


def _described(node) -> str:
    """The source text of an expression, for messages (``params['W1']``, ``layers[2]``)."""
    return ast.unparse(gast.gast_to_ast(node))
