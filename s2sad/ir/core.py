"""The intermediate representation: typed, structured SSA.

Grammar (what `s2sad show --ir` prints)::

    function ::= "def" name "(" var* ")" ":" block "return" atom*
    block    ::= stmt*                         (a region: params, statements, results)
    stmt     ::= var* "=" prim "(" atom* ";" params ")"                       an equation
               | var* "=" "if" atom ":" block "yield" atom* "else:" block "yield" atom*
               | var* "=" "for" var "in range(" atom atom atom ")" "carry" "(" var "=" atom ")"* ":" block "yield" atom*
               | var* "=" "while" "carry" "(" var "=" atom ")"* "cond:" block "yield" atom "body:" block "yield" atom*
    atom     ::= var | const
    var      ::= name ":" type                 bound exactly once

Values are immutable: an array store ``x[i] = v`` is the equation ``x1 = setitem(x0, i, v)``;
codegen writes it in place when ``x0`` is dead afterwards. Control flow stays structured:
values flowing out of an `if` are yielded by both branches, loop-carried values are the
parameters of the loop body and the results it yields (they play the role of phi nodes).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Iterator, Union

from .types import Type

TEMP = ""  # the hint of values with no name in the user's source (printed t, t1, ...)


_ids = itertools.count()


def label(v: "Var") -> str:
    """The name `v` is printed from: its hint, or ``t`` for a temporary."""
    return v.name or "t"


class Var:
    """An SSA value. `name` is a hint for printing; identity is the object itself."""

    __slots__ = ("name", "type", "id")

    def __init__(self, name: str, type: Type):
        self.name = name
        self.type = type
        self.id = next(_ids)

    def __repr__(self) -> str:
        return f"Var({self.name}:{self.type})"


@dataclass(frozen=True)
class Const:
    """A literal operand (a Python scalar, None, or a tuple of ints)."""

    value: Any
    type: Type

    def __repr__(self) -> str:
        return f"Const({self.value!r})"


Atom = Union[Var, Const]


@dataclass
class Loc:
    """Where a statement came from in the user's source."""

    filename: str
    lineno: int
    source_line: str = ""


@dataclass
class Block:
    """A region: parameters bound on entry, statements, and the results it yields."""

    params: list[Var] = field(default_factory=list)
    stmts: list["Stmt"] = field(default_factory=list)
    results: list[Atom] = field(default_factory=list)


@dataclass
class Eqn:
    outs: list[Var]
    prim: Any  # s2sad.primitives.Primitive
    ins: list[Atom]
    params: dict = field(default_factory=dict)
    loc: Loc | None = None

    def blocks(self) -> list[Block]:
        return []


@dataclass
class If:
    outs: list[Var]
    cond: Atom
    then: Block
    orelse: Block
    loc: Loc | None = None

    def blocks(self) -> list[Block]:
        return [self.then, self.orelse]

    @property
    def ins(self) -> list[Atom]:
        return [self.cond]


@dataclass
class ForRange:
    """``for i in range(start, stop, step)`` carrying values; body params are [i, *carried].
    `checkpoint` is the policy a ``s2sad.checkpointed(...)`` marker names (s2sad/checkpoint.py),
    or None."""

    outs: list[Var]
    start: Atom
    stop: Atom
    step: Atom
    init: list[Atom]
    body: Block
    loc: Loc | None = None
    checkpoint: object = None

    def blocks(self) -> list[Block]:
        return [self.body]

    @property
    def ins(self) -> list[Atom]:
        return [self.start, self.stop, self.step, *self.init]


@dataclass
class While:
    """A while loop: `cond` and `body` both take the carried values as params."""

    outs: list[Var]
    init: list[Atom]
    cond: Block
    body: Block
    loc: Loc | None = None

    def blocks(self) -> list[Block]:
        return [self.cond, self.body]

    @property
    def ins(self) -> list[Atom]:
        return list(self.init)


Stmt = Union[Eqn, If, ForRange, While]


@dataclass
class Function:
    name: str
    body: Block  # body.params are the function's parameters, body.results its return values
    filename: str = "<unknown>"
    lineno: int = 0
    arg_names: list[str] = field(default_factory=list)
    namespaces: dict = field(default_factory=dict)  # alias → module whose globals the code reads/writes
    twins: list = field(default_factory=list)  # (x, d): d has x's shape (a tangent or an adjoint of x)
    assumed: tuple = ()  # what names outside the function referred to when it was lowered (frontend/parse.py)
    out_tree: object = None  # how the results make the returned container (s2sad/containers.py); None: one value
    updated: tuple = ()  # parameters that are numbers updated in place (x += ...): of a 0-d array, NumPy's update

    @property
    def params(self) -> list[Var]:
        return self.body.params

    @property
    def results(self) -> list[Atom]:
        return self.body.results


# The walks below keep their own stack rather than recurse: a recursive generator passes every
# item up through one generator per level of nesting, and uses the C stack for each.

def walk(block: Block) -> Iterator[Stmt]:
    """Every statement of `block`, nested regions included, in program order."""
    stack = [iter(block.stmts)]
    while stack:
        stmt = next(stack[-1], None)
        if stmt is None:
            stack.pop()
            continue
        yield stmt
        stack.extend(iter(inner.stmts) for inner in reversed(stmt.blocks()))


