"""May-alias analysis: which array values may share memory, and which may be read-only views.

Views, in-place updates, values carried through loops and values flowing out of regions are
put in one class; two values in different classes never share memory.
"""

from __future__ import annotations

from .core import Atom, Block, Eqn, ForRange, If, Var, While, walk


class Aliases:
    """Which values may share memory (views, in-place updates, values copied by name)."""

    def __init__(self, block: Block):
        self.parent: dict[Var, Var] = {}
        self._members: dict[Var, list[Var]] | None = None
        self.block(block)

    def find(self, v: Var) -> Var:
        while v in self.parent:
            v = self.parent[v]
        return v

    def union(self, a: Atom, b: Atom) -> None:
        if isinstance(a, Var) and isinstance(b, Var) and self.find(a) is not self.find(b):
            self._members = None
            self.parent[self.find(a)] = self.find(b)

    def block(self, block: Block) -> None:
        for stmt in block.stmts:
            if isinstance(stmt, Eqn) and stmt.outs and stmt.ins and stmt.outs[0].type.is_array \
                    and (stmt.prim.aliases or stmt.prim.inplace or _readonly_view(stmt)):
                self.union(stmt.outs[0], stmt.ins[0])
            for inner in stmt.blocks():
                self.block(inner)
                for out, r in zip(stmt.outs, inner.results):
                    self.union(out, r)
            if isinstance(stmt, (ForRange, While)):
                self.loop(stmt)

    def loop(self, stmt) -> None:
        """A carried value is its initial value in the first iteration, the body's result after."""
        skip = 1 if isinstance(stmt, ForRange) else 0
        for region in stmt.blocks():
            for k, init in enumerate(stmt.init):
                self.union(region.params[skip + k], init)
                self.union(region.params[skip + k], stmt.body.results[k])

    def shared(self, v: Var, live) -> bool:
        """Is `v`, or anything that may alias it, in `live` (a set, or any container such as a
        liveness view)? Looks through whichever is smaller: `live`, or the values of v's class."""
        root = self.find(v)
        members = self.members(root)
        if isinstance(live, (set, frozenset)) and len(live) < len(members):
            return any(self.find(u) is root for u in live)
        return any(u in live for u in members)

    def members(self, root: Var) -> list[Var]:
        """The values of the class whose representative is `root` (the classes are final once
        the analysis is built)."""
        if self._members is None:
            self._members = {}
            for u in self.parent:
                self._members.setdefault(self.find(u), []).append(u)
        return [root, *self._members.get(root, ())]

    def stored_into(self, block: Block):
        """A test: may `block` store into (memory shared with) this value?"""
        roots = {self.find(s.ins[0]) for s in walk(block) if isinstance(s, Eqn) and s.prim.inplace}
        return lambda v: isinstance(v, Var) and self.find(v) in roots


def readonly_views(block: Block) -> set[Var]:
    """The values of `block` that may be read-only views: results of primitives that can give one
    (``np.diag`` of a matrix), views of those, and values carried or yielded from them. The result
    of a store is never one: codegen copies a read-only array before storing into it."""
    found: set[Var] = set()
    while True:
        before = len(found)
        _mark_readonly(block, found)
        if len(found) == before:
            return found


def _mark_readonly(block: Block, found: set) -> None:
    for stmt in block.stmts:
        if isinstance(stmt, Eqn):
            if stmt.outs and stmt.outs[0].type.is_array and not stmt.prim.inplace and (
                    _readonly_view(stmt) or stmt.prim.aliases and stmt.ins and stmt.ins[0] in found):
                found.add(stmt.outs[0])
            continue
        for inner in stmt.blocks():
            _mark_readonly(inner, found)
        if isinstance(stmt, If):
            found.update(out for out, a, b in zip(stmt.outs, stmt.then.results, stmt.orelse.results)
                         if a in found or b in found)
            continue
        skip = 1 if isinstance(stmt, ForRange) else 0
        for k, (init, out) in enumerate(zip(stmt.init, stmt.outs)):
            if init in found or stmt.body.results[k] in found:
                found.add(out)
                found.update(region.params[skip + k] for region in stmt.blocks())


def _readonly_view(eqn: Eqn) -> bool:
    return eqn.prim.readonly([a.type for a in eqn.ins])
