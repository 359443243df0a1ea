"""The Numba implementations of the runtime helpers agree with the Python ones."""

import inspect

import numba
import numpy as np
import pytest

import s2sad.backend.numba_runtime  # noqa: F401  (registers the implementations)
from s2sad import runtime as rt


@numba.njit
def _unbroadcast(g, x):
    return rt.unbroadcast(g, x.shape)


@numba.njit
def _expand_axis0(g, x):
    return rt.expand_to(g, x.shape, axis=0)


@numba.njit
def _expand_axes02(g, x):
    return rt.expand_to(g, x.shape, axis=(0, 2))


@numba.njit
def _expand_all(g, x):
    return rt.expand_to(g, x.shape)


@numba.njit
def _broadcast_like(t, x):
    return rt.broadcast_like(t, x)


@numba.njit
def _tapes(n):
    rows, scalars = np.empty((0, 0)), np.empty(0)
    for k in range(n):
        rows = rt.record(rows, k, n, np.arange(3.0) * k)
        scalars = rt.record_grow(scalars, k, k * 1.5)
    return rows, scalars


@pytest.mark.parametrize("shape, target", [((4, 3), t) for t in [(4, 3), (1, 3), (3,), (4, 1), (1, 1), ()]] + [
    ((2, 3, 4), (3, 1)), ((2, 3, 4), (2, 1, 4)), ((2, 3, 4), (1, 3, 1)), ((2, 3, 4), (4,)), ((2, 3, 4, 5), (3, 1, 5)),
    ((5,), (1,)), ((0, 4), (4,)), ((3, 0), (1, 0))])
def test_unbroadcast(shape, target):
    g = np.random.default_rng(0).normal(size=shape)
    for layout in (g, np.asfortranarray(g)):
        np.testing.assert_allclose(_unbroadcast(layout, np.zeros(target)), rt.unbroadcast(g, target), rtol=1e-14)


@numba.njit
def _copy_into(region, value):
    rt.copy_into(region, value)


@pytest.mark.parametrize("shape, small", [((3, 4), (4,)), ((3, 4), (3, 1)), ((3, 4), ()), ((2, 3, 4), (3, 1)),
                                          ((2, 3, 4), (2, 3, 4)), ((2, 3, 4), ()), ((5,), (1,)), ((0, 4), (4,))])
def test_stores_into_regions_of_every_layout_broadcast_as_numpy(shape, small):
    r = np.random.default_rng(4)
    value = r.normal(size=small)
    expected = np.empty(shape)
    expected[...] = value
    regions = [np.zeros(shape), np.zeros(shape[::-1]).T, np.zeros((2 * shape[0],) + shape[1:])[::2]]
    for region in regions:
        _copy_into(region, value)
        np.testing.assert_array_equal(region, expected)
        _copy_into(region, 1.5)
        np.testing.assert_array_equal(region, np.full(shape, 1.5))
    with pytest.raises(ValueError):
        _copy_into(np.zeros(shape), np.ones(7))


def test_expand_to():
    g = np.arange(3.0)
    np.testing.assert_array_equal(_expand_axis0(g, np.zeros((4, 3))), rt.expand_to(g, (4, 3), axis=0))
    np.testing.assert_array_equal(_expand_axes02(g, np.zeros((2, 3, 4))), rt.expand_to(g, (2, 3, 4), axis=(0, 2)))
    np.testing.assert_array_equal(_expand_all(2.5, np.zeros((2, 2))), np.full((2, 2), 2.5))


def test_broadcast_like():
    np.testing.assert_array_equal(_broadcast_like(np.ones(3), np.zeros((2, 3))), np.ones((2, 3)))
    same = np.ones((2, 3))
    assert _broadcast_like(same, np.zeros((2, 3))) is same


def test_record_and_record_grow():
    rows, scalars = _tapes(20)
    np.testing.assert_array_equal(rows, np.arange(20.0)[:, None] * np.arange(3.0))
    np.testing.assert_array_equal(scalars[:20], np.arange(20) * 1.5)
    assert scalars.shape[0] >= 20


