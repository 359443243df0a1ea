"""Codegen: IR → Python `ast` → source text (`ast.unparse`).

Leaving SSA means choosing Python names. Each value is named after its hint (``x``, ``x_bar``,
``t``), reusing a name when the value that held it is dead and of the same type, so that an
accumulation reads ``x_bar = x_bar + t`` and an ``if`` that rebinds ``y`` writes ``y`` in both
branches, as a person would. Values flowing out of an ``if`` are copied into its result names at
the end of each branch (one tuple assignment when the copies overlap), and a copy is skipped
when the names already agree.

A temporary used once, by the next statements of its block, is written into the expression
that uses it (``x_bar = x_bar + W.T @ g`` rather than ``t = W.T; t_1 = t @ g; …``); temporaries
never take the name of a user's variable.

Array stores (``index_add``) are written in place when nothing still reads the array they
update, or anything that may share its memory, and the array is not a read-only view
(``np.diag`` of a matrix); otherwise the array is copied first.
"""

from __future__ import annotations

import ast
import bisect
import keyword
import re
from collections.abc import Iterator
from contextlib import contextmanager

from . import primitives as P
from . import runtime
from .ir.aliases import Aliases, readonly_views
from .ir.core import (TEMP, Atom, Block, Const, Eqn, ForRange, Function, If, Loc, Var, While, region_reads,
                      use_counts, walk)
from .ir.liveness import Liveness, LiveSet

HELPERS = tuple(runtime.__all__)
_RESERVED = {"np", *HELPERS, "min", "max", "float", "abs", "range", "len", "int", "bool"}
_COMMENT = "#s2sad: "


# --- inlining -----------------------------------------------------------------------------

_DEEPEST = 48  # temporaries inlined into one another, at most: deeper chains keep every 48th name


def inlinable(fn: Function) -> dict[Var, Eqn]:
    """Temporaries to print inside the expression that uses them, with their definitions.

    A temporary qualifies when it has one use, in its own block, with no array store or
    impure statement between its definition and that use, unless it would nest more than
    `_DEEPEST` inlined temporaries (a sum of a thousand terms would otherwise become one
    expression too deep for Python's compiler)."""
    counts = use_counts(fn.body)
    found: dict[Var, Eqn] = {}
    for block in [fn.body] + [b for stmt in walk(fn.body) for b in stmt.blocks()]:
        _inline_in_block(block, counts, found)
    return found


def _inline_in_block(block: Block, counts: dict, found: dict) -> None:
    """A temporary, read once, is read either as an operand of a later statement of the block,
    or inside a later statement's regions (then it keeps its name), or by the block's results;
    it is inlined when no barrier stands between it and that read."""
    stmts = block.stmts
    reader: dict[Var, int] = {}  # value → the first statement of the block having it as an operand
    for k in range(len(stmts) - 1, -1, -1):
        for a in stmts[k].ins:
            if isinstance(a, Var):
                reader[a] = k
    barriers = [k for k, stmt in enumerate(stmts) if _barrier(stmt)]
    depth: dict[Var, int] = {}  # inlined temporary → how many inlined temporaries its expression nests
    for i, stmt in enumerate(stmts):
        if not _is_temporary(stmt, counts):
            continue
        v = stmt.outs[0]
        nested = 1 + max((depth[a] for a in stmt.ins if a in depth), default=0)
        j = reader.get(v)
        if nested > _DEEPEST:
            continue
        if j is not None and j > i:
            if not _barrier_between(barriers, i, j) and not _needs_name(stmts[j], v):
                found[v] = stmt
                depth[v] = nested
        elif v in block.results and not _barrier_between(barriers, i, len(stmts)):
            found[v] = stmt
            depth[v] = nested


def _barrier_between(barriers: list[int], i: int, j: int) -> bool:
    """Is one of the (sorted) positions `barriers` strictly between i and j?"""
    k = bisect.bisect_right(barriers, i)
    return k < len(barriers) and barriers[k] < j


def _needs_name(user, v: Var) -> bool:
    """Must `v` be named for `user`: an array updated in place, an operand printed twice, or a
    loop's initial value (which the loop may update in place)?"""
    if isinstance(user, (ForRange, While)):
        return v in user.init
    return isinstance(user, Eqn) and (user.prim.inplace and user.ins[0] is v
                                      or user.prim.repeats is not None and user.prim.repeats(user.params))


