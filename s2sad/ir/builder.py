"""Building IR: `Builder.emit` appends one equation and returns its result.

Derivative rules use the `Sym` wrapper, which overloads arithmetic so a rule reads like the
math (``g * cos(x)``). The builder simplifies as it goes (``x * 1`` is ``x``, ``0 + x`` is ``x``,
constants fold), so rules need not special-case zeros and ones.
"""

from __future__ import annotations

import numbers
from contextlib import contextmanager
from typing import Any

from .. import primitives as P
from .core import TEMP, Atom, Block, Const, Eqn, ForRange, Loc, Stmt, Var, While, clone
from .types import BOOL, F64, I64, NONE, Type, tuple_of


def const(value: Any) -> Const:
    """A literal operand with its IR type."""
    if isinstance(value, Const):
        return value
    if value is None:
        return Const(None, NONE)
    if isinstance(value, bool):
        return Const(value, BOOL)
    if isinstance(value, numbers.Integral):
        return Const(int(value), I64)
    if isinstance(value, numbers.Real):
        return Const(float(value), F64)
    if isinstance(value, tuple) and all(isinstance(v, numbers.Integral) for v in value):
        return Const(tuple(int(v) for v in value), tuple_of(len(value)))
    raise TypeError(f"cannot make an IR constant from {value!r}")


def loop_runs(loop: ForRange | While, builder: "Builder") -> Atom | None:
    """A test, emitted into `builder`, that `loop` runs at least once: a constant when the
    bounds are, a ``while`` loop's condition evaluated once more on the initial values (it
    raises where the loop itself would), or None when that condition has effects."""
    if isinstance(loop, While):
        if not all(isinstance(s, Eqn) and s.prim.pure and not s.prim.inplace for s in loop.cond.stmts):
            return None
        mapping = dict(zip(loop.cond.params, loop.init))
        builder.stmts += [clone(s, mapping) for s in loop.cond.stmts]
        test = loop.cond.results[0]
        return mapping.get(test, test)
    bounds = (loop.start, loop.stop, loop.step)
    if all(isinstance(a, Const) for a in bounds):
        return const(len(range(*(a.value for a in bounds))) > 0)
    if isinstance(loop.step, Const):
        return builder.emit(P.lt if loop.step.value > 0 else P.gt, [loop.start, loop.stop])
    return builder.emit(P.gt, [builder.emit(P.trip_count, list(bounds), "n"), 0])


def placeholder(t: Type, builder: "Builder") -> Atom:
    """A value of type `t` standing where none is computed (a branch not taken, a loop never
    entered), never read: a zero, a tuple of zeros, or an empty array of `t`'s element kind
    and rank (emitted into `builder`)."""
    if t.kind == "none":
        return const(None)
    if t.is_scalar:
        return const({"f64": 0.0, "i64": 0, "bool": False}[t.kind])
    if t.kind == "tuple":
        return const((0,) * t.ndim)
    if t.is_array:
        return builder.emit(P.placeholder, [], TEMP, ndim=t.ndim, dtype=t.dtype)
    raise TypeError(f"no placeholder for a value of type {t}")


def is_const(atom: Atom, value: float | None = None) -> bool:
    if not isinstance(atom, Const):
        return False
    return value is None or (atom.type.is_scalar and atom.value == value)


class Builder:
    """Collects statements; `loc` is attached to every equation emitted."""

    def __init__(self, loc: Loc | None = None):
        self.stmts: list[Stmt] = []
        self.loc = loc

    def emit(self, prim: P.Primitive, ins: list, hint: str = TEMP, **params) -> Atom:
        ins = [a if isinstance(a, (Var, Const)) else const(a) for a in ins]
        out_type = prim.out_type([a.type for a in ins], params)
        if prim.statement:
            self.stmts.append(Eqn([], prim, ins, params, self.loc))
            return None
        folded = simplify_eqn(prim, ins, params, out_type)
        if folded is not None:
            return folded
        out = Var(hint, out_type)
        self.stmts.append(Eqn([out], prim, ins, params, self.loc))
        return out

    def emit_multi(self, prim: P.Primitive, ins: list, out_types: list[Type], hints: list[str],
                   **params) -> list[Var]:
        outs = [Var(h, t) for h, t in zip(hints, out_types)]
        self.stmts.append(Eqn(outs, prim, list(ins), params, self.loc))
        return outs

    def append(self, stmt: Stmt) -> None:
        self.stmts.append(stmt)

    def comment(self, text: str) -> None:
        self.stmts.append(Eqn([], P.comment, [], {"text": text}, None))

    @contextmanager
    def at(self, loc: Loc | None):
        """Emit with `loc` attached for the duration of the block."""
        saved, self.loc = self.loc, loc if loc is not None else self.loc
        try:
            yield self
        finally:
            self.loc = saved

    def block(self, params=(), results=()) -> Block:
        return Block(list(params), self.stmts, list(results))


