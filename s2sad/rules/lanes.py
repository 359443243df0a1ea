"""Lane forms of derivative rules, for the vector forward transform
(`s2sad/transforms/vector_forward.py`): the tangent of an equation's output for all k lanes
at once, each tangent with a leading axis of lanes.

    lane_jvp(primals, tangents, out, k, **params) -> the batched tangent, None when it is zero,
                                                     or NotImplemented (the transform then
                                                     loops over the lanes with the rule's jvp)
"""

from __future__ import annotations

from typing import Callable

from .. import primitives as P

LANE_RULES: dict[P.Primitive, Callable] = {}


def lane_rule(prim: P.Primitive) -> Callable | None:
    return LANE_RULES.get(prim)
