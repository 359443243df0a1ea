"""The oracles: run a function as plain Python and through s2sad, and compare.

`check(fn, args)` runs every oracle on one function and its sample arguments and returns an
`Outcome`:

- ``value``: s2sad's value (both modes) equals NumPy's (the function run as plain Python on deep
  copies of the arguments), rtol 1e-10;
- ``argument-state``: after s2sad's derivative call, the argument arrays (and Generators) hold
  what they hold after a plain call on fresh copies;
- ``module-state``: likewise for the module's globals (reset before every run);
- ``reverse-vs-forward``: the two modes' gradients agree (to MODES_RTOL, or to the rounding of
  cancelling terms where the variables grow large: `_modes_rtol`);
- ``fd-reverse``/``fd-forward``: both agree with central differences of the plain function where
  two step sizes agree with each other (elsewhere the program is not smooth at the point and
  this oracle is skipped, not the others);
- ``checkpoint-periodic``/``checkpoint-binomial``: for programs with loops, checkpointed reverse
  mode gives the default's value and gradient (rtol 1e-12);
- ``numba``: the Numba backend gives the Python backend's value and gradient (optional: Numba
  compiles cost seconds).

Outcome categories: ``ok``; ``refused`` (an `S2SADError` that is not an `InternalError`:
acceptable); and the failures ``mismatch`` (an oracle disagrees), ``internal`` (an
`InternalError`, any other exception raised by s2sad or its generated code, or a timeout),
``argument-state`` and ``module-state``.
"""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import math
import re
import sys
import textwrap
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

import s2sad

from .program import SeededGenerator, Timeout, deadline

FAILURES = ("internal", "mismatch", "argument-state", "module-state")
CATEGORIES = ("ok", "refused") + FAILURES
STAGES = ("reverse", "forward", "modes", "fd", "checkpoint", "numba")
VALUE_RTOL = 1e-10
ROUNDING_RTOL = 1e-7         # a value this close is noted, not failed: the order of operations differs (a
#                              transposed array's layout, a summation order), which programs that amplify
#                              rounding (cosines of large sums) turn into differences of this size
MODES_RTOL = 1e-9
CANCELLATION = 16            # the reverse sweep's rounding where uses cancel, in EPSILON × the largest variable
CHECKPOINT_RTOL = 1e-12
NUMBA_RTOL = 1e-9
FD_STEPS = (1e-4, 1e-5)     # relative step sizes; the second estimate is compared
FD_AGREE = 1e-6             # the two estimates must agree to this (relative), else the element is skipped
FD_RTOL = 1e-5
FD_STEEP = 1e6              # elements with a larger derivative are not compared (values blow up inside)
FD_RESOLUTION = 1e12        # no finite differences when the function's variables grow larger than this
EPSILON = float(np.finfo(float).eps)
STATE_RTOL = 1e-10
PLAIN_SECONDS = 5.0        # a plain run that takes longer hangs


@dataclass(frozen=True)
class Failure:
    """One oracle's complaint: its category, the oracle, and what differed."""

    category: str
    oracle: str
    message: str
    kind: str = ""          # internal: the exception's type

    @property
    def signature(self) -> tuple[str, str, str]:
        return (self.category, self.oracle, self.kind)


@dataclass
class Outcome:
    """What one program's run through the oracles gave."""

    failures: list[Failure] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)       # "stage: message" of S2SADErrors
    notes: list[str] = field(default_factory=list)          # fallbacks, skipped oracles
    seconds: float = 0.0

    @property
    def category(self) -> str:
        if self.failures:
            return self.primary.category
        return "refused" if self.refusals else "ok"

    @property
    def primary(self) -> Failure | None:
        """The failure to report first (see `ranked`)."""
        return self.ranked[0] if self.failures else None

    @property
    def ranked(self) -> list[Failure]:
        """The failures, internal errors first, then wrong values, wrong state, wrong derivatives."""
        order = ["internal", "value", "argument-state", "module-state", "mismatch"]

        def rank(f: Failure) -> int:
            value = f.category == "mismatch" and f.oracle.startswith("value")
            return order.index("value" if value else f.category)
        return sorted(self.failures, key=rank)

    def describe(self) -> str:
        if not self.failures:
            return self.category + (f": {self.refusals[0]}" if self.refusals else "")
        return "\n".join(f"{f.category} [{f.oracle}]: {f.message}" for f in self.failures)


# --- running the function -------------------------------------------------------------------

