"""The generic test of every derivative rule in `s2sad.rules.RULES`.

`SAMPLES` maps each primitive with a derivative to small NumPy functions that use it, with a
generator of their (float) arguments, chosen away from points where the function is not
differentiable. Every sample is checked three ways, differentiating with respect to all of its
arguments:

* the JVP against central finite differences in a random direction;
* the dot-product test  <u, J v> == sum_k <vjp(u)_k, v_k>  between forward and reverse mode;
* the full Jacobian built column by column (forward) and row by row (reverse);
* compiled by Numba, the JVP and VJP of one sample per rule give the Python backend's numbers
  (marked `numba`).

`ZERO_SAMPLES` does the same for the zero-derivative rules (floor, comparisons, shape ...),
used on a differentiable path, and also checks the derivative against its closed form.

Some primitives have no spelling in user code (only rules and transforms emit them: `select`,
`outer`, `zeros_like`, `make_tuple`, `trip_count`); for the duration of these tests they are bound
to names in the frontend's table (`INTERNAL_NAMES`). `tape` is reached through a loop, whose
reverse derivative records on a tape.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
import scipy
import scipy.special as sp

import custom_funcs
import s2sad
from s2sad import primitives as P
from s2sad import runtime
from s2sad.ir.core import Eqn, walk
from s2sad.ir.types import type_of_value
from s2sad.passes.activity import active_values
from s2sad.pipeline import prepare, transform
from s2sad.rules import RULES

H = 1e-6


# --- argument generators ------------------------------------------------------------------

def _value(a):
    """A float for a 0-d result, a float64 array otherwise."""
    a = np.asarray(a, dtype=np.float64)
    return float(a) if a.ndim == 0 else a


def normal(*shape):
    return lambda rng: _value(rng.standard_normal(shape))


def uniform(lo, hi, *shape):
    return lambda rng: _value(rng.uniform(lo, hi, shape))


def signed(lo, hi, *shape):
    """|value| in [lo, hi], with random signs (away from 0)."""
    return lambda rng: _value(rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape))


def invertible(n, negate_row=False):
    """A well-conditioned n × n matrix (diagonally dominant); with `negate_row`, its determinant
    is negative."""
    def make(rng):
        a = rng.standard_normal((n, n)) + 2.0 * n * np.eye(n)
        if negate_row:
            a[0] = -a[0]
        return a
    return make


def symmetric_positive(n, upper_noise=True):
    """A well-conditioned symmetric positive definite n × n matrix with eigenvalues at least 0.2
    apart; with `upper_noise`, its strict upper triangle is replaced by noise (cholesky and eigh
    read only the lower triangle, so their derivatives must ignore it)."""
    def make(rng):
        for _ in range(1000):
            b = rng.standard_normal((n, n))
            a = b @ b.T + n * np.eye(n)
            if np.min(np.diff(np.linalg.eigvalsh(a))) > 0.2:
                return a + np.triu(rng.standard_normal((n, n)), 1) if upper_noise else a
        raise AssertionError("no matrix with separated eigenvalues")
    return make


def increasing(n):
    """n increasing numbers at least 0.3 apart, from about -0.7 (points to interpolate between)."""
    return lambda rng: np.cumsum(rng.uniform(0.3, 1.0, n)) - 1.0


def separated(m, n):
    """An m × n matrix whose singular values are at least 0.3 apart and from 0 (differentiable
    singular vectors; full rank for qr and lstsq)."""
    def make(rng):
        for _ in range(1000):
            a = rng.standard_normal((m, n))
            s = np.linalg.svd(a, compute_uv=False)
            if np.min(s) > 0.3 and (len(s) == 1 or np.min(-np.diff(s)) > 0.3):
                return a
        raise AssertionError("no matrix with separated singular values")
    return make


def with_zeros(gen, *positions):
    """`gen`'s array with exact zeros at `positions` (where a product's rule must not divide)."""
    def make(rng):
        a = np.array(gen(rng))
        for p in positions:
            a[p] = 0.0
        return a
    return make


def args(*gens, ok=None):
    """Draw one value per generator; redraw all of them until ``ok(*values)`` holds."""
    def make(rng):
        for _ in range(10_000):
            values = [g(rng) for g in gens]
            if ok is None or bool(np.all(ok(*values))):
                return values
        raise AssertionError("could not draw arguments satisfying the sample's condition")
    return make


def _clip_apart(x, lo, hi, margin=0.05):
    """x at least `margin` from both bounds (np.clip is smooth there)."""
    return (np.abs(np.subtract(x, lo)) > margin) & (np.abs(np.subtract(x, hi)) > margin)


def apart(margin=0.05):
    """Operands at least `margin` apart everywhere (no ties for max/min/comparisons)."""
    return lambda a, b, *rest: np.abs(np.subtract(a, b)) > margin


def frac_inside(lo=0.1, hi=0.9):
    """a / b well away from an integer (mod and floor-division are smooth there)."""
    return lambda a, b: (np.mod(np.divide(a, b), 1.0) > lo) & (np.mod(np.divide(a, b), 1.0) < hi)


@dataclass
class Sample:
    fn: Callable
    make: Callable  # rng -> list of float arguments
    # zero-derivative samples: the elementwise derivative d f / d x of the single argument
    partial: Callable | None = field(default=None)

    @property
    def name(self) -> str:
        return self.fn.__name__

    def draw(self) -> list:
        rng = np.random.default_rng(zlib.crc32(self.name.encode()))
        values = self.make(rng)
        assert all(type_of_value(v) is not None and np.asarray(v).dtype == np.float64 for v in values)
        return values


def S(fn, *gens, ok=None):
    return Sample(fn, args(*gens, ok=ok))


# --- samples: module-level functions (the compiler reads their source) ---------------------

def _select(c, a, b):
    """Stands for the `select` primitive (``a if c else b`` on scalars)."""
    return a if c else b


def _zeros_like(x):
    """Stands for the `zeros_like` primitive."""
    return np.zeros(np.shape(x))


def _make_tuple(*items):
    """Stands for the `make_tuple` primitive."""
    return tuple(items)


def _accumulate(x, y):
    """Stands for the `accumulate` primitive (``x += y`` on arrays of one shape)."""
    return x + y


def _add_outer(x, a, b):
    """Stands for the `add_outer` primitive (``x += np.outer(a, b)``)."""
    return x + np.outer(a, b)


def _fits_shape(x, like):
    """Stands for the `fits_shape` primitive (x, checked to broadcast to like's shape)."""
    return x


def _keeps_shape(x, shape, runs):
    """Stands for the `keeps_shape` primitive (x, checked to have `shape` when `runs`)."""
    return x


def _trip_count(start, stop, step):
    """Stands for the `trip_count` primitive (the length of a range)."""
    return len(range(start, stop, step))


def _draw_position(at, z, array=False):
    """Stands for the `draw_position` primitive (the count of numbers drawn after z)."""
    return at + np.size(z)


def _log_draw(log, at, z, array=False):
    """Stands for the `log_draw` primitive (z's numbers stored in a checkpointed loop's log)."""
    return (runtime.log_draws if array else runtime.log_draw)(log, at, z)


# Primitives only derivative rules and transforms emit, given a name for these tests.
INTERNAL_NAMES = {_select: P.select, np.outer: P.outer, _zeros_like: P.zeros_like,
                  _make_tuple: P.make_tuple, _trip_count: P.trip_count, _accumulate: P.accumulate,
                  _add_outer: P.add_outer, _fits_shape: P.fits_shape, _draw_position: P.draw_position,
                  _log_draw: P.log_draw, _keeps_shape: P.keeps_shape, runtime.joined_shape: P.joined_shape}
# The operations of reverse sweeps, which forward over reverse (s2sad.hvp) differentiates.
INTERNAL_NAMES.update({getattr(runtime, p.name): p for p in (
    P.unbroadcast, P.expand_to, P.broadcast_like, P.untile, P.unrepeat, P.record, P.record_grow, P.unrecord, P.tape_row, P.list_resized,
    P.untape_row, P.inverse_gaps, P.record_ragged, P.ragged_row, P.nonempty_list, P.checked_scale, P.checked_range,
    P.checked_ordered_range, P.checked_size, P.checked_seed, P.checked_sections, P.logged_draws,
    P.thin_reciprocal, P.full_rank_gram, P.square_r, P.masked_product)})


def p_add(a, b): return a + b
def p_add_scalars(a, b): return a + b
def p_add_scalar_array(a, b): return a + b
def p_add_array_scalar(a, b): return a + b
def p_add_col_row(a, b): return a + b
def p_add_vec_mat(a, b): return a + b
def p_add_const(x): return x + 2.0
def p_np_add(a, b): return np.add(a, b)
def p_add_same(x): return x + x

def p_sub(a, b): return a - b
def p_sub_scalars(a, b): return a - b
def p_sub_scalar_array(a, b): return a - b
def p_sub_mat_vec(a, b): return a - b
def p_sub_col_row(a, b): return a - b
def p_sub_from_const(x): return 1.0 - x
def p_np_subtract(a, b): return np.subtract(a, b)

def p_neg(x): return -x
def p_neg_scalar(x): return -x
def p_np_negative(x): return np.negative(x)

def p_float(x): return float(x)
def p_float_times(x, y): return float(x) * y

def p_mul(a, b): return a * b
def p_mul_scalars(a, b): return a * b
def p_mul_scalar_array(a, b): return a * b
def p_mul_col_row(a, b): return a * b
def p_mul_vec_mat(a, b): return a * b
def p_mul_3d_col(a, b): return a * b
def p_mul_square(x): return x * x
def p_mul_const(x): return 3.0 * x
def p_np_multiply(a, b): return np.multiply(a, b)
def p_mul_col_vec(a, b): return a * b

def p_div(a, b): return a / b
def p_div_scalars(a, b): return a / b
def p_div_scalar_array(a, b): return a / b
def p_div_array_scalar(a, b): return a / b
def p_div_col_row(a, b): return a / b
def p_div_mat_vec(a, b): return a / b
def p_reciprocal(x): return 1.0 / x
def p_div_const(x): return x / 4.0
def p_np_divide(a, b): return np.divide(a, b)
def p_np_true_divide(a, b): return np.true_divide(a, b)

def p_pow(a, b): return a ** b
def p_pow_scalars(a, b): return a ** b
def p_pow_scalar_base(a, b): return a ** b
def p_pow_scalar_exponent(a, b): return a ** b
def p_pow_col_row(a, b): return a ** b
def p_pow_square(x): return x ** 2
def p_pow_cube_scalar(x): return x ** 3
def p_pow_float_const(x): return x ** -1.5
def p_pow_const_base(x): return 2.0 ** x
def p_np_power(a, b): return np.power(a, b)

def p_mod(a, b): return a % b
def p_mod_scalars(a, b): return a % b
def p_mod_scalar_array(a, b): return a % b
def p_mod_array_scalar(a, b): return a % b
def p_mod_col_row(a, b): return a % b
def p_mod_negative_divisor(a, b): return a % b
def p_mod_const(x): return x % 1.5

def p_exp(x): return np.exp(x)
def p_exp_scalar(x): return np.exp(x)
def p_log(x): return np.log(x)
def p_log_scalar(x): return np.log(x)
def p_sqrt(x): return np.sqrt(x)
def p_sqrt_scalar(x): return np.sqrt(x)
def p_sin(x): return np.sin(x)
def p_sin_scalar(x): return np.sin(x)
def p_cos(x): return np.cos(x)
def p_cos_scalar(x): return np.cos(x)
def p_tan(x): return np.tan(x)
def p_tan_scalar(x): return np.tan(x)
def p_tanh(x): return np.tanh(x)
def p_tanh_scalar(x): return np.tanh(x)
def p_expm1(x): return np.expm1(x)
def p_expm1_scalar(x): return np.expm1(x)
def p_log1p(x): return np.log1p(x)
def p_log2(x): return np.log2(x)
def p_log10(x): return np.log10(x)
def p_cbrt(x): return np.cbrt(x)
def p_square(x): return np.square(x)
def p_np_reciprocal(x): return np.reciprocal(x)
def p_arcsin(x): return np.arcsin(x)
def p_arccos(x): return np.arccos(x)
def p_arctan(x): return np.arctan(x)
def p_sinh(x): return np.sinh(x)
def p_cosh(x): return np.cosh(x)
def p_arcsinh(x): return np.arcsinh(x)
def p_arccosh(x): return np.arccosh(x)
def p_arctanh(x): return np.arctanh(x)
def p_hypot(a, b): return np.hypot(a, b)
def p_arctan2(a, b): return np.arctan2(a, b)
def p_logaddexp(a, b): return np.logaddexp(a, b)
def p_fmax(a, b): return np.fmax(a, b)
def p_max(x): return np.max(x)
def p_arange_start_step(a, h): return np.sin(np.arange(a, a + 1.0, h))
def p_arange_start_stop(a): return np.arange(a, 3.0) ** 2
def p_sum_keepdims(x): return x - np.sum(x, axis=1, keepdims=True)
def p_max_keepdims(x): return np.exp(x - np.max(x, axis=0, keepdims=True))
def p_mean_keepdims_tuple(x): return x * np.mean(x, axis=(0, 2), keepdims=True)
def p_mean_keepdims_all(x): return x * np.mean(x, axis=None, keepdims=True)
def p_std_keepdims(x): return x / np.std(x, axis=1, keepdims=True)
def p_mean_tuple_negative(x): return np.mean(x * x, axis=(-1, 0))
def p_sum_tuple(x): return np.sum(np.sin(x), axis=(2, 0))
def p_vdot(a, b): return np.vdot(a, b)
def p_inner(a, b): return np.inner(a, b * b)
def p_trace(x): return np.trace(x)
def p_trace_rect(x): return np.trace(x * x)
def p_diag_vector(x): return np.diag(x) ** 2
def p_diag_matrix(x): return np.diag(x) * 3.0
def p_solve(a, b): return np.linalg.solve(a, b)
def p_solve_matrix(a, b): return np.linalg.solve(a, b)
def p_solve_transposed(a, b): return np.linalg.solve(a.T, b) * 2.0
def p_inv(a): return np.linalg.inv(a)
def p_inv_times(a, b): return np.linalg.inv(a) @ b
def p_det(a): return np.linalg.det(a)
def p_det_negative(a): return np.linalg.det(a) * 2.0
def p_slogdet(a): return np.linalg.slogdet(a)[1]


def p_slogdet_unpacked(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign * logdet


def p_cholesky(a): return np.linalg.cholesky(a)
def p_cholesky_logdet(a): return 2.0 * np.sum(np.log(np.diag(np.linalg.cholesky(a))))
def p_cholesky_solve(a, b): return np.linalg.solve(np.linalg.cholesky(a), b)
def p_eigh_values(a): return np.linalg.eigh(a)[0]
def p_eigvalsh(a): return np.linalg.eigvalsh(a) ** 2


def p_eigh_vector_squares(a):
    """Squares of the eigenvectors' entries, weighted by the eigenvalues: unchanged by the sign
    each eigenvector is returned with."""
    w, v = np.linalg.eigh(a)
    return v * v * w


def p_eigh_projector(a):
    v = np.linalg.eigh(a)[1]
    return np.outer(v[:, 0], v[:, 0]) + 2.0 * np.outer(v[:, 2], v[:, 2])


def p_svd_values(a): return np.linalg.svd(a, compute_uv=False)
def p_svd_values_item(a): return np.linalg.svd(a, full_matrices=False)[1] ** 2


def _weighted_projector(x):
    """x diag(1, 2, …) xᵀ: unchanged by the signs of x's columns."""
    return (x * np.arange(1.0, x.shape[1] + 1.0)) @ x.T


def p_svd_u_tall(a): return _weighted_projector(np.linalg.svd(a, full_matrices=False)[0])
def p_svd_u_wide(a): return _weighted_projector(np.linalg.svd(a, full_matrices=False)[0])
def p_svd_u_square(a): return _weighted_projector(np.linalg.svd(a, full_matrices=False)[0])
def p_svd_vt_wide(a): return _weighted_projector(np.linalg.svd(a, full_matrices=False)[2].T)
def p_svd_vt_tall(a): return _weighted_projector(np.linalg.svd(a, full_matrices=False)[2].T)


def p_svd_rank_one(a):
    """The best rank-one approximation, u_1 s_1 v_1ᵀ (signs cancel)."""
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    return s[0] * np.outer(u[:, 0], vt[0])


def p_qr_q(a): return np.linalg.qr(a)[0]
def p_qr_q_square(a): return np.linalg.qr(a)[0] * 2.0
def p_qr_r(a): return np.linalg.qr(a)[1]


def p_qr_both(a):
    q, r = np.linalg.qr(a)
    return q @ np.diag(np.diag(r)) + np.sum(r)


def p_lstsq(a, b): return np.linalg.lstsq(a, b, rcond=None)[0]
def p_lstsq_matrix(a, b): return np.linalg.lstsq(a, b, rcond=None)[0]
def p_lstsq_square(a, b): return np.linalg.lstsq(a, b)[0] * 2.0
def p_lstsq_values(a, b): return np.linalg.lstsq(a, b, rcond=None)[3] * np.sum(b)


def p_norm(x): return np.linalg.norm(x)
def p_norm_matrix(x): return np.linalg.norm(x)
def p_norm_axis(x): return np.linalg.norm(x, axis=1)
def p_norm_axes_keepdims(x): return np.linalg.norm(x, axis=(0, 2), keepdims=True) * x
def p_norm_fro(x): return np.linalg.norm(x, "fro")
def p_norm_3d(x): return np.linalg.norm(x) * x
def p_norm_ord2_vector(x): return np.linalg.norm(x, 2, axis=0)
# np.linalg.norm's other orders: the p-norm primitive, or compositions of abs, sum, max, min and the
# singular values
def p_norm_ord1(x): return np.linalg.norm(x, 1)
def p_norm_ord1_axis(x): return np.linalg.norm(x, ord=1, axis=0, keepdims=True) * x
def p_norm_inf(x): return np.linalg.norm(x, np.inf, axis=-1)
def p_norm_minus_inf(x): return np.linalg.norm(x, -np.inf)
def p_norm_ord3(x): return np.linalg.norm(x, 3)
def p_norm_ord_half_axis(x): return np.linalg.norm(x, 0.5, axis=1)
def p_norm_matrix_ord1(x): return np.linalg.norm(x, 1)
def p_norm_matrix_minus1(x): return np.linalg.norm(x, -1, axis=(1, 0))
def p_norm_matrix_inf(x): return np.linalg.norm(x, np.inf, axis=(0, 2))
def p_norm_matrix_minus_inf(x): return np.linalg.norm(x, -np.inf)
def p_norm_matrix_ord2(x): return np.linalg.norm(x, 2)
def p_norm_matrix_minus2(x): return np.linalg.norm(x, -2)
def p_norm_nuclear(x): return np.linalg.norm(x, "nuc")
# differences, integrals and products made of slices, sums and products
def p_small_ufuncs(x): return np.fabs(x) + np.positive(x) * np.float_power(np.abs(x) + 1.0, 1.5) + np.logaddexp2(x, 0.5 * x)
def p_sinc_heaviside(x): return np.sinc(x) ** 2 + np.heaviside(x, 0.5) * x
def p_cov(x): return np.cov(x) ** 2 + np.cov(x, rowvar=False, bias=True)[0, 0] + np.cov(x[0], ddof=0)
def p_corrcoef(x): return np.corrcoef(x) ** 3 + np.corrcoef(x, rowvar=False)[1, 0]
def p_angles(x): return np.deg2rad(x) + np.radians(x) * np.rad2deg(x) + np.degrees(x)
def p_exp2(x): return np.exp2(x) * x
def p_ptp(x): return np.ptp(x, axis=0) + np.ptp(x) + np.ptp(x, axis=1, keepdims=True)[0]
def p_nan_reductions(x):
    y = x.copy()
    y[0, 1] = np.nan
    return np.nansum(y) + np.nanmean(y, axis=0) + np.nanmax(y) + np.nanmin(y, axis=1)[0]
def p_average(x, w): return np.average(x, weights=w) + np.average(x, axis=0, weights=w) + np.average(x)
def p_methods(x): return x[x.argmax()] + x[x.argmin()] + x.clip(-0.5, 0.5) + np.true_divide(x, 3.0)
def z_count_nonzero(x): return x * np.count_nonzero(x > 0.0) + x * np.sum(np.count_nonzero(np.outer(x, x) > 0, axis=0))
def p_sort(x): return np.sort(x) * np.arange(1.0, 1.0 + x.shape[0])
def p_sort_all(x): return np.sin(np.sort(x, axis=None))
def p_median(x): return np.median(x) * x
def p_median_even(x): return np.median(x, axis=None) ** 2
def p_percentile(x, q): return np.percentile(x, q) * x[0]
def p_quantile(x): return np.quantile(x, 0.8) + np.quantile(x, 0.0)
def p_interp(x, xp, fp): return np.interp(x, xp, fp) ** 2
def p_interp_number(x, fp): return np.interp(x, np.array([-1.0, 0.0, 1.0]), fp)
def p_interp_matrix(x, xp, fp): return np.interp(x, xp, fp)  # (positions of two axes: the adjoint's scatter)
def p_diff(x): return np.diff(x) ** 2
def p_diff_twice_axis0(x): return np.sin(np.diff(x, 2, axis=0))
def p_trapezoid(y): return np.trapezoid(y ** 2)
def p_trapezoid_dx(y, h): return np.trapezoid(y, dx=h, axis=0)
def p_trapezoid_x(y, x): return np.trapezoid(np.sin(y), x=x)
def p_trapezoid_x_axis(y, x): return np.trapezoid(y, x, axis=0)
def p_trapezoid_x_like_y(y, x): return np.trapezoid(y, x=x, axis=1)
def p_cross(a, b): return np.cross(a, b)
def p_cross_rows(a, b): return np.cross(a, b) ** 2
def p_cross_broadcast(a, b): return np.cross(a, b * b)
def p_convolve(a, v): return np.convolve(a, v)
def p_convolve_same(a, v): return np.convolve(a, v * v, mode="same")
def p_convolve_valid(a, v): return np.convolve(a, np.sin(v), "valid")
def p_correlate(a, v): return np.correlate(a, v)
def p_correlate_same(a, v): return np.correlate(a, v, mode="same")
def p_correlate_same_lengths(a, v): return np.correlate(a, v + 1.0, mode="same")
def p_convolve_same_longer_a(a, v): return np.convolve(a, v, "same") * a[0]
def p_correlate_full(a, v): return np.correlate(a * a, v, "full")
def p_sort_rows(x): return np.sort(x) * np.arange(1.0, 1.0 + x.shape[1])
def p_sort_columns(x): return np.sort(np.sin(x), axis=0)
def p_median_columns(x): return np.median(x, axis=0) ** 2
def p_median_rows_odd(x): return np.median(x, axis=-1)
def p_percentile_rows(x, q): return np.percentile(x, q, axis=1)
def p_sort_middle_axis(x): return np.sort(x, axis=1) * np.arange(24.0).reshape(2, 3, 4)
def p_median_middle_axis(x): return np.median(x, axis=1) * np.arange(8.0).reshape(2, 4)
def p_quantile_last_axis(x, q): return np.quantile(np.sin(x), q, axis=-1) * np.arange(6.0).reshape(2, 3)
def p_running_max(x): return np.maximum.accumulate(np.sin(x))
def p_running_min_rows(x): return np.minimum.accumulate(x, axis=1) ** 2
def p_running_max_columns(x): return np.maximum.accumulate(x * x, axis=0)
def p_histogram_auto(x): return np.histogram(x, 4)[1] ** 2  # (edges from x's extremes)
def p_histogram_range(x, low): return np.histogram(x, bins=3, range=(low, 4.0))[1] * np.sum(np.histogram(x, 2)[0])
def p_histogram_edges(x, b): return np.histogram(x, bins=np.cumsum(b * b))[1] * 2.0
def p_histogram_weights(x, w): return np.histogram(x, bins=np.array([-4.0, 0.0, 0.5, 4.0]), weights=w * w)[0]
def p_histogram_density(x, w): return np.histogram(x, bins=3, weights=w, density=True)[0]
def p_flipud_fliplr(x): return np.flipud(x) * np.fliplr(x) ** 2
def p_atleast(x): return np.atleast_3d(x) ** 2 + np.atleast_2d(x) * np.atleast_1d(x[0]) + np.atleast_1d(x)
def p_diagonal(x): return np.diagonal(x) ** 2 + np.diagonal(x, 1) * np.diagonal(x, offset=-1)[:1]
def p_append(a, b): return np.append(a, b ** 2) * np.append(b, 1.5)[0]
def p_append_axis(a, b): return np.append(a, np.sin(b), axis=0) ** 2
def p_multi_dot(a, b, c): return np.linalg.multi_dot([a, b ** 2, c])
def p_matrix_power(a): return np.linalg.matrix_power(a, 3) + np.linalg.matrix_power(a, 1) * np.linalg.matrix_power(a, 0)
def p_matrix_power_negative(a): return np.linalg.matrix_power(a, -2)
def p_polyval(x, c): return np.polyval([1.5, c, -0.5], x) + np.polyval((c,), x) * np.polyval([x[0], 2.0], c)
def p_nan_to_num(x):
    return np.nan_to_num(np.where(x > 0.5, np.nan, x)) + np.nan_to_num(np.where(x > 0.0, x, np.inf), posinf=5.0) \
        * np.nan_to_num(np.where(x < -0.5, -np.inf, x * x), neginf=-2.0, nan=3.0)


def p_split(x):
    a, b, c = np.split(x, [1, 3])
    return np.concatenate((c * 2.0, a, b ** 2))


def p_split_sections(x):
    i, f, o = np.split(x, 3)
    return np.tanh(i) * f + o ** 2


def p_split_axis(x):
    top, bottom = np.split(np.sin(x), [2], axis=1)
    return top * bottom[:, :2]


def p_mod_functions(x): return np.mod(x, 0.7) * np.remainder(x, 1.3) + np.floor_divide(x, 0.5) * x
def p_kron(a, b): return np.kron(a, b)
def p_kron_vectors(a, b): return np.kron(a, b * b)
def p_kron_vector_matrix(a, b): return np.kron(a, b) ** 2


def p_meshgrid(x, y):
    xx, yy = np.meshgrid(x, y)
    return xx * np.sin(yy)


def p_meshgrid_ij(x, y, z):
    xx, yy, zz = np.meshgrid(x, y, z, indexing="ij")
    return xx * yy + zz ** 2


def p_meshgrid_xy3(x, y, z):
    xx, yy, zz = np.meshgrid(x, y, z)
    return xx + yy * zz


def p_meshgrid_written(x, y):
    """meshgrid's arrays are new ones: writing into one changes neither x nor the other."""
    xx, yy = np.meshgrid(x, y, indexing="ij")
    xx[0] = 0.0
    return xx * yy + x[0]


# scipy.special
def p_logsumexp(x): return sp.logsumexp(x)
def p_logsumexp_axis(x): return sp.logsumexp(x, axis=1)
def p_logsumexp_axes_keepdims(x): return sp.logsumexp(x, axis=(0, 2), keepdims=True) * x
def p_logsumexp_large(x): return sp.logsumexp(x + 1000.0, axis=0)
def p_logsumexp_ties(x): return sp.logsumexp(x, axis=1)
def p_softmax(x): return sp.softmax(x)
def p_softmax_axis(x): return sp.softmax(x, axis=0)
def p_log_softmax(x): return sp.log_softmax(x)
def p_log_softmax_axis(x): return sp.log_softmax(x, axis=-1)
def p_expit(x): return sp.expit(x)
def p_expit_wide(x): return sp.expit(x) * x
def p_logit(x): return sp.logit(x)
def p_xlogy(x, y): return sp.xlogy(x, y)
def p_xlogy_at_zero(x, y): return sp.xlogy(x, y)
def p_erf(x): return sp.erf(x)
def p_erfc(x): return sp.erfc(x)
def p_gammaln(x): return sp.gammaln(x)
def p_gammaln_negative(x): return sp.gammaln(x)
def p_digamma(x): return sp.digamma(x)
def p_psi_negative(x): return sp.psi(x)
def p_linspace(a, b): return np.linspace(a, b, 7) ** 2
def p_linspace_start(a): return np.sin(np.linspace(a, 2.0, 5))
def p_linspace_open(a, b): return np.linspace(a, b, 6, endpoint=False) ** 2  # (a periodic grid: b left out)
def p_transpose_axes(x): return np.sin(np.transpose(x, (2, 0, 1)))
def p_transpose_negative_axes(x): return np.sin(np.transpose(x, (-1, 0, 1)))
def p_full_like_array_value(x, v): return np.full_like(x, v) * x
def p_diag_wide(x): return np.sin(np.diag(x))
def p_diag_tall(x): return np.diag(x) ** 2
def p_transpose_method(x): return x.transpose((1, 0))
def p_transpose_method_axes(x): return x.transpose(1, 0, 2) * x.transpose(1, -3, -1)  # (axes as NumPy's *axes)
def p_reshape(x): return np.reshape(x, (4, 3)) ** 2
def p_reshape_method(x): return np.sin(x.reshape((2, -1)))
def p_reshape_dynamic(x): return np.reshape(x, (x.shape[1], x.shape[0]))
def p_ravel(x): return np.sin(np.ravel(x))
def p_flatten(x): return x.flatten() ** 2
def p_expand_dims(x): return np.expand_dims(x, 1) * np.ones((3, 2, 4))
def p_expand_dims_last(x): return np.expand_dims(x, -1) ** 2
def p_squeeze(x): return np.squeeze(x, axis=1) ** 2
def p_swapaxes(x): return np.sin(np.swapaxes(x, 0, 2))
def p_flip(x): return np.flip(x) * x
def p_flip_axis(x): return np.flip(x, axis=0) * x
def p_flip_axes(x): return np.flip(x, axis=(2, 0)) * x  # (a flip per axis: Numba's np.flip takes one)
def p_concatenate(a, b): return np.concatenate((a, b * b), axis=0)
def p_concatenate_axis1(a, b): return np.concatenate((a, np.sin(b), a), axis=1)
def p_stack(a, b): return np.stack((a, a * b), axis=0)
def p_stack_axis1(a, b): return np.stack((a, b, a), axis=1) ** 2
def p_pack(a, b): return np.array([a, a * b, 2.0]) ** 2


def p_list_rows(a, b):
    xs = []
    for i in range(3):
        xs.append(np.sin(a * i) + b)
    return np.array(xs) * np.arange(1.0, 4.0)[:, None]


def p_list_grow(a, b):
    xs = []
    i = 0
    while i < 18:  # (past the first 16 rows)
        xs.append(np.sin(a * i) + b)
        i = i + 1
    return np.array(xs) * np.arange(1.0, 19.0)[:, None]


def p_list_grow_numbers(a):
    xs = []
    for i in range(3):
        for j in range(i + 1):
            xs.append(np.cos(a * (i - j)))
    return np.array(xs) ** 2


def p_pack_stack(a, b): return np.stack([b, a]) * np.arange(1.0, 3.0)
def p_moveaxis(x): return np.sin(np.moveaxis(x, 0, -1))
def p_moveaxis_several(x): return np.moveaxis(x, (0, 1), (-1, 0)) * x[0, 0, 0]
def p_hstack(a, b): return np.hstack((a, b * b))
def p_hstack_vectors(a, b): return np.hstack((a, np.sin(b), a))
def p_vstack(a, b): return np.vstack((a, b * a[0]))
def p_column_stack(a, b): return np.column_stack((a, np.sin(b), b * a[:, :1]))
def p_vstack_vectors(a, b): return np.vstack((a, b)) ** 2
def p_broadcast_to(x): return np.broadcast_to(x, (2, 3, 4)) * np.arange(4.0)
def p_broadcast_to_vector(x): return np.broadcast_to(x, (3, 4)) ** 2
def p_broadcast_to_scalar(x): return np.broadcast_to(x * x, (2, 3))
def p_broadcast_to_same(x): return np.sin(np.broadcast_to(x, x.shape))
def p_tile(x): return np.tile(x, (2, 3)) ** 2
def p_tile_int(x): return np.tile(x, 3) * np.arange(6.0)
def p_tile_more_counts(x): return np.sin(np.tile(x, (2, 1, 2)))
def p_tile_fewer_counts(x): return np.tile(x, 2) ** 2
def p_repeat(x): return np.repeat(x, 2) ** 2
def p_repeat_axis(x): return np.repeat(x, 3, axis=-1) * np.arange(9.0)
def p_repeat_axis0(x): return np.sin(np.repeat(x, 2, axis=0))
def p_roll(x): return np.roll(x, 1) * x
def p_roll_axis(x): return np.roll(x, -1, axis=1) * x
def p_roll_far(x): return np.roll(x, 7, axis=-1) ** 2
def p_roll_3d(x): return np.sin(np.roll(x, 2, axis=0)) * x
def p_triu(x): return np.triu(x) ** 2
def p_triu_k(x): return np.triu(x, 1) * x
def p_triu_stack(x): return np.sin(np.triu(x, k=-1))
def p_tril(x): return np.tril(x) ** 2
def p_tril_k(x): return np.tril(x, -1) * x
def p_tril_wide(x): return np.tril(x, k=2) ** 2
def p_tril_below(x): return np.sin(np.tril(x, -1))
def p_pad(x): return np.pad(x, 1) ** 2
def p_pad_pair(x): return np.sin(np.pad(x, (2, 1)))
def p_pad_per_axis(x, c): return np.pad(x, ((1, 0), (0, 2)), constant_values=c) ** 2
def p_pad_value(x, c): return np.pad(x * x, ((1, 2),), mode="constant", constant_values=c * c)
def p_take(x): return np.take(x, np.arange(5) * 2 % 3) ** 2
def p_take_axis(x): return np.sin(np.take(x, np.arange(5) * 2 % 3, axis=1))
def p_take_negative(x): return np.take(x, np.arange(4) - 2, axis=-1) * x[0, 0, 0]
def p_take_one(x): return np.take(x, 2, axis=-1) ** 2
def p_take_one_flat(x): return np.take(x, 4) * x
def p_take_rows(x): return np.take(x, np.arange(3) % 2, axis=0) ** 2
def p_prod(x): return np.prod(x)
def p_prod_axis(x): return np.prod(x, axis=1)
def p_prod_with_zero(x): return np.prod(x, axis=0)
def p_prod_two_zeros(x): return np.prod(x, axis=1)
def p_prod_method(x): return x.prod(axis=0)
def p_var(x): return np.var(x)
def p_var_axis_ddof(x): return np.var(x, axis=0, ddof=1)
def p_var_method(x): return x.var(axis=1)
def p_std(x): return np.std(x)
def p_std_axis(x): return np.std(x, axis=1, ddof=1)
def p_var_axes(x): return np.var(x, axis=(0, 2))
def p_std_axes_ddof(x): return np.std(x, axis=(-1, 0), ddof=1)
def p_cumsum(x): return np.cumsum(x)
def p_cumsum_axis0(x): return np.cumsum(x, axis=0)
def p_cumsum_axis1(x): return np.cumsum(x, axis=-1)
def p_cumsum_flattened(x): return np.cumsum(x) * x.T.cumsum()  # (of the elements in C order, as NumPy's)
def p_cumprod(x): return np.cumprod(x)
def p_cumprod_axis1(x): return np.cumprod(x, axis=1)
def p_cumprod_one_zero(x): return np.cumprod(x, axis=1)
def p_cumprod_two_zeros(x): return np.cumprod(x, axis=-1)
def p_cumprod_axis0_zeros(x): return np.cumprod(x, axis=0)
def p_cumprod_flattened(x): return np.cumprod(x)
def p_cumprod_vector_zeros(x): return x.cumprod()
def p_max_axis(x): return np.max(x, axis=1)
def p_amax_axis0(x): return np.amax(x, axis=0)
def p_max_method(x): return x.max(axis=-1)
def p_max_scalar(x): return np.max(x)
def p_min(x): return np.min(x)
def p_min_axis(x): return np.min(x, axis=0)
def p_amin_3d(x): return np.amin(x, axis=2)
def p_min_method(x): return x.min()
def p_custom_softplus(x): return custom_funcs.softplus(x)
def p_custom_scale(x, s): return custom_funcs.scale(x, s)
def p_clip(x, lo, hi): return np.clip(x, lo, hi)
def p_clip_scalars(x): return np.clip(x, -0.5, 0.5)
def p_clip_one_bound(x, hi): return np.clip(x, None, hi) * x.clip(min=-0.5) + np.clip(x, a_max=0.4, a_min=None)
def p_fmin(a, b): return np.fmin(a, b)

def p_abs(x): return np.abs(x)
def p_abs_scalar(x): return np.abs(x)
def p_abs_builtin(x): return abs(x)
def p_absolute(x): return np.absolute(x)

def p_maximum(a, b): return np.maximum(a, b)
def p_maximum_scalars(a, b): return np.maximum(a, b)
def p_maximum_col_row(a, b): return np.maximum(a, b)
def p_maximum_scalar_array(a, b): return np.maximum(a, b)
def p_maximum_vec_mat(a, b): return np.maximum(a, b)
def p_maximum_col_vec(a, b): return np.maximum(a, b)
def p_relu(x): return np.maximum(x, 0.0)

def p_minimum(a, b): return np.minimum(a, b)
def p_minimum_scalars(a, b): return np.minimum(a, b)
def p_minimum_col_row(a, b): return np.minimum(a, b)
def p_minimum_array_scalar(a, b): return np.minimum(a, b)
def p_minimum_mat_vec(a, b): return np.minimum(a, b)

def p_max_first(a, b): return max(a, b)
def p_max_second(a, b): return max(a, b)
def p_max_const(x): return max(x, 0.5)

def p_min_first(a, b): return min(a, b)
def p_min_second(a, b): return min(a, b)
def p_min_const(x): return min(x, 0.5)

def p_where(a, b): return np.where(a > b, a, b)
def p_where_broadcast(c, a, b): return np.where(c > 0, a, b)
def p_where_col_row(c, a, b): return np.where(c > 0, a, b)
def p_where_const_branch(x): return np.where(x > 0, x, 0.0)
def p_where_scalars(a, b): return np.where(a > b, a * b, a - b)
def p_where_scalar_cond(s, a, b): return np.where(s > 0, a, b)
def p_where_scalar_cond_mixed(s, b): return np.where(s > 0, s, b)


def p_rng_normal(mu, sigma):
    rng = np.random.default_rng(7)
    return rng.normal(mu, sigma, (3, 4))


def p_rng_normal_broadcast(mu, sigma):
    rng = np.random.default_rng(7)
    return rng.normal(mu, sigma)


def p_random_normal(mu, sigma):
    np.random.seed(3)
    return np.random.normal(mu, sigma, 5)


def p_rng_uniform(lo, hi):
    rng = np.random.default_rng(1)
    return rng.uniform(lo, hi, 6)


def p_random_uniform(lo, hi):
    np.random.seed(5)
    return np.random.uniform(lo, hi, (2, 3))

def p_select(a, b): return _select(a > b, a * b, a - b)
def p_select_arrays(s, a, b): return _select(s > 0, a, b)

def p_sum(x): return np.sum(x)
def p_sum_axis0(x): return np.sum(x, axis=0)
def p_sum_axis1(x): return np.sum(x, axis=1)
def p_sum_axis_neg(x): return np.sum(x, axis=-1)
def p_sum_axes_3d(x): return np.sum(x, axis=(0, 2))
def p_sum_vector(x): return np.sum(x)
def p_sum_vector_axis0(x): return np.sum(x, axis=0)
def p_sum_method(x): return x.sum(axis=0)
def p_sum_scalar(x): return np.sum(x)

def p_mean(x): return np.mean(x)
def p_mean_axis0(x): return np.mean(x, axis=0)
def p_mean_axis1(x): return np.mean(x, axis=1)
def p_mean_axis_neg(x): return np.mean(x, axis=-1)
def p_mean_axes_3d(x): return np.mean(x, axis=(0, 2))
def p_mean_vector(x): return np.mean(x)
def p_mean_method(x): return x.mean(axis=1)
def p_mean_scalar(x): return np.mean(x)

def p_matmul(a, b): return a @ b
def p_matmul_mat_vec(a, b): return a @ b
def p_matmul_vec_mat(a, b): return a @ b
def p_matmul_vec_vec(a, b): return a @ b
def p_np_matmul(a, b): return np.matmul(a, b)

def p_dot(a, b): return np.dot(a, b)
def p_dot_mat_vec(a, b): return np.dot(a, b)
def p_dot_vec_mat(a, b): return np.dot(a, b)
def p_dot_vec_vec(a, b): return np.dot(a, b)
def p_dot_scalar_array(a, b): return np.dot(a, b)  # a product: np.dot with a number is a * b
def p_dot_array_scalar(a, b): return np.dot(a, b)
def p_dot_method(a, b): return a.dot(b)
def p_dot_scalars(a, b): return np.dot(a, b)

def p_outer(a, b): return np.outer(a, b)
def p_accumulate(x, y): return np.sum(np.sin(_accumulate(x, y)))
def p_accumulate_used_after(x): return np.sum(_accumulate(x, x * x) * x)
def p_add_outer(x, a, b): return np.sum(np.sin(_add_outer(x, a, b)))
def p_add_outer_used_after(x, a, b): return np.sum(_add_outer(x, a, b) * x)

def p_unbroadcast(g, c): return runtime.unbroadcast(g * g, c.shape) * c
def p_unbroadcast_leading(g): return runtime.unbroadcast(np.sin(g), (3,))
def p_expand_to(g, x): return runtime.expand_to(np.sin(g), x.shape, axis=1) * x
def p_expand_to_scalar(g, x): return runtime.expand_to(g * g, x.shape) * x
def p_broadcast_like(t, x): return runtime.broadcast_like(t * t, x) * x
def p_broadcast_like_scalar(t, x): return runtime.broadcast_like(np.sin(t), x) * x
def p_untile(g, x): return runtime.untile(g * g, x.shape) * x
def p_unrepeat(g, x): return runtime.unrepeat(g * g, x.shape, 2, axis=0) * x
def p_unrepeat_flat(g, x): return runtime.unrepeat(np.sin(g), x.shape, 3) * x
def p_record(t, v): return runtime.record(t * 2.0, 1, 3, v * v)
def p_record_grow(t, v): return runtime.record_grow(t * 2.0, 2, np.sin(v))
def p_unrecord(g, t): return runtime.unrecord(g * g, 1, t)
def p_checked_scale(s): return runtime.checked_scale(s * s) * 2.0
def p_checked_range(a, b): return runtime.checked_range(a, b) * a
def p_checked_ordered_range(a, b): return runtime.checked_ordered_range(a, b + 5.0) ** 2
def z_checked_size(x): return x * float(runtime.checked_size((3,), x.shape)[0])
def z_checked_seed(x): return x * float(runtime.checked_seed(x.shape[0] + 1))
def z_checked_sections(x): return x * float(runtime.checked_sections(x.shape[0], 3))
def z_draw_position(x): return x * float(_draw_position(2, x, array=True) + _draw_position(1, 0.5))
def z_log_draw(x): return x * _log_draw(np.zeros(2), 3, 1.5)[3]
def z_log_draws(x): return x * np.sum(_log_draw(np.zeros(2), 1, np.full((2, 2), 0.5), array=True))
def z_logged_draws(x): return x * runtime.logged_draws(np.arange(6.0), 1, x.shape)
def p_nonempty_list(rows): return runtime.nonempty_list(rows * rows) * 2.0
def p_ragged_tape(v, w):  # (entries of two shapes, read back: the tape's header holds positions, not values)
    tape = runtime.record_ragged(runtime.record_ragged(np.empty(0), 0, 2, v * v), 1, 2, np.sin(w))
    return runtime.ragged_row(tape, 1) * 2.0 + np.sum(runtime.ragged_row(tape, 0))
def p_ragged_row(v, w):
    tape = runtime.record_ragged(runtime.record_ragged(np.empty(0), 0, 0, np.cos(v)), 1, 0, w * v[0])
    return runtime.ragged_row(tape, 0) * runtime.ragged_row(tape, 1)[1]  # (a while loop's tape: 0 steps known)
# (g has the rows of the other side of the growth for item k: 32 after item 16, 16 before it)
def p_list_resized(g): return runtime.list_resized(g * g, 16)
def p_list_resized_after(g): return runtime.list_resized(np.sin(g), 16, after=True)
def p_tape_row(t): return runtime.tape_row(t * t, 1) * 2.0
def p_tape_row_past_its_rows(t): return runtime.tape_row(np.sin(t), 3) + t[0]
def p_untape_row(g, t): return runtime.untape_row(g * g, 1, t)
def p_untape_row_past_its_rows(g, t): return runtime.untape_row(np.sin(g), 4, t) + g[0]
def p_inverse_gaps(v): return runtime.inverse_gaps(v * 2.0)
def p_thin_reciprocal(s, x): return runtime.thin_reciprocal(s * s, x) * 2.0
def p_full_rank_gram(x): return runtime.full_rank_gram(x, 2)
def p_square_r(r): return runtime.square_r(r * r)
def p_masked_product(t, d): return runtime.masked_product(t * t, np.sin(d))
def p_masked_product_scalar_array(t, d): return runtime.masked_product(np.sin(t), d * d)
def p_fits_shape(x, y): return np.sum(np.sin(_fits_shape(x, y) * y))
def p_fits_shape_row(x, y): return np.sum(_fits_shape(x, y) * y)
def p_keeps_shape(x, y): return np.sum(np.sin(_keeps_shape(x, y.shape, True)) * y)

def p_transpose(x): return x.T
def p_np_transpose(x): return np.transpose(x)
def p_transpose_3d(x): return x.T
def p_transpose_vector(x): return np.transpose(x)
def p_transpose_times(x, y): return x.T * y

def p_getitem(x): return x[1:3, 0]
def p_getitem_row(x): return x[1]
def p_getitem_last(x): return x[-1]
def p_getitem_step(x): return x[::2]
def p_getitem_reversed(x): return x[::-1]
def p_getitem_element(x): return x[1, 2]
def p_getitem_newaxis(x): return x[:, None]
def p_getitem_newaxis_first(x): return x[None, 1:]
def p_getitem_2d_slices(x): return x[1:, ::2]
def p_getitem_len(x): return x[len(x) - 1]
def p_getitem_twice(x): return x[0] * x[1] + x[0]
def p_getitem_plus_array(x): return x + x[1]
def p_getitem_of_transpose(x): return x.T[0] + x[0, 0]

def p_copy(x): return x.copy()
def p_np_copy(x): return np.copy(x) * x
def p_np_copy_scalar(x): return np.copy(x) * 2.0

def p_full(x, s): return np.full(x.shape, s) * x
def p_full_int_shape(s): return np.full(3, s)


def p_setitem(x, v):
    y = x.copy()
    y[1] = v
    return y * x


def p_setitem_slice(x, v):
    y = x.copy()
    y[1:3, 0] = v
    return y


def p_setitem_broadcast(x, s):
    y = x.copy()
    y[:, 1] = s * s
    return y


def p_setitem_rows(x, r):
    y = x.copy()
    y[1:] = r
    return y


def p_setitem_into_zeros(a, b):
    y = np.zeros(3)
    y[0] = a
    y[1:] = b * a
    return y


def p_setitem_overwrite(x, v):
    y = x.copy()
    y[0] = v
    y[0] = v * v
    return y


def p_setitem_read_back(x, v):
    y = x.copy()
    y[1] = v
    return y[1] * y[0] + x


def p_setitem_mul_assign(x, v):
    y = x.copy()
    y[1:3] *= v
    return y


def p_index_add(x, v):
    y = x.copy()
    y[1] += v
    return y * x


def p_index_add_slice(x, v):
    y = x.copy()
    y[1:3, 0] += v * v
    return y


def p_index_add_broadcast(x, s):
    y = x.copy()
    y[:, 1] += s
    return y


def p_index_sub(x, v):
    y = x.copy()
    y[1] -= v
    return y * x


def p_index_sub_rows(x, v):
    y = x.copy()
    y[1:3] += -np.sin(v)
    return y


def p_index_add_twice(x, v):
    y = np.zeros(x.shape)
    y[0] += v * x[1]
    y[0] += x[0]
    return y


SAMPLES: dict[P.Primitive, list[Sample]] = {
    P.add: [
        S(p_add, normal(3, 4), normal(3, 4)),
        S(p_add_scalars, normal(), normal()),
        S(p_add_scalar_array, normal(), normal(3, 4)),
        S(p_add_array_scalar, normal(4), normal()),
        S(p_add_col_row, normal(3, 1), normal(1, 4)),
        S(p_add_vec_mat, normal(4), normal(3, 4)),
        S(p_add_const, normal(3)),
        S(p_np_add, normal(3, 1), normal(4)),
        S(p_add_same, normal(3)),
    ],
    P.sub: [
        S(p_sub, normal(3, 4), normal(3, 4)),
        S(p_sub_scalars, normal(), normal()),
        S(p_sub_scalar_array, normal(), normal(3, 4)),
        S(p_sub_mat_vec, normal(3, 4), normal(4)),
        S(p_sub_col_row, normal(3, 1), normal(1, 4)),
        S(p_sub_from_const, normal(3)),
        S(p_np_subtract, normal(4), normal(3, 4)),
        S(p_diff, normal(5)),
        S(p_interp, uniform(-1.5, 2.5, 4), increasing(4), normal(4)),
        S(p_ptp, normal(3, 4)),
        S(p_interp_number, uniform(-0.9, 0.9), normal(3)),
        S(p_interp_matrix, uniform(-1.5, 2.5, 3, 5), increasing(4), normal(4)),
        S(p_diff_twice_axis0, normal(4, 3)),
    ],
    P.neg: [S(p_neg, normal(3, 4)), S(p_neg_scalar, normal()), S(p_np_negative, normal(4))],
    P.to_float: [S(p_float, normal()), S(p_float_times, normal(), normal(3))],
    P.mul: [
        S(p_angles, normal(3)),
        S(p_small_ufuncs, normal(4)),
        S(p_sinc_heaviside, signed(0.2, 2.0, 4)),
        S(p_average, normal(2, 3), uniform(0.5, 2.0, 2, 3)),        S(p_dot_scalar_array, normal(), normal(3, 4)),
        S(p_dot_array_scalar, normal(4), normal()),
        S(p_dot_scalars, normal(), normal()),
        S(p_mul, normal(3, 4), normal(3, 4)),
        S(p_mul_scalars, normal(), normal()),
        S(p_mul_scalar_array, normal(), normal(3, 4)),
        S(p_mul_col_row, normal(3, 1), normal(1, 4)),
        S(p_mul_vec_mat, normal(4), normal(3, 4)),
        S(p_mul_3d_col, normal(2, 3, 4), normal(3, 1)),
        S(p_mul_square, normal(4)),
        S(p_mul_const, normal(3)),
        S(p_np_multiply, normal(3, 4), normal()),
        S(p_mul_col_vec, normal(3, 1), normal(4)),
    ],
    P.div: [
        S(p_corrcoef, normal(3, 5)),
        S(p_cov, normal(3, 5)),
        S(p_div, normal(3, 4), signed(0.5, 2, 3, 4)),
        S(p_div_scalars, normal(), signed(0.5, 2)),
        S(p_div_scalar_array, normal(), signed(0.5, 2, 3, 4)),
        S(p_div_array_scalar, normal(3, 4), signed(0.5, 2)),
        S(p_div_col_row, normal(3, 1), signed(0.5, 2, 1, 4)),
        S(p_div_mat_vec, normal(3, 4), signed(0.5, 2, 4)),
        S(p_reciprocal, signed(0.5, 2, 4)),
        S(p_div_const, normal(4)),
        S(p_np_divide, normal(4), signed(0.5, 2, 3, 4)),
        S(p_np_true_divide, normal(3, 1), signed(0.5, 2)),
    ],
    P.pow: [
        S(p_exp2, normal(3)),
        S(p_pow, uniform(0.5, 2, 3, 4), normal(3, 4)),
        S(p_pow_scalars, uniform(0.5, 2), normal()),
        S(p_pow_scalar_base, uniform(0.5, 2), normal(4)),
        S(p_pow_scalar_exponent, uniform(0.5, 2, 3, 4), normal()),
        S(p_pow_col_row, uniform(0.5, 2, 3, 1), normal(1, 4)),
        S(p_pow_square, normal(3, 4)),       # integer exponent: any sign of base
        S(p_pow_cube_scalar, signed(0.5, 2)),
        S(p_pow_float_const, uniform(0.5, 2, 4)),
        S(p_pow_const_base, normal(4)),
        S(p_np_power, uniform(0.5, 2, 4), normal(3, 4)),
    ],
    P.mod: [
        S(p_mod, uniform(-5, 5, 3, 4), uniform(0.5, 2, 3, 4), ok=frac_inside()),
        S(p_mod_scalars, uniform(-5, 5), uniform(0.5, 2), ok=frac_inside()),
        S(p_mod_scalar_array, uniform(-5, 5), uniform(0.5, 2, 4), ok=frac_inside()),
        S(p_mod_array_scalar, uniform(-5, 5, 3, 4), uniform(0.5, 2), ok=frac_inside()),
        S(p_mod_col_row, uniform(-5, 5, 3, 1), uniform(0.5, 2, 1, 4), ok=frac_inside()),
        S(p_mod_negative_divisor, uniform(-5, 5, 4), uniform(-2, -0.5, 4), ok=frac_inside()),
        Sample(p_mod_const, args(uniform(-5, 5, 4), ok=lambda x: frac_inside()(x, 1.5))),
        Sample(p_mod_functions, args(uniform(-2, 2, 4), ok=lambda x: frac_inside()(x, 0.7) & frac_inside()(x, 1.3)
                                     & off_grid(0.5)(x))),
    ],
    P.exp: [S(p_exp, normal(3, 4)), S(p_exp_scalar, normal()), S(p_softmax, normal(5)),
            S(p_softmax_axis, normal(3, 4))],
    P.log: [S(p_log, uniform(0.5, 3, 3, 4)), S(p_log_scalar, uniform(0.5, 3)), S(p_log_softmax, normal(2, 3)),
            S(p_log_softmax_axis, normal(3, 4))],
    P.sqrt: [S(p_sqrt, uniform(0.5, 3, 3, 4)), S(p_sqrt_scalar, uniform(0.5, 3))],
    P.sin: [S(p_sin, normal(3, 4)), S(p_sin_scalar, normal())],
    P.cos: [S(p_cos, normal(3, 4)), S(p_cos_scalar, normal())],
    P.tan: [S(p_tan, uniform(-1, 1, 3, 4)), S(p_tan_scalar, uniform(-1, 1))],
    P.tanh: [S(p_tanh, normal(3, 4)), S(p_tanh_scalar, normal())],
    P.expm1: [S(p_expm1, normal(3, 4)), S(p_expm1_scalar, normal())],
    P.log1p: [S(p_log1p, uniform(-0.5, 2, 3, 4)), S(p_logsumexp, normal(5)), S(p_logsumexp_axis, normal(3, 4)),
              S(p_logsumexp_axes_keepdims, normal(2, 3, 2)), S(p_logsumexp_large, normal(3, 2)),
              Sample(p_logsumexp_ties, lambda rng: [np.repeat(rng.standard_normal((3, 2)), 2, axis=1)])],  # (ties)
    P.log2: [S(p_log2, uniform(0.5, 3, 4))],
    P.log10: [S(p_log10, uniform(0.5, 3, 4))],
    P.cbrt: [S(p_cbrt, signed(0.3, 2, 3, 4))],
    P.square: [S(p_square, normal(3, 4))],
    P.reciprocal: [S(p_np_reciprocal, signed(0.5, 2, 4))],
    P.arcsin: [S(p_arcsin, uniform(-0.8, 0.8, 4))],
    P.arccos: [S(p_arccos, uniform(-0.8, 0.8, 4))],
    P.arctan: [S(p_arctan, normal(4))],
    P.sinh: [S(p_sinh, normal(4))],
    P.cosh: [S(p_cosh, normal(4))],
    P.arcsinh: [S(p_arcsinh, normal(4))],
    P.arccosh: [S(p_arccosh, uniform(1.2, 3, 4))],
    P.arctanh: [S(p_arctanh, uniform(-0.8, 0.8, 4))],
    P.hypot: [S(p_hypot, normal(3, 4), normal(4))],
    P.arctan2: [S(p_arctan2, normal(3, 4), signed(0.3, 2, 4))],
    P.logaddexp: [S(p_logaddexp, normal(3, 4), normal(4))],
    P.fmax: [S(p_fmax, normal(3, 4), normal(4), ok=apart())],
    P.prod: [S(p_prod, signed(0.5, 1.5, 5)), S(p_prod_axis, signed(0.5, 1.5, 3, 4)),
             S(p_prod_with_zero, with_zeros(signed(0.5, 1.5, 4, 3), (1, 0), (2, 2))),
             S(p_prod_two_zeros, with_zeros(signed(0.5, 1.5, 3, 4), (0, 0), (0, 2), (1, 3))),
             S(p_prod_method, signed(0.5, 1.5, 2, 3))],
    P.var: [S(p_var, normal(6)), S(p_var_axis_ddof, normal(4, 3)), S(p_var_method, normal(2, 5)),
            S(p_var_axes, normal(2, 3, 4))],
    P.std: [S(p_std, normal(6)), S(p_std_axis, normal(3, 4)), S(p_std_axes_ddof, normal(3, 2, 4))],
    P.cumsum: [S(p_cumsum, normal(5)), S(p_cumsum_axis0, normal(3, 4)), S(p_cumsum_axis1, normal(2, 3, 4)),
               S(p_cumsum_flattened, normal(3, 4))],
    P.cumprod: [S(p_cumprod_axis1, signed(0.5, 1.5, 3, 4)), S(p_cumprod, signed(0.5, 1.5, 5)),
                S(p_cumprod_one_zero, with_zeros(signed(0.5, 1.5, 3, 4), (0, 0), (1, 2), (2, 3))),
                S(p_cumprod_two_zeros, with_zeros(signed(0.5, 1.5, 2, 3, 5), (0, 1, 1), (0, 1, 3), (1, 0, 0),
                                                  (1, 0, 4), (1, 2, 2))),
                S(p_cumprod_axis0_zeros, with_zeros(signed(0.5, 1.5, 4, 3), (1, 0), (0, 1), (2, 1))),
                S(p_cumprod_flattened, with_zeros(signed(0.5, 1.5, 2, 3), (0, 2))),
                S(p_cumprod_vector_zeros, with_zeros(signed(0.5, 1.5, 5), (1,), (3,)))],
    P.amax: [S(p_max, normal(3, 4)), S(p_max_axis, normal(3, 4)), S(p_amax_axis0, normal(3, 4)),
             S(p_max_method, normal(2, 3, 4)), S(p_max_scalar, normal()), S(p_norm_inf, normal(3, 4)),
             S(p_norm_matrix_ord1, normal(3, 4)), S(p_norm_matrix_inf, normal(2, 3, 2))],
    P.amin: [S(p_min, normal(5)), S(p_min_axis, normal(3, 4)), S(p_amin_3d, normal(2, 3, 4)),
             S(p_min_method, normal(3, 4)), S(p_norm_minus_inf, normal(5)), S(p_norm_matrix_minus1, normal(3, 4)),
             S(p_norm_matrix_minus_inf, normal(4, 3))],
    P.custom: [S(p_custom_softplus, normal(3, 4)), S(p_custom_scale, normal(4), normal())],
    P.clip: [S(p_clip, normal(3, 4), uniform(-1, -0.3, 4), uniform(0.3, 1, 4), ok=_clip_apart),
             S(p_clip_scalars, normal(3, 4), ok=lambda x: _clip_apart(x, -0.5, 0.5))],
    P.fmin: [S(p_fmin, normal(3, 4), normal(4), ok=apart())],
    P.abs: [
        S(p_abs, signed(0.1, 2, 3, 4)),
        S(p_abs_scalar, signed(0.1, 2)),
        S(p_abs_builtin, signed(0.1, 2)),
        S(p_absolute, signed(0.1, 2, 4)),
        S(p_norm_ord1, signed(0.1, 2, 5)),
        S(p_norm_ord1_axis, signed(0.1, 2, 3, 4)),
    ],
    P.maximum: [
        S(p_maximum, normal(3, 4), normal(3, 4), ok=apart()),
        S(p_maximum_scalars, normal(), normal(), ok=apart()),
        S(p_maximum_col_row, normal(3, 1), normal(1, 4), ok=apart()),
        S(p_maximum_scalar_array, normal(), normal(3, 4), ok=apart()),
        S(p_maximum_vec_mat, normal(4), normal(3, 4), ok=apart()),
        S(p_maximum_col_vec, normal(3, 1), normal(4), ok=apart()),
        S(p_relu, signed(0.1, 2, 3, 4)),
        S(p_clip_one_bound, normal(3, 4), uniform(0.3, 1, 4),  # (one bound: np.maximum or np.minimum)
          ok=lambda x, hi: _clip_apart(x, -0.5, hi) & _clip_apart(x, -0.5, 0.4)),
    ],
    P.minimum: [
        S(p_minimum, normal(3, 4), normal(3, 4), ok=apart()),
        S(p_minimum_scalars, normal(), normal(), ok=apart()),
        S(p_minimum_col_row, normal(3, 1), normal(1, 4), ok=apart()),
        S(p_minimum_array_scalar, normal(3, 4), normal(), ok=apart()),
        S(p_minimum_mat_vec, normal(3, 4), normal(4), ok=apart()),
    ],
    P.max: [
        S(p_max_first, uniform(1, 2), uniform(-1, 0)),
        S(p_max_second, uniform(-1, 0), uniform(1, 2)),
        S(p_max_const, uniform(0.6, 2)),
    ],
    P.min: [
        S(p_min_first, uniform(-1, 0), uniform(1, 2)),
        S(p_min_second, uniform(1, 2), uniform(-1, 0)),
        S(p_min_const, uniform(-2, 0.4)),
    ],
    P.rng_normal: [S(p_rng_normal, normal(), uniform(0.5, 2)),
                   S(p_rng_normal_broadcast, normal(4), uniform(0.5, 2, 4))],
    P.random_normal: [S(p_random_normal, normal(), uniform(0.5, 2))],
    P.rng_uniform: [S(p_rng_uniform, uniform(-2, -1), uniform(1, 2))],
    P.random_uniform: [S(p_random_uniform, uniform(-2, -1), uniform(1, 2))],
    P.where: [
        S(p_nan_reductions, normal(3, 4)),
        Sample(p_nan_to_num, args(signed(0.1, 1, 3, 4), ok=lambda x: np.abs(np.abs(x) - 0.5) > 0.05)),
        S(p_where, normal(3, 4), normal(3, 4), ok=apart()),
        S(p_where_broadcast, signed(0.1, 1, 3, 4), normal(4), normal()),
        S(p_where_col_row, signed(0.1, 1, 3, 1), normal(1, 4), normal(3, 4)),
        S(p_where_const_branch, signed(0.1, 2, 3, 4)),
        S(p_where_scalars, normal(), normal(), ok=apart()),
        S(p_where_scalar_cond, uniform(0.1, 1), normal(3, 4), normal(3, 4)),
        S(p_where_scalar_cond_mixed, uniform(0.1, 1), normal(3, 4)),
    ],
    P.select: [
        S(p_select, normal(), normal(), ok=apart()),
        S(p_select_arrays, uniform(0.1, 1), normal(3, 4), normal(3, 4)),
    ],
    P.sum: [
        S(p_sum_tuple, normal(2, 3, 4)),
        S(p_sum, normal(3, 4)),
        S(p_sum_axis0, normal(3, 4)),
        S(p_sum_axis1, normal(3, 4)),
        S(p_sum_axis_neg, normal(2, 3, 4)),
        S(p_sum_axes_3d, normal(2, 3, 4)),
        S(p_sum_vector, normal(5)),
        S(p_sum_vector_axis0, normal(5)),
        S(p_sum_method, normal(3, 4)),
        S(p_sum_scalar, normal()),
        S(p_trapezoid, normal(5)),
        S(p_trapezoid_dx, normal(4, 3), uniform(0.5, 2)),
        S(p_trapezoid_x, normal(5), normal(5)),
        S(p_trapezoid_x_axis, normal(4, 2), normal(4)),
        S(p_trapezoid_x_like_y, normal(2, 4), normal(2, 4)),
    ],
    P.mean: [
        S(p_mean_tuple_negative, normal(2, 3, 4)),
        S(p_mean_keepdims_tuple, normal(2, 3, 4)),
        S(p_mean, normal(3, 4)),
        S(p_mean_axis0, normal(3, 4)),
        S(p_mean_axis1, normal(3, 4)),
        S(p_mean_axis_neg, normal(2, 3, 4)),
        S(p_mean_axes_3d, normal(2, 3, 4)),
        S(p_mean_vector, normal(5)),
        S(p_mean_method, normal(3, 4)),
        S(p_mean_scalar, normal()),
    ],
    P.matmul: [
        S(p_matmul, normal(3, 4), normal(4, 2)),
        S(p_multi_dot, normal(2, 3), normal(3, 4), normal(4)),
        S(p_matrix_power, normal(3, 3)),
        S(p_matmul_mat_vec, normal(3, 4), normal(4)),
        S(p_matmul_vec_mat, normal(4), normal(4, 3)),
        S(p_matmul_vec_vec, normal(4), normal(4)),
        S(p_np_matmul, normal(2, 3), normal(3, 4)),
    ],
    P.dot: [
        S(p_dot, normal(3, 4), normal(4, 2)),
        S(p_dot_mat_vec, normal(3, 4), normal(4)),
        S(p_dot_vec_mat, normal(4), normal(4, 3)),
        S(p_dot_vec_vec, normal(4), normal(4)),
        S(p_dot_method, normal(2, 3), normal(3)),
    ],
    P.outer: [S(p_outer, normal(3), normal(4))],
    P.fits_shape: [S(p_fits_shape, normal(3, 4), normal(3, 4)), S(p_fits_shape_row, normal(4), normal(3, 4))],
    P.keeps_shape: [S(p_keeps_shape, normal(3, 4), normal(3, 4))],
    P.accumulate: [S(p_accumulate, normal(3, 4), normal(3, 4)), S(p_accumulate_used_after, normal(3))],
    P.add_outer: [S(p_add_outer, normal(3, 4), normal(3), normal(4)),
                  S(p_add_outer_used_after, normal(2, 2), normal(2), normal(2))],
    P.unbroadcast: [S(p_unbroadcast, normal(4, 3), normal(1, 3)), S(p_unbroadcast_leading, normal(2, 3))],
    P.expand_to: [S(p_expand_to, normal(3), normal(3, 4)), S(p_expand_to_scalar, normal(), normal(2, 3))],
    P.broadcast_like: [S(p_broadcast_like, normal(3), normal(2, 3)), S(p_broadcast_like_scalar, normal(), normal(3))],
    P.untile: [S(p_untile, normal(6), normal(2))],
    P.unrepeat: [S(p_unrepeat, normal(6), normal(3)), S(p_unrepeat_flat, normal(6), normal(2))],
    P.record: [S(p_record, normal(3, 2), normal(2))],
    P.record_grow: [S(p_record_grow, normal(4), normal())],
    P.unrecord: [S(p_unrecord, normal(4, 2), normal(3, 2))],
    P.record_ragged: [S(p_ragged_tape, normal(3), normal(5))],
    P.nonempty_list: [S(p_nonempty_list, normal(3, 2))],
    P.checked_scale: [S(p_checked_scale, normal(3))],
    P.checked_range: [S(p_checked_range, normal(3), normal(3))],
    P.checked_ordered_range: [S(p_checked_ordered_range, uniform(-1.0, 1.0, 3), uniform(-1.0, 1.0, 3))],
    P.ragged_row: [S(p_ragged_row, normal(2), normal(3))],
    P.tape_row: [S(p_tape_row, normal(3, 2)), S(p_tape_row_past_its_rows, normal(3, 2))],
    P.untape_row: [S(p_untape_row, normal(2), normal(3, 2)), S(p_untape_row_past_its_rows, normal(2), normal(3, 2))],
    P.inverse_gaps: [Sample(p_inverse_gaps, lambda rng: [np.array([0.0, 1.0, 2.5]) + 0.1 * rng.standard_normal(3)])],
    P.thin_reciprocal: [S(p_thin_reciprocal, uniform(0.5, 2.0, 2), normal(3, 2))],
    P.full_rank_gram: [S(p_full_rank_gram, separated(3, 2))],
    P.masked_product: [S(p_masked_product, normal(3, 4), normal(3, 4)), S(p_masked_product_scalar_array, normal(), normal(4))],
    P.square_r: [S(p_square_r, normal(2, 2))],
    P.vdot: [S(p_vdot, normal(4), normal(4))],
    P.inner: [S(p_inner, normal(3), normal(3))],
    P.trace: [S(p_trace, normal(3, 3)), S(p_trace_rect, normal(2, 4))],
    P.diag: [S(p_diag_vector, normal(3)), S(p_diag_matrix, normal(4, 4)), S(p_diag_wide, normal(2, 4)),
             S(p_diag_tall, normal(4, 2)), S(p_diagonal, normal(3, 4))],
    P.norm: [S(p_norm, normal(5)), S(p_norm_matrix, normal(3, 2)), S(p_norm_axis, normal(3, 4)),
             S(p_norm_axes_keepdims, normal(2, 3, 2)), S(p_norm_fro, normal(3, 2)), S(p_norm_ord2_vector, normal(4, 2)),
             S(p_norm_3d, normal(2, 2, 3)), S(p_norm_ord3, normal(4)), S(p_norm_ord_half_axis, signed(0.2, 2, 3, 4))],
    P.cross_vectors: [S(p_cross, normal(3), normal(3)), S(p_cross_rows, normal(4, 3), normal(3)),
                      S(p_cross_broadcast, normal(2, 1, 3), normal(4, 3))],
    P.erf: [S(p_erf, normal(3, 4))],
    P.erfc: [S(p_erfc, normal(4))],
    P.gammaln: [S(p_gammaln, uniform(0.3, 5, 4)), S(p_gammaln_negative, uniform(-2.9, -2.1, 3))],
    P.digamma: [S(p_digamma, uniform(0.3, 5, 4)), S(p_psi_negative, uniform(-1.9, -1.1, 3))],
    P.expit: [S(p_expit, normal(3, 4)), S(p_expit_wide, uniform(-30, 30, 8))],
    P.logit: [S(p_logit, uniform(0.002, 0.998, 6))],
    P.xlogy: [S(p_xlogy, normal(3, 4), uniform(0.5, 2, 4)),
              S(p_xlogy_at_zero, with_zeros(normal(4), (1,), (3,)), uniform(0.5, 2, 4))],

    P.solve: [S(p_solve, invertible(3), normal(3)), S(p_solve_matrix, invertible(3), normal(3, 2)),
              S(p_solve_transposed, invertible(4, negate_row=True), normal(4))],
    P.inv: [S(p_inv, invertible(3)), S(p_inv_times, invertible(3), normal(3, 2)),
            S(p_matrix_power_negative, invertible(3))],
    P.det: [S(p_det, invertible(3)), S(p_det_negative, invertible(3, negate_row=True))],
    P.logabsdet: [S(p_slogdet, invertible(3)), S(p_slogdet_unpacked, invertible(4, negate_row=True))],
    P.cholesky: [S(p_cholesky, symmetric_positive(3)), S(p_cholesky_logdet, symmetric_positive(4)),
                 S(p_cholesky_solve, symmetric_positive(3), normal(3))],
    P.eigh_values: [S(p_eigh_values, symmetric_positive(3))],
    P.eigvalsh: [S(p_eigvalsh, symmetric_positive(4))],
    P.eigh_vectors: [S(p_eigh_vector_squares, symmetric_positive(3)), S(p_eigh_projector, symmetric_positive(4))],
    P.svd_s: [S(p_svd_values, separated(4, 3)), S(p_svd_values_item, separated(3, 5)),
              S(p_norm_matrix_ord2, separated(3, 4)), S(p_norm_matrix_minus2, separated(4, 3)),
              S(p_norm_nuclear, separated(3, 3))],
    P.svd_u: [S(p_svd_u_tall, separated(4, 3)), S(p_svd_u_wide, separated(3, 4)), S(p_svd_u_square, separated(3, 3)),
              S(p_svd_rank_one, separated(4, 3))],
    P.svd_vt: [S(p_svd_vt_wide, separated(3, 4)), S(p_svd_vt_tall, separated(4, 3))],
    P.qr_q: [S(p_qr_q, separated(4, 3)), S(p_qr_q_square, separated(3, 3)), S(p_qr_both, separated(4, 2))],
    P.qr_r: [S(p_qr_r, separated(4, 3))],
    P.lstsq: [S(p_lstsq, separated(5, 3), normal(5)), S(p_lstsq_matrix, separated(4, 2), normal(4, 2)),
              S(p_lstsq_square, separated(3, 3), normal(3))],
    P.lstsq_sv: [S(p_lstsq_values, separated(4, 3), normal(4))],
    P.arange: [S(p_arange_start_step, uniform(-1, 1), uniform(0.27, 0.32)), S(p_arange_start_stop, uniform(0.1, 0.4))],
    P.linspace: [S(p_linspace, normal(), normal()), S(p_linspace_start, normal()),
                 S(p_linspace_open, normal(), normal())],
    P.reshape: [S(p_reshape, normal(3, 4)), S(p_reshape_method, normal(3, 4)), S(p_reshape_dynamic, normal(2, 5)),
                S(p_kron, normal(2, 3), normal(3, 2)), S(p_kron_vectors, normal(3), normal(2)),
                S(p_kron_vector_matrix, normal(2), normal(2, 3))],
    P.convolve: [S(p_convolve, normal(5), normal(3)), S(p_convolve_same, normal(2), normal(4)),
                 S(p_convolve_same_longer_a, normal(5), normal(3)), S(p_convolve_valid, normal(3), normal(5)),
                 S(p_correlate, normal(5), normal(2)), S(p_correlate_same, normal(2), normal(5)),
                 S(p_correlate_same_lengths, normal(4), normal(4)), S(p_correlate_full, normal(3), normal(4))],
    P.ravel: [S(p_ravel, normal(3, 4))],
    P.flatten: [S(p_flatten, normal(2, 3))],
    P.expand_dims: [S(p_atleast, normal(3)), S(p_expand_dims, normal(3, 4)), S(p_expand_dims_last, normal(3)), S(p_sum_keepdims, normal(3, 4)),
                    S(p_max_keepdims, normal(3, 4)), S(p_std_keepdims, normal(3, 4))],
    P.squeeze: [S(p_squeeze, normal(3, 1, 4))],
    P.swapaxes: [S(p_swapaxes, normal(2, 3, 4))],
    P.flip: [S(p_flip, normal(3, 4)), S(p_flip_axis, normal(3, 4)), S(p_flipud_fliplr, normal(3, 4)),
             S(p_flip_axes, normal(2, 3, 4))],
    P.concatenate: [S(p_concatenate, normal(2, 3), normal(4, 3)), S(p_concatenate_axis1, normal(2, 3), normal(2, 1)),
                    S(p_hstack, normal(2, 3), normal(2, 1)), S(p_hstack_vectors, normal(2), normal(3)),
                    S(p_vstack, normal(3), normal(2, 3)), S(p_vstack_vectors, normal(3), normal(3)),
                    S(p_column_stack, normal(3, 2), normal(3))],
    P.stack: [S(p_stack, normal(3), normal(3)), S(p_stack_axis1, normal(2, 3), normal(2, 3))],
    P.pack: [S(p_pack, normal(), normal()), S(p_pack_stack, normal(), normal())],
    P.list_rows: [S(p_list_rows, normal(2), normal(2))],
    P.checked_fraction: [S(p_percentile, normal(5), uniform(5.0, 95.0))],
    P.histogram_span: [S(p_histogram_auto, normal(6)), S(p_histogram_range, uniform(-1, 1, 5), uniform(-3.0, -2.0))],
    P.increasing: [S(p_histogram_edges, uniform(0.1, 3.0, 7), uniform(0.5, 1.0, 4))],
    P.histogram_weights: [S(p_histogram_weights, uniform(-3, 3, 7), normal(7)),
                          S(p_histogram_density, normal(6), uniform(0.5, 1.5, 6))],
    P.list_grow: [S(p_list_grow, normal(2), normal(2)), S(p_list_grow_numbers, normal())],
    P.list_resized: [S(p_list_resized, normal(32, 2)), S(p_list_resized_after, normal(16))],
    P.broadcast_to: [S(p_broadcast_to, normal(3, 1)), S(p_broadcast_to_vector, normal(4)),
                     S(p_broadcast_to_scalar, normal()), S(p_broadcast_to_same, normal(2, 3)),
                     S(p_meshgrid, normal(3), normal(4)), S(p_meshgrid_ij, normal(2), normal(3), normal(2)),
                     S(p_meshgrid_xy3, normal(2), normal(3), normal(2)), S(p_meshgrid_written, normal(3), normal(2))],
    P.tile: [S(p_tile, normal(2, 3)), S(p_tile_int, normal(2)), S(p_tile_more_counts, normal(3, 2)),
             S(p_tile_fewer_counts, normal(2, 2, 3))],
    P.repeat: [S(p_repeat, normal(2, 3)), S(p_repeat_axis, normal(2, 3)), S(p_repeat_axis0, normal(2, 2, 3))],
    P.roll: [S(p_roll, normal(3, 4)), S(p_roll_axis, normal(3, 4)), S(p_roll_far, normal(2, 3)),
             S(p_roll_3d, normal(3, 2, 2))],
    P.triu: [S(p_triu, normal(3, 3)), S(p_triu_k, normal(3, 4)), S(p_triu_stack, normal(2, 4, 3))],
    P.tril: [S(p_tril, normal(3, 3)), S(p_tril_k, normal(4, 3)), S(p_tril_wide, normal(2, 5)),
              S(p_tril_below, normal(3, 4))],
    P.pad: [S(p_pad, normal(2, 3)), S(p_pad_pair, normal(3)), S(p_pad_per_axis, normal(2, 3), normal()),
            S(p_pad_value, normal(3), normal())],
    P.transpose: [
        S(p_transpose_axes, normal(2, 3, 4)),
        S(p_transpose_negative_axes, normal(2, 3, 4)),
        S(p_transpose_method, normal(3, 4)),
        S(p_transpose_method_axes, normal(2, 3, 4)),
        S(p_transpose, normal(3, 4)),
        S(p_np_transpose, normal(3, 4)),
        S(p_transpose_3d, normal(2, 3, 4)),
        S(p_transpose_vector, normal(4)),
        S(p_transpose_times, normal(3, 4), normal(4, 1)),
        S(p_moveaxis, normal(2, 3, 4)),
        S(p_moveaxis_several, normal(2, 3, 4)),
    ],
    P.getitem: [S(p_split, normal(5)), S(p_split_axis, normal(3, 4)), S(p_split_sections, normal(6)), S(p_sort_rows, normal(3, 4)), S(p_sort_columns, normal(4, 3)), S(p_median_columns, normal(4, 3)),
                S(p_median_rows_odd, normal(2, 5)), S(p_percentile_rows, normal(3, 5), uniform(5.0, 95.0)),
                S(p_running_max, normal(6)), S(p_running_min_rows, normal(3, 4)),
                S(p_running_max_columns, normal(4, 3)),
                S(p_sort_middle_axis, normal(2, 3, 4)),
                S(p_median_middle_axis, normal(2, 3, 4)), S(p_quantile_last_axis, normal(2, 3, 4), uniform(0.05, 0.95)),
        S(p_sort, normal(5)),
        S(p_methods, normal(4)),
        S(p_sort_all, normal(2, 3)),
        S(p_median, normal(5)),
        S(p_median_even, normal(2, 2)),
        S(p_quantile, normal(6)),
        S(p_getitem, normal(4, 3)),
        S(p_getitem_row, normal(3, 4)),
        S(p_getitem_last, normal(5)),
        S(p_getitem_step, normal(5)),
        S(p_getitem_reversed, normal(5)),
        S(p_getitem_element, normal(3, 4)),
        S(p_getitem_newaxis, normal(4)),
        S(p_getitem_newaxis_first, normal(4)),
        S(p_getitem_2d_slices, normal(3, 5)),
        S(p_getitem_len, normal(5)),
        S(p_getitem_twice, normal(3)),
        S(p_getitem_plus_array, normal(4)),
        S(p_getitem_of_transpose, normal(3, 4)),
        S(p_take, normal(2, 3)),
        S(p_take_axis, normal(2, 3)),
        S(p_take_negative, normal(2, 2, 3)),
        S(p_take_one, normal(2, 3)),
        S(p_take_one_flat, normal(2, 3)),
        S(p_take_rows, normal(2, 3)),
    ],
    P.copy: [S(p_copy, normal(3, 4)), S(p_np_copy, normal(4))],
    P.full: [S(p_full, normal(3, 4), normal()), S(p_full_int_shape, normal()),
             S(p_full_like_array_value, normal(3, 4), normal(4)), S(p_mean_keepdims_all, normal(3, 4))],
    P.setitem: [
        S(p_setitem, normal(4), normal()),
        S(p_setitem_slice, normal(4, 3), normal(2)),
        S(p_setitem_broadcast, normal(3, 4), normal()),
        S(p_setitem_rows, normal(3, 4), normal(4)),
        S(p_setitem_into_zeros, normal(), normal(2)),
        S(p_setitem_overwrite, normal(3), normal()),
        S(p_setitem_read_back, normal(3), normal()),
        S(p_setitem_mul_assign, normal(4), normal()),
    ],
    P.index_sub: [S(p_index_sub, normal(4), normal()), S(p_index_sub_rows, normal(4, 3), normal(3))],
    P.index_add: [
        S(p_index_add, normal(4), normal()),
        S(p_index_add_slice, normal(4, 3), normal(2)),
        S(p_index_add_broadcast, normal(3, 4), normal()),
        S(p_index_add_twice, normal(3), normal()),
    ],
}


# --- zero-derivative rules, on a differentiable path ---------------------------------------

def z_floordiv(x): return (x // 0.7) * x
def z_floordiv_alone(x): return x // 0.7
def z_floor(x): return np.floor(x) * x
def z_ceil(x): return np.ceil(x) * x
def z_trunc(x): return np.trunc(x) * x
def z_rint(x): return np.rint(x) * x
def z_round(x): return np.round(x) * x
def z_round_decimals(x): return np.round(x, 1) * x
def z_isfinite(x): return np.where(np.isfinite(x), x * x, 0.0)
def z_all(x): return x * np.all(x > -0.3, axis=0)
def z_all_method(x): return x * x.all()
def z_any(x): return np.any(x > 0.5, axis=1, keepdims=True) * x
def z_any_keepdims(x): return x * np.any(x > 0.5, keepdims=True)
def z_isclose(x): return np.where(np.isclose(x, 0.5, rtol=0.0, atol=0.2), 2.0, 3.0) * x
def z_allclose(x): return x * np.allclose(x, x + 1e-9)
def z_isnan(x): return np.where(np.isnan(x), 0.0, x * x)
def z_isinf(x): return np.where(np.isinf(x), 0.0, x * x)
def z_floor_alone(x): return np.floor(x)
def z_sign(x): return np.sign(x) * x
def z_sign_alone(x): return np.sign(x)
def z_lt(x): return (x < 0.3) * x
def z_slogdet_sign(x): return np.linalg.slogdet(np.diag(x))[0] * x
def z_lstsq_rank(x): return x * np.linalg.lstsq(x, x[:, 0], rcond=None)[2]
def z_eye(x): return np.eye(3) * x
def z_eye_rect(x): return np.eye(2, 3) * x
def z_stop_in_custom(x): return custom_funcs.softplus(x) * x
def z_np_less(x): return np.less(x, 0.3) * x
def z_np_greater_equal(x): return np.where(np.greater_equal(x, 0.3), x, 0.0)
def z_le(x): return (x <= 0.3) * x
def z_gt(x): return (x > 0.3) * x
def z_ge(x): return (x >= 0.3) * x
def z_eq(x): return (x == x) * x
def z_ne(x): return (x != 0.3) * x
def z_not(x): return (not (x > 0.3)) * x
def z_and(x): return ((x > -0.5) and (x < 0.5)) * x
def z_or(x): return ((x < -0.5) or (x > 0.5)) * x
def z_shape(x): return x * x.shape[0]
def z_len(x): return len(x) * x
def z_size(x): return x * x.size
def z_zeros(x): return np.zeros(x.shape) + x
def z_ones(x): return np.ones(len(x)) * x


def z_empty(x):
    y = np.empty(x.shape)
    y[:] = x
    return y * x


def z_zeros_like(x): return _zeros_like(x) + x * x
def z_make_tuple(x): return np.ones(_make_tuple(len(x))) * x
def z_trip_count(x): return x * _trip_count(0, len(x), 2)
def z_joined_shape(x): return np.ones(runtime.joined_shape(x.shape, (1,))) * x


def z_last_writes(x):
    y = x.copy()
    y[np.array([0, 2, 0])] = np.array([5.0, 7.0, 6.0])  # (y[0] = 6: the last written)
    return y


def z_checked_mask(x):
    y = x.copy()
    y[np.array([True, False, True])] *= 2.0
    return y


def z_checked_index(x):
    y = x.copy()
    y[np.array([0, 1]), np.array([1, -1])] = 0.0
    return y


def z_to_int(x): return x * int(np.abs(x[0]) + 2.0)
def z_astype(x): return x * (x * 0.0 + 5.5).astype(int)
def z_argmax(x): return x * np.argmax(x) + x * np.sum(np.argmax(np.outer(x, x), axis=0))
def z_argmin(x): return x * np.argmin(x) + x * np.sum(np.argmin(np.outer(x, x), axis=1))
def z_searchsorted(x): return x * np.searchsorted(np.array([-9.0, 0.0, 9.0]), x[0], side="right")
def z_searchsorted_array(x): return x * np.sum(np.searchsorted(np.array([-0.5, 0.5]), x))
def z_digitize(x): return x * np.sum(np.digitize(x, np.array([-0.5, 0.5]))) + x * np.sum(np.digitize(x, np.array([0.0]), right=True))


def z_triangle_indices(x): return x * np.sum(np.triu_indices(3, 1)[1]) + x * np.sum(np.tril_indices(3, 0, 2)[0])
def z_argsort(x): return x * np.argsort(x)[0]
def z_sort_columns(x): return x * np.argsort(np.outer(x, x), axis=0)[0, 1]
def z_argsort_first_axis(x): return x * np.argsort(x[:, None, None] * np.ones((2, 3)), axis=0)[1, 1, 2]
def z_bitand(x): return np.where((x > 0.0) & (x < 1.0), 2.0, 1.0) * x
def z_bitor(x): return np.where(np.logical_or(x > 0.5, x < -0.5), 2.0, 1.0) * x
def z_bitxor(x): return x * float(np.sum(np.logical_xor(x > 0.0, x > 0.5)) ^ 1)
def z_invert(x): return np.where(~(x > 0.0), 3.0, 1.0) * x + x * float(~np.argmax(x))
def z_running_extreme(x): return x * np.argmax(np.maximum.accumulate(x) == x[np.argmax(x)])


def z_numpy_divisor(x): return x * float(np.floor_divide(7, len(x)) + np.mod(len(x) + 1, len(x)))


def z_list_position(x):
    xs = [x]
    for i in range(3):
        xs.append(xs[-1] * x[0])
    return xs[len(xs) - 1] * 0.0 + x * len(xs)


def z_tape(x):
    """A loop: its reverse derivative records `s` on a tape at every step."""
    s = 2.0 * x
    for k in range(len(x)):
        s = s * x
    return s


def z_rng_standard_normal(x):
    rng = np.random.default_rng(2)
    return rng.standard_normal(3) * x


def z_default_rng(x):
    rng = np.random.default_rng(9)
    return rng.standard_normal(2) * x


def z_rng_integers(x):
    rng = np.random.default_rng(2)
    return rng.integers(0, 5, size=3) * x


def z_rng_permutation(x):
    rng = np.random.default_rng(2)
    return rng.permutation(3) * x


def z_rng_choice(x):
    rng = np.random.default_rng(2)
    return rng.choice(5, 3, replace=False) * x


def z_rng_random(x):
    rng = np.random.default_rng(2)
    return rng.random((2, 2)) * x


def z_random_standard_normal(x):
    np.random.seed(4)
    return np.random.standard_normal(3) * x


def z_random_random(x):
    np.random.seed(6)
    return np.random.random((2, 3)) * x


def _draws(make):
    """The values a sample's seeded draw produces (its derivative with respect to x)."""
    return lambda x: make() + 0 * x


def z_tape_param_init(x):
    s = x
    for k in range(len(x)):
        s = s * x
    return s


def away_from(*points, margin=0.05):
    return lambda x: np.min(np.abs(np.subtract.outer(np.ravel(x), points))) > margin


def off_grid(step):
    return lambda x: frac_inside()(x, step)


def Z(fn, gen, partial, ok=None):
    return Sample(fn, args(gen, ok=ok), partial)


_STD_NORMAL = Z(z_rng_standard_normal, normal(3), _draws(lambda: np.random.default_rng(2).standard_normal(3)))

ZERO_SAMPLES: dict[P.Primitive, list[Sample]] = {
    P.default_rng: [Z(z_default_rng, normal(2), _draws(lambda: np.random.default_rng(9).standard_normal(2)))],
    P.rng_standard_normal: [_STD_NORMAL],
    P.rng_integers: [Z(z_rng_integers, normal(3), _draws(lambda: np.random.default_rng(2).integers(0, 5, size=3)))],
    P.rng_permutation: [Z(z_rng_permutation, normal(3), _draws(lambda: np.random.default_rng(2).permutation(3)))],
    P.rng_choice: [Z(z_rng_choice, normal(3), _draws(lambda: np.random.default_rng(2).choice(5, 3, replace=False)))],
    P.rng_random: [Z(z_rng_random, normal(2, 2), _draws(lambda: np.random.default_rng(2).random((2, 2))))],
    P.random_standard_normal: [Z(z_random_standard_normal, normal(3),
                                 _draws(lambda: (np.random.seed(4), np.random.standard_normal(3))[1]))],
    P.random_random: [Z(z_random_random, normal(2, 3), _draws(lambda: (np.random.seed(6), np.random.random((2, 3)))[1]))],
    P.floordiv: [
        Z(z_floordiv, uniform(-2, 2, 3, 4), lambda x: np.floor(x / 0.7), ok=off_grid(0.7)),
        Z(z_floordiv_alone, uniform(-2, 2, 4), lambda x: np.zeros_like(x), ok=off_grid(0.7)),
    ],
    P.ceil: [Z(z_ceil, uniform(-3, 3, 3, 4), np.ceil, ok=off_grid(1.0))],
    P.trunc: [Z(z_trunc, uniform(-3, 3, 3, 4), np.trunc, ok=off_grid(1.0))],
    P.rint: [Z(z_rint, uniform(-3, 3, 4), np.rint, ok=lambda x: frac_inside(0.1, 0.4)(x, 1.0) | frac_inside(0.6, 0.9)(x, 1.0))],
    P.round: [Z(z_round, uniform(-3, 3, 4), np.round, ok=lambda x: frac_inside(0.1, 0.4)(x, 1.0) | frac_inside(0.6, 0.9)(x, 1.0)),
              Z(z_round_decimals, uniform(-3, 3, 4), lambda x: np.round(x, 1), ok=off_grid(0.05))],
    P.isfinite: [Z(z_isfinite, normal(4), lambda x: 2 * x)],
    P.isnan: [Z(z_isnan, normal(4), lambda x: 2 * x)],
    P.isinf: [Z(z_isinf, normal(4), lambda x: 2 * x)],
    P.floor: [
        Z(z_floor, uniform(-3, 3, 3, 4), np.floor, ok=off_grid(1.0)),
        Z(z_floor_alone, uniform(-3, 3), lambda x: 0.0, ok=off_grid(1.0)),
    ],
    P.sign: [
        Z(z_sign, signed(0.1, 2, 4), np.sign),
        Z(z_sign_alone, signed(0.1, 2, 4), lambda x: np.zeros_like(x)),
    ],
    P.stop: [Z(z_stop_in_custom, normal(4), lambda x: x / (1 + np.exp(-x)) + np.log1p(np.exp(x)))],
    P.slogdet_sign: [Z(z_slogdet_sign, signed(0.5, 2, 3), lambda x: np.full(x.shape, np.prod(np.sign(x))))],
    P.lstsq_rank: [Z(z_lstsq_rank, invertible(3), lambda x: np.full(x.shape, 3.0))],
    P.eye: [Z(z_eye, normal(3, 3), lambda x: np.eye(3)), Z(z_eye_rect, normal(2, 3), lambda x: np.eye(2, 3))],
    P.lt: [Z(z_lt, uniform(-1, 1, 3, 4), lambda x: (x < 0.3) * 1.0, ok=away_from(0.3)),
           Z(z_np_less, uniform(-1, 1, 4), lambda x: (x < 0.3) * 1.0, ok=away_from(0.3))],
    P.le: [Z(z_le, uniform(-1, 1, 4), lambda x: (x <= 0.3) * 1.0, ok=away_from(0.3)),
           Z(z_isclose, uniform(0, 1, 6), lambda x: np.where(np.abs(x - 0.5) <= 0.2, 2.0, 3.0),
             ok=away_from(0.3, 0.7))],
    P.all_: [Z(z_all, uniform(-1, 1, 4, 3), lambda x: np.broadcast_to(np.all(x > -0.3, axis=0), x.shape) * 1.0,
               ok=away_from(-0.3)),
             Z(z_all_method, signed(0.1, 1, 4), np.ones_like),
             Z(z_allclose, normal(3), np.ones_like)],
    P.any_: [Z(z_any, uniform(-1, 1, 3, 4),
               lambda x: np.broadcast_to(np.any(x > 0.5, axis=1, keepdims=True), x.shape) * 1.0, ok=away_from(0.5)),
             Z(z_any_keepdims, uniform(-1, 1, 2, 3), lambda x: np.full(x.shape, float(np.any(x > 0.5))),
               ok=away_from(0.5))],
    P.gt: [Z(z_gt, uniform(-1, 1, 4), lambda x: (x > 0.3) * 1.0, ok=away_from(0.3))],
    P.ge: [Z(z_ge, uniform(-1, 1), lambda x: float(x >= 0.3), ok=away_from(0.3)),
           Z(z_np_greater_equal, uniform(-1, 1, 4), lambda x: (x >= 0.3) * 1.0, ok=away_from(0.3))],
    P.eq: [Z(z_eq, normal(4), lambda x: np.ones_like(x))],
    P.ne: [Z(z_ne, uniform(-1, 1, 4), lambda x: np.ones_like(x), ok=away_from(0.3))],
    P.not_: [Z(z_not, uniform(-1, 1), lambda x: float(not x > 0.3), ok=away_from(0.3))],
    P.and_: [Z(z_and, uniform(-1, 1), lambda x: float(-0.5 < x < 0.5), ok=away_from(-0.5, 0.5))],
    P.or_: [Z(z_or, uniform(-1, 1), lambda x: float(x < -0.5 or x > 0.5), ok=away_from(-0.5, 0.5))],
    P.shape: [
        Z(z_shape, normal(3, 4), lambda x: np.full(x.shape, 3.0)),
        Z(z_len, normal(5), lambda x: np.full(x.shape, 5.0)),
    ],
    P.size: [Z(z_size, normal(3, 4), lambda x: np.full(x.shape, 12.0))],
    P.zeros: [Z(z_zeros, normal(3, 4), lambda x: np.ones_like(x))],
    P.ones: [Z(z_ones, normal(4), lambda x: np.ones_like(x))],
    P.empty: [Z(z_empty, normal(3, 4), lambda x: 2 * x)],
    P.zeros_like: [Z(z_zeros_like, normal(4), lambda x: 2 * x)],
    P.make_tuple: [Z(z_make_tuple, normal(4), lambda x: np.ones_like(x))],
    P.trip_count: [Z(z_trip_count, normal(5), lambda x: np.full(x.shape, 3.0))],
    P.joined_shape: [Z(z_joined_shape, normal(4), lambda x: np.ones_like(x))],
    P.list_position: [Z(z_list_position, normal(3), lambda x: np.full(x.shape, 4.0))],
    P.numpy_divisor: [Z(z_numpy_divisor, normal(3), lambda x: np.full(x.shape, 3.0))],
    P.to_int: [Z(z_to_int, normal(3), lambda x: np.full(x.shape, float(int(abs(x[0]) + 2.0))))],
    P.argmax: [Z(z_argmax, normal(3), lambda x: np.full(x.shape, float(np.argmax(x) + np.sum(np.argmax(np.outer(x, x), axis=0)))))],
    P.argmin: [Z(z_argmin, normal(3), lambda x: np.full(x.shape, float(np.argmin(x) + np.sum(np.argmin(np.outer(x, x), axis=1)))))],
    P.searchsorted: [Z(z_searchsorted, normal(3), lambda x: np.full(x.shape, float(np.searchsorted([-9.0, 0.0, 9.0], x[0], side="right")))),
                     Z(z_searchsorted_array, normal(3), lambda x: np.full(x.shape, float(np.sum(np.searchsorted([-0.5, 0.5], x)))))],
    P.triangle_indices: [Z(z_triangle_indices, normal(3), lambda x: np.full(x.shape, 11.0))],
    P.digitize: [Z(z_digitize, normal(3), lambda x: np.full(x.shape, float(np.sum(np.digitize(x, [-0.5, 0.5])) + np.sum(np.digitize(x, [0.0], right=True)))))],
    P.last_writes: [Z(z_last_writes, normal(3), lambda x: np.array([0.0, 1.0, 0.0]))],
    P.checked_mask: [Z(z_checked_mask, normal(3), lambda x: np.array([2.0, 1.0, 2.0]))],
    P.astype: [Z(z_astype, uniform(0.1, 0.9, 3), lambda x: np.full(x.shape, 5.0)),
               Z(z_count_nonzero, normal(4), lambda x: np.full(x.shape, float(np.count_nonzero(x > 0) + np.sum(np.count_nonzero(np.outer(x, x) > 0, axis=0)))))],
    P.bitand: [Z(z_bitand, normal(5), lambda x: np.where((x > 0.0) & (x < 1.0), 2.0, 1.0))],
    P.bitor: [Z(z_bitor, normal(5), lambda x: np.where((x > 0.5) | (x < -0.5), 2.0, 1.0))],
    P.bitxor: [Z(z_bitxor, normal(5), lambda x: np.full(x.shape, float(np.sum((x > 0.0) ^ (x > 0.5)) ^ 1)))],
    P.invert: [Z(z_invert, normal(5), lambda x: np.where(x <= 0.0, 3.0, 1.0) + float(~np.argmax(x)))],
    P.sort_columns: [Z(z_sort_columns, normal(4),
                       lambda x: np.full(x.shape, float(np.argsort(np.outer(x, x), axis=0, kind="stable")[0, 1]))),
                     Z(z_argsort_first_axis, normal(4), lambda x: np.full(x.shape, float(np.argsort(x, kind="stable")[1])))],
    P.checked_size: [Z(z_checked_size, normal(3), lambda x: np.full(x.shape, 3.0))],
    P.checked_seed: [Z(z_checked_seed, normal(2), lambda x: np.full(x.shape, 3.0))],
    P.checked_sections: [Z(z_checked_sections, normal(6), lambda x: np.full(x.shape, 2.0))],
    P.draw_position: [Z(z_draw_position, normal(2), lambda x: np.full(x.shape, 6.0))],
    P.log_draw: [Z(z_log_draw, normal(2), lambda x: np.full(x.shape, 1.5)),
                 Z(z_log_draws, normal(2), lambda x: np.full(x.shape, 2.0))],
    P.logged_draws: [Z(z_logged_draws, normal(3), lambda x: np.array([1.0, 2.0, 3.0]))],
    P.running_extreme: [Z(z_running_extreme, normal(5), lambda x: np.full(x.shape, float(np.argmax(x))))],
    P.argsort: [Z(z_argsort, normal(4), lambda x: np.full(x.shape, float(np.argsort(x, kind="stable")[0])))],
    P.checked_index: [Z(z_checked_index, normal(2, 2), lambda x: np.array([[1.0, 0.0], [1.0, 0.0]]))],
    P.tape: [
        Z(z_tape, normal(3), lambda x: 8 * x ** 3),
        Z(z_tape_param_init, normal(3), lambda x: 4 * x ** 3),
    ],
}

# --- known bugs: (sample, check) -> reason ------------------------------------------------------
# The checks: "jvp" (finite differences), "vjp" (dot product; runs the jvp too), "jacobian"
# (forward against reverse), "zero" (closed-form derivative of a zero-derivative sample).

_SECOND_REVERSE = "reverse mode over untile is not supported (forward over reverse is)"
XFAIL: dict[tuple[str, str], str] = {("p_untile", check): _SECOND_REVERSE for check in ("vjp", "jacobian", "numba")}
XFAIL.update({(name, check): "reverse mode over a ragged tape is not supported (forward over reverse is)"
              for name in ("p_ragged_tape", "p_ragged_row") for check in ("vjp", "jacobian", "numba")})

_ALL = [(prim, s) for table in (SAMPLES, ZERO_SAMPLES) for prim, samples in table.items() for s in samples]


def _params(pairs, check=None, with_prim=False):
    out = []
    for prim, s in pairs:
        reason = XFAIL.get((s.name, check))
        marks = [pytest.mark.xfail(strict=True, raises=s2sad.S2SADError, reason=reason)] if reason else []
        out.append(pytest.param(*((prim, s) if with_prim else (s,)), id=s.name, marks=marks))
    return out


ZERO_PAIRS = [(p, s) for p, ss in ZERO_SAMPLES.items() for s in ss]


@pytest.fixture(autouse=True)
def _internal_names(monkeypatch):
    """Internal primitives get a spelling for the duration of each test (see the docstring)."""
    for obj, prim in INTERNAL_NAMES.items():
        monkeypatch.setitem(P.NUMPY, obj, prim)


# --- helpers -----------------------------------------------------------------------------------

def _like(rng, x):
    return _value(rng.standard_normal(np.shape(x)))


def _axpy(h, t, x):
    return _value(np.asarray(x) + h * np.asarray(t))


def _copy(values):
    return [v.copy() if isinstance(v, np.ndarray) else v for v in values]


def _assert_unchanged(before, after, what):
    for k, (b, a) in enumerate(zip(before, after)):
        np.testing.assert_array_equal(a, b, err_msg=f"{what} {k} was modified by the derivative")


def _vdot(a, b):
    return float(np.vdot(np.ravel(a), np.ravel(b)))


@functools.lru_cache(maxsize=None)
def _jvp(fn, n):
    return s2sad.jvp(fn, wrt=tuple(range(n)), backend="python")


@functools.lru_cache(maxsize=None)
def _vjp(fn, n):
    return s2sad.vjp(fn, wrt=tuple(range(n)), backend="python")


def _run_jvp(sample, primals, tangents):
    n = len(primals)
    pa, ta = _copy(primals), _copy(tangents)
    value, jv = _jvp(sample.fn, n)(*pa, *ta)
    _assert_unchanged(primals, pa, "argument")
    _assert_unchanged(tangents, ta, "tangent")
    return value, jv


def _run_vjp(sample, primals, u):
    n = len(primals)
    pa, ua = _copy(primals), _copy([u])
    value, cts = _vjp(sample.fn, n)(*pa, *ua)
    _assert_unchanged(primals, pa, "argument")
    _assert_unchanged([u], ua, "cotangent")
    assert isinstance(cts, tuple) and len(cts) == n
    for k, (ct, x) in enumerate(zip(cts, primals)):
        assert np.shape(ct) == np.shape(x), f"cotangent {k} has shape {np.shape(ct)}, argument {np.shape(x)}"
    return value, cts


def _check_value(value, expected):
    assert np.shape(value) == np.shape(expected), f"value shape {np.shape(value)} != {np.shape(expected)}"
    np.testing.assert_allclose(value, expected, rtol=1e-13, atol=1e-15)


# --- the table is complete and honest -----------------------------------------------------------

def test_every_rule_has_samples():
    missing = [p.name for p, r in RULES.items() if not r.zero and not r.refused and not SAMPLES.get(p)]
    missing_zero = [p.name for p, r in RULES.items() if r.zero and not ZERO_SAMPLES.get(p)]
    assert not missing, f"rules without samples: {missing}"
    assert not missing_zero, f"zero-derivative rules without samples: {missing_zero}"


def test_tables_match_the_registry():
    for prim in SAMPLES:
        assert prim in RULES and not RULES[prim].zero and not RULES[prim].refused, prim
    for prim in ZERO_SAMPLES:
        assert prim in RULES and RULES[prim].zero, prim
    names = [s.name for _, s in _ALL]
    assert len(names) == len(set(names)), "sample names must be unique (they are the test ids)"
    assert {name for name, _ in XFAIL} <= set(names), "XFAIL names a sample that does not exist"


def test_zero_rules_contribute_nothing():
    for prim, rule in RULES.items():
        if rule.zero:
            assert rule.jvp([None, None], [None, None], None) is None
            assert rule.vjp(None, [None, None], None) == [None, None]


@pytest.mark.parametrize("prim, sample", _params(_ALL, with_prim=True))
def test_sample_uses_its_primitive(prim, sample):
    """The primitive survives lowering and simplification; a sample for a rule with a derivative
    uses it on an active value (so the transforms call the rule)."""
    primal = sample.draw()
    types, wrt = [type_of_value(v) for v in primal], list(range(len(primal)))
    ir = prepare(sample.fn, types)
    eqns = [s for s in walk(ir.body) if isinstance(s, Eqn) and s.prim is prim]
    if RULES[prim].zero:
        if not eqns:  # a primitive only the transforms emit
            eqns = [s for mode in ("forward", "reverse")
                    for s in walk(transform(prepare(sample.fn, types), wrt, mode).body)
                    if isinstance(s, Eqn) and s.prim is prim]
        assert eqns, f"{sample.name} does not use {prim.name}, nor do its derivatives"
    else:
        assert eqns, f"{sample.name} does not use {prim.name} after simplification"
        active = active_values(ir, wrt)
        assert any(out in active for e in eqns for out in e.outs), f"{prim.name} is not active in {sample.name}"


# --- the numerical checks ---------------------------------------------------------------------

@pytest.mark.parametrize("sample", _params(_ALL, "jvp"))
def test_jvp_matches_finite_differences(sample):
    primals = sample.draw()
    rng = np.random.default_rng(1)
    tangents = [_like(rng, x) for x in primals]
    expected = sample.fn(*primals)
    value, jv = _run_jvp(sample, primals, tangents)
    _check_value(value, expected)
    plus = sample.fn(*[_axpy(H, t, x) for x, t in zip(primals, tangents)])
    minus = sample.fn(*[_axpy(-H, t, x) for x, t in zip(primals, tangents)])
    fd = (np.asarray(plus) - np.asarray(minus)) / (2 * H)
    assert np.shape(jv) == np.shape(expected), f"jvp shape {np.shape(jv)} != value shape {np.shape(expected)}"
    np.testing.assert_allclose(jv, fd, rtol=1e-5, atol=1e-7)
    if sample.partial is None:  # a sample for a rule with a derivative must have one
        assert np.max(np.abs(fd)) > 1e-2


@pytest.mark.parametrize("sample", _params(_ALL, "vjp"))
def test_vjp_dot_product(sample):
    primals = sample.draw()
    rng = np.random.default_rng(2)
    tangents = [_like(rng, x) for x in primals]
    expected = sample.fn(*primals)
    u = _like(rng, expected)
    _, jv = _run_jvp(sample, primals, tangents)
    value, cts = _run_vjp(sample, primals, u)
    _check_value(value, expected)
    lhs = _vdot(u, jv)
    rhs = sum(_vdot(ct, t) for ct, t in zip(cts, tangents))
    scale = np.linalg.norm(np.ravel(u)) * np.linalg.norm(np.ravel(jv)) + 1.0
    np.testing.assert_allclose(rhs, lhs, rtol=1e-10, atol=1e-13 * scale)


@pytest.mark.parametrize("sample", _params(_ALL, "jacobian"))
def test_forward_and_reverse_jacobians_agree(sample):
    """The whole Jacobian, column by column from jvp and row by row from vjp."""
    primals = sample.draw()
    out_shape = np.shape(sample.fn(*primals))
    sizes = [int(np.size(x)) for x in primals]
    m, n = int(np.prod(out_shape)), sum(sizes)
    forward = np.zeros((m, n))
    col = 0
    for k, x in enumerate(primals):
        for i in range(sizes[k]):
            tangents = [np.zeros(np.shape(p)) for p in primals]
            tangents[k].flat[i] = 1.0
            _, jv = _run_jvp(sample, primals, [_value(t) for t in tangents])
            forward[:, col] = np.ravel(jv)
            col += 1
    reverse = np.zeros((m, n))
    for j in range(m):
        u = np.zeros(out_shape)
        u.flat[j] = 1.0
        _, cts = _run_vjp(sample, primals, _value(u))
        reverse[j] = np.concatenate([np.ravel(ct) for ct in cts])
    np.testing.assert_allclose(reverse, forward, rtol=1e-12, atol=1e-14)


def _assert_same_numbers(got, expected):
    for a, b in zip(got if isinstance(got, tuple) else (got,), expected if isinstance(expected, tuple) else (expected,),
                    strict=True):
        if isinstance(b, tuple):
            _assert_same_numbers(a, b)
        else:
            assert np.shape(a) == np.shape(b)
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# One sample per rule (the first): compiling all of them would double the suite's time, and the
# core suites run under Numba with many more combinations of shapes.
# The samples known not to compile are added, so their entry in XFAIL is checked too.
_ONE_PER_RULE = [(prim, samples[0]) for table in (SAMPLES, ZERO_SAMPLES) for prim, samples in table.items()]
_ONE_PER_RULE += [(prim, s) for prim, s in _ALL if (s.name, "numba") in XFAIL and (prim, s) not in _ONE_PER_RULE]
# NumPy functions lowered as other primitives (s2sad/frontend/composed.py) compile too.
_COMPOSED = ("p_moveaxis_several", "p_hstack", "p_vstack", "p_column_stack", "p_take_axis", "p_take_one", "p_diff_twice_axis0",
             "p_trapezoid_x_axis", "p_kron", "p_kron_vector_matrix", "p_meshgrid_ij", "p_meshgrid_written",
             "p_norm_3d", "p_norm_ord1_axis", "p_norm_ord3", "p_norm_ord_half_axis", "p_norm_matrix_inf",
             "p_norm_nuclear", "p_logsumexp_axes_keepdims",
             "p_softmax_axis", "p_log_softmax", "z_isclose", "z_allclose", "z_any_keepdims",
             "p_sort", "p_median_even", "p_quantile", "p_interp", "p_interp_number", "p_interp_matrix", "p_flip_axes", "p_angles", "p_exp2", "p_ptp",
             "p_nan_reductions", "p_average", "p_methods", "z_count_nonzero", "p_small_ufuncs", "p_sinc_heaviside",
             "p_cov", "p_corrcoef", "p_correlate_same", "p_running_min_rows", "p_histogram_range",
             "p_histogram_density", "p_sort_columns", "p_percentile_rows", "p_sort_middle_axis", "p_quantile_last_axis")
_ONE_PER_RULE += [(prim, s) for prim, s in _ALL if s.name in _COMPOSED]


@pytest.mark.numba
@pytest.mark.parametrize("sample", _params(_ONE_PER_RULE, "numba"))
def test_every_rule_compiles_under_numba(sample):
    """The JVP and the VJP compiled in nopython mode (backend="numba" raises where the `auto`
    backend would fall back) give the numbers the Python backend gives."""
    primals = sample.draw()
    rng = np.random.default_rng(4)
    tangents = [_like(rng, x) for x in primals]
    u = _like(rng, sample.fn(*primals))
    wrt = tuple(range(len(primals)))
    for transform_, python, extra in ((s2sad.jvp, _jvp, tangents), (s2sad.vjp, _vjp, [u])):
        compiled = transform_(sample.fn, wrt=wrt, backend="numba")(*_copy(primals), *_copy(extra))
        _assert_same_numbers(compiled, python(sample.fn, len(wrt))(*_copy(primals), *_copy(extra)))


@pytest.mark.parametrize("sample", _params(ZERO_PAIRS, "zero"))
def test_zero_derivative_rules_add_nothing(sample):
    """Each zero-derivative sample is elementwise in its one argument with a known derivative
    (``np.floor(x) * x`` -> floor(x), ``np.floor(x)`` -> 0): the primitive adds nothing to it."""
    (x,) = sample.draw()
    rng = np.random.default_rng(3)
    t, u = _like(rng, x), _like(rng, sample.fn(x))
    d = sample.partial(x)
    _, jv = _run_jvp(sample, [x], [t])
    np.testing.assert_allclose(jv, d * np.asarray(t), rtol=1e-14, atol=0)
    _, (ct,) = _run_vjp(sample, [x], u)
    np.testing.assert_allclose(ct, d * np.asarray(u), rtol=1e-14, atol=0)


def test_copy_of_a_scalar_is_the_scalar():
    """np.copy on a float needs no copy: the derivative of np.copy(x) * 2 is 2."""
    assert s2sad.grad(p_np_copy_scalar)(1.5) == 2.0
    assert s2sad.grad(p_np_copy_scalar, mode="forward")(1.5) == 2.0


def p_fmax_sum(a, b): return np.sum(np.fmax(a, b) * a)
def p_fmin_sum(a, b): return np.sum(np.fmin(a, b) * b)


def test_fmax_and_fmin_follow_the_operand_that_is_not_nan():
    """Where one operand is NaN, np.fmax/np.fmin return the other, and pass the derivative to it
    (the NaN operand gets none, though a NaN factor elsewhere still propagates)."""
    a = np.array([1.0, np.nan, 3.0, 2.0])
    b = np.array([np.nan, 5.0, 4.0, 1.0])
    ga, gb = s2sad.grad(p_fmax_sum, wrt=(0, 1))(a, b)  # sum(fmax(a, b) * a)
    np.testing.assert_array_equal(ga, [2.0, 5.0, 4.0, 4.0])
    np.testing.assert_array_equal(gb, [0.0, np.nan, 3.0, 0.0])
    ga, gb = s2sad.grad(p_fmin_sum, wrt=(0, 1))(a, b)  # sum(fmin(a, b) * b)
    np.testing.assert_array_equal(ga, [np.nan, 0.0, 4.0, 0.0])
    np.testing.assert_array_equal(gb, [1.0, 10.0, 3.0, 2.0])


def p_clip_sum(x, lo, hi): return np.sum(np.clip(x, lo, hi))


def test_clip_gives_the_bound_its_derivative_only_past_it():
    """At a bound, x keeps its derivative (np.clip is np.minimum(np.maximum(x, lo), hi), and the
    first operand wins ties); past it, the bound gets it."""
    x = np.array([0.0, 0.5, 1.0, 1.5, -0.5])
    gx, glo, ghi = s2sad.grad(p_clip_sum, wrt=(0, 1, 2))(x, 0.0, 1.0)
    np.testing.assert_array_equal(gx, [1.0, 1.0, 1.0, 0.0, 0.0])
    assert (glo, ghi) == (1.0, 1.0)
    gx, glo, ghi = s2sad.grad(p_clip_sum, wrt=(0, 1, 2), mode="forward")(x, 0.0, 1.0)
    np.testing.assert_array_equal(gx, [1.0, 1.0, 1.0, 0.0, 0.0])
    assert (glo, ghi) == (1.0, 1.0)


def p_max_sum(x): return np.sum(np.max(x, axis=1))


def test_max_shares_the_derivative_among_ties():
    """Tied maxima split the derivative equally (the mean of the one-sided derivatives)."""
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0], [5.0, 1.0, 1.0]])
    expected = np.array([[0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(s2sad.grad(p_max_sum)(x), expected)
    np.testing.assert_array_equal(s2sad.grad(p_max_sum, mode="forward")(x), expected)


# --- decompositions: closed forms ----------------------------------------------------------------

def _lower_adjoint(g):
    """What a derivative with respect to the symmetric matrix low(A) is with respect to A, whose
    strict upper triangle is never read."""
    return np.tril(g) + np.tril(g.T, -1)


def p_second_eigenvalue(a): return np.linalg.eigh(a)[0][1]
def p_largest_singular_value(a): return np.linalg.svd(a, compute_uv=False)[0]
def p_least_squares_projection(a, b, c): return c @ np.linalg.lstsq(a, b, rcond=None)[0]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_decomposition_derivatives_in_closed_form(mode):
    """dλ_i = v_iᵀ dA_s v_i; d log det A = tr(A⁻¹ dA_s) through the Cholesky factor;
    ds_1 = u_1ᵀ dA v_1; the least-squares solution x = A⁺ b, so d(c·x)/db = A⁺ᵀ c."""
    rng = np.random.default_rng(5)
    a = symmetric_positive(4)(rng)
    sym = np.tril(a) + np.tril(a, -1).T
    v = np.linalg.eigh(sym)[1][:, 1]
    np.testing.assert_allclose(s2sad.grad(p_second_eigenvalue, mode=mode)(a), _lower_adjoint(np.outer(v, v)),
                               rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(s2sad.grad(p_cholesky_logdet, mode=mode)(a), _lower_adjoint(np.linalg.inv(sym)),
                               rtol=1e-10, atol=1e-14)
    m = separated(5, 3)(rng)
    u, _, vt = np.linalg.svd(m, full_matrices=False)
    np.testing.assert_allclose(s2sad.grad(p_largest_singular_value, mode=mode)(m), np.outer(u[:, 0], vt[0]),
                               rtol=1e-10, atol=1e-14)
    b, c = rng.standard_normal(5), rng.standard_normal(3)
    np.testing.assert_allclose(s2sad.grad(p_least_squares_projection, wrt=1, mode=mode)(m, b, c),
                               np.linalg.pinv(m).T @ c, rtol=1e-10, atol=1e-14)


def test_eigh_and_cholesky_ignore_the_upper_triangle():
    """Noise above the diagonal changes neither the values nor the derivatives."""
    a = symmetric_positive(3, upper_noise=False)(np.random.default_rng(6))
    noisy = a + np.triu(np.full((3, 3), 5.0), 1)
    for fn in (p_second_eigenvalue, p_cholesky_logdet):
        g = s2sad.grad(fn)(noisy)
        np.testing.assert_allclose(g, s2sad.grad(fn)(np.tril(a)), rtol=1e-12)
        assert np.all(np.triu(g, 1) == 0.0)


# --- the functions of np and scipy.special at their edges, under both backends -------------------

def e_logsumexp(x): return sp.logsumexp(x, axis=-1)
def e_expit(x): return np.sum(sp.expit(x))
def e_logit(x): return np.sum(sp.logit(x))
def e_xlogy(x, y): return np.sum(sp.xlogy(x, y))
def e_norm(x): return np.linalg.norm(x)
def e_norm_rows(x): return np.sum(np.linalg.norm(x, axis=1))
def e_norm_ord1(x): return np.linalg.norm(x, 1)
def e_norm_inf(x): return np.linalg.norm(x, np.inf)
def e_norm_ord3(x): return np.linalg.norm(x, 3)
def e_cross(a, b): return np.sum(np.cross(a, b))


def _values_and_gradients(fn, args, wrt=0):
    """(value, reverse-mode gradient, forward-mode gradient)."""
    value, reverse = s2sad.value_and_grad(fn, wrt=wrt)(*args)
    return value, reverse, s2sad.grad(fn, wrt=wrt, mode="forward")(*args)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_logsumexp_of_large_values(each_backend, mode):
    """No overflow at 1000 (the maximum is taken out), -inf adds nothing, and the gradient is the
    softmax."""
    x = np.array([[1000.0, 1000.5, 999.0, -np.inf], [-1000.0, -1001.0, -999.5, -1000.0]])
    np.testing.assert_allclose(s2sad.value_and_grad(lambda v: np.sum(e_logsumexp(v)), mode=mode)(x)[1],
                               sp.softmax(x, axis=-1), rtol=1e-14, atol=0)
    value = s2sad.jvp(e_logsumexp)(x, np.ones_like(x))[0]
    np.testing.assert_allclose(value, sp.logsumexp(x, axis=-1), rtol=1e-15)


def test_expit_and_logit_at_large_magnitudes(each_backend):
    """expit keeps its relative precision where it is tiny and saturates without overflow; its
    derivative expit(x) expit(-x) stays exact there. logit reaches ±inf at 0 and 1."""
    x = np.array([-800.0, -40.0, -1.0, 0.0, 2.0, 40.0, 800.0])
    value, reverse, forward = _values_and_gradients(e_expit, [x])
    np.testing.assert_allclose(value, np.sum(sp.expit(x)), rtol=1e-15)
    for g in (reverse, forward):
        np.testing.assert_allclose(g, sp.expit(x) * sp.expit(-x), rtol=1e-14, atol=0)
    p = np.array([1e-300, 1e-10, 0.3, 0.5, 0.65, 1.0 - 1e-10])
    value, reverse, forward = _values_and_gradients(e_logit, [p])
    np.testing.assert_allclose(value, np.sum(sp.logit(p)), rtol=1e-14)
    for g in (reverse, forward):
        np.testing.assert_allclose(g, 1.0 / (p * (1.0 - p)), rtol=1e-9)
    edges = np.array([0.0, 1.0])
    np.testing.assert_array_equal(s2sad.jvp(lambda q: sp.logit(q))(edges, np.zeros(2))[0], [-np.inf, np.inf])


def test_xlogy_at_zero(each_backend):
    """xlogy(0, y) is 0, also at y = 0; there its partial in y is 0 and in x log y (-inf at y = 0)."""
    x, y = np.array([0.0, 0.0, 1.5]), np.array([0.0, 2.0, 3.0])
    for mode in ("reverse", "forward"):
        value, (gx, gy) = s2sad.value_and_grad(e_xlogy, wrt=(0, 1), mode=mode)(x, y)
        assert value == sp.xlogy(x, y).sum() == 1.5 * np.log(3.0)
        np.testing.assert_allclose(gx, [-np.inf, np.log(2.0), np.log(3.0)], rtol=1e-15)
        np.testing.assert_allclose(gy, [0.0, 0.0, 0.5], rtol=1e-15)


def test_norms_at_zero(each_backend):
    """The 2-norm (and any p-norm) has no derivative at 0: NaN there (on the zero rows only, along
    an axis); the 1- and inf-norms take np.abs's convention (0 at 0), a subgradient."""
    zero, rows = np.zeros(3), np.array([[0.0, 0.0], [3.0, 4.0]])
    for fn in (e_norm, e_norm_rows, e_norm_ord1, e_norm_inf, e_norm_ord3):
        assert _values_and_gradients(fn, [zero if fn is not e_norm_rows else rows])[0] in (0.0, 5.0)
    for fn in (e_norm, e_norm_ord3):
        for g in _values_and_gradients(fn, [zero])[1:]:
            assert np.all(np.isnan(g))
    for g in _values_and_gradients(e_norm_ord3, [np.array([0.0, 1.0, -2.0])])[1:]:  # (a zero element: 0)
        np.testing.assert_allclose(g, np.array([0.0, 1.0, -4.0]) / 9.0 ** (2 / 3), rtol=1e-14)
    for g in _values_and_gradients(e_norm_rows, [rows])[1:]:
        np.testing.assert_array_equal(g, [[np.nan, np.nan], [0.6, 0.8]])
    for fn in (e_norm_ord1, e_norm_inf):
        for g in _values_and_gradients(fn, [zero])[1:]:
            np.testing.assert_array_equal(g, np.zeros(3))


def test_cross_takes_3_vectors_only(each_backend):
    with pytest.raises(ValueError, match="cross product"):
        s2sad.grad(e_cross)(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="cross product"):
        s2sad.grad(e_cross, mode="forward")(np.ones((2, 2)), np.ones((2, 3)))


def test_second_derivative_of_digamma_is_refused():
    """gammaln has a Hessian (its derivatives are digamma and trigamma); digamma's would need
    the derivative of trigamma."""
    x = np.array([0.5, 2.0, 7.0])
    np.testing.assert_allclose(s2sad.hessian(lambda v: np.sum(sp.gammaln(v)))(x), np.diag(sp.polygamma(1, x)),
                               rtol=1e-14)
    with pytest.raises(s2sad.S2SADError, match="trigamma"):
        s2sad.hessian(lambda v: np.sum(sp.digamma(v)))(x)


def p_trapz(y, x): return np.trapz(y, x) if hasattr(np, "trapz") else None


@pytest.mark.skipif(not hasattr(np, "trapz"), reason="NumPy 2.4 removed np.trapz (np.trapezoid is tested)")
def test_trapz_is_trapezoid():
    rng = np.random.default_rng(7)
    y, x = rng.standard_normal(5), np.sort(rng.standard_normal(5))
    for mode in ("reverse", "forward"):
        value, grads = s2sad.value_and_grad(p_trapz, wrt=(0, 1), mode=mode)(y, x)
        expected = s2sad.value_and_grad(p_trapezoid_x_axis, wrt=(0, 1), mode=mode)(y, x)
        np.testing.assert_allclose(value, expected[0], rtol=1e-15)
        for g, e in zip(grads, expected[1]):
            np.testing.assert_allclose(g, e, rtol=1e-15)


def e_scipy_of_a_list(x):
    xs = []
    for i in range(3):
        xs.append(x * i)
    return scipy.special.logsumexp(xs)


def test_scipy_functions_take_lists_and_the_module_path():
    """``scipy.special.logsumexp(xs)`` of a list built in a loop, with SciPy imported as ``import scipy``."""
    x = np.array([0.5, -1.0])
    rows = np.stack([x * i for i in range(3)])
    value, grad = s2sad.value_and_grad(e_scipy_of_a_list)(x)
    assert value == sp.logsumexp(rows)
    np.testing.assert_allclose(grad, np.arange(3.0) @ sp.softmax(rows), rtol=1e-14)


def test_scipy_is_imported_only_when_used():
    """`import s2sad` does not import SciPy (which takes a while); its functions are found once
    the program has imported it."""
    import subprocess
    import sys
    code = "import sys, s2sad; assert 'scipy' not in sys.modules, sorted(m for m in sys.modules if 'scipy' in m)"
    subprocess.run([sys.executable, "-c", code], check=True)


def _nan_to_num_of_integers(x, k):
    m = np.nan_to_num(k)
    return np.sum(x * m) + np.sum(m // 2) * x[0], m


def test_nan_to_num_of_integers_is_a_copy_of_their_dtype(each_backend):
    x, k = np.array([0.5, 1.5, -1.0]), np.array([3, 5, 7])
    (value, m), _ = s2sad.vjp(_nan_to_num_of_integers)(x, k, (1.0, np.zeros(3)))
    expected_value, expected_m = _nan_to_num_of_integers(x, k)
    assert value == pytest.approx(expected_value, rel=1e-14)
    assert m.dtype == expected_m.dtype and (m == expected_m).all() and not np.shares_memory(m, k)


def _linear_algebra_of_integers(x, m, v):
    """Every np.linalg function given a matrix of integers (m) and a vector of them (v)."""
    w, vectors = np.linalg.eigh(m)
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    q, r = np.linalg.qr(m)
    total = np.sum(np.linalg.inv(m) @ x) + np.linalg.det(m) * x[0] + np.linalg.slogdet(m)[1] * x[1]
    total = total + np.sum(np.linalg.solve(m, v) * x) + np.sum(np.linalg.solve(m, x) ** 2)
    total = total + np.sum(np.linalg.cholesky(m) @ x) + np.sum(np.linalg.eigvalsh(m) * x) + np.sum(w * x)
    total = total + np.sum(vectors[:, 0] ** 2 * x) + np.sum(u[:, 0] * vt[0] * x) + np.sum(s * x)
    total = total + np.sum(np.linalg.svd(m, compute_uv=False) * x) + np.sum(r @ x) + np.sum(q[:, 0] * x)
    return total + np.sum(np.linalg.lstsq(m, v, rcond=None)[0] * x) + np.linalg.norm(m, 2) * x[0]


def test_linear_algebra_of_integer_matrices_computes_with_their_float_values(each_backend):
    """NumPy's np.linalg takes arrays of integers (as float64); compiled, they were refused by
    Numba's own (a fall back to Python)."""
    x, m, v = np.array([0.5, -1.5]), np.array([[3, 1], [1, 2]]), np.array([1, -2])
    value, grad = s2sad.value_and_grad(_linear_algebra_of_integers)(x, m, v)
    assert value == pytest.approx(_linear_algebra_of_integers(x, m, v), rel=1e-12)
    expected = s2sad.grad(_linear_algebra_of_integers, backend="python")(x, m.astype(float), v.astype(float))
    np.testing.assert_allclose(grad, expected, rtol=1e-12)


def _linear_algebra_fields(a):
    """The results' fields, as NumPy names them (SlogdetResult, EighResult, SVDResult, QRResult)."""
    logdet, pair = np.linalg.slogdet(a), np.linalg.eigh(a + a.T)
    thin, qr = np.linalg.svd(a, full_matrices=False), np.linalg.qr(a)
    total = logdet.sign * logdet.logabsdet + np.sum(pair.eigenvalues ** 2) + np.sum(pair.eigenvectors[:, 0] ** 2 * a[0])
    return total + np.sum(thin.U[:, 0] * thin.Vh[0] * a[1]) + np.sum(thin.S) + np.sum(qr.Q * a) + np.sum(qr.R ** 2)


def _linear_algebra_items(a):
    logdet, pair = np.linalg.slogdet(a), np.linalg.eigh(a + a.T)
    thin, qr = np.linalg.svd(a, full_matrices=False), np.linalg.qr(a)
    total = logdet[0] * logdet[1] + np.sum(pair[0] ** 2) + np.sum(pair[1][:, 0] ** 2 * a[0])
    return total + np.sum(thin[0][:, 0] * thin[2][0] * a[1]) + np.sum(thin[1]) + np.sum(qr[0] * a) + np.sum(qr[1] ** 2)


def test_linear_algebra_results_are_read_by_numpy_s_field_names(each_backend):
    """np.linalg.slogdet(A).logabsdet, .eigenvalues, .S, .Q, ... are the items NumPy names so (they
    were refused: 'a tuple, which has no field')."""
    a = np.array([[3.0, 0.4, -0.2], [0.1, -2.5, 0.3], [0.6, 0.2, 2.0]])
    value, grad = s2sad.value_and_grad(_linear_algebra_fields)(a)
    expected_value, expected_grad = s2sad.value_and_grad(_linear_algebra_items, backend="python")(a)
    assert value == pytest.approx(_linear_algebra_fields(a), rel=1e-12) and value == pytest.approx(expected_value)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("xp, fp", [
    ([1.0], [5.0]),                                      # one point: fp[0] everywhere, NaN x included
    ([0.0, 1.0, 1.0, 2.0], [0.0, 10.0, 20.0, 30.0]),     # a repeated point
    ([0.0, 1.0, 2.0, 3.0], [np.inf, np.inf, -np.inf, 2.0]),  # infinite values: NumPy's fallbacks
    ([-0.7, 0.1, 0.35, 2.0], [0.3, -1.1, 0.7, 0.1]),
], ids=["one_point", "repeated_point", "infinite_values", "plain"])
def test_interp_gives_numpy_s_values_exactly(xp, fp, each_backend):
    """NumPy's formula, slope * (x - xp[j]) + fp[j], and its special cases (they gave NaN of one
    point or infinite values, and values a rounding apart elsewhere)."""
    xp, fp = np.array(xp), np.array(fp)
    x = np.concatenate((np.linspace(-1.0, 3.5, 19), xp, [np.nan]))
    value, dot = s2sad.jvp(p_interp_matrix, wrt=2)(x, xp, fp, np.ones_like(fp))
    np.testing.assert_array_equal(value, np.interp(x, xp, fp))
    inside = ~np.isnan(value) & np.isfinite(value)
    np.testing.assert_array_equal(dot[inside], 1.0)  # (each value moves with all of fp)


def test_interp_checks_its_points_as_numpy_does(each_backend):
    with pytest.raises(ValueError, match="empty"):
        s2sad.jvp(p_interp_matrix)(np.array([0.5]), np.zeros(0), np.zeros(0), np.ones(1))
    with pytest.raises(ValueError, match="same length"):
        s2sad.jvp(p_interp_matrix)(np.array([0.5]), np.array([0.0, 1.0]), np.array([0.0, 1.0, 2.0]), np.ones(1))


def steps_of(x, at_zero):
    return np.heaviside(x, at_zero) * 2.0


def test_heaviside_of_nan_is_nan(each_backend):
    """NumPy's NaN (it was the value at 0)."""
    x = np.array([-1.0, 0.0, 2.0, np.nan])
    value, dot = s2sad.jvp(steps_of, wrt=1)(x, 0.5, 1.0)
    np.testing.assert_array_equal(value, [0.0, 1.0, 2.0, np.nan])
    np.testing.assert_array_equal(value, steps_of(x, 0.5))
    np.testing.assert_array_equal(dot, [0.0, 2.0, 0.0, 0.0])


def test_average_with_weights_summing_to_zero_raises_as_numpy_does(each_backend):
    """NumPy's ZeroDivisionError (s2sad divided by the zero sum: NaN or inf without an error)."""
    x = np.arange(6.0).reshape(2, 3)
    for w in (np.zeros((2, 3)), np.array([[1.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])):
        with pytest.raises(ZeroDivisionError):
            p_average(x, w)
        with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
            s2sad.vjp(p_average, wrt=(0, 1))(x, w, np.ones(3))
