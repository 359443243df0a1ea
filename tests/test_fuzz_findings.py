"""Failures the differential fuzzer (tests/fuzz) found, minimised: regression tests.

Each test holds one minimised program (at module level: s2sad reads its source) and asserts
that every oracle of tests/fuzz passes on it (a refusal passes: it keeps the promise). The
comment above a test says what went wrong before the fix; the seed in a comment is the
program the campaign found (``python -m tests.fuzz --only SEED``).

A finding not fixed yet is marked ``@finding(reason)`` (a strict xfail, so that it fails
loudly once fixed) and listed in `OPEN_FINDINGS`, which maps the generator's tags for the
constructs involved to its test; the random batch of tests/test_fuzz.py skips the programs
that use them, and only those.
"""

import numpy as np
import pytest

import s2sad

from .fuzz.oracles import assert_no_failure


def finding(reason: str):
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)


# --- writes into memory that another name, the caller or a loop also sees -------------------------

def second_name_then_augmented_assignment(theta):  # seed 100705
    a = theta
    a += 1.0
    return np.mean(theta)


# Found (fixed since): `a += 1.0` rebinds a instead of writing into the array theta also names: value
# 0.0, NumPy's 1.0
def test_augmented_assignment_through_a_second_name():
    assert_no_failure(second_name_then_augmented_assignment, np.array([0.0]))


def second_name_of_a_local_array(x):
    y = x * 2.0
    z = y
    y += 1.0
    return np.sum(z * x)


# Found (fixed since): the same without arguments involved: z does not see y += 1.0 (value 10.0, NumPy's
# 13.0)
def test_augmented_assignment_through_a_second_name_of_a_local_array():
    assert_no_failure(second_name_of_a_local_array, np.array([1.0, 2.0]))


def clamp_first(a):
    a[1] *= 0.2
    r = 1.0
    return r


def helper_writes_into_its_argument(q):  # seed 100555
    res = clamp_first(q)  # noqa: F841 (unused, as in the program found)
    return np.mean(q)


# Found (fixed since): a helper's store into its array parameter is not seen by the caller: value 0.5,
# NumPy's 0.1
def test_helper_writing_into_its_argument():
    assert_no_failure(helper_writes_into_its_argument, np.array([0.0, 1.0]))


def write_into_the_array_being_iterated(q, u):  # seed 100476
    for xi in u:
        if xi > 0.5:
            u[1] = 1.0
            q = q * u
    p = q
    return np.mean(p)


# Found (fixed since): `for xi in u` runs over u as it was before the loop, not as the body's store u[1]
# = 1.0 leaves it: value 0.7, NumPy's 0.98
def test_store_into_the_array_a_loop_runs_over():
    assert_no_failure(write_into_the_array_being_iterated, np.array([1.0, 0.0]), np.array([1.4, -0.9]))


def squares_its_argument(x):  # seed 100960
    x *= x
    return 1.0


def stores_into_its_argument(w):  # seed 101355
    w[::1] = 1.0
    return 1.0


# Found (fixed since): argument-state: an in-place update of an argument is not seen by the caller (x
# stays [-1.0]; NumPy leaves [1.0]), in both modes and under Numba
def test_augmented_assignment_to_an_argument():
    assert_no_failure(squares_its_argument, np.array([-1.0]))


# Found (fixed since): argument-state: a store into an argument is not seen by the caller (w stays [0.9];
# NumPy leaves [1.0])
def test_store_into_an_argument():
    assert_no_failure(stores_into_its_argument, np.array([0.9]))


def bump_in_place(a1, b):
    b[::1] += 1.0
    return b


def divides_by_what_a_call_wrote(c, w):  # seed 600921
    v = w
    v /= bump_in_place(c, w)
    return np.sum(v)


def divided_by_what_a_call_wrote(c, w):
    v = w
    v = v / bump_in_place(c, w)
    return np.sum(v)


# Found (fixed since): `v /= f(w)` and `v / f(w)` with v naming w and f writing into w: NumPy divides
# w's contents after the call (1.0); s2sad divided the contents read before it (0.545)
def test_operand_written_by_a_call_on_the_right():
    assert_no_failure(divides_by_what_a_call_wrote, -0.1, np.array([1.2]))
    assert_no_failure(divided_by_what_a_call_wrote, -0.1, np.array([1.2]))


def squares_in_place(a, b, u):
    g = u
    g *= g
    return g


def subtracts_what_a_call_made(w):  # seed 601129
    G = np.full((1, 1), 3.0)
    G -= squares_in_place(1, G, G)
    return np.sum(G) + np.sum(w)


