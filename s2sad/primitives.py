"""Primitives: the operations the IR is made of.

A primitive is an object, not a string: it knows its operands and static parameters (so the
frontend can bind a call such as ``np.sum(x, axis=0)``), its type rule, how to evaluate it
(for constant folding) and how to print it as Python (for codegen). Derivative rules live in
`s2sad.rules`, keyed by these objects.
"""

from __future__ import annotations

import ast
import builtins
import inspect
from typing import Callable, Sequence

import numpy as np

from . import runtime
from .ir.types import BOOL, F64, I64, NONE, RNG, Type, promote, tuple_of

Emit = Callable[[list, dict], ast.expr]


class Primitive:
    """One IR operation.

    operands: names of the value operands, in order (``"*idx"`` takes the rest).
    statics:  static parameters with their defaults (must be literal at the call site).
    typer:    ``typer(in_types, params) -> out type``.
    emit:     ``emit(arg_exprs, params) -> ast.expr`` printing the operation as Python.
    impl:     a Python function evaluating it (for constant folding), or None.
    aliases:  the result may share memory with the first operand (a view, or the operand itself).
    readonly: ``readonly(in_types)`` is true when the result may be a read-only view of the first
              operand (``np.diag`` of a matrix): it shares the operand's memory, and codegen never
              writes into it in place.
    inplace:  the result is the first operand modified (``x[i] = v``): codegen needs copy insertion.
    pure:     no side effects (False: random draws, global writes; never removed, moved or merged).
    statement: the primitive has no result and `emit` gives a statement.
    repeats:  ``repeats(params)`` is true when `emit` prints an operand more than once
              (``np.sum(x, axis=1) / x.shape[1]``): codegen names the operand rather than
              writing its expression in twice.
    fresh:    for an in-place primitive, ``fresh(arg_exprs, params) -> ast.expr`` printing its
              result as a new array (``x + y``), used when the operand cannot be overwritten;
              without it, codegen copies the operand and updates the copy.
    """

    def __init__(self, name: str, operands: Sequence[str], typer, emit: Emit, *, statics=None,
                 impl=None, aliases=False, inplace=False, pure=True, statement=False, defaults=None,
                 fresh=None, repeats=None, readonly=None):
        self.name = name
        self.operands = tuple(operands)
        self.statics = dict(statics or {})
        self.typer = typer
        self.emit = emit
        self.impl = impl
        self.aliases = aliases
        self.inplace = inplace
        self.pure = pure
        self.statement = statement  # emit gives a whole statement (the primitive has no result)
        self.defaults = dict(defaults or {})  # default values of trailing operands
        self.fresh = fresh
        self.repeats = repeats
        self.readonly = readonly or (lambda in_types: False)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def __reduce__(self):
        return (_lookup_by_name, (self.name,))

    @property
    def signature(self) -> inspect.Signature:
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        params = [inspect.Parameter(n.lstrip("*"), inspect.Parameter.VAR_POSITIONAL if n.startswith("*") else kind,
                                    default=self.defaults.get(n, inspect.Parameter.empty))
                  for n in self.operands]
        after = inspect.Parameter.KEYWORD_ONLY if any(n.startswith("*") for n in self.operands) else kind
        params += [inspect.Parameter(k, after, default=v) for k, v in self.statics.items()]
        return inspect.Signature(params)

    def out_type(self, in_types: list[Type], params: dict) -> Type:
        return self.typer(in_types, params)


ALL: dict[str, Primitive] = {}


def _lookup_by_name(name: str) -> Primitive:
    return ALL[name]


def _define(name, operands, typer, emit, **kw) -> Primitive:
    if name in ALL:  # (the registry, rules and the IR's printed form know primitives by name)
        raise ValueError(f"a primitive named {name!r} is defined already")
    prim = Primitive(name, operands, typer, emit, **kw)
    ALL[name] = prim
    return prim


# --- printing helpers -------------------------------------------------------------------

def _attr_chain(dotted: str) -> ast.expr:
    head, *rest = dotted.split(".")
    node: ast.expr = ast.Name(head, ast.Load())
    for part in rest:
        node = ast.Attribute(node, part, ast.Load())
    return node


def helper_emitter(name: str, *statics: str) -> Emit:
    """Print as ``name(args..., static...)``: a runtime helper taking its parameters in order
    (Numba's compiled helpers take no keywords)."""
    def emit(args, params):
        return ast.Call(_attr_chain(name), list(args) + [ast.Constant(params[k]) for k in statics], [])
    return emit


def call_emitter(dotted: str, kwargs: Sequence[str] = ()) -> Emit:
    """Print as ``dotted(args..., kw=param...)``, skipping parameters equal to None."""
    def emit(args, params):
        keywords = [ast.keyword(k, ast.Constant(params[k])) for k in kwargs if params.get(k) is not None]
        return ast.Call(_attr_chain(dotted), list(args), keywords)
    return emit


def _legacy_emitter(dotted: str) -> Emit:
    """``dotted(args...)``, leaving out a trailing None (an optional operand not given)."""
    def emit(args, params):
        rest = list(args)
        if rest and isinstance(rest[-1], ast.Constant) and rest[-1].value is None:
            rest.pop()
        return ast.Call(_attr_chain(dotted), rest, [])
    return emit


def binop_emitter(op: ast.operator) -> Emit:
    return lambda args, params: ast.BinOp(args[0], op, args[1])


def compare_emitter(op: ast.cmpop) -> Emit:
    return lambda args, params: ast.Compare(args[0], [op], [args[1]])


# --- type rules -----------------------------------------------------------------------

def elementwise(in_types, params):
    return promote(*in_types)


def floating(in_types, params):
    return F64.with_ndim(builtins.max(t.ndim if t.is_array else 0 for t in in_types))


def boolean(in_types, params):
    return BOOL.with_ndim(builtins.max(t.ndim if t.is_array else 0 for t in in_types))


def _call_statement(name: str) -> Emit:
    """Print as the statement ``name(args...)``."""
    return lambda args, params: ast.Expr(ast.Call(ast.Name(name, ast.Load()), list(args), []))


def same_as_first(in_types, params):
    return in_types[0]


def check_axis(axis, ndim: int) -> None:
    """Refuse an axis that is not an integer naming one of `ndim` axes (from the end if negative)."""
    if not isinstance(axis, int) or isinstance(axis, bool) or not -ndim <= axis < ndim:
        raise TypeError(f"axis={axis!r} is not an axis of an array with {ndim} axes")


def _numbers(in_types, what: str) -> None:
    if any(not t.is_scalar or t.kind == "none" for t in in_types):
        raise TypeError(f"takes {what}")


def reduced(in_types, params):
    t = in_types[0]
    if params.get("axis") is None or not t.is_array:
        return t.element if params.get("axis") is None else t
    axes = params["axis"] if isinstance(params["axis"], tuple) else (params["axis"],)
    return t.with_ndim(t.ndim - len(axes))


def reduced_float(in_types, params):
    return F64.with_ndim(reduced(in_types, params).ndim if reduced(in_types, params).is_array else 0)


def matmul_type(in_types, params):
    a, b = in_types
    if a.ndim > 2 or b.ndim > 2 or not (a.is_array and b.is_array):
        raise TypeError("matmul needs two arrays with one or two axes each")
    return promote(a, b).with_ndim(a.ndim + b.ndim - 2)


def lanes_matmul_type(in_types, params):
    a, b = in_types
    if sorted((a.ndim, b.ndim))[0] > 2 or a.ndim + b.ndim < 4 or not (a.is_array and b.is_array):
        raise TypeError("lanes_matmul needs a batch of matrices (3 axes) and a vector or a matrix")
    return promote(a, b).with_ndim(a.ndim + b.ndim - 2)


def dot_type(in_types, params):
    a, b = in_types
    if not (a.is_array and b.is_array):
        return promote(a, b)
    return matmul_type(in_types, params)


def where_type(in_types, params):
    c, a, b = in_types
    return promote(a, b).with_ndim(builtins.max(t.ndim if t.is_array else 0 for t in in_types))


# --- arithmetic -------------------------------------------------------------------------

add = _define("add", "ab", elementwise, binop_emitter(ast.Add()), impl=np.add)
sub = _define("sub", "ab", elementwise, binop_emitter(ast.Sub()), impl=np.subtract)
mul = _define("mul", "ab", elementwise, binop_emitter(ast.Mult()), impl=np.multiply)
div = _define("div", "ab", floating, binop_emitter(ast.Div()), impl=np.true_divide)
pow = _define("pow", "ab", elementwise, binop_emitter(ast.Pow()), impl=np.power)
floordiv = _define("floordiv", "ab", elementwise, binop_emitter(ast.FloorDiv()), impl=np.floor_divide)
mod = _define("mod", "ab", elementwise, binop_emitter(ast.Mod()), impl=np.mod)
neg = _define("neg", "a", same_as_first, lambda a, p: ast.UnaryOp(ast.USub(), a[0]), impl=np.negative)
matmul = _define("matmul", "ab", matmul_type, binop_emitter(ast.MatMult()), impl=np.matmul)
dot = _define("dot", "ab", dot_type, call_emitter("np.dot"), impl=np.dot)
# a @ b where one operand is a batch of matrices (k, m, n), the other a vector or a matrix: the
# tangents of a matrix product in vector forward mode (Numba's own product takes two axes at most)
lanes_matmul = _define("lanes_matmul", "ab", lanes_matmul_type, call_emitter("lanes_matmul"), impl=np.matmul)
# a batch of tangents (k, 1.., *s) broadcast to (k, *like.shape) (itself when it has that shape)
lanes_full = _define("lanes_full", ["t", "like"], lambda t, p: F64.with_ndim(t[0].ndim), call_emitter("lanes_full"),
                     impl=runtime.lanes_full, aliases=True)

# --- comparisons and logic (never differentiated) -----------------------------------------

lt = _define("lt", "ab", boolean, compare_emitter(ast.Lt()), impl=np.less)
le = _define("le", "ab", boolean, compare_emitter(ast.LtE()), impl=np.less_equal)
gt = _define("gt", "ab", boolean, compare_emitter(ast.Gt()), impl=np.greater)
ge = _define("ge", "ab", boolean, compare_emitter(ast.GtE()), impl=np.greater_equal)
eq = _define("eq", "ab", boolean, compare_emitter(ast.Eq()), impl=np.equal)
ne = _define("ne", "ab", boolean, compare_emitter(ast.NotEq()), impl=np.not_equal)


def _bitwise(in_types, params):
    """& | ^ ~ of booleans (elementwise logic) or integers (bits), as NumPy: not of floats."""
    kinds = {t.element.kind for t in in_types}
    if not kinds <= {"bool", "i64"}:
        raise TypeError("& | ^ and ~ take booleans or integers, not floats (NumPy refuses them); combine "
                        "conditions on floats after comparing: (x > 0.0) & (x < 1.0)")
    return (BOOL if kinds == {"bool"} else I64).with_ndim(builtins.max(t.ndim if t.is_array else 0 for t in in_types))


