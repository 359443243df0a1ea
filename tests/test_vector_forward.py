"""Vector forward mode (s2sad/transforms/vector_forward.py): `jacobian` in forward mode and
`hessian` carry a block of tangents per sweep. Their results equal those of one sweep per
column and central differences; where a function has no vector form, they fall back to one
sweep per column."""

import numpy as np
import pytest

import s2sad
import vector_funcs as V
from s2sad.errors import Unbatched
from s2sad.higher_order import _OneParameter

R = np.random.default_rng(7)
A3 = np.array([[3.0, 0.5, -0.2], [0.1, 2.0, 0.3], [-0.4, 0.2, 1.5]])

CASES = {  # name: (function, arguments, wrt)
    "scalar": (V.scalar, (0.3, 2.0), 0),
    "broadcasting": (V.broadcasting, (np.array([0.3, -0.5, 0.8, 0.1]), R.normal(size=(3, 4))), 0),
    "broadcasting wrt A": (V.broadcasting, (np.array([0.3, -0.5, 0.8, 0.1]), R.normal(size=(3, 4))), 1),
    "products wrt W": (V.products, (R.normal(size=(3, 4)), R.normal(size=4)), 0),
    "products wrt x": (V.products, (R.normal(size=(3, 4)), R.normal(size=4)), 1),
    "carried": (V.carried, (np.array([0.3, -0.2, 0.6]), 4), 0),
    "counted": (V.counted, (np.array([0.9, 1.1, 0.7]),), 0),
    "branches": (V.branches, (np.array([0.4, -0.3, 0.2]),), 0),
    "branches, other side": (V.branches, (np.array([-0.4, 0.3, -0.2]),), 0),
    "reductions": (V.reductions, (R.normal(size=(3, 2)),), 0),
    "stores": (V.stores, (np.array([0.5, -1.0, 2.0, 0.3]), np.array([0, 2, 2])), 0),
    "solved": (V.solved, (A3, np.array([1.0, -2.0, 0.5])), 0),
    "solved wrt b": (V.solved, (A3, np.array([1.0, -2.0, 0.5])), 1),
    "updated by its transpose": (V.symmetrised, (R.normal(size=(3, 3)),), 0),
}


@pytest.fixture(autouse=True)
def vector_forms_for_few_columns(monkeypatch):
    """The functions here have few columns, which take one sweep per column by default
    (`FEWEST_LANES`): here the vector forms run for any number."""
    monkeypatch.setattr(s2sad.higher_order, "FEWEST_LANES", 1)


def test_few_columns_take_one_sweep_each(monkeypatch):
    monkeypatch.setattr(s2sad.higher_order, "FEWEST_LANES", 16)
    W, x = R.normal(size=(3, 4)), R.normal(size=4)
    J = s2sad.jacobian(V.products, wrt=1, backend="python")
    made = []
    monkeypatch.setattr(J, "compiled", lambda primals, mode, run=J.compiled: made.append(mode) or run(primals, mode))
    got = J(W, x)
    assert made == ["forward"]  # (4 columns: no vector form made)
    np.testing.assert_allclose(got, central(V.products, (W, x), 1), rtol=1e-6, atol=1e-7)
    x = R.normal(size=20)
    J(R.normal(size=(3, 20)), x)
    assert made[1:] == ["forward", "vforward"]  # (20 columns: the vector form)


def by_columns(monkeypatch, make, *args):
    """What `make()` gives for `args` with one sweep per column (no vector form)."""
    with monkeypatch.context() as m:
        m.setattr(_OneParameter, "vector_runner", lambda self, primals, mode, columns: None)
        return make()(*args)


def central(f, args, wrt, h=1e-6):
    """∂f/∂args[wrt] by central differences, shaped ``out.shape + arg.shape``."""
    x = np.asarray(args[wrt], dtype=float)
    columns = []
    for index in np.ndindex(x.shape):
        step = np.zeros(x.shape)
        step[index] = h
        moved = [list(args), list(args)]
        moved[0][wrt], moved[1][wrt] = x + step, x - step
        if not x.shape:
            moved[0][wrt], moved[1][wrt] = float(x + h), float(x - h)
        columns.append((np.asarray(f(*moved[0])) - np.asarray(f(*moved[1]))) / (2 * h))
    out = np.stack(columns, axis=-1)
    return out.reshape(out.shape[:-1] + x.shape)