def block_uses(block: Block) -> Iterator[Atom]:
    """Every operand read in `block` (nested regions included) and its results."""
    stack = [(block, iter(block.stmts))]
    while stack:
        current, stmts = stack[-1]
        stmt = next(stmts, None)
        if stmt is None:
            stack.pop()
            yield from current.results
            continue
        yield from stmt.ins
        stack.extend((inner, iter(inner.stmts)) for inner in reversed(stmt.blocks()))


def use_counts(block: Block) -> dict[Var, int]:
    counts: dict[Var, int] = {}
    for atom in block_uses(block):
        if isinstance(atom, Var):
            counts[atom] = counts.get(atom, 0) + 1
    return counts


def block_defs(block: Block) -> set[Var]:
    """Every value bound inside `block`: its params, equation outputs, nested regions' values."""
    defs: set[Var] = set()
    stack = [block]
    while stack:
        current = stack.pop()
        defs.update(current.params)
        for stmt in current.stmts:
            defs.update(stmt.outs)
            stack.extend(stmt.blocks())
    return defs


def free_vars(stmt: Stmt) -> set[Var]:
    """Values a statement reads that are bound outside it."""
    return {a for a in stmt.ins if isinstance(a, Var)} | region_reads(stmt)


def region_reads(stmt: Stmt) -> set[Var]:
    """Values bound outside `stmt` that its regions (branches, loop bodies) read."""
    used: set[Var] = set()
    for inner in stmt.blocks():
        used |= {a for a in block_uses(inner) if isinstance(a, Var)} - block_defs(inner)
    return used


def substitute(block: Block, mapping: dict) -> None:
    """Replace every use of a key of `mapping` in `block` (nested regions too), in place."""
    if not mapping:
        return

    def sub(atom):
        while isinstance(atom, Var) and atom in mapping:
            atom = mapping[atom]
        return atom

    for stmt in block.stmts:
        _substitute_ins(stmt, sub)
        for inner in stmt.blocks():
            substitute(inner, mapping)
    block.results[:] = [sub(r) for r in block.results]


def _substitute_ins(stmt: Stmt, sub) -> None:
    if isinstance(stmt, Eqn):
        stmt.ins = [sub(a) for a in stmt.ins]
    elif isinstance(stmt, If):
        stmt.cond = sub(stmt.cond)
    elif isinstance(stmt, ForRange):
        stmt.start, stmt.stop, stmt.step = sub(stmt.start), sub(stmt.stop), sub(stmt.step)
        stmt.init = [sub(a) for a in stmt.init]
    elif isinstance(stmt, While):
        stmt.init = [sub(a) for a in stmt.init]


def clone(stmt: Stmt, mapping: dict) -> Stmt:
    """A copy of `stmt` with fresh values for everything it binds; uses of keys of `mapping`
    are replaced (and `mapping` learns old → new for what the copy binds)."""
    def use(atom):
        return mapping.get(atom, atom) if isinstance(atom, Var) else atom

    def bind(var: Var) -> Var:
        mapping[var] = Var(var.name, var.type)
        return mapping[var]

    def region(block: Block) -> Block:
        params = [bind(p) for p in block.params]
        stmts = [clone(s, mapping) for s in block.stmts]
        return Block(params, stmts, [use(r) for r in block.results])

    if isinstance(stmt, Eqn):
        ins = [use(a) for a in stmt.ins]
        return Eqn([bind(v) for v in stmt.outs], stmt.prim, ins, dict(stmt.params), stmt.loc)
    if isinstance(stmt, If):
        cond, then, orelse = use(stmt.cond), region(stmt.then), region(stmt.orelse)
        return If([bind(v) for v in stmt.outs], cond, then, orelse, stmt.loc)
    if isinstance(stmt, ForRange):
        start, stop, step, init = use(stmt.start), use(stmt.stop), use(stmt.step), [use(a) for a in stmt.init]
        body = region(stmt.body)
        return ForRange([bind(v) for v in stmt.outs], start, stop, step, init, body, stmt.loc, stmt.checkpoint)
    init = [use(a) for a in stmt.init]
    cond, body = region(stmt.cond), region(stmt.body)
    return While([bind(v) for v in stmt.outs], init, cond, body, stmt.loc)


def copy_function(fn: Function) -> Function:
    """A copy of `fn` with fresh values (transforms edit statements in place), and its shape
    facts (`twins`) about them."""
    mapping: dict = {}
    params = [mapping.setdefault(p, Var(p.name, p.type)) for p in fn.params]
    stmts = [clone(s, mapping) for s in fn.body.stmts]
    results = [mapping.get(r, r) if isinstance(r, Var) else r for r in fn.results]
    twins = [(mapping.get(x, x), mapping.get(d, d)) for x, d in fn.twins]
    return Function(fn.name, Block(params, stmts, results), fn.filename, fn.lineno, list(fn.arg_names),
                    dict(fn.namespaces), twins, fn.assumed, fn.out_tree)
