"""The vector forward transform: k tangents at once, each value's in one array of lanes.

Every tangent has a leading axis of k lanes (a number's tangent is a vector of k, an array's of
shape s has shape (k, *s)); `f_vjvp(*args, *seeds)` takes the seeds so (k rows of directions
per argument) and returns the result tangents so, one forward sweep for k columns of a
Jacobian. The primal runs once.

Rules are those of the forward transform, unchanged. An equation whose rule has a lane form
(`s2sad/rules/lanes.py`: elementwise and linear operations, indexing, stores, matrix
products) applies it to the whole batch; any other is followed by a loop over the lanes that
applies its rule to each lane's tangents and stores the result in the output tangent's row::

    y = np.linalg.inv(A)
    y_dot = np.empty((k,) + y.shape)
    for lane in range(k):
        y_dot[lane] = -y @ A_dot[lane] @ y

Tapes of a reverse sweep and lists built in loops have no lane form, and a loop over the lanes
would copy a whole tape or list at every step: the transform raises `Unbatched` there (see
`UNBATCHED`), and `jacobian` and `hessian` run one tangent per sweep instead.

What the rule computes from primals alone (`y`, and `cos(x)` of a sine's rule) is moved before
the loop, which runs at least once: the generated function needs k >= 1. Control flow is the
forward transform's: an `if` yields batched tangents, loops carry them.
"""

from __future__ import annotations

from .. import primitives as P
from ..errors import Unbatched
from ..ir.builder import Builder, Sym, const
from ..ir.core import Atom, Block, Eqn, ForRange, Function, Var, label
from ..ir.types import F64, I64, Type
from ..rules.lanes import lane_rule, shape_of_batch
from .common import atom_of, require_rule, syms, tangent_name
from .forward import Sweep, _ndim


# Equations whose tangent grows or moves a whole array at each step of a loop (tapes, lists built
# by appending): a loop over the lanes would copy each lane's array at every step.
UNBATCHED = {P.record, P.record_grow, P.record_ragged, P.list_rows, P.list_grow}


def vector_forward(fn: Function, wrt: list[int], active: set[Var]) -> Function:
    """``f(*params) -> results`` becomes ``f_vjvp(*params, *seeds) -> (*results, *result_tangents)``,
    where a seed and a result tangent have one leading axis of lanes more than their value."""
    return Lanes(active).transform(fn, wrt, "_vjvp")


class Lanes(Sweep):
    """A forward sweep whose tangents carry `k` lanes (k read off the first seed's shape)."""

    def __init__(self, active: set[Var]):
        super().__init__(active)
        self.k: Atom | None = None
        self.twins: list[tuple[Var, Var]] = []  # (x, lane of x's tangent): the same shape

    def transform(self, fn: Function, wrt: list[int], suffix: str) -> Function:
        made = super().transform(fn, wrt, suffix)
        made.twins = self.twins  # (batched tangents have one axis more than their values)
        return made

    def tangent_type(self, var: Var, seed: bool = False) -> Type:
        return F64.with_ndim(_ndim(var) + 1)

    def start(self, tangents: list[Var], b: Builder) -> None:
        self.k = b.emit(P.getitem, [b.emit(P.shape, [tangents[0]]), 0], "lanes", spec=("i",))

    def zero(self, atom: Atom, b: Builder, hint: str) -> Atom:
        return b.emit(P.zeros, [shape_of_batch(self.k, atom, b)], hint)

    def eqn_tangent(self, eqn: Eqn, ins_tan: list, b: Builder) -> Atom | None:
        rule = require_rule(eqn)
        if eqn.prim in UNBATCHED:
            loc = eqn.loc
            raise Unbatched(f"{eqn.prim.name}: no vector forward mode", loc and loc.filename, loc and loc.lineno)
        batched = lane_rule(eqn.prim)
        if batched is not None:
            with b.at(eqn.loc):
                made = batched(syms(eqn.ins, b), [None if t is None else Sym(t, b) for t in ins_tan],
                               Sym(eqn.outs[0], b), Sym(self.k, b), **eqn.params)
            if made is not NotImplemented:
                return atom_of(made)
        return self.lane_loop(eqn, rule, ins_tan, b)

    def lane_loop(self, eqn: Eqn, rule, ins_tan: list, b: Builder) -> Atom | None:
        """The output's tangent from a loop over the lanes applying `rule` to each (None when
        the rule gives no tangent)."""
        out = eqn.outs[0]
        lane = Var("lane", I64)
        body = Builder(eqn.loc)
        views = [None if t is None else body.emit(P.getitem, [t, lane], f"{label(t)}_lane", spec=("i",))
                 for t in ins_tan]
        self.twins += [(x, v) for x, v in zip(eqn.ins, views)
                       if isinstance(v, Var) and isinstance(x, Var) and x.type.is_array and v.type == x.type]
        result = rule.jvp(syms(eqn.ins, body), [None if v is None else Sym(v, body) for v in views],
                          Sym(out, body), **eqn.params)
        r = atom_of(result)
        if r is None:
            return None
        if r in views and ins_tan[views.index(r)].type == self.tangent_type(out):
            return ins_tan[views.index(r)]  # (the rule passes an operand's tangent on: so does its batch)
        before, inside = _split_invariant(body.stmts, {lane} | {v for v in views if isinstance(v, Var)})
        b.stmts += before
        name = tangent_name(out)
        size = [self.k] if _ndim(out) == 0 else [self.k, out]
        buffer = b.emit(P.tape, size, name, dtype="f64", ndim=_ndim(out))
        carried, written = Var(name, buffer.type), Var(name, buffer.type)
        tail = Builder(eqn.loc)
        stored = tail.emit(P.lane_store, [carried, lane, r], name)
        b.append(ForRange([written], const(0), self.k, const(1), [buffer],
                          Block([lane, carried], inside + tail.stmts, [stored]), eqn.loc))
        return written


def _split_invariant(stmts: list, varying: set) -> tuple[list, list]:
    """`stmts` split into the equations that read nothing of `varying` (nor what they compute),
    pure and not in place, which may run once before a loop; and the others, in order."""
    varying = set(varying)
    before, inside = [], []
    for stmt in stmts:
        reads = {a for a in stmt.ins if isinstance(a, Var)}
        if isinstance(stmt, Eqn) and stmt.outs and stmt.prim.pure and not stmt.prim.inplace and not reads & varying \
                and not stmt.prim.statement:
            before.append(stmt)
        else:
            varying.update(stmt.outs)
            inside.append(stmt)
    return before, inside
