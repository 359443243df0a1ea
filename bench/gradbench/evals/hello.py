"""GradBench's ``hello`` eval: ``square`` computes x², ``double`` its derivative 2x (by s2sad)."""

from __future__ import annotations

from typing import Any

import s2sad

from .common import Job, derivative


def square(x: float) -> float:
    """x times itself."""
    return x * x


def _square(input: Any) -> Job:
    x = float(input)
    return Job(lambda: square(x), float)


def _double(input: Any) -> Job:
    x = float(input)
    d = derivative(s2sad.grad, square)
    return Job(lambda: d(x), float)


FUNCTIONS = {"square": _square, "double": _double}
