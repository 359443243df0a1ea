"""Lowering: a parsed function and its argument types → an IR `Function`.

One visitor method per construct. Python names map to SSA values in an environment; an
assignment rebinds the name to a new value, and an ``if`` that rebinds names yields their new
values from both branches::

    def f(x):               def f(x: f64):
        y = x * 2             y: f64 = mul(x, 2)
        if y > 1:             t: bool = gt(y, 1)
            y = sin(y)        if t:
        return y                then: y.1: f64 = sin(y); yield y.1
                                else: yield y
                              -> y.2: f64
                              return y.2

Names that refer to things outside the function are resolved at compile time: NumPy
functions become primitives, other Python functions are inlined, numbers become literals.
Everything else is refused with an `S2SADError` at the offending line.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import inspect
import numbers
import re
import sys
import types
from dataclasses import dataclass, field

import gast
import numpy as np

from .. import primitives as P
from ..checkpoint import Policy, checkpointed, marker_policy
from ..custom import CustomRule
from ..errors import S2SADError, located
from ..ir.builder import Builder, const, placeholder
from ..ir.core import TEMP, Atom, Block, Const, Eqn, ForRange, Function, If, Loc, Var, While, walk
from ..ir.types import BOOL, F64, I64, NONE, Type, promote, type_of_value
from . import special
from .composed import COMPOSED, diagonal_at, lower_composed
from .indexing import IndexLowering
from .memory import Ambiguous, Latest, Memory, MemoryLowering
from .nested import check_inlinable, inline_gradient, is_derivative, lower_derivative
from .normalize import RESULT, always_returns, normalize
from .parse import Assumption, Source, note_read, numbers_of, parse
from .structures import CONTAINERS, ContainerLowering, describe_value, makes_container, parameters, returned
from .values import DictVal, LambdaVal, ListArray, PartialVal, PyObj, TupleVal, contents


@dataclass(frozen=True)
class BoundMethod:
    """``x.sum`` before it is called: a primitive with its first operand."""

    prim: P.Primitive
    receiver: Atom


# ``x.item`` before it is called (no primitive: a read of the one element, or of the given one).
ITEM = P.Primitive("item", ["x"], lambda t, p: None, None)
# ``rng.shuffle`` before it is called (a permutation drawn, then a store of the rows it names).
SHUFFLE = P.Primitive("shuffle", ["rng"], lambda t, p: None, None)


@dataclass(frozen=True)
class Undefined:
    """A name that may be unbound here: assigned in one branch of an ``if``, or inside a loop."""

    lineno: int
    why: str = "is assigned in only one branch of the if"
    fix: str = "assign it in both"
    loop: tuple | None = None  # (assigned only inside this loop: `loop_key`)


Value = Atom | PyObj | TupleVal | DictVal


_IN_PLACE = {P.add: P.index_add, P.sub: P.index_sub}  # x[idx] += v, x[idx] -= v
_REFUSED_STMTS = {
    gast.Try: "try/except cannot be differentiated; check inputs before calling the derivative",
    gast.With: "with blocks cannot be differentiated; move them outside the function",
    gast.Raise: "raise is supported alone in an if without else (if bad: raise ValueError(\"...\")) and as "
                "assert; move other checks before the call",
    gast.Nonlocal: "nonlocal statements are not supported; pass the value as an argument",
    gast.Delete: "del is not supported; just stop using the name",
    gast.Import: "import inside the function is not supported; import at module level",
    gast.ImportFrom: "import inside the function is not supported; import at module level",
    gast.ClassDef: "class definitions inside the function are not supported; define classes outside",
    gast.FunctionDef: "nested function definitions are not supported; define the helper at module level",
    gast.AsyncFunctionDef: "async functions are not supported",
    gast.AsyncFor: "async for is not supported",
    gast.AsyncWith: "async with is not supported",
}

_REFUSED_EXPRS = {
    gast.List: "lists are not supported; use a NumPy array or a tuple",
    gast.ListComp: "a list comprehension is supported with one for and no if, outside a while loop's "
                   "condition; use NumPy operations (np.where for a filter)",
    gast.SetComp: "set comprehensions are not supported",
    gast.DictComp: "a dict comprehension is supported with one for and no if; write the loop that assigns its items",
    gast.GeneratorExp: "generator expressions are not supported; use NumPy operations",
    gast.Dict: "dicts are not supported; pass values as separate arguments",
    gast.Set: "sets are not supported",
    gast.Yield: "yield (generators) cannot be differentiated; return a value instead",
    gast.YieldFrom: "yield from (generators) cannot be differentiated; return a value instead",
    gast.Await: "await is not supported",
    gast.NamedExpr: "the walrus operator := is not supported; use a separate assignment",
    gast.JoinedStr: "strings are not supported",
    gast.Starred: "starred expressions (*args) are not supported",
}

METHODS = {"sum": P.sum, "mean": P.mean, "max": P.amax, "min": P.amin, "prod": P.prod, "var": P.var,
           "std": P.std, "cumsum": P.cumsum, "cumprod": P.cumprod, "dot": P.dot, "copy": P.copy, "reshape": P.reshape,
           "ravel": P.ravel, "flatten": P.flatten, "squeeze": P.squeeze, "swapaxes": P.swapaxes,
           "transpose": P.transpose, "astype": P.astype, "all": P.all_, "any": P.any_, "argmax": P.argmax,
           "argmin": P.argmin, "argsort": P.argsort, "clip": P.clip}
# The errors a program may raise itself (`raise_when`): Python's own, which compiled code raises too.
_RAISED = (ValueError, TypeError, IndexError, KeyError, RuntimeError, ArithmeticError, ZeroDivisionError,
           OverflowError, FloatingPointError, NotImplementedError, AssertionError, LookupError)
# Methods that are the NumPy function of their name applied to the array (``x.trace()`` is
# ``np.trace(x)``, ``x.diagonal()`` NumPy's read-only view), lowered as that call.
AS_FUNCTIONS = {name: getattr(np, name) for name in ("diagonal", "trace", "round", "repeat", "take", "nonzero",
                                                     "searchsorted")}
# Methods that write into the array they are called on, called as statements: ``x.fill(v)`` stores
# v into every element, ``x.sort(axis=-1)`` stores np.sort's result.
FILL = P.Primitive("fill", ["x", "value"], lambda t, p: None, None)
SORT = P.Primitive("sort", ["x"], lambda t, p: None, None)
WRITING_METHODS = {"fill": FILL, "sort": SORT}
REDUCTIONS = {P.sum, P.mean, P.amax, P.amin, P.prod, P.var, P.std, P.all_, P.any_}  # they take keepdims=
ALLOCATE_LIKE = {np.zeros_like: P.zeros, np.ones_like: P.ones, np.empty_like: P.empty, np.full_like: P.full}


def lower(fn, arg_types: list[Type], forced: frozenset = frozenset()) -> Function:
    """The IR of `fn` specialised to `arg_types` (one type per parameter); `fn` may be a
    derivative object (``s2sad.grad(s2sad.grad(f))``: see nested.py).

    A module number is taken as a constant (checked at every call: `Function.assumed`), unless
    it is `forced` ((id(globals), name) pairs), or the call assigns it (``global c``): then every
    read of it, in any function inlined, is made at run time, which needs a second lowering when
    a helper read it first as a constant."""
    if is_derivative(fn):
        return lower_derivative(fn, arg_types)
    peel: frozenset = frozenset()
    while True:
        try:
            lowering, ir = _lower_once(fn, arg_types, forced, peel)
        except _Unbound as unbound:
            if unbound.loop in peel:
                raise
            peel |= {unbound.loop}  # (lowered again with that loop's first iteration apart)
            continue
        assigned = {(key, e.params["name"]) for e in walk(ir.body) if isinstance(e, Eqn) and e.prim is P.global_write
                    for key, (alias, _) in lowering.spaces.items() if e.params["space"] == alias}
        if not (assigned & set(lowering.assumed)) - forced:
            return ir
        forced |= assigned


def copies_only(tree) -> frozenset[str]:
    """The names that every assignment in the function binds to a new object made by a copy
    (``y = x.copy()``, ``np.copy(x)``, ``np.array(x)``, ``float(x)``) and nothing binds otherwise:
    ``y += 1`` then updates that copy, never an argument, even where s2sad takes a 0-d array as
    the number it holds (its `.copy()` is the number itself)."""
    def copy_call(v) -> bool:
        if not isinstance(v, gast.Call):
            return False
        f = v.func
        if isinstance(f, gast.Attribute) and f.attr == "copy" and not v.args and not v.keywords:
            return True
        if isinstance(f, gast.Attribute) and isinstance(f.value, gast.Name) and f.value.id in ("np", "numpy"):
            return f.attr == "copy" or f.attr == "array" and not any(k.arg == "copy" for k in v.keywords)
        return isinstance(f, gast.Name) and f.id == "float"
    copies, others, seen = set(), set(), set()
    for n in gast.walk(tree):
        if isinstance(n, gast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], gast.Name):
            (copies if copy_call(n.value) else others).add(n.targets[0].id)
            seen.add(id(n.targets[0]))
        elif isinstance(n, gast.AugAssign):
            seen.add(id(n.target))
    others |= {n.id for n in gast.walk(tree) if isinstance(n, gast.Name) and id(n) not in seen
               and isinstance(n.ctx, (gast.Store, gast.Param))}  # (loop targets, unpacking, parameters, ...)
    return frozenset(copies - others)


def _lower_once(fn, arg_types: list[Type], forced: frozenset, peel: frozenset) -> tuple["Lowering", Function]:
    src = parse(fn)
    names = list(inspect.signature(fn).parameters)  # (a functools.wraps wrapper shows the wrapped function's)
    if len(names) != len(arg_types):
        raise S2SADError(f"{fn.__name__} takes {len(names)} arguments, got types for {len(arg_types)}",
                         src.filename, src.first_line)
    params, values = parameters(names, arg_types)  # (a container's leaves are parameters of their own)
    builder = Builder()
    lowering = Lowering(src, builder, {}, stack=(fn,), forced=forced, peel=peel)
    values = [const(None) if isinstance(v, Var) and v.type == NONE else v for v in values]
    kinds = [p.kind for p in inspect.signature(fn).parameters.values()]
    keywords = {n: v for n, v, kind in zip(names, values, kinds) if kind is inspect.Parameter.KEYWORD_ONLY}
    positional = [v for v, kind in zip(values, kinds) if kind is not inspect.Parameter.KEYWORD_ONLY]
    lowering.env = lowering.bind_call(fn, positional, keywords, src.tree)
    lowering.mem.external.update(params)
    numbers = {name: k for name, v in zip(names, values) for k, p in enumerate(params)
               if p is v and not v.type.is_array}
    lowering.mem.numbers_in = {id(params[k]): k for k in numbers.values()}
    result = lowering.run_body()
    # (a number parameter updated in place, through its name anywhere or another name bound to it: NumPy
    # would update the caller's 0-d array in place)
    updated = lowering.mem.updated | {numbers[n.target.id] for n in gast.walk(src.tree) if isinstance(n, gast.AugAssign)
                                  and isinstance(n.target, gast.Name) and n.target.id in numbers}
    results, out_tree = returned(result)
    lowering.write_back(params)
    taken = {n.id for n in gast.walk(src.tree) if isinstance(n, gast.Name)}
    for r in results:
        if isinstance(r, Var) and r.name == TEMP:
            r.name = "out" if "out" not in taken else "result"
    for r in results:
        if not isinstance(r, (Var, Const)):
            raise S2SADError(f"{fn.__name__} must return numbers or arrays, not {_describe(r)}",
                             src.filename, lowering.return_loc.lineno if lowering.return_loc else None)
    name = fn.__name__ if fn.__name__.isidentifier() else src.tree.name  # (a lambda: lambda_LINE)
    return lowering, Function(name, builder.block(params, results), src.filename, src.first_line, names,
                              dict(lowering.spaces.values()), assumed=tuple(lowering.assumed.values()),
                              out_tree=out_tree, updated=tuple(sorted(updated)))


def _describe(value) -> str:
    if isinstance(value, BoundMethod):
        return f"the method .{value.prim.name}"
    if isinstance(value, PyObj):
        return f"the Python object {value.obj!r}"
    if isinstance(value, ListArray):
        return f"a list (built in a loop; np.array({value.name}) makes an array of it)"
    return describe_value(value) or type(value).__name__


class Lowering(ContainerLowering, MemoryLowering, IndexLowering):
    """Lowers one function body into `builder`, with `env` mapping names to values (and, under
    `Latest` keys, arrays written into to their latest values: see memory.py)."""

    def __init__(self, src: Source, builder: Builder, env: dict, stack: tuple, mem: Memory | None = None,
                 spaces: dict | None = None, global_names: set | None = None, remade: dict | None = None,
                 outer: tuple = (), assumed: dict | None = None, forced: frozenset = frozenset(),
                 frame: object | None = None, peel: frozenset = frozenset()):
        self.src = src
        self.frame = object() if frame is None else frame  # (one call of the function: its regions share it)
        self.iteration_mark = 0  # values made from here on belong to the innermost loop's iteration
        self.region = object()  # (this region: a list may grow only in the region that made it)
        self.b = builder
        self.env = env
        self.stack = stack
        self.mem = Memory() if mem is None else mem  # views and storages, shared with regions and helpers
        self.spaces: dict[int, tuple] = {} if spaces is None else spaces  # id(globals) → (alias, namespace)
        self.global_names: set[str] = set() if global_names is None else global_names  # declared `global`
        self.remade: dict = {} if remade is None else remade  # views made again in this region
        self.outer = outer  # the environments of the functions this one is inlined into
        self.assumed: dict = {} if assumed is None else assumed  # what outside names referred to (parse.py)
        self.forced = forced  # (id(globals), name): module numbers read at run time (the call assigns them)
        self.peeled: set = set()  # the loops lowered with their first iteration apart
        self.peel = peel  # (`loop_key`s of loops to lower so: a name they alone assign is read after them)
        self.return_loc: Loc | None = None
        self.return_node: gast.AST | None = None

    # --- errors and locations -------------------------------------------------------------

    def error(self, node, message: str) -> S2SADError:
        return located(message, self.src.loc(node))

    # --- statements -------------------------------------------------------------------------

    def run_body(self) -> Value:
        """Lower the function body; the value of its final ``return``."""
        if not getattr(self.src, "normalized", False):
            _end_with_return(self.src.tree)
            normalize(self.src.tree, lambda name: self.src.lookup(name)[0] is getattr(builtins, name))
            self.src.normalized = True
        body = list(self.src.tree.body)
        if body and _is_docstring(body[0]):
            body = body[1:]
        self.lower_stmts(body[:-1])
        ret = body[-1]
        self.return_loc, self.return_node = self.src.loc(ret), ret
        if ret.value is None:
            if len(self.stack) > 1:
                return const(None)  # (a helper called for what it does)
            raise self.error(ret, f"{self.src.fn.__name__} must end with a return statement that returns a value "
                                  "to differentiate")
        with self.b.at(self.src.loc(ret)):
            return self.expr(ret.value)

    def write_back(self, params: list[Var]) -> None:
        """At the end of the function: the caller's arrays it wrote into get their last values."""
        written = [p for p in params if p.type.is_array and self.latest(p) is not p]
        for p in written:
            self.b.append(Eqn([], P.writeback, [p, self.latest(p)], {}, self.return_loc))
        self.republish_params(written, self.return_node)

    def lower_stmts(self, stmts: list) -> None:
        for stmt in stmts:
            with self.b.at(self.src.loc(stmt)):
                self.stmt(stmt)

    def stmt(self, node) -> None:
        method = getattr(self, "stmt_" + type(node).__name__, None)
        if method is None:
            reason = _REFUSED_STMTS.get(type(node), f"{type(node).__name__} statements are not supported")
            raise self.error(node, reason)
        method(node)

    def stmt_Pass(self, node) -> None:
        pass

    def stmt_Global(self, node) -> None:
        """``global c``: reads of c go to the module at run time, assignments write it back."""
        for name in node.names:
            if name in self.env:
                raise self.error(node, f"'{name}' is used before its global declaration")
            if name not in self.src.fn.__globals__:
                raise self.error(node, f"global '{name}' must exist in the module before the call")
            note_read(self.src.fn, "global", name, self.src.fn.__globals__[name], self.src.fn.__globals__)  # (its kind
            # types what the function assigns to it)
            self.global_names.add(name)

    def stmt_Return(self, node) -> None:
        raise self.error(node, "return is only supported as the last statement of the function; "
                               "assign the result to a variable and return it at the end")

    def stmt_Expr(self, node) -> None:
        if _is_docstring(node):
            return
        if _appends(node.value) and isinstance(self.env.get(node.value.func.value.id), TupleVal):
            self.append(node.value)
            return
        if isinstance(node.value, gast.Call) and self.statement_call(node.value):
            return
        if isinstance(node.value, gast.Call) and self.called_function(node.value.func):
            self.expr(node.value)  # (a helper called for what it does: its result is dropped)
            return
        if isinstance(node.value, gast.Call) and self.expr(node.value.func) == PyObj(print):
            self.print_call(node.value)
            return
        if isinstance(node.value, gast.Call) and (_is_add_at(self.expr(node.value.func))
                                                  or self.expr(node.value.func) == PyObj(np.put_along_axis)):
            self.expr(node.value)  # (np.add.at and np.put_along_axis write into their first argument)
            return
        if isinstance(node.value, gast.Call) and self.copy_into(node.value):
            return
        if isinstance(node.value, (gast.Yield, gast.YieldFrom)):
            raise self.error(node, _REFUSED_EXPRS[gast.Yield])
        if isinstance(node.value, gast.Call):
            func = self.expr(node.value.func)
            ufunc_method = isinstance(getattr(getattr(func, "obj", None), "__self__", None), np.ufunc)
            if isinstance(func, PyObj) and (_is_numpy(func.obj) or ufunc_method) and not _known_numpy(func.obj):
                raise self.error(node, f"{P.numpy_name(func.obj)} is not supported (a call made for what it writes "
                                       "into its arguments); `s2sad rules` lists what is (docs/supported.md)")
        raise self.error(node, "an expression statement has no effect on the result and is not supported; remove it")

    def copy_into(self, node: gast.Call) -> bool:
        """``np.copyto(dst, src)`` and a ufunc with ``out=`` called as a statement
        (``np.maximum(h, 0.0, out=h)``): the store ``dst[...] = value``, the value computed first
        (NumPy's ufuncs compute as if their inputs were copied before the output is written).
        True if the call was one."""
        func = self.expr(node.func)
        if not (isinstance(func, PyObj) and _is_hashable(func.obj)):
            return False
        out = [k for k in node.keywords if k.arg == "out"]
        if isinstance(func.obj, np.ufunc) and func.obj.nout == 1 and not out and len(node.args) == func.obj.nin + 1:
            # (the output given by position, np.multiply(y, 2.0, y): NumPy's out=)
            out = [gast.keyword(arg="out", value=node.args[-1])]
            node = gast.copy_location(gast.Call(func=node.func, args=node.args[:-1], keywords=node.keywords + out), node)
        if func.obj is np.copyto:
            if len(node.args) != 2 or node.keywords:
                raise self.error(node, "np.copyto is supported as np.copyto(dst, src) (no casting= or where=)")
            dst, src = node.args
        elif isinstance(func.obj, np.ufunc) and out:
            dst = out[0].value.elts[0] if isinstance(out[0].value, gast.Tuple) and len(out[0].value.elts) == 1 \
                else out[0].value
            src = gast.Call(func=node.func, args=node.args, keywords=[k for k in node.keywords if k.arg != "out"])
            gast.copy_location(src, node)
        elif out:
            raise self.error(node, f"out= is supported for NumPy's ufuncs (np.add, np.maximum, ...) called as a statement; "
                                   f"store the result instead (y[...] = {_described(node.func)}(...))")
        else:
            return False
        value = self.value(src)
        target = self.expr(dst)
        if not (isinstance(target, Var) and target.type.is_array):
            raise self.error(node, f"the output of {_described(node.func)} must be an array")
        if target.type.dtype != "f64" and value.type.element.kind == "f64":
            raise self.error(node, f"{_described(node.func)} would cast floats into '{_described(dst)}', which is "
                                   f"{target.type}: NumPy refuses that (casting='same_kind'); write into a float array")
        where = gast.Subscript(value=dst, slice=gast.Constant(value=Ellipsis, kind=None), ctx=gast.Store())
        self.store(gast.copy_location(where, node), self.current(value, node), None)
        return True

    def append(self, node) -> None:
        """``xs.append(v)`` in straight-line code: every name of the list then names the longer
        list (its items are values: an array appended is the array itself, read as it is now)."""
        name = node.func.value.id
        old = self.env[name]
        if old.cls is not list or old.ident is None or self.mem.lists.get(old.ident) is not self.region:
            raise self.error(node, f"{name}.append(...) is supported in the straight-line code that made the list, and "
                                   f"in a loop after {name} = [...] that uses {name} for nothing else (not in a "
                                   f"branch of straight-line code, nor in a helper, nor in a loop that also reads "
                                   f"{name})")
        if len(node.args) != 1 or node.keywords:
            raise self.error(node, f"{name}.append takes one value")
        if any(isinstance(i, TupleVal) and i.ident is old.ident for v in self.env.values()
               if isinstance(v, CONTAINERS) for i in contents(v)):
            raise self.error(node, f"{name} is also an item of another container; appending to it there is not "
                                   "supported")
        new = dataclasses.replace(old, items=(*old.items, self.expr(node.args[0])))
        for key, value in list(self.env.items()):
            if isinstance(value, TupleVal) and value.ident is old.ident:
                self.env[key] = new

    def print_call(self, node) -> None:
        """``print("loss", loss)``: printed when the function runs (the forward sweep), never again."""
        if node.keywords:
            raise self.error(node, "print takes its values by position here (no sep=, end= or file=)")
        text, values = [], []
        for arg in node.args:
            value = self.argument(arg)
            if isinstance(value, PyObj) and isinstance(value.obj, str):
                text.append(value.obj)
            elif isinstance(value, (Var, Const)):
                text.append(None)
                values.append(value)
            else:
                raise self.error(arg, f"print can show numbers, arrays and strings, not {_describe(value)}")
        self.b.append(Eqn([], P.print_, values, {"text": tuple(text)}, self.src.loc(node)))

    def called_function(self, func_node) -> bool:
        """Does `func_node` name a Python function (inlined here), whose call may have effects?"""
        func = self.expr(func_node)
        return isinstance(func, PyObj) and (isinstance(func.obj, (types.FunctionType, CustomRule))
                                            or is_derivative(func.obj)) and not _is_numpy(func.obj)

    def statement_call(self, node) -> bool:
        """A call made for its effect, such as ``np.random.seed(0)``: lower it, True if it was one."""
        func = self.expr(node.func)
        if isinstance(func, BoundMethod) and func.prim in (FILL, SORT):
            self.writing_method(func, node)
            return True
        if isinstance(func, BoundMethod) and func.prim is SHUFFLE:
            self.call_value(func, [self.expr(a) for a in node.args], {k.arg: self.expr(k.value) for k in node.keywords},
                            node)
            return True
        if not (isinstance(func, PyObj) and _is_hashable(func.obj) and func.obj in P.NUMPY
                and P.NUMPY[func.obj].statement):
            return False
        self.call_primitive(P.NUMPY[func.obj], [self.expr(a) for a in node.args],
                            {k.arg: self.expr(k.value) for k in node.keywords}, node)
        return True

    def writing_method(self, method: BoundMethod, node) -> None:
        """``x.fill(v)`` or ``x.sort(...)`` called as a statement: a store into every element of
        x (``x[...] = v``, ``x[...] = np.sort(x, ...)``), through which every name and view
        sharing x's memory sees the change."""
        receiver, name = node.func.value, _described(node.func.value)
        if any(isinstance(n, gast.Call) for n in gast.walk(receiver)):
            raise self.error(node, f"{name}.{method.prim.name}(...): call it on a name or a view of one")
        x = method.receiver
        if x.type.ndim == 0:
            raise self.error(node, f"{name}.{method.prim.name}(...) on a 0-d array is not supported")
        args = [self.expr(a) for a in node.args]
        kwargs = {k.arg: self.expr(k.value) for k in node.keywords}
        if method.prim is FILL:
            if len(args) != 1 or kwargs or not isinstance(args[0], (Var, Const)) or args[0].type.is_array:
                raise self.error(node, f"{name}.fill takes one number")
            value = args[0]
        else:
            value = self.call_value(PyObj(np.sort), [x, *args], kwargs, node)
        whole = gast.copy_location(gast.Subscript(receiver, gast.Constant(Ellipsis, None), gast.Store()), receiver)
        self.store(whole, value, None)

    def stmt_Assign(self, node) -> None:
        if isinstance(node.value, gast.Call) and isinstance(node.value.func, gast.Name) \
                and node.value.func.id == "_s2sad_unset":  # (a list made again: its rows start from nothing)
            self.env[node.targets[0].id] = Undefined(node.lineno)
            return
        value = self.expr(node.value)
        for target in node.targets:
            self.assign(target, value)

    def stmt_AnnAssign(self, node) -> None:
        if node.value is None:
            return
        self.assign(node.target, self.expr(node.value))

    def stmt_AugAssign(self, node) -> None:
        if isinstance(node.target, gast.Subscript):
            self.aug_store(node)
            return
        if not isinstance(node.target, gast.Name):
            raise self.error(node, "augmented assignment is only supported on names and subscripts "
                                   "(x += ..., x[i] += ...), not on attributes")
        prim = self.binop_prim(node.op, node)
        target, value = self.name(node.target), self.value(node.value)
        target = self.current(target, node, node.target.id)  # (a call on the right may have written into it)
        if isinstance(target, Var) and target.type.is_array:
            self.update_in_place(node, node.target.id, target, prim, value)
            return
        if isinstance(target, Var) and id(target) in self.mem.numbers_in \
                and node.target.id not in copies_only(self.src.tree):
            self.mem.updated.add(self.mem.numbers_in[id(target)])
        self.assign(node.target, self.emit(prim, [target, value], node))

    def aug_store(self, node) -> None:
        """``x[i] op= value``. Python reads ``x[i]`` before it evaluates `value`: when a call there
        writes into x, an element keeps the value read before (a view reads x as it is after)."""
        calls = any(isinstance(n, gast.Call) for n in gast.walk(node.value))
        before = self.expr(node.target) if calls else None
        latest = {k: v for k, v in self.env.items() if isinstance(k, Latest)}
        value = self.value(node.value)
        written = calls and {k: v for k, v in self.env.items() if isinstance(k, Latest)} != latest
        if written and isinstance(before, (Var, Const)) and not before.type.is_array:
            self.store(node.target, self.emit(self.binop_prim(node.op, node), [before, value], node), None)
            return
        self.store(node.target, value, node.op)

    def update_in_place(self, node, name: str, target: Var, prim: P.Primitive, value: Atom) -> None:
        """``x op= value`` on an array: NumPy updates x's memory, which every name sharing it sees."""
        if prim is P.matmul:
            raise self.error(node, f"{name} @= ... is not supported; write {name} = {name} @ ...")
        if value.type.is_array:  # (NumPy refuses an update that would change x's shape)
            value = self.emit(P.fits_shape, [value, target], node, in_place=True)
        new = self.emit(prim, [target, value], node, name)
        if new.type != target.type:
            kind = "axes" if new.type.ndim != target.type.ndim else "dtype"
            raise self.error(node, f"'{name}' is {target.type}, but {name} {_OPS.get(prim, '?')}= ... gives "
                                   f"{new.type}: NumPy cannot store that result in place (it would change the "
                                   f"array's {kind}); write {name} = {name} {_OPS.get(prim, '?')} ... instead")
        self.write(target, new, node, name)

    def assign(self, target, value: Value) -> None:
        if isinstance(target, gast.Name):
            if isinstance(value, Var) and value.name == TEMP:
                value.name = _readable(target.id)  # a temporary takes the name it is first given
            if target.id in self.global_names:
                self.write_global(target, value)
                return
            self.env[target.id] = value
        elif isinstance(target, gast.Tuple):
            self.unpack(target, value)
        elif isinstance(target, gast.Subscript):
            if not isinstance(value, (Var, Const)):
                raise self.error(target, f"cannot store {_describe(value)} into an array")
            # (a view unpacked from a tuple reads its memory as it is now: `a[0], b[0] = b[0], a[0]` stores
            # into b[0] what a[0] holds after the first store, as NumPy does)
            self.store(target, self.current(value, target), None)
        else:
            raise self.error(target, f"cannot assign to {type(target).__name__}; assign to a name")

    def write_global(self, target: gast.Name, value: Value) -> None:
        if not isinstance(value, (Var, Const)):
            raise self.error(target, f"only numbers and arrays can be assigned to the global '{target.id}'")
        old = self.src.fn.__globals__.get(target.id)
        if type_of_value(old) != value.type and not (value.type.is_scalar and type_of_value(old) is not None
                                                       and type_of_value(old).is_scalar):
            raise self.error(target, f"the global '{target.id}' is {type_of_value(old)} but is assigned "
                                     f"{value.type}; keep its type")
        alias = self.namespace_alias()
        self.b.append(Eqn([], P.global_write, [value], {"name": target.id, "space": alias}, self.src.loc(target)))
        self.env[f"{target.id}@{alias}"] = value
        self.publish(value, f"{target.id}@{alias}", target.id, alias)

    def namespace_alias(self) -> str:
        """The name under which generated code reaches this function's module globals."""
        return self.space(id(self.src.fn.__globals__), self.src.fn.__module__ or "module",
                          lambda: _namespace_of(self.src.fn))

    def cells_alias(self) -> str:
        """The name under which generated code reaches this function's closure variables."""
        return self.space(("cells", id(self.src.fn)), self.src.fn.__name__ + "_closure",
                          lambda: _Cells(self.src.namespace))

    def space(self, key, base: str, namespace) -> str:
        """The alias of the namespace `key` (made by `namespace()` the first time): `base` made an
        identifier, numbered if another namespace has it."""
        if key not in self.spaces:
            base = re.sub(r"\W", "_", base.rsplit(".", 1)[-1]).strip("_") or "module"
            taken = {alias for alias, _ in self.spaces.values()}
            alias = next(f"{base}{k or ''}" for k in range(len(taken) + 1) if f"{base}{k or ''}" not in taken)
            self.spaces[key] = (alias, namespace())
        return self.spaces[key][0]

    def read_global(self, name: str, value, node, alias: str | None = None) -> Atom:
        """A module global (or, in the namespace `alias`, a closure variable) read at run time."""
        t = type_of_value(value)
        if t is None or t.kind == "rng":
            raise self.error(node, f"the global '{name}' is {type(value).__name__}; a differentiated function "
                                   "can read module numbers and arrays")
        alias = alias or self.namespace_alias()
        key = f"{name}@{alias}"  # the value this function last read or wrote
        if key not in self.env:
            self.env[key] = self.emit(P.global_read, [], node, name, name=name, space=alias, type=t)
            if t.is_array:
                self.mem.module[self.env[key]] = name
        return self.current(self.env[key], node, name)

    def store(self, target: gast.Subscript, value: Atom, op) -> None:
        """``x[idx] = value`` (or ``x[idx] op= value``): write into x's memory (which every name
        and view sharing it sees). `x` may be any expression giving an array (``x[i][j] = v``)."""
        name = _described(target.value)
        base = self.expr(target.value)
        if isinstance(base, CONTAINERS):
            self.container_store(target, base, value, op)
            return
        if not isinstance(base, Var) or not base.type.is_array:
            raise self.error(target, f"'{name}' is not an array; cannot store into it")
        spec, index = self.index(target.slice, base.type.ndim)
        view, spec, index = self.composed_index(base, tuple(spec), list(index))
        if self.store_index(view, spec, index, value, self.binop_prim(op, target) if op is not None else None,
                            target, name):
            return
        if op is not None:
            prim = self.binop_prim(op, target)
            if prim in _IN_PLACE:
                self.write(view, self.emit(_IN_PLACE[prim], [view, *index, value], target, name, spec=spec), target, name)
                return
            old = self.emit(P.getitem, [view, *index], target, spec=spec)
            value = self.emit(prim, [old, value], target)
        self.check_overlap(view, spec, index, value, target, name)
        self.write(view, self.emit(P.setitem, [view, *index, value], target, name, spec=spec), target, name)

    def composed_index(self, base: Var, spec: tuple, index: list) -> tuple[Var, tuple, list]:
        """A store into ``X[i][idx]`` as one into ``X[i, idx]`` when X[i] selects by integers: no row
        is copied out and written back."""
        step = self.mem.steps.get(base)
        while step is not None and step.prim is P.getitem and all(k == "i" for k in step.params["spec"]) \
                and self.mem.unsure(base) is None:
            base, spec, index = step.base, step.params["spec"] + spec, [*step.operands, *index]
            step = self.mem.steps.get(base)
        return base, spec, index

    def unpack(self, target: gast.Tuple, value: Value) -> None:
        if any(isinstance(elt, gast.Starred) for elt in target.elts):
            raise self.error(target, "unpacking into a starred name (a, *rest = ...) is not supported; unpack "
                                     "into one name per item, or index the value")
        if isinstance(value, (Var, Const)) and value.type.is_array:
            items = self.array_items(value, len(target.elts), target)
        else:
            items = self.as_items(value, target)
        if len(items) != len(target.elts):
            raise self.error(target, f"cannot unpack {len(items)} values into {len(target.elts)} names")
        for elt, item in zip(target.elts, items):
            self.assign(elt, item)

    def as_items(self, value: Value, node) -> list:
        """The elements of a tuple value (a Python tuple, or an IR tuple such as ``x.shape``), or
        of another container."""
        if isinstance(value, CONTAINERS):
            return list(self.iterated(value, node))
        if isinstance(value, (Var, Const)) and value.type.kind == "tuple":
            return [self.emit(P.getitem, [value, const(k)], node, spec=("i",)) for k in range(value.type.ndim)]
        if isinstance(value, (Var, Const)) and value.type.is_array:
            raise self.error(node, "cannot unpack an array here (its length is not known when the derivative "
                                   "is made); unpack it into names (a, b = v) or index it")
        raise self.error(node, f"cannot unpack {_describe(value)}")

    def array_items(self, x: Atom, n: int, node) -> list:
        """``a, b, c = x``: the `n` items of x's first axis (its rows are views, as NumPy's), after
        Python's check that x has that many (its ValueError when the derivative runs)."""
        self.emit(P.unpacked, [self.length([x], node), const(n)], node)
        return [self.emit(P.getitem, [x, const(k)], node, spec=("i",)) for k in range(n)]

    # --- loops ---------------------------------------------------------------------------------

    def stmt_For(self, node) -> None:
        if node.orelse:
            raise self.error(node, "for-else is not supported; use a flag")
        policy, iterable = self.checkpoint_marker(node.iter)
        if any(isinstance(self.env.get(name), CONTAINERS) for name in getattr(node, "sequences", ())):
            self.unroll_range(node, iterable, policy)  # (enumerate or zip of a container)
            return
        if policy is None and self.indexes_container(node, iterable):
            self.unroll_range(node, iterable, policy)  # (for k in range(len(layers)): ... layers[k] ...)
            return
        start, stop, step, array = self.iteration(iterable)
        if isinstance(array, CONTAINERS):
            self.unroll(node, array, policy)
            return
        unpacked = not isinstance(node.target, gast.Name)  # (for a, b in pairs: each row unpacked)
        if unpacked and (array is None or not isinstance(node.target, gast.Tuple)):
            raise self.error(node, "a loop variable that is a tuple needs enumerate(...), zip(...) or an array "
                                   "whose rows it unpacks (for a, b in pairs)")
        target = f"<row {id(node)}>" if unpacked else node.target.id

        def body(inner: "Lowering", index: Var) -> None:
            if array is not None:  # (a row of the array as it is now: the loop may write into it)
                inner.env[target] = inner.emit(P.getitem, [inner.current(array, node), index], node,
                                               "row" if unpacked else target, spec=("i",))
            else:
                inner.env[target] = index
            if unpacked:
                inner.unpack(node.target, inner.env[target])
            inner.lower_stmts(node.body)

        hint = re.sub(r"^_(\D+)\d*$", r"\1", target) if array is None else "k"  # (_k1, normalize's: k)
        iterated = f"<rows {id(node)}>"  # (the array iterated over refers to its memory, as a name would:
        if array is not None:             # a name bound to it in the loop does not own that memory)
            self.env[iterated] = array

        def first(unbound: bool) -> None:
            self.emit(P.entered, [self.emit(P.trip_count, [start, stop, step], node)], node, unbound=unbound)
            body(self, start)

        region = self.settled_region(node, body, {target}, hint, first)
        if node in self.peeled:
            start = self.emit(P.add, [start, step], node)
        self.env.pop(iterated, None)
        region.block.params = [region.index] + region.params
        outs = region.outs()
        self.b.append(ForRange(outs, start, stop, step, region.init, region.block, self.src.loc(node), policy))
        self.finish_loop(node, region, outs)

    def checkpoint_marker(self, node) -> tuple[Policy | None, object]:
        """(the policy, the iterable) of ``s2sad.checkpointed(iterable, snapshots=s | every=k)``;
        (None, node) for any other iterable."""
        if not (isinstance(node, gast.Call) and isinstance(self.expr(node.func), PyObj)
                and self.expr(node.func).obj is checkpointed):
            return None, node
        if len(node.args) != 1 or any(k.arg not in ("snapshots", "every") for k in node.keywords):
            raise self.error(node, "s2sad.checkpointed takes the loop's iterable and snapshots=s or every=k")
        counts = {}
        for keyword in node.keywords:
            count = self.value(keyword.value)
            if not isinstance(count, Const):
                raise self.error(keyword.value, f"{keyword.arg}= of s2sad.checkpointed must be a number known "
                                                "when the function is compiled (a literal or a global)")
            counts[keyword.arg] = count.value
        try:
            return marker_policy(**counts), node.args[0]
        except S2SADError as exc:
            raise self.error(node, str(exc)) from None

    def iteration(self, node) -> tuple[Atom, Atom, Atom, Value | None]:
        """(start, stop, step, array) of a ``for``: over ``range(...)`` or an array's first axis
        (or (None, None, None, the container) for a loop over a container, which is unrolled)."""
        if self.is_range(node):
            return (*self.range_bounds(node), None)
        array = self.expr(node)
        if isinstance(array, ListArray):
            array = array.rows
        if isinstance(array, CONTAINERS):
            return None, None, None, array
        if not isinstance(array, (Var, Const)) or not array.type.is_array:
            raise self.error(node, "a for loop iterates over range(...), over an array's first axis, or over a "
                                   "container (a tuple, a list, a dict)")
        n = self.emit(P.getitem, [self.emit(P.shape, [array], node), const(0)], node, spec=("i",))
        return const(0), n, const(1), array

    def is_range(self, node) -> bool:
        return isinstance(node, gast.Call) and isinstance(self.expr(node.func), PyObj) \
            and self.expr(node.func).obj is range

    def range_bounds(self, node) -> tuple[Atom, Atom, Atom]:
        """(start, stop, step) of a ``range(...)`` call."""
        if node.keywords or not 1 <= len(node.args) <= 3:
            raise self.error(node, "range takes one to three positional arguments")
        bounds = [self.value(a) for a in node.args]
        for b_, a in zip(bounds, node.args):
            if b_.type.kind != "i64":
                raise self.error(a, f"range needs integers, got {b_.type}")
        start, stop, step = ([const(0)] + bounds + [const(1)])[:3] if len(bounds) == 1 else \
            (bounds + [const(1)])[:3]
        if isinstance(step, Const) and step.value == 0:
            raise self.error(node, "range step must not be zero")
        return start, stop, step

    def stmt_While(self, node) -> None:
        if node.orelse:
            raise self.error(node, "while-else is not supported; use a flag")

        def first(unbound: bool) -> None:
            self.emit(P.entered, [self.condition(node.test)], node, unbound=unbound)
            self.lower_stmts(node.body)

        region = self.settled_region(node, lambda inner, _: inner.lower_stmts(node.body), set(), "i", first)
        cond_holder = {}

        def cond(inner: "Lowering", _index) -> None:
            cond_holder["c"] = inner.condition(node.test)

        test = self.loop_region(node, cond, exclude=set(), fixed=region)
        test.block.results = [cond_holder["c"]]
        test.block.params = test.params
        region.block.params = region.params
        outs = region.outs()
        self.b.append(While(outs, region.init, test.block, region.block, self.src.loc(node)))
        self.finish_loop(node, region, outs)

    def settled_region(self, node, lower_body, exclude: set[str], index_hint: str, first) -> "LoopRegion":
        """`loop_region`, or, when the first iteration changes the type of a value the loop carries
        (``total = 0.0`` that the body makes an array), the loop region of the iterations after it,
        the first lowered before the loop by `first` (which checks at run time that the loop runs
        it: NO_ITERATION otherwise, as the value would keep its first type). Likewise when a name
        that only the loop assigns is read after it (`peel`): the first iteration binds it before
        the loop, so that the loop carries it out (NO_ITERATION_UNBOUND when the loop runs none, as
        Python would find the name unbound)."""
        if self.loop_key(node) in self.peel:
            self.peeled.add(node)
            first(True)
            return self.loop_region(node, lower_body, exclude, index_hint)
        try:
            return self.loop_region(node, lower_body, exclude, index_hint)
        except _Retyped as retyped:
            if retyped.node is not node:
                raise retyped.error from None
            self.peeled.add(node)
            first(False)
            return self.loop_region(node, lower_body, exclude, index_hint)

    def loop_key(self, node) -> tuple:
        """What identifies a loop from one lowering of the function to the next."""
        return self.src.filename, self.src.first_line, node.lineno, node.col_offset

    def loop_region(self, node, lower_body, exclude: set[str], index_hint: str = "i",
                    fixed: "LoopRegion | None" = None) -> "LoopRegion":
        """Lower a loop region until what it carries settles: the names it rebinds and the arrays it
        writes into (found by lowering it, so that a write through a view or in a helper counts),
        their types (an int that becomes a float is carried as a float), and which carried arrays
        may share memory with others (see memory.py). `fixed` lowers a while loop's condition with
        its body's carried values, once."""
        carried = fixed.carried if fixed else self.rebound(node, exclude)
        types = dict(fixed.types) if fixed else {k: self.entry_type(k) for k in carried}
        sources: dict = dict(fixed.sources) if fixed else {}
        whole: dict = dict(fixed.whole) if fixed else {}
        loop_mark = _mark()
        for _ in range(2 * len(carried) + 8):
            region, inner, found = self.lower_region(node, lower_body, exclude, index_hint,
                                                     LoopRegion(carried, types, sources, Var(index_hint, I64), [],
                                                                whole=whole))
            if fixed:
                if found != [k for k in carried if k == RESULT]:
                    raise self.error(node, "the condition of a while loop may not assign names or write into "
                                           "arrays; do it in the loop's body")
                region.block = inner.b.block((), [])
                return region
            for k in found:
                if isinstance(k, str) and "@" in k and k not in self.env:
                    self.read_state(k, node)  # (assigned in the loop by a helper: its value before it)
            results = [inner.yielded(k, region.entry, node) for k in found]
            settled = self.settle_types(node, found, [types.get(k) or self.entry_type(k) for k in found], results)
            not_own = [(k, r) for k, r in zip(found, results) if not self.own_memory(k, r, inner)]
            same = {k: storage for k, r in not_own if (storage := self.whole_storage(k, r, region)) is not None}
            shared = {k: self.shared_sources(k, r, loop_mark) for k, r in not_own if k not in same}
            if found == carried and settled == [types[k] for k in carried] and shared == sources and same == whole:
                break
            carried, types, sources, whole = found, dict(zip(found, settled)), shared, same
        else:
            raise AssertionError("the values a loop carries did not settle")
        for k, r, param in zip(carried, results, region.params):  # (an appended array carried to the next iteration)
            if isinstance(r, Var) and self.mem.storage_of(r) in self.mem.appended \
                    and Latest(self.mem.storage_of(param)) in inner.env:
                raise self.error(node, f"'{_key_hint(k)}' is appended to a list, then written into at the next "
                                       f"iteration: the list holds the array itself; append a copy (.copy())")
        region.block = inner.b.block((), [self.convert(r, types[k], inner.b) for k, r in zip(carried, results)])
        region.init = [self.convert(self.entry_value(k, node, types[k]), types[k], self.b) for k in carried]
        region.local = [k for k in inner.env if isinstance(k, str) and k not in self.env and "@" not in k] + \
            [k for k in exclude if k not in carried]
        region.results = results
        return region

    def lower_region(self, node, lower_body, exclude: set[str], index_hint: str,
                     region: "LoopRegion") -> tuple["LoopRegion", "Lowering", list]:
        """One attempt: lower the region with `region`'s carried values as its parameters; (the
        region, its lowering, what it changed: the carried keys first, then any others)."""
        mark = _mark()  # values made from here on belong to this attempt
        region.params = [Var(_key_hint(k), region.types[k]) for k in region.carried]
        for k, p in zip(region.carried, region.params):  # (a number parameter carried: the loop may update it)
            self.may_be_number_parameter(p, [_lookup(self.env, k)])
        region.entry = {**self.env, **dict(zip(region.carried, region.params))}
        self.describe_params(region, region.entry, node)
        inner = self.nested(Builder(self.b.loc), dict(region.entry))
        inner.iteration_mark = mark
        lower_body(inner, region.index)
        found = [k for k in inner.changed(region.entry, mark) if k not in exclude]
        return region, inner, [k for k in region.carried if k in found or k == RESULT] + \
            [k for k in found if k not in region.carried]

    def rebound(self, node, exclude: set[str]) -> list:
        """A first guess at what a loop carries: the names its body assigns that exist before it,
        and the memory of the arrays it writes into by name (the function's result is carried even
        before it has a value: it is typed by the body)."""
        carried = []
        for n, written in _assigned_names(node.body).items():
            value = self.env.get(n)
            if n in exclude:
                continue
            if n in self.global_names:  # (a global the loop assigns: read before it, carried through it)
                self.read_global(n, self.src.fn.__globals__[n], node)
                carried.append(self.state_key(n))
            elif _typed_by_body(n) and not isinstance(value, (Var, Const)):
                self.env[n] = Undefined(node.lineno)  # typed by the loop body (a list's rows: see normalize.py)
                carried.append(n)
            elif written and isinstance(value, CONTAINERS):
                continue  # (params['W'] += g writes into an array: found by lowering the body)
            elif written and isinstance(value, Var) and value.type.is_array and self.mem.unsure(value) is None:
                key = Latest(self.mem.storage_of(value))  # (x[i] = v, x += v: x's memory changes)
                carried += [key] if key not in carried else []
            elif isinstance(value, (Var, Const)):
                carried.append(n)
            elif value is not None and not isinstance(value, Undefined):
                raise self.error(node, f"'{n}' is {_describe(value)} and is reassigned in the loop; "
                                       "only numbers and arrays can change in a loop")
        return carried

    def entry_type(self, key) -> Type:
        value = self.env.get(key, key.storage if isinstance(key, Latest) else None)
        return value.type if isinstance(value, (Var, Const)) else F64

    def entry_value(self, key, node, settled: Type | None = None) -> Atom:
        """A carried value as the loop starts (a placeholder, of the type the loop settled on, for
        one the body types: the result, a list's rows)."""
        if isinstance(key, Latest):
            return self.latest(key.storage)
        value = self.env[key]
        if isinstance(value, Undefined):
            return placeholder(settled or self.entry_type(key), self.b)
        if not isinstance(value, (Var, Const)):
            raise self.error(node, f"'{key}' is {_describe(value)} and is reassigned in the loop; "
                                   "only numbers and arrays can change in a loop")
        return self.current(value, node, key)

    def changed(self, entry: dict, mark: int) -> list:
        """The keys of `entry` whose values this region changed, in the order it did: names
        rebound, and storages from before the region written into."""
        found = []
        for key, value in self.env.items():
            if isinstance(key, Latest):
                if key.storage.id >= mark:
                    continue  # memory the region made itself
                before = entry.get(key, key.storage)
            elif key not in entry:
                if not self.assigns_state(key):
                    continue  # bound only in the region (a global it only reads is read in it)
                before = None  # (a global a helper assigns in the region, not read before: carried)
            else:
                before = entry[key]
            if not _same(value, before):
                found.append(key)
        return found

    def assigns_state(self, key) -> bool:
        """Is `key` the state key (``name@space``) of a global this region assigns?"""
        if not (isinstance(key, str) and "@" in key):
            return False
        name, space = key.split("@")
        return any(isinstance(e, Eqn) and e.prim is P.global_write and e.params["name"] == name
                   and e.params["space"] == space for e in walk(Block([], self.b.stmts, [])))

    def read_state(self, key: str, node) -> Atom:
        """Read, at run time, the global of state key `key` (its value before a region that
        assigns it)."""
        name, space = key.split("@")
        namespace = next(ns for alias, ns in self.spaces.values() if alias == space)
        return self.read_global(name, getattr(namespace, name), node, space)

    def yielded(self, key, entry: dict, node):
        """What a region yields for a carried key: the value of a name as it reads now, or a
        storage's latest value."""
        if isinstance(key, Latest):
            return self.latest(key.storage)
        value = self.env.get(key)
        if key == RESULT and not isinstance(value, (Var, Const)):
            return entry[key]
        return self.current(value, node, key) if isinstance(value, (Var, Const)) else value

    def own_memory(self, key, result, inner: "Lowering") -> bool:
        """Is a carried name's value an array of its own both as the loop starts and after an
        iteration (so that its loop parameter is new memory, not a view of another array)?"""
        if isinstance(key, Latest) or not (isinstance(result, Var) and result.type.is_array):
            return True
        start = self.env.get(key)
        start_ok = not isinstance(start, Var) or self.sole(self.current(start), key, [self.env, *self.outer])
        return start_ok and inner.sole(result, key, [inner.env, *self.outer])

    def whole_storage(self, key, result, region: "LoopRegion") -> Var | None:
        """The array from before a loop that a carried name refers to, whole, both as the loop
        starts and after an iteration (``x, v = step(x, v)``, a step that updates its arguments
        in place and returns them): the name is then that array all along, not a value that may
        or may not share its memory. (While the loop is lowered the first time, its parameter
        stands for the array.)"""
        start = self.env.get(key)
        whole = [v for v in (start, result) if isinstance(v, Var) and v.type.is_array
                 and self.mem.unsure(v) is None and not self.mem.chain(v)[1]]
        if len(whole) < 2 or key not in region.carried:
            return None
        storage = self.mem.storage_of(self.current(start))
        param = region.params[region.carried.index(key)]
        return storage if self.mem.storage_of(result) in (storage, self.mem.storage_of(param)) else None

    def shared_sources(self, key, result, mark: int) -> set:
        """The storages from before a loop (made before `mark`) that a carried name may look into."""
        start = self.env.get(key)
        storages = self.mem.storages(start) | self.mem.storages(result)
        return {s for s in storages if s.id < mark}

    def describe_params(self, region: "LoopRegion", entry: dict, node) -> None:
        """Record the memory of a loop's parameters: a storage's latest value, an array of its own,
        or (for a name that may share memory with others) an ambiguous value."""
        for key, param in zip(region.carried, region.params):
            if isinstance(key, Latest):
                self.mem.storage[param] = key.storage
            elif key in region.whole:
                self.mem.storage[param] = region.whole[key]
            elif key in region.sources:
                self.mem.ambiguous[param] = Ambiguous({s: entry.get(Latest(s), s) for s in region.sources[key]},
                                                      self.src.loc(node))

    def finish_loop(self, node, region: "LoopRegion", outs: list[Var]) -> None:
        for key, out, result in zip(region.carried, outs, region.results):
            self.env[key] = out
            if isinstance(result, Var) and self.mem.storage_of(result) in self.mem.appended:
                self.mem.appended.add(out)  # (the last item appended, still named after the loop)
            if isinstance(key, Latest):
                self.mem.storage[out] = key.storage
            elif key in region.whole:
                self.mem.storage[out] = region.whole[key]
        for key, out in zip(region.carried, outs):
            if key in region.sources:
                self.mem.ambiguous[out] = Ambiguous({s: self.latest(s) for s in region.sources[key]},
                                                    self.src.loc(node))
        for name in region.local:
            self.env[name] = Undefined(node.lineno, "is assigned only inside the loop", "assign it before the loop",
                                       self.loop_key(node))

    def settle_types(self, node, names: list, types: list[Type], results: list) -> list[Type]:
        settled = []
        for name, t, r in zip(names, types, results):
            if isinstance(r, Undefined) or r is None:
                raise self.error(node, f"'{_key_hint(name)}' may be unbound at the end of the loop body")
            if not isinstance(r, (Var, Const)):
                raise self.error(node, f"'{_key_hint(name)}' is {_describe(r)} at the end of the loop body; only "
                                       "numbers and arrays can change in a loop")
            if r.type == t:
                settled.append(t)
            elif _typed_by_body(name) and (isinstance(self.env.get(name), Undefined) or _rows_guessed(name, t)):
                settled.append(r.type)
            elif t.is_scalar and r.type.is_scalar:
                settled.append(promote(t, r.type))
            else:
                when = ("after the loop's first iteration", "after its second") if node in self.peeled else \
                    ("before the loop", "after one iteration")
                error = self.error(node, f"'{_key_hint(name)}' is {t} {when[0]} and {r.type} {when[1]}; keep its "
                                         "type and number of axes the same")
                raise error if node in self.peeled else _Retyped(node, error)
        return settled

    def stmt_Assert(self, node) -> None:
        """``assert ok, message``: AssertionError where ok is false, as Python raises it."""
        ok = self.condition(node.test)
        if isinstance(ok, Const) and ok.value:
            return
        failed = const(True) if isinstance(ok, Const) else self.emit(P.not_, [ok], node)
        self.emit(P.raise_if, [failed], node, exception="AssertionError", message=self.message(node.msg))

    def raise_when(self, cond: Atom, node) -> None:
        """``if cond: raise Error(message)``, an error of Python's own with at most a message."""
        exc, given = node.exc, []
        if isinstance(exc, gast.Call):
            exc, given = exc.func, exc.args
            if node.exc.keywords or len(given) > 1:
                raise self.error(node, "raise takes an exception with at most one message here")
        kind = self.src.resolve(exc.id) if isinstance(exc, gast.Name) else None
        if node.cause is not None or kind not in _RAISED:
            raise self.error(node, f"raise is supported with one of Python's errors "
                                   f"({', '.join(sorted(e.__name__ for e in _RAISED))}) and a message")
        with self.b.at(self.src.loc(node)):  # (located at the raise, not at its if)
            self.emit(P.raise_if, [cond], node, exception=kind.__name__,
                      message=self.message(given[0]) if given else None)

    def message(self, node) -> str | None:
        """An error's message: a literal string as it is; the source of any other expression (its
        value is not computed)."""
        if node is None:
            return None
        if isinstance(node, gast.Constant) and isinstance(node.value, str):
            return node.value
        return ast.unparse(gast.gast_to_ast(node))

    def stmt_If(self, node) -> None:
        cond = self.condition(node.test)
        if len(node.body) == 1 and isinstance(node.body[0], gast.Raise) and not node.orelse:
            if not (isinstance(cond, Const) and not cond.value):
                self.raise_when(cond, node.body[0])
            return
        if isinstance(cond, Const):
            self.lower_stmts(node.body if cond.value else node.orelse)
            return
        mark = _mark()
        then, orelse = self.branch(node.body), self.branch(node.orelse)
        self.join(node, cond, then, orelse, mark)

    def branch(self, stmts: list) -> "Lowering":
        inner = self.nested(Builder(self.b.loc), dict(self.env))
        inner.lower_stmts(stmts)
        return inner

    def nested(self, builder: Builder, env: dict) -> "Lowering":
        """A lowering of a region (a branch, a loop body) sharing this one's memory records."""
        inner = Lowering(self.src, builder, env, self.stack, self.mem, self.spaces, self.global_names,
                         dict(self.remade), self.outer, self.assumed, self.forced, self.frame, self.peel)
        inner.iteration_mark = self.iteration_mark
        return inner

    def join(self, node, cond: Atom, then: "Lowering", orelse: "Lowering", mark: int) -> None:
        """Merge two branches into an `If`: names rebound and arrays written into in either branch
        become its results (memory made inside a branch is seen, after it, only through names)."""
        before = self.env
        changed = [k for k in {**then.env, **orelse.env}
                   if not (isinstance(k, Latest) and k.storage.id >= mark)
                   and (_lookup(then.env, k) is not _lookup(before, k) or _lookup(orelse.env, k) is not _lookup(before, k))]
        outs, then_res, else_res, again, unsure = [], [], [], {}, {}
        for key in changed:
            a, b = then.joined(key), orelse.joined(key)
            if key == RESULT:
                a, b = self.fill_result(a, then.b, b), self.fill_result(b, orelse.b, a)
            if (a is None or b is None) and _is_state(key):
                if not (then.assigns_state(key) or orelse.assigns_state(key)):
                    self.env.pop(key, None)  # (a global only read in one branch: read it again when needed)
                    continue
                before_if = self.read_state(key, node)  # (assigned in one branch, unread before: its value before)
                a, b = (before_if if a is None else a), (before_if if b is None else b)
            if a is None or b is None or isinstance(a, Undefined) or isinstance(b, Undefined):
                self.env[key] = Undefined(node.lineno)
                continue
            if not isinstance(key, Latest) and self.same_view(a, b, mark) is not None:
                again[key] = (self.mem.storage_of(a), self.same_view(a, b, mark))  # (made again after the if)
                continue
            sources = [a, b]
            a, b = self.unify(node, _key_hint(key), (a, then.b), (b, orelse.b), _typed_by_body(key) and key != RESULT)
            out = Var(_key_hint(key), a.type)
            self.may_be_number_parameter(out, sources)
            outs.append(out)
            then_res.append(a)
            else_res.append(b)
            self.env[key] = out
            if isinstance(key, Latest):
                self.mem.storage[out] = key.storage
            elif not (then.sole(a, key, [then.env, *self.outer]) and orelse.sole(b, key, [orelse.env, *self.outer])):
                unsure[out] = [a, b]
        self.b.append(If(outs, cond, then.b.block((), then_res), orelse.b.block((), else_res), self.src.loc(node)))
        for out, values in unsure.items():
            self.ambiguous(out, values, self.src.loc(node), mark)
        for key, (storage, steps) in again.items():
            self.env[key] = self.view_again(storage, steps, node, key)

    def may_be_number_parameter(self, v: Var, sources: list) -> None:
        """Have `v` (a branch's or a loop's merge of `sources`) taken as a number parameter when one
        of them is (or may be) one: ``y += 1`` on it may be NumPy's update of the caller's 0-d
        array on one path (see `stmt_AugAssign`)."""
        for source in sources:
            if isinstance(source, Var) and id(source) in self.mem.numbers_in:
                self.mem.numbers_in[id(v)] = self.mem.numbers_in[id(source)]
                return

    def joined(self, key):
        """What a branch gives for a key at its end: a name's value as it reads now, a storage's
        latest value."""
        if isinstance(key, Latest):
            return self.latest(key.storage)
        return self.current(self.env.get(key), None, key)

    @staticmethod
    def fill_result(value, builder: Builder, other):
        """The function's result is unset on paths that have not returned: use a placeholder."""
        if isinstance(value, (Var, Const)) or not isinstance(other, (Var, Const)):
            return value
        return placeholder(other.type, builder)

    def unify(self, node, name: str, then: tuple, orelse: tuple, guessed: bool = False) -> tuple[Atom, Atom]:
        """Make a name's values from two branches the same type (an int and a float → floats).
        A `guessed` one (a list's rows, typed by its loop's body) takes the type of its rows."""
        (a, ab), (b, bb) = then, orelse
        for v in (a, b):
            if not isinstance(v, (Var, Const)):
                raise self.error(node, f"'{name}' is bound to {_describe(v)} in a branch; only numbers "
                                       "and arrays can be assigned in an if")
        if a.type == b.type:
            return a, b
        if guessed:  # (the loop is lowered again with the rows' type)
            rows = a.type if a.type.ndim > b.type.ndim else b.type
            return tuple(v if v.type == rows else placeholder(rows, builder) for v, builder in ((a, ab), (b, bb)))
        if name == RESULT and NONE in (a.type, b.type):
            raise self.error(node, f"{self.src.fn.__name__} returns a value on some paths and nothing (None) on "
                                   "others; return a value on every path")
        if not (a.type.is_scalar and b.type.is_scalar) or NONE in (a.type, b.type):
            raise self.error(node, f"'{name}' is {a.type} in one branch and {b.type} in the other; "
                                   "give it the same type in both")
        target = promote(a.type, b.type)
        return self.convert(a, target, ab), self.convert(b, target, bb)

    def convert(self, atom: Atom, target: Type, builder: Builder) -> Atom:
        if atom.type == target:
            return atom
        if atom.type == BOOL:  # (a condition that meets a number: and/or's value; Numba's float() takes no bool)
            one, zero = (const(1), const(0)) if target.kind == "i64" else (const(1.0), const(0.0))
            return builder.emit(P.select, [atom, one, zero], getattr(atom, "name", TEMP))
        return builder.emit(P.to_float, [atom], getattr(atom, "name", TEMP))

    # --- expressions ------------------------------------------------------------------------

    def expr(self, node) -> Value:
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            reason = _REFUSED_EXPRS.get(type(node), f"{type(node).__name__} expressions are not supported")
            if isinstance(node, gast.ListComp) and isinstance(node.elt, gast.ListComp):
                reason = ("a list comprehension whose items are lists is not supported; make each item an array "
                          "(np.array([...]) around the inner comprehension)")
            raise self.error(node, reason)
        with self.b.at(self.src.loc(node) if hasattr(node, "lineno") else None):
            return method(node)

    def value(self, node) -> Atom:
        """An expression that must be a number or an array."""
        return self.atom_of(self.expr(node), node)

    def atom_of(self, v: Value, node) -> Atom:
        if not isinstance(v, (Var, Const)):
            raise self.error(node, f"{_described(node)} is {_describe(v)}: expected a number or an array here")
        return v

    def emit(self, prim: P.Primitive, ins: list, node, hint: str = TEMP, python_ints: bool = True, **params) -> Atom:
        """Emit ``prim(*ins; params)`` and record whether NumPy's result is a view or new memory.
        A division of Python's integers by 0 raises Python's ZeroDivisionError; of NumPy's (an
        array's element, integer arrays, or a NumPy function's operands: not `python_ints`) it
        gives NumPy's result and warning."""
        python_ints = python_ints and not any(isinstance(a, Var) and a in self.mem.numpy_ints for a in ins)
        ins = [a if isinstance(a, (Var, Const)) else const(a) for a in ins]  # (as the builder takes them)
        if prim in (P.sub, P.neg) and all(a.type.element.kind == "bool" for a in ins) \
                and any(a.type.is_array for a in ins):
            what, instead = ("a - b (subtract)", "^ or np.logical_xor") if prim is P.sub else \
                ("-a (negative)", "~ or np.logical_not")
            raise self.error(node, f"NumPy raises TypeError for {what} of boolean arrays; use {instead}, "
                                   "or .astype(int) first")
        numeric = all(a.type.element.kind in ("f64", "i64", "bool") for a in ins)
        kind = promote(*(a.type for a in ins)).element.kind if prim is P.clip and numeric else None
        if kind is not None and ins[0].type.is_array and ins[0].type.element.kind != kind:
            # (np.clip(m, 0, 1) of booleans gives integers, of integers with float bounds floats; Numba's keeps
            # the array's dtype)
            ins = [self.emit(P.astype, [ins[0]], node, dtype=kind), *ins[1:]]
        if prim in _DIVISIONS and all(a.type.element.kind in ("i64", "bool") for a in ins) \
                and not (isinstance(ins[1], Const) and ins[1].value != 0):
            if python_ints and not any(a.type.is_array for a in ins):
                self.emit(P.int_divisor, [ins[1]], node)  # (Python's ZeroDivisionError; compiled code gives 0 or inf)
            else:
                ins = [ins[0], self.emit(P.numpy_divisor, [ins[1]], node, ufunc=_DIVISIONS[prim])]
        if prim is P.pow and ins[0].type.is_array and ins[0].type.element.kind == "f64" and \
                isinstance(ins[1], Const) and ins[1].value == 0.5:
            return self.emit(P.sqrt, ins[:1], node, hint)  # (NumPy's power of a float array by 0.5: NaN at -inf)
        if prim is P.pow and all(isinstance(a, Const) and type(a.value) is int for a in ins) and ins[1].value < 0:
            return const(ins[0].value ** ins[1].value)  # (2 ** -1: Python's float)
        if prim is P.pow and all(a.type.element.kind in ("i64", "bool") for a in ins):
            if any(a.type.is_array for a in ins):
                if not (isinstance(ins[1], Const) and ins[1].value >= 0):
                    self.emit(P.int_exponent, [ins[1]], node)  # (NumPy's ValueError for a negative exponent)
            elif not (isinstance(ins[1], Const) and ins[1].value in (0, 1)):
                self.emit(P.int_power, ins, node)  # (Python's float, or int past int64: refused where it happens)
        made = len(self.b.stmts)
        try:
            out = self.b.emit(prim, ins, hint, **params)
        except TypeError as exc:
            types_ = ", ".join(str(a.type) for a in ins)
            raise self.error(node, f"{prim.name} cannot take ({types_}): {exc}") from None
        except Exception:
            if any(a.type == NONE for a in ins):
                raise self.error(node, f"a value here is None, and {prim.name} cannot take None "
                                       "(test it first: if scale is None: ...)") from None
            raise
        if isinstance(out, Var) and out.type.kind == "i64" and \
                (prim is P.getitem and ins[0].type.is_array or not python_ints and prim in _NUMPY_INT_ARITHMETIC):
            self.mem.numpy_ints.add(out)
        if len(self.b.stmts) > made and self.b.stmts[-1].outs == [out]:
            self.register(prim, self.b.stmts[-1].ins, out, params)
        elif isinstance(out, Var) and out.type.is_array and not self.mem.is_view(prim, ins, out):
            out = self.emit(P.copy, [out], node, hint)  # NumPy's x * 1.0 is a new array, not x
        return out

    def expr_Constant(self, node) -> Value:
        if isinstance(node.value, (bool, numbers.Number)) or node.value is None:
            if isinstance(node.value, complex):
                raise self.error(node, "complex numbers are not supported")
            return const(node.value)
        raise self.error(node, f"{type(node.value).__name__} constants are not supported; "
                               "only numbers, True/False and None")

    def expr_Name(self, node) -> Value:
        return self.name(node)

    def name(self, node: gast.Name) -> Value:
        name = node.id
        if name in self.env:
            value = self.env[name]
            if isinstance(value, Undefined):
                error = self.error(node, f"'{name}' {value.why} at line "
                                         f"{self.src.first_line + value.lineno - 1}; {value.fix}")
                raise error if value.loop is None or value.loop in self.peel else _Unbound(value.loop, error)
            return self.current(value, node, name)
        try:
            obj, assumption = self.src.lookup(name)
        except KeyError:
            raise self.error(node, f"name '{name}' is not defined") from None
        module = assumption is not None and assumption.container is self.src.fn.__globals__
        if module and self.state_key(name) in self.env:  # (read or written earlier in this call)
            return self.current(self.env[self.state_key(name)], node, name)
        if module and (name in self.global_names or isinstance(obj, np.ndarray)
                       or (id(self.src.fn.__globals__), name) in self.forced):
            self.assume(Assumption(assumption.container, name, obj, kind_only=True))
            return self.read_global(name, obj, node)
        cell = assumption is not None and not module
        if cell and (isinstance(obj, np.ndarray) or (id(assumption.container), name) in self.forced):
            self.assume(Assumption(assumption.container, name, obj, kind_only=True))
            return self.read_global(name, obj, node, self.cells_alias())  # (read at every call)
        value = self.outside(obj, name, node)
        if assumption is not None and not isinstance(obj, types.ModuleType):
            self.assume(assumption)
        return value

    @staticmethod
    def mark() -> int:
        """An id that no value made so far has, and every value made later exceeds."""
        return _mark()

    def state_key(self, name: str) -> str | None:
        """The environment key of this module's global `name` (None before any global is read)."""
        space = self.spaces.get(id(self.src.fn.__globals__))
        return f"{name}@{space[0]}" if space else None

    def assume(self, assumption: Assumption) -> None:
        """Record that the derivative relies on `assumption` (checked at every call)."""
        self.assumed[(id(assumption.container), assumption.name)] = assumption

    def outside(self, obj, name: str, node) -> Value:
        """A value for a name bound outside the function (a global, a closure cell, a builtin)."""
        if obj is None:
            return const(None)
        if isinstance(obj, (bool, np.bool_, numbers.Integral, numbers.Real)) and not isinstance(obj, complex):
            return const(obj.item() if isinstance(obj, np.generic) else obj)
        if obj is range or obj is bool or isinstance(obj, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, np.ufunc,
                                            CustomRule)) or is_derivative(obj) \
                or callable(obj) and (_is_numpy(obj) or _is_hashable(obj) and obj in P.NUMPY) \
                or makes_container(obj) or obj is functools.partial:
            return PyObj(obj)
        if numbers_of(obj) is not None:  # (WEIGHTS = (0.2, 0.3), CONFIG = {"dt": 0.01}: constants, checked at every call)
            return constant_container(obj)
        if isinstance(obj, np.ndarray):
            raise self.error(node, f"'{name}' is an array from outside the function that is not a module "
                                   "global (a closure variable or an attribute); pass it as an argument")
        raise self.error(node, f"'{name}' refers to {type(obj).__name__} {obj!r:.60}, which a "
                               "differentiated function cannot use; pass numbers or arrays as arguments")

    def expr_Attribute(self, node) -> Value:
        base = self.expr(node.value)
        if isinstance(base, PyObj):
            if not hasattr(base.obj, node.attr):
                raise self.error(node, f"{_qualname(base.obj)} has no attribute '{node.attr}'")
            value = getattr(base.obj, node.attr)
            if isinstance(base.obj, types.ModuleType) and not _is_library(base.obj):
                note_read(base.obj, "attr", node.attr, value, base.obj.__dict__)
                if isinstance(value, np.ndarray):  # (config.W: read at every call, as the module's own code would)
                    module = base.obj
                    self.assume(Assumption(module.__dict__, node.attr, value, kind_only=True))
                    return self.read_global(node.attr, value, node,
                                            self.space(id(module.__dict__), module.__name__, lambda: module))
                self.assume(Assumption(base.obj.__dict__, node.attr, value))  # (config.N: a module of the user's)
            return self.outside(value, f"{_qualname(base.obj)}.{node.attr}", node)
        if isinstance(base, (Var, Const)):
            return self.array_attribute(base, node)
        if isinstance(base, CONTAINERS):
            return self.container_attribute(base, node)
        raise self.error(node, f"cannot read .{node.attr} of {_describe(base)}")

    def array_attribute(self, base: Atom, node) -> Value:
        attr = node.attr
        if attr == "ndim":
            return const(base.type.ndim if base.type.is_array else 0)
        if attr == "shape":
            return self.emit(P.shape, [base], node) if base.type.is_array else const(())
        if attr == "size":
            return self.emit(P.size, [base], node) if base.type.is_array else const(1)
        if attr == "T":
            return self.emit(P.transpose, [base], node, TEMP) if base.type.is_array and base.type.ndim > 1 else base
        if base.type.kind == "rng":
            if attr == "shuffle":
                return BoundMethod(SHUFFLE, base)
            if attr not in P.GENERATOR_METHODS:
                raise self.error(node, f"Generator.{attr} is not supported; supported: "
                                       f"{', '.join(sorted([*P.GENERATOR_METHODS, 'shuffle']))}")
            return BoundMethod(P.GENERATOR_METHODS[attr], base)
        if attr in METHODS:
            return BoundMethod(METHODS[attr], base)
        if attr in AS_FUNCTIONS:
            return PartialVal(PyObj(AS_FUNCTIONS[attr]), (base,), {})
        if attr in WRITING_METHODS:
            return BoundMethod(WRITING_METHODS[attr], base)
        if attr == "item":
            return BoundMethod(ITEM, base)
        raise self.error(node, f"attribute .{attr} is not supported; supported: .shape, .ndim, .size, .T "
                               f"and the methods {', '.join(sorted([*METHODS, *AS_FUNCTIONS, *WRITING_METHODS, 'item']))}")

    def expr_BinOp(self, node) -> Atom:
        prim = self.binop_prim(node.op, node)
        left = self.expr(node.left)
        right = self.expr(node.right)  # (a call here may write into the array `left` names)
        left, right = (self.beside_array(a, b, node) for a, b in ((left, right), (right, left)))
        left, right = self.atom_of(left, node.left), self.atom_of(right, node.right)
        if prim is P.add and left.type == BOOL and right.type == BOOL:
            raise self.error(node, "+ of two booleans is ambiguous (2 for Python's True + True, True for NumPy's); "
                                   "write int(a) + int(b), or `a or b`")
        if prim is P.matmul and _batched(left, right):
            return self.batched_matmul(self.current(left, node), right, node)
        return self.emit(prim, [self.current(left, node), right], node)

    def batched_matmul(self, a: Atom, b: Atom, node) -> Atom:
        """``a @ b`` with an operand of three or more axes: NumPy's stack of matrix products, its
        batch axes aligned from the right and broadcast, lowered as the einsum it is
        (``'zij,zjk->zik'``, ``'zij,j->zi'``, ...)."""
        from . import contract
        na, nb = a.type.ndim, b.type.ndim
        batch = "ABCDEFGHIJKLMNOPQRSTUVWXY"[:builtins.max(na, nb) - 2]
        sa = batch[len(batch) - (na - 2):] + "ij" if na >= 2 else "j"
        sb = batch[len(batch) - (nb - 2):] + "jk" if nb >= 2 else "j"
        out = batch + ("i" if na >= 2 else "") + ("k" if nb >= 2 else "")
        return contract.contract(contract.Spec((sa, sb), out), [a, b],
                                 lambda prim, ins, **params: self.emit(prim, ins, node, **params))

    def beside_array(self, value: Value, other: Value, node) -> Value:
        """An operand of an arithmetic operator: a list or tuple beside an array is the array
        NumPy makes of it (``x * [1.0, 2.0]``); beside a number, Python's own operator applies
        (``[0.0] * n`` repeats the list), which is refused."""
        if isinstance(value, TupleVal) and value.cls in (list, tuple) and isinstance(other, (Var, Const)) \
                and other.type.is_array:
            return self.operand(value, node)
        return value

    def binop_prim(self, op, node) -> P.Primitive:
        prim = P.BINOPS.get(type(op).__name__)
        if prim is None:
            raise self.error(node, f"operator {type(op).__name__} is not supported; "
                                   "supported: + - * / ** @ // % & | ^")
        return prim

    def expr_UnaryOp(self, node) -> Atom:
        operand = self.value(node.operand)
        if isinstance(node.op, gast.UAdd):  # (+x is a new array, as np.positive(x))
            return self.emit(P.copy, [operand], node) if operand.type.is_array else operand
        if isinstance(node.op, gast.USub):
            return self.emit(P.neg, [operand], node) if not isinstance(operand, Const) else const(-operand.value)
        if isinstance(node.op, gast.Not):
            return self.emit(P.not_, [self.truth(operand, node)], node)
        if operand.type.kind == "bool":  # (~True is -2 in Python, but ~np.True_ is False: which one it is, s2sad
            #                                does not track)
            raise self.error(node, "~ of a single boolean is ambiguous (-2 for True, False for NumPy's True); write "
                                   "`not c`")
        return self.emit(P.invert, [operand], node)

    def expr_Compare(self, node) -> Atom:
        result, left = None, self.value(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            if isinstance(op, (gast.Is, gast.IsNot)):
                right = self.value(comparator)
                test = const(self.is_none(node, left, right) == isinstance(op, gast.Is))
                result = test if result is None else self.emit(P.and_, [result, test], node)
                left = right
                continue
            prim = P.COMPARE.get(type(op).__name__)
            if prim is None:
                raise self.error(node, f"comparison {type(op).__name__} is not supported; "
                                       "supported: < <= > >= == !=")
            right = self.value(comparator)
            test = self.emit(prim, [self.current(left, node), right], node)
            result = test if result is None else self.emit(P.and_, [result, test], node)
            left = right
        return result

    def is_none(self, node, left: Atom, right: Atom) -> bool:
        """``left is right`` where one side is None: known when the derivative is made (a value is
        None only as a literal, or an argument or global that is None)."""
        nones = [isinstance(a, Const) and a.value is None for a in (left, right)]
        if not any(nones):
            raise self.error(node, "'is' and 'is not' compare with None here (x is None); use == for values")
        return all(nones)

    def expr_BoolOp(self, node) -> Atom:
        """``a and b``, ``a or b``, as Python evaluates them: the value of the operand that decides
        (``a or b`` is a when a is true, else b), b computed only when a does not decide. Where both
        are conditions (booleans) and computing b cannot fail or change state (``k < n and t > 0``),
        both are computed and combined (`and`, `or`); otherwise (``k < n and x[k] > 0``, a call, a
        random draw, numbers: ``scale or 1.0``) an `If` on a's truth gives the value, b computed in
        its branch."""
        is_and = isinstance(node.op, gast.And)
        result = self.value(node.values[0])
        for operand in node.values[1:]:
            decides = self.truth(result, node)
            if isinstance(decides, Const):
                if bool(decides.value) != is_and:
                    return result  # (False and …, True or …: the rest is not evaluated)
                result = self.value(operand)
                continue
            mark = _mark()
            inner = self.nested(Builder(self.b.loc), dict(self.env))
            right = inner.value(operand)
            if result.type == right.type == BOOL and all(isinstance(s, Eqn) and _cannot_fail(s) for s in inner.b.stmts):
                self.b.stmts.extend(inner.b.stmts)
                result = self.emit(P.and_ if is_and else P.or_, [result, right], node)
                continue
            if self.changes_state(inner, mark):
                raise self.error(operand, "an operand of and/or after the first that writes into an array "
                                          "or assigns a global is not supported; use an if statement")
            kept = Builder(self.b.loc)
            (a, a_b), (b, b_b) = ((right, inner.b), (result, kept)) if is_and else ((result, kept), (right, inner.b))
            a, b = self.unify(node, "the value of and/or", (a, a_b), (b, b_b))
            out = Var(TEMP, a.type)
            self.b.append(If([out], decides, a_b.block((), [a]), b_b.block((), [b]), self.src.loc(operand)))
            result = out
        return result

    def changes_state(self, inner: "Lowering", mark: int) -> bool:
        """Does region `inner` (made from here, values from `mark` on) write into memory from
        before it, rebind a name or assign a global?"""
        return any(isinstance(e, Eqn) and e.prim is P.global_write for e in walk(Block([], inner.b.stmts))) or \
            any(not _same(_lookup(inner.env, k), _lookup(self.env, k)) for k in inner.env
                if k in self.env or (isinstance(k, Latest) and k.storage.id < mark))

    def truth(self, atom: Atom, node) -> Atom:
        """A scalar bool for `atom` used as a condition (numbers compare with zero)."""
        if atom.type.is_array:
            raise self.error(node, "the truth value of an array is ambiguous; compare scalars (for "
                                   "example an element x[i], or np.sum(x))")
        if atom.type == BOOL:
            return atom
        if atom.type == NONE:
            return const(False)
        return self.emit(P.ne, [atom, const(0)], node)

    def condition(self, node) -> Atom:
        return self.truth(self.value(node), node)

    def expr_IfExp(self, node) -> Value:
        cond = self.condition(node.test)
        if isinstance(cond, Const):
            return self.expr(node.body if cond.value else node.orelse)
        mark = _mark()
        then, orelse = self.nested(Builder(self.b.loc), dict(self.env)), self.nested(Builder(self.b.loc), dict(self.env))
        a, b = then.value(node.body), orelse.value(node.orelse)
        if any(_lookup(branch.env, k) is not _lookup(self.env, k) for branch in (then, orelse) for k in branch.env
               if isinstance(k, Latest)) or any(isinstance(e, Eqn) and e.prim is P.global_write
                                                for branch in (then, orelse) for e in walk(Block([], branch.b.stmts))):
            raise self.error(node, "a conditional expression whose branches write into arrays or assign globals is "
                                   "not supported; use an if statement")
        a, b = self.unify(node, "the conditional expression", (a, then.b), (b, orelse.b))
        out = Var(TEMP, a.type)
        self.b.append(If([out], cond, then.b.block((), [a]), orelse.b.block((), [b]), self.src.loc(node)))
        steps = self.same_view(a, b, mark)
        if steps is not None:  # (the same view of one array either way)
            return self.view_again(self.mem.storage_of(a), steps, node, TEMP)
        if not (then.sole(a, None, [then.env, *self.outer]) and orelse.sole(b, None, [orelse.env, *self.outer])):
            self.ambiguous(out, [a, b], self.src.loc(node), mark)  # (x if c else y is x or y itself)
        return out

    def expr_Tuple(self, node) -> TupleVal:
        return TupleVal(tuple(self.expr(e) for e in node.elts))

    def expr_Subscript(self, node) -> Value:
        base = self.expr(node.value)
        if isinstance(base, ListArray):
            base = base.rows  # (an item, or a slice: the list's items are its rows)
        if isinstance(base, CONTAINERS):
            return self.container_item(base, node)
        if not isinstance(base, (Var, Const)) or base.type.is_scalar:
            raise self.error(node, f"cannot index {_describe(base) if not isinstance(base, (Var, Const)) else 'a scalar'}")
        spec, operands = self.index(node.slice, base.type.ndim)
        return self.read_index(base, spec, operands, node)

    def index(self, node, ndim: int) -> tuple[tuple, list[Atom]]:
        """The index spec (one of "i", "s", "n" per axis) and its operands (an "i" may be an index
        array or a mask: see indexing.py), into an array of `ndim` axes: an ellipsis stands for
        the full slices of the axes the other parts leave."""
        parts = node.elts if isinstance(node, gast.Tuple) else [node]
        if len(parts) == 1 and not isinstance(node, (gast.Tuple, gast.Slice)) and not _is_ellipsis(node) \
                and not (isinstance(node, gast.Constant) and node.value is None):
            value = self.expr(node)  # (an index that is a tuple value: A[np.triu_indices(n, 1)], A[idx])
            items = value.items if isinstance(value, TupleVal) and value.cls is tuple else (value,)
            if isinstance(value, TupleVal) and any(isinstance(i, Const) and i.value is None for i in items):
                raise self.error(node, "an index that is a tuple holds integers or index arrays here; write None "
                                       "(a new axis) in the brackets")
            lowered = [("i", [atom]) if atom.type.kind != "none" else ("n", [])  # (x[np.newaxis])
                       for atom in (self.index_atom(item, node) for item in items)]
        else:
            lowered = [None if _is_ellipsis(part) else self.index_part(part) for part in parts]
        if lowered.count(None) > 1:
            raise self.error(node, "an index can only have a single ellipsis ('...')")
        spec, operands = [], []
        for kind_atoms in lowered:
            if kind_atoms is None:
                axes = ndim - sum(_axes_taken(kind, atoms) for kind, atoms in filter(None, lowered))
                spec += ["s"] * max(axes, 0)
                operands += [const(None)] * (3 * max(axes, 0))
                continue
            spec.append(kind_atoms[0])
            operands += kind_atoms[1]
        return tuple(spec), operands

    def index_part(self, part) -> tuple[str, list[Atom]]:
        if isinstance(part, gast.Slice):
            bounds = [self.index_value(b) if b is not None else const(None)
                      for b in (part.lower, part.upper, part.step)]
            return "s", bounds
        if isinstance(part, gast.Constant) and part.value is None:
            return "n", []
        atom = self.index_value(part)
        if atom.type.kind == "none":  # (np.newaxis, or a name bound to None: a new axis, as in NumPy)
            return "n", []
        return "i", [atom]

    def index_value(self, node) -> Atom:
        return self.index_atom(self.expr(node), node)

    def index_atom(self, value: Value, node) -> Atom:
        atom = self.atom_of(self.listed_index(value, node), node)
        if atom.type.is_array and atom.type.dtype in ("i64", "bool"):
            return atom
        if atom.type.is_array:
            raise self.error(node, f"an index array must hold integers or booleans, not {atom.type}")
        if atom.type.kind not in ("i64", "none"):
            raise self.error(node, f"an index must be an integer, not {atom.type}")
        return atom

    def listed_index(self, value: Value, node) -> Value:
        """An index written as a list (``x[[0, 2]]``, ``np.add.at(x, [0, 0], v)``) is the index
        array NumPy makes of it."""
        if isinstance(value, TupleVal) and value.cls is list:
            return self.call_object(np.array, [value], {}, node)
        return value

    # --- calls ------------------------------------------------------------------------------

    def expr_Call(self, node) -> Value:
        if isinstance(node.func, gast.Name) and node.func.id in ("_s2sad_rows", "_s2sad_grow", "_s2sad_list",
                                                                  "_s2sad_item"):
            return self.list_rows(node)
        func = self.expr(node.func)
        if isinstance(func, PyObj) and func.obj is len and len(node.args) == 1 and self.is_range(node.args[0]):
            return self.emit(P.trip_count, list(self.range_bounds(node.args[0])), node)  # len(range(...))
        if isinstance(func, PyObj) and _is_hashable(func.obj) and func.obj in COMPOSED \
                and COMPOSED[func.obj].from_node:
            return COMPOSED[func.obj].lower(self, node)
        args, kwargs = self.call_arguments(node)
        return self.call_value(func, args, kwargs, node)

    def list_rows(self, node) -> Value:
        """normalize.py's ``_s2sad_rows(buffer, item, k, n)`` (the rows of a list built in a loop,
        made at its first iteration), ``_s2sad_grow(buffer, item, k)`` (rows that grow, for item
        k) and ``_s2sad_list(rows)`` (the list after the loop)."""
        name = _readable(node.args[0].id)  # (_lbuf1_xs: xs)
        if node.func.id == "_s2sad_list":
            return self.built_list(node, name)
        if node.func.id == "_s2sad_item":
            return self.list_item(node, name)
        item_node = node.args[1]
        item = self.value(item_node)
        first = len(node.args) == 4 and node.func.id == "_s2sad_grow"  # (an item the list had before its loop)
        if item.type.is_array:
            storage = self.mem.storage_of(item)
            written = storage.id < self.iteration_mark and Latest(storage) in self.env  # (before the append)
            if not first and (written or storage in self.mem.external or storage in self.mem.module):
                if name.startswith("_comp"):  # (a list comprehension's list: normalize.py)
                    raise self.error(item_node, "this list comprehension makes a list of the caller's or a module's "
                                                "arrays, or of arrays written into before it (or views of them): the "
                                                "list would hold those arrays themselves, which s2sad does not "
                                                "follow; make copies ([A[i].copy() for ...])")
                raise self.error(item_node, f"{name}.append(...) appends an array made before this iteration and "
                                            "written into, or the caller's or a module's array: the list would hold "
                                            "that array itself, which may change; append a copy "
                                            f"({name}.append(x.copy()))")
            self.mem.appended.add(storage)  # (written into afterwards, here or at a next iteration: refused)
        buffer = self.env.get(node.args[0].id)
        count = self.value(node.args[2])
        buffer = self.current(buffer, node) if isinstance(buffer, (Var, Const)) else \
            placeholder(F64.with_ndim(item.type.ndim + 1), self.b)  # (before the first item: nothing yet)
        if node.func.id == "_s2sad_grow":
            return self.emit(P.list_grow, [buffer, item, count], node, name)
        return self.emit(P.list_rows, [buffer, item, count, self.value(node.args[3])], node, name)

    def list_item(self, node, name: str) -> Atom:
        """``_s2sad_item(rows, count, i)``: ``xs[i]`` in the loop appending to xs, whose `count`
        items so far are the first rows (an IndexError past them, as Python's list raises)."""
        rows = self.env.get(node.args[0].id)
        if not isinstance(rows, Var) or not rows.type.is_array:
            raise self.error(node, f"{name}[...] is read in its loop above the loop's first append to {name}, which "
                                   f"gives its items their type; start the list with its first item ({name} = [x0]), "
                                   f"or read it below the append")
        rows = self.current(rows, node)
        count, index = self.value(node.args[1]), self.value(node.args[2])
        if index.type.kind != "i64":
            raise self.error(node.args[2], f"a list index must be an integer, not {index.type}")
        position = self.emit(P.list_position, [index, count], node)
        self.mem.list_rows[self.mem.storage_of(rows)] = name  # (the rows are copies of the items: none written)
        return self.emit(P.getitem, [rows, position], node, spec=("i",))

    def nonempty(self, value: Value, obj, node) -> Value:
        """A list passed to `obj` (a NumPy function, sum, max, min), checked at run time to have
        items where NumPy would see an empty list otherwise than as an array of no rows: a list of
        arrays, or any list given to np.stack (runtime.EMPTY_LIST)."""
        if not isinstance(value, ListArray) or (value.rows.type.ndim < 2 and obj is not np.stack):
            return value
        return ListArray(self.emit(P.nonempty_list, [value.rows], node), value.name)

    def built_list(self, node, name: str) -> ListArray:
        """``_s2sad_list(rows, before[, count])``: the list after its loop, the items it had before
        the loop (`before`) and the rows stored in the loop (`count` of them when it appends in a
        branch) as one array of rows."""
        rows = self.value(node.args[0])
        self.mem.appended.add(self.mem.storage_of(rows))
        if len(node.args) == 3:
            rows = self.emit(P.getitem, [rows, const(None), self.value(node.args[2]), const(None)], node, name,
                             spec=("s",))
        before = self.expr(node.args[1])
        items = [self.operand(v, node) for v in before.items] if isinstance(before, TupleVal) else []
        if items:
            for item in items:
                if isinstance(item, Var) and item.type.is_array:
                    self.mem.appended.add(self.mem.storage_of(item))
            if any(i.type.ndim != rows.type.ndim - 1 for i in items):
                raise self.error(node, f"the items {name} has before its loop and those appended in it have "
                                       "different numbers of axes")
            head = self.emit(P.pack, items, node) if rows.type.ndim == 1 else self.emit(P.stack, items, node, axis=0)
            stored = self.emit(P.getitem, [self.emit(P.shape, [rows], node), const(0)], node, spec=("i",))
            rows = self.emit(P.list_rows, [rows, items[0], stored, stored], node, name)  # (no row stored: none
            # of the items' shape, rather than the loop's placeholder)
            rows = self.emit(P.concatenate, [head, rows], node, name, axis=0)
        return ListArray(rows, name)

    def call_value(self, func: Value, args: list, kwargs: dict, node) -> Value:
        """A call of `func`: a Python object, a method, a lambda or a functools.partial. Arrays
        among the arguments are read as they are now, when the call happens (an argument after
        them may have written into them: ``np.dot(v, f(x))``)."""
        special.register_if_imported()  # (scipy.special's functions, once the program has imported SciPy)
        args = [self.current(a, node) for a in args]
        kwargs = {k: self.current(v, node) for k, v in kwargs.items()}
        if isinstance(func, BoundMethod):
            func = BoundMethod(func.prim, self.current(func.receiver, node))
            if func.prim in (P.reshape, P.transpose) and len(args) > 1:  # (x.reshape(2, -1) is x.reshape((2, -1)),
                args = [TupleVal(tuple(args))]                            # x.transpose(1, 0, 2) likewise)
            if func.prim is P.astype:
                return self.astype(func.receiver, args, kwargs, node)
            if func.prim is ITEM:
                return self.item(func.receiver, args, kwargs, node)
            if func.prim in (P.rng_integers, P.rng_permutation, P.rng_choice):
                return self.integer_draw(func.prim, func.receiver, args, kwargs, node)
            if func.prim is SHUFFLE:
                return self.shuffle(func.receiver, args, kwargs, node)
            if func.prim in (FILL, SORT):
                raise self.error(node, f".{func.prim.name}(...) writes into the array and returns None, as NumPy's; "
                                       "call it as a statement")
            out = self.call_primitive(func.prim, [func.receiver, *args], kwargs, node)
            if func.prim is P.copy and isinstance(out, Var) and out.type.is_array:
                self.mem.contiguous.add(out)  # (the method's order='C'; np.copy keeps x's layout)
            return out
        if isinstance(func, PartialVal):
            return self.call_value(func.func, [*func.args, *args], {**func.kwargs, **kwargs}, node)
        if isinstance(func, LambdaVal):
            return self.call_lambda(func, args, kwargs, node)
        if not isinstance(func, PyObj):
            raise self.error(node, f"cannot call {_describe(func)}")
        if func.obj is functools.partial:
            if not args or not isinstance(args[0], (PyObj, BoundMethod, PartialVal, LambdaVal)):
                raise self.error(node, "functools.partial takes a function first")
            return PartialVal(args[0], tuple(args[1:]), dict(kwargs))
        if any(isinstance(a, ListArray) for a in [*args, *kwargs.values()]):
            return self.call_with_list(func.obj, args, kwargs, node)
        return self.call_object(func.obj, args, kwargs, node)

    def call_with_list(self, obj, args: list, kwargs: dict, node) -> Value:
        """A call given a list built in a loop (`ListArray`): NumPy makes an array of it (a new
        one), and a helper gets the list itself."""
        if isinstance(obj, types.FunctionType) and not _is_numpy(obj) and not (_is_hashable(obj) and obj in COMPOSED):
            return self.call_object(obj, args, kwargs, node)  # (a helper of the program's: it gets the list)
        if obj is len:  # (of any list, empty or not)
            return self.length([next(a for a in args if isinstance(a, ListArray)).rows], node)
        args, kwargs = [self.nonempty(a, obj, node) for a in args], {k: self.nonempty(v, obj, node)
                                                                     for k, v in kwargs.items()}
        lists = [a for a in [*args, *kwargs.values()] if isinstance(a, ListArray)]
        if obj in (builtins.sum, builtins.max, builtins.min) and len(args) == 1:
            if obj is not builtins.sum:
                if lists[0].rows.type.ndim != 1:
                    raise self.error(node, f"{obj.__name__} of a list of arrays compares them, which Python cannot do "
                                           f"(the truth value of an array is ambiguous); use np.{obj.__name__}")
                return self.python_extreme(obj, lists[0].rows, node)
            return self.emit(P.sum, [lists[0].rows], node, axis=0)
        if obj in (np.concatenate, np.stack) and 1 <= len(args) <= 2 and set(kwargs) <= {"axis"} \
                and isinstance(args[0], ListArray) and len(args) + len(kwargs) <= 2:
            axis = args[1] if len(args) == 2 else kwargs.get("axis", const(0))
            return self.joined_list(obj, args[0], axis, node)
        if not (_is_numpy(obj) or _is_hashable(obj) and (obj in P.NUMPY or obj in COMPOSED)):
            raise self.error(node, f"{lists[0].name} is a list built in a loop: pass it to NumPy functions, index it, "
                                   f"take its len or iterate over it (np.array({lists[0].name}) makes an array of it)")
        if obj is np.asarray:  # (of a list, a new array: np.array copies anyway)
            args = [self.emit(P.copy, [a.rows], node) if isinstance(a, ListArray) else a for a in args]
        convert = (lambda v: v.rows if isinstance(v, ListArray) else v)
        return self.call_object(obj, [convert(a) for a in args], {k: convert(v) for k, v in kwargs.items()}, node)

    def joined_list(self, obj, lst: ListArray, axis: Value, node) -> Atom:
        """``np.stack(xs, axis=a)`` or ``np.concatenate(xs, axis=a)`` of a list built in a loop,
        whose items are the rows of ``lst.rows`` (of shape (n, *item)): a new array, the rows'
        first axis moved to `a` (stack), or moved there and merged with the item's axis `a`
        (concatenate)."""
        rows = lst.rows
        if obj is np.stack:
            return self.emit(P.copy, [self.call_object(np.moveaxis, [rows, const(0), axis], {}, node)], node)
        item_ndim = rows.type.ndim - 1
        if item_ndim < 1:
            raise self.error(node, f"np.concatenate of the list {lst.name} of numbers: NumPy refuses "
                                   "zero-dimensional arrays; use np.array")
        if not (isinstance(axis, Const) and type(axis.value) is int and -item_ndim <= axis.value < item_ndim):
            raise self.error(node, f"the axis of np.concatenate of the list {lst.name} must be a literal integer "
                                   f"below {item_ndim} in magnitude (its items have {item_ndim} axes)")
        a = axis.value % item_ndim
        moved = self.call_object(np.moveaxis, [rows, const(0), const(a)], {}, node)  # (..., n, item axis a, ...)
        shape = self.emit(P.shape, [rows], node)
        dims = [const(-1) if k == a else self.emit(P.getitem, [shape, const(k + 1)], node, spec=("i",))
                for k in range(item_ndim)]
        return self.emit(P.copy, [self.emit(P.reshape, [moved, self.emit(P.make_tuple, dims, node)], node)], node)

    def expr_Lambda(self, node) -> Value:
        arguments = node.args
        if arguments.vararg or arguments.kwarg or arguments.kwonlyargs or arguments.defaults \
                or arguments.posonlyargs:
            raise self.error(node, "a lambda takes plain parameters here (no defaults, *args or **kwargs); "
                                   "use a def for more")
        return LambdaVal(node, self.src, self.frame, frozenset(self.global_names))

    def call_lambda(self, lam: LambdaVal, args: list, kwargs: dict, node) -> Value:
        """The lambda's body, with its parameters bound, lowered here."""
        names = [a.id for a in lam.node.args.args]
        if len(args) > len(names) or set(kwargs) - set(names[len(args):]) \
                or len(args) + len(kwargs) != len(names):
            raise self.error(node, f"bad arguments to a lambda of {len(names)} parameters ({', '.join(names)})")
        if lam.env is None and lam.frame is not self.frame:
            raise self.error(node, "a lambda is called here outside the function that made it, and not as an "
                                   "argument it was given; pass it to the function that calls it")
        env = dict(self.env if lam.env is None else lam.env)
        env.update({k: v for k, v in self.env.items() if _is_state(k)})
        env.update(zip(names, args))
        env.update(kwargs)
        inner = Lowering(lam.src, self.b, env, self.stack, self.mem, self.spaces, set(lam.global_names),
                         remade=self.remade, outer=self.outer, assumed=self.assumed, forced=self.forced,
                         peel=self.peel)
        result = inner.expr(lam.node.body)
        self.env.update({k: v for k, v in inner.env.items() if _is_state(k)})
        return result

    def leaving(self, value: Value, env: dict) -> Value:
        """`value` as it leaves this call of the function (passed to a helper, or returned): a
        lambda made here keeps the names it reads as they are now."""
        if isinstance(value, LambdaVal) and value.env is None and value.frame is self.frame:
            return dataclasses.replace(value, env=dict(env))
        if isinstance(value, PartialVal):
            return PartialVal(self.leaving(value.func, env), tuple(self.leaving(a, env) for a in value.args),
                              {k: self.leaving(v, env) for k, v in value.kwargs.items()})
        return value

    def call_arguments(self, node) -> tuple[list, dict]:
        """A call's positional and keyword arguments, with ``*t`` and ``**kw`` spread out (a tuple,
        and the keyword arguments a function being inlined received)."""
        args, kwargs = [], {}
        for a in node.args:
            if not isinstance(a, gast.Starred):
                args.append(self.argument(a))
                continue
            spread = self.expr(a.value)
            if not isinstance(spread, TupleVal):
                raise self.error(a, f"*{_described(a.value)} must be a tuple to be spread into a call")
            args += list(spread.items)
        for k in node.keywords:
            if k.arg is not None:
                kwargs[k.arg] = self.argument(k.value)
                continue
            spread = self.expr(k.value)
            if not isinstance(spread, DictVal):
                raise self.error(node, f"**{_described(k.value)}: only a function's own **kwargs can be spread "
                                       "into a call")
            kwargs.update(spread.items)
        return args, kwargs

    def argument(self, node) -> Value:
        """A call's argument: an expression, or a string literal (``mode="constant"``), which
        only a parameter that takes one accepts."""
        if isinstance(node, gast.Constant) and isinstance(node.value, str):
            return PyObj(node.value)
        return self.expr(node)

    def call_object(self, obj, args: list, kwargs: dict, node) -> Value:
        made = self.container_call(obj, args, kwargs, node)
        if made is not None:
            return made
        if obj is len:
            return self.length(args, node)
        if obj is bool and len(args) == 1 and not kwargs:  # (bool(err < tol): the condition's truth)
            return self.truth(self.atom_of(args[0], node), node)
        if obj in (builtins.sum, builtins.max, builtins.min):
            folded = self.builtin_reduction(obj, args, kwargs, node)
            if folded is not None:
                return folded
        if _is_add_at(PyObj(obj)):
            return self.add_at(args, kwargs, node)
        if obj is np.put_along_axis:
            return self.put_along_axis(args, kwargs, node)
        if obj is np.where and len(args) == 1 and not kwargs:  # (np.where(c) is np.nonzero(c))
            obj = np.nonzero
        if _is_hashable(obj) and obj in COMPOSED:
            return lower_composed(self, obj, args, kwargs, node)
        if obj is np.diag and (len(args) > 1 or "k" in kwargs):
            try:
                bound = inspect.signature(diagonal_at).bind(self, node, *args, **kwargs)
            except TypeError as exc:
                raise self.error(node, f"bad arguments to numpy.diag: {exc}") from None
            return diagonal_at(*bound.args, **bound.kwargs)
        if _is_hashable(obj) and obj in ALLOCATE_LIKE:
            return self.allocate_like(ALLOCATE_LIKE[obj], args, kwargs, node)
        if _is_hashable(obj) and obj in P.NUMPY:
            return self.call_primitive(P.NUMPY[obj], args, kwargs, node)
        if _is_hashable(obj) and obj in P.TUPLES:  # (unused items are dropped later)
            alone = self.item_alone(obj, args, kwargs)
            if alone is not None:
                return self.call_primitive(alone, args, kwargs, node)
            items = tuple(self.call_primitive(prim, args, kwargs, node) for prim in P.TUPLES[obj])
            return TupleVal(items, fields=P.RESULT_FIELDS.get(obj, ()))
        if isinstance(obj, CustomRule):
            return self.custom_call(obj, args, kwargs, node)
        if is_derivative(obj):
            return self.derivative_call(obj, args, kwargs, node)
        if getattr(obj, "__module__", None) == "s2sad.api":
            raise self.error(node, f"make the derivative outside the function (for example "
                                   f"dloss = s2sad.{obj.__name__}(loss) at module level) and call it here")
        if isinstance(obj, types.FunctionType) and not _is_numpy(obj):
            return self.inline(obj, args, kwargs, node)
        raise self.error(node, f"{P.numpy_name(obj)} is not supported; `s2sad rules` lists what is "
                               "(docs/supported.md), and s2sad.custom_rule gives a function your own derivative")

    def builtin_reduction(self, obj, args: list, kwargs: dict, node) -> Value | None:
        """Python's ``sum(items, start)``, ``max(items)``, ``max(a, b, c, ...)`` (and ``min``) of a
        list or tuple, or of an array (over its first axis, as Python iterates it): the items
        combined in Python's order (None: the two-number max and min, the primitives themselves)."""
        name = obj.__name__
        if obj is builtins.sum:
            if len(args) not in (1, 2) or set(kwargs) - {"start"} or (len(args) == 2 and kwargs):
                raise self.error(node, "sum takes the items and a start (sum(items, start))")
            start = args[1] if len(args) == 2 else kwargs.get("start", const(0))
            items = args[0]
        elif kwargs:
            raise self.error(node, f"{name} with key= or default= is not supported; use np.{name} or a loop")
        elif len(args) == 1:
            items, start = args[0], None
        elif len(args) == 2:
            return None
        else:
            items, start = TupleVal(tuple(args)), None
        prim = {builtins.sum: P.add, builtins.max: P.max, builtins.min: P.min}[obj]
        if isinstance(items, TupleVal):
            values = [self.operand(v, node) for v in items.items]
            if not values and start is None:
                raise self.error(node, f"{name}() of an empty sequence (Python raises ValueError)")
            total = self.operand(start, node) if start is not None else values.pop(0)
            for v in values:
                total = self.emit(prim, [total, v], node)
            return total
        x = self.operand(items, node)
        if not x.type.is_array:
            raise self.error(node, f"{name} takes a list, a tuple or an array, not a number")
        if obj is builtins.sum:
            return self.emit(P.add, [self.operand(start, node), self.emit(P.sum, [x], node, axis=0)], node)
        if x.type.ndim != 1:
            raise self.error(node, f"{name} of an array of {x.type.ndim} axes compares its rows, which Python "
                                   f"cannot do (the truth value of an array is ambiguous); use np.{name}")
        return self.python_extreme(obj, x, node)

    def python_extreme(self, obj, x: Atom, node) -> Atom:
        """Python's ``max(x)`` (``min(x)``) over the items of x's first axis, as Python compares them:
        an item that is NaN is never greater (or less) than the one kept, so a NaN is the result
        only as the first item; np.max of the other items otherwise."""
        prim, fill = (P.amax, -np.inf) if obj is builtins.max else (P.amin, np.inf)
        if x.type.element.kind != "f64":
            return self.emit(prim, [x], node, axis=0)
        first = self.emit(P.getitem, [x, const(0)], node, spec=("i",))
        clean = self.emit(P.where, [self.emit(P.isnan, [x], node), const(fill), x], node)
        return self.emit(P.select, [self.emit(P.isnan, [first], node), first,
                                    self.emit(prim, [clean], node, axis=0)], node)

    @staticmethod
    def item_alone(obj, args: list, kwargs: dict) -> P.Primitive | None:
        """The primitive of the one item a tuple-returning function returns alone for these
        arguments (`P.ALONE`: ``np.linalg.svd(A, compute_uv=False)``), or None."""
        if obj not in P.ALONE:
            return None
        name, value, k = P.ALONE[obj]
        prim = P.TUPLES[obj][k]
        try:
            given = prim.signature.bind(*args, **kwargs).arguments.get(name)
        except TypeError:
            return None  # (call_primitive reports the bad arguments)
        return prim if isinstance(given, Const) and given.value is value else None

    def allocate_like(self, prim: P.Primitive, args: list, kwargs: dict, node) -> Atom:
        """``np.zeros_like(x)`` is ``np.zeros(x.shape)`` of x's dtype, as NumPy makes it (an integer or
        boolean x gives an integer or boolean array; the values carry no derivative from x)."""
        if kwargs or not args or not isinstance(args[0], (Var, Const)) or len(args) != (2 if prim is P.full else 1):
            raise self.error(node, f"{prim.name}_like takes an array{' and a fill value' if prim is P.full else ''}"
                                   " (no dtype or other keywords)")
        like = args[0]
        shape = self.emit(P.shape, [like], node) if like.type.is_array else const(())
        made = self.call_primitive(prim, [shape, *args[1:]], {}, node)
        kind = like.type.element.kind
        if like.type.is_array and kind in ("i64", "bool") and made.type.element.kind != kind:
            made = self.emit(P.astype, [made], node, dtype=kind)  # (np.full_like(k, 2.5) of integers: 2)
        if isinstance(made, Var) and like.type.is_array and like.type.ndim > 1 and \
                not (isinstance(like, Var) and self.mem.contiguous_view(like)):
            self.mem.contiguous.discard(made)  # (NumPy's order='K': the layout of `like`, which may be Fortran's)
        return made

    def length(self, args: list, node) -> Atom:
        if len(args) == 1 and isinstance(args[0], CONTAINERS):
            return const(len(contents(args[0])))
        if len(args) != 1 or not isinstance(args[0], (Var, Const)) or not args[0].type.is_array:
            raise self.error(node, "len() takes one array or one container")
        shape = self.emit(P.shape, [args[0]], node)
        return self.emit(P.getitem, [shape, const(0)], node, spec=("i",))

    def astype(self, x: Atom, args: list, kwargs: dict, node) -> Atom:
        """``x.astype(dtype)`` to int64, float64 or bool (a new array, as NumPy's; a float array
        stays float as a copy, so the primitive only converts to or from what has no derivative)."""
        dtype = kwargs.get("dtype", args[0] if len(args) == 1 else None)
        kind = _DTYPE_KINDS.get(dtype.obj if isinstance(dtype, PyObj) else None) if _is_hashable(
            getattr(dtype, "obj", None)) else None
        obj = dtype.obj if isinstance(dtype, PyObj) else None
        if kind is None and len(args) + len(kwargs) == 1 and _is_hashable(obj) and obj in _NARROW_DTYPES:
            raise self.error(node, f"x.astype({_NARROW_DTYPES[obj]}): s2sad computes in float64 and int64 only, and "
                                   f"converting would round or wrap the values (NumPy's result differs); drop the "
                                   f"conversion, or convert the result outside the differentiated function")
        if kind is None or len(args) + len(kwargs) != 1:
            raise self.error(node, "x.astype takes one dtype: int, float, bool, np.int64, np.float64 or np.bool_")
        return self.emit(P.astype, [x], node, dtype=kind) if kind != x.type.element.kind \
            else self.emit(P.copy, [x], node)

    def item(self, x: Atom, args: list, kwargs: dict, node) -> Atom:
        """``x.item()``: the one element of x (NumPy's ValueError if x has more), or ``x.item(i, j)``
        the element at those indices; the same number, so it carries the derivative of a read."""
        if kwargs or any(not (isinstance(a, (Var, Const)) and a.type.is_scalar and a.type.kind == "i64")
                         for a in args):
            raise self.error(node, "x.item takes no arguments or integer indices (x.item(), x.item(i))")
        if not x.type.is_array:
            if args:
                raise self.error(node, "x.item(i) of a number: NumPy raises IndexError; use x.item()")
            return x
        if not args:
            self.emit(P.single, [self.emit(P.size, [x], node)], node)
            args = [const(0)] * x.type.ndim
        elif len(args) != x.type.ndim:
            raise self.error(node, f"x.item with {len(args)} index of an array of {x.type.ndim} axes (a flat index) "
                                   "is not supported; index it instead (x[i, j])")
        return self.read_index(x, ("i",) * len(args), list(args), node)

    def integer_draw(self, prim: P.Primitive, rng: Atom, args: list, kwargs: dict, node) -> Atom:
        """``rng.integers(low, high, size)``, ``rng.permutation(n or x)`` and ``rng.choice(n or a,
        size, replace)``: integers with no derivative; of an array, the items at those integers
        (a gather, with the derivative of one), as NumPy computes them."""
        name = prim.name[len("rng_"):]
        forms = {P.rng_integers: lambda low, high=None, size=None, dtype=None, endpoint=const(False): None,
                 P.rng_permutation: lambda x, axis=const(0): None,
                 P.rng_choice: lambda a, size=None, replace=const(True), p=None, axis=const(0), shuffle=const(True): None}
        try:
            bound = inspect.signature(forms[prim]).bind(*args, **kwargs)
        except TypeError as exc:
            raise self.error(node, f"bad arguments to Generator.{name}: {exc}") from None
        bound.apply_defaults()
        a = bound.arguments

        def integer(value, what: str) -> Atom:
            if not (isinstance(value, (Var, Const)) and value.type.is_scalar and value.type.kind == "i64"):
                raise self.error(node, f"Generator.{name}: {what} must be an integer here")
            return value

        def literal(value, what: str, allowed: tuple):
            if not (isinstance(value, Const) and value.value in allowed and type(value.value) is type(allowed[0])):
                raise self.error(node, f"Generator.{name}: {what} must be {' or '.join(map(repr, allowed))} here")
            return value.value

        def size_of(value) -> Atom:
            if value is None or (isinstance(value, Const) and value.value is None):
                return const(None)
            if isinstance(value, TupleVal) and prim is P.rng_integers:
                return self.make_tuple(value, node)
            return integer(value, "size" if prim is P.rng_choice else "size (an integer or a tuple)")

        def items(x: Atom, index: Atom) -> Atom:  # (x[index] along the first axis: a new array, or an item)
            return self.read_index(x, ("i",), [index], node)

        if prim is P.rng_integers:
            dtype = a["dtype"]
            if dtype is not None and not (isinstance(dtype, PyObj) and _is_hashable(dtype.obj)
                                          and _DTYPE_KINDS.get(dtype.obj) == "i64"):
                raise self.error(node, "Generator.integers: dtype may only be int (np.int64) here")
            low, high = integer(a["low"], "low"), a["high"]
            low, high = (const(None), low) if high is None else (low, integer(high, "high"))
            if literal(a["endpoint"], "endpoint", (False, True)):
                high = self.emit(P.add, [high, const(1)], node)
            return self.emit(P.rng_integers, [rng, low, high, size_of(a["size"])], node)
        if prim is P.rng_permutation:
            literal(a["axis"], "axis", (0,))
            x = a["x"]
            if isinstance(x, (Var, Const)) and x.type.is_array:
                return items(x, self.emit(P.rng_permutation, [rng, self.length([x], node)], node))
            return self.emit(P.rng_permutation, [rng, integer(x, "x (an integer or an array)")], node)
        if a["p"] is not None and not (isinstance(a["p"], Const) and a["p"].value is None):
            raise self.error(node, "Generator.choice with probabilities p= is not supported; draw rng.random() "
                                   "and np.searchsorted the cumulative probabilities")
        literal(a["axis"], "axis", (0,))
        literal(a["shuffle"], "shuffle", (True,))
        replace = literal(a["replace"], "replace", (True, False))
        x, size = a["a"], size_of(a["size"])
        if isinstance(x, (Var, Const)) and x.type.is_array:
            return items(x, self.emit(P.rng_choice, [rng, self.length([x], node), size], node, replace=replace))
        return self.emit(P.rng_choice, [rng, integer(x, "a (an integer or an array)"), size], node, replace=replace)

    def shuffle(self, rng: Atom, args: list, kwargs: dict, node) -> Const:
        """``rng.shuffle(x)``: x's rows in the order of ``rng.permutation(len(x))``, which NumPy's
        shuffle draws alike, written into x's memory (None, as NumPy returns)."""
        if len(args) != 1 or set(kwargs) - {"axis"} or kwargs.get("axis", const(0)) != const(0):
            raise self.error(node, "Generator.shuffle takes one array (and axis=0) here")
        x, name = args[0], _described(node.args[0]) if getattr(node, "args", None) else TEMP
        if not (isinstance(x, Var) and x.type.is_array):
            raise self.error(node, "Generator.shuffle takes an array, which it shuffles in place")
        order = self.emit(P.rng_permutation, [rng, self.length([x], node)], node)
        rows = self.read_index(x, ("i",), [order], node)
        x = self.current(x, node, name)
        self.write(x, self.emit(P.setitem, [x, const(None), const(None), const(None), rows], node, name,
                                spec=("s",)), node, name)
        return const(None)

    def call_primitive(self, prim: P.Primitive, args: list, kwargs: dict, node) -> Atom:
        if prim in (P.to_float, P.to_int) and len(args) == 1 and isinstance(args[0], (Var, Const)) \
                and args[0].type.is_array:
            raise self.error(node, f"{prim.name}() of an array: NumPy raises TypeError (only 0-dimensional arrays "
                                   f"can be converted to Python scalars); use x.item() or index it ({prim.name}(x[0]))")
        if prim is P.linspace and "endpoint" in kwargs:  # (endpoint=False: num + 1 points but the last)
            kwargs = dict(kwargs)
            endpoint = kwargs.pop("endpoint")
            if not (isinstance(endpoint, Const) and isinstance(endpoint.value, bool)):
                raise self.error(node, "np.linspace's endpoint must be True or False, written as a literal")
            if not endpoint.value:
                bound = inspect.signature(lambda start, stop, num=50, dtype=None: None).bind(*args, **kwargs)
                bound.apply_defaults()
                start, stop, num, dtype = bound.args
                more = self.emit(P.add, [self.operand(const(num) if isinstance(num, int) else num, node), const(1)], node)
                points = self.call_primitive(prim, [start, stop, more], {} if dtype is None else {"dtype": dtype}, node)
                return self.read_index(points, ("s",), [const(None), const(-1), const(None)], node)
        if "dtype" in kwargs and prim in _ALLOCATIONS:  # (np.zeros(n, dtype=int): made, then converted)
            kwargs = dict(kwargs)
            dtype = kwargs.pop("dtype")
            kind = _DTYPE_KINDS.get(dtype.obj) if isinstance(dtype, PyObj) and _is_hashable(dtype.obj) else None
            if kind is None:
                raise self.error(node, f"np.{prim.name}'s dtype must be int, float, bool, np.int64, np.float64 or "
                                       "np.bool_")
            made = self.call_primitive(prim, args, kwargs, node)
            return made if made.type.element.kind == kind else self.emit(P.astype, [made], node, dtype=kind)
        if "keepdims" in kwargs and prim in REDUCTIONS:
            return self.keep_dims(prim, args, kwargs, node)
        if prim in P.SEQUENCE_OPERANDS:
            if not args or not isinstance(args[0], TupleVal) or len(args) > 1:
                raise self.error(node, f"np.{prim.name} takes a tuple of arrays (and axis=)")
            args = list(args[0].items)
            if prim is P.stack and kwargs.get("axis", const(0)) in (const(0), const(-1)) \
                    and all(isinstance(a, (Var, Const)) and a.type.ndim == 0 for a in args):
                prim, kwargs = P.pack, {}  # (numbers: np.stack would not compile under Numba)
        if prim is P.clip:  # (NumPy's names of the bounds: np.clip(x, a_min=...), x.clip(min=...), max=, a_max=)
            kwargs = {{"min": "lo", "a_min": "lo", "max": "hi", "a_max": "hi"}.get(k, k): v for k, v in kwargs.items()}
        try:
            bound = prim.signature.bind(*args, **kwargs)
        except TypeError as exc:
            if prim is not P.clip or not ({"lo", "hi"} & set(kwargs) or len(args) > 1):
                raise self.error(node, f"bad arguments to {prim.name}: {exc}") from None
            bound = prim.signature.bind(*args, **{"lo": const(None), "hi": const(None), **kwargs})  # (one bound)
        bound.apply_defaults()
        if prim is P.clip:  # (one bound: np.maximum or np.minimum, whose derivatives at a tie are clip's)
            lo, hi = (bound.arguments[k] for k in ("lo", "hi"))
            none = [isinstance(b, Const) and b.value is None for b in (lo, hi)]
            if none[0] != none[1]:
                x = self.operand(bound.arguments["x"], node)
                return self.call_primitive(P.minimum if none[0] else P.maximum, [x, hi if none[0] else lo], {}, node)
        if prim is P.cumsum and getattr(bound.arguments.get("axis"), "value", bound.arguments.get("axis")) is None:
            x = self.operand(bound.arguments["x"], node)  # (without an axis: of the flattened array, as NumPy's)
            if x.type.is_array and x.type.ndim > 1:
                bound.arguments["x"] = self.emit(P.flatten, [x], node)
        if prim in REDUCTIONS and isinstance(bound.arguments.get("axis"), TupleVal):
            bound.arguments["axis"] = self.axes(bound.arguments["axis"], bound.arguments["x"], node)
        if prim is P.flip and isinstance(bound.arguments.get("axis"), TupleVal):  # (one flip per axis, which
            x = self.operand(bound.arguments["x"], node)                        # Numba compiles)
            for axis in self.axes(bound.arguments["axis"], x, node).items:
                x = self.emit(P.flip, [x], node, axis=self.static(axis, "axis", prim, node))
            return x
        operands, params = [], {}
        for pname, value in bound.arguments.items():
            if pname in prim.statics:
                params[pname] = self.static(value, pname, prim, node)
            elif isinstance(value, tuple):
                operands += [self.operand(v, node) for v in value]
            elif isinstance(value, TupleVal) and (pname in _SHAPE_OPERANDS or not _array_like(value)):
                operands.append(self.make_tuple(value, node))
            else:
                operands.append(self.operand(const(value) if _is_literal(value) else value, node))
        if prim is P.dot and any(a.type.is_scalar for a in operands):
            prim = P.mul  # np.dot with a number is a product (and Numba has no such dot)
        if prim is P.matmul and len(operands) == 2 and _batched(*operands):
            return self.batched_matmul(*operands, node)
        if prim is P.outer:  # (NumPy's outer ravels its operands: a number is a vector of one element)
            operands = [a if a.type.is_array and a.type.ndim == 1 else
                        self.emit(P.flatten, [a], node) if a.type.is_array else
                        self.emit(P.full, [const((1,)), a], node) for a in operands]
        return self.emit(prim, operands, node, python_ints=False, **params)

    def keep_dims(self, prim: P.Primitive, args: list, kwargs: dict, node) -> Atom:
        """``np.max(x, axis=1, keepdims=True)`` is ``np.expand_dims(np.max(x, axis=1), 1)``, which
        Numba compiles; with every axis reduced, a reshape to ones."""
        kwargs = dict(kwargs)
        keep = kwargs.pop("keepdims")
        if not isinstance(keep, Const) or not isinstance(keep.value, bool):
            raise self.error(node, "keepdims must be True or False, written as a literal")
        reduced = self.call_primitive(prim, args, kwargs, node)
        if not keep.value:
            return reduced
        x = self.operand(args[0], node)
        ndim = x.type.ndim if x.type.is_array else 0
        axis = self.static(kwargs.get("axis", args[1] if len(args) > 1 else const(None)), "axis", prim, node)
        if not reduced.type.is_array:  # every axis reduced: an array of ones' shape holding it
            if not ndim:
                return reduced
            if reduced.type.kind == "bool":  # (np.full makes floats)
                return self.emit(P.reshape, [self.emit(P.pack, [reduced], node), const((1,) * ndim)], node)
            return self.emit(P.full, [const((1,) * ndim), reduced], node)
        for a in sorted(k % ndim for k in (axis if isinstance(axis, tuple) else (axis,))):
            reduced = self.emit(P.expand_dims, [reduced], node, axis=a)
        return reduced

    def axes(self, value: TupleVal, x, node) -> TupleVal:
        """A literal tuple of axes, made non-negative and sorted (as the emitted code needs)."""
        ndim = x.type.ndim if isinstance(x, (Var, Const)) and x.type.is_array else 0
        if not value.items:
            raise self.error(node, "axis=() reduces no axis; use the array itself")
        if not all(isinstance(v, Const) and isinstance(v.value, int) for v in value.items) or not ndim:
            return value
        for v in value.items:  # (NumPy's AxisError for an axis out of range, ValueError for a repeated one)
            try:
                P.check_axis(v.value, ndim)
            except TypeError as exc:
                raise self.error(node, str(exc)) from None
        axes = [v.value % ndim for v in value.items]
        if len(set(axes)) != len(axes):
            raise self.error(node, f"axis={tuple(v.value for v in value.items)} names an axis twice "
                                   "(NumPy raises ValueError)")
        return TupleVal(tuple(const(a) for a in sorted(axes)))

    def make_tuple(self, value: TupleVal, node) -> Atom:
        """A tuple of integers used as a value (a shape such as ``(n, 3)``)."""
        items = [self.operand(v, node) for v in value.items]
        if any(a.type.kind != "i64" for a in items):
            raise self.error(node, "a tuple or a list passed to a function must hold integers (a shape); make an "
                                   "array of arrays or numbers with np.stack")
        if all(isinstance(a, Const) for a in items):
            return const(tuple(a.value for a in items))
        return self.emit(P.make_tuple, items, node)

    def operand(self, value: Value, node) -> Atom:
        if isinstance(value, TupleVal) and value.cls in (list, tuple):
            # (a list where NumPy takes an array, np.concatenate(([0.0], x)): the array it makes of it)
            value = self.call_object(np.array, [value], {}, node)
        if not isinstance(value, (Var, Const)):
            raise self.error(node, f"expected a number or an array as an argument, got {_describe(value)}")
        return value

    def static(self, value: Value, pname: str, prim: P.Primitive, node):
        if value is None or value == prim.statics.get(pname, object()):
            return value
        if isinstance(value, TupleVal) and all(isinstance(v, Const) for v in value.items):
            return tuple(v.value for v in value.items)
        if isinstance(value, PyObj) and isinstance(value.obj, str):  # (side="right")
            return value.obj
        if not isinstance(value, Const):
            raise self.error(node, f"the '{pname}' argument of {prim.name} must be a literal")
        return value.value

    def inline(self, fn, args: list, kwargs: dict, node) -> Value:
        """A call to another Python function: lower its body here with its parameters bound."""
        if fn in self.stack:
            raise self.error(node, f"recursive call to {fn.__name__} is not supported; write it as a loop")
        try:
            callee = parse(fn)
        except S2SADError as exc:
            raise self.error(node, f"cannot inline {fn.__name__}: {exc.message}") from None
        args = [self.leaving(a, self.env) for a in args]
        kwargs = {k: self.leaving(v, self.env) for k, v in kwargs.items()}
        env = self.bind_call(fn, args, kwargs, node)
        env.update({k: v for k, v in self.env.items() if _is_state(k)})  # globals read, arrays written
        inner = Lowering(callee, self.b, env, self.stack + (fn,), self.mem, self.spaces, remade=self.remade,
                         outer=(*self.outer, self.env), assumed=self.assumed, forced=self.forced,
                         peel=self.peel)
        with self.b.at(None):
            result = inner.leaving(inner.run_body(), inner.env)
        self.env.update({k: v for k, v in inner.env.items() if _is_state(k)})
        return result

    def derivative_call(self, d, args: list, kwargs: dict, node) -> Value:
        """A call to ``s2sad.grad(f)`` (a derivative object): f's gradient code, inlined."""
        check_inlinable(d, self.src.loc(node))
        try:
            bound = d.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise self.error(node, f"bad arguments to the gradient of {d.__name__}: {exc}") from None
        bound.apply_defaults()
        operands = [self.operand(v if isinstance(v, Value) else self.outside(v, k, node), node)  # (defaults)
                    for k, v in bound.arguments.items()]
        result, writes, assumed = inline_gradient(d, operands, self.b, self.src.loc(node))
        for assumption in assumed:
            self.assume(assumption)
        for k, last in writes:  # (f wrote into its k-th argument, which is this function's memory)
            if operands[k].type != last.type:
                raise self.error(node, f"{d.__name__} writes into its argument {k}, which it receives converted to "
                                       f"{last.type}; pass it as a float array")
            self.write(operands[k], last, node)
        return result

    def custom_call(self, rule: CustomRule, args: list, kwargs: dict, node) -> Atom:
        """A call to a `s2sad.custom_rule` function: its body computes the value from the
        arguments behind `stop`, and a `custom` equation carries the user's rules."""
        if kwargs:
            raise self.error(node, f"pass the arguments of {rule.fn.__name__} by position (it has a custom rule)")
        operands = [self.operand(a, node) for a in args]
        detached = [self.emit(P.stop, [a], node) if isinstance(a, Var) else a for a in operands]
        value = self.operand(self.inline(rule.fn, detached, {}, node), node)
        return self.emit(P.custom, [value, *operands], node, rule=rule)

    def bind_call(self, fn, args: list, kwargs: dict, node) -> dict:
        """The environment `fn`'s body starts in: its own parameters (not those of a function it
        wraps) bound to the arguments, ``*args`` to a tuple, ``**kwargs`` to the keywords left."""
        signature = inspect.signature(fn, follow_wrapped=False)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise self.error(node, f"bad arguments to {fn.__name__}: {exc}") from None
        env = {}
        for name, param in signature.parameters.items():
            if param.kind is param.VAR_POSITIONAL:
                env[name] = TupleVal(tuple(bound.arguments.get(name, ())))
            elif param.kind is param.VAR_KEYWORD:
                env[name] = DictVal(dict(bound.arguments.get(name, {})))
            elif name in bound.arguments:
                env[name] = bound.arguments[name]
            elif isinstance(param.default, np.ndarray):  # (read at every call, as Python passes it)
                env[name] = self.read_global(name, param.default, node, self.defaults_alias(fn))
            else:
                env[name] = self.outside(param.default, name, node)
        return env

    def defaults_alias(self, fn) -> str:
        """The name under which generated code reaches `fn`'s default values."""
        return self.space(("defaults", id(fn)), fn.__name__ + "_defaults", lambda: _Defaults(fn))


def lower_call(fn, args: list[Atom], builder: Builder) -> list[Atom]:
    """Lower a call ``fn(*args)`` into `builder`, as a call is inlined; the values it returns (the
    items of a returned tuple). Used for the derivative functions of a `custom_rule`."""
    src = parse(fn)
    lowering = Lowering(src, builder, {}, stack=(fn,))
    lowering.env = lowering.bind_call(fn, args, {}, src.tree)
    with builder.at(None):
        result = lowering.run_body()
    if lowering.spaces:
        raise S2SADError(f"{fn.__name__} reads a module's global array; pass it as an argument instead",
                         src.filename, src.first_line)
    return list(result.items) if isinstance(result, TupleVal) else [result]


class _Unbound(S2SADError):
    """A name that only a loop assigns is read after it: the function is lowered again with the
    loop's first iteration apart (`Lowering.settled_region`); the error if that does not bind it."""

    def __init__(self, loop: tuple, error: S2SADError) -> None:
        super().__init__(error.message, error.filename, error.lineno, error.source_line)
        self.loop = loop


class _Retyped(Exception):
    """A value a loop carries changes its type in the first iteration: the loop is lowered again
    with that iteration apart (`Lowering.settled_region`); `error` if that does not settle it."""

    def __init__(self, node, error: S2SADError) -> None:
        super().__init__(str(error))
        self.node, self.error = node, error


@dataclass
class LoopRegion:
    """A loop region as lowered: what it carries (names, and `Latest` keys of arrays it writes
    into), their types, the names whose values may share memory with arrays from before the loop
    (→ those arrays' storages), and, once settled, its block, initial values and results."""

    carried: list
    types: dict
    sources: dict
    index: Var
    params: list[Var]
    block: Block | None = None
    entry: dict = field(default_factory=dict)  # the environment the region starts in
    init: list = field(default_factory=list)
    results: list = field(default_factory=list)
    local: list = field(default_factory=list)  # names bound only inside the loop
    whole: dict = field(default_factory=dict)  # names that are an array from before the loop all along → its storage

    def outs(self) -> list[Var]:
        return [Var(_key_hint(k), p.type) for k, p in zip(self.carried, self.params)]


def _is_state(key) -> bool:
    """Is `key` an environment entry for state a called function shares with its caller (a
    module global read or written, an array written into), not a name?"""
    return isinstance(key, Latest) or "@" in key


def _lookup(env: dict, key):
    """A key's value in an environment; a storage never written into is its own latest value."""
    return env.get(key, key.storage if isinstance(key, Latest) else None)


def _is_ellipsis(part) -> bool:
    return isinstance(part, gast.Constant) and part.value is Ellipsis


def _axes_taken(kind: str, atoms: list) -> int:
    """How many axes of the array an index part selects along: a slice or an integer one, a mask
    all of its own, None none."""
    if kind == "n":
        return 0
    if kind == "i" and atoms[0].type.is_array and atoms[0].type.dtype == "bool":
        return atoms[0].type.ndim
    return 1


# Scalar operations that cannot raise or change state: an operand of and/or made of them is
# computed whether or not it is needed (`Lowering.expr_BoolOp`).
_TOTAL = {P.lt, P.le, P.gt, P.ge, P.eq, P.ne, P.and_, P.or_, P.not_, P.add, P.sub, P.mul, P.neg, P.to_float,
          P.shape, P.size}


def _cannot_fail(eqn: Eqn) -> bool:
    return (eqn.prim in _TOTAL and not any(isinstance(a, Var) and a.type.is_array for a in eqn.ins)) \
        or (eqn.prim is P.getitem and eqn.ins[0].type.kind == "tuple")


def _same(value, before) -> bool:
    """Is `value` the value `before` was? (The same variable, or an equal literal: a region that
    folds ``g - 0`` back to g's literal has not changed g; a name unbound before and after has not
    changed either.)"""
    return value is before or (isinstance(value, Undefined) and isinstance(before, Undefined)) or (isinstance(value, Const) and isinstance(before, Const)
                               and value.type == before.type and repr(value.value) == repr(before.value))


def _key_hint(key) -> str:
    """The name a carried value is printed by: the name (of a global, for its ``name@module``
    key), or the array's for a `Latest` key."""
    return key.storage.name if isinstance(key, Latest) else _readable(key.split("@")[0])


_LIST_NAMES = {"n": "count", "k": "k", "a": "start", "b": "stop", "c": "step"}


def _typed_by_body(key) -> bool:
    """Is `key` a value a loop carries before it has one, typed by the loop's body: the result
    (a return inside the loop), or the rows of a list built in it (normalize.py's ``_lbuf``)?"""
    return key == RESULT or isinstance(key, str) and key.startswith("_lbuf")


def constant_container(obj) -> Value:
    """A tuple, list or dict of numbers from outside the function (`numbers_of`) as the
    container of its constants."""
    if isinstance(obj, dict):
        return DictVal({k: constant_container(v) for k, v in obj.items()})
    if isinstance(obj, (tuple, list)):
        return TupleVal(tuple(constant_container(v) for v in obj), type(obj))
    return const(obj)


# Operands that take a shape (a tuple of integers); a list given to another operand is an array
_SHAPE_OPERANDS = {"shape", "size", "size_and_like"}


def _array_like(value: TupleVal) -> bool:
    """Whether a list or tuple given to a NumPy function's operand is an array's items (a list,
    or a tuple holding something other than integers), not a shape."""
    return value.cls is list or (value.cls is tuple and not all(
        isinstance(v, (Var, Const)) and v.type.is_scalar and v.type.kind == "i64" for v in value.items))


_ALLOCATIONS = {P.zeros, P.ones, P.empty, P.full, P.arange, P.eye, P.linspace}
_NARROW_DTYPES = {np.float32: "np.float32", np.float16: "np.float16", np.int32: "np.int32", np.int16: "np.int16",
                  np.int8: "np.int8", np.uint8: "np.uint8", np.uint16: "np.uint16", np.uint32: "np.uint32",
                  np.uint64: "np.uint64", np.complex128: "np.complex128", np.complex64: "np.complex64",
                  "float32": "'float32'", "float16": "'float16'", "int32": "'int32'"}
_DTYPE_KINDS = {int: "i64", np.int64: "i64", np.intp: "i64", float: "f64", np.float64: "f64", bool: "bool",
                np.bool_: "bool"}


def _batched(a: Atom, b: Atom) -> bool:
    """Is ``a @ b`` a stack of matrix products (arrays, one of three or more axes)?"""
    return a.type.is_array and b.type.is_array and builtins.max(a.type.ndim, b.type.ndim) > 2


def _is_add_at(func: Value) -> bool:
    """Is `func` ``np.add.at``?"""
    return isinstance(func, PyObj) and getattr(func.obj, "__self__", None) is np.add \
        and getattr(func.obj, "__name__", None) == "at"


def _rows_guessed(key, t: Type) -> bool:
    """Is `t` the type an enclosing loop guessed for a list's rows (a float, before its body
    typed them), which an inner loop that appends to the list then settles?"""
    return isinstance(key, str) and key.startswith("_lbuf") and t == F64


def _appends(node) -> bool:
    """Is `node` ``name.append(...)``?"""
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and node.func.attr == "append" \
        and isinstance(node.func.value, gast.Name)


def _readable(name: str) -> str:
    """The name generated code gives a value bound to `name`: itself, or for the names of a list
    built in a loop (normalize.py) the list's name (its rows), 'item', 'count', ..."""
    built = re.fullmatch(r"_l(buf|item|count)\d+_(.+)", name)
    if built:
        return {"buf": built.group(2), "item": "item", "count": f"n_{built.group(2)}"}[built.group(1)]
    short = re.fullmatch(r"_l([nkabc])\d+i?", name)
    return _LIST_NAMES[short.group(1)] if short else name


def _mark() -> int:
    """An id no value made so far has (values are numbered as they are made)."""
    return Var(TEMP, I64).id


def _assigned_names(stmts: list) -> dict[str, bool]:
    """The names a list of statements assigns or writes into, in order of first appearance →
    whether it only writes into them (``x[i] = v``, ``x += v``) rather than binds them."""
    names: dict[str, bool] = {}
    nodes = [node for stmt in stmts for node in gast.walk(stmt)]
    updated = {id(node.target) for node in nodes if isinstance(node, gast.AugAssign)}
    for node in nodes:
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            if id(node) in updated:
                names.setdefault(node.id, True)
            else:
                names[node.id] = False
        elif isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store) \
                and isinstance(node.value, gast.Name):
            names.setdefault(node.value.id, True)
    return names


