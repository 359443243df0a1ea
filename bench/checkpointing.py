"""Checkpointing policies against StoreAll: peak memory and gradient time on an inverse heat problem.

    python bench/checkpointing.py                      # 4000 points x 400 steps, Numba and Python backends
    python bench/checkpointing.py --quick              # 400 points x 40 steps
    python bench/checkpointing.py --plot docs/checkpointing-heat.png
    python bench/checkpointing.py --memory             # a 10^7-step scalar loop: Binomial(10) against StoreAll
    python bench/checkpointing.py --memory --steps 1000000   # the same at 10^6 steps (10^5 in Python)

The function is a user's NumPy code: explicit finite differences for u_t = κ(x) u_xx in a
top-level ``for`` loop over the time steps, then the misfit ‖u_T − target‖². Its gradient with
respect to the initial temperatures u0 and the diffusivity field κ is computed under each policy
(`StoreAll`, `Periodic(k)`, `Binomial(s)`), and for each one this measures:

- memory: the derivative's tape bytes (tapes and snapshot arrays; the same on both backends),
  and the peak of memory allocated during one gradient call (`tracemalloc`, which also sees
  the arrays Numba-compiled code allocates), per backend;
- time: the median time per gradient call ÷ StoreAll's, per backend, the policies' calls
  interleaved round after round (bench/loops.py's `interleaved_medians`), after a warm-up that
  compiles, and gradient ÷ primal beside what the cost model below predicts.

Every policy's gradient is checked against StoreAll's, and StoreAll's against a central finite
difference, before anything is measured. docs/checkpointing.md discusses the results.

`--memory` measures instead a long scalar loop, x ← x + dt·sin(x), 10⁷ steps with Numba (10⁶ with
the Python backend), under `Binomial(snapshots=10)` and StoreAll: each gradient in a process of its
own, compiled first on a short loop, then its peak resident memory (`getrusage`'s maxrss: the
whole process, interpreter and compiler included, and how much the calls raised it) and its time
(the fastest of `--repeat` calls), beside the time Binomial's recomputation predicts
(`predicted_time`), and the time of Binomial's schedule alone. It measures too the fewest
snapshots predicted within twice StoreAll's time (`--within`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import resource
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numba
import numpy as np

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the s2sad of this checkout
import s2sad  # noqa: E402
from s2sad import runtime  # noqa: E402
from s2sad.checkpoint import END, Policy, beta, binomial_cost  # noqa: E402
from loops import interleaved_medians  # noqa: E402  (bench/loops.py)
from ratios import directional_error  # noqa: E402  (bench/ratios.py)

WRT = (0, 1)  # u0 and kappa


def heat_loss(u0, kappa, target, r, steps):
    """‖u_T − target‖² after `steps` explicit steps of u_t = κ(x) u_xx on a uniform grid
    (r = Δt/Δx²; the end temperatures stay fixed)."""
    u = u0.copy()
    n = u.shape[0]
    for t in range(steps):
        lap = np.zeros(n)
        lap[1:-1] = u[2:] - 2.0 * u[1:-1] + u[:-2]
        u = u + r * kappa * lap
    return np.sum((u - target) ** 2)


def problem(points: int, steps: int) -> tuple:
    """The arguments of `heat_loss`: a guess of the initial bump and of the diffusivity, and a
    target profile (stable: r·max κ ≤ 0.3 < 1/2)."""
    x = np.linspace(0.0, 1.0, points)
    u0 = np.exp(-100.0 * (x - 0.5) ** 2)
    kappa = 1.0 + 0.5 * np.sin(2.0 * np.pi * x)
    target = 0.8 * np.exp(-60.0 * (x - 0.45) ** 2)
    return u0, kappa, target, 0.2, steps


def policies() -> list[Policy]:
    return ([s2sad.StoreAll()] + [s2sad.Periodic(k) for k in (1, 5, 10, 20, 50)]
            + [s2sad.Binomial(s) for s in (2, 4, 8, 16, 32)])


def label(policy: Policy) -> str:
    """`Periodic(20)` for ``Periodic(every=20)``, `StoreAll` for ``StoreAll()``."""
    name, _, rest = repr(policy).partition("(")
    return f"{name}({rest.partition('=')[2]}" if "=" in rest else name


# --- measuring ------------------------------------------------------------------------------------

@dataclass
class Row:
    """What was measured for one policy (times and peaks per backend)."""

    policy: Policy
    snapshots: int  # states held at once: StoreAll's l - 1 on its tapes, the others' snapshot slots
    advances: int   # steps run again (the policy's advances(l); 0 for StoreAll's taped reversal)
    tape_bytes: int = 0
    peak: dict[str, int] = field(default_factory=dict)
    time: dict[str, float] = field(default_factory=dict)


def peak_bytes(call: Callable[[], object]) -> int:
    """The most memory allocated at once during `call()`, above what was allocated before."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def gradients(backend: str, args: tuple) -> dict[str, Callable]:
    """One compiled gradient per policy (warmed up: the first call differentiates and compiles),
    each checked against StoreAll's; StoreAll's checked against finite differences."""
    made = {}
    for policy in policies():
        made[label(policy)] = s2sad.grad(heat_loss, wrt=WRT, backend=backend, checkpoint=policy)
    reference = made["StoreAll"](*args)
    error = directional_error(heat_loss, args, WRT, reference)
    if error > 1e-5:
        raise AssertionError(f"the StoreAll gradient disagrees with finite differences ({error:.1e})")
    for name, g in made.items():
        for got, want in zip(g(*args), reference):
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.max(np.abs(want)), err_msg=name)
    return made


