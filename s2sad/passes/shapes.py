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
"""

from __future__ import annotations

from .. import primitives as P
from ..ir.aliases import Aliases
from ..ir.builder import Builder, const, loop_runs
from ..ir.core import Atom, Block, Const, Eqn, ForRange, Function, Var, While, substitute, walk

# Primitives whose result has the broadcast shape of their operands: those typed as elementwise
# operations, and a few typed otherwise.
ELEMENTWISE = {p for p in P.ALL.values() if p.typer in (P.elementwise, P.floating, P.boolean)} \
    | {P.where, P.accumulate, P.copy, P.neg}
_COMBINING = {P.add, P.sub, P.mul, P.div, P.lt, P.le, P.gt, P.ge, P.eq, P.ne}  # where a spread scalar may stay one
_SHAPED_LIKE_FIRST = {P.setitem, P.index_add, P.index_sub, P.add_outer, P.zeros_like, P.roll, P.triu, P.tril}
_ALLOCATIONS = {P.full: 0, P.unbroadcast: 1, P.expand_to: 1, P.zeros: 0, P.ones: 0, P.empty: 0}  # → shape operand


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

    def _own_key(self, root: Atom):
        if root in self.sliced:
            base, extents = self.sliced[root]
            return self.key(base), extents
        return self.rows.get(root, root)

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
        if eqn.prim in _SHAPED_LIKE_FIRST:
            return self(eqn.ins[0])
        if eqn.prim is P.getitem and all(kind == "i" for kind in eqn.params["spec"]) \
                and not any(a.type.is_array for a in eqn.ins[1:]):
            self.rows[v] = (self.key(eqn.ins[0]), len(eqn.params["spec"]))
            return v
        if eqn.prim is P.getitem:
            return self._slice_root(eqn, v)
        if eqn.prim is P.broadcast_like:
            return self(eqn.ins[1])
        if eqn.prim is P.concatenate:
            return self._joined_root(eqn, v)
        if eqn.prim in _ALLOCATIONS:
            source = self.shape_source(eqn.ins[_ALLOCATIONS[eqn.prim]])
            return self(source) if source is not None and source.type.ndim == v.type.ndim else v
        return v

    def _slice_root(self, eqn: Eqn, v: Var) -> Atom:
        """A slice with constant bounds (``x[1:]``, ``x[:-1]``, ``x[:1]``) has the key (key of x,
        extents), see `slice_extents`; two such slices of arrays of one shape have one shape."""
        extents = slice_extents(eqn)
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
            return v
        if not exact:
            self.fits[v] = self.fits[arrays[0]]
            return v
        return self(exact[0]) if all(a.type.ndim == v.type.ndim for a in exact) else v

    def _loop(self, loop) -> None:
        """Assume each carried value keeps its initial value's root; check the body's results,
        and revisit the body without the assumptions that fail."""
        assumed = [self(init) for init in loop.init]  # None: the carried value is its own root
        while True:
            for region in loop.blocks():
                for p, a in zip(_carried(loop, region), assumed):
                    self.root[p] = p if a is None else a
                self._block(region)
            failed = [k for k, (a, r) in enumerate(zip(assumed, loop.body.results))
                      if a is not None and not self.same(r, a)]
            if not failed:
                break
            for k in failed:
                assumed[k] = None
        self.failed[id(loop)] = (loop, [k for k, a in enumerate(assumed) if a is None and loop.init[k].type.is_array])
        for out, a in zip(loop.outs, assumed):
            self.root[out] = out if a is None else a


_WHOLE = ("trim", 0)


def slice_extents(eqn: Eqn) -> tuple | None:
    """How a basic slice with constant bounds and step 1 cuts each axis of an array of extent n:
    ``("trim", k)``, max(0, n - k) elements (``x[a:-b]``: k = a + b; ``x[:]``: k = 0), or
    ``("head", k)``, min(n, k) elements (``x[:k]``, ``x[-k:]``); None for other indexing."""
    spec, operands = eqn.params["spec"], eqn.ins[1:]
    if any(kind != "s" for kind in spec) or len(spec) > eqn.ins[0].type.ndim:
        return None
    bounds = [operands[3 * k:3 * k + 3] for k in range(len(spec))]
    values = [[a.value if isinstance(a, Const) else a for a in b] for b in bounds]
    extents = [_extent(*b) for b in values] + [_WHOLE] * (eqn.ins[0].type.ndim - len(spec))
    return None if None in extents else tuple(extents)


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
        checks = {}
        for loop, failed in roots.failed.values():
            for k in failed:
                if _carried(loop, loop.body)[k] in active:
                    checks.update(_checks_keeping(loop, k, roots))
        if not checks:
            return
        for loop, outside, like in checks.values():
            _insert_check(block, loop, outside, like, active)


def _checks_keeping(loop, k: int, roots: ShapeRoots) -> dict:
    """The checks (keyed by loop and operand: (loop, operand, root)) that make carried value k of
    `loop` keep the shape of its initial value's root, or none when that cannot be shown."""
    param, like = _carried(loop, loop.body)[k], roots(loop.init[k])
    inside = definitions_of(Block([], [loop], []))
    found = _broadcast_into(loop.body.results[k], like, param, inside, roots)
    if found is None or not found[1]:
        return {}
    return {(id(loop), v): (loop, v, like) for v in found[0]}


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
