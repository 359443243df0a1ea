"""Liveness: for every statement, the values still needed after it.

Codegen uses it to choose names and to decide whether an array can be updated in place; the
element-loop pass uses it for the same question. Temporaries that codegen prints inside the
expression using them (`inlined`) count as reading their operands where they are used.
"""

from __future__ import annotations

from .core import Block, Eqn, ForRange, Function, If, Var, While, region_reads


def atoms_of(atoms) -> set[Var]:
    """The values among `atoms` (constants left out)."""
    return {a for a in atoms if isinstance(a, Var)}


class Liveness:
    """For every statement, the values still needed after it (`after[id(stmt)]`)."""

    def __init__(self, fn: Function, inlined: dict[Var, Eqn] | None = None):
        self.after: dict[int, set[Var]] = {}
        self.inlined = inlined or {}
        self.block(fn.body, set())

    def expand(self, atoms) -> set[Var]:
        """The values read by `atoms` once inlined temporaries are replaced by their operands."""
        out: set[Var] = set()
        for a in atoms_of(atoms):
            out |= self.expand(self.inlined[a].ins) if a in self.inlined else {a}
        return out

    def block(self, block: Block, live_after: set[Var]) -> set[Var]:
        live = set(live_after) | self.expand(block.results)
        for stmt in reversed(block.stmts):
            self.after[id(stmt)] = set(live)
            live = (live - set(stmt.outs)) | self.stmt_uses(stmt, live)
        return live - set(block.params)

    def stmt_uses(self, stmt, live_out: set[Var]) -> set[Var]:
        if stmt in self.inlined.values():
            return set()
        uses = self.expand(stmt.ins)
        if isinstance(stmt, If):
            for branch in stmt.blocks():
                uses |= self.block(branch, live_out - set(stmt.outs))
        elif isinstance(stmt, (ForRange, While)):
            uses |= self.loop(stmt, live_out)
        return uses

    def loop(self, stmt, live_out: set[Var]) -> set[Var]:
        """Values read by a loop. Whatever the loop reads from outside stays live through every
        iteration; a while's condition parameters stay live until the body takes them over."""
        around = self.expand(region_reads(stmt))
        if isinstance(stmt, ForRange):  # keep the bounds' names readable through the loop, but not
            # an array an inlined bound reads (`range(x_bar.shape[1])`): the body may update it in place
            bounds = atoms_of([stmt.start, stmt.stop, stmt.step])
            around |= bounds - set(self.inlined) | {v for v in self.expand(bounds) if not v.type.is_array}
        after_body = (live_out - set(stmt.outs)) | around
        body_in = self.block(stmt.body, after_body)
        if isinstance(stmt, While):
            self.block(stmt.cond, after_body | body_in | set(stmt.cond.params))
        return around
