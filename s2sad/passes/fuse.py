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

What is fused (vectors and matrices; the operations of `FUSED`):

* ``x[i, …] += e``, ``x[i, …] -= e``, ``x[i, …] = e`` (integer indices, so the region is a row
  or a matrix, or integers and one or two slices: ``x[1:-1]``, ``u[1:-1, 1:-1]``) and
  ``x += e``, where `e` may pass through an ``unbroadcast`` — the loop carries `x`;
* ``np.sum(e)`` — the loop carries the partial sum;
* for a matrix `e`, ``np.sum(e, axis=k)`` — the loops add into a vector of zeros.

Over a matrix, two nested loops (rows `e`, columns `f`) read a matrix operand at [e, f], a
vector at [f] (NumPy broadcasts it as a row), and a vector that ``expand_to`` spreads along the
rows (the adjoint of a sum over the columns) at [e]:

    centroids_bar += unbroadcast(expand_to(t_bar, d.shape, axis=1) * d * 2.0, centroids.shape)
                         →
    for e in range(centroids_bar.shape[0]):
        for f in range(centroids_bar.shape[1]):
            centroids_bar[e, f] += t_bar[e] * (centroids[e, f] - p[f]) * 2.0

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
from ..ir.core import Atom, Block, Const, Eqn, ForRange, Function, If, Var, clone, region_reads, substitute, use_counts, walk
from ..ir.liveness import Liveness
from ..ir.types import I64
from .cse import key_of
from .dce import dce
from .shapes import ShapeRoots, root_twins, scope_before, shape_of_key, slice_extents

FUSED = {P.add, P.sub, P.mul, P.div, P.neg, P.pow, P.exp, P.log, P.sqrt, P.sin, P.cos, P.tan, P.tanh,
         P.expm1, P.log1p, P.sinh, P.cosh, P.arctan, P.abs, P.sign, P.maximum, P.minimum, P.masked_product}
CHEAP = {P.add, P.sub, P.mul, P.neg}
_UPDATES = {P.index_add, P.index_sub, P.setitem, P.accumulate}


def fuse_loops(fn: Function, only: set[int] | None = None) -> Function:
    """`fn` with the element loops above (edited in place, then cleaned of what they replace);
    with `only`, the loops of those statements alone (by identity)."""
    context = _Context(fn)
    context.only = only
    for block in [fn.body] + [b for stmt in walk(fn.body) for b in stmt.blocks()]:
        _fuse_block(block, context)
    return dce(fn)


def split_concatenations(fn: Function) -> Function:
    """``np.concatenate((a, e))`` of vectors, where a piece is an elementwise expression read only
    there, becomes a new array stored into piece by piece (``z = np.empty(n); z[:k] = a; z[k:] =
    e``), whose stores of elementwise expressions `fuse_loops` computes by element loops: the
    piece is never an array of its own (an RK4 stage ``np.concatenate((x[:1], x[1:] * y[:-1]))``
    allocated two vectors; in a loop body, the new array then takes a buffer, see
    passes/inplace.py)."""
    if not any(isinstance(s, Eqn) and s.prim is P.concatenate for s in walk(fn.body)):
        return fn
    roots = ShapeRoots(fn.body, twins=fn.twins)
    root_twins(fn, roots)  # (a piece stored in its place is no value: its adjoint keeps its shape's key)
    uses = use_counts(fn.body)
    for block in [fn.body] + [b for stmt in walk(fn.body) for b in stmt.blocks()]:
        defined: dict = {}
        new: list = []
        for stmt in block.stmts:
            if _splittable(stmt, defined, uses):
                target = _computed_piece(stmt, defined, uses)
                new += _pieces_stored(stmt, target, roots, scope_before(fn.body, stmt) or set())
            else:
                new.append(stmt)
            if isinstance(stmt, Eqn) and len(stmt.outs) == 1:
                defined[stmt.outs[0]] = stmt
        block.stmts[:] = new
    return fn


def _splittable(stmt, defined: dict, uses: dict) -> bool:
    return isinstance(stmt, Eqn) and stmt.prim is P.concatenate and stmt.params.get("axis", 0) in (0, -1) \
        and _vector(stmt.outs[0]) and all(_vector(a) for a in stmt.ins) and _computed_piece(stmt, defined, uses) is not None


