"""Functions with loops and array stores, differentiated by tests/test_loops.py.

They are module-level because s2sad reads their source with inspect.
"""

import numpy as np


# --- 1. damped oscillator by explicit Euler -------------------------------------------------------

def oscillator(k, x0, v0, c, dt, n):
    """x'' = -k x - c x', explicit Euler for n steps; returns x_n."""
    x = x0
    v = v0
    for i in range(n):
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
    return x


# --- 2. tanh RNN through time ---------------------------------------------------------------------

def rnn_final(W, U, h0, xs):
    """sum(h_T**2) with h_t = tanh(W h_{t-1} + U x_t)."""
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h ** 2)


def rnn_total(W, U, h0, xs):
    """sum over t of sum(h_t**2); iterates over the rows of xs."""
    h = h0
    total = 0.0
    for x in xs:
        h = np.tanh(W @ h + U @ x)
        total = total + np.sum(h * h)
    return total


# --- 3. Lennard-Jones energy over particle pairs --------------------------------------------------

def lennard_jones(pos, eps, sigma):
    n = pos.shape[0]
    energy = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            d = pos[i] - pos[j]
            r2 = np.sum(d * d)
            s6 = (sigma * sigma / r2) ** 3
            energy = energy + 4.0 * eps * (s6 * s6 - s6)
    return energy


def lennard_jones_all_pairs(pos, eps, sigma):
    """Every ordered pair once (j runs round from i + 1), halved: no triangular bounds."""
    n = pos.shape[0]
    energy = 0.0
    for i in range(n):
        for m in range(1, n):
            j = (i + m) % n
            d = pos[i] - pos[j]
            s6 = (sigma * sigma / np.sum(d * d)) ** 3
            energy = energy + 4.0 * eps * (s6 * s6 - s6)
    return 0.5 * energy


def lennard_jones_cutoff(pos, eps, sigma, cutoff):
    """Pairs farther apart than `cutoff` do not interact."""
    n = pos.shape[0]
    energy = 0.0
    for i in range(n):
        for m in range(1, n):
            j = (i + m) % n
            d = pos[i] - pos[j]
            r2 = np.sum(d * d)
            if r2 < cutoff * cutoff:
                s6 = (sigma * sigma / r2) ** 3
                energy = energy + 4.0 * eps * (s6 * s6 - s6)
    return 0.5 * energy


# --- 4. portfolio rebalancing with transaction costs ----------------------------------------------

def portfolio(w_target, cost, returns, wealth0):
    """Hold w_target * wealth, let the returns act, pay cost * |trades| to rebalance; final wealth."""
    holdings = w_target * wealth0
    for t in range(returns.shape[0]):
        holdings = holdings * returns[t]
        wealth = np.sum(holdings)
        trades = w_target * wealth - holdings
        wealth = wealth - cost * np.sum(np.abs(trades))
        holdings = w_target * wealth
    return np.sum(holdings)


# --- 5, 6. while loops ----------------------------------------------------------------------------

def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-13 * a:
        x = 0.5 * (x + a / x)
    return x


def halve_below_one(x):
    while x >= 1.0:
        x = x / 2.0
    return x


def halvings_times_x(x):
    """k = the number of halvings that take x below 1; returns k * (x / 2**k)."""
    k = 0
    y = x
    while y >= 1.0:
        y = y * 0.5
        k = k + 1
    return y * k


def oscillator_while(k, x0, v0, c, dt, n):
    """`oscillator` written with a while loop counting its steps down: its tapes grow as it runs."""
    x = x0
    v = v0
    while n > 0:
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
        n = n - 1
    return x


def relax(x0, a, n):
    """A vector state keeping x0's shape, n steps of a while loop (`relax_for`: of a for loop)."""
    x = x0
    i = 0
    while i < n:
        x = x - a * np.sin(x)
        i = i + 1
    return np.sum(x * x)


def relax_for(x0, a, n):
    x = x0
    for i in range(n):
        x = x - a * np.sin(x)
    return np.sum(x * x)


