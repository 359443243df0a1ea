"""Normalise jumps away before lowering: ``break``, ``continue`` and early ``return`` become
flags, and the statements after a jump run under ``if not flag:``. A ``for`` loop containing a
``break`` (or a ``return``) becomes a ``while`` loop, so that it stops when it should::

    for i in range(n):                  _next = 0
        if x > 1:                       _stop = n
            break            →          _broke = False
        x = x * 2                       while _next < _stop and not _broke:
                                            i = _next
                                            _next = _next + 1
                                            if x > 1:
                                                _broke = True
                                            if not _broke:
                                                x = x * 2

An early ``return v`` sets ``_result = v`` and ``_returned = True``, leaves every enclosing loop,
and the function ends with ``return _result``. The rewritten tree keeps the source lines, so
errors still point at the user's code.
"""

from __future__ import annotations

import copy
import itertools

import gast

RESULT, RETURNED = "_result", "_returned"
SYNTHETIC_PREFIX = "_"


def normalize(tree: gast.FunctionDef, is_builtin=lambda name: True) -> gast.FunctionDef:
    """Rewrite `tree` in place so that it has no break, continue or early return, and its loops
    over ``enumerate(...)`` and ``zip(...)`` are loops over ``range(...)`` (`is_builtin` tells
    whether a name refers to the builtin of that name, not to one of the user's)."""
    tree.body = _Comprehensions(itertools.count(1), is_builtin).stmts(tree.body)  # (its loops, then these)
    tree.body = _Iterations(itertools.count(1), is_builtin).stmts(tree.body)
    tree.body = _ListBuilds(itertools.count(1), is_builtin).stmts(tree.body)
    body = list(tree.body)
    if not _has_early_return(body):
        tree.body = _Loops(itertools.count(1)).stmts(body, [])
        return tree
    final = body[-1] if body and (isinstance(body[-1], gast.Return) or always_returns(body[-1])) else None
    if final is None:
        return tree  # lowering reports the missing final return
    counter = itertools.count(1)
    body = _ReturnRewriter().stmts(body)
    start = _assign(RETURNED, _const(False), tree.body[0])
    tree.body = [start] + _Loops(counter).stmts(body, [RETURNED]) + [
        _at(gast.Return(_name(RESULT)), final)]
    return tree


def always_returns(stmt) -> bool:
    """Does every path through `stmt` end in a return (``if c: return a`` / ``else: return b``)?"""
    if isinstance(stmt, gast.Return):
        return True
    if isinstance(stmt, gast.If):
        return bool(stmt.body and stmt.orelse) and always_returns(stmt.body[-1]) and always_returns(stmt.orelse[-1])
    if isinstance(stmt, gast.While):  # (``while True:`` that no break leaves: it ends by a return)
        return isinstance(stmt.test, gast.Constant) and bool(stmt.test.value) and not stmt.orelse \
            and not _breaks(stmt.body) and any(isinstance(n, gast.Return) for s in stmt.body for n in gast.walk(s))
    return False


def _breaks(body: list) -> bool:
    """Does a ``break`` in `body` leave the loop whose body it is (not a loop nested in it)?"""
    for stmt in body:
        if isinstance(stmt, gast.Break):
            return True
        if isinstance(stmt, gast.If) and (_breaks(stmt.body) or _breaks(stmt.orelse)):
            return True
        if isinstance(stmt, (gast.For, gast.While)) and _breaks(stmt.orelse):
            return True
    return False


def _has_early_return(body: list) -> bool:
    returns = [n for stmt in body for n in gast.walk(stmt) if isinstance(n, gast.Return)]
    return len(returns) > 1 or (returns and not isinstance(body[-1], gast.Return))


# --- small tree builders ---------------------------------------------------------------------

def _name(id_: str, store: bool = False) -> gast.Name:
    return gast.Name(id_, gast.Store() if store else gast.Load(), None, None)


def _const(value) -> gast.Constant:
    return gast.Constant(value, None)


def _at(node, like):
    """`node` (a statement or expression made here) located at `like`, with the parts made here
    inside it too (so that an error about one names the user's line)."""
    return gast.fix_missing_locations(gast.copy_location(node, like))


def _assign(target: str, value, like) -> gast.Assign:
    return _at(gast.Assign([_name(target, store=True)], value, None), like)


