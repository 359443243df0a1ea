"""Parameter containers ("pytrees"): tuples, lists, dicts, namedtuples and dataclasses of arrays
and numbers as arguments and results. Gradients have the structure of what they are taken with
respect to; values against central finite differences on the flattened leaves (s2sad.ravel)."""

import numpy as np
import pytest

import container_funcs as cf
import s2sad
from numeric import fd

pytestmark = pytest.mark.usefixtures("each_backend")
MODES = pytest.mark.parametrize("mode", ["reverse", "forward"])


def rng():
    return np.random.default_rng(20261206)


def fd_tree(f, tree, *rest):
    """∂f/∂tree by central differences, with tree's structure (through s2sad.ravel)."""
    flat, unravel = s2sad.ravel(tree)
    return unravel(fd(lambda v: f(unravel(v), *rest), [flat], 0))


def assert_tree_close(got, expected, rtol=1e-6, atol=1e-8):
    assert type(got) is type(expected)
    flat_got, _ = s2sad.ravel(got)
    flat_expected, _ = s2sad.ravel(expected)
    np.testing.assert_allclose(flat_got, flat_expected, rtol=rtol, atol=atol)


def mlp_params():
    r = rng()
    return {"W1": r.normal(size=(3, 4)), "b1": r.normal(size=4), "W2": r.normal(size=4), "b2": 0.3}


def data():
    r = rng()
    return r.normal(size=(6, 3)), r.normal(size=6)


@MODES
def test_dict_of_parameters_gives_a_dict_gradient(mode):
    params, (X, y) = mlp_params(), data()
    g = s2sad.grad(cf.mlp_loss, mode=mode)(params, X, y)
    assert list(g) == list(params) and isinstance(g["b2"], float)
    assert_tree_close(g, fd_tree(cf.mlp_loss, params, X, y))


def test_mlp_trained_with_a_dict_of_parameters():
    params, (X, y) = mlp_params(), data()
    step = s2sad.value_and_grad(cf.mlp_loss)
    losses = []
    for _ in range(60):
        loss, g = step(params, X, y)
        losses.append(loss)
        params = {k: params[k] - 0.1 * g[k] for k in params}
    assert losses[-1] < 0.5 * losses[0]
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))


@MODES
def test_dataclass_model_gives_the_same_dataclass(mode):
    params, (X, y) = mlp_params(), data()
    model = cf.MLP(**params)
    g = s2sad.grad(cf.model_loss, mode=mode)(model, X, y)
    assert isinstance(g, cf.MLP) and g.activation is np.tanh   # (a static field is carried over)
    expected = s2sad.grad(cf.mlp_loss)(params, X, y)
    for name in params:
        np.testing.assert_allclose(getattr(g, name), expected[name], rtol=1e-12)


def test_a_bound_method_is_refused_at_its_def():
    params, (X, _) = mlp_params(), data()
    with pytest.raises(s2sad.S2SADError, match=r"container_funcs.py:\d+: .*not bound methods \(MLP.predict of MLP "
                                               r".*differentiate MLP.predict with the object as an argument"):
        s2sad.grad(cf.MLP(**params).predict, backend="python")(X)


def test_static_field_is_part_of_the_signature():
    params, (X, y) = mlp_params(), data()
    g = s2sad.grad(cf.model_loss)
    tanh_g = g(cf.MLP(**params), X, y)
    relu_g = g(cf.MLP(**params, activation=cf.relu), X, y)      # (another specialisation)
    assert_tree_close(relu_g, fd_tree(cf.model_loss, cf.MLP(**params, activation=cf.relu), X, y))
    assert not np.allclose(relu_g.W1, tanh_g.W1)


@MODES
def test_list_of_namedtuples(mode):
    r = rng()
    layers = [cf.Layer(r.normal(size=(3, 3)), r.normal(size=3)) for _ in range(3)]
    x = r.normal(size=3)
    g, gx = s2sad.grad(cf.deep, wrt=(0, 1), mode=mode)(layers, x)
    assert isinstance(g, list) and all(isinstance(layer, cf.Layer) for layer in g)
    assert_tree_close(g, fd_tree(cf.deep, layers, x))
    np.testing.assert_allclose(gx, fd(cf.deep, [layers, x], 1), rtol=1e-6)


