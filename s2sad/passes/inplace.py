"""Fewer arrays allocated in compiled loops. Numba allocates a new array for every array
expression; in a loop over small arrays (a stencil's time steps, an integrator's state, the
adjoints of a reverse sweep) those allocations cost more than the arithmetic.

**Updates in place** (`update_in_place`, before passes/fuse.py): ``u = u + e`` whose old `u`
nothing needs afterwards is computed into `u` (an `accumulate`, which codegen prints ``u += e``,
and fuse as an element loop)::

    for t in range(steps):                      u = u0.copy()
        ...                                     for t in range(steps):
        u = u + alpha * lap          →              ...
                                                    for e in range(u.shape[0]):
                                                        u[e] += alpha * lap[e]

* ``a + b`` becomes ``a += b`` (or ``b += a``), and ``a - b`` becomes ``a += -b`` (the same
  number: IEEE defines ``a - b`` as ``a + (-b)``), when the shape facts of `passes.shapes` prove
  the result has the shape of the array updated (the other operand broadcasts into it) and the
  array has the result's type. Neither the operand nor the result may be a temporary that
  codegen prints inside the expression using it, nor the result one that element loops compute
  where they read it (stored, summed): ``u[2:] - 2.0 * u[1:-1] + u[:-2]`` is one array
  expression (or one element loop) already, which allocates once, or none. Codegen still decides: an
  array that may share memory with a value needed afterwards, or with an argument, is not
  updated but added to as before (``a + b``), so the rewrite never changes a value.
* A loop carrying an array it updates so starts from a copy of the initial value when that value
  is an argument, or is still needed during or after the loop (one copy before the loop, rather
  than an array in each iteration), provided nothing in the function stores into that value:
  then no one can tell the copy from the original.

**Values computed into their tapes** (`update_in_place` too): a value the forward sweep stores
on a tape of rows and reads again in the same step is read back from the tape's row, so that the
element loops compute it into the row directly (no array of its own, no copy into the tape)::

    mid = x + 0.5 * h * np.sin(x)               for e in range(x.shape[0]):
    copy_into(tape_mid[k], mid)        →            tape_mid[k, e] = x[e] + t * np.sin(x[e])
    x = x + h * np.sin(mid)                     mid = tape_mid[k]
                                                ...

**Buffers** (`reuse_buffers`, after fuse): an array a loop body makes afresh at every iteration
(``np.empty(n)``, or an elementwise operation whose result is an array of its own, read several
times) is allocated once before the loop, when its shape is known there and nothing of it
outlives the iteration; each iteration computes into it::

    for t in range(n - 1, -1, -1):              lap_bar_buffer = np.empty(u0.shape)
        lap_bar = u_bar * alpha      →          for t in range(n - 1, -1, -1):
        ...                                         lap_bar = lap_bar_buffer
                                                    for e in range(u_bar.shape[0]):
                                                        lap_bar[e] = u_bar[e] * alpha

(``np.zeros(n)`` keeps its allocation: a reused buffer filled with zeros measured 15 % slower over
a mixture's loop of five scores than a fresh array of zeros, though faster for a stencil's two
hundred points, and the sizes are not known here.)

The Python backend keeps NumPy's form.
"""

from __future__ import annotations

from .. import primitives as P
from ..codegen import inlinable
from ..ir.aliases import Aliases, readonly_views
from ..ir.builder import Builder, loop_runs, placeholder
from ..ir.core import (Atom, Block, Const, Eqn, ForRange, Function, If, Var, While, block_defs, region_reads,
                        substitute, walk)
from ..ir.liveness import Liveness
from .fuse import FUSED, fuse_loops
from .shapes import ShapeRoots, scope_before, shape_of_key


def update_in_place(fn: Function) -> Function:
    """`fn` with the updates above, and values computed into their tapes (edited in place)."""
    if any(isinstance(s, Eqn) and s.prim in (P.add, P.sub) and s.outs and _float_array(s.outs[0])
           for s in walk(fn.body)):
        copies = _own_carried(fn)
        updated = _rewrite(fn)
        _drop_unused(copies, updated)
    _into_tapes(fn)
    return fn


def reuse_buffers(fn: Function) -> Function:
    """`fn` with the buffers below (edited in place). Runs after passes/fuse.py, so that an
    operation still making an array is one that element loops do not compute where it is read;
    then it makes the element loops computing such operations into their buffers."""
    if not any(isinstance(s, (ForRange, While)) for s in walk(fn.body)):
        return fn
    stores = _reuse_buffers(fn)
    return fuse_loops(fn, only={id(s) for s in stores}) if stores else fn


