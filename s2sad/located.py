"""Run-time errors of generated code, located at the user's statement.

An exception raised while a derivative runs (a shape mismatch, an index out of range, a singular
matrix, a run-time refusal of s2sad's) is re-raised as a `DerivativeError` naming the user's
file, line and statement, with the original chained and its type kept (errors.py).

Codegen keeps, for every generated module, the user's statement behind each of its lines
(`LINES`, filled as modules are written). Code run as Python has a traceback through those
lines. Machine code has none: there the call is run again as Python to find the statement,
once per kind of failure, within a time limit (`Deadline`), with the random streams put back as
the failed call left them; if the Python form does not fail alike in time, the error names the
function only.
"""

from __future__ import annotations

import time
import traceback
from typing import Callable

from .backend.background import Switch, stream_states
from .errors import S2SADError, raised_in
from .ir.core import Function, Loc
from .runtime import CHANGED_SHAPE, EMPTY_LIST, NO_ITERATION, NO_ITERATION_UNBOUND, RAGGED_LIST, Interrupted

LINES: dict[str, dict[int, Loc]] = {}  # generated file → the user's statement behind each of its lines

# The run-time refusals of generated code, and what to do about them.
REFUSALS = {CHANGED_SHAPE: "an array the loop carries must keep the shape it starts with (give one that broadcasting "
                           "grows its final shape before the loop: np.broadcast_to(x, shape).copy()); vectors and "
                           "matrices computed in the loop may change shape (ragged tapes hold them), while an array "
                           "of three or more axes must be made a matrix in the loop (reshape it)",
            RAGGED_LIST: "append items of one shape",
            NO_ITERATION: "give the value its type before the loop (total = np.zeros_like(v) rather than 0.0), or "
                          "make sure the loop runs",
            NO_ITERATION_UNBOUND: "assign the name before the loop, or make sure the loop runs",
            EMPTY_LIST: "use the list only when it has items (if len(xs) > 0: ...), or start it with an item"}


class Deadline:
    """The `TIERS` object of a Python form run to locate an error: its loops stop (`Switch`) once
    `seconds` have passed since `start`."""

    Switch = Switch
    loading = False

    def __init__(self) -> None:
        self.end = 0.0

    def start(self, seconds: float) -> None:
        self.end = time.perf_counter() + seconds

    @property
    def ready(self) -> bool:
        return time.perf_counter() > self.end


def statement(tb) -> Loc | None:
    """The user's statement behind the innermost generated line of traceback `tb` (None if that
    line has none, or no generated line is in it)."""
    loc = None
    for frame, line in traceback.walk_tb(tb):
        lines = LINES.get(frame.f_code.co_filename)
        if lines is not None:
            loc = lines.get(line)
    return loc


def located(fn: Callable, primal: Function, again: Callable[[], tuple[Callable, Deadline]] | None = None,
            ) -> Callable:
    """`fn`, a derivative's entry point, with the exceptions its generated code raises located
    at the user's statement. `again` (for machine code) makes the Python form that runs a failed
    call again to find the statement, with its `Deadline`."""
    locate = locating(primal, again)

    def calls(faster: Callable) -> None:
        """From now on call `faster` (what `fn` is once its machine code has run: backend/numba.py)."""
        nonlocal fn
        fn = faster

    def run(*args):
        started = time.perf_counter() if again is not None else 0.0  # (timed only where it may run again)
        try:
            return fn(*args)
        except BaseException as exc:
            raise locate(exc, args, started)
    run.calls = calls
    return run


def locating(primal: Function, again: Callable[[], tuple[Callable, Deadline]] | None = None,
             ) -> Callable[[BaseException, tuple, float], BaseException]:
    """What a call of `primal`'s derivative raises in place of an exception of its code, given that
    exception, the call's arguments and its start (`time.perf_counter`): the same exception, or a
    located one (`located`; `again` as there)."""
    found: dict[tuple, tuple[Loc | None, str]] = {}  # (kind, message) → where machine code raised it

    def locate(exc: BaseException, args: tuple, started: float) -> BaseException:
        if isinstance(exc, S2SADError) or not isinstance(exc, Exception):
            return exc
        if isinstance(exc, Interrupted):  # (compiled code stopped by Ctrl-C, as Python would have been)
            return _instead(KeyboardInterrupt(), None)
        if isinstance(exc, MemoryError):
            return _instead(S2SADError(
                f"in the derivative of {primal.name}: out of memory ({exc or 'no detail'}); a reverse-mode derivative "
                "keeps what its loops compute at every step (tape_bytes says how much a smaller call kept): "
                "checkpoint=s2sad.Binomial(snapshots=...) keeps a few snapshots instead (docs/checkpointing.md)",
                primal.filename, primal.lineno), None)
        if type(exc).__module__.startswith("s2sad"):  # (control flow of the backends', and their refusals)
            return exc
        loc, note = statement(exc.__traceback__), ""
        if loc is None and again is not None:
            key = (type(exc), str(exc))
            if key not in found:
                found[key] = _run_again(again, args, exc, time.perf_counter() - started)
            loc, note = found[key]
        return _instead(_error(exc, primal, loc, note), exc)
    return locate


def _instead(exc: BaseException, cause: BaseException | None) -> BaseException:
    """`exc`, to be raised in place of another: ``raise exc from cause``."""
    exc.__cause__ = cause
    exc.__suppress_context__ = True
    return exc


def _run_again(again: Callable[[], tuple[Callable, Deadline]], args: tuple, exc: Exception,
               seconds: float) -> tuple[Loc | None, str]:
    """Where the Python form raises `exc` again when called with `args`, given up to 20 times
    the `seconds` the failed call took (at least half a second, at most five); or None and what
    to say instead."""
    python, deadline = again()
    put_back = stream_states(args)
    deadline.start(min(5.0, 0.5 + 20 * seconds))
    try:
        python(*args)
    except type(exc) as repeated:
        loc = statement(repeated.__traceback__)
        return loc, "" if loc is not None else UNLOCATED
    except Exception:  # (Switch among them: out of time)
        return None, UNLOCATED
    finally:
        for restore in put_back:
            restore()
    return None, (" (the derivative's code run as Python does not raise it: a fault of s2sad's or Numba's; "
                  "please report it)")


UNLOCATED = " (raised by its compiled form: backend='python' shows the statement)"


def _error(exc: Exception, primal: Function, loc: Loc | None, note: str) -> S2SADError:
    """The `DerivativeError` for `exc`, raised by `primal`'s derivative at `loc` (or, if None,
    somewhere in it: `note` says more)."""
    text = str(exc)
    if text in REFUSALS:
        message = f"in {primal.name}: {text}; {REFUSALS[text]}"
    else:
        message = f"{type(exc).__name__} in the derivative of {primal.name}: {text}"
    if loc is None:
        return raised_in(type(exc), message + note, primal.filename, primal.lineno)
    return raised_in(type(exc), message, loc.filename, loc.lineno, loc.source_line)
