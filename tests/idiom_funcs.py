"""Everyday Python idioms in differentiated functions (used by test_idioms.py)."""

import functools
import math
from math import exp, sqrt

import numpy as np

OFFSET = None  # (a module setting that is None until a script sets it)


def scaled(x, scale=None, shift=None):
    if scale is None:
        scale = 2.0
    y = x * scale
    if shift is not None and scale is not None:
        y = y + shift
    return np.sum(y * y)


def shifted_by_setting(x):
    if OFFSET is None:
        return np.sum(x * x)
    return np.sum((x - OFFSET) ** 2)


def weighted_or_plain(x, w=None):
    return np.sum(x * x) if w is None else np.sum(w * x * x)


def compares_values_with_is(x, y):
    return x * 2.0 if x is y else x


def uses_none(x, scale=None):
    return np.sum(x * scale)


def doubled_if_flag(x, flag=None):
    if flag:
        return x * 2.0
    return x


# --- array defaults -------------------------------------------------------------------------------

WEIGHTS = np.array([0.5, -0.25, 1.0])


def misfit(x, target=WEIGHTS):
    return np.sum((x - target) ** 2)


def misfits_by_default_and_by_keyword(x, s):
    return misfit(x) + misfit(x, target=x * s) + misfit(target=x, x=WEIGHTS * s)


def writes_into_its_default(x, buf=WEIGHTS):
    buf[0] = x[0]
    return np.sum(buf * x)


def calls_a_helper_writing_its_default(x):
    return writes_into_its_default(x)


# --- closures -----------------------------------------------------------------------------------

def make_ridge_loss(X, y, lam):
    def loss(w):
        r = X @ w - y
        return np.sum(r ** 2) + lam * np.sum(w ** 2)
    return loss


def make_writer(A):
    def writes(x):
        A[0, 0] = 2.0
        return np.sum(A @ x)
    return writes


# --- lambda and functools.partial ----------------------------------------------------------------

def squared_error(w, X, y):
    r = X @ w - y
    return np.sum(r ** 2)


def lambda_inside(x):
    f = lambda z: z * z  # noqa: E731
    return f(x) + 1.0


def lambda_reads_names_when_called(x):
    a = 1.0
    f = lambda z: z * a  # noqa: E731
    s = 0.0
    for i in range(3):
        a = a * 2.0          # (Python's lambdas see the value at the call: 2, 4, 8)
        s = s + f(x)
    return s


def partial_of_numpy(x):
    g = functools.partial(np.power, x)
    return g(3.0)


def euler(f, y, h, n):
    for i in range(n):
        y = y + h * f(y)
    return y


def decay_rate(y, k):
    return -k * y


def integrate_lambda(y0, k):
    return np.sum(euler(lambda y: -k * y * y, y0, 0.1, 10))


def integrate_partial(y0, k):
    return np.sum(euler(functools.partial(decay_rate, k=k), y0, 0.1, 10))


# --- list literals --------------------------------------------------------------------------------

def rotation_energy(theta, r):
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    p = R @ np.array([r, 0.0])
    return p[1] ** 2 + np.sum(np.array([p, 2.0 * p]))


def joined(A, B):
    return np.sum(np.concatenate([A, B]) ** 2) + np.sum(np.stack([A[0], B[1]], axis=1) ** 3)


def blocks(A, d):
    M = np.block([[A, d * np.ones((2, 1))], [np.zeros((1, 2)), np.array([[1.0]])]])
    return np.sum(M @ M)


def as_array_is_the_same_array(x):
    v = np.asarray(x)
    v[0] = 2.0 * v[0]
    c = np.array(x)
    c[1] = 0.0
    return np.sum(x * x) + np.sum(c)


def lists_where_numpy_takes_arrays(x, s):
    """Lists of numbers given to NumPy functions and beside arrays: the arrays NumPy makes."""
    padded = np.concatenate(([0.0], x, [s, 1]))
    D = np.diag([1.0, 2.0, s])
    y = np.maximum(x, [0.0, s, 0.5]) * [1.0, 2.0, 3.0] + [s, 0.0, 1.0] * x
    return np.sum(padded ** 2) + np.sum(D @ x) + np.sum(y) + np.interp(0.5, [0.0, 1.0, 2.0], x)


def list_repeated(x):
    return np.sum(np.array([x, 1.0] * 2))