def contiguous_operands(fn: Function) -> Function:
    """A matrix product in a loop whose operand is a transpose made before the loop (``X.T``, a
    view whose rows are strided) reads a C-ordered copy of it made once, before the loop: BLAS
    multiplies such an operand at about half the speed when the dimension it shares is short
    (the hand-tracking skinning's (78 × 4) @ (4 × 544) products, 17 → 9 µs each), and the copy
    is one pass over it, once. (Edited in place.)"""
    defined = {s.outs[0]: s for s in walk(fn.body) if isinstance(s, Eqn) and len(s.outs) == 1}
    for block in _blocks(fn):
        for loop in [s for s in block.stmts if isinstance(s, (ForRange, While))]:
            inside = {v for s in walk(loop.body) for v in s.outs}
            users: dict[Var, list[Eqn]] = {}
            for s in walk(loop.body):
                if isinstance(s, Eqn) and s.prim in (P.matmul, P.lanes_matmul):
                    for a in s.ins:
                        made = defined.get(a)
                        if made is not None and made.prim is P.transpose and a not in inside and _float_array(a) \
                                and a.type.ndim == 2:
                            users.setdefault(a, []).append(s)
            for a, products in users.items():
                b = Builder(loop.loc)
                ordered = b.emit(P.copy, [a], a.name)
                block.stmts[block.stmts.index(loop):block.stmts.index(loop)] = b.stmts
                for product in products:
                    product.ins = [ordered if x is a else x for x in product.ins]
    return fn


def _float_array(v: Atom) -> bool:
    return v.type.is_array and v.type.dtype == "f64"


def _blocks(fn: Function) -> list[Block]:
    return [fn.body] + [b for stmt in walk(fn.body) for b in stmt.blocks()]


def _targets(eqn, roots: ShapeRoots) -> list[Var]:
    """The operands `eqn` (``a + b`` or ``a - b`` of float arrays) may be computed into: those of
    the result's type and shape."""
    if not isinstance(eqn, Eqn) or eqn.prim not in (P.add, P.sub) or len(eqn.outs) != 1 or not _float_array(eqn.outs[0]):
        return []
    out = eqn.outs[0]
    operands = eqn.ins if eqn.prim is P.add else eqn.ins[:1]
    return [a for a in operands if isinstance(a, Var) and a.type == out.type and roots.same(out, a)]


# --- loops start from their own copy ----------------------------------------------------------

def _carried(loop) -> list[Var]:
    return loop.body.params[1:] if isinstance(loop, ForRange) else loop.body.params


def _own_carried(fn: Function) -> list[tuple]:
    """Give each loop that updates a carried array (`_updated_in`) a copy of its initial value
    where the value is shared (see the module's docstring). Returns (loop, k, copy equation,
    block, initial value) for each copy made."""
    roots = ShapeRoots(fn.body, twins=fn.twins)
    aliases, live = Aliases(fn.body), Liveness(fn)
    stored = aliases.stored_into(fn.body)
    outside = set(fn.params)
    made = []
    for block in _blocks(fn):
        for loop in [s for s in block.stmts if isinstance(s, (ForRange, While))]:
            needed = (outside | region_reads(loop)) - set(loop.outs)
            after = live.after(loop)
            for k, (p, init) in enumerate(zip(_carried(loop), loop.init)):
                if not (isinstance(init, Var) and init.type == p.type and _float_array(p)) or stored(init) \
                        or not _updated_in(loop.body, p, roots, aliases, live):
                    continue
                if aliases.shared(init, needed) or any(v in after and v not in loop.outs
                                                      for v in aliases.members(aliases.find(init))):
                    b = Builder(loop.loc)
                    own = b.emit(P.copy, [init], p.name)
                    block.stmts.insert(block.stmts.index(loop), b.stmts[0])
                    loop.init[k] = own
                    made.append((loop, k, b.stmts[0], block, init))
    return made


def _updated_in(body: Block, p: Var, roots: ShapeRoots, aliases: Aliases, live: Liveness) -> bool:
    """Does `body` compute ``p + e`` (or ``p - e``) into p's shape where nothing it binds that
    may share p's memory is needed afterwards?"""
    inside = block_defs(body)
    members = [v for v in aliases.members(aliases.find(p)) if v in inside]
    for stmt in body.stmts:
        if p in _targets(stmt, roots):
            after = live.after(stmt)
            if not any(v in after for v in members if v not in stmt.outs):
                return True
    return False


def _drop_unused(copies: list[tuple], updated: set[Var]) -> None:
    """Take back the copies of loops whose carried value ended up not updated in place."""
    for loop, k, eqn, block, init in copies:
        if _carried(loop)[k] not in updated:
            block.stmts.remove(eqn)
            loop.init[k] = init


# --- the updates ------------------------------------------------------------------------------