def _is_temporary(stmt, counts) -> bool:
    return (isinstance(stmt, Eqn) and len(stmt.outs) == 1 and stmt.prim.pure and not stmt.prim.inplace
            and stmt.outs[0].name == TEMP and counts.get(stmt.outs[0], 0) == 1)


def _barrier(stmt) -> bool:
    return any(isinstance(s, Eqn) and (s.prim.inplace or not s.prim.pure) for s in [stmt, *walk(Block([], [stmt]))])


# --- naming ---------------------------------------------------------------------------------

def _identifier(hint: str) -> str:
    name = re.sub(r"\W", "_", hint) or "t"
    if name[0].isdigit():
        name = "v" + name
    return name + "_" if keyword.iskeyword(name) or name in _RESERVED else name


def _numbered(base: str, k: int) -> str:
    """The k-th alternative to `base`: ``t1``, ``x_bar2`` (``x0_1`` after a digit). Not ``t_1``:
    Numba renames a reassigned ``t`` to ``t.1`` and then to ``t_1`` internally, and a variable
    of that name would clash."""
    return f"{base}_{k}" if base[-1].isdigit() else f"{base}{k}"


class Namer:
    """Python names for values: each value takes the first free name of ``preferred, base, base1,
    base2, …``, free when nothing holds it, or its holder is dead and of the same type.

    Finding it is a scan. So that a long function, with many temporaries alive at once, does not
    make it quadratic, a count per base and type says how many leading names of the base a value
    of that type cannot take because they are held by values live after the statement being
    emitted (`now`, set by the emitter) or by dead values of another type; the scan starts past
    them. A count is lowered whenever one of those names may have become free (a name is bound
    again, its holder dies: `release`), so the names chosen are those of the full scan. A nested
    region (a branch, a loop body) starts from the enclosing region's counts (what is live after
    the statement holding it is live throughout it, but for that statement's results, whose
    names are bound, and so counted, before it) in a layer of its own (`region`); when it ends,
    the layer goes, and the enclosing counts are lowered for every name bound inside it."""

    def __init__(self, user_names: set[str], reserved: set[str]):
        self.reserved = reserved  # module aliases the code reads globals through, loop indices
        self.names: dict[Var, str] = {}
        self.holder: dict[str, Var] = {}
        self.prefer: dict[Var, str] = {}
        self.inline: dict[Var, ast.expr] = {}
        self.user_names = user_names
        self.now = None  # the values live after the statement being emitted, if any
        self._starts: list[dict[str, dict]] = [{}]  # per region being emitted: base → type → names to skip
        self._bound: list[tuple[str, Var | None]] = []  # (name, previous holder), for each binding, in order
        self._depth = 0  # regions being emitted
        self._candidates: dict[str, list[str]] = {}
        self._positions: dict[str, list[tuple[str, int]]] = {}  # name → (base, k) of the candidates it is

    def bind(self, var: Var, name: str) -> str:
        self._bound.append((name, self.holder.get(name)))
        self.names[var] = name
        self.holder[name] = var
        self._lower(name, var.type)
        return name

    def mark(self) -> int:
        """A point to come back to with `rollback`."""
        return len(self._bound)

    def rollback(self, mark: int) -> None:
        """Give the names bound since `mark` back to the values that held them then (an `if`'s
        branches each start from the holders before it)."""
        for name, previous in reversed(self._bound[mark:]):
            if previous is None:
                del self.holder[name]
            else:
                self.holder[name] = previous
                self._lower(name, previous.type)
        del self._bound[mark:]

    def _lower(self, name: str, type) -> None:
        """`name` may have become free for values of `type` (for others, its holder's type
        still keeps it)."""
        for base, k in self._positions.get(name, ()):
            self._lower_to(base, type, k)

    def _count(self, base: str, type) -> int:
        for layer in reversed(self._starts):
            counts = layer.get(base)
            if counts is not None and type in counts:
                return counts[type]
        return 0

    def _lower_to(self, base: str, type, k: int) -> None:
        if self._count(base, type) > k:
            self._starts[-1].setdefault(base, {})[type] = k

    def release(self, dead) -> None:
        """The values `dead` are no longer live: their names may be free again."""
        for var in dead:
            name = self.names.get(var)
            if name is not None and self.holder.get(name) is var:
                self._lower(name, var.type)

    @contextmanager
    def region(self):
        """Emit a nested region in a layer of counts of its own; afterwards the enclosing region's
        counts hold again, lowered for the names the nested one bound, for the type of their
        holders now (values of the region, dead after it)."""
        mark = len(self._bound)
        self._starts.append({})
        self._depth += 1
        try:
            yield
        finally:
            self._starts.pop()
            self._depth -= 1
            self.now = None
            for name, _ in self._bound[mark:]:
                self._lower(name, self.holder[name].type)  # (now dead, or given back by an `if`)
            if not self._depth:
                self._bound.clear()

    def candidate(self, base: str, k: int) -> str:
        """The k-th name for `base`: ``base`` itself, then ``base1``, ``base2``, …"""
        names = self._candidates.setdefault(base, [])
        while len(names) <= k:
            name = _numbered(base, len(names)) if names else base
            self._positions.setdefault(name, []).append((base, len(names)))
            names.append(name)
        return names[k]

    def free(self, name: str, var: Var, live_after) -> bool:
        if var.name == TEMP and name in self.user_names or name in self.reserved:
            return False
        held = self.holder.get(name)
        return held is None or held is var or (held not in live_after and held.type == var.type)

    def define(self, var: Var, live_after) -> str:
        """Bind `var` to its first free name; `live_after` (a superset of `now`, when set) holds the
        values whose names are taken."""
        base = _identifier(var.name)
        if var in self.prefer and self.free(self.prefer[var], var, live_after):
            return self.bind(var, self.prefer[var])
        start = self._count(base, var.type) if self.now is not None else 0
        own = self.names.get(var)  # the one name below `start` that may be free: var's own
        if start and own is not None and self.holder.get(own) is var and self.free(own, var, live_after) \
                and any(b == base and k < start for b, k in self._positions.get(own, ())):
            return self.bind(var, own)
        settled = self.now is not None  # still among names held by values live `now` or of another type?
        for k in range(start, 10_000):
            name = self.candidate(base, k)
            if settled:
                held = self.holder.get(name)
                settled = held is not None and held is not var and (held.type != var.type or held in self.now)
                if not settled:
                    self._starts[-1].setdefault(base, {})[var.type] = k
            if self.free(name, var, live_after):
                return self.bind(var, name)
        raise RuntimeError("ran out of names")

    def expr(self, atom: Atom) -> ast.expr:
        if isinstance(atom, Const):
            return _constant(atom.value)
        if atom in self.inline:
            return self.inline.pop(atom)
        return ast.Name(self.names[atom], ast.Load())


