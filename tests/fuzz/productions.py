"""The productions of the program generator: statements and expressions, each a function of
the builder that writes source (or returns None where it does not apply), listed with weights
in `STATEMENTS` and `EXPRESSIONS`. A new construct is a new function and a line in a table.
"""

from __future__ import annotations

import re

import numpy as np

from .builder import Expression, FunctionBuilder, Grammar, Helper, ModuleBuilder, Shape, Statement, Var, paren


def some_shape(module: ModuleBuilder, ranks: tuple[int, ...] = (0, 0, 1, 1, 1, 2)) -> Shape:
    """A shape of one of `ranks` (repeated ranks are likelier), from the program's lengths."""
    rank = module.choice(ranks)
    return tuple(module.choice(module.lengths) for _ in range(rank))


# statements -------------------------------------------------------------------------------------

def st_assign(fb: FunctionBuilder) -> bool:
    shape = some_shape(fb.mod)
    code = fb.fresh_expr(shape)
    name = fb.new_name(shape)
    fb.emit(f"{name} = {code}")
    fb.bind(name, shape)
    return True


def st_update(fb: FunctionBuilder) -> bool:
    """Rebind a float variable to a new value computed from it (a recurrence in loops)."""
    var = fb.mod.choice(fb.floats())
    if var is None:
        return False
    e = fb.expr(var.shape, 2)
    form = fb.mod.choice(["{v} + {e}", "0.5 * {v} + {e}", "{v} * {b}", "np.tanh({v} + {e})", "{v} - 0.1 * {e}",
                          "0.9 * {v} + 0.1 * np.sin({e})"])
    code = form.format(v=var.name, e=paren(e), b=paren(fb.bounded(var.shape, 1)))
    fb.emit(f"{var.name} = {code}")
    fb.rebind(var, code)
    if form in ("{v} + {e}", "{v} - 0.1 * {e}"):
        shift_tags(fb, e)
    return True


def shift_tags(fb: FunctionBuilder, term: str) -> None:
    """Tag ``v = v + term`` in a loop when `term` reads no float variable (constants, ints,
    module globals): the loop's derivative is the identity there (``t = t + dt`` with a
    constant step)."""
    floats = {v.name for v in fb.floats()}
    if fb.loops and not floats & set(re.findall(r"[A-Za-z_]\w*", term)):
        fb.tags.add("loop-shift-by-constant")


def in_place_tags(fb: FunctionBuilder, var: Var, what: str) -> None:
    """Tags of a write into `var`'s memory (`what` is "inplace" or "store")."""
    if not var.shape:
        return
    fb.tags.add(f"{what}-shared" if var.shared else f"{what}-local")
    if var.of_arg:
        fb.tags.add(f"{what}-arg" if fb.level == 0 else f"{what}-helper-param")
    if var.name in fb.iterated or (var.shared and fb.iterated):
        fb.tags.add("write-iterated")


def st_augassign(fb: FunctionBuilder) -> bool:
    var = fb.target()
    if var is None:
        return False
    op = fb.mod.choice(["+=", "-=", "*=", "/="])
    sub = var.shape if not var.shape or fb.mod.chance(0.6) else ()
    e = fb.positive(sub, 1) if op in ("/=",) else (fb.bounded(sub, 1) if op == "*=" else fb.expr(sub, 2))
    fb.emit(f"{var.name} {op} {e}")
    in_place_tags(fb, var, "inplace")
    if op in ("+=", "-="):
        shift_tags(fb, e)
    return True


def store_into(fb: FunctionBuilder, var: Var) -> str:
    """A store into an element, row, column or slice of `var` (returns the statement)."""
    op = fb.mod.choice(["=", "=", "+=", "-=", "*="])
    shape = var.shape
    if len(shape) == 1:
        (length,) = shape
        if fb.mod.chance(0.6):
            target, value_shape = f"{var.name}[{fb.index(length)}]", ()
        else:
            size = int(fb.rng.integers(1, length + 1))
            target, value_shape = f"{var.name}[{fb.slice_of(length, size)}]", (size,)
    else:
        r, c = shape
        form = fb.mod.choice(["element", "row", "column", "rows"])
        if form == "element":
            target, value_shape = f"{var.name}[{fb.index(r)}, {fb.index(c)}]", ()
        elif form == "row":
            target, value_shape = f"{var.name}[{fb.index(r)}]", (c,)
        elif form == "column":
            target, value_shape = f"{var.name}[:, {fb.index(c)}]", (r,)
        else:
            size = int(fb.rng.integers(1, r + 1))
            target, value_shape = f"{var.name}[{fb.slice_of(r, size)}, :]", (size, c)
    if value_shape and fb.mod.chance(0.3):
        value_shape = ()
    value = fb.bounded(value_shape, 1) if op == "*=" else fb.expr(value_shape, 2)
    in_place_tags(fb, var, "store")
    shift_tags(fb, value)
    return f"{target} {op} {value}"


def st_store(fb: FunctionBuilder) -> bool:
    var = fb.target(rank=1)
    if var is None:
        return False
    fb.emit(store_into(fb, var))
    return True


def st_copy_then_store(fb: FunctionBuilder) -> bool:
    source = fb.mod.choice([v for v in fb.floats() if v.shape])
    if source is None:
        return False
    name = fb.mod.fresh(source.name.lower()[:1] + "_new" if source.name[:1].isalpha() else "y")
    fb.emit(f"{name} = {fb.mod.choice([f'{source.name}.copy()', f'np.copy({source.name})'])}")
    var = fb.bind(name, source.shape)
    for _ in range(int(fb.rng.integers(1, 3))):
        fb.emit(store_into(fb, var))
    fb.tags.add("copy")
    return True


