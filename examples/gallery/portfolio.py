"""Portfolio sensitivities: the Sharpe ratio's gradient in the weights and in the return data.

The Sharpe ratio S = (wᵀμ − r_f) / √(wᵀΣw) of a portfolio is computed from a table of daily
returns R (days × assets): the means and the covariance matrix are estimated in loops, as a
spreadsheet would. `s2sad.grad` gives ∂S/∂w (checked against its closed form
μ/σ − (wᵀμ − r_f) Σw/σ³) and ∂S/∂R, how much each day's return of each asset moves the ratio
(checked against central differences). A long-only portfolio w = softmax(z) is then improved by
gradient ascent on z. The picture shows the ascent, the weights before and after, and ∂S/∂w.

    python examples/gallery/portfolio.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np

import _common
import s2sad

DAYS_PER_YEAR = 252.0


def sharpe(w, R, rf):
    """The annualised Sharpe ratio of weights w on the daily returns R (days × assets)."""
    days, n = R.shape
    mu = np.zeros(n)
    for i in range(n):
        mu[i] = np.sum(R[:, i]) / days
    cov = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            cov[i, j] = np.sum((R[:, i] - mu[i]) * (R[:, j] - mu[j])) / (days - 1)
            cov[j, i] = cov[i, j]
    excess = w @ mu - rf
    return np.sqrt(DAYS_PER_YEAR) * excess / np.sqrt(w @ cov @ w)


def softmax_sharpe(z, R, rf):
    """The Sharpe ratio of the long-only weights softmax(z)."""
    e = np.exp(z - np.max(z))
    return sharpe(e / np.sum(e), R, rf)


d_sharpe = s2sad.grad(sharpe, wrt=("w", "R"))
ascent = s2sad.value_and_grad(softmax_sharpe)


def closed_form(w: np.ndarray, R: np.ndarray, rf: float) -> np.ndarray:
    """∂S/∂w = √252 (μ/σ − (wᵀμ − r_f) Σw / σ³)."""
    mu, cov = R.mean(axis=0), np.cov(R, rowvar=False)
    sigma = np.sqrt(w @ cov @ w)
    return np.sqrt(DAYS_PER_YEAR) * (mu / sigma - (w @ mu - rf) * (cov @ w) / sigma ** 3)


def market(days: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Daily returns of n assets: one common factor and noise, with different drifts and risks."""
    drift = rng.uniform(0.0, 0.0008, n)
    beta = rng.uniform(0.5, 1.5, n)
    noise = rng.uniform(0.005, 0.02, n)
    factor = 0.01 * rng.standard_normal(days)
    return drift + np.outer(factor, beta) + noise * rng.standard_normal((days, n))


def draw(history: list[float], w0: np.ndarray, w: np.ndarray, g: np.ndarray) -> _common.Drawing:
    def figure(plt):
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
        axes[0].plot(history)
        axes[0].set_xlabel("gradient-ascent step")
        axes[0].set_ylabel("Sharpe ratio")
        axes[0].set_title("maximising S(softmax(z))")
        assets = np.arange(len(w))
        axes[1].bar(assets - 0.2, w0, 0.4, label="equal")
        axes[1].bar(assets + 0.2, w, 0.4, label="after ascent")
        axes[1].set_xlabel("asset")
        axes[1].set_title("weights")
        axes[1].legend(fontsize=8)
        axes[2].bar(assets, g, color="tab:green")
        axes[2].set_xlabel("asset")
        axes[2].set_title("∂S/∂w at equal weights")
        fig.tight_layout()
        return fig
    return figure


def main() -> int:
    options = _common.parse_args(__doc__)
    out = _common.output_directory(options)
    days, n, steps = (120, 6, 100) if options.quick else (750, 12, 600)
    rf = 0.0001
    R = market(days, n, np.random.default_rng(3))
    w0 = np.full(n, 1.0 / n)

    g_w, g_R = d_sharpe(w0, R, rf)
    small = R[:40] if days > 40 else R  # the data check on 40 days: central differences per entry
    g_small = d_sharpe(w0, small, rf)[1]
    checks = [
        _common.report("∂S/∂w against the closed form", _common.relative_difference(g_w, closed_form(w0, R, rf)),
                       1e-10),
        _common.report("∂S/∂w against central differences",
                       _common.gradient_difference(lambda w: sharpe(w, R, rf), w0, g_w), 1e-6),
        _common.report("∂S/∂R against central differences",
                       _common.gradient_difference(lambda r: sharpe(w0, r, rf), small, g_small, h=1e-7), 1e-5),
    ]
    day, asset = np.unravel_index(np.argmax(np.abs(g_R)), g_R.shape)
    print(f"Sharpe ratio at equal weights {sharpe(w0, R, rf):.3f}; the most influential return is asset "
          f"{asset} on day {day} (∂S/∂R = {g_R[day, asset]:.3f})")

    z, history = np.zeros(n), []
    for _ in _common.progress(range(steps), total=steps, desc="ascent"):
        value, g = ascent(z, R, rf)
        history.append(value)
        z = z + 2.0 * g
    e = np.exp(z - z.max())
    w = e / e.sum()
    print(f"after {steps} steps of gradient ascent: Sharpe ratio {history[0]:.3f} → {sharpe(w, R, rf):.3f}")
    _common.save_figure(draw(history, w0, w, g_w), out, "portfolio.png")
    return _common.finish(*checks)


if __name__ == "__main__":
    sys.exit(main())