@numba.njit
def _stores(x, v, s):
    """copy_into, add_into and sub_into on a column (strided), a block and rows, with arrays
    that broadcast and with numbers."""
    rt.copy_into(x[:, 1], v[:, 0])
    rt.add_into(x[1:3], v[0])
    rt.sub_into(x[2], s)
    rt.add_into(x[0:2, 0:2], v[0:1, 0:2])
    return x


def _stores_numpy(x, v, s):
    x[:, 1] = v[:, 0]
    x[1:3] += v[0]
    x[2] -= s
    x[0:2, 0:2] += v[0:1, 0:2]
    return x


def test_region_stores_match_numpy():
    r = np.random.default_rng(3)
    x, v = r.normal(size=(4, 3)), r.normal(size=(4, 3))
    np.testing.assert_array_equal(_stores(x.copy(), v, 0.5), _stores_numpy(x.copy(), v, 0.5))


@numba.njit
def _shapes(a, b):
    return rt.broadcast_shapes(a.shape, b.shape)


@pytest.mark.parametrize("a, b", [((3, 1), (1, 4)), ((4,), (4,)), ((1,), (5,)), ((2, 3), (3,))])
def test_broadcast_shapes(a, b):
    assert _shapes(np.zeros(a), np.zeros(b)) == np.broadcast_shapes(a, b)


def test_broadcast_shapes_refuses_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match="broadcast"):
        _shapes(np.zeros(3), np.zeros(4))


@numba.njit
def _joined(a, b):
    return rt.joined_shape(a.shape, b.shape)


@pytest.mark.parametrize("a, b, joined", [((3, 1), (1, 4), (3, 4)), ((4,), (4,), (4,)), ((1,), (5,), (5,)),
                                          ((2, 3), (3,), (2, 3)), ((3,), (2, 1), (2, 3)), ((3,), (4,), (3,)),
                                          ((2,), (3, 4), (3, 4)), ((2, 5), (4, 5), (2, 5))])
def test_joined_shape(a, b, joined):
    """The broadcast shape, as broadcast_shapes', or the longer shape when there is none (the
    shape before a loop whose operation raises, if it runs), never an error."""
    assert rt.joined_shape(a, b) == joined
    assert _joined(np.zeros(a), np.zeros(b)) == joined


@numba.njit
def _keeps(x, like, runs):
    return rt.keeps_shape(x, like.shape, runs)


def test_keeps_shape():
    x = np.arange(3.0)
    for keeps in (rt.keeps_shape, lambda x, shape, runs: _keeps(x, np.zeros(shape), runs)):
        assert keeps(x, (3,), True) is x or np.array_equal(keeps(x, (3,), True), x)
        assert np.array_equal(keeps(x, (4,), False), x)  # (a loop that runs no step: nothing to check)
        with pytest.raises(ValueError, match="changes shape"):
            keeps(x, (4,), True)


def _branch_tapes(n, taken):
    """The tapes of a loop whose branch computes its vector only in the first `taken` steps (the
    other steps give a placeholder), and an outer tape of two inner tapes of placeholders only."""
    rows, grown, outer = np.empty((0, 0)), np.empty((0, 0)), np.empty((0, 0, 0))
    for k in range(n):
        value = np.arange(3.0) * k if k < taken else np.empty(0)
        rows = rt.record(rows, k, n, value)
        grown = rt.record_grow(grown, k, value)
    for k in range(2):
        inner = np.empty((0, 0))
        for j in range(3):
            inner = rt.record(inner, j, 3, np.empty(0))
        outer = rt.record(outer, k, 2, inner)
    return rows, grown, outer


@pytest.mark.parametrize("taken", [0, 2, 20])
def test_placeholders_make_their_rows(taken):
    """Each step has its row, which the reverse sweep reads (using it only where the branch was
    taken); a placeholder is not stored."""
    for tapes in (_branch_tapes, numba.njit(_branch_tapes)):
        rows, grown, outer = tapes(20, taken)
        assert rows.shape[0] == 20 and grown.shape[0] >= 20 and outer.shape[:2] == (2, 3)
        if taken:
            np.testing.assert_array_equal(rows[:taken], np.arange(float(taken))[:, None] * np.arange(3.0))
            np.testing.assert_array_equal(grown[:taken], rows[:taken])