def _constant(value) -> ast.expr:
    if isinstance(value, tuple):
        return ast.Tuple([_constant(v) for v in value], ast.Load())
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        text = "nan" if value != value else "inf"
        node = ast.Attribute(ast.Name("np", ast.Load()), text, ast.Load())
        return ast.UnaryOp(ast.USub(), node) if value < 0 else node
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def _float_exponent(eqn: Eqn, args: list[ast.expr]) -> list[ast.expr]:
    """The operands of ``a ** k`` with an integer exponent that may be negative given as a float
    when `a` is a float: NumPy's power then (and Python's) of a float, an infinity at 0 where Numba's
    power of a float by an integer raises ZeroDivisionError."""
    base, exponent = eqn.ins
    if base.type.element.kind != "f64" or exponent.type.element.kind not in ("i64", "bool") or \
            (isinstance(exponent, Const) and exponent.value >= 0):
        return args
    if isinstance(exponent, Const):
        return [args[0], _constant(float(exponent.value))]
    if exponent.type.is_array:
        as_float = ast.Call(ast.Attribute(args[1], "astype", ast.Load()),
                            [ast.Attribute(ast.Name("np", ast.Load()), "float64", ast.Load())], [])
    else:
        as_float = ast.Call(ast.Name("float", ast.Load()), [args[1]], [])
    return [args[0], as_float]


# --- emission -------------------------------------------------------------------------------