# Found (fixed since): `G -= f(G)` where f squares G in place and returns it: NumPy gives 9 - 9 = 0,
# s2sad gave 3 - 9
def test_augmented_target_written_by_the_call_on_the_right():
    assert_no_failure(subtracts_what_a_call_made, np.array([1.4]))


def scales_in_place(a):
    h = a
    h *= 0.9
    return 1.0


def element_read_before_the_call(X, k):  # seed 601161
    p = np.linspace(1.0, 1.0, 4)
    p[k] *= scales_in_place(p)
    return np.dot(p, p) + np.sum(X)


# Found (fixed since): `p[k] *= f(p)` reads p[k] before f scales p in place, and stores into the
# scaled p: NumPy gives [0.9, 0.9, 0.9, 1.0]; s2sad used the element read after the call
def test_element_of_an_augmented_store_is_read_before_the_call():
    assert_no_failure(element_read_before_the_call, np.array([[1.4]]), 3)


# --- module state and Generators ------------------------------------------------------------------

total_101038 = 0.0


def adds_to_a_global(W):  # seed 101038
    global total_101038
    total_101038 = total_101038 + 1.0
    return 1.0


# Found (fixed since): module-state: forward-mode grad calls the derivative once per element of the
# arguments, so the global is updated twice for a 1x2 argument (2.0; NumPy's 1.0)
def test_forward_mode_repeats_a_global_update():
    assert_no_failure(adds_to_a_global, np.array([[0.0, 1.0]]))


count_100512 = 0


def reads_a_counter_it_bumps(M1):  # seed 100512
    global count_100512
    count_100512 = count_100512 + 1
    z = count_100512 - M1
    return np.sum(z ** 2)


# Found (fixed since): forward mode: each element's JVP sees the counter one higher, so the gradient
# differs from reverse mode's ([[-4, -6]] vs [[-4, -4]])
def test_forward_mode_gradient_of_a_counter():
    assert_no_failure(reads_a_counter_it_bumps, np.array([[-1.0, -1.0]]))


def draws_from_an_argument(rng, W):  # seed 101038
    u = rng.normal(0.0, 1.0, 1)
    return np.mean(u)


# Found (fixed since): forward mode draws from the Generator argument once per element of W: the value is
# the second draw (-0.148), NumPy's the first (1.457)
def test_forward_mode_draws_again_from_a_generator_argument():
    assert_no_failure(draws_from_an_argument, np.random.default_rng(555), np.array([[0.0, 1.0]]))


count_helper = 0


def bump(a):
    global count_helper
    count_helper += 1
    return a * 2.0


def reads_a_global_a_helper_writes(x):
    y = bump(x)
    return y + 0.5 * count_helper


# Found (fixed since): a module number read without `global` is a literal fixed when the derivative is
# compiled, though a helper it calls has just changed it: value 3.0, NumPy's 3.5
def test_global_read_after_a_helper_writes_it():
    assert_no_failure(reads_a_global_a_helper_writes, 1.5)


count_100824 = 0


def rhs(a2, b1):
    global count_100824
    count_100824 += 1
    return a2


def global_written_in_one_branch(beta):  # seed 100824
    if beta > 2.0:
        b = rhs(1.0, 1)
    b = rhs(1.0, 1)  # noqa: F841 (unused, as in the program found)
    return 1.0


# Found (fixed since): internal: AttributeError: 'Undefined' object has no attribute 'type' (a global
# written in one branch only, then again after the if)
def test_global_written_in_one_branch():
    assert_no_failure(global_written_in_one_branch, 1.0)


# --- values an if's adjoint needs from a branch (typed placeholders) ------------------------------

def mask_after_an_early_return(v):  # seed 100990
    if v[1] < 1.0:
        return np.sum(v[v > 1.0])
    u = 1.0
    return u


# Found (fixed since): internal: VerifyError: placeholder gives f64[:], but its result is typed bool[:]
# (a mask computed in a branch)
def test_mask_computed_in_a_branch():
    assert_no_failure(mask_after_an_early_return, np.array([-1.0, 0.0]))


def where_in_a_branch(w, v):
    if w[1] > 0.5:
        s = np.sum(np.where(v > 0.5, v, 0.0))
    else:
        s = 1.0
    return s


# Found (fixed since): internal: VerifyError: placeholder gives f64[:], but its result is typed bool[:]
# (np.where's condition computed in a branch)
def test_where_condition_computed_in_a_branch():
    assert_no_failure(where_in_a_branch, np.array([0.5, 1.0]), np.array([1.0, 0.2]))


