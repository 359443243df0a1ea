"""A Siamese network: one set of weights embeds both inputs of a pair, trained by a contrastive loss.

Points of three classes lie on three noisy concentric rings, which no straight line separates.
A small tanh network embeds each point in the plane; pairs of the same class are pulled
together and pairs of different classes pushed at least a margin apart. The two branches are
the same helper `embed` called twice with the same weights, so the gradient `s2sad.grad` gives
is the sum of what reaches the weights through each branch. The script checks this against a
two-tower version (separate weights, evaluated at equal values, gradients added) and against
central differences. The picture shows the inputs and their learned embeddings.

    python examples/gallery/siamese.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np

import _common
import s2sad

MARGIN = 1.0


def embed(params, X):
    """The embedding of the rows of X: a two-layer tanh network."""
    h = np.tanh(X @ params["W1"] + params["b1"])
    return h @ params["W2"] + params["b2"]


def pair_loss(ea, eb, same):
    """Contrastive loss: d² for pairs of one class, max(0, m − d)² for the others."""
    d2 = np.sum((ea - eb) ** 2, axis=1)
    d = np.sqrt(d2 + 1e-9)
    return np.mean(same * d2 + (1.0 - same) * np.maximum(MARGIN - d, 0.0) ** 2)


def siamese_loss(params, A, B, same):
    """Both branches share `params`."""
    return pair_loss(embed(params, A), embed(params, B), same)


def two_tower_loss(left, right, A, B, same):
    """The same network with a set of weights per branch (for the check)."""
    return pair_loss(embed(left, A), embed(right, B), same)


loss_and_grad = s2sad.value_and_grad(siamese_loss)
tower_grads = s2sad.grad(two_tower_loss, wrt=("left", "right"))


def rings(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points of each of three classes, on rings of radius 1, 2 and 3."""
    labels = np.repeat(np.arange(3), n)
    angle = rng.uniform(0.0, 2.0 * np.pi, 3 * n)
    radius = 1.0 + labels + 0.15 * rng.standard_normal(3 * n)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1), labels


def pairs(X: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """n random pairs, half of them of one class."""
    i = rng.integers(0, len(X), n)
    j = rng.integers(0, len(X), n)
    half = n // 2  # the first half: a partner of the same class
    for k in range(half):
        choices = np.flatnonzero(labels == labels[i[k]])
        j[k] = choices[rng.integers(0, len(choices))]
    return X[i], X[j], (labels[i] == labels[j]).astype(float)


def draw(X: np.ndarray, labels: np.ndarray, E: np.ndarray, losses: list[float]) -> _common.Drawing:
    def figure(plt):
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
        for c in range(3):
            axes[0].scatter(*X[labels == c].T, s=6, label=f"class {c}")
            axes[1].scatter(*E[labels == c].T, s=6)
        axes[0].set_title("inputs: three rings")
        axes[0].set_aspect("equal")
        axes[0].legend(fontsize=8, markerscale=2)
        axes[1].set_title("learned embeddings (shared weights)")
        axes[2].semilogy(losses)
        axes[2].set_xlabel("step")
        axes[2].set_title("contrastive loss")
        fig.tight_layout()
        return fig
    return figure


def main() -> int:
    options = _common.parse_args(__doc__)
    out = _common.output_directory(options)
    per_class, hidden, steps, batch = (60, 16, 300, 128) if options.quick else (300, 32, 3000, 256)
    rng = np.random.default_rng(2)
    X, labels = rings(per_class, rng)
    params = {"W1": rng.standard_normal((2, hidden)), "b1": np.zeros(hidden),
              "W2": rng.standard_normal((hidden, 2)) / np.sqrt(hidden), "b2": np.zeros(2)}

    A, B, same = pairs(X, labels, 64, rng)
    _, g = loss_and_grad(params, A, B, same)
    left, right = tower_grads(params, params, A, B, same)
    summed = {k: left[k] + right[k] for k in params}
    checks = [
        _common.report("shared-weight gradient against the two branches' gradients added",
                       _common.relative_difference(g, summed), 1e-12),
        _common.report("gradient against central differences",
                       _common.gradient_difference(lambda p: siamese_loss(p, A, B, same), params, g), 1e-6),
    ]

    losses, adam = [], _common.Adam(rate=0.01)
    for _ in _common.progress(range(steps), total=steps, desc="training"):
        loss, g = loss_and_grad(params, *pairs(X, labels, batch, rng))
        losses.append(loss)
        params = adam.step(params, g)
    print(f"{steps} steps: contrastive loss {np.mean(losses[:10]):.3f} → {np.mean(losses[-10:]):.3f} "
          "(means of the first and last 10 steps)")
    _common.save_figure(draw(X, labels, embed(params, X), losses), out, "siamese.png")
    return _common.finish(*checks)


if __name__ == "__main__":
    sys.exit(main())
