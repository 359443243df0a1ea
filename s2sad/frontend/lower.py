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

import inspect
import numbers
import re
import sys
import types
from dataclasses import dataclass

import gast
import numpy as np

from .. import primitives as P
from ..checkpoint import Policy, checkpointed, marker_policy
from ..custom import CustomRule
from ..errors import S2SADError, located
from ..ir.builder import Builder, const
from ..ir.core import TEMP, Atom, Block, Const, Eqn, ForRange, Function, If, Loc, Var, While, walk
from ..ir.types import BOOL, F64, I64, Type, promote, type_of_value
from .composed import COMPOSED, lower_composed
from .nested import check_inlinable, inline_gradient, is_derivative, lower_derivative
from .normalize import RESULT, normalize
from .parse import Source, parse
from .values import PyObj, TupleVal


@dataclass(frozen=True)
class BoundMethod:
    """``x.sum`` before it is called: a primitive with its first operand."""

    prim: P.Primitive
    receiver: Atom


@dataclass(frozen=True)
class Undefined:
    """A name that may be unbound here: assigned in one branch of an ``if``, or inside a loop."""

    lineno: int
    why: str = "is assigned in only one branch of the if"
    fix: str = "assign it in both"


Value = Atom | PyObj | TupleVal


_IN_PLACE = {P.add: P.index_add, P.sub: P.index_sub}  # x[idx] += v, x[idx] -= v
_REFUSED_STMTS = {
    gast.Try: "try/except cannot be differentiated; check inputs before calling the derivative",
    gast.With: "with blocks cannot be differentiated; move them outside the function",
    gast.Raise: "raise cannot be differentiated; validate inputs before calling the derivative",
    gast.Assert: "assert cannot be differentiated; check inputs before calling the derivative",
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
    gast.Lambda: "lambda is not supported; define a module-level function and call it",
    gast.List: "lists are not supported; use a NumPy array or a tuple",
    gast.ListComp: "list comprehensions are not supported; use NumPy operations",
    gast.SetComp: "set comprehensions are not supported",
    gast.DictComp: "dict comprehensions are not supported",
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
           "transpose": P.transpose}
REDUCTIONS = {P.sum, P.mean, P.amax, P.amin, P.prod, P.var, P.std}  # they take keepdims=
ALLOCATE_LIKE = {np.zeros_like: P.zeros, np.ones_like: P.ones, np.empty_like: P.empty, np.full_like: P.full}


def lower(fn, arg_types: list[Type]) -> Function:
    """The IR of `fn` specialised to `arg_types` (one type per parameter); `fn` may be a
    derivative object (``s2sad.grad(s2sad.grad(f))``: see nested.py)."""
    if is_derivative(fn):
        return lower_derivative(fn, arg_types)
    src = parse(fn)
    args = src.tree.args
    names = [a.id for a in args.args]
    _check_signature(src, args)
    if len(names) != len(arg_types):
        raise S2SADError(f"{fn.__name__} takes {len(names)} arguments, got types for {len(arg_types)}",
                         src.filename, src.first_line)
    params = [Var(n, t) for n, t in zip(names, arg_types)]
    builder = Builder()
    lowering = Lowering(src, builder, dict(zip(names, params)), stack=(fn,))
    result = lowering.run_body()
    results = list(result.items) if isinstance(result, TupleVal) else [result]
    taken = {n.id for n in gast.walk(src.tree) if isinstance(n, gast.Name)}
    for r in results:
        if isinstance(r, Var) and r.name == TEMP:
            r.name = "out" if "out" not in taken else "result"
    for r in results:
        if not isinstance(r, (Var, Const)):
            raise S2SADError(f"{fn.__name__} must return numbers or arrays, not {_describe(r)}",
                             src.filename, lowering.return_loc.lineno if lowering.return_loc else None)
    return Function(fn.__name__, builder.block(params, results), src.filename, src.first_line, names,
                    dict(lowering.spaces.values()))


def _check_signature(src: Source, args: gast.arguments) -> None:
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        raise located("only plain positional parameters are supported (no *args, **kwargs, "
                      "keyword-only or positional-only parameters)", src.loc(src.tree))


def _describe(value) -> str:
    if isinstance(value, BoundMethod):
        return f"the method .{value.prim.name}"
    if isinstance(value, PyObj):
        return f"the Python object {value.obj!r}"
    if isinstance(value, TupleVal):
        return "a tuple"
    return type(value).__name__