def primal(backend: str) -> Callable:
    """The function itself as that backend's user would run it (under numba.njit for Numba)."""
    return numba.njit(heat_loss) if backend == "numba" else heat_loss


def measure(args: tuple, backends: list[str], rounds: int, block: float) -> tuple[list[Row], dict[str, float]]:
    """The rows, and per backend the median time of one primal step (the primal's time ÷ steps)."""
    steps = args[-1]
    rows = {label(p): Row(p, _snapshots(p, steps), _advances(p, steps)) for p in policies()}
    step_time = {}
    for backend in backends:
        made = gradients(backend, args)
        run_primal = primal(backend)
        run_primal(*args)  # (compiles)
        for name, g in made.items():
            rows[name].peak[backend] = peak_bytes(lambda: g(*args))
            rows[name].tape_bytes = g.tape_bytes
        calls = {name: (lambda g=g: g(*args)) for name, g in made.items()}
        medians = interleaved_medians(calls | {"primal": lambda: run_primal(*args)}, rounds, block)
        step_time[backend] = medians.pop("primal") / steps
        for name, seconds in medians.items():
            rows[name].time[backend] = seconds
    return list(rows.values()), step_time


def _snapshots(policy, steps: int) -> int:
    return max(steps - 1, 0) if isinstance(policy, s2sad.StoreAll) else policy.slots(steps)


def _advances(policy, steps: int) -> int:
    return 0 if isinstance(policy, s2sad.StoreAll) else policy.advances(steps)


# --- the cost model -------------------------------------------------------------------------------
# A checkpointed loop of l steps evaluates its step A + 1 + l times (A = advances(l); the step from
# x_{l-1} to the result; each of the l turns runs its step again for its intermediate values) and
# takes l adjoint steps. In units of the primal's time, with a step run by the derivative costing
# s primal steps and an adjoint step c primal steps:
#     gradient ÷ primal ≈ s·(A + 1 + l)/l + c.
# s and c are fitted to the checkpointed policies by least squares; snapshot copies are left out.
# StoreAll's taped reversal runs each step once, taping it, then each adjoint: s + c, plus taping.

@dataclass
class Model:
    """gradient ÷ primal ≈ step·(A + 1 + l)/l + adjoint (`step` is s, `adjoint` is c)."""

    step: float
    adjoint: float

    def predict(self, row: Row, steps: int) -> float:
        if isinstance(row.policy, s2sad.StoreAll):
            return self.step + self.adjoint  # (taping left out)
        return self.step * (row.advances + 1 + steps) / steps + self.adjoint


def fit(rows: list[Row], backend: str, steps: int, step_time: float) -> Model:
    """The least-squares s and c over the checkpointed policies."""
    chosen = [r for r in rows if not isinstance(r.policy, s2sad.StoreAll)]
    evaluations = [(r.advances + 1 + steps) / steps for r in chosen]
    measured = [r.time[backend] / (steps * step_time) for r in chosen]
    step, adjoint = np.polyfit(evaluations, measured, 1)
    return Model(float(step), float(adjoint))


# --- reporting ------------------------------------------------------------------------------------

def megabytes(n: float) -> str:
    return f"{n / 1e6:.3g}"


def markdown(head: list[str], lines: list[list[str]]) -> str:
    rows = [head, ["---"] + ["---:"] * (len(head) - 1)] + lines
    return "\n".join("| " + " | ".join(cells) + " |" for cells in rows)