def _not_any(flags: list[str], like) -> gast.expr:
    test = _name(flags[0]) if len(flags) == 1 else gast.BoolOp(gast.Or(), [_name(f) for f in flags])
    return _at(gast.UnaryOp(gast.Not(), test), like)


def _jumps(stmt, kinds: tuple) -> bool:
    """Does `stmt` contain a jump of `kinds` that leaves it (not one inside a nested loop)?"""
    if isinstance(stmt, kinds):
        return True
    if isinstance(stmt, (gast.For, gast.While)):
        return gast.Return in kinds and any(isinstance(n, gast.Return) for n in gast.walk(stmt))
    return any(_jumps(child, kinds) for child in gast.iter_child_nodes(stmt)
               if isinstance(child, gast.stmt))


# --- enumerate and zip ------------------------------------------------------------------------

class _StatementPass:
    """A rewrite of statement lists, innermost first: `statement` gives what replaces one
    statement (whose nested bodies are rewritten already), seeing the statements before it."""

    def __init__(self, counter, is_builtin=lambda name: True):
        self.counter = counter
        self.is_builtin = is_builtin

    def stmts(self, stmts: list) -> list:
        out: list = []
        for stmt in stmts:
            for field in ("body", "orelse"):
                if isinstance(getattr(stmt, field, None), list) and not isinstance(stmt, gast.FunctionDef):
                    setattr(stmt, field, self.stmts(getattr(stmt, field)))
            out += self.statement(stmt, out)
        return out

    def statement(self, stmt, before: list) -> list:
        raise NotImplementedError


class _Iterations(_StatementPass):
    """Loops over ``enumerate(...)`` and ``zip(...)`` (of arrays, ranges, and each other) as loops
    over a ``range(...)`` of their length::

        for i, (a, b) in enumerate(zip(xs, range(n))):      _seq = xs
            body                                  →          for _k in range(min(len(_seq), len(range(n)))):
                                                                 i, (a, b) = (0 + _k, (_seq[_k], 0 + _k * 1))
                                                                 body
    """

    def statement(self, stmt, before: list) -> list:
        return self.loop(stmt) if isinstance(stmt, gast.For) else [stmt]

    def called(self, node) -> str | None:
        """'enumerate', 'zip' or 'range' when `node` calls that builtin (in a form it supports)."""
        if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)
                and node.func.id in ("enumerate", "zip", "range", "reversed") and self.is_builtin(node.func.id)):
            return None
        name, args, keywords = node.func.id, node.args, node.keywords
        if name == "reversed" and not (len(args) == 1 and not keywords
                                       and self.called(args[0]) not in ("enumerate", "zip", "reversed")):
            return None  # (Python cannot reverse an enumerate or a zip)
        if name == "enumerate" and not (len(args) in (1, 2) and all(k.arg == "start" for k in keywords)):
            return None
        if name == "zip" and (not args or keywords):
            return None
        return name

    def loop(self, loop: gast.For) -> list:
        if self.called(loop.iter) not in ("enumerate", "zip", "reversed"):
            return [loop]
        index = f"_k{next(self.counter)}"
        setup, length, item = self.sequence(loop.iter, _name(index), loop)
        loop.sequences = [n.id for n in gast.walk(length) if isinstance(n, gast.Name) and n.id not in ("len", "min")]
        loop.body = [_at(gast.Assign([loop.target], item, None), loop)] + loop.body
        loop.target, loop.iter = _name(index, store=True), gast.Call(_name("range"), [length], [])
        return setup + [loop]

    def sequence(self, node, index, at) -> tuple[list, gast.expr, gast.expr]:
        """(statements binding `node`'s arrays once, its length, its item at `index`)."""
        kind = self.called(node)
        if kind == "range":
            bounds = list(node.args) if len(node.args) != 1 else [_const(0), node.args[0]]
            step = bounds[2] if len(bounds) == 3 else _const(1)
            return [], gast.Call(_name("len"), [node], []), \
                gast.BinOp(bounds[0], gast.Add(), gast.BinOp(index, gast.Mult(), step))
        if kind == "enumerate":
            start = node.args[1] if len(node.args) == 2 else next((k.value for k in node.keywords), _const(0))
            setup, length, item = self.sequence(node.args[0], index, at)
            return setup, length, gast.Tuple([gast.BinOp(start, gast.Add(), index), item], gast.Load())
        if kind == "reversed":  # (the item at len - 1 - index)
            marker = f"_rev{next(self.counter)}"
            setup, length, item = self.sequence(node.args[0], _name(marker), at)
            backwards = gast.BinOp(gast.BinOp(length, gast.Sub(), _const(1)), gast.Sub(), index)
            return setup, length, _Substitute(marker, backwards).visit(item)
        if kind == "zip":
            parts = [self.sequence(arg, index, at) for arg in node.args]
            lengths = [length for _, length, _ in parts]
            length = lengths[0] if len(lengths) == 1 else gast.Call(_name("min"), lengths, [])
            return [s for setup, _, _ in parts for s in setup], length, \
                gast.Tuple([item for _, _, item in parts], gast.Load())
        setup = []
        if not isinstance(node, gast.Name):  # (evaluated once, as Python does)
            name = f"_seq{next(self.counter)}"
            setup, node = [_assign(name, node, at)], _name(name)
        return setup, gast.Call(_name("len"), [node], []), gast.Subscript(node, index, gast.Load())


