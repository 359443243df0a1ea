"""A minimal stand-in for ``gradbench run``: starts an eval and a tool, passes each message of
the eval to the tool and each response back, and writes GradBench's log (one JSON line per
message or response, with the time elapsed since the start). For machines without GradBench's
command-line program (a Rust build) or Docker:

    python bench/gradbench/relay.py --eval "python .../evals/lse/run.py" \\
        --tool "python bench/gradbench/tool.py" [-o log.jsonl]

Both commands are run by the shell from the current directory (GradBench's evals expect the root
of a GradBench checkout, where their data and its ``manual`` tool's programs are). At the end it
prints one line per evaluation: the function, the description, whether the eval validated the
output, the first call and the median of the timed runs; and it exits with status 1 if any
evaluation failed or was invalid.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from typing import Any


def relay(eval_command: str, tool_command: str, log: Any = None) -> list[dict]:
    """Run the session; return one summary dict per ``evaluate`` message."""
    start = time.perf_counter_ns()
    ev = subprocess.Popen(eval_command, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    tool = subprocess.Popen(tool_command, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    rows: dict[int, dict] = {}

    def write(key: str, value: dict) -> None:
        if log is not None:
            elapsed = {"nanoseconds": time.perf_counter_ns() - start}
            print(json.dumps({"elapsed": elapsed, key: value}), file=log, flush=True)

    try:
        for line in ev.stdout:
            message = json.loads(line)
            write("message", message)
            if message.get("kind") == "end":
                break
            tool.stdin.write(json.dumps(message) + "\n")
            tool.stdin.flush()
            answer = tool.stdout.readline()
            if not answer:
                raise RuntimeError("the tool ended before answering message %d" % message["id"])
            response = json.loads(answer)
            write("response", response)
            kind = message.get("kind")
            if kind == "define" and not response.get("success"):
                print(f"define {message['module']}: failed\n{response.get('error', '')}", file=sys.stderr)
            if kind == "evaluate":
                timings = response.get("timings") or []
                runs = [t["nanoseconds"] for t in timings if t["name"] == "evaluate"]
                first = [t["nanoseconds"] for t in timings if t["name"] == "prepare"]
                rows[message["id"]] = {
                    "function": message["function"], "description": message.get("description", ""),
                    "success": response.get("success", False), "error": response.get("error"),
                    "valid": None, "runs": len(runs),
                    "first_s": first[0] / 1e9 if first else None,
                    "median_s": statistics.median(runs) / 1e9 if runs else None,
                }
            if kind == "analysis" and message["of"] in rows:
                rows[message["of"]]["valid"] = message["valid"]
                if not message["valid"]:
                    rows[message["of"]]["error"] = message.get("error")
            ev.stdin.write(answer)
            ev.stdin.flush()
    finally:
        for p in (ev, tool):
            try:
                p.stdin.close()
            except OSError:
                pass
        ev.wait()
        tool.wait()
    return list(rows.values())


def main() -> None:
    """Run one session from the command line and print its summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", required=True, help="the shell command that runs the eval")
    parser.add_argument("--tool", required=True, help="the shell command that runs the tool")
    parser.add_argument("-o", "--output", help="write GradBench's log (JSON lines) to this file")
    args = parser.parse_args()
    log = open(args.output, "w") if args.output else None
    try:
        rows = relay(args.eval, args.tool, log)
    finally:
        if log:
            log.close()
    bad = 0
    for r in rows:
        state = "valid" if r["valid"] else ("failed" if not r["success"] else "INVALID" if r["valid"] is False else "?")
        bad += state != "valid"
        first = f"{r['first_s']:.3f} s" if r["first_s"] is not None else "-"
        median = f"{r['median_s'] * 1e3:.4g} ms" if r["median_s"] is not None else "-"
        print(f"{r['function']:>10} {r['description']:>24} {state:>8}  first {first:>10}  median {median:>12}"
              f"  ({r['runs']} runs)")
        if state != "valid" and r["error"]:
            print("    " + str(r["error"]).strip().replace("\n", "\n    ")[:3000])
    print(f"{len(rows)} evaluations, {len(rows) - bad} valid ({shlex.quote(args.eval)})")
    sys.exit(1 if bad or not rows else 0)


if __name__ == "__main__":
    main()