class Emitter:
    def __init__(self, fn: Function):
        self.fn = fn
        self.inlined = inlinable(fn)
        self.live = Liveness(fn, self.inlined)
        self.aliases = Aliases(fn.body)
        self.readonly = readonly_views(fn.body)
        user_names = {_identifier(v.name) for stmt in walk(fn.body)
                      for v in [*stmt.outs, *(p for b in stmt.blocks() for p in b.params)] if v.name != TEMP}
        self.namer = Namer(user_names | {_identifier(p.name) for p in fn.params}, set(fn.namespaces))
        self.pinned = set(fn.params)

    def function(self) -> ast.FunctionDef:
        args = [ast.arg(self.namer.define(p, set(self.fn.params))) for p in self.fn.params]
        body = self.stmts(self.fn.body)
        results = [self.namer.expr(r) for r in self.fn.results]
        value = results[0] if len(results) == 1 else ast.Tuple(results, ast.Load())
        body.append(ast.Return(value))
        return ast.FunctionDef(self.fn.name, ast.arguments([], args, None, [], [], None, []), body, [], None,
                               type_params=[])

    def stmts(self, block: Block) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        with self.namer.region():
            for stmt in block.stmts:
                self.namer.release(self.live.dying(stmt))
                self.namer.now = self.after(stmt)
                out += _at(self.EMIT[type(stmt)](self, stmt), stmt.loc)
        return out

    def after(self, stmt) -> LiveSet:
        return self.live.after(stmt)

    def eqn(self, eqn: Eqn) -> list[ast.stmt]:
        if eqn.prim is P.comment:
            return [ast.Expr(ast.Constant(_COMMENT + eqn.params["text"]))]
        if eqn.prim.inplace:
            return self.store(eqn)
        if eqn.prim.statement:
            return [eqn.prim.emit([self.namer.expr(a) for a in eqn.ins], eqn.params)]
        args = [self.namer.expr(a) for a in eqn.ins]
        value = eqn.prim.emit(_float_exponent(eqn, args) if eqn.prim is P.pow else args, eqn.params)
        if eqn.outs and eqn.outs[0] in self.inlined:
            self.namer.inline[eqn.outs[0]] = value
            return []
        targets = [ast.Name(self.namer.define(v, self.after(eqn)), ast.Store()) for v in eqn.outs]
        target = targets[0] if len(targets) == 1 else ast.Tuple(targets, ast.Store())
        return [ast.Assign([target], value)]

    def store(self, eqn: Eqn) -> list[ast.stmt]:
        """``x[idx] += v`` in place, or on a copy when the old array is still needed (not for a
        store marked `own`: into an array element loops allocated for themselves, which the alias
        classes cannot tell from the values it replaces in a loop carrying it)."""
        base, out = eqn.ins[0], eqn.outs[0]
        args = [self.namer.expr(a) for a in eqn.ins]
        params = eqn.params
        if "spec" in params:  # x[idx] = v: is x[idx] an array?
            region = P.index_result_type(base.type, [a.type for a in eqn.ins[1:-1]], params["spec"])
            arrays = [a.type.is_array for a in eqn.ins[1:-1]]
            params = params | {"region": region.is_array, "scatter": any(arrays), "arrays": arrays,
                               "region_ndim": region.ndim, "value_ndim": eqn.ins[-1].type.ndim}
        if eqn.params.get("own") or base not in self.readonly \
                and not self.aliases.shared(base, (self.after(eqn) - {out}) | self.pinned):
            self.namer.bind(out, self.namer.names[base])
            for k, operand in enumerate(eqn.ins[1:], 1):  # y[1:] = y[:-1], y_bar += y_bar.T
                if isinstance(operand, Var) and operand.type.is_array and self.aliases.shared(operand, {base}):
                    args[k] = ast.Call(ast.Attribute(args[k], "copy", ast.Load()), [], [])
            return [eqn.prim.emit(args, params)]
        name = self.namer.define(out, self.after(eqn) | self.live.expand(eqn.ins[1:]))  # (the copy is made before
        # the store reads its other operands, inlined expressions' included: it may not take one of their names)
        if eqn.prim.fresh is not None:
            return [ast.Assign([ast.Name(name, ast.Store())], eqn.prim.fresh(args, params))]
        copy = ast.Call(ast.Attribute(args[0], "copy", ast.Load()), [], [])
        args[0] = ast.Name(name, ast.Load())
        return [ast.Assign([ast.Name(name, ast.Store())], copy), eqn.prim.emit(args, params)]

    def if_(self, stmt: If) -> list[ast.stmt]:
        before = self.namer.mark()
        out_names = [self.namer.define(v, self.after(stmt)) for v in stmt.outs]
        bodies = []
        for branch in stmt.blocks():
            for r, name in zip(branch.results, out_names):
                if isinstance(r, Var) and r not in self.namer.names:
                    self.namer.prefer.setdefault(r, name)
            self.namer.rollback(before)
            code = self.stmts(branch)
            code += parallel_copy(out_names, [self.namer.expr(r) for r in branch.results])
            bodies.append(_runnable(code) if code else code)
        self.namer.rollback(before)
        for v, name in zip(stmt.outs, out_names):
            self.namer.bind(v, name)
        then, orelse = bodies
        if not then and not orelse:
            return []
        if not then:
            test = ast.UnaryOp(ast.Not(), self.namer.expr(stmt.cond))
            return [ast.If(test, orelse, [])]
        return [ast.If(self.namer.expr(stmt.cond), then, orelse)]

    def carried_names(self, stmt, params: list[Var], read_after: tuple = ()) -> list[str]:
        """Names for loop-carried values: the initial value's name when it is free to take. Not
        a name that `read_after` (expressions evaluated after the initial copies: a loop's
        bounds) reads."""
        taken = self.after(stmt) | region_reads(stmt)
        busy = taken | set(params) | set(stmt.init)
        avoid = {n.id for e in read_after for n in ast.walk(e) if isinstance(n, ast.Name)} - self.namer.reserved
        self.namer.reserved |= avoid
        names = []
        for p, init in zip(params, stmt.init):
            reuse = isinstance(init, Var) and init not in taken and init.name == p.name \
                and not (init in self.pinned and init.type.is_array) \
                and init.type == p.type and self.namer.names[init] not in names
            names.append(self.namer.names[init] if reuse else self.namer.define(p, busy))
            self.namer.bind(p, names[-1])
        self.namer.reserved -= avoid
        return names

    def loop_body(self, block: Block, names: list[str]) -> list[ast.stmt]:
        for r, name in zip(block.results, names):
            if isinstance(r, Var) and r not in self.namer.names:
                self.namer.prefer.setdefault(r, name)
        code = self.stmts(block)
        return code + parallel_copy(names, [self.namer.expr(r) for r in block.results])

    def finish_loop(self, stmt, names: list[str]) -> list[ast.stmt]:
        for out, name in zip(stmt.outs, names):
            self.namer.bind(out, name)
        return []

    def for_(self, stmt: ForRange) -> list[ast.stmt]:
        index, *params = stmt.body.params
        bounds = P._range_args([self.namer.expr(a) for a in (stmt.start, stmt.stop, stmt.step)])
        names = self.carried_names(stmt, params, tuple(bounds))
        code = parallel_copy(names, [self.namer.expr(a) for a in stmt.init])
        index_name = self.namer.define(index, self.after(stmt) | region_reads(stmt) | set(params))
        self.namer.reserved.add(index_name)  # never reassigned inside its loop
        body = _runnable(self.loop_body(stmt.body, names))
        self.namer.reserved.discard(index_name)
        loop = ast.For(ast.Name(index_name, ast.Store()), ast.Call(ast.Name("range", ast.Load()), bounds, []),
                       body, [])
        return code + [loop] + self.finish_loop(stmt, names)

    def while_(self, stmt: While) -> list[ast.stmt]:
        names = self.carried_names(stmt, stmt.cond.params)
        for p, name in zip(stmt.body.params, names):
            self.namer.bind(p, name)
        code = parallel_copy(names, [self.namer.expr(a) for a in stmt.init])
        cond_code = self.stmts(stmt.cond)
        test = self.namer.expr(stmt.cond.results[0])
        body = self.loop_body(stmt.body, names)
        if cond_code:
            body = cond_code + [ast.If(ast.UnaryOp(ast.Not(), test), [ast.Break()], [])] + body
            test = ast.Constant(True)
        return code + [ast.While(test, _runnable(body), [])] + self.finish_loop(stmt, names)

    EMIT = {Eqn: eqn, If: if_, ForRange: for_, While: while_}


