"""The NumPy functions of s2sad's GradBench tool (``bench/gradbench/evals/``) that workloads of
this suite differentiate too: the k-means cost and the hand-tracking residuals are defined once,
there, and imported from here."""

from __future__ import annotations

import sys
from pathlib import Path

_TOOL = Path(__file__).resolve().parent.parent / "gradbench"
if str(_TOOL) not in sys.path:
    sys.path.insert(0, str(_TOOL))  # (as bench/gradbench/tool.py imports its evals)

from evals import ht, kmeans  # noqa: E402

__all__ = ["ht", "kmeans"]