class _Substitute(gast.NodeTransformer):
    """Replace the name `name` with (a copy of) the expression `value`."""

    def __init__(self, name: str, value):
        self.name, self.value = name, value

    def visit_Name(self, node):
        if node.id == self.name:
            return copy.deepcopy(self.value)
        return node


def _keyed(iterable) -> bool:
    """Whether a dict comprehension over `iterable` may have keys known when the function is
    compiled: not over ``range(...)`` or ``enumerate(...)``, whose keys are computed at run time
    (a dict of computed keys is refused, as the comprehension itself)."""
    return not (isinstance(iterable, gast.Call) and isinstance(iterable.func, gast.Name)
                and iterable.func.id in ("range", "enumerate"))


class _Comprehensions(_StatementPass):
    """A list comprehension with one ``for`` and no ``if`` as the loop that appends its items,
    placed before the statement that holds it (then a list built in a loop, `_ListBuilds`), and
    a dict comprehension so as the loop that assigns its items (``{k: p[k] - g[k] for k in p}``:
    ``_comp1 = {}``, then ``_comp1[k] = p[k] - g[k]`` in a loop over ``p``, unrolled)::

        y = np.array([f(x[i]) for i in range(n)])   →   _comp1 = []
                                                        for _ci1 in range(n):
                                                            _comp1.append(f(x[_ci1]))
                                                        y = np.array(_comp1)

    Its variable is renamed (it is the comprehension's own in Python). Not in a ``while``
    condition, which runs again at every iteration (left as it is, and refused)."""

    def statement(self, stmt, before: list) -> list:
        hoisted: list = []
        if not isinstance(stmt, (gast.While, gast.FunctionDef)):
            for field in ("value", "test", "iter", "targets"):
                if getattr(stmt, field, None) is not None:
                    setattr(stmt, field, self.expr(getattr(stmt, field), hoisted, stmt))
        return hoisted + [stmt]

    def expr(self, node, before: list, at):
        if isinstance(node, list):
            return [self.expr(n, before, at) for n in node]
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id in _CONSUMERS \
                and self.is_builtin(node.func.id) and node.args and _simple(node.args[0], gast.GeneratorExp):
            # (sum(w * v for w, v in zip(ws, x)): the generator is consumed whole, so its items may be
            # made first, as a list comprehension's are; not any() or all(), which stop early)
            gen = node.args[0]
            node.args[0] = gast.copy_location(gast.ListComp(gen.elt, gen.generators), gen)
        if _simple(node, gast.ListComp) and isinstance(node.elt, gast.ListComp):
            return node  # (a list of lists: refused where it is lowered)
        if _simple(node, gast.ListComp) or _simple(node, gast.DictComp) and _keyed(node.generators[0].iter):
            return self.loop(node, before, at)
        for name, value in gast.iter_fields(node):
            if isinstance(value, gast.AST) and not isinstance(value, (gast.Lambda, gast.expr_context)):
                setattr(node, name, self.expr(value, before, at))
            elif isinstance(value, list):
                setattr(node, name, [self.expr(v, before, at) if isinstance(v, gast.AST) else v for v in value])
        return node

    def loop(self, comp, before: list, at) -> gast.Name:
        """The loop that makes `comp` (a list or a dict comprehension), added to `before`; the
        name of the list or dict it fills."""
        c = next(self.counter)
        generator = comp.generators[0]
        parts = [comp.key, comp.value] if isinstance(comp, gast.DictComp) else [comp.elt]
        renamed = {n.id: f"_c{c}_{n.id}" for n in gast.walk(generator.target) if isinstance(n, gast.Name)}
        for node in [generator.target, *parts]:
            for n in gast.walk(node):
                if isinstance(n, gast.Name) and n.id in renamed:
                    n.id = renamed[n.id]
        iterable = self.expr(generator.iter, before, at)
        inner: list = []   # (a comprehension in the item runs at every item: its loop goes in this one's body)
        parts = [self.expr(part, inner, at) for part in parts]
        name = f"_comp{c}"
        if isinstance(comp, gast.DictComp):  # (_comp1 = {}, then _comp1[key] = value at each item)
            empty = gast.Dict([], [])
            fill = gast.Assign([gast.Subscript(_name(name), parts[0], gast.Store())], parts[1], None)
        else:
            empty = gast.List([], gast.Load())
            fill = gast.Expr(gast.Call(gast.Attribute(_name(name), "append", gast.Load()), parts, []))
        loop = gast.For(generator.target, iterable, inner + [_at(fill, at)], [], None)
        before += [_assign(name, empty, at), _at(loop, at)]
        return _name(name)


