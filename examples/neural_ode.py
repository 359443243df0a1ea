"""A neural ODE trained in constant memory: the gradient through 1000 RK4 steps, checkpointed.

The state y ∈ R² follows dy/dt = W2 tanh(W1 y + b1) + b2, a small tanh network, integrated with
the classical Runge–Kutta method over 1000 steps in an ordinary ``for`` loop. The loss compares
the trajectory with a few observed points of a decaying spiral. Reverse mode needs the state of
every step; with ``checkpoint=s2sad.Binomial(snapshots=8)`` it keeps only 8 of them and computes
the others again (Griewank's binomial checkpointing, docs/checkpointing.md), so the memory of a
gradient does not grow with the number of steps. Plain gradient descent then fits the weights.

    python examples/neural_ode.py              # 300 epochs: about 15 s, compiling included
    python examples/neural_ode.py --epochs 5   # a quick look

It prints the loss every few epochs and the bytes the gradient kept (tapes and snapshots)
against what StoreAll, the default, keeps; with matplotlib installed it saves the loss curve
as neural_ode_loss.png (or the file given with --plot).
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.linalg import expm

import s2sad

STEPS = 1000          # RK4 steps from t = 0 to t = 5
OBSERVED_EVERY = 100  # an observation every 100 steps: 10 observed points
SNAPSHOTS = 8


def velocity(y, W1, b1, W2, b2):
    """dy/dt: a one-hidden-layer tanh network of the state."""
    return W2 @ np.tanh(W1 @ y + b1) + b2


def trajectory_loss(W1, b1, W2, b2, y0, observed, dt):
    """The mean squared distance between the RK4 trajectory from y0 and the observed states,
    one every OBSERVED_EVERY steps."""
    y = y0
    loss = 0.0
    for t in range(observed.shape[0] * OBSERVED_EVERY):
        k1 = velocity(y, W1, b1, W2, b2)
        k2 = velocity(y + 0.5 * dt * k1, W1, b1, W2, b2)
        k3 = velocity(y + 0.5 * dt * k2, W1, b1, W2, b2)
        k4 = velocity(y + dt * k3, W1, b1, W2, b2)
        y = y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        if (t + 1) % OBSERVED_EVERY == 0:
            miss = y - observed[(t + 1) // OBSERVED_EVERY - 1]
            loss = loss + np.sum(miss * miss)
    return loss / observed.shape[0]


def spiral(y0: np.ndarray, dt: float) -> np.ndarray:
    """The observations: the exact solution of the linear spiral dy/dt = A y at the observed
    times (the network does not know it is linear)."""
    A = np.array([[-0.1, 1.0], [-1.0, -0.1]])
    times = dt * OBSERVED_EVERY * np.arange(1, STEPS // OBSERVED_EVERY + 1)
    return np.array([expm(A * t) @ y0 for t in times])


def initial_weights(hidden: int, rng: np.random.Generator) -> list[np.ndarray]:
    """W1, b1, W2, b2: small random weights."""
    return [0.5 * rng.normal(size=(hidden, 2)), np.zeros(hidden), 0.1 * rng.normal(size=(2, hidden)), np.zeros(2)]


def train(gradient, weights: list[np.ndarray], data: tuple, epochs: int, rate: float
          ) -> tuple[list[np.ndarray], list[float]]:
    """Plain gradient descent on the weights; returns the last weights and every epoch's loss."""
    losses = []
    for epoch in range(epochs):
        loss, grads = gradient(*weights, *data)
        weights = [w - rate * g for w, g in zip(weights, grads)]
        losses.append(loss)
        if epoch % max(1, epochs // 10) == 0 or epoch == epochs - 1:
            print(f"epoch {epoch:4d}   loss {loss:.5f}")
    return weights, losses


def compare_with_store_all(gradient, weights: list[np.ndarray], data: tuple) -> None:
    """StoreAll's gradient at the same weights: the same numbers, from far more memory. (The
    Python backend computes it: its tapes are the same size, and it saves a compilation.)"""
    store_all = s2sad.value_and_grad(trajectory_loss, wrt=(0, 1, 2, 3), backend="python")
    expected, got = store_all(*weights, *data)[1], gradient(*weights, *data)[1]
    difference = max(np.max(np.abs(g - e)) / np.max(np.abs(e)) for g, e in zip(got, expected))
    print(f"largest difference from StoreAll's gradient, relative: {difference:.1e}")
    print(f"Binomial({SNAPSHOTS}) ran {gradient.advances} steps again per gradient (the loop has {STEPS}; "
          "StoreAll runs none again)")
    print(f"bytes kept by a gradient (tapes and snapshots): {gradient.tape_bytes} with Binomial({SNAPSHOTS}), "
          f"{store_all.tape_bytes} with StoreAll ({store_all.tape_bytes / gradient.tape_bytes:.0f}x more)")


def plot(losses: list[float], path: str) -> None:
    """The loss curve, if matplotlib is installed."""
    try:
        import matplotlib
    except ImportError:
        print("(matplotlib is not installed: no plot)")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axis = plt.subplots(figsize=(6, 4))
    axis.semilogy(losses)
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss")
    axis.set_title(f"neural ODE, {STEPS} RK4 steps, gradient with Binomial({SNAPSHOTS})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"loss curve: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--rate", type=float, default=0.02, help="the gradient-descent step")
    parser.add_argument("--plot", default="neural_ode_loss.png", help="where to save the loss curve")
    options = parser.parse_args()
    dt = 5.0 / STEPS
    y0 = np.array([2.0, 0.0])
    data = (y0, spiral(y0, dt), dt)
    gradient = s2sad.value_and_grad(trajectory_loss, wrt=(0, 1, 2, 3),
                                    checkpoint=s2sad.Binomial(snapshots=SNAPSHOTS))
    weights, losses = train(gradient, initial_weights(16, np.random.default_rng(0)), data, options.epochs,
                            options.rate)
    compare_with_store_all(gradient, weights, data)
    print(f"loss: {losses[0]:.5f} → {losses[-1]:.5f}")
    plot(losses, options.plot)


if __name__ == "__main__":
    main()
