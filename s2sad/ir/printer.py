"""A deterministic text form of the IR (what `s2sad show --ir` prints).

Values get short names in order of definition (``%0``, ``%1`` …, or the source name with a
number when one is known: ``x``, ``v.1``), one equation a line, regions indented::

    def f(x: f64, y: f64):
      v: f64 = add(x, y)
      t: f64 = sin(v)
      return t
"""

from __future__ import annotations

from .core import Atom, Block, Const, Eqn, ForRange, Function, If, Var, While, label


class _Names:
    def __init__(self):
        self.names: dict[Var, str] = {}
        self.taken: set[str] = set()

    def define(self, var: Var) -> str:
        base = label(var)
        name, k = base, 0
        while name in self.taken:
            k += 1
            name = f"{base}.{k}"
        self.taken.add(name)
        self.names[var] = name
        return f"{name}: {var.type}"

    def use(self, atom: Atom) -> str:
        if isinstance(atom, Const):
            return repr(atom.value)
        return self.names.get(atom, f"<undefined {atom.name}>")


def print_function(fn: Function) -> str:
    names = _Names()
    params = ", ".join(names.define(p) for p in fn.params)
    lines = [f"def {fn.name}({params}):"]
    _print_stmts(fn.body, names, lines, "  ")
    lines.append(f"  return {', '.join(names.use(r) for r in fn.results)}")
    return "\n".join(lines) + "\n"


def _print_stmts(block: Block, names: _Names, lines: list[str], indent: str) -> None:
    for stmt in block.stmts:
        _PRINTERS[type(stmt)](stmt, names, lines, indent)


def _print_region(block: Block, names: _Names, lines: list[str], indent: str, head: str) -> None:
    params = ", ".join(names.define(p) for p in block.params)
    lines.append(f"{indent}{head}({params}):" if params else f"{indent}{head}:")
    _print_stmts(block, names, lines, indent + "  ")
    lines.append(f"{indent}  yield {', '.join(names.use(r) for r in block.results)}".rstrip())


def _outs(stmt, names: _Names) -> str:
    return ", ".join(names.define(v) for v in stmt.outs)


def _print_eqn(eqn: Eqn, names: _Names, lines: list[str], indent: str) -> None:
    if eqn.prim.name == "comment":
        lines.append(f"{indent}# {eqn.params['text']}")
        return
    args = ", ".join(names.use(a) for a in eqn.ins)
    params = "; " + ", ".join(f"{k}={v!r}" for k, v in sorted(eqn.params.items())) if eqn.params else ""
    lhs = _outs(eqn, names) + " = " if eqn.outs else ""
    lines.append(f"{indent}{lhs}{eqn.prim.name}({args}{params})")


def _print_if(stmt: If, names: _Names, lines: list[str], indent: str) -> None:
    lines.append(f"{indent}if {names.use(stmt.cond)}:")
    _print_region(stmt.then, names, lines, indent + "  ", "then")
    _print_region(stmt.orelse, names, lines, indent + "  ", "else")
    if stmt.outs:
        lines.append(f"{indent}-> {_outs(stmt, names)}")


def _print_for(stmt: ForRange, names: _Names, lines: list[str], indent: str) -> None:
    bounds = ", ".join(names.use(a) for a in (stmt.start, stmt.stop, stmt.step))
    init = ", ".join(names.use(a) for a in stmt.init)
    marker = f" checkpointed {stmt.checkpoint!r}" if stmt.checkpoint is not None else ""
    lines.append(f"{indent}for range({bounds}){marker} carry ({init}):")
    _print_region(stmt.body, names, lines, indent + "  ", "body")
    if stmt.outs:
        lines.append(f"{indent}-> {_outs(stmt, names)}")


def _print_while(stmt: While, names: _Names, lines: list[str], indent: str) -> None:
    init = ", ".join(names.use(a) for a in stmt.init)
    lines.append(f"{indent}while carry ({init}):")
    _print_region(stmt.cond, names, lines, indent + "  ", "cond")
    _print_region(stmt.body, names, lines, indent + "  ", "body")
    if stmt.outs:
        lines.append(f"{indent}-> {_outs(stmt, names)}")


_PRINTERS = {Eqn: _print_eqn, If: _print_if, ForRange: _print_for, While: _print_while}
