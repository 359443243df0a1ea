"""A two-link robot arm steered to a target by backpropagation through its simulation.

The arm moves in a horizontal plane: two rigid links with point masses at their ends, joint
damping, and torques at the two joints. Its equations of motion M(q) q̈ = τ − c(q, q̇) − b q̇
(the 2×2 mass matrix solved by hand) are integrated with semi-implicit Euler in a plain loop.
The cost asks the hand to reach a target and stop there, with little effort; its gradient in
every step's torques comes from `s2sad.value_and_grad` (reverse mode through the whole
simulation), checked against central differences, and L-BFGS-B plans the torques. The
picture shows the arm's motion, the hand's path and the planned torques.

    python examples/gallery/robot_arm.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np
from scipy.optimize import minimize

import _common
import s2sad

L1, L2 = 1.0, 0.8        # link lengths (m)
M1, M2 = 1.0, 0.6        # masses at the elbow and at the hand (kg)
DAMPING = 0.3


def hand(q1, q2):
    """The hand's position for joint angles q1 (shoulder) and q2 (elbow, relative)."""
    return L1 * np.cos(q1) + L2 * np.cos(q1 + q2), L1 * np.sin(q1) + L2 * np.sin(q1 + q2)


def simulate_cost(torques, q0, target, dt, effort):
    """Run the arm from rest at q0 under torques (steps × 2); the cost of where it ends up."""
    q1, q2, v1, v2 = q0[0], q0[1], 0.0, 0.0
    for t in range(torques.shape[0]):
        c2, s2 = np.cos(q2), np.sin(q2)
        m11 = (M1 + M2) * L1 * L1 + M2 * L2 * L2 + 2.0 * M2 * L1 * L2 * c2
        m12 = M2 * L2 * L2 + M2 * L1 * L2 * c2
        m22 = M2 * L2 * L2
        f1 = torques[t, 0] + M2 * L1 * L2 * s2 * (2.0 * v1 * v2 + v2 * v2) - DAMPING * v1
        f2 = torques[t, 1] - M2 * L1 * L2 * s2 * v1 * v1 - DAMPING * v2
        det = m11 * m22 - m12 * m12
        a1 = (m22 * f1 - m12 * f2) / det
        a2 = (m11 * f2 - m12 * f1) / det
        v1 = v1 + dt * a1
        v2 = v2 + dt * a2
        q1 = q1 + dt * v1
        q2 = q2 + dt * v2
    x, y = hand(q1, q2)
    miss = (x - target[0]) ** 2 + (y - target[1]) ** 2
    return 100.0 * miss + 1.0 * (v1 * v1 + v2 * v2) + effort * dt * np.sum(torques * torques)


cost_and_grad = s2sad.value_and_grad(simulate_cost)


def joint_path(torques: np.ndarray, q0: np.ndarray, dt: float) -> np.ndarray:
    """The joint angles at every step (the same integrator, in NumPy, for the picture)."""
    q, v, path = q0.astype(float).copy(), np.zeros(2), [q0.astype(float).copy()]
    for tau in torques:
        c2, s2 = np.cos(q[1]), np.sin(q[1])
        m = np.array([[(M1 + M2) * L1 ** 2 + M2 * L2 ** 2 + 2 * M2 * L1 * L2 * c2, M2 * L2 ** 2 + M2 * L1 * L2 * c2],
                      [M2 * L2 ** 2 + M2 * L1 * L2 * c2, M2 * L2 ** 2]])
        f = tau + np.array([M2 * L1 * L2 * s2 * (2 * v[0] * v[1] + v[1] ** 2), -M2 * L1 * L2 * s2 * v[0] ** 2]) \
            - DAMPING * v
        v = v + dt * np.linalg.solve(m, f)
        q = q + dt * v
        path.append(q.copy())
    return np.array(path)


def draw(path: np.ndarray, target: np.ndarray, torques: np.ndarray, dt: float, losses: list[float]) -> _common.Drawing:
    def figure(plt):
        fig, axes = plt.subplots(1, 3, figsize=(13, 4), gridspec_kw={"width_ratios": [1.2, 1, 1]})
        arm = axes[0]
        frames = np.linspace(0, len(path) - 1, 9).astype(int)
        for k, i in enumerate(frames):
            q1, q2 = path[i]
            elbow = (L1 * np.cos(q1), L1 * np.sin(q1))
            x, y = hand(q1, q2)
            shade = 0.25 + 0.75 * k / (len(frames) - 1)
            arm.plot([0, elbow[0], x], [0, elbow[1], y], "-o", color=(0.1, 0.3, 0.8, shade), ms=4, lw=2)
        xs, ys = hand(path[:, 0], path[:, 1])
        arm.plot(xs, ys, ":", color="tab:gray", label="hand's path")
        arm.plot(*target, "*", color="tab:red", ms=14, label="target")
        arm.set_aspect("equal")
        arm.set_title("the arm's motion (darker: later)")
        arm.legend(fontsize=8, loc="lower left")
        t = dt * np.arange(len(torques))
        axes[1].plot(t, torques[:, 0], label="shoulder")
        axes[1].plot(t, torques[:, 1], label="elbow")
        axes[1].set_xlabel("time (s)")
        axes[1].set_ylabel("torque (N·m)")
        axes[1].set_title("planned torques")
        axes[1].legend(fontsize=8)
        axes[2].semilogy(losses)
        axes[2].set_xlabel("cost evaluation")
        axes[2].set_title("cost during L-BFGS")
        fig.tight_layout()
        return fig
    return figure


def main() -> int:
    options = _common.parse_args(__doc__)
    out = _common.output_directory(options)
    steps, iterations = (100, 100) if options.quick else (400, 500)
    dt, effort = 2.0 / steps, 0.05
    q0, target = np.array([-0.5, 0.3]), np.array([0.2, 1.3])
    rng = np.random.default_rng(6)
    torques = 0.1 * rng.standard_normal((steps, 2))

    _, g = cost_and_grad(torques, q0, target, dt, effort)
    checks = [_common.report("gradient in the torques against central differences",
                             _common.gradient_difference(lambda u: simulate_cost(u, q0, target, dt, effort), torques,
                                                         g), 1e-5)]  # (a cost of ~600: rounding ~1e-7)

    losses = []

    def fun(u: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = cost_and_grad(u.reshape(steps, 2), q0, target, dt, effort)
        losses.append(value)
        return value, grad.ravel()

    result = minimize(fun, torques.ravel(), jac=True, method="L-BFGS-B", options={"maxiter": iterations})
    torques = result.x.reshape(steps, 2)
    path = joint_path(torques, q0, dt)
    x, y = hand(*path[-1])
    print(f"{steps} steps of {dt:.3f} s: cost {losses[0]:.3f} → {result.fun:.4f} in {result.nit} L-BFGS iterations; "
          f"the hand ends {np.hypot(x - target[0], y - target[1]) * 1000:.1f} mm from the target")
    _common.save_figure(draw(path, target, torques, dt, losses), out, "robot_arm.png")
    return _common.finish(*checks)


if __name__ == "__main__":
    sys.exit(main())