# Python's functions that consume an iterable whole (a generator given to them may be a list)
_CONSUMERS = {"sum", "max", "min"}


def _simple(node, kind: type) -> bool:
    """Whether `node` is a comprehension of `kind` with one ``for`` and no ``if``."""
    return isinstance(node, kind) and len(node.generators) == 1 and not node.generators[0].ifs \
        and not node.generators[0].is_async


class _ListBuilds(_StatementPass):
    """A list appended to once per iteration of a counted loop as an array of rows, filled in
    place (the trajectory idiom)::

        xs = []                                  xs = []
        for i in range(a, b, c):                 _la1, _lb1, _lc1 = a, b, c
            x = f(x)                             _ln1 = len(range(_la1, _lb1, _lc1))
            xs.append(x)            →            for i in range(_la1, _lb1, _lc1):
                                                     _lk1 = (i - _la1) // _lc1
                                                     x = f(x)
                                                     _litem1 = x
                                                     _lbuf1 = _s2sad_rows(_lbuf1, _litem1, _lk1, _ln1)
                                                     _lbuf1[_lk1] = _litem1
                                                 xs = _s2sad_list(_lbuf1, xs)

    This form serves a loop that appends to `xs` at most once per iteration (at the top of its
    body, or in its ``if`` statements: then at a count of the rows stored) and has no break,
    continue or return.
    A ``while`` loop, or a ``for`` loop appending otherwise (in several places, in inner loops,
    after a ``break``), stores its rows into an array that grows as a ``while`` loop's tape does
    (`rewrite_grown`). Either way, the loop mentions `xs` only to append to it, has no return,
    and a list display (``xs = []``, ``xs = [x0]``) comes before it with `xs` unused in between
    (its items come first); any other ``append`` is refused where it is lowered. The lowering
    (`_s2sad_rows`, `_s2sad_grow`, `_s2sad_list`) makes `xs` a list value backed by the rows,
    and checks that no appended array is written into afterwards (the list holds the array
    itself, as Python's does)."""

    def statement(self, stmt, before: list) -> list:
        setup, after = [], []
        if isinstance(stmt, gast.For) and any(_appended(s) for s in stmt.body) and not self.over_range(stmt):
            setup, stmt = self.over_indices(stmt)
        names = self.built(stmt, before + setup) if isinstance(stmt, gast.For) else []
        if names:
            setup, after = self.rewrite(stmt, names, setup)
        names = self.grown(stmt, before + setup) if isinstance(stmt, (gast.For, gast.While)) else []
        for name, items in names:
            setup, after = self.rewrite_grown(stmt, name, items, setup, after)
        return setup + [stmt] + after

    def over_range(self, loop: gast.For) -> bool:
        it = loop.iter
        return isinstance(it, gast.Call) and isinstance(it.func, gast.Name) and it.func.id == "range" \
            and self.is_builtin("range")

    def over_indices(self, loop: gast.For) -> tuple[list, gast.For]:
        """``for v in seq:`` as ``for _k in range(len(_seq)): v = _seq[_k]`` (a container's loop is
        still unrolled: `sequences`)."""
        c = next(self.counter)
        seq, index = f"_lseq{c}", f"_lk{c}i"
        setup = [_assign(seq, loop.iter, loop)]
        loop.body = [_at(gast.Assign([loop.target], gast.Subscript(_name(seq), _name(index), gast.Load()), None),
                         loop)] + loop.body
        loop.target = _name(index, store=True)
        loop.iter = gast.Call(_name("range"), [gast.Call(_name("len"), [_name(seq)], [])], [])
        loop.sequences = [seq]
        return setup, loop

    def built(self, loop: gast.For, before: list) -> list[str]:
        """The lists `loop` builds (see the class)."""
        it = loop.iter
        if not (self.over_range(loop) and 1 <= len(it.args) <= 3 and not it.keywords
                and isinstance(loop.target, gast.Name) and not loop.orelse):
            return []
        if any(isinstance(n, (gast.Break, gast.Continue, gast.Return)) for s in loop.body for n in gast.walk(s)):
            return []
        names = []
        for stmt in _nested(loop.body, (gast.If,)):
            name = _appended(stmt)
            if name is None or name in names:
                continue
            mentions = sum(isinstance(n, gast.Name) and n.id == name for s in loop.body for n in gast.walk(s))
            start = next((k for k in range(len(before) - 1, -1, -1) if _mentions(before[k], name)), None)
            if mentions == 1 and start is not None and _makes_list(before[start], name):
                names.append(name)
        return names

    def grown(self, loop, before: list) -> list[tuple[str, int]]:
        """The lists `loop` appends to that `built` left (see `rewrite_grown`), each with the
        number of items it has before the loop."""
        if loop.orelse or any(isinstance(n, gast.Return) for s in loop.body for n in gast.walk(s)):
            return []
        names = []
        for stmt in _nested(loop.body, (gast.If, gast.For, gast.While)):
            name = _appended(stmt)
            if name is None or name in (n for n, _ in names):
                continue
            appends = sum(_appended(s) == name for s in _nested(loop.body, (gast.If, gast.For, gast.While)))
            mentions = sum(_is_name(n, name) for s in _read_by(loop) for n in gast.walk(s))
            reads = len(self.reads(_read_by(loop), name))
            start = next((k for k in range(len(before) - 1, -1, -1) if _mentions(before[k], name)), None)
            if mentions == appends + reads and start is not None and _makes_list(before[start], name):
                names.append((name, len(_display(before[start], name).elts)))
        return names

    def reads(self, stmts: list, name: str) -> list:
        """The reads of the list `name` in `stmts` that a loop appending to it may make:
        ``name[i]`` (an item) and ``len(name)``."""
        return [n for s in stmts for n in gast.walk(s)
                if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Load) and _is_name(n.value, name)
                and not isinstance(n.slice, (gast.Slice, gast.Tuple))
                or isinstance(n, gast.Call) and _is_name(n.func, "len") and self.is_builtin("len")
                and len(n.args) == 1 and not n.keywords and _is_name(n.args[0], name)]

    def rewrite_grown(self, loop, name: str, items: int, setup: list, after: list) -> tuple[list, list]:
        """A list a ``while`` loop appends to, or a ``for`` loop more than once per iteration (in
        an inner loop, or after a ``break``), as rows that grow like a ``while`` loop's tape, the
        next one stored at a count of the appends so far::

            _lcount1_xs = 0
            _lbuf1_xs = _s2sad_unset()               (no rows yet)
            while ...:                               (and wherever xs.append(v) was)
                _litem1_xs = v
                _lbuf1_xs = _s2sad_grow(_lbuf1_xs, _litem1_xs, _lcount1_xs)
                _lbuf1_xs[_lcount1_xs] = _litem1_xs
                _lcount1_xs = _lcount1_xs + 1
            xs = _s2sad_list(_lbuf1_xs, xs, _lcount1_xs)"""
        c = next(self.counter)
        count, item, buf = f"_lcount{c}_{name}", f"_litem{c}_{name}", f"_lbuf{c}_{name}"

        def store(stmt, value=None, first=False):
            grow = [_name(buf), _name(item), _name(count)] + ([_const(True)] if first else [])
            slot = gast.Subscript(_name(buf), _name(count), gast.Store())
            return [_assign(item, value or stmt.value.args[0], stmt),
                    _assign(buf, gast.Call(_name("_s2sad_grow"), grow, []), stmt),
                    _at(gast.Assign([slot], _name(item), None), stmt),
                    _assign(count, gast.BinOp(_name(count), gast.Add(), _const(1)), stmt)]
        setup = setup + [_assign(count, _const(0), loop), _unset(buf, loop)]
        before = _name(name)
        reads = self.reads(_read_by(loop), name)
        if reads:  # (the items before the loop go first into the rows, which the loop reads)
            setup += [new for j in range(items)
                      for new in store(loop, gast.Subscript(_name(name), _const(j), gast.Load()), first=True)]
            before = gast.List([], gast.Load())
            _ListReads(name, buf, count, reads).visit(loop)
        loop.body = _replace_appends(loop.body, name, store, (gast.If, gast.For, gast.While))
        listed = gast.Call(_name("_s2sad_list"), [_name(buf), before, _name(count)], [])
        return setup, after + [_assign(name, listed, loop)]

    def rewrite(self, loop: gast.For, names: list[str], setup: list) -> tuple[list, list]:
        """The loop appending to `names` once per iteration, rewritten in place: (what goes before
        it, after `setup`; what goes after it)."""
        c = next(self.counter)
        args = loop.iter.args
        bounds = [f"_la{c}", f"_lb{c}", f"_lc{c}"][:len(args)] if len(args) > 1 else [f"_lb{c}"]
        setup = setup + [_assign(b, a, loop) for b, a in zip(bounds, args)] + \
            [_unset(f"_lbuf{c}_{name}", loop) for name in names]
        loop.iter = gast.Call(_name("range"), [_name(b) for b in bounds], [])
        setup.append(_assign(f"_ln{c}", gast.Call(_name("len"), [gast.Call(_name("range"), [_name(b) for b in bounds],
                                                                            [])], []), loop))
        index = _name(loop.target.id)
        if len(args) > 1:
            index = gast.BinOp(gast.BinOp(index, gast.Sub(), _name(bounds[0])), gast.FloorDiv(),
                               _name(bounds[2]) if len(args) == 3 else _const(1))
        body = [_assign(f"_lk{c}", index, loop)]
        after = []
        for stmt in loop.body:
            name = _appended(stmt)
            if name not in names:
                body.append(stmt)
                continue
            body += self.store(c, name, stmt, f"_lk{c}")
            after.append(_assign(name, gast.Call(_name("_s2sad_list"), [_name(f"_lbuf{c}_{name}"), _name(name)], []),
                                 loop))
        for name in names:
            if any(_appended(stmt) == name for stmt in loop.body):
                continue  # (appended at every iteration: row k)
            count = f"_lcount{c}_{name}"  # (appended in a branch: the rows stored so far, at most one per iteration)
            setup.append(_assign(count, _const(0), loop))
            body = _replace_appends(body, name, lambda stmt, name=name, count=count: self.store(c, name, stmt, count) + [
                _assign(count, gast.BinOp(_name(count), gast.Add(), _const(1)), stmt)], (gast.If,))
            after.append(_assign(name, gast.Call(_name("_s2sad_list"), [_name(f"_lbuf{c}_{name}"), _name(name),
                                                                       _name(count)], []), loop))
        loop.body = body
        return setup, after

    @staticmethod
    def store(c: int, name: str, stmt, k: str) -> list:
        """``xs.append(v)`` as ``item = v; rows = _s2sad_rows(rows, item, k, n); rows[k] = item``."""
        item, buf = f"_litem{c}_{name}", f"_lbuf{c}_{name}"
        rows = gast.Call(_name("_s2sad_rows"), [_name(buf), _name(item), _name(k), _name(f"_ln{c}")], [])
        store = gast.Subscript(_name(buf), _name(k), gast.Store())
        return [_assign(item, stmt.value.args[0], stmt), _assign(buf, rows, stmt),
                _at(gast.Assign([store], _name(item), None), stmt)]


