"""Functions with state, differentiated by tests/test_state.py (module-level: source is read)."""

import numpy as np

c = 0
SCALE = 2.0
W = np.array([[1.0, 2.0], [3.0, -1.0]])


def bump(x):
    global c
    c += 1
    return x * c


def twice(x):
    return bump(x) + bump(x)


def write_then_read(x):
    global SCALE
    SCALE = SCALE * x
    return SCALE * x


def reads_global_array(x):
    return np.sum(np.tanh(W @ x))


def reads_module_number(x):
    return SCALE * x


def mc_normal(mu, sigma):
    rng = np.random.default_rng(42)
    z = rng.normal(mu, sigma, 2000)
    return np.mean(z * z)


def mc_reparameterised(theta):
    rng = np.random.default_rng(0)
    eps = rng.standard_normal(200)
    s = 0.0
    for i in range(200):
        x = theta[0] + theta[1] * eps[i]
        s = s + np.sin(x) * x
    return s / 200


def draws_from(x, rng):
    z = rng.standard_normal(3)
    return np.sum(z * x * x)


def legacy_draws(x):
    np.random.seed(1)
    z = np.random.normal(0.0, 1.0, 4)
    return np.sum(np.exp(z * x))


def scalar_loop(x, n):
    s = x
    for i in range(n):
        s = np.sin(s) + x
    return s


def while_loop(x):
    k = 0
    while x < 100.0:
        x = x * 1.7 + np.sin(x)
        k = k + 1
    return x


def generator_per_step(x):
    s = 0.0
    for i in range(3):
        rng = np.random.default_rng(i)
        s = s + np.sum(rng.standard_normal(3) * x)
    return s


def generator_from_parameter(x, seed):
    rng = np.random.default_rng(seed)
    return np.sum(rng.uniform(0.0, 1.0, 3) * x * x)


# --- module state read by helpers, and names that change between calls ------------------------

from . import model_settings  # noqa: E402

calls = 0
FLAG = True
STEPS = 3


def scale_by_c(x):
    return x * c  # (reads c without a global statement)


def bump_then_scale(x):
    global c
    c = c + 1
    return scale_by_c(x)


def scaled_twice(x):
    return bump_then_scale(x) + bump_then_scale(x)


def read_before_bump(x):
    return scale_by_c(x) + bump_then_scale(x)


def flagged(x):
    if FLAG:
        return x * x
    return x * x * x


def steps_loop(x):
    s = 0.0
    for i in range(STEPS):
        s = s + np.sin(x * i)
    return s


def settings_loop(x):
    s = 0.0
    for i in range(model_settings.STEPS):
        s = s + x * x
    return s


def settings_weights(x):
    return np.sum(model_settings.WEIGHTS * x ** 2)


def settings_weights_written(x):
    model_settings.WEIGHTS[0] = 1.0
    return np.sum(x)


def activation(z):
    return np.tanh(z)


def uses_activation(x):
    return np.sum(activation(x))


def counted(x):
    global calls
    calls = calls + 1
    return np.sum(x * x) * calls


def make_closure(k):
    def closed(x):
        return x * k
    return closed


def make_counter_closure():
    k = 1.0

    def closed(x):
        return x * k

    def change(v):
        nonlocal k
        k = v
    return closed, change


def reads_global_in_one_branch(x):
    if x[0] > 0.0:
        y = W @ x
    else:
        y = x * 2.0
    return np.sum(y) + np.sum(W @ x)  # (W read again after a branch that read it)




def assigns_global_in_loops(x):
    global SCALE
    for i in range(3):
        SCALE = SCALE + x
        x = x * SCALE
    k = 0
    while k < 2:
        k += 1
        SCALE = SCALE * 0.5 + x
    return x * SCALE


def prints_as_it_goes(x):
    y = x * 2.0
    print("y", y)
    for t in range(3):
        y = np.sin(y)
        print("step", t, np.sum(y))
    return np.sum(y * y)


HELD = np.zeros(2)


def stores_into_a_new_global(x):
    global HELD
    HELD = np.zeros(2)
    HELD[0] = x  # (the module's HELD is this array: it sees the store)
    return np.sum(HELD) * x


def hold(v):
    global HELD
    HELD = v


def squares_what_a_helper_made_global(x):
    y = x * 2.0
    hold(y)
    y *= y
    return np.sum(y)


def writes_a_global_view_in_a_loop(x):
    global HELD
    y = x * 2.0
    HELD = y[::-1]
    for _ in range(3):
        y[1:] += y[:-1]
        y[0] += HELD[1] * x[0]
    return np.sum(y * x)


def writes_what_may_be_global(x, t):
    global HELD
    y = x * 2.0
    if t > 0:
        HELD = y
    y *= y
    return np.sum(y)


def keeps_a_view_of_its_argument(x):
    global HELD
    HELD = x[1:]  # (NumPy's module holds a view of the caller's array)
    x *= 2.0
    return np.sum(x ** 2)


def keeps_its_argument_after_writing_it(x):
    global HELD
    x *= 2.0
    HELD = x[::2]
    x[0] = 7.0
    return np.sum(x ** 2)


def keeps_what_may_be_its_argument(x, t):
    global HELD
    y = x * 3.0
    x += 1.0
    if t > 0:
        HELD = x
    else:
        HELD = y
    return np.sum(x * y)


def updates_a_global_in_place(x):
    global HELD
    y = np.zeros(2)
    HELD = y
    HELD += x  # (NumPy updates y's memory, which y and the module see)
    HELD *= x
    return np.sum(y * x)


def updates_the_modules_array_in_place(x):
    global HELD
    HELD += x  # <- (NumPy would write into the module's array, which other names may hold)
    return np.sum(HELD * x)


def weighted_by_defaults(x, w=1.0, *, c=2.0):
    """Default values the caller may replace (``f.__defaults__ = ...``) between calls."""
    return c * np.sum(w * x ** 2)