bitand = _define("bitand", "ab", _bitwise, binop_emitter(ast.BitAnd()), impl=np.bitwise_and)
bitor = _define("bitor", "ab", _bitwise, binop_emitter(ast.BitOr()), impl=np.bitwise_or)
bitxor = _define("bitxor", "ab", _bitwise, binop_emitter(ast.BitXor()), impl=np.bitwise_xor)
invert = _define("invert", "a", _bitwise, lambda a, p: ast.UnaryOp(ast.Invert(), a[0]), impl=np.invert)

not_ = _define("not", "a", boolean, lambda a, p: ast.UnaryOp(ast.Not(), a[0]), impl=np.logical_not)
and_ = _define("and", "ab", boolean, lambda a, p: ast.BoolOp(ast.And(), list(a)), impl=np.logical_and)
or_ = _define("or", "ab", boolean, lambda a, p: ast.BoolOp(ast.Or(), list(a)), impl=np.logical_or)

# --- elementwise functions ----------------------------------------------------------------

def _unary(name: str, typer=floating) -> Primitive:
    fn = getattr(np, name)
    return _define(name, "x", typer, call_emitter(f"np.{name}"), impl=fn)


exp, log, sqrt = _unary("exp"), _unary("log"), _unary("sqrt")
floor = _unary("floor")
sin, cos, tan, tanh = _unary("sin"), _unary("cos"), _unary("tan"), _unary("tanh")
abs = _unary("abs", elementwise)
sign = _unary("sign", elementwise)
expm1, log1p, log2, log10 = _unary("expm1"), _unary("log1p"), _unary("log2"), _unary("log10")
cbrt, square, reciprocal = _unary("cbrt"), _unary("square", elementwise), _unary("reciprocal", elementwise)
arcsin, arccos, arctan = _unary("arcsin"), _unary("arccos"), _unary("arctan")
sinh, cosh, arcsinh, arccosh, arctanh = (_unary(n) for n in ("sinh", "cosh", "arcsinh", "arccosh", "arctanh"))
ceil, trunc, rint = _unary("ceil"), _unary("trunc"), _unary("rint")
round = _define("round", "x", elementwise, call_emitter("np.round", ["decimals"]), statics={"decimals": None},
                impl=lambda x, decimals=None: np.round(x, decimals or 0))
isfinite, isnan, isinf = _unary("isfinite", boolean), _unary("isnan", boolean), _unary("isinf", boolean)


def _special(name: str, operands: str = "x") -> Primitive:
    """A function of scipy.special, called through `s2sad.runtime` (SciPy's own; under Numba, a
    ufunc of its formula). frontend/special.py maps SciPy's names to these once SciPy is imported."""
    return _define(name, operands, floating, call_emitter(name), impl=getattr(runtime, name))


erf, erfc, gammaln, digamma = _special("erf"), _special("erfc"), _special("gammaln"), _special("digamma")
trigamma = _special("trigamma")  # (ψ₁, the derivative of digamma: only its rule emits it)
expit, logit, xlogy = _special("expit"), _special("logit"), _special("xlogy", "xy")


def _binary(name: str) -> Primitive:
    return _define(name, "ab", floating, call_emitter(f"np.{name}"), impl=getattr(np, name))


hypot, arctan2, logaddexp = _binary("hypot"), _binary("arctan2"), _binary("logaddexp")
fmax = _define("fmax", "ab", elementwise, call_emitter("np.fmax"), impl=np.fmax)
fmin = _define("fmin", "ab", elementwise, call_emitter("np.fmin"), impl=np.fmin)
maximum = _define("maximum", "ab", elementwise, call_emitter("np.maximum"), impl=np.maximum)
minimum = _define("minimum", "ab", elementwise, call_emitter("np.minimum"), impl=np.minimum)
max = _define("max", "ab", elementwise, call_emitter("max"), impl=builtins.max)
min = _define("min", "ab", elementwise, call_emitter("min"), impl=builtins.min)
where = _define("where", "cab", where_type, call_emitter("np.where"), impl=np.where)
def _clip_type(in_types, params):
    if any(t.kind == "none" for t in in_types):
        raise TypeError("needs a bound (np.clip(x, None, None) is a copy of x: write x.copy())")
    return elementwise(in_types, params)


clip = _define("clip", ["x", "lo", "hi"], _clip_type, call_emitter("np.clip"), impl=np.clip)
# float(x) as a NumPy float, as the derivative's float arguments are (a division by it gives NumPy's
# infinity and warning, in Python as in compiled code, not Python's ZeroDivisionError)
to_float = _define("float", "x", lambda t, p: F64, call_emitter("np.float64"), impl=float)


def _number_type(kind: str):
    def number(in_types, params):
        if not in_types[0].is_scalar:
            raise TypeError(f"takes a number, not {in_types[0]} (for an array, use .astype)")
        return Type(kind)
    return number


checked_fraction = _define("checked_fraction", ["q", "scale"], same_as_first, call_emitter("checked_fraction"),
                           impl=runtime.checked_fraction)  # (a quantile, checked to be within 0 ... scale)
histogram_span = _define("histogram_span", ["low", "high"], lambda t, p: F64,
                         helper_emitter("histogram_span", "upper"), statics={"upper": False},
                         impl=runtime.histogram_span)  # (an end of np.histogram's range)
histogram_weights = _define("histogram_weights", ["weights", "a"], same_as_first, call_emitter("histogram_weights"),
                            impl=runtime.histogram_weights, aliases=True)  # (checked to have a's shape)
increasing = _define("increasing", "x", same_as_first, call_emitter("increasing"), impl=runtime.increasing,
                     aliases=True)  # (np.histogram's edges, checked not to decrease)
to_int = _define("int", "x", _number_type("i64"), call_emitter("to_int"), impl=runtime.to_int)


def _astype_emit(args, params):
    return ast.Call(ast.Attribute(args[0], "astype", ast.Load()), [_attr_chain(f"np.{_DTYPES[params['dtype']]}")], [])


astype = _define("astype", "x", lambda t, p: Type(p["dtype"]).with_ndim(t[0].ndim), _astype_emit,
                 statics={"dtype": "f64"}, impl=lambda x, dtype="f64": x.astype(_DTYPES[dtype]))


def _index_of_type(in_types, params):
    if not in_types[0].is_array:
        raise TypeError(f"takes an array, not {in_types[0]}")
    return I64 if params.get("axis") is None else I64.with_ndim(in_types[0].ndim - 1)


def _like_second(in_types, params):
    return I64.with_ndim(in_types[1].ndim) if in_types[1].is_array else I64


def _like_first_ints(in_types, params):
    return I64.with_ndim(in_types[0].ndim) if in_types[0].is_array else I64


def _argsort_type(in_types, params):
    if not (in_types[0].is_array and in_types[0].ndim == 1):
        raise TypeError(f"sorts a vector, not {in_types[0]}")
    return I64.with_ndim(1)


argsort = _define("argsort", "x", _argsort_type,
                  lambda a, p: ast.Call(_attr_chain("np.argsort"), [a[0]], [ast.keyword("kind", ast.Constant("mergesort"))]),
                  impl=lambda x: np.argsort(x, kind="mergesort"))  # (ties in their order: a stable sort)
# The positions of np.maximum.accumulate's (larger) or np.minimum.accumulate's elements along a
# matrix's first axis (the composition reads them: frontend/composed.py).
running_extreme = _define("running_extreme", "x", lambda t, p: I64.with_ndim(2),
                          helper_emitter("running_extreme", "larger"), statics={"larger": True},
                          impl=runtime.running_extreme)
sort_columns = _define("sort_columns", "x", lambda t, p: I64.with_ndim(2), call_emitter("sort_columns"),
                       impl=runtime.sort_columns)  # (np.argsort of a matrix along its first axis)
argmax = _define("argmax", "x", _index_of_type, call_emitter("np.argmax", ["axis"]), statics={"axis": None},
                 impl=np.argmax)
argmin = _define("argmin", "x", _index_of_type, call_emitter("np.argmin", ["axis"]), statics={"axis": None},
                 impl=np.argmin)
# The row (part 0) or column (part 1) indices of np.triu_indices(n, k, m) (np.tril_indices when lower).
triangle_indices = _define(
    "triangle_indices", ["n", "k", "m"], lambda t, p: I64.with_ndim(1),
    lambda a, p: ast.Subscript(ast.Call(_attr_chain("np.tril_indices" if p["lower"] else "np.triu_indices"), list(a), []),
                               ast.Constant(p["part"]), ast.Load()),
    statics={"lower": False, "part": 0},
    impl=lambda n, k, m, lower=False, part=0: (np.tril_indices if lower else np.triu_indices)(n, k, m)[part])
searchsorted = _define("searchsorted", ["a", "v"], _like_second, call_emitter("np.searchsorted", ["side"]),
                       statics={"side": "left"}, impl=np.searchsorted)
digitize = _define("digitize", ["x", "bins"], _like_first_ints, call_emitter("np.digitize", ["right"]),
                   statics={"right": False}, impl=np.digitize)

# --- reductions ------------------------------------------------------------------------

def _reduction_emitter(dotted: str) -> Emit:
    """``np.sum(x, axis=a)``; over a tuple of axes, one reduction per axis from the last
    (``np.sum(np.sum(x, axis=2), axis=0)``), which Numba compiles."""
    def emit(args, params):
        axis = params.get("axis")
        if not isinstance(axis, tuple):
            return call_emitter(dotted, ["axis"])(args, params)
        value = args[0]
        for a in sorted(axis, reverse=True):
            value = call_emitter(dotted, ["axis"])([value], {"axis": a})
        return value
    return emit


sum = _define("sum", "x", reduced, _reduction_emitter("np.sum"), statics={"axis": None},
              impl=lambda x, axis=None: np.sum(x, axis=axis))
amax = _define("amax", "x", reduced, _reduction_emitter("np.max"), statics={"axis": None},
               impl=lambda x, axis=None: np.max(x, axis=axis))
amin = _define("amin", "x", reduced, _reduction_emitter("np.min"), statics={"axis": None},
               impl=lambda x, axis=None: np.min(x, axis=axis))
prod = _define("prod", "x", reduced, _reduction_emitter("np.prod"), statics={"axis": None},
               impl=lambda x, axis=None: np.prod(x, axis=axis))


def _spread_emitter(dotted: str) -> Emit:
    """``np.var(x, axis=a, ddof=d)``, leaving out an absent axis and ddof=0."""
    def emit(args, params):
        shown = {k: v for k, v in params.items() if v is not None and not (k == "ddof" and v == 0)}
        return call_emitter(dotted, list(shown))(args, shown)
    return emit


