"""BLAS calls right after the other BLAS library's: an optimisation loop alternating NumPy and s2sad.

    python bench/blas_switch.py

NumPy's matrix products run in NumPy's OpenBLAS; the compiled derivatives' run in SciPy's (Numba
calls BLAS through scipy.linalg.cython_blas). Each library keeps a pool of threads that spin,
waiting for more work, for a while after a call (OpenBLAS: 2**28 processor cycles, about 0.1 s,
unless OPENBLAS_THREAD_TIMEOUT sets the power of two before the library loads). A call of the
other library right after competes with them for the cores. s2sad sets that timeout to 2**20
cycles for SciPy's library when it is loaded after s2sad (s2sad/__init__.py); NumPy's is loaded
with NumPy, before, so its own setting is the user's.

Each configuration runs in a new process (the variable is read when a library loads): the median
time of a gradient (linear regression, 4000 × 200) right after a NumPy product (300 × 300), and
of the product right after the gradient, each divided by its time alone.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import s2sad

def loss(w, X, y):
    r = X @ w - y
    return np.sum(r * r) / X.shape[0]

rng = np.random.default_rng(0)
X, y, w = rng.normal(size=(4000, 200)), rng.normal(size=4000), rng.normal(size=200)
A = rng.normal(size=(300, 300))
g = s2sad.grad(loss, backend="numba")
g(w, X, y)
steps = {"gradient": lambda: g(w, X, y), "product": lambda: A @ A}

def median(before, step, n=60):
    times = []
    for _ in range(n):
        if before is not None:
            before()
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return float(np.median(times))

alone = {name: median(None, step) for name, step in steps.items()}
print(median(steps["product"], steps["gradient"]) / alone["gradient"],
      median(steps["gradient"], steps["product"]) / alone["product"],
      alone["gradient"], alone["product"])
"""

CONFIGURATIONS = {
    "s2sad's default (SciPy's BLAS: 2**20 cycles)": {},
    "OpenBLAS's default for both (2**28 cycles)": {"OPENBLAS_THREAD_TIMEOUT": "28"},
    "2**20 cycles for both (set before NumPy loads)": {"OPENBLAS_THREAD_TIMEOUT": "20"},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="processes per configuration (the median is shown)")
    options = parser.parse_args(argv)
    child = Path(tempfile.mkdtemp(prefix="s2sad-bench-")) / "alternate.py"  # (s2sad reads the function's file)
    child.write_text(_CHILD)
    print("| configuration | gradient after a NumPy product ÷ alone | product after a gradient ÷ alone |")
    print("| --- | ---: | ---: |")
    for name, extra in CONFIGURATIONS.items():
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"} | extra
        runs = []
        for _ in range(options.runs):
            out = subprocess.run([sys.executable, str(child), str(ROOT)], env=env, capture_output=True, text=True,
                                 check=True)
            runs.append([float(v) for v in out.stdout.split()])
        after_product, after_gradient = (sorted(r[k] for r in runs)[len(runs) // 2] for k in (0, 1))
        print(f"| {name} | {after_product:.2f} | {after_gradient:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