# --- algebraic simplification, shared by the builder and the simplify pass ----------------

def _same_type(atom: Atom, out_type: Type) -> bool:
    return atom.type == out_type


def simplify_eqn(prim: P.Primitive, ins: list[Atom], params: dict, out_type: Type) -> Atom | None:
    """An atom equal to ``prim(*ins)`` without computing anything, or None.

    Folds constants (``2.0 * 3.0`` → ``6.0``) and removes identities: ``x + 0``, ``x - 0``,
    ``x * 1``, ``x / 1``, ``x ** 1``, ``-(-x)`` → ``x`` when the type is unchanged, and
    ``x * 0`` → ``0.0`` for scalars.
    """
    if prim.impl is not None and prim.pure and ins and all(isinstance(a, Const) for a in ins) \
            and out_type.is_scalar and all(a.type.is_scalar for a in ins):
        try:
            value = prim.impl(*[a.value for a in ins], **params)
        except (ArithmeticError, ValueError):
            return None
        return const(_as_python(value, out_type))
    if prim is P.copy and ins[0].type.is_scalar:
        return ins[0]  # numbers are values already
    if len(ins) != 2 or prim not in _IDENTITIES:
        return None
    a, b = ins
    return _IDENTITIES[prim](a, b, out_type)


def _as_python(value, out_type: Type):
    return {"f64": float, "i64": int, "bool": bool}[out_type.kind](value)


def _keep(atom: Atom, out_type: Type) -> Atom | None:
    return atom if _same_type(atom, out_type) else None


def _add_identity(a, b, t):
    if is_const(b, 0):
        return _keep(a, t)
    if is_const(a, 0):
        return _keep(b, t)
    return None


def _mul_identity(a, b, t):
    if is_const(b, 1):
        return _keep(a, t)
    if is_const(a, 1):
        return _keep(b, t)
    if (is_const(a, 0) or is_const(b, 0)) and t.is_scalar:
        return const(_as_python(0, t))
    return None


_IDENTITIES = {
    P.add: _add_identity,
    P.sub: lambda a, b, t: _keep(a, t) if is_const(b, 0) else None,
    P.mul: _mul_identity,
    P.div: lambda a, b, t: _keep(a, t) if is_const(b, 1) else None,
    P.floordiv: lambda a, b, t: _keep(a, t) if is_const(b, 1) and t.kind == "i64" else None,
    P.pow: lambda a, b, t: _keep(a, t) if is_const(b, 1) else None,
}


# --- symbolic values for rules ----------------------------------------------------------

class Sym:
    """An IR value inside a derivative rule; arithmetic on it emits equations."""

    __slots__ = ("atom", "b")

    def __init__(self, atom: Atom, builder: Builder):
        self.atom = atom
        self.b = builder

    @property
    def type(self) -> Type:
        return self.atom.type

    @property
    def ndim(self) -> int:
        return self.atom.type.ndim if self.atom.type.is_array else 0

    def _op(self, prim, *others, **params) -> "Sym":
        ins = [self.atom] + [o.atom if isinstance(o, Sym) else const(o) for o in others]
        return Sym(self.b.emit(prim, ins, **params), self.b)

    def _rop(self, prim, other) -> "Sym":
        return Sym(self.b.emit(prim, [const(other), self.atom]), self.b)

    def __add__(self, o): return self._op(P.add, o)
    def __radd__(self, o): return self._rop(P.add, o)
    def __sub__(self, o): return self._op(P.sub, o)
    def __rsub__(self, o): return self._rop(P.sub, o)
    def __mul__(self, o): return self._op(P.mul, o)
    def __rmul__(self, o): return self._rop(P.mul, o)
    def __truediv__(self, o): return self._op(P.div, o)
    def __rtruediv__(self, o): return self._rop(P.div, o)
    def __pow__(self, o): return self._op(P.pow, o)
    def __matmul__(self, o): return self._op(P.matmul, o)
    def __neg__(self): return self._op(P.neg)
    def __ge__(self, o): return self._op(P.ge, o)
    def __gt__(self, o): return self._op(P.gt, o)
    def __le__(self, o): return self._op(P.le, o)
    def __lt__(self, o): return self._op(P.lt, o)

    @property
    def T(self) -> "Sym":
        return self._op(P.transpose) if self.ndim >= 2 else self

    def __repr__(self) -> str:
        return f"Sym({self.atom!r})"


def apply(prim: P.Primitive, *args, **params) -> Sym:
    """``prim(*args)`` on `Sym`s and constants (at least one argument must be a `Sym`)."""
    first = next(a for a in args if isinstance(a, Sym))
    ins = [a.atom if isinstance(a, Sym) else const(a) for a in args]
    return Sym(first.b.emit(prim, ins, **params), first.b)