# --- lists built in loops -----------------------------------------------------------------------------

def trajectory(x0, k, n):
    x = x0
    xs = []
    for i in range(n):
        x = x - 0.1 * k * np.sin(x)
        xs.append(x)
    X = np.array(xs)
    return np.sum(X ** 2) + np.sum(xs[-1]) * len(xs) + np.sum(xs[1])


def losses_by_epoch(w, X, y, epochs):
    losses = []
    for epoch in range(1, epochs + 1):
        r = X @ w - y
        w = w - (0.1 / epoch) * X.T @ r
        losses.append(0.5 * np.sum(r ** 2))
    total = 0.0
    for loss in losses:
        total = total + loss
    return total + max(losses) + sum(losses) + np.mean(losses)


def two_lists_enumerated(x, ws):
    values, grads = [], []
    for i, w in enumerate(ws):
        values.append(w * x[i])
        grads.append(np.sin(w * x))
    return np.sum(np.stack(grads) ** 2) + np.sum(np.array(values)) + np.sum(np.concatenate(grads))


def appends_the_same_array(x, n):
    xs = []
    for i in range(n):
        xs.append(x)
    return np.sum(np.array(xs))


def writes_into_an_item_read_in_the_loop(x, n):
    hs = [x]
    for i in range(n):
        h = hs[-1]
        h *= 0.5  # (hs[-1] is x itself, then each array appended: NumPy changes them)
        hs.append(np.sin(h))
    return np.sum(hs[-1])


def writes_an_appended_array(x, n):
    xs = []
    for i in range(n):
        x = x * 0.5
        xs.append(x)
        x += 1.0
    return np.sum(np.array(xs))


def appends_in_a_branch(x, n):
    xs = []
    for i in range(n):
        x = 0.9 * x + 0.1 * np.sin(x)
        if i % 2 == 0:
            xs.append(x * i)
    return np.sum(np.array(xs) ** 2) + len(xs)


def appends_in_a_while_loop(x, n):
    xs = []
    i = 0
    while i < n:
        xs.append(x * i)
        i = i + 1
    return np.sum(np.array(xs) ** 2) + len(xs)


def until_small(x0, rate):
    """A trajectory kept until it decays (a while loop of 20 steps at x0 = (0.8, -0.6), 0.9:
    the list's rows grow past their first 16)."""
    x = x0
    xs = []
    while np.sum(x * x) > 0.05:
        x = x * rate
        xs.append(x)
    return np.sum(np.array(xs) ** 2) + np.sum(xs[-1]) * len(xs)


def two_appends_per_step(x, n):
    ys = []
    for i in range(n):
        ys.append(np.sin(x * i))
        if i > 0:
            ys.append(np.cos(x) * i)
    return np.sum(np.stack(ys) ** 2) + np.sum(ys[1])


def appends_in_an_inner_loop(x):
    out = [x]
    for i in range(3):
        for j in range(i):
            out.append(x * (i + j))
    return np.sum(np.array(out) ** 2)


def appends_until_a_break(x):
    vals = []
    for i in range(50):
        x = 0.9 * x + 0.1
        if x > 0.6:
            break
        vals.append(x * x)
    return np.sum(np.array(vals)) + vals[-1]


def push(xs, v):
    xs.append(v)


def appends_in_a_helper(x, n):
    xs = []
    for i in range(n):
        push(xs, x * i)
    return np.sum(np.array(xs))


def reads_its_list_in_the_loop(x, n):
    hs = [x]
    for i in range(n):
        hs.append(np.tanh(hs[-1] * 0.5 + i))
    return np.sum(np.array(hs) ** 2)


def recurrence_until_long_enough(a):
    vals = [a, a * 0.5]
    while len(vals) < 8:
        vals.append(vals[-1] + 0.3 * vals[-2] * vals[0])
    return vals[-1] + len(vals)


def rnn_states(W, U, h0, xs):
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(W @ hs[-1] + U @ x))
    return np.sum(hs[-1] ** 2) + 0.1 * np.sum(np.stack(hs))


def reads_above_the_first_append(x, n):
    ys = []
    for i in range(n):
        if i > 0:
            x = x + ys[i - 1] * 0.1
        ys.append(np.sin(x))
    return np.sum(np.array(ys))