def _computed_piece(stmt: Eqn, defined: dict, uses: dict) -> int | None:
    """The position of the last piece of a concatenation that an elementwise operation makes for
    it alone, or None."""
    found = [k for k, a in enumerate(stmt.ins) if a in defined and defined[a].prim in FUSED and uses.get(a) == 1]
    return found[-1] if found else None


def _pieces_stored(stmt: Eqn, target: int, roots: ShapeRoots, before: set) -> list:
    """`_splittable`'s concatenation as an allocation and a store per piece. The new array has
    the concatenation's shape key where the values at hand can state it (the shape facts still
    know it), and the piece at `target` then spans what the others leave, so that its
    expression is read by its store alone (else by its length too, and not fused)."""
    b = Builder(stmt.loc)
    shape = shape_of_key(roots.key(stmt.outs[0]), b, lambda a: a in before)
    known = shape is not None and shape.type.kind == "tuple"
    lengths = [None if known and k == target else _dim(b, a, 0) for k, a in enumerate(stmt.ins)]
    if not known:
        shape = b.emit(P.make_tuple, [_sum(b, lengths)])
    z = b.emit(P.empty, [shape], stmt.outs[0].name)
    start: Atom = const(0)
    for k, (piece, n) in enumerate(zip(stmt.ins, lengths)):
        if n is None:  # (up to what the pieces after it take from the end)
            total = b.emit(P.getitem, [shape, const(0)], spec=("i",))
            stop = b.emit(P.sub, [total, _sum(b, lengths[k + 1:])]) if k + 1 < len(lengths) else total
        else:
            stop = b.emit(P.add, [start, n])
        operands = [z, start, stop, const(None), piece]
        if k == len(stmt.ins) - 1:
            b.append(Eqn(list(stmt.outs), P.setitem, operands, {"spec": ("s",)}, stmt.loc))
        else:
            z = b.emit(P.setitem, operands, stmt.outs[0].name, spec=("s",))
        start = stop
    return b.stmts


class _Context:
    def __init__(self, fn: Function):
        self.roots = ShapeRoots(fn.body, twins=fn.twins)
        root_twins(fn, self.roots)  # (for the passes after: the values the loops compute are gone then)
        self.aliases = Aliases(fn.body)
        self.uses = use_counts(fn.body)
        self.users: dict = {}  # value → the equations reading it
        for s in walk(fn.body):
            for a in s.ins if isinstance(s, Eqn) else ():
                self.users.setdefault(a, []).append(s)
        self.live = Liveness(fn)
        self.pinned = set(fn.params)  # the caller's arrays: never updated in place
        self.only: set[int] | None = None  # the statements to fuse (by identity), or None for all
        self.loops: dict[int, ForRange] = {}  # the element loops made, by identity (held, so ids stay theirs)
        self.kind: dict[int, tuple] = {}  # by a loop's identity: (is its region a slice, does it store (=))

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
        found = _consumer(stmt, defined, context) if context.only is None or id(stmt) in context.only else None
        if isinstance(stmt, Eqn) and len(stmt.outs) == 1:
            defined[stmt.outs[0]] = stmt
        for made in _fused(stmt, *found, context, lengths, defined) if found else [stmt]:
            if id(made) not in context.loops:
                new.append(made)
            elif last is not None and _mergeable(new[last], made, new[last + 1:], context):
                kinds = [context.kind.get(id(loop), (False, False)) for loop in (new[last], made)]
                new[last] = _merge(new[last], made)
                context.loops[id(new[last])] = new[last]
                context.kind[id(new[last])] = tuple(map(any, zip(*kinds)))
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
    if _produced(stmt, context):
        tree = _tree(stmt, {**defined, stmt.outs[0]: stmt}, context.uses, 2)
        return (None, stmt.outs[0], tree, None) if any(e.prim is P.expand_to for e in tree) else None
    if not isinstance(stmt, Eqn) or not stmt.ins or _rank(stmt.ins[-1]) is None:
        return None
    rank = _rank(stmt.ins[-1])
    if stmt.prim is P.sum and (stmt.params.get("axis") is None or rank == 2 and _summed_axis(stmt) is not None):
        region = None
    elif stmt.prim in _UPDATES and _region_rank(stmt) == rank:
        region = stmt.ins[0]
    else:
        return None
    value = stmt.ins[-1]
    spread = defined.get(value)
    if spread is not None and spread.prim is P.unbroadcast and _rank(spread.ins[0]) == rank \
            and context.uses[value] == 1:
        value = spread.ins[0]
    else:
        spread = None
    tree = _tree(value, defined, context.uses, rank)
    if not tree or not _made_only_for_loops(value, context, defined):
        return None
    if region is not None and any(context.aliases.find(leaf) is context.aliases.find(region)
                                  for leaf in _leaves(tree) if isinstance(leaf, Var) and leaf.type.is_array):
        return None
    return region, value, tree, spread