var = _define("var", "x", reduced_float, _spread_emitter("np.var"), statics={"axis": None, "ddof": 0},
              impl=lambda x, axis=None, ddof=0: np.var(x, axis=axis, ddof=ddof))
std = _define("std", "x", reduced_float, _spread_emitter("np.std"), statics={"axis": None, "ddof": 0},
              impl=lambda x, axis=None, ddof=0: np.std(x, axis=axis, ddof=ddof))


def _cumulative_type(flattens: bool):
    """The type rule of a cumulative sum or product: along `axis`, or, without one, over the
    flattened array (a vector), which cumsum does not support yet for two or more axes."""
    def typer(in_types, params):
        t = in_types[0]
        if not t.is_array:
            raise TypeError("takes an array")
        if params.get("axis") is not None:
            check_axis(params["axis"], t.ndim)
            return t
        if t.ndim > 1 and not flattens:
            raise TypeError("give an axis: the cumulative sum of a flattened array is not supported yet")
        return t.with_ndim(1)
    return typer


cumsum = _define("cumsum", "x", _cumulative_type(False), call_emitter("np.cumsum", ["axis"]),
                 statics={"axis": None}, impl=lambda x, axis=None: np.cumsum(x, axis=axis))
cumprod = _define("cumprod", "x", _cumulative_type(True), call_emitter("np.cumprod", ["axis"]),
                  statics={"axis": None}, impl=lambda x, axis=None: np.cumprod(x, axis=axis))


def _mean_emit(args, params):
    """``np.mean(x)``; over axes, ``np.sum(x, axis=a) / x.shape[a]``, which Numba compiles."""
    axis = params.get("axis")
    if axis is None:
        return call_emitter("np.mean")(args, params)
    total = _reduction_emitter("np.sum")(args, params)
    count = None
    for a in (axis if isinstance(axis, tuple) else (axis,)):
        dim = ast.Subscript(ast.Attribute(args[0], "shape", ast.Load()), ast.Constant(a), ast.Load())
        count = dim if count is None else ast.BinOp(count, ast.Mult(), dim)
    return ast.BinOp(total, ast.Div(), count)


mean = _define("mean", "x", reduced_float, _mean_emit, statics={"axis": None},
               repeats=lambda p: p.get("axis") is not None,
               impl=lambda x, axis=None: np.mean(x, axis=axis))


def _truth_type(in_types, params):
    """np.all and np.any: booleans, reduced over `axis` as np.sum is."""
    return BOOL.with_ndim(reduced(in_types, params).ndim)


all_ = _define("all", "x", _truth_type, _reduction_emitter("np.all"), statics={"axis": None},
               impl=lambda x, axis=None: np.all(x, axis=axis))
any_ = _define("any", "x", _truth_type, _reduction_emitter("np.any"), statics={"axis": None},
               impl=lambda x, axis=None: np.any(x, axis=axis))

# --- shapes and indexing -------------------------------------------------------------------

def _attribute(name: str) -> Emit:
    return lambda a, p: ast.Attribute(a[0], name, ast.Load())


shape = _define("shape", "x", lambda t, p: tuple_of(t[0].ndim), _attribute("shape"), impl=np.shape)
broadcast_shapes = _define("broadcast_shapes", "ab", lambda t, p: tuple_of(builtins.max(s.ndim for s in t)),
                           call_emitter("broadcast_shapes"), impl=runtime.broadcast_shapes)
# broadcast_shapes computed before a loop, for the shape of what its body computes (passes/shapes.py):
# shapes that do not broadcast give the longer, and the operation in the body raises, if it runs
joined_shape = _define("joined_shape", "ab", lambda t, p: tuple_of(builtins.max(s.ndim for s in t)),
                       call_emitter("joined_shape"), impl=runtime.joined_shape)
size = _define("size", "x", lambda t, p: I64, _attribute("size"), impl=np.size)
def _transpose_emit(args, params):
    return _attribute("T")(args, params) if params.get("axes") is None else call_emitter("np.transpose")(
        [args[0], ast.Constant(tuple(params["axes"]))], params)


def _transpose_type(in_types, params):
    t, axes = in_types[0], params.get("axes")
    if axes is not None:
        for a in axes:
            check_axis(a, t.ndim)
        if sorted(a % t.ndim for a in axes) != list(range(t.ndim)):
            raise TypeError(f"axes={tuple(axes)} is not a permutation of the {t.ndim} axes")
    return t


transpose = _define("transpose", "x", _transpose_type, _transpose_emit, statics={"axes": None},
                    impl=lambda x, axes=None: np.transpose(x, axes), aliases=True)


def _reshape_type(in_types, params):
    return in_types[0].with_ndim(_shape_ndim(in_types[1]))


def _with_axis(change: int):
    """The type rule of an operation adding (1) or removing (-1) the axis params["axis"]."""
    def typer(in_types, params):
        t = in_types[0]
        if params.get("axis") is None and change < 0:  # (np.squeeze(x): which axes depends on the shape)
            raise TypeError("name the axis to remove (axis=...): which axes have length 1 is known only when "
                            "the function runs")
        check_axis(params.get("axis"), t.ndim + builtins.max(change, 0))
        return t.with_ndim(t.ndim + change)
    return typer


def _stacked(change: int):
    def typer(in_types, params):
        if not in_types or any(t.ndim != in_types[0].ndim for t in in_types):
            raise TypeError("the arrays must have the same number of axes")
        check_axis(params["axis"], in_types[0].ndim + change)
        return promote(*in_types).with_ndim(in_types[0].ndim + change)
    return typer


def _sequence_emitter(dotted: str) -> Emit:
    """``np.concatenate((a, b), axis=k)``."""
    return lambda a, p: ast.Call(_attr_chain(dotted), [ast.Tuple(list(a), ast.Load())],
                                 [ast.keyword("axis", ast.Constant(p["axis"]))])


reshape = _define("reshape", ["x", "shape"], _reshape_type, call_emitter("np.reshape"), impl=np.reshape,
                  aliases=True)
ravel = _define("ravel", "x", lambda t, p: t[0].with_ndim(1), call_emitter("np.ravel"), impl=np.ravel,
                aliases=True)
flatten = _define("flatten", "x", lambda t, p: t[0].with_ndim(1),
                  lambda a, p: ast.Call(ast.Attribute(a[0], "flatten", ast.Load()), [], []),
                  impl=lambda x: np.asarray(x).flatten())
expand_dims = _define("expand_dims", "x", _with_axis(1), call_emitter("np.expand_dims", ["axis"]),
                      statics={"axis": None}, impl=lambda x, axis=None: np.expand_dims(x, axis), aliases=True)
squeeze = _define("squeeze", "x", _with_axis(-1), call_emitter("np.squeeze", ["axis"]),
                  statics={"axis": None}, impl=lambda x, axis=None: np.squeeze(x, axis), aliases=True)
def _swapaxes_type(in_types, params):
    for a in (params["axis1"], params["axis2"]):
        check_axis(a, in_types[0].ndim)
    return in_types[0]


swapaxes = _define("swapaxes", "x", _swapaxes_type,
                   lambda a, p: call_emitter("np.swapaxes")([a[0], ast.Constant(p["axis1"]), ast.Constant(p["axis2"])], p),
                   statics={"axis1": 0, "axis2": 1}, impl=lambda x, axis1=0, axis2=1: np.swapaxes(x, axis1, axis2),
                   aliases=True)
flip = _define("flip", "x", same_as_first, call_emitter("np.flip", ["axis"]), statics={"axis": None},
               impl=lambda x, axis=None: np.flip(x, axis), aliases=True)
concatenate = _define("concatenate", ["*arrays"], _stacked(0), _sequence_emitter("np.concatenate"),
                      statics={"axis": 0}, impl=lambda *a, axis=0: np.concatenate(a, axis=axis))
stack = _define("stack", ["*arrays"], _stacked(1), _sequence_emitter("np.stack"), statics={"axis": 0},
                impl=lambda *a, axis=0: np.stack(a, axis=axis))
SEQUENCE_OPERANDS = (concatenate, stack)


def _packed(in_types, params):
    if not in_types or any(t.ndim != 0 for t in in_types):
        raise TypeError("packs numbers (an array of arrays is a stack)")
    return promote(*in_types).with_ndim(1)


# The rows of a list appended to once per iteration of a counted loop (frontend/normalize.py): a
# new array at the first iteration, the same one after (each row is then stored with setitem).
list_rows = _define("list_rows", ["buffer", "item", "k", "n"], lambda t, p: F64.with_ndim(t[1].ndim + 1),
                    call_emitter("list_rows"), impl=runtime.list_rows, aliases=True)
# The rows of a list appended to otherwise (a while loop, several appends per iteration): they grow
# as item k needs, on a schedule of k alone (runtime.list_capacity).
list_grow = _define("list_grow", ["buffer", "item", "k"], lambda t, p: F64.with_ndim(t[1].ndim + 1),
                    call_emitter("list_grow"), impl=runtime.list_grow, aliases=True)
last_writes = _define("last_writes", ["index", "n"], lambda t, p: BOOL.with_ndim(1), call_emitter("last_writes"),
                      impl=runtime.last_writes)  # (the entries of an index array a store keeps)
checked_index = _define("checked_index", ["index", "n"], same_as_first, call_emitter("checked_index"),
                        impl=runtime.checked_index)  # (an index, checked and counted from the start)
# A check that an integer index of a basic index lies within its axis of length n, before the
# index is used: machine code would read past the array (passes/bounds.py; code run as Python
# drops it, as NumPy checks). A statement, so that the index keeps its form (x[0] stays x[0]);
# pure, as the indexing it guards is (dce.py keeps it: it has no result, but may raise).
in_bounds = _define("in_bounds", ["index", "n"], lambda t, p: None, _call_statement("checked_index"),
                    statement=True)
# The same for the indices first … last a loop will use, checked before it (passes/bounds.py).
in_bounds_span = _define("in_bounds_span", ["first", "last", "n"], lambda t, p: None,
                         _call_statement("checked_span"), statement=True)
# The program's own checks: ``assert ok, "message"`` and ``if bad: raise ValueError("message")``
# raise that exception (one of Python's) where the condition holds, in the forward sweep, with the
# message when it is a literal (else the message's source text).
def _raise_emit(args, params):
    message = [] if params["message"] is None else [ast.Constant(params["message"])]
    raised = ast.Raise(ast.Call(ast.Name(params["exception"], ast.Load()), message, []), None)
    return ast.If(args[0], [raised], [])


raise_if = _define("raise_if", ["condition"], lambda t, p: None, _raise_emit,
                   statics={"exception": "AssertionError", "message": None}, statement=True)