def nested_while(x, n):
    """A while loop of n steps around one of i + 2 steps."""
    s = 0.0
    i = 0
    while i < n:
        y = x * (i + 1)
        j = 0
        while j < i + 2:
            y = np.sin(y) + 0.1 * x
            j = j + 1
        s = s + y
        i = i + 1
    return s


def branch_in_a_long_while(x, n):
    """Numbers stored in one branch of a while loop's body only, and a vector stored at every step."""
    y = 0.5 * x
    s = 0.0
    i = 0
    while i < n:
        if i % 3 == 0:
            s = s + np.sin(s + np.sum(y))
        else:
            s = 0.9 * s
        y = y - 0.01 * np.cos(y) * s
        i = i + 1
    return s + np.sum(y * y)


def draws_in_a_while_condition(x, n):
    """While loops whose condition draws a number (a stream of its own: the same draws at every call)."""
    rng = np.random.default_rng(0)
    for t in range(n):
        while rng.random() < 0.8:
            x = x * 1.01 + 0.01 * np.sin(x)
    return x


# --- 7. a branch inside a loop --------------------------------------------------------------------

def branch_in_loop(x, n):
    s = 1.0
    for i in range(n):
        if s > 0:
            s = s * x
        else:
            s = s + x
    return s


def branch_on_element(x):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] * s > 0.1:
            s = s - np.sin(x[i])
        else:
            s = s + x[i] * x[i]
    return s


# --- 8. in-place fills ----------------------------------------------------------------------------

def fill_then_sum(a, b):
    out = np.zeros(a.shape[0])
    for i in range(a.shape[0]):
        out[i] = a[i] * b[i] + np.sin(a[i])
    return np.sum(out)


def recurrence_on_copy(x):
    y = x.copy()
    for i in range(1, y.shape[0]):
        y[i] = y[i] * y[i - 1] + 0.1
    return np.sum(y)


def fill_matrix(a):
    M = np.empty((a.shape[0], a.shape[0]))
    for i in range(a.shape[0]):
        for j in range(a.shape[0]):
            M[i, j] = a[i] * np.cos(a[j])
    return np.sum(M * M)


def accumulate_columns(A):
    out = np.zeros(A.shape[1])
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            out[j] += A[i, j] * A[i, j]
    return np.sum(np.sqrt(out))


def set_columns(A, x):
    B = np.ones(A.shape)
    for j in range(A.shape[1]):
        B[:, j] = A[:, j] * x[j]
    return np.sum(np.sin(B))


# --- 9. explicit heat equation --------------------------------------------------------------------

def heat_state(u0, alpha, steps):
    u = u0.copy()
    lap = np.zeros(u0.shape[0])
    for t in range(steps):
        lap[1:-1] = u[2:] - 2.0 * u[1:-1] + u[:-2]
        u = u + alpha * lap
    return u


def heat_state_fresh(u0, alpha, steps):
    """As heat_state, with the Laplacian allocated afresh at every step."""
    u = u0.copy()
    for t in range(steps):
        lap = np.zeros(u0.shape[0])
        lap[1:-1] = u[2:] - 2.0 * u[1:-1] + u[:-2]
        u = u + alpha * lap
    return u


def damped(u0, kappa, steps):
    """u combined with kappa, which may have any shape that broadcasts with u0's."""
    u = u0.copy()
    for t in range(steps):
        u = u + kappa * np.sin(u)
    return np.sum(u * u)


def heat_misfit(u0, target, alpha, steps):
    u = heat_state(u0, alpha, steps)
    return np.sum((u - target) ** 2)


def heat_misfit_fresh(u0, target, alpha, steps):
    u = heat_state_fresh(u0, alpha, steps)
    return np.sum((u - target) ** 2)


# --- 10. residual network over layers -------------------------------------------------------------

def resnet(W, x):
    h = x
    for l in range(W.shape[0]):
        h = h + np.tanh(W[l] @ h)
    return np.sum(h * h)


def resnet_rows(W, x):
    """The same network, iterating over the first axis of W."""
    h = x
    for Wl in W:
        h = h + np.tanh(Wl @ h)
    return np.sum(h * h)


