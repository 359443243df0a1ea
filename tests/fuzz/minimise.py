"""Shrink a failing program to a small one that still fails the same way.

Greedy and syntactic: candidates are made by editing the module's `ast` (delete a statement,
replace a loop or branch by its body, replace an expression by one of its operands or a
constant, inline a helper, drop a helper, global or unused parameter) or the arguments (drop
an element along an axis, round the values). A candidate is kept when it is still a valid
program (`generator.plain_value`) and `check` still reports a failure with the same
signature (category, oracle, exception type); then the search starts over on the smaller
program, until no candidate is kept or the time budget is spent.
"""

from __future__ import annotations

import ast
import copy
import itertools
import time
from typing import Callable, Iterator

import numpy as np

from .generator import Invalid, plain_value
from .oracles import Failure, check
from .program import Program, unload

Signature = tuple[str, str, str]


def stages_for(failure: Failure) -> tuple[str, ...]:
    """The oracle stages `check` must run to see `failure` again."""
    oracle = failure.oracle
    if oracle in ("reverse", "value-reverse"):
        return ("reverse",)
    if oracle in ("forward", "value-forward"):
        return ("forward",)
    if oracle == "reverse-vs-forward":
        return ("modes",)
    if oracle.startswith("fd-"):
        return ("fd",) if oracle == "fd-reverse" else ("forward", "fd")
    if oracle.startswith("checkpoint"):
        return ("checkpoint",)
    if oracle == "numba":
        return ("numba",)
    return ("reverse", "forward", "modes", "fd", "checkpoint")


def reproduces(program: Program, failure: Failure, numba: bool = False) -> bool:
    """Whether `program` is valid and still fails with `failure`'s signature."""
    try:
        plain_value(program)
    except Invalid:
        return False
    module = program.load()
    try:
        outcome = check(getattr(module, program.entry), program.fresh_args(), numba=numba,
                        stages=stages_for(failure), checkpoint=None, timeout=60.0)
    except Exception:  # noqa: BLE001 (the plain run differs from plain_value's: not a valid candidate)
        return False
    finally:
        unload(module)
    return any(same_failure(f, failure) for f in outcome.failures)


def same_failure(found: Failure, wanted: Failure) -> bool:
    """Same category and oracle, and the same exception (a bare type name matches any message)."""
    kind = found.kind if found.kind == wanted.kind or ":" in wanted.kind else found.kind.split(":")[0]
    return (found.category, found.oracle, kind) == (wanted.category, wanted.oracle, wanted.kind)


def minimise(program: Program, failure: Failure, *, budget: float = 300.0, numba: bool = False,
             log: Callable[[str], None] | None = None) -> Program:
    """The smallest program found, within `budget` seconds, that fails like `failure`."""
    keep = lambda candidate: reproduces(candidate, failure, numba=numba)  # noqa: E731
    return shrink(program, keep, budget=budget, log=log)


def shrink(program: Program, keep: Callable[[Program], bool], *, budget: float = 300.0,
           log: Callable[[str], None] | None = None) -> Program:
    """Greedy shrinking of `program` while `keep` holds."""
    deadline = time.monotonic() + budget
    seen: set[str] = set()
    current = tidy(program)
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        for candidate in candidates(current):
            if time.monotonic() > deadline:
                break
            key = candidate.source + repr([np.asarray(v).tolist() if isinstance(v, np.ndarray) else v
                                           for v in candidate.values])
            if key in seen:
                continue
            seen.add(key)
            if keep(candidate):
                current = tidy(candidate)
                improved = True
                if log:
                    log(f"{size(current)} nodes")
                break
    return current


def size(program: Program) -> int:
    return sum(1 for _ in ast.walk(ast.parse(program.source))) + sum(np.size(v) for v in program.values)


def tidy(program: Program) -> Program:
    """The program's source as `ast.unparse` prints it, without the docstring or unused module
    definitions."""
    tree = ast.parse(program.source)
    tree.body = [node for node in tree.body if not _is_docstring(node)]
    changed = True
    while changed:
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {program.entry}
        used |= {name for n in ast.walk(tree) if isinstance(n, ast.Global) for name in n.names}
        body = [node for node in tree.body if _defined(node) is None or _defined(node) & used]
        changed = len(body) != len(tree.body)
        tree.body = body
    return program.with_changes(source=_unparse(tree))


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _defined(node: ast.stmt) -> set[str] | None:
    if isinstance(node, ast.FunctionDef):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    return None


def _unparse(tree: ast.Module) -> str:
    """Source with two blank lines around functions, as a module is written."""
    text = ""
    previous = None
    for node in tree.body:
        if previous is not None:
            functions = isinstance(node, ast.FunctionDef) or isinstance(previous, ast.FunctionDef)
            text += "\n\n\n" if functions or isinstance(previous, (ast.Import, ast.ImportFrom)) else "\n"
        text += ast.unparse(node)
        previous = node
    return text + "\n"


# --- candidates -------------------------------------------------------------------------------