@numba.njit
def _ragged(n):
    rows = np.empty((0, 0))
    for k in range(n):
        rows = rt.record(rows, k, n, np.arange(3.0 + k))
    return rows


def test_record_refuses_a_value_whose_shape_changes():
    with pytest.raises(ValueError, match="changes shape"):
        _ragged(3)


def _emptying(n, exact):
    """Rows of 3, then empty entries (a selection that empties, or a branch's placeholder)."""
    rows = np.empty((0, 0))
    grown = np.empty((0, 0))
    for k in range(n):
        value = np.arange(3.0) if k == 0 else np.empty(0)
        rows = rt.record(rows, k, n, value, exact)
        grown = rt.record_grow(grown, k, value, exact)
    return rows, grown


@pytest.mark.parametrize("compiled", [False, True], ids=["python", "numba"])
def test_an_exact_record_refuses_an_empty_entry_after_longer_ones(compiled):
    """Only a value that may be a branch's placeholder (not `exact`) may be empty where the tape's
    rows are not."""
    tapes = numba.njit(_emptying) if compiled else _emptying
    rows, grown = tapes(3, False)
    assert rows.shape == (3, 3) and grown.shape[1:] == (3,)
    with pytest.raises(ValueError, match="changes shape"):
        tapes(3, True)


@pytest.mark.parametrize("compiled", [False, True], ids=["python", "numba"])
def test_tape_row_gives_zeros_past_the_rows_stored(compiled):
    def rows(tape, k, g):
        return rt.tape_row(tape, k), rt.untape_row(g, k, tape)
    rows = numba.njit(rows) if compiled else rows
    tape = np.arange(6.0).reshape(3, 2)
    row, back = rows(tape, 1, np.array([5.0, 7.0]))
    np.testing.assert_array_equal(row, [2.0, 3.0])
    np.testing.assert_array_equal(back, [[0.0, 0.0], [5.0, 7.0], [0.0, 0.0]])
    row, back = rows(tape, 3, np.array([5.0, 7.0]))
    np.testing.assert_array_equal(row, [0.0, 0.0])
    np.testing.assert_array_equal(back, np.zeros((3, 2)))


@numba.njit
def _extremes(x, k):
    return np.max(x, axis=1), np.min(x, axis=0), np.amax(x, axis=-1), np.amin(x, axis=k), np.max(x)


def test_max_and_min_over_an_axis_match_numpy_including_nan():
    """Numba lacks np.max/np.min with axis; s2sad registers them (NaN propagates, as in NumPy)."""
    x = np.random.default_rng(4).normal(size=(3, 4, 2))
    x[0, 1, 1] = np.nan
    expected = (np.max(x, axis=1), np.min(x, axis=0), np.amax(x, axis=-1), np.amin(x, axis=2), np.max(x))
    for got, want in zip(_extremes(x, 2), expected):
        np.testing.assert_array_equal(got, want)


@numba.njit
def _max_of_vector(v):
    return np.max(v, axis=0)


@numba.njit
def _min_of_vector(v):
    return np.min(v, axis=0), np.prod(v, axis=-1)


def test_reductions_of_a_vector_over_its_axis_are_told_apart():
    """Max, min and prod of a vector over axis 0, compiled in one process (their implementations
    once shared a cache entry, and min returned the maximum)."""
    v = np.array([2.0, 1.0, 3.0])
    assert _max_of_vector(v) == 3.0
    assert _min_of_vector(v) == (1.0, 6.0)


@numba.njit
def _full_of(value):
    return np.full((2, 3), value)


