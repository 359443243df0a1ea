"""Monte Carlo option Greeks (delta, vega) by the reparameterisation trick, with common random numbers.

A European call is priced by simulating geometric Brownian motion step by step: the normal
draws Z are an argument, so each path is a smooth function of the spot S0 and the volatility σ
(the reparameterisation, or pathwise, estimator) and every price is made from the same draws
(common random numbers, drawn in antithetic pairs Z, −Z). `s2sad.grad` of the price in (S0, σ)
is then the pathwise delta and vega, from one simulation. The script checks them against central
differences of the price with the same draws (which they must match to rounding) and compares
them with Black–Scholes' closed forms (which they match to within the Monte Carlo error). The
picture shows delta and vega across spot prices, Monte Carlo against Black–Scholes.

    python examples/gallery/option_greeks.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys
from math import erf, exp, log, pi, sqrt

import numpy as np

import _common
import s2sad


def call_price(S0, sigma, r, T, K, Z):
    """e^(−rT) E[max(S_T − K, 0)], S following GBM over Z.shape[1] steps of the log-price,
    one path per row of the standard normal draws Z."""
    paths, steps = Z.shape
    dt = T / steps
    log_s = np.full(paths, np.log(S0))
    for k in range(steps):
        log_s = log_s + (r - 0.5 * sigma * sigma) * dt + sigma * np.sqrt(dt) * Z[:, k]
    payoff = np.maximum(np.exp(log_s) - K, 0.0)
    return np.exp(-r * T) * np.mean(payoff)


greeks = s2sad.value_and_grad(call_price, wrt=("S0", "sigma"))  # price, (delta, vega)


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + erf(x / sqrt(2.0)))


def black_scholes(S0: float, sigma: float, r: float, T: float, K: float) -> tuple[float, float, float]:
    """The closed-form price, delta and vega of a European call."""
    d1 = (log(S0 / K) + (r + 0.5 * sigma ** 2) * T) / (sigma * sqrt(T))
    d2 = d1 - sigma * sqrt(T)
    price = S0 * normal_cdf(d1) - K * exp(-r * T) * normal_cdf(d2)
    return price, normal_cdf(d1), S0 * sqrt(T) * exp(-0.5 * d1 * d1) / sqrt(2.0 * pi)


def draw(spots: np.ndarray, mc: np.ndarray, bs: np.ndarray, K: float) -> _common.Drawing:
    def figure(plt):
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
        for axis, j, name in ((axes[0], 1, "delta ∂V/∂S0"), (axes[1], 2, "vega ∂V/∂σ")):
            axis.plot(spots, bs[:, j], "k", lw=1.5, label="Black–Scholes")
            axis.plot(spots, mc[:, j], "o", ms=4, color="tab:red", label="Monte Carlo, s2sad (pathwise)")
            axis.axvline(K, color="0.7", lw=0.8)
            axis.set_xlabel("spot S0 (strike marked)")
            axis.set_title(name)
            axis.legend(fontsize=8)
        fig.tight_layout()
        return fig
    return figure


def main() -> int:
    options = _common.parse_args(__doc__)
    out = _common.output_directory(options)
    paths, steps, points = (4000, 12, 9) if options.quick else (100000, 50, 25)
    sigma, r, T, K = 0.25, 0.03, 1.0, 100.0
    half = np.random.default_rng(11).standard_normal((paths // 2, steps))
    Z = np.vstack([half, -half])  # common random numbers, in antithetic pairs (less sampling noise)

    S0 = 105.0
    price, (delta, vega) = greeks(S0, sigma, r, T, K, Z)
    h_s, h_v = 1e-6 * S0, 1e-7  # small: a path whose payoff kink falls between ±h adds an error ∝ h
    fd_delta = (call_price(S0 + h_s, sigma, r, T, K, Z) - call_price(S0 - h_s, sigma, r, T, K, Z)) / (2 * h_s)
    fd_vega = (call_price(S0, sigma + h_v, r, T, K, Z) - call_price(S0, sigma - h_v, r, T, K, Z)) / (2 * h_v)
    bs = black_scholes(S0, sigma, r, T, K)
    checks = [
        _common.report("delta and vega against central differences with the same draws",
                       _common.relative_difference([delta, vega], [fd_delta, fd_vega]), 1e-6),
    ]
    print(f"S0 = {S0}: price {price:.4f} (Black–Scholes {bs[0]:.4f}), delta {delta:.4f} ({bs[1]:.4f}), "
          f"vega {vega:.3f} ({bs[2]:.3f}); {paths} paths of {steps} steps")

    spots = np.linspace(70.0, 140.0, points)
    mc = np.empty((points, 3))  # price, delta, vega at each spot
    for i in _common.progress(range(points), total=points, desc="spots"):
        value, (mc[i, 1], mc[i, 2]) = greeks(spots[i], sigma, r, T, K, Z)
        mc[i, 0] = value
    closed = np.array([black_scholes(s, sigma, r, T, K) for s in spots])
    error = np.max(np.abs(mc[:, 1:] - closed[:, 1:]) / np.max(np.abs(closed[:, 1:]), axis=0))
    print(f"Monte Carlo against Black–Scholes over the spots: largest difference {error:.1e} relative "
          f"(sampling error, which shrinks as 1/√paths)")
    _common.save_figure(draw(spots, mc, closed, K), out, "option_greeks.png")
    return _common.finish(*checks)


if __name__ == "__main__":
    sys.exit(main())