def st_alias(fb: FunctionBuilder) -> bool:
    """A second name for an array, or a view into it, then an in-place update through one of them."""
    arrays = [v for v in fb.floats() if v.shape]
    base = fb.mod.choice(arrays)
    if base is None:
        return False
    form = fb.mod.choice(["alias", "view", "transpose", "row"])
    if form == "transpose" and len(base.shape) != 2:
        form = "alias"
    if form == "row" and len(base.shape) != 2:
        form = "view"
    if form == "alias":
        code, shape = base.name, base.shape
    elif form == "view":
        length = base.shape[0]
        size = int(fb.rng.integers(1, length + 1))
        code, shape = f"{base.name}[{fb.slice_of(length, size)}]", (size,) + base.shape[1:]
    elif form == "transpose":
        code, shape = f"{base.name}.T", base.shape[::-1]
    else:
        code, shape = f"{base.name}[{fb.index(base.shape[0])}]", base.shape[1:]
    name = fb.new_name(shape)
    fb.emit(f"{name} = {code}")
    view = fb.bind(name, shape, shared=True, of_arg=base.of_arg)
    base.shared = True
    target = fb.mod.choice([view, base])
    if fb.mod.chance(0.3):
        fb.emit(store_into(fb, target))
    else:
        op = fb.mod.choice(["+=", "-=", "*="])
        value = fb.bounded((), 1) if op == "*=" else fb.mod.choice([fb.mod.const(), fb.expr((), 1)])
        fb.emit(f"{target.name} {op} {value}")
        in_place_tags(fb, target, "inplace")
    fb.tags.add(f"alias-{form}")
    return True


def st_helper_mutates(fb: FunctionBuilder) -> bool:
    """``s = helper(x)`` where the helper writes into its array argument."""
    if fb.level >= fb.mod.config.helper_levels or len(fb.mod.helpers) >= fb.mod.config.max_helpers:
        return False
    var = fb.mod.choice([v for v in fb.floats() if v.shape])
    if var is None:
        return False
    helper = make_mutating_helper(fb.mod, fb.level + 1, var.shape)
    name = fb.new_name(())
    fb.emit(f"{name} = {call(fb, helper, [var.name])}")
    fb.bind(name, ())
    var.shared = True
    fb.tags.add("helper-mutates-arg" if var.of_arg and fb.level == 0 else "helper-mutates-local")
    return True


def st_for_range(fb: FunctionBuilder) -> bool:
    loop_tags(fb)
    arrays = [v for v in fb.visible().values() if v.shape and v.kind == "float"]
    counts = [v for v in fb.ints() if v.param]
    roll = fb.rng.random()
    if arrays and roll < 0.5:
        var = fb.mod.choice(arrays)
        length = var.shape[0]
        start = int(fb.rng.integers(0, 2)) if length > 1 else 0
        bound = fb.mod.choice([f"len({var.name})", f"{var.name}.shape[0]"])
        header = f"range({bound})" if start == 0 else f"range({start}, {bound})"
        lo, hi = start, length
    elif counts and roll < 0.7:
        var = fb.mod.choice(counts)
        header, lo, hi = f"range({var.name})", 0, var.lo
    else:
        hi = int(fb.rng.integers(1, 6))
        header, lo = f"range({hi})", 0
    name = fb.mod.fresh(fb.mod.choice(["i", "j", "k", "t", "step"]))
    fb.emit(f"for {name} in {header}:")
    with fb.block("for"):
        fb.bind(name, (), kind="int", lo=lo, hi=max(hi, lo + 1))
        fb.body()
    return True


def st_for_array(fb: FunctionBuilder) -> bool:
    var = fb.mod.choice([v for v in fb.floats() if v.shape])
    if var is None:
        return False
    loop_tags(fb)
    item = fb.mod.fresh({1: "xi", 2: "row"}[len(var.shape)])
    fb.emit(f"for {item} in {var.name}:")
    var.shared = True  # the loop reads the array as it is at each step: a write into it is seen
    fb.iterated.append(var.name)
    with fb.block("for"):
        row = len(var.shape) == 2
        fb.bind(item, var.shape[1:], shared=row, of_arg=row and var.of_arg)
        fb.body()
    fb.iterated.pop()
    fb.tags.add("for-rows" if len(var.shape) == 2 else "for-elements")
    return True


def st_while(fb: FunctionBuilder) -> bool:
    """``while k < N and cond:`` with the counter incremented first (so ``continue`` is safe)."""
    loop_tags(fb)
    fb.note("while")
    scalars = fb.floats(())
    counter = fb.mod.fresh(fb.mod.choice(["it", "k", "n_iter"]))
    limit = int(fb.rng.integers(1, 6))
    fb.emit(f"{counter} = 0")
    fb.bind(counter, (), kind="int", lo=0, hi=limit + 1)
    cond = f"{counter} < {limit}"
    carried = fb.mod.choice(scalars) if scalars and fb.mod.chance(0.7) else None
    if carried is not None:
        cond += f" and {carried.name} {fb.mod.choice(['<', '>'])} {fb.mod.const(-3.0, 3.0)}"
    fb.emit(f"while {cond}:")
    with fb.block("while"):
        fb.emit(fb.mod.choice([f"{counter} += 1", f"{counter} = {counter} + 1"]))
        if carried is not None:
            form = fb.mod.choice(["{v} + 0.3 * {b}", "0.8 * {v} + {b}", "{v} * 1.1 + 0.1 * {b}"])
            term = fb.bounded((), 1)
            fb.emit(f"{carried.name} = {form.format(v=carried.name, b=paren(term))}")
            if form == "{v} + 0.3 * {b}":
                shift_tags(fb, term)
        fb.body()
    return True


def st_if(fb: FunctionBuilder) -> bool:
    if fb.loops:
        fb.note("if-in-loop")  # its condition is recorded on a tape (bools)
    fb.emit(f"if {fb.condition()}:")
    with fb.block("if"):
        fb.body()
    for _ in range(int(fb.rng.integers(0, 2))):
        fb.emit(f"elif {fb.condition()}:")
        with fb.block("if"):
            fb.body()
        fb.tags.add("elif")
    if fb.mod.chance(0.6):
        fb.emit("else:")
        with fb.block("if"):
            fb.body()
    return True


