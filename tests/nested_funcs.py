"""Functions that call derivatives (tests/test_nested.py): MAML's inner step, gradients of
gradients, and what is refused. Module globals hold the inner derivative objects, as a user
would write them."""

import numpy as np

import s2sad


def task_loss(theta, X, y):
    r = X @ theta - y
    return np.sum(r * np.tanh(r)) / X.shape[0]


d_task_loss = s2sad.grad(task_loss)


def meta_loss(phi, Xtr, ytr, Xte, yte, alpha):
    """MAML with one inner gradient step: θ' = φ − α∇L_train(φ); the loss of θ' on the test set."""
    theta = phi - alpha * d_task_loss(phi, Xtr, ytr)
    return task_loss(theta, Xte, yte)


def rollout_loss(w, x0, n):
    """A loop whose reverse sweep tapes every step (the inner gradient is taken through it)."""
    x = x0
    for t in range(n):
        x = np.tanh(w * x) + 0.1 * x
    return np.sum(x * x)


d_rollout = s2sad.grad(rollout_loss)


def two_steps(w, x0, n, alpha):
    """Two inner gradient steps through a loop: second order through tapes."""
    w1 = w - alpha * d_rollout(w, x0, n)
    w2 = w1 - alpha * d_rollout(w1, x0, n)
    return rollout_loss(w2, x0, n)


def sin_cube(x):
    return np.sin(x) * x * x * x


d_sin_cube = s2sad.grad(sin_cube)
dd_sin_cube = s2sad.grad(d_sin_cube)


def both(a, b):
    return a * a * b + np.exp(a * b)


d_both = s2sad.grad(both, wrt=(0, 1))
value_and_d = s2sad.value_and_grad(both)


def gradient_norm(a, b):
    """A wrt tuple: the call returns a tuple."""
    ga, gb = d_both(a, b)
    return ga * ga + gb * gb


def value_plus_slope(a, b):
    value, slope = value_and_d(a, b)
    return value + 3.0 * slope


def with_int_argument(a, k):
    return d_sin_cube(k) * a  # an int where the gradient's argument is differentiated


def vector_valued(x):
    return x * 2.0


d_vector_valued = s2sad.grad(vector_valued)


def calls_gradient_of_vector(x):
    return np.sum(d_vector_valued(x))


def grad_made_inside(x):
    return s2sad.grad(sin_cube)(x) * x


jvp_of_sin = s2sad.jvp(sin_cube)


def calls_jvp(x):
    value, slope = jvp_of_sin(x, 1.0)
    return slope


WEIGHTS = np.array([1.0, 2.0, 3.0])


def reads_global(x):
    return np.sum(WEIGHTS * x * x)


d_reads_global = s2sad.grad(reads_global)


def calls_gradient_reading_global(x):
    return np.sum(d_reads_global(x))


def shrink(w, x):
    """A while loop: its reverse sweep keeps a growing tape (record_grow)."""
    s = 0.0
    y = x
    while y > 0.1:
        y = y * w
        s = s + np.sin(y)
    return s


d_shrink = s2sad.grad(shrink)


def step_through_while(w, x, alpha):
    w1 = w - alpha * d_shrink(w, x)
    return shrink(w1, x) + w1 * w1


d_sin_cube_forward = s2sad.grad(sin_cube, mode="forward")
d_both_forward = s2sad.grad(both, wrt=(0, 1), mode="forward")
value_and_d_forward = s2sad.value_and_grad(both, mode="forward")


def forward_gradient_norm(a, b):
    """Forward-mode inner gradients: one tangent sweep per parameter."""
    ga, gb = d_both_forward(a, b)
    return ga * ga + gb * gb + d_sin_cube_forward(a)


def forward_value_plus_slope(a, b):
    value, slope = value_and_d_forward(a, b)
    return value + 3.0 * slope


def vector_norm(x):
    return np.sum(x * x)


d_vector_norm_forward = s2sad.grad(vector_norm, mode="forward")


def forward_gradient_of_array(x):
    return np.sum(d_vector_norm_forward(x))