def memory_table(rows: list[Row], backends: list[str]) -> str:
    """Tape bytes (tapes and snapshots) and the peak of a gradient call, each ÷ StoreAll's."""
    store_all = rows[0]
    head = ["policy", "snapshots", "advances", "tape MB", "StoreAll's ÷"]
    head += [h for b in backends for h in (f"peak MB ({b})", "StoreAll's ÷")]
    lines = []
    for r in rows:
        cells = [label(r.policy), str(r.snapshots), str(r.advances), megabytes(r.tape_bytes),
                 f"{store_all.tape_bytes / r.tape_bytes:.1f}"]
        cells += [c for b in backends for c in (megabytes(r.peak[b]), f"{store_all.peak[b] / r.peak[b]:.1f}")]
        lines.append(cells)
    return markdown(head, lines)


def time_table(rows: list[Row], backends: list[str], steps: int, step_time: dict, models: dict) -> str:
    """Per backend: time ÷ StoreAll's, and gradient ÷ primal measured and by the model."""
    head = ["policy", "advances"] + [h for b in backends for h in
                                     (f"÷ StoreAll ({b})", f"÷ primal ({b})", "model")]
    lines = []
    for r in rows:
        cells = [label(r.policy), str(r.advances)]
        for b in backends:
            cells += [f"{r.time[b] / rows[0].time[b]:.2f}", f"{r.time[b] / (steps * step_time[b]):.1f}",
                      f"{models[b].predict(r, steps):.1f}"]
        lines.append(cells)
    return markdown(head, lines)


def plot(rows: list[Row], backend: str, steps: int, step_time: float, model: Model, path: Path) -> None:
    """Peak memory and gradient ÷ primal (measured, and the model dashed) against the number of
    snapshots, one series per policy family (needs matplotlib: the bench extra)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (mem, tim) = plt.subplots(1, 2, figsize=(11, 4.2))
    for family, marker in (("Periodic", "s"), ("Binomial", "o")):
        chosen = sorted((r for r in rows if label(r.policy).startswith(family)), key=lambda r: r.snapshots)
        x = [r.snapshots for r in chosen]
        line = mem.plot(x, [r.peak[backend] / 1e6 for r in chosen], marker=marker, label=family)[0]
        tim.plot(x, [r.time[backend] / (steps * step_time) for r in chosen], marker=marker, linestyle="",
                 color=line.get_color(), label=f"{family}, measured")
        tim.plot(x, [model.predict(r, steps) for r in chosen], linestyle="--", color=line.get_color(),
                 label=f"{family}, model")
    store_all = rows[0]
    mem.plot([store_all.snapshots], [store_all.peak[backend] / 1e6], "k*", markersize=12, label="StoreAll")
    tim.plot([store_all.snapshots], [store_all.time[backend] / (steps * step_time)], "k*", markersize=12,
             label="StoreAll (taped), measured")
    tim.plot([store_all.snapshots], [model.predict(store_all, steps)], "k*", markersize=12, fillstyle="none",
             label="StoreAll, model (taping left out)")
    for axis, what in ((mem, f"peak memory of a gradient call (MB, {backend})"),
                       (tim, f"gradient time ÷ primal time ({backend})")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("snapshots (states held at once)")
        axis.set_ylabel(what)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    fig.suptitle(f"heat equation, {steps} steps: checkpointing policies "
                 f"(model: {model.step:.2f}·(A + 1 + l)/l + {model.adjoint:.2f})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


# --- --memory: a long scalar loop, each gradient in a process of its own ---------------------------

def sine_euler(x0, dt, steps):
    """x ← x + dt·sin(x), `steps` times: a loop whose step costs about as little as a step can."""
    x = x0
    for t in range(steps):
        x = x + dt * np.sin(x)
    return x


SINE_ARGS = (0.3, 1e-7)


def _max_rss() -> int:
    """The process's peak resident memory so far, in bytes (Linux reports kB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def schedule_rows(steps: int, snapshots: int) -> int:
    """Binomial(snapshots)'s schedule for `steps` steps alone: its rows made to the end as
    generated code makes them (under numba.njit for Numba); returns their number."""
    schedule = runtime.binomial_schedule(steps, snapshots)
    rows = 0
    while schedule[0] != END:
        runtime.next_action(schedule)
        rows += 1
    return rows