def appends_items_of_other_lengths(x, n):
    xs = [x]
    while len(xs) < n:
        xs.append(xs[-1][1:] * 2.0)
    return np.sum(xs[-1])


def reads_past_its_end(x, n):
    hs = [x]
    for i in range(n):
        hs.append(hs[i + 1] * 2.0)
    return np.sum(hs[-1])


def list_plus_list(x, n):
    xs = []
    for i in range(n):
        xs.append(x * i)
    return np.sum(xs + xs)


def states_over_rows(x0, A):
    x = x0
    xs = []
    for a in A:
        x = np.tanh(a * x + 0.5)
        xs.append(x)
    return np.sum(np.stack(xs) ** 2)


def polynomial_design_columns(w, x):
    cols = [np.ones_like(x)]
    for d in range(1, 4):
        cols.append(x ** d)
    return np.sum((np.stack(cols, axis=1) @ w) ** 2)


def blocks_joined_along_axes(w, x):
    blocks = []
    for k in range(3):
        blocks.append(np.outer(x, w) * (k + 1.0))
    side = np.concatenate(blocks, axis=1)
    deep = np.stack(blocks, -1)
    tall = np.concatenate(blocks, -2)
    return np.sum(side ** 2) + np.sum(np.sin(deep[:, 1, :])) + np.sum(tall[1::2] * 2.0)


def rows_concatenated_past_their_axes(w, x):
    rows = []
    for k in range(3):
        rows.append(w * x[k])
    return np.sum(np.concatenate(rows, axis=1))   # (NumPy: AxisError)


def activations_of_layers(layers, x):
    hs = []
    for W in layers:  # (a list of arrays: the loop is unrolled)
        x = np.tanh(W @ x)
        hs.append(x)
    return np.sum(np.concatenate(hs) ** 2)


def comprehension_over_range(x):
    return np.sum(np.array([np.sin(x[i]) * i for i in range(len(x))]))


def comprehension_over_rows(W, x):
    h = np.stack([np.tanh(row @ x) for row in W])
    i = 7.0  # (the comprehension's variable is its own)
    return np.sum(h ** 2) * i


def nested_comprehensions(x):
    # (the inner comprehension reads the outer one's variable: its loop runs at every outer item)
    rows = np.array([np.array([x[i] * x[j] + i for j in range(len(x))]) for i in range(len(x))])
    return np.sum(rows ** 2) + sum([sum([x[i] * v for v in x]) for i in range(2)])


def comprehension_of_lists(x):
    return np.sum(np.array([[x[i] * x[j] for j in range(2)] for i in range(2)]))


def straight_line_appends(a, b):
    terms = []
    terms.append(a * a)
    alias = terms
    terms.append(np.sin(b))
    return np.sum(np.array(alias)) + len(terms)


def appended_array_written_after(x):
    parts = [x]
    y = x * 2.0
    parts.append(y)
    y[0] = 5.0  # (the list holds y itself)
    return np.sum(np.concatenate(parts))


def trajectory_with_its_start(x0, n):
    x = x0
    xs = [x0]
    for i in range(n):
        x = 0.9 * x + 0.1 * np.sin(x)
        xs.append(x)
    return np.sum(np.array(xs) ** 2) + len(xs)


def list_made_again_at_each_step(x, mu):
    total = 0.0
    for t in range(4):
        outs = [mu]  # (a new list at every step, longer each time)
        for j in range(10 * t):
            outs.append(0.9 * outs[-1] + x[j % 2])
        total = total + np.sum(np.stack(outs))
    return total


def list_made_again_in_a_while_loop(x, mu):
    total = 0.0
    for t in range(4):
        outs = [mu]
        k = 0
        while k < 10 * t:
            outs.append(0.9 * outs[-1] + x[k % 2])
            k += 1
        total = total + np.sum(np.array(outs))
    return total


def summed_list_of_rows(x, n):
    rows = []
    for i in range(n):
        rows.append(x * i)
    return np.sum(np.sum(rows, axis=0) * x)  # (NumPy's sum of an empty list is 0.0, not zeros like x)


def stacked_list_of_numbers(x, n):
    ys = []
    for i in range(n):
        ys.append(x[0] * i)
    return np.sum(np.stack(ys))  # (NumPy's np.stack([]) raises)


# --- the math module --------------------------------------------------------------------------------