def test_full_with_an_array_fill_value():
    """s2sad adds np.full with a float array fill value (Numba's own takes a number only)."""
    np.testing.assert_array_equal(_full_of(np.arange(3.0)), np.full((2, 3), np.arange(3.0)))
    np.testing.assert_array_equal(_full_of(2.5), np.full((2, 3), 2.5))
    with pytest.raises(ValueError, match="broadcast"):
        _full_of(np.arange(4.0))


@numba.njit
def _spreads(x):
    return np.prod(x, axis=1), np.var(x, axis=0), np.var(x, ddof=1), np.std(x, axis=2, ddof=1), np.std(x)


def test_prod_var_and_std_over_an_axis_match_numpy():
    x = np.random.default_rng(5).normal(size=(3, 4, 2))
    expected = (np.prod(x, axis=1), np.var(x, axis=0), np.var(x, ddof=1), np.std(x, axis=2, ddof=1), np.std(x))
    for got, want in zip(_spreads(x), expected):
        np.testing.assert_allclose(got, want, rtol=1e-13)


@numba.njit
def _spreads_over_axes(x):
    return np.var(x, axis=(0, 2)), np.std(x, axis=(1, -1), ddof=1), np.var(x, axis=(2,)), np.std(x, axis=(0, 1, 2))


def test_var_and_std_over_a_tuple_of_axes_match_numpy():
    x = np.random.default_rng(7).normal(size=(3, 4, 2))
    expected = (np.var(x, axis=(0, 2)), np.std(x, axis=(1, -1), ddof=1), np.var(x, axis=(2,)), np.std(x, axis=(0, 1, 2)))
    for got, want in zip(_spreads_over_axes(x), expected, strict=True):
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-13)


@numba.njit
def _cumprods(x):
    return np.cumprod(x, axis=0), np.cumprod(x, axis=1), np.cumprod(x, axis=-1), np.cumprod(x[0, 0], axis=0)


def test_cumprod_along_an_axis_matches_numpy_in_every_layout():
    x = np.random.default_rng(8).normal(size=(3, 4, 5))
    x[1, 2, 0] = 0.0
    for layout in _layouts(x):
        expected = (np.cumprod(x, axis=0), np.cumprod(x, axis=1), np.cumprod(x, axis=-1), np.cumprod(x[0, 0]))
        for got, want in zip(_cumprods(layout), expected, strict=True):
            np.testing.assert_array_equal(got, want)


@numba.njit
def _shaped(x):
    return np.squeeze(x, axis=1), np.flip(x, axis=2), np.flip(x, axis=-3)


def test_squeeze_and_flip_along_an_axis_match_numpy():
    x = np.random.default_rng(6).normal(size=(3, 1, 4))
    for a in _layouts(x):  # (a slice of an adjoint is squeezed: the adjoint of np.vstack)
        for got, want in zip(_shaped(a), (np.squeeze(x, axis=1), np.flip(x, axis=2), np.flip(x, axis=-3))):
            np.testing.assert_array_equal(got, want)


@numba.njit
def _matmul(a, b):
    return a @ b


def _layouts(a):
    """`a` as a C-contiguous, a Fortran-ordered and a strided (non-contiguous) array."""
    wide = np.repeat(a, 2, axis=-1)
    return [a, np.asfortranarray(a), wide[..., ::2]]


@pytest.mark.filterwarnings("ignore::numba.NumbaPerformanceWarning")  # (strided operands, on purpose)
@pytest.mark.parametrize("shapes", [((3, 4), (4,)), ((4,), (4, 3)), ((3, 4), (4, 2)), ((4,), (4,))])
def test_matrix_products_match_numpy_in_every_layout(shapes):
    """`a @ b` of float arrays goes through a cached helper (Numba's np.dot) in every layout."""
    rng = np.random.default_rng(5)
    a, b = (rng.normal(size=s) for s in shapes)
    for x in _layouts(a):
        for y in _layouts(b):
            np.testing.assert_allclose(_matmul(x, y), a @ b, rtol=1e-13)
    with pytest.raises(ValueError):
        _matmul(a, np.ones(7))



# --- rearrangements Numba lacks: one gather, and its adjoint ---------------------------------------