def where_in_a_conditional_expression(v, x):  # seed 501123 (small programs)
    p = np.linspace(1.0, 1.0, 1)
    v = x if p[0] <= 2.0 else np.where(v > v, v, x)
    v_new = v
    return np.sum(v_new)


# Found (fixed since): internal: VerifyError: placeholder gives f64[:], but its result is typed bool[:]
# (np.where in a branch of a conditional expression)
def test_where_in_a_conditional_expression():
    assert_no_failure(where_in_a_conditional_expression, np.array([1.0]), np.array([0.0]))


def while_loop_in_a_branch(c, M):  # seed 500264 (small programs), written out
    s = 0.0
    if c > 0.0:
        k = 0
        while k < 3:
            k = k + 1
            s = s + M[k % 2] ** 2
    return s


# Found (fixed since): internal: VerifyError: placeholder gives f64[:], but its result is typed i64[:] (a
# while loop in a branch, indexing with its counter)
def test_while_loop_indexing_with_its_counter_in_a_branch():
    assert_no_failure(while_loop_in_a_branch, 0.5, np.array([1.0, 2.0]))


def condition_in_a_loop_after_continue(beta, y1):  # seed 701714 (small programs)
    for i in range(1):
        if i == 1:
            continue
        for t in range(len(y1)):
            beta = beta if beta > 1.0 else 1.0
    d = beta
    return d


# Found (fixed since): internal: VerifyError: placeholder gives f64[:], but its result is typed bool[:]
# (the taped conditions of a loop that runs after a continue)
def test_conditions_of_a_loop_after_continue():
    assert_no_failure(condition_in_a_loop_after_continue, 0.0, np.array([0.0]))


def return_from_a_loop_in_a_branch(mu, v):  # seed 1037 of an early campaign
    u = v
    if mu < 2.0:
        for xi in u:
            return xi
    return 1.0


# Found (fixed since): internal: VerifyError: placeholder gives f64[:], but its result is typed i64[:] (a
# loop left by return, inside an if)
def test_return_from_a_loop_inside_a_branch():
    assert_no_failure(return_from_a_loop_in_a_branch, 1.0, np.array([0.0]))


def break_from_a_loop_in_a_branch(mu, v):
    s = 0.0
    if mu < 2.0:
        for xi in v:
            s = s + xi
            if s > mu:
                break
    return s


# Found (fixed since): internal: VerifyError: placeholder gives f64[:], but its result is typed i64[:] (a
# loop left by break, inside an if)
def test_break_from_a_loop_inside_a_branch():
    assert_no_failure(break_from_a_loop_in_a_branch, 1.0, np.array([0.5, 2.0]))


def nested_loops_after_an_early_return(M, lam, x):  # seed 100653
    if lam > 1.0:
        return 1.0
    m_new = M
    for k in range(1):
        for step in range(m_new.shape[0]):
            lam = 1.0
    x_new = np.copy(x)
    x_new[1] = lam
    return np.mean(x_new)


# Found (fixed since): internal: VerifyError: placeholder gives f64[:,:], but its result is typed tuple2
# (nested loops after an early return)
def test_nested_loops_after_an_early_return():
    assert_no_failure(nested_loops_after_an_early_return, np.array([[1.0]]), 1.0, np.array([1.0, -1.0]))


# --- dead loop-carried values read by a kept impure operation ----------------------------------

def draw_under_a_dead_loop_variable(y, alpha):  # seed 101003
    rng = np.random.default_rng(1)
    for step in range(1):
        if np.sum(y > 1.0) <= 1.0:
            alpha = alpha
        else:
            a = alpha
            if a > 1.0:
                e = rng.standard_normal()  # noqa: F841 (unused, as in the program found)
    return 1.0


# Found (fixed since): internal: VerifyError: Var(alpha:f64) used before definition (alpha is dead after
# the loop, but the draw it guards is kept)
def test_draw_guarded_by_a_dead_loop_variable():
    assert_no_failure(draw_under_a_dead_loop_variable, np.array([0.0]), 1.0)


def burn_in(y, alpha):
    rng = np.random.default_rng(1)
    for step in range(2):
        if alpha > 1.0:
            z = rng.standard_normal()  # noqa: F841 (unused, as in the program found)
        alpha = alpha * 0.5
    return y * 2.0


