"""The bundle-adjustment Jacobian (block-sparse) against its primal, dense and compressed.

    python bench/jacobian.py           # 200 observations (the comparison suite's size)
    python bench/jacobian.py --quick   # 20 observations

The residuals r (two per observation) of bench/suite/workloads/bundle_adjustment.py depend on
the observation's 11 camera parameters, 3 point coordinates and weight only. The Jacobian with
respect to all three is computed by `s2sad.jacobian(..., sparsity=...)` for each argument: in
forward mode one JVP per group of columns that share no row (11, 3 and 1 groups), in reverse mode
one VJP per group of rows that share no column (2 groups each); the dense Jacobian takes one JVP
per column. Each time is the median of interleaved rounds (bench/loops.py), and the ratios to the
faster of the NumPy and Numba primals are what to read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the s2sad of this checkout

import s2sad  # noqa: E402
from loops import interleaved_medians  # noqa: E402  (bench/loops.py)
from suite.workload import rebound  # noqa: E402
from suite.workloads import bundle_adjustment as ba  # noqa: E402


def block_pattern(p: int, width: int):
    """Rows 2j and 2j + 1 (observation j's residuals) depend on columns width·j … width·j + width - 1."""
    import scipy.sparse
    rows = np.repeat(np.arange(2 * p), width)
    cols = ((np.arange(2 * p) // 2)[:, None] * width + np.arange(width)).ravel()
    return scipy.sparse.csr_matrix((np.ones(rows.size, dtype=bool), (rows, cols)), shape=(2 * p, width * p))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 observations")
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds")
    options = parser.parse_args(argv)
    import numba
    import scipy.sparse

    args = ba._args(options.quick)
    p = args[1].shape[0]
    widths = (11, 3, 1)  # (camera, point, weight)
    jacobians = {mode: [s2sad.jacobian(ba.reprojection, wrt=k, mode=mode, sparsity=block_pattern(p, width))
                        for k, width in enumerate(widths)] for mode in ("forward", "reverse")}
    dense = [s2sad.jacobian(ba.reprojection, wrt=k) for k in range(3)]
    numba_primal = rebound(ba.reprojection, wrap=numba.njit)  # (its helper compiled too)
    full = {mode: scipy.sparse.hstack([J(*args) for J in js]).tocsr() for mode, js in jacobians.items()}
    reference = np.hstack([J(*args).reshape(2 * p, -1) for J in dense])
    for mode, matrix in full.items():
        difference = np.abs(matrix.toarray() - reference).max() / np.abs(reference).max()
        print(f"{mode:8s} sparse Jacobian: {matrix.shape[0]}x{matrix.shape[1]}, {matrix.nnz} entries, "
              f"largest difference from the dense one (relative) {difference:.1e}")
        assert difference < 1e-12
    numba_primal(*args)
    times = interleaved_medians({
        "NumPy primal": lambda: ba.reprojection(*args),
        "Numba primal": lambda: numba_primal(*args),
        "sparse, forward": lambda: [J(*args) for J in jacobians["forward"]],
        "sparse, reverse": lambda: [J(*args) for J in jacobians["reverse"]],
        "dense, forward": lambda: [J(*args) for J in dense],
    }, options.rounds, block=0.2)
    faster = min(times["NumPy primal"], times["Numba primal"])
    print(f"\nbundle adjustment, {p} observations: time ÷ the faster primal (the {'Numba' if faster == times['Numba primal'] else 'NumPy'} one)")
    for name, seconds in times.items():
        print(f"  {name:16s} {seconds / faster:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
