"""Rules for the core primitives: arithmetic, elementwise functions, reductions, products,
selection and indexing. Each line pairs a primitive with its derivative."""

from __future__ import annotations

from .. import primitives as P
from ..errors import located
from ..ir.builder import Sym, apply
from ..ir.core import Const
from . import (Singular, add_tangents, broadcast_to_out, choose, defrule, elementwise, linear, masked, refuse,
               unbroadcast, zero_derivative)


def cos(x): return apply(P.cos, x)
def sin(x): return apply(P.sin, x)
def log(x): return apply(P.log, x)
def sign(x): return apply(P.sign, x)
def sqrt(x): return apply(P.sqrt, x)


_LN2, _LN10 = 0.6931471805599453, 2.302585092994046


# --- arithmetic -------------------------------------------------------------------------------

linear(P.add, 1, 1)
linear(P.sub, 1, -1)
linear(P.neg, -1)
linear(P.to_float, 1)
elementwise(P.mul, lambda a, b, z: b, lambda a, b, z: a)
# Singular(...): a partial that is infinite or NaN somewhere at finite inputs (see rules/__init__.py).

def _integer_exponent(a, b, z) -> bool:
    """b * a ** (b - 1) is a polynomial in a: a literal integer exponent of at least 1."""
    return isinstance(b.atom, Const) and float(b.atom.value).is_integer() and b.atom.value >= 1


elementwise(P.div, Singular(lambda a, b, z: 1.0 / b), Singular(lambda a, b, z: -z / b))
elementwise(P.pow, Singular(lambda a, b, z: b * a ** (b - 1), _integer_exponent), Singular(lambda a, b, z: z * log(a)))
elementwise(P.mod, lambda a, b, z: 1.0, Singular(lambda a, b, z: -apply(P.floor, a / b)))
zero_derivative(P.bitand, P.bitor, P.bitxor, P.invert)
zero_derivative(P.floordiv, P.floor, P.sign, P.lt, P.le, P.gt, P.ge, P.eq, P.ne, P.not_, P.and_, P.or_,
                P.shape, P.size, P.make_tuple, P.joined_shape, P.trip_count, P.zeros, P.ones, P.empty, P.zeros_like,
                P.list_position, P.numpy_divisor,
                P.last_writes, P.checked_mask, P.checked_index, P.to_int, P.astype, P.argsort, P.argmax, P.argmin, P.searchsorted,
                P.digitize, P.running_extreme, P.sort_columns, P.triangle_indices)
# Identities after a check (of shapes, a range, an order): no derivative flows to what they are
# checked against (fits_shape's `like`, checked_fraction's scale).
for _identity in (P.fits_shape, P.keeps_shape, P.increasing, P.nonempty_list, P.histogram_weights, P.checked_fraction,
                 P.checked_scale):
    linear(_identity, 1)
# NumPy's checks of a draw's parameters (passes/draws.py), differentiated where a checkpointed loop
# records its draws as standard variates: a range is high - low.
linear(P.checked_range, -1, 1)
linear(P.checked_ordered_range, -1, 1)
zero_derivative(P.checked_size, P.checked_seed, P.checked_sections, P.draw_position, P.log_draw,
                P.logged_draws)
defrule(P.histogram_span, lambda primals, tangents, out, upper=False: tangents[1 if upper else 0],
        lambda g, primals, out, upper=False: [None, g] if upper else [g, None])  # (an end, or its shift by 0.5)
elementwise(P.masked_product, Singular(lambda t, d, z: d), Singular(lambda t, d, z: t))  # (derivatives' own)

# --- elementwise functions: d/dx f(x), given x and y = f(x) -----------------------------------

elementwise(P.exp, lambda x, y: y)
elementwise(P.log, Singular(lambda x, y: 1.0 / x))
elementwise(P.sqrt, Singular(lambda x, y: 0.5 / y))
elementwise(P.sin, lambda x, y: cos(x))
elementwise(P.cos, lambda x, y: -sin(x))
elementwise(P.tan, lambda x, y: 1.0 + y * y)
elementwise(P.tanh, lambda x, y: 1.0 - y * y)
elementwise(P.abs, lambda x, y: sign(x))  # 0 at x = 0, like np.sign
elementwise(P.expm1, lambda x, y: y + 1.0)
elementwise(P.log1p, Singular(lambda x, y: 1.0 / (1.0 + x)))
elementwise(P.log2, Singular(lambda x, y: 1.0 / (x * _LN2)))
elementwise(P.log10, Singular(lambda x, y: 1.0 / (x * _LN10)))
elementwise(P.cbrt, Singular(lambda x, y: 1.0 / (3.0 * y * y)))
elementwise(P.square, lambda x, y: 2.0 * x)
elementwise(P.reciprocal, Singular(lambda x, y: -(y * y)))
elementwise(P.arcsin, Singular(lambda x, y: 1.0 / sqrt(1.0 - x * x)))
elementwise(P.arccos, Singular(lambda x, y: -1.0 / sqrt(1.0 - x * x)))
elementwise(P.arctan, lambda x, y: 1.0 / (1.0 + x * x))
elementwise(P.sinh, lambda x, y: apply(P.cosh, x))
elementwise(P.cosh, lambda x, y: apply(P.sinh, x))
elementwise(P.arcsinh, lambda x, y: 1.0 / sqrt(x * x + 1.0))
elementwise(P.arccosh, Singular(lambda x, y: 1.0 / sqrt(x * x - 1.0)))
elementwise(P.arctanh, Singular(lambda x, y: 1.0 / (1.0 - x * x)))
elementwise(P.hypot, Singular(lambda a, b, z: a / z), Singular(lambda a, b, z: b / z))
elementwise(P.arctan2, Singular(lambda a, b, z: b / (a * a + b * b)), Singular(lambda a, b, z: -a / (a * a + b * b)))
elementwise(P.logaddexp, lambda a, b, z: apply(P.exp, a - z), lambda a, b, z: apply(P.exp, b - z))

# scipy.special: erf' = 2/√π · exp(−x²); gammaln' = ψ (digamma), ψ' = ψ₁ (trigamma), whose own
# derivative is not implemented; expit' = expit(x) · expit(−x) (= y (1 − y), without the
# cancellation of 1 − y near 1); logit' = 1 / (x (1 − x)). xlogy(x, y) = x log y is 0 where x is 0
# whatever y is: there its partial in y is 0, and in x, log y.
_TWO_OVER_SQRT_PI = 1.1283791670955126


def _bell(x):
    return _TWO_OVER_SQRT_PI * apply(P.exp, -(x * x))


elementwise(P.erf, lambda x, y: _bell(x))
elementwise(P.erfc, lambda x, y: -_bell(x))
elementwise(P.gammaln, lambda x, y: apply(P.digamma, x))  # (infinite only at the poles, where the value is)
elementwise(P.digamma, lambda x, y: apply(P.trigamma, x))
refuse(P.trigamma, "the derivative of trigamma (the second derivative of digamma) is not implemented")
elementwise(P.expit, lambda x, y: y * apply(P.expit, -x))
elementwise(P.logit, Singular(lambda x, y: 1.0 / (x * (1.0 - x))))
elementwise(P.xlogy, Singular(lambda x, y, z: log(y)),
            Singular(lambda x, y, z: choose(apply(P.eq, x, 0.0), 0.0, x / y)))
