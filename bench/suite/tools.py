"""The tools compared, each able to say whether it is installed and to prepare, for a workload
and its NumPy arguments, three callables: the gradient (or the stacked VJPs, or the forward-mode
Jacobian, of a Jacobian workload), the tool's own primal, and a conversion of the gradient to
NumPy arrays.

Converting the arguments into the tool's arrays happens once, outside the timed calls; the timed
gradient call returns the tool's own arrays, computed (JAX's are waited for).
"""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from suite.workload import Workload, rebound

Grads = tuple[np.ndarray, ...]


@dataclass
class Prepared:
    gradient: Callable[[], Any]
    primal: Callable[[], Any]
    to_numpy: Callable[[Any], Grads]


def _is_float(value: Any) -> bool:
    return isinstance(value, float) or (isinstance(value, np.ndarray) and value.dtype.kind == "f")


def _converted(args: Sequence[Any], wrt: Sequence[int], to_array: Callable[[Any, bool], Any]) -> list:
    """The arguments as a tool takes them: float arrays, and the differentiated floats, through
    ``to_array(value, differentiated)``; other floats and integers (loop counts) as they are."""
    return [to_array(a, k in wrt) if _is_float(a) and (k in wrt or isinstance(a, np.ndarray)) else a
            for k, a in enumerate(args)]


def _fixed(fn: Callable, args: Sequence[Any]) -> tuple[Callable, list]:
    """`fn` with the arguments that are not floats (integers, flags, integer arrays: what the
    function counts, branches on or indexes with) bound to their values, and the arguments left
    to pass it, None in the places of the bound ones. A tracing tool (JAX, TensorFlow) then sees
    them as constants, as static arguments are."""
    fixed = {k: a for k, a in enumerate(args) if not _is_float(a)}

    def call(*passed):
        return fn(*(fixed[k] if k in fixed else a for k, a in enumerate(passed)))
    return call, [None if k in fixed else a for k, a in enumerate(args)]


def _unit_tangents(value: Any) -> list[np.ndarray]:
    """The basis of `value`'s space: one array of its shape per element, that element 1."""
    return [e.reshape(np.shape(value)) for e in np.eye(np.size(value))]


def _from_columns(columns: np.ndarray, wrt_shape: tuple) -> Grads:
    """The Jacobian, from its columns stacked on the first axis (one JVP per element of the
    differentiated argument): of shape ``result.shape + wrt_shape``."""
    last = np.moveaxis(columns, 0, -1)
    return (last.reshape(last.shape[:-1] + tuple(wrt_shape)),)


def _stack_rows(rows: Sequence[Sequence[Any]], convert: Callable[[Any], np.ndarray]) -> Grads:
    """Per differentiated argument, the VJP rows (one per seed) stacked on a new first axis."""
    return tuple(np.stack([convert(row[k]) for row in rows]) for k in range(len(rows[0])))


def _grads(values: Sequence[Any], convert: Callable[[Any], np.ndarray]) -> Grads:
    return tuple(convert(v) for v in values)


def _substitute(args: Sequence[Any], wrt: Sequence[int], values: Sequence[Any]) -> list:
    full = list(args)
    for k, v in zip(wrt, values):
        full[k] = v
    return full


class Tool:
    """A differentiation tool: its name in the table, the module to import, the distribution
    that provides it."""

    name: str = ""
    module: str = ""
    distribution: str = ""

    def version(self) -> str | None:
        """The installed version, or None when the tool cannot be imported."""
        try:
            module = importlib.import_module(self.module)
        except Exception:
            return None
        return getattr(module, "__version__", None) or importlib.metadata.version(self.distribution)

    def prepare(self, work: Workload, args: tuple) -> Prepared:
        raise NotImplementedError