# --- 11. Siamese loss with shared weights ---------------------------------------------------------

def embed(W, x):
    h = x
    for l in range(W.shape[0]):
        h = np.tanh(W[l] @ h)
    return h


def siamese(W, x1, x2):
    d = embed(W, x1) - embed(W, x2)
    return np.sum(d * d)


def siamese_untied(W1, W2, x1, x2):
    d = embed(W1, x1) - embed(W2, x2)
    return np.sum(d * d)


# --- 12. Gaussian mixture negative log-likelihood -------------------------------------------------

LOG_2PI = 1.8378770664093453


def log_sum_exp(v):
    m = v[0]
    for j in range(1, v.shape[0]):
        m = max(m, v[j])
    return m + np.log(np.sum(np.exp(v - m)))


def gmm_nll(means, logw, X):
    """Unit-covariance mixture; weights softmax(logw)."""
    n = X.shape[0]
    k = means.shape[0]
    d = X.shape[1]
    lse = np.zeros(n)
    for i in range(n):
        logp = np.zeros(k)
        for j in range(k):
            diff = X[i] - means[j]
            logp[j] = logw[j] - 0.5 * np.sum(diff * diff) - 0.5 * d * LOG_2PI
        lse[i] = log_sum_exp(logp)
    return n * log_sum_exp(logw) - np.sum(lse)


# --- 13. LSTM through time ------------------------------------------------------------------------

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_cell(Wx, Wh, b, x, h, c):
    """One LSTM step; gates stacked as [input, forget, output, candidate] along the first axis."""
    H = h.shape[0]
    z = Wx @ x + Wh @ h + b
    i = sigmoid(z[0:H])
    f = sigmoid(z[H:2 * H])
    o = sigmoid(z[2 * H:3 * H])
    g = np.tanh(z[3 * H:4 * H])
    c = f * c + i * g
    return o * np.tanh(c), c


def lstm(Wx, Wh, b, xs, h0, c0):
    h = h0
    c = c0
    for t in range(xs.shape[0]):
        h, c = lstm_cell(Wx, Wh, b, xs[t], h, c)
    return np.sum(h * h)


def lstm_cell_loss(Wx, Wh, b, xs, h0, c0):
    """As lstm, with the loop index named `step` and the final cell state in the loss too."""
    h = h0
    c = c0
    for step in range(xs.shape[0]):
        h, c = lstm_cell(Wx, Wh, b, xs[step], h, c)
    return np.sum(h * h) + 0.5 * np.sum(c * c)


# --- 14. control of a point mass ------------------------------------------------------------------

def simulate(u, x0, dt):
    """A 2-D point mass with quadratic drag driven by forces u[t]: final position and velocity."""
    x = x0.copy()
    v = np.zeros(x0.shape[0])
    for t in range(u.shape[0]):
        speed = np.sqrt(np.sum(v * v) + 1e-12)
        v = v + dt * (u[t] - 0.3 * speed * v)
        x = x + dt * v
    return x, v


def control_loss(u, x0, target, dt, effort):
    """Miss distance of the simulated point mass, plus effort."""
    x, v = simulate(u, x0, dt)
    miss = x - target
    return np.sum(miss * miss) + effort * np.sum(u * u)


def control_loss_at_rest(u, x0, target, dt, effort):
    """As control_loss, also asking the mass to arrive at rest."""
    x, v = simulate(u, x0, dt)
    miss = x - target
    return np.sum(miss * miss) + np.sum(v * v) + effort * np.sum(u * u)


# --- 15. break, continue, early return ------------------------------------------------------------

def first_above(x, threshold):
    for i in range(x.shape[0]):
        if x[i] > threshold:
            return x[i] * x[i] * (i + 1)
    return np.sum(x)


def sum_until(x, limit):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] * x[i]
        if s > limit:
            break
    return s


def even_terms(x):
    s = 0.0
    for i in range(x.shape[0]):
        if i % 2 == 1:
            continue
        s = s + np.sin(x[i]) * x[i]
    return s