# np.clip(x, lo, hi) is np.minimum(np.maximum(x, lo), hi): each operand's derivative where it is
# the one returned, with the ties of maximum and minimum (x at a bound keeps its derivative).

def _below_hi(x, lo, hi):
    """Where the upper bound does not cut: np.maximum(x, lo) <= hi."""
    return apply(P.le, apply(P.maximum, x, lo), hi)


elementwise(P.clip,
            lambda x, lo, hi, y: choose(_below_hi(x, lo, hi), choose(apply(P.ge, x, lo), 1.0, 0.0), 0.0),
            lambda x, lo, hi, y: choose(_below_hi(x, lo, hi), choose(apply(P.ge, x, lo), 0.0, 1.0), 0.0),
            lambda x, lo, hi, y: choose(_below_hi(x, lo, hi), 0.0, 1.0))
zero_derivative(P.ceil, P.trunc, P.rint, P.round, P.isfinite, P.isnan, P.isinf, P.all_, P.any_)


# --- maximum and minimum: the derivative follows the operand that was chosen -----------------
# At a tie the first operand gets all of it, matching the value Python's max/min return. Python's
# max(a, b) is a unless b > a (min: unless b < a), so a NaN operand loses to a number only as
# the second one (max(1.0, nan) is 1.0, max(nan, 1.0) nan): the derivative follows the operand
# returned. np.maximum and np.minimum propagate a NaN, and ties go to the first operand.
# fmax and fmin choose the operand that is not NaN: the first wins where the result equals it.

def _selection(prim: P.Primitive, first_wins) -> None:
    def jvp(primals, tangents, out, **params):
        a, b = primals
        ta, tb = (0.0 if t is None else t for t in tangents)
        return broadcast_to_out(choose(first_wins(a, b, out), ta, tb), 0, primals, out) \
            if any(t is not None for t in tangents) else None

    def vjp(g, primals, out, **params):
        a, b = primals
        mask = first_wins(a, b, out)
        return [unbroadcast(choose(mask, g, 0.0), 0, primals, out),
                unbroadcast(choose(mask, 0.0, g), 1, primals, out)]

    defrule(prim, jvp, vjp)


_selection(P.maximum, lambda a, b, out: a >= b)
_selection(P.max, lambda a, b, out: apply(P.not_, apply(P.gt, b, a)))
_selection(P.minimum, lambda a, b, out: a <= b)
_selection(P.min, lambda a, b, out: apply(P.not_, apply(P.lt, b, a)))
_selection(P.fmax, lambda a, b, out: apply(P.eq, out, a))
_selection(P.fmin, lambda a, b, out: apply(P.eq, out, a))


def _where_jvp(primals, tangents, out, **params):
    c, a, b = primals
    _, ta, tb = tangents
    if ta is None and tb is None:
        return None
    both = choose(c, 0.0 if ta is None else ta, 0.0 if tb is None else tb)
    return broadcast_to_out(both, 0, primals, out) if both.type != out.type else both


def _where_vjp(g, primals, out, **params):
    c = primals[0]
    return [None, unbroadcast(choose(c, g, 0.0), 1, primals, out),
            unbroadcast(choose(c, 0.0, g), 2, primals, out)]


defrule(P.where, _where_jvp, _where_vjp)
defrule(P.select, _where_jvp, _where_vjp)


# --- reductions -----------------------------------------------------------------------------

def _same_op(prim):
    """The JVP of an operation linear in its first operand (a sum, a reshape, an index): the same
    operation on the tangent, with the other operands and the parameters as they are (None when
    only another operand, such as the array whose shape a broadcast copies, has a tangent)."""
    def jvp(primals, tangents, out, **params):
        return None if tangents[0] is None else apply(prim, tangents[0], *primals[1:], **params)
    return jvp


# A copy's tangent is a copy too, which the code after it may update in place as it does the copy.
defrule(P.copy, _same_op(P.copy), lambda g, primals, out: [g])


def _spread(g: Sym, x: Sym, axis) -> Sym:
    """A reduction's cotangent `g` broadcast back over the reduced axes of `x`."""
    if x.ndim == 0:
        return g
    if axis is None:
        return apply(P.full, apply(P.shape, x), g)
    return apply(P.expand_to, g, apply(P.shape, x), axis=axis)


# np.max and np.min: the derivative goes to the elements equal to the result; tied elements share
# it equally (the average of the one-sided derivatives, as JAX does).

def _hits(x: Sym, out: Sym, axis) -> tuple[Sym, Sym]:
    """1.0 where x attains the reduction's result, and how many do along `axis`."""
    hit = choose(apply(P.eq, x, _spread(out, x, axis)), 1.0, 0.0) if x.ndim else 1.0
    return hit, (apply(P.sum, hit, axis=axis) if x.ndim else 1.0)


def _extreme_jvp(primals, tangents, out, axis=None):
    hit, count = _hits(primals[0], out, axis)
    return apply(P.sum, tangents[0] * hit, axis=axis) / count if primals[0].ndim else tangents[0]


def _extreme_vjp(g, primals, out, axis=None):
    hit, count = _hits(primals[0], out, axis)  # (a NaN result is attained by no element: count 0)
    return [_spread(masked(g, 1.0 / count), primals[0], axis) * hit if primals[0].ndim else g]


defrule(P.amax, _extreme_jvp, _extreme_vjp)
defrule(P.amin, _extreme_jvp, _extreme_vjp)


# np.prod: the derivative with respect to an element is the product of the others, computed
# without dividing by zero: out / x where no element is 0; at a single 0, the product of the rest.

def _product_of_others(x: Sym, out: Sym, axis) -> Sym:
    zero = apply(P.eq, x, 0.0)
    nonzero = choose(zero, 1.0, x)
    zeros = _spread(apply(P.sum, choose(zero, 1.0, 0.0), axis=axis), x, axis)
    rest = _spread(apply(P.prod, nonzero, axis=axis), x, axis)
    at_one_zero = choose(zero, choose(apply(P.eq, zeros, 1.0), rest, 0.0), 0.0)
    return choose(apply(P.eq, zeros, 0.0), _spread(out, x, axis) / nonzero, at_one_zero)


def _prod_jvp(primals, tangents, out, axis=None):
    x = primals[0]
    return apply(P.sum, tangents[0] * _product_of_others(x, out, axis), axis=axis) if x.ndim else tangents[0]


def _prod_vjp(g, primals, out, axis=None):
    x = primals[0]
    return [_spread(g, x, axis) * _product_of_others(x, out, axis) if x.ndim else g]


defrule(P.prod, _prod_jvp, _prod_vjp)


# np.var and np.std: ∂var/∂x = 2 (x - mean) / (n - ddof), and ∂std/∂x = (x - mean) / ((n - ddof) std).