def _unset(buf: str, at):
    """``buf = _s2sad_unset()``: a list's rows have no value before its loop stores the first
    (the lowering unbinds them), so that a list made again at every step of an outer loop does
    not start from the rows of the list before."""
    return _assign(buf, gast.Call(_name("_s2sad_unset"), [], []), at)


def _appended(stmt) -> str | None:
    """`xs` for the statement ``xs.append(value)``."""
    if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call) and len(stmt.value.args) == 1 \
            and not stmt.value.keywords and isinstance(stmt.value.func, gast.Attribute) \
            and stmt.value.func.attr == "append" and isinstance(stmt.value.func.value, gast.Name):
        return stmt.value.func.value.id
    return None


def _nested(stmts: list, into: tuple) -> list:
    """`stmts` and the statements inside those of them of the kinds `into`, at any depth."""
    found = []
    for stmt in stmts:
        found.append(stmt)
        if isinstance(stmt, into):
            for inner in (stmt.body, stmt.orelse):
                found += _nested(inner, into)
    return found


def _replace_appends(stmts: list, name: str, make, into: tuple) -> list:
    """`stmts` with each statement ``name.append(...)`` in them, or inside statements of the
    kinds `into` at any depth, replaced by ``make(statement)``."""
    out = []
    for stmt in stmts:
        if _appended(stmt) == name:
            out += make(stmt)
            continue
        if isinstance(stmt, into):
            stmt.body, stmt.orelse = (_replace_appends(b, name, make, into) for b in (stmt.body, stmt.orelse))
        out.append(stmt)
    return out


