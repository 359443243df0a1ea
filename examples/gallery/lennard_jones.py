"""Lennard-Jones forces as F = −∇E, and a short molecular-dynamics run (velocity Verlet).

The potential energy of a 2-D cluster is written as a double loop over pairs of particles; the
forces are minus its gradient, from `s2sad.grad`, with no force routine written by hand. The
script checks them against the closed-form pair forces and against central differences of the
energy, then integrates Newton's equations with velocity Verlet and draws the particles' paths
and the kinetic, potential and total energy (the total should stay flat).

    python examples/gallery/lennard_jones.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np

import _common
import s2sad


def lj_energy(pos, epsilon, sigma):
    """E = Σ_{i<j} 4ε ((σ/r)¹² − (σ/r)⁶) over the pairs of particles (the rows of pos)."""
    n = pos.shape[0]
    energy = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            d = pos[i] - pos[j]
            s6 = (sigma * sigma / np.sum(d * d)) ** 3
            energy = energy + 4.0 * epsilon * (s6 * s6 - s6)
    return energy


energy_and_gradient = s2sad.value_and_grad(lj_energy)  # (E, ∂E/∂pos); the forces are −∂E/∂pos


def energy_and_forces(pos: np.ndarray, epsilon: float, sigma: float) -> tuple[float, np.ndarray]:
    """E and F = −∇E, by s2sad."""
    energy, gradient = energy_and_gradient(pos, epsilon, sigma)
    return energy, -gradient


def closed_form_forces(pos: np.ndarray, epsilon: float, sigma: float) -> np.ndarray:
    """The textbook pair forces, F_i = Σ_j 24ε (2(σ/r)¹² − (σ/r)⁶) d_ij / r², for the check."""
    d = pos[:, None, :] - pos[None, :, :]
    r2 = np.sum(d * d, axis=-1)
    np.fill_diagonal(r2, np.inf)
    s6 = (sigma * sigma / r2) ** 3
    return np.sum((24.0 * epsilon * (2.0 * s6 * s6 - s6) / r2)[:, :, None] * d, axis=1)


def lattice(side: int, spacing: float, rng: np.random.Generator) -> np.ndarray:
    """side × side particles on a slightly jittered square lattice."""
    grid = np.array([[i, j] for i in range(side) for j in range(side)], dtype=float) * spacing
    return grid + 0.03 * rng.standard_normal(grid.shape)


def velocity_verlet(pos: np.ndarray, vel: np.ndarray, steps: int, dt: float, epsilon: float, sigma: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit masses. Returns the positions (steps + 1, n, 2), the kinetic and the potential energy."""
    paths = [pos.copy()]
    energy, force = energy_and_forces(pos, epsilon, sigma)
    kinetic, potential = [0.5 * np.sum(vel * vel)], [energy]
    for _ in _common.progress(range(steps), total=steps, desc="velocity Verlet"):
        vel = vel + 0.5 * dt * force
        pos = pos + dt * vel
        energy, force = energy_and_forces(pos, epsilon, sigma)
        vel = vel + 0.5 * dt * force
        paths.append(pos.copy())
        kinetic.append(0.5 * np.sum(vel * vel))
        potential.append(energy)
    return np.array(paths), np.array(kinetic), np.array(potential)


def draw(paths: np.ndarray, kinetic: np.ndarray, potential: np.ndarray, dt: float):
    """Particle paths (left) and the energies over time (right)."""
    def figure(plt):
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
        for k in range(paths.shape[1]):
            left.plot(paths[:, k, 0], paths[:, k, 1], lw=0.8)
        left.scatter(paths[-1, :, 0], paths[-1, :, 1], s=25, c="k", zorder=3, label="final positions")
        left.set_aspect("equal")
        left.set_title("Lennard-Jones cluster: paths under F = −∇E")
        left.legend(loc="upper right", fontsize=8)
        t = dt * np.arange(len(kinetic))
        right.plot(t, kinetic, label="kinetic")
        right.plot(t, potential, label="potential")
        right.plot(t, kinetic + potential, "k", label="total")
        right.set_xlabel("time (LJ units)")
        right.set_ylabel("energy")
        right.set_title("velocity Verlet: the total energy stays flat")
        right.legend(fontsize=8)
        fig.tight_layout()
        return fig
    return figure


def main() -> int:
    options = _common.parse_args(__doc__)
    out = _common.output_directory(options)
    side, steps = (4, 400) if options.quick else (7, 3000)
    epsilon, sigma, dt = 1.0, 1.0, 0.004
    rng = np.random.default_rng(0)
    pos = lattice(side, 2.0 ** (1.0 / 6.0) * sigma, rng)  # the pair potential's minimum

    got = energy_and_forces(pos, epsilon, sigma)[1]
    checks = [
        _common.report("forces against the closed-form pair forces",
                       _common.relative_difference(got, closed_form_forces(pos, epsilon, sigma)), 1e-10),
        _common.report("∇E against central differences of E",
                       _common.gradient_difference(lambda p: lj_energy(p, epsilon, sigma), pos, -got, h=1e-6),
                       1e-6),
    ]

    vel = 0.2 * rng.standard_normal(pos.shape)
    vel -= vel.mean(axis=0)
    s2sad.wait_compiled()
    paths, kinetic, potential = velocity_verlet(pos, vel, steps, dt, epsilon, sigma)
    total = kinetic + potential
    print(f"{pos.shape[0]} particles, {steps} steps: total energy {total[0]:.5f} → {total[-1]:.5f} "
          f"(largest drift {np.max(np.abs(total - total[0])):.1e})")
    _common.save_figure(draw(paths, kinetic, potential, dt), out, "lennard_jones.png")
    return _common.finish(*checks)


if __name__ == "__main__":
    sys.exit(main())