def positive_rows_energy(X):
    """Skips the rows with a negative sum; the rest add their squares."""
    s = np.zeros(X.shape[1])
    for i in range(X.shape[0]):
        if np.sum(X[i]) < 0:
            continue
        s = s + X[i] * X[i]
    return np.sum(s * s)


def power_iteration(A, v0):
    """The dominant eigenvalue of a symmetric A; stops when the Rayleigh quotient settles."""
    v = v0 / np.sqrt(np.sum(v0 * v0))
    lam = 0.0
    lam_new = 0.0
    k = 0
    while k < 500:
        w = A @ v
        lam_new = np.dot(v, w)
        v = w / np.sqrt(np.sum(w * w))
        k = k + 1
        if abs(lam_new - lam) < 1e-15 * abs(lam_new):
            break
        lam = lam_new
    return lam_new


def grow_until(x):
    y = x
    k = 0
    while True:
        y = y * 1.5 + 0.1
        k = k + 1
        if y > 10.0 or k >= 50:
            break
    return y


def while_return(x):
    y = x
    while y < 100.0:
        if y * y > 50.0:
            return y * 3.0
        y = y * 2.0
    return y


def landing_time(v0, g):
    """A projectile stepped until it falls below the ground, the crossing interpolated: a while True
    loop left only by its return."""
    y, v, t = 0.0, v0, 0.0
    while True:
        y_new = y + 0.01 * v
        v = v - 0.01 * g
        if y_new < 0:
            return t + y / (y - y_new) * 0.01
        y = y_new
        t += 0.01


def newton_root_forever(a):
    x = a
    while True:
        for _ in range(2):  # (a break here leaves the inner loop only)
            if x < 0.0:
                break
        fx = x * x - a
        if abs(fx) < 1e-12:
            return x * 3.0
        x = x - fx / (2 * x)


def back_substitution_reversed(U, b):
    x = np.zeros(b.shape[0])
    for i in reversed(range(b.shape[0])):
        x[i] = (b[i] - U[i, i + 1:] @ x[i + 1:]) / U[i, i]
    return np.sum(x ** 2)


def reversed_rows_and_items(x, A):
    tot = 0.0
    for k, v in enumerate(reversed(x)):
        tot = tot * 0.5 + k * v ** 2
    B = A * 1.0
    for row in reversed(B):
        row *= 2.0  # (rows are views: B changes)
        tot = tot * 0.3 + np.sum(row * row[::-1])
    for i in reversed(range(1, x.shape[0], 2)):
        tot = tot * 0.9 + x[i] ** 2
    return tot + np.sum(B * A)


# --- 16. negative steps, triangular loops ---------------------------------------------------------

def backward_horner(x):
    """sum_i x_i**2 * 0.5**i, accumulated from the last element down."""
    s = 0.0
    for i in range(x.shape[0] - 1, -1, -1):
        s = s * 0.5 + x[i] * x[i]
    return s


def every_other_from_end(x):
    s = 0.0
    for i in range(x.shape[0] - 1, 0, -2):
        s = s + x[i] * x[i - 1]
    return s


def rnn_backward_in_time(W, U, h0, xs):
    """rnn_final over the rows of xs taken last to first."""
    h = h0
    for step in range(xs.shape[0] - 1, -1, -1):
        h = np.tanh(W @ h + U @ xs[step])
    return np.sum(h ** 2)


def rnn_backward_in_time_t(W, U, h0, xs):
    """rnn_backward_in_time with the loop index named t."""
    h = h0
    for t in range(xs.shape[0] - 1, -1, -1):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h ** 2)


def forward_substitution(A, b):
    """Solve L y = b for the lower triangle L of A by a triangular double loop; sum(y**2)."""
    n = b.shape[0]
    y = np.zeros(n)
    for i in range(n):
        s = b[i]
        for j in range(i):
            s = s - A[i, j] * y[j]
        y[i] = s / A[i, i]
    return np.sum(y * y)


# --- small cases of their own ---------------------------------------------------------------------

def overwrite_slice(x):
    """Part of y is read, then overwritten: the overwritten part's adjoint must not be lost."""
    y = x * 2.0
    s = np.sum(y)
    y[0:2] = x[0:2] * 3.0
    return s + np.sum(y)