@numba.njit
def _tile(x):
    return np.tile(x, (2, 3)), np.tile(x, (1, 0))


@numba.njit
def _repeat(x, n):
    return np.repeat(x, n, axis=1), np.repeat(x, n, axis=-2), np.repeat(x, n)


@numba.njit
def _roll(x, shift):
    return np.roll(x, shift, axis=0), np.roll(x, shift, axis=-1), np.roll(x, shift)


@numba.njit
def _pad(x, c):
    return np.pad(x, ((1, 0), (2, 3)), constant_values=c), np.pad(x, ((0, 0), (0, 0)))


@numba.njit
def _adjoints(g_tiled, g_repeated, shape, n):
    return rt.untile(g_tiled, shape), rt.unrepeat(g_repeated, shape, n, axis=1), \
        rt.unrepeat(g_repeated.ravel(), shape, n)


@pytest.mark.filterwarnings("ignore::numba.NumbaPerformanceWarning")
def test_tile_repeat_roll_and_pad_match_numpy_in_every_layout():
    x = np.random.default_rng(7).normal(size=(3, 4))
    for a in _layouts(x):
        for got, want in zip(_tile(a), (np.tile(x, (2, 3)), np.tile(x, (1, 0)))):
            np.testing.assert_array_equal(got, want)
        for n in (0, 1, 3):
            want = (np.repeat(x, n, axis=1), np.repeat(x, n, axis=-2), np.repeat(x, n))
            for got, expected in zip(_repeat(a, n), want):
                np.testing.assert_array_equal(got, expected)
        for shift in (-5, -1, 0, 2, 13):
            for got, want in zip(_roll(a, shift), (np.roll(x, shift, 0), np.roll(x, shift, -1), np.roll(x, shift))):
                np.testing.assert_array_equal(got, want)
        padded, unpadded = _pad(a, 0.5)
        np.testing.assert_array_equal(padded, np.pad(x, ((1, 0), (2, 3)), constant_values=0.5))
        np.testing.assert_array_equal(unpadded, x)


def test_untile_and_unrepeat_match_the_python_helpers():
    rng = np.random.default_rng(8)
    for n in (0, 2):
        g_tiled, g_repeated = rng.normal(size=(6, 4 * n)), rng.normal(size=(3, 4 * n))
        got = _adjoints(g_tiled, g_repeated, (3, 4), n)
        want = (rt.untile(g_tiled, (3, 4)), rt.unrepeat(g_repeated, (3, 4), n, axis=1),
                rt.unrepeat(g_repeated.ravel(), (3, 4), n))
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-14)
    np.testing.assert_allclose(rt.untile(np.tile(np.eye(2), (2, 3)), (2, 2)), 6 * np.eye(2))
    np.testing.assert_allclose(rt.unrepeat(np.repeat(np.eye(2), 3, axis=0), (2, 2), 3, axis=0), 3 * np.eye(2))


def test_generated_code_may_import_every_runtime_helper():
    """codegen imports (and reserves the names of) the helpers in `runtime.__all__`: every public
    function of the runtime is in it."""
    public = {name for name, obj in vars(rt).items() if inspect.isfunction(obj) and not name.startswith("_")}
    assert public == set(rt.__all__)


@numba.njit
def _masked_product(t, d):
    return rt.masked_product(t, d)


INF, NAN = np.inf, np.nan


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")  # 0 * inf, masked
@pytest.mark.parametrize("t, d, expected", [
    (0.0, INF, 0.0), (0.0, NAN, 0.0), (2.0, INF, INF), (-1.0, NAN, NAN), (2.0, 3.0, 6.0),
    (np.array([0.0, 1.0, 0.0, 2.0]), np.array([INF, INF, NAN, 0.5]), [0.0, INF, 0.0, 1.0]),
    (0.0, np.array([INF, 1.0]), [0.0, 0.0]), (np.array([0.0, 3.0]), NAN, [0.0, NAN]),
    (np.array([[0.0], [1.0]]), np.array([NAN, 2.0]), [[0.0, 0.0], [NAN, 2.0]]),
    (np.array([1.0, 2.0]), np.array([3.0, 4.0]), [3.0, 8.0]),
])
def test_masked_product_is_zero_where_its_first_operand_is(t, d, expected):
    """t * d, but 0 where t is 0, whatever d is (and NaN or inf where t is not 0): in Python and
    compiled by Numba."""
    for masked_product in (rt.masked_product, _masked_product):
        np.testing.assert_array_equal(masked_product(t, d), expected)