# Python's check that an array of m items unpacks into n names (``a, b, c = x``): its ValueError
# otherwise (a statement, kept for what it raises, in both forms).
unpacked = _define("unpacked", ["m", "n"], lambda t, p: None, _call_statement("checked_unpack"), statement=True)
# The check that a loop lowered with its first iteration apart runs it (frontend/lower.py,
# `settled_region`): a run-time refusal otherwise.
entered = _define("entered", ["trips"], lambda t, p: None,
                  lambda args, params: ast.Expr(ast.Call(ast.Name("checked_entered", ast.Load()),
                                                         list(args) + [ast.Constant(True)] * params["unbound"], [])),
                  statics={"unbound": False}, statement=True)
# NumPy's check that an array of `size` elements is one number (``x.item()``): its ValueError otherwise.
single = _define("single", ["size"], lambda t, p: None, _call_statement("checked_single"), statement=True)
# NumPy's check that integers are not raised to a negative integer power (``k ** m`` of integer
# arrays): its ValueError otherwise (compiled integer powers would give 0 or 1 instead).
int_exponent = _define("int_exponent", ["exponent"], lambda t, p: None, _call_statement("checked_int_exponent"),
                       statement=True)
# Python's ZeroDivisionError for a division of integers by 0 (compiled integer division gives 0, or inf).
int_divisor = _define("int_divisor", ["divisor"], lambda t, p: None, _call_statement("checked_int_divisor"),
                      statement=True)
# The integer divisor of np.mod, np.remainder, np.floor_divide or np.divide (`ufunc`, NumPy's name): NumPy's
# result and RuntimeWarning for a division by 0, not Python's ZeroDivisionError.
numpy_divisor = _define("numpy_divisor", ["divisor"], same_as_first, helper_emitter("numpy_divisor", "ufunc"),
                        statics={"ufunc": "divide"}, impl=runtime.numpy_divisor)
# NumPy's check that a matrix whose axes einsum collapses into one index (``'ii'``) is square: its
# ValueError otherwise (the diagonal would be of the leading square block).
square_matrix = _define("square_matrix", ["rows", "cols"], lambda t, p: None, _call_statement("checked_square"), statement=True)
# NumPy's check that np.average's weights do not sum to 0 (anywhere along its axis): its ZeroDivisionError.
weights_total = _define("weights_total", ["zero"], lambda t, p: None, _call_statement("checked_weights_total"),
                        statement=True)
# NumPy's checks of np.interp's points: some, and as many values as points (its ValueError otherwise).
interp_points = _define("interp_points", ["points", "values"], lambda t, p: None,
                        _call_statement("checked_interp_points"), statement=True)
# Of Python's ints, a negative exponent gives a float and a large power a number past int64: refused
# when it happens.
int_power = _define("int_power", ["base", "exponent"], lambda t, p: None, _call_statement("checked_int_power"),
                    statement=True)
# Python's ints do not wrap around where int64 does: an integer sum, difference, product or
# negation (and abs) whose exact value leaves int64 is refused when it happens (passes/overflow.py).
int_sum = _define("int_sum", ["a", "b"], lambda t, p: None, _call_statement("checked_int_sum"), statement=True)
int_difference = _define("int_difference", ["a", "b"], lambda t, p: None, _call_statement("checked_int_difference"),
                         statement=True)
int_product = _define("int_product", ["a", "b"], lambda t, p: None, _call_statement("checked_int_product"),
                      statement=True)
int_negation = _define("int_negation", ["a"], lambda t, p: None, _call_statement("checked_int_negation"),
                       statement=True)
# Where a slice start:stop:step (step > 0) of an axis of length n begins and how long it is
# (passes/fuse.py: an element loop over a slice region).
slice_span = _define("slice_span", ["n", "start", "stop", "step"], lambda t, p: tuple_of(2), call_emitter("slice_span"),
                     impl=runtime.slice_span)
# In compiled loops: every 16,384 steps (of counter k), a KeyboardInterrupt if a signal came
# (passes/polls.py).
poll_signals = _define("poll_signals", ["k"], lambda t, p: None, _call_statement("poll_signals"), statement=True)
checked_mask = _define("checked_mask", ["mask", "n"], same_as_first, call_emitter("checked_mask"),
                       impl=runtime.checked_mask, aliases=True)  # (a mask, checked to fit its axis)
list_position = _define("list_position", ["i", "n"], lambda t, p: I64, call_emitter("list_position"),
                        impl=runtime.list_position)  # (xs[i] of a list of n items: i, from the end if negative)
list_resized = _define("list_resized", ["g", "k"], same_as_first, call_emitter("list_resized", ["after"]),
                       statics={"after": None}, impl=runtime.list_resized)  # (the adjoint of list_grow)


# ``np.array([a, b, c])`` of numbers: a vector (np.stack of numbers, which Numba does not compile)
pack = _define("pack", ["*values"], _packed,
               lambda a, p: ast.Call(_attr_chain("np.array"), [ast.List(list(a), ast.Load())], []),
               impl=lambda *a: np.array(a))  # their first argument is a tuple of arrays


# Copies and rearrangements of elements: each result element is an element of x (or, for pad, the
# fill value). Numba lacks some of these, or their axis= form: `backend.numba_runtime` supplies
# them for the forms generated code writes.

def _array(t: Type) -> None:
    if not t.is_array:
        raise TypeError("takes an array")


def _one_integer(t: Type, what: str) -> None:
    if t != I64:
        raise TypeError(f"{what} must be one integer, not {t}")


def _broadcast_to_type(in_types, params):
    x, shape = in_types
    ndim = _shape_ndim(shape)
    if x.is_array and x.ndim > ndim:
        raise TypeError(f"cannot broadcast an array with {x.ndim} axes to a shape with {ndim}")
    return x.with_ndim(ndim)


def _tile_type(in_types, params):
    t, reps = in_types[0], params["reps"]
    _array(t)
    if len(reps) != t.ndim or not all(isinstance(r, int) and r >= 0 for r in reps):
        raise TypeError(f"reps={reps!r} must be one count (an integer from 0) per axis")
    return t


def _repeat_type(in_types, params):
    t, repeats = in_types
    _array(t)
    _one_integer(repeats, "repeats")
    if params["axis"] is None:
        return t.with_ndim(1)
    check_axis(params["axis"], t.ndim)
    return t


def _roll_type(in_types, params):
    t, shift = in_types
    _array(t)
    _one_integer(shift, "shift")
    if params["axis"] is not None:
        check_axis(params["axis"], t.ndim)
    return t


def _triangle_type(in_types, params):
    t = in_types[0]
    if not t.is_array or t.ndim < 2:
        raise TypeError("takes an array with at least two axes (a matrix, or a stack of them)")
    if not isinstance(params["k"], int) or isinstance(params["k"], bool):
        raise TypeError(f"k={params['k']!r} must be an integer")
    return t


def _pad_type(in_types, params):
    t, value = in_types
    _array(t)
    _numbers([value], "one number as constant_values")
    widths = params["widths"]
    if len(widths) != t.ndim or not all(len(w) == 2 and all(isinstance(n, int) and n >= 0 for n in w)
                                        for w in widths):
        raise TypeError(f"pad widths {widths!r} must be a pair of counts (integers from 0) per axis")
    return t


def _positional_emitter(dotted: str, static: str, default=None) -> Emit:
    """``dotted(args..., param)``, leaving out the static parameter when it has its default."""
    def emit(args, params):
        extra = [] if params[static] == default else [ast.Constant(params[static])]
        return ast.Call(_attr_chain(dotted), list(args) + extra, [])
    return emit


def _copy_emit(args, params):
    return ast.Call(ast.Attribute(call_emitter("np.broadcast_to")(args, params), "copy", ast.Load()), [], [])


def _pad_emit(args, params):
    return ast.Call(_attr_chain("np.pad"), [args[0], ast.Constant(params["widths"])],
                    [ast.keyword("constant_values", args[1])])


# np.broadcast_to gives a read-only view; here the result is a new array (written .copy()), which
# derivative code may update in place like any other.
broadcast_to = _define("broadcast_to", ["x", "shape"], _broadcast_to_type, _copy_emit,
                       impl=lambda x, shape: np.broadcast_to(x, shape).copy())
tile = _define("tile", "x", _tile_type, _positional_emitter("np.tile", "reps"),
               statics={"reps": ()}, impl=lambda x, reps=(): np.tile(x, reps))
repeat = _define("repeat", ["x", "repeats"], _repeat_type, call_emitter("np.repeat", ["axis"]),
                 statics={"axis": None}, impl=lambda x, repeats, axis=None: np.repeat(x, repeats, axis))
roll = _define("roll", ["x", "shift"], _roll_type, call_emitter("np.roll", ["axis"]), statics={"axis": None},
               impl=lambda x, shift, axis=None: np.roll(x, shift, axis))
triu = _define("triu", "x", _triangle_type, _positional_emitter("np.triu", "k", default=0), statics={"k": 0},
               impl=lambda x, k=0: np.triu(x, k))
tril = _define("tril", "x", _triangle_type, _positional_emitter("np.tril", "k", default=0), statics={"k": 0},
               impl=lambda x, k=0: np.tril(x, k))
pad = _define("pad", ["x", "value"], _pad_type, _pad_emit, statics={"widths": ()},
              impl=lambda x, value, widths=(): np.pad(x, widths, constant_values=value))


def _vectors(in_types, params):
    if any(not t.is_array or t.ndim != 1 for t in in_types):
        raise TypeError("takes two vectors (1-D arrays) here")
    return promote(*in_types).element


def _matrix_or_vector(in_types, params):
    t = in_types[0]
    if not t.is_array or t.ndim not in (1, 2):
        raise TypeError("takes a vector or a matrix")
    return t.with_ndim(3 - t.ndim)


def _matrix(t: Type) -> bool:
    return t.is_array and t.ndim == 2


def _of_matrix(out: Callable[[Type], Type]):
    """The type rule of a function of one matrix (square, for the linear algebra: NumPy checks
    that when it runs)."""
    def typer(in_types, params):
        if not _matrix(in_types[0]):
            raise TypeError("takes a matrix")
        return out(in_types[0])
    return typer


# vdot and inner of two vectors are their dot product (Numba lacks both names).
vdot = _define("vdot", "ab", _vectors, call_emitter("np.dot"), impl=np.vdot)
inner = _define("inner", "ab", _vectors, call_emitter("np.dot"), impl=np.inner)
trace = _define("trace", "x", _of_matrix(lambda t: t.element), call_emitter("np.trace"), impl=np.trace)
diag = _define("diag", "x", _matrix_or_vector, call_emitter("np.diag"), impl=np.diag,
               readonly=lambda t: t[0].ndim == 2)  # NumPy's diagonal of a matrix is a read-only view


def _norm_type(in_types, params):
    t, axis = in_types[0], params.get("axis")
    if axis is None:
        return F64
    axes = axis if isinstance(axis, tuple) else (axis,)
    for a in axes:
        check_axis(a, t.ndim)
    return F64.with_ndim(t.ndim - len(axes))