def _spread_derivative(x: Sym, out: Sym, axis, ddof, std: bool) -> Sym:
    mean = _spread(apply(P.mean, x, axis=axis), x, axis)
    centred = x - mean
    dof = _count(x, axis) - ddof
    if not std:
        return centred * 2.0 / dof  # (an array, or NumPy's number: NaN, not ZeroDivisionError, at n = ddof)
    spread = _spread(out, x, axis)
    if not x.ndim:
        return centred / (dof * spread)
    # Where all elements are equal, NumPy's std is rounding noise (x - mean is not exactly 0), and the
    # ratio would be too: it is NaN there, as for an exact 0 / 0 (docs/language.md). Such elements are
    # the mean's size (a maximum would fail over an empty axis, where NumPy's std is NaN).
    scale = apply(P.abs, mean)
    degenerate = choose(apply(P.le, spread, scale * _NOISE), float("nan"), 0.0)
    return centred / (dof * spread) + degenerate


_NOISE = 32 * 2.220446049250313e-16  # (a spread at most this relative to the elements is rounding)


def _spread_rule(std: bool) -> None:
    prim = P.std if std else P.var

    times = masked if std else (lambda t, d: t * d)  # std's partial is NaN where all elements are equal

    def jvp(primals, tangents, out, axis=None, ddof=0):
        partial = _spread_derivative(primals[0], out, axis, ddof, std)
        return apply(P.sum, times(tangents[0], partial), axis=axis)

    def vjp(g, primals, out, axis=None, ddof=0):
        return [times(_spread(g, primals[0], axis), _spread_derivative(primals[0], out, axis, ddof, std))]

    defrule(prim, jvp, vjp)


_spread_rule(False)
_spread_rule(True)


# np.cumsum: the adjoint is the cumulative sum taken from the other end.

def _reverse_cumsum(v: Sym, axis) -> Sym:
    """The cumulative sum of `v` from the last element back (axis None: of a vector)."""
    along = 0 if axis is None else axis
    return apply(P.flip, apply(P.cumsum, apply(P.flip, v, axis=along), axis=axis), axis=along)


defrule(P.cumsum, _same_op(P.cumsum), lambda g, primals, out, axis=None: [_reverse_cumsum(g, axis)])


# np.cumprod: y_k = x_0 ⋯ x_k along a line. Dividing by x would fail at a zero, so each line is
# split at its first zero z: before z, ∂y_k/∂x_j = y_k / x_j; at z, the product of the others is
# y1_k, the cumulative product with x_z replaced by 1; past z every partial has x_z in it and is 0.
# Without an axis, the line is the flattened array.

def _first_zero(x: Sym, axis) -> tuple[Sym, Sym, Sym]:
    """(before, first, y1): where no zero of the line precedes or is at a position, where its
    first zero is, and the cumulative product with that zero replaced by 1."""
    zero = choose(apply(P.eq, x, 0.0), 1.0, 0.0)
    count = apply(P.cumsum, zero, axis=axis)
    before, first = apply(P.eq, count, 0.0), apply(P.eq, count * zero, 1.0)
    return before, first, apply(P.cumprod, choose(first, 1.0, x), axis=axis)


def _cumprod_jvp(primals, tangents, out, axis=None):
    x, t = primals[0], tangents[0]
    if axis is None and x.ndim > 1:
        x, t = apply(P.ravel, x), apply(P.ravel, t)
    before, first, y1 = _first_zero(x, axis)
    safe = choose(before, x, 1.0)
    return choose(before, out * apply(P.cumsum, choose(before, t / safe, 0.0), axis=axis),
                  apply(P.cumsum, choose(first, t, 0.0), axis=axis) * y1)


def _cumprod_vjp(g, primals, out, axis=None):
    x = primals[0]
    flattened = axis is None and x.ndim > 1
    line = apply(P.ravel, x) if flattened else x
    before, first, y1 = _first_zero(line, axis)
    safe = choose(before, line, 1.0)
    x_bar = choose(before, _reverse_cumsum(g * out, axis) / safe, choose(first, _reverse_cumsum(g * y1, axis), 0.0))
    return [_back_to(x, x_bar) if flattened else x_bar]


defrule(P.cumprod, _cumprod_jvp, _cumprod_vjp)


def _count(x: Sym, axis) -> Sym:
    """How many elements of `x` each mean over `axis` averages."""
    if x.ndim == 0:
        return 1.0
    if axis is None:
        return apply(P.to_float, apply(P.size, x))
    shape = apply(P.shape, x)
    axes = axis if isinstance(axis, tuple) else (axis,)
    counts = [apply(P.getitem, shape, a, spec=("i",)) for a in axes]
    return apply(P.to_float, add_product(counts))


def add_product(factors: list) -> Sym:
    total = factors[0]
    for f in factors[1:]:
        total = total * f
    return total


defrule(P.sum, _same_op(P.sum),
        lambda g, primals, out, axis=None: [_spread(g, primals[0], axis)])
defrule(P.mean, _same_op(P.mean),
        lambda g, primals, out, axis=None: [_spread(g / _count(primals[0], axis), primals[0], axis)])


# --- products -------------------------------------------------------------------------------

def _bilinear_jvp(product):
    """The product rule for ``product(a, b)``, linear in each operand."""
    def jvp(primals, tangents, out, **params):
        (a, b), (ta, tb) = primals, tangents
        return add_tangents([None if ta is None else product(ta, b), None if tb is None else product(a, tb)])
    return jvp


def _product(a: Sym, b: Sym) -> Sym:
    return a * b if a.ndim == 0 or b.ndim == 0 else a @ b


_matmul_jvp = _bilinear_jvp(_product)


def _matmul_vjp(g, primals, out, **params):
    """Cotangents of a @ b for every combination of vector and matrix operands."""
    a, b = primals
    if a.ndim == 0 or b.ndim == 0:
        return [unbroadcast(g * b, 0, primals, out), unbroadcast(g * a, 1, primals, out)]
    if a.ndim == 1 and b.ndim == 1:
        return [g * b, g * a]
    if b.ndim == 1:
        return [apply(P.outer, g, b), a.T @ g]
    if a.ndim == 1:
        return [b @ g, apply(P.outer, a, g)]
    return [g @ b.T, a.T @ g]


defrule(P.matmul, _matmul_jvp, _matmul_vjp)
defrule(P.dot, _matmul_jvp, _matmul_vjp)
defrule(P.outer, _bilinear_jvp(lambda a, b: apply(P.outer, a, b)),
        lambda g, primals, out: [g @ primals[1], primals[0] @ g])


def _convolve_vjp(g, primals, out):
    """y[k] = Σ a[i] v[k - i], so ā[i] = Σ g[k] v[k - i]: the full convolution of g with v
    reversed, from its element m - 1 on (m = len(v)); v̄ likewise with a."""
    a, v = primals
    n, m = (apply(P.getitem, apply(P.shape, x), 0, spec=("i",)) for x in (a, v))

    def correlated(x, length, start):
        full = apply(P.convolve, g, apply(P.flip, x))
        return apply(P.getitem, full, start - 1, start - 1 + length, None, spec=("s",))
    return [correlated(v, n, m), correlated(a, m, n)]


