"""Second derivatives by forward over reverse (`s2sad.hvp`, `s2sad.hessian`) and Jacobians
(`s2sad.jacobian`), against closed forms and finite differences of gradients."""

import functools
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

import custom_funcs
import funcs
import higher_funcs as F
import loop_funcs
import s2sad
from s2sad import primitives as P
from s2sad.ir.builder import Builder, Sym
from s2sad.ir.core import Eqn, Var, walk
from s2sad.ir.types import F64, parse_type
from s2sad.pipeline import prepare, transform
from s2sad.rules import rule_for

H = 1e-5


def fd_hessian(f, args, k=0, h=H):
    """∂(∇_k f)/∂args[k] by central differences of the compiled gradient, shaped
    ``arg.shape + arg.shape`` (column j: the change of the gradient along e_j)."""
    g = s2sad.grad(f, wrt=k, backend="python")
    x = np.asarray(args[k], dtype=float)
    out = np.zeros(x.shape + x.shape)
    for index in np.ndindex(x.shape):
        step = np.zeros(x.shape)
        step[index] = h
        plus, minus = list(args), list(args)
        plus[k], minus[k] = x + step, x - step
        out[(Ellipsis,) + index] = (np.asarray(g(*plus)) - np.asarray(g(*minus))) / (2 * h)
    return out


@functools.lru_cache(maxsize=None)
def hessian_of(f, wrt=0, backend="python"):
    return s2sad.hessian(f, wrt=wrt, backend=backend)


def positions():
    """Four atoms in 3-D near a tetrahedron, about one length unit apart (r ≈ 2^(1/6))."""
    rng = np.random.default_rng(3)
    corners = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])
    return corners * 0.4 + 0.03 * rng.standard_normal((4, 3))


# --- closed forms ---------------------------------------------------------------------------------

def test_fan_out_hessian_in_closed_form():
    x, y = 0.3, -0.7
    v = np.cos(x) + x * y
    vx, vy = y - np.sin(x), x
    w, dv = np.exp(v) + 2.0, np.exp(v) + 2.0 * v
    expected = {("x", "x"): w * vx * vx - dv * np.cos(x), ("x", "y"): w * vx * vy + dv, ("y", "y"): w * vy * vy}
    h = s2sad.hvp(F.fan_out, wrt=("x", "y"), backend="python")
    hx, hy = h(x, y, 1.0, 0.0)
    assert hx == pytest.approx(expected["x", "x"]) and hy == pytest.approx(expected["x", "y"])
    hx, hy = h(x, y, 0.0, 1.0)
    assert hx == pytest.approx(expected["x", "y"]) and hy == pytest.approx(expected["y", "y"])
    assert hessian_of(F.fan_out)(x, y) == pytest.approx(expected["x", "x"])
    assert isinstance(hessian_of(F.fan_out)(x, y), float)


def test_logsumexp_hessian_is_diag_p_minus_ppT():
    x = np.array([0.1, 0.5, -0.3, 1.2])
    p = np.exp(x) / np.sum(np.exp(x))
    np.testing.assert_allclose(hessian_of(F.logsumexp)(x), np.diag(p) - np.outer(p, p), atol=1e-14)
    v = np.array([1.0, -2.0, 0.5, 0.0])
    np.testing.assert_allclose(s2sad.hvp(F.logsumexp, backend="python")(x, v), p * v - p * (p @ v), atol=1e-14)


def test_laplacian_of_a_tanh_network():
    """The PINN term u_xx of u(x) = Σ w2 tanh(w1 x + b1): Σ w2 w1² (−2 t (1 − t²))."""
    rng = np.random.default_rng(0)
    w1, b1, w2 = rng.standard_normal(8), rng.standard_normal(8), rng.standard_normal(8)
    for x in (-0.5, 0.2, 1.3):
        t = np.tanh(w1 * x + b1)
        expected = np.sum(w2 * w1 * w1 * (-2.0 * t * (1.0 - t * t)))
        assert hessian_of(F.network)(x, w1, b1, w2) == pytest.approx(expected, rel=1e-12)


