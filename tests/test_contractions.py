"""np.einsum and np.tensordot, lowered into primitives, under both backends.

Each pattern is a function calling NumPy: run as Python it gives NumPy's value, the reference.
Its derivative is checked against central finite differences, forward (a JVP in a random
direction) and reverse (each cotangent of a VJP is the gradient of <u, f>). The NumPy functions
Numba lacks with an axis (np.cumprod, np.var and np.std over several axes) are checked here too,
compiled, with their derivatives.
"""

import numpy as np
import pytest

import s2sad
from numeric import fd


def e_matmul(a, b): return np.einsum('ij,jk->ik', a, b)
def e_matmul_implicit(a, b): return np.einsum('ij,jk', a, b)
def e_times_transpose(a, b): return np.einsum('ij,kj->ik', a, b)
def e_transpose_times(a, b): return np.einsum('ji,jk->ik', a, b)
def e_matmul_transposed_out(a, b): return np.einsum('ij,jk->ki', a, b)
def e_matvec(a, b): return np.einsum('ij,j->i', a, b)
def e_vecmat(a, b): return np.einsum('i,ij->j', a, b)
def e_dot(a, b): return np.einsum('i,i->', a, b)
def e_dot_implicit(a, b): return np.einsum('i,i', a, b)
def e_frobenius(a, b): return np.einsum('ij,ij->', a, b)
def e_hadamard(a, b): return np.einsum('ij,ij->ij', a, b)
def e_outer(a, b): return np.einsum('i,j->ij', a, b)
def e_batched_matmul(a, b): return np.einsum('bij,bjk->bik', a, b)
def e_batched_dot(a, b): return np.einsum('bi,bi->b', a, b)
def e_summed_apart(a, b): return np.einsum('ij,jk->', a, b)
def e_two_summed(a, b): return np.einsum('ijk,jkl->il', a, b)
def e_two_summed_reordered(a, b): return np.einsum('ijk,jkl->li', a, b)
def e_two_kept(a, b): return np.einsum('ijk,kl->ijl', a, b)
def e_kept_interleaved(a, b): return np.einsum('ij,jkl->kil', a, b)
def e_diagonal_times(a, b): return np.einsum('ii,i->i', a, b)
def e_number_times(s, b): return np.einsum(',i->i', s, b)
def e_upper_case(a, b): return np.einsum('Ba,aC', a, b)
def e_spaces(a, b): return np.einsum('i j, j k -> i k', a, b)
def e_trace(a): return np.einsum('ii->', a)
def e_trace_implicit(a): return np.einsum('ii', a)
def e_diagonal(a): return np.einsum('ii->i', a)
def e_transpose(a): return np.einsum('ij->ji', a)
def e_transpose_implicit(a): return np.einsum('ji', a)
def e_column_sums(a): return np.einsum('ij->j', a)
def e_total(a): return np.einsum('ijk->', a)
def e_identity(a): return np.einsum('ij', a) * 2.0
def e_reorder_3d(a): return np.einsum('ijk->kij', a)


SUBSCRIPTS = 'ij,jk->ik'


def e_named_subscripts(a, b): return np.einsum(SUBSCRIPTS, a, b)
def t_default(a, b): return np.tensordot(a, b)
def t_one(a, b): return np.tensordot(a, b, axes=1)
def t_outer(a, b): return np.tensordot(a, b, axes=0)
def t_pairs(a, b): return np.tensordot(a, b, axes=((1, 0), (0, 1)))
def t_lists(a, b): return np.tensordot(a, b, axes=([2], [0]))
def t_ints(a, b): return np.tensordot(a, b, (0, 1))
def t_negative(a, b): return np.tensordot(a, b, axes=([-1, 0], [0, -1]))
def m_batched(a, b): return a @ b  # (stacks of matrix products: their batch axes broadcast from the right)
def m_batched_function(a, b): return np.matmul(a, b)
def o_ravelled(a, b): return np.outer(a, b)  # (NumPy ravels a matrix, and makes a number a vector)