def scaled_by_one_then_store(x):
    y = x * 1.0
    y[0] = 0.0
    return np.sum(y * x)


def last_product(w, n):
    """h is rebound in every iteration from c alone: h = w * n at the end."""
    c = 1.0
    h = 0.0
    for i in range(n):
        h = w * c
        c = c + 1.0
    return h


def shifted_element_sum(x, k, n):
    """n * x[k + 1]; the loop index is named t."""
    s = 0.0
    for t in range(n):
        s = s + x[k + 1]
    return s


def array_in_branch_in_loop(x, flags):
    s = 0.0
    for i in range(flags.shape[0]):
        if flags[i] > 0:
            y = np.sin(x) * i
            s = s + np.sum(y * y)
    return s


def triangular_rows(P):
    """sum over i < j of P[i] . P[j]."""
    e = 0.0
    for i in range(P.shape[0]):
        for j in range(i + 1, P.shape[0]):
            e = e + np.sum(P[i] * P[j])
    return e


def like_allocations(x):
    y = np.zeros_like(x)
    z = np.ones_like(x) * 2.0
    w = np.full_like(x, 3.0)
    e = np.empty_like(x)
    for i in range(x.shape[0]):
        e[i] = w[i]
        y[i] = x[i] * z[i] + e[i]
    return np.sum(y * y)


# --- inner loops that fill arrays later loops read -------------------------------------------------

def crank_nicolson(u0, r, steps):
    """Crank–Nicolson steps of u_t = u_xx (zero boundary values, r = dt/dx²), each solving
    (I - r/2 L) u' = (I + r/2 L) u by the Thomas algorithm: an elimination loop fills cp and dp,
    and a back substitution loop, running backwards, reads them."""
    u = u0
    for t in range(steps):
        n = u.shape[0]
        rhs = (1.0 - r) * u
        rhs[1:] += 0.5 * r * u[:-1]
        rhs[:-1] += 0.5 * r * u[1:]
        cp = np.zeros(n)
        dp = np.zeros(n)
        cp[0] = -0.5 * r / (1.0 + r)
        dp[0] = rhs[0] / (1.0 + r)
        for i in range(1, n):
            den = 1.0 + r + 0.5 * r * cp[i - 1]
            cp[i] = -0.5 * r / den
            dp[i] = (rhs[i] + 0.5 * r * dp[i - 1]) / den
        x = np.zeros(n)
        x[n - 1] = dp[n - 1]
        for i in range(n - 2, -1, -1):
            x[i] = dp[i] - cp[i] * x[i + 1]
        u = x
    return np.sum(u * u)


def two_while_loops(x, y):
    """The second while loop reads the y the first one leaves; both run only in the first step."""
    s = 0.0
    for k in range(3):
        while float(y) < 2.0:
            y = y * y + x
        while float(y) < 3.0:
            y = y * y * 0.5 + x
        s = s + y
    return s


# --- branches that inner loops do not take ---------------------------------------------------------

def branch_in_inner_loop(u0, y, c):
    """The inner loop's tapes of z and z * z get entries only when its branch is taken."""
    u = u0
    s = 0.0
    for t in range(2):
        for i in range(3):
            if c > 1.0:
                z = np.exp(u * y)
                s = s + np.sum(z * z)
        u = np.tanh(u * y)
    return s + np.sum(u)


def branch_in_first_steps(x, y, n):
    """A while loop of n steps whose branch is taken in its first two only: its tape grows past
    its first 16 rows on entries that are never read."""
    s = 0.0
    w = y
    k = 0
    while k < n:
        if k < 2:
            z = np.exp(x * w)
            s = s + np.sum(z * z)
        w = w + 0.5
        k = k + 1
    return s + np.sum(x) * w


# --- shapes that change from one iteration to the next --------------------------------------------

def shrinking(u):
    s = 0.0
    for i in range(3):
        u = u[1:] * 2.0
        s = s + np.sum(u * u)
    return s


def growing(x, y):
    for i in range(2):
        x = x + y * x
    return np.sum(x)


