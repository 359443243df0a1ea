"""Checkpointed loops in reverse mode (`grad(..., checkpoint=policy)`, transforms/checkpointed.py):
the same gradients under every policy, against finite differences too, under both backends;
the steps run again equal the policy's `advances(l)`; and what stage 1 refuses."""

import numpy as np
import pytest

import s2sad
from loop_funcs import heat_misfit, oscillator, rnn_final, rnn_total
from numeric import fd

POLICIES = [s2sad.Periodic(1), s2sad.Periodic(2), s2sad.Periodic(3), s2sad.Periodic(50),
            s2sad.Binomial(1), s2sad.Binomial(2), s2sad.Binomial(4)]


def nested(x, n):
    """A loop whose body has a loop of its own (taped inside each step's adjoint)."""
    s = x
    for t in range(n):
        acc = 0.0
        for m in range(3):
            acc = acc + np.sin(s * (m + 1.0))
        s = s + 0.1 * acc
    return s


def _rng():
    return np.random.default_rng(6)


def _cases():
    """(function, arguments, wrt, loop length l)."""
    rng = _rng()
    W, U, h0, xs = 0.5 * rng.random((3, 3)), rng.random((3, 2)), rng.random(3), rng.random((7, 2))
    return {
        "oscillator": (oscillator, (1.3, 0.5, 0.1, 0.2, 0.05, 10), (0, 1, 2, 3, 4), 10),
        "heat": (heat_misfit, (rng.random(8), rng.random(8), 0.2, 9), (0, 1, 2), 9),
        "rnn_final": (rnn_final, (W, U, h0, xs), (0, 1, 2, 3), 7),
        "rnn_total": (rnn_total, (W, U, h0, xs), (0, 1, 2, 3), 7),
        "nested": (nested, (0.7, 6), (0,), 6),
    }


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_policies_give_the_same_gradient(each_backend, name):
    f, args, wrt, l = CASES[name]
    reference = s2sad.grad(f, wrt=wrt)(*args)
    for policy in POLICIES:
        g = s2sad.grad(f, wrt=wrt, checkpoint=policy)
        got = g(*args)
        for a, b in zip(reference, got, strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=0, err_msg=f"{name} {policy}")
        assert g.advances == policy.advances(l), (name, policy)


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_finite_differences(name):
    f, args, wrt, l = CASES[name]
    got = s2sad.grad(f, wrt=wrt, checkpoint=s2sad.Binomial(2))(*args)
    for k, g in zip(wrt, got, strict=True):
        np.testing.assert_allclose(g, fd(f, args, k), rtol=1e-6, atol=1e-7, err_msg=f"{name} wrt {k}")


@pytest.mark.parametrize("steps", [0, 1, 2, 5])
def test_short_loops(each_backend, steps):
    args = (1.3, 0.5, 0.1, 0.2, 0.05, steps)
    reference = s2sad.grad(oscillator, wrt=(0, 1, 2))(*args)
    for policy in (s2sad.Periodic(2), s2sad.Binomial(1), s2sad.Binomial(3)):
        g = s2sad.value_and_grad(oscillator, wrt=(0, 1, 2), checkpoint=policy)
        value, got = g(*args)
        assert value == oscillator(*args)
        np.testing.assert_allclose(got, reference, rtol=1e-12, atol=0)
        assert g.advances == policy.advances(steps)


def test_snapshots_take_less_memory_than_tapes():
    f, args, wrt, l = CASES["heat"]
    taped = s2sad.grad(f, wrt=wrt)
    taped(*args)
    few = s2sad.grad(f, wrt=wrt, checkpoint=s2sad.Binomial(2))
    few(*args)
    assert 0 < few.tape_bytes < taped.tape_bytes


def test_the_source_shows_the_schedule():
    source = s2sad.derivative_source(oscillator, wrt=1, args=(1.3, 0.5, 0.1, 0.2, 0.05, 10),
                                     checkpoint=s2sad.Binomial(2))
    assert "binomial_schedule(" in source and "snap_x[j] = x" in source and "x = snap_x[j]" in source


def test_forward_mode_ignores_the_policy():
    f, args, wrt, l = CASES["oscillator"]
    got = s2sad.grad(f, wrt=wrt, mode="forward", checkpoint=s2sad.Binomial(2))(*args)
    np.testing.assert_allclose(got, s2sad.grad(f, wrt=wrt)(*args), rtol=1e-12)


def draws_in_loop(x, n):
    rng = np.random.default_rng(0)
    for t in range(n):
        x = x + 0.1 * rng.standard_normal()
    return x


def while_loop(x):
    while x < 10.0:
        x = x * 1.5
    return x


def test_refusals():
    with pytest.raises(s2sad.S2SADError, match="would not give the same values twice"):
        s2sad.grad(draws_in_loop, checkpoint=s2sad.Binomial(2))(1.0, 4)
    with pytest.raises(s2sad.S2SADError, match="for loops only"):
        s2sad.grad(while_loop, checkpoint=s2sad.Periodic(2))(1.0)
    with pytest.raises(s2sad.S2SADError, match="checkpoint="):
        s2sad.grad(oscillator, checkpoint="binomial")
    assert s2sad.grad(while_loop, checkpoint=s2sad.StoreAll())(1.0) == pytest.approx(1.5 ** 6)
