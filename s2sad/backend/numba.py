"""The Numba backend: compile a generated function with ``numba.njit(cache=True)``.

Numba compiles at the first call, for the argument types of that call. When it cannot compile
the generated code (a construct nopython mode lacks, such as writing a module global), the
`auto` backend runs the Python version instead and says so once with a
`BackendFallbackWarning` naming the construct; the `numba` backend raises an `S2SADError`.

Compiled code that draws from NumPy's global random stream runs on that stream
(`stream.run_on_numpys_stream`), not on Numba's own. With the `auto` backend the first calls do
not wait for the compile: they run as Python while a worker process compiles (background.py).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
import time
import traceback
import warnings
from typing import Callable

import numpy as np

from .. import notice
from ..cache import cache_dir, machine_code_cache_trusted
from ..errors import S2SADError
from . import python
from .background import Refused, Switch, Tiers, tiered
from .checked import copies, entry_function
from .numba_load import float_arrays_returned, load_cached, load_signature
from .stream import StreamUnavailable, run_on_numpys_stream


class BackendFallbackWarning(UserWarning):
    """Numba could not compile a derivative; it runs as plain Python instead."""


class CompiledAhead(Exception):
    """Raised in place of running a compiled derivative under `compiling_only`: it is compiled
    (and cached) for the arguments of the call, which goes no further."""


_AHEAD: list = []  # not empty inside `compiling_only`


@contextlib.contextmanager
def compiling_only():
    """Calls of compiled derivatives inside this block compile their code (into the cache) for
    their arguments' types and raise `CompiledAhead` instead of running it."""
    _AHEAD.append(True)
    try:
        yield
    finally:
        _AHEAD.pop()


def jit(fn: Callable):
    """`fn` as Numba compiles it: the runtime helpers bound to their nopython forms (as the
    compile begins: numba_runtime.py), the machine code cached, and NumPy's error model
    (``x / 0.0`` is inf, not an exception)."""
    import numba

    from . import numba_runtime  # noqa: F401  (the helpers' nopython implementations)

    return numba.njit(cache=machine_code_cache_trusted(fn.__code__.co_filename), error_model="numpy")(fn)


@functools.cache
def refusals() -> tuple:
    """The exceptions by which Numba refuses code (rather than failing on its own), and those by
    which s2sad learns of a refusal before Numba runs."""
    from numba.core import errors
    return (errors.TypingError, errors.UnsupportedError, errors.LoweringError, NotImplementedError,
            StreamUnavailable, Refused)


