"""The ODE benchmark of GradBench (its ``ode`` eval, after Bradley Bell's cmpad): a chain
    y₀' = x₀,   y_i' = x_i y_{i−1}  (i ≥ 1),   y(0) = 0,
integrated to t = 2 by `s` classical Runge-Kutta (RK4) steps, differentiated with respect to x.
Implemented here from that definition, with one change: GradBench differentiates the last
component of y(2), but from y(0) = 0 each RK4 step reaches only four components further, so
for n > 4s that component and its gradient are exactly zero, and no check could tell a wrong
gradient from a right one. Here the function is the sum of the components of y(2).
"""

from __future__ import annotations

import numpy as np

from suite.workload import Form, Workload


def chain(x, y):
    """The right-hand side: x₀, then x_i · y_{i−1}."""
    return np.concatenate((x[:1], x[1:] * y[:-1]))


def ode(x, s):
    h = 2.0 / s
    y = np.zeros(x.shape[0])
    for _ in range(s):
        k1 = chain(x, y)
        k2 = chain(x, y + 0.5 * h * k1)
        k3 = chain(x, y + 0.5 * h * k2)
        k4 = chain(x, y + h * k3)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return np.sum(y)


def _rk4(cat, zeros, total, loop):
    """The RK4 chain for a tool, given how it concatenates, makes zeros, sums, and runs `s`
    steps (``loop(s, step, y0)``)."""
    def summed_state(x, s):
        h = 2.0 / s

        def rhs(y):
            return cat((x[:1], x[1:] * y[:-1]))

        def step(y):
            k1 = rhs(y)
            k2 = rhs(y + 0.5 * h * k1)
            k3 = rhs(y + 0.5 * h * k2)
            k4 = rhs(y + h * k3)
            return y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        return total(loop(s, step, zeros(x.shape[0])))
    return summed_state


def _python_loop(s, step, y):
    for _ in range(s):
        y = step(y)
    return y


def torch_form(torch):
    return _rk4(torch.cat, lambda n: torch.zeros(n, dtype=torch.float64), torch.sum, _python_loop)


def jax_form(jax):
    jnp = jax.numpy

    def loop(s, step, y):
        return jax.lax.fori_loop(0, s, lambda _, v: step(v), y)
    return _rk4(jnp.concatenate, jnp.zeros, jnp.sum, loop)


def tf_form(tf):
    def loop(s, step, y):
        for _ in tf.range(s):
            y = step(y)
        return y
    return _rk4(lambda parts: tf.concat(parts, 0), lambda n: tf.zeros(n, tf.float64), tf.reduce_sum, loop)


WORKLOAD = Workload(
    name="ode",
    title="ODE, RK4 chain (GradBench)",
    numpy=ode,
    make_args=lambda quick: (np.random.default_rng(0).uniform(size=100 if quick else 1000), 10 if quick else 100),
    size=lambda a: f"n={a[0].shape[0]} s={a[1]}",
    wrt=(0,),
    forms={
        "torch": Form(torch_form),
        "jax": Form(jax_form, "lax.fori_loop"),
        "tf": Form(tf_form, "tf.range loop (while_loop)"),
    },
)
