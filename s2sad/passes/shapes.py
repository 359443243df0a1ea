"""Shape facts, and the broadcasts they make unnecessary.

Derivative rules cannot see shapes, so they broadcast defensively: the adjoint of ``np.sum(x)``
is ``np.full(x.shape, g)``, the adjoint of ``x * y`` passes through ``unbroadcast(·, x.shape)``,
and a tangent is spread with ``broadcast_like``. Where two values are known to have the same
shape, these do nothing but allocate, and are removed::

    t_bar = np.full(d.shape, r2_bar)
    d_bar = unbroadcast(t_bar * d, d.shape)     →     d_bar = r2_bar * d

    z_dot = broadcast_like(mu_dot, z) + s       →     z_dot = mu_dot + s     (s shaped like z)

A value's *shape root* is a value with the same shape: itself, or, following elementwise
equations whose array operands share one root, stores, allocations of ``y.shape``, the
broadcasts above, and rows (``pos[i]`` and ``pos[j]`` have one shape), an earlier value. A value carried through a loop has its initial value's
root when the loop body keeps that shape (checked, not assumed). Values with the same root have
the same shape. ``fits_shape(x, like)`` (a check made at run time, see `guard_carried_shapes`)
tells that x broadcasts to like's shape, so that ``u + x * lap`` keeps the shape of u and lap.

A value whose shape is not a root's has a *key* that says how its shape is made from others:
``W @ h`` has (W.shape[0],) whatever h is, ``Wx @ x + Wh @ h + b`` the broadcast of three such
shapes, ``z[H:2 * H]`` that slice of z's shape. A key naming only values bound before a loop is
the same at every iteration (`invariant`): the reverse sweep gives such a value a tape of rows of
that shape, computed before the loop (`shape_of_key`), rather than a ragged tape. A carried array
that the body combines, elementwise, with such values is checked once before the loop to keep
its shape (``keeps_shape``, see `_insert_keeps`).
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.aliases import Aliases
from ..ir.builder import Builder, const, loop_runs
from ..ir.core import Atom, Block, Const, Eqn, ForRange, Function, Var, While, block_defs, substitute, walk

# Primitives whose result has the broadcast shape of their operands: those typed as elementwise
# operations, and a few typed otherwise.
ELEMENTWISE = {p for p in P.ALL.values() if p.typer in (P.elementwise, P.floating, P.boolean)} \
    | {P.where, P.accumulate, P.copy, P.neg}
_COMBINING = {P.add, P.sub, P.mul, P.div, P.lt, P.le, P.gt, P.ge, P.eq, P.ne}  # where a spread scalar may stay one
_SHAPED_LIKE_FIRST = {P.setitem, P.index_add, P.index_sub, P.add_outer, P.zeros_like, P.roll, P.triu, P.tril}
_ALLOCATIONS = {P.full: 0, P.unbroadcast: 1, P.expand_to: 1, P.zeros: 0, P.ones: 0, P.empty: 0,
                P.reuse: 1}  # → shape operand


def definitions_of(block: Block) -> dict:
    """Each value bound in `block` (nested regions too) → the statement binding it; a loop's
    carried parameters and results map to the loop."""
    found: dict = {}
    for stmt in walk(block):
        for out in stmt.outs:
            found[out] = stmt
        if isinstance(stmt, (ForRange, While)):
            for region in stmt.blocks():
                for p in _carried(stmt, region):
                    found[p] = stmt
    return found


def _carried(loop, region: Block) -> list[Var]:
    return region.params[1:] if isinstance(loop, ForRange) else region.params


class ShapeRoots:
    """``roots(v)``: the shape root of `v`, for every value bound in `block` (and in the block
    `outer` was computed for, which encloses it). Computed in one pass in program order; a loop's
    body is revisited when a carried value turns out not to keep its initial shape."""

    def __init__(self, block: Block, outer: "ShapeRoots | None" = None, twins=()):
        self.definitions = (outer.definitions if outer else {}) | definitions_of(block)
        self.twin_of = (dict(outer.twin_of) if outer else {}) | {d: x for x, d in twins}  # see Function.twins
        self.root: dict = dict(outer.root) if outer else {}
        self.rows: dict = dict(outer.rows) if outer else {}  # x[i1, …, in] → (root of x, n)
        self.sliced: dict = dict(outer.sliced) if outer else {}  # x[1:] → (root of x, extents)
        self.fits: dict = dict(outer.fits) if outer else {}  # v → a root whose shape v broadcasts to
        self.formed: dict = dict(outer.formed) if outer else {}  # v → its shape's key, see `formed_key`
        self.kept: dict = dict(outer.kept) if outer else {}  # keeps_shape's x → the key of its checked shape
        self.equal: dict = dict(outer.equal) if outer else {}  # a key checked equal to another (keeps_shape)
        self.stacked: dict = dict(outer.stacked) if outer else {}  # a tape of rows → the key of its rows' shape
        self.first_results: dict = {}  # id(loop) → the keys of its results, every carried shape assumed kept
        self.failed: dict = {}  # id(loop) → (loop, indices of the carried values that change shape)
        self.params = (outer.params if outer else set()) | set(block.params)
        self._block(block)

    def __call__(self, v: Atom) -> Atom:
        return self.root.get(v, v) if isinstance(v, Var) else v

    def key(self, v: Atom):
        """Equal for values of equal shape: the root, or for a row ``x[i]`` (x's root, 1), since
        every row of x has one shape; a derivative has the key of the value it differentiates."""
        for _ in range(len(self.twin_of) + 1):
            root = self(v)
            twin = self.twin_of.get(v, self.twin_of.get(root))
            if twin is None or twin not in self.root and twin not in self.params:  # (a value this code no longer has)
                return self._own_key(root)
            v = twin
        return self(v)

    def row_key(self, x: Atom, depth: int):
        """The key of the rows of x at `depth` (``x[i]`` for 1, ``x[i, j]`` for 2): the shape of a
        tape's rows for its rows, (x's key, depth) otherwise, since every row of x has one shape."""
        if depth == 1 and self(x) in self.stacked:
            return self.stacked[self(x)]
        return self.key(x), depth

    def _own_key(self, root: Atom):
        if root in self.sliced:
            base, extents = self.sliced[root]
            key = self.key(base), extents
        else:
            key = self.formed.get(root) or self.rows.get(root, root)
        return self.equal.get(key, key)

    def tuple_key(self, t: Atom):
        """The key of the shape a tuple is (``y.shape``, ``(W.shape[0],)``, broadcasts of those),
        or None: `shape_of_key` writes a key as such a tuple, and this reads it back."""
        eqn = self.definitions.get(t)
        if not isinstance(eqn, Eqn):
            return None
        if eqn.prim is P.shape:
            return self.key(eqn.ins[0])
        if eqn.prim in (P.broadcast_shapes, P.joined_shape):
            parts = [self.tuple_key(a) for a in eqn.ins]
            return None if None in parts else _joined(parts)
        if eqn.prim is P.make_tuple and eqn.ins:
            dims = []
            for item in eqn.ins:
                d = self.definitions.get(item)
                if not (isinstance(d, Eqn) and d.prim is P.getitem and d.ins[0].type.kind == "tuple"
                        and len(d.ins) == 2 and isinstance(d.ins[1], Const) and type(d.ins[1].value) is int):
                    return None
                whole = self.tuple_key(d.ins[0])
                if whole is None or not 0 <= d.ins[1].value < d.ins[0].type.ndim:
                    return None
                dims.append((whole, d.ins[1].value))
            return _dims_key(dims)
        return None

    def same(self, a: Atom, b: Atom) -> bool:
        return self.key(a) == self.key(b)

    def shape_source(self, shape: Atom) -> Atom | None:
        """The value whose shape `shape` is: y for ``y.shape``, ``(y.shape[0], y.shape[1])``, or
        ``y.shape[0]`` for a vector y."""
        eqn = self.definitions.get(shape)
        if isinstance(eqn, Eqn) and eqn.prim is P.shape:
            return eqn.ins[0]
        dims = eqn.ins if isinstance(eqn, Eqn) and eqn.prim is P.make_tuple else [shape]
        sources = [self._dim_of(d, k) for k, d in enumerate(dims)]
        if sources and sources[0] is not None and all(s is sources[0] for s in sources) \
                and sources[0].type.ndim == len(dims):
            return sources[0]
        return None

    def _dim_of(self, d: Atom, k: int) -> Atom | None:
        eqn = self.definitions.get(d)
        if isinstance(eqn, Eqn) and eqn.prim is P.getitem and isinstance(eqn.ins[1], Const) \
                and eqn.ins[1].value == k:
            shape = self.definitions.get(eqn.ins[0])
            if isinstance(shape, Eqn) and shape.prim is P.shape:
                return shape.ins[0]
        return None

    def _block(self, block: Block) -> None:
        for stmt in block.stmts:
            if isinstance(stmt, Eqn):
                for out in stmt.outs:
                    self.root[out] = self._eqn_root(stmt, out)
            elif isinstance(stmt, (ForRange, While)):
                self._loop(stmt)
            else:  # an if: a result has a root when both branches agree on it
                for region in stmt.blocks():
                    self._block(region)
                for out, a, b in zip(stmt.outs, stmt.then.results, stmt.orelse.results):
                    self.root[out] = self(a) if self(a) is self(b) else out

    def _eqn_root(self, eqn: Eqn, v: Var) -> Atom:
        if not v.type.is_array:
            return v
        if eqn.prim in ELEMENTWISE:
            return self._elementwise_root(eqn, v)
        if eqn.prim is P.fits_shape:
            self.fits[v] = self(eqn.ins[1])
            return self(eqn.ins[0])
        if eqn.prim is P.keeps_shape:
            checked = self.tuple_key(eqn.ins[1])
            if checked is not None:
                self.kept[v] = checked
                self.equal.setdefault(checked, self.key(eqn.ins[0]))
            return self(eqn.ins[0])
        if eqn.prim is P.matmul:
            key = self._product_key(eqn)
            if key is not None:
                self.formed[v] = key
            return v
        if eqn.prim in _SHAPED_LIKE_FIRST:
            return self(eqn.ins[0])
        if eqn.prim is P.tape and len(eqn.ins) == 2:  # (n rows of the shape its second operand is, or has)
            like = eqn.ins[1]
            key = self.tuple_key(like) if eqn.params.get("shaped") else self.key(like) if like.type.is_array else None
            if key is not None:
                self.stacked[v] = key
            return v
        if eqn.prim is P.getitem and all(kind == "i" for kind in eqn.params["spec"]) \
                and not any(a.type.is_array for a in eqn.ins[1:]):
            depth = len(eqn.params["spec"])
            if depth == 1 and self(eqn.ins[0]) in self.stacked:  # (a tape's row: the shape of what it stores)
                self.formed[v] = self.row_key(eqn.ins[0], depth)
            else:
                self.rows[v] = self.row_key(eqn.ins[0], depth)
            return v
        if eqn.prim is P.getitem:
            return self._slice_root(eqn, v)
        if eqn.prim is P.broadcast_like:
            return self(eqn.ins[1])
        if eqn.prim is P.concatenate:
            return self._joined_root(eqn, v)
        if eqn.prim in _ALLOCATIONS:
            shape = eqn.ins[_ALLOCATIONS[eqn.prim]]
            source = self.shape_source(shape)
            if source is not None and source.type.ndim == v.type.ndim:
                return self(source)
            key = self.tuple_key(shape) if shape.type.kind == "tuple" and shape.type.ndim == v.type.ndim else None
            if key is not None and eqn.prim is not P.expand_to:
                self.formed[v] = key
            return v
        return v

    def _product_key(self, eqn: Eqn):
        """The key of ``a @ b``'s shape, for vectors and matrices: (a.shape[0],), (b.shape[1],)
        or (a.shape[0], b.shape[1]), whatever the values of a and b."""
        a, b = eqn.ins
        if not (a.type.is_array and b.type.is_array) or a.type.ndim not in (1, 2) or b.type.ndim not in (1, 2):
            return None
        dims = ([(self.key(a), 0)] if a.type.ndim == 2 else []) + ([(self.key(b), 1)] if b.type.ndim == 2 else [])
        return _dims_key(dims) if dims else None

    def _slice_root(self, eqn: Eqn, v: Var) -> Atom:
        """A slice with constant bounds (``x[1:]``, ``x[:-1]``, ``x[:1]``) has the key (key of x,
        extents), see `slice_extents`; two such slices of arrays of one shape have one shape."""
        extents = slice_extents(eqn, bounds=True)
        if extents is None or v.type.ndim != eqn.ins[0].type.ndim:
            return v
        if all(e == _WHOLE for e in extents):
            return self(eqn.ins[0])
        self.sliced[v] = (self(eqn.ins[0]), extents)
        return v

    def _joined_root(self, eqn: Eqn, v: Var) -> Atom:
        """``np.concatenate((x[:k], z))`` with z shaped like ``x[k:]`` (or the other way round,
        ``x[-k:]`` and ``x[:-k]``) has the shape of x: min(n, k) + max(0, n - k) = n."""
        axis = eqn.params.get("axis", 0)
        if len(eqn.ins) != 2 or any(a.type.ndim != v.type.ndim for a in eqn.ins) or not isinstance(axis, int):
            return v
        keys = [self.key(a) for a in eqn.ins]
        if not all(isinstance(k, tuple) and len(k) == 2 and isinstance(k[1], tuple) for k in keys):
            return v
        (base, first), (other, second) = keys
        axis %= v.type.ndim
        rest_whole = all(e == _WHOLE for k, e in enumerate(first) if k != axis) and first[:axis] == second[:axis] \
            and first[axis + 1:] == second[axis + 1:]
        kinds = {first[axis][0], second[axis][0]}
        if base != other or not rest_whole or kinds != {"head", "trim"} or first[axis][1] != second[axis][1]:
            return v
        return base  # (x's root: the operands may be derivatives, keyed by the slices they differentiate)

    def _elementwise_root(self, eqn: Eqn, v: Var) -> Atom:
        """The root of the operands of v's rank when they share one and every other array operand
        is known to broadcast to it (`fits`); else v (and, when every operand fits one root, v
        fits it too)."""
        arrays = [a for a in eqn.ins if a.type.is_array]
        exact = [a for a in arrays if a not in self.fits]
        keys = {self.key(a) for a in exact} | {self.key(self.fits[a]) for a in arrays if a in self.fits}
        if len(keys) != 1:
            if len(exact) == len(arrays):  # (the broadcast of their shapes)
                self.formed[v] = _joined(keys)
            return v
        if not exact:
            self.fits[v] = self.fits[arrays[0]]
            return v
        return self(exact[0]) if all(a.type.ndim == v.type.ndim for a in exact) else v

    def _loop(self, loop) -> None:
        """Assume each carried value keeps its initial value's root; check the body's results,
        and revisit the body without the assumptions that fail."""
        assumed = [self(init) for init in loop.init]  # None: the carried value is its own root
        first = True
        while True:
            for region in loop.blocks():
                for p, a in zip(_carried(loop, region), assumed):
                    self.root[p] = p if a is None else a
                self._block(region)
            if first:
                self.first_results[id(loop)] = [self.key(r) for r in loop.body.results]
                first = False
            failed = [k for k, (a, r) in enumerate(zip(assumed, loop.body.results))
                      if a is not None and not self.same(r, a) and not self._kept(loop.init[k], r)]
            if not failed:
                break
            for k in failed:
                assumed[k] = None
        self.failed[id(loop)] = (loop, [k for k, a in enumerate(assumed) if a is None and loop.init[k].type.is_array])
        for out, a in zip(loop.outs, assumed):
            self.root[out] = out if a is None else a

    def _kept(self, init: Atom, result: Atom) -> bool:
        """Was `init` checked (keeps_shape) to have the shape the body gives `result`?"""
        return init in self.kept and self.kept[init] == self.key(result)


def root_twins(fn: Function, roots: ShapeRoots) -> None:
    """Have each derivative of `fn.twins` be the twin of its value's shape root (a value of the
    same shape, bound earlier), so that the fact survives passes that remove the value itself (an
    elementwise expression computed into its place by element loops)."""
    fn.twins[:] = [(roots(x), d) for x, d in fn.twins]


# Keys of shapes that are not the shape of a value at hand (ShapeRoots.formed): ("dims", ((key, axis),
# ...)), the shape made of those extents of shapes (``(W.shape[0],)`` for ``W @ h``), and
# ("joined", keys), the broadcast of shapes (``W @ h + b``). Values of equal keys have equal shapes;
# a key whose values are bound before a loop is the same at every iteration of it (`invariant`).

def _joined(keys) -> object:
    parts: set = set()
    for k in keys:
        parts |= k[1] if isinstance(k, tuple) and k[:1] == ("joined",) else {k}
    return next(iter(parts)) if len(parts) == 1 else ("joined", frozenset(parts))


def _dims_key(dims: list):
    """The key of the shape made of `dims`, (key, axis) each: the key itself for all its axes in
    order, and (key, n) for its axes from n on (the shape of its rows, see ShapeRoots.rows)."""
    base = dims[0][0]
    start = dims[0][1]
    if all(k == base for k, _ in dims) and [a for _, a in dims] == list(range(start, start + len(dims))) \
            and key_ndim(base) == start + len(dims):
        return base if start == 0 else (base, start)
    return ("dims", tuple(dims))


def key_ndim(key) -> int | None:
    """How many axes the shape `key` has (None: not known)."""
    if isinstance(key, (Var, Const)):
        return key.type.ndim if key.type.is_array else None
    if key[0] == "joined":
        counts = [key_ndim(k) for k in key[1]]
        return None if None in counts else max(counts)
    if key[0] == "dims":
        return len(key[1])
    base, rest = key
    if isinstance(rest, tuple):  # (sliced)
        return len(rest)
    n = key_ndim(base)  # (rows)
    return None if n is None else n - rest


def key_vars(key) -> set:
    """The values a key names: its shape is the same wherever they are."""
    if isinstance(key, Var):
        return {key}
    if isinstance(key, (tuple, frozenset)):
        return set().union(*(key_vars(k) for k in key))
    return set()


def invariant(key, loop) -> bool:
    """Is the shape `key` the same at every iteration of `loop` (no value it names is bound in it)?"""
    return not key_vars(key) & block_defs(loop.body) and not any(key_vars(key) & set(r.params) for r in loop.blocks())


def scope_before(block: Block, target, outer: frozenset = frozenset()) -> set | None:
    """The values bound where `target` (a statement in `block` or in a region nested in it) runs,
    before it; None when it is not there."""
    seen = set(outer) | set(block.params)
    for stmt in block.stmts:
        if stmt is target:
            return seen
        for region in stmt.blocks():
            found = scope_before(region, target, frozenset(seen))
            if found is not None:
                return found
        seen.update(stmt.outs)
    return None


def _order(key) -> str:
    """A key written out, to emit the parts of a broadcast in a fixed order."""
    if isinstance(key, Var):
        return f"v{key.id:09d}"
    if isinstance(key, Const):
        return f"c{key.value!r}"
    if isinstance(key, frozenset):
        return "{" + ",".join(sorted(_order(k) for k in key)) + "}"
    if isinstance(key, tuple):
        return "(" + ",".join(_order(k) for k in key) + ")"
    return repr(key)


def shape_of_key(key, b: Builder, available, made: dict | None = None) -> Atom | None:
    """The shape `key` stands for, computed into `b` from values for which `available` holds (the
    values bound before a loop), or None when it cannot be; `ShapeRoots.tuple_key` reads it back
    as `key`. A slice of a shape not at hand is taken of an uninitialised array of that shape.
    `made`: the shapes computed into `b` already, by key."""
    made = {} if made is None else made
    if key not in made:
        made[key] = _shape_of_key(key, b, available, made)
    return made[key]


def _shape_of_key(key, b: Builder, available, made: dict) -> Atom | None:
    if isinstance(key, Var):
        return b.emit(P.shape, [key]) if key.type.is_array and available(key) else None
    if not isinstance(key, tuple):
        return None
    if key[0] == "joined":
        parts = [shape_of_key(k, b, available, made) for k in sorted(key[1], key=_order)]
        if None in parts:
            return None
        total = parts[0]
        for part in parts[1:]:
            total = b.emit(P.joined_shape, [total, part], "shape")
        return total
    if key[0] == "dims":
        items = []
        for k, axis in key[1]:
            whole = shape_of_key(k, b, available, made)
            if whole is None:
                return None
            items.append(b.emit(P.getitem, [whole, const(axis)], "n", spec=("i",)))
        return b.emit(P.make_tuple, items, "shape")
    base, rest = key
    if isinstance(rest, int):  # (rows)
        whole, n = shape_of_key(base, b, available, made), key_ndim(base)
        if whole is None or n is None or rest >= n:
            return None
        return b.emit(P.make_tuple, [b.emit(P.getitem, [whole, const(k)], "n", spec=("i",)) for k in range(rest, n)],
                      "shape")
    bounds = []
    for extent in rest:
        if extent[0] == "bounds":
            if not all(isinstance(a, Const) or available(a) for a in extent[1:]):
                return None
            bounds += [extent[1], extent[2], const(None)]
        else:
            kind, k = extent
            bounds += [const(k), const(None), const(None)] if kind == "trim" else [const(None), const(k), const(None)]
    if isinstance(base, Var) and base.type.is_array and available(base):
        array = base
    else:
        whole = shape_of_key(base, b, available, made)
        if whole is None or whole.type.ndim != len(rest):
            return None
        array = b.emit(P.empty, [whole], "like")
    view = b.emit(P.getitem, [array, *bounds], "like", spec=("s",) * len(rest))
    return b.emit(P.shape, [view], "shape")


_WHOLE = ("trim", 0)


def slice_extents(eqn: Eqn, bounds: bool = False) -> tuple | None:
    """How a basic slice with constant bounds and step 1 cuts each axis of an array of extent n:
    ``("trim", k)``, max(0, n - k) elements (``x[a:-b]``: k = a + b; ``x[:]``: k = 0), or
    ``("head", k)``, min(n, k) elements (``x[:k]``, ``x[-k:]``); None for other indexing. With
    `bounds`, an axis sliced otherwise with step 1 is ``("bounds", start, stop)``, the operands
    (``z[H:2 * H]``: its extent is the same for the same n and the same values of the bounds)."""
    spec, operands = eqn.params["spec"], eqn.ins[1:]
    if any(kind != "s" for kind in spec) or len(spec) > eqn.ins[0].type.ndim:
        return None
    slices = [operands[3 * k:3 * k + 3] for k in range(len(spec))]
    extents = [_extent(*[a.value if isinstance(a, Const) else a for a in s]) for s in slices]
    if bounds:
        extents = [e if e is not None or not _unit_step(s) else ("bounds", s[0], s[1]) for e, s in zip(extents, slices)]
    extents += [_WHOLE] * (eqn.ins[0].type.ndim - len(spec))
    return None if None in extents else tuple(extents)


def _unit_step(bounds: list) -> bool:
    return isinstance(bounds[2], Const) and bounds[2].value in (None, 1) and all(
        isinstance(a, Var) and a.type.is_scalar and a.type.kind == "i64"
        or isinstance(a, Const) and (a.value is None or type(a.value) is int) for a in bounds[:2])


def _extent(start, stop, step):
    """See `slice_extents`: one axis's ``start:stop:step``, each an int or None when constant."""
    if step not in (None, 1) or not all(b is None or type(b) is int for b in (start, stop)):
        return None
    if (start is None or start >= 0) and (stop is None or stop < 0):
        return "trim", (start or 0) - (stop or 0)
    if start is None and stop >= 0:
        return "head", stop
    if start is not None and start < 0 and stop is None:
        return "head", -start
    return None


