"""Functions of parameter containers (tests/test_containers.py)."""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


# --- a 2-layer MLP: a dict of parameters, and the same model as a dataclass ----------------------

def mlp_loss(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    out = h @ params["W2"] + params["b2"]
    return np.mean((out - y) ** 2)


@dataclass
class MLP:
    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: float
    activation: object = np.tanh  # a constant of the compiled code

    def predict(self, X):
        h = self.activation(X @ self.W1 + self.b1)
        return h @ self.W2 + self.b2


def model_loss(model, X, y):
    return np.mean((model.predict(X) - y) ** 2)


def relu(x):
    return np.maximum(x, 0.0)


# --- lists, tuples and namedtuples ----------------------------------------------------------------

class Layer(NamedTuple):
    W: np.ndarray
    b: np.ndarray


def deep(layers, x):
    for layer in layers:  # (unrolled: one copy of the body per layer)
        x = np.tanh(layer.W @ x + layer.b)
    return np.sum(x * x) / len(layers)


def array_and_float(p, x):
    w, b = p
    return np.sum(np.sin(w * x)) + b * b * p[1]


def nested(params, x):
    h = x
    for i, layer in enumerate(params["layers"]):
        h = np.tanh(layer["W"] @ h + layer["b"]) * params["scale"] ** i
    return np.sum(h) + params["layers"][-1]["b"][0] * params["scale"]


def sum_of_squares(params):
    total = 0.0
    for name, value in params.items():
        total = total + np.sum(value ** 2)
    return total + _penalty(params)


def _penalty(params):
    return 0.5 * np.sum(params["a"]) ** 2


# --- container results ------------------------------------------------------------------------------

def features(params, x):
    return {"h": np.tanh(params["W"] @ x), "s": np.sum(params["W"]) * params["c"]}


def scaled_layer(layer, s):
    return Layer(W=layer.W * s, b=np.sin(layer.b) * s)


# --- writes into a container's arrays ------------------------------------------------------------

def step_in_place(params, g):
    params["W"] -= 0.1 * g
    params["W"][0] = 2.0 * params["W"][0]
    return np.sum(params["W"] ** 2)


# --- refused ----------------------------------------------------------------------------------------

def assigns_item(params):
    params["W"] = params["W"] * 2.0
    return np.sum(params["W"])


def indexes_by_variable(layers, i):
    return np.sum(layers[i])


def missing_key(params):
    return np.sum(params["W3"])


def loss_after_a_step(params, X, y, lr):
    """One gradient step written as a dict comprehension, then the loss at the new parameters."""
    r = X @ params["w"] + params["b"] - y
    g = {"w": X.T @ r / len(y), "b": np.mean(r)}
    stepped = {k: params[k] - lr * g[k] for k in params}
    shrunk = {name: np.tanh(v) for name, v in stepped.items()}
    return np.mean((X @ shrunk["w"] + shrunk["b"] - y) ** 2)


def dict_comprehension_over_a_range(x):
    squares = {i: x[i] ** 2 for i in range(2)}
    return squares[0] + squares[1]


def copies_then_assigns(params, layers, x):
    """dict(...) and list(...) copies whose items are reassigned: the arguments keep theirs."""
    p = dict(params)
    p["w"] = p["w"] * 2.0
    p["b"] += 1.0
    ws = list(layers)
    ws.append(x)
    ws[0] = ws[0] * 3.0
    shape = tuple(x.shape)
    return np.sum(p["w"] * x) + p["b"] + sum(np.sum(w ** 2) for w in ws) + np.sum(np.ones(shape) * params["w"])


def copy_shares_the_arrays(params, x):
    q = dict(params)
    q["w"] *= 2.0   # (the same array as params["w"], as in Python)
    return np.sum(params["w"] * x)


def dict_of_keywords(x):
    return dict(a=x)["a"]


def residual_layers_by_index(layers, X):
    """A list of (W, b) pairs gone through by index, every other one backwards as well."""
    H = X
    for k in range(len(layers)):
        W, b = layers[k]
        H = H + 0.5 * np.tanh(H @ W + b)
    for k in range(len(layers) - 1, -1, -2):
        H = H * (1.0 + 0.1 * np.sum(layers[k][1]))
    return np.sum(np.log(1.0 + H ** 2))


def index_of_a_loop_over_a_number(layers, n):
    total = 0.0
    for k in range(n):
        total = total + np.sum(layers[k])
    return total
