"""User-defined derivative rules (s2sad.custom_rule): the compiler calls them instead of looking
inside the function."""

import numpy as np
import pytest

import custom_funcs as cf
import s2sad
from numeric import fd

pytestmark = pytest.mark.usefixtures("each_backend")  # every test, compiled and not

W = np.array([0.3, -1.2, 2.0])
X = np.array([1.0, 0.5, -0.7])
MODES = pytest.mark.parametrize("mode", ["reverse", "forward"])


@MODES
def test_softplus_rule_gives_the_exact_gradient(mode):
    g = s2sad.grad(cf.softplus_loss, mode=mode)(W, X)
    sp = np.log1p(np.exp(X * W))
    np.testing.assert_allclose(g, 2 * sp / (1 + np.exp(-X * W)) * X, rtol=1e-13)
    np.testing.assert_allclose(g, fd(cf.softplus_loss, (W, X), 0), rtol=1e-7)


def test_the_rule_is_used_not_the_body():
    """Rounding has derivative 0; the straight-through rule says 1, and that is what is used."""
    x = np.array([0.2, 1.7, -2.4])
    for mode in ("reverse", "forward"):
        g = s2sad.grad(cf.quantised, mode=mode)(x)
        np.testing.assert_array_equal(g, np.round(x) + x)


@MODES
def test_a_rule_with_two_arguments_inside_a_loop(mode):
    x, s = np.array([0.4, -0.3]), 0.8
    got = s2sad.grad(cf.scaled_in_a_loop, wrt=(0, 1), mode=mode)(x, s)
    for k in (0, 1):
        np.testing.assert_allclose(got[k], fd(cf.scaled_in_a_loop, (x, s), k), rtol=1e-7)


def test_called_from_python_it_is_the_plain_function():
    assert cf.softplus(0.0) == pytest.approx(np.log(2.0))
    assert isinstance(cf.softplus, s2sad.CustomRule) and cf.softplus.__name__ == "softplus"


def test_generated_source_calls_the_rules_not_the_body():
    source = s2sad.derivative_source(cf.softplus_loss, args=(W, X))
    assert "/ (1.0 + np.exp(-t))" in source  # the vjp, inlined
    body = source.split("def softplus_loss_vjp")[1]
    assert "custom(" not in body and "stop(" not in body


def test_ir_shows_the_custom_call():
    text = s2sad.ir_source(cf.softplus_loss, args=(W, X))
    assert "stop(" in text and "custom(" in text and "rule=<s2sad.custom_rule softplus>" in text


def test_a_missing_mode_is_refused_at_the_call():
    assert s2sad.grad(cf.uses_only_reverse)(1.5) == pytest.approx(3.0)
    with pytest.raises(s2sad.S2SADError, match=r"custom_funcs.py:\d+: only_reverse has a custom rule but no "
                                                r"forward-mode derivative; give one with @only_reverse.defjvp") as info:
        s2sad.grad(cf.uses_only_reverse, mode="forward")(1.5)
    assert "<- call" in info.value.source_line


def test_a_vjp_must_return_one_cotangent_per_argument_and_a_jvp_one_tangent():
    with pytest.raises(s2sad.S2SADError, match="the vjp of two_args returns 1 values for 2 arguments"):
        s2sad.grad(cf.uses_two_args)(1.0, 2.0)
    with pytest.raises(s2sad.S2SADError, match=r"custom_funcs.py:\d+: the jvp of two_args returns 2 values; "
                                                "it must return one"):
        s2sad.grad(cf.uses_two_args, mode="forward")(1.0, 2.0)


def test_a_rule_may_not_read_a_global_array():
    with pytest.raises(s2sad.S2SADError, match="reads_table_vjp reads a module's global array; pass it as an "
                                                "argument instead"):
        s2sad.grad(cf.uses_reads_table)(X)