# Found (fixed since): internal: VerifyError: Var(alpha:f64) used before definition (the smallest form:
# an unused draw under a condition on a loop variable that is dead after the loop)
def test_unused_draw_guarded_by_a_dead_loop_variable():
    assert_no_failure(burn_in, 0.5, 1.5)


W4_101939 = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])


def global_read_under_a_dead_loop_variable(theta):  # seed 101939
    for xi1 in theta:
        if theta[1] > 1.0:
            pass
        else:
            theta = theta
            u = W4_101939  # noqa: F841 (unused, as in the program found)
    return 1.0


# Found (fixed since): internal: VerifyError: Var(theta:f64[:]) used before definition (the same with a
# global array read instead of a draw)
def test_global_read_guarded_by_a_dead_loop_variable():
    assert_no_failure(global_read_under_a_dead_loop_variable, np.array([1.0, 1.0]))


total_500036 = 0.0
W_500036 = np.full((2, 2), 2.0)


def branch_reads_a_dead_carried_value(b, u):  # seed 500036
    global total_500036
    total_500036 = total_500036
    for i in range(1):
        if b < 1.0:
            pass
        elif u[0] <= 1.0:
            u = u / np.sum(W_500036)
    return 1.0 * b


# Found (fixed since): internal: VerifyError: Var(u) used before definition (u is dead after the
# loop, but the condition of an if nested in a branch reads it, and the if stays for its read of a
# module array in a function that assigns a global)
def test_dead_carried_value_read_by_a_nested_kept_if():
    assert_no_failure(branch_reads_a_dead_carried_value, 0.4, np.array([1.4]))


# --- tapes and checkpointing -------------------------------------------------------------------------

W_100451 = np.array(1.0)


def returns_from_nested_loops(beta, y):  # seed 100451
    y_new = 1.0
    for k1 in range(1, y.shape[0]):
        for i in range(1):
            y_new = np.cos(W_100451)
            if beta > 1.0:
                return np.full(1, 1.0) @ y
    return y_new


# Found (fixed since): internal: IndexError: index 0 is out of bounds for axis 0 with size 0 (the tape of
# a value computed in the untaken branch holds empty placeholders)
def test_return_from_nested_loops_tapes_an_empty_placeholder():
    assert_no_failure(returns_from_nested_loops, 0.0, np.array([1.0, 0.0]))


def shifted_until(b):  # seed 100358
    while b < 1.0:
        b = b + 1.0
    c = b
    return c


# Found (fixed since): internal (checkpointed only): IndentationError: expected an indented block after
# 'else' statement (a while loop whose reversed body is empty: b = b + 1.0)
def test_checkpointed_while_loop_with_an_empty_reverse_body():
    assert_no_failure(shifted_until, -1.0)


W_801805 = np.ones(3)


def inner_loop_that_always_continues(theta):  # seed 801805
    for j in range(3):
        if -theta[j] >= 1.0:
            continue
        n_iter = 0
        while n_iter < 1:
            n_iter = n_iter + 1
            if n_iter >= 1.0:
                continue
            theta = 1.0 * theta + W_801805
    return np.mean(theta)


# Found (fixed since): internal: IndexError (an outer iteration whose inner loop did not run gave
# an empty inner tape of another shape, and the outer tape, whose entries were empty too, was made
# again in that shape, losing its rows)
def test_empty_inner_tapes_of_two_shapes():
    assert_no_failure(inner_loop_that_always_continues, np.array([0.6, -0.8, -1.2]))


def returns_after_an_inner_loop(w):  # seed 902342
    for j in range(w.shape[0]):
        if j > 0:
            a1 = w
            for j1 in range(1, a1.shape[0]):
                if a1[1] + 3.0 > 1.0:
                    pass
                else:
                    a1 = a1 + (a1 + a1)
            return np.sum(a1)
    return 1.0


# Found (fixed since): internal: IndexError (the outer tape of an inner tape of empty entries kept
# the shape of the first, row-less, one, and the reverse sweep indexed the rows of a later one)
def test_inner_tapes_of_empty_entries_keep_their_rows():
    assert_no_failure(returns_after_an_inner_loop, np.array([-1.0, -1.3]))
    assert_no_failure(returns_after_an_inner_loop, np.array([-1.0, -1.3]), numba=True)


def length_read_in_a_nested_loop(beta, v):  # seed 903985
    for j in range(1):
        if j == 0:
            b = v
            a1 = np.ones((1, 1))
            res = v[0]
            while res < 1.0:
                v1 = b
                for j1 in range(1, len(a1) + 1):
                    b = 0.9 * b
                res = v1[3] + res + 0.5
            beta = res * beta
    return beta