def guard_carried_shapes(block: Block, active: set) -> None:
    """Let the shape facts show that an active carried array keeps its initial value's shape when
    the loop combines it, elementwise, with arrays from outside the loop, by checking once, before
    the loop, that those arrays broadcast to that shape (else the array would change shape in
    the loop, which the reverse sweep refuses anyway)::

        for t in range(steps):                      c = fits_shape(r * kappa, u0)
            u = u + (r * kappa) * lap       →       for t in range(steps):
                                                        u = u + c * lap
    """
    while True:
        roots = ShapeRoots(block)
        checks, kept = {}, []
        for loop, failed in roots.failed.values():
            for k in failed:
                if _carried(loop, loop.body)[k] in active:
                    found = _checks_keeping(loop, k, roots)
                    checks.update(found)
                    if not found:
                        kept.append((loop, k))
        # (one check per loop at a time: the next carried value's shape is read knowing this one's)
        inserted: set = set()
        for loop, k in kept:
            if id(loop) not in inserted and _insert_keeps(block, loop, k, roots, active):
                inserted.add(id(loop))
        if not checks and not any(inserted):
            return
        for loop, outside, like in checks.values():
            _insert_check(block, loop, outside, like, active)


def _insert_keeps(block: Block, loop, k: int, roots: ShapeRoots, active: set) -> bool:
    """Otherwise, when the shape the body gives carried value k (every carried value taken to keep
    its shape) is its own broadcast with shapes computed from values bound before the loop, check
    before the loop that it is the initial value's (keeps_shape; else broadcasting stretches it,
    which reverse mode refuses anyway, as it refuses the arrays of `_checks_keeping`); then by
    induction every iteration keeps it::

        for t in range(n):                          c = keeps_shape(c0, joined_shape(c0.shape, (W.shape[0],)))
            c = c * np.tanh(W @ x[t])       →       for t in range(n): ...

    True when the check was inserted."""
    init, result = loop.init[k], roots.first_results.get(id(loop), [None] * (k + 1))[k]
    if result is None or init in roots.kept or not isinstance(init, Var) or not invariant(result, loop) \
            or key_ndim(result) != init.type.ndim or _stretchable(init, roots):
        return False
    if not (isinstance(result, tuple) and result[0] == "joined" and roots.key(init) in result[1]):
        return False  # (only an array that broadcasting would stretch, which reverse mode refuses anyway)
    scope = scope_before(block, loop)
    if scope is None:
        return False
    b = Builder(loop.loc)
    runs = loop_runs(loop, b)
    shape = shape_of_key(result, b, lambda a: a in scope)
    if runs is None or shape is None:
        return False
    checked = b.emit(P.keeps_shape, [init, shape, runs], init.name)
    return _insert_before_loop(block, loop, b.stmts, {init: checked}, k, active)


