"""Gradient cost relative to the function itself, for a few vectorised workloads.

For each workload this measures, with `time.perf_counter` and after a warm-up:

* the primal: the user's NumPy function called directly;
* the gradient: ``s2sad.grad(f)(*args)`` (reverse mode, plain Python backend), i.e. everything a
  user pays per call, argument checks included;
* the generated reverse-mode function alone (``f_vjp``), without the API's argument handling;

and reports medians, the ratio gradient ÷ primal, and, separately, the first call of a new
gradient object with an empty cache directory (parse, transform, write and import the module,
then run once).

    python bench/ratios.py               # default sizes
    python bench/ratios.py --quick       # smaller sizes and fewer samples, for a smoke test
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the s2sad of this checkout


# --- workloads ------------------------------------------------------------------------------------

def mse(w, X, y):
    """Linear regression: mean squared error of the residuals."""
    r = X @ w - y
    return np.mean(r ** 2)


def tanh_layer(W, b, X, Y):
    """One dense tanh layer, squared error against targets."""
    H = np.tanh(X @ W + b)
    return np.sum((H - Y) ** 2) / X.shape[0]


def scalar_expr(x, y):
    """A scalar expression: only per-call overhead matters here."""
    v = np.cos(x) + x * y
    return np.exp(v) + v ** 2 + np.sqrt(x * x + y * y)


@dataclass
class Workload:
    name: str
    fn: Callable
    args: tuple
    wrt: object = 0


def workloads(quick: bool) -> list[Workload]:
    rng = np.random.default_rng(0)
    n, d = (2000, 50) if quick else (20000, 50)
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d)
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)

    batch, inputs, units = (200, 64, 32) if quick else (2000, 128, 64)
    Xl = rng.normal(size=(batch, inputs))
    W = rng.normal(size=(inputs, units)) / np.sqrt(inputs)
    b = np.zeros(units)
    Y = rng.normal(size=(batch, units))

    return [
        Workload(f"linear regression MSE {n}x{d}, wrt w", mse, (w, X, y)),
        Workload(f"tanh layer {batch}x{inputs} -> {units}, wrt W", tanh_layer, (W, b, Xl, Y)),
        Workload("scalar expression, wrt (x, y)", scalar_expr, (0.5, 2.0), ("x", "y")),
    ]


# --- timing ---------------------------------------------------------------------------------------

def per_call_times(call: Callable[[], object], samples: int, min_sample_time: float) -> list[float]:
    """Seconds per call, one value per sample; each sample loops enough calls to last
    at least `min_sample_time` (so that cheap calls are not lost in timer resolution)."""
    for _ in range(3):  # warm-up
        call()
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            call()
        elapsed = time.perf_counter() - start
        if elapsed >= min_sample_time:
            break
        loops *= 2 if elapsed == 0 else max(2, min(10, int(min_sample_time / elapsed) + 1))
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        for _ in range(loops):
            call()
        times.append((time.perf_counter() - start) / loops)
    return times


def first_call_time(make: Callable[[], Callable], args: tuple) -> float:
    """Seconds for the first call of a new derivative object (compile, then run once)."""
    g = make()
    start = time.perf_counter()
    g(*args)
    return time.perf_counter() - start


def fmt(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


# --- one workload -----------------------------------------------------------------------------------

@dataclass
class Result:
    name: str
    primal: float
    grad: float
    vjp_only: float
    first_call: float
    max_error: float


def measure(work: Workload, samples: int, min_sample_time: float) -> Result:
    import s2sad

    fn, args = work.fn, work.args
    first = first_call_time(lambda: s2sad.grad(fn, wrt=work.wrt, backend="python"), args)
    g = s2sad.grad(fn, wrt=work.wrt, backend="python")
    derived = g.derived(*args)           # the loaded generated module's function
    prepared = g.bind(args, {})          # arguments as the generated code receives them

    primal = statistics.median(per_call_times(lambda: fn(*args), samples, min_sample_time))
    grad = statistics.median(per_call_times(lambda: g(*args), samples, min_sample_time))
    vjp_only = statistics.median(per_call_times(lambda: derived.fn(*prepared, 1.0), samples, min_sample_time))
    return Result(work.name, primal, grad, vjp_only, first, check(g, work))


def check(g, work: Workload) -> float:
    """Largest relative difference between the gradient and a central finite difference
    along a random direction (a sanity check that the timed code computes the right thing)."""
    grads = g(*work.args)
    return directional_error(work.fn, work.args, g.wrt, grads if isinstance(grads, tuple) else (grads,))


def directional_error(fn: Callable, args: tuple, wrt, grads: tuple, h: float = 1e-6) -> float:
    """The relative error of the directional derivative the gradients `grads` (of `fn` with
    respect to the arguments `wrt`, by index) give along a random direction, against a central
    finite difference."""
    rng = np.random.default_rng(1)
    directions = [rng.normal(size=np.shape(args[k])) for k in wrt]

    def shifted(sign):
        moved = list(args)
        for k, d in zip(wrt, directions):
            moved[k] = args[k] + sign * h * (d if np.ndim(d) else float(d))
        return fn(*moved)

    numeric = (shifted(1) - shifted(-1)) / (2 * h)
    exact = sum(float(np.sum(gr * d)) for gr, d in zip(grads, directions))
    return abs(exact - numeric) / max(abs(numeric), 1e-12)


# --- report -----------------------------------------------------------------------------------------

def table(results: list[Result]) -> str:
    lines = [
        "| workload | primal (median) | gradient (median) | gradient ÷ primal "
        "| generated f_vjp alone | f_vjp ÷ primal | first call (compile + run) | FD check (rel.) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(f"| {r.name} | {fmt(r.primal)} | {fmt(r.grad)} | {r.grad / r.primal:.2f} "
                     f"| {fmt(r.vjp_only)} | {r.vjp_only / r.primal:.2f} | {fmt(r.first_call)} "
                     f"| {r.max_error:.1e} |")
    return "\n".join(lines)


def environment() -> str:
    import s2sad

    return (f"s2sad {s2sad.__version__}, Python {platform.python_version()}, NumPy {np.__version__}, "
            f"{platform.machine()} {platform.system()}, {os.cpu_count()} logical CPUs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few samples (a smoke test)")
    parser.add_argument("--samples", type=int, default=None, help="timed samples per measurement")
    parser.add_argument("--min-sample-time", type=float, default=None,
                        help="seconds each sample lasts at least (calls are looped)")
    options = parser.parse_args(argv)
    samples = options.samples or (5 if options.quick else 15)
    min_time = options.min_sample_time or (0.02 if options.quick else 0.2)

    with tempfile.TemporaryDirectory(prefix="s2sad-bench-cache-") as cache:
        os.environ["S2SAD_CACHE_DIR"] = cache  # an empty cache: the first call really compiles
        results = []
        for work in workloads(options.quick):
            print(f"measuring: {work.name} ...", file=sys.stderr, flush=True)
            results.append(measure(work, samples, min_time))

    print(f"{environment()}; {samples} samples per median, each at least {min_time:g} s of looped calls.")
    print()
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
