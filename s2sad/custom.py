"""User-defined derivative rules: a function the compiler treats as a primitive.

    @s2sad.custom_rule
    def softplus(x):
        return np.log1p(np.exp(x))

    @softplus.defjvp
    def softplus_jvp(x, x_dot):                # the primal arguments, then their tangents
        return x_dot / (1.0 + np.exp(-x))

    @softplus.defvjp
    def softplus_vjp(x, out, out_bar):         # the primal arguments, the value, its cotangent
        return out_bar / (1.0 + np.exp(-x))    # one cotangent per argument (a tuple for several)

Called from Python, `softplus` is the plain function. In a differentiated function, its body
computes the value as usual, but no derivative flows through it: the forward transform calls the
JVP and the reverse transform the VJP, both written in the same NumPy subset and compiled with
the rest. A mode whose rule is missing is refused with the call's location.

In the IR the call is ``y = custom(value, *args; rule=softplus)`` with the body computing `value`
from the arguments behind `stop`, which has no derivative; both are identities, removed once the
derivative is built.
"""

from __future__ import annotations

import functools
from typing import Callable


class CustomRule:
    """A function with user-given derivatives; see the module docstring."""

    def __init__(self, fn: Callable):
        self.fn = fn
        self.jvp: Callable | None = None
        self.vjp: Callable | None = None
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<s2sad.custom_rule {self.fn.__qualname__}>"

    def defjvp(self, jvp: Callable) -> Callable:
        """Register ``jvp(*args, *tangents) -> tangent of the value``."""
        self.jvp = jvp
        return jvp

    def defvjp(self, vjp: Callable) -> Callable:
        """Register ``vjp(*args, out, out_bar) -> cotangent(s) of the arguments``."""
        self.vjp = vjp
        return vjp


def custom_rule(fn: Callable) -> CustomRule:
    """Make `fn` a primitive whose derivatives are given with ``.defjvp`` and ``.defvjp``."""
    return CustomRule(fn)