# --- scipy.special's functions and np.all / np.any along an axis -----------------------------------

_GRID = np.concatenate([np.linspace(-20.25, -0.05, 81), np.linspace(0.01, 60.0, 241),
                        [1e-300, 1e-8, 0.5, 1.4616321449683622, 1e3, 1e6, 1e10, 1e300]])


def test_trigamma_matches_scipy_polygamma():
    """ψ₁ (digamma's derivative), which SciPy does not give Numba: to 1e-12, relative, with the
    poles (inf) and, below 0, the reflection formula."""
    import scipy.special as sp
    trigamma = s2sad.backend.numba_runtime.ufunc(rt.trigamma)
    np.testing.assert_allclose(trigamma(_GRID), sp.polygamma(1, _GRID), rtol=1e-12, atol=0)
    np.testing.assert_array_equal(trigamma(np.array([0.0, -1.0, -7.0])), [np.inf] * 3)


def test_digamma_matches_scipy():
    """ψ to 1e-12, relative, away from its zero at 1.46… (where the absolute error is 1e-15), and
    SciPy's values at the poles."""
    import scipy.special as sp
    digamma = s2sad.backend.numba_runtime.ufunc(rt.digamma)
    np.testing.assert_allclose(digamma(_GRID), sp.digamma(_GRID), rtol=1e-12, atol=1e-14)
    poles = np.array([0.0, -0.0, -1.0, -4.0])
    np.testing.assert_array_equal(digamma(poles), sp.digamma(poles))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # (log of 0 and of negative numbers)
def test_special_ufuncs_match_scipy():
    """The ufuncs Numba compiles for erf, erfc, gammaln, expit, logit and xlogy give SciPy's
    values, at their edges too (expit of ±800, logit of 0 and 1, xlogy at x = 0; erfc's
    subnormal values, which SciPy flushes to 0, aside)."""
    import scipy.special as sp
    special = {helper: s2sad.backend.numba_runtime.ufunc(helper) for helper in s2sad.backend.numba_runtime.UFUNCS}
    x = np.concatenate([_GRID, -_GRID, [0.0, np.inf, -np.inf, np.nan, -800.0, 800.0, -40.0]])
    for helper in (rt.erf, rt.erfc, rt.gammaln, rt.expit):
        np.testing.assert_allclose(special[helper](x), getattr(sp, helper.__name__)(x), rtol=1e-13, atol=1e-300)
    p = np.array([0.0, 1e-300, 1e-10, 0.2, 0.3, 0.45, 0.5, 0.6, 0.65, 0.9, 1.0 - 1e-12, 1.0, 1.5, -0.5, np.nan])
    np.testing.assert_allclose(special[rt.logit](p), sp.logit(p), rtol=1e-14, atol=0)
    a = np.array([0.0, 0.0, 0.0, 0.0, 2.0, 2.0, -1.5, np.nan])
    b = np.array([0.0, 3.0, -1.0, np.nan, 0.0, 0.5, 4.0, 1.0])
    np.testing.assert_allclose(special[rt.xlogy](a, b), sp.xlogy(a, b), rtol=1e-15, atol=0)


@numba.njit
def _all_along(a, axis):
    return np.all(a, axis=axis)


@numba.njit
def _any_along(a, axis):
    return np.any(a, axis=axis)


