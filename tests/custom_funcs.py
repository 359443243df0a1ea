"""Functions with user-defined derivative rules (s2sad.custom_rule), for test_custom.py."""

import numpy as np

import s2sad

TABLE = np.array([1.0, 2.0, 3.0])


@s2sad.custom_rule
def softplus(x):
    return np.log1p(np.exp(x))


@softplus.defjvp
def softplus_jvp(x, x_dot):
    return x_dot / (1.0 + np.exp(-x))


@softplus.defvjp
def softplus_vjp(x, out, out_bar):
    return out_bar / (1.0 + np.exp(-x))


def softplus_loss(w, x):
    return np.sum(softplus(x * w) ** 2)


@s2sad.custom_rule
def straight_through_round(x):
    """Rounds, but passes derivatives through as if it were the identity."""
    return np.round(x)


@straight_through_round.defjvp
def straight_through_round_jvp(x, x_dot):
    return x_dot


@straight_through_round.defvjp
def straight_through_round_vjp(x, out, out_bar):
    return out_bar


def quantised(x):
    return np.sum(straight_through_round(x) * x)


@s2sad.custom_rule
def scale(x, s):
    return s * x


@scale.defjvp
def scale_jvp(x, s, x_dot, s_dot):
    return s * x_dot + s_dot * x


@scale.defvjp
def scale_vjp(x, s, out, out_bar):
    return s * out_bar, np.sum(out_bar * x)


def scaled_in_a_loop(x, s):
    total = 0.0
    for i in range(3):
        x = np.tanh(scale(x, s))
        total = total + np.sum(x)
    return total


@s2sad.custom_rule
def only_reverse(x):
    return x * x


@only_reverse.defvjp
def only_reverse_vjp(x, out, out_bar):
    return 2.0 * x * out_bar


def uses_only_reverse(x):
    return only_reverse(x) + 1.0  # <- call


@s2sad.custom_rule
def two_args(x, y):
    return x * y


@two_args.defvjp
def two_args_vjp(x, y, out, out_bar):
    return out_bar * y


@two_args.defjvp
def two_args_jvp(x, y, x_dot, y_dot):
    return x_dot * y, x * y_dot  # (two values: the tangent is their sum)


def uses_two_args(x, y):
    return two_args(x, y)


@s2sad.custom_rule
def reads_table(x):
    return x * 2.0


@reads_table.defvjp
def reads_table_vjp(x, out, out_bar):
    return out_bar * TABLE


def uses_reads_table(x):
    return np.sum(reads_table(x))
