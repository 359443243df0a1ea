"""s2sad in two minutes: differentiate a function, read the generated code, check the numbers.

Run from the repository root:

    python examples/quickstart.py
"""

import numpy as np

import s2sad


# --- 1. a scalar function of two arguments ------------------------------------------------------

def f(x, y):
    v = np.cos(x) + x * y
    return np.exp(v) + v ** 2


def central_difference(fn, args, k, h=1e-6):
    """∂fn/∂args[k] by a central finite difference."""
    lo, hi = list(args), list(args)
    lo[k] -= h
    hi[k] += h
    return (fn(*hi) - fn(*lo)) / (2 * h)


def scalar_example() -> None:
    print("=== the reverse-mode derivative s2sad generates for f ===")
    print(s2sad.derivative_source(f, wrt=("x", "y")))

    df = s2sad.grad(f, wrt=("x", "y"))
    args = (0.5, 2.0)
    gx, gy = df(*args)
    fx, fy = central_difference(f, args, 0), central_difference(f, args, 1)
    print("=== gradient of f at (x, y) = (0.5, 2.0) ===")
    print(f"  s2sad              df/dx = {gx:.12f}   df/dy = {gy:.12f}")
    print(f"  finite difference  df/dx = {fx:.12f}   df/dy = {fy:.12f}")
    print(f"  largest relative difference: {max(abs(gx - fx) / abs(fx), abs(gy - fy) / abs(fy)):.1e}")
    print()


# --- 2. an array example: the loss of a linear regression ---------------------------------------

def mse(w, X, y):
    r = X @ w - y
    return np.mean(r ** 2)


def array_example() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0, 0.0]) + 0.1 * rng.normal(size=200)
    w = np.zeros(5)

    print("=== the reverse-mode derivative of the mean squared error, w.r.t. w ===")
    print(s2sad.derivative_source(mse, args=(w, X, y)))

    loss, g = s2sad.value_and_grad(mse)(w, X, y)        # wrt=0: the weights
    closed_form = 2.0 / len(y) * X.T @ (X @ w - y)
    print("=== gradient of the loss at w = 0 ===")
    print(f"  loss        {loss:.6f}")
    print(f"  s2sad       {np.array2string(g, precision=6)}")
    print(f"  closed form {np.array2string(closed_form, precision=6)}")
    print(f"  largest absolute difference: {np.max(np.abs(g - closed_form)):.1e}")


if __name__ == "__main__":
    scalar_example()
    array_example()
