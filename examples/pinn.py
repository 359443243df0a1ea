"""A physics-informed network for u'' = f on [0, 1], with u(0) = u(1) = 0.

u(x) = Σ_k w2_k tanh(w1_k x + b1_k) is a small tanh network of the scalar x. Its second
derivative u_xx comes from s2sad: `s2sad.hessian(u, wrt="x")` at one point, or, for the whole
grid in one call, the Hessian-vector product of U(xs) = Σ_i u(xs_i) with v = 1 (the Hessian of
U is diagonal, with u_xx(xs_i) on it).

The residual u_xx − f is linear in the output weights w2, so with the hidden layer fixed at
random values the output layer is fitted exactly by least squares (a random-feature PINN); the
columns of that system are u_xx for w2 = e_k. For f = −π² sin(πx) the solution is sin(πx).

Run from the repository root:

    python examples/pinn.py
"""

import numpy as np

import s2sad


def u(x, w1, b1, w2):
    return np.sum(w2 * np.tanh(w1 * x + b1))


def u_on_grid(xs, w1, b1, w2):
    """Σ_i u(xs_i): its Hessian with respect to xs is diag(u_xx(xs_i))."""
    return np.sum(np.tanh(np.outer(xs, w1) + b1) @ w2)


u_xx = s2sad.hessian(u, wrt="x")
grid_hvp = s2sad.hvp(u_on_grid, wrt="xs")


def source(x):
    return -np.pi ** 2 * np.sin(np.pi * x)


def second_derivatives(xs, w1, b1, w2) -> np.ndarray:
    """u_xx at every grid point, from one Hessian-vector product."""
    return grid_hvp(xs, w1, b1, w2, np.ones_like(xs))


def fit_output_layer(xs, w1, b1) -> np.ndarray:
    """Least squares for w2: residual rows u_xx(xs_i) = f(xs_i), and the two boundary rows."""
    columns = [second_derivatives(xs, w1, b1, e) for e in np.eye(len(w1))]
    a = np.column_stack(columns)
    boundary = np.tanh(np.outer([0.0, 1.0], w1) + b1)
    weight = 10.0  # the boundary conditions count more than one collocation point
    system = np.vstack([a, weight * boundary])
    rhs = np.concatenate([source(xs), np.zeros(2)])
    return np.linalg.lstsq(system, rhs, rcond=None)[0]


def main() -> None:
    rng = np.random.default_rng(1)
    width = 24
    w1, b1 = rng.uniform(-4.0, 4.0, width), rng.uniform(-4.0, 4.0, width)
    xs = np.linspace(0.0, 1.0, 41)

    # the residual of the untrained network, checked against finite differences of u
    w2 = 0.1 * rng.standard_normal(width)
    residual = second_derivatives(xs, w1, b1, w2) - source(xs)
    h = 1e-4
    fd = np.array([(u(x + h, w1, b1, w2) - 2.0 * u(x, w1, b1, w2) + u(x - h, w1, b1, w2)) / h ** 2 for x in xs])
    print(f"initial residual max |u_xx - f| = {np.max(np.abs(residual)):.3f}")
    print(f"u_xx against finite differences: largest difference {np.max(np.abs(residual + source(xs) - fd)):.1e}")
    print(f"one point by s2sad.hessian: u_xx(0.3) = {u_xx(0.3, w1, b1, w2):.6f}, "
          f"from the grid call {second_derivatives(np.array([0.3]), w1, b1, w2)[0]:.6f}")

    w2 = fit_output_layer(xs, w1, b1)
    residual = second_derivatives(xs, w1, b1, w2) - source(xs)
    between = np.linspace(0.0, 1.0, 101)
    error = np.max(np.abs([u(x, w1, b1, w2) - np.sin(np.pi * x) for x in between]))
    print(f"fitted: residual max |u_xx - f| = {np.max(np.abs(residual)):.1e}")
    print(f"fitted: max |u - sin(pi x)| on a finer grid = {error:.1e}")


if __name__ == "__main__":
    main()
