"""A markdown table of one or more GradBench logs (as written by ``gradbench run -o`` or by
relay.py): one row per input of an eval, with the median of each function's timed runs, the
ratio of each derivative's median to the primal's, the first call of each function (its
``"prepare"`` timing) and whether the eval validated every output.

    python bench/gradbench/summarise.py LOG.jsonl [LOG.jsonl ...]
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

PRIMALS = ("primal", "objective", "cost", "square")


def read(path: Path) -> tuple[str, dict[str, dict[str, dict]]]:
    """The eval's name and, per input description, per function: median, first call, validity."""
    messages: dict[int, dict] = {}
    rows: dict[str, dict[str, dict]] = defaultdict(dict)
    described: dict[int, str] = {}
    name = path.stem
    with open(path) as log:
        for line in log:
            entry = json.loads(line)
            if "message" in entry:
                m = entry["message"]
                messages[m["id"]] = m
                if m.get("kind") == "define":
                    name = m["module"]
                if m.get("kind") == "analysis" and m["of"] in messages:
                    of = messages[m["of"]]
                    rows[described[m["of"]]][of["function"]]["valid"] = m["valid"]
            elif "response" in entry:
                r = entry["response"]
                m = messages.get(r["id"], {})
                if m.get("kind") != "evaluate":
                    continue
                timings = r.get("timings") or []
                runs = [t["nanoseconds"] for t in timings if t["name"] == "evaluate"]
                first = [t["nanoseconds"] for t in timings if t["name"] == "prepare"]
                description = m.get("description", "")
                while m["function"] in rows[description]:  # the same input again (hello's rounds)
                    description += "′"
                described[m["id"]] = description
                rows[description][m["function"]] = {
                    "median": statistics.median(runs) / 1e9 if runs else None,
                    "first": first[0] / 1e9 if first else None,
                    "valid": None if r.get("success") else False}
    return name, rows


def seconds(s: float | None) -> str:
    """A duration in seconds, in the unit that suits it."""
    if s is None:
        return "–"
    if s < 1e-3:
        return f"{s * 1e6:.3g} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def table(name: str, rows: dict[str, dict[str, dict]]) -> str:
    """The markdown table of one eval."""
    functions = list(dict.fromkeys(f for per in rows.values() for f in per))
    primal = next((f for f in functions if f in PRIMALS), None)
    others = [f for f in functions if f != primal]
    head = ["input"] + ([f"{primal}"] if primal else []) + [f for f in others] \
        + ([f"{f} ÷ {primal}" for f in others] if primal else []) + [f"first {f}" for f in functions] + ["valid"]
    lines = [f"### {name}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for description, per in rows.items():
        cells = [description or "–"]
        cells += [seconds(per.get(f, {}).get("median")) for f in ([primal] if primal else []) + others]
        if primal:
            p = per.get(primal, {}).get("median")
            for f in others:
                d = per.get(f, {}).get("median")
                cells.append(f"{d / p:.3g}" if p and d else "–")
        cells += [seconds(per.get(f, {}).get("first")) for f in functions]
        valid = [per[f].get("valid") for f in functions if f in per]
        cells.append("yes" if all(v is True for v in valid) else "NO" if any(v is False for v in valid) else "?")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Print the table of each log named on the command line."""
    for path in sys.argv[1:]:
        print(table(*read(Path(path))))
        print()


if __name__ == "__main__":
    main()
