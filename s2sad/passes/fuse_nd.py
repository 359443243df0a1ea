"""Element loops over arrays of three or more axes, for compiled code: an elementwise expression
that reads through a broadcast to a batch's shape (``lanes_full``), an added axis
(``np.expand_dims``), a transpose or a gather along one axis (``x[:, :, idx]``) is computed by
nested loops into one new array::

    g = V_dot[:, :, idx]                    out = np.empty((k, idx.shape[0], V_dot.shape[1]))
    g = np.transpose(g, (0, 2, 1))    →     for a in range(k):
    out = lanes_full(-g, like)                  for b in range(idx.shape[0]):
                                                    for c in range(V_dot.shape[1]):
                                                        out[a, b, c] = -V_dot[a, c, idx[b]]

These are the shapes of the vector forward mode (`transforms/vector_forward.py`), whose every
tangent is a batch (k, *value.shape), and whose rules spread and broadcast batches where the
shapes of the primal values are not known. Numba fuses an elementwise array expression into one
loop by itself, but each of those operations ends one: ``positions_dot + lanes_full(moved_dot *
w, like)`` allocated two arrays of 26 × 3 × 544 numbers in every step of a skinning loop, and a
gather followed by a transpose and a negation wrote the gathered array, then read it with
strides. (Vectors and matrices have their own element loops: passes/fuse.py.)

A tree is the operation making the result (its root, an array of float64 of three or more axes)
and the elementwise operations (fuse's `FUSED`) it alone reads, in the same block, at every loop
index. Views, broadcasts and gathers are read through wherever they were made: a transpose
permutes the indices, ``lanes_full`` reads its operand as NumPy broadcasts (aligned at the last
axis), ``np.expand_dims`` reads its operand without the added axis (whose length 1 spreads), and
a gather reads its index array at the loop index of its axis and its source at that element.
What is read at fewer than all loop indices, or at a gathered index, is an array computed before
the loops (a view, or Numba's own array), so that nothing is computed more often than in
NumPy's form. A tree without a view, broadcast or gather is left to Numba.

Every operand's length on each axis must be the loops' on that axis (the first length read for
it: a ``lanes_full``'s shape, or an operand's): tested before the loops, which run only when
all agree, NumPy's form being kept for any other case (one of length 1 that broadcasts, say).
A gather's index array is one ``checked_index`` made for an axis of length n (its entries are
then in [0, n)), and the array read at its entries is tested to have length n there, since the
loops read without bounds checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import primitives as P
from ..ir.builder import Builder, const
from ..ir.core import Atom, Block, Const, Eqn, ForRange, Function, If, Var, clone, use_counts, walk
from ..ir.types import I64
from .dce import dce
from .fuse import FUSED, _all, _dim

_MAPS = {P.lanes_full, P.expand_dims, P.transpose, P.getitem}  # (reads through which the loops index)


def fuse_arrays(fn: Function) -> Function:
    """`fn` with the nested element loops above (edited in place, then cleaned of what they
    replace)."""
    uses = use_counts(fn.body)
    defined = {s.outs[0]: s for s in walk(fn.body) if isinstance(s, Eqn) and len(s.outs) == 1}
    for block in [fn.body] + [b for stmt in walk(fn.body) for b in stmt.blocks()]:
        _fuse_block(block, defined, uses)
    return dce(fn)


# The indices an array is read at: a tuple of, per axis, ("axis", m), the loop index of axis m, or
# ("take", idx, inner, n), the element at the index `inner` of the index array idx, which
# `checked_index` made for an axis of length n.


@dataclass
class _Tree:
    rank: int
    defined: dict  # value → the equation binding it (alone), anywhere in the function
    local: set  # the identities of the equations of the root's block
    uses: dict
    nodes: dict = field(default_factory=dict)  # id → an operation the tree replaces (in the block, read once)
    mapped: dict = field(default_factory=dict)  # id → an operation computed or read through
    lengths: list = field(default_factory=list)  # (array, axis, index): the array's length on that axis
    checks: list = field(default_factory=list)  # (array, axis, n): read at a gather's index checked for n

    def plan(self, atom: Atom, at: tuple) -> None:
        """Take `atom`, read at the indices `at`, into the tree: read through it when it is a
        view, a broadcast or a gather (its operand read instead, wherever it was made), computed
        element by element when it is an operation of the block read here alone at every loop
        index, else read as an operand."""
        eqn = self.defined.get(atom)
        whole = len(at) == self.rank and all(i[0] == "axis" for i in at)
        if eqn is not None and eqn.prim in _MAPS and self.fusible(eqn):
            self.take(eqn, at)
        elif eqn is not None and whole and self.uses.get(atom) == 1 and id(eqn) in self.local and self.fusible(eqn):
            self.take(eqn, at)
        else:
            for d, index in enumerate(at):
                (self.lengths if index[0] == "axis" else self.checks).append((atom, d, index))

    def take(self, eqn: Eqn, at: tuple) -> None:
        if id(eqn) in self.local and self.uses.get(eqn.outs[0]) == 1:
            self.nodes[id(eqn)] = eqn
        self.mapped[id(eqn)] = eqn
        if eqn.prim is P.lanes_full:
            self.lengths += [(eqn.ins[1], j, index) for j, index in enumerate(at[1:]) if index[0] == "axis"]
        elif eqn.prim is P.getitem:
            axis, index, _ = _gathered(eqn, self.defined)
            self.plan(index, (at[axis],))
        for a, read in self._reads(eqn, at):
            if read is not None:
                self.plan(a, read)

    def fusible(self, eqn: Eqn) -> bool:
        if eqn.prim is P.getitem:
            return _gathered(eqn, self.defined) is not None
        return (eqn.prim in FUSED or eqn.prim in _MAPS) and _float(eqn.outs[0]) \
            and all(a.type.ndim for a in eqn.ins[:1 if eqn.prim in _MAPS else None] if a.type.is_array)

    def _reads(self, eqn: Eqn, at: tuple) -> list[tuple[Atom, tuple | None]]:
        """Each operand of `eqn` read at `at`, with the indices it is read at (None: a number, or
        what is not read element by element)."""
        if eqn.prim is P.lanes_full:
            return [(eqn.ins[0], at), (eqn.ins[1], None)]
        if eqn.prim is P.expand_dims:
            axis = eqn.params["axis"] % len(at)
            return [(eqn.ins[0], at[:axis] + at[axis + 1:])]
        if eqn.prim is P.transpose:
            axes = eqn.params.get("axes") or tuple(reversed(range(len(at))))
            inner: list = [None] * len(at)
            for k, a in enumerate(axes):
                inner[a % len(at)] = at[k]
            return [(eqn.ins[0], tuple(inner))]
        if eqn.prim is P.getitem:
            axis, index, n = _gathered(eqn, self.defined)
            return [(eqn.ins[0], at[:axis] + (("take", index, at[axis], n),) + at[axis + 1:])]
        return [(a, at[len(at) - a.type.ndim:] if a.type.is_array else None) for a in eqn.ins]

    def value(self, atom: Atom, at: tuple | None, body: Builder, indices: dict, reads: dict) -> Atom:
        """The element of `atom` at `at`, computed in the loops' body (operands read once)."""
        eqn = self.defined.get(atom)
        if at is None:
            return atom
        if eqn is None or id(eqn) not in self.mapped:
            if (atom, at) not in reads:
                reads[atom, at] = body.emit(P.getitem, [atom, *(self.index(i, body, indices, reads) for i in at)],
                                            spec=("i",) * len(at))
            return reads[atom, at]
        operands = [self.value(a, read, body, indices, reads) for a, read in self._reads(eqn, at)]
        if eqn.prim in _MAPS:
            return operands[0]
        return body.emit(eqn.prim, operands, eqn.outs[0].name, **eqn.params)

    def index(self, index: tuple, body: Builder, indices: dict, reads: dict) -> Atom:
        if index[0] == "axis":
            return indices[index[1]]
        return self.value(index[1], (index[2],), body, indices, reads)


