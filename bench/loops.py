"""Compiled gradients of loop-heavy workloads against the faster of the NumPy and Numba primals.

    python bench/loops.py            # the sizes below, a few minutes with compilation
    python bench/loops.py --quick    # small sizes: a smoke test of the script
    python bench/loops.py --startup  # first-call times in new processes: cold, then warm cache

For each workload, in one process: the primal as NumPy and under ``numba.njit`` (where Numba can
compile it), and the s2sad gradient (reverse mode, Numba backend), each the median time per call
over rounds in which the three run in turn, each for a block of calls (so that a slow spell of
the machine hits all three alike); the first call of the gradient (differentiate, write,
compile) is timed apart, with a fresh cache directory. Ratios, not absolute times, are what to
read: the machines these run on are shared.

With ``--startup``, the first call of each workload's gradient (and of the comparison suite's
workloads, and of an HVP of the checkpointed neural ODE) is timed in new processes: with an empty
cache directory, by default (``auto``: the call runs as Python while a worker process compiles)
and waiting for Numba (``numba``: differentiate, write, compile); then, with the cache the
latter left, warm (differentiate, load the machine code). Importing NumPy and s2sad is not
counted.
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the s2sad of this checkout

import s2sad
from ratios import directional_error  # (bench/ratios.py)


def lennard_jones(pos, eps, sigma):
    n = pos.shape[0]
    energy = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            d = pos[i] - pos[j]
            r2 = np.sum(d * d)
            s6 = (sigma * sigma / r2) ** 3
            energy = energy + 4.0 * eps * (s6 * s6 - s6)
    return energy


def oscillator(k, x0, v0, c, dt, n):
    x = x0
    v = v0
    for i in range(n):
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
    return x


def oscillator_while(k, x0, v0, c, dt, n):
    """`oscillator` written with a while loop: its tape grows as the loop runs."""
    x = x0
    v = v0
    i = 0
    while i < n:
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
        i = i + 1
    return x


def gmm(means, logw, X):
    n, d = X.shape
    k = means.shape[0]
    total = 0.0
    lse = np.zeros(n)
    for i in range(n):
        best = -1e300
        scores = np.zeros(k)
        for j in range(k):
            diff = X[i] - means[j]
            scores[j] = logw[j] - 0.5 * np.sum(diff * diff)
            best = max(best, scores[j])
        s = 0.0
        for j in range(k):
            s = s + np.exp(scores[j] - best)
        lse[i] = best + np.log(s)
        total = total - lse[i]
    return total


def rnn(W, U, h0, xs):
    h = h0
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
        loss = loss + np.sum(h * h)
    return loss


def linear_regression(w, X, y):
    r = X @ w - y
    return np.mean(r * r)


def heat(u0, target, alpha, steps):
    u = u0.copy()
    n = u.shape[0]
    for t in range(steps):
        lap = np.zeros(n)
        lap[1:-1] = u[2:] - 2.0 * u[1:-1] + u[:-2]
        u = u + alpha * lap
    return np.sum((u - target) ** 2)


def workloads(quick: bool) -> dict:
    r = np.random.default_rng(0)
    s = 8 if quick else 1
    return {
        "Lennard-Jones, 64 particles": (lennard_jones, (r.uniform(0, 8, (64 // s, 3)), 1.0, 1.0), 0),
        "oscillator, 100000 Euler steps": (oscillator, (2.0, 1.0, 0.0, 0.1, 1e-3, 100_000 // s), 0),
        "oscillator, the same steps in a while loop": (oscillator_while, (2.0, 1.0, 0.0, 0.1, 1e-3, 100_000 // s), 0),
        "GMM n=400 k=5 d=4": (gmm, (r.normal(size=(5, 4)), np.log(np.full(5, 0.2)), r.normal(size=(400 // s, 4))), 0),
        "tanh RNN T=300 H=32": (rnn, (0.1 * r.normal(size=(32, 32)), 0.1 * r.normal(size=(32, 8)), np.zeros(32),
                                      r.normal(size=(300 // s, 8))), (0, 1)),
        "linear regression 20000x50": (linear_regression, (r.normal(size=50), r.normal(size=(20_000 // s, 50)),
                                                           r.normal(size=20_000 // s)), 0),
        "heat equation 200 x 400 steps": (heat, (r.normal(size=200), r.normal(size=200), 0.2, 400 // s), 0),
    }


def interleaved_medians(calls: dict, rounds: int, block: float = 0.3) -> dict:
    """Median seconds per call of each of `calls` (name -> callable), each call timed alone. In
    each of `rounds` rounds, every callable runs for `block` seconds, one after the other, so
    that a slow spell of a shared machine slows all of them alike. Blocks are long because
    switching costs: NumPy's and Numba's BLAS are separate libraries, and the threads of the one
    last used keep spinning for about 0.1 s, slowing the other (linear regression's products run
    3-30 times slower right after a switch); the median leaves that start out."""
    s2sad.wait_compiled()  # (derivatives of the `auto` backend: their machine code, not Python)
    times = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            end = time.perf_counter() + block
            while (start := time.perf_counter()) < end:
                call()
                times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def measure(fn, args, wrt, rounds: int) -> dict:
    calls = {"numpy": lambda: fn(*args)}
    try:
        import numba  # (here: a first call timed in a new process must import Numba itself)

        jitted = numba.njit(fn)
        jitted(*args)
        calls["numba"] = lambda: jitted(*args)
    except Exception:  # Numba cannot compile this primal
        pass
    wrt = wrt if isinstance(wrt, tuple) else (wrt,)
    grad = s2sad.grad(fn, wrt=wrt, backend="numba")
    start = time.perf_counter()
    gradient = grad(*args)
    first = time.perf_counter() - start
    error = directional_error(fn, args, wrt, gradient if isinstance(gradient, tuple) else (gradient,))
    if error > 1e-5:
        raise AssertionError(f"{fn.__name__}: the gradient disagrees with finite differences ({error:.1e})")
    calls["grad"] = lambda: grad(*args)
    m = interleaved_medians(calls, rounds)
    m.setdefault("numba", float("nan"))
    m["ratio"] = m["grad"] / np.nanmin([m["numpy"], m["numba"]])
    m["first"], m["error"] = first, error
    return m


def startup_cases(quick: bool) -> dict:
    """name -> a function giving (a function making the derivative for a backend, its
    arguments): the gradients of the workloads above and of the comparison suite's (bench/suite,
    its sizes: a Jacobian for the Jacobian workloads), and the Hessian-vector product of the
    checkpointed neural ODE of examples/neural_ode.py. (Each case imports only what it needs: a
    first call timed in a new process pays for what it imports itself, Numba and SciPy included.)"""
    from suite.workloads import WORKLOADS

    cases = {name: (lambda fn=fn, args=args, wrt=wrt: (
                 lambda backend: s2sad.grad(fn, wrt=wrt, backend=backend), args))
             for name, (fn, args, wrt) in workloads(quick).items()}
    for w in WORKLOADS:
        cases[f"suite: {w.title}"] = functools.partial(_suite_case, w, quick)
    cases["HVP of the neural ODE, Binomial(8)"] = _neural_ode_case
    return cases


def _suite_case(w, quick: bool) -> tuple:
    args = w.args(quick)
    if w.jacobian:
        return lambda backend: s2sad.jacobian(w.numpy, wrt=w.wrt[0], mode="forward", backend=backend), args
    if w.seeds is None:
        return lambda backend: s2sad.grad(w.numpy, wrt=w.wrt, backend=backend), args
    # (a vector function: one vector-Jacobian product)
    return lambda backend: s2sad.vjp(w.numpy, wrt=w.wrt, backend=backend), (*args, w.seeds(args)[0])


def _neural_ode_case() -> tuple:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    import neural_ode as ode

    r = np.random.default_rng(0)
    dt, y0 = 5.0 / ode.STEPS, np.array([2.0, 0.0])
    weights = ode.initial_weights(16, r)
    return (lambda backend: s2sad.hvp(ode.trajectory_loss, wrt=0, backend=backend,
                                      checkpoint=s2sad.Binomial(snapshots=8)),
            (*weights, y0, ode.spiral(y0, dt), dt, r.normal(size=weights[0].shape)))


def first_call(name: str, quick: bool, backend: str) -> float:
    """Seconds of the first call of the derivative of case `name` in this process."""
    make, args = startup_cases(quick)[name]()
    derivative = make(backend)
    start = time.perf_counter()
    derivative(*args)
    return time.perf_counter() - start


def startup(only: str, quick: bool) -> None:
    print("| workload | cold first call, auto (s) | cold first call, numba (s) | warm first call, numba (s) "
          "| warm first call, auto (s) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in startup_cases(quick):
        if only.lower() not in name.lower():
            continue
        times = []
        for runs in (("auto",), ("numba", "numba", "auto")):  # (each in a new process; one cache for the runs)
            with tempfile.TemporaryDirectory(prefix="s2sad-startup-") as cache:
                env = dict(os.environ, S2SAD_CACHE_DIR=cache, S2SAD_TIERED="1")
                for backend in runs:
                    command = [sys.executable, __file__, "--first-call", name, "--backend", backend]
                    times.append(float(subprocess.run(command + (["--quick"] if quick else []), env=env, check=True,
                                                      capture_output=True, text=True).stdout))
        print("| " + " | ".join([name] + [f"{t:.2f}" for t in times]) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of timed calls")
    parser.add_argument("--only", default="", help="run the workloads whose name contains this text")
    parser.add_argument("--startup", action="store_true", help="cold and warm first-call times")
    parser.add_argument("--first-call", metavar="NAME", help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="numba", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.first_call:
        print(first_call(options.first_call, options.quick, options.backend))
        return
    if options.startup:
        startup(options.only, options.quick)
        return
    with tempfile.TemporaryDirectory(prefix="s2sad-bench-") as cache:
        os.environ["S2SAD_CACHE_DIR"] = cache
        table(options)


def table(options) -> None:
    print("| workload | primal NumPy (ms) | primal Numba (ms) | gradient (ms) | gradient ÷ faster primal "
          "| first call (s) | gradient vs finite differences |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    gradients = {}
    for name, (fn, args, wrt) in workloads(options.quick).items():
        if options.only.lower() not in name.lower():
            continue
        m = measure(fn, args, wrt, options.rounds)
        gradients[fn] = m["grad"]
        print(f"| {name} | {1e3 * m['numpy']:.3f} | {1e3 * m['numba']:.3f} | {1e3 * m['grad']:.3f} "
              f"| {m['ratio']:.2f} | {m['first']:.2f} | {m['error']:.0e} |")
    if oscillator in gradients and oscillator_while in gradients:  # (medians of separate runs: indicative)
        print(f"\nThe oscillator's gradient written with while ÷ with for: "
              f"{gradients[oscillator_while] / gradients[oscillator]:.2f}")


if __name__ == "__main__":
    main()