def _insert_before_loop(block: Block, loop, stmts: list, mapping: dict, k: int, active: set) -> bool:
    """Put `stmts` just before `loop` (in `block` or a region nested in it), its initial value k
    replaced by mapping's."""
    for at, stmt in enumerate(block.stmts):
        if stmt is loop:
            block.stmts[at:at] = stmts
            old = loop.init[k]
            loop.init[k] = mapping[old]
            if old in active:
                active.add(mapping[old])
            return True
        if any(_insert_before_loop(region, loop, stmts, mapping, k, active) for region in stmt.blocks()):
            return True
    return False


def _checks_keeping(loop, k: int, roots: ShapeRoots) -> dict:
    """The checks (keyed by loop and operand: (loop, operand, root)) that make carried value k of
    `loop` keep the shape of its initial value's root, or none when that cannot be shown."""
    param, like = _carried(loop, loop.body)[k], roots(loop.init[k])
    if _stretchable(loop.init[k], roots):
        return {}  # (broadcasting may stretch it, as NumPy would: a ragged tape holds it)
    inside = definitions_of(Block([], [loop], []))
    found = _broadcast_into(loop.body.results[k], like, param, inside, roots)
    if found is None or not found[1]:
        return {}
    return {(id(loop), v): (loop, v, like) for v in found[0]}


