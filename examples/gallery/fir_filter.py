"""FIR filter design: fit the taps of a low-pass filter to a desired magnitude response.

The frequency response H(ω) = Σₙ hₙ e^(−iωn) is summed tap by tap, its real and imaginary parts
in two arrays; the loss is the weighted squared error of |H| against the ideal low-pass
(1 in the pass band, 0 in the stop band, nothing asked in the transition band between). With
`s2sad.value_and_grad` the loss and its gradient go to SciPy's L-BFGS-B (`jac=True`). The
gradient is checked against central differences; the design is compared with the windowed-sinc
filter it starts from. The picture shows the magnitude responses in dB and the taps.

    python examples/gallery/fir_filter.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np
from scipy.optimize import minimize

import _common
import s2sad


def response(taps, omega):
    """|H(ω)| at the frequencies ω (radians per sample)."""
    re = np.zeros(omega.shape[0])
    im = np.zeros(omega.shape[0])
    for n in range(taps.shape[0]):
        re = re + taps[n] * np.cos(omega * n)
        im = im - taps[n] * np.sin(omega * n)
    return np.sqrt(re * re + im * im + 1e-12)


def design_loss(taps, omega, desired, weight):
    return np.sum(weight * (response(taps, omega) - desired) ** 2)


loss_and_grad = s2sad.value_and_grad(design_loss)


def windowed_sinc(n: int, cutoff: float) -> np.ndarray:
    """The classical starting design: an ideal low-pass impulse response under a Hamming window."""
    k = np.arange(n) - (n - 1) / 2.0
    return cutoff / np.pi * np.sinc(cutoff * k / np.pi) * np.hamming(n)


def decibels(x: np.ndarray) -> np.ndarray:
    return 20.0 * np.log10(np.maximum(x, 1e-6))


def draw(omega: np.ndarray, start: np.ndarray, fitted: np.ndarray, bands: tuple[float, float],
         taps0: np.ndarray, taps: np.ndarray) -> _common.Drawing:
    def figure(plt):
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [2, 1]})
        left.plot(omega / np.pi, decibels(start), color="0.6", label="windowed sinc (start)")
        left.plot(omega / np.pi, decibels(fitted), color="tab:red", label="fitted by L-BFGS on s2sad's gradient")
        left.axvspan(bands[0] / np.pi, bands[1] / np.pi, color="0.9", label="transition band")
        left.set_ylim(-100, 10)
        left.set_xlabel("ω / π")
        left.set_ylabel("|H(ω)| (dB)")
        left.set_title("FIR low-pass: magnitude response")
        left.legend(fontsize=8, loc="lower left")
        right.stem(taps, basefmt=" ")
        right.plot(taps0, ".", color="0.6")
        right.set_title("taps")
        fig.tight_layout()
        return fig
    return figure


def main() -> int:
    options = _common.parse_args(__doc__)
    out = _common.output_directory(options)
    n, points = (21, 256) if options.quick else (41, 1024)
    passband, stopband = 0.3 * np.pi, 0.4 * np.pi
    omega = np.linspace(0.0, np.pi, points)
    desired = (omega <= passband).astype(float)
    weight = np.where(omega <= passband, 1.0, np.where(omega >= stopband, 10.0, 0.0))
    taps0 = windowed_sinc(n, 0.5 * (passband + stopband))

    _, g = loss_and_grad(taps0, omega, desired, weight)
    checks = [_common.report("gradient against central differences",
                             _common.gradient_difference(lambda h: design_loss(h, omega, desired, weight), taps0, g),
                             1e-6)]

    losses = []

    def fun(h: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = loss_and_grad(h, omega, desired, weight)
        losses.append(value)
        return value, grad

    result = minimize(fun, taps0, jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    taps = result.x
    stop = omega >= stopband
    print(f"{n} taps: loss {losses[0]:.3e} → {result.fun:.3e} in {result.nit} L-BFGS iterations; "
          f"stop-band attenuation {-decibels(np.max(response(taps0, omega)[stop])):.1f} dB → "
          f"{-decibels(np.max(response(taps, omega)[stop])):.1f} dB")
    _common.save_figure(draw(omega, response(taps0, omega), response(taps, omega), (passband, stopband), taps0, taps),
                        out, "fir_filter.png")
    return _common.finish(*checks)


if __name__ == "__main__":
    sys.exit(main())
