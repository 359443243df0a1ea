"""Per-call overhead: what a call of a compiled derivative costs beyond its machine code.

    python bench/per_call.py               # each kind of call on small arguments
    python bench/per_call.py --rounds 60

For small arguments (two floats, an array of four) the machine code of a derivative runs in a
fraction of a microsecond, so a call's time is almost all the Python around it: finding the
derivative made for such arguments, checking what it assumed, checking that the results are
finite, shaping them. Each row times a kind of call (the best of `--rounds` rounds of 0.02 s
of calls, after a warm-up that compiles, and calls often enough for the checked entry:
s2sad/backend/checked.py) beside the bare machine code of the same derivative and
a bare `numba.njit` function of similar size, all in one process, interleaved; the ratios are
what to read on a shared machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the s2sad of this checkout
import s2sad  # noqa: E402
from s2sad.pipeline import CALLS_BEFORE_ENTRY  # noqa: E402
from ratios import per_call_times  # noqa: E402  (bench/ratios.py)


def two_floats(x, y):
    return x * y + np.sin(x)


def small_array(x):
    return np.sum(x * x) + np.sin(x[0])


def calls() -> dict[str, tuple[Callable, tuple, Callable]]:
    """name → (the call, its arguments, the derivative's own machine code called alike)."""
    x, v = np.array([0.1, 0.2, 0.3, 0.4]), np.ones(4)
    made = {
        "grad, two floats": (s2sad.grad(two_floats, wrt=(0, 1), backend="numba"), (0.5, 2.0)),
        "value_and_grad, an array of 4": (s2sad.value_and_grad(small_array, backend="numba"), (x,)),
        "jvp, an array of 4": (s2sad.jvp(small_array, backend="numba"), (x, v)),
        "vjp, an array of 4": (s2sad.vjp(small_array, backend="numba"), (x, 1.0)),
        "hvp, an array of 4": (s2sad.hvp(small_array, backend="numba"), (x, v)),
    }
    out = {}
    for name, (derivative, args) in made.items():
        for _ in range(CALLS_BEFORE_ENTRY):  # (compiles, makes the short path, then its checked entry)
            derivative(*args)
        derived = derivative.made()[0]
        inner = (*args, 1.0) if name.startswith(("grad", "value_and_grad")) else args
        out[name] = (derivative, args, lambda derived=derived, inner=inner: derived.core.jitted(*inner))
    return out


def best(call: Callable[[], object], rounds: int) -> float:
    """The best per-call time of `rounds` rounds of 0.02 s of calls (bench/ratios.py)."""
    return min(per_call_times(call, rounds, 0.02))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="rounds of 0.02 s of calls (the best is kept)")
    options = parser.parse_args()
    import numba

    bare = numba.njit(lambda x, y, b: (x * y + np.sin(x), b * (y + np.cos(x)), b * x))
    bare(0.5, 2.0, 1.0)
    bare_time = best(lambda: bare(0.5, 2.0, 1.0), options.rounds)
    print(f"A bare numba.njit call of a small function: {bare_time * 1e6:.2f} µs\n")
    print("| call, small arguments | call (µs) | its machine code alone (µs) | call ÷ bare njit call |")
    print("| --- | ---: | ---: | ---: |")
    for name, (derivative, args, machine) in calls().items():
        whole = best(lambda: derivative(*args), options.rounds)
        alone = best(machine, options.rounds)
        print(f"| `{name}` | {whole * 1e6:.2f} | {alone * 1e6:.2f} | {whole / bare_time:.1f} |")


if __name__ == "__main__":
    main()