def _stretchable(init: Atom, roots: ShapeRoots) -> bool:
    """Is `init` made with an axis of length 1 written as such (``np.zeros(1)``, ``np.ones((1,
    n))``), which the loop may mean broadcasting to stretch (``h = np.tanh(W @ x + h)``)?"""
    eqn = roots.definitions.get(init)
    if not (isinstance(eqn, Eqn) and eqn.prim in (P.zeros, P.ones, P.empty, P.full)):
        return False
    shape = eqn.ins[0]
    made = roots.definitions.get(shape)
    items = made.ins if isinstance(made, Eqn) and made.prim is P.make_tuple else [shape]
    return any(isinstance(a, Const) and (a.value == 1 or isinstance(a.value, tuple) and 1 in a.value)
               for a in items)


def _broadcast_into(v: Atom, like: Atom, param: Var, inside: dict, roots: ShapeRoots):
    """Why `v` broadcasts to the shape of `like` in the loop `inside` describes, taking `param`
    to have that shape: (arrays from outside the loop that must broadcast to it, whether v has
    exactly that shape), or None when it may not."""
    if not v.type.is_array:
        return [], False
    if v is param or roots.same(v, like):
        return [], True
    if v in roots.fits and roots.same(roots.fits[v], like):
        return [], False
    if v not in inside:
        return ([v], False) if v.type.ndim <= like.type.ndim else None
    eqn = roots.definitions.get(v)
    if isinstance(eqn, Eqn) and eqn.prim in _SHAPED_LIKE_FIRST:
        return _broadcast_into(eqn.ins[0], like, param, inside, roots)
    if not (isinstance(eqn, Eqn) and eqn.prim in ELEMENTWISE):
        return None
    parts = [_broadcast_into(a, like, param, inside, roots) for a in eqn.ins]
    if None in parts:
        return None
    exact = v.type.ndim == like.type.ndim and any(e for _, e in parts)
    return [c for checks, _ in parts for c in checks], exact


