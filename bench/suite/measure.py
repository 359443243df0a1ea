"""Measuring one workload: check every tool's gradient, then time them all, interleaved.

Order of events: the arguments are made; each tool prepares its callables and its first gradient
call is timed apart (this is where s2sad, JAX and TensorFlow compile); s2sad's gradient is checked
against a central finite difference, and every other tool's against s2sad's (relative difference
at most `TOLERANCE`, measured against the largest entry); then the primals and the gradients of
the tools that passed run in turn, in long blocks, and the medians are kept
(``interleaved_medians`` of ``bench/loops.py``). A tool that raises, or whose gradient disagrees,
is recorded with its status and not timed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from loops import interleaved_medians  # (bench/loops.py)
from ratios import directional_error  # (bench/ratios.py)
from suite.tools import Grads, Prepared, Tool
from suite.workload import Workload, rebound

TOLERANCE = 1e-8      # a peer against s2sad
FD_TOLERANCE = 1e-5   # s2sad (or, failing it, a peer) against finite differences

OK, ERROR, WRONG, NOT_INSTALLED, CANNOT, NOT_RUN = (
    "ok", "error", "disagrees", "not installed", "cannot express", "not run")


@dataclass
class ToolResult:
    """One tool on one workload. Times are seconds; `error` is the relative difference from the
    reference gradient (s2sad's, or finite differences for s2sad itself)."""

    status: str
    gradient: float | None = None
    primal: float | None = None
    first_call: float | None = None
    error: float | None = None
    checked_against: str = ""
    note: str = ""
    message: str = ""


@dataclass
class WorkloadResult:
    name: str
    title: str
    size: str
    numpy: float | None = None
    numba: float | None = None
    numba_message: str = ""
    tools: dict[str, ToolResult] = field(default_factory=dict)

    @property
    def best_primal(self) -> float:
        return min(t for t in (self.numpy, self.numba) if t is not None)

    def as_dict(self) -> dict:
        return asdict(self) | {"best_primal": self.best_primal}


def relative_difference(grads: Grads, reference: Grads) -> float:
    """The largest absolute difference over all entries, relative to the largest reference entry."""
    if len(grads) != len(reference) or any(np.shape(g) != np.shape(r) for g, r in zip(grads, reference)):
        return float("inf")
    scale = max(float(np.max(np.abs(r), initial=0.0)) for r in reference)
    diff = max(float(np.max(np.abs(np.asarray(g, float) - r), initial=0.0)) for g, r in zip(grads, reference))
    return diff / scale if scale > 0 else diff


def finite_difference_error(work: Workload, args: tuple, grads: Grads) -> float:
    """`grads` against central finite differences along a random direction; for a Jacobian
    workload, each VJP row against the function contracted with its seed, or the forward-mode
    Jacobian contracted with a random cotangent, against the function contracted with it."""
    if work.jacobian:
        cotangent = np.random.default_rng(2).normal(size=np.shape(work.numpy(*args)))

        def contracted(*a):
            return float(np.sum(cotangent * work.numpy(*a)))
        return directional_error(contracted, args, work.wrt, (np.tensordot(cotangent, grads[0], cotangent.ndim),))
    if work.seeds is None:
        return directional_error(work.numpy, args, work.wrt, grads)
    errors = []
    for k, seed in enumerate(work.seeds(args)):
        def contracted(*a, seed=seed):
            return float(np.sum(seed * work.numpy(*a)))
        errors.append(directional_error(contracted, args, work.wrt, tuple(g[k] for g in grads)))
    return max(errors)


def _short(exc: BaseException) -> str:
    """The exception's type and message: its first line and, when there are more (TensorFlow's
    traced errors put the cause last), its last line."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = " … ".join(lines[:1] + lines[-1:] if len(lines) > 1 else lines)
    return f"{type(exc).__name__}: {text[:300]}"


def _numba_primal(work: Workload, args: tuple) -> tuple[Callable[[], Any] | None, str]:
    """The NumPy form under ``numba.njit`` (its helpers too), compiled; or None and why not."""
    import numba

    try:
        jitted = rebound(work.numpy, wrap=numba.njit)
        jitted(*args)
    except Exception as exc:  # Numba cannot compile this primal
        return None, _short(exc)
    return (lambda: jitted(*args)), ""


def _first_call(tool: Tool, work: Workload, args: tuple) -> tuple[Prepared, Grads, float]:
    prepared = tool.prepare(work, args)
    start = time.perf_counter()
    out = prepared.gradient()
    first = time.perf_counter() - start
    return prepared, prepared.to_numpy(out), first


def check_tools(work: Workload, args: tuple, tools: list[Tool], versions: dict[str, str | None],
                progress: Callable[[str], None] = lambda _: None) -> tuple[dict[str, ToolResult], dict[str, Prepared]]:
    """Prepare, first-call and check every tool; the prepared callables of those that passed."""
    results: dict[str, ToolResult] = {}
    passed: dict[str, Prepared] = {}
    reference: Grads | None = None
    for tool in tools:
        progress(tool.name)
        form = work.forms.get(tool.name)
        note = form.note if form else ""
        if versions.get(tool.name) is None:
            results[tool.name] = ToolResult(NOT_INSTALLED, note=note)
            continue
        if form is not None and form.make is None:
            results[tool.name] = ToolResult(CANNOT, note=note, message=form.missing)
            continue
        try:
            prepared, grads, first = _first_call(tool, work, args)
        except Exception as exc:
            results[tool.name] = ToolResult(ERROR, note=note, message=_short(exc))
            continue
        if reference is None:
            error, against, tolerance = finite_difference_error(work, args, grads), "finite differences", FD_TOLERANCE
        else:
            error, against, tolerance = relative_difference(grads, reference), "s2sad", TOLERANCE
        good = bool(error <= tolerance)
        if good and tool.name == "s2sad":
            reference = grads
        results[tool.name] = ToolResult(OK if good else WRONG, first_call=first, error=error,
                                        checked_against=against, note=note)
        if good:
            passed[tool.name] = prepared
    return results, passed


def measure(work: Workload, quick: bool, tools: list[Tool], versions: dict[str, str | None], rounds: int,
            block: float, progress: Callable[[str], None] = lambda _: None) -> WorkloadResult:
    """Check, then time, every tool on `work` (see the module's docstring)."""
    args = work.args(quick)
    result = WorkloadResult(work.name, work.title, work.size(args))
    progress("numba primal")
    numba_call, result.numba_message = _numba_primal(work, args)
    result.tools, passed = check_tools(work, args, tools, versions, progress)
    calls: dict[str, Callable[[], Any]] = {"numpy": lambda: work.numpy(*args)}
    if numba_call is not None:
        calls["numba"] = numba_call
    for name, prepared in passed.items():
        calls[name] = prepared.gradient
        if name != "s2sad":  # (s2sad's primal is the NumPy function itself, timed above)
            try:
                prepared.primal()  # warm-up, compiles JAX's and TensorFlow's primal
                calls[f"{name} primal"] = prepared.primal
            except Exception as exc:  # the gradient is still timed; the ratio to its primal is not
                result.tools[name].message = f"primal: {_short(exc)}"
    progress("timing")
    medians = interleaved_medians(calls, rounds, block)
    result.numpy, result.numba = medians["numpy"], medians.get("numba")
    for name in passed:
        result.tools[name].gradient = medians[name]
        result.tools[name].primal = result.best_primal if name == "s2sad" else medians.get(f"{name} primal")
    return result