def _rewrite(fn: Function) -> set[Var]:
    """Make the updates codegen will do in place; the arrays updated."""
    roots = ShapeRoots(fn.body, twins=fn.twins)
    aliases, live, readonly = Aliases(fn.body), Liveness(fn), readonly_views(fn.body)
    pinned, inlined = set(fn.params), inlinable(fn)
    users: dict = {}
    for block in _blocks(fn):
        for r in block.results:
            users.setdefault(r, []).append(None)
        for stmt in block.stmts:
            for a in stmt.ins:
                users.setdefault(a, []).append(stmt)
    updated = set()
    for block in _blocks(fn):
        for stmt in [s for s in block.stmts if isinstance(s, Eqn) and s.outs and s.outs[0] not in inlined
                     and not _computed_in_loops(users.get(s.outs[0], []))]:
            free = [a for a in _targets(stmt, roots) if a not in readonly and a not in inlined
                    and not aliases.shared(a, (live.after(stmt) - set(stmt.outs)) | pinned | _others(stmt, a))]
            if free:
                _accumulate(stmt, free[0], block)
                updated.add(free[0])
    return updated


def _computed_in_loops(users: list) -> bool:
    """Do element loops (passes/fuse.py) compute a value these read where they read it, so that
    it is never an array? (Stores and sums of an elementwise expression; a block's result is not
    among them.)"""
    return bool(users) and all(isinstance(u, Eqn) and (u.prim in FUSED or u.prim in _CONSUMERS) for u in users)


_CONSUMERS = {P.setitem, P.index_add, P.index_sub, P.accumulate, P.sum}


def _others(eqn: Eqn, target: Var) -> set[Var]:
    """The operands of `eqn` besides `target` (``x + x``, ``x + x.T``: updating x would change the
    operand being added)."""
    rest = list(eqn.ins)
    rest.remove(target)
    return {a for a in rest if isinstance(a, Var)}


def _accumulate(eqn: Eqn, target: Var, block: Block) -> None:
    """Turn `eqn` (``a + b`` or ``a - b``) into ``target += other`` in `block`."""
    other = eqn.ins[1] if eqn.ins[0] is target else eqn.ins[0]
    if eqn.prim is P.sub:
        if isinstance(other, Const):
            other = Const(-other.value, other.type)
        else:
            b = Builder(eqn.loc)
            other = b.emit(P.neg, [other])
            block.stmts[block.stmts.index(eqn):block.stmts.index(eqn)] = b.stmts
    eqn.prim, eqn.ins, eqn.params = P.accumulate, [target, other], {}


# --- values computed into their tapes ----------------------------------------------------------

def _into_tapes(fn: Function) -> None:
    """A value the forward sweep stores on a tape of rows (``tape[k] = v``), then reads again in
    the same step, is read from the tape's row instead, so that v has no reader but the store and
    the element loops compute it into the row: no array of its own, no copy. Only where v is an
    elementwise result that no later step reads (a carried value read through the tape would share
    the tape's memory while the next step stores into it) and nothing writes into, on a tape
    stored into once a step."""
    tapes = {s.outs[0] for s in walk(fn.body) if isinstance(s, Eqn) and s.prim is P.tape}
    if not tapes:
        return
    aliases = Aliases(fn.body)
    stored = aliases.stored_into(fn.body)
    for loop in [s for s in walk(fn.body) if isinstance(s, ForRange)]:
        body = loop.body
        stores = [s.ins[0] for s in walk(body) if isinstance(s, Eqn) and s.prim.inplace]
        rows = {p for p, init in zip(_carried(loop), loop.init) if init in tapes and stores.count(p) == 1}
        made = {s.outs[0]: s for s in body.stmts if isinstance(s, Eqn) and s.outs}
        for stmt in list(body.stmts):
            if not (isinstance(stmt, Eqn) and stmt.prim is P.setitem and stmt.ins[0] in rows
                    and stmt.params["spec"] == ("i",)):
                continue
            v = stmt.ins[-1]
            if not (isinstance(v, Var) and _float_array(v) and getattr(made.get(v), "prim", None) in FUSED) \
                    or stored(v) or not _fresh_each_time(v, body, aliases):
                continue
            at = body.stmts.index(stmt) + 1
            row = Var(v.name, v.type)
            later = Block([], body.stmts[at:], [])
            substitute(later, {v: row})
            body.stmts.insert(at, Eqn([row], P.getitem, [stmt.outs[0], stmt.ins[1]], {"spec": ("i",)}, stmt.loc))


# --- buffers for arrays made in every iteration -----------------------------------------------