def _norm_emit(args, params):
    """NumPy's formulas: ``np.linalg.norm(x)``; over axes, ``np.sqrt(np.sum(x * x, axis=a))``
    (Numba's norm takes no axis); of another order p, ``np.sum(np.abs(x) ** p, axis=a) ** (1 / p)``."""
    order, summed = params.get("ord", 2), _reduction_emitter("np.sum")
    if order != 2:
        powers = ast.BinOp(call_emitter("np.abs")(args, params), ast.Pow(), ast.Constant(order))
        return ast.BinOp(summed([powers], params), ast.Pow(), ast.Constant(1.0 / order))
    if params.get("axis") is None:
        return call_emitter("np.linalg.norm")(args, params)
    squares = ast.BinOp(args[0], ast.Mult(), args[0])
    return ast.Call(_attr_chain("np.sqrt"), [summed([squares], params)], [])


def _norm_impl(x, ord=2, axis=None):
    return np.linalg.norm(x, axis=axis) if ord == 2 else np.sum(np.abs(x) ** ord, axis=axis) ** (1.0 / ord)


# The p-norm (by default the 2-norm): of all elements (for p = 2, a matrix's Frobenius norm), or
# along `axis` (an axis, or a sorted tuple of them). np.linalg.norm's other orders are compositions
# (frontend/composed.py).
norm = _define("norm", "x", _norm_type, _norm_emit, statics={"ord": 2, "axis": None},
               repeats=lambda p: p.get("ord", 2) == 2 and p.get("axis") is not None, impl=_norm_impl)
# np.cross's operands, checked to be 3-vectors along their last axis (the composition reads 3 components).
cross_vectors = _define("cross_vectors", "x", same_as_first, call_emitter("cross_vectors"),
                        impl=runtime.cross_vectors, aliases=True)
def _eye_emit(args, params):
    """``np.eye(n[, m])``, or ``np.eye(n, m, k)`` for a diagonal `k` above (below, k < 0) the main one."""
    call = _legacy_emitter("np.eye")(args, params)
    if params.get("k", 0):
        call.args = list(args) + [ast.Constant(params["k"])]
    return call


eye = _define("eye", ["n", "m"], lambda t, p: F64.with_ndim(2), _eye_emit, defaults={"m": None}, statics={"k": 0},
              impl=lambda n, m=None, k=0: np.eye(n, m, k))
def _arange_type(in_types, params):
    if not 1 <= len(in_types) <= 3 or any(not t.is_scalar for t in in_types):
        raise TypeError("takes one to three numbers (start, stop, step)")
    return promote(*in_types).with_ndim(1)


arange = _define("arange", ["*bounds"], _arange_type, call_emitter("np.arange"), impl=np.arange)
def _linspace_type(in_types, params):
    _numbers(in_types[:2], "numbers for start and stop")
    if in_types[2] != I64:
        raise TypeError("takes an integer num")
    return F64.with_ndim(1)


linspace = _define("linspace", ["start", "stop", "num"], _linspace_type, call_emitter("np.linspace"),
                   defaults={"num": 50}, impl=np.linspace)



# --- linear algebra ---------------------------------------------------------------------------

def _solve_type(in_types, params):
    a, b = in_types
    if not _matrix(a) or not b.is_array or b.ndim not in (1, 2):
        raise TypeError("solve(A, b) takes a square matrix A and a vector or matrix b")
    return F64.with_ndim(b.ndim)


def _item_emitter(dotted: str, k: int) -> Emit:
    """``dotted(args)[k]``: one result of a NumPy function returning several."""
    return lambda a, p: ast.Subscript(call_emitter(dotted)(a, p), ast.Constant(k), ast.Load())


solve = _define("solve", "ab", _solve_type, call_emitter("np.linalg.solve"), impl=np.linalg.solve)
inv = _define("inv", "x", _of_matrix(lambda t: F64.with_ndim(2)), call_emitter("np.linalg.inv"), impl=np.linalg.inv)
det = _define("det", "x", _of_matrix(lambda t: F64), call_emitter("np.linalg.det"), impl=np.linalg.det)
# np.linalg.slogdet(A) is the pair (sign, log|det A|): one primitive per item. Code that uses both
# factorises A twice; code that uses only the logarithm (the usual case) once.
slogdet_sign = _define("slogdet_sign", "x", _of_matrix(lambda t: F64), _item_emitter("np.linalg.slogdet", 0),
                       impl=lambda x: np.linalg.slogdet(x)[0])
logabsdet = _define("logabsdet", "x", _of_matrix(lambda t: F64), _item_emitter("np.linalg.slogdet", 1),
                    impl=lambda x: np.linalg.slogdet(x)[1])


# --- decompositions -----------------------------------------------------------------------------
# Each returns a tuple in NumPy: one primitive per item, as for slogdet. Arguments that change what
# is computed are refused: upper=True by the type rule, hermitian=, UPLO= and mode= by the
# signature (the lower triangle and the reduced QR are what is differentiated).

def _matrix_out(t: Type) -> Type:
    return F64.with_ndim(2)


def _vector_out(t: Type) -> Type:
    return F64.with_ndim(1)


def _cholesky_type(in_types, params):
    if params.get("upper", False) is not False:
        raise TypeError("upper=True is not supported (the lower factor only)")
    return _of_matrix(_matrix_out)(in_types, params)


cholesky = _define("cholesky", "x", _cholesky_type, call_emitter("np.linalg.cholesky"), statics={"upper": False},
                   impl=np.linalg.cholesky)
# eigh and eigvalsh read the lower triangle only (NumPy's default UPLO='L'); eigenvalues ascend.
eigh_values = _define("eigh_values", "x", _of_matrix(_vector_out), _item_emitter("np.linalg.eigh", 0),
                      impl=lambda x: np.linalg.eigh(x)[0])
eigh_vectors = _define("eigh_vectors", "x", _of_matrix(_matrix_out), _item_emitter("np.linalg.eigh", 1),
                       impl=lambda x: np.linalg.eigh(x)[1])
eigvalsh = _define("eigvalsh", "x", _of_matrix(_vector_out), call_emitter("np.linalg.eigvalsh"),
                   impl=np.linalg.eigvalsh)


def _svd_emitter(k: int) -> Emit:
    """``np.linalg.svd(x, full_matrices=False)[k]``, leaving out the default full_matrices=True;
    the values alone (compute_uv=False) as NumPy spells them."""
    def emit(args, params):
        if not params.get("compute_uv", True):
            return call_emitter("np.linalg.svd", ["compute_uv"])(args, params)
        keywords = [] if params.get("full_matrices", True) else ["full_matrices"]
        return ast.Subscript(call_emitter("np.linalg.svd", keywords)(args, params), ast.Constant(k), ast.Load())
    return emit


def _svd_type(out: Callable[[Type], Type], vectors: bool):
    matrix = _of_matrix(out)

    def typer(in_types, params):
        if not all(isinstance(params.get(k, True), bool) for k in ("full_matrices", "compute_uv")):
            raise TypeError("full_matrices and compute_uv must be True or False")
        if vectors and not params.get("compute_uv", True):
            raise TypeError("compute_uv=False gives the singular values alone")
        return matrix(in_types, params)
    return typer


def _svd_impl(k: int):
    def impl(x, full_matrices=True, compute_uv=True):
        if not compute_uv:
            return np.linalg.svd(x, compute_uv=False)
        return np.linalg.svd(x, full_matrices=full_matrices)[k]
    return impl


_SVD = {"full_matrices": True, "compute_uv": True}
svd_u = _define("svd_u", "x", _svd_type(_matrix_out, True), _svd_emitter(0), statics=_SVD, impl=_svd_impl(0))
svd_s = _define("svd_s", "x", _svd_type(_vector_out, False), _svd_emitter(1), statics=_SVD, impl=_svd_impl(1))
svd_vt = _define("svd_vt", "x", _svd_type(_matrix_out, True), _svd_emitter(2), statics=_SVD, impl=_svd_impl(2))

# qr: the reduced factorisation (NumPy's default mode).
qr_q = _define("qr_q", "x", _of_matrix(_matrix_out), _item_emitter("np.linalg.qr", 0), impl=lambda x: np.linalg.qr(x)[0])
qr_r = _define("qr_r", "x", _of_matrix(_matrix_out), _item_emitter("np.linalg.qr", 1), impl=lambda x: np.linalg.qr(x)[1])


def _lstsq_type(out: Callable[[Type], Type]):
    def typer(in_types, params):
        a, b = in_types
        if not _matrix(a) or not b.is_array or b.ndim not in (1, 2):
            raise TypeError("lstsq(A, b) takes a matrix A and a vector or matrix b")
        rcond = params.get("rcond")
        if rcond is not None and (not isinstance(rcond, (int, float)) or isinstance(rcond, bool)):
            raise TypeError("rcond must be a number or None")
        return out(b)
    return typer


def _lstsq_emitter(k: int) -> Emit:
    """``np.linalg.lstsq(a, b, rcond=...)[k]``, rcond always written (None is NumPy's default)."""
    def emit(args, params):
        call = ast.Call(_attr_chain("np.linalg.lstsq"), list(args),
                        [ast.keyword("rcond", ast.Constant(params.get("rcond")))])
        return ast.Subscript(call, ast.Constant(k), ast.Load())
    return emit


def _lstsq_impl(k: int):
    return lambda a, b, rcond=None: np.linalg.lstsq(a, b, rcond=rcond)[k]


_RCOND = {"rcond": None}
lstsq = _define("lstsq", "ab", _lstsq_type(lambda b: F64.with_ndim(b.ndim)), _lstsq_emitter(0), statics=_RCOND,
                impl=_lstsq_impl(0))
lstsq_residuals = _define("lstsq_residuals", "ab", _lstsq_type(_vector_out), _lstsq_emitter(1), statics=_RCOND,
                          impl=_lstsq_impl(1))
lstsq_rank = _define("lstsq_rank", "ab", _lstsq_type(lambda b: I64), _lstsq_emitter(2), statics=_RCOND,
                     impl=_lstsq_impl(2))
lstsq_sv = _define("lstsq_sv", "ab", _lstsq_type(_vector_out), _lstsq_emitter(3), statics=_RCOND,
                   impl=_lstsq_impl(3))

# Helpers of the derivative rules (`s2sad.runtime`): they refuse, at run time, the points where
# the derivative does not exist.
inverse_gaps = _define("inverse_gaps", "v", lambda t, p: F64.with_ndim(2), call_emitter("inverse_gaps"),
                       impl=runtime.inverse_gaps)
thin_reciprocal = _define("thin_reciprocal", ["s", "x"], lambda t, p: F64.with_ndim(1),
                          call_emitter("thin_reciprocal"), impl=runtime.thin_reciprocal)
