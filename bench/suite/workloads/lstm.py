"""An LSTM cell run through a sequence, differentiated with respect to its weights and bias.

    z = Wx x_t + Wh h + b;  i, f, o = σ(z₁), σ(z₂), σ(z₃);  g = tanh(z₄)
    c ← f c + i g;  h ← o tanh(c);  loss = Σ_t |h − y_t|²

(the gates are the four consecutive blocks of `z`, each of the hidden size H).
"""

from __future__ import annotations

import numpy as np

from suite.workload import Form, Workload


def lstm(Wx, Wh, b, xs, ys):
    H = Wh.shape[1]
    h = np.zeros(H)
    c = np.zeros(H)
    loss = 0.0
    for t in range(xs.shape[0]):
        z = Wx @ xs[t] + Wh @ h + b
        i = 1.0 / (1.0 + np.exp(-z[:H]))
        f = 1.0 / (1.0 + np.exp(-z[H:2 * H]))
        o = 1.0 / (1.0 + np.exp(-z[2 * H:3 * H]))
        g = np.tanh(z[3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        e = h - ys[t]
        loss = loss + np.sum(e * e)
    return loss


def torch_form(torch):
    def loss(Wx, Wh, b, xs, ys):
        H = Wh.shape[1]
        h = torch.zeros(H, dtype=torch.float64)
        c = torch.zeros(H, dtype=torch.float64)
        total = 0.0
        for t in range(xs.shape[0]):
            i, f, o, g = torch.split(Wx @ xs[t] + Wh @ h + b, H)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            total = total + torch.sum((h - ys[t]) ** 2)
        return total
    return loss


def jax_form(jax):
    jnp = jax.numpy

    def loss(Wx, Wh, b, xs, ys):
        H = Wh.shape[1]

        def step(state, xy):
            h, c = state
            i, f, o, g = jnp.split(Wx @ xy[0] + Wh @ h + b, 4)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), jnp.sum((h - xy[1]) ** 2)
        zeros = jnp.zeros(H)
        return jnp.sum(jax.lax.scan(step, (zeros, zeros), (xs, ys))[1])
    return loss


def tf_form(tf):
    def loss(Wx, Wh, b, xs, ys):
        H = Wh.shape[1]
        h = tf.zeros(H, tf.float64)
        c = tf.zeros(H, tf.float64)
        total = tf.constant(0.0, tf.float64)
        for t in tf.range(tf.shape(xs)[0]):
            i, f, o, g = tf.split(tf.linalg.matvec(Wx, xs[t]) + tf.linalg.matvec(Wh, h) + b, 4)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
            total += tf.reduce_sum((h - ys[t]) ** 2)
        return total
    return loss


def _args(quick: bool) -> tuple:
    r = np.random.default_rng(0)
    hidden, inputs, steps = (8, 4, 20) if quick else (32, 8, 100)
    scale = 1 / np.sqrt(hidden)
    return (scale * r.normal(size=(4 * hidden, inputs)), scale * r.normal(size=(4 * hidden, hidden)),
            0.1 * r.normal(size=4 * hidden), r.normal(size=(steps, inputs)), 0.5 * r.normal(size=(steps, hidden)))


WORKLOAD = Workload(
    name="lstm",
    title="LSTM through time",
    numpy=lstm,
    make_args=_args,
    size=lambda a: f"T={a[3].shape[0]} H={a[1].shape[1]}",
    wrt=(0, 1, 2),
    forms={
        "torch": Form(torch_form, "torch.sigmoid, torch.split"),
        "jax": Form(jax_form, "lax.scan"),
        "tf": Form(tf_form, "tf.range loop (while_loop)"),
    },
)