def _made_only_for_loops(value: Atom, context: _Context, defined: dict, depth: int = 0) -> bool:
    """Is `value` read only by updates and sums (directly, or through an ``unbroadcast`` read by
    one), which element loops compute it into, so that it need not exist as an array? Or, when
    one flop makes it (`CHEAP`), also by elementwise operations whose own results are read only
    so (their loops compute it again)? When something else reads it too, it is made anyway, and
    a loop computing it again would only add work."""
    cheap = value in defined and defined[value].prim in CHEAP and depth < 3

    def fused(user, spread=True) -> bool:
        return user.prim in (P.index_add, P.index_sub, P.accumulate, P.sum) or spread and user.prim is P.unbroadcast \
            and all(fused(u, False) for u in context.users.get(user.outs[0], [])) and context.uses[user.outs[0]] == 1 \
            or cheap and user.prim in FUSED and len(user.outs) == 1 and _read_by_equations(user.outs[0], context) \
            and _made_only_for_loops(user.outs[0], context, defined, depth + 1)
    return context.uses[value] == 1 or all(isinstance(s, Eqn) and fused(s) for s in context.users.get(value, []))


def _read_by_equations(v: Atom, context: _Context) -> bool:
    """Is every use of `v` an equation's operand (none a block's result)?"""
    return len(context.users.get(v, [])) == context.uses.get(v, 0) > 0


def _vector(atom: Atom) -> bool:
    return _rank(atom) == 1


def _rank(atom: Atom) -> int | None:
    """1 for a float vector, 2 for a float matrix (what element loops fuse), None otherwise."""
    t = atom.type
    return t.ndim if t.is_array and t.dtype == "f64" and t.ndim in (1, 2) else None


def _produced(stmt, context: _Context) -> bool:
    """Is `stmt` an elementwise operation making a matrix that is not only an operand of another
    such operation or of an update or a sum (which would compute it in their loops)? Made by
    element loops into a new matrix when its operations include spreading a vector along the
    rows (Numba's own array expressions fuse the rest, but materialise ``expand_to``)."""
    if not isinstance(stmt, Eqn) or stmt.prim not in FUSED or _rank(stmt.outs[0]) != 2:
        return False
    user = context.users.get(stmt.outs[0], [None])[-1]
    return context.uses.get(stmt.outs[0], 0) > 1 or user is None or \
        not (user.prim in FUSED or user.prim is P.sum or user.prim in _UPDATES or user.prim is P.unbroadcast)


def _summed_axis(stmt: Eqn) -> int | None:
    """For ``np.sum(m, axis=k)`` of a matrix m: the axis summed (0 or 1); None for any other."""
    return {0: 0, -2: 0, 1: 1, -1: 1}.get(stmt.params.get("axis")) if stmt.prim is P.sum else None


def _region_rank(stmt: Eqn) -> int | None:
    """The rank of the region ``x[i, …] ±= v`` (or ``= v``) updates, or of ``x += v``: integer
    indices, or integers and one or two slices with positive steps that leave no other axis
    (``x[1:-1]``, ``x[i, a:b]``, ``u[1:-1, 1:-1]``: `_slice_spans`)."""
    if stmt.prim is P.accumulate:
        return stmt.ins[0].type.ndim
    spec, index = stmt.params["spec"], stmt.ins[1:-1]
    if stmt.params.get("scatter") or any(a.type.is_array for a in index) or not set(spec) <= {"i", "s"}:
        return None
    if "s" not in spec:
        return stmt.ins[0].type.ndim - len(index)
    steps = [index[k + 2] for k in _slice_starts(spec)]
    positive = all(isinstance(a, Const) and (a.value is None or type(a.value) is int and a.value > 0) for a in steps)
    return len(steps) if len(spec) == stmt.ins[0].type.ndim and positive else None


def _slice_starts(spec: tuple) -> list[int]:
    """Where each slice's three operands begin among the index operands of `spec` (integers and
    slices)."""
    starts, position = [], 0
    for kind in spec:
        if kind == "s":
            starts.append(position)
        position += 3 if kind == "s" else 1
    return starts


