"""MAML's meta-gradient: the gradient of a loss taken after an inner gradient step (second order).

Each task is a sine wave a·sin(x + p) of its own amplitude and phase; the model is a tanh
network with two hidden layers, its weights one vector φ. MAML adapts φ to a task by one
gradient step on a few of its samples, θ = φ − α ∇L_train(φ), and scores θ on other samples of
that task. The meta-loss therefore contains a gradient, made at module level with
`s2sad.grad(task_loss)` and called inside `meta_loss`; `s2sad.grad(meta_loss)` differentiates
through it (reverse over reverse), which brings in the Hessian of the inner loss
(docs/higher-order.md). The meta-gradient is checked against central differences of the
meta-loss, then meta-training runs. The picture shows the meta-loss, and a new task before and
after one adaptation step from the meta-learned start.

    python examples/gallery/maml.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np

import _common
import s2sad

HIDDEN = 32
SIZE = 3 * HIDDEN + HIDDEN * HIDDEN + HIDDEN + 1  # the number of weights in φ


def network(phi, x):
    """y(x) of a tanh network with two hidden layers, its weights packed in the vector φ."""
    n = HIDDEN
    w1, b1 = phi[:n], phi[n:2 * n]
    W2 = phi[2 * n:2 * n + n * n].reshape((n, n))
    b2 = phi[2 * n + n * n:3 * n + n * n]
    w3, b3 = phi[3 * n + n * n:4 * n + n * n], phi[4 * n + n * n]
    h1 = np.tanh(np.outer(x, w1) + b1)
    h2 = np.tanh(h1 @ W2 + b2)
    return h2 @ w3 + b3


def initial_weights(rng: np.random.Generator) -> np.ndarray:
    """φ for the network: a random first layer spread over the inputs' range, small others."""
    n = HIDDEN
    return np.concatenate([rng.standard_normal(n), rng.uniform(-3.0, 3.0, n),
                           rng.standard_normal(n * n) / np.sqrt(n), np.zeros(n),
                           rng.standard_normal(n) / np.sqrt(n), [0.0]])


def task_loss(phi, x, y):
    r = network(phi, x) - y
    return np.mean(r * r)


d_task_loss = s2sad.grad(task_loss)  # made once, at module level, to be called inside meta_loss


def meta_loss(phi, x_train, y_train, x_test, y_test, alpha):
    """The loss on a task's test samples after one inner gradient step on its training samples."""
    theta = phi - alpha * d_task_loss(phi, x_train, y_train)
    return task_loss(theta, x_test, y_test)


meta_value_and_grad = s2sad.value_and_grad(meta_loss)


def sample_task(rng: np.random.Generator, shots: int) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) of a new sine task."""
    return task_samples(rng, shots, rng.uniform(0.5, 2.0), rng.uniform(0.0, np.pi))


def task_samples(rng: np.random.Generator, shots: int, amplitude: float, phase: float) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) of the task a·sin(x + p)."""
    x = rng.uniform(-5.0, 5.0, 2 * shots)
    y = amplitude * np.sin(x + phase)
    return x[:shots], y[:shots], x[shots:], y[shots:]


def draw(losses: list[float], x: np.ndarray, truth: np.ndarray, before: np.ndarray, after: np.ndarray,
         shots: tuple[np.ndarray, np.ndarray]) -> _common.Drawing:
    def figure(plt):
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
        window = max(1, len(losses) // 50)
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        left.semilogy(smooth)
        left.set_xlabel("meta-step")
        left.set_ylabel("meta-loss (running mean)")
        left.set_title("meta-training with s2sad.grad(meta_loss)")
        right.plot(x, truth, "k", label="new task")
        right.plot(x, before, ":", color="tab:blue", label="meta-learned start φ")
        right.plot(x, after, "--", color="tab:red", label="after one inner step")
        right.plot(*shots, "o", color="tab:red", ms=4, label="the task's training samples")
        right.set_title("adapting to a task it has not seen")
        right.legend(fontsize=8)
        fig.tight_layout()
        return fig
    return figure


def main() -> int:
    options = _common.parse_args(__doc__)
    out = _common.output_directory(options)
    shots, meta_steps, batch = (10, 300, 4) if options.quick else (10, 3000, 8)
    alpha, rate = 0.05, 0.003
    rng = np.random.default_rng(7)
    phi = initial_weights(rng)

    task = sample_task(rng, shots)
    _, g = meta_value_and_grad(phi, *task, alpha)
    checks = [_common.report("meta-gradient against central differences of the meta-loss",
                             _common.gradient_difference(lambda p: meta_loss(p, *task, alpha), phi, g, h=1e-5),
                             1e-6)]

    losses, adam = [], _common.Adam(rate=rate)
    for _ in _common.progress(range(meta_steps), total=meta_steps, desc="meta-training"):
        total, grad = 0.0, np.zeros_like(phi)
        for _ in range(batch):
            value, g = meta_value_and_grad(phi, *sample_task(rng, shots), alpha)
            total, grad = total + value / batch, grad + g / batch
        losses.append(total)
        phi = adam.step(phi, grad)
    head = np.mean(losses[:max(1, meta_steps // 20)])
    tail = np.mean(losses[-max(1, meta_steps // 20):])
    print(f"{meta_steps} meta-steps of {batch} tasks: meta-loss {head:.3f} → {tail:.3f} (first and last 5 %)")

    amplitude, phase = 1.7, 2.5
    x_train, y_train, _, _ = task_samples(rng, shots, amplitude, phase)
    theta = phi - alpha * d_task_loss(phi, x_train, y_train)
    x = np.linspace(-5.0, 5.0, 200)
    truth = amplitude * np.sin(x + phase)
    print(f"new task: mean squared error {np.mean((network(phi, x) - truth) ** 2):.3f} before, "
          f"{np.mean((network(theta, x) - truth) ** 2):.3f} after one step")
    _common.save_figure(draw(losses, x, truth, network(phi, x), network(theta, x), (x_train, y_train)),
                        out, "maml.png")
    return _common.finish(*checks)


if __name__ == "__main__":
    sys.exit(main())
