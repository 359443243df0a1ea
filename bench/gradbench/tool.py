"""s2sad as a GradBench tool: reads GradBench's protocol messages (one JSON object a line) on
standard input and writes one response a line on standard output.

    python bench/gradbench/tool.py [--backend numba|python]

Each eval is a module of bench/gradbench/evals/ whose functions are written in NumPy and whose
derivatives s2sad computes. A ``define`` message imports the module; an ``evaluate`` message runs
the function once (the ``"prepare"`` timing: differentiating, compiling and one run), then as
many times as the input's ``min_runs`` and ``min_seconds`` ask, one ``"evaluate"`` timing each.
bench/gradbench/README.md tells how to run it under GradBench.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evals import common  # noqa: E402

EVALS = ("hello", "lse", "llsq", "det", "ode", "kmeans", "gmm", "lstm", "ba", "ht", "particle", "saddle")


def _error(e: BaseException) -> str:
    return "".join(traceback.format_exception(e))


def define(module: str) -> dict:
    """The response to ``define``: success when the eval has a module here (importing it)."""
    if module not in EVALS:
        return {"success": False, "error": f"s2sad's tool has no implementation of the eval {module!r}"}
    try:
        importlib.import_module(f"evals.{module}")
    except Exception as e:  # the response says what failed; the session goes on
        return {"success": False, "error": _error(e)}
    return {"success": True}


def evaluate(module: str, function: str, input: Any) -> dict:
    """The response to ``evaluate``: the output of `function` of eval `module` at `input`, with
    its timings; or the error, with ``"success": false``."""
    try:
        functions = importlib.import_module(f"evals.{module}").FUNCTIONS
        if function not in functions:
            return {"success": False, "error": f"the eval {module!r} has no function {function!r} here"}
        job = functions[function](input)
        runs = input if isinstance(input, dict) and "min_runs" in input else {"min_runs": 1, "min_seconds": 0}
        output, timings = common.timed_runs(job, int(runs["min_runs"]), float(runs["min_seconds"]))
    except Exception as e:
        return {"success": False, "error": _error(e)}
    return {"success": True, "output": output, "timings": timings}


def respond(message: dict) -> dict:
    """The response to one message of GradBench's protocol."""
    response: dict = {"id": message["id"]}
    kind = message.get("kind")
    if kind == "start":
        response["tool"] = "s2sad"
        response["config"] = {"backend": common.backend()}
    elif kind == "define":
        response |= define(message["module"])
    elif kind == "evaluate":
        response |= evaluate(message["module"], message["function"], message["input"])
    return response


def serve(lines: TextIO, out: TextIO) -> None:
    """Answer each message read from `lines` on `out`, until the input ends."""
    for line in lines:
        if line.strip():
            print(json.dumps(respond(json.loads(line))), file=out, flush=True)


def main(argv: list[str] | None = None) -> None:
    """Parse the options and serve standard input until it ends."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=common.BACKENDS, default=os.environ.get("S2SAD_GRADBENCH_BACKEND", "numba"),
                        help="numba: compiled derivatives (default); python: no compilation")
    args = parser.parse_args(argv)
    common.set_backend(args.backend)
    try:
        serve(sys.stdin, sys.stdout)
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass


if __name__ == "__main__":
    main()