def reshaped_norm(x):
    return np.sum(np.reshape(x, (x.shape[0] * x.shape[1], x.shape[2])) ** 2)


def shifted_in_place(x):
    y = x * 2.0
    y[1:] = y[:-1]
    return y[4]


def counter_read_by_inner_while(x, n):
    """c is carried only to bound the inner while loop, which nothing else needs."""
    c = 0.0
    for i in range(n):
        c = c + 1.0
        k = 0
        while k < c:
            k = k + 1
        x = x * 1.5
    return x


def rk4_chain_rhs(x, y):
    """x₀, then x_i · y_{i−1}: the right-hand side of GradBench's ODE."""
    return np.concatenate((x[:1], x[1:] * y[:-1]))


def rk4_chain(x, s):
    """`s` RK4 steps of y' = rk4_chain_rhs(x, y) from y = 0, summed: y is rebuilt by a
    concatenation each step, and keeps x's shape."""
    h = 2.0 / s
    y = np.zeros(x.shape[0])
    for _ in range(s):
        k1 = rk4_chain_rhs(x, y)
        k2 = rk4_chain_rhs(x, y + 0.5 * h * k1)
        k3 = rk4_chain_rhs(x, y + 0.5 * h * k2)
        k4 = rk4_chain_rhs(x, y + h * k3)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return np.sum(y)


def growing_chain(x, s):
    """Like `rk4_chain_rhs`, but keeping two leading entries: y grows by one each step."""
    y = x * 1.0
    for _ in range(s):
        y = np.concatenate((y[:2], y[1:] * x[0]))
    return np.sum(y * y)


STIFFNESS = np.array([[2.0, -1.0], [-1.0, 2.0]])


def kept_loop_reads_a_carried_length(x):
    """The outer loop is kept for the global read of its inner loop, whose length comes from a
    value the outer loop carries (dead code elimination must keep what decides that length)."""
    a = np.ones(2)
    for i in range(2):
        u = a
        a = 1.0 * a
        for t in range(1, u.shape[0]):
            K = STIFFNESS
    return np.sum(x * x)


def returns_in_both_branches(x):
    if x > 1.0:
        return x * x
    elif x > 0.0:
        return np.sin(x)
    else:
        return -x


def weighted_by_position(x):
    s = 0.0
    for i, v in enumerate(x):
        s = s + i * v * v
    return s


def paired_terms(x, y):
    s = 0.0
    for a, (b, k) in zip(x, zip(y, range(1, 10, 2))):
        s = s + a * b * k
    return s


def counted_rows(X, w):
    s = 0.0
    for j, (row, wi) in enumerate(zip(X, w), start=1):
        if wi > 10.0:
            break
        s = s + j * wi * np.sum(row * row)
    return s


def selection_in_some_iterations(x):
    """z is computed on odd steps only, always of the same length: its tape has rows only
    where the branch ran, and none after the last step that ran it."""
    s = 0.0
    for k in range(4):
        if k % 2 == 1:
            z = np.sin(x[x > 0.0] * k)
            s = s + np.sum(z * z) * x[1]
    return s


def selection_in_the_first_step_of_a_while(x):
    s = 0.0
    k = 0
    while k < 3:
        if k == 0:
            z = np.cos(x[x > 0.5])
            s = s + np.sum(z ** 3)
        k = k + 1
    return s


def selection_that_empties_in_a_branch(x):
    """x[x > 0.5 k] has fewer elements at each step it is computed: a ragged tape with entries
    where the branch ran."""
    s = 0.0
    for k in range(3):
        if k != 1:
            z = np.sin(x[x > 0.5 * k])
            s = s + np.sum(z * z) * x[1]
    return s


def selection_that_empties(y):
    """y[y > 0.1] has two elements at the first step and none at the second."""
    k = 0
    while k < 2:
        k = k + 1
        y = y - np.sum(y[y > 0.1] ** 2)
    return np.sum(y)