def math_of_numbers(a, b):
    u = math.sin(a) * math.cos(b) + math.tan(0.3 * a) + math.asin(0.5 * b) + math.acos(0.2 * a)
    v = math.atan(a) + math.sinh(b) + math.cosh(0.5 * a) + math.tanh(b) + math.asinh(a) + math.acosh(1.0 + b * b)
    w = math.atanh(0.5 * b) + exp(a) + math.expm1(b) + math.log(a) + math.log(b, 3) + math.log1p(b)
    z = math.log2(a) + math.log10(b) + sqrt(a) + math.fabs(a - b) + math.erf(b) + math.erfc(a) + math.lgamma(a + b)
    t = math.atan2(a, b) + math.hypot(a, b) + math.pow(a, b) + math.degrees(a) + math.radians(b) + math.exp(2)
    return u + v + w + z + t


def pendulum(theta0, length, steps):
    theta, omega = theta0, 0.0
    for _ in range(steps):
        omega -= 0.01 * 9.81 / length * math.sin(theta)
        theta += 0.01 * omega
    return theta + math.sqrt(length) * math.cos(theta)


def cell_of(x, t, dt):
    i = math.floor(t / dt)                     # an integer, as Python's math.floor gives
    j = math.ceil(t / dt) + math.trunc(-t / dt)
    return x[i] * x[j] + (i - t / dt) * x[0]


def math_of_an_array(x):
    return math.sin(x)


# --- Python's sum, max and min --------------------------------------------------------------------------

def python_reductions(x, A):
    items = [x[0], x[1] * 2.0, x[2] * 3.0]
    total = sum(items) / len(items) + sum((x[0], x[1]), 1.5) + sum([x * 2.0, x], start=x)[1]
    total += sum(x ** 2) + np.sum(sum(A) * x[:3]) + sum(x, 2.0)
    return total + max(x[0], x[1], x[2] * 0.5) - min(x[0], x[1], x[2]) + max(x) - min(x ** 2) + max([x[0], x[3]])


def extremes_past_a_nan(x, n):
    # (Python's max and min never keep a NaN met after the first item)
    xs = []
    for i in range(n):
        xs.append(x[i % len(x)] * (i + 1))
    return max(x) + min(x) * 2.0 + max(xs) - min(xs)


def extremes_of_two_with_a_nan(x, y):
    # (Python's max(a, b) is a unless b > a, and min(a, b) a unless b < a: a NaN second operand loses)
    return max(x, y) + 2.0 * min(x, y) + max(3.0 * x, y)


def max_of_a_list_of_arrays(x):
    xs = []
    for i in range(2):
        xs.append(x * (i + 1))
    return np.sum(max(xs))


def max_of_a_matrix(A):
    return max(A)


WEIGHTS3 = np.array([0.2, 0.3, 0.5])


def python_reductions_of_generators(x, t):
    """Generator expressions consumed whole by sum, max and min (with zip and enumerate)."""
    dot = sum(w * v for w, v in zip(WEIGHTS3, x))
    series = sum(t ** k / (k + 1) for k in range(4))
    return dot + series + max(v * v for v in x) - min(abs(v) * i for i, v in enumerate(x, start=1))


def any_of_a_generator(x):
    return np.sum(x) if any(v > 0.0 for v in x) else 0.0


def converges(x, tol):
    """A loop ended by a flag made with bool()."""
    y = x.copy()
    done = False
    while not done:
        y_new = 0.5 * (y + 2.0 / y)
        done = bool(np.max(np.abs(y_new - y)) < tol)
        y = y_new
    return np.sum(y * x) + bool(tol) * 1.0


def comprehension_of_rows(x, n):
    """Views of a local array never written into: the list's items are those views."""
    A = np.outer(x, x) * n
    rows = [A[i] for i in range(2)]
    return np.sum(rows[0] * rows[1])


def comprehension_of_argument_rows(x, n):
    rows = [x[i:] for i in range(2)]  # (the message named the list by its internal name, _comp1)
    return np.sum(rows[0][1:] * rows[1])


def comprehension_of_rows_then_written(x, n):
    A = np.outer(x, x) * n
    rows = [A[i] for i in range(2)]
    A[0, 0] = 0.0
    return np.sum(rows[0] * rows[1])


# --- arrays unpacked into names --------------------------------------------------------------------