STATE_TYPES = (bool, int, float, np.ndarray, np.generic)
_SINGULAR = re.compile("divide by zero|invalid value")  # (NumPy's warnings for x / 0, log(0), 0 / 0, inf - inf)


class Subject:
    """A function, its sample arguments, and its module's globals (reset before every run)."""

    def __init__(self, fn: Callable, args: Sequence[Any]):
        self.fn = fn
        self.args = list(args)
        self.namespace = fn.__globals__
        self.initial = {name: copy.deepcopy(value) for name, value in self.namespace.items()
                        if isinstance(value, STATE_TYPES) and not name.startswith("__")}
        self.wrt = tuple(k for k, a in enumerate(self.args) if _is_float(a))

    def fresh(self) -> list[Any]:
        """Reset the module's globals; fresh copies of the arguments."""
        for name, value in self.initial.items():
            self.namespace[name] = copy.deepcopy(value)
        return [a.make() if isinstance(a, SeededGenerator) else copy.deepcopy(a) for a in self.args]

    def state(self, args: list[Any]) -> tuple[dict, dict]:
        """What the arguments and the module's globals hold now."""
        arguments = {k: _snapshot(a) for k, a in enumerate(args) if isinstance(a, (np.ndarray, np.random.Generator))}
        module = {name: _snapshot(self.namespace.get(name)) for name in self.initial}
        return arguments, module

    def largest_value(self) -> float:
        """The largest magnitude the function's variables (its helpers' too) hold when they
        return: where it is huge, a finite-difference step added to a value of that size is
        rounded away, and the differences see a flat function where the real one is not."""
        largest = [0.0]
        filename = self.fn.__code__.co_filename

        def watch(frame, event, arg):
            if event == "return" and frame.f_code.co_filename == filename:
                for value in [*frame.f_locals.values(), arg]:
                    if isinstance(value, (float, np.ndarray, np.floating)) and np.size(value):
                        with np.errstate(all="ignore"):
                            size = float(np.nanmax(np.abs(np.asarray(value, dtype=float)), initial=0.0))
                        largest[0] = max(largest[0], size if math.isfinite(size) else 0.0)
        previous = sys.getprofile()
        sys.setprofile(watch)
        try:
            self.plain()
        except Exception:  # noqa: BLE001
            pass
        finally:
            sys.setprofile(previous)
        return largest[0]

    @functools.cached_property
    def calls_std(self) -> bool:
        """Whether the program calls ``np.std``, whose derivative is NaN where its elements are all
        equal (docs/language.md, Non-differentiable points): a NaN made without a warning."""
        return "std(" in Path(self.fn.__code__.co_filename).read_text()

    def divides(self) -> bool:
        """Whether the plain function divides by zero (or takes the log of 0, or makes a NaN)."""
        with warnings.catch_warnings(record=True) as caught, deadline(PLAIN_SECONDS):
            warnings.simplefilter("always", RuntimeWarning)
            with np.errstate(all="ignore", divide="warn", invalid="warn"):
                self.fn(*self.fresh())
        return any(_SINGULAR.search(str(w.message)) for w in caught)

    def plain(self, args: list[Any] | None = None) -> float:
        args = self.fresh() if args is None else args
        with warnings.catch_warnings(), deadline(PLAIN_SECONDS):
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                return float(self.fn(*args))


def _is_float(a: Any) -> bool:
    return (isinstance(a, float) and not isinstance(a, bool)) or (isinstance(a, np.ndarray) and a.dtype.kind == "f")


def _snapshot(value: Any) -> Any:
    if isinstance(value, np.random.Generator):
        return value.bit_generator.state
    return copy.deepcopy(value)


def _close(a: Any, b: Any, rtol: float, atol: float = 0.0) -> bool:
    if isinstance(a, dict) or isinstance(b, dict):
        return a == b
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind not in "fc" or b.dtype.kind not in "fc":
        return bool(np.array_equal(a, b))
    return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def _scale(values) -> float:
    flat = [np.abs(np.asarray(v, dtype=float)).max(initial=0.0) for v in values]
    return max([1.0] + [f for f in flat if math.isfinite(f)])


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "<generator state>"
    return np.array2string(np.asarray(value), precision=6, threshold=12) if np.ndim(value) else f"{value!r}"


# --- s2sad calls -------------------------------------------------------------------------------

