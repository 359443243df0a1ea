"""Element loops for compiled code: an elementwise expression over vectors that is only added
into an array, or only summed, is computed element by element instead of as whole arrays::

    sub_into(means_bar[j], unbroadcast(t * (X[i] - m) * 2.0, m.shape))
                         →
    for e in range(m.shape[0]):
        means_bar[j, e] -= t * (X[i, e] - m[e]) * 2.0

NumPy's form allocates an array for every operation; Numba compiles each of those allocations,
which for the short vectors of a loop body (a particle's position, a row of data) cost more than
the arithmetic. The loop allocates nothing. The Python backend keeps the vectorised form, where
an element loop would run in the interpreter.

What is fused (vectors only, one axis; the operations of `FUSED`):

* ``x[i, …] += e``, ``x[i, …] -= e`` (integer indices, so the region is a row) and ``x += e``,
  where `e` may pass through an ``unbroadcast`` — the loop carries `x`;
* ``np.sum(e)`` — the loop carries the partial sum.

Each operand vector of `e` must have the region's shape. Where the shape facts of
`passes.shapes` do not prove it (``X[i]`` and ``m`` come from different arrays, and NumPy would
broadcast a vector of one element), the loop runs under a test of the shapes, and the original
form is kept for the other case. An operation whose result is used elsewhere too is recomputed
inside the loop when it is one flop (`CHEAP`); otherwise its vector is an operand. An operand
that may share memory with the array being updated keeps the update vectorised (codegen copies
it there). An array updated while a value that may share its memory is still needed is copied
once, before its loop.

Adjacent loops over the same range become one loop, computing what both compute once.
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.aliases import Aliases
from ..ir.builder import Builder, const
from ..ir.core import Atom, Block, Eqn, ForRange, Function, If, Var, clone, region_reads, substitute, use_counts, walk
from ..ir.liveness import Liveness
from ..ir.types import F64, I64
from .cse import key_of
from .dce import dce
from .shapes import ShapeRoots

FUSED = {P.add, P.sub, P.mul, P.div, P.neg, P.pow, P.exp, P.log, P.sqrt, P.sin, P.cos, P.tan, P.tanh,
         P.expm1, P.log1p, P.sinh, P.cosh, P.arctan, P.abs, P.sign, P.maximum, P.minimum, P.masked_product}
CHEAP = {P.add, P.sub, P.mul, P.neg}
_UPDATES = {P.index_add, P.index_sub, P.accumulate}


def fuse_loops(fn: Function) -> Function:
    """`fn` with the element loops above (edited in place, then cleaned of what they replace)."""
    context = _Context(fn)
    for block in [fn.body] + [b for stmt in walk(fn.body) for b in stmt.blocks()]:
        _fuse_block(block, context)
    return dce(fn)


class _Context:
    def __init__(self, fn: Function):
        self.roots = ShapeRoots(fn.body, twins=fn.twins)
        self.aliases = Aliases(fn.body)
        self.uses = use_counts(fn.body)
        self.live = Liveness(fn)
        self.pinned = set(fn.params)  # the caller's arrays: never updated in place
        self.loops: dict[int, ForRange] = {}  # the element loops made, by identity (held, so ids stay theirs)

    def shared(self, update: Eqn) -> bool:
        """May the array `update` updates share memory with a value still needed after it?
        (Then the loop updates a copy made once before it; codegen would otherwise copy the
        array in every iteration, as the loop carries it.)"""
        target = update.ins[0]
        return self.aliases.shared(target, (self.live.after(update) - update.outs) | self.pinned)


def _fuse_block(block: Block, context: _Context) -> None:
    new: list = []
    last = None  # where in `new` the last element loop is
    lengths: dict = {}  # (vector, axis) → its length, measured once per block
    defined: dict = {}  # value → the equation of the block before `stmt` binding it alone
    for stmt in list(block.stmts):
        found = _consumer(stmt, defined, context)
        if isinstance(stmt, Eqn) and len(stmt.outs) == 1:
            defined[stmt.outs[0]] = stmt
        for made in _fused(stmt, *found, context, lengths) if found else [stmt]:
            if id(made) not in context.loops:
                new.append(made)
            elif last is not None and _mergeable(new[last], made, new[last + 1:], context):
                new[last] = _merge(new[last], made)
                context.loops[id(new[last])] = new[last]
            else:
                last = len(new)
                new.append(made)
    block.stmts[:] = new


# --- what can be fused ----------------------------------------------------------------------

def _consumer(stmt, defined: dict, context: _Context):
    """(region, value, tree, spread) when `stmt` adds an elementwise expression into a row or
    sums one: the array updated (None for a sum), the expression, its operations in program
    order (at least one), and the ``unbroadcast`` between them and the update, if any.
    `defined` maps the values bound alone by the equations before `stmt` to them."""
    if not isinstance(stmt, Eqn) or not stmt.ins or not _vector(stmt.ins[-1]):
        return None
    if stmt.prim is P.sum and stmt.params.get("axis") is None:
        region = None
    elif stmt.prim in _UPDATES and _row_update(stmt):
        region = stmt.ins[0]
    else:
        return None
    value = stmt.ins[-1]
    spread = defined.get(value)
    if spread is not None and spread.prim is P.unbroadcast and _vector(spread.ins[0]) \
            and context.uses[value] == 1:
        value = spread.ins[0]
    else:
        spread = None
    tree = _tree(value, defined, context.uses)
    if not tree or region is not None and any(context.aliases.find(leaf) is context.aliases.find(region)
                                              for leaf in _leaves(tree) if isinstance(leaf, Var)):
        return None
    return region, value, tree, spread


def _vector(atom: Atom) -> bool:
    return atom.type.is_array and atom.type.ndim == 1 and atom.type.dtype == "f64"


def _row_update(stmt: Eqn) -> bool:
    """``x[i, …] ±= v`` whose region is a vector (integer indices only), or ``x += v``."""
    if stmt.prim is P.accumulate:
        return True
    index = stmt.ins[1:-1]
    return (all(kind == "i" for kind in stmt.params["spec"]) and not stmt.params.get("scatter")
            and all(not a.type.is_array for a in index) and stmt.ins[0].type.ndim == len(index) + 1)


def _tree(value: Atom, defined: dict, uses: dict) -> list[Eqn]:
    """The fusible operations `value` is computed by, operands first, each once (walked without
    recursion, and without walking a shared operand's operations again)."""
    root = _fusible(value, defined, uses)
    if root is None:
        return []
    tree: list[Eqn] = []
    done: set[int] = set()
    stack = [(root, 0)]
    while stack:
        eqn, k = stack.pop()
        if k < len(eqn.ins):
            stack.append((eqn, k + 1))
            operand = _fusible(eqn.ins[k], defined, uses)
            if operand is not None and id(operand) not in done:
                stack.append((operand, 0))
        elif id(eqn) not in done:
            done.add(id(eqn))
            tree.append(eqn)
    return tree


def _fusible(value: Atom, defined: dict, uses: dict) -> Eqn | None:
    """The equation computing `value`, if an element loop can compute it element by element."""
    eqn = defined.get(value)
    if eqn is None or eqn.prim not in FUSED or not _vector(value) \
            or (uses[value] > 1 and eqn.prim not in CHEAP):
        return None
    if any(operand.type.is_array and not _vector(operand) for operand in eqn.ins):
        return None
    return eqn


def _leaves(tree: list[Eqn]) -> list[Atom]:
    """The operands of the tree that it does not compute, each once, in order."""
    inside = {e.outs[0] for e in tree}
    found: list[Atom] = []
    seen: set = set()
    for eqn in tree:
        for a in eqn.ins:
            if a not in inside and a not in seen:
                seen.add(a)
                found.append(a)
    return found


# --- the loop ---------------------------------------------------------------------------------

def _fused(stmt: Eqn, region: Atom | None, value: Var, tree: list[Eqn], spread: Eqn | None,
           context: _Context, lengths: dict) -> list:
    """The statements replacing `stmt`: the loop, under a test of the shapes where needed."""
    b = Builder(stmt.loc)
    vectors = [a for a in _leaves(tree) if a.type.is_array]
    reference = region if region is not None else vectors[0]
    axis = len(stmt.ins) - 2 if stmt.prim in (P.index_add, P.index_sub) else 0  # the row's axis of x
    proven = [v for v in vectors if _same_shape(v, reference, axis, context.roots)]
    if proven:  # (measure an operand rather than the array updated: a loop over x's rows then reads only x)
        reference, axis = proven[0], 0
    length = _length(b, reference, axis, lengths)
    start = b.emit(P.copy, [region], region.name) if region is not None and context.shared(stmt) else region
    loop = _element_loop(stmt, start, value, tree, length)
    context.loops[id(loop)] = loop
    unproven = [v for v in vectors if v not in proven]
    if not unproven:
        loop.outs = stmt.outs
        return b.stmts + [loop]
    others = dict.fromkeys(_length(b, v, 0, lengths) for v in unproven)  # (each length tested once)
    test = _all(b, [b.emit(P.eq, [other, length]) for other in others])
    mapping: dict = {}
    vectorised = [clone(s, mapping) for s in tree + ([spread] if spread else []) + [stmt]]
    return b.stmts + [If(stmt.outs, test, Block([], [loop], list(loop.outs)),
                         Block([], vectorised, [mapping[stmt.outs[0]]]), stmt.loc)]


def _length(b: Builder, v: Atom, axis: int, lengths: dict) -> Atom:
    if (v, axis) not in lengths:
        lengths[v, axis] = _dim(b, v, axis)
    return lengths[v, axis]


def _dim(b: Builder, v: Atom, axis: int) -> Atom:
    """``v.shape[axis]`` (a shape, not a view of the region: a view would keep the array it
    updates alive, and codegen would copy it)."""
    return b.emit(P.getitem, [b.emit(P.shape, [v]), axis], spec=("i",))


def _same_shape(v: Atom, reference: Atom, axis: int, roots: ShapeRoots) -> bool:
    """Do the shape facts prove that vector `v` has the shape of `reference`'s rows at depth
    `axis` (of `reference` itself for 0)?"""
    return roots.key(v) == ((roots.key(reference), axis) if axis else roots.key(reference))


def _mergeable(first: ForRange, second: ForRange, between: list, context: _Context) -> bool:
    """Can two element loops run as one, where the first is? Over the same range, when the
    second reads nothing the first makes but the arrays it goes on updating, nor anything made
    between them (elements are independent: each iteration touches its own element of every
    operand and region), and what lies between has no effect."""
    if (first.start, first.stop, first.step) != (second.start, second.stop, second.step) \
            or any(not isinstance(s, Eqn) or s.prim.inplace or not s.prim.pure for s in between):
        return False
    passed = [v for v in second.init if v in first.outs]
    reads = region_reads(second) | {a for a in second.ins if isinstance(a, Var) and a not in passed}
    made = set(first.outs) | {v for s in between for v in s.outs}
    return all(context.uses.get(v) == 1 for v in passed) and not reads & made


def _merge(first: ForRange, second: ForRange) -> ForRange:
    """One loop doing both bodies in turn; a value the first updates and the second goes on
    updating is carried once."""
    index, *params = first.body.params
    mapping: dict = {second.body.params[0]: index}
    init, results, outs = list(first.init), list(first.body.results), list(first.outs)
    for p, start, r, out in zip(second.body.params[1:], second.init, second.body.results, second.outs):
        if start in first.outs:
            k = first.outs.index(start)
            mapping[p], results[k], outs[k] = results[k], r, out
        else:
            params.append(p)
            init.append(start)
            results.append(r)
            outs.append(out)
    known = {key_of(s): s.outs[0] for s in first.body.stmts if s.prim.pure and not s.prim.inplace}
    stmts = list(first.body.stmts)
    for s in second.body.stmts:  # what both compute (an operand's element, a difference) once
        substitute(Block([], [s], []), mapping)
        if s.prim.pure and not s.prim.inplace and key_of(s) in known:
            mapping[s.outs[0]] = known[key_of(s)]
        else:
            stmts.append(s)
    body = Block([index, *params], stmts, [mapping.get(r, r) for r in results])
    return ForRange(outs, first.start, first.stop, first.step, init, body, first.loc)


def _all(b: Builder, tests: list[Atom]) -> Atom:
    test = tests[0]
    for more in tests[1:]:
        test = b.emit(P.and_, [test, more])
    return test


def _element_loop(stmt: Eqn, region: Atom | None, value: Var, tree: list[Eqn], length: Atom) -> ForRange:
    """``for e in range(length)`` carrying the updated array (or the partial sum)."""
    e = Var("e", I64)
    carried = Var(region.name, region.type) if region is not None else Var(stmt.outs[0].name, F64)
    body = Builder(stmt.loc)
    scalars: dict = {}
    for leaf in _leaves(tree):
        scalars[leaf] = body.emit(P.getitem, [leaf, e], spec=("i",)) if leaf.type.is_array else leaf
    for eqn in tree:
        scalars[eqn.outs[0]] = body.emit(eqn.prim, [scalars[a] for a in eqn.ins], eqn.outs[0].name, **eqn.params)
    element = scalars[value]
    if region is None:
        result = body.emit(P.add, [carried, element], carried.name)
    elif stmt.prim is P.accumulate:
        result = body.emit(P.index_add, [carried, e, element], carried.name, spec=("i",))
    else:
        result = body.emit(stmt.prim, [carried, *stmt.ins[1:-1], e, element], carried.name,
                           spec=stmt.params["spec"] + ("i",))
    init = const(0.0) if region is None else region
    out = Var(stmt.outs[0].name, stmt.outs[0].type)
    return ForRange([out], const(0), length, const(1), [init], Block([e, carried], body.stmts, [result]), stmt.loc)