# Found (fixed since): internal: KeyError 'tuple' (a shape tuple the reverse sweep reads, made in a
# branch of a loop, was put on a tape of tuples; now its lengths are taped, and the tuple made again)
def test_shape_tuple_read_by_the_reverse_sweep_of_a_loop():
    assert_no_failure(length_read_in_a_nested_loop, 1.111, np.array([0.898, 0.335, -0.179, 0.739, -1.467]))


def selection_that_becomes_empty(y):  # seed 905865
    k = 0
    while k < 2:
        k = k + 1
        y = y - np.sum(y[y > 0.1] ** 0)
    return np.sum(y.copy())


# Found (fixed since): internal: ValueError from add_at (the masked selection y[y > 0.1] has 2
# elements at the first iteration and none at the second; the tape kept rows of 2, taking the empty
# entry for a branch's placeholder). A value computed at every iteration is now recorded exactly, and
# a change of shape is the located refusal docs/language.md describes
def test_masked_selection_that_becomes_empty_in_a_loop():
    assert_no_failure(selection_that_becomes_empty, np.array([0.8, -0.2, -0.8, 0.3]))


def row_set_from_an_overlapping_column(X):  # seed 2008445 (small programs)
    x_new1 = X.copy()
    x_new1[1] = x_new1[:, 2]
    return np.sum(x_new1)


# Found (fixed since): x[1] = x[:, 2] (the row and the column share x[1, 2]) gave 6.28, the value of
# copying the column first, where NumPy's element-by-element copy gives 5.38; such a store from a
# view of the same memory with other strides is refused at its line now
def test_row_set_from_an_overlapping_column():
    X = np.array([[-1.3, 1.4, 0.5, -0.02], [-0.7, 0.7, 1.2, -0.3], [1.4, -0.5, 0.3, 0.9], [1.4, 1.2, -0.7, 0.4]])
    assert_no_failure(row_set_from_an_overlapping_column, X)


def clock(t0):
    t = t0
    for i in range(3):
        t = t + 0.1
    return np.sin(t)


# Found (fixed since): internal (checkpointed only): IndentationError: expected an indented block after
# 'else' statement (the same for a for loop: t = t + 0.1, a clock)
def test_checkpointed_for_loop_with_an_empty_reverse_body():
    assert_no_failure(clock, 0.5)


def shrinks_per_element(x1, x):  # seed 601652
    for xi in x1:
        x = 0.9 * x
    return np.mean(x)


# Found (fixed since): forward mode named the value carried from x `x1`, over the parameter x1 that
# the loop's bound x1.shape[0] reads after the copy: one iteration instead of two
def test_carried_value_is_not_named_like_what_the_loop_bound_reads():
    assert_no_failure(shrinks_per_element, np.array([0.7, 1.1]), np.array([-0.4]))


W1 = np.ones((5, 5))  # (named as the copy of W would be)


def adds_a_product_with_a_global(W):  # seed 601964
    W[::1, :] += np.full((1, 5), 1.0) @ W1
    return np.sum(W * W)


# Found (fixed since): internal: ValueError from matmul (the copy of W made for the store was named
# like the module array the inlined product on the right reads)
def test_copy_for_a_store_is_not_named_like_an_operand_of_an_inlined_expression():
    assert_no_failure(adds_a_product_with_a_global, np.array([[-0.4, 1.2, -0.049, 0.7, -0.5]]))


def spread_of_equal_elements(alpha):  # seed 700459
    h = np.max(np.full((3, 5), 0.5) * alpha, axis=0)
    return np.arcsinh(alpha) * np.std(h)


# Found (fixed since): np.std of equal elements is rounding noise (2.8e-17: their mean does not round
# back to them), and its derivative was made of rounding errors: finite and wrong (0.198, the
# function being 0); it is NaN now, as docs/language.md says for equal elements
def test_spread_of_equal_elements_has_a_nan_derivative():
    assert np.isnan(s2sad.grad(spread_of_equal_elements)(-0.407))
    assert_no_failure(spread_of_equal_elements, -0.407)


# --- derivatives -----------------------------------------------------------------------------------

def root_of_padded(y):  # seed 701523 (small programs: np.cbrt of np.concatenate((np.arange(3) * 0.7, ...)))
    u = np.sqrt(np.concatenate((np.zeros(1), y)))
    return np.sum(u)