def _float(v: Atom) -> bool:
    return v.type.is_array and v.type.dtype == "f64"


def _gathered(eqn: Eqn, defined: dict) -> tuple[int, Atom, Atom] | None:
    """For ``x[:, …, idx, …, :]`` (full slices but on one axis, indexed by a vector of integers
    that ``checked_index`` made for an axis of length n): (the axis, idx, n); else None."""
    spec, operands = eqn.params["spec"], eqn.ins[1:]
    if not _float(eqn.outs[0]) or eqn.params.get("scatter") or spec.count("i") != 1 \
            or set(spec) != {"s", "i"} or len(spec) != eqn.ins[0].type.ndim:
        return None
    position, axis, index = 0, None, None
    for k, kind in enumerate(spec):
        if kind == "i":
            axis, index = k, operands[position]
            position += 1
        elif all(isinstance(a, Const) and a.value is None for a in operands[position:position + 3]):
            position += 3
        else:
            return None
    made = defined.get(index)
    if not (index.type.is_array and index.type.ndim == 1 and isinstance(made, Eqn) and made.prim is P.checked_index):
        return None
    return axis, index, made.ins[1]


def _fuse_block(block: Block, defined: dict, uses: dict) -> None:
    local = {id(s) for s in block.stmts}
    order = {id(s): k for k, s in enumerate(block.stmts)}
    taken: set[int] = set()  # the operations already in a later tree
    fused: dict[int, list] = {}  # id(root) → what replaces it
    for stmt in reversed(block.stmts):
        if id(stmt) in taken or not isinstance(stmt, Eqn) or len(stmt.outs) != 1 \
                or not _float(stmt.outs[0]) or stmt.outs[0].type.ndim < 3:
            continue
        tree = _Tree(stmt.outs[0].type.ndim, defined, local, uses)
        if not tree.fusible(stmt):
            continue
        tree.nodes[id(stmt)] = stmt  # (the root, replaced)
        tree.take(stmt, tuple(("axis", m) for m in range(tree.rank)))
        replacement = _loops(stmt, tree, order) if _worth(tree) else None
        if replacement is not None:
            fused[id(stmt)] = replacement
            taken |= set(tree.nodes)
    if fused:
        block.stmts[:] = [s for stmt in block.stmts for s in fused.get(id(stmt), [stmt])]


