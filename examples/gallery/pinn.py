"""A physics-informed neural network: train a network u(x) so that u'' = f, with u(0) = u(1) = 0.

The loss of a PINN contains derivatives of the network with respect to its input: here the
residual u_xx − f at collocation points. They are made by nesting s2sad's derivatives. With
U(xs) = Σᵢ u(xsᵢ), `s2sad.grad(U)` gives u_x at every point (each u(xsᵢ) depends on its own
point only), and the gradient of Σ u_x gives u_xx at every point in the same way. The training
loss calls that second derivative, and `s2sad.grad` of the loss in the weights differentiates
through it: three levels of reverse mode (docs/higher-order.md). Checks: u_xx against the
closed form for a tanh network, and the loss's gradient against central differences. The
picture shows the solution against the exact one, the residual, and the loss curve.

    python examples/gallery/pinn.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np

import _common
import s2sad


def u_sum(xs, w1, b1, w2, b2):
    """Σᵢ u(xsᵢ) for the network u(x) = Σₖ w2ₖ tanh(w1ₖ x + b1ₖ) + b2. (The weights are passed one
    by one: a derivative called inside a differentiated function takes numbers and arrays.)"""
    hidden = np.tanh(np.outer(xs, w1) + b1)
    return np.sum(hidden @ w2 + b2)


u_x = s2sad.grad(u_sum, wrt="xs")  # u_x(xsᵢ) for every i


def u_x_sum(xs, w1, b1, w2, b2):
    return np.sum(u_x(xs, w1, b1, w2, b2))


u_xx = s2sad.grad(u_x_sum, wrt="xs")  # u_xx(xsᵢ) for every i


def source(x):
    """f for the exact solution sin(πx) + 0.3 sin(4πx)."""
    return -np.pi ** 2 * np.sin(np.pi * x) - 0.3 * (4.0 * np.pi) ** 2 * np.sin(4.0 * np.pi * x)


def exact(x: np.ndarray) -> np.ndarray:
    return np.sin(np.pi * x) + 0.3 * np.sin(4.0 * np.pi * x)


def pinn_loss(params, xs, f):
    """The mean squared residual of u'' = f at the points xs, plus the boundary conditions."""
    residual = u_xx(xs, params["w1"], params["b1"], params["w2"], params["b2"]) - f
    ends = np.tanh(np.outer(np.array([0.0, 1.0]), params["w1"]) + params["b1"]) @ params["w2"] + params["b2"]
    return np.mean(residual * residual) + 100.0 * np.sum(ends * ends)


loss_and_grad = s2sad.value_and_grad(pinn_loss)


def network(params: dict, x: np.ndarray) -> np.ndarray:
    return np.tanh(np.outer(x, params["w1"]) + params["b1"]) @ params["w2"] + params["b2"]


def closed_form_u_xx(params: dict, x: np.ndarray) -> np.ndarray:
    """u_xx = Σₖ w2ₖ w1ₖ² (−2 tanh zₖ (1 − tanh² zₖ)), zₖ = w1ₖ x + b1ₖ."""
    t = np.tanh(np.outer(x, params["w1"]) + params["b1"])
    return (-2.0 * t * (1.0 - t * t) * params["w1"] ** 2) @ params["w2"]


def draw(x: np.ndarray, u: np.ndarray, residual: np.ndarray, losses: list[float], points: np.ndarray
         ) -> _common.Drawing:
    def figure(plt):
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
        axes[0].plot(x, exact(x), "k", lw=2, label="exact")
        axes[0].plot(x, u, "--", color="tab:red", label="PINN")
        axes[0].plot(points, np.zeros_like(points), "|", color="0.5", label="collocation points")
        axes[0].set_title("u'' = f, u(0) = u(1) = 0")
        axes[0].legend(fontsize=8)
        axes[1].plot(x, residual, color="tab:purple")
        axes[1].set_title("residual u_xx − f (u_xx by nested s2sad.grad)")
        axes[2].semilogy(losses)
        axes[2].set_xlabel("Adam step")
        axes[2].set_title("PINN loss")
        fig.tight_layout()
        return fig
    return figure


def main() -> int:
    options = _common.parse_args(__doc__)
    out = _common.output_directory(options)
    width, points, steps = (16, 32, 400) if options.quick else (32, 96, 5000)
    rng = np.random.default_rng(10)
    params = {"w1": rng.normal(0.0, 4.0, width), "b1": rng.normal(0.0, 2.0, width),
              "w2": 0.1 * rng.standard_normal(width), "b2": 0.0}
    xs = np.linspace(0.0, 1.0, points)
    f = source(xs)

    _, g = loss_and_grad(params, xs, f)
    checks = [
        _common.report("u_xx against the closed form",
                       _common.relative_difference(u_xx(xs, **params), closed_form_u_xx(params, xs)), 1e-12),
        _common.report("the loss's gradient in the weights against central differences",
                       _common.gradient_difference(lambda p: pinn_loss(p, xs, f), params, g, h=1e-5), 1e-6),
    ]

    adam, losses = _common.Adam(rate=0.01), []
    for step in _common.progress(range(steps), total=steps, desc="training"):
        value, g = loss_and_grad(params, xs, f)
        losses.append(value)
        params = adam.step(params, g)
        if step == steps // 2:
            adam.rate = 0.003
    x = np.linspace(0.0, 1.0, 400)
    u = network(params, x)
    residual = u_xx(x, **params) - source(x)
    print(f"width {width}, {points} points, {steps} steps: loss {losses[0]:.3e} → {losses[-1]:.3e}; "
          f"largest error against the exact solution {np.max(np.abs(u - exact(x))):.1e}")
    _common.save_figure(draw(x, u, residual, losses, xs), out, "pinn.png")
    return _common.finish(*checks)


if __name__ == "__main__":
    sys.exit(main())
