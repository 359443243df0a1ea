"""What both transforms share: wrapping IR values for rules, zeros of a given type."""

from __future__ import annotations

from .. import primitives as P
from ..errors import located
from ..ir.builder import Builder, Sym, const
from ..ir.core import Atom, Const, Eqn, Function, Var, label
from ..rules import Rule, rule_for


def syms(atoms, b: Builder) -> list[Sym]:
    return [Sym(a, b) for a in atoms]


def atom_of(value) -> Atom | None:
    if value is None:
        return None
    if isinstance(value, Sym):
        return value.atom
    return value if isinstance(value, (Var, Const)) else const(value)


def not_one_float(fn: Function) -> str | None:
    """What `fn` returns instead of the one float a gradient's reverse sweep is seeded for
    ("a tuple", "a value of type f64[:]"), or None when it returns one float."""
    results = fn.results
    if len(results) != 1:
        return "a tuple"
    t = results[0].type
    return None if t.is_scalar and t.kind == "f64" else f"a value of type {t}"


def zeros_like(atom: Atom, b: Builder, hint: str = "zeros") -> Atom:
    """A zero of `atom`'s (float) type: 0.0, or an array of zeros of its shape."""
    if atom.type.is_array:
        return b.emit(P.zeros_like, [atom], hint)
    return const(0.0)


def require_rule(eqn: Eqn) -> Rule:
    rule = rule_for(eqn.prim)
    if rule is None:
        raise located(f"{eqn.prim.name} cannot be differentiated (no derivative rule); "
                      "keep it away from the differentiated inputs or register a rule", eqn.loc)
    return rule


def twins_of(derivatives: dict) -> list:
    """(x, d) for each value x whose tangent or adjoint d is an array of x's type: every rule
    gives a derivative the shape of its value, which lets `passes.shapes` drop broadcasts."""
    return [(x, d) for x, d in derivatives.items()
            if isinstance(d, Var) and x.type.is_array and d.type == x.type]


def tangent_name(var: Var) -> str:
    return f"{label(var)}_dot"


def adjoint_name(var: Var) -> str:
    return f"{label(var)}_bar"