@pytest.mark.parametrize("name", sorted(CASES))
def test_vector_jacobian_equals_columns_and_finite_differences(each_backend, monkeypatch, name):
    f, args, wrt = CASES[name]
    J = s2sad.jacobian(f, wrt=wrt)
    vector = J(*args)
    columns = by_columns(monkeypatch, lambda: s2sad.jacobian(f, wrt=wrt), *args)
    assert not J._unbatched  # (the vector form ran)
    assert np.shape(vector) == np.shape(f(*args)) + np.shape(args[wrt])
    np.testing.assert_allclose(vector, columns, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(vector, central(f, args, wrt), rtol=1e-6, atol=1e-7)


def test_a_jacobian_of_one_batch_is_the_batch_itself():
    """Every column from one sweep: the Jacobian is a view of the products, not a copy, and
    reads as the right layout (W's shape after the result's)."""
    W, x = R.normal(size=(3, 4)), R.normal(size=4)
    J = s2sad.jacobian(V.products, wrt=0, backend="python")(W, x)
    assert J.base is not None and not J.flags.owndata
    np.testing.assert_allclose(J, central(V.products, (W, x), 0), rtol=1e-6, atol=1e-7)
    J[0, 0, 0] = 5.0  # (it can be written into, as an array of its own)
    assert J[0, 0, 0] == 5.0


def test_a_scalar_function_of_a_scalar_has_a_float_jacobian():
    got = s2sad.jacobian(V.scalar, backend="python")(0.3, 2.0)
    assert isinstance(got, float) and got == pytest.approx(np.cos(0.3) * 2.0 + 3 * 0.3 ** 2, rel=1e-14)


def test_wide_arguments_take_several_blocks_of_lanes(monkeypatch):
    W, x = R.normal(size=(5, 7)), R.normal(size=7)
    columns = by_columns(monkeypatch, lambda: s2sad.jacobian(V.products, backend="python"), W, x)
    monkeypatch.setattr(s2sad.higher_order, "LANES", 4)  # (35 columns: 9 blocks, the last of 3)
    calls = []
    J = s2sad.jacobian(V.products, backend="python")
    run = J.vector_runner
    monkeypatch.setattr(J, "vector_runner", lambda primals, mode, columns: (
        lambda *a: calls.append(a[-1].shape[0]) or run(primals, mode, columns)(*a)))
    got = J(W, x)
    assert calls == [4] * 8 + [3]
    np.testing.assert_allclose(got, columns, rtol=1e-14, atol=1e-14)


def test_containers_as_result_and_as_argument(each_backend, monkeypatch):
    W, x = R.normal(size=(2, 3)), R.normal(size=3)
    got = s2sad.jacobian(V.two_results)(W, x)
    expected = by_columns(monkeypatch, lambda: s2sad.jacobian(V.two_results), W, x)
    assert set(got) == {"h", "s"}
    for key in got:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(got["s"], np.full((2, 3), x[0]), rtol=1e-14)
    params = {"W": W, "b": np.array([0.1, -0.2]), "c": 1.5}
    got = s2sad.jacobian(V.layer_loss)(params, x)
    expected = by_columns(monkeypatch, lambda: s2sad.jacobian(V.layer_loss), params, x)
    assert set(got) == {"W", "b", "c"}
    for key in got:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(got["c"], np.tanh(W @ x + params["b"]), rtol=1e-14)


def test_lane_forms_replace_the_loop_over_lanes_where_rules_have_them():
    elementwise = s2sad.derivative_source(V.broadcasting, "vforward", args=CASES["broadcasting"][1],
                                          backend="python")
    assert "def broadcasting_vjvp(x, A, x_dot):" in elementwise and "for lane in range" not in elementwise
    solved = s2sad.derivative_source(V.solved, "vforward", args=CASES["solved"][1], backend="python")
    assert "for lane in range(lanes):" in solved and "lane_store(" in solved


def test_a_list_built_in_a_loop_falls_back_to_one_sweep_per_column(each_backend):
    x = np.array([0.5, -1.5, 2.0])
    with pytest.raises(Unbatched, match="list_rows"):
        s2sad.derivative_source(V.appended, "vforward", args=(x,), backend="python")
    J = s2sad.jacobian(V.appended)
    got = J(x)
    assert len(J._unbatched) == 1
    np.testing.assert_allclose(got, np.diag(2.0 * x * (1.0 + 4.0 + 9.0)), rtol=1e-14)
    np.testing.assert_allclose(J(x), got, rtol=0)  # (the fallback remembered: no second attempt)
    assert len(J._unbatched) == 1


def fd_hessian(f, x, h=1e-5):
    g = s2sad.grad(f, backend="python")
    return np.stack([(g(x + h * e) - g(x - h * e)) / (2 * h) for e in np.eye(x.shape[0])], axis=-1)


@pytest.mark.parametrize("f", [V.energy, V.loop_energy], ids=["energy", "taped loop"])
def test_vector_hessian_equals_columns_and_finite_differences(each_backend, monkeypatch, f):
    x = np.array([0.3, -0.8, 1.1, 0.4])
    H = s2sad.hessian(f)
    got = H(x)
    assert not H._unbatched
    columns = by_columns(monkeypatch, lambda: s2sad.hessian(f), x)
    np.testing.assert_allclose(got, columns, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(got, fd_hessian(f, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got, got.T, rtol=1e-13, atol=1e-13)


def test_a_hessian_through_a_growing_tape_falls_back(each_backend):
    x = np.array([0.3, -0.8, 1.1, 0.4])
    H = s2sad.hessian(V.while_energy)
    got = H(x)
    assert len(H._unbatched) == 1  # (a while loop's tape grows: record_grow has no vector form)
    np.testing.assert_allclose(got, fd_hessian(V.while_energy, x), rtol=1e-6, atol=1e-7)