def _reuse_buffers(fn: Function) -> list[Eqn]:
    """Allocate once, before each loop, the arrays its body makes afresh at every iteration where
    nothing of them outlives the iteration (`_fresh_each_time`); the stores into buffers made."""
    roots = ShapeRoots(fn.body, twins=fn.twins)
    aliases, inlined = Aliases(fn.body), inlinable(fn)
    stored = aliases.stored_into(fn.body)
    where = {id(stmt): block for block in _blocks(fn) for stmt in block.stmts}
    loops = [s for s in walk(fn.body) if isinstance(s, (ForRange, While))]
    stores = []
    for loop in reversed(loops):  # (inner loops first)
        ahead = Builder(loop.loc)  # (the test that the loop runs, and the buffers' shapes)
        test = loop_runs(loop, ahead)
        if test is None or isinstance(test, Const) and not test.value:
            continue
        before = scope_before(fn.body, loop) or set()
        allocations: list[Eqn] = []
        made: dict = {}
        for stmt in list(loop.body.stmts):
            if isinstance(stmt, Eqn) and stmt.outs and stmt.prim.pure \
                    and _fresh_each_time(stmt.outs[0], loop.body, aliases):
                shape = _shape_before(stmt, roots, inlined, before, stored, ahead, made)
                if shape is not None:
                    allocations.append(_use_buffer(stmt, shape, loop.body, stores))
        if allocations:
            block = where[id(loop)]
            at = block.stmts.index(loop)
            block.stmts[at:at] = ahead.stmts + _when(test, allocations, loop.loc)
    return stores


def _fresh_each_time(v: Var, body: Block, aliases: Aliases) -> bool:
    """Is `v` a float array nothing of which is carried to the next iteration or out of the loop?
    (Values bound in a loop body reach the next iteration, or the code after the loop, only
    through the body's results; tuples hold numbers and lists copy their items.)"""
    members = aliases.members(aliases.find(v))
    return _float_array(v) and not any(isinstance(r, Var) and r in members for r in body.results)


def _shape_before(stmt: Eqn, roots: ShapeRoots, inlined: dict, before: set, stored, ahead: Builder,
                  made: dict) -> Atom | None:
    """The shape of the array `stmt` makes, as known before the loop (computed into `ahead`), if
    it may take a buffer: an allocation, or an elementwise operation whose result is an array of
    its own (not a temporary printed inside an expression). The shape is read off values bound
    before the loop that nothing stores into (reading an array that is stored into later, such as
    a tape, would keep its earlier version alive, and codegen would copy it at every store)."""
    out = stmt.outs[0]
    available = lambda a: a in before and not stored(a)  # noqa: E731
    if stmt.prim is P.empty:  # (a shape computed in the body, ``x.shape``, from its key)
        shape = stmt.ins[0]
        if isinstance(shape, Const) or shape in before:
            return shape
        key = roots.tuple_key(shape) if shape.type.kind == "tuple" else None
        return None if key is None else shape_of_key(key, ahead, available, made)
    if stmt.prim not in FUSED or out in inlined or out.type.ndim not in (1, 2):
        return None
    return shape_of_key(roots.key(out), ahead, available, made)


def _use_buffer(stmt: Eqn, shape: Atom, body: Block, stores: list) -> Eqn:
    """Make `stmt` take a buffer of `shape` rather than allocate (an operation: store its value
    into the buffer, the store added to `stores`); the buffer's allocation."""
    out = stmt.outs[0]
    buffer = Var(f"{out.name}_buffer" if out.name else "buffer", out.type)
    if stmt.prim is P.empty:
        stmt.prim, stmt.ins = P.reuse, [buffer, shape]
    else:  # (the operation computed into the buffer: element loops make it so)
        value, fresh = Var("", out.type), Var(out.name, out.type)
        stmt.outs = [value]
        at = body.stmts.index(stmt) + 1
        stores.append(Eqn([out], P.setitem, [fresh, value], {"spec": ()}, stmt.loc))
        body.stmts[at:at] = [Eqn([fresh], P.reuse, [buffer, shape], {}, stmt.loc), stores[-1]]
    return Eqn([buffer], P.empty, [shape], {}, stmt.loc)


def _when(test: Atom, allocations: list[Eqn], loc) -> list:
    """`allocations`, made only when `test` holds: a loop not entered allocates nothing (its
    shapes may not even be valid then)."""
    if isinstance(test, Const):
        return allocations
    buffers = [a.outs[0] for a in allocations]
    for a in allocations:
        a.outs = [Var(a.outs[0].name, a.outs[0].type)]
    orelse = Builder(loc)
    stand_ins = [placeholder(v.type, orelse) for v in buffers]
    then = Block([], allocations, [a.outs[0] for a in allocations])
    return [If(buffers, test, then, Block([], orelse.stmts, stand_ins), loc)]
