"""Compiling in the background: the first calls of a derivative do not wait for Numba.

With the `auto` backend, a derivative whose machine code is not in the cache yet runs its first
calls as plain Python (the same derivative that the `python` backend runs, vectorised), while a
worker process compiles it with Numba and writes the machine code into the cache. Where the cache
has the machine code, the first calls run as Python too while a thread of this process imports
Numba and loads it (a few tenths of a second, Numba's own start-up). The first call after the
worker has finished (or the thread) loads that machine code, and from then on the derivative
runs compiled, as if it had waited. The worker is another process, so it compiles on another core
without holding this process's interpreter lock; there is one per process, compiling one
derivative after another, and it stops when this process has gone and its last compile is
cached (so a short script still leaves the machine code for its next run).

- `wait_compiled()` waits for the compiles under way (a benchmark calls it before timing).
- ``S2SAD_TIERED=0``, or ``backend="numba"``, makes the first call wait for Numba instead.
- A call run as Python that took longer than the compile has taken so far makes the next call
  wait for the compile rather than run slowly again.
- If the worker cannot be started or dies, the derivative is compiled in this process, as
  without tiers; if Numba refuses the code, the `auto` backend's fallback applies (a
  `BackendFallbackWarning`, then Python).

Only a derivative's first argument layout is compiled in the background; another layout met
later is compiled at its call, as Numba does.
"""

from __future__ import annotations

import ast
import functools
import itertools
import os
import pickle
import subprocess
import sys
import threading
import time
import warnings
from concurrent import futures
from concurrent.futures import Future
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np


def tiered() -> bool:
    """Do first calls of the `auto` backend run as Python while Numba compiles?"""
    return os.environ.get("S2SAD_TIERED", "1") != "0"


class Refused(Exception):
    """Numba refused the code the worker compiled; the message says why."""


class Switch(Exception):
    """Raised in a derivative running as Python once its machine code is ready: the call starts
    again, compiled."""


TIERS = "_s2sad_tiers"  # the name the Python form's module reads its `Tiers` by


def interruptible(source: str, lines: dict) -> tuple[str, dict]:
    """`source`, a generated module, with a test at the top of every loop's body that ends the
    call (`Switch`) when the machine code is ready: so that a long first call run as Python
    does not go on long after the compiled code could have run it. While the machine code is
    being loaded from the cache (not compiled), a call that has run as Python for `PATIENCE`
    waits for the load rather than share the interpreter with it. The loops come before the
    writes into the caller's arrays (`writebacks_last`), so a call ended there has changed
    nothing but the random streams, which `timed` puts back. `lines` (the user's statement
    behind each line of `source`) is returned for the new source."""
    from ..codegen import line_table, tag_lines  # (not imported by the worker, which needs none of codegen)
    tree = tag_lines(ast.parse(source), lines)
    test = ast.parse(f"if {TIERS}.ready or {TIERS}.loading and {TIERS}.waited():\n    raise {TIERS}.Switch").body[0]
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.While)):
            node.body.insert(0, test)
    text = ast.unparse(tree) + "\n"
    return text, line_table(tree, text)


PATIENCE = 0.1  # seconds a call runs as Python before it waits for a load from the cache