def _tree(value: Atom | Eqn, defined: dict, uses: dict, rank: int) -> list[Eqn]:
    """The fusible operations `value` (of `rank`; or the equation given) is computed by,
    operands first, each once (walked without recursion, and without walking a shared
    operand's operations again; the vector a matrix is spread from, `_spread_axis`, stays an
    operand)."""
    root = value if isinstance(value, Eqn) else _fusible(value, defined, uses, rank)
    if root is None:
        return []
    tree: list[Eqn] = []
    done: set[int] = set()
    stack = [(root, 0)]
    while stack:
        eqn, k = stack.pop()
        if k < len(eqn.ins) and eqn.prim is not P.expand_to:
            stack.append((eqn, k + 1))
            operand = _fusible(eqn.ins[k], defined, uses, rank)
            if operand is not None and id(operand) not in done:
                stack.append((operand, 0))
        elif id(eqn) not in done:
            done.add(id(eqn))
            tree.append(eqn)
    return tree


def _fusible(value: Atom, defined: dict, uses: dict, rank: int) -> Eqn | None:
    """The equation computing `value`, if an element loop over `rank` axes can compute it
    element by element: in a loop over a matrix, a vector is a row of it (NumPy's broadcasting),
    and a vector spread over the matrix's rows (`_spread_axis`) is read by row or by column."""
    eqn = defined.get(value)
    if eqn is None or _rank(value) is None or _rank(value) > rank or (uses[value] > 1 and eqn.prim not in CHEAP):
        return None
    if rank == 2 and eqn.prim is P.expand_to:
        return eqn if _spread_axis(eqn) is not None else None
    if eqn.prim not in FUSED or any(operand.type.is_array and (_rank(operand) or 3) > rank for operand in eqn.ins):
        return None  # (an operand of more axes than the loops, or not a float vector or matrix)
    return eqn


def _spread_axis(eqn: Eqn) -> int | None:
    """For ``expand_to(g, shape, axis)`` of a vector g into a matrix: the loop axis g runs along
    (0: g[i] fills row i; 1: g is every row); None for any other."""
    if _rank(eqn.ins[0]) != 1 or eqn.outs[0].type.ndim != 2:
        return None
    return {1: 0, -1: 0, 0: 1, -2: 1, None: 1}.get(eqn.params.get("axis"), None)


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
           context: _Context, lengths: dict, defined: dict) -> list:
    """The statements replacing `stmt`: the loop, under a test of the shapes where needed."""
    if _rank(value) == 2:
        return _fused_matrix(stmt, region, value, tree, spread, context, defined)
    b = Builder(stmt.loc)
    vectors = [a for a in _leaves(tree) if a.type.is_array]
    spans = _slice_spans(b, stmt) if region is not None and stmt.prim is not P.accumulate else None
    if spans is not None:  # (a slice region: its first element and length, measured)
        (offset, length), = spans
        key = _slice_key(stmt, context.roots)
        proven = [v for v in vectors if key is not None and context.roots.key(v) == key]
    else:
        reference = region if region is not None else vectors[0]
        axis = len(stmt.ins) - 2 if stmt.prim in (P.index_add, P.index_sub, P.setitem) else 0  # the row's axis of x
        proven = [v for v in vectors if _same_shape(v, reference, axis, context.roots)]
        if proven:  # (measure an operand rather than the array updated: a loop over x's rows then reads only x)
            reference, axis = proven[0], 0
        offset, length = None, _length(b, reference, axis, lengths)
    start = b.emit(P.copy, [region], region.name) if region is not None and context.shared(stmt) else region
    loop = _element_loop(stmt, start, value, tree, length, offset)
    context.kind[id(loop)] = (spans is not None, stmt.prim is P.setitem)
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