@dataclass
class Result:
    value: float
    grads: list[Any]
    arguments: dict
    module: dict
    singular: bool = False  # a derivative was infinite or 0/0 somewhere (NumPy warned in the s2sad call)


class Refused(Exception):
    """s2sad refused the function (an `S2SADError` that is not internal)."""


class Broke(Exception):
    """s2sad failed: an internal error, an unexpected exception, or a timeout."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _internal_kind(exc: BaseException) -> str:
    """The exception's type and message without names, numbers and places, so that two
    failures of one kind compare equal (``VerifyError: Var(…) used before definition``)."""
    cause = exc.__cause__ if isinstance(exc, s2sad.InternalError) and exc.__cause__ is not None else exc
    message = str(cause).split(" in Eqn(")[0].split(" (")[0] if not isinstance(cause, SyntaxError) else cause.msg
    message = re.sub(r"Var\([^)]*\)", "Var(…)", message)
    message = re.sub(r"'[^']*'", "'…'", message)
    message = re.sub(r"\b\d+\b", "N", message)
    return f"{type(cause).__name__}: {message[:80]}"


def call_s2sad(subject: Subject, timeout: float | None, **options) -> tuple[Result, list[str]]:
    """``value_and_grad(fn, wrt=every float argument, **options)`` on fresh arguments; the result
    and the fallback warnings it gave. Raises `Refused` or `Broke`."""
    args = subject.fresh()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", s2sad.BackendFallbackWarning)
        warnings.simplefilter("always", RuntimeWarning)
        try:
            with deadline(timeout), np.errstate(all="ignore", divide="warn", invalid="warn"):
                value, grads = s2sad.value_and_grad(subject.fn, wrt=subject.wrt, **options)(*args)
        except s2sad.InternalError as exc:
            raise Broke(_internal_kind(exc), _first_line(exc)) from exc
        except s2sad.S2SADError as exc:
            raise Refused(exc.one_line()) from exc
        except Timeout:
            raise Broke("Timeout", f"no answer within {timeout} s") from None
        except Exception as exc:  # noqa: BLE001 (anything else is s2sad's fault: the plain run succeeded)
            raise Broke(_internal_kind(exc), f"{type(exc).__name__}: {exc}") from exc
    fallbacks = [str(w.message) for w in caught if issubclass(w.category, s2sad.BackendFallbackWarning)]
    singular = any(_SINGULAR.search(str(w.message)) for w in caught if issubclass(w.category, RuntimeWarning)) \
        or subject.calls_std and not all(np.all(np.isfinite(g)) for g in grads)
    arguments, module = subject.state(args)
    return Result(value, list(grads), arguments, module, singular and not subject.divides()), fallbacks


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0]


# --- the oracles ---------------------------------------------------------------------------------

@dataclass
class Check:
    """State shared by the oracles of one run of `check`."""

    subject: Subject
    outcome: Outcome
    timeout: float | None
    expected: float = 0.0
    arguments: dict = field(default_factory=dict)
    module: dict = field(default_factory=dict)
    results: dict[str, Result] = field(default_factory=dict)

    def fail(self, category: str, oracle: str, message: str, kind: str = "") -> None:
        self.outcome.failures.append(Failure(category, oracle, message, kind))

    def run(self, stage: str, **options) -> Result | None:
        """One s2sad call; a refusal or breakage is recorded and gives None."""
        try:
            result, fallbacks = call_s2sad(self.subject, self.timeout, **options)
        except Refused as exc:
            if options.get("backend") == "numba" and "Numba cannot compile" in str(exc):
                self.outcome.notes.append(f"fallback ({stage}): {exc}")  # acceptable, counted
            else:
                self.outcome.refusals.append(f"{stage}: {exc}")
            return None
        except Broke as exc:
            self.fail("internal", stage, str(exc), exc.kind)
            return None
        self.outcome.notes += [f"fallback ({stage}): {w}" for w in fallbacks]
        return result


def check(fn: Callable, args: Sequence[Any], *, numba: bool = False, checkpoint: bool | None = None,
          stages: Sequence[str] = STAGES, timeout: float | None = 120.0) -> Outcome:
    """Every oracle on `fn` at `args` (see the module's docstring). `checkpoint` defaults to
    whether the function's source has a loop; `stages` restricts the oracles run (the
    minimiser runs only those a failure needs)."""
    started = time.perf_counter()
    subject = Subject(fn, args)
    outcome = Outcome()
    state = Check(subject, outcome, timeout)
    args0 = subject.fresh()
    state.expected = subject.plain(args0)
    state.arguments, state.module = subject.state(args0)
    if checkpoint is None:
        checkpoint = has_loop(fn)
    needed = set(stages)
    if needed & {"modes", "fd", "checkpoint", "numba"}:
        needed.add("reverse")
    if "modes" in needed:
        needed.add("forward")
    for mode in ("reverse", "forward"):
        if mode in needed:
            _mode_oracles(state, mode)
    if "reverse" in state.results:
        if "modes" in stages and "forward" in state.results:
            _compare_grads(state, "reverse-vs-forward", state.results["reverse"], state.results["forward"],
                           _modes_rtol(state.subject))
        if "fd" in stages:
            _finite_differences(state)
        if checkpoint and "checkpoint" in stages:
            _checkpoint_oracles(state)
        if numba and "numba" in stages:
            _numba_oracle(state)
    outcome.seconds = time.perf_counter() - started
    return outcome


def assert_no_failure(fn: Callable, *args: Any, numba: bool = False) -> Outcome:
    """Fail (AssertionError) when an oracle fails on `fn` at `args`; a refusal passes."""
    outcome = check(fn, args, numba=numba)
    assert not outcome.failures, f"{fn.__name__}: {outcome.describe()}"
    return outcome


def has_loop(fn: Callable) -> bool:
    """Whether `fn`, or a function of its module that it calls (directly or not), has a loop."""
    seen, todo = set(), [fn]
    while todo:
        f = todo.pop()
        if f in seen or getattr(f, "__module__", None) != fn.__module__ or not hasattr(f, "__code__"):
            continue
        seen.add(f)
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(f)))
        except (OSError, TypeError):
            return True
        if any(isinstance(node, (ast.For, ast.While)) for node in ast.walk(tree)):
            return True
        todo += [fn.__globals__[name] for name in f.__code__.co_names if callable(fn.__globals__.get(name))]
    return False


def _mode_oracles(state: Check, mode: str) -> None:
    result = state.run(mode, mode=mode, backend="python")
    if result is None:
        return
    state.results[mode] = result
    if not _close(result.value, state.expected, VALUE_RTOL, 1e-12):
        if _close(result.value, state.expected, ROUNDING_RTOL) or \
                _rounding_explains(state.subject, state.expected, result.value):
            state.outcome.notes.append(f"ill-conditioned (value-{mode}): {result.value!r} vs {state.expected!r}")
        else:
            state.fail("mismatch", f"value-{mode}", f"s2sad's value {result.value!r}, NumPy's {state.expected!r}")
    _compare_state(state, "argument-state", mode, result.arguments, state.arguments, "argument")
    _compare_state(state, "module-state", mode, result.module, state.module, "global")


def _rounding_explains(subject: Subject, expected: float, got: float) -> bool:
    """Does NumPy's own value move as far when the float arguments move by rounding (a relative
    1e-13)? Then a difference in the order of operations (another memory layout, another
    summation order) explains the mismatch: the program amplifies rounding (cosines of large
    sums, long products), and no value at this precision is more right than another."""
    args = [a * (1.0 + 1e-13) if _is_float(a) else a for a in subject.fresh()]
    try:
        moved = subject.plain(args)
    except Exception:  # noqa: BLE001
        return False
    return abs(moved - expected) >= 0.1 * abs(got - expected)


def _compare_state(state: Check, category: str, mode: str, got: dict, want: dict, what: str) -> None:
    names = list(state.subject.fn.__code__.co_varnames) if what == "argument" else None
    for key in want:
        if not _close(got.get(key), want[key], STATE_RTOL, 1e-12):
            label = names[key] if names and isinstance(key, int) else key
            state.fail(category, mode, f"{what} {label} after s2sad's call is {_show(got.get(key))}, "
                                       f"after NumPy's {_show(want[key])}")


def _modes_rtol(subject) -> float:
    """How closely the two modes' gradients must agree: MODES_RTOL, or looser where the
    function's variables grow large. The reverse sweep adds the cotangents of a value's uses
    separately, and where uses cancel (``a / (1 + (a - u))`` with a a copy of u), terms the size
    of the variables times the gradient cancel to it, leaving rounding of about EPSILON times the
    variables' size, relative to the gradient (forward mode cancels the tangents exactly)."""
    return max(MODES_RTOL, CANCELLATION * EPSILON * subject.largest_value())


