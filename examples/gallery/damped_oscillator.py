"""Parameter sensitivities of a damped oscillator: ∂x(t)/∂k, ∂x(t)/∂c, ∂x(t)/∂x0 along the path.

x'' + c x' + k x = 0 is integrated with the classical Runge–Kutta method in a plain loop that
stores every position in an array. `s2sad.jacobian` (forward mode: one tangent per parameter)
gives the whole sensitivity matrix ∂x(t_i)/∂(k, c, x0) in one call. The script checks it against
central differences of the simulation and against the exact solution's derivatives, and draws
the trajectory with its three sensitivity curves.

    python examples/gallery/damped_oscillator.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np

import _common
import s2sad


def acceleration(x, v, k, c):
    return -k * x - c * v


def trajectory(theta, v0, dt, steps):
    """The positions x(t_0 … t_steps) for θ = (k, c, x0), by RK4."""
    k, c = theta[0], theta[1]
    x, v = theta[2], v0
    xs = np.zeros(steps + 1)
    xs[0] = x
    for i in range(steps):
        a1 = acceleration(x, v, k, c)
        a2 = acceleration(x + 0.5 * dt * v, v + 0.5 * dt * a1, k, c)
        a3 = acceleration(x + 0.5 * dt * (v + 0.5 * dt * a1), v + 0.5 * dt * a2, k, c)
        a4 = acceleration(x + dt * (v + 0.5 * dt * a2), v + dt * a3, k, c)
        x = x + dt * v + dt * dt / 6.0 * (a1 + a2 + a3)
        v = v + dt / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
        xs[i + 1] = x
    return xs


sensitivities = s2sad.jacobian(trajectory, wrt="theta")  # shape (steps + 1, 3)


def exact(theta: np.ndarray, v0: float, t: np.ndarray) -> np.ndarray:
    """The underdamped solution x(t) = e^(−ct/2) (x0 cos ωt + (v0 + c x0 / 2) / ω sin ωt)."""
    k, c, x0 = theta
    w = np.sqrt(k - c * c / 4.0)
    return np.exp(-c * t / 2.0) * (x0 * np.cos(w * t) + (v0 + c * x0 / 2.0) / w * np.sin(w * t))


def exact_sensitivities(theta: np.ndarray, v0: float, t: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """∂x/∂θ of the exact solution (central differences of the closed form, which has no
    integration error): the ODE's own sensitivities, which RK4's approach as dt → 0."""
    columns = []
    for j in range(3):
        e = np.zeros(3)
        e[j] = h
        columns.append((exact(theta + e, v0, t) - exact(theta - e, v0, t)) / (2 * h))
    return np.stack(columns, axis=1)


def draw(t: np.ndarray, xs: np.ndarray, J: np.ndarray) -> _common.Drawing:
    def figure(plt):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True)
        top.plot(t, xs, "k")
        top.set_ylabel("x(t)")
        top.set_title("damped oscillator x'' + c x' + k x = 0 (RK4)")
        for j, name in enumerate(["∂x/∂k", "∂x/∂c", "∂x/∂x0"]):
            bottom.plot(t, J[:, j], label=name)
        bottom.set_xlabel("t")
        bottom.set_ylabel("sensitivity")
        bottom.set_title("s2sad.jacobian: the sensitivities along the whole path, in one call")
        bottom.legend(fontsize=8)
        fig.tight_layout()
        return fig
    return figure


def main() -> int:
    options = _common.parse_args(__doc__)
    out = _common.output_directory(options)
    t_end, steps = (20.0, 400) if options.quick else (20.0, 4000)
    dt = t_end / steps
    theta = np.array([4.0, 0.3, 1.0])  # k, c, x0
    v0 = 0.0
    xs = trajectory(theta, v0, dt, steps)
    J = sensitivities(theta, v0, dt, steps)
    t = dt * np.arange(steps + 1)

    # central differences of the whole simulation, one column per parameter
    fd = np.stack([(trajectory(theta + h, v0, dt, steps) - trajectory(theta - h, v0, dt, steps)) / (2e-6)
                   for h in 1e-6 * np.eye(3)], axis=1)
    ode = exact_sensitivities(theta, v0, t)
    checks = [
        _common.report("∂x(t)/∂θ against central differences of the simulation",
                       _common.relative_difference(J, fd), 1e-7),
        _common.report("∂x(t)/∂θ against the exact solution's derivatives (RK4's error included)",
                       _common.relative_difference(J, ode), 1e-3 if options.quick else 1e-7),
    ]
    print(f"{steps} RK4 steps; x(T) = {xs[-1]:.6f} (exact {exact(theta, v0, t[-1:])[0]:.6f}); "
          f"∂x(T)/∂(k, c, x0) = {np.array2string(J[-1], precision=5)}")
    _common.save_figure(draw(t, xs, J), out, "damped_oscillator.png")
    return _common.finish(*checks)


if __name__ == "__main__":
    sys.exit(main())