def branches_of_other_lengths(x):
    """z has 3 elements on one step and 2 on the next, from the two branches of a nested if."""
    s = 0.0
    for k in range(3):
        if k >= 1:
            if k == 1:
                z = np.sin(x[x > 0.0])
            else:
                z = np.cos(x[:2])
            s = s + np.sum(z * z * x[0])
    return s


def back_substitution(U, b):
    n = b.shape[0]
    x = np.zeros(n)
    for i in range(n - 1, -1, -1):
        x[i] = (b[i] - U[i, i + 1:] @ x[i + 1:]) / U[i, i]  # (rows of U shorter at every step)
    return np.sum(x ** 2)


def gaussian_elimination(A, b):
    M = A.copy()
    y = b.copy()
    n = b.shape[0]
    for k in range(n):
        for i in range(k + 1, n):
            f = M[i, k] / M[k, k]
            M[i, k:] = M[i, k:] - f * M[k, k:]
            y[i] = y[i] - f * y[k]
    return back_substitution(M, y)


def cholesky_by_hand(A):
    n = A.shape[0]
    L = np.zeros((n, n))
    for j in range(n):
        L[j, j] = np.sqrt(A[j, j] - L[j, :j] @ L[j, :j])
        for i in range(j + 1, n):
            L[i, j] = (A[i, j] - L[i, :j] @ L[j, :j]) / L[j, j]
    return np.sum(L * np.arange(1.0, 1.0 + n))


def dense_block(x, w):
    h = x
    for k in range(3):
        h = np.concatenate((h, np.tanh(w[k] * h[-2:])))  # (every layer sees all the features before it)
    return np.sum(h ** 2)


def schur_updates(A):
    M = A.copy()
    total = 0.0
    for k in range(M.shape[0] - 1):
        S = M[k + 1:, k + 1:] - np.outer(M[k + 1:, k], M[k, k + 1:]) / M[k, k]  # (a smaller matrix each step)
        total = total + np.sum(np.tanh(S))
        M[k + 1:, k + 1:] = S
    return total


def shrinking_while(u):
    s = 0.0
    while u.shape[0] > 3:
        u = u[1:] * 1.01  # (a ragged tape whose index grows: the number of steps is not known in advance)
        s = s + np.sum(np.sin(u) * u)
    return s


# --- loop-invariant code motion and loops that run no step -------------------------------------

def invariant_product(x, W, n):
    """W @ x is the same at every step, so it is computed once before the loop; when n is 0
    NumPy never computes it (and W's shape need not match x's)."""
    h = x
    for i in range(n):
        h = np.tanh(W @ x + h)
    return np.sum(h)


def invariant_product_in_a_while(x, W, t_end):
    h = x
    t = 0.0
    while t < t_end:
        h = h + 0.1 * (W @ x)
        t = t + 0.1
    return np.sum(h * h)


def invariant_of_nested_loops(x, W, n, m):
    s = 0.0
    for i in range(n):
        for j in range(m):
            s = s + np.sum(np.sin(W @ x)) * x[0]
    return s


def carried_with_an_outside_array(u0, c, steps):
    """The carried u keeps u0's shape only if c broadcasts to it: checked before the loop, when
    the loop runs."""
    u = u0
    for t in range(steps):
        u = u + c * u
    return np.sum(u * u)


def sorted_prefixes(x, n):
    """An integer array (argsort of a growing prefix) that the reverse sweep needs, one element
    longer at each step: on a ragged tape, as floats."""
    s = 0.0
    for i in range(1, n):
        idx = np.argsort(x[:i])
        s = s + np.sum(x[idx] * np.arange(i))
    return s


def masks_of_growing_prefixes(x, n):
    s = 0.0
    for i in range(1, n):
        m = x[:i] > 0.0
        s = s + np.sum(np.where(m, x[:i] ** 2, x[:i]))
    return s


def prefix_in_a_branch(x, n):
    """y is computed on some steps only, one element longer each time."""
    s = 0.0
    for i in range(1, n):
        if x[i] > 0.0:
            y = np.sin(x[:i])
            s = s + np.sum(y * y)
        else:
            s = s + x[i]
    return s