def exit_tags(fb: FunctionBuilder) -> None:
    """Note a ``break``, ``continue`` or ``return`` in a loop (s2sad turns it into a flag);
    "exit-loop-in-if" when that loop is itself inside a branch."""
    loops = [k for k, kind in enumerate(fb.blocks) if kind != "if"]
    if loops:
        fb.note("exit-loop", "if" in fb.blocks[:loops[-1]] or fb.returned_early)


def loop_tags(fb: FunctionBuilder) -> None:
    """Note a loop inside a loop."""
    if fb.loops:
        fb.note("nested-loop")


def st_early_return(fb: FunctionBuilder) -> bool:
    exit_tags(fb)
    fb.emit(f"if {fb.condition()}:")
    with fb.block("if"):
        fb.emit(f"return {fb.result_expr() if fb.result else fb.data_expr(())}")
    fb.returned_early = True
    fb.jump()
    return True


def st_break(fb: FunctionBuilder) -> bool:
    exit_tags(fb)
    fb.emit(f"if {fb.condition()}:")
    with fb.block("if"):
        fb.emit("break")
    fb.jump()
    return True


def st_continue(fb: FunctionBuilder) -> bool:
    exit_tags(fb)
    fb.emit(f"if {fb.condition()}:")
    with fb.block("if"):
        fb.emit("continue")
    fb.jump()
    return True


def declare_global(fb: FunctionBuilder, name: str) -> None:
    if name not in fb.global_decls:
        fb.global_decls.append(name)


def global_write_tags(fb: FunctionBuilder) -> None:
    fb.note("global")
    fb.tags.add("global-write")
    if fb.level > 0:
        fb.tags.add("global-write-in-helper")


def st_global_counter(fb: FunctionBuilder) -> bool:
    name = fb.mod.global_name("counter", lambda: "0", Var("", kind="int", lo=0, hi=1))
    declare_global(fb, name)
    fb.emit(fb.mod.choice([f"{name} += 1", f"{name} = {name} + 1"]))
    global_write_tags(fb)
    return True


def st_global_total(fb: FunctionBuilder) -> bool:
    """A module float accumulating a data-dependent value (``global total; total = total + s``)."""
    name = fb.mod.global_name("total", lambda: "0.0", Var(""))
    declare_global(fb, name)
    fb.emit(f"{name} = {name} + {paren(fb.expr((), 1))}")
    global_write_tags(fb)
    return True


def st_global_array_store(fb: FunctionBuilder) -> bool:
    shape = (fb.mod.choice(fb.mod.lengths),)
    name = fb.mod.global_name("array", lambda: global_array_source(fb.mod, shape), Var("", shape=shape))
    var = Var(name, shape=shape, shared=True)
    fb.emit(store_into(fb, var))
    global_write_tags(fb)
    return True


def st_draw(fb: FunctionBuilder) -> bool:
    shape = some_shape(fb.mod, (0, 1, 1, 2))
    name = fb.new_name(shape)
    code = fb.draw(shape)
    if fb.mod.chance(0.5):
        code = f"{paren(fb.expr(shape, 1))} * {paren(code)}" if fb.mod.chance(0.5) else code
    fb.emit(f"{name} = {code}")
    fb.bind(name, shape)
    return True


def st_linalg(fb: FunctionBuilder) -> bool:
    k = fb.mod.choice(fb.mod.lengths)
    name = fb.mod.fresh(fb.mod.choice(["A_reg", "S", "L", "H"]))
    fb.emit(f"{name} = {fb.wellconditioned(k, 1)}")
    fb.bind(name, (k, k))
    use = fb.mod.choice(["solve", "inv", "det"])
    out_shape = {"solve": (k,), "inv": (k, k), "det": ()}[use]
    out = fb.new_name(out_shape)
    if use == "solve":
        fb.emit(f"{out} = np.linalg.solve({name}, {fb.expr((k,), 2)})")
    elif use == "inv":
        fb.emit(f"{out} = np.linalg.inv({name})")
    else:
        fb.emit(f"{out} = np.linalg.det({name})")
    fb.bind(out, out_shape)
    fb.tags.add(use)
    return True


def index_arrays(fb: FunctionBuilder, length: int) -> list[Var]:
    """The index arrays whose entries are valid indices of an axis of `length`."""
    return [v for v in fb.visible().values() if v.kind == "index" and v.hi <= length]


def st_index_array(fb: FunctionBuilder) -> bool:
    """A local index array (a literal, an argsort, integers computed from floats) or a mask."""
    length = fb.mod.choice(fb.mod.lengths)
    name = fb.mod.fresh(fb.mod.choice(["idx", "order", "bins", "sel"]))
    form = fb.mod.choice(["literal", "argsort", "floor", "mask"])
    if form == "mask":
        fb.emit(f"{name} = {paren(fb.data_expr((length,), 1))} > {fb.mod.const(-0.5, 0.5)}")
        fb.bind(name, (length,), kind="mask")
        fb.tags.add("mask-local")
        return True
    size = int(fb.rng.integers(1, length + 2))
    if form == "literal":
        code = f"np.array({fb.rng.integers(0, length, size).tolist()})"
    elif form == "argsort":
        size = length
        code = fb.mod.choice([f"np.argsort({fb.data_expr((length,), 1)})", f"{paren(fb.data_expr((length,), 1))}.argsort()"])
    else:
        scaled = f"{length} * (0.5 + 0.5 * {fb.bounded((size,), 1)})"
        code = fb.mod.choice([f"np.clip(np.floor({scaled}).astype(int), 0, {length - 1})",
                              f"np.minimum(({scaled}).astype(np.int64), {length - 1})"])
    fb.emit(f"{name} = {code}")
    fb.bind(name, (size,), kind="index", hi=length)
    fb.tags.add(f"index-{form}")
    return True