PATTERNS = [
    (e_matmul, (3, 4), (4, 2)),
    (e_matmul_implicit, (3, 4), (4, 2)),
    (e_times_transpose, (3, 4), (2, 4)),
    (e_transpose_times, (4, 3), (4, 2)),
    (e_matmul_transposed_out, (3, 4), (4, 2)),
    (e_matvec, (3, 4), (4,)),
    (e_vecmat, (3,), (3, 4)),
    (e_dot, (5,), (5,)),
    (e_dot_implicit, (5,), (5,)),
    (e_frobenius, (3, 4), (3, 4)),
    (e_hadamard, (3, 4), (3, 4)),
    (e_outer, (3,), (4,)),
    (e_batched_matmul, (2, 3, 4), (2, 4, 3)),
    (e_batched_dot, (3, 4), (3, 4)),
    (e_summed_apart, (2, 3), (3, 4)),
    (e_two_summed, (2, 3, 4), (3, 4, 2)),
    (e_two_summed_reordered, (2, 3, 4), (3, 4, 2)),
    (e_two_kept, (2, 3, 4), (4, 3)),
    (e_kept_interleaved, (2, 3), (3, 4, 2)),
    (e_diagonal_times, (3, 3), (3,)),
    (e_number_times, (), (4,)),
    (e_upper_case, (2, 3), (3, 4)),
    (e_spaces, (2, 3), (3, 2)),
    (e_named_subscripts, (2, 3), (3, 4)),
    (e_trace, (4, 4)),
    (e_trace_implicit, (3, 3)),
    (e_diagonal, (3, 3)),
    (e_transpose, (2, 3)),
    (e_transpose_implicit, (2, 3)),
    (e_column_sums, (3, 4)),
    (e_total, (2, 3, 2)),
    (e_identity, (2, 3)),
    (e_reorder_3d, (2, 3, 4)),
    (t_default, (2, 3, 4), (3, 4, 2)),
    (t_one, (3, 4), (4, 2)),
    (t_outer, (2, 3), (4,)),
    (t_pairs, (3, 2, 4), (2, 3)),
    (t_lists, (2, 3, 4), (4, 2)),
    (t_ints, (3, 2), (4, 3)),
    (t_negative, (3, 2, 4), (4, 3)),
    (m_batched, (2, 3, 4), (2, 4, 3)),
    (m_batched, (2, 3, 4), (4, 2)),
    (m_batched, (2, 3, 4), (4,)),
    (m_batched, (3,), (2, 3, 4)),
    (m_batched, (3, 2), (2, 2, 4)),
    (m_batched_function, (2, 1, 3, 4), (3, 4, 2)),
    (o_ravelled, (2, 3), (4,)),
    (o_ravelled, (), (2, 2)),
]


def _draw(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [float(rng.standard_normal()) if shape == () else rng.standard_normal(shape) for shape in shapes]


def _like(rng, x):
    """Random numbers shaped like `x` (a float for a number)."""
    return float(rng.standard_normal()) if np.ndim(x) == 0 else rng.standard_normal(np.shape(x))


def check_derivatives(fn, primals):
    """Value, JVP and every VJP cotangent of `fn` against NumPy and finite differences."""
    n = len(primals)
    expected = fn(*primals)
    rng = np.random.default_rng(1)
    tangents = [_like(rng, x) for x in primals]
    value, jv = s2sad.jvp(fn, wrt=tuple(range(n)))(*primals, *tangents)
    assert np.shape(value) == np.shape(expected)
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-14)
    h = 1e-6
    shifted = [[x + s * h * t for x, t in zip(primals, tangents)] for s in (1, -1)]
    np.testing.assert_allclose(jv, (fn(*shifted[0]) - fn(*shifted[1])) / (2 * h), rtol=1e-6, atol=1e-8)
    u = _like(rng, expected)
    value, cotangents = s2sad.vjp(fn, wrt=tuple(range(n)))(*primals, u)
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-14)
    for k, ct in enumerate(cotangents):
        assert np.shape(ct) == np.shape(primals[k])
        np.testing.assert_allclose(ct, fd(lambda *xs: np.sum(u * fn(*xs)), primals, k), rtol=1e-6, atol=1e-8,
                                   err_msg=f"cotangent {k}")


