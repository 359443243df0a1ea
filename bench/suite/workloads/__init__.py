"""The registry of workloads, in the order of the table."""

from __future__ import annotations

from suite.workload import Workload
from suite.workloads import (bundle_adjustment, gmm, hand_tracking, heat, kmeans, lennard_jones, linear_regression,
                             lstm, ode, oscillator, rnn)

WORKLOADS: list[Workload] = [module.WORKLOAD for module in (
    lennard_jones, oscillator, rnn, lstm, gmm, bundle_adjustment, kmeans, hand_tracking, heat, linear_regression,
    ode)]


def select(only: str = "") -> list[Workload]:
    """The workloads whose name or title contains `only` (case-insensitive); all when empty."""
    return [w for w in WORKLOADS if only.lower() in w.name.lower() or only.lower() in w.title.lower()]