def candidates(program: Program) -> Iterator[Program]:
    """Smaller variants of `program`, the biggest cuts first. None makes a condition constant
    that was not (``if False:``, ``while 1.0 < 2.0:``): s2sad folds those, which would lead the
    search away from what the program does to code no one writes."""
    tree = ast.parse(program.source)
    constant = _constant_tests(tree)
    edits = itertools.chain(_module_edits(tree, program.entry), _statement_edits(tree), _inlinings(tree),
                            _expression_edits(tree))
    yield from _parameter_edits(program, tree)
    for edited in edits:
        if _constant_tests(edited) <= constant:
            yield program.with_changes(source=_unparse(edited))
    yield from _argument_edits(program)


def _constant_tests(tree: ast.Module) -> int:
    """How many conditions (of ``if``, ``while``, ``a if c else b``) read no variable."""
    tests = [node.test for node in ast.walk(tree) if isinstance(node, (ast.If, ast.While, ast.IfExp))]
    return sum(not any(isinstance(n, ast.Name) for n in ast.walk(test)) for test in tests)


def _module_edits(tree: ast.Module, entry: str) -> Iterator[ast.Module]:
    for k, node in enumerate(tree.body):
        if isinstance(node, ast.FunctionDef) and node.name == entry or isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        edited = copy.deepcopy(tree)
        del edited.body[k]
        yield edited


def _bodies(tree: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    """(node, field) for every statement list in `tree`, outermost first."""
    for node in ast.walk(tree):
        for name in ("body", "orelse"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt) and not isinstance(node, ast.Module):
                yield node, name


def _statement_edits(tree: ast.Module) -> Iterator[ast.Module]:
    """Delete a statement, or replace a compound statement by (a part of) its body."""
    sites = [(path, k) for path in _paths(tree) for k in range(len(_resolve(tree, path)))]
    for path, k in sites:
        statement = _resolve(tree, path)[k]
        if isinstance(statement, (ast.Global, ast.Return)) and len(_resolve(tree, path)) == k + 1 \
                and path[-1][1] == "body" and isinstance(_resolve_node(tree, path), ast.FunctionDef):
            continue  # a function's final return stays
        for replacement in _replacements(statement):
            edited = copy.deepcopy(tree)
            body = _resolve(edited, path)
            body[k:k + 1] = replacement
            if not body:
                body.append(ast.Pass())
            yield edited


def _replacements(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    yield []
    if isinstance(statement, ast.If):
        yield statement.body
        if statement.orelse:
            yield statement.orelse
            yield [ast.If(statement.test, statement.body, [])]
    elif isinstance(statement, ast.While):
        yield statement.body
    elif isinstance(statement, ast.For):
        first = _first_item(statement.iter)
        if first is not None:
            yield [ast.Assign([statement.target], first, lineno=0)] + statement.body
    elif isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
        target = ast.Name(statement.target.id, ast.Load())
        yield [ast.Assign([statement.target], ast.BinOp(target, statement.op, statement.value), lineno=0)]


def _first_item(iterable: ast.expr) -> ast.expr | None:
    if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) and iterable.func.id == "range":
        return iterable.args[0] if len(iterable.args) > 1 else ast.Constant(0)
    return ast.Subscript(iterable, ast.Constant(0), ast.Load())


# Statement lists are addressed by a path of (index in parent list or None, field) steps from the
# module, so that an edit can be replayed on a deep copy.

def _paths(tree: ast.Module) -> list[tuple]:
    out = []

    def visit(node: ast.AST, path: tuple) -> None:
        for name in ("body", "orelse"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                if not isinstance(node, ast.Module):
                    out.append(path + ((None, name),))
                for k, child in enumerate(body):
                    visit(child, path + ((k, name),))
    visit(tree, ())
    return out


def _resolve_node(tree: ast.AST, path: tuple) -> ast.AST:
    node = tree
    for index, name in path[:-1]:
        node = getattr(node, name)[index]
    return node


def _resolve(tree: ast.AST, path: tuple) -> list:
    return getattr(_resolve_node(tree, path), path[-1][1])


# expressions

_NEVER = (ast.Store, ast.Del)


def _expression_sites(tree: ast.Module) -> list[ast.expr]:
    sites = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.expr) or isinstance(getattr(node, "ctx", None), _NEVER):
            continue
        if isinstance(node, ast.Name) or (isinstance(node, ast.Attribute) and node.attr != "T"):
            continue
        sites.append(node)
    return sites


def _simpler(node: ast.expr) -> list[ast.expr]:
    """What an expression can be replaced by: its operands, then constants."""
    out: list[ast.expr] = []
    if isinstance(node, ast.BinOp):
        out += [node.left, node.right]
    elif isinstance(node, ast.UnaryOp):
        out.append(node.operand)
    elif isinstance(node, ast.Call):
        out += [a for a in node.args if not isinstance(a, ast.Starred)]
    elif isinstance(node, ast.Subscript):
        out.append(node.value)
    elif isinstance(node, ast.Attribute):
        out.append(node.value)
    elif isinstance(node, ast.IfExp):
        out += [node.body, node.orelse]
    elif isinstance(node, ast.BoolOp):
        return list(node.values)
    elif isinstance(node, (ast.Compare, ast.Tuple, ast.List)):  # (a branch goes by replacing the `if` by a body)
        return []
    if isinstance(node, ast.Constant):
        if isinstance(node.value, float) and node.value not in (0.0, 1.0, 2.0):
            out += [ast.Constant(1.0), ast.Constant(round(node.value, 1))]
        elif isinstance(node.value, int) and not isinstance(node.value, bool) and node.value not in (0, 1):
            out += [ast.Constant(1), ast.Constant(0)]
    elif not isinstance(node, ast.Compare):
        out += [ast.Constant(1.0), ast.Constant(0.0)]
    return out


def _expression_edits(tree: ast.Module) -> Iterator[ast.Module]:
    count = len(_expression_sites(tree))
    for k in range(count):
        node = _expression_sites(tree)[k]
        for option in range(len(_simpler(node))):
            edited = copy.deepcopy(tree)
            target = _expression_sites(edited)[k]
            replacement = _simpler(target)[option]
            if ast.dump(replacement) == ast.dump(target):
                continue
            yield _replace(edited, target, replacement)


def _replace(tree: ast.Module, old: ast.expr, new: ast.expr) -> ast.Module:
    class Swap(ast.NodeTransformer):
        def visit(self, node):
            if node is old:
                return copy.deepcopy(new)
            return super().visit(node)
    return ast.fix_missing_locations(Swap().visit(tree))


# helpers

def _inlinings(tree: ast.Module) -> Iterator[ast.Module]:
    """A call of a helper replaced by the helper's body: its parameters assigned the arguments,
    its statements before the calling statement, the call by its returned expression."""
    helpers = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
             and node.func.id in helpers]
    for k in range(len(calls)):
        edited = copy.deepcopy(tree)
        call = [node for node in ast.walk(edited) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in helpers][k]
        helper = next(n for n in edited.body if isinstance(n, ast.FunctionDef) and n.name == call.func.id)
        inlined = _inline(edited, call, helper)
        if inlined is not None:
            yield inlined