def _worth(tree: _Tree) -> bool:
    """Does the tree join operations Numba would compute one array each for? (One operation, or
    elementwise operations alone, Numba fuses as well.)"""
    return len(tree.mapped) > 1 and any(e.prim in _MAPS for e in tree.mapped.values())


def _loops(root: Eqn, tree: _Tree, order: dict) -> list | None:
    """The statements replacing `root`: the loops under the tests, NumPy's form otherwise; None
    when an axis has no length to loop over (only broadcast operands)."""
    b = Builder(root.loc)
    extents: dict[int, Atom] = {}
    tests = []
    for source, d, index in dict.fromkeys(tree.lengths):  # (an operand read twice is tested once)
        length = _dim(b, source, d)
        if index[1] in extents:
            tests.append((length, extents[index[1]]))
        else:
            extents[index[1]] = length
    if len(extents) != tree.rank:
        return None
    tests += [(_dim(b, x, axis), index[3]) for x, axis, index in dict.fromkeys(tree.checks)]
    made = Builder(root.loc)
    start = made.emit(P.empty, [made.emit(P.make_tuple, [extents[m] for m in range(tree.rank)])], root.outs[0].name)
    loop = _nest(root, tree, start, [extents[m] for m in range(tree.rank)])
    if not tests:
        loop.outs = root.outs
        return b.stmts + made.stmts + [loop]
    test = _all(b, [b.emit(P.eq, [got, wanted]) for got, wanted in dict.fromkeys(tests)])
    mapping: dict = {}
    vectorised = [clone(s, mapping) for s in sorted(tree.nodes.values(), key=lambda e: order[id(e)])]
    return b.stmts + [If(root.outs, test, Block([], made.stmts + [loop], list(loop.outs)),
                         Block([], vectorised, [mapping[root.outs[0]]]), root.loc)]


def _nest(root: Eqn, tree: _Tree, start: Atom, extents: list[Atom]) -> ForRange:
    """``for a in range(n0): for b in range(n1): …`` carrying the new array, each element the
    tree's value at those indices."""
    indices = {m: Var("abcdefgh"[m] if m < 8 else f"i{m}", I64) for m in range(tree.rank)}
    body = Builder(root.loc)
    element = tree.value(root.outs[0], tuple(("axis", m) for m in range(tree.rank)), body, indices, {})
    carried = Var(root.outs[0].name, root.outs[0].type)
    result = body.emit(P.setitem, [carried, *indices.values(), element], carried.name, spec=("i",) * tree.rank,
                       own=True)
    stmts, params, results = body.stmts, [carried], [result]
    for m in reversed(range(tree.rank)):
        outer = Var(root.outs[0].name, root.outs[0].type)
        out = Var(root.outs[0].name, root.outs[0].type)
        loop = ForRange([out], const(0), extents[m], const(1), [outer if m else start],
                        Block([indices[m], *params], stmts, results), root.loc)
        stmts, params, results = [loop], [outer], [out]
    return loop
