"""A neural ODE learns a damped pendulum's dynamics from a few of its trajectories.

The state y = (angle, angular velocity) follows dy/dt = g_θ(y), a tanh network, integrated with
RK4 in a plain loop for several starting points at once (the states are the rows of a matrix).
The loss compares the integrated trajectories with the pendulum's observed ones at regular
times; `s2sad.value_and_grad` differentiates through every RK4 stage of every step (the
discrete adjoint), checked against central differences, and Adam trains θ. The picture shows
the true and learned vector fields and trajectories from starting points not trained on.

    python examples/gallery/neural_ode.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np

import _common
import s2sad


def field(Y, params):
    """g_θ for each row of Y: W2 tanh(W1 y + b1) + b2."""
    return np.tanh(Y @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]


def rk4_loss(params, Y0, observed, dt, every):
    """Mean squared distance between the RK4 trajectories from the rows of Y0 and the observed
    states (observations × starts × 2), one observation every `every` steps."""
    Y = Y0.copy()
    loss = 0.0
    for t in range(observed.shape[0] * every):
        k1 = field(Y, params)
        k2 = field(Y + 0.5 * dt * k1, params)
        k3 = field(Y + 0.5 * dt * k2, params)
        k4 = field(Y + dt * k3, params)
        Y = Y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        if (t + 1) % every == 0:
            miss = Y - observed[(t + 1) // every - 1]
            loss = loss + np.mean(miss * miss)
    return loss / observed.shape[0]


loss_and_grad = s2sad.value_and_grad(rk4_loss)


def pendulum(Y: np.ndarray) -> np.ndarray:
    """The true dynamics: θ'' = −sin θ − 0.2 θ'."""
    return np.stack([Y[:, 1], -np.sin(Y[:, 0]) - 0.2 * Y[:, 1]], axis=1)


def integrate(g, Y0: np.ndarray, dt: float, steps: int) -> np.ndarray:
    """RK4 trajectories of dy/dt = g(Y): (steps + 1) × starts × 2."""
    Y, path = Y0.copy(), [Y0.copy()]
    for _ in range(steps):
        k1 = g(Y)
        k2 = g(Y + 0.5 * dt * k1)
        k3 = g(Y + 0.5 * dt * k2)
        k4 = g(Y + dt * k3)
        Y = Y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        path.append(Y.copy())
    return np.array(path)


def draw(params: dict, starts: np.ndarray, dt: float, steps: int, losses: list[float]) -> _common.Drawing:
    def figure(plt):
        fig, axes = plt.subplots(1, 3, figsize=(13, 4))
        a, v = np.meshgrid(np.linspace(-2.5, 2.5, 21), np.linspace(-2.5, 2.5, 21))
        grid = np.stack([a.ravel(), v.ravel()], axis=1)
        for axis, g, title in ((axes[0], pendulum, "true pendulum"),
                               (axes[1], lambda Y: field(Y, params), "learned neural ODE")):
            d = g(grid)
            axis.quiver(a, v, d[:, 0].reshape(a.shape), d[:, 1].reshape(a.shape), color="0.6", width=0.003)
            path = integrate(g, starts, dt, steps)
            for k in range(starts.shape[0]):
                axis.plot(path[:, k, 0], path[:, k, 1], lw=1.5)
            axis.set_xlabel("angle")
            axis.set_ylabel("angular velocity")
            axis.set_title(f"{title}: new starting points")
        axes[2].semilogy(losses)
        axes[2].set_xlabel("Adam step")
        axes[2].set_title("trajectory loss")
        fig.tight_layout()
        return fig
    return figure


def main() -> int:
    options = _common.parse_args(__doc__)
    out = _common.output_directory(options)
    hidden, starts, observations, every, steps = (16, 6, 10, 5, 150) if options.quick else (32, 16, 20, 10, 1500)
    dt = 0.05
    rng = np.random.default_rng(12)
    Y0 = rng.uniform(-2.0, 2.0, (starts, 2))
    observed = integrate(pendulum, Y0, dt, observations * every)[every::every]
    params = {"W1": rng.standard_normal((2, hidden)), "b1": rng.standard_normal(hidden),
              "W2": 0.1 * rng.standard_normal((hidden, 2)), "b2": np.zeros(2)}

    _, g = loss_and_grad(params, Y0, observed, dt, every)
    checks = [_common.report("gradient against central differences",
                             _common.gradient_difference(lambda p: rk4_loss(p, Y0, observed, dt, every), params, g),
                             1e-6)]

    adam, losses = _common.Adam(rate=0.01), []
    for _ in _common.progress(range(steps), total=steps, desc="training"):
        value, g = loss_and_grad(params, Y0, observed, dt, every)
        losses.append(value)
        params = adam.step(params, g)
    print(f"{starts} trajectories of {observations * every} RK4 steps, {steps} Adam steps: loss {losses[0]:.3e} → "
          f"{losses[-1]:.3e}")
    new_starts = np.array([[2.0, 0.0], [-1.0, 1.5], [0.5, -2.0]])
    _common.save_figure(draw(params, new_starts, dt, observations * every, losses), out, "neural_ode.png")
    return _common.finish(*checks)


if __name__ == "__main__":
    sys.exit(main())