def st_index_store(fb: FunctionBuilder) -> bool:
    """A store through an index array or a mask: ``x[idx] = v``, ``x[idx] += v`` (buffered:
    a repeated index is written once), ``np.add.at(x, idx, v)`` (repeats accumulate),
    ``x[mask] = v``, ``x[x < 0.0] = 0.0``."""
    var = fb.target(rank=1)
    if var is None:
        return False
    length = var.shape[0]
    indices = index_arrays(fb, length)
    masks = [v for v in fb.visible().values() if v.kind == "mask" and v.shape == (length,)]
    rest = var.shape[1:]
    form = fb.mod.choice(["index", "index", "add.at", "mask"] + ["mask"] * len(masks))
    if form == "mask":
        mask = fb.mod.choice(masks) if masks and fb.mod.chance(0.6) else None
        cond = mask.name if mask else f"{var.name} {fb.mod.choice(['<', '>'])} {fb.mod.const(-0.5, 0.5)}"
        op = fb.mod.choice(["=", "=", "*=", "+="])
        value = fb.bounded((), 1) if op == "*=" else fb.mod.choice([fb.mod.const(), "0.0", fb.expr((), 1)])
        line = f"{var.name}[{cond}] {op} {value}"
        fb.note("bool-array")
    else:
        if indices and fb.mod.chance(0.6):
            idx = fb.mod.choice(indices)
            where, size = idx.name, idx.shape[0]
        else:  # repeats are likely: the buffered and unbuffered updates differ there
            size = int(fb.rng.integers(1, length + 2))
            where = f"np.array({fb.rng.integers(0, length, size).tolist()})"
            if fb.mod.chance(0.3):
                where = where[len("np.array("):-1]
        value_shape = (size,) + rest if fb.mod.chance(0.7) else ()
        value = fb.expr(value_shape, 2)
        if form == "add.at":
            line = f"np.add.at({var.name}, {where}, {value})"
        else:
            line = f"{var.name}[{where}] {fb.mod.choice(['=', '+=', '-=', '*='])} {value}"
    fb.emit(line)
    in_place_tags(fb, var, "store")
    fb.tags.add(f"index-store-{form}")
    return True


def st_int_from_float(fb: FunctionBuilder) -> bool:
    """An integer computed from floats (a bin, a texture coordinate, an argmax), then an index."""
    length = fb.mod.choice(fb.mod.lengths)
    name = fb.mod.fresh(fb.mod.choice(["cell", "b", "pos"]))
    unit = f"0.5 + 0.5 * {fb.bounded((), 1)}"
    form = fb.mod.choice(["int-floor", "int", "argmax", "argmin", "searchsorted"])
    if form == "int-floor":
        code = f"min(int(np.floor({length} * ({unit}))), {length - 1})"
    elif form == "int":
        code = f"min(int({length} * ({unit})), {length - 1})"
    elif form == "searchsorted":
        edges = ", ".join(repr(round(-1.0 + 2.0 * k / length, 2)) for k in range(1, length))
        code = f"np.searchsorted(np.array([{edges}]), {fb.bounded((), 1)})"
        if length == 1:
            code = "0"
    else:
        code = f"np.{form}({fb.data_expr((length,), 1)})"
    fb.emit(f"{name} = {code}")
    fb.bind(name, (), kind="int", lo=0, hi=length)
    fb.tags.add(f"int-from-{form}")
    return True


def st_list(fb: FunctionBuilder) -> bool:
    """A list filled in a loop, then made into an array or summed: ``ys = []`` ...
    ``ys.append(e)`` ... ``np.array(ys)``; or a recurrence that reads its last item
    (``hs = [h0]`` ... ``hs.append(f(hs[-1]))``)."""
    loop_tags(fb)
    item = some_shape(fb.mod, (0, 1, 1))
    count = int(fb.rng.integers(1, 5))
    name = fb.mod.fresh(fb.mod.choice(["ys", "hs", "terms", "states", "outs"]))
    recurrence = fb.mod.chance(0.4)
    fb.emit(f"{name} = [{fb.expr(item, 1)}]" if recurrence else f"{name} = []")
    step = fb.mod.fresh(fb.mod.choice(["t", "j", "s"]))
    fb.emit(f"for {step} in range({count}):")
    start = len(fb.lines)
    with fb.block("for"):
        fb.bind(step, (), kind="int", lo=0, hi=count)
        if recurrence:
            last = fb.mod.fresh("prev")
            fb.emit(f"{last} = {name}[-1]")
            fb.bind(last, item, shared=bool(item))
        fb.body(int(fb.rng.integers(0, 2)))
        fb.emit(f"{name}.append({fb.data_expr(item, 2)})")
    jumps = any(line.strip() in ("break", "continue") or line.strip().startswith("return")
                for line in fb.lines[start:])
    forms = ["sum({l})", "np.sum({l}, axis=0)"] if jumps else \
        ["np.array({l})", "sum({l})", "np.stack({l})", "np.sum({l}, axis=0)", "{l}[-1]", "np.mean({l}, axis=0)"]
    form = fb.mod.choice(forms)
    whole = (count + recurrence,) + item
    shape = whole if form in ("np.array({l})", "np.stack({l})") else item
    if len(shape) > 2:
        form, shape = "sum({l})", item
    result = fb.new_name(shape)
    fb.emit(f"{result} = {form.format(l=name)}")
    fb.bind(result, shape, shared=form == "{l}[-1]" and bool(shape))
    fb.tags.add("list-recurrence" if recurrence else "list-append")
    return True


def _compound(weight: float):
    return lambda fb: weight if fb.nesting < fb.mod.config.nesting else 0.0


def _top(weight: float):
    """Only outside loops (a global assignment in a loop is outside the subset)."""
    return lambda fb: weight if not fb.loops else 0.0