def _insert_check(block: Block, loop, outside: Var, like: Atom, active: set) -> bool:
    """``c = fits_shape(outside, like, runs)`` just before `loop` (in `block` or a region nested
    in it), the loop reading c instead of `outside`. True when the loop was found."""
    for k, stmt in enumerate(block.stmts):
        if stmt is loop:
            b = Builder(loop.loc)
            runs = loop_runs(loop, b)
            checked = b.emit(P.fits_shape, [outside, like] + ([] if runs in (None, const(True)) else [runs]),
                             outside.name)
            block.stmts[k:k] = b.stmts
            for region in loop.blocks():
                substitute(region, {outside: checked})
            if outside in active:
                active.add(checked)
            return True
        if any(_insert_check(region, loop, outside, like, active) for region in stmt.blocks()):
            return True
    return False


def drop_broadcasts(block: Block, roots: ShapeRoots, movable=lambda root: True) -> None:
    """Remove, in `block` (nested regions too), broadcasts to a shape the value already has, and
    scalars spread over an array only to combine with another of that shape; read shapes and
    sizes off shape roots for which `movable` holds."""
    mapping: dict = {}
    for eqn in [s for s in walk(block) if isinstance(s, Eqn)]:
        eqn.ins = [mapping.get(a, a) for a in eqn.ins]
        if eqn.prim in (P.shape, P.size) and movable(roots(eqn.ins[0])):
            eqn.ins = [roots(eqn.ins[0])]
        elif eqn.prim is P.zeros_like and roots(eqn.ins[0]) not in roots.definitions:
            eqn.ins = [roots(eqn.ins[0])]  # a parameter's shape: the array itself may be overwritten
        elif eqn.prim in _COMBINING:
            _use_scalar(eqn, roots)
        elif eqn.prim in (P.unbroadcast, P.broadcast_like, P.expand_to) and _already_shaped(eqn, roots):
            mapping[eqn.outs[0]] = eqn.ins[0]
    substitute(block, mapping)


