"""A derivative rule of your own: a numerically stable softplus, and a straight-through
estimator for rounding, used in a small quantised regression.

    python examples/custom_rule.py
"""

import numpy as np

import s2sad


@s2sad.custom_rule
def softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


@softplus.defvjp
def softplus_vjp(x, out, out_bar):
    return out_bar * np.exp(x - out)  # the logistic function, without overflow


@softplus.defjvp
def softplus_jvp(x, x_dot):
    return x_dot * np.exp(x - softplus(x))


@s2sad.custom_rule
def quantise(w):
    return np.round(w * 4.0) / 4.0


@quantise.defvjp
def quantise_vjp(w, out, out_bar):
    return out_bar  # straight through: rounding's derivative (0) would stop all learning


def loss(w, X, y):
    prediction = softplus(X @ quantise(w))
    return np.mean((prediction - y) ** 2)


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = softplus(X @ np.array([0.5, -1.25, 2.0]))
    grad = s2sad.value_and_grad(loss)
    w = np.zeros(3)
    for step in range(300):
        value, g = grad(w, X, y)
        w = w - 0.5 * g
    print(s2sad.derivative_source(loss, args=(w, X, y)))
    print(f"loss {value:.2e}, quantised weights {quantise(w)} (true 0.5, -1.25, 2.0)")


if __name__ == "__main__":
    main()