STATEMENTS: list[Statement] = [
    Statement("assign", st_assign, lambda fb: 10),
    Statement("update", st_update, lambda fb: 12 if fb.loops else 6),
    Statement("augassign", st_augassign, lambda fb: 4),
    Statement("store", st_store, lambda fb: 4),
    Statement("copy-store", st_copy_then_store, lambda fb: 3),
    Statement("alias", st_alias, lambda fb: 1.5),
    Statement("helper-mutates", st_helper_mutates, lambda fb: 1.0),
    Statement("for-range", st_for_range, _compound(5)),
    Statement("for-array", st_for_array, _compound(2)),
    Statement("while", st_while, _compound(2.5)),
    Statement("if", st_if, _compound(4)),
    Statement("early-return", st_early_return, lambda fb: 1.5 if fb.level == 0 or fb.result == () else 0.0),
    Statement("break", st_break, lambda fb: 3 if fb.loops else 0),
    Statement("continue", st_continue, lambda fb: 2 if fb.loops else 0),
    Statement("global-counter", st_global_counter, _top(1.2)),
    Statement("global-total", st_global_total, _top(0.8)),
    Statement("global-array-store", st_global_array_store, _top(0.2)),
    Statement("draw", st_draw, lambda fb: 1.2),
    Statement("linalg", st_linalg, lambda fb: 1.2),
    Statement("index-array", st_index_array, lambda fb: 1.0),
    Statement("index-store", st_index_store, lambda fb: 1.5),
    Statement("int-from-float", st_int_from_float, lambda fb: 0.8),
    Statement("list", st_list, _compound(1.5)),
]


# expressions ------------------------------------------------------------------------------------