def _compare_grads(state: Check, oracle: str, a: Result, b: Result, rtol: float) -> None:
    scale = _scale(a.grads + b.grads)
    names = state.subject.fn.__code__.co_varnames
    for k, ga, gb in zip(state.subject.wrt, a.grads, b.grads):
        if _close(ga, gb, rtol, rtol * scale):
            continue
        if _singular_only(a, ga, gb) or _singular_only(b, gb, ga):
            state.outcome.notes.append(f"singular ({oracle}): d/d{names[k]}: {_show(ga)} vs {_show(gb)}")
            continue
        state.fail("mismatch", oracle, f"d/d{names[k]}: {_show(ga)} vs {_show(gb)}")


def _singular_only(result: Result, got: Any, other: Any) -> bool:
    """Whether `got` differs from `other` only by non-finite elements of a result that met an
    infinite derivative: docs/language.md (Non-differentiable points) lets the modes differ
    there (a zero multiplying an infinite derivative further on)."""
    got, other = np.asarray(got, dtype=float), np.asarray(other, dtype=float)
    if not result.singular or got.shape != other.shape:
        return False
    differ = ~np.isclose(got, other, rtol=1e-6, atol=1e-9, equal_nan=True)
    return bool(np.all(~np.isfinite(got[differ])))


def _checkpoint_oracles(state: Check) -> None:
    base = state.results["reverse"]
    for name, policy in (("periodic", s2sad.Periodic(every=2)), ("binomial", s2sad.Binomial(snapshots=2))):
        result = state.run(f"checkpoint-{name}", mode="reverse", backend="python", checkpoint=policy)
        if result is None:
            continue
        oracle = f"checkpoint-{name}"
        if not _close(result.value, base.value, CHECKPOINT_RTOL, 1e-13):
            state.fail("mismatch", oracle, f"value {result.value!r}, without checkpointing {base.value!r}")
        _compare_grads(state, oracle, result, base, CHECKPOINT_RTOL)