def grown_on_even_steps(x, n):
    """A dense block grown in one branch and kept in the other: carried, of changing length."""
    s = 0.0
    h = x[:1]
    for i in range(1, n):
        if i % 2 == 0:
            h = np.concatenate((h, np.tanh(h[-1:] * x[i])))
        s = s + np.sum(h ** 2)
    return s


def settling_while(w):
    """A while loop whose numbers go on growable tapes, stopped by a flag set in a branch."""
    x = 1.0
    v = 0.5
    go = True
    while go:
        x = x + 0.1 * v
        if x > 3.0:
            go = False
        else:
            v = v + 0.1 * np.sin(w * x) ** 2
    return x * v


# --- shapes computed from values bound before the loop ---------------------------------------------

def lstm_loss(Wx, Wh, b, xs, ys):
    """An LSTM cell: the gates are slices of z (bounds computed from H), each of a shape the same at
    every step, read off Wx, Wh and b; c and h keep the shape of their zeros."""
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


def grown_by_product(W, xs, a0):
    """a starts as a0 and is added W @ x at each step: its shape is W's rows broadcast with a0's."""
    a = a0
    for t in range(xs.shape[0]):
        a = a * np.tanh(W @ xs[t])
    return np.sum(a * a)


# --- a value the first iteration makes an array ------------------------------------------------------

def summed_rows(X, v):
    """total starts as the number 0.0 and becomes an array in the first iteration."""
    total = 0.0
    for i in range(X.shape[0]):
        total = total + X[i] * v
    return np.sum(total * total)


def summed_over_rows(X, n):
    """The same over the rows themselves (for row in X), an int start, and `+=`; a nested loop's
    own accumulator is made an array likewise."""
    total = 0
    for row in X[:n]:
        inner = 0.0
        for j in range(2):
            inner = inner + np.sin(row * (j + 1.0))
        total += inner * row
    return np.sum(total)


def largest_so_far(X, step):
    """best: a number that np.maximum makes an array, over every `step`-th row."""
    best = -np.inf
    for i in range(0, X.shape[0], step):
        best = np.maximum(best, np.tanh(X[i]))
    return np.sum(best * best)


def summed_while_positive(X, tol):
    """A while loop whose first iteration makes s an array; its condition reads X[k] only when k
    is within X (Python's and)."""
    s = 0.0
    k = 0
    while k < X.shape[0] and np.sum(X[k]) > tol:
        s = s + np.exp(X[k])
        k += 1
    return np.sum(s)


# --- a name that only the loop assigns, read after it ---------------------------------------------

def bisected_cube_root(a, tol):
    """`mid`, assigned only in the loop (which a break ends), is its last value after it."""
    lo, hi = 0.0, 10.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid ** 3 - a > 0.0:
            hi = mid
        else:
            lo = mid
        if hi - lo < tol:
            break
    return a * mid


def last_of_each_row(X, n):
    """Names bound in an inner loop (over rows) and in a helper's loop, read after them."""
    total = 0.0
    for j in range(n):
        for row in X:
            last = row * (j + 1)
        total += np.sum(np.sin(last))
    return total + final_square(X[0])


def final_square(v):
    k = 0
    while k < v.shape[0]:
        w = v[k] ** 2
        k += 1
    return w


def grown_from_one(W, xs):
    """h starts as np.zeros(1) and broadcasting gives it W's rows in the first step (NumPy's
    meaning of `+ h`): a ragged tape holds it."""
    h = np.zeros(1)
    for t in range(xs.shape[0]):
        h = np.tanh(W @ xs[t] + h)
    return np.sum(h * h)


def turned_points(angles, xs, ys):
    """Each point turned by its angle (its sine and cosine computed once, where the angle is not
    zero): the reverse sweep reads them back rather than computing them again."""
    total = 0.0
    for i in range(angles.shape[0]):
        a = angles[i]
        if a != 0.0:
            c = np.cos(a)
            s = np.sin(a)
            u = c * xs[i] - s * ys[i]
            v = s * xs[i] + c * ys[i]
        else:
            u = xs[i]
            v = ys[i]
        total = total + u * u * v
    return total