class Tiers:
    """The state of one compiled derivative on its way from Python to machine code."""

    Switch = Switch

    def __init__(self, fn: Callable):
        self.path, self.name = fn.__code__.co_filename, fn.__name__
        self.future: Future | None = None
        self.started = 0.0
        self.python_seconds = 0.0  # the longest call run as Python so far
        self.ready = False  # the machine code is in the cache (a call running as Python stops)
        self.loading = False  # a thread is loading it from the cache
        self.loaded = threading.Event()  # (set when that load has ended, loaded or not)
        self.call_started = 0.0  # when the call running as Python began
        self.pid = os.getpid()  # the process that started the compile
        self.pending: Callable[[], None] | None = None  # the load, until a call starts it

    def python_first(self, args: tuple, load: Callable[[tuple], bool]) -> bool:
        """Should this call run as Python? No once the machine code is loaded or cached (the
        call loads it) or should be compiled here; raises `Refused` when the worker found that
        Numba cannot compile the code. ``load(args)`` loads the machine code for `args` from
        the cache (importing Numba), if it is there."""
        if self.future is None or self.pid != os.getpid():  # (not started, or started by the process this one forked from)
            return self._start(args, load)
        if not self.future.done():
            if self.python_seconds <= time.perf_counter() - self.started:
                return True
            self.future.result()  # (a Python call is slower than the compile so far: wait)
        outcome, reason = self.future.result()
        if outcome == "refused":
            raise Refused(reason)
        return False  # compiled and cached: the call loads it (or, if the worker failed, compiles it)

    def timed(self, fn: Callable, args: tuple):
        """``fn(*args)``, timed; raises `Switch` if it stopped because the machine code is ready,
        with the random streams it drew from put back as they were."""
        saved = stream_states(args)
        start = self.call_started = time.perf_counter()
        try:
            return fn(*args)
        except Switch:
            for put_back in saved:
                put_back()
            raise
        finally:
            self.python_seconds = max(self.python_seconds, time.perf_counter() - start)
            if self.pending is not None:  # (the first call ended as Python: load for the next ones)
                _in_thread(self._take_pending())

    def waited(self) -> bool:
        """Has the call running as Python run for `PATIENCE` while the machine code is to be
        loaded? Then it loads it, or waits for the thread loading it, and says whether the
        machine code is ready."""
        if time.perf_counter() - self.call_started < PATIENCE:
            return False
        if self.pending is not None:
            self._take_pending()()
        self.loaded.wait()
        return self.ready

    def _start(self, args: tuple, load: Callable[[tuple], bool]) -> bool:
        """Begin: if the cache may have the machine code, load it, and have the worker compile
        it if it is not there after all; else have the worker compile it. The load (importing
        Numba takes a tenth of a second, which would share the interpreter with the call) waits
        until the first call, run as Python, has ended or has run for `PATIENCE`."""
        self.pid, self.ready, self.started = os.getpid(), False, time.perf_counter()
        described = tuple(_describe(a) for a in args)
        if self._maybe_cached():
            self.loading, self.loaded = True, threading.Event()
            self.future = _loading(Future())
            self.pending = functools.partial(self._load_or_compile, load, args, described)
        else:
            worker = _worker()
            if worker is None:
                self.future = _done(("failed", "no worker"))
                return False
            self.future = worker.submit(self.path, self.name, described)
        self.future.add_done_callback(lambda done: setattr(self, "ready", done.result()[0] == "ok"))
        return not self.future.done()  # (a job the worker could not take: compile here)

    def _take_pending(self) -> Callable[[], None]:
        job, self.pending = self.pending, None
        return job

    def _load_or_compile(self, load: Callable[[tuple], bool], args: tuple, described: tuple) -> None:
        """Load the machine code for `args` from the cache, or have the worker compile and cache
        it; the future's outcome: ("ok", None) once it is loaded or cached, ("refused", why) if
        Numba refused it, ("failed", why) otherwise (the call then compiles it itself)."""
        outcome = None
        try:
            if load(args):
                self.ready, outcome = True, ("ok", None)
        except Exception as exc:  # (the call that needs the machine code meets the error itself)
            outcome = ("failed", repr(exc))
        finally:
            self.loading = False
            self.loaded.set()
        try:
            worker = _worker() if outcome is None else None
            if worker is not None:
                worker.submit(self.path, self.name, described).add_done_callback(
                    lambda done: self.future.set_result(done.result()))
                return
        except Exception as exc:  # (as above)
            outcome = ("failed", repr(exc))
        self.future.set_result(outcome or ("failed", "no worker"))

    def _maybe_cached(self) -> bool:
        """May Numba have cached machine code of this module (for some argument types)? Looked
        up without importing Numba: its index files are ``__pycache__/<module>.<function>-….nbi``
        beside the module (with ``NUMBA_CACHE_DIR``, elsewhere: then Numba itself looks)."""
        if os.environ.get("NUMBA_CACHE_DIR"):
            return True
        path = Path(self.path)
        return any((path.parent / "__pycache__").glob(f"{path.stem}.*.nbi"))