full_rank_gram = _define("full_rank_gram", ["x", "rank"], lambda t, p: F64.with_ndim(2),
                         call_emitter("full_rank_gram"), impl=runtime.full_rank_gram)
square_r = _define("square_r", "r", same_as_first, call_emitter("square_r"), impl=runtime.square_r, aliases=True)

def _index_expr(args: list, spec: tuple) -> ast.expr:
    """Rebuild the subscript from the index operands described by `spec`.

    spec is a tuple of "i" (one operand), "s" (a slice: three operands, None when absent),
    "n" (np.newaxis, no operand).
    """
    parts, pos = [], 0
    for kind in spec:
        if kind == "i":
            parts.append(args[pos])
            pos += 1
        elif kind == "s":
            lo, hi, st = (None if isinstance(a, ast.Constant) and a.value is None else a
                          for a in args[pos:pos + 3])
            parts.append(ast.Slice(lo, hi, st))
            pos += 3
        else:
            parts.append(ast.Constant(None))
    return parts[0] if len(parts) == 1 else ast.Tuple(parts, ast.Load())


def index_result_type(base: Type, in_types: list[Type], spec: tuple) -> Type:
    if base.kind == "tuple":
        return I64
    ndim, pos = base.ndim, 0
    for kind in spec:
        if kind == "i":
            index = in_types[pos]
            if index.is_array:  # x[idx]: an axis per axis of idx; x[mask]: one axis for mask's
                ndim += index.ndim - 1 if index.dtype != "bool" else 1 - index.ndim
            else:
                ndim -= 1
            pos += 1
        elif kind == "s":
            pos += 3
        else:
            ndim += 1
    if ndim < 0:
        raise TypeError(f"too many indices for an array with {base.ndim} axes")
    return base.with_ndim(ndim)


def _getitem_type(in_types, params):
    return index_result_type(in_types[0], in_types[1:], params["spec"])


def _getitem_emit(args, params):
    return ast.Subscript(args[0], _index_expr(args[1:], params["spec"]), ast.Load())


getitem = _define("getitem", ["x", "*idx"], _getitem_type, _getitem_emit, statics={"spec": ()},
                  aliases=True)


def _store_emit(op: ast.operator | None, helper: str, scatter: str | None = None) -> Emit:
    """A statement: ``x[idx] = v`` (or ``x[idx] op= v``) for one element; ``helper(x[idx], v)``
    when the region is an array (codegen sets params["region"]). Numba compiles the helpers'
    loops in a fraction of the time its general array assignment takes (about 1.7 s)."""
    def emit(args, params):
        index = _index_expr(args[1:-1], params["spec"])
        if params.get("scatter") and op is None:  # x[i, idx] = v (indices without repeats)
            return ast.Assign([ast.Subscript(args[0], index, ast.Store())], args[-1])
        if params.get("scatter"):  # x[idx] += v with an index array: repeats accumulate
            if scatter is None:  # (x[idx] would be a copy: the store would be lost)
                raise TypeError(f"{helper}: no store through an index array")
            return _scatter_emit(scatter, args, params)
        if params.get("region"):  # (no index: the whole array)
            region = ast.Subscript(args[0], index, ast.Load()) if params["spec"] else args[0]
            return ast.Expr(ast.Call(ast.Name(helper, ast.Load()), [region, args[-1]], []))
        target = ast.Subscript(args[0], index, ast.Store())
        return ast.AugAssign(target, op, args[-1]) if op else ast.Assign([target], args[-1])
    return emit


def _scatter_emit(helper: str, args: list, params: dict) -> ast.stmt:
    """``helper(region, idx, v)`` adding `v` into ``x[..., idx, ...]`` along the index array's
    axis, which the region (x with the index's integers and slices, a view) has first: the
    axes of slices before it are moved behind it, in the region and in v (`helper` works along
    the first axis). The index arrays' axis comes where NumPy puts it: in its place."""
    spec, operands = params["spec"], args[1:-1]
    parts, pos, lead, array = [], 0, 0, None
    for kind in spec:
        width = {"i": 1, "s": 3}.get(kind, 0)
        if kind == "i" and params["arrays"][pos]:
            array = operands[pos]
            parts.append(("s", [ast.Constant(None)] * 3))
        else:
            parts.append((kind, operands[pos:pos + width]))
            lead += kind == "s" and array is None
        pos += width
    region = args[0] if len(spec) == 1 else \
        ast.Subscript(args[0], _index_expr([a for _, ops in parts for a in ops], tuple(k for k, _ in parts)), ast.Load())
    value = args[-1]
    if lead:
        ndim = params["region_ndim"]
        perm = ast.Tuple([ast.Constant(lead)] + [ast.Constant(k) for k in range(ndim) if k != lead], ast.Load())
        region = ast.Call(ast.Attribute(region, "transpose", ast.Load()), [perm], [])
        if params["value_ndim"]:
            value = ast.Call(ast.Attribute(value, "transpose", ast.Load()), [perm], [])
    return ast.Expr(ast.Call(ast.Name(helper, ast.Load()), [region, array, value], []))


setitem = _define("setitem", ["x", "*idx_and_value"], same_as_first, _store_emit(None, "copy_into"),
                  statics={"spec": ()}, inplace=True)
index_add = _define("index_add", ["x", "*idx_and_value"], same_as_first, _store_emit(ast.Add(), "add_into", "add_at"),
                    statics={"spec": ()}, inplace=True)
index_sub = _define("index_sub", ["x", "*idx_and_value"], same_as_first, _store_emit(ast.Sub(), "sub_into"),
                    statics={"spec": ()}, inplace=True)  # x[idx] -= v: what simplify makes of x[idx] += -v


def _name_target(expr: ast.expr) -> ast.expr:
    return ast.Name(expr.id, ast.Store()) if isinstance(expr, ast.Name) else expr


# Adding a contribution to an adjoint of the same shape (``x_bar += g``): made by the reverse
# transform, which knows the shapes agree, so the sum may overwrite ``x_bar`` when nothing else
# reads it. `add_outer` is the rank-one case ``x_bar += np.outer(a, b)`` (the adjoint of W @ h),
# done without forming the outer product.
accumulate = _define("accumulate", ["x", "y"], same_as_first,
                     lambda a, p: ast.AugAssign(_name_target(a[0]), ast.Add(), a[1]), inplace=True,
                     fresh=lambda a, p: ast.BinOp(a[0], ast.Add(), a[1]), impl=np.add)
add_outer = _define("add_outer", ["x", "a", "b"], same_as_first,
                    lambda a, p: ast.Expr(ast.Call(ast.Name("add_outer", ast.Load()), list(a), [])),
                    inplace=True, fresh=lambda a, p: ast.BinOp(a[0], ast.Add(), call_emitter("np.outer")(a[1:], p)),
                    impl=lambda x, a, b: x + np.outer(a, b))

# --- allocation and copies ------------------------------------------------------------------

def _tuple_emit(args, params):
    return ast.Tuple(list(args), ast.Load())


make_tuple = _define("make_tuple", ["*items"], lambda t, p: tuple_of(len(t)), _tuple_emit,
                     impl=lambda *items: tuple(items))


def _shape_ndim(t: Type) -> int:
    if t.kind == "tuple":
        return t.ndim
    if t.kind == "i64":
        return 1
    raise TypeError("a shape must be an integer or a tuple of integers")


def _allocation(name: str) -> Primitive:
    return _define(name, ["shape"], lambda t, p: F64.with_ndim(_shape_ndim(t[0])),
                   call_emitter(f"np.{name}"), impl=getattr(np, name))


zeros, ones, empty = _allocation("zeros"), _allocation("ones"), _allocation("empty")

# An array allocated before a loop and taken again by each iteration, for an array the iteration
# used to allocate (np.empty's, or an operation's result: passes/inplace.py). The IR takes each use
# for a new array, which no one can tell apart: the pass makes them only where nothing of one
# iteration's array outlives the iteration. The shape it stands for is its last operand, for the
# shape facts (not printed).
reuse = _define("reuse", ["x", "shape"], same_as_first, lambda a, p: a[0], impl=lambda x, shape: x)
copy = _define("copy", "x", same_as_first, lambda a, p: ast.Call(ast.Attribute(a[0], "copy", ast.Load()), [], []),
               impl=np.copy)
def _range_args(args: list) -> list:
    """range's arguments without the defaults: ``range(0, n, 1)`` prints as ``range(n)``."""
    start, stop, step = args
    if isinstance(step, ast.Constant) and step.value == 1:
        return [stop] if isinstance(start, ast.Constant) and start.value == 0 else [start, stop]
    return list(args)


trip_count = _define("trip_count", ["start", "stop", "step"], lambda t, p: I64,
                     lambda a, p: ast.Call(ast.Name("len", ast.Load()),
                                           [ast.Call(ast.Name("range", ast.Load()), _range_args(a), [])], []),
                     impl=lambda a, b, c: len(range(a, b, c)))

# --- helpers used by derivative rules ----------------------------------------------------

def _float_like(in_types, params):
    return F64.with_ndim(in_types[0].ndim if in_types[0].is_array else 0)


def _zeros_emit(args, params):
    shape = ast.Attribute(args[0], "shape", ast.Load())
    return ast.Call(_attr_chain("np.zeros"), [shape], [])


zeros_like = _define("zeros_like", "x", _float_like, _zeros_emit, impl=lambda x: np.zeros(np.shape(x)))
placeholder = _define("placeholder", [], lambda t, p: Type(p["dtype"]).with_ndim(p["ndim"]),
                      lambda a, p: ast.Call(_attr_chain("np.empty"),
                                            [ast.Tuple([ast.Constant(0)] * p["ndim"], ast.Load())],
                                            _dtype_keywords(p["dtype"])),
                      statics={"ndim": 1, "dtype": "f64"})  # an empty array standing for one never read
unbroadcast = _define("unbroadcast", ["g", "shape"], lambda t, p: F64.with_ndim(t[1].ndim),
                      call_emitter("unbroadcast"), impl=runtime.unbroadcast, aliases=True)
expand_to = _define("expand_to", ["g", "shape"], lambda t, p: F64.with_ndim(t[1].ndim),
                    call_emitter("expand_to", ["axis"]), statics={"axis": None},
                    impl=runtime.expand_to)
broadcast_like = _define("broadcast_like", ["t", "like"], lambda t, p: F64.with_ndim(t[1].ndim),
                         call_emitter("broadcast_like"), impl=runtime.broadcast_like, aliases=True)
untile = _define("untile", ["g", "shape"], lambda t, p: F64.with_ndim(t[1].ndim), call_emitter("untile"),
                 impl=runtime.untile)
unrepeat = _define("unrepeat", ["g", "shape", "repeats"], lambda t, p: F64.with_ndim(t[1].ndim),
                   call_emitter("unrepeat", ["axis"]), statics={"axis": None}, impl=runtime.unrepeat)