@pytest.mark.parametrize("fn, shapes", [(p[0], p[1:]) for p in PATTERNS], ids=[p[0].__name__ for p in PATTERNS])
def test_contraction_matches_numpy_and_finite_differences(fn, shapes, each_backend):
    check_derivatives(fn, _draw(shapes))


def test_each_pattern_is_lowered_without_einsum_or_tensordot():
    """What the generated code calls is what Numba compiles: no np.einsum, no np.tensordot."""
    for fn, *shapes in PATTERNS:
        source = s2sad.derivative_source(fn, args=_draw(shapes))
        assert "einsum" not in source and "tensordot" not in source, fn.__name__


def test_matrix_patterns_become_one_matrix_product():
    source = s2sad.derivative_source(e_times_transpose, args=_draw([(3, 4), (2, 4)]), mode="forward",
                                     wrt=(0, 1))
    assert source.count("@") == 3 and "np.sum" not in source  # the value and the two terms of the tangent


# --- the NumPy functions Numba lacks with an axis, compiled with their derivatives -------------------

def n_cumprod_axis(x): return np.cumprod(x, axis=1) * x
def n_cumprod_flat(x): return np.cumprod(x)
def n_var_axes(x): return np.var(x, axis=(0, 2)) + np.std(x, axis=(-1, 1), ddof=1)[:, None]
def n_std_keepdims(x): return x / np.std(x, axis=(0, 1), keepdims=True)


def _with_zeros(shape, *positions):
    x = np.random.default_rng(2).uniform(0.5, 1.5, shape)
    for p in positions:
        x[p] = 0.0
    return x


@pytest.mark.parametrize("fn, x", [
    (n_cumprod_axis, _with_zeros((3, 5), (0, 1), (1, 0), (1, 3))),
    (n_cumprod_flat, _with_zeros((2, 3), (0, 2), (1, 1))),
    (n_var_axes, np.random.default_rng(3).standard_normal((3, 4, 2))),
    (n_std_keepdims, np.random.default_rng(4).standard_normal((2, 3, 4))),
], ids=["cumprod_axis", "cumprod_flat", "var_std_axes", "std_keepdims"])
def test_functions_numba_lacks_with_an_axis(fn, x, each_backend):
    check_derivatives(fn, [x])


def test_a_stack_of_products_of_matrices_that_do_not_fit_raises_as_numpy_does(each_backend):
    a, b = _draw([(2, 3, 4), (2, 3, 4)])
    with pytest.raises(ValueError):
        m_batched(a, b)
    with pytest.raises(ValueError):
        s2sad.vjp(m_batched, wrt=(0, 1))(a, b, np.ones((2, 3, 4)))


@pytest.mark.parametrize("fn, operands", [(e_trace, [np.ones((2, 3))]), (e_diagonal, [np.ones((3, 2))]),
                                          (e_diagonal_times, [np.ones((2, 3)), np.ones(2)])],
                         ids=["trace", "diagonal", "diagonal_times"])
def test_the_diagonal_of_a_matrix_that_is_not_square_raises_as_numpy_does(fn, operands, each_backend):
    """NumPy's 'ii' requires a square matrix (ValueError); it was the leading block's diagonal."""
    with pytest.raises(ValueError):
        fn(*operands)
    with pytest.raises(ValueError, match="not square"):
        s2sad.jvp(fn, wrt=0)(*operands, np.ones_like(operands[0]))
    with pytest.raises(ValueError, match="not square"):
        s2sad.vjp(fn, wrt=0)(*operands, np.ones(()) if fn is e_trace else np.ones(2))
