"""Gradients of an ensemble on Dask workers: 1,000 damped oscillators, each simulated by a loop.

Each member of the ensemble is an oscillator x'' = -k x - c x' started at x0 at rest, stepped
with semi-implicit Euler in a plain ``for`` loop. Its misfit is the mean squared distance between
its trajectory and an observed one (a module-level array), and ``s2sad.grad`` gives the gradient
of the misfit with respect to the member's parameters (k, c, x0). The ensemble's gradients are
computed twice: in a serial loop in this process, and on a Dask cluster of worker processes,
in tasks of ``--chunk`` members each; the two must agree exactly, and the script prints the
largest difference and what a task cost beyond its own gradients.

Dask is optional for s2sad; this example needs it:

    pip install "dask[distributed]"
    python examples/ensemble_dask.py                   # 1,000 members on a LocalCluster
    python examples/ensemble_dask.py --quick           # 40 members, fewer steps: a few seconds
    python examples/ensemble_dask.py --address tcp://scheduler:8786   # an existing cluster

The functions below live in this script, which runs as ``__main__``: cloudpickle pickles them
by value (with the globals they read), and the derivative carries their source, so a worker
needs none of this script's files (docs/scale-out.md). Each worker derives and loads the machine
code once, from the cache directory (``S2SAD_CACHE_DIR``) that this process filled.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import s2sad

DT = 0.01             # time step
STEPS = 20000         # steps of a trajectory (--quick: 2000)
HORIZON = 100000      # the steps observed: a trajectory takes at most this many
OBSERVED_EVERY = 20   # the misfit compares every 20th step
REFERENCE = (4.0, 0.3, 1.0)  # the (k, c, x0) that made the observations


def acceleration(x, v, k, c):
    """x'' of a damped linear oscillator."""
    return -k * x - c * v


def simulate(k, c, x0, steps):
    """Positions every OBSERVED_EVERY steps, by semi-implicit Euler (NumPy only, no s2sad)."""
    x, v, out = x0, 0.0, []
    for i in range(steps):
        v = v + DT * acceleration(x, v, k, c)
        x = x + DT * v
        if (i + 1) % OBSERVED_EVERY == 0:
            out.append(x)
    return np.array(out)


OBSERVED = simulate(*REFERENCE, HORIZON)


def misfit(params, steps):
    """The mean squared distance between the trajectory of (k, c, x0) = params and OBSERVED."""
    k, c, x = params[0], params[1], params[2]
    v = 0.0
    total = 0.0
    for i in range(steps):
        v = v + DT * acceleration(x, v, k, c)
        x = x + DT * v
        if (i + 1) % OBSERVED_EVERY == 0:
            total = total + (x - OBSERVED[(i + 1) // OBSERVED_EVERY - 1]) ** 2
    return total / (steps // OBSERVED_EVERY)


dmisfit = s2sad.grad(misfit)  # ∂misfit/∂params, an array of 3


def chunk_gradients(members: np.ndarray, steps: int) -> tuple[np.ndarray, float]:
    """The gradient for each row of `members`, and the seconds they took (in the process that
    runs them: the task's own work)."""
    start = time.perf_counter()
    grads = np.array([dmisfit(p, steps) for p in members])
    return grads, time.perf_counter() - start


def compile_before_running() -> None:
    """On a worker: a derivative's first call waits for its machine code, rather than run as
    Python meanwhile (which agrees with the compiled code to rounding, not bit for bit)."""
    os.environ["S2SAD_TIERED"] = "0"


def ensemble(size: int, seed: int = 0) -> np.ndarray:
    """`size` parameter sets (k, c, x0) scattered around the reference."""
    rng = np.random.default_rng(seed)
    return np.array(REFERENCE) * rng.uniform(0.5, 1.5, size=(size, 3))


def on_cluster(client, members: np.ndarray, steps: int, chunk: int) -> tuple[np.ndarray, float, float]:
    """The gradients computed by tasks of `chunk` members: (gradients, wall seconds, seconds the
    tasks spent computing gradients, summed)."""
    chunks = [members[i:i + chunk] for i in range(0, len(members), chunk)]
    start = time.perf_counter()
    futures = client.map(chunk_gradients, chunks, steps=steps, pure=False)
    results = client.gather(futures)
    wall = time.perf_counter() - start
    return np.concatenate([g for g, _ in results]), wall, sum(s for _, s in results)


def report(label: str, tasks: int, workers: int, wall: float, computing: float) -> None:
    """One round's times: the overhead of a task is what its worker spent beyond its gradients."""
    overhead = max(wall * workers - computing, 0.0) / tasks
    print(f"{label}: {wall:.2f} s; per task {1e3 * computing / tasks:.2f} ms of gradients, "
          f"{1e3 * overhead:.2f} ms of overhead (ratio {overhead / (computing / tasks):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 members of 2000 steps")
    parser.add_argument("--members", type=int, help="ensemble size (default 1000, --quick 40)")
    parser.add_argument("--steps", type=int, help=f"steps of a trajectory (default {STEPS}, --quick 2000)")
    parser.add_argument("--chunk", type=int, default=25, help="members per task (default 25)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the LocalCluster (default 2)")
    parser.add_argument("--address", help="the scheduler of an existing cluster, instead of a LocalCluster")
    args = parser.parse_args()
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        sys.exit('this example needs Dask: pip install "dask[distributed]"')
    size = args.members or (40 if args.quick else 1000)
    steps = args.steps or (2000 if args.quick else STEPS)
    if not OBSERVED_EVERY <= steps <= HORIZON:
        parser.error(f"--steps must be between {OBSERVED_EVERY} and {HORIZON}")
    members = ensemble(size)
    print(f"{size} damped oscillators, {steps} steps each: the gradient of the misfit with respect to (k, c, x0)")

    dmisfit(members[0], steps)
    s2sad.wait_compiled()  # the machine code is in the cache: the workers load it from there,
    dmisfit(members[0], steps)  # and this process has loaded it too
    serial, seconds = chunk_gradients(members, steps)
    print(f"serial loop: {seconds:.2f} s ({1e3 * seconds / size:.3f} ms per gradient)")

    cluster = None if args.address else LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                                     processes=True, dashboard_address=None)
    with Client(args.address or cluster) as client:
        client.run(compile_before_running)
        workers = len(client.nthreads())
        tasks = -(-size // args.chunk)
        print(f"dask: {workers} worker processes, {tasks} tasks of up to {args.chunk} members")
        parallel, wall, _ = on_cluster(client, members, steps, args.chunk)
        print(f"  first round: {wall:.2f} s (each worker derives the gradient and loads its machine code once)")
        again, wall, computing = on_cluster(client, members, steps, args.chunk)
        report("  second round", tasks, workers, wall, computing)
    if cluster is not None:
        cluster.close()
    difference = max(np.max(np.abs(parallel - serial)), np.max(np.abs(again - serial)))
    print(f"max |dask - serial| = {difference}")
    print(f"gradient of member 0: {serial[0]}")


if __name__ == "__main__":
    main()
