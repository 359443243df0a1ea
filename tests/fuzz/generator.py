"""A seeded generator of random NumPy programs, written the way scientists write them.

`generate(seed)` builds a module: a few module globals, helper functions, and an entry
function whose parameters are float scalars and arrays (sometimes an int, an index array, a
mask or a Generator), with sample arguments. The program is run as plain Python at the sample
point; a program that raises, warns about floating point, or does not return a finite float of
moderate size is discarded and another one drawn (deterministically, from the same seed), so a
seed names one valid program.

Statements and expressions come from tables of productions with weights (`productions.py`:
`STATEMENTS`, `EXPRESSIONS`, gathered in a `Grammar`): a production is a function of the
builder (`builder.py`) that writes source, or returns None when it does not apply where the
builder is (no variable of the right shape, a `break` outside a loop, ...). New constructs are
added by writing a production and listing it with a weight; `generate` takes another grammar
too.

Shapes are concrete: each program draws two lengths (n and m), and every expression is built
for a given shape, so programs always run. Inputs are kept where the program is smooth: square
roots and logarithms take arguments bounded away from 0 (``1.0 + e ** 2``), divisions divide
by such values, matrices given to `solve`, `inv` and `det` are diagonally dominant, and the
kinks of `abs`, `maximum` and comparisons lie at random places, away from the sample point
with high probability (the finite-difference oracle detects the rare exception).

Every production records tags (``"while"``, ``"store-shared"``, ``"helper-mutates-arg"``,
...) on the program, so that a campaign can count constructs and a test can select programs.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .builder import SMALL, Config, FunctionBuilder, ModuleBuilder, Shape, Var
from .productions import GRAMMAR, Grammar
from .program import Program, SeededGenerator, deadline, unload

__all__ = ["SMALL", "Config", "Invalid", "generate", "plain_value"]
PLAIN_SECONDS = 2.0    # a plain run of a generated program takes milliseconds; longer means a hang


class Invalid(Exception):
    """The drawn program is not usable (it raised, warned, or returned no moderate float)."""


# --- the entry function and its arguments -------------------------------------------------------

ENTRY_NAMES = ["loss", "energy", "model", "objective", "simulate", "residual", "likelihood"]


def make_arguments(module: ModuleBuilder) -> list[tuple[Var, object]]:
    """Parameters and sample values: floats and float arrays, sometimes an int count, an index
    array, a boolean mask or a Generator."""
    rng = module.rng
    n, m = module.n, module.m
    specs: list[tuple[str, Shape]] = []
    for _ in range(int(rng.integers(0, 3))):
        specs.append((module.choice(["a", "b", "c", "dt", "mu", "alpha", "beta", "lam", "t0"]), ()))
    for _ in range(int(rng.integers(1, 3))):
        specs.append((module.choice(["x", "y", "w", "v", "theta", "u", "q"]), (module.choice([n, m]),)))
    for _ in range(int(rng.choice([0, 0, 1, 1, 2]))):
        specs.append((module.choice(["A", "W", "X", "M"]), module.choice([(m, n), (n, n), (n, m)])))
    out: list[tuple[Var, object]] = []
    for stem, shape in specs:
        name = module.fresh(stem)
        value = np.round(rng.uniform(-1.5, 1.5, shape), 3) if shape else round(float(rng.uniform(-1.5, 1.5)), 3)
        out.append((Var(name, shape=shape, shared=bool(shape), of_arg=bool(shape), param=True), value))
    if module.chance(0.25):
        count = int(rng.integers(1, 5))
        out.append((Var(module.fresh(module.choice(["n_steps", "k", "steps"])), kind="int", lo=count, hi=count + 1,
                        param=True), count))
    if module.chance(0.15):
        length = module.choice(module.lengths)
        size = int(rng.integers(1, 4))
        out.append((Var(module.fresh("idx"), kind="index", shape=(size,), hi=length, param=True),
                    rng.integers(0, length, size)))
    if module.chance(0.08):
        length = module.choice(module.lengths)
        mask = rng.random(length) < 0.5
        mask[int(rng.integers(length))] = True
        out.append((Var(module.fresh("mask"), kind="mask", shape=(length,), param=True), mask))
    if module.chance(0.05):
        out.append((Var(module.fresh("rng"), kind="rng", param=True), SeededGenerator(int(rng.integers(0, 1000)))))
        module.tags.add("generator-argument")
    order = rng.permutation(len(out))
    return [out[k] for k in order]


def draft(seed: int, attempt: int, config: Config, grammar: Grammar = GRAMMAR) -> Program:
    """One drawn program (not yet checked to run)."""
    module = ModuleBuilder(np.random.default_rng([seed, attempt]), config, grammar)
    arguments = make_arguments(module)
    params = [var for var, _ in arguments]
    entry = module.fresh(module.choice(ENTRY_NAMES))
    fb = FunctionBuilder(module, params, 0)
    lo, hi = config.statements
    for _ in range(int(module.rng.integers(lo, hi + 1))):
        fb.statement()
    fb.final_return()
    blocks = [f'"""Generated by tests.fuzz from seed {seed}."""\n\nimport numpy as np']
    if module.globals:
        blocks.append("\n".join(f"{name} = {value}" for name, value in module.globals.items()))
    blocks += [helper.source for helper in module.helpers] + [fb.render(entry)]
    source = "\n\n\n".join(blocks) + "\n"
    tags = set(module.tags)
    if any(v.kind == "int" for v in params):
        tags.add("int-argument")
    if any(v.kind == "index" for v in params):
        tags.add("index-argument")
    if any(v.kind == "mask" for v in params):
        tags.add("mask-argument")
    return Program(seed, source, entry, [(var.name, value) for var, value in arguments], frozenset(tags))


def plain_value(program: Program) -> float:
    """Run `program` as plain Python on fresh arguments: its value, or `Invalid` when it raises,
    warns (floating point included), hangs, or does not return a finite float below 1e6."""
    try:
        module = program.load()
    except Exception as exc:  # noqa: BLE001 (a minimiser's candidate may not even compile)
        raise Invalid(f"{type(exc).__name__}: {exc}") from None
    try:
        with warnings.catch_warnings(), deadline(PLAIN_SECONDS):
            warnings.simplefilter("error")
            with np.errstate(all="raise", under="ignore"):
                value = getattr(module, program.entry)(*program.fresh_args())
                if not isinstance(value, (float, np.floating)):
                    raise Invalid(f"returns {type(value).__name__}, not a float")
                if not math.isfinite(value) or abs(value) > 1e6:
                    raise Invalid(f"returns {value}")
    except Invalid:
        raise
    except Exception as exc:  # noqa: BLE001 (whatever the program raises makes it invalid)
        raise Invalid(f"{type(exc).__name__}: {exc}") from None
    finally:
        unload(module)
    return float(value)


def generate(seed: int, config: Config | None = None, grammar: Grammar = GRAMMAR) -> Program:
    """The program of `seed`: the first of its drafts that runs and returns a moderate float."""
    config = config or Config()
    reasons = []
    for attempt in range(config.attempts):
        program = draft(seed, attempt, config, grammar)
        try:
            plain_value(program)
        except Invalid as exc:
            reasons.append(str(exc))
            continue
        program.notes["attempt"] = attempt
        return program
    raise RuntimeError(f"seed {seed}: no valid program in {config.attempts} drafts: {reasons[:3]}")