def _runnable(body: list[ast.stmt]) -> list[ast.stmt]:
    """A block's statements, with ``pass`` when it has none but comments (which become ``#``
    lines, not statements)."""
    if all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str)
           and s.value.value.startswith(_COMMENT) for s in body):
        return body + [ast.Pass()]
    return body


def parallel_copy(names: list[str], values: list[ast.expr]) -> list[ast.stmt]:
    """Assign `values` to `names` as if at once; skip ``y = y``."""
    pairs = [(n, v) for n, v in zip(names, values) if not (isinstance(v, ast.Name) and v.id == n)]
    sources = {node.id for _, v in pairs for node in ast.walk(v) if isinstance(node, ast.Name)}
    if len(pairs) > 1 and any(n in sources for n, _ in pairs):
        target = ast.Tuple([ast.Name(n, ast.Store()) for n, _ in pairs], ast.Store())
        return [ast.Assign([target], ast.Tuple([v for _, v in pairs], ast.Load()))]
    return [ast.Assign([ast.Name(n, ast.Store())], v) for n, v in pairs]


def own_carried_arguments(fn: Function) -> None:
    """Copy a parameter that a loop carries and writes in place once, before the loop.

    Codegen never writes into a parameter's array in place (the caller's array keeps its values
    for whatever reads them later, the reverse sweep among others), so a store into a carried
    array whose first value is a parameter would copy the whole array in every iteration; a copy
    before the loop makes the carried array the loop's own, and its stores in place."""
    aliases, params = Aliases(fn.body), set(fn.params)

    def visit(block: Block) -> None:
        stmts = []
        for stmt in block.stmts:
            for inner in stmt.blocks():
                visit(inner)
            if isinstance(stmt, (ForRange, While)):
                written, skip = aliases.stored_into(stmt.body), 1 if isinstance(stmt, ForRange) else 0
                for k, init in enumerate(stmt.init):
                    if init in params and init.type.is_array and written(stmt.body.params[skip + k]):
                        own = Var(init.name, init.type)
                        stmts.append(Eqn([own], P.copy, [init], {}, stmt.loc))
                        stmt.init[k] = own
            stmts.append(stmt)
        block.stmts[:] = stmts
    visit(fn.body)