def _is_literal(value) -> bool:
    return value is None or isinstance(value, (bool, int, float))


def _namespace_of(fn):
    """An object whose attributes are `fn`'s module globals (the module itself when it has one)."""
    module = sys.modules.get(fn.__module__ or "")
    if module is not None and module.__dict__ is fn.__globals__:
        return module
    return _Namespace(fn.__globals__)


class _Namespace:
    """Attribute access to a globals dict that belongs to no importable module."""

    def __init__(self, mapping: dict):
        object.__setattr__(self, "_mapping", mapping)

    def __getattr__(self, name):
        try:
            return self._mapping[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self._mapping[name] = value


class _Defaults:
    """Attribute access to a function's default values, read when the generated code runs."""

    def __init__(self, fn):
        self._fn = fn

    def __getattr__(self, name):
        param = inspect.signature(self._fn, follow_wrapped=False).parameters.get(name)
        if param is None or param.default is param.empty:
            raise AttributeError(name)
        return param.default


class _Cells:
    """Attribute access to a function's closure variables, read when the generated code runs."""

    def __init__(self, cells: dict):
        self._cells = cells

    def __getattr__(self, name):
        try:
            return self._cells[name].cell_contents
        except (KeyError, ValueError):
            raise AttributeError(name) from None


def _end_with_return(tree: gast.FunctionDef) -> None:
    """Give a function that may end without a return the one Python runs: ``return`` (None)."""
    if not tree.body or not always_returns(tree.body[-1]):
        last = tree.body[-1] if tree.body else tree
        tree.body.append(gast.copy_location(gast.Return(None), last))


def _is_docstring(node) -> bool:
    return isinstance(node, gast.Expr) and isinstance(node.value, gast.Constant) \
        and isinstance(node.value.value, str)


def _described(node) -> str:
    """How an error names the array an expression gives: 'x', or 'x[i]'."""
    try:
        return ast.unparse(gast.gast_to_ast(node))
    except Exception:  # (an expression unparse cannot print)
        return "this array"


# The divisions of integers that Python refuses by 0, by NumPy's names for them (np.mod is "remainder").
_DIVISIONS = {P.floordiv: "floor_divide", P.mod: "remainder", P.div: "divide"}
# Operations whose result is NumPy's integer when an operand is (np.int64(7) + 1 is np.int64(8)).
_NUMPY_INT_ARITHMETIC = {P.add, P.sub, P.mul, P.floordiv, P.mod, P.neg, P.pow}
_OPS = {P.add: "+", P.sub: "-", P.mul: "*", P.div: "/", P.pow: "**", P.floordiv: "//", P.mod: "%", P.matmul: "@"}


def _is_hashable(obj) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def _is_library(module: types.ModuleType) -> bool:
    """Is `module` NumPy, SciPy, s2sad or the standard library (whose attributes nobody reassigns)?"""
    name = module.__name__.split(".")[0]
    return name in ("numpy", "scipy", "s2sad", "math", "builtins") or name in sys.stdlib_module_names


def _known_numpy(obj) -> bool:
    """Is `obj` a NumPy function s2sad lowers (as a primitive, a composition or an allocation)?"""
    return _is_hashable(obj) and (obj in P.NUMPY or obj in COMPOSED or obj in P.TUPLES or obj in ALLOCATE_LIKE)


def _is_numpy(obj) -> bool:
    return (getattr(obj, "__module__", "") or "").startswith("numpy")


def _qualname(obj) -> str:
    return getattr(obj, "__name__", type(obj).__name__)
