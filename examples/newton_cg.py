"""Newton's method with conjugate gradients on Hessian-vector products (Newton-CG).

L2-regularised logistic regression: each Newton step solves H p = -g by conjugate gradients,
which needs only products H·v, computed by `s2sad.hvp` (forward over reverse) without forming
H. Newton converges in a few steps; the gradient norm falls quadratically.

Run from the repository root:

    python examples/newton_cg.py
"""

import numpy as np

import s2sad


def loss(w, X, y, lam):
    """Mean logistic loss of labels y in {-1, 1}, plus (lam / 2) |w|²."""
    margins = y * (X @ w)
    return np.mean(np.logaddexp(0.0, -margins)) + 0.5 * lam * np.sum(w * w)


gradient = s2sad.grad(loss)
hvp = s2sad.hvp(loss)


def conjugate_gradient(product, b: np.ndarray, tol: float, max_iterations: int) -> tuple[np.ndarray, int]:
    """Solve A x = b for a symmetric positive definite A given as x ↦ A x."""
    x, r = np.zeros_like(b), b.copy()
    p, rr = r.copy(), r @ r
    for k in range(1, max_iterations + 1):
        ap = product(p)
        alpha = rr / (p @ ap)
        x += alpha * p
        r -= alpha * ap
        rr, previous = r @ r, rr
        if np.sqrt(rr) < tol:
            return x, k
        p = r + (rr / previous) * p
    return x, max_iterations


def newton_cg(w: np.ndarray, X, y, lam, steps: int = 10, tol: float = 1e-10) -> np.ndarray:
    for step in range(steps):
        g = gradient(w, X, y, lam)
        norm = np.linalg.norm(g)
        print(f"step {step}: loss {loss(w, X, y, lam):.12f}   |gradient| {norm:.3e}")
        if norm < tol:
            break
        direction, iterations = conjugate_gradient(lambda v: hvp(w, X, y, lam, v), -g, 0.1 * min(norm, 1.0) * norm,
                                                   len(w))
        print(f"         {iterations} conjugate-gradient iterations")
        w = w + direction
    return w


def main() -> None:
    rng = np.random.default_rng(0)
    n, d, lam = 200, 5, 1e-2
    X = rng.standard_normal((n, d))
    y = np.where(X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n) > 0, 1.0, -1.0)
    w = newton_cg(np.zeros(d), X, y, lam)
    print("weights", np.round(w, 4))
    # H·v by forward over reverse against the full Hessian, built from one HVP per basis vector
    v = rng.standard_normal(d)
    h = s2sad.hessian(loss)(w, X, y, lam)
    print(f"|H v - hvp(v)| = {np.max(np.abs(h @ v - hvp(w, X, y, lam, v))):.1e}")


if __name__ == "__main__":
    main()