def stream_states(args: tuple) -> list[Callable[[], None]]:
    """For each random stream a call with `args` may draw from (NumPy's global `RandomState`,
    with its cached second Gaussian, and the generators and `RandomState`s among the arguments),
    a function putting it back as it is now."""
    saved = []
    for stream in [np.random.mtrand._rand, *args]:
        if isinstance(stream, np.random.RandomState):
            saved.append(functools.partial(stream.set_state, stream.get_state()))
        elif isinstance(stream, np.random.Generator):
            saved.append(functools.partial(setattr, stream.bit_generator, "state", stream.bit_generator.state))
    return saved


def _describe(value):
    """What the worker needs to know of an argument to compile for its Numba type: an array's
    dtype, rank, memory layout and writability (pickling an array would copy it, and lose its
    layout); a tuple's items; any other value itself."""
    if isinstance(value, tuple):
        return tuple(_describe(v) for v in value)
    if not isinstance(value, np.ndarray):
        return value
    layout = "C" if value.flags.c_contiguous else "F" if value.flags.f_contiguous else "A"
    return _Array(value.dtype.str, value.ndim, layout, value.flags.writeable)


class _Array(NamedTuple):
    dtype: str
    ndim: int
    layout: str
    writeable: bool

    def example(self) -> np.ndarray:
        """A small array Numba types as the one described."""
        k = self.ndim
        if self.layout == "C":
            a = np.zeros((1,) * k, self.dtype)
        elif self.layout == "F":
            a = np.zeros((2,) * k, self.dtype, order="F")
        else:
            a = np.zeros((3,) * k, self.dtype)[(slice(None, None, 2),) * k]
        a.setflags(write=self.writeable)
        return a


def _example(described):
    if isinstance(described, _Array):
        return described.example()
    return tuple(_example(d) for d in described) if isinstance(described, tuple) else described


_LOADING: set[Future] = set()  # the loads (and compiles) that threads of this process wait for


_FORKS = threading.Lock()  # (held while the fork handlers below are registered)


def _forks_wait_for_numba() -> None:
    """Make a fork wait until no thread holds Numba's compiler lock. A process forked while a
    thread loads machine code would otherwise start with the lock held by a thread it does not
    have, and its first compile would wait forever (multiprocessing's default start method on
    Linux forks); the loads under way in the parent end, in the child, as failed. (Called by
    each loading thread before it loads, so that the calling thread never waits to import
    Numba; the handlers are registered once.)"""
    with _FORKS:
        _register_fork_handlers()


@functools.cache
def _register_fork_handlers() -> None:
    from numba.core.compiler_lock import global_compiler_lock as lock

    def in_child() -> None:
        lock.release()
        for future in list(_LOADING):  # (their threads are the parent's: the calls that wait compile here)
            if not future.done():
                future.set_result(("failed", "the process was forked while a thread of its parent loaded this"))
    os.register_at_fork(before=lock.acquire, after_in_parent=lock.release, after_in_child=in_child)


def _loading(future: Future) -> Future:
    """`future`, which `wait_compiled` waits for until it is done."""
    _LOADING.add(future)
    future.add_done_callback(_LOADING.discard)
    return future


def _in_thread(job: Callable[[], None]) -> None:
    """`job()` (a load: it imports Numba) run in a daemon thread."""
    def run() -> None:
        try:
            _forks_wait_for_numba()
        except Exception:  # (Numba cannot be imported: the load fails, and says so)
            pass
        job()
    threading.Thread(target=run, name="s2sad-load", daemon=True).start()


def wait_compiled(timeout: float | None = None) -> None:
    """Wait until the derivatives compiling in the background are compiled (their next calls
    run the machine code); `timeout` in seconds, or None to wait as long as it takes."""
    futures.wait(list(_LOADING), timeout)
    if _WORKER is not None and _WORKER.pid == os.getpid():
        _WORKER.wait(timeout)