def _fused_matrix(stmt: Eqn, region: Atom | None, value: Var, tree: list[Eqn], spread: Eqn | None,
                  context: _Context, defined: dict) -> list:
    """`_fused` for a matrix: two nested element loops over its rows and columns, under a test
    that every operand has the shape its reading assumes (the matrix's, a row's, a column's),
    the vectorised form kept for the other case."""
    b = Builder(stmt.loc)
    matrices = [a for a in _leaves(tree) if _rank(a) == 2]
    reference = region if region is not None else matrices[0] if matrices else None
    if reference is None:
        return [stmt]
    spans = _slice_spans(b, stmt) if region is not None and stmt.prim is not P.accumulate else None
    if spans is not None:  # (a slice region u[1:-1, 1:-1]: its rows and columns from where they begin)
        key = _slice_key(stmt, context.roots)
        (row_start, rows), (col_start, cols) = spans

        def proven(v: Atom, axis: int) -> bool:
            return axis == 0 and key is not None and context.roots.key(v) == key
    else:
        rows, cols = _dim(b, reference, 0), _dim(b, reference, 1)

        def proven(v: Atom, axis: int) -> bool:
            return _same_shape(v, reference, axis, context.roots)
    lengths = {0: rows, 1: cols}
    tests = [(_dim(b, m, k), lengths[k]) for m in matrices if m is not reference and not proven(m, 0) for k in (0, 1)]
    for leaf, axis in _vector_reads(tree):
        if not (axis == 1 and proven(leaf, 1)):
            tests.append((_dim(b, leaf, 0), lengths[axis]))
    for shape in [e.ins[1] for e in tree if e.prim is P.expand_to] + ([spread.ins[1]] if spread else []):
        made = defined.get(shape)
        if made is not None and made.prim is P.shape and proven(made.ins[0], 0):
            continue  # (the reference's own shape, or one proven equal)
        operands = _shaped_by(shape, defined)
        if operands is None:  # (the shape itself)
            tests += [(b.emit(P.getitem, [shape, const(k)], spec=("i",)), lengths[k]) for k in (0, 1)]
        else:  # (what makes it that shape, without computing it: an operand of each shape)
            tests += [(_dim(b, a, k), lengths[k]) for a in operands if _rank(a) == 2 for k in (0, 1)]
            tests += [(_dim(b, a, 0), lengths[1]) for a in operands if _rank(a) == 1]
    made = Builder(stmt.loc)  # (what the loops start from: made only where they run)
    start = made.emit(P.copy, [region], region.name) if region is not None and context.shared(stmt) else region
    if _summed_axis(stmt) is not None:  # (the sums made in a vector of zeros: one per row, or per column)
        start = made.emit(P.zeros, [lengths[1 - _summed_axis(stmt)]], stmt.outs[0].name)
    elif value is stmt.outs[0]:  # (a matrix made element by element)
        start = made.emit(P.empty, [made.emit(P.make_tuple, [rows, cols])], stmt.outs[0].name)
    loop = _matrix_loop(stmt, start, value, tree, rows, cols, None if spans is None else [row_start, col_start])
    if not tests:
        loop.outs = stmt.outs
        return b.stmts + made.stmts + [loop]
    test = _all(b, [b.emit(P.eq, [got, wanted]) for got, wanted in dict.fromkeys(tests)])
    moved = [s for e in tree if e.prim is P.expand_to and _shaped_by(e.ins[1], defined) is not None
             and context.uses[e.ins[1]] == 1 for s in (defined[defined[e.ins[1]].ins[0]], defined[e.ins[1]])]
    mapping: dict = {}  # (the shapes tested through their operands are made only where the vectorised form needs them)
    vectorised = [clone(s, mapping) for s in moved + [s for s in tree if s not in moved] + ([spread] if spread else [])
                  + ([stmt] if stmt not in tree else [])]
    return b.stmts + [If(stmt.outs, test, Block([], made.stmts + [loop], list(loop.outs)),
                         Block([], vectorised, [mapping[stmt.outs[0]]]), stmt.loc)]


def _slice_spans(b: Builder, stmt: Eqn) -> list[tuple[Atom, Atom]] | None:
    """For a store into a slice region (`_region_rank`): where each slice begins on its axis and
    how many elements it has (`slice_span`, after Python's ``slice.indices``); None for a
    region of integer indices."""
    spec = stmt.params["spec"]
    if "s" not in spec:
        return None
    spans = []
    for axis, k in zip([a for a, kind in enumerate(spec) if kind == "s"], _slice_starts(spec)):
        start, stop, step = stmt.ins[1 + k:4 + k]
        n = _dim(b, stmt.ins[0], axis)
        bounds = [const(0) if _absent(start) else start, n if _absent(stop) else stop,
                  const(1) if _absent(step) else step]
        span = b.emit(P.slice_span, [n, *bounds])
        spans.append(tuple(b.emit(P.getitem, [span, const(j)], spec=("i",)) for j in (0, 1)))
    return spans


def _absent(a: Atom) -> bool:
    return isinstance(a, Const) and a.value is None


