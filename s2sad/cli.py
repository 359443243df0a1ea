"""The command line: ``s2sad show FILE.py:FUNC`` prints a function's generated derivative.

    s2sad show model.py:loss                     reverse-mode source, wrt the first parameter
    s2sad show model.py:loss --mode forward      forward-mode source
    s2sad show model.py:loss --mode hvp          forward over reverse: the gradient and H·v
    s2sad show model.py:loss --wrt w,b           with respect to w and b
    s2sad show model.py:loss --types x=f64[:]    argument types (default: f64 scalars)
    s2sad show model.py:loss --ir                the IR of the derivative (--ir --primal: of loss)
    s2sad rules                                  every supported function, operator and method
    s2sad compile model.py:loss --types x=f64[:] compile the derivative into the cache, ahead of time

Errors print one located line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from . import __version__
from .api import derivative_source, ir_source
from .checkpoint import Binomial, Periodic
from .errors import S2SADError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="s2sad", description="Source-to-source automatic "
                                     "differentiation of NumPy functions.")
    parser.add_argument("--version", action="version", version=f"s2sad {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="print the generated derivative source (or IR) of a function",
                               description="Print the generated derivative of FILE.py:FUNC as Python "
                               "source (valid Python), or its IR with --ir.")
    show.add_argument("target", metavar="FILE.py:FUNC", help="the file and the function in it")
    show.add_argument("--mode", choices=("forward", "reverse", "hvp", "vforward", "vhvp"), default="reverse",
                      help="forward (tangents), reverse (adjoints) or hvp (forward over reverse: "
                           "Hessian-vector products), or vforward and vhvp (their vector forms, which "
                           "jacobian and hessian run: k tangents per sweep); default reverse")
    show.add_argument("--wrt", default=None,
                      help="comma-separated parameter names (or indices) to differentiate with respect "
                           "to; default: the first parameter")
    show.add_argument("--types", default=None,
                      help="argument types, e.g. 'x=f64[:],n=i64' (f64, i64, bool; one ':' per array "
                           "axis); unnamed parameters are f64")
    show.add_argument("--backend", choices=("auto", "numba", "python"), default="auto",
                      help="the code this backend runs: numba's (the default, as for s2sad.grad) "
                           "computes short vectors element by element, python's keeps NumPy's "
                           "vectorised form")
    show.add_argument("--checkpoint", default=None, metavar="POLICY",
                      help="reverse and hvp modes: checkpoint the top-level for loops, 'binomial:S' (S snapshots) "
                           "or 'periodic:K' (every K-th state); default: store every iteration")
    show.add_argument("--ir", action="store_true", help="print the IR instead of Python source")
    show.add_argument("--primal", action="store_true", help="with --ir: the IR of the function itself")
    ahead = commands.add_parser("compile", help="compile a derivative into the cache ahead of its first call",
                                description="Make the derivative of FILE.py:FUNC for the argument types given "
                                "and compile it with Numba into the on-disk cache, without running it: the "
                                "first call in a later process (with arguments of those types) then starts "
                                "at once.")
    ahead.add_argument("target", metavar="FILE.py:FUNC", help="the file and the function in it")
    ahead.add_argument("--mode", choices=("forward", "reverse", "hvp"), default="reverse",
                       help="the derivative to compile (several: run the command once per mode); default reverse")
    for option in ("--wrt", "--types", "--checkpoint"):
        ahead._add_action(next(a for a in show._actions if option in a.option_strings))
    rules = commands.add_parser("rules", help="list the supported functions, operators and methods",
                                description="One line per supported function, operator and method, with "
                                "the modes its derivative rule covers; generated from the rule registry.")
    rules.add_argument("--markdown", action="store_true", help="a markdown table (docs/supported.md)")
    return parser


def load_function(target: str):
    """The function named by ``path/to/file.py:name``."""
    path_text, sep, name = target.rpartition(":")
    if not sep or not name:
        raise S2SADError(f"expected FILE.py:FUNC, got {target!r}")
    path = Path(path_text)
    if not path.is_file():
        raise S2SADError(f"no such file: {path_text}")
    sys.path.insert(0, str(path.resolve().parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(path.stem, module)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise S2SADError(f"syntax error: {exc.msg}", path_text, exc.lineno) from None
    except Exception as exc:  # the user's module failed while being imported
        line = _failing_line(exc, path)
        raise S2SADError(f"importing the file raised {type(exc).__name__}: {exc}", path_text, line) from None
    fn = getattr(module, name, None)
    if fn is None:
        raise S2SADError(f"{path_text} has no function {name!r}")
    return getattr(fn, "__wrapped__", fn)


def _failing_line(exc: BaseException, path: Path) -> int | None:
    """The line of `path` where `exc` was raised, if it was raised there."""
    tb, line = exc.__traceback__, None
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename).resolve() == path.resolve():
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _wrt(text: str | None):
    if text is None:
        return 0
    items = [int(w) if w.strip().lstrip("-").isdigit() else w.strip() for w in text.split(",") if w.strip()]
    return items[0] if len(items) == 1 else tuple(items)


def _types(text: str | None) -> dict | None:
    if not text:
        return None
    types = {}
    for item in _split_types(text):
        name, sep, kind = item.partition("=")
        if not sep:
            raise S2SADError(f"--types expects name=type pairs, got {item!r}")
        types[name.strip()] = kind.strip()
    return types


def _split_types(text: str) -> list[str]:
    """Split at commas outside brackets: ``x=f64[:,:],n=i64`` → two items."""
    items, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    return [i for i in items + [current] if i.strip()]


def show(args) -> str:
    fn = load_function(args.target)
    wrt, types = _wrt(args.wrt), _types(args.types)
    checkpoint = _policy(args.checkpoint)
    if args.ir:
        return ir_source(fn, None if args.primal else args.mode, wrt, types=types, checkpoint=checkpoint)
    return derivative_source(fn, args.mode, wrt, types=types, backend=args.backend, checkpoint=checkpoint)


def compile_command(args) -> str:
    from .ahead import compile_ahead
    from .cache import cache_dir
    fn = load_function(args.target)
    seconds = compile_ahead(fn, _types(args.types), mode=args.mode, wrt=_wrt(args.wrt),
                            checkpoint=_policy(args.checkpoint))
    return f"compiled the {args.mode}-mode derivative of {args.target} in {seconds:.1f} s, cached in {cache_dir()}\n"


_POLICIES = {"binomial": Binomial, "periodic": Periodic}


def _policy(text: str | None):
    """``binomial:8`` → Binomial(8), ``periodic:20`` → Periodic(20); None stores every iteration."""
    if text is None:
        return None
    kind, _, count = text.partition(":")
    if kind not in _POLICIES or not count.isdigit():
        raise S2SADError(f"--checkpoint expects binomial:S or periodic:K, got {text!r}")
    return _POLICIES[kind](int(count))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "rules":
        from . import supported
        sys.stdout.write(supported.markdown() if args.markdown else supported.text())
        return 0
    try:
        sys.stdout.write(show(args) if args.command == "show" else compile_command(args))
    except S2SADError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2
    return 0