def unpacked_vectors(pos, M, pairs):
    x, y, z = pos
    r0, r1 = M  # (rows of M)
    t = x * y + z ** 2 + np.sum(r0 * r1 ** 2)
    for a, b in pairs:
        t = t * 0.9 + a * b ** 2
    for i, (a, b) in enumerate(pairs):
        t = t + i * a * np.sin(b)
    return t


def unpacked_rows_written(M):
    A = M * 1.0
    r0, r1 = A
    r0 *= 2.0  # (a view: A changes)
    for u, v in A.T:
        u += v
    return np.sum(A * M) + np.sum(r1 ** 2)


def unpacked_three(pos):
    x, y, z = pos  # unpack three
    return x * y * z


# --- .item() and float() --------------------------------------------------------------------------

def items_of_elements(x, A):
    s = np.sum(x).item()
    t = x[1].item() ** 2 + s * 2.0 + A[1:2, 0:1].item() * x[0].item() + A.item(0, 1) + x.item(2) * float(x[0])
    k = np.argmax(x).item()
    return t + x[k] * s + A[0, 0].item() * x.item(-1)


def item_of_many(x):
    return x.item() * 2.0  # item of many


def float_of_an_array(x):
    return float(x)


# --- items of containers the function made, assigned ------------------------------------------------

def local_dict_items(x, s):
    p = {"b": x[0], "w": x * 1.0}
    q = p  # (the same dict)
    p["b"] -= 0.1 * x[1] * s
    p["b"] *= 2.0
    p["c"] = p["w"] * 3.0
    p["w"] = p["w"] ** 2
    p["w"] += s  # (into the array p["w"] names)
    xs = [x[0], x[1], s]
    xs[1] += 1.5 * x[0]
    xs[-1] = xs[-1] * s
    return q["b"] ** 2 + np.sum(q["c"] * q["w"]) + xs[1] * xs[0] + xs[2]


def float_item_of_a_dict_argument(params, g):
    params["b"] -= 0.1 * g  # item of the caller's dict
    return params["b"] ** 2


def local_dict_item_in_a_loop(x):
    p = {"b": x[0]}
    for i in range(3):
        p["b"] = p["b"] * 2.0  # item in a loop
    return p["b"]


# --- np.triu_indices and np.tril_indices -------------------------------------------------------------

def triangle_gathers(A, n):
    iu = np.triu_indices(n, 1)
    B = A * 1.0
    B[np.tril_indices(n, -1)] = 0.0
    r, c = np.tril_indices(3, 0, 4)
    return np.sum(A[iu] ** 2) + np.sum(B * A) + np.sum(A[r, c[::-1] % 3] * 2.0) + np.sum(r) + np.sum(A[np.triu_indices(n)])


def astype_single(x):
    return np.sum(x.astype(np.float32))


def index_tuple_with_none(A):
    idx = (0, None)
    return np.sum(A[idx])


# --- minibatches drawn from a Generator -------------------------------------------------------------

def minibatch_sgd(w, X, y, rng, lr):
    loss = 0.0
    for epoch in range(3):
        order = rng.permutation(X.shape[0])
        for b in range(0, X.shape[0], 2):
            idx = order[b:b + 2]
            r = X[idx] @ w - y[idx]
            loss = loss + np.sum(r ** 2)
            w = w - lr * (X[idx].T @ r)
        pick = rng.choice(X.shape[0], 3, replace=False)
        loss = loss + 0.1 * np.sum((X[pick] @ w) ** 2) + w[rng.integers(2)]
    return loss


def shuffled_in_place(x, rng, M):
    y = x * 2.0
    rng.shuffle(y)
    rng.shuffle(M)  # (the caller's matrix: its rows)
    rng.shuffle(x)
    return np.sum(y * np.arange(5.0)) + np.sum(M[0] * x[:2])


# --- and / or evaluate their second operand only when the first does not decide ------------------

def guarded_reads(x, i):
    """x[i - 1] read only when i > 0, x[i] only when i is within x (Python's and, or)."""
    y = 0.0
    if i > 0 and x[i - 1] > 0.0:
        y = x[i - 1] ** 2
    if i >= x.shape[0] or x[i] < 0.0:
        y = y + 1.0
    else:
        y = y + 3.0 * x[i]
    return y


