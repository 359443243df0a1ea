"""Inverse rendering: recover the centres, radii and colours of soft circles from an image.

A renderer paints circles one after another onto a pixel grid, each with a soft edge (a
sigmoid of the distance to its rim) and its own intensity, composited over what is already
there. Given a target image rendered from hidden circles, gradient descent on the squared pixel
error moves an initial guess until its rendering matches. `s2sad.grad` differentiates the
renderer, loop over circles and compositing included; the gradient is checked against central
differences. The picture shows the target, the initial guess, the fit and the loss curve.

    python examples/gallery/inverse_rendering.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np

import _common
import s2sad

SOFTNESS = 0.02  # the width of a circle's edge, in units of the image's side


def render(circles, X, Y):
    """Circles (rows: cx, cy, radius, intensity) painted in order over a black background."""
    image = np.zeros(X.shape)
    for k in range(circles.shape[0]):
        cx, cy, radius, intensity = circles[k, 0], circles[k, 1], circles[k, 2], circles[k, 3]
        distance = np.sqrt((X - cx) ** 2 + (Y - cy) ** 2)
        coverage = 1.0 / (1.0 + np.exp((distance - radius) / SOFTNESS))
        image = image * (1.0 - coverage) + intensity * coverage
    return image


def image_error(circles, X, Y, target):
    return np.mean((render(circles, X, Y) - target) ** 2)


error_and_grad = s2sad.value_and_grad(image_error)


def draw(target: np.ndarray, first: np.ndarray, fitted: np.ndarray, losses: list[float]) -> _common.Drawing:
    def figure(plt):
        fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
        for axis, image, title in zip(axes, (target, first, fitted), ("target", "initial guess", "fitted")):
            axis.imshow(image, cmap="magma", vmin=0.0, vmax=1.0, origin="lower")
            axis.set_title(title)
            axis.set_xticks([])
            axis.set_yticks([])
        axes[3].semilogy(losses)
        axes[3].set_xlabel("Adam step")
        axes[3].set_title("pixel error")
        fig.tight_layout()
        return fig
    return figure


def main() -> int:
    options = _common.parse_args(__doc__)
    out = _common.output_directory(options)
    pixels, steps = (48, 250) if options.quick else (128, 600)
    g = (np.arange(pixels) + 0.5) / pixels
    X, Y = np.meshgrid(g, g)
    truth = np.array([[0.30, 0.35, 0.18, 0.9], [0.65, 0.60, 0.22, 0.6], [0.55, 0.25, 0.12, 0.35],
                      [0.30, 0.75, 0.10, 0.75]])
    target = render(truth, X, Y)
    rng = np.random.default_rng(8)
    circles = truth + np.column_stack([0.08 * rng.standard_normal((4, 2)), 0.04 * rng.standard_normal(4),
                                       np.full(4, -0.2)])
    first = render(circles, X, Y)

    _, g_circles = error_and_grad(circles, X, Y, target)
    checks = [_common.report("gradient against central differences",
                             _common.gradient_difference(lambda c: image_error(c, X, Y, target), circles, g_circles),
                             1e-6)]

    adam, losses = _common.Adam(rate=0.004), []
    for _ in _common.progress(range(steps), total=steps, desc="fitting"):
        value, g_circles = error_and_grad(circles, X, Y, target)
        losses.append(value)
        circles = adam.step(circles, g_circles)
    print(f"{pixels}×{pixels} pixels, {steps} steps: error {losses[0]:.2e} → {losses[-1]:.2e}; largest error in a "
          f"circle's parameters {np.max(np.abs(circles - truth)):.1e}")
    _common.save_figure(draw(target, first, render(circles, X, Y), losses), out, "inverse_rendering.png")
    return _common.finish(*checks)


if __name__ == "__main__":
    sys.exit(main())