class S2sad(Tool):
    """s2sad's reverse mode on the NumPy form, with the Numba backend (the benchmark's) or, for
    a quick test of the forms, the Python one."""

    name = module = distribution = "s2sad"

    def __init__(self, backend: str = "numba") -> None:
        self.backend = backend

    def prepare(self, work: Workload, args: tuple) -> Prepared:
        import s2sad

        if work.jacobian:
            jac = s2sad.jacobian(work.numpy, wrt=work.wrt[0], mode="forward", backend=self.backend)
            return Prepared(lambda: jac(*args), lambda: work.numpy(*args), lambda j: (np.asarray(j),))
        if work.seeds is None:
            grad = s2sad.grad(work.numpy, wrt=work.wrt, backend=self.backend)
            return Prepared(lambda: grad(*args), lambda: work.numpy(*args), lambda g: _grads(g, np.asarray))
        vjp = s2sad.vjp(work.numpy, wrt=work.wrt, backend=self.backend)
        seeds = work.seeds(args)
        return Prepared(lambda: [vjp(*args, s)[1] for s in seeds], lambda: work.numpy(*args),
                        lambda rows: _stack_rows(rows, np.asarray))


class Autograd(Tool):
    """HIPS autograd: the NumPy form run with ``autograd.numpy``, or the workload's own autograd
    form where the NumPy one stores into arrays."""

    name = module = distribution = "autograd"

    def prepare(self, work: Workload, args: tuple) -> Prepared:
        import autograd
        import autograd.numpy as anp

        form = work.forms.get("autograd")
        fn = form.make(anp) if form else rebound(work.numpy, anp)
        if work.jacobian:  # (forward mode, one column per call)
            make_jvp = autograd.make_jvp(fn, argnum=work.wrt[0])
            tangents = _unit_tangents(args[work.wrt[0]])

            def columns():
                jvp = make_jvp(*args)
                return [jvp(t)[1] for t in tangents]
            shape = np.shape(args[work.wrt[0]])
            return Prepared(columns, lambda: fn(*args), lambda c: _from_columns(np.stack(c), shape))
        if work.seeds is None:
            grad = autograd.grad(fn, argnum=work.wrt)
            return Prepared(lambda: grad(*args), lambda: fn(*args), lambda g: _grads(g, np.asarray))
        make_vjp = autograd.make_vjp(fn, argnum=work.wrt)
        seeds = work.seeds(args)

        def rows():
            vjp, _ = make_vjp(*args)
            return [vjp(s) for s in seeds]
        return Prepared(rows, lambda: fn(*args), lambda r: _stack_rows(r, np.asarray))


class Torch(Tool):
    """PyTorch eager mode in float64: ``torch.autograd.grad`` of the output, the primal under
    ``torch.no_grad``."""

    name = module = distribution = "torch"

    def prepare(self, work: Workload, args: tuple) -> Prepared:
        import torch

        fn = work.forms["torch"].make(torch)
        targs = _converted(args, work.wrt, lambda a, d: torch.tensor(a, dtype=torch.float64,
                                                                     requires_grad=d and not work.jacobian))
        sources = [targs[k] for k in work.wrt]
        convert = lambda t: t.detach().numpy()  # noqa: E731

        def primal():
            with torch.no_grad():
                return fn(*targs)
        if work.jacobian:
            jac = torch.func.jacfwd(fn, argnums=work.wrt[0])
            return Prepared(lambda: jac(*targs), primal, lambda j: (convert(j),))
        if work.seeds is None:
            return Prepared(lambda: torch.autograd.grad(fn(*targs), sources), primal, lambda g: _grads(g, convert))
        seeds = [torch.from_numpy(s) for s in work.seeds(args)]

        def rows():
            out = fn(*targs)
            return [torch.autograd.grad(out, sources, s, retain_graph=k < len(seeds) - 1) for k, s in enumerate(seeds)]
        return Prepared(rows, primal, lambda r: _stack_rows(r, convert))