def _scalar_spread(a: Atom, roots: ShapeRoots) -> tuple[Atom, Atom] | None:
    """(value, like) when `a` is a scalar spread over the shape of `like`."""
    eqn = roots.definitions.get(a)
    if not isinstance(eqn, Eqn):
        return None
    if eqn.prim is P.full and eqn.ins[1].type.is_scalar:
        like = roots.shape_source(eqn.ins[0])
        return None if like is None else (eqn.ins[1], like)
    if eqn.prim is P.broadcast_like and eqn.ins[0].type.is_scalar:
        return eqn.ins[0], eqn.ins[1]
    return None


def _use_scalar(eqn: Eqn, roots: ShapeRoots) -> None:
    """``np.full(y.shape, c) * y`` → ``c * y`` (and likewise for +, -, /)."""
    out = eqn.outs[0]
    for k in (0, 1):
        spread, other = _scalar_spread(eqn.ins[k], roots), eqn.ins[1 - k]
        if spread and other.type.is_array and other.type.ndim == out.type.ndim and roots.same(spread[1], other):
            eqn.ins[k] = spread[0]
            return


def _already_shaped(eqn: Eqn, roots: ShapeRoots) -> bool:
    g, target = eqn.ins[0], eqn.ins[1]
    if g.type != eqn.outs[0].type or (eqn.prim is P.expand_to and eqn.params.get("axis") is not None):
        return False
    if eqn.prim is not P.broadcast_like:
        target = roots.shape_source(target)
    return target is not None and roots.same(g, target)