defrule(P.convolve, _bilinear_jvp(lambda a, b: apply(P.convolve, a, b)), _convolve_vjp)
# The in-place updates of adjoints: their tangents are updated in place too (forward over reverse).

def _accumulate_jvp(primals, tangents, out):
    tx, ty = tangents
    return tx if ty is None else ty if tx is None else apply(P.accumulate, tx, ty)


def _add_outer_jvp(primals, tangents, out):
    (x, a, b), (tx, ta, tb) = primals, tangents
    total = tx if tx is not None else apply(P.zeros_like, x)
    if ta is not None:
        total = apply(P.add_outer, total, ta, b)
    return total if tb is None else apply(P.add_outer, total, a, tb)


linear(P.accumulate, 1, 1).jvp = _accumulate_jvp
defrule(P.add_outer, _add_outer_jvp, lambda g, primals, out: [g, g @ primals[2], primals[1] @ g])


def _full_jvp(primals, tangents, out):
    value_dot = tangents[1]
    return broadcast_to_out(value_dot, 1, primals, out) if value_dot.ndim else apply(P.full, primals[0], value_dot)


defrule(P.full, _full_jvp, lambda g, primals, out: [None, unbroadcast(g, 1, primals, out)])


# --- shapes and indexing ----------------------------------------------------------------------

def _inverse(axes):
    """The permutation undoing `axes` (which may count from the end)."""
    return None if axes is None else tuple(sorted(range(len(axes)), key=lambda k: axes[k] % len(axes)))


defrule(P.transpose, _same_op(P.transpose),
        lambda g, primals, out, axes=None: [apply(P.transpose, g, axes=_inverse(axes))])


# --- shapes: each adjoint undoes the change of shape ---------------------------------------------

def _back_to(x: Sym, g: Sym) -> Sym:
    return apply(P.reshape, g, apply(P.shape, x))


defrule(P.reshape, _same_op(P.reshape), lambda g, primals, out: [_back_to(primals[0], g), None])
defrule(P.ravel, _same_op(P.ravel), lambda g, primals, out: [_back_to(primals[0], g)])
defrule(P.flatten, _same_op(P.flatten), lambda g, primals, out: [_back_to(primals[0], g)])
defrule(P.expand_dims, _same_op(P.expand_dims),
        lambda g, primals, out, axis: [apply(P.squeeze, g, axis=axis % out.ndim)])
defrule(P.squeeze, _same_op(P.squeeze),
        lambda g, primals, out, axis: [apply(P.expand_dims, g, axis=axis % primals[0].ndim)])
defrule(P.swapaxes, _same_op(P.swapaxes),
        lambda g, primals, out, axis1, axis2: [apply(P.swapaxes, g, axis1=axis1, axis2=axis2)])
defrule(P.flip, _same_op(P.flip), lambda g, primals, out, axis=None: [apply(P.flip, g, axis=axis)])


def _along(ndim: int, axis: int, index: list, kind: str) -> tuple[list, tuple]:
    """Index operands and spec selecting `index` (a slice's three operands, or one integer) along
    `axis` and everything along the other axes."""
    operands, spec = [], []
    for k in range(ndim):
        if k == axis % ndim:
            operands += index
            spec.append(kind)
        else:
            operands += [None, None, None]
            spec.append("s")
    return operands, tuple(spec)


def _sequence_jvp(prim):
    def jvp(primals, tangents, out, axis=0):
        if all(t is None for t in tangents):
            return None
        filled = [t if t is not None else apply(P.zeros_like, x) for x, t in zip(primals, tangents)]
        return apply(prim, *filled, axis=axis)
    return jvp


def _concatenate_vjp(g, primals, out, axis=0):
    cotangents, start = [], 0
    for x in primals:
        stop = start + apply(P.getitem, apply(P.shape, x), axis % x.ndim, spec=("i",))
        operands, spec = _along(g.ndim, axis, [start, stop, None], "s")
        cotangents.append(apply(P.getitem, g, *operands, spec=spec))
        start = stop
    return cotangents


def _stack_vjp(g, primals, out, axis=0):
    cotangents = []
    for k in range(len(primals)):
        operands, spec = _along(g.ndim, axis, [k], "i")
        cotangents.append(apply(P.getitem, g, *operands, spec=spec))
    return cotangents


defrule(P.concatenate, _sequence_jvp(P.concatenate), _concatenate_vjp)


def _pack_jvp(primals, tangents, out):
    if all(t is None for t in tangents):
        return None
    return apply(P.pack, *[0.0 if t is None else t for t in tangents])


def _pack_vjp(g, primals, out):
    return [apply(P.getitem, g, k, spec=("i",)) for k in range(len(primals))]


defrule(P.pack, _pack_jvp, _pack_vjp)


# list_rows(buffer, item, k, n) is `buffer` after the first iteration, and a new array (every row of
# which is stored later) at it, when `buffer` is the loop's placeholder, which has no derivative: so
# an identity for derivatives (item only gives the shape).
def _list_rows_jvp(primals, tangents, out):
    buffer, item, k, n = primals
    if tangents[0] is None:
        return None
    return apply(P.list_rows, tangents[0], item, k, n)


def _list_rows_vjp(g, primals, out):
    return [g, None, None, None]


defrule(P.list_rows, _list_rows_jvp, _list_rows_vjp)


# list_grow(buffer, item, k) keeps buffer's rows (the first k, the others are not set yet) in an
# array of the rows item k needs: linear in buffer, whose cotangent is g cut back to its size.
def _list_grow_jvp(primals, tangents, out):
    buffer, item, k = primals
    return None if tangents[0] is None else apply(P.list_grow, tangents[0], item, k)


defrule(P.list_grow, _list_grow_jvp, lambda g, primals, out: [apply(P.list_resized, g, primals[2]), None, None])
defrule(P.list_resized, _same_op(P.list_resized), lambda g, primals, out, after=None: [
    apply(P.list_resized, g, primals[1], after=None if after else True), None])


# --- copies and rearrangements: linear, so each JVP is the operation on the tangent, and each
# adjoint sends every element of g back to the element of x it copies (adding the copies) -----

def _interior(g: Sym, widths: tuple) -> Sym:
    """The part of a padded array's cotangent that covers the array: ``g[b0:-a0, b1:-a1, …]``."""
    operands = [bound for before, after in widths for bound in (before, -after if after else None, None)]
    return apply(P.getitem, g, *operands, spec=("s",) * len(widths))


def _pad_jvp(primals, tangents, out, widths):
    (x, _), (tx, tv) = primals, tangents
    if tx is None and tv is None:
        return None
    return apply(P.pad, apply(P.zeros_like, x) if tx is None else tx, 0.0 if tv is None else tv, widths=widths)


def _pad_vjp(g, primals, out, widths):
    inside = _interior(g, widths)
    return [inside, apply(P.sum, g) - apply(P.sum, inside)]