def _done(outcome) -> Future:
    future: Future = Future()
    future.set_result(outcome)
    return future


class _Worker:
    """The worker process, fed jobs (a generated module's file, a function in it, argument types)
    through a pipe, and answering each with ("ok" | "refused" | "failed", reason)."""

    def __init__(self):
        self.pid = os.getpid()  # (a process forked from this one starts a worker of its own)
        package = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package, os.environ.get("PYTHONPATH")])))
        self.jobs: dict[int, Future] = {}
        self.ids = itertools.count()
        self.lock = threading.Lock()
        try:
            self.process = subprocess.Popen([sys.executable, "-c", "from s2sad.backend.background import main; main()"],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        except OSError:
            self.process = None
            return
        threading.Thread(target=self._answers, daemon=True, name="s2sad-compile-answers").start()

    def submit(self, path: str, name: str, described: tuple) -> Future:
        future: Future = Future()
        with self.lock:
            if self.process is None:
                future.set_result(("failed", "no worker"))
                return future
            job = next(self.ids)
            self.jobs[job] = future
            try:
                pickle.dump((job, path, name, described), self.process.stdin)
                self.process.stdin.flush()
            except (OSError, pickle.PicklingError) as exc:
                self.jobs.pop(job).set_result(("failed", repr(exc)))
        return future

    def wait(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.lock:
            pending = list(self.jobs.values())
        for future in pending:
            future.result(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def _answers(self) -> None:
        """Read the worker's answers until it ends; jobs it leaves unanswered have failed."""
        while True:
            try:
                job, outcome = pickle.load(self.process.stdout)
            except Exception:
                break
            with self.lock:
                future = self.jobs.pop(job, None)
            if future is not None:
                future.set_result(outcome)
        with self.lock:
            process, lost, self.jobs, self.process = self.process, list(self.jobs.values()), {}, None
        for future in lost:
            future.set_result(("failed", "the worker ended"))
        process.wait()  # (reaped: no zombie left behind)


_WORKER: _Worker | None = None
_STARTING = threading.Lock()
_STARTS = 3  # workers started at most in one process (one that keeps dying is not restarted forever)


def _worker() -> _Worker | None:
    """The worker, started if need be (None if it cannot be, or has died too often)."""
    global _WORKER, _STARTS
    with _STARTING:
        if (_WORKER is None or _WORKER.process is None or _WORKER.pid != os.getpid()) and _STARTS > 0:
            _STARTS -= 1
            _WORKER = _Worker()
        alive = _WORKER is not None and _WORKER.process is not None and _WORKER.pid == os.getpid()
        return _WORKER if alive else None


# --- the worker process -------------------------------------------------------------------------

def _compile(path: str, name: str, described: tuple) -> tuple[str, str | None]:
    from . import numba as numba_backend
    from . import python as python_backend
    try:
        jitted = numba_backend.jit(getattr(python_backend.load(Path(path)), name))
        examples = tuple(_example(d) for d in described)
    except Exception as exc:  # compiled again in the calling process, which reports it
        return "failed", f"{type(exc).__name__}: {exc}"
    try:  # (whatever fails here is Numba failing on the code, as a refusal: the caller falls back)
        numba_backend.compiled_for(jitted, examples)
    except numba_backend.refusals() as exc:
        return "refused", numba_backend.explain(exc, Path(path).read_text())
    return "ok", None


def main() -> None:
    """Answer jobs from stdin until it closes. The answers go to the original stdout; anything
    else written to stdout (Numba's messages) goes to stderr instead. Warnings are not shown:
    the process that asked decides what to say."""
    warnings.simplefilter("ignore")
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    jobs = sys.stdin.buffer
    while True:
        try:
            job, path, name, described = pickle.load(jobs)
        except EOFError:
            return
        outcome = _compile(path, name, described)
        try:
            pickle.dump((job, outcome), answers)
            answers.flush()
        except OSError:  # the calling process has gone; the machine code is cached all the same
            pass

