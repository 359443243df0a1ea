"""Integer indices past an array raise NumPy's IndexError in compiled code too, where Numba would
read past the array (passes/bounds.py); indices a loop provably keeps in range are not checked."""

import numpy as np
import pytest

import s2sad
import run_time_funcs as rf
from numeric import fd


@pytest.mark.parametrize("k", [3, -4, 100])
def test_an_index_past_the_array_raises(each_backend, k):
    with pytest.raises(IndexError):
        s2sad.grad(rf.picked)(np.linspace(0.1, 0.3, 3), k)


def test_a_store_past_the_array_raises_at_its_line(each_backend):
    with pytest.raises(IndexError, match=r"run_time_funcs.py:\d+: IndexError") as info:
        s2sad.grad(rf.stored)(np.ones(3), 3)
    assert info.value.source_line.endswith("# store")
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(s2sad.grad(rf.stored)(x, -1), fd(rf.stored, [x, -1], 0), rtol=1e-6)


def test_a_loop_past_the_array_raises_before_reading_it(each_backend):
    x = np.linspace(0.1, 0.5, 5)
    np.testing.assert_allclose(s2sad.grad(rf.lagged)(x, 5), fd(rf.lagged, [x, 5], 0), rtol=1e-6)
    with pytest.raises(IndexError) as info:
        s2sad.grad(rf.lagged)(x, 6)
    assert info.value.source_line.endswith("# lagged")


@pytest.mark.parametrize("fn, args", [(rf.triangle, (np.arange(9.0).reshape(3, 3) / 9, 3)),
                                      (rf.guarded, (np.array([0.5, -1.0, 2.0]), 3))], ids=["empty-inner-loop",
                                                                                            "guarded"])
def test_indices_numpy_never_uses_are_not_checked(each_backend, fn, args):
    """Row 3 of a 3×3 matrix is named only where the inner loop does not run, or the branch is
    not taken: NumPy reads nothing past the array, and neither do the checks."""
    np.testing.assert_allclose(s2sad.grad(fn)(*args), fd(fn, list(args), 0), rtol=1e-6)


def test_indices_loops_keep_in_range_are_not_checked():
    """``pos[i]`` for i in range(pos.shape[0]), ``pos[j]`` for j in range(i + 1, n) and
    ``pos[i ± 1]`` for i in range(1, n - 1): no check in the compiled form; none at all in
    the Python form (NumPy checks)."""
    pos = np.random.default_rng(0).normal(size=(4, 3))
    assert "checked" not in s2sad.derivative_source(rf.pairs, args=(pos,), backend="numba")
    assert "checked" not in s2sad.derivative_source(rf.picked, args=(pos[0], 1), backend="python")
    assert "checked_index(k, " in s2sad.derivative_source(rf.picked, args=(pos[0], 1), backend="numba")


@pytest.mark.parametrize("checkpoint", [None, s2sad.Periodic(every=2), s2sad.Binomial(snapshots=2)],
                         ids=["store-all", "periodic", "binomial"])
def test_a_checked_store_in_a_loop_whose_values_are_dropped(each_backend, checkpoint):
    """Fuzzer seed 1000166 (small programs): dead-code elimination dropped the array a kept check
    reads (an internal error); a check keeps what it reads."""
    u = np.full(4, 0.3)
    g = s2sad.grad(rf.written_in_a_while, checkpoint=checkpoint)(u.copy(), -2.0)
    np.testing.assert_allclose(g, fd(rf.written_in_a_while, [u.copy(), -2.0], 0), rtol=1e-6)