def fastest(call: Callable[[], object], repeat: int) -> tuple[float, object]:
    """The least seconds of `repeat` calls (the others on the machine slow some), and the result."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - start)
    return best, result


def measure_one(backend: str, policy: str, steps: int, repeat: int) -> dict:
    """In this process: the gradient of `sine_euler` under `policy` ("StoreAll", "Binomial(s)" or
    "primal": the function itself, under numba.njit for Numba), compiled on 10 steps first, then
    run `repeat` times on `steps`: maxrss before and after, the least seconds, tape bytes,
    advances, the result; for Binomial, then its schedule alone (`schedule_rows`): its rows and
    their least seconds."""
    if policy == "primal":
        f = numba.njit(sine_euler) if backend == "numba" else sine_euler
    else:
        chosen = s2sad.StoreAll() if policy == "StoreAll" else s2sad.Binomial(int(policy[9:-1]))
        f = s2sad.grad(sine_euler, wrt=0, backend=backend, checkpoint=chosen)
    f(*SINE_ARGS, 10)
    before = _max_rss()
    seconds, value = fastest(lambda: f(*SINE_ARGS, steps), repeat)
    got = {"rss_before": before, "rss": _max_rss(), "seconds": seconds, "value": float(value),
           "tape_bytes": getattr(f, "tape_bytes", 0), "advances": getattr(f, "advances", 0)}
    if policy.startswith("Binomial"):
        from s2sad.backend import numba_runtime  # noqa: F401  (the schedule's compiled form)
        rows = numba.njit(error_model="numpy")(schedule_rows) if backend == "numba" else schedule_rows
        rows(10, chosen.snapshots)
        got["rows_seconds"], got["rows"] = fastest(lambda: rows(steps, chosen.snapshots), repeat)
    return got


def measure_apart(backend: str, policy: str, steps: int, repeat: int) -> dict:
    """`measure_one` in a new Python process (so that its maxrss is its own)."""
    out = subprocess.run([sys.executable, __file__, "--memory-child", backend, policy, str(steps), str(repeat)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


# The prediction: Binomial(s) runs A + 1 steps forward (A = p(l, s) advances, and the step to the
# result) where StoreAll runs l, and the same l adjoint steps (this step's adjoint needs x alone, so
# no turn runs the step again). So its time is StoreAll's and A + 1 - l steps at the primal's time
# per step; the schedule's rows (about 3.5 a step) and the snapshot copies are left out.

def predicted_time(store_all: float, step_time: float, advances: int, steps: int) -> float:
    """Binomial's predicted seconds, from StoreAll's and the primal's seconds a step."""
    return store_all + (advances + 1 - steps) * step_time


def repetitions(steps: int, snapshots: int) -> int:
    """Revolve's repetition number t: the least with β(s, t) = C(s + t, s) ≥ l (each step is run
    forward at most t times)."""
    return next(t for t in itertools.count() if beta(snapshots, t) >= steps)


def snapshots_within(factor: float, steps: int, store_all: float, step_time: float) -> int:
    """The fewest snapshots whose predicted time is within `factor` times StoreAll's (p(l, s)
    decreases as s grows, to l - 1 at s = l - 1: a bisection)."""
    most = steps - 1 + (factor - 1) * store_all / step_time  # the advances allowed
    low, high = 0, max(steps - 1, 1)  # p(l, low) > most ≥ p(l, high)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if binomial_cost(steps, mid) <= most else (mid, high)
    return high