full = _define("full", ["shape", "value"], lambda t, p: F64.with_ndim(_shape_ndim(t[0])), call_emitter("np.full"),
               impl=lambda shape, value: np.full(shape, value, dtype=np.float64))
select = _define("select", "cab", lambda t, p: promote(t[1], t[2]),
                 lambda a, p: ast.IfExp(a[0], a[1], a[2]), impl=lambda c, a, b: a if c else b)
_DTYPES = {"f64": "float64", "i64": "int64", "bool": "bool_"}


def _tape_type(in_types, params):
    return Type("array", params["dtype"], params["ndim"] + 1)


def _tape_emit(args, params):
    """``np.empty(n)``, ``np.empty((n,) + x.shape)`` (``(n,) + shape`` when `shaped`: the second
    operand is a shape) or, with no size yet, ``np.empty((0, 0))``."""
    if not args:
        shape = ast.Tuple([ast.Constant(0)] * (params["ndim"] + 1), ast.Load())
    elif len(args) == 1:
        shape = args[0]
    else:
        rows = args[1] if params.get("shaped") else ast.Attribute(args[1], "shape", ast.Load())
        shape = ast.BinOp(ast.Tuple([args[0]], ast.Load()), ast.Add(), rows)
    return ast.Call(_attr_chain("np.empty"), [shape], _dtype_keywords(params["dtype"]))


def _dtype_keywords(dtype: str) -> list[ast.keyword]:
    """``dtype=np.int64`` for an allocation of an element kind other than f64 (NumPy's default)."""
    return [] if dtype == "f64" else [ast.keyword("dtype", _attr_chain(f"np.{_DTYPES[dtype]}"))]


tape = _define("tape", ["*size_and_like"], _tape_type, _tape_emit, statics={"dtype": "f64", "ndim": 0, "shaped": False})
# With `exact`, the value recorded is computed at every iteration (never a branch's placeholder),
# so an entry of another shape than those before it is an array changing shape (runtime._store).
record = _define("record", ["tape", "k", "n", "value"], same_as_first, call_emitter("record", ["exact"]),
                 statics={"exact": None}, impl=runtime.record, aliases=True)
record_grow = _define("record_grow", ["tape", "k", "value"], same_as_first, call_emitter("record_grow", ["exact"]),
                      statics={"exact": None}, impl=runtime.record_grow, aliases=True)
# A row of a batch of tangents (the vector forward transform's loops over lanes), written in place
# like a tape's: the batch is new before the loop, and nothing reads its rows before the loop ends.
lane_store = _define("lane_store", ["batch", "lane", "value"], same_as_first, call_emitter("lane_store"),
                     impl=runtime.lane_store, aliases=True)
# A while loop's tape with room for `rows` entries (the compiled form's runs of steps: passes/chunks.py).
reserve = _define("reserve", ["tape", "rows"], same_as_first, call_emitter("reserve"), impl=runtime.reserve,
                  aliases=True)
nonempty_list = _define("nonempty_list", ["rows"], same_as_first, call_emitter("nonempty_list"),
                        impl=runtime.nonempty_list, aliases=True)  # (a list's rows, checked to hold some)
# A ragged tape (runtime.record_ragged): arrays of `ndim` axes whose shape changes from step to step,
# for n steps (0 in a while loop: not known in advance).
record_ragged = _define("record_ragged", ["tape", "k", "n", "value"], same_as_first, call_emitter("record_ragged"),
                        impl=runtime.record_ragged, aliases=True)


def _ragged_helper(ndim: int) -> str:
    return "ragged_row" if ndim == 1 else "ragged_matrix"


ragged_row = _define("ragged_row", ["tape", "k"], lambda t, p: t[0].element.with_ndim(p["ndim"]),
                     lambda a, p: ast.Call(_attr_chain(_ragged_helper(p["ndim"])), list(a), []), statics={"ndim": 1},
                     impl=lambda tape, k, ndim=1: getattr(runtime, _ragged_helper(ndim))(tape, k), aliases=True)
tape_row = _define("tape_row", ["tape", "k"], lambda t, p: t[0].with_ndim(t[0].ndim - 1), call_emitter("tape_row"),
                   impl=runtime.tape_row, aliases=True)  # tape[k], or zeros past its rows
untape_row = _define("untape_row", ["g", "k", "tape"], lambda t, p: F64.with_ndim(t[2].ndim),
                     call_emitter("untape_row"), impl=runtime.untape_row)  # tape_row's adjoint
unrecord = _define("unrecord", ["g", "k", "tape"], lambda t, p: F64.with_ndim(t[2].ndim), call_emitter("unrecord"),
                   impl=runtime.unrecord)
masked_product = _define("masked_product", ["t", "d"], elementwise, call_emitter("masked_product"),
                         impl=runtime.masked_product)  # t * d, 0 where t is 0 (rules: `singular` partials)


def _fits_shape_emit(args, params):
    x, like, *runs = args
    flag = [ast.Constant(bool(params.get("in_place")))] if params.get("in_place") or runs else []
    return ast.Call(ast.Name("fits_shape", ast.Load()), [x, like] + flag + runs, [])


# x, checked to broadcast to like's shape (when `runs`, a test that the loop relying on it runs)
fits_shape = _define("fits_shape", ["x", "like", "runs"], same_as_first, _fits_shape_emit,
                     statics={"in_place": False}, defaults={"runs": True}, impl=runtime.fits_shape, aliases=True)
# x, the initial value of an array a loop carries, checked to have `shape`, the shape the loop's body
# gives it back with (when `runs`, a test that the loop runs): then it keeps that shape (passes/shapes.py)
keeps_shape = _define("keeps_shape", ["x", "shape", "runs"], same_as_first, call_emitter("keeps_shape"),
                      impl=runtime.keeps_shape, aliases=True)
# Checkpointing (transforms/checkpointed.py): a policy's schedule for n steps as its state, a small
# int64 array whose first three entries are the row (action, k, j) to run next (s2sad/checkpoint.py);
# `next_action` replaces that row by the next one, in place.
schedule = _define("schedule", ["n"], lambda t, p: Type("array", "i64", 1),
                   lambda a, p: ast.Call(ast.Name(f"{p['policy']}_schedule", ast.Load()),
                                         [a[0], ast.Constant(p["count"])], []),
                   statics={"policy": "binomial", "count": 1})
next_action = _define("next_action", ["schedule"], same_as_first,
                      lambda a, p: ast.Expr(ast.Call(ast.Name("next_action", ast.Load()), [a[0]], [])), inplace=True)
schedule_slots = _define("schedule_slots", ["schedule"], lambda t, p: I64, call_emitter("schedule_slots"))
comment = _define("comment", [], lambda t, p: None, lambda a, p: ast.Constant(p["text"]),
                  statics={"text": ""}, pure=False)
call = _define("call", ["*args"], lambda t, p: p["types"][0] if len(p["types"]) == 1 else None,
               lambda a, p: ast.Call(ast.Name(p["function"], ast.Load()), list(a), []),
               statics={"function": "", "types": ()}, pure=False)  # another function of the generated module
# A call to a `s2sad.custom_rule` function: its body computes `value` from arguments behind
# `stop` (no derivative flows through it), and `custom` gives the value the user's derivatives.
# Both are identities, removed once the derivative is built.
stop = _define("stop", "x", same_as_first, lambda a, p: a[0])
custom = _define("custom", ["value", "*args"], same_as_first, lambda a, p: a[0], statics={"rule": None})
nbytes = _define("nbytes", "x", lambda t, p: I64, _attribute("nbytes"), impl=lambda x: x.nbytes)


# --- module globals -----------------------------------------------------------------------
# Read and written at run time through the module they live in (``physics.c``), in program
# order: a read is a value of the forward sweep like any other.

def _global_target(params, ctx) -> ast.expr:
    return ast.Attribute(ast.Name(params["space"], ast.Load()), params["name"], ctx)


global_read = _define("global_read", [], lambda t, p: p["type"], lambda a, p: _global_target(p, ast.Load()),
                      statics={"name": "", "space": "", "type": F64}, pure=False)
global_write = _define("global_write", ["value"], lambda t, p: None,
                       lambda a, p: ast.Assign([_global_target(p, ast.Store())], a[0]),
                       statics={"name": "", "space": ""}, pure=False, statement=True)
# The caller's array `target`, a parameter the function writes into, given the function's last
# value of it, as NumPy's in-place updates would have left it (``x[:] = x_last``). Made the last
# statement of a derivative, after everything that reads the parameter's first value.
writeback = _define("writeback", ["target", "value"], lambda t, p: None,
                    lambda a, p: ast.Assign([ast.Subscript(a[0], ast.Slice(), ast.Store())], a[1]),
                    pure=False, statement=True)


# --- random draws ---------------------------------------------------------------------------
# Made once, in the forward sweep; the reverse sweep reads the values drawn.

def _draw_type(shape_type: Type, *param_types: Type) -> Type:
    if shape_type.kind == "none":
        return F64.with_ndim(builtins.max([t.ndim if t.is_array else 0 for t in param_types] + [0]))
    return F64.with_ndim(_shape_ndim(shape_type))


def _method_emitter(method: str) -> Emit:
    """``rng.method(args...)``, dropping a trailing ``size=None``."""
    def emit(args, params):
        rest = list(args[1:])
        if rest and isinstance(rest[-1], ast.Constant) and rest[-1].value is None:
            rest.pop()
        return ast.Call(ast.Attribute(args[0], method, ast.Load()), rest, [])
    return emit


default_rng = _define("default_rng", ["seed"], lambda t, p: RNG, call_emitter("np.random.default_rng"),
                      pure=False)
_SIZE = {"size": None}
_NORMAL = {"loc": 0.0, "scale": 1.0, "size": None}
_UNIFORM = {"low": 0.0, "high": 1.0, "size": None}

rng_standard_normal = _define("rng_standard_normal", ["rng", "size"], lambda t, p: _draw_type(t[1]),
                              _method_emitter("standard_normal"), pure=False, defaults=_SIZE)
rng_random = _define("rng_random", ["rng", "size"], lambda t, p: _draw_type(t[1]), _method_emitter("random"),
                     pure=False, defaults=_SIZE)
rng_normal = _define("rng_normal", ["rng", "loc", "scale", "size"], lambda t, p: _draw_type(t[3], t[1], t[2]),
                     _method_emitter("normal"), pure=False, defaults=_NORMAL)
rng_uniform = _define("rng_uniform", ["rng", "low", "high", "size"],
                      lambda t, p: _draw_type(t[3], t[1], t[2]), _method_emitter("uniform"), pure=False,
                      defaults=_UNIFORM)