# Found (fixed since): forward mode: the constant element 0 has tangent 0 times sqrt's infinite
# derivative = nan, and the nan reaches every gradient ([nan, nan] instead of [0.707, 0.354];
# reverse mode is right)
def test_forward_mode_through_sqrt_of_a_constant_zero():
    assert_no_failure(root_of_padded, np.array([0.5, 2.0]))


def normal_with_zero_scale(W, beta):
    rng = np.random.default_rng(0)
    u = rng.normal(0.0, beta, 2)
    return np.mean(u) + np.sum(W ** 2)


# Found (fixed since): scale 0: d/dbeta is computed as u / beta = nan (it is the standard draw z), and
# forward mode spreads the nan to W's gradient ([nan, nan] instead of [2, 4])
def test_normal_draw_with_zero_scale():
    assert_no_failure(normal_with_zero_scale, np.array([1.0, 2.0]), 0.0)


def rebinds_what_it_iterates(w):  # seed 3006953
    w = 1.0 * w
    for xi in w:
        u = w
        w[1:] += xi
        w = np.cos(u)
    return np.mean(w)


# Found (fixed since): silently wrong value (0.294 where NumPy gives 0.273): the loop writes into the
# array it iterates over through w at its first step (w is rebound to new memory after), and the
# rows were read from the array as it was before the loop: w was taken for an array of its own, as
# nothing named the array iterated over. That array now counts as a reference to its memory, so
# the write through w (which may or may not share it, depending on the step) is refused at its line
def test_loop_writing_into_the_array_it_iterates_over_through_a_rebound_name():
    with pytest.raises(s2sad.S2SADError, match="'w' may or may not share memory with another array"):
        s2sad.grad(rebinds_what_it_iterates)(np.array([0.041, 1.2]))
    assert_no_failure(rebinds_what_it_iterates, np.array([0.041, 1.2]))


def writes_into_the_last_item(y, v):  # seed 5100167
    terms = [v]
    for s in range(1):
        prev = terms[-1]
        prev *= y
        terms.append(np.min(np.array([[-0.4]]), axis=0))
    return 1.0


# Found (fixed since): the argument v left unchanged, where NumPy multiplies it by y: terms[-1] is v
# itself at the first step, and s2sad read it from the list's rows, which are copies. A write into
# an item read from a list in its loop is refused at its line
def test_write_into_a_list_item_read_in_its_loop():
    with pytest.raises(s2sad.S2SADError, match="'prev' is an item of the list terms"):
        s2sad.grad(writes_into_the_last_item)(np.array([0.2, 1.2]), np.array([0.4, 1.4]))
    assert_no_failure(writes_into_the_last_item, np.array([0.2, 1.2]), np.array([0.4, 1.4]))


def list_made_again_in_an_outer_loop(x, A, mu):  # seed 6003139
    for row in A:
        outs = [mu]
        for j in range(1):
            prev = outs[-1]  # noqa: F841 (unused, as in the program found)
            outs.append(1.0)
        p = np.stack(outs)
        x[:2] += p
    return np.sum(x)


# Found (fixed since): an internal error in the reverse sweep (ValueError: operands could not be
# broadcast together with shapes (0,) (2,)): the list made anew at every step of the outer loop
# took the rows of the previous step's list as its buffer, so the adjoint of that buffer (of no
# rows before the first item) was carried to the previous step, whose list had rows. A list's
# first item now starts from nothing
def test_list_made_again_at_every_step_of_an_outer_loop():
    assert_no_failure(list_made_again_in_an_outer_loop, np.array([-1.1, -0.6]), np.array([[-0.1], [-1.2]]), 0.4)


_W3 = np.array([1.0, 1.0, 1.0])


def empty_list_summed(w):  # seed 9000081
    outs = []
    for s in range(1):
        if s == 0:
            break
        outs.append(w + _W3)
    h = np.sum(outs, axis=0)
    h = _W3 * h
    return np.sum(h)


# Found (fixed since): an internal error (ValueError: operands could not be broadcast together with
# shapes (3,) (0,)): the list is empty, which NumPy sums to 0.0, but s2sad kept it as an array of no
# rows of the items' shape, whose sum along axis 0 has no elements. A list of arrays used empty as
# an array is refused at run time, naming the function
def test_an_empty_list_of_arrays_summed():
    with pytest.raises(s2sad.S2SADError, match="a list of arrays built in a loop is empty"):
        s2sad.grad(empty_list_summed)(np.array([0.6]))
    assert_no_failure(empty_list_summed, np.array([0.6]))