def _mentions(stmt, name: str) -> bool:
    return any(isinstance(n, gast.Name) and n.id == name for n in gast.walk(stmt))


def _makes_list(stmt, name: str) -> bool:
    """Is `stmt` ``name = [...]`` (or ``name = list()``, or ``a, name = [], [x0]``)?"""
    return _display(stmt, name) is not None


def _display(stmt, name: str) -> gast.List | None:
    """The list display `stmt` binds to `name` (``list()`` as ``[]``), if it is one of those."""
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1):
        return None
    target, value = stmt.targets[0], stmt.value
    pairs = zip(target.elts, value.elts) if isinstance(target, gast.Tuple) and isinstance(value, gast.Tuple) \
        and len(target.elts) == len(value.elts) else [(target, value)]
    for t, v in pairs:
        if _is_name(t, name) and isinstance(v, gast.List):
            return v
        if _is_name(t, name) and isinstance(v, gast.Call) and _is_name(v.func, "list") and not v.args \
                and not v.keywords:
            return gast.List([], gast.Load())
    return None


def _read_by(loop) -> list:
    """What runs at every iteration of `loop`: its body, and a while loop's condition."""
    return [loop.test, *loop.body] if isinstance(loop, gast.While) else loop.body


def _is_name(node, name: str) -> bool:
    return isinstance(node, gast.Name) and node.id == name