defrule(P.broadcast_to, _same_op(P.broadcast_to), lambda g, primals, out: [_fit(g, primals[0]), None])
defrule(P.tile, _same_op(P.tile), lambda g, primals, out, reps: [apply(P.untile, g, apply(P.shape, primals[0]))])
defrule(P.repeat, _same_op(P.repeat), lambda g, primals, out, axis=None: [
    apply(P.unrepeat, g, apply(P.shape, primals[0]), primals[1], axis=axis), None])
defrule(P.roll, _same_op(P.roll), lambda g, primals, out, axis=None: [apply(P.roll, g, -primals[1], axis=axis), None])
defrule(P.triu, _same_op(P.triu), lambda g, primals, out, k=0: [apply(P.triu, g, k=k)])  # (projections:
defrule(P.tril, _same_op(P.tril), lambda g, primals, out, k=0: [apply(P.tril, g, k=k)])  # self-adjoint)
defrule(P.pad, _pad_jvp, _pad_vjp)


# --- vector products, trace, diagonal, norm, linspace ---------------------------------------------

defrule(P.vdot, _matmul_jvp, _matmul_vjp)  # (of vectors: their dot product)
defrule(P.inner, _matmul_jvp, _matmul_vjp)


def _eye_like(x: Sym) -> Sym:
    shape = apply(P.shape, x)
    return apply(P.eye, apply(P.getitem, shape, 0, spec=("i",)), apply(P.getitem, shape, 1, spec=("i",)))


defrule(P.trace, _same_op(P.trace),
        lambda g, primals, out: [g * _eye_like(primals[0])])
def _diag_vjp(g, primals, out):
    """A vector's adjoint is the diagonal of g; a matrix's is g on its diagonal, zero elsewhere
    (``eye(m, k) @ diag(g) @ eye(k, n)``, k = len(g), for any m × n)."""
    x = primals[0]
    if x.ndim == 1:
        return [apply(P.diag, g)]
    shape, k = apply(P.shape, x), apply(P.getitem, apply(P.shape, g), 0, spec=("i",))
    m, n = (apply(P.getitem, shape, a, spec=("i",)) for a in (0, 1))
    return [apply(P.eye, m, k) @ apply(P.diag, g) @ apply(P.eye, k, n)]


defrule(P.diag, _same_op(P.diag), _diag_vjp)


def _direction(x: Sym, out: Sym, order, axis) -> Sym:
    """The derivative of the p-norm (over `axis`): sign(x) (|x| / |x|ₚ)ᵖ⁻¹, x / |x| for p = 2.
    NaN where the norm is 0, and for p < 1 where an element is."""
    norm = out if axis is None else _spread(out, x, axis)
    return x / norm if order == 2 else sign(x) * (apply(P.abs, x) / norm) ** float(order - 1)


defrule(P.norm, lambda primals, tangents, out, ord=2, axis=None: apply(
            P.sum, masked(tangents[0], _direction(primals[0], out, ord, axis)), axis=axis),
        lambda g, primals, out, ord=2, axis=None: [
            masked(g if axis is None else _spread(g, primals[0], axis), _direction(primals[0], out, ord, axis))])
linear(P.cross_vectors, 1)  # (an identity, after a check of the shape)
zero_derivative(P.eye)



# --- linear algebra -------------------------------------------------------------------------------
# For x = solve(A, b): A x = b, so A ẋ = ḃ − Ȧ x, and the adjoint λ solves Aᵀ λ = ḡ, giving
# b̄ = λ and Ā = −λ xᵀ. inv, det and log|det| follow from d(A⁻¹) = −A⁻¹ Ȧ A⁻¹ and
# d log|det A| = tr(A⁻¹ Ȧ), so every derivative here needs A invertible. For det that is a
# limitation: its derivative at a singular A exists (the adjugate), but it is not computed; the
# inverse raises LinAlgError instead.

def _solve(a, b) -> Sym:
    return apply(P.solve, a, b)


def _solve_jvp(primals, tangents, out):
    (a, _), (ta, tb) = primals, tangents
    rhs = add_tangents([tb, None if ta is None else -(ta @ out)])
    return _solve(a, rhs)


def _times_transpose(x: Sym, y: Sym) -> Sym:
    """x yᵀ for two matrices, or the outer product of two vectors."""
    return apply(P.outer, x, y) if x.ndim == 1 else x @ y.T


def _solve_vjp(g, primals, out):
    lam = _solve(primals[0].T, g)
    return [-_times_transpose(lam, out), lam]


def _log_det_jvp(primals, tangents, out):
    """tr(A⁻¹ Ȧ), the derivative of log|det A|."""
    return apply(P.trace, _solve(primals[0], tangents[0]))


defrule(P.solve, _solve_jvp, _solve_vjp)
defrule(P.inv, lambda primals, tangents, out: -(out @ tangents[0] @ out),
        lambda g, primals, out: [-(out.T @ g @ out.T)])
defrule(P.det, lambda primals, tangents, out: out * _log_det_jvp(primals, tangents, out),
        lambda g, primals, out: [apply(P.inv, primals[0]).T * (g * out)])
defrule(P.logabsdet, _log_det_jvp, lambda g, primals, out: [apply(P.inv, primals[0]).T * g])
zero_derivative(P.slogdet_sign)


# --- decompositions -------------------------------------------------------------------------------
# Published forms: Giles 2008, "Collected matrix derivative results for forward and reverse mode
# algorithmic differentiation" (eigh, SVD, Cholesky); Murray 2016, "Differentiation of the Cholesky
# decomposition"; Townsend 2016, "Differentiating the singular value decomposition"; Walter and
# Lehmann 2018 / Liao et al. 2019 for QR. Below, ∘ is the elementwise product, and the gap matrix
# F has F_ij = 1 / (v_j − v_i) off the diagonal, 0 on it (`inverse_gaps`, which raises
# LinAlgError at tied values, where vectors have no derivative).

def _tril(x: Sym, k: int = 0) -> Sym:
    return apply(P.tril, x, k=k)


def _triu(x: Sym, k: int = 0) -> Sym:
    return apply(P.triu, x, k=k)


def _over(x: Sym, m: Sym) -> Sym:
    """x m⁻¹, as (m⁻ᵀ xᵀ)ᵀ."""
    return _solve(m.T, x.T).T


def _over_transposed(x: Sym, m: Sym) -> Sym:
    """x m⁻ᵀ, as (m⁻¹ xᵀ)ᵀ."""
    return _solve(m, x.T).T


def _sandwich(m: Sym, x: Sym) -> Sym:
    """m⁻¹ x m⁻ᵀ."""
    return _over_transposed(_solve(m, x), m)


# cholesky and eigh read only the lower triangle of A: they are functions of the symmetric
# A_s = low(A) = tril(A) + tril(A, −1)ᵀ. A tangent Ȧ enters as low(Ȧ); a cotangent G with respect
# to A_s leaves through the adjoint of low: Ā = tril(G) + tril(Gᵀ, −1) (the strict upper triangle
# of A gets nothing).

def _lower_symmetric(x: Sym) -> Sym:
    return _tril(x) + _tril(x, -1).T


