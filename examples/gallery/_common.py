"""What every gallery script shares: its command line, the finite-difference check of its
derivative, Adam's update, an optional progress bar and the saving of its picture.

The scripts import this module by name (``import _common``): Python puts a script's own
directory first on ``sys.path``, so this works from any working directory. Nothing here
imports matplotlib or tqdm at import time, so ``--help`` needs neither.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

import s2sad


# --- the command line ---------------------------------------------------------------------------

def parse_args(doc: str, argv: list[str] | None = None) -> argparse.Namespace:
    """The options every gallery script takes: ``--quick`` and ``--out DIR``. `doc` is the
    script's docstring: its first paragraph is the description, the rest is shown after the
    options."""
    first, _, rest = doc.strip().partition("\n\n")
    parser = argparse.ArgumentParser(description=textwrap.fill(" ".join(first.split()), 100),
                                     epilog=rest.strip() or None,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a small problem that runs in a few seconds once compiled")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="the directory for the picture (default: a new temporary directory)")
    return parser.parse_args(argv)


def output_directory(options: argparse.Namespace) -> str:
    """The directory the picture goes to: ``--out`` (made if missing), or a new temporary one."""
    if options.out is None:
        return tempfile.mkdtemp(prefix="s2sad-gallery-")
    os.makedirs(options.out, exist_ok=True)
    return options.out


# --- checking derivatives -----------------------------------------------------------------------

def central_differences(f: Callable[[Any], float], x: Any, h: float = 1e-6, coordinates: int = 48,
                        directions: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Central differences of the scalar function `f` at `x` (a number, an array or a container
    of them, as `s2sad.ravel` takes). Returns ``(V, D)``: the directions as the rows of V (in
    `x`'s ravelled coordinates) and D[k] ≈ ∇f·V[k]. Up to `coordinates` coordinates give unit
    directions; a larger `x` gets `coordinates` unit directions at random coordinates and
    `directions` random unit vectors besides."""
    flat, unravel = s2sad.ravel(x)
    n = flat.size
    rng = np.random.default_rng(seed)
    if n <= coordinates:
        V = np.eye(n)
    else:
        picked = np.eye(n)[np.sort(rng.choice(n, size=coordinates, replace=False))]
        random = rng.standard_normal((directions, n))
        V = np.vstack([picked, random / np.linalg.norm(random, axis=1, keepdims=True)])
    D = np.empty(len(V))
    for k, v in enumerate(V):
        D[k] = (f(unravel(flat + h * v)) - f(unravel(flat - h * v))) / (2.0 * h)
    return V, D


def relative_difference(got: Any, expected: Any) -> float:
    """max |got − expected| / max |expected|, over every element (containers are ravelled)."""
    g, e = s2sad.ravel(got)[0], s2sad.ravel(expected)[0]
    return float(np.max(np.abs(g - e)) / max(np.max(np.abs(e)), 1e-300))


def gradient_difference(f: Callable[[Any], float], x: Any, gradient: Any, h: float = 1e-6, **options) -> float:
    """How far `gradient` (of `x`'s structure) is from central differences of `f` at `x`: the
    largest difference of the directional derivatives, relative to the largest of them
    (`central_differences` chooses the directions)."""
    V, D = central_differences(f, x, h, **options)
    return relative_difference(V @ s2sad.ravel(gradient)[0], D)


def report(what: str, difference: float, tolerance: float) -> bool:
    """Print one checked quantity's largest relative difference; True when within `tolerance`."""
    ok = bool(difference <= tolerance)
    print(f"check: {what}: largest relative difference {difference:.2e} "
          f"(tolerance {tolerance:.0e}) {'ok' if ok else 'FAILED'}")
    return ok


def finish(*checks: bool) -> int:
    """The exit status: 0 when every check passed, 1 otherwise (with a line saying so)."""
    if all(checks):
        print("all checks passed")
        return 0
    print("a check FAILED", file=sys.stderr)
    return 1


# --- training -----------------------------------------------------------------------------------

class Adam:
    """Adam's update for parameters of any structure `s2sad.ravel` takes (a dict of arrays, …):
    ``params = adam.step(params, gradient)``."""

    def __init__(self, rate: float = 0.01, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.rate, self.beta1, self.beta2, self.eps = rate, beta1, beta2, eps
        self.m: np.ndarray | None = None
        self.v: np.ndarray | None = None
        self.t = 0

    def step(self, params: Any, gradient: Any) -> Any:
        """The parameters after one step along `gradient` (of their structure)."""
        x, unravel = s2sad.ravel(params)
        g = s2sad.ravel(gradient)[0]
        if self.m is None:
            self.m, self.v = np.zeros_like(x), np.zeros_like(x)
        self.t += 1
        self.m = self.beta1 * self.m + (1.0 - self.beta1) * g
        self.v = self.beta2 * self.v + (1.0 - self.beta2) * g * g
        m_hat = self.m / (1.0 - self.beta1 ** self.t)
        v_hat = self.v / (1.0 - self.beta2 ** self.t)
        return unravel(x - self.rate * m_hat / (np.sqrt(v_hat) + self.eps))


# --- progress and pictures ----------------------------------------------------------------------

Drawing = Callable[[Any], Any]  # draws with matplotlib.pyplot (its argument) and returns the figure


def progress(iterable: Iterable, total: int | None = None, desc: str | None = None) -> Iterator:
    """`iterable` with a tqdm progress bar when tqdm is installed (on stderr), as it is otherwise."""
    try:
        from tqdm import tqdm
    except ImportError:
        return iter(iterable)
    return iter(tqdm(iterable, total=total, desc=desc, leave=False, mininterval=0.5))


def save_figure(draw: Drawing, directory: str, name: str, dpi: int = 100) -> str | None:
    """Draw a picture with `draw(plt)` (it makes and returns the figure) and save it as
    ``directory/name`` (a PNG). Returns the path, or None when matplotlib is not installed (the
    script's checks still ran)."""
    try:
        import matplotlib
    except ImportError:
        print("picture skipped: matplotlib is not installed")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure = draw(plt)
    path = os.path.join(directory, name)
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
    print(f"picture: {path}")
    return path