class _ListReads(gast.NodeTransformer):
    """The reads of a list inside the loop that appends to it, of the rows the loop stores:
    ``xs[i]`` as ``_s2sad_item(rows, count, i)`` and ``len(xs)`` as the count."""

    def __init__(self, name: str, rows: str, count: str, reads: list):
        self.name, self.rows, self.count, self.reads = name, rows, count, reads

    def visit(self, node):
        if any(node is r for r in self.reads):
            if isinstance(node, gast.Call):  # len(xs)
                return _at(_name(self.count), node)
            index = self.visit(node.slice)
            return _at(gast.Call(_name("_s2sad_item"), [_name(self.rows), _name(self.count), index],
                                                []), node)
        return self.generic_visit(node)


# --- returns ---------------------------------------------------------------------------------

class _ReturnRewriter:
    """``return v`` → ``_result = v; _returned = True`` (the final return too)."""

    def stmts(self, stmts: list) -> list:
        out = []
        for stmt in stmts:
            if isinstance(stmt, gast.Return):
                value = stmt.value if stmt.value is not None else _const(None)
                out += [_assign(RESULT, value, stmt), _assign(RETURNED, _const(True), stmt)]
                continue
            for field in ("body", "orelse"):
                if isinstance(getattr(stmt, field, None), list) and not isinstance(stmt, gast.FunctionDef):
                    setattr(stmt, field, self.stmts(getattr(stmt, field)))
            out.append(stmt)
        return out


# --- loops and guards ------------------------------------------------------------------------