def test_value_and_gradient_come_with_the_product():
    x, v = np.array([0.1, 0.5, -0.3]), np.array([1.0, 2.0, 3.0])
    value, (grad,), (hv,) = s2sad.hvp(F.logsumexp, backend="python").value_grad_hvp([x], [v])
    p = np.exp(x) / np.sum(np.exp(x))
    assert value == pytest.approx(np.log(np.sum(np.exp(x))))
    np.testing.assert_allclose(grad, p, atol=1e-15)
    np.testing.assert_allclose(hv, p * v - p * (p @ v), atol=1e-14)


# --- against finite differences of the gradient ------------------------------------------------------

CASES = {  # name: (function, arguments, wrt)
    "lennard_jones": (F.lennard_jones, (positions(),), 0),
    "branch_and_while": (F.branch_and_while, (np.array([0.3, 0.5, -0.4]),), 0),
    "stores": (F.stores, (np.array([0.3, -0.5, 0.8, 0.1, -0.2]),), 0),
    "rollout": (F.rollout, (np.array([0.5, -0.3, 0.9]), 7), 0),
    "eigen_energy": (F.eigen_energy, (np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.2]]),
                                      np.array([[1.0, 0.5, 0.0], [0.2, -1.0, 0.3], [0.0, 0.4, 2.0]])), 0),
    "weighted_w": (F.weighted, (np.array([0.3, -1.0]), np.array([2.0, 0.5])), 1),
    "diagonal_copy": (funcs.diagonal_copy_updated, (np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.5]]) / 3,), 0),
    "diagonal_matrix": (funcs.diagonal_matrix_energy, (np.array([0.3, -0.8, 1.1]),), 0),
    "branch_in_inner_loop": (loop_funcs.branch_in_inner_loop, (np.array([0.2, 0.7, 0.9, 0.4]), 0.5, 0.5), 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hessian_matches_finite_differences_of_the_gradient(name):
    f, args, wrt = CASES[name]
    got = hessian_of(f, wrt)(*args)
    np.testing.assert_allclose(got, fd_hessian(f, args, wrt), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["lennard_jones", "stores", "rollout", "branch_and_while"])
def test_hessians_are_symmetric(name):
    f, args, wrt = CASES[name]
    got = hessian_of(f, wrt)(*args)
    flat = got.reshape(np.size(args[wrt]), -1)
    np.testing.assert_allclose(flat, flat.T, rtol=1e-12, atol=1e-10)


def test_hvp_is_the_gradient_s_change_along_v():
    """H·v against a central difference of the gradient along v (not built from hvp itself)."""
    pos = positions()
    v = np.random.default_rng(1).standard_normal(pos.shape)
    got = s2sad.hvp(F.lennard_jones, backend="python")(pos, v)
    g = s2sad.grad(F.lennard_jones, backend="python")
    expected = (g(pos + H * v) - g(pos - H * v)) / (2 * H)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_block_products_over_several_parameters():
    """With wrt=(x, w): (H_xx v_x + H_xw v_w, H_wx v_x + H_ww v_w)."""
    x, w = np.array([0.3, -1.0]), np.array([2.0, 0.5])
    vx, vw = np.array([1.0, 0.5]), np.array([-0.3, 2.0])
    hx, hw = s2sad.hvp(F.weighted, wrt=("x", "w"), backend="python")(x, w, vx, vw)
    # f = Σ w sin(x) x: H_xx = diag(w (2 cos x − x sin x)), H_xw = diag(sin x + x cos x), H_ww = 0
    mixed = np.sin(x) + x * np.cos(x)
    np.testing.assert_allclose(hx, w * (2 * np.cos(x) - x * np.sin(x)) * vx + mixed * vw, atol=1e-15)
    np.testing.assert_allclose(hw, mixed * vx, atol=1e-15)


def test_checkpointed_hvp_equals_the_stored_one():
    p, n = np.array([0.5, -0.3, 0.9]), 7
    v = np.array([1.0, -1.0, 0.5])
    stored = s2sad.hvp(F.rollout, backend="python")(p, n, v)
    for policy in (s2sad.Binomial(2), s2sad.Periodic(3)):
        got = s2sad.hvp(F.rollout, backend="python", checkpoint=policy)(p, n, v)
        np.testing.assert_allclose(got, stored, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(stored, fd_hessian(F.rollout, (p, n)) @ v, rtol=1e-6)


def test_custom_rules_keep_their_derivatives_under_hvp():
    """round(x) passes derivatives through as the identity (its custom rule), so
    Σ round(x)·x has gradient round(x) + x and Hessian 2·I, not I."""
    x, v = np.array([0.3, 1.7, -2.2]), np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(s2sad.hvp(custom_funcs.quantised, backend="python")(x, v), 2.0 * v)


def test_reverse_sweeps_hold_only_primitives_with_rules():
    """The IR is closed under both transforms: every operation of a reverse sweep that takes and
    gives floats has a derivative rule (one without would silently count as constant)."""
    signatures = {F.lennard_jones: ["f64[:,:]"], F.branch_and_while: ["f64[:]"], F.stores: ["f64[:]"],
                  F.rollout: ["f64[:]", "i64"], F.eigen_energy: ["f64[:,:]", "f64[:,:]"],
                  F.network: ["f64", "f64[:]", "f64[:]", "f64[:]"], F.logsumexp: ["f64[:]"]}
    for f, types in signatures.items():
        for policy in (None, s2sad.Binomial(2)) if f in (F.lennard_jones, F.stores, F.rollout) else (None,):
            ir = transform(prepare(f, [parse_type(t) for t in types]), [0], "reverse", policy)
            for eqn in walk(ir.body):
                if isinstance(eqn, Eqn) and rule_for(eqn.prim) is None:
                    floats_in = any(a.type.differentiable for a in eqn.ins)
                    floats_out = any(o.type.differentiable for o in eqn.outs)
                    assert not (floats_in and floats_out), f"{eqn.prim.name} in {f.__name__} has no rule"


def test_derivative_objects_pickle():
    x = np.array([0.1, 0.5, -0.3])
    for made in (s2sad.hessian(F.logsumexp, backend="python"), s2sad.jacobian(F.vector_valued, mode="reverse")):
        again = pickle.loads(pickle.dumps(made))
        assert type(again) is type(made) and again.mode == made.mode
        np.testing.assert_allclose(again(x), made(x))


# --- jacobian -----------------------------------------------------------------------------------

JACOBIANS = {
    "vector_valued": (F.vector_valued, np.array([0.3, -0.5, 0.8])),
    "matrix_to_vector": (F.matrix_to_vector, np.array([[0.3, -0.5, 0.8], [0.1, 0.2, -0.4]])),
    "scalar_to_vector": (F.scalar_to_vector, 0.7),
    "scalar_valued": (F.logsumexp, np.array([0.1, 0.5, -0.3])),
}


def fd_jacobian(f, x, h=1e-6):
    x = np.asarray(x, dtype=float)
    out = np.zeros(np.shape(f(x)) + x.shape)
    for index in np.ndindex(x.shape):
        step = np.zeros(x.shape)
        step[index] = h
        out[(Ellipsis,) + index] = (np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * h)
    return out


@pytest.mark.parametrize("name", sorted(JACOBIANS))
def test_jacobian_forward_equals_reverse_equals_finite_differences(name):
    f, x = JACOBIANS[name]
    forward = s2sad.jacobian(f, backend="python")(x)
    reverse = s2sad.jacobian(f, mode="reverse", backend="python")(x)
    expected = fd_jacobian(f, x)
    assert np.shape(forward) == np.shape(reverse) == np.shape(f(x)) + np.shape(x)
    np.testing.assert_allclose(forward, reverse, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(forward, expected.reshape(np.shape(forward)), rtol=1e-6, atol=1e-8)


def test_jacobian_of_scalar_to_scalar_is_a_float():
    for mode in ("forward", "reverse"):
        got = s2sad.jacobian(F.fan_out, wrt="y", mode=mode, backend="python")(0.3, -0.7)
        assert isinstance(got, float) and got == pytest.approx(s2sad.grad(F.fan_out, wrt="y")(0.3, -0.7))


@pytest.mark.parametrize("sparsity", [None, "auto"])
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_of_a_function_with_a_keyword_only_parameter(mode, sparsity):
    x = np.array([0.3, -0.7, 1.1])
    J = s2sad.jacobian(F.scaled_squares, mode=mode, sparsity=sparsity, backend="python")
    for given, scale in (({"scale": 3.0}, 3.0), ({}, 2.0)):
        got = J(x, **given)
        np.testing.assert_allclose(got.toarray() if sparsity else got, np.diag(2.0 * scale * x), rtol=1e-15)


# --- errors ------------------------------------------------------------------------------------------

def _raises(fragment, call, *args, **kwargs):
    with pytest.raises(s2sad.S2SADError, match=fragment) as info:
        call(*args, **kwargs)
    return info.value


def test_hvp_and_hessian_refuse_non_scalar_outputs():
    err = _raises("hvp and hessian need a function returning one float", s2sad.hvp(F.vector_valued, backend="python"),
                  np.ones(3), np.ones(3))
    assert err.filename.endswith("higher_funcs.py") and err.lineno
    _raises("need a function returning one float.*s2sad.jacobian",
            s2sad.hessian(F.vector_valued, backend="python"), np.ones(3))
    _raises("returns a tuple", s2sad.hessian(F.two_results, backend="python"), np.ones(3))


def test_bad_directions_are_refused():
    h = s2sad.hvp(F.logsumexp, backend="python")
    _raises(r"direction for argument 0 \(x\) has shape \(2,\), but the argument has shape \(3,\)", h,
            np.ones(3), np.ones(2))
    _raises("takes 1 arguments and 1 direction", h, np.ones(3))


def test_bad_options_are_refused():
    _raises("mode='sideways': use 'forward' or 'reverse'", s2sad.jacobian, F.vector_valued, 0, mode="sideways")
    _raises("hessian takes one parameter", s2sad.hessian, F.fan_out, ("x", "y"))
    _raises("wrt='z' is not a parameter", s2sad.hvp, F.fan_out, "z")
    _raises("jacobian needs a function returning float numbers or float arrays",
            s2sad.jacobian(F.count_positive, backend="python"), np.ones(3))


def test_parameters_that_are_not_floats_are_refused():
    _raises("cannot differentiate with respect to 'on': it is a bool",
            s2sad.hessian(F.flagged, wrt="on", backend="python"), np.ones(3), True)
    err = _raises(".", s2sad.hessian(F.counted, wrt="n", backend="python"), 0.5, 3)
    assert err.filename and err.filename.endswith("higher_funcs.py")


def test_reverse_over_untile_is_refused():
    """Reversing `untile` (the adjoint of np.tile) is not supported: a located error, no wrong
    number."""
    b = Builder()
    g, x = Var("g", F64.with_ndim(1)), Var("x", F64.with_ndim(1))
    shape = b.emit(P.shape, [x])
    out = Sym(b.emit(P.untile, [g, shape], "x_bar"), b)
    with pytest.raises(s2sad.S2SADError, match="untile .* has no reverse-mode rule"):
        rule_for(P.untile).vjp(out, [Sym(g, b), Sym(shape, b)], out)


# --- Numba: one compiled function per case, shared by the checks -----------------------------------

@pytest.mark.numba
def test_numba_backend_gives_the_python_numbers():
    pos = positions()
    v = np.random.default_rng(2).standard_normal(pos.shape)
    compiled = s2sad.hvp(F.lennard_jones, backend="numba")
    np.testing.assert_allclose(compiled(pos, v), s2sad.hvp(F.lennard_jones, backend="python")(pos, v), rtol=1e-12)
    h = s2sad.hessian(F.lennard_jones, backend="numba")(pos)
    np.testing.assert_allclose(h, hessian_of(F.lennard_jones)(pos), rtol=1e-12, atol=1e-9)
    p, n = np.array([0.5, -0.3, 0.9]), 7
    checkpointed = s2sad.hvp(F.rollout, backend="numba", checkpoint=s2sad.Binomial(2))(p, n, p)
    np.testing.assert_allclose(checkpointed, s2sad.hvp(F.rollout, backend="python")(p, n, p), rtol=1e-13)
    x = CASES["branch_and_while"][1][0]
    np.testing.assert_allclose(s2sad.hessian(F.branch_and_while, backend="numba")(x),
                               hessian_of(F.branch_and_while)(x), rtol=1e-12)


def test_bench_script_reports_the_ratio():
    """bench/hvp.py runs (small sizes, Python backend, one workload) and prints its ratio."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    out = subprocess.run([sys.executable, os.path.join(root, "bench", "hvp.py"), "--quick", "--backend", "python",
                          "--rounds", "1", "--only", "linear"], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    (ratio,) = re.findall(r"\| linear regression \S+ \| [\d.]+ \| [\d.]+ \| ([\d.]+) \|", out.stdout)
    assert 0.5 < float(ratio) < 20, out.stdout  # (a timing on a shared machine: only its range)
    (asymmetry,) = re.findall(r"largest asymmetry (\S+)", out.stdout)
    assert float(asymmetry) < 1e-7, out.stdout


def block_pattern(n: int, width: int):
    import scipy.sparse
    rows = np.repeat(np.arange(2 * n), width)
    cols = ((np.arange(2 * n) // 2)[:, None] * width + np.arange(width)).ravel()
    return scipy.sparse.csr_matrix((np.ones(rows.size, dtype=bool), (rows, cols)), shape=(2 * n, width * n))


SPARSE_ARGS = (np.random.default_rng(3).normal(size=(6, 3)), np.random.default_rng(4).normal(size=(6, 2)))


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("wrt, width", [(0, 3), (1, 2)])
def test_a_sparse_jacobian_equals_the_dense_one(each_backend, mode, wrt, width):
    import scipy.sparse
    J = s2sad.jacobian(F.pair_residuals, wrt=wrt, mode=mode, sparsity=block_pattern(6, width))
    sparse = J(*SPARSE_ARGS)
    dense = s2sad.jacobian(F.pair_residuals, wrt=wrt)(*SPARSE_ARGS).reshape(12, -1)
    assert scipy.sparse.isspmatrix_csr(sparse) and sparse.shape == dense.shape
    np.testing.assert_allclose(sparse.toarray(), dense, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(J(*SPARSE_ARGS).toarray(), sparse.toarray())  # (the plan, made once, again)


def test_a_sparse_jacobian_groups_the_columns_that_share_no_row():
    """Block-diagonal blocks of width w: w groups of columns in forward mode; the two rows of a
    block share columns, so two groups of rows in reverse mode."""
    from s2sad.higher_order import colour_groups
    pattern = block_pattern(6, 3)
    columns = colour_groups(pattern.T.tocsr())
    assert len(columns) == 3 and sorted(sum(columns, [])) == list(range(18))
    for group in columns:
        assert pattern[:, group].sum(axis=1).max() == 1  # (no row in two of a group's columns)
    assert len(colour_groups(pattern)) == 2


def test_a_sparsity_pattern_missing_an_entry_is_refused():
    pattern = block_pattern(6, 3).tolil()
    pattern[0, 0] = False
    with pytest.raises(s2sad.S2SADError, match="outside the sparsity pattern given, in row 0"):
        s2sad.jacobian(F.pair_residuals, sparsity=pattern.tocsr())(*SPARSE_ARGS)
    with pytest.raises(s2sad.S2SADError, match="sparsity pattern is 12×17"):
        s2sad.jacobian(F.pair_residuals, sparsity=np.ones((12, 17)))(*SPARSE_ARGS)


def test_a_sparse_jacobian_pickles_with_its_pattern():
    J = pickle.loads(pickle.dumps(s2sad.jacobian(F.pair_residuals, sparsity=block_pattern(6, 3))))
    assert J.sparsity.nnz == 36
    np.testing.assert_allclose(J(*SPARSE_ARGS).toarray(),
                               s2sad.jacobian(F.pair_residuals)(*SPARSE_ARGS).reshape(12, -1), rtol=1e-13)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_an_auto_sparse_jacobian_finds_the_pattern_and_equals_the_dense_one(each_backend, mode):
    import scipy.sparse
    J = s2sad.jacobian(F.pair_residuals, mode=mode, sparsity="auto")
    dense = s2sad.jacobian(F.pair_residuals)(*SPARSE_ARGS).reshape(12, -1)
    for _ in range(2):  # (the first call learns the pattern, the second uses it)
        sparse = J(*SPARSE_ARGS)
        assert scipy.sparse.isspmatrix_csr(sparse)
        np.testing.assert_allclose(sparse.toarray(), dense, rtol=1e-13, atol=1e-15)
    (pattern,) = J._found.values()
    assert pattern.nnz == 24  # (each residual depends on two of its camera's three numbers)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_an_auto_pattern_learns_entries_that_were_zero_at_the_first_point(mode):
    J = s2sad.jacobian(F.coupled_where_zero, mode=mode, sparsity="auto")
    dense = s2sad.jacobian(F.coupled_where_zero)
    first = np.array([0.5, 0.0, -1.0, 0.3])  # (x1 = 0 and the branch x2 > 0 not taken)
    np.testing.assert_allclose(J(first).toarray(), dense(first), rtol=1e-13)
    (before,) = J._found.values()
    later = np.array([0.5, 1.5, 2.0, 0.3])
    np.testing.assert_allclose(J(later).toarray(), dense(later), rtol=1e-13)
    (after,) = J._found.values()
    assert after.nnz > before.nnz and (after.toarray() >= before.toarray()).all()
    np.testing.assert_allclose(J(later).toarray(), dense(later), rtol=1e-13)  # (with the pattern it learned)


def test_a_pattern_missing_an_entry_that_its_group_hides_is_refused():
    """Columns 0 and 1 share no row in the pattern given, so one JVP serves both; row 0's entry
    in column 1 would be taken for column 0's: the product with a random vector finds it."""
    with pytest.raises(s2sad.S2SADError, match="outside the sparsity pattern given, in row 0"):
        s2sad.jacobian(F.hidden_entry, sparsity=np.eye(2))(np.array([0.3, 0.7]))
    with pytest.raises(s2sad.S2SADError, match="outside the sparsity pattern given, in column 1"):
        s2sad.jacobian(F.hidden_entry, mode="reverse", sparsity=np.array([[1, 0], [0, 1]]))(np.array([0.3, 0.7]))


def test_an_auto_sparse_jacobian_leaves_the_random_state_and_pickles():
    np.random.seed(5)
    expected = np.random.random(3)
    np.random.seed(5)
    J = pickle.loads(pickle.dumps(s2sad.jacobian(F.pair_residuals, sparsity="auto")))
    J(*SPARSE_ARGS)
    J(*SPARSE_ARGS)
    np.testing.assert_array_equal(np.random.random(3), expected)
    assert J.detect and J.sparsity is None
    with pytest.raises(s2sad.S2SADError, match='sparsity is a matrix or "auto", not \'yes\''):
        s2sad.jacobian(F.pair_residuals, sparsity="yes")
