"""How the time to differentiate a function grows with its length.

Generates long straight-line NumPy functions (scalars and small vectors, `a17 = np.sin(a12) * a3 +
a15 @ w`), optionally with a few loops and branches, and differentiates each on the Python
backend, in reverse mode (`grad`) and forward mode, in a new cache directory. Prints the whole
derivation time and the time of each stage of the pipeline (lowering, each clean-up pass, the
transform, codegen, writing and importing the module). Times are the process's CPU time
(`time.process_time`), which other work on a shared machine disturbs less than the wall clock.

    python bench/long_functions.py                        # 250, 500, 1000, 2000 statements
    python bench/long_functions.py --sizes 2000 --control --profile 30
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import os
import pstats
import random
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the s2sad of this checkout

LENGTH = 4  # of the vectors v and w and of the square matrix W

# --- the generator --------------------------------------------------------------------------------

# Each statement keeps its value in [-1, 1] (or close), whatever the length: a product of such
# values, a bounded function of anything, or a mean.
_SCALAR = (
    "np.sin({a}) * {b} + 0.1 * {c}",
    "np.tanh({a} * {b} + {c})",
    "0.5 * ({a} - {b}) * np.cos({c})",
    "{a} * {b} * {c}",
    "np.tanh({p} @ {q} + {a})",
    "np.sin(np.sum({p} * {q}) * 0.25)",
    "np.exp(-{a} * {a}) * {b}",
    "np.tanh({a} / (1.5 + {b} * {b}))",
)
_VECTOR = (
    "np.tanh(W @ {p} + {a})",
    "{p} * np.cos({q}) * {a}",
    "0.5 * ({p} - {q}) + 0.1 * {a}",
    "np.sin({p} * {a} + w)",
    "{p} * {q} * {b}",
    "np.tanh({p} + {q} @ W)",
)


class _Names:
    """The scalars (`a…`) and vectors (`b…`) defined so far; operands are drawn from the last
    few, and now and then from anywhere before."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.scalars = ["x", "y"]
        self.vectors = ["v", "w"]
        self.count = 0

    def pick(self, names: list[str]) -> str:
        if self.rng.random() < 0.2:
            return self.rng.choice(names)
        return self.rng.choice(names[-8:])

    def operands(self) -> dict:
        return {"a": self.pick(self.scalars), "b": self.pick(self.scalars), "c": self.pick(self.scalars),
                "p": self.pick(self.vectors), "q": self.pick(self.vectors)}

    def new(self, vector: bool) -> str:
        self.count += 1
        name = f"{'b' if vector else 'a'}{self.count}"
        (self.vectors if vector else self.scalars).append(name)
        return name


def _statement(names: _Names) -> str:
    """One assignment of a new scalar or vector."""
    vector = names.rng.random() < 0.35
    expression = names.rng.choice(_VECTOR if vector else _SCALAR).format(**names.operands())
    return f"{names.new(vector)} = {expression}"


def _loop(names: _Names) -> list[str]:
    """A short loop updating a scalar and a vector (3 lines of source count as 3 statements)."""
    s, p, a = names.pick(names.scalars), names.pick(names.vectors), names.pick(names.scalars)
    t, q = names.new(False), names.new(True)
    return [f"{t} = {s}", f"{q} = {p}", "for i in range(3):",
            f"    {t} = np.sin({t}) * {a} + 0.1 * i", f"    {q} = np.tanh(W @ {q} + {t})"]


def _branch(names: _Names) -> list[str]:
    """An if/else on data, each branch binding the same new scalar."""
    c, a, b = names.pick(names.scalars), names.pick(names.scalars), names.pick(names.scalars)
    t = names.new(False)
    return [f"if {c} > 0.0:", f"    {t} = np.sin({a}) * {b}", "else:", f"    {t} = np.cos({b}) * {a}"]


def generate(statements: int, seed: int = 0, control: bool = False, name: str = "long") -> str:
    """The source of a function `name(x, y, v, w, W)` of about `statements` statements returning a
    float; with `control`, one statement in 25 is replaced by a short loop or an if/else."""
    rng = random.Random(seed)
    names = _Names(rng)
    lines: list[str] = []
    while len(lines) < statements:
        roll = rng.random()
        if control and roll < 0.02:
            lines += _loop(names)
        elif control and roll < 0.04:
            lines += _branch(names)
        else:
            lines.append(_statement(names))
    last = " + ".join(names.scalars[-3:])
    body = "\n".join("    " + line for line in lines)
    return f"def {name}(x, y, v, w, W):\n{body}\n    return {last} + np.sum({names.vectors[-1]})\n"


