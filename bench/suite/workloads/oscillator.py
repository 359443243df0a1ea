"""Sensitivity of a damped oscillator's final position to its stiffness, by explicit Euler steps.

    a = −k x − c v;  x ← x + dt v;  v ← v + dt a      (n steps),  result x_n,  d x_n / d k

A chain of scalar operations: per-operation overhead is everything. JAX writes the loop as
``lax.fori_loop`` (a scan under reverse mode), TensorFlow as a loop over ``tf.range`` inside
``tf.function`` (a ``while_loop``), PyTorch as a Python loop.
"""

from __future__ import annotations

from loops import oscillator  # (bench/loops.py)
from suite.workload import Form, Workload


def torch_form(torch):
    def final_position(k, x0, v0, c, dt, n):
        x, v = x0, v0
        for _ in range(n):
            a = -k * x - c * v
            x, v = x + dt * v, v + dt * a
        return x
    return final_position


def jax_form(jax):
    def final_position(k, x0, v0, c, dt, n):
        def step(_, state):
            x, v = state
            a = -k * x - c * v
            return x + dt * v, v + dt * a
        return jax.lax.fori_loop(0, n, step, (x0, v0))[0]
    return final_position


def tf_form(tf):
    def final_position(k, x0, v0, c, dt, n):
        x = tf.constant(x0, tf.float64)
        v = tf.constant(v0, tf.float64)
        for _ in tf.range(n):
            a = -k * x - c * v
            x, v = x + dt * v, v + dt * a
        return x
    return final_position


WORKLOAD = Workload(
    name="oscillator",
    title="damped oscillator, Euler steps",
    numpy=oscillator,
    make_args=lambda quick: (2.0, 1.0, 0.0, 0.1, 1e-3, 1_000 if quick else 10_000),
    size=lambda a: f"{a[5]} steps",
    wrt=(0,),
    forms={
        "torch": Form(torch_form),
        "jax": Form(jax_form, "lax.fori_loop"),
        "tf": Form(tf_form, "tf.range loop (while_loop)"),
    },
)