def shape_expression(v: Var, roots: ShapeRoots, available, b: Builder) -> Atom | None:
    """``v.shape`` computed from values for which `available` holds, emitting into `b`; None
    when it cannot be. Reads a root's shape, the broadcast of an elementwise equation's operand
    shapes, the shape of the same slice of an available array, or a matrix product's shape."""
    root = roots(v)
    if available(root):
        return b.emit(P.shape, [root])
    eqn = roots.definitions.get(root)
    if not isinstance(eqn, Eqn):
        return None
    if eqn.prim in ELEMENTWISE:
        arrays = list(dict.fromkeys(roots(a) for a in eqn.ins if a.type.is_array))
        shapes = [shape_expression(a, roots, available, b) for a in arrays]
        if None in shapes:
            return None
        total = shapes[0]
        for shape in shapes[1:]:
            total = b.emit(P.broadcast_shapes, [total, shape])
        return total
    if eqn.prim is P.getitem and available(roots(eqn.ins[0])) \
            and all(isinstance(a, Const) or available(a) for a in eqn.ins[1:]):
        view = b.emit(P.getitem, [roots(eqn.ins[0]), *eqn.ins[1:]], **eqn.params)
        return b.emit(P.shape, [view])
    if eqn.prim is P.matmul and eqn.ins[0].type.is_array and eqn.ins[1].type.is_array:
        return _matmul_shape(eqn, roots, available, b)
    return None


def _matmul_shape(eqn: Eqn, roots: ShapeRoots, available, b: Builder) -> Atom | None:
    """(a.shape[0],), (b.shape[1],) or (a.shape[0], b.shape[1]), for a matrix a or b."""
    a, c = eqn.ins
    dims = []
    if a.type.ndim == 2:
        dims.append((a, 0))
    if c.type.ndim == 2:
        dims.append((c, 1))
    if not dims or a.type.ndim > 2 or c.type.ndim > 2:
        return None
    atoms = []
    for operand, k in dims:
        shape = shape_expression(operand, roots, available, b)
        if shape is None:
            return None
        atoms.append(b.emit(P.getitem, [shape, const(k)], spec=("i",)))
    return b.emit(P.make_tuple, atoms)


def simplify_broadcasts(fn: Function) -> Function:
    """The pass: `drop_broadcasts` over the whole function. A shape is not read off an array the
    function updates in place: keeping that array alive would make codegen copy it first."""
    stored = Aliases(fn.body).stored_into(fn.body)
    drop_broadcasts(fn.body, ShapeRoots(fn.body, twins=fn.twins), lambda root: not stored(root))
    return fn