class _Loops:
    """Turn break/continue into flags and guard what follows every statement that may jump."""

    def __init__(self, counter):
        self.counter = counter

    def stmts(self, stmts: list, flags: list[str]) -> list:
        """Rewrite `stmts`; after a statement that may set one of `flags`, guard the rest."""
        out = []
        for k, stmt in enumerate(stmts):
            out += self.stmt(stmt, flags)
            setting = [f for f in flags if _sets(stmt, f)]
            rest = stmts[k + 1:]
            if setting and rest:
                guarded = self.stmts(rest, flags)
                out.append(_at(gast.If(_not_any(setting, rest[0]), guarded, []), rest[0]))
                break
        return out

    def stmt(self, stmt, flags: list[str]) -> list:
        if isinstance(stmt, (gast.For, gast.While)):
            return self.loop(stmt, flags)
        if isinstance(stmt, gast.If):
            stmt.body = self.stmts(stmt.body, flags)
            stmt.orelse = self.stmts(stmt.orelse, flags)
        return [stmt]

    def loop(self, loop, outer_flags: list[str]) -> list:
        k = next(self.counter)
        broke, continued = f"_broke{k}" if k > 1 else "_broke", f"_continued{k}" if k > 1 else "_continued"
        has_break = any(_jumps(s, (gast.Break,)) for s in loop.body)
        has_continue = any(_jumps(s, (gast.Continue,)) for s in loop.body)
        leaves = [RETURNED] if RETURNED in outer_flags and any(_sets(s, RETURNED) for s in loop.body) else []
        body = _replace_jumps(loop.body, broke, continued)
        inner_flags = ([broke] if has_break else []) + ([continued] if has_continue else []) + leaves
        body = self.stmts(body, inner_flags)
        if has_continue:
            body = [_assign(continued, _const(False), loop)] + body
        stops = ([broke] if has_break else []) + leaves
        if not stops:
            loop.body = body
            return [loop]
        setup = [_assign(broke, _const(False), loop)] if has_break else []
        if isinstance(loop, gast.While):
            loop.test = _at(gast.BoolOp(gast.And(), [loop.test, _not_any(stops, loop)]), loop.test)
            loop.body = body
            return setup + [loop]
        return setup + _for_as_while(loop, body, stops, k)


def _sets(stmt, flag: str) -> bool:
    return any(isinstance(n, gast.Name) and n.id == flag and isinstance(n.ctx, gast.Store)
               for n in gast.walk(stmt))


def _replace_jumps(stmts: list, broke: str, continued: str) -> list:
    """break → ``broke = True``, continue → ``continued = True`` (not inside nested loops)."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, gast.Break):
            out.append(_assign(broke, _const(True), stmt))
        elif isinstance(stmt, gast.Continue):
            out.append(_assign(continued, _const(True), stmt))
        else:
            if isinstance(stmt, gast.If):
                stmt.body = _replace_jumps(stmt.body, broke, continued)
                stmt.orelse = _replace_jumps(stmt.orelse, broke, continued)
            out.append(stmt)
    return out


def _for_as_while(loop: gast.For, body: list, stops: list[str], k: int) -> list:
    """``for target in range(...)`` (or over an array) as a while loop that honours `stops`."""
    suffix = str(k) if k > 1 else ""
    nxt, stop = f"_next{suffix}", f"_stop{suffix}"
    it = loop.iter
    if isinstance(it, gast.Call) and isinstance(it.func, gast.Name) and it.func.id == "range":
        args = list(it.args)
        if len(args) == 1:
            args = [_const(0)] + args
        start, end, step = (args + [_const(1)])[:3]
        item = _name(nxt)
    else:
        start, step = _const(0), _const(1)
        end = gast.Call(_name("len"), [it], [])
        array = f"_items{suffix}"
        item = gast.Subscript(_name(array), _name(nxt), gast.Load())
    setup = ([_assign(f"_items{suffix}", it, loop)] if not isinstance(item, gast.Name) else []) + [
        _assign(nxt, start, loop), _assign(stop, end, loop)]
    if isinstance(item, gast.Subscript):
        setup[-1] = _assign(stop, gast.Call(_name("len"), [_name(f"_items{suffix}")], []), loop)
    going = _compare(nxt, stop, step)
    test = gast.BoolOp(gast.And(), [going, _not_any(stops, loop)])
    advance = [_at(gast.Assign([loop.target], item, None), loop),
               _assign(nxt, gast.BinOp(_name(nxt), gast.Add(), step), loop)]
    return setup + [_at(gast.While(test, advance + body, []), loop)]


def _compare(nxt: str, stop: str, step) -> gast.expr:
    """``_next < _stop`` for a positive step, ``>`` for a negative one (either, when unknown)."""
    up = gast.Compare(_name(nxt), [gast.Lt()], [_name(stop)])
    down = gast.Compare(_name(nxt), [gast.Gt()], [_name(stop)])
    if isinstance(step, gast.Constant):
        return up if step.value > 0 else down
    if isinstance(step, gast.UnaryOp) and isinstance(step.op, gast.USub):
        return down
    positive = gast.Compare(step, [gast.Gt()], [_const(0)])
    return gast.IfExp(positive, up, down)