def _lower_adjoint(g: Sym) -> Sym:
    return _tril(g) + _tril(g.T, -1)


def _phi(x: Sym) -> Sym:
    """The lower triangle of x with its diagonal halved."""
    return _tril(x, -1) + 0.5 * apply(P.diag, apply(P.diag, x))


def _cholesky_jvp(primals, tangents, out, upper=False):
    """A_s = L Lᵀ, so L⁻¹ Ȧ_s L⁻ᵀ = L⁻¹L̇ + (L⁻¹L̇)ᵀ with L⁻¹L̇ lower triangular: L̇ = L Φ(L⁻¹ Ȧ_s L⁻ᵀ)."""
    return out @ _phi(_sandwich(out, _lower_symmetric(tangents[0])))


def _cholesky_vjp(g, primals, out, upper=False):
    """The adjoint of that map (Φ is a mask, its own adjoint): G = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹."""
    return [_lower_adjoint(_sandwich(out.T, _phi(out.T @ g)))]


defrule(P.cholesky, _cholesky_jvp, _cholesky_vjp)


# eigh: A_s = V Λ Vᵀ. Vᵀ Ȧ_s V = Ω Λ − Λ Ω + Λ̇ with Ω = Vᵀ V̇ antisymmetric, so λ̇_i = v_iᵀ Ȧ_s v_i
# and Ω = F ∘ (Vᵀ Ȧ_s V) with F from the eigenvalues. The adjoints with respect to A_s:
# V diag(λ̄) Vᵀ and V (F ∘ (Vᵀ V̄)) Vᵀ.

def _eigenvectors(a: Sym) -> Sym:
    return apply(P.eigh_vectors, a)


def _eigenvalues_jvp(primals, tangents, out):
    v = _eigenvectors(primals[0])
    return apply(P.sum, v * (_lower_symmetric(tangents[0]) @ v), axis=0)


def _eigenvalues_vjp(g, primals, out):
    v = _eigenvectors(primals[0])
    return [_lower_adjoint((v * g) @ v.T)]


def _eigenvector_gaps(a: Sym) -> Sym:
    return apply(P.inverse_gaps, apply(P.eigh_values, a))


def _eigenvectors_jvp(primals, tangents, out):
    return out @ (_eigenvector_gaps(primals[0]) * (out.T @ _lower_symmetric(tangents[0]) @ out))


def _eigenvectors_vjp(g, primals, out):
    return [_lower_adjoint(out @ (_eigenvector_gaps(primals[0]) * (out.T @ g)) @ out.T)]


defrule(P.eigh_values, _eigenvalues_jvp, _eigenvalues_vjp)
defrule(P.eigvalsh, _eigenvalues_jvp, _eigenvalues_vjp)
defrule(P.eigh_vectors, _eigenvectors_jvp, _eigenvectors_vjp)


# svd, reduced: A = U S Vᵀ with k = min(m, n) singular values. With P = Uᵀ Ȧ V,
# Uᵀ Ȧ V = Ω_U S + Ṡ − S Ω_V (Ω_U = UᵀU̇ and Ω_V = VᵀV̇ antisymmetric), so ṡ = diag(P), and
# off the diagonal Ω_U = F ∘ (P S + S Pᵀ), Ω_V = F ∘ (S P + Pᵀ S) with F from the squared singular
# values. A tall A adds the part of U̇ outside the span of U, (I − UUᵀ) Ȧ V S⁻¹ (a wide A the
# same for V): `thin_reciprocal` gives those weights S⁻¹ (0 for a square A, where the part is
# zero; LinAlgError at a zero singular value of a non-square A). Both sides share one form:
#   X = U, Y = V, Ẏ = Ȧ V:   U̇ = U (F ∘ (P S + (P S)ᵀ)) + (Ẏ − U P) S⁻¹
#   X = V, Y = U, Ẏ = ȦᵀU:   V̇ = V (F ∘ (Pᵀ S + (Pᵀ S)ᵀ)) + (Ẏ − V Pᵀ) S⁻¹
# and their adjoints, with K = F ∘ (Xᵀ X̄):  Ā = [X (K + Kᵀ) S + (X̄ − X Xᵀ X̄) S⁻¹] Vᵀ for U,
# and U [V (K + Kᵀ) S + (V̄ − V Vᵀ V̄) S⁻¹]ᵀ for V.

def _svd_factors(a: Sym) -> tuple[Sym, Sym, Sym]:
    """U, s and Vᵀ of the reduced SVD (every static parameter spelled out, so that CSE finds the
    program's own call and the factorisation is not repeated)."""
    return tuple(apply(prim, a, full_matrices=False, compute_uv=True) for prim in (P.svd_u, P.svd_s, P.svd_vt))


def _singular_values_jvp(primals, tangents, out, **params):
    if tangents[0] is None:  # (lstsq's singular values do not depend on b)
        return None
    u, _, vt = _svd_factors(primals[0])
    return apply(P.sum, u * (tangents[0] @ vt.T), axis=0)


def _singular_values_vjp(g, primals, out, **params):
    u, _, vt = _svd_factors(primals[0])
    return [(u * g) @ vt] + [None] * (len(primals) - 1)


def _thin_svd_only(out: Sym, full_matrices: bool) -> None:
    if full_matrices:
        raise located("singular vectors are differentiated only from the reduced SVD: write "
                      "np.linalg.svd(A, full_matrices=False)", out.b.loc)


def _svd_weights(a: Sym, s: Sym) -> tuple[Sym, Sym]:
    """F from the squared singular values, and the weights S⁻¹ of the parts outside the spans."""
    return apply(P.inverse_gaps, s * s), apply(P.thin_reciprocal, s, a)


def _vector_tangent(x: Sym, dy: Sym, s: Sym, gaps: Sym, w: Sym) -> Sym:
    """X (F ∘ (P S + (P S)ᵀ)) + (Ẏ − X P) S⁻¹ with P = Xᵀ Ẏ."""
    p = x.T @ dy
    ps = p * s
    return x @ (gaps * (ps + ps.T)) + (dy - x @ p) * w


def _vector_adjoint(x: Sym, xbar: Sym, s: Sym, gaps: Sym, w: Sym) -> Sym:
    """X (K + Kᵀ) S + (X̄ − X Xᵀ X̄) S⁻¹ with K = F ∘ (Xᵀ X̄)."""
    xtx = x.T @ xbar
    k = gaps * xtx
    return (x @ (k + k.T)) * s + (xbar - x @ xtx) * w


def _svd_u_jvp(primals, tangents, out, full_matrices=True, compute_uv=True):
    _thin_svd_only(out, full_matrices)
    u, s, vt = _svd_factors(primals[0])
    return _vector_tangent(u, tangents[0] @ vt.T, s, *_svd_weights(primals[0], s))


def _svd_u_vjp(g, primals, out, full_matrices=True, compute_uv=True):
    _thin_svd_only(out, full_matrices)
    u, s, vt = _svd_factors(primals[0])
    return [_vector_adjoint(u, g, s, *_svd_weights(primals[0], s)) @ vt]


