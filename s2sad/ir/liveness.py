"""Liveness: for every statement, the values still needed after it.

Codegen uses it to choose names and to decide whether an array can be updated in place; the
element-loop pass uses it for the same question. Temporaries that codegen prints inside the
expression using them (`inlined`) count as reading their operands where they are used.

The sets are not stored statement by statement (in a long function the values live across the
forward sweep would make that quadratic): one backward walk records, per block, the position
where each value is bound and the last position that reads it, and `after(stmt)` is a view
answering ``v in after(stmt)`` from those, asking the enclosing statement for values that are
only passing through the block.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from .core import Block, Eqn, ForRange, Function, If, Var, While, region_reads

_EMPTY: frozenset = frozenset()


def atoms_of(atoms) -> set[Var]:
    """The values among `atoms` (constants left out)."""
    return {a for a in atoms if isinstance(a, Var)}


class _Region:
    """What the walk learnt about one block."""

    __slots__ = ("bound", "last", "out", "dying")

    def __init__(self, out):
        self.bound: dict[Var, int] = {}   # value → position of the statement binding it
        self.last: dict[Var, int] = {}    # value → last position reading it (the results: len(stmts))
        self.out = out                    # the values live after the block (a LiveSet, or a set)
        self.dying: dict[int, list[Var]] = {}  # position → values read there for the last time

    def local(self, position: int) -> set[Var]:
        """The values this block reads after `position` (bound before it, or outside)."""
        return {v for v, last in self.last.items() if last > position and self.bound.get(v, -1) <= position}


class LiveSet:
    """The values live after one statement, as a view: ``plus ∪ (live − minus)``. Membership
    costs a few lookups per enclosing block; iteration builds the set."""

    __slots__ = ("region", "position", "plus", "minus")

    def __init__(self, region: _Region, position: int, plus: frozenset = _EMPTY, minus: frozenset = _EMPTY):
        self.region, self.position, self.plus, self.minus = region, position, plus, minus

    def __contains__(self, v) -> bool:
        view = self
        while isinstance(view, LiveSet):
            if v in view.plus:
                return True
            if v in view.minus:
                return False
            region, position = view.region, view.position
            bound = region.bound.get(v)
            if bound is not None:
                return bound <= position < region.last.get(v, -1)
            if region.last.get(v, -1) > position:
                return True
            view = region.out
        return v in view

    def __or__(self, other: Iterable) -> "LiveSet":
        return LiveSet(self.region, self.position, self.plus | frozenset(other), self.minus)

    def __sub__(self, other: Iterable) -> "LiveSet":
        other = frozenset(other)
        return LiveSet(self.region, self.position, self.plus - other, self.minus | other)

    def __iter__(self) -> Iterator[Var]:
        return iter(self.members())

    def members(self) -> set[Var]:
        """The values themselves (built from the outermost block in)."""
        chain, view = [], self
        while isinstance(view, LiveSet):
            chain.append(view)
            view = view.region.out
        values = set(view)
        for view in reversed(chain):
            region = view.region
            values = {v for v in values if v not in region.bound} | region.local(view.position)
            values = (values - view.minus) | view.plus
        return values


class Liveness:
    """For every statement, the values still needed after it (`after(stmt)`), and the values
    read for the last time by it (`dying(stmt)`)."""

    def __init__(self, fn: Function, inlined: dict[Var, Eqn] | None = None):
        self.where: dict[int, tuple[_Region, int]] = {}
        self.inlined = inlined or {}
        self._inlined_eqns = {id(eqn) for eqn in self.inlined.values()}  # (by identity: equations compare by value)
        self.block(fn.body, _EMPTY)

    def after(self, stmt) -> LiveSet:
        """The values still needed after `stmt`."""
        region, position = self.where[id(stmt)]
        return LiveSet(region, position)

    def dying(self, stmt) -> list[Var]:
        """The values that are live before `stmt` and not after it, as far as its block sees
        (a value bound by `stmt` and never read is not among them)."""
        region, position = self.where[id(stmt)]
        return region.dying.get(position, [])

    def expand(self, atoms) -> set[Var]:
        """The values read by `atoms` once inlined temporaries are replaced by their operands
        (walked without recursion: a long chain of temporaries is one deep expression)."""
        out: set[Var] = set()
        stack = list(atoms_of(atoms))
        while stack:
            a = stack.pop()
            if a in self.inlined:
                stack.extend(atoms_of(self.inlined[a].ins))
            else:
                out.add(a)
        return out

    def block(self, block: Block, live_after) -> set[Var]:
        """Walk `block` backwards; return the values it reads from outside that are not simply
        passing through (`live_after`, a LiveSet or a set, is what is live after it)."""
        region = _Region(live_after)
        live: set[Var] = set()
        end = len(block.stmts)
        self._read(region, live, self.expand(block.results), end)
        for position in range(end - 1, -1, -1):
            stmt = block.stmts[position]
            self.where[id(stmt)] = (region, position)
            for v in stmt.outs:
                region.bound[v] = position
            live.difference_update(stmt.outs)
            self._read(region, live, self.stmt_uses(stmt, LiveSet(region, position)), position)
        return live - set(block.params)

    @staticmethod
    def _read(region: _Region, live: set, uses: set, position: int) -> None:
        """Note the values `uses` read at `position` (walking backwards: the first time a value is
        met is its last read)."""
        for v in uses:
            if v in live:
                continue
            live.add(v)
            region.last[v] = position
            if v not in region.out:
                region.dying.setdefault(position, []).append(v)

    def stmt_uses(self, stmt, live_out: LiveSet) -> set[Var]:
        if id(stmt) in self._inlined_eqns:
            return set()
        uses = self.expand(stmt.ins)
        if isinstance(stmt, If):
            for branch in stmt.blocks():
                uses |= self.block(branch, live_out - stmt.outs)
        elif isinstance(stmt, (ForRange, While)):
            uses |= self.loop(stmt, live_out)
        return uses

    def loop(self, stmt, live_out: LiveSet) -> set[Var]:
        """Values read by a loop. Whatever the loop reads from outside stays live through every
        iteration; a while's condition parameters stay live until the body takes them over."""
        around = self.expand(region_reads(stmt))
        if isinstance(stmt, ForRange):  # keep the bounds' names readable through the loop, but not
            # an array an inlined bound reads (`range(x_bar.shape[1])`): the body may update it in place
            bounds = atoms_of([stmt.start, stmt.stop, stmt.step])
            around |= {v for v in bounds if v not in self.inlined}
            around |= {v for v in self.expand(bounds) if not v.type.is_array}
        after_body = (live_out - stmt.outs) | around
        body_in = self.block(stmt.body, after_body)
        if isinstance(stmt, While):
            self.block(stmt.cond, after_body | body_in | set(stmt.cond.params))
        return around
