"""Slices taken before elementwise operations (passes/slices.py) and copies nobody needs dropped
(passes/copies.py): the derivatives agree with finite differences on both backends, the
generated code shows the rewrite where the shape facts allow it, and not elsewhere."""

import numpy as np
import pytest

import s2sad
import slice_funcs as sf
from numeric import check_grad

R = np.random.default_rng(5)

CASES = {
    "an RK stage": (sf.rk_stage, (R.normal(size=7), 0.3)),
    "a broadcast operand": (sf.broadcast_then_slice, (R.normal(size=6), R.normal(size=1))),
    "operands of one shape": (sf.broadcast_then_slice, (R.normal(size=6), R.normal(size=6))),
    "the sum read whole too": (sf.sliced_and_used, (R.normal(size=6),)),
    "a bound computed after": (sf.bound_after, (R.normal(size=6), 4)),
    "a copy then a store": (sf.copy_then_store, (R.normal(size=5),)),
}


def _source(fn, types: dict) -> str:
    return s2sad.derivative_source(fn, "reverse", (0,), types=types, backend="python")


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients(name, each_backend):
    fn, args = CASES[name]
    wrt = tuple(k for k, a in enumerate(args) if not isinstance(a, int))
    check_grad(fn, args, "reverse", wrt, rtol=1e-6, atol=1e-8)


def test_a_slice_of_a_sum_is_a_sum_of_slices():
    """No array of zeros for the slice's adjoint: each operand's adjoint takes its slice."""
    source = _source(sf.rk_stage, {"x": "f64[:]", "h": "f64"})
    assert "h * k[:-1]" in source and "y + h * k" not in source
    assert "np.zeros(t" not in source  # (y_bar and k_bar start from zeros of x's shape, as without slices)


@pytest.mark.parametrize("fn, types, kept", [
    (sf.broadcast_then_slice, {"x": "f64[:]", "c": "f64[:]"}, "t[:-1]"),
    (sf.sliced_and_used, {"x": "f64[:]"}, "t1 = t[1:]"),
    (sf.bound_after, {"x": "f64[:]", "n": "i64"}, "t[:m]"),
])
def test_slices_stay_where_they_must(fn, types, kept):
    assert kept in _source(fn, types)


def test_a_copy_guarding_nothing_goes():
    """The adjoint of ``lap[1:-1] = …`` reads ``lap_bar[1:-1]``; lap is an array of zeros, whose
    adjoint nobody needs, so no store clears it and the read needs no copy."""
    import fuse_funcs as ff
    source = _source(ff.stencil, {"u0": "f64[:]", "alpha": "f64", "steps": "i64"})
    assert ".copy()" not in source.split("# reverse sweep")[1]


def test_a_copy_stays_where_it_is_stored_into_or_returned():
    assert "a.copy()" in _source(sf.copy_then_store, {"x": "f64[:]"})



def test_a_returned_copy_shares_no_memory_with_the_argument(each_backend):
    x = R.normal(size=3)
    y, pullback = s2sad.vjp(sf.copy_returned)(x, np.ones(3))
    y[0] = 99.0
    assert x[0] != 99.0 and np.array_equal(pullback, np.ones(3))
