"""Hessian-vector products against gradients: the cost of forward over reverse.

    python bench/hvp.py              # the workloads of bench/loops.py, Numba backend
    python bench/hvp.py --quick      # small sizes: a smoke test of the script
    python bench/hvp.py --backend python

For each workload, in one process: ``s2sad.grad(f)`` and ``s2sad.hvp(f)`` (same `wrt`, same
backend), each the median time per call over interleaved rounds (bench/loops.py's
`interleaved_medians`), after a warm-up; the first call of each (differentiate, write,
compile) is timed apart. The ratio HVP ÷ gradient is what to read (the goal is at most 4:
an HVP carries a tangent beside every value of the forward and the reverse sweep); the
machines these run on are shared, so absolute times are noisy.

Then `s2sad.hessian` of a small Lennard-Jones cluster against n calls of the compiled HVP
alone: the share of its time spent in the Python loop over basis vectors.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the s2sad of this checkout

import s2sad
from loops import interleaved_medians, lennard_jones, workloads  # (bench/loops.py)


def directions(args, wrt: tuple) -> list:
    rng = np.random.default_rng(1)
    return [rng.standard_normal(np.shape(args[k])) if np.ndim(args[k]) else 1.0 for k in wrt]


def timed_first(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def measure(fn, args, wrt, backend: str, rounds: int) -> dict:
    wrt = wrt if isinstance(wrt, tuple) else (wrt,)
    grad = s2sad.grad(fn, wrt=wrt, backend=backend)
    hvp = s2sad.hvp(fn, wrt=wrt, backend=backend)
    vs = directions(args, wrt)
    calls = {"grad": lambda: grad(*args), "hvp": lambda: hvp(*args, *vs)}
    first = {name: timed_first(call) for name, call in calls.items()}
    m = interleaved_medians(calls, rounds)
    m["ratio"] = m["hvp"] / m["grad"]
    m["first grad"], m["first hvp"] = first["grad"], first["hvp"]
    return m


def hessian_loop(backend: str, rounds: int, particles: int = 8) -> dict:
    """`s2sad.hessian` (a Python loop of HVPs) against as many calls of the compiled f_hvp."""
    pos = np.random.default_rng(2).uniform(0, 3, (particles, 3))
    hessian = s2sad.hessian(lennard_jones, backend=backend)
    h = hessian(pos, 1.0, 1.0)
    f_hvp = s2sad.hvp(lennard_jones, backend=backend).derived(pos, 1.0, 1.0).fn
    basis = [e.reshape(pos.shape) for e in np.eye(pos.size)]

    def products():
        for e in basis:
            f_hvp(pos, 1.0, 1.0, e)

    m = interleaved_medians({"hessian": lambda: hessian(pos, 1.0, 1.0), "products": products}, rounds)
    m["n"], m["asymmetry"] = pos.size, float(np.max(np.abs(h - h.transpose(2, 3, 0, 1))))
    return m


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of timed calls")
    parser.add_argument("--only", default="", help="run the workloads whose name contains this text")
    parser.add_argument("--backend", default="numba", choices=("numba", "python"))
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="s2sad-bench-") as cache:
        os.environ["S2SAD_CACHE_DIR"] = cache
        table(options)


def table(options) -> None:
    print(f"backend: {options.backend}")
    print("| workload | gradient (ms) | HVP (ms) | HVP ÷ gradient | first call, gradient (s) | first call, HVP (s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (fn, args, wrt) in workloads(options.quick).items():
        if options.only.lower() not in name.lower():
            continue
        m = measure(fn, args, wrt, options.backend, options.rounds)
        print(f"| {name} | {1e3 * m['grad']:.3f} | {1e3 * m['hvp']:.3f} | {m['ratio']:.2f} "
              f"| {m['first grad']:.2f} | {m['first hvp']:.2f} |")
    m = hessian_loop(options.backend, options.rounds)
    print(f"\nHessian of Lennard-Jones, {m['n']} coordinates: {1e3 * m['hessian']:.3f} ms; "
          f"{m['n']} calls of the compiled HVP alone: {1e3 * m['products']:.3f} ms "
          f"(the Python loop's share {1 - m['products'] / m['hessian']:.0%}); "
          f"largest asymmetry {m['asymmetry']:.0e}")


if __name__ == "__main__":
    main()