def test_all_and_any_along_an_axis_match_numpy():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (3, 4, 5)) > -0.6
    for a in (x, x[:, ::2, :], np.asfortranarray(x), rng.uniform(-1, 1, (4, 3)).round()):
        for axis in range(-a.ndim, a.ndim):
            np.testing.assert_array_equal(_all_along(a, axis), np.all(a, axis=axis))
            np.testing.assert_array_equal(_any_along(a, axis), np.any(a, axis=axis))
    v = np.array([0.0, 2.0])
    assert _all_along(v, 0) == np.all(v, axis=0) and _any_along(v, 0) == np.any(v, axis=0)


def _sparse_vectors(n, stored):
    """Entries of growing length stored at the steps in `stored` only (a branch that ran there),
    read back at every step, past the last one stored too (the sizes read, and the sums)."""
    tape = np.empty(0)
    for k in range(n):
        if stored[k]:
            tape = rt.record_ragged(tape, k, n if n < 8 else 0, np.arange(1.0 + k))
    return [(rt.ragged_row(tape, k).size, np.sum(rt.ragged_row(tape, k))) for k in range(n + 2)]


def _sparse_matrices(n, stored):
    tape = np.empty(0)
    for k in range(n):
        if stored[k]:
            tape = rt.record_ragged(tape, k, n if n < 8 else 0, np.arange(1.0 + k).reshape((1, k + 1)))
    return [(rt.ragged_matrix(tape, k).size, np.sum(rt.ragged_matrix(tape, k))) for k in range(n + 2)]


@pytest.mark.parametrize("compiled", [False, True], ids=["python", "numba"])
@pytest.mark.parametrize("n", [6, 40], ids=["for", "while"])  # (a while loop's tape grows its index past 16)
@pytest.mark.parametrize("read", [_sparse_vectors, _sparse_matrices], ids=["vectors", "matrices"])
def test_a_ragged_tape_stored_at_some_steps_reads_empty_entries_elsewhere(compiled, n, read):
    stored = np.array([k % 3 != 1 and k != 2 for k in range(n)])
    entries = (numba.njit(read) if compiled else read)(n, stored)
    for k, (size, total) in enumerate(entries):
        expected = k + 1 if k < n and stored[k] else 0
        assert (size, total) == (expected, expected * (expected - 1) / 2), k


@numba.njit(error_model="numpy")
def _exp_and_tanh(x):
    return np.exp(x), np.tanh(x), np.exp(x[0]), np.tanh(x[0])


def test_exp_and_tanh_of_arrays_are_within_one_unit_of_numpy_and_keep_its_special_values():
    """Generated code compiled by Numba sees NumPy as `numpy_for_numba` makes it: np.exp and
    np.tanh of float arrays by vectorised formulas, of numbers by the C library."""
    from s2sad.backend import numba_runtime

    r = np.random.default_rng(9)
    x = np.concatenate([r.normal(size=5000) * 3, r.uniform(-745.0, 709.0, 5000), r.normal(size=500) * 1e-8,
                        [0.0, -0.0, np.inf, -np.inf, np.nan, 709.78, 709.8, -745.1, -745.2, -708.5, 0.625, -0.625,
                         22.0, -22.1, 1e-310, -1e-310]])
    f = _exp_and_tanh.py_func
    numba_runtime._bind_numpy_for_numba(f)
    assert f.__globals__["np"] is numba_runtime.numpy_for_numba()
    try:
        compiled = numba.njit(error_model="numpy")(f)
        with np.errstate(all="ignore"):
            for got, expected in zip(compiled(x)[:2], (np.exp(x), np.tanh(x))):
                finite = np.isfinite(expected) & (expected != 0.0)
                ulps = np.abs(got[finite] - expected[finite]) / np.spacing(np.abs(expected[finite]))
                assert ulps.max() <= 1.0
                np.testing.assert_array_equal(got[~finite], expected[~finite])
                numbers = ~np.isnan(expected)
                assert np.array_equal(np.signbit(got[numbers]), np.signbit(expected[numbers]))
            matrix = x[:5000].reshape(50, 100)
            np.testing.assert_allclose(compiled(matrix[:, ::3].T)[0], np.exp(matrix[:, ::3].T), rtol=3e-16)
    finally:
        f.__globals__["np"] = np