def _slice_key(stmt: Eqn, roots: ShapeRoots):
    """The shape key (`ShapeRoots.key`) a slice of the region's constant bounds would have
    (``x[1:-1]`` and ``u[2:]`` of arrays of one shape have one), or None."""
    extents = slice_extents(stmt)
    return None if extents is None else (roots.key(stmt.ins[0]), extents)


def _region_index(body: Builder, stmt: Eqn, offsets: list[Atom], at: list[Var]) -> tuple[list[Atom], tuple]:
    """The index operands and spec of the element of a slice region at loop indices `at`: each
    slice's operands replaced by its offset + index·step."""
    spec, index = stmt.params["spec"], stmt.ins[1:-1]
    operands, position, k = [], 0, 0
    for kind in spec:
        if kind == "i":
            operands.append(index[position])
            position += 1
            continue
        step = index[position + 2]
        scaled = at[k] if _absent(step) or step.value == 1 else body.emit(P.mul, [at[k], step])
        operands.append(body.emit(P.add, [offsets[k], scaled]))
        position, k = position + 3, k + 1
    return operands, ("i",) * len(spec)


def _shaped_by(shape: Atom, defined: dict) -> list[Atom] | None:
    """For ``m.shape`` of a matrix m that an elementwise operation makes of matrices and vectors:
    those operands (m has the matrix shape the loop tests when each of them has it, or is a row
    of it); None for any other shape."""
    made = defined.get(shape)
    m = made.ins[0] if made is not None and made.prim is P.shape else None
    operation = defined.get(m) if m is not None and _rank(m) == 2 else None
    if operation is None or operation.prim not in FUSED:
        return None
    operands = [a for a in operation.ins if a.type.is_array]
    return operands if all(_rank(a) for a in operands) and any(_rank(a) == 2 for a in operands) else None


def _vector_reads(tree: list[Eqn]) -> list[tuple[Atom, int]]:
    """(vector operand, the loop axis it runs along) for each way a matrix's element loops read
    a vector of `tree`: as a row (axis 1), or spread along the rows (`_spread_axis`)."""
    inside = {e.outs[0] for e in tree}
    reads = []
    for e in tree:
        if e.prim is P.expand_to:
            reads.append((e.ins[0], _spread_axis(e)))
        else:
            reads += [(a, 1) for a in e.ins if _rank(a) == 1 and a not in inside]
    return list(dict.fromkeys(reads))


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
    return roots.key(v) == (roots.row_key(reference, axis) if axis else roots.key(reference))


def _mergeable(first: ForRange, second: ForRange, between: list, context: _Context) -> bool:
    """Can two element loops run as one, where the first is? Over the same range, when the
    second reads nothing the first makes but the arrays it goes on updating, nor anything made
    between them (elements are independent: each iteration touches its own element of every
    operand and region), and what lies between has no effect."""
    if (first.start, first.stop, first.step) != (second.start, second.stop, second.step) \
            or any(not isinstance(s, Eqn) or s.prim.inplace or not s.prim.pure for s in between) \
            or any(not isinstance(s, Eqn) for s in first.body.stmts + second.body.stmts):  # (a matrix's loops)
        return False
    passed = [v for v in second.init if v in first.outs]
    reads = region_reads(second) | {a for a in second.ins if isinstance(a, Var) and a not in passed}
    made = set(first.outs) | {v for s in between for v in s.outs}
    sliced, stored = (any(k) for k in zip(context.kind.get(id(first), (False, False)),
                                          context.kind.get(id(second), (False, False))))
    return all(context.uses.get(v) == 1 for v in passed) and not reads & made \
        and not (passed and sliced and stored)  # (then iteration e may touch another's element: only sums commute)


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
    return _chain(b, P.and_, tests)


def _sum(b: Builder, values: list[Atom]) -> Atom:
    return _chain(b, P.add, values)


def _chain(b: Builder, prim: P.Primitive, atoms: list[Atom]) -> Atom:
    """``a0 op a1 op …`` (left to right), emitted into `b`."""
    result = atoms[0]
    for more in atoms[1:]:
        result = b.emit(prim, [result, more])
    return result


