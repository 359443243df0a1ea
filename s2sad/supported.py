"""What s2sad differentiates: every function, operator and method a user can write, with the
primitive it becomes and the derivatives its rule gives. Generated from the registries, so it
cannot drift from them: ``s2sad rules`` prints it, and docs/supported.md is its markdown form.
"""

from __future__ import annotations

import builtins
import warnings
from dataclasses import dataclass

import numpy as np

from . import primitives as P
from .frontend import special
from .frontend.composed import COMPOSED
from .frontend.lower import ALLOCATE_LIKE, METHODS
from .rules import RULES

_OPERATORS = {"Add": "a + b", "Sub": "a - b", "Mult": "a * b", "Div": "a / b", "Pow": "a ** b",
              "MatMult": "a @ b", "FloorDiv": "a // b", "Mod": "a % b", "Lt": "a < b", "LtE": "a <= b",
              "Gt": "a > b", "GtE": "a >= b", "Eq": "a == b", "NotEq": "a != b", "BitAnd": "a & b",
              "BitOr": "a | b", "BitXor": "a ^ b"}
_SYNTAX = [("-a", P.neg), ("x[i], x[a:b], x[i, j], x[idx], x[mask]", P.getitem), ("x[i] = v, x[a:b] = v", P.setitem),
           ("x[i] += v, x[a:b] += v", P.index_add), ("x[i] -= v, x[a:b] -= v", P.index_sub), ("x.T", P.transpose),
           ("x.shape", P.shape), ("len(x)", P.shape), ("a if c else b", P.select), ("a and b", P.and_),
           ("a or b", P.or_), ("not a", P.not_), ("~a", P.invert),
           ("np.array([a, b]), np.stack([a, b]) of numbers", P.pack),
           ("xs.append(x) once per iteration of a for loop", P.list_rows),
           ("xs.append(x) in a while loop, or several times per iteration", P.list_grow),
           ("xs[i] in the loop appending to xs", P.list_position)]


@dataclass(frozen=True)
class Entry:
    name: str  # as written in user code: numpy.sin, a + b, x.sum()
    primitive: str  # its name, or "composed: ..." for a function lowered into several
    derivative: str  # "forward reverse", "zero" (differentiable nowhere, or constant), or "none"


def entries() -> list[Entry]:
    """One entry per way of writing a supported operation, sorted by name (scipy.special's too,
    when SciPy is installed)."""
    special.register()
    found = {name: prim for obj, prim in {**P.NUMPY, **ALLOCATE_LIKE}.items() for name in _spellings(obj)}
    found |= {name: way.primitives[0] for obj, way in COMPOSED.items() if len(way.primitives) == 1
              for name in _spellings(obj)}
    found |= {_OPERATORS[op]: prim for op, prim in {**P.BINOPS, **P.COMPARE}.items()}
    found |= {name: prim for name, prim in _SYNTAX}
    found |= {f"x.{name}()": prim for name, prim in METHODS.items()}
    found |= {f"numpy.random.Generator.{name}": prim for name, prim in P.GENERATOR_METHODS.items()}
    found["numpy.random.Generator.shuffle"] = P.rng_permutation  # (then a store of the rows it names)
    found |= {f"{_spellings(obj)[0]}(...)[{k}]": prim for obj, prims in P.TUPLES.items()
              for k, prim in enumerate(prims)}
    found |= {f"{_spellings(obj)[0]}(..., {name}={value!r})": P.TUPLES[obj][k]
              for obj, (name, value, k) in P.ALONE.items()}
    rows = [Entry(name, prim.name, _derivative(prim)) for name, prim in found.items()]
    rows += [Entry(name, "composed: " + ", ".join(p.name for p in way.primitives),
                   "zero" if way.boolean else _composed_derivative(way.primitives))
             for obj, way in COMPOSED.items() if len(way.primitives) > 1 for name in _spellings(obj)]
    return sorted(rows, key=lambda e: (not e.name.startswith("numpy"), e.name))


_MODULES = ((np, "numpy."), (np.random, "numpy.random."), (builtins, ""))


def _spellings(obj) -> list[str]:
    """Every name a user may call `obj` by: numpy.abs and numpy.absolute; min for builtins.min."""
    scipy_special = special.module()
    for module, prefix in _MODULES + (((scipy_special, "scipy.special."),) if scipy_special else ()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            names = [n for n in dir(module) if not n.startswith("_") and getattr(module, n, None) is obj]
        if names:
            return [prefix + n for n in names]
    return [P.numpy_name(obj)]


def _derivative(prim: P.Primitive) -> str:
    rule = RULES.get(prim)
    if prim.statement:  # no value, nothing to differentiate (np.random.seed)
        return "zero"
    if rule is None or rule.refused:
        return "none"
    return "zero" if rule.zero else "forward reverse"


def _composed_derivative(prims) -> str:
    """A function lowered into several primitives is differentiated where all of them are."""
    kinds = {_derivative(p) for p in prims}
    return "none" if "none" in kinds else "forward reverse" if "forward reverse" in kinds else "zero"


_MEANING = {"forward reverse": "forward reverse", "zero": "forward reverse (derivative 0)",
            "none": "not differentiable"}


def text() -> str:
    """One line per entry: ``numpy.sin   forward reverse``."""
    rows = entries()
    width = max(len(e.name) for e in rows) + 2
    return "".join(f"{e.name:<{width}}{_MEANING[e.derivative]}\n" for e in rows)


def markdown() -> str:
    rows = entries()
    lines = ["# Supported operations", "",
             "Generated by `s2sad rules --markdown` from the primitive and rule registries; a test "
             "checks that this file is current.", "",
             f"{len(rows)} ways of writing an operation. *forward reverse*: both modes have a "
             "derivative rule. *derivative 0*: the result is piecewise constant or not a number "
             "(comparisons, rounding, shapes, draws of standard variates); it may decide a branch "
             "but carries no derivative.", "",
             "| operation | primitive | derivatives |", "| --- | --- | --- |"]
    lines += [f"| `{e.name}` | {e.primitive} | {_MEANING[e.derivative]} |" for e in rows]
    return "\n".join(lines) + "\n"
