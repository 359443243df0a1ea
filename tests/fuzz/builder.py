"""The state of a program being generated: its module (lengths, globals, helpers, names) and
the function being written (its lines, the names in scope, the blocks around the cursor), with
the building blocks productions share (an index valid for an axis, a positive expression, a
well-conditioned matrix, a random draw, ...).
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

Shape = tuple[int, ...]


@dataclass
class Config:
    """Sizes of generated programs."""

    statements: tuple[int, int] = (3, 9)     # top-level statements of the entry function
    block: tuple[int, int] = (1, 3)          # statements in a loop or branch body
    depth: int = 3                           # expression depth
    nesting: int = 2                         # compound statements inside compound statements
    helper_levels: int = 3                   # helpers calling helpers
    max_helpers: int = 4
    lengths: tuple[int, int] = (2, 5)        # array axis lengths are drawn in this range
    attempts: int = 50                       # programs drawn per seed before giving up


@dataclass
class Var:
    """A name the program can use at the point being generated."""

    name: str
    kind: str = "float"        # "float", "int", "index" (int array), "mask" (bool array), "rng"
    shape: Shape = ()
    lo: int = 0                # an int lies in [lo, hi); an index array's entries lie in [0, hi)
    hi: int = 1
    shared: bool = False       # an array that may share memory with another name or the caller
    of_arg: bool = False       # an array that may be (a view of) an argument's memory
    param: bool = False        # a parameter of the function being generated
    scope: int = 0


@dataclass
class Helper:
    """A module-level function the generator wrote, which others may call."""

    name: str
    params: list[Var]
    result: Shape
    source: str
    mutates: bool = False
    features: frozenset[tuple[str, bool, int]] = frozenset()   # `FunctionBuilder.features` of its body


SMALL = Config(statements=(2, 5), block=(1, 2), max_helpers=2, helper_levels=2)
"""Smaller programs, for the test suite's time-bounded batch."""


# --- the module being generated -------------------------------------------------------------

class ModuleBuilder:
    """Module-level state: lengths, globals, helpers, names in use and tags."""

    def __init__(self, rng: np.random.Generator, config: Config, grammar: Grammar):
        self.rng = rng
        self.config = config
        self.grammar = grammar
        lo, hi = config.lengths
        self.n = int(rng.integers(lo, hi + 1))
        self.m = int(rng.integers(lo, hi + 1))
        self.names: set[str] = set()
        self.globals: dict[str, str] = {}          # name -> its initial value's source
        self.global_vars: dict[str, Var] = {}
        self.global_roles: dict[str, str] = {}     # name -> "number", "counter", "total", "array"
        self.helpers: list[Helper] = []
        self.tags: set[str] = set()

    @property
    def lengths(self) -> list[int]:
        return sorted({self.n, self.m})

    def fresh(self, stem: str) -> str:
        for k in itertools.count():
            name = f"{stem}{k}" if k else stem
            if name not in self.names and name not in _RESERVED:
                self.names.add(name)
                return name
        raise AssertionError("unreachable")

    def choice(self, items):
        items = list(items)
        return items[int(self.rng.integers(len(items)))] if items else None

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def const(self, lo: float = -2.0, hi: float = 2.0) -> str:
        value = self.choice([0.5, 1.5, 2.0, 0.1, 0.25, 3.0, 0.3, 0.7, 1.2]) if self.chance(0.6) else \
            round(float(self.rng.uniform(lo, hi)), 2) or 0.5
        return repr(float(value))

    def global_name(self, role: str, make: Callable[[], str], var: Var) -> str:
        """A module global of `role`, made on first use (and reused afterwards)."""
        existing = [name for name, r in self.global_roles.items() if r == role
                    and self.global_vars[name].shape == var.shape]
        if existing and self.chance(0.7):
            return self.choice(existing)
        name = var.name = self.fresh({"number": "SCALE", "counter": "count", "total": "total",
                                      "array": "W"}[role])
        self.globals[name] = make()
        self.global_vars[name] = var
        self.global_roles[name] = role
        return name


_RESERVED = {"np", "len", "range", "float", "max", "min", "abs", "sum", "int", "print", "lambda", "if",
             "else", "for", "while", "in", "is", "and", "or", "not", "def", "return", "global", "pass",
             "break", "continue", "True", "False", "None", "del", "as", "with", "yield", "from", "import"}


