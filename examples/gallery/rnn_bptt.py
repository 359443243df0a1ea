"""Backpropagation through time: a tanh RNN learns to predict the next sample of a signal.

The recurrent network h_t = tanh(W h_{t−1} + U x_t + b), ŷ_t = V·h_t + c is run over the
sequence in a plain loop, its loss summed as it goes. The reverse-mode gradient `s2sad.grad`
makes of that loop is backpropagation through time: the hidden states are kept on a tape in
the forward sweep and the loop is run backwards. The gradient (a dict like the parameters) is
checked against central differences of the loss, then Adam trains the network. The picture
shows the loss curve and the one-step predictions on a sequence it was not trained on.

    python examples/gallery/rnn_bptt.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np

import _common
import s2sad


def rnn_loss(params, xs, ys):
    """Mean squared error of the one-step predictions over the sequence."""
    W, U, b, V, c = params["W"], params["U"], params["b"], params["V"], params["c"]
    h = np.zeros(b.shape[0])
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U * xs[t] + b)
        loss = loss + (V @ h + c - ys[t]) ** 2
    return loss / xs.shape[0]


loss_and_grad = s2sad.value_and_grad(rnn_loss)


def predict(params: dict, xs: np.ndarray) -> np.ndarray:
    """The predictions ŷ_t (plain NumPy, for the picture)."""
    h, out = np.zeros(params["b"].shape[0]), []
    for x in xs:
        h = np.tanh(params["W"] @ h + params["U"] * x + params["b"])
        out.append(params["V"] @ h + params["c"])
    return np.array(out)


def signal(n: int, phase: float, rng: np.random.Generator) -> np.ndarray:
    """Two sines and a little noise."""
    t = 0.15 * np.arange(n + 1) + phase
    return np.sin(t) + 0.5 * np.sin(2.7 * t) + 0.02 * rng.standard_normal(n + 1)


def train(params: dict, steps: int, xs: np.ndarray, ys: np.ndarray) -> tuple[dict, list[float]]:
    """Adam on the dict of parameters; returns the last parameters and the losses."""
    adam, losses = _common.Adam(rate=0.01), []
    for _ in _common.progress(range(steps), total=steps, desc="Adam"):
        loss, g = loss_and_grad(params, xs, ys)
        losses.append(loss)
        params = adam.step(params, g)
    return params, losses


def draw(losses: list[float], target: np.ndarray, predicted: np.ndarray) -> _common.Drawing:
    def figure(plt):
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1, 2]})
        left.semilogy(losses)
        left.set_xlabel("Adam step")
        left.set_ylabel("training loss")
        left.set_title("training by BPTT")
        right.plot(target, "k", lw=1.2, label="signal (not trained on)")
        right.plot(predicted, "--", color="tab:red", lw=1.2, label="RNN's one-step prediction")
        right.set_xlabel("t")
        right.set_title("next-sample prediction")
        right.legend(fontsize=8, loc="upper right")
        fig.tight_layout()
        return fig
    return figure


def main() -> int:
    options = _common.parse_args(__doc__)
    out = _common.output_directory(options)
    hidden, length, steps = (8, 60, 150) if options.quick else (24, 300, 800)
    rng = np.random.default_rng(5)
    params = {"W": 0.3 * rng.standard_normal((hidden, hidden)) / np.sqrt(hidden),
              "U": rng.standard_normal(hidden), "b": np.zeros(hidden),
              "V": 0.3 * rng.standard_normal(hidden), "c": 0.0}
    seq = signal(length, 0.0, rng)
    xs, ys = seq[:-1], seq[1:]

    _, g = loss_and_grad(params, xs, ys)
    checks = [_common.report("BPTT gradient against central differences of the loss",
                             _common.gradient_difference(lambda p: rnn_loss(p, xs, ys), params, g), 1e-6)]

    params, losses = train(params, steps, xs, ys)
    test = signal(length, 2.0, rng)
    predicted = predict(params, test[:-1])
    print(f"hidden {hidden}, sequence {length}: loss {losses[0]:.4f} → {losses[-1]:.4f} after {steps} steps; "
          f"test error {np.mean((predicted - test[1:]) ** 2):.4f}")
    _common.save_figure(draw(losses, test[1:], predicted), out, "rnn_bptt.png")
    return _common.finish(*checks)


if __name__ == "__main__":
    sys.exit(main())