# Integer draws of a Generator (no derivative): through runtime helpers that the Numba backend
# compiles with NumPy's algorithms (Numba has no choice, nor integers(high) alone).
rng_integers = _define("rng_integers", ["rng", "low", "high", "size"],
                       lambda t, p: I64 if t[3].kind == "none" else I64.with_ndim(_shape_ndim(t[3])),
                       call_emitter("draw_integers"), pure=False)
rng_permutation = _define("rng_permutation", ["rng", "n"], lambda t, p: I64.with_ndim(1),
                          _method_emitter("permutation"), pure=False)
rng_choice = _define("rng_choice", ["rng", "n", "size"], lambda t, p: I64 if t[2].kind == "none" else I64.with_ndim(1),
                     helper_emitter("draw_choice", "replace"), statics={"replace": True}, pure=False)
random_normal = _define("random_normal", ["loc", "scale", "size"], lambda t, p: _draw_type(t[2], t[0], t[1]),
                        _legacy_emitter("np.random.normal"), pure=False, defaults=_NORMAL)
random_uniform = _define("random_uniform", ["low", "high", "size"], lambda t, p: _draw_type(t[2], t[0], t[1]),
                         _legacy_emitter("np.random.uniform"), pure=False, defaults=_UNIFORM)
random_standard_normal = _define("random_standard_normal", ["size"], lambda t, p: _draw_type(t[0]),
                                 _legacy_emitter("np.random.standard_normal"), pure=False, defaults=_SIZE)
def _print_emit(args, params):
    """``print("x =", x)``: the literal strings (params["text"], None where a value goes) and values."""
    values = iter(args)
    parts = [ast.Constant(t) if t is not None else next(values) for t in params["text"]]
    return ast.Expr(ast.Call(ast.Name("print", ast.Load()), parts, []))


print_ = _define("print", ["*values"], lambda t, p: None, _print_emit, statics={"text": ()}, pure=False,
                 statement=True)  # (in the forward sweep only: the reverse sweep never runs it again)
random_seed = _define("random_seed", ["seed"], lambda t, p: None,
                      lambda a, p: ast.Expr(ast.Call(_attr_chain("np.random.seed"), list(a), [])),
                      pure=False, statement=True)
random_random = _define("random_random", ["size"], lambda t, p: _draw_type(t[0]),
                        _legacy_emitter("np.random.random"), pure=False, defaults=_SIZE)
# What draws from (or seeds) NumPy's global stream: compiled code that does runs on that stream.
GLOBAL_STREAM = frozenset({random_normal, random_uniform, random_standard_normal, random_random, random_seed})

# The log of a checkpointed loop's draws (transforms/checkpointed.py, runtime.log_draw): the count
# of numbers drawn after a draw that starts `at`, storing them, reading them back.
draw_position = _define("draw_position", ["at", "z"], lambda t, p: I64,
                        lambda a, p: ast.BinOp(a[0], ast.Add(), ast.Attribute(a[1], "size", ast.Load())
                                               if p["array"] else ast.Constant(1)), statics={"array": False})
log_draw = _define("log_draw", ["log", "at", "z"], same_as_first,
                   lambda a, p: ast.Call(_attr_chain("log_draws" if p["array"] else "log_draw"), list(a), []),
                   statics={"array": False}, aliases=True)
logged_draws = _define("logged_draws", ["log", "at", "shape"], lambda t, p: _draw_type(t[2]),
                       call_emitter("logged_draws"))
# NumPy's checks of a draw's parameters, made by the code Numba compiles before it draws (Numba's
# draws make none; passes/draws.py). Each returns its first operand (checked_range: high - low).
checked_scale = _define("checked_scale", ["scale"], same_as_first, call_emitter("checked_scale"),
                        impl=runtime.checked_scale)
checked_range = _define("checked_range", ["low", "high"], elementwise, call_emitter("checked_range"),
                        impl=runtime.checked_range)
checked_ordered_range = _define("checked_ordered_range", ["low", "high"], elementwise,
                                call_emitter("checked_ordered_range"), impl=runtime.checked_ordered_range)
checked_size = _define("checked_size", ["size", "shape"], same_as_first, call_emitter("checked_size"),
                       impl=runtime.checked_size)
checked_seed = _define("checked_seed", ["seed"], same_as_first, call_emitter("checked_seed"),
                       impl=runtime.checked_seed)
# np.split's check that an axis divides into equal sections: the length of each.
checked_sections = _define("checked_sections", ["n", "sections"], same_as_first, call_emitter("checked_sections"),
                           impl=runtime.checked_sections)

GENERATOR_METHODS = {"standard_normal": rng_standard_normal, "normal": rng_normal, "uniform": rng_uniform,
                     "random": rng_random, "integers": rng_integers, "permutation": rng_permutation,
                     "choice": rng_choice}
def _outer_type(in_types, params):
    if any(not t.is_array or t.ndim != 1 for t in in_types):  # (the frontend ravels others, as NumPy does)
        raise TypeError("takes two vectors (1-D arrays) here")
    return promote(*in_types).with_ndim(2)


outer = _define("outer", "ab", _outer_type, call_emitter("np.outer"),
                impl=np.outer)
# The full discrete convolution of two vectors (np.convolve's default mode; Numba's np.convolve has
# only that one). The other modes, and np.correlate, are windows of it (frontend/composed.py).
convolve = _define("convolve", "av", lambda t, p: promote(*t).with_ndim(1), call_emitter("np.convolve"),
                   impl=np.convolve)


# --- how names in user code map to primitives ----------------------------------------------

NUMPY: dict[object, Primitive] = {
    np.exp: exp, np.log: log, np.sqrt: sqrt, np.sin: sin, np.cos: cos, np.tan: tan,
    np.tanh: tanh, np.abs: abs, np.absolute: abs, np.sign: sign, np.maximum: maximum,
    np.minimum: minimum, np.where: where, np.sum: sum, np.mean: mean, np.dot: dot,
    np.matmul: matmul, np.transpose: transpose, np.add: add, np.subtract: sub,
    np.multiply: mul, np.divide: div, np.true_divide: div, np.power: pow, np.negative: neg,
    np.floor: floor, np.ceil: ceil, np.trunc: trunc, np.rint: rint, np.round: round, np.around: round,
    np.expm1: expm1, np.log1p: log1p, np.log2: log2, np.log10: log10, np.cbrt: cbrt, np.square: square,
    np.reciprocal: reciprocal, np.arcsin: arcsin, np.arccos: arccos, np.arctan: arctan, np.sinh: sinh,
    np.cosh: cosh, np.arcsinh: arcsinh, np.arccosh: arccosh, np.arctanh: arctanh, np.hypot: hypot,
    np.arctan2: arctan2, np.logaddexp: logaddexp, np.fmax: fmax, np.fmin: fmin, np.isfinite: isfinite,
    np.isnan: isnan, np.isinf: isinf, np.clip: clip, np.vdot: vdot, np.inner: inner, np.trace: trace, np.diag: diag,
    np.linalg.solve: solve, np.linalg.inv: inv, np.linalg.det: det, np.linalg.cholesky: cholesky,
    np.linalg.eigvalsh: eigvalsh, np.tril: tril, np.triu: triu,
    np.eye: eye, np.linspace: linspace, np.arange: arange, np.reshape: reshape, np.ravel: ravel, np.expand_dims: expand_dims, np.squeeze: squeeze,
    np.swapaxes: swapaxes, np.flip: flip, np.broadcast_to: broadcast_to, np.repeat: repeat,
    np.roll: roll, np.triu: triu, np.tril: tril,
    np.bitwise_and: bitand, np.bitwise_or: bitor, np.bitwise_xor: bitxor, np.invert: invert,
    np.concatenate: concatenate, np.stack: stack, np.prod: prod, np.var: var, np.std: std, np.cumsum: cumsum,
    np.cumprod: cumprod, np.all: all_, np.any: any_,
    np.mod: mod, np.remainder: mod, np.floor_divide: floordiv,
    np.max: amax, np.amax: amax, np.min: amin, np.amin: amin, np.less: lt, np.less_equal: le, np.greater: gt,
    np.greater_equal: ge, np.equal: eq, np.not_equal: ne,
    builtins.min: min, builtins.max: max, builtins.abs: abs, builtins.float: to_float, builtins.int: to_int,
    np.argmax: argmax, np.argmin: argmin, np.true_divide: div, np.searchsorted: searchsorted, np.digitize: digitize,
    np.zeros: zeros, np.ones: ones, np.empty: empty, np.full: full, np.copy: copy, np.outer: outer,
    np.random.default_rng: default_rng, np.random.normal: random_normal, np.random.uniform: random_uniform,
    np.random.standard_normal: random_standard_normal, np.random.seed: random_seed, np.random.random: random_random,
}

# NumPy functions returning a tuple: one primitive per item, applied to the same arguments.
TUPLES: dict[object, tuple[Primitive, ...]] = {
    np.linalg.slogdet: (slogdet_sign, logabsdet), np.linalg.eigh: (eigh_values, eigh_vectors),
    np.linalg.svd: (svd_u, svd_s, svd_vt), np.linalg.qr: (qr_q, qr_r),
    np.linalg.lstsq: (lstsq, lstsq_residuals, lstsq_rank, lstsq_sv),
}
# The fields of NumPy's named tuples of those results (np.linalg.slogdet(A).logabsdet, .eigenvalues,
# .S, .R: NumPy 2's SlogdetResult, EighResult, SVDResult, QRResult; none before), read off a call of
# each. The results themselves are returned as plain tuples.
RESULT_FIELDS: dict[object, tuple[str, ...]] = {fn: getattr(type(fn(np.eye(1))), "_fields", ()) for fn in
                                                (np.linalg.slogdet, np.linalg.eigh, np.linalg.svd, np.linalg.qr)}
# Calls that return one item alone, not the tuple, when a static parameter has a given value:
# np.linalg.svd(A, compute_uv=False) is the singular values.
ALONE: dict[object, tuple[str, object, int]] = {np.linalg.svd: ("compute_uv", False, 1)}

BINOPS = {"Add": add, "Sub": sub, "Mult": mul, "Div": div, "Pow": pow, "MatMult": matmul,
          "FloorDiv": floordiv, "Mod": mod, "BitAnd": bitand, "BitOr": bitor, "BitXor": bitxor}
COMPARE = {"Lt": lt, "LtE": le, "Gt": gt, "GtE": ge, "Eq": eq, "NotEq": ne}


def numpy_name(obj: object) -> str:
    """How a user would spell `obj`: ``numpy.sin``, ``builtins.min``."""
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, np.ufunc):  # (a ufunc's method: numpy.maximum.accumulate)
        return f"numpy.{owner.__name__}.{obj.__name__}"
    module = getattr(obj, "__module__", None) or "numpy"
    return f"{module}.{getattr(obj, '__name__', obj)}"


__all__ = ["Primitive", "ALL", "NUMPY", "TUPLES", "BINOPS", "COMPARE", "NONE", "I64", "F64", "BOOL"]