@MODES
def test_tuple_of_an_array_and_a_float(mode):
    p, x = (np.array([0.3, -1.2]), 0.5), np.array([1.0, 2.0])
    g = s2sad.grad(cf.array_and_float, mode=mode)(p, x)
    assert isinstance(g, tuple)
    np.testing.assert_allclose(g[0], x * np.cos(p[0] * x), rtol=1e-14)
    assert g[1] == pytest.approx(3 * p[1] ** 2, rel=1e-14)


@MODES
def test_nested_containers_and_enumerate(mode):
    r = rng()
    params = {"layers": [{"W": r.normal(size=(2, 2)), "b": r.normal(size=2)} for _ in range(2)], "scale": 0.7}
    x = r.normal(size=2)
    g = s2sad.grad(cf.nested, mode=mode)(params, x)
    assert_tree_close(g, fd_tree(cf.nested, params, x))


@MODES
def test_items_of_a_dict_and_a_helper_taking_the_dict(mode):
    params = {"a": np.array([1.0, -2.0]), "b": np.array([0.5, 0.5, 3.0])}
    g = s2sad.grad(cf.sum_of_squares, mode=mode)(params)
    np.testing.assert_allclose(g["a"], 2 * params["a"] + np.sum(params["a"]), rtol=1e-14)
    np.testing.assert_allclose(g["b"], 2 * params["b"], rtol=1e-14)