def _svd_vt_jvp(primals, tangents, out, full_matrices=True, compute_uv=True):
    _thin_svd_only(out, full_matrices)
    u, s, vt = _svd_factors(primals[0])
    return _vector_tangent(vt.T, tangents[0].T @ u, s, *_svd_weights(primals[0], s)).T


def _svd_vt_vjp(g, primals, out, full_matrices=True, compute_uv=True):
    _thin_svd_only(out, full_matrices)
    u, s, vt = _svd_factors(primals[0])
    return [u @ _vector_adjoint(vt.T, g.T, s, *_svd_weights(primals[0], s)).T]


defrule(P.svd_s, _singular_values_jvp, _singular_values_vjp)
defrule(P.svd_u, _svd_u_jvp, _svd_u_vjp)
defrule(P.svd_vt, _svd_vt_jvp, _svd_vt_vjp)


# qr, reduced, of a square or tall A of full column rank: A = QR, so Qᵀ Ȧ R⁻¹ = QᵀQ̇ + Ṙ R⁻¹, an
# antisymmetric plus an upper triangular matrix. Ω = QᵀQ̇ is therefore the strict lower triangle
# of C = Qᵀ Ȧ R⁻¹ minus its transpose, Ṙ = QᵀȦ − Ω R and Q̇ = (Ȧ − Q Ṙ) R⁻¹. Transposing that map:
# with N = R̄ Rᵀ − Qᵀ Q̄, Ā = (Q̄ + Q (triu(N) + triu(N, 1)ᵀ)) R⁻ᵀ. (A wide A has a non-square R
# and is refused with LinAlgError; so is a singular R, by the solves.)

def _qr_factors(a: Sym) -> tuple[Sym, Sym]:
    """Q and R, R checked to be square (`square_r`: Numba's solve would not check it)."""
    return apply(P.qr_q, a), apply(P.square_r, apply(P.qr_r, a))


def _qr_tangents(a: Sym, da: Sym) -> tuple[Sym, Sym]:
    q, r = _qr_factors(a)
    qda = q.T @ da
    low = _tril(_over(qda, r), -1)
    dr = qda - (low - low.T) @ r
    return _over(da - q @ dr, r), dr


def _qr_adjoint(a: Sym, qbar: Sym | None, rbar: Sym | None) -> Sym:
    q, r = _qr_factors(a)
    n = add_tangents([None if rbar is None else rbar @ r.T, None if qbar is None else -(q.T @ qbar)])
    return _over_transposed(add_tangents([qbar, q @ (_triu(n) + _triu(n, 1).T)]), r)


defrule(P.qr_q, lambda primals, tangents, out: _qr_tangents(primals[0], tangents[0])[0],
        lambda g, primals, out: [_qr_adjoint(primals[0], g, None)])
defrule(P.qr_r, lambda primals, tangents, out: _qr_tangents(primals[0], tangents[0])[1],
        lambda g, primals, out: [_qr_adjoint(primals[0], None, g)])


# lstsq, at an A of full column rank: x minimises |A x − b|², so AᵀA x = Aᵀ b and
# AᵀA ẋ = Ȧᵀ r + Aᵀ (ḃ − Ȧ x) with r = b − A x. The adjoint: λ = (AᵀA)⁻¹ x̄, b̄ = A λ,
# Ā = r λᵀ − A λ xᵀ. `full_rank_gram` gives AᵀA, raising LinAlgError when lstsq found A
# rank-deficient (its minimum-norm solution has another derivative, not computed).

def _gram(a: Sym, b: Sym, rcond) -> Sym:
    return apply(P.full_rank_gram, a, apply(P.lstsq_rank, a, b, rcond=rcond))


def _lstsq_jvp(primals, tangents, out, rcond=None):
    (a, b), (da, db) = primals, tangents
    terms = [None if db is None else a.T @ db,
             None if da is None else da.T @ (b - a @ out) - a.T @ (da @ out)]
    return _solve(_gram(a, b, rcond), add_tangents(terms))


def _lstsq_vjp(g, primals, out, rcond=None):
    a, b = primals
    lam = _solve(_gram(a, b, rcond), g)
    a_lam = a @ lam
    return [_times_transpose(b - a @ out, lam) - _times_transpose(a_lam, out), a_lam]


defrule(P.lstsq, _lstsq_jvp, _lstsq_vjp)
defrule(P.lstsq_sv, _singular_values_jvp, _singular_values_vjp)
zero_derivative(P.lstsq_rank)
refuse(P.lstsq_residuals, "compute them from the solution x instead: np.sum((A @ x - b) ** 2, axis=0)")

def _linspace_jvp(primals, tangents, out):
    w = apply(P.linspace, 0.0, 1.0, primals[2])
    terms = [None if tangents[0] is None else tangents[0] * (1.0 - w),
             None if tangents[1] is None else tangents[1] * w]
    return add_tangents(terms)


def _linspace_vjp(g, primals, out):
    w = apply(P.linspace, 0.0, 1.0, primals[2])
    return [apply(P.sum, g * (1.0 - w)), apply(P.sum, g * w), None]


defrule(P.linspace, _linspace_jvp, _linspace_vjp)


# np.arange(start, stop, step)[k] = start + k * step: stop only decides the length.

def _arange_jvp(primals, tangents, out):
    start_dot = tangents[0] if len(primals) > 1 else None
    step_dot = tangents[2] if len(primals) == 3 else None
    k = apply(P.arange, apply(P.size, out))
    return add_tangents([None if start_dot is None else broadcast_to_out(start_dot, 0, primals, out),
                         None if step_dot is None else k * step_dot])


def _arange_vjp(g, primals, out):
    k = apply(P.arange, apply(P.size, out))
    cotangents = [None] * len(primals)
    if len(primals) > 1:
        cotangents[0] = apply(P.sum, g)
    if len(primals) == 3:
        cotangents[2] = apply(P.sum, g * k)
    return cotangents


defrule(P.arange, _arange_jvp, _arange_vjp)
defrule(P.stack, _sequence_jvp(P.stack), _stack_vjp)


def _getitem_vjp(g, primals, out, spec):
    x, *index = primals
    return [IndexAdd(g, index, spec)] + [None] * len(index)


class IndexAdd:  # noqa: E302
    """A sparse cotangent: `g` added into the elements ``x[index]`` (the adjoint of a read)."""

    def __init__(self, g: Sym, index: list, spec: tuple):
        self.g, self.index, self.spec = g, index, spec


defrule(P.getitem, _same_op(P.getitem), _getitem_vjp)


# --- array stores: x[idx] = v and x[idx] += v ------------------------------------------------

def _fit(g: Sym, like: Sym) -> Sym:
    """`g` (the cotangent of the stored region) summed to the shape of the stored value."""
    if like.ndim == 0:
        return apply(P.sum, g) if g.ndim else g
    return apply(P.unbroadcast, g, apply(P.shape, like))