# --- source helpers -----------------------------------------------------------------------------

_ATOMS = (ast.Name, ast.Call, ast.Subscript, ast.Attribute)


def paren(code: str) -> str:
    """`code` parenthesised unless it is a name, call, subscript, attribute or nonnegative number."""
    node = ast.parse(code, mode="eval").body
    if isinstance(node, _ATOMS) or (isinstance(node, ast.Constant) and not str(node.value).startswith("-")):
        return code
    return f"({code})"


_VIEW = re.compile(r"^\(*[A-Za-z_]\w*\)*(\[[^\[\]]*\]|\.T)*$")


def may_alias(code: str) -> bool:
    """Whether an array expression may be (a view of) a named array rather than a new one."""
    node = ast.parse(code, mode="eval").body
    if isinstance(node, ast.IfExp):
        return may_alias(ast.unparse(node.body)) or may_alias(ast.unparse(node.orelse))
    return bool(_VIEW.match(code))


def slice_text(start: int, stop: int, length: int) -> str:
    if start == 0:
        return f":{stop}" if stop < length else ":"
    return f"{start}:" if stop == length else f"{start}:{stop}"


# --- the function being generated ---------------------------------------------------------------

class FunctionBuilder:
    """Writes one function: its statements, the names in scope, the loops around the cursor."""

    def __init__(self, module: ModuleBuilder, params: list[Var], level: int, result: Shape = ()):
        self.mod = module
        self.rng = module.rng
        self.level = level                  # 0: the entry function; helpers are 1, 2, ...
        self.result = result                # the shape the function returns
        self.params = params
        self.lines: list[str] = []
        self.indent = 1
        self.scopes: list[dict[str, Var]] = [{p.name: p for p in params}]
        self.blocks: list[str] = []         # the compound statements around the cursor: "if", "for", "while"
        self.jumped: list[bool] = [False]   # per block (and the body): a break, continue or return was written
        self.iterated: list[str] = []       # the arrays that enclosing ``for x in a`` loops run over
        self.global_decls: list[str] = []
        self.prologue: list[str] = []
        self.rng_name: str | None = None
        self.features: set[tuple[str, bool, int]] = set()   # (construct, in a branch, loops around): see `note`
        self.returned_early = False         # an early return was written: what follows runs in a branch
        self.branch_expressions = 0         # branches of conditional expressions around the cursor
        self.tags = module.tags

    # scope ---------------------------------------------------------------------------------

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    def visible(self) -> dict[str, Var]:
        merged: dict[str, Var] = {}
        for scope in self.scopes:
            merged.update(scope)
        return merged

    def floats(self, shape: Shape | None = None, rank: int | None = None) -> list[Var]:
        return [v for v in self.visible().values() if v.kind == "float"
                and (shape is None or v.shape == shape) and (rank is None or len(v.shape) == rank)]

    def ints(self) -> list[Var]:
        return [v for v in self.visible().values() if v.kind == "int"]

    def bind(self, name: str, shape: Shape, shared: bool = False, kind: str = "float", **extra) -> Var:
        var = Var(name, kind, shape, shared=shared, scope=len(self.scopes) - 1, **extra)
        self.scopes[-1][name] = var
        return var

    def rebind(self, var: Var, code: str) -> None:
        """`var` is assigned `code`: whether it may share memory afterwards (conservatively, once
        possibly shared inside a nested block, it stays so)."""
        if not var.shape:
            return
        nested = var.scope != len(self.scopes) - 1  # the binding before may be the one that survives
        sources = self.arrays_in(code) if may_alias(code) else []
        for source in sources:
            source.shared = True
        var.shared = bool(sources) or (var.shared and nested)
        var.of_arg = any(source.of_arg for source in sources) or (var.of_arg and nested)

    def arrays_in(self, code: str) -> list[Var]:
        """The array variables `code` names."""
        visible = self.visible()
        return [visible[name] for name in re.findall(r"[A-Za-z_]\w*", code)
                if name in visible and visible[name].shape]

    def new_name(self, shape: Shape) -> str:
        stems = {0: ["r", "e", "acc", "res", "q", "c", "d", "g", "s"], 1: ["y", "z", "h", "u", "v", "grad", "p"],
                 2: ["M", "B", "K", "P", "G"]}[len(shape)]
        return self.mod.fresh(self.mod.choice(stems))

    def in_branch(self) -> bool:
        """Whether the cursor is inside an ``if`` or a branch of ``a if c else b`` (after an early
        return, the rest of the function is: s2sad turns the return into a flag and an ``if``)."""
        return "if" in self.blocks or self.returned_early or self.branch_expressions > 0 or any(self.jumped)

    def jump(self) -> None:
        """A ``break``, ``continue`` or ``return`` was written inside the current block: what
        follows it there runs in a branch (s2sad turns the jump into a flag and an ``if``)."""
        loops = [k for k, kind in enumerate(self.blocks) if kind != "if"]
        for k in range(loops[-1] + 1 if loops else 0, len(self.jumped)):
            self.jumped[k] = True

    def note(self, feature: str, in_branch: bool | None = None, loops: int | None = None) -> None:
        """A construct whose place matters: tagged `feature`; `feature-in-if` when it is inside a
        branch (`in_branch`, by default `self.in_branch()`), `feature-in-if-in-loop` when also
        inside a loop, `feature-in-nested-loops` inside two loops (`loops`, by default those around
        the cursor). A helper's features are noted again where it is called, since s2sad inlines
        it there."""
        branch = self.in_branch() if in_branch is None else in_branch
        depth = len(self.loops) if loops is None else loops
        self.features.add((feature, branch, depth))
        self.tags.add(feature)
        if branch:
            self.tags.add(f"{feature}-in-if")
            if depth:
                self.tags.add(f"{feature}-in-if-in-loop")
        if depth >= 2:
            self.tags.add(f"{feature}-in-nested-loops")

    @property
    def loops(self) -> list[str]:
        return [kind for kind in self.blocks if kind != "if"]

    @property
    def nesting(self) -> int:
        return len(self.blocks)

    @contextlib.contextmanager
    def block(self, kind: str):
        """The body of an ``if``, ``for`` or ``while`` (`kind`): its new names are dropped at its end."""
        self.indent += 1
        self.scopes.append({})
        self.blocks.append(kind)
        self.jumped.append(False)
        start = len(self.lines)
        try:
            yield
        finally:
            if len(self.lines) == start:
                self.emit("pass")
            self.jumped.pop()
            self.blocks.pop()
            self.scopes.pop()
            self.indent -= 1

    def body(self, count: int | None = None) -> None:
        lo, hi = self.mod.config.block
        for _ in range(count if count is not None else int(self.rng.integers(lo, hi + 1))):
            self.statement()

    # statements ------------------------------------------------------------------------------

    def statement(self) -> None:
        for _ in range(20):
            statements = [p for p in self.mod.grammar.statements if p.weight(self) > 0]
            production = pick(self.mod, statements, lambda p: p.weight(self))
            if production is not None and production.make(self):
                self.tags.add(production.name)
                return
        self.emit(f"{self.assign_target(())} = {self.expr(())}")

    def assign_target(self, shape: Shape) -> str:
        name = self.new_name(shape)
        self.bind(name, shape)
        return name

    # expressions -----------------------------------------------------------------------------

    def expr(self, shape: Shape, depth: int | None = None) -> str:
        depth = self.mod.config.depth if depth is None else depth
        table = self.mod.grammar.expressions[len(shape)]
        choices = table if depth > 0 else [p for p in table if p.leaf]
        for _ in range(12):
            production = pick(self.mod, choices, lambda p: p.weight)
            code = production.make(self, shape, depth - 1)
            if code is not None:
                if production.tag:
                    self.tags.add(production.tag)
                return code
        return self.fill(shape)

    def fill(self, shape: Shape) -> str:
        """An array made from constants (the fallback when nothing else has the shape)."""
        if not shape:
            return self.mod.const()
        size = shape[0] if len(shape) == 1 else shape
        forms = [f"np.ones({size})", f"np.full({size}, {self.mod.const()})"]
        if len(shape) == 1:
            forms += [f"np.linspace({self.mod.const(-1, 0)}, {self.mod.const(0.5, 2)}, {shape[0]})",
                      f"np.arange({shape[0]}) * {self.mod.const()}"]
        elif shape[0] == shape[1]:
            forms.append(f"np.eye({shape[0]})")
        return self.mod.choice(forms)

    def reads_variables(self, code: str) -> bool:
        """Whether `code` reads a variable or a module global (rather than only constants)."""
        names = set(self.visible()) | set(self.mod.globals)
        return bool(names & set(re.findall(r"[A-Za-z_]\w*", code)))

    def data_expr(self, shape: Shape, depth: int | None = None) -> str:
        """An expression that reads at least one variable (not only constants)."""
        for _ in range(10):
            code = self.expr(shape, depth)
            if self.reads_variables(code):
                return code
        var = self.mod.choice(self.floats(shape))
        return var.name if var else self.expr(shape, depth)

    def target(self, rank: int | None = None) -> Var | None:
        """A float variable to write into; the function's own variables more often than its
        parameters."""
        candidates = [v for v in self.floats() if rank is None or (len(v.shape) >= 1 if rank else not v.shape)]
        use_param = self.mod.chance(0.15 if self.level == 0 else 0.05)
        return self.mod.choice([v for v in candidates if v.param == use_param])

    def fresh_expr(self, shape: Shape, depth: int | None = None) -> str:
        """An expression that makes a new array (never a view of a named one)."""
        for _ in range(10):
            code = self.expr(shape, depth)
            if not shape or not may_alias(code):
                return code
        return f"{paren(self.expr(shape, depth))} * 1.0"

    def positive(self, shape: Shape, depth: int) -> str:
        """An expression > 0 away from 0, at every point."""
        e = self.expr(shape, depth)
        form = self.mod.choice(["1.0 + {e} ** 2", "2.0 + np.sin({e})", "np.cosh({e})", "1.5 + np.tanh({e})",
                                "np.exp(0.5 * np.cos({e}))", "0.5 + np.square({e})"])
        return form.format(e=paren(e))

    def bounded(self, shape: Shape, depth: int) -> str:
        """An expression with values in [-1, 1]."""
        return f"np.{self.mod.choice(['tanh', 'sin', 'cos'])}({self.expr(shape, depth)})"

    def condition(self, depth: int = 1) -> str:
        """A scalar condition, on data or (in loops) on the index."""
        ints = [v for v in self.ints() if v.hi - v.lo > 1]
        if ints and self.mod.chance(0.3):
            i = self.mod.choice(ints)
            return self.mod.choice([f"{i.name} % 2 == 0", f"{i.name} > {int(self.rng.integers(i.lo, i.hi))}",
                                    f"{i.name} == {int(self.rng.integers(i.lo, i.hi))}"])
        op = self.mod.choice([">", "<", ">=", "<="])
        left = self.data_expr((), depth)
        right = self.expr((), depth - 1) if self.mod.chance(0.3) else self.mod.const(-1.0, 1.0)
        text = f"{left} {op} {right}"
        if self.mod.chance(0.15):
            text = f"{text} and {self.data_expr((), 0)} {self.mod.choice(['>', '<'])} {self.mod.const(-1.0, 1.0)}"
            self.tags.add("and")
        return text

    def index(self, length: int) -> str:
        """An int expression that is a valid index of an axis of `length`."""
        fits = [v for v in self.ints() if -length <= v.lo and v.hi <= length]
        wraps = [v for v in self.ints() if v.lo >= 0]
        roll = self.rng.random()
        if fits and roll < 0.5:
            i = self.mod.choice(fits)
            if i.lo >= 1 and self.mod.chance(0.3):
                return f"{i.name} - 1"
            if i.hi <= length - 1 and self.mod.chance(0.3):
                return f"{i.name} + 1"
            if i.lo >= 0 and self.mod.chance(0.2):
                return f"{length - 1} - {i.name}"
            return i.name
        if wraps and roll < 0.7:
            return f"{self.mod.choice(wraps).name} % {length}"
        return str(int(self.rng.integers(-length, length)))

    def slice_of(self, length: int, size: int) -> str:
        """A slice of `size` elements of an axis of `length`."""
        if size == length and self.mod.chance(0.2):
            return "::-1"
        if size == (length + 1) // 2 and size < length and self.mod.chance(0.4):
            return "::2"
        start = int(self.rng.integers(0, length - size + 1))
        if start + size == length and start > 0 and self.mod.chance(0.4):
            return f"-{size}:"
        return slice_text(start, start + size, length)

    def draw(self, shape: Shape) -> str:
        """A random draw of `shape` from the function's Generator (made on first use)."""
        self.note("draw")
        if self.rng_name is None:
            given = [v for v in self.visible().values() if v.kind == "rng"]
            if given:
                self.rng_name = given[0].name
            else:
                self.rng_name = self.mod.fresh("rng")
                self.prologue.append(f"{self.rng_name} = np.random.default_rng({int(self.rng.integers(0, 100))})")
        size = "" if not shape else (str(shape[0]) if len(shape) == 1 else str(shape))
        sep = ", " if size else ""
        kind = self.mod.choice(["normal", "standard_normal", "uniform", "random", "normal_scaled"])
        if kind == "standard_normal":
            return f"{self.rng_name}.standard_normal({size})"
        if kind == "random":
            return f"{self.rng_name}.random({size})"
        if kind == "uniform":
            low = self.expr((), 1) if self.mod.chance(0.4) else "0.0"
            return f"{self.rng_name}.uniform({low}, {paren(low)} + {self.positive((), 0)}{sep}{size})"
        scale = self.positive((), 0) if kind == "normal_scaled" else "1.0"
        loc = self.expr((), 1) if self.mod.chance(0.5) else "0.0"
        if not size:
            return f"{self.rng_name}.normal({loc}, {scale})"
        return f"{self.rng_name}.normal({loc}, {scale}, {size})"

    def wellconditioned(self, k: int, depth: int) -> str:
        """A k×k diagonally dominant matrix expression (off-diagonal rows sum below 0.5)."""
        inner = self.expr((k, k), depth)
        c = self.mod.choice(["1.0", "2.0", "1.5"])
        return f"{c} * np.eye({k}) + 0.1 * np.{self.mod.choice(['tanh', 'sin', 'cos'])}({inner})"

    # the whole function ------------------------------------------------------------------------

    def render(self, name: str) -> str:
        head = f"def {name}({', '.join(p.name for p in self.params)}):"
        lines = [head]
        if self.global_decls:
            lines.append(f"    global {', '.join(self.global_decls)}")
        lines += [f"    {line}" for line in self.prologue]
        return "\n".join(lines + self.lines)

    def final_return(self) -> None:
        """``return`` of a float that depends on recent values and the parameters."""
        self.emit(f"return {self.result_expr()}")

    def result_expr(self) -> str:
        if self.result:
            return self.fresh_expr(self.result, 1)
        top = [v for v in self.scopes[0].values() if v.kind == "float"]
        locals_ = [v for v in top if not v.param]
        chosen = locals_[-2:] + ([self.mod.choice(locals_)] if locals_ and self.mod.chance(0.5) else [])
        params = [v for v in top if v.param]
        if params and (not chosen or self.mod.chance(0.5)):
            chosen.append(self.mod.choice(params))
        terms = []
        for var in dict.fromkeys(v.name for v in chosen):
            v = self.visible()[var]
            if not v.shape:
                term = var
            else:
                term = self.mod.choice([f"np.sum({var})", f"np.sum({var} ** 2)", f"np.mean({var})",
                                        f"np.sum(np.sin({var}))"])
            terms.append(term if self.mod.chance(0.6) else f"{self.mod.const(0.1, 1.0)} * {term}")
        return " + ".join(terms) if terms else self.data_expr(())


def pick(module: ModuleBuilder, items: list, weight: Callable):
    weights = np.array([float(weight(item)) for item in items])
    if not len(items) or weights.sum() <= 0:
        return None
    return items[int(module.rng.choice(len(items), p=weights / weights.sum()))]


@dataclass(frozen=True)
class Statement:
    """A statement production: `make` writes it (returns False when it does not apply)."""

    name: str
    make: Callable[[FunctionBuilder], bool]
    weight: Callable[[FunctionBuilder], float]


@dataclass(frozen=True)
class Expression:
    """An expression production for one rank: `make(builder, shape, depth)` returns source or None."""

    name: str
    weight: float
    make: Callable[[FunctionBuilder, Shape, int], str | None]
    leaf: bool = False
    tag: str | None = None


@dataclass(frozen=True)
class Grammar:
    """The productions a generator draws from: statements, and expressions per rank (0, 1, 2)."""

    statements: list[Statement]
    expressions: dict[int, list[Expression]]