def test_jvp_and_vjp_take_and_give_structures():
    layer, s = cf.Layer(np.array([1.0, 2.0]), np.array([0.5, -0.5])), 2.0
    tangent = cf.Layer(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    value, t = s2sad.jvp(cf.scaled_layer)(layer, s, tangent)
    assert isinstance(value, cf.Layer) and isinstance(t, cf.Layer)
    np.testing.assert_allclose(value.b, np.sin(layer.b) * s)
    np.testing.assert_allclose(t.W, tangent.W * s)
    np.testing.assert_allclose(t.b, np.cos(layer.b) * tangent.b * s)
    value, cot = s2sad.vjp(cf.scaled_layer)(layer, s, cf.Layer(np.ones(2), np.ones(2)))
    assert isinstance(cot, cf.Layer)
    np.testing.assert_allclose(cot.W, [s, s])
    np.testing.assert_allclose(cot.b, np.cos(layer.b) * s)


def test_jacobian_of_a_dict_result():
    params, x = {"W": np.array([[1.0, 2.0], [0.5, -1.0]]), "c": 2.0}, np.array([0.3, 0.1])
    J = s2sad.jacobian(cf.features)(params, x)
    assert set(J) == {"h", "s"} and set(J["s"]) == {"W", "c"}
    assert J["s"]["c"] == pytest.approx(np.sum(params["W"]))
    np.testing.assert_allclose(J["s"]["W"], params["c"] * np.ones((2, 2)))
    h = np.tanh(params["W"] @ x)
    np.testing.assert_allclose(J["h"]["W"][0], np.outer([1.0 - h[0] ** 2, 0.0], x))


def test_in_place_update_of_a_container_array_is_seen_by_the_caller():
    params, g = {"W": np.array([1.0, 1.0])}, np.array([1.0, 1.0])
    grad = s2sad.grad(cf.step_in_place)(params, g)
    expected = {"W": np.array([1.0, 1.0])}
    cf.step_in_place(expected, g)
    np.testing.assert_array_equal(params["W"], expected["W"])   # (as NumPy leaves it)
    np.testing.assert_allclose(grad["W"], [7.2, 1.8], rtol=1e-14)


def test_ravel_round_trip():
    params = mlp_params()
    flat, unravel = s2sad.ravel(params)
    assert flat.shape == (3 * 4 + 4 + 4 + 1,)
    back = unravel(flat)
    assert list(back) == list(params) and isinstance(back["b2"], float)
    for k in params:
        np.testing.assert_array_equal(back[k], params[k])


def test_scipy_minimize_with_ravel():
    scipy_optimize = pytest.importorskip("scipy.optimize")
    params, (X, y) = mlp_params(), data()
    flat, unravel = s2sad.ravel(params)
    value_and_grad = s2sad.value_and_grad(cf.mlp_loss)

    def fun(v):
        loss, g = value_and_grad(unravel(v), X, y)
        return loss, s2sad.ravel(g)[0]
    result = scipy_optimize.minimize(fun, flat, jac=True, method="L-BFGS-B", options={"maxiter": 50})
    assert result.fun < 0.5 * cf.mlp_loss(params, X, y)


@MODES
def test_dict_comprehension_over_a_dict_of_parameters(mode):
    r = rng()
    params, X, y = {"w": r.normal(size=3), "b": 0.2}, r.normal(size=(6, 3)), r.normal(size=6)
    value, g = s2sad.value_and_grad(cf.loss_after_a_step, mode=mode)(params, X, y, 0.3)
    assert value == pytest.approx(cf.loss_after_a_step(params, X, y, 0.3), rel=1e-13)
    assert_tree_close(g, fd_tree(cf.loss_after_a_step, params, X, y, 0.3))
    h = s2sad.hvp(lambda w: cf.loss_after_a_step({"w": w, "b": 0.2}, X, y, 0.3))(params["w"], np.ones(3))
    step = s2sad.grad(lambda w: cf.loss_after_a_step({"w": w, "b": 0.2}, X, y, 0.3), backend="python")
    np.testing.assert_allclose(h, fd(lambda w: step(w) @ np.ones(3), [params["w"]], 0), rtol=1e-6)


@MODES
def test_dict_list_and_tuple_copies(mode):
    r = rng()
    params, layers, x = {"w": r.normal(size=2), "b": 0.5}, [r.normal(size=2), r.normal(size=2)], r.normal(size=2)
    value, g = s2sad.value_and_grad(cf.copies_then_assigns, wrt=(0, 1), mode=mode)(params, layers, x)
    assert value == pytest.approx(cf.copies_then_assigns(params, layers, x), rel=1e-13)
    assert_tree_close(g[0], fd_tree(cf.copies_then_assigns, params, layers, x))
    assert_tree_close(g[1], fd_tree(lambda ls: cf.copies_then_assigns(params, ls, x), layers))
    assert params["b"] == 0.5


@MODES
def test_a_dict_copy_shares_its_arrays_with_the_original(mode):
    params, x = {"w": np.array([1.0, 2.0])}, np.array([0.3, -0.2])
    expected = {"w": params["w"].copy()}
    value = cf.copy_shares_the_arrays(expected, x)
    got, g = s2sad.value_and_grad(cf.copy_shares_the_arrays, mode=mode)(params, x)
    assert got == value and np.array_equal(params["w"], expected["w"])
    np.testing.assert_allclose(g["w"], 2.0 * x)


@MODES
def test_a_loop_over_the_indices_of_a_list_is_unrolled(mode):
    r = rng()
    layers = [(0.5 * r.normal(size=(3, 3)), 0.1 * r.normal(size=3)) for _ in range(3)]
    X = r.normal(size=(4, 3))
    value, g = s2sad.value_and_grad(cf.residual_layers_by_index, mode=mode)(layers, X)
    assert value == pytest.approx(cf.residual_layers_by_index(layers, X), rel=1e-13)
    assert_tree_close(g, fd_tree(cf.residual_layers_by_index, layers, X))


def test_a_list_indexed_by_a_loop_over_a_number_is_refused():
    with pytest.raises(s2sad.S2SADError, match="indexed only by an integer known when the function is compiled"):
        s2sad.grad(cf.index_of_a_loop_over_a_number)([np.ones(2), np.ones(2)], 2)


def test_dict_of_keywords_is_refused():
    with pytest.raises(s2sad.S2SADError, match=r"container_funcs.py:\d+: dict\(...\) is supported as a copy of a dict"):
        s2sad.grad(cf.dict_of_keywords)(1.0)


def test_dict_comprehension_over_a_range_is_refused():
    with pytest.raises(s2sad.S2SADError, match=r"container_funcs.py:\d+: a dict comprehension is supported with one "
                                               r"for and no if"):
        s2sad.grad(cf.dict_comprehension_over_a_range)(np.ones(2))


@pytest.mark.parametrize("fn, args, message", [
    (cf.assigns_item, ({"W": np.ones(2)},), r"assigning to params\['W'\] \(an item of a dict the function was given\) "
                                             r"is not supported"),
    (cf.indexes_by_variable, ([np.ones(2)], 0), "indexed only by an integer known when the function is compiled"),
    (cf.missing_key, ({"W": np.ones(2)},), "params has no key 'W3'; its keys are 'W'"),
    (cf.mlp_loss, ({"W1": "a", "b1": 1.0, "W2": 1.0, "b2": 1.0}, np.ones((2, 3)), np.ones(2)),
     r"params\['W1'\] is the Python object 'a': expected a number or an array"),
], ids=["assign-item", "variable-index", "missing-key", "leaf-is-a-string"])
def test_container_misuse_is_located(fn, args, message):
    with pytest.raises(s2sad.S2SADError, match=r"container_funcs.py:\d+: .*" + message):
        s2sad.grad(fn)(*args)