def compile(fn: Callable, source: str, origin: str, strict: bool, fallback: Callable | None = None,
            global_stream: bool = False, namespaces: dict | None = None,
            python_tier: Callable | None = None) -> Callable:
    """`fn` compiled by Numba when called (once per argument layout); where Numba refuses,
    `fallback` (by default `fn` itself) from then on, with one warning (or an error if `strict`).
    If `global_stream`, `fn` draws from NumPy's global random stream, and each call lends it.

    Unless `strict`, the first calls run ``python_tier(tiers)`` (`fallback` that stops when
    `tiers` says the machine code is ready), or `fallback`, while a worker process compiles `fn`
    (background.py), if `fn` names none of the user's modules bound in its module
    (`namespaces`), which the worker does not have. Numba itself is imported when the machine
    code is first needed (``call.jitted`` is None until then)."""
    fallback = fallback or fn
    fallen = []  # set once Numba has refused: from then on, plain Python
    ran = []  # set once the machine code has run: from then on, straight to it
    local = not set(fn.__code__.co_names) & set(namespaces or ())
    tiers = Tiers(fn) if not strict and local and tiered() else None
    meanwhile = python_tier(tiers) if tiers is not None and python_tier is not None else fallback
    jitted = None

    def dispatcher():
        nonlocal jitted
        if jitted is None:
            jitted = call.jitted = jit(fn)
        return jitted

    def load(args: tuple) -> bool:
        """Load the machine code for `args` from the cache, with the checks of its results, if
        it is there (numba_load.py)."""
        loaded = load_cached(dispatcher(), args)
        if loaded:
            _load_finite_checks(jitted)
        return loaded

    def run(args: tuple):
        out = run_on_numpys_stream(retrying_cache, jitted, *args) if global_stream else retrying_cache(jitted, *args)
        if not ran:
            ran.append(True)
            if not global_stream:
                call.direct = direct
                for tell in call.on_direct:
                    tell(direct)
        return out if _finite(out) else not_finite(out)

    def not_finite(out):
        if "raise" in (np.geterr()[k] for k in ("divide", "over", "invalid")):  # (np.errstate(...="raise"): the
            # Python form, run again to find the statement, raises where NumPy would: located.py)
            raise FloatingPointError(f"the derivative of {origin} gives infinities or NaNs")
        warnings.warn(f"the derivative of {origin} gives infinities or NaNs: a division by zero, an overflow "
                      "or an invalid operation, where NumPy would have warned (compiled code does not stop to "
                      "warn)", RuntimeWarning, stacklevel=_callers_level())
        return out

    def direct(*args):
        """The calls after the machine code has run (and that lend it no random stream): straight
        to it, anything unusual handled as `call` would."""
        if fallen:
            return fallback(*args)
        try:
            out = jitted(*args)
        except Exception as exc:
            return call(*args) if _raised_by_cache(exc) else failed(exc, args)  # (`call` reads the cache again)
        except BaseException as exc:
            return failed(exc, args)
        return out if _finite(out) else not_finite(out)

    def make_checked(locate: Callable[[BaseException, tuple, float], BaseException], dropped: int = 0,
                     ) -> Callable | None:
        """The calls of the checked entry, once the machine code has run and calls go to
        `direct` (None before, or after Numba refused the derivative): the results but the first
        `dropped`, with each array copied, and all of them checked finite, in one call of machine
        code. An exception is raised as `locate` (located.locating) makes it, from the exception,
        the arguments and the start."""
        if call.direct is None or fallen:
            return None
        try:
            entry = jit(entry_function(fn, jitted, dropped))  # (compiled at its first call)
        except (OSError, S2SADError):  # (its module could not be written: calls go on as before)
            return None

        def checked(*args):
            nonlocal entry
            started = time.perf_counter()
            try:
                if entry is not None and not fallen:
                    try:
                        if not entry.overloads:  # (its machine code from the cache, if it is there: numba_load.py)
                            load_cached(entry, args)
                        finite, out = entry(*args)
                    except Exception as exc:
                        if not (isinstance(exc, refusals()) or raised_by_numba(exc) or _raised_by_cache(exc)):
                            raise  # (the code's own error)
                        entry = None  # (Numba refused or failed on the entry: from now on, as `direct`)
                    else:
                        return out if finite else not_finite(out)
                out = direct(*args)
                return copies(out[dropped:] if dropped else out)
            except BaseException as exc:
                raise locate(exc, args, started)
        return checked

    def call(*args):
        if fallen:
            return fallback(*args)
        ready = (ran or jitted is not None and jitted.signatures) and not _AHEAD  # (compiled: to the machine code)
        if not ready and tiers is not None and not _AHEAD:
            try:
                python = tiers.python_first(args, load)
            except Refused as exc:
                return fall_back(exc, args)
            if python:
                try:
                    return tiers.timed(meanwhile, args)
                except Switch:  # (the machine code is ready: the call starts again, compiled)
                    pass
        try:  # (Numba compiles at the first call for each argument layout, not only the very first)
            return run(args) if ready else first_run(args)
        except BaseException as exc:
            return failed(exc, args)

    def failed(exc: BaseException, args: tuple):
        """A call that raised: Numba refusing or failing to compile for these arguments (then
        the fallback), or the code's own error (raised)."""
        if isinstance(exc, PASSED_ON):
            raise exc
        if isinstance(exc, refusals()):
            return fall_back(exc, args)
        if not raised_by_numba(exc):  # (Numba failing while it compiles, not only refusing: a refusal too)
            raise exc
        return fall_back(Refused(failure(exc)), args)

    def first_run(args: tuple):
        """Load the machine code from the cache, or compile it (or, ahead of time, only that)."""
        dispatcher()
        if _AHEAD:
            compiled_for(jitted, args)
            raise CompiledAhead(origin)
        if load(args):
            return run(args)
        with notice.if_slow(f"Numba is compiling the derivative of {origin}; this happens once, as the "
                            f"machine code is cached in {cache_dir()}"):
            return run(args)

    def fall_back(exc: Exception, args: tuple):
        reason = explain(exc, source)
        if strict or _AHEAD:
            raise S2SADError(f"Numba cannot compile the derivative of {origin}: {reason}; use "
                             "backend='python' (or 'auto', which falls back)") from None
        warnings.warn(f"Numba cannot compile the derivative of {origin}: {reason}; running it as "
                      "plain Python", BackendFallbackWarning, stacklevel=_callers_level())
        fallen.append(True)
        return fallback(*args)

    call.jitted = None
    call.direct = None  # (`direct`, once the machine code has run; and whom to tell then)
    call.on_direct = []
    call.checked = make_checked  # (`checked`, made on demand: for derivatives called often)
    call.fallback = fallback
    call.tiers = tiers
    return call