def memory_main(options: argparse.Namespace) -> int:
    """The --memory table: per backend, the primal, StoreAll, Binomial(s) and the Binomial predicted
    within --within times StoreAll's time, each measured apart."""
    lines, notes = [], []
    for backend in options.backends:
        steps = options.steps if backend == "numba" else options.python_steps
        got = {name: measure_apart(backend, name, steps, options.repeat) for name in ("primal", "StoreAll")}
        store_all, primal_time = got["StoreAll"]["seconds"], got["primal"]["seconds"]
        chosen = [options.snapshots]
        if options.within:
            chosen.append(snapshots_within(options.within, steps, store_all, primal_time / steps))
        for s in dict.fromkeys(chosen):
            got[f"Binomial({s})"] = row = measure_apart(backend, f"Binomial({s})", steps, options.repeat)
            if row["value"] != got["StoreAll"]["value"]:
                raise AssertionError(f"Binomial({s})'s gradient differs from StoreAll's: {row} {got['StoreAll']}")
            predicted = predicted_time(store_all, primal_time / steps, row["advances"], steps)
            row["predicted"], t = predicted / store_all, repetitions(steps, s)
            notes.append(f"{backend}, Binomial({s}): each step run forward {(row['advances'] + 1) / steps:.2f} "
                         f"times on average (at most t = {t}, the repetition number), StoreAll's once; "
                         f"the schedule's rows: {row['rows'] / steps:.2f} a step")
        got["StoreAll"]["predicted"] = 1.0
        for name, row in got.items():
            lines.append([backend, f"{steps:.0e}".replace("+0", ""), name, str(row["advances"]),
                          str(row["tape_bytes"]), f"{row['rss'] / 1e6:.0f}",
                          f"{(row['rss'] - row['rss_before']) / 1e6:.0f}", f"{row['seconds']:.2f}",
                          f"{row['seconds'] / store_all:.2f}",
                          f"{row['predicted']:.2f}" if "predicted" in row else "",
                          f"{row['seconds'] / primal_time:.1f}",
                          f"{row['rows_seconds'] / store_all:.2f}" if "rows" in row else ""])
    print("x <- x + dt*sin(x), gradient w.r.t. x0; Binomial(s) against StoreAll, each in its own process\n")
    print(markdown(["backend", "steps", "policy", "advances", "tape bytes", "peak RSS MB", "call's RSS growth MB",
                    "time s", "÷ StoreAll", "predicted ÷ StoreAll", "÷ primal", "rows alone ÷ StoreAll"], lines))
    within = (f"; the last Binomial of each backend is the fewest snapshots predicted within {options.within:g} x "
              "StoreAll's time") if options.within else ""
    print(f"\npredicted: StoreAll's time and (advances + 1 - steps) primal steps{within}; rows alone: the "
          "schedule's rows made to the end, nothing else\n")
    print("\n".join(notes))
    return 0


# --- command line ---------------------------------------------------------------------------------

def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 points x 40 steps, short timing")
    parser.add_argument("--points", type=int, help="grid points (default 4000, quick 400)")
    parser.add_argument("--steps", type=int, help="time steps (default 400, quick 40)")
    parser.add_argument("--backends", default="numba,python", help="comma-separated: numba, python")
    parser.add_argument("--rounds", type=int, help="timing rounds (default 5, quick 2)")
    parser.add_argument("--block", type=float, help="seconds each gradient runs per round (default 0.3, quick 0.05)")
    parser.add_argument("--plot", type=Path, help="write the plot (PNG) here; needs matplotlib")
    parser.add_argument("--memory", action="store_true",
                        help="a long scalar loop instead: Binomial(--snapshots) against StoreAll, memory and time")
    parser.add_argument("--snapshots", type=int, default=10, help="--memory: Binomial's snapshots (default 10)")
    parser.add_argument("--python-steps", type=int, help="--memory: the Python backend's steps (default steps / 10)")
    parser.add_argument("--within", type=float, default=2.0,
                        help="--memory: also measure the fewest snapshots predicted within this factor of "
                             "StoreAll's time (default 2; 0: not)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="--memory: calls timed in each process, the fastest kept (default 3)")
    parser.add_argument("--memory-child", nargs=4, metavar=("BACKEND", "POLICY", "STEPS", "REPEAT"),
                        help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    quick = options.quick
    options.points = options.points or (400 if quick else 4000)
    options.steps = options.steps or (10 ** 7 if options.memory else 40 if quick else 400)
    options.python_steps = options.python_steps or options.steps // 10
    options.rounds = options.rounds or (2 if quick else 5)
    options.block = options.block or (0.05 if quick else 0.3)
    options.backends = options.backends.split(",")
    if not set(options.backends) <= {"numba", "python"}:
        parser.error(f"--backends {','.join(options.backends)}: choose among numba, python")
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    if options.memory_child:
        backend, policy, steps, repeat = options.memory_child
        print(json.dumps(measure_one(backend, policy, int(steps), int(repeat))))
        return 0
    if options.memory:
        return memory_main(options)
    args = problem(options.points, options.steps)
    rows, step_time = measure(args, options.backends, options.rounds, options.block)
    models = {b: fit(rows, b, options.steps, step_time[b]) for b in options.backends}
    print(f"heat equation, {options.points} points x {options.steps} steps, gradient w.r.t. u0 and kappa\n")
    print(memory_table(rows, options.backends) + "\n")
    print("model: gradient ÷ primal = s·(advances + 1 + steps)/steps + c, fitted: "
          + ", ".join(f"s = {m.step:.2f}, c = {m.adjoint:.2f} ({b})" for b, m in models.items()) + "\n")
    print(time_table(rows, options.backends, options.steps, step_time, models))
    if options.plot:
        b = options.backends[0]
        plot(rows, b, options.steps, step_time[b], models[b], options.plot)
        print(f"\nplot: {options.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