def e_var(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    var = fb.mod.choice(fb.floats(shape))
    return var.name if var else None


def e_const(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    return fb.mod.const() if not shape else None


def e_fill(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    return fb.fill(shape) if shape else None


def e_int(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    ints = fb.ints()
    if shape or not ints:
        return None
    i = fb.mod.choice(ints)
    return fb.mod.choice([f"{fb.mod.const(0.1, 1.0)} * {i.name}", f"float({i.name})", f"{i.name} / {len(ints) + 1}"])


def e_global(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    """A module global: a number, a counter or running total (read live), or an array."""
    if not shape:
        role = fb.mod.choice(["number", "number", "counter", "total"])
        if role == "number":
            return fb.mod.global_name("number", lambda: fb.mod.const(0.5, 2.0), Var(""))
        existing = [n for n, r in fb.mod.global_roles.items() if r == role]
        if not existing:
            return None
        name = fb.mod.choice(existing)
        fb.tags.add("global-read")
        fb.note("global")
        return name if role == "total" else f"{fb.mod.const(0.1, 0.5)} * {name}"
    if fb.mod.chance(0.6):
        return None
    fb.note("global")
    return fb.mod.global_name("array", lambda: global_array_source(fb.mod, shape), Var("", shape=shape))


def global_array_source(module: ModuleBuilder, shape: Shape) -> str:
    values = np.round(module.rng.uniform(-1, 1, shape), 2)
    return f"np.array({values.tolist()!r})"


def e_unary(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    e = fb.expr(shape, depth)
    form = fb.mod.choice(["np.sin({e})", "np.cos({e})", "np.tanh({e})", "np.arctan({e})", "np.exp(-{p} ** 2)",
                          "np.exp(0.3 * {e})", "-{p}", "np.square({e})", "{p} ** 2", "{p} ** 3",
                          "np.sinh(0.5 * {e})", "np.arcsinh({e})", "np.log1p({p} ** 2)", "np.expm1(0.2 * {e})",
                          "np.cbrt({e})", "np.sin({e}) * np.cos({e})"])
    if form.startswith("np.cbrt"):
        fb.tags.add("cbrt")  # (its derivative is infinite at 0, where an element may be a constant 0)
    return form.format(e=e, p=paren(e))


def e_positive_function(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    p = fb.positive(shape, depth)
    form = fb.mod.choice(["np.sqrt({p})", "np.log({p})", "{p} ** 0.5", "{p} ** 1.5", "1.0 / {q}", "np.reciprocal({p})"])
    return form.format(p=p if form.startswith("np.") else paren(p), q=paren(p))


def operand_shape(fb: FunctionBuilder, shape: Shape) -> Shape:
    """The shape of a second operand that broadcasts against `shape` (the same, or fewer axes)."""
    if not shape or fb.mod.chance(0.65):
        return shape
    return fb.mod.choice([(), shape[1:]]) if len(shape) == 2 else ()


def e_binary(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    a, b = fb.expr(shape, depth), fb.expr(operand_shape(fb, shape), depth)
    if fb.mod.chance(0.5):
        a, b = b, a
    op = fb.mod.choice(["+", "-", "*", "*", "+"])
    if op == "-" and a == b:
        op = "+"  # (x - x is 0 everywhere: np.std or a norm of it is at its kink)
    return f"{paren(a) if op != '+' else a} {op} {paren(b)}"


def e_divide(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    return f"{paren(fb.expr(shape, depth))} / {paren(fb.positive(operand_shape(fb, shape), depth))}"


def e_power(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    return f"{paren(fb.positive(shape, depth))} ** {paren(fb.expr((), 0)) if fb.mod.chance(0.3) else fb.mod.const(0.5, 2.5)}"


def e_kink(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    a, b = fb.expr(shape, depth), fb.expr(operand_shape(fb, shape), depth)
    forms = ["np.abs({a})", "np.maximum({a}, {b})", "np.minimum({a}, {b})", "np.clip({a}, -1.0, 1.0)",
             "np.where({a} > {b}, {c}, {d})", "np.fmax({a}, {b})"]
    if not shape:
        forms += ["abs({a})", "max({a}, {b})", "min({a}, {b})"]
    form = fb.mod.choice(forms)
    c = fb.expr(shape, depth) if "{c}" in form else ""
    d = fb.expr(operand_shape(fb, shape), depth) if "{d}" in form else ""
    fb.tags.add(form.split("(")[0])
    if form.startswith("np.where") and shape:
        fb.note("bool-array")
    return form.format(a=a, b=b, c=c, d=d)


def e_ifexp(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    if fb.loops:
        fb.note("if-in-loop")
    fb.branch_expressions += 1
    try:
        body = fb.expr(shape, depth)
        fb.branch_expressions -= 1
        condition = fb.condition(depth)
        fb.branch_expressions += 1
        orelse = fb.expr(shape, depth)
    finally:
        fb.branch_expressions -= 1
    return f"({body} if {condition} else {orelse})"


def e_helper(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    """A call of a (new or reused) helper function returning `shape`."""
    if fb.level >= fb.mod.config.helper_levels:
        return None
    reusable = [h for h in fb.mod.helpers if h.result == shape and not h.mutates]
    if reusable and fb.mod.chance(0.5):
        helper = fb.mod.choice(reusable)
    elif len(fb.mod.helpers) < fb.mod.config.max_helpers:
        helper = make_helper(fb.mod, fb.level + 1, shape)
    else:
        return None
    args = [argument_for(fb, p, depth) for p in helper.params]
    return call(fb, helper, args)


def call(fb: FunctionBuilder, helper: Helper, args: list[str]) -> str:
    """A call of `helper`, with the tags of what s2sad inlines here."""
    for feature, branch, loops in sorted(helper.features):  # the helper's body is inlined here
        fb.note(feature, branch or fb.in_branch(), loops + len(fb.loops))
    fb.tags.add("helper")
    if fb.level >= 1:
        fb.tags.add("helper-calls-helper")
    return f"{helper.name}({', '.join(args)})"


def argument_for(fb: FunctionBuilder, param: Var, depth: int) -> str:
    """An argument for a helper's parameter: often a variable of its shape, passed as it is."""
    names = fb.floats(param.shape)
    if names and fb.mod.chance(0.6):
        return fb.mod.choice(names).name
    return fb.expr(param.shape, depth)


def e_draw(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    return fb.draw(shape) if len(shape) <= 2 else None


# scalars

def e_reduce(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    inner_shape = some_shape(fb.mod, (1, 1, 2))
    e = fb.expr(inner_shape, depth)
    form = fb.mod.choice(["np.sum({e})", "np.mean({e})", "{p}.sum()", "np.max({e})", "np.min({e})",
                          "np.linalg.norm({e})", "np.var({e})", "np.std({e})", "np.prod(np.tanh({e}))",
                          "{p}.mean()", "np.sum({p} ** 2)"])
    if form.startswith(("np.std", "np.linalg")):
        # The square root in them has no derivative where all elements are equal (std) or 0
        # (norm), which expressions built from broadcast constants can be everywhere: take a
        # variable's (random) values instead.
        fb.tags.add(form.split("(")[0])
        var = fb.mod.choice(fb.floats(rank=1) + fb.floats(rank=2))
        e = var.name if var else "np.linspace(0.5, 1.5, 3)"
    return form.format(e=e, p=paren(e))


def e_dot(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    k = fb.mod.choice(fb.mod.lengths)
    a, b = fb.expr((k,), depth), fb.expr((k,), depth)
    return fb.mod.choice([f"{paren(a)} @ {paren(b)}", f"np.dot({a}, {b})"])


def e_element(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    var = fb.mod.choice([v for v in fb.floats() if v.shape])
    if var is None:
        return None
    return f"{var.name}[{', '.join(fb.index(n) for n in var.shape)}]"


def e_det(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    k = fb.mod.choice(fb.mod.lengths)
    fb.tags.add("det")
    form = fb.mod.choice(["np.linalg.det({m})", "np.trace({m})", "np.linalg.slogdet({m})[1]"])
    return form.format(m=fb.wellconditioned(k, depth))


def e_masked(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    masks = [v for v in fb.visible().values() if v.kind == "mask"]
    var = fb.mod.choice([v for v in fb.floats() if len(v.shape) == 1])
    if var is None:
        return None
    fb.tags.add("mask")
    fb.note("bool-array")
    mask = next((m.name for m in masks if m.shape == var.shape), None)
    if mask is None or fb.mod.chance(0.4):
        mask = f"{var.name} > {fb.mod.const(-0.5, 0.5)}"
    if fb.mod.chance(0.3):
        other = f"({var.name} < {fb.mod.const(0.5, 1.5)})"
        mask = fb.mod.choice([f"({mask}) & {other}", f"({mask}) | {other}", f"~({mask})",
                              f"np.logical_and({mask}, {other})"])
        fb.tags.add("mask-logic")
    form = fb.mod.choice(["np.sum({x}[{m}] ** 2)", "np.sum(np.where({m}, {x}, 0.0))", "np.sum(np.sin({x}[{m}]))"])
    return form.format(x=var.name, m=mask)


def e_order_statistic(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    e = fb.data_expr((fb.mod.choice(fb.mod.lengths),), depth)
    form = fb.mod.choice(["np.median({e})", "np.percentile({e}, {q})", "np.quantile({e}, {f})",
                          "np.sort({e})[{k}]"])
    fb.tags.add(form.split("(")[0])
    return form.format(e=e, q=fb.mod.choice(["25.0", "50.0", "90.0", "10"]), f=fb.mod.choice(["0.25", "0.8", "0.5"]),
                       k=fb.mod.choice(["0", "-1"]))


# vectors

def e_axis_reduce(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    (k,) = shape
    other = fb.mod.choice(fb.mod.lengths)
    axis = int(fb.rng.integers(0, 2))
    e = fb.expr((other, k) if axis == 0 else (k, other), depth)
    fn = fb.mod.choice(["sum", "mean", "max", "min"])
    fb.tags.add("axis-reduction")
    if fb.mod.chance(0.3):
        return f"{paren(e)}.{fn}(axis={axis})"
    return f"np.{fn}({e}, axis={axis})"


def e_matvec(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    (k,) = shape
    c = fb.mod.choice(fb.mod.lengths)
    fb.tags.add("matmul")
    form = fb.mod.choice(["Mv", "vM", "MTv"])
    if form == "Mv":
        return f"{paren(fb.expr((k, c), depth))} @ {paren(fb.expr((c,), depth))}"
    if form == "vM":
        return f"{paren(fb.expr((c,), depth))} @ {paren(fb.expr((c, k), depth))}"
    return f"{paren(fb.expr((c, k), depth))}.T @ {paren(fb.expr((c,), depth))}"


def e_row_or_column(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    (k,) = shape
    rows = [v for v in fb.floats(rank=2) if v.shape[1] == k]
    cols = [v for v in fb.floats(rank=2) if v.shape[0] == k]
    if rows and (not cols or fb.mod.chance(0.5)):
        var = fb.mod.choice(rows)
        return fb.mod.choice([f"{var.name}[{fb.index(var.shape[0])}]", f"{var.name}[{fb.index(var.shape[0])}, :]"])
    if cols:
        var = fb.mod.choice(cols)
        return f"{var.name}[:, {fb.index(var.shape[1])}]"
    return None


def e_slice(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    (k,) = shape
    longer = [v for v in fb.floats(rank=1) if v.shape[0] >= k and v.shape[0] > 1]
    var = fb.mod.choice(longer)
    if var is None:
        return None
    fb.tags.add("slice")
    return f"{var.name}[{fb.slice_of(var.shape[0], k)}]"


def e_difference(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    (k,) = shape
    var = fb.mod.choice([v for v in fb.floats(rank=1) if v.shape[0] == k + 1])
    if var is None:
        return None
    fb.tags.add("slice")
    return fb.mod.choice([f"{var.name}[1:] - {var.name}[:-1]", f"0.5 * ({var.name}[1:] + {var.name}[:-1])"])


def e_cumulative(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    e = fb.expr(shape, depth)
    form = fb.mod.choice(["np.cumsum({e})", "np.flip({e})", "np.roll({e}, 1)", "{p}[::-1]",
                          "np.cumprod(np.tanh({e}))"])
    return form.format(e=e, p=paren(e))


def e_solve(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    (k,) = shape
    fb.tags.add("solve")
    return f"np.linalg.solve({fb.wellconditioned(k, depth)}, {fb.expr(shape, depth)})"


def e_gather(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    """A gather through an index array: ``x[idx]``, ``np.take(x, idx)``, ``M[i, idx]``,
    ``M[idx, i]``, ``M[rows, cols]``."""
    forms = []
    indices = [v for v in fb.visible().values() if v.kind == "index" and v.shape == shape]
    for idx in indices:
        forms += [f"{v.name}[{idx.name}]" for v in fb.floats(rank=1) if v.shape[0] >= idx.hi]
        forms += [f"np.take({v.name}, {idx.name})" for v in fb.floats(rank=1) if v.shape[0] >= idx.hi]
        for v in fb.floats(rank=2):
            r, c = v.shape
            if c >= idx.hi:
                forms.append(f"{v.name}[{fb.index(r)}, {idx.name}]")
            if r >= idx.hi:
                forms.append(f"{v.name}[{idx.name}, {fb.index(c)}]")
            forms += [f"{v.name}[{idx.name}, {other.name}]" for other in indices if r >= idx.hi and c >= other.hi]
    if not forms:
        return None
    fb.tags.add("index-array")
    return fb.mod.choice(forms)


def e_histogram(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    """A sum over a histogram: of weights (which have a derivative), or of the edges (whose ends
    follow the data's extremes)."""
    k = fb.mod.choice(fb.mod.lengths)
    x = fb.data_expr((k,), depth)
    fb.tags.add("histogram")
    if fb.mod.chance(0.5):
        return f"np.sum(np.histogram({x}, bins={fb.mod.choice([2, 3, 5])}, range=(-2.0, 2.0), " \
               f"weights={fb.expr((k,), depth)})[0] ** 2)"
    bins = fb.mod.choice([2, 4])
    return f"np.sum(np.histogram({x}, {bins})[1] * np.arange(1.0, {float(bins + 2)}))"  # (bins + 1 edges)


def e_convolve(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    """A convolution or correlation whose result has `shape`: 'full' of lengths adding up to it,
    or 'same' of a vector of its length with one no longer (in either order)."""
    (k,) = shape
    fn = fb.mod.choice(["np.convolve", "np.correlate"])
    fb.tags.add("convolve")
    if k > 1 and fb.mod.chance(0.5):
        first = int(fb.rng.integers(1, k + 1))
        return f"{fn}({fb.expr((first,), depth)}, {fb.expr((k - first + 1,), depth)}, 'full')"
    a, b = fb.expr((k,), depth), fb.expr((int(fb.rng.integers(1, k + 1)),), depth)
    if fb.mod.chance(0.5):
        a, b = b, a
    return f"{fn}({a}, {b}, mode='same')"


def e_running(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    fb.tags.add("accumulate")
    return f"np.{fb.mod.choice(['maximum', 'minimum'])}.accumulate({fb.data_expr(shape, depth)})"


def e_along_axis(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    """A median, percentile or quantile along an axis of a matrix."""
    (k,) = shape
    other = fb.mod.choice(fb.mod.lengths)
    axis = int(fb.rng.integers(0, 2))
    m = fb.data_expr((other, k) if axis == 0 else (k, other), depth)
    fb.tags.add("order-along-axis")
    return fb.mod.choice([f"np.median({m}, axis={axis})", f"np.percentile({m}, 40.0, axis={axis})",
                          f"np.quantile({m}, 0.7, axis={axis})"])


def e_sort_matrix(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    fb.tags.add("order-along-axis")
    return f"np.sort({fb.data_expr(shape, depth)}, axis={fb.mod.choice([0, 1, -1])})"


def e_sort(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    e = fb.data_expr(shape, depth)
    fb.tags.add("sort")
    return fb.mod.choice([f"np.sort({e})", f"np.sort({e})[::-1]", f"{paren(e)}[np.argsort({e})]"])


def e_concatenate(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    (k,) = shape
    if k < 2:
        return None
    split = int(fb.rng.integers(1, k))
    fb.tags.add("concatenate")
    return f"np.concatenate(({fb.expr((split,), depth)}, {fb.expr((k - split,), depth)}))"


def e_diagonal(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    (k,) = shape
    return f"np.diag({fb.expr((k, k), depth)})"


# matrices

def e_outer(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    r, c = shape
    a, b = fb.expr((r,), depth), fb.expr((c,), depth)
    return fb.mod.choice([f"np.outer({a}, {b})", f"{paren(a)}[:, None] * {paren(b)}"])


def e_matmul(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    r, c = shape
    p = fb.mod.choice(fb.mod.lengths)
    fb.tags.add("matmul")
    return f"{paren(fb.expr((r, p), depth))} @ {paren(fb.expr((p, c), depth))}"


def e_transpose(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    r, c = shape
    return f"{paren(fb.expr((c, r), depth))}.T"


def e_inverse(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    r, c = shape
    if r != c:
        return None
    fb.tags.add("inv")
    return f"np.linalg.inv({fb.wellconditioned(r, depth)})"


def e_submatrix(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    r, c = shape
    var = fb.mod.choice([v for v in fb.floats(rank=2) if v.shape[0] >= r and v.shape[1] >= c and v.shape != shape])
    if var is None:
        return None
    fb.tags.add("slice")
    return f"{var.name}[{fb.slice_of(var.shape[0], r)}, {fb.slice_of(var.shape[1], c)}]"


def e_gather_rows(fb: FunctionBuilder, shape: Shape, depth: int) -> str | None:
    r, c = shape
    for idx in [v for v in fb.visible().values() if v.kind == "index" and v.shape == (r,)]:
        targets = [v for v in fb.floats(rank=2) if v.shape[0] >= idx.hi and v.shape[1] == c]
        if targets:
            fb.tags.add("index-array")
            return f"{fb.mod.choice(targets).name}[{idx.name}]"
    return None


_COMMON = [
    Expression("var", 14, e_var, leaf=True),
    Expression("global", 1.0, e_global, leaf=True),
    Expression("unary", 5, e_unary),
    Expression("positive-function", 2, e_positive_function),
    Expression("binary", 8, e_binary),
    Expression("divide", 1.5, e_divide),
    Expression("power", 1, e_power),
    Expression("kink", 1.5, e_kink, tag="kink"),
    Expression("ifexp", 0.8, e_ifexp, tag="ifexp"),
    Expression("helper", 1.5, e_helper),
    Expression("draw", 0.4, e_draw, tag="draw"),
]

EXPRESSIONS: dict[int, list[Expression]] = {
    0: _COMMON + [
        Expression("const", 6, e_const, leaf=True),
        Expression("int", 1, e_int, leaf=True, tag="int-to-float"),
        Expression("element", 4, e_element, leaf=True, tag="index-read"),
        Expression("reduce", 6, e_reduce),
        Expression("dot", 2, e_dot, tag="dot"),
        Expression("det", 0.5, e_det),
        Expression("masked", 0.5, e_masked),
        Expression("order-statistic", 0.5, e_order_statistic),
        Expression("histogram", 0.3, e_histogram),
    ],
    1: _COMMON + [
        Expression("fill", 1, e_fill, leaf=True),
        Expression("row-or-column", 3, e_row_or_column, leaf=True, tag="index-read"),
        Expression("slice", 2, e_slice, leaf=True),
        Expression("difference", 1, e_difference),
        Expression("axis-reduce", 2, e_axis_reduce),
        Expression("matvec", 3, e_matvec),
        Expression("cumulative", 1, e_cumulative, tag="cumulative"),
        Expression("solve", 0.5, e_solve),
        Expression("gather", 1.5, e_gather, leaf=True),
        Expression("concatenate", 0.5, e_concatenate),
        Expression("diagonal", 0.4, e_diagonal, tag="diag"),
        Expression("sort", 0.4, e_sort),
        Expression("convolve", 0.4, e_convolve),
        Expression("accumulate", 0.3, e_running),
        Expression("along-axis", 0.3, e_along_axis),
    ],
    2: _COMMON + [
        Expression("fill", 1, e_fill, leaf=True),
        Expression("outer", 2, e_outer, tag="outer"),
        Expression("matmul", 2, e_matmul),
        Expression("transpose", 1.5, e_transpose, tag="transpose"),
        Expression("inverse", 0.4, e_inverse),
        Expression("submatrix", 1, e_submatrix, leaf=True),
        Expression("gather-rows", 1, e_gather_rows, leaf=True),
        Expression("sort-matrix", 0.3, e_sort_matrix),
    ],
}


# --- helpers ------------------------------------------------------------------------------------

def make_helper(module: ModuleBuilder, level: int, result: Shape) -> Helper:
    """A module-level function of one to three float parameters returning `result`."""
    shapes = [some_shape(module, (0, 0, 1, 1, 2)) for _ in range(int(module.rng.integers(1, 4)))]
    stems = ["a", "b", "u", "w", "p", "q"]
    params = [Var(module.fresh(stem), shape=s, shared=bool(s), of_arg=bool(s), param=True)
              for stem, s in zip(stems, shapes)]
    fb = FunctionBuilder(module, params, level, result)
    for _ in range(int(module.rng.integers(0, 3))):
        fb.statement()
    fb.final_return()
    name = module.fresh(module.choice(["phi", "kernel", "potential", "smooth", "model_term", "rhs", "penalty"]))
    helper = Helper(name, params, result, fb.render(name), features=frozenset(fb.features))
    module.helpers.append(helper)
    return helper


def make_mutating_helper(module: ModuleBuilder, level: int, shape: Shape) -> Helper:
    """A helper that writes into its array argument, then returns a float computed from it."""
    param = Var(module.fresh("a"), shape=shape, shared=True, of_arg=True, param=True)
    fb = FunctionBuilder(module, [param], level, ())
    form = module.choice(["augassign", "store", "both"])
    if form in ("augassign", "both"):
        op = module.choice(["-=", "+=", "*="])
        fb.emit(f"{param.name} {op} {module.const(0.5, 2.0)}")
    if form in ("store", "both"):
        fb.emit(store_into(fb, param))
    fb.body(int(module.rng.integers(0, 2)))
    fb.final_return()
    name = module.fresh(module.choice(["normalise", "shift", "clamp_first", "update", "relax"]))
    helper = Helper(name, [param], (), fb.render(name), mutates=True, features=frozenset(fb.features))
    module.helpers.append(helper)
    return helper


GRAMMAR = Grammar(STATEMENTS, EXPRESSIONS)