def _store_jvp(prim):
    """A store ``x[index] = v`` (or a tape's ``record``) is linear in x and v together: the same
    store of v's tangent into x's."""
    def jvp(primals, tangents, out, **params):
        x, *index, v = primals
        tx, tv = tangents[0], tangents[-1]
        base = tx if tx is not None else apply(P.zeros_like, x)
        return apply(prim, base, *index, 0.0 if tv is None else tv, **params)
    return jvp


def _region(g: Sym, index: list, spec: tuple) -> Sym:
    """``g[idx]`` as a value of its own (a copy when it is an array, not a view into g)."""
    part = apply(P.getitem, g, *index, spec=spec)
    return apply(P.copy, part) if part.ndim else part


def _setitem_vjp(g, primals, out, spec):
    x, *index, v = primals
    v_bar = _fit(_region(g, index, spec), v)  # read g[idx] before clearing it
    return [apply(P.setitem, g, *index, 0.0, spec=spec), *[None] * len(index), v_bar]


def _index_add_vjp(g, primals, out, spec):
    x, *index, v = primals
    return [g, *[None] * len(index), _fit(apply(P.getitem, g, *index, spec=spec), v)]


def _index_sub_vjp(g, primals, out, spec):
    x, *index, v = primals
    return [g, *[None] * len(index), _fit(-apply(P.getitem, g, *index, spec=spec), v)]


defrule(P.setitem, _store_jvp(P.setitem), _setitem_vjp)
defrule(P.index_add, _store_jvp(P.index_add), _index_add_vjp)
defrule(P.index_sub, _store_jvp(P.index_sub), _index_sub_vjp)
zero_derivative(P.tape)


# --- the operations of derivatives themselves ------------------------------------------------
# Forward over reverse (s2sad.hvp) differentiates a reverse sweep, so what the rules and the
# reverse transform emit has rules too. A float tape's tangent is a tape of the tangents; the
# sums and spreads of cotangents are linear. Integer-valued ones (trip counts, the rows of a
# checkpointing schedule, tape sizes) have no tangent and need no rule. A gradient of code that
# calls a gradient (frontend/nested.py) reverses a reverse sweep: a store on a tape is reversed
# like any store (`unrecord` gives the cotangent of the tape before it).

def _forward_only(prim: P.Primitive):
    def vjp(g, primals, out, **params):
        raise located(f"{prim.name} (an operation of a reverse-mode derivative) has no reverse-mode rule, so "
                      "reverse mode cannot differentiate the derivative code using it; take second derivatives "
                      "by forward over reverse (s2sad.hvp, s2sad.hessian, or mode='forward')", g.b.loc)
    return vjp


def _expand_to_vjp(g, primals, out, axis=None):
    return [_fit(g, primals[0]) if axis is None else apply(P.sum, g, axis=axis), None]


def _gaps_jvp(primals, tangents, out):
    """F_ij = 1 / (v_j − v_i), so Ḟ_ij = F_ij² (v̇_i − v̇_j)."""
    moved = out * out * tangents[0]
    return moved.T - moved


def _gaps_vjp(g, primals, out):
    weighted = g * out * out
    return [apply(P.sum, weighted, axis=1) - apply(P.sum, weighted, axis=0)]


def _gram_jvp(primals, tangents, out):
    half = tangents[0].T @ primals[0]
    return half + half.T


def _record_vjp(g, primals, out, **params):
    """``record(tape, k, [n,] v)``: v gets row k of the cotangent; the tape before the store
    gets the rest (nothing, when the store allocated it)."""
    tape, k, *_, v = primals
    return [apply(P.unrecord, g, k, tape), *[None] * (len(primals) - 2), _fit(_region(g, [k], ("i",)), v)]


defrule(P.record, _store_jvp(P.record), _record_vjp)
defrule(P.record_grow, _store_jvp(P.record_grow), _record_vjp)


def _ragged_vjp(g, primals, out, **params):
    raise located("differentiating the reverse sweep of a loop whose arrays change shape from one step to the "
                  "next in reverse mode again (a gradient of a gradient) is not supported yet; take the inner "
                  "derivative in forward mode", g.b.loc)


# A ragged tape's tangent is a ragged tape of the tangents, with the same entry shapes (forward over
# reverse: Hessian-vector products); reverse over reverse is refused.
defrule(P.record_ragged, _store_jvp(P.record_ragged), _ragged_vjp)
defrule(P.ragged_row, _same_op(P.ragged_row), _ragged_vjp)
defrule(P.tape_row, _same_op(P.tape_row), lambda g, primals, out: [apply(P.untape_row, g, primals[1], primals[0]), None])
defrule(P.untape_row, _same_op(P.untape_row), lambda g, primals, out: [apply(P.tape_row, g, primals[1]), None, None])
defrule(P.unrecord, _same_op(P.unrecord), lambda g, primals, out: [apply(P.unrecord, g, primals[1], primals[0]), None, None])
defrule(P.unbroadcast, _same_op(P.unbroadcast),
        lambda g, primals, out: [apply(P.broadcast_like, g, primals[0]), None])
defrule(P.broadcast_like, _same_op(P.broadcast_like), lambda g, primals, out: [_fit(g, primals[0]), None])
defrule(P.expand_to, _same_op(P.expand_to), _expand_to_vjp)
defrule(P.untile, _same_op(P.untile), _forward_only(P.untile))
defrule(P.unrepeat, _same_op(P.unrepeat), lambda g, primals, out, axis=None: [
    apply(P.repeat, g, primals[2], axis=axis), None, None])
defrule(P.inverse_gaps, _gaps_jvp, _gaps_vjp)
defrule(P.thin_reciprocal, lambda primals, tangents, out: None if tangents[0] is None else -(out * out) * tangents[0],
        lambda g, primals, out: [-(out * out) * g, None])
defrule(P.full_rank_gram, _gram_jvp, lambda g, primals, out: [primals[0] @ (g + g.T), None])
linear(P.square_r, 1)


# --- random draws: reparameterised ----------------------------------------------------------
# normal(loc, scale) = loc + scale * z with z standard normal, so ∂/∂loc = 1 and
# ∂/∂scale = z = (out - loc) / scale; uniform(low, high) = low + (high - low) * u likewise.

def _none(*args): return 0.0


elementwise(P.rng_normal, _none, lambda r, loc, scale, size, z: 1.0,
            Singular(lambda r, loc, scale, size, z: (z - loc) / scale), _none)
elementwise(P.random_normal, lambda loc, scale, size, z: 1.0,
            Singular(lambda loc, scale, size, z: (z - loc) / scale), _none)
elementwise(P.rng_uniform, _none, Singular(lambda r, lo, hi, size, z: (hi - z) / (hi - lo)),
            Singular(lambda r, lo, hi, size, z: (z - lo) / (hi - lo)), _none)
elementwise(P.random_uniform, Singular(lambda lo, hi, size, z: (hi - z) / (hi - lo)),
            Singular(lambda lo, hi, size, z: (z - lo) / (hi - lo)), _none)
zero_derivative(P.default_rng, P.rng_standard_normal, P.rng_random, P.random_standard_normal, P.random_random,
                P.rng_integers, P.rng_permutation, P.rng_choice)
