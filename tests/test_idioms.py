"""Everyday Python in differentiated functions: None defaults and `is None`, lambdas and
functools.partial, lists (the functions are in idiom_funcs.py). Derivatives against closed
forms and central finite differences, both modes, both backends."""

import numpy as np
import pytest

import idiom_funcs as idf
import s2sad
from numeric import check_grad

pytestmark = pytest.mark.usefixtures("each_backend")
MODES = pytest.mark.parametrize("mode", ["reverse", "forward"])
X = np.array([0.5, -1.5, 2.0])


# --- None defaults and `is None` -----------------------------------------------------------------

@MODES
def test_none_default_resolved_per_call_types(mode):
    g = s2sad.grad(idf.scaled, mode=mode)
    np.testing.assert_allclose(g(X), 8 * X, rtol=1e-14)                      # scale defaults to 2
    np.testing.assert_allclose(g(X, 3.0), 18 * X, rtol=1e-14)
    np.testing.assert_allclose(g(X, 3.0, 1.0), 6 * (3 * X + 1), rtol=1e-14)   # shift given
    gx, gs = s2sad.grad(idf.scaled, wrt=(0, 1), mode=mode)(X, 3.0, 1.0)
    np.testing.assert_allclose(gs, np.sum(2 * (3 * X + 1) * X), rtol=1e-14)
    check_grad(idf.scaled, (X, 0.7, -0.2), mode)


@MODES
def test_none_in_conditional_expression(mode):
    w = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(s2sad.grad(idf.weighted_or_plain, mode=mode)(X), 2 * X, rtol=1e-14)
    np.testing.assert_allclose(s2sad.grad(idf.weighted_or_plain, mode=mode)(X, w), 2 * w * X, rtol=1e-14)


def test_module_setting_that_is_none_then_set(monkeypatch):
    g = s2sad.grad(idf.shifted_by_setting)
    np.testing.assert_allclose(g(X), 2 * X, rtol=1e-14)
    monkeypatch.setattr(idf, "OFFSET", 0.5)
    np.testing.assert_allclose(g(X), 2 * (X - 0.5), rtol=1e-14)   # (checked at every call)
    monkeypatch.setattr(idf, "OFFSET", None)
    np.testing.assert_allclose(g(X), 2 * X, rtol=1e-14)


def test_none_argument_cannot_be_differentiated():
    with pytest.raises(s2sad.S2SADError, match="cannot differentiate with respect to 'scale': it is None"):
        s2sad.grad(idf.scaled, wrt=(0, 1))(X)


def test_is_between_values_refused():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: 'is' and 'is not' compare with None"):
        s2sad.grad(idf.compares_values_with_is)(1.0, 2.0)


def test_none_used_as_a_number_refused_where_used():
    with pytest.raises(s2sad.S2SADError, match=r"idiom_funcs.py:\d+: a value here is None, and mul cannot take None"):
        s2sad.grad(idf.uses_none)(X)


@MODES
def test_none_is_false_as_a_condition(mode):
    assert s2sad.grad(idf.doubled_if_flag, mode=mode)(1.5) == 1.0
    assert s2sad.grad(idf.doubled_if_flag, mode=mode)(1.5, True) == 2.0