def _matrix_loop(stmt: Eqn, region: Atom | None, value: Var, tree: list[Eqn], rows: Atom, cols: Atom,
                 offsets: list[Atom] | None = None) -> ForRange:
    """``for e in range(rows): for f in range(cols)`` carrying the updated array (or the partial
    sum): a matrix operand read at [e, f], a vector at [f] (a row), or where it is spread along
    the rows, at [e]; a slice region's elements from its `offsets` on."""
    e, f = Var("e", I64), Var("f", I64)
    outer, carried = _carried(stmt, region), _carried(stmt, region)
    body = Builder(stmt.loc)
    scalars: dict = {}
    reads: dict = {}  # (operand, its indices) → its element, read once

    def element(a: Atom, index: tuple) -> Atom:
        if (a, index) not in reads:
            reads[a, index] = body.emit(P.getitem, [a, *index], spec=("i",) * len(index))
        return reads[a, index]
    for eqn in tree:
        if eqn.prim is P.expand_to:  # (the vector itself, computed before the loop)
            scalars[eqn.outs[0]] = element(eqn.ins[0], (e,) if _spread_axis(eqn) == 0 else (f,))
            continue
        operands = [scalars[a] if a in scalars else element(a, (e, f) if a.type.ndim == 2 else (f,))
                    if a.type.is_array else a for a in eqn.ins]
        scalars[eqn.outs[0]] = body.emit(eqn.prim, operands, eqn.outs[0].name, **eqn.params)
    summed = _summed_axis(stmt)
    result = _updated(body, stmt, carried, [e, f] if summed is None else [(f, e)[summed]], scalars[value], offsets)
    inner = ForRange([Var(carried.name, carried.type)], const(0), cols, const(1), [outer],
                     Block([f, carried], body.stmts, [result]), stmt.loc)
    init = const(0.0) if region is None else region
    out = Var(stmt.outs[0].name, stmt.outs[0].type)
    return ForRange([out], const(0), rows, const(1), [init], Block([e, outer], [inner], list(inner.outs)), stmt.loc)


def _carried(stmt: Eqn, region: Atom | None) -> Var:
    """The value an element loop carries: the array it updates (the vector of sums, for sums
    over an axis), or the partial sum."""
    return Var(region.name, region.type) if region is not None else Var(stmt.outs[0].name, stmt.outs[0].type)


def _updated(body: Builder, stmt: Eqn, carried: Var, at: list[Var], element: Atom,
             offsets: list[Atom] | None = None) -> Atom:
    """What an element loop's body gives back: the sum so far, or the array with `element` added
    (subtracted, stored) at the loop indices `at` (for a slice region, each from its slice's
    offset)."""
    if offsets is not None:
        index, spec = _region_index(body, stmt, offsets, at)
        return body.emit(stmt.prim, [carried, *index, element], carried.name, spec=spec)
    if stmt.prim is P.sum and carried.type.is_array:
        return body.emit(P.index_add, [carried, *at, element], carried.name, spec=("i",) * len(at))
    if stmt.prim in FUSED:  # (a matrix made element by element)
        return body.emit(P.setitem, [carried, *at, element], carried.name, spec=("i",) * len(at))
    if stmt.prim is P.sum:
        return body.emit(P.add, [carried, element], carried.name)
    if stmt.prim is P.accumulate:
        return body.emit(P.index_add, [carried, *at, element], carried.name, spec=("i",) * len(at))
    return body.emit(stmt.prim, [carried, *stmt.ins[1:-1], *at, element], carried.name,
                     spec=stmt.params["spec"] + ("i",) * len(at))


def _element_loop(stmt: Eqn, region: Atom | None, value: Var, tree: list[Eqn], length: Atom,
                  offset: Atom | None = None) -> ForRange:
    """``for e in range(length)`` carrying the updated array (or the partial sum); a slice
    region's elements from `offset` on."""
    e = Var("e", I64)
    carried = _carried(stmt, region)
    body = Builder(stmt.loc)
    scalars: dict = {}
    for leaf in _leaves(tree):
        scalars[leaf] = body.emit(P.getitem, [leaf, e], spec=("i",)) if leaf.type.is_array else leaf
    for eqn in tree:
        scalars[eqn.outs[0]] = body.emit(eqn.prim, [scalars[a] for a in eqn.ins], eqn.outs[0].name, **eqn.params)
    result = _updated(body, stmt, carried, [e], scalars[value], None if offset is None else [offset])
    init = const(0.0) if region is None else region
    out = Var(stmt.outs[0].name, stmt.outs[0].type)
    return ForRange([out], const(0), length, const(1), [init], Block([e, carried], body.stmts, [result]), stmt.loc)