def draws_only_if_asked(x, noisy):
    """The draw of the condition is made only when `noisy`: the stream after it is NumPy's."""
    rng = np.random.default_rng(5)
    y = 2.0 * x
    if noisy and rng.normal() > 0.0:
        y = 3.0 * y
    return np.sum(y * rng.normal(size=x.shape))


def _bumped(v):
    v[0] += 1.0
    return v[0] > 0.0


def condition_writes(x, flag):
    """The second operand writes into y: refused (an if statement says when it happens)."""
    y = x.copy()
    if flag and _bumped(y):
        return np.sum(y * y)
    return np.sum(y)


# --- module tuples, lists and dicts of numbers -----------------------------------------------------

SETTINGS = {"alpha": 0.3, "steps": 3, "gains": [1.0, 2.0]}
TAPS = (0.25, 0.5, 0.25)


def smoothed(x):
    """An exponential smoothing set by a module dict, then a filter by a module tuple read at a
    loop's index (through zip)."""
    s = x[0]
    for i in range(SETTINGS["steps"]):
        s = SETTINGS["alpha"] * x[i] + (1 - SETTINGS["alpha"]) * s
    total = 0.0
    for w, v in zip(TAPS, x):
        total += w * v
    return s * SETTINGS["gains"][1] + total + sum(TAPS) * x[-1]


def writes_into_settings(x):
    SETTINGS["alpha"] = 0.5
    return x[0]


def or_of_numbers(a, b):
    """``a or b`` is a when a is true, else b (not a boolean)."""
    y = a or b
    return y * 3.0


def and_or_values(x):
    """(x0 > 0 and x0) or x1: x0 when it is positive, else x1."""
    y = (x[0] > 0 and x[0]) or x[1]
    return y * x[2]


def index_by_and_or(x, n):
    """An index chosen by and/or of integers: 2 when n > 3, else 1."""
    k = (n > 3 and 2) or 1
    return x[k] * 2.0


def implicit_heat_steps(kappa, u0, n):
    """Backward Euler for the heat equation: a tridiagonal matrix made of shifted identities."""
    m = len(u0)
    A = np.eye(m) * (1 + 2 * kappa) - kappa * (np.eye(m, k=1) + np.eye(m, k=-1))
    u = u0
    for _ in range(n):
        u = np.linalg.solve(A, u)
    return np.sum(u ** 2) + np.sum(np.eye(m - 1, m, 1) @ u0)


def eye_of_a_variable_diagonal(x, j):
    return np.sum(np.eye(3, k=j) @ x)


# --- array methods that are NumPy functions, and methods that write into the array --------------

def method_calls(A, v):
    """x.diagonal(), x.trace(), x.round(), x.repeat(), x.take(), x.searchsorted()."""
    d = A.diagonal()
    t = A.trace()
    r = (v * 3.0).round(1)
    rep = v.repeat(2)
    taken = A.take(np.array([1, 0]), axis=0)
    k = np.sort(v).searchsorted(0.1)
    return np.sum(d * d) + t * np.sum(v) + np.sum(rep * rep) + np.sum(taken[0] * v) + k * np.sum(r)


def filled_then_written(x):
    """work.fill(0.0) clears the array in every step; a view of it sees each fill."""
    work = np.empty(x.shape[0])
    head = work[:2]
    total = 0.0
    for k in range(3):
        work.fill(0.0)
        work[k] = x[k] * x[k]
        total = total + np.sum(head) + np.sum(work * x)
    return total


def sorted_in_place(x):
    """y.sort() sorts y's memory: the caller's array when y is the argument itself."""
    y = x * 2.0
    y.sort()
    z = x.copy()
    z[1:].sort()
    return y[0] * y[-1] + np.sum(z * np.arange(z.shape[0]))


def sorted_argument(x):
    x.sort()
    return np.sum(x * np.arange(x.shape[0]))


def fill_result_used(x):
    y = x.fill(1.0)
    return y


def appends_the_same_local_array(x, b, n):
    """The same array appended at every step, never written into: the list's items are that
    array, as copies of it would be."""
    bias = b * 2.0
    ys = []
    for k in range(n):
        ys.append(bias)
        x = x + 0.1 * np.sin(x) * bias
    return np.sum(np.stack(ys) * x)


def appends_the_same_array_written_at_each_step(x, b, n):
    bias = b * 2.0
    ys = []
    for k in range(n):
        bias[0] = x[k]
        ys.append(bias)
    return np.sum(np.stack(ys) * x)