def list_of_numbers_made_again_after_a_break(alpha1, W, x, W1):  # seed 10000259
    for i in range(3):
        states = []
        for s in range(3):
            if 1.0 + W1[s, 0] < 0.1:
                break
            states.append(np.dot(x, W[:, i]))
        g = np.sum(states, axis=0)
        alpha1 = g
    return alpha1


# Found (fixed since): an internal error in the reverse sweep (shapes (0,) and (2,)), like seed
# 6003139 for a list without items before its loop: its rows, carried from the previous step of
# the outer loop, took that step's rows as the buffer to grow from. A list's rows are now unbound
# where the list is made (`_s2sad_unset`), so each list starts from nothing
def test_list_of_numbers_made_again_after_a_break():
    W = np.array([[0.2, 0.8, -0.1], [-1.4, 0.7, 1.4], [-1.0, -0.6, 0.6], [1.1, 1.2, -0.2], [0.1, -0.2, 0.041]])
    assert_no_failure(list_of_numbers_made_again_after_a_break, 0.3, W, np.array([-0.5, -1.1, -0.9, 1.5, -0.2]),
                      np.array([[0.1], [-0.8], [-1.2]]))


def uniform_draw_in_a_checkpointed_loop(beta):  # seed 10000043
    rng = np.random.default_rng(1)
    ys = []
    for s in range(1):
        ys.append(rng.uniform(0.0, np.cosh(beta), 1))
    v = ys
    return np.sum(v)


# Found (fixed since): a silently wrong derivative with checkpointing (0.0 where it is -0.68): the
# draws of a checkpointed loop are written as standard variates (low + (high - low) * u) after the
# analysis of what is active, so the new values were taken for constants. They join the active
# values, and the checks of draw parameters have derivative rules (a range is high - low)
def test_the_bounds_of_a_draw_in_a_checkpointed_loop_are_differentiated():
    assert_no_failure(uniform_draw_in_a_checkpointed_loop, -1.1)


def flat_below_a_sensitive_input(x):  # seed 4009903
    b = x[1:]
    for j in range(5):
        for xi in b:
            b = 0.5 * b + b / (0.5 + np.arange(3) * 2.0)
    return np.cos(np.sum(b ** 2))


# Found (an oracle's mistake, fixed since): finite differences of x[3] gave exactly 0 where s2sad
# gives 8e-5: the sum of squares is 3e10, whose rounding (7e-6) swallows the step's effect on it.
# The finite differences of an element are not compared below the rounding error that the
# function's sensitivities imply (tests/fuzz/oracles.py, `_rounding_error`)
def test_finite_differences_below_the_rounding_of_a_sensitive_input():
    assert_no_failure(flat_below_a_sensitive_input, np.array([1.371, -0.194, 0.877, -0.93]))


total = 0.0


def assigns_total(a1):
    global total
    total = a1
    return a1


def global_assigned_by_a_helper_in_a_loop(v1):  # seed 5001485
    for xi in v1:
        if assigns_total(xi) > 1.0:
            pass
    v_new1 = v1
    v_new1[1] += total
    return np.sum(v_new1)


def global_assigned_by_a_helper_in_a_branch(v1):
    if v1[0] < 0.0:
        assigns_total(v1[1] * 2.0)
    for i in range(2):
        if v1[i] < 0.0:
            assigns_total(total + v1[i] * 5.0)
    return np.sum(v1) + total


# Found (fixed since): a global that a helper assigns in a loop, and that nothing read before the
# loop, was not carried through it: read after the loop at run time, its value was right and its
# derivative lost (d/dv1: [1, 1], NumPy's [1, 2]). Such a global is now read before the loop and
# carried; the same in a branch, whose other side gives the value read before the if
@pytest.mark.parametrize("f, v", [(global_assigned_by_a_helper_in_a_loop, [-0.1, -0.5]),
                                  (global_assigned_by_a_helper_in_a_branch, [-0.1, -0.5]),
                                  (global_assigned_by_a_helper_in_a_branch, [0.2, -0.4])])
def test_a_global_a_helper_assigns_in_a_loop_or_a_branch_keeps_its_derivative(f, v):
    assert_no_failure(f, np.array(v))


def std_of_equal_elements(x):  # seed 6001971
    x = x + (1.0 - x)
    x[0] = np.std(x)
    return np.mean(x)


# Found (an oracle's mistake, fixed since): reverse mode gave NaN, forward mode 0: np.std of equal
# elements has the documented NaN derivative, which a zero tangent (here x's, cancelled exactly)
# masks in forward mode but a nonzero cotangent does not. The modes may differ there
# (docs/language.md, Non-differentiable points); the oracle knew it only of NaNs NumPy warned
# about, and std's warns nothing
def test_the_nan_derivative_of_std_at_equal_elements_is_a_singular_point():
    assert_no_failure(std_of_equal_elements, np.array([-0.7, -0.4]))
    assert np.isnan(s2sad.grad(std_of_equal_elements)(np.array([-0.7, -0.4]))).all()