def load(source: str, directory: str, module: str = "long_module") -> Callable:
    """Write `source` (with `import numpy as np`) as a module in `directory`, import it, and return
    its function (s2sad reads the source with `inspect`)."""
    path = Path(directory) / f"{module}.py"
    path.write_text("import numpy as np\n\n\n" + source)
    spec = importlib.util.spec_from_file_location(module, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[module] = mod
    spec.loader.exec_module(mod)
    function_name = source.split("(", 1)[0].removeprefix("def ")
    return getattr(mod, function_name)


def arguments(seed: int = 1) -> tuple:
    """Arguments for a generated function: x, y, v, w, W."""
    rng = np.random.default_rng(seed)
    return (0.3, -0.7, rng.normal(size=LENGTH), rng.normal(size=LENGTH),
            rng.normal(size=(LENGTH, LENGTH)) / LENGTH)


# --- timing each stage ----------------------------------------------------------------------------

_STAGES = ("lower", "verify", "hoist_global_reads", "simplify", "cse", "licm", "dce", "active_values",
           "forward", "reverse", "strip_custom", "simplify_broadcasts", "writebacks_last",
           "copy_function", "module_source", "write_module", "split_entry")


@contextmanager
def stage_times() -> Iterator[dict]:
    """Time the pipeline's stages while the block runs: a dict of stage name → seconds (a stage
    that calls another counts the time of both)."""
    from s2sad import pipeline

    times: dict = defaultdict(float)
    saved = {name: getattr(pipeline, name) for name in _STAGES}
    saved_cleanup, saved_load = pipeline._CLEANUP, pipeline.python_backend.load

    def timed(name: str, fn: Callable) -> Callable:
        def run(*args, **kwargs):
            start = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                times[name] += time.process_time() - start
        return run

    for name, fn in saved.items():
        setattr(pipeline, name, timed(name, fn))
    pipeline._CLEANUP = tuple(getattr(pipeline, step.__name__) for step in saved_cleanup)
    pipeline.python_backend.load = timed("import", saved_load)
    try:
        yield times
    finally:
        for name, fn in saved.items():
            setattr(pipeline, name, fn)
        pipeline._CLEANUP, pipeline.python_backend.load = saved_cleanup, saved_load


def derivation_time(fn: Callable, args: tuple, mode: str) -> tuple[float, dict, object]:
    """Seconds to make and call the derivative of `fn` once (reverse: the gradient with respect
    to x and v; forward: with respect to x), the time of each stage, and the gradient."""
    import s2sad

    derivative = s2sad.grad(fn, wrt=("x", "v") if mode == "reverse" else "x", mode=mode, backend="python")
    with stage_times() as times:
        start = time.process_time()
        gradient = derivative(*args)
        total = time.process_time() - start
    return total, dict(times), gradient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="250,500,1000,2000", help="statement counts (comma-separated)")
    parser.add_argument("--modes", default="reverse,forward")
    parser.add_argument("--control", action="store_true", help="with a few loops and branches")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also print cProfile's N most expensive functions (cumulative) per run")
    options = parser.parse_args()
    os.environ["S2SAD_CACHE_DIR"] = tempfile.mkdtemp(prefix="s2sad-long-")  # nothing cached before
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    args = arguments()
    with tempfile.TemporaryDirectory() as directory:
        for size in (int(s) for s in options.sizes.split(",")):
            for mode in options.modes.split(","):
                source = generate(size, control=options.control, name=f"long{size}{mode[0]}")
                fn = load(source, directory, f"long_{size}_{mode}")
                profiler = cProfile.Profile() if options.profile else None
                if profiler:
                    profiler.enable()
                total, times, _ = derivation_time(fn, args, mode)
                if profiler:
                    profiler.disable()
                stages = ", ".join(f"{k} {v:.2f}" for k, v in sorted(times.items(), key=lambda kv: -kv[1]) if v >= 0.01)
                print(f"{size:5d} statements, {mode:7s}: {total:7.2f} s   ({stages})", flush=True)
                if profiler:
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(options.profile)


if __name__ == "__main__":
    main()
