"""A decorated function is differentiated as Python runs it: through its decorator's wrapper
(`functools.wraps` makes `inspect` show the undecorated source, which s2sad does not follow)."""

import numpy as np
import pytest

import s2sad

from . import decorated_funcs as df

pytestmark = pytest.mark.usefixtures("each_backend")
MODES = pytest.mark.parametrize("mode", ["reverse", "forward"])


@MODES
def test_a_wrapper_with_the_wrapped_parameters(mode):
    assert s2sad.value_and_grad(df.square, mode=mode)(3.0) == (18.0, 12.0)


@MODES
def test_a_wrapper_forwarding_args_and_kwargs(mode):
    x, w = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    value, (gx, gw) = s2sad.value_and_grad(df.weighted, wrt=(0, 1), mode=mode)(x, w)
    np.testing.assert_allclose(value, df.weighted(x, w))
    np.testing.assert_allclose(gx, 2 * w * x + 1.0)
    np.testing.assert_allclose(gw, x * x)


@MODES
def test_decorated_helpers_and_stacked_decorators(mode):
    assert s2sad.value_and_grad(df.calls_decorated, mode=mode)(2.0) == (24.0, 32.0)
    x, w = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    np.testing.assert_allclose(s2sad.grad(df.calls_with_keywords, mode=mode)(x, w), 2 * w * x + 1.0)


def test_the_generated_code_names_the_wrapped_parameters():
    source = s2sad.derivative_source(df.weighted, args=(np.ones(2), np.ones(2)), backend="python")
    assert "def weighted_vjp(x, w, out_bar)" in source
