"""The heat equation's inverse problem: recover an initial temperature from a few sensors, with
the gradient through thousands of time steps taken in bounded memory (Binomial checkpointing).

A rod's temperature obeys u_t = κ u_xx with both ends held at 0. An explicit finite-difference
scheme advances it step by step in a plain loop; five sensors record the temperature every few
steps. From those records (with noise) the initial temperature is sought by minimising the
misfit plus a smoothness penalty, with L-BFGS-B on the gradient. Reverse mode would keep the
state of every step; `checkpoint=s2sad.Binomial(snapshots=...)` keeps a few and computes the
others again (docs/checkpointing.md). The script checks that gradient against the taped one
(StoreAll) and against central differences, and reports the memory each kept. The picture shows
the true and recovered initial temperature, the sensor records and the fitted ones.

    python examples/gallery/heat_inverse.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np
from scipy.optimize import minimize

import _common
import s2sad

SNAPSHOTS = 10


def heat_misfit(u0, r, steps, every, sensors, records, smoothing):
    """Σ (u(sensors) − records)² over the recording times, plus smoothing · Σ (Δu0)²; the rod
    advances by u_i ← u_i + r (u_{i+1} − 2u_i + u_{i−1}), its ends at 0."""
    n = u0.shape[0]
    u = u0.copy()
    u[0] = 0.0
    u[n - 1] = 0.0
    misfit = 0.0
    for t in range(steps):
        nxt = np.zeros(n)
        nxt[1:n - 1] = u[1:n - 1] + r * (u[2:] - 2.0 * u[1:n - 1] + u[:n - 2])
        u = nxt
        if (t + 1) % every == 0:
            miss = u[sensors] - records[(t + 1) // every - 1]
            misfit = misfit + np.sum(miss * miss)
    return misfit + smoothing * np.sum(np.diff(u0) ** 2)


checkpointed = s2sad.value_and_grad(heat_misfit, checkpoint=s2sad.Binomial(snapshots=SNAPSHOTS))
store_all = s2sad.value_and_grad(heat_misfit)  # every step's state on a tape, for the check


def simulate_records(u0: np.ndarray, r: float, steps: int, every: int, sensors: np.ndarray) -> np.ndarray:
    """The sensor readings (recording times × sensors), the same scheme in NumPy."""
    u, records = u0.copy(), []
    u[0] = u[-1] = 0.0
    for t in range(steps):
        u[1:-1] = u[1:-1] + r * (u[2:] - 2.0 * u[1:-1] + u[:-2])
        if (t + 1) % every == 0:
            records.append(u[sensors].copy())
    return np.array(records)


def draw(x: np.ndarray, truth: np.ndarray, found: np.ndarray, times: np.ndarray, records: np.ndarray,
         fitted: np.ndarray, sensors: np.ndarray, memory: tuple[int, int]) -> _common.Drawing:
    def figure(plt):
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
        left.plot(x, truth, "k", label="true initial temperature")
        left.plot(x, found, "--", color="tab:red", label="recovered from the sensors")
        for s in sensors:
            left.axvline(x[s], color="0.85", lw=1)
        left.set_xlabel("position x (grey: sensors)")
        left.set_title("initial temperature")
        left.legend(fontsize=8)
        for k in range(records.shape[1]):
            line, = right.plot(times, fitted[:, k], lw=1)
            right.plot(times, records[:, k], ".", ms=3, color=line.get_color())
        right.set_xlabel("time")
        right.set_title(f"sensor records (dots) and the fit\ngradient's memory: {memory[0] / 1024:.1f} KiB with "
                        f"Binomial({SNAPSHOTS}), {memory[1] / 1024:.0f} KiB taped", fontsize=10)
        fig.tight_layout()
        return fig
    return figure


def main() -> int:
    options = _common.parse_args(__doc__)
    out = _common.output_directory(options)
    n, steps, every = (41, 600, 20) if options.quick else (101, 5000, 50)
    kappa, t_end = 1.0, 0.05
    dx = 1.0 / (n - 1)
    dt = t_end / steps
    r = kappa * dt / dx ** 2
    assert r <= 0.5, "the explicit scheme needs r = κ dt / dx² ≤ 1/2"
    x = np.linspace(0.0, 1.0, n)
    truth = np.exp(-((x - 0.3) / 0.08) ** 2) + 0.6 * np.exp(-((x - 0.65) / 0.12) ** 2)
    sensors = np.round(np.linspace(0.15, 0.85, 5) * (n - 1)).astype(np.int64)
    rng = np.random.default_rng(9)
    clean = simulate_records(truth, r, steps, every, sensors)
    records = clean + 0.002 * rng.standard_normal(clean.shape)
    smoothing = 1e-3
    args = (r, steps, every, sensors, records, smoothing)

    guess = np.zeros(n)
    probe = 0.5 * np.sin(np.pi * x) + 0.1 * rng.standard_normal(n)
    _, g = checkpointed(probe, *args)
    kept = checkpointed.tape_bytes
    _, g_taped = store_all(probe, *args)
    taped = store_all.tape_bytes
    checks = [
        _common.report(f"Binomial({SNAPSHOTS}) gradient against the taped (StoreAll) gradient",
                       _common.relative_difference(g, g_taped), 1e-12),
        _common.report("gradient against central differences",
                       _common.gradient_difference(lambda u: heat_misfit(u, *args), probe, g, coordinates=12,
                                                   directions=4), 1e-6),
    ]
    print(f"{steps} steps: the gradient kept {kept} bytes with Binomial({SNAPSHOTS}) ({checkpointed.advances} steps "
          f"run again), {taped} bytes taped ({taped / kept:.0f}x more)")

    evaluations = []

    def fun(u: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = checkpointed(u, *args)
        evaluations.append(value)
        return value, grad

    result = minimize(fun, guess, jac=True, method="L-BFGS-B", options={"maxiter": 300})
    found = result.x.copy()
    found[0] = found[-1] = 0.0  # (the model holds the ends at 0 whatever u0 says there)
    interior = slice(1, n - 1)
    error = np.max(np.abs(found[interior] - truth[interior])) / np.max(truth)
    print(f"L-BFGS-B: misfit {evaluations[0]:.3e} → {result.fun:.3e} in {result.nit} iterations; largest error of "
          f"the recovered initial temperature {error:.1%} of its peak")
    times = dt * every * np.arange(1, records.shape[0] + 1)
    _common.save_figure(draw(x, truth, found, times, records, simulate_records(found, r, steps, every, sensors),
                             sensors, (kept, taped)), out, "heat_inverse.png")
    return _common.finish(*checks)


if __name__ == "__main__":
    sys.exit(main())