class Lowering:
    """Lowers one function body into `builder`, with `env` mapping names to values."""

    def __init__(self, src: Source, builder: Builder, env: dict, stack: tuple, views: dict | None = None,
                 spaces: dict | None = None, global_names: set | None = None):
        self.src = src
        self.b = builder
        self.env = env
        self.stack = stack
        self.views: dict[Var, Var] = {} if views is None else views  # view → the array it looks into
        self.spaces: dict[int, tuple] = {} if spaces is None else spaces  # id(globals) → (alias, namespace)
        self.global_names: set[str] = set() if global_names is None else global_names  # declared `global`
        self.return_loc: Loc | None = None

    # --- errors and locations -------------------------------------------------------------

    def error(self, node, message: str) -> S2SADError:
        return located(message, self.src.loc(node))

    # --- statements -------------------------------------------------------------------------

    def run_body(self) -> Value:
        """Lower the function body; the value of its final ``return``."""
        if not getattr(self.src, "normalized", False):
            normalize(self.src.tree)
            self.src.normalized = True
        body = list(self.src.tree.body)
        if body and _is_docstring(body[0]):
            body = body[1:]
        if not body or not isinstance(body[-1], gast.Return):
            node = body[-1] if body else self.src.tree
            raise self.error(node, f"{self.src.fn.__name__} must end with a return statement")
        self.lower_stmts(body[:-1])
        ret = body[-1]
        self.return_loc = self.src.loc(ret)
        if ret.value is None:
            raise self.error(ret, "return needs a value to differentiate")
        with self.b.at(self.src.loc(ret)):
            return self.expr(ret.value)

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
            self.global_names.add(name)

    def stmt_Return(self, node) -> None:
        raise self.error(node, "return is only supported as the last statement of the function; "
                               "assign the result to a variable and return it at the end")

    def stmt_Expr(self, node) -> None:
        if _is_docstring(node):
            return
        if isinstance(node.value, gast.Call) and self.statement_call(node.value):
            return
        if isinstance(node.value, (gast.Yield, gast.YieldFrom)):
            raise self.error(node, _REFUSED_EXPRS[gast.Yield])
        what = "print(...)" if _is_call_to(node.value, "print") else "an expression statement"
        raise self.error(node, f"{what} has no effect on the result and is not supported; remove it")

    def fresh(self, value: Value, node) -> Value:
        """An expression's array value as a new array, as NumPy would give (``x * 1.0`` is not x),
        when simplification made it an array another name already holds."""
        if isinstance(node, (gast.Name, gast.Subscript, gast.Attribute)) or not isinstance(value, Var) \
                or not value.type.is_array or not any(v is value for v in self.env.values()):
            return value
        return self.emit(P.copy, [value], node)

    def statement_call(self, node) -> bool:
        """A call made for its effect, such as ``np.random.seed(0)``: lower it, True if it was one."""
        func = self.expr(node.func)
        if not (isinstance(func, PyObj) and _is_hashable(func.obj) and func.obj in P.NUMPY
                and P.NUMPY[func.obj].statement):
            return False
        self.call_primitive(P.NUMPY[func.obj], [self.expr(a) for a in node.args],
                            {k.arg: self.expr(k.value) for k in node.keywords}, node)
        return True

    def stmt_Assign(self, node) -> None:
        value = self.fresh(self.expr(node.value), node.value)
        for target in node.targets:
            self.assign(target, value)

    def stmt_AnnAssign(self, node) -> None:
        if node.value is None:
            return
        self.assign(node.target, self.expr(node.value))

    def stmt_AugAssign(self, node) -> None:
        if isinstance(node.target, gast.Subscript):
            self.store(node.target, self.value(node.value), node.op)
            return
        if not isinstance(node.target, gast.Name):
            raise self.error(node, "augmented assignment is only supported on names and subscripts "
                                   "(x += ..., x[i] += ...), not on attributes")
        prim = self.binop_prim(node.op, node)
        self.assign(node.target, self.emit(prim, [self.name(node.target), self.value(node.value)], node))

    def assign(self, target, value: Value) -> None:
        if isinstance(target, gast.Name):
            if isinstance(value, Var) and value.name == TEMP:
                value.name = target.id  # a temporary takes the name it is first given
            if target.id in self.global_names:
                self.write_global(target, value)
                return
            self.env[target.id] = value
        elif isinstance(target, gast.Tuple):
            self.unpack(target, value)
        elif isinstance(target, gast.Subscript):
            if not isinstance(value, (Var, Const)):
                raise self.error(target, f"cannot store {_describe(value)} into an array")
            self.store(target, value, None)
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

    def namespace_alias(self) -> str:
        """The name under which generated code reaches this function's module globals."""
        key = id(self.src.fn.__globals__)
        if key not in self.spaces:
            base = re.sub(r"\W", "_", (self.src.fn.__module__ or "module").rsplit(".", 1)[-1]).strip("_") or "module"
            taken = {alias for alias, _ in self.spaces.values()}
            alias = next(f"{base}{k or ''}" for k in range(len(taken) + 1) if f"{base}{k or ''}" not in taken)
            self.spaces[key] = (alias, _namespace_of(self.src.fn))
        return self.spaces[key][0]

    def read_global(self, name: str, value, node) -> Atom:
        t = type_of_value(value)
        if t is None or t.kind == "rng":
            raise self.error(node, f"the global '{name}' is {type(value).__name__}; a differentiated function "
                                   "can read module numbers and arrays")
        alias = self.namespace_alias()
        key = f"{name}@{alias}"  # the value this function last read or wrote
        if key not in self.env:
            self.env[key] = self.emit(P.global_read, [], node, name, name=name, space=alias, type=t)
        return self.env[key]

    def store(self, target: gast.Subscript, value: Atom, op) -> None:
        """``x[idx] = value`` (or ``x[idx] op= value``): rebind x to the updated array."""
        if not isinstance(target.value, gast.Name):
            raise self.error(target, "only stores into a named array are supported (x[i] = v)")
        name = target.value.id
        base = self.name(target.value)
        if not isinstance(base, Var) or not base.type.is_array:
            raise self.error(target, f"'{name}' is not an array; cannot store into it")
        self.check_unaliased(name, base, target)
        spec, index = self.index(target.slice, store=True)
        if op is not None:
            prim = self.binop_prim(op, target)
            if prim in _IN_PLACE:
                self.env[name] = self.emit(_IN_PLACE[prim], [base, *index, value], target, name, spec=spec)
                return
            old = self.emit(P.getitem, [base, *index], target, spec=spec)
            value = self.emit(prim, [old, value], target)
        self.env[name] = self.emit(P.setitem, [base, *index, value], target, name, spec=spec)

    def check_unaliased(self, name: str, base: Var, node) -> None:
        """Refuse stores that NumPy would make visible through another name (a view, an alias)."""
        if base in self.views:
            raise self.error(node, f"'{name}' is a view of another array; storing into it would change "
                                   f"that array too, which is not supported: use {name} = {name}.copy() first")
        for other, value in self.env.items():
            if other != name and (value is base or self.views.get(value) is base):
                raise self.error(node, f"'{name}' shares its memory with '{other}'; storing into it is not "
                                       f"supported: make a copy with .copy() first")

    def unpack(self, target: gast.Tuple, value: Value) -> None:
        items = self.as_items(value, target)
        if len(items) != len(target.elts):
            raise self.error(target, f"cannot unpack {len(items)} values into {len(target.elts)} names")
        for elt, item in zip(target.elts, items):
            self.assign(elt, item)

    def as_items(self, value: Value, node) -> list:
        """The elements of a tuple value (a Python tuple, or an IR tuple such as ``x.shape``)."""
        if isinstance(value, TupleVal):
            return list(value.items)
        if isinstance(value, (Var, Const)) and value.type.kind == "tuple":
            return [self.emit(P.getitem, [value, const(k)], node, spec=("i",)) for k in range(value.type.ndim)]
        raise self.error(node, f"cannot unpack {_describe(value)}")

    # --- loops ---------------------------------------------------------------------------------

    def stmt_For(self, node) -> None:
        if node.orelse:
            raise self.error(node, "for-else is not supported; use a flag")
        if not isinstance(node.target, gast.Name):
            raise self.error(node, "the loop variable must be a single name")
        policy, iterable = self.checkpoint_marker(node.iter)
        start, stop, step, array = self.iteration(iterable)
        target = node.target.id

        def body(inner: "Lowering", index: Var) -> None:
            if array is not None:
                inner.env[target] = inner.emit(P.getitem, [array, index], node, target, spec=("i",))
            else:
                inner.env[target] = index
            inner.lower_stmts(node.body)

        carried = self.carried(node, exclude={target})
        init, (index, params, block) = self.loop_region(node, carried, body, index_hint=target if array is None else "k")
        outs = [Var(n, p.type) for n, p in zip(carried, params)]
        block.params = [index] + params
        self.b.append(ForRange(outs, start, stop, step, init, block, self.src.loc(node), policy))
        self.finish_loop(node, carried, outs, extra={target})

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

    def iteration(self, node) -> tuple[Atom, Atom, Atom, Atom | None]:
        """(start, stop, step, array) of a ``for``: over ``range(...)`` or an array's first axis."""
        if isinstance(node, gast.Call) and isinstance(self.expr(node.func), PyObj) \
                and self.expr(node.func).obj is range:
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
            return start, stop, step, None
        array = self.value(node)
        if not array.type.is_array:
            raise self.error(node, "a for loop iterates over range(...) or over an array's first axis")
        n = self.emit(P.getitem, [self.emit(P.shape, [array], node), const(0)], node, spec=("i",))
        return const(0), n, const(1), array

    def stmt_While(self, node) -> None:
        if node.orelse:
            raise self.error(node, "while-else is not supported; use a flag")
        carried = self.carried(node, exclude=set())
        cond_holder = {}

        def cond(inner: "Lowering", _index) -> None:
            cond_holder["c"] = inner.condition(node.test)

        init, (_, cond_params, cond_block) = self.loop_region(node, carried, cond, yields=False)
        cond_block.results = [cond_holder["c"]]
        init, (_, params, body) = self.loop_region(node, carried, lambda inner, _: inner.lower_stmts(node.body),
                                                  types=[p.type for p in cond_params])
        if [p.type for p in params] != [p.type for p in cond_params]:
            raise self.error(node, "a variable changes type inside the while loop; give it its final type "
                                   "before the loop (e.g. 0.0 rather than 0)")
        cond_block.params = cond_params
        body.params = params
        outs = [Var(n, p.type) for n, p in zip(carried, params)]
        self.b.append(While(outs, init, cond_block, body, self.src.loc(node)))
        self.finish_loop(node, carried, outs, extra=set())

    def carried(self, node, exclude: set[str]) -> list[str]:
        """Names the loop rebinds that exist before it: the loop-carried values."""
        names = [n for n in _assigned_names(node.body) if n not in exclude]
        carried = []
        for n in names:
            value = self.env.get(n)
            if n == RESULT and not isinstance(value, (Var, Const)):
                self.env[n] = value = Undefined(node.lineno)  # typed by the loop body, below
                carried.append(n)
                continue
            if value is None or isinstance(value, Undefined):
                continue
            if not isinstance(value, (Var, Const)):
                raise self.error(node, f"'{n}' is {_describe(value)} and is reassigned in the loop; "
                                       "only numbers and arrays can change in a loop")
            carried.append(n)
        return carried

    def loop_region(self, node, carried: list[str], lower_body, index_hint: str = "i", yields: bool = True,
                    types: list[Type] | None = None):
        """Lower a loop region until the carried values' types settle (an int that becomes a float
        is carried as a float). Returns the converted initial values and (index, params, block)."""
        types = types or [self.env[n].type if not isinstance(self.env[n], Undefined) else F64 for n in carried]
        for _ in range(len(carried) + 2):
            index = Var(index_hint, I64)
            params = [Var(n, t) for n, t in zip(carried, types)]
            builder = Builder(self.b.loc)
            inner = self.nested(builder, {**self.env, **dict(zip(carried, params))})
            lower_body(inner, index)
            writes = [s for s in walk(Block([], builder.stmts)) if isinstance(s, Eqn) and s.prim is P.global_write]
            if writes:
                raise located("assigning a global inside a loop is not supported; carry the value in a local "
                              "variable and assign the global after the loop", writes[0].loc)
            results = [inner.env.get(n) for n in carried] if yields else list(params)
            results = [r if n != RESULT or isinstance(r, (Var, Const)) else p
                       for n, r, p in zip(carried, results, params)]
            settled = self.settle_types(node, carried, types, results)
            if settled == types:
                break
            types = settled
        results = [self.convert(r, t, builder) for r, t in zip(results, types)]
        init = [self.convert(self.env[n], t, self.b) if not isinstance(self.env[n], Undefined)
                else placeholder(t, self.b) for n, t in zip(carried, types)]
        return init, (index, params, builder.block((), results))

    def settle_types(self, node, names: list[str], types: list[Type], results: list) -> list[Type]:
        settled = []
        for name, t, r in zip(names, types, results):
            if isinstance(r, Undefined) or r is None or not isinstance(r, (Var, Const)):
                raise self.error(node, f"'{name}' may be unbound at the end of the loop body")
            if r.type == t:
                settled.append(t)
            elif name == RESULT and isinstance(self.env.get(name), Undefined):
                settled.append(r.type)
            elif t.is_scalar and r.type.is_scalar:
                settled.append(promote(t, r.type))
            else:
                raise self.error(node, f"'{name}' is {t} before the loop and {r.type} after one iteration; "
                                       "keep its type and number of axes the same")
        return settled

    def finish_loop(self, node, carried: list[str], outs: list[Var], extra: set[str]) -> None:
        for name, out in zip(carried, outs):
            self.env[name] = out
        for name in set(_assigned_names(node.body)) | extra:
            if name not in carried:
                self.env[name] = Undefined(node.lineno, "is assigned only inside the loop",
                                           "assign it before the loop")

    def stmt_If(self, node) -> None:
        cond = self.condition(node.test)
        if isinstance(cond, Const):
            self.lower_stmts(node.body if cond.value else node.orelse)
            return
        before = dict(self.env)
        then_env, then_block = self.branch(node.body, before)
        else_env, else_block = self.branch(node.orelse, before)
        self.env = before
        self.join(node, cond, (then_env, then_block), (else_env, else_block))

    def branch(self, stmts: list, env: dict) -> tuple[dict, Builder]:
        builder = Builder(self.b.loc)
        inner = self.nested(builder, dict(env))
        inner.lower_stmts(stmts)
        return inner.env, builder

    def nested(self, builder: Builder, env: dict) -> "Lowering":
        """A lowering of a region (a branch, a loop body) sharing this one's view records."""
        return Lowering(self.src, builder, env, self.stack, self.views, self.spaces, self.global_names)

    def join(self, node, cond: Atom, then: tuple, orelse: tuple) -> list[Atom]:
        """Merge two branches into an `If`; names rebound in either branch become its results."""
        (then_env, then_b), (else_env, else_b) = then, orelse
        before = self.env
        changed = [n for n in {**then_env, **else_env}
                   if then_env.get(n) is not before.get(n) or else_env.get(n) is not before.get(n)]
        outs, then_res, else_res = [], [], []
        for name in changed:
            a, b = then_env.get(name), else_env.get(name)
            if name == RESULT:
                a, b = self.fill_result(a, then_b, b), self.fill_result(b, else_b, a)
            if a is None or b is None or isinstance(a, Undefined) or isinstance(b, Undefined):
                self.env[name] = Undefined(node.lineno)
                continue
            a, b = self.unify(node, name, (a, then_b), (b, else_b))
            out = Var(name, a.type)
            outs.append(out)
            then_res.append(a)
            else_res.append(b)
            self.env[name] = out
        self.b.append(If(outs, cond, then_b.block((), then_res), else_b.block((), else_res), self.src.loc(node)))
        return outs

    @staticmethod
    def fill_result(value, builder: Builder, other):
        """The function's result is unset on paths that have not returned: use a placeholder."""
        if isinstance(value, (Var, Const)) or not isinstance(other, (Var, Const)):
            return value
        return placeholder(other.type, builder)

    def unify(self, node, name: str, then: tuple, orelse: tuple) -> tuple[Atom, Atom]:
        """Make a name's values from two branches the same type (an int and a float → floats)."""
        (a, ab), (b, bb) = then, orelse
        for v in (a, b):
            if not isinstance(v, (Var, Const)):
                raise self.error(node, f"'{name}' is bound to {_describe(v)} in a branch; only numbers "
                                       "and arrays can be assigned in an if")
        if a.type == b.type:
            return a, b
        target = promote(a.type, b.type)
        if not (a.type.is_scalar and b.type.is_scalar):
            raise self.error(node, f"'{name}' is {a.type} in one branch and {b.type} in the other; "
                                   "give it the same type in both")
        return self.convert(a, target, ab), self.convert(b, target, bb)

    def convert(self, atom: Atom, target: Type, builder: Builder) -> Atom:
        if atom.type == target:
            return atom
        return builder.emit(P.to_float, [atom], getattr(atom, "name", TEMP))

    # --- expressions ------------------------------------------------------------------------

    def expr(self, node) -> Value:
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            reason = _REFUSED_EXPRS.get(type(node), f"{type(node).__name__} expressions are not supported")
            raise self.error(node, reason)
        with self.b.at(self.src.loc(node) if hasattr(node, "lineno") else None):
            return method(node)

    def value(self, node) -> Atom:
        """An expression that must be a number or an array."""
        v = self.expr(node)
        if not isinstance(v, (Var, Const)):
            raise self.error(node, f"expected a number or an array here, got {_describe(v)}")
        return v

    def emit(self, prim: P.Primitive, ins: list, node, hint: str = TEMP, **params) -> Atom:
        try:
            out = self.b.emit(prim, ins, hint, **params)
        except TypeError as exc:
            types_ = ", ".join(str(a.type) for a in ins)
            raise self.error(node, f"{prim.name} cannot take ({types_}): {exc}") from None
        if prim.aliases and isinstance(out, Var) and out.type.is_array and isinstance(ins[0], Var):
            self.views[out] = self.views.get(ins[0], ins[0])  # (x.T, x[1:], np.flip(x)…: a store into it is refused)
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
                raise self.error(node, f"'{name}' {value.why} at line "
                                       f"{self.src.first_line + value.lineno - 1}; {value.fix}")
            return value
        try:
            obj = self.src.resolve(name)
        except KeyError:
            raise self.error(node, f"name '{name}' is not defined") from None
        if name in self.global_names or isinstance(obj, np.ndarray) and name in self.src.fn.__globals__:
            return self.read_global(name, obj, node)
        return self.outside(obj, name, node)

    def outside(self, obj, name: str, node) -> Value:
        """A value for a name bound outside the function (a global, a closure cell, a builtin)."""
        if isinstance(obj, (bool, np.bool_, numbers.Integral, numbers.Real)) and not isinstance(obj, complex):
            return const(obj.item() if isinstance(obj, np.generic) else obj)
        if obj is range or isinstance(obj, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, np.ufunc,
                                            CustomRule)) or is_derivative(obj) \
                or callable(obj) and (_is_numpy(obj) or _is_hashable(obj) and obj in P.NUMPY):
            return PyObj(obj)
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
            return self.outside(getattr(base.obj, node.attr), f"{_qualname(base.obj)}.{node.attr}", node)
        if isinstance(base, (Var, Const)):
            return self.array_attribute(base, node)
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
            if attr not in P.GENERATOR_METHODS:
                raise self.error(node, f"Generator.{attr} is not supported; supported: "
                                       f"{', '.join(sorted(P.GENERATOR_METHODS))}")
            return BoundMethod(P.GENERATOR_METHODS[attr], base)
        if attr in METHODS:
            return BoundMethod(METHODS[attr], base)
        raise self.error(node, f"attribute .{attr} is not supported; supported: .shape, .ndim, .size, .T "
                               f"and the methods {', '.join(sorted(METHODS))}")

    def expr_BinOp(self, node) -> Atom:
        prim = self.binop_prim(node.op, node)
        return self.emit(prim, [self.value(node.left), self.value(node.right)], node)

    def binop_prim(self, op, node) -> P.Primitive:
        prim = P.BINOPS.get(type(op).__name__)
        if prim is None:
            raise self.error(node, f"operator {type(op).__name__} is not supported; "
                                   "supported: + - * / ** @ // %")
        return prim

    def expr_UnaryOp(self, node) -> Atom:
        operand = self.value(node.operand)
        if isinstance(node.op, gast.UAdd):
            return operand
        if isinstance(node.op, gast.USub):
            return self.emit(P.neg, [operand], node) if not isinstance(operand, Const) else const(-operand.value)
        if isinstance(node.op, gast.Not):
            return self.emit(P.not_, [self.truth(operand, node)], node)
        raise self.error(node, "operator ~ is not supported")

    def expr_Compare(self, node) -> Atom:
        result, left = None, self.value(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            prim = P.COMPARE.get(type(op).__name__)
            if prim is None:
                raise self.error(node, f"comparison {type(op).__name__} is not supported; "
                                       "supported: < <= > >= == !=")
            right = self.value(comparator)
            test = self.emit(prim, [left, right], node)
            result = test if result is None else self.emit(P.and_, [result, test], node)
            left = right
        return result

    def expr_BoolOp(self, node) -> Atom:
        prim = P.and_ if isinstance(node.op, gast.And) else P.or_
        values = [self.truth(self.value(v), v) for v in node.values]
        result = values[0]
        for v in values[1:]:
            result = self.emit(prim, [result, v], node)
        return result

    def truth(self, atom: Atom, node) -> Atom:
        """A scalar bool for `atom` used as a condition (numbers compare with zero)."""
        if atom.type.is_array:
            raise self.error(node, "the truth value of an array is ambiguous; compare scalars (for "
                                   "example an element x[i], or np.sum(x))")
        if atom.type == BOOL:
            return atom
        return self.emit(P.ne, [atom, const(0)], node)

    def condition(self, node) -> Atom:
        return self.truth(self.value(node), node)

    def expr_IfExp(self, node) -> Value:
        cond = self.condition(node.test)
        if isinstance(cond, Const):
            return self.expr(node.body if cond.value else node.orelse)
        then_b, else_b = Builder(self.b.loc), Builder(self.b.loc)
        a = self.nested(then_b, dict(self.env)).value(node.body)
        b = self.nested(else_b, dict(self.env)).value(node.orelse)
        a, b = self.unify(node, "the conditional expression", (a, then_b), (b, else_b))
        out = Var(TEMP, a.type)
        self.b.append(If([out], cond, then_b.block((), [a]), else_b.block((), [b]), self.src.loc(node)))
        return out

    def expr_Tuple(self, node) -> TupleVal:
        return TupleVal(tuple(self.expr(e) for e in node.elts))

    def expr_Subscript(self, node) -> Value:
        base = self.expr(node.value)
        if isinstance(base, TupleVal):
            index = self.expr(node.slice)
            if not (isinstance(index, Const) and isinstance(index.value, int)):
                raise self.error(node, "a tuple can only be indexed by an integer literal")
            return base.items[index.value]
        if not isinstance(base, (Var, Const)) or base.type.is_scalar:
            raise self.error(node, f"cannot index {_describe(base) if not isinstance(base, (Var, Const)) else 'a scalar'}")
        spec, operands = self.index(node.slice)
        return self.emit(P.getitem, [base, *operands], node, spec=spec)

    def index(self, node, store: bool = False) -> tuple[tuple, list[Atom]]:
        """The index spec (one of "i", "s", "n" per axis) and its operands. A read may use one
        index array (``x[idx]`` with integers, ``x[mask]`` with booleans), alone."""
        parts = node.elts if isinstance(node, gast.Tuple) else [node]
        spec, operands = [], []
        for part in parts:
            kind, atoms = self.index_part(part)
            spec.append(kind)
            operands += atoms
        arrays = [a for a in operands if a.type.is_array]
        if arrays and (store or len(parts) > 1 or arrays[0].type.ndim != 1):
            raise self.error(node, "an index array must be the only index, one-dimensional, and read from "
                                   "(x[idx], x[mask]); stores through index arrays are not supported yet")
        return tuple(spec), operands

    def index_part(self, part) -> tuple[str, list[Atom]]:
        if isinstance(part, gast.Slice):
            bounds = [self.index_value(b) if b is not None else const(None)
                      for b in (part.lower, part.upper, part.step)]
            return "s", bounds
        if isinstance(part, gast.Constant) and part.value is None:
            return "n", []
        if isinstance(part, gast.Constant) and part.value is Ellipsis:
            raise self.error(part, "... (Ellipsis) in an index is not supported; write the slices out")
        return "i", [self.index_value(part)]

    def index_value(self, node) -> Atom:
        atom = self.value(node)
        if atom.type.is_array and atom.type.dtype in ("i64", "bool"):
            return atom
        if atom.type.is_array:
            raise self.error(node, f"an index array must hold integers or booleans, not {atom.type}")
        if atom.type.kind not in ("i64", "none"):
            raise self.error(node, f"an index must be an integer, not {atom.type}")
        return atom

    # --- calls ------------------------------------------------------------------------------

    def expr_Call(self, node) -> Value:
        func = self.expr(node.func)
        if isinstance(func, PyObj) and _is_hashable(func.obj) and func.obj in COMPOSED \
                and COMPOSED[func.obj].from_node:
            return COMPOSED[func.obj].lower(self, node)
        args = [self.argument(a) for a in node.args]
        kwargs = {k.arg: self.argument(k.value) for k in node.keywords}
        if any(isinstance(a, gast.Starred) for a in node.args) or None in kwargs:
            raise self.error(node, "*args and **kwargs in calls are not supported")
        if isinstance(func, BoundMethod):
            return self.call_primitive(func.prim, [func.receiver, *args], kwargs, node)
        if not isinstance(func, PyObj):
            raise self.error(node, f"cannot call {_describe(func)}")
        return self.call_object(func.obj, args, kwargs, node)

    def argument(self, node) -> Value:
        """A call's argument: an expression, or a string literal (``mode="constant"``), which
        only a parameter that takes one accepts."""
        if isinstance(node, gast.Constant) and isinstance(node.value, str):
            return PyObj(node.value)
        return self.expr(node)

    def call_object(self, obj, args: list, kwargs: dict, node) -> Value:
        if obj is len:
            return self.length(args, node)
        if _is_hashable(obj) and obj in COMPOSED:
            return lower_composed(self, obj, args, kwargs, node)
        if _is_hashable(obj) and obj in ALLOCATE_LIKE:
            return self.allocate_like(ALLOCATE_LIKE[obj], args, kwargs, node)
        if _is_hashable(obj) and obj in P.NUMPY:
            return self.call_primitive(P.NUMPY[obj], args, kwargs, node)
        if _is_hashable(obj) and obj in P.TUPLES:  # (unused items are dropped later)
            alone = self.item_alone(obj, args, kwargs)
            if alone is not None:
                return self.call_primitive(alone, args, kwargs, node)
            return TupleVal(tuple(self.call_primitive(prim, args, kwargs, node) for prim in P.TUPLES[obj]))
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
        """``np.zeros_like(x)`` is ``np.zeros(x.shape)`` (always float64; the values carry no
        derivative from x)."""
        if kwargs or not args or not isinstance(args[0], (Var, Const)) or len(args) != (2 if prim is P.full else 1):
            raise self.error(node, f"{prim.name}_like takes an array{' and a fill value' if prim is P.full else ''}"
                                   " (no dtype or other keywords)")
        like = args[0]
        shape = self.emit(P.shape, [like], node) if like.type.is_array else const(())
        return self.call_primitive(prim, [shape, *args[1:]], {}, node)

    def length(self, args: list, node) -> Atom:
        if len(args) != 1 or not isinstance(args[0], (Var, Const)) or not args[0].type.is_array:
            raise self.error(node, "len() takes one array")
        shape = self.emit(P.shape, [args[0]], node)
        return self.emit(P.getitem, [shape, const(0)], node, spec=("i",))

    def call_primitive(self, prim: P.Primitive, args: list, kwargs: dict, node) -> Atom:
        if "keepdims" in kwargs and prim in REDUCTIONS:
            return self.keep_dims(prim, args, kwargs, node)
        if prim in P.SEQUENCE_OPERANDS:
            if not args or not isinstance(args[0], TupleVal) or len(args) > 1:
                raise self.error(node, f"np.{prim.name} takes a tuple of arrays (and axis=)")
            args = list(args[0].items)
        try:
            bound = prim.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise self.error(node, f"bad arguments to {prim.name}: {exc}") from None
        bound.apply_defaults()
        if prim in REDUCTIONS and isinstance(bound.arguments.get("axis"), TupleVal):
            bound.arguments["axis"] = self.axes(bound.arguments["axis"], bound.arguments["x"], node)
        operands, params = [], {}
        for pname, value in bound.arguments.items():
            if pname in prim.statics:
                params[pname] = self.static(value, pname, prim, node)
            elif isinstance(value, tuple):
                operands += [self.operand(v, node) for v in value]
            elif isinstance(value, TupleVal):
                operands.append(self.make_tuple(value, node))
            else:
                operands.append(self.operand(const(value) if _is_literal(value) else value, node))
        if prim is P.dot and any(a.type.is_scalar for a in operands):
            prim = P.mul  # np.dot with a number is a product (and Numba has no such dot)
        return self.emit(prim, operands, node, **params)

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
            return self.emit(P.full, [const((1,) * ndim), reduced], node) if ndim else reduced
        for a in sorted(k % ndim for k in (axis if isinstance(axis, tuple) else (axis,))):
            reduced = self.emit(P.expand_dims, [reduced], node, axis=a)
        return reduced

    def axes(self, value: TupleVal, x, node) -> TupleVal:
        """A literal tuple of axes, made non-negative and sorted (as the emitted code needs)."""
        ndim = x.type.ndim if isinstance(x, (Var, Const)) and x.type.is_array else 0
        if not all(isinstance(v, Const) and isinstance(v.value, int) for v in value.items) or not ndim:
            return value
        return TupleVal(tuple(const(a) for a in sorted({v.value % ndim for v in value.items})))

    def make_tuple(self, value: TupleVal, node) -> Atom:
        """A tuple of integers used as a value (a shape such as ``(n, 3)``)."""
        items = [self.operand(v, node) for v in value.items]
        if any(a.type.kind != "i64" for a in items):
            raise self.error(node, "a tuple passed to a function must hold integers (a shape)")
        if all(isinstance(a, Const) for a in items):
            return const(tuple(a.value for a in items))
        return self.emit(P.make_tuple, items, node)

    def operand(self, value: Value, node) -> Atom:
        if not isinstance(value, (Var, Const)):
            raise self.error(node, f"expected a number or an array as an argument, got {_describe(value)}")
        return value

    def static(self, value: Value, pname: str, prim: P.Primitive, node):
        if value is None or value == prim.statics.get(pname, object()):
            return value
        if isinstance(value, TupleVal) and all(isinstance(v, Const) for v in value.items):
            return tuple(v.value for v in value.items)
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
        _check_signature(callee, callee.tree.args)
        env = self.bind_call(fn, callee, args, kwargs, node)
        env.update({k: v for k, v in self.env.items() if "@" in k})  # globals already read or written
        inner = Lowering(callee, self.b, env, self.stack + (fn,), self.views, self.spaces)
        with self.b.at(None):
            result = inner.run_body()
        self.env.update({k: v for k, v in inner.env.items() if "@" in k})
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
        return inline_gradient(d, operands, self.b, self.src.loc(node))

    def custom_call(self, rule: CustomRule, args: list, kwargs: dict, node) -> Atom:
        """A call to a `s2sad.custom_rule` function: its body computes the value from the
        arguments behind `stop`, and a `custom` equation carries the user's rules."""
        if kwargs:
            raise self.error(node, f"pass the arguments of {rule.fn.__name__} by position (it has a custom rule)")
        operands = [self.operand(a, node) for a in args]
        detached = [self.emit(P.stop, [a], node) if isinstance(a, Var) else a for a in operands]
        value = self.operand(self.inline(rule.fn, detached, {}, node), node)
        return self.emit(P.custom, [value, *operands], node, rule=rule)

    def bind_call(self, fn, callee: Source, args: list, kwargs: dict, node) -> dict:
        try:
            bound = inspect.signature(fn).bind(*args, **kwargs)
        except TypeError as exc:
            raise self.error(node, f"bad arguments to {fn.__name__}: {exc}") from None
        env = {}
        for name, param in inspect.signature(fn).parameters.items():
            if name in bound.arguments:
                env[name] = bound.arguments[name]
            else:
                env[name] = self.outside(param.default, name, node)
        return env


def lower_call(fn, args: list[Atom], builder: Builder) -> list[Atom]:
    """Lower a call ``fn(*args)`` into `builder`, as a call is inlined; the values it returns (the
    items of a returned tuple). Used for the derivative functions of a `custom_rule`."""
    src = parse(fn)
    _check_signature(src, src.tree.args)
    names = [a.id for a in src.tree.args.args]
    if len(names) != len(args):
        raise S2SADError(f"{fn.__name__} takes {len(names)} arguments but is called with {len(args)}",
                         src.filename, src.first_line)
    lowering = Lowering(src, builder, dict(zip(names, args)), stack=(fn,))
    with builder.at(None):
        result = lowering.run_body()
    if lowering.spaces:
        raise S2SADError(f"{fn.__name__} reads a module's global array; pass it as an argument instead",
                         src.filename, src.first_line)
    return list(result.items) if isinstance(result, TupleVal) else [result]


def placeholder(t: Type, builder: Builder) -> Atom:
    """A value of type `t` standing where none is defined yet (never read)."""
    if t.is_scalar:
        return const({"f64": 0.0, "i64": 0, "bool": False}[t.kind])
    return builder.emit(P.placeholder, [], TEMP, ndim=t.ndim)


def _assigned_names(stmts: list) -> list[str]:
    """Names a list of statements (re)binds, in order of first appearance; ``x[i] = v`` rebinds x."""
    names: dict[str, None] = {}
    for stmt in stmts:
        for node in gast.walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                names[node.id] = None
            elif isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store) \
                    and isinstance(node.value, gast.Name):
                names[node.value.id] = None
    return list(names)


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


def _is_docstring(node) -> bool:
    return isinstance(node, gast.Expr) and isinstance(node.value, gast.Constant) \
        and isinstance(node.value.value, str)


def _is_call_to(node, name: str) -> bool:
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id == name


def _is_hashable(obj) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def _is_numpy(obj) -> bool:
    return (getattr(obj, "__module__", "") or "").startswith("numpy")


def _qualname(obj) -> str:
    return getattr(obj, "__name__", type(obj).__name__)