class Jax(Tool):
    """JAX on the CPU in float64: ``jax.jit`` of ``jax.grad`` (or of ``jax.vjp`` for the
    Jacobian rows, of ``jax.jacfwd`` for a forward-mode Jacobian), the arguments that are not
    floats fixed (`_fixed`), results waited for with ``block_until_ready``."""

    name = module = distribution = "jax"

    def prepare(self, work: Workload, args: tuple) -> Prepared:
        import jax

        jax.config.update("jax_enable_x64", True)
        fn, passed = _fixed(work.forms["jax"].make(jax), args)
        jargs = _converted(passed, work.wrt, lambda a, _: jax.numpy.asarray(a))
        primal = jax.jit(fn)
        run_primal = lambda: jax.block_until_ready(primal(*jargs))  # noqa: E731
        if work.jacobian:
            jac = jax.jit(jax.jacfwd(fn, argnums=work.wrt[0]))
            return Prepared(lambda: jax.block_until_ready(jac(*jargs)), run_primal, lambda j: (np.asarray(j),))
        if work.seeds is None:
            grad = jax.jit(jax.grad(fn, argnums=work.wrt))
            return Prepared(lambda: jax.block_until_ready(grad(*jargs)), run_primal, lambda g: _grads(g, np.asarray))

        def vjp_rows(seeds, *a):
            _, pull = jax.vjp(lambda *w: fn(*_substitute(a, work.wrt, w)), *[a[k] for k in work.wrt])
            return [pull(s) for s in seeds]
        rows = jax.jit(vjp_rows)
        seeds = [jax.numpy.asarray(s) for s in work.seeds(args)]
        return Prepared(lambda: jax.block_until_ready(rows(seeds, *jargs)), run_primal,
                        lambda r: _stack_rows(r, np.asarray))


class TensorFlow(Tool):
    """TensorFlow (optional) in float64: ``tf.function`` around a ``GradientTape`` (for a
    forward-mode Jacobian, around ``tf.vectorized_map`` of a ``ForwardAccumulator`` over the
    columns), the arguments that are not floats fixed (`_fixed`)."""

    name, module, distribution = "tf", "tensorflow", "tensorflow-cpu"

    def prepare(self, work: Workload, args: tuple) -> Prepared:
        import tensorflow as tf

        fn, passed = _fixed(work.forms["tf"].make(tf), args)
        targs = _converted(passed, work.wrt, lambda a, _: tf.constant(a, tf.float64))
        seeds = [tf.constant(s) for s in work.seeds(args)] if work.seeds else None
        primal = tf.function(fn)
        convert = lambda t: t.numpy()  # noqa: E731
        if work.jacobian:
            k = work.wrt[0]
            tangents = tf.constant(np.stack(_unit_tangents(args[k])))

            @tf.function
            def columns(*a):
                def column(tangent):
                    with tf.autodiff.ForwardAccumulator(a[k], tangent) as accumulator:
                        value = fn(*a)
                    return accumulator.jvp(value)
                return tf.vectorized_map(column, tangents)
            return Prepared(lambda: columns(*targs), lambda: primal(*targs),
                            lambda c: _from_columns(c.numpy(), np.shape(args[k])))

        def dense(grads):  # (a gradient through tf.gather comes as IndexedSlices)
            return [tf.convert_to_tensor(g) for g in grads]

        @tf.function
        def gradient(*a):
            sources = [a[k] for k in work.wrt]
            with tf.GradientTape(persistent=seeds is not None) as tape:
                tape.watch(sources)
                out = fn(*a)
            if seeds is None:
                return dense(tape.gradient(out, sources))
            return [dense(tape.gradient(out, sources, output_gradients=s)) for s in seeds]
        to_numpy = (lambda g: _grads(g, convert)) if seeds is None else (lambda r: _stack_rows(r, convert))
        return Prepared(lambda: gradient(*targs), lambda: primal(*targs), to_numpy)


TOOLS: list[Tool] = [S2sad(), Autograd(), Torch(), Jax(), TensorFlow()]
PEERS: list[str] = [t.name for t in TOOLS if t.name != "s2sad"]


def select(names: str | None) -> list[Tool]:
    """The tools named in the comma-separated `names` (all when None), s2sad always first."""
    if names is None:
        return list(TOOLS)
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    unknown = wanted - {t.name for t in TOOLS}
    if unknown:
        raise ValueError(f"unknown tools {sorted(unknown)}; choose from {[t.name for t in TOOLS]}")
    return [t for t in TOOLS if t.name in wanted or t.name == "s2sad"]