def _inline(tree: ast.Module, call: ast.Call, helper: ast.FunctionDef) -> ast.Module | None:
    body = helper.body
    if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
        return None
    if any(isinstance(n, (ast.Return, ast.Global)) for stmt in body[:-1] for n in ast.walk(stmt)):
        return None
    if len(call.args) != len(helper.args.args) or call.keywords:
        return None
    for node, name in _bodies(tree):
        statements = getattr(node, name)
        for k, statement in enumerate(statements):
            if any(n is call for n in ast.walk(statement)):
                if isinstance(statement, (ast.While, ast.For, ast.If)) and not _in_header(statement, call):
                    continue  # the call is in the statement's body: found again at its own statement
                if isinstance(statement, ast.While):
                    return None
                setup = [ast.Assign([ast.Name(p.arg, ast.Store())], copy.deepcopy(a), lineno=0)
                         for p, a in zip(helper.args.args, call.args)]
                statements[k:k] = setup + copy.deepcopy(body[:-1])
                return _replace(tree, call, body[-1].value)
    return None


def _in_header(statement: ast.stmt, call: ast.Call) -> bool:
    header = statement.test if isinstance(statement, (ast.If, ast.While)) else statement.iter
    return any(n is call for n in ast.walk(header))


# parameters and arguments

def _parameter_edits(program: Program, tree: ast.Module) -> Iterator[Program]:
    """Drop a parameter the entry function no longer reads."""
    entry = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == program.entry)
    used = {n.id for stmt in entry.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    for k, param in enumerate(entry.args.args):
        if param.arg not in used and len(entry.args.args) > 1:
            edited = copy.deepcopy(tree)
            f = next(n for n in edited.body if isinstance(n, ast.FunctionDef) and n.name == program.entry)
            del f.args.args[k]
            yield program.with_changes(source=_unparse(edited), args=program.args[:k] + program.args[k + 1:])


def _argument_edits(program: Program) -> Iterator[Program]:
    """Smaller arrays (an element fewer along an axis), then simpler values."""
    for k, (name, value) in enumerate(program.args):
        if isinstance(value, np.ndarray):
            for axis in range(value.ndim):
                if value.shape[axis] > 1:
                    for keep in (slice(None, -1), slice(1, None)):
                        index = [slice(None)] * value.ndim
                        index[axis] = keep
                        yield _with_arg(program, k, value[tuple(index)].copy())
    for k, (name, value) in enumerate(program.args):
        if isinstance(value, float) or (isinstance(value, np.ndarray) and value.dtype.kind == "f"):
            rounded = np.round(value, 1)
            rounded = np.where((rounded == 0) & (value != 0), value, rounded)  # (no new zeros: kinks lie there)
            rounded = float(rounded) if isinstance(value, float) else rounded
            if not np.array_equal(rounded, value):
                yield _with_arg(program, k, rounded)


def _with_arg(program: Program, k: int, value) -> Program:
    args = list(program.args)
    args[k] = (args[k][0], value)
    return program.with_changes(args=args)