def _numba_oracle(state: Check) -> None:
    """Reverse mode compiled by Numba (``backend="numba"``: a construct Numba cannot compile is
    counted as a fallback, as ``auto`` would run it as Python) against the Python backend."""
    base = state.results["reverse"]
    result = state.run("numba", mode="reverse", backend="numba")
    if result is None:
        return
    if not _close(result.value, base.value, NUMBA_RTOL, 1e-12):
        state.fail("mismatch", "numba", f"value {result.value!r}, the Python backend's {base.value!r}")
    _compare_grads(state, "numba", result, base, NUMBA_RTOL)
    _compare_state(state, "argument-state", "numba", result.arguments, state.arguments, "argument")
    _compare_state(state, "module-state", "numba", result.module, state.module, "global")
    state.outcome.notes.append("numba: compared")


# --- finite differences ------------------------------------------------------------------------

def _finite_differences(state: Check) -> None:
    """Central differences of the plain function for each element of each float argument, with
    two step sizes. An element is skipped where the function is not smooth near the point: the
    two estimates disagree (a branch or kink within a step), or the one-sided differences
    differ by as much at the smaller step as at the larger (a kink at the point itself, such
    as a tie of `max`, where the central differences of both steps agree on the average)."""
    subject = state.subject
    names = subject.fn.__code__.co_varnames
    largest = subject.largest_value()
    if largest > FD_RESOLUTION:
        state.outcome.notes.append(f"fd: skipped (values up to {largest:.1e}: a step is lost when added to them)")
        return
    skipped = total = 0
    for slot, k in enumerate(subject.wrt):
        shape = np.shape(subject.args[k])
        estimate = np.full(shape, np.nan)
        for index in np.ndindex(shape) if shape else [()]:
            total += 1
            d = fd_derivative(subject, k, index, state.expected)
            if d is None:
                skipped += 1
            else:
                estimate[index] = d
        blurred = _rounding_error(state, slot) > FD_RTOL * np.maximum(1.0, np.abs(estimate))
        skipped += int(np.count_nonzero(blurred & np.isfinite(estimate)))
        estimate[blurred] = np.nan
        for mode, result in state.results.items():
            got = np.asarray(result.grads[slot], dtype=float)
            close = np.abs(got - estimate) <= FD_RTOL * np.maximum(1.0, np.abs(estimate))  # (False where got is nan)
            steep = np.abs(got) > FD_STEEP  # a step of 1e-5 changes the value by more than linearly: no estimate
            # non-finite where a derivative was infinite, or in both modes (a documented NaN: never silent)
            everywhere = np.all([~np.isfinite(np.asarray(r.grads[slot], dtype=float))
                                 for r in state.results.values()], axis=0)
            singular = ~np.isfinite(got) & (result.singular | everywhere)
            suspect = ~close & ~steep & ~singular & np.isfinite(estimate)
            for index in zip(*np.nonzero(suspect)) if np.ndim(suspect) else ([()] if suspect else []):
                if not _confirmed(subject, k, tuple(index), state.expected, estimate[index], got[index]):
                    suspect[index] = False  # (a third step disagrees: not smooth at the scale of the steps)
                    skipped += 1
            if np.any(suspect):
                state.fail("mismatch", f"fd-{mode}", f"d/d{names[k]}: s2sad {_show(got)}, finite differences "
                                                     f"{_show(estimate)}")
    if skipped:
        state.outcome.notes.append(f"fd: {skipped} of {total} elements skipped (not smooth at the point)")


