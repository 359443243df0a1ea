"""Batch normalisation and residual blocks: a small ResNet separates two interleaved spirals.

The network lifts the plane to a few features, then applies residual blocks
h ← h + W₂ relu(BN(W₁ relu(BN(h)))), where BN normalises each feature with the mean and
variance of the batch, and reads out a logit. The parameters are a dict holding a list of the
blocks' dicts; `s2sad.grad` returns the gradient in the same structure, through the batch
statistics (every sample's output depends on the whole batch). Checks: central differences,
and a property of BN: the loss does not change when W₁ of a block is scaled (the BN after it
undoes the scale), so ⟨W₁, ∂L/∂W₁⟩ = 0 up to the effect of BN's ε. The picture shows the
learned decision regions and the loss curve.

    python examples/gallery/batchnorm_resnet.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np

import _common
import s2sad


def batch_norm(h, r, gamma, beta):
    """Normalise the features of h (its columns) with the mean and variance of the batch r, then
    scale and shift. Training passes r = h itself; prediction passes the training batch."""
    mean = np.mean(r, axis=0)
    scale = 1.0 / np.sqrt(np.var(r, axis=0) + 1e-5)
    return gamma * (h - mean) * scale + beta, gamma * (r - mean) * scale + beta


def res_block(h, r, block):
    """h + W2 relu(BN(W1 relu(BN(h)))), for the batch h and the reference batch r alike."""
    z, zr = batch_norm(h, r, block["gamma1"], block["beta1"])
    z, zr = np.maximum(z, 0.0) @ block["W1"], np.maximum(zr, 0.0) @ block["W1"]
    z, zr = batch_norm(z, zr, block["gamma2"], block["beta2"])
    return h + np.maximum(z, 0.0) @ block["W2"], r + np.maximum(zr, 0.0) @ block["W2"]


def logits(params, X, R):
    """The network's logits for the rows of X, batch statistics taken from R."""
    h, r = X @ params["W_in"] + params["b_in"], R @ params["W_in"] + params["b_in"]
    for block in params["blocks"]:
        h, r = res_block(h, r, block)
    return h @ params["w_out"] + params["b_out"]


def loss(params, X, y):
    """Logistic loss of the labels y ∈ {−1, 1}; the batch is its own reference."""
    return np.mean(np.logaddexp(0.0, -y * logits(params, X, X)))


loss_and_grad = s2sad.value_and_grad(loss)


def spirals(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points on each of two interleaved spirals, labelled −1 and 1."""
    t = np.sqrt(rng.uniform(0.05, 1.0, n)) * 3.0 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3.0 * np.pi)
    X = np.vstack([arm, -arm]) + 0.03 * rng.standard_normal((2 * n, 2))
    return X, np.concatenate([-np.ones(n), np.ones(n)])


def initial_params(width: int, blocks: int, rng: np.random.Generator) -> dict:
    def block() -> dict:
        return {"gamma1": np.ones(width), "beta1": np.zeros(width),
                "W1": rng.standard_normal((width, width)) / np.sqrt(width),
                "gamma2": np.ones(width), "beta2": np.zeros(width),
                "W2": 0.5 * rng.standard_normal((width, width)) / np.sqrt(width)}
    return {"W_in": rng.standard_normal((2, width)), "b_in": rng.standard_normal(width),
            "blocks": [block() for _ in range(blocks)],
            "w_out": rng.standard_normal(width) / np.sqrt(width), "b_out": 0.0}


def draw(params: dict, X: np.ndarray, y: np.ndarray, losses: list[float]) -> _common.Drawing:
    def figure(plt):
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
        g = np.linspace(-1.3, 1.3, 150)
        gx, gy = np.meshgrid(g, g)
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        z = logits(params, grid, X).reshape(gx.shape)  # batch statistics of the training set
        left.contourf(gx, gy, z > 0.0, levels=1, colors=["#c6dbef", "#fdd0a2"])
        left.scatter(*X[y < 0].T, s=5, c="tab:blue")
        left.scatter(*X[y > 0].T, s=5, c="tab:orange")
        left.set_aspect("equal")
        left.set_title(f"ResNet with batch norm: decision regions ({len(params['blocks'])} blocks)")
        window = 25
        right.semilogy(losses, color="0.8", lw=0.8, label="each minibatch")
        right.semilogy(np.arange(window - 1, len(losses)), np.convolve(losses, np.ones(window) / window, "valid"),
                       color="tab:blue", label=f"running mean of {window}")
        right.set_xlabel("Adam step")
        right.set_title("logistic loss")
        right.legend(fontsize=8)
        fig.tight_layout()
        return fig
    return figure


def main() -> int:
    options = _common.parse_args(__doc__)
    out = _common.output_directory(options)
    n, width, blocks, steps = (150, 16, 2, 300) if options.quick else (400, 32, 3, 2000)
    rng = np.random.default_rng(4)
    X, y = spirals(n, rng)
    params = initial_params(width, blocks, rng)

    batch = rng.choice(len(X), 64, replace=False)
    _, g = loss_and_grad(params, X[batch], y[batch])
    W1, G1 = params["blocks"][0]["W1"], g["blocks"][0]["W1"]
    checks = [
        _common.report("gradient against central differences",
                       _common.gradient_difference(lambda p: loss(p, X[batch], y[batch]), params, g), 1e-6),
        _common.report("BN's scale invariance, ⟨W1, ∂L/∂W1⟩ / (|W1| |∂L/∂W1|) against 0 (BN's ε: ~1e-5)",
                       abs(np.sum(W1 * G1)) / (np.linalg.norm(W1) * np.linalg.norm(G1)), 1e-3),
    ]

    adam, losses = _common.Adam(rate=0.01), []
    for _ in _common.progress(range(steps), total=steps, desc="training"):
        pick = rng.choice(len(X), 128, replace=False)
        value, g = loss_and_grad(params, X[pick], y[pick])
        losses.append(value)
        params = adam.step(params, g)
    accuracy = np.mean(np.sign(logits(params, X, X)) == y)
    print(f"{blocks} residual blocks of width {width}, {steps} steps: loss {np.mean(losses[:10]):.3f} → "
          f"{np.mean(losses[-10:]):.3f}; training accuracy {accuracy:.1%}")
    _common.save_figure(draw(params, X, y, losses), out, "batchnorm_resnet.png")
    return _common.finish(*checks)


if __name__ == "__main__":
    sys.exit(main())