def draw_used_in_an_inner_loop(y, alpha, X):  # seed 7005147
    rng = np.random.default_rng(1)
    cell = np.searchsorted(np.array([1.0, 0.0, 1.0]), alpha)
    for step in range(2):
        grad = rng.normal(0.0, np.cosh(X[1, cell]), 1)
        for s in range(2):
            y = y * grad
    return np.sum(y)


# Found (fixed since): under checkpointing, an internal error (`grad` used before definition). The
# draws of a checkpointed loop are rewritten as standard variates (loc + scale * z) when the loop
# is reversed, but the function's shape facts had been computed before, and named the draw
# replaced as the shape of y in the inner loop. The draws are now rewritten first
def test_a_draw_of_a_checkpointed_loop_used_in_an_inner_loop():
    assert_no_failure(draw_used_in_an_inner_loop, np.array([0.2]), -1.0, np.array([[-0.2], [-1.4]]))


def joined_slices_of_a_short_vector(w):  # seed 8005449
    u = np.concatenate((1.0 / w[:4], np.cos(w[4:])))
    return np.sum(u)


# Found (fixed since): in forward mode, an internal error (StopIteration) in the shape facts of
# np.concatenate((x[:k], z)) with z shaped like x[k:]: the shape root was looked up among the
# operands' roots, which for tangents are not the slices themselves; it is x's root, which the
# operands' keys already give
def test_the_tangent_of_joined_slices():
    assert_no_failure(joined_slices_of_a_short_vector, np.array([0.9]))
    assert_no_failure(joined_slices_of_a_short_vector, np.array([0.9, 1.1, 0.7, 1.3, 0.4, 0.2]))


def a_loop_that_folds_back_to_a_literal(u, n):  # seed 9600493
    q = 1.0
    g = 1.0
    while q < n:
        g = g - 0
        q = q + 1.0
    return q * g + np.sum(u)


# Found (fixed since): an internal error (the values a loop carries did not settle). `g - 0`
# folds to g: carried, g is the loop's parameter and the body does not change it; not carried, g
# is the literal 1.0 and the body folds it to an equal literal, which counted as a change, so the
# guess went back and forth. An equal literal is now the same value
def test_a_loop_whose_body_folds_a_name_back_to_its_literal():
    assert_no_failure(a_loop_that_folds_back_to_a_literal, np.array([1.4]), 1.0)
    assert_no_failure(a_loop_that_folds_back_to_a_literal, np.array([1.4]), 3.0)


def cancelling_uses_of_large_values(u):  # seed 11006436
    for step in range(5):
        u_new = u
        u = u + np.dot(u_new, u_new)
    u_new1 = u.copy()
    u_new1 = u_new1 / (1.0 + (u_new1 - u))
    return np.sum(np.sin(u_new1))


# Found (an oracle's limit): the two modes' gradients differed by 4e-7 (relative). u grows to
# 3e10, and the reverse sweep adds the cotangents of a / (1 + (a - u)) (a a copy of u) through a
# and u separately: terms 3e10 times the gradient cancel, leaving rounding of about 1e-16 times
# 3e10. Forward mode's tangents of a and u are equal and cancel exactly, as a complex step
# confirms. The oracle now allows rounding of that size where the variables grow large
def test_the_modes_may_differ_by_the_rounding_of_cancelling_large_terms():
    u = np.array([-0.7, 1.1])
    reverse = s2sad.grad(cancelling_uses_of_large_values)(u)
    exact = [cancelling_uses_of_large_values(u + 1e-30j * e).imag / 1e-30 for e in np.eye(2)]
    np.testing.assert_allclose(s2sad.grad(cancelling_uses_of_large_values, mode="forward")(u), exact, rtol=1e-12)
    np.testing.assert_allclose(reverse, exact, rtol=16 * np.finfo(float).eps * 3e10)
    assert_no_failure(cancelling_uses_of_large_values, u)


# The generator's tags for the constructs of the open findings, each with its test.
OPEN_FINDINGS: dict[str, str] = {}


def test_open_findings_name_tests_of_this_module():
    tests = {name for name in globals() if name.startswith("test_")}
    assert set(OPEN_FINDINGS.values()) <= tests