def _rounding_error(state: Check, slot: int) -> np.ndarray:
    """How far rounding can move the finite-difference estimates of argument `slot`'s elements.

    To first order, the function's value is uncertain by about ε·Σ|∂f/∂xᵢ|·max(1, |xᵢ|) (the
    rounding of each input, and of the intermediates of its size, carried to the result); divided
    by an element's step, that is the error of its central difference. Where one input is very
    sensitive (x reaches the result through cos(1e10·x)), the differences of the other inputs
    are below that resolution: x3 + 1e10 does not move when x3 moves by 1e-5. The sensitivities
    are the smaller of the modes' (a mode that is wrong by being large does not hide the others)."""
    subject = state.subject
    noise = 0.0
    for s, k in enumerate(subject.wrt):
        grads = [np.abs(np.asarray(r.grads[s], dtype=float)) for r in state.results.values()]
        sensitivity = np.nan_to_num(np.minimum.reduce(grads), nan=0.0, posinf=0.0) if grads else 0.0
        noise += float(np.sum(sensitivity * np.maximum(1.0, np.abs(np.asarray(subject.args[k], dtype=float)))))
    x = np.abs(np.asarray(subject.args[subject.wrt[slot]], dtype=float))
    return EPSILON * noise / (FD_STEPS[-1] * np.maximum(1.0, x))


def _confirmed(subject: Subject, k: int, index: tuple, f0: float, estimate: float, got: float) -> bool:
    """Is the finite-difference `estimate` that disagrees with s2sad's `got` to be trusted? Not
    when a smaller step gives another estimate (where rounding makes the function rough, as in
    long products of cosines, two steps may agree by chance on a wrong slope), nor when coarser
    steps agree with `got` (the small steps were below the resolution of a large intermediate
    value: x + 5e12 does not change when x moves by 1e-5)."""
    again = fd_derivative(subject, k, index, f0, steps=FD_STEPS[1:] + (FD_STEPS[-1] / 10,))
    if again is None or abs(again - estimate) > FD_AGREE * max(1.0, abs(estimate)):
        return False
    coarse = fd_derivative(subject, k, index, f0, steps=(1e-2, 1e-3))
    return coarse is None or abs(coarse - got) >= 0.1 * abs(coarse - estimate)


def fd_derivative(subject: Subject, k: int, index: tuple, f0: float, steps: tuple = FD_STEPS) -> float | None:
    """∂f/∂args[k][index] by central differences, or None where f is not smooth there."""
    def at(delta: float) -> float:
        args = subject.fresh()
        if index == ():
            args[k] = args[k] + delta
        else:
            args[k][index] += delta
        return subject.plain(args)

    x = subject.args[k] if index == () else subject.args[k][index]
    central, jumps = [], []
    try:
        for h in steps:
            step = h * max(1.0, abs(float(x)))
            up, down = at(step), at(-step)
            central.append((up - down) / (2 * step))
            jumps.append(abs((up - f0) - (f0 - down)) / step)
    except Exception:  # noqa: BLE001 (the plain function fails near the point: not smooth there)
        return None
    if not all(math.isfinite(v) for v in central + jumps):
        return None
    size = max(1.0, abs(central[-1]))
    if abs(central[0] - central[1]) > FD_AGREE * size:
        return None
    if jumps[1] > 0.5 * jumps[0] and jumps[1] > 1e-7 * size:
        return None
    return central[-1]
