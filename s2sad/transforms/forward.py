"""The forward transform: tangents ride alongside primals, statement by statement.

    def f(x):                      def f_jvp(x, x_dot):
        y = sin(x)                     y = sin(x)
        return y * x       →           y_dot = cos(x) * x_dot
                                       z = y * x
                                       z_dot = y_dot * x + y * x_dot
                                       return z, z_dot

Control flow is unchanged: an `if` yields the tangents of the values it yields.

`Sweep` walks the statements; what a tangent is (its type, its zero, how an equation's rule
makes it) is its methods', which the vector forward transform (`vector_forward.py`, tangents
with a leading axis of lanes) overrides.
"""

from __future__ import annotations

from ..ir.builder import Builder, Sym
from ..ir.core import TEMP, Atom, Block, Eqn, ForRange, Function, If, Var, While
from ..ir.types import F64, Type
from .common import twins_of, atom_of, require_rule, syms, tangent_name, zeros_like


def forward(fn: Function, wrt: list[int], active: set[Var]) -> Function:
    """``f(*params) -> results`` becomes ``f_jvp(*params, *tangents) -> (*results, *result_tangents)``."""
    return Sweep(active).transform(fn, wrt, "_jvp")


def _ndim(var: Var) -> int:
    return var.type.ndim if var.type.is_array else 0


class Sweep:
    """One forward sweep over a function: `tan` maps each active value to its tangent."""

    def __init__(self, active: set[Var]):
        self.active = active
        self.tan: dict[Var, Atom] = {}

    # --- what a tangent is (overridden by the vector forward transform) ---------------------

    def tangent_type(self, var: Var, seed: bool = False) -> Type:
        """The type of `var`'s tangent (`seed`: of a parameter's, which may be an integer made a float)."""
        return F64.with_ndim(_ndim(var)) if seed else var.type

    def start(self, tangents: list[Var], b: Builder) -> None:
        """Emit what the sweep needs from the tangent parameters before the first statement."""

    def zero(self, atom: Atom, b: Builder, hint: str) -> Atom:
        """A zero tangent for `atom` (a float value)."""
        return zeros_like(atom, b, hint)

    def eqn_tangent(self, eqn: Eqn, ins_tan: list, b: Builder) -> Atom | None:
        """The tangent of `eqn`'s output given its operands' tangents (None where inactive)."""
        rule = require_rule(eqn)
        with b.at(eqn.loc):
            result = rule.jvp(syms(eqn.ins, b), [None if t is None else Sym(t, b) for t in ins_tan],
                              Sym(eqn.outs[0], b), **eqn.params)
        return atom_of(result)

    # --- the walk ----------------------------------------------------------------------------

    def transform(self, fn: Function, wrt: list[int], suffix: str) -> Function:
        tangents = [Var(tangent_name(fn.params[k]), self.tangent_type(fn.params[k], seed=True)) for k in wrt]
        self.tan.update({fn.params[k]: t for k, t in zip(wrt, tangents)})
        b = Builder()
        self.start(tangents, b)
        self.stmts(fn.body, b)
        out_tangents = [self.tangent_or_zero(r, b) for r in fn.results]
        body = b.block(fn.params + tangents, fn.results + out_tangents)
        return Function(f"{fn.name}{suffix}", body, fn.filename, fn.lineno,
                        fn.arg_names + [t.name for t in tangents], fn.namespaces, twins_of(self.tan))

    def tangent_or_zero(self, atom: Atom, b: Builder) -> Atom:
        if isinstance(atom, Var) and atom in self.tan:
            return self.tan[atom]
        if not atom.type.differentiable:
            return atom_of(0.0)
        return self.zero(atom, b, tangent_name(atom) if isinstance(atom, Var) else "zeros")

    def stmts(self, block: Block, b: Builder) -> None:
        for stmt in block.stmts:
            if isinstance(stmt, Eqn):
                self.eqn(stmt, b)
            elif isinstance(stmt, If):
                self.if_(stmt, b)
            else:
                self.loop(stmt, b)

    def eqn(self, eqn: Eqn, b: Builder) -> None:
        b.append(eqn)
        if not any(out in self.active for out in eqn.outs):
            return
        ins_tan = [self.tan[a] if isinstance(a, Var) and a in self.tan else None for a in eqn.ins]
        if all(t is None for t in ins_tan):
            return
        t = self.eqn_tangent(eqn, ins_tan, b)
        if t is not None:
            if isinstance(t, Var) and t.name == TEMP:
                t.name = tangent_name(eqn.outs[0])
            self.tan[eqn.outs[0]] = t

    def if_(self, stmt: If, b: Builder) -> None:
        branches = []
        for branch in stmt.blocks():
            inner = Builder(b.loc)
            self.stmts(branch, inner)
            branches.append((branch, inner))
        tangent_outs = []
        for k, out in enumerate(stmt.outs):
            if out not in self.active or not any(isinstance(br.results[k], Var) and br.results[k] in self.tan
                                                 for br, _ in branches):
                continue
            t = Var(tangent_name(out), self.tangent_type(out))
            tangent_outs.append(t)
            for branch, inner in branches:
                branch.results.append(self.tangent_or_zero(branch.results[k], inner))
            self.tan[out] = t
        for branch, inner in branches:
            branch.stmts = inner.stmts
        stmt.outs = stmt.outs + tangent_outs
        b.append(stmt)

    def loop(self, stmt: ForRange | While, b: Builder) -> None:
        """Carry the tangent of every active loop-carried value beside it."""
        regions = [stmt.cond, stmt.body] if isinstance(stmt, While) else [stmt.body]
        skip = 0 if isinstance(stmt, While) else 1  # a for body's first parameter is its index
        carried = [k for k, p in enumerate(stmt.body.params[skip:]) if p in self.active or stmt.outs[k] in self.active]
        stmt.init = stmt.init + [self.tangent_or_zero(stmt.init[k], b) for k in carried]
        for region in regions:
            params = region.params[skip:]
            dots = [Var(tangent_name(params[k]), self.tangent_type(params[k])) for k in carried]
            self.tan.update(zip((params[k] for k in carried), dots))
            region.params = region.params + dots
        inner = Builder(b.loc)
        self.stmts(stmt.body, inner)
        stmt.body.stmts = inner.stmts
        stmt.body.results = stmt.body.results + [self.tangent_or_zero(stmt.body.results[k], inner) for k in carried]
        if isinstance(stmt, While):
            cond = Builder(b.loc)
            Sweep(set()).stmts(stmt.cond, cond)
            stmt.cond.stmts = cond.stmts
        outs = [Var(tangent_name(stmt.outs[k]), self.tangent_type(stmt.outs[k])) for k in carried]
        self.tan.update(zip((stmt.outs[k] for k in carried), outs))
        stmt.outs = stmt.outs + outs
        b.append(stmt)