# --- the user's line of each generated line ------------------------------------------------

_LOC = "s2sad_loc"  # the attribute of a generated `ast` statement holding the user's statement it comes from


def _at(code: list[ast.stmt], loc: Loc | None) -> list[ast.stmt]:
    """`code`, emitted for a statement at `loc`: each of its statements (nested ones included)
    not yet tied to a statement of the user's is tied to `loc`."""
    for node in code:
        for stmt in (node, *statements(node)):
            if getattr(stmt, _LOC, None) is None:
                setattr(stmt, _LOC, loc)
    return code


def statements(node: ast.AST) -> Iterator[ast.stmt]:
    """The statements nested in `node`, in the order of the source."""
    for name in ("body", "orelse", "finalbody"):
        for stmt in getattr(node, name, ()):
            yield stmt
            yield from statements(stmt)


def line_table(tree: ast.AST, text: str) -> dict[int, Loc]:
    """The user's statement behind each line of `text`, which is `tree` unparsed: from the
    statements' `_LOC` (`ast.unparse` keeps the statements, so a parse of the text has them in
    the same order)."""
    return {new.lineno: getattr(old, _LOC) for old, new in zip(statements(tree), statements(ast.parse(text)))
            if getattr(old, _LOC, None) is not None}


def tag_lines(tree: ast.AST, lines: dict[int, Loc]) -> ast.AST:
    """`tree`, parsed from a text whose `line_table` is `lines`, with its statements tied again
    to the user's (so that a change to the tree can be unparsed and tabled anew)."""
    for stmt in statements(tree):
        setattr(stmt, _LOC, lines.get(stmt.lineno))
    return tree


def function_source(fn: Function) -> tuple[str, dict[int, Loc]]:
    """The Python source of one IR function (whose loops `own_carried_arguments` may change),
    and the user's statement behind each of its lines."""
    own_carried_arguments(fn)
    tree = ast.Module([Emitter(fn).function()], [])
    ast.fix_missing_locations(tree)
    text = ast.unparse(tree)
    lines = line_table(tree, text)
    quote = "(?:'{3}|\"{3}|'|\")"
    return re.sub(rf"^(\s*){quote}{re.escape(_COMMENT)}(.*?){quote}$", r"\1# \2", text, flags=re.M) + "\n", lines


def module_source(functions: list[Function], origin: str) -> tuple[str, dict[int, Loc]]:
    """A module holding `functions`, with the imports they need; and the user's statement
    behind each of its lines."""
    bodies, tables = zip(*(function_source(fn) for fn in functions))
    called = {name for body in bodies for name in re.findall(r"\b(\w+)\(", body)}
    used = [h for h in HELPERS if h in called]
    header = [f'"""Generated by s2sad from {origin}. Do not edit: regenerate instead."""',
              "import numpy as np"]
    if used:
        header.append(f"from s2sad.runtime import {', '.join(used)}")
    text, lines = "\n".join(header) + "\n\n\n", {}
    for body, table in zip(bodies, tables):
        offset = text.count("\n")
        lines |= {offset + line: loc for line, loc in table.items()}
        text += body + "\n\n"
    return text[:-2], lines