PASSED_ON = (KeyboardInterrupt, SystemExit, GeneratorExit)  # never taken for Numba failing


def compiled_for(jitted, args: tuple) -> None:
    """Have `jitted` loaded from the cache or compiled for the types of `args`, without running
    it (the worker's compiles, and compiling ahead of time). Whatever goes wrong there is
    Numba's: a refusal is raised as it is, any other failure (a `RecursionError` on a huge
    function, an internal error) as `Refused`, so that the `auto` backend falls back to Python
    and `numba` raises an `S2SADError`. (A call compiles implicitly instead; `raised_by_numba`
    tells its compile failures from the errors of the code it runs.)"""
    import numba
    try:
        retrying_cache(jitted.compile, tuple(numba.typeof(a) for a in args))
    except refusals():
        raise
    except PASSED_ON:
        raise
    except BaseException as exc:
        raise Refused(failure(exc)) from exc


def failure(exc: BaseException) -> str:
    """Why Numba failed, for a warning or an error: the exception's kind and first line."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no detail"
    return f"Numba failed while compiling it ({type(exc).__name__}: {first})"


def raised_by_numba(exc: BaseException) -> bool:
    """Was `exc` raised while Numba typed or compiled a call's arguments (its traceback passes
    through the dispatcher's compiling methods), rather than by the machine code running? (The
    machine code raises from the dispatcher's C code, with at most a frame naming the line of
    Numba's implementation that raised, such as a NumPy function's shape check.)"""
    numba = sys.modules.get("numba")
    if numba is None:
        return False
    dispatcher = os.path.join(os.path.dirname(numba.__file__), "core", "dispatcher.py")
    return any(frame.f_code.co_filename == dispatcher for frame, _ in traceback.walk_tb(exc.__traceback__))


def _callers_level() -> int:
    """The `stacklevel` that makes a warning point at the user's call: the first frame, counting
    out from the one that warns, that is neither s2sad's nor a generated module's."""
    frame, level = sys._getframe(1), 1  # (the frame that calls warnings.warn is level 1)
    while frame is not None and (frame.f_globals.get("__name__", "").split(".")[0] in ("s2sad", python.PACKAGE)):
        frame, level = frame.f_back, level + 1
    return level


def _finite(out) -> bool:
    """Are the floats a compiled derivative returned all finite? (Arrays by a compiled loop,
    which costs less than NumPy's reductions for the small arrays most calls return.)"""
    all_finite = None
    for value in out if type(out) is tuple else (out,):
        kind = type(value)
        if kind is float:
            if value - value != 0.0:  # (inf - inf and nan - nan are nan)
                return False
        elif kind is np.ndarray and value.dtype.kind == "f":
            all_finite = all_finite or _all_finite()
            if not all_finite(value):
                return False
    return True


@functools.cache
def _all_finite() -> Callable:
    from .numba_runtime import all_finite
    return all_finite


def _load_finite_checks(jitted) -> None:
    """Have the check of `_finite` loaded from the cache for the arrays `jitted` returns, as
    `jitted` was (without Numba's start-up, which its first call would otherwise cost)."""
    for array in float_arrays_returned(jitted):
        load_signature(_all_finite(), (array,))


def retrying_cache(action: Callable, *args):
    """``action(*args)``: a call of a jitted function, or its `compile`, which loads the machine
    code from Numba's cache or compiles it. A cache file that cannot be read (truncated,
    overwritten) is dropped and the code compiled afresh; Numba itself writes cache files
    atomically, so concurrent processes never see half a file."""
    try:
        return action(*args)
    except Exception as exc:
        if not _raised_by_cache(exc):
            raise
    getattr(action, "__self__", action)._cache.flush()  # an empty index: the unreadable entries are forgotten
    return action(*args)


def _raised_by_cache(exc: Exception) -> bool:
    where = os.path.join("numba", "core", "caching.py")
    return any(frame.f_code.co_filename.endswith(where) for frame, _ in traceback.walk_tb(exc.__traceback__))


def explain(exc: Exception, source: str) -> str:
    """The first line of Numba's message and the generated statement it points at (or the
    reason the background worker gave)."""
    if isinstance(exc, Refused):
        return str(exc)
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    message = next((line for line in lines if not line.startswith(("Failed in", "During:", "File "))),
                   "unsupported construct")
    located = re.findall(r'File "[^"]*", line (\d+)', text)
    if located:
        number = int(located[-1])
        code = source.splitlines()[number - 1].strip() if number <= len(source.splitlines()) else ""
        return f"`{code}` (generated line {number}): {message}"
    return message
