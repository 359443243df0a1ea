"""GradBench's ``lstm`` eval (from ADBench): a stack of l LSTM layers of b cells, one weight per
cell and gate (ADBench's simplified, diagonal model), run over a sequence of c characters of b
bits; the objective is the mean log-probability loss of predicting each next character, and the
``jacobian`` its gradient with respect to the main and extra parameters by s2sad's reverse mode.

Layout (GradBench's input): ``main_params`` has two rows per layer, the weights then the biases,
each row the forget, input, output and change gates' b values; ``extra_params`` holds the input
weights, the output weights and the output biases; ``state`` the hidden and cell values of each
layer. As in ADBench, the log-sum-exp of the prediction adds 2 to the sum of exponentials.
"""

from __future__ import annotations

import numpy as np
import s2sad

from .common import Job, derivative, primal


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def loss(main_params: np.ndarray, extra_params: np.ndarray, state: np.ndarray, sequence: np.ndarray) -> float:
    """−(1 / (b (c − 1))) Σ_t Σ_i sequence[t + 1, i] (ŷ_t,i − log(Σ exp ŷ_t + 2))."""
    layers = main_params.shape[0] // 2
    b = sequence.shape[1]
    c = sequence.shape[0]
    s = state.copy()
    total = 0.0
    for t in range(c - 1):
        layer_input = sequence[t] * extra_params[0]
        for i in range(layers):
            w = main_params[2 * i]
            bias = main_params[2 * i + 1]
            hidden = s[2 * i]
            forget = sigmoid(layer_input * w[:b] + bias[:b])
            ingate = sigmoid(hidden * w[b:2 * b] + bias[b:2 * b])
            outgate = sigmoid(layer_input * w[2 * b:3 * b] + bias[2 * b:3 * b])
            change = np.tanh(hidden * w[3 * b:] + bias[3 * b:])
            cell = s[2 * i + 1] * forget + ingate * change
            hidden = outgate * np.tanh(cell)
            s[2 * i] = hidden
            s[2 * i + 1] = cell
            layer_input = hidden
        ypred = layer_input * extra_params[1] + extra_params[2]
        lse = np.log(np.sum(np.exp(ypred)) + 2.0)
        total = total + np.sum(sequence[t + 1] * (ypred - lse))
    return -total / (b * (c - 1))


def _args(input: dict) -> tuple:
    return tuple(np.array(input[k], dtype=np.float64) for k in ("main_params", "extra_params", "state", "sequence"))


def _objective(input: dict) -> Job:
    args, f = _args(input), primal(loss)
    return Job(lambda: f(*args), float)


def _jacobian(input: dict) -> Job:
    args = _args(input)
    g = derivative(s2sad.grad, loss, wrt=("main_params", "extra_params"))
    return Job(lambda: g(*args), lambda r: np.concatenate((r[0].ravel(), r[1].ravel())).tolist())


FUNCTIONS = {"objective": _objective, "jacobian": _jacobian}
