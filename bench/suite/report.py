"""Writing the results: ``results.json`` (everything), ``results.md`` (tables) and two plots."""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import math
import os
import platform
import subprocess
from pathlib import Path
from typing import Iterable

from ratios import fmt  # (bench/ratios.py)
from suite.measure import CANNOT, ERROR, NOT_RUN, OK, WRONG, ToolResult, WorkloadResult

LIBRARIES = ("numpy", "numba", "scipy", "s2sad", "autograd", "torch", "jax", "jaxlib", "tensorflow-cpu",
             "tensorflow")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _commit(repo: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() + ("+changes" if dirty else "")) or None


def machine(repo: Path) -> dict:
    """The machine and the software the numbers were measured with."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": cpus,
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "libraries": {name: v for name in LIBRARIES if (v := _version(name))},
        "s2sad_commit": _commit(repo),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


# --- summaries -------------------------------------------------------------------------------------

def speedups(results: Iterable[WorkloadResult], peer: str) -> list[float]:
    """Per workload where both were timed: the peer's gradient time ÷ s2sad's."""
    out = []
    for r in results:
        mine, theirs = r.tools.get("s2sad"), r.tools.get(peer)
        if mine and theirs and mine.gradient and theirs.gradient:
            out.append(theirs.gradient / mine.gradient)
    return out


def geometric_mean(values: list[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def summary(results: list[WorkloadResult], peers: list[str]) -> dict[str, dict]:
    out = {}
    for peer in peers:
        values = speedups(results, peer)
        out[peer] = {"geometric_mean": geometric_mean(values), "workloads": len(values),
                     "min": min(values, default=None), "max": max(values, default=None)}
    return out


# --- markdown --------------------------------------------------------------------------------------

class Footnotes:
    """Numbered notes, each text once."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def mark(self, text: str) -> str:
        if not text:
            return ""
        if text not in self.texts:
            self.texts.append(text)
        return f" [{self.texts.index(text) + 1}]"

    def lines(self) -> list[str]:
        return [f"{k + 1}. {text}" for k, text in enumerate(self.texts)]


def _cell(result: ToolResult | None, tool: str, notes: Footnotes) -> str:
    if result is None:
        return NOT_RUN
    if result.status == OK:
        return fmt(result.gradient) + notes.mark(f"{tool}: {result.note}" if result.note else "")
    if result.status == WRONG:
        return f"**disagrees** ({result.error:.1e} vs {result.checked_against})"
    if result.status in (ERROR, CANNOT):
        return f"**{result.status}**" + notes.mark(f"{tool}: {result.message}")
    return result.status


def _opt(seconds: float | None) -> str:
    return fmt(seconds) if seconds is not None else "n/a"


def main_table(results: list[WorkloadResult], peers: list[str], notes: Footnotes) -> list[str]:
    head = ["workload", "size", "primal (NumPy)", "primal (Numba)", "s2sad gradient", "s2sad ÷ primal",
            "s2sad compile", *peers]
    lines = ["| " + " | ".join(head) + " |", "| --- | --- |" + " ---: |" * (len(head) - 2)]
    for r in results:
        mine = r.tools.get("s2sad")
        ok = mine is not None and mine.status == OK
        numba = _opt(r.numba) + (notes.mark(f"Numba: {r.numba_message}") if r.numba is None else "")
        cells = [r.title, r.size, _opt(r.numpy), numba, _cell(mine, "s2sad", notes),
                 f"{mine.gradient / r.best_primal:.2f}" if ok else "—",
                 _opt(mine.first_call) if mine else "—",
                 *(_cell(r.tools.get(p), p, notes) for p in peers)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def own_ratio_table(results: list[WorkloadResult], tools: list[str]) -> list[str]:
    lines = ["| workload | " + " | ".join(tools) + " |", "| --- |" + " ---: |" * len(tools)]
    for r in results:
        cells = []
        for t in tools:
            res = r.tools.get(t)
            cells.append(f"{res.gradient / res.primal:.1f}" if res and res.gradient and res.primal else "—")
        lines.append(f"| {r.title} | " + " | ".join(cells) + " |")
    return lines


def first_call_table(results: list[WorkloadResult], tools: list[str]) -> list[str]:
    lines = ["| workload | " + " | ".join(tools) + " |", "| --- |" + " ---: |" * len(tools)]
    for r in results:
        cells = [_opt(r.tools[t].first_call) if t in r.tools else "—" for t in tools]
        lines.append(f"| {r.title} | " + " | ".join(cells) + " |")
    return lines


QUICK = ("**A quick run** (`--quick`): small sizes and short timing blocks, meant to check the script. "
         "Per-call overheads weigh more than at full size, and on a shared machine the ratios travel "
         "better than the absolute times.")


def markdown(data: dict, results: list[WorkloadResult], peers: list[str]) -> str:
    m, o = data["machine"], data["options"]
    libraries = ", ".join(f"{k} {v}" for k, v in m["libraries"].items())
    notes = Footnotes()
    table = main_table(results, peers, notes)
    lines = [
        f"# s2sad comparison benchmark{' (quick run)' if o['quick'] else ''}", "",
        *([QUICK, ""] if o["quick"] else []),
        f"{m['cpu']}, {m['usable_cpus']} usable of {m['logical_cpus']} logical CPUs; {m['system']}; "
        f"Python {m['python']}; {libraries}; s2sad commit {m['s2sad_commit']}; {m['date']}.", "",
        f"Medians per call over {o['rounds']} rounds of {o['block']} s blocks, the calls of each workload "
        "interleaved; every gradient checked before timing (s2sad's against finite differences, the "
        "others' against s2sad's, relative 1e-8). \"s2sad ÷ primal\" divides by the faster of the NumPy and "
        "Numba primals; \"s2sad compile\" is its first call with an empty cache (differentiate, generate, "
        "compile with Numba, run once).", "",
        "## Time per gradient", "", *table, "", *notes.lines(), "",
        "## s2sad × faster than each peer", "",
        "Peer's gradient time ÷ s2sad's, geometric mean over the workloads both ran (> 1: s2sad is faster).", "",
        "| peer | geometric mean | workloads | range |", "| --- | ---: | ---: | --- |",
    ]
    for peer, s in data["summary"].items():
        if s["geometric_mean"] is None:
            lines.append(f"| {peer} | — | 0 | — |")
        else:
            lines.append(f"| {peer} | {s['geometric_mean']:.2f}× | {s['workloads']} | "
                         f"{s['min']:.2f}× – {s['max']:.2f}× |")
    tools = ["s2sad", *peers]
    lines += ["", "## Gradient ÷ the tool's own primal", "",
              "s2sad: the faster of the NumPy and Numba primals; autograd: its form run on NumPy arrays; "
              "torch: under `torch.no_grad`; jax: `jax.jit` of the primal; tf: `tf.function` of the primal.", "",
              *own_ratio_table(results, tools), "",
              "## First call (compile, trace or nothing, then one gradient)", "",
              *first_call_table(results, tools), ""]
    return "\n".join(lines)


# --- plots -----------------------------------------------------------------------------------------

PRIMAL = "primal (faster of NumPy, Numba)"
COLOURS = {PRIMAL: "0.65", "s2sad": "C0", "autograd": "C1", "torch": "C3", "jax": "C2", "tf": "C4"}


def _bars(ax, results: list[WorkloadResult], series: dict[str, list[float | None]]) -> None:
    """Grouped horizontal bars, one group per workload, one bar per series (a colour per tool,
    the same in every plot); missing values left out."""
    height = 0.8 / len(series)
    for k, (label, values) in enumerate(series.items()):
        ys = [i + (k - (len(series) - 1) / 2) * height for i in range(len(results))]
        pairs = [(y, v) for y, v in zip(ys, values) if v]
        if pairs:
            ax.barh([p[0] for p in pairs], [p[1] for p in pairs], height=height, label=label,
                    color=COLOURS.get(label))
    ax.set_yticks(range(len(results)), [f"{r.title}\n{r.size}" for r in results], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.legend(fontsize=7)


def plots(results: list[WorkloadResult], tools: list[str], out: Path, title: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def series(value) -> dict[str, list[float | None]]:
        return {t: [value(r.tools[t]) if t in r.tools and r.tools[t].gradient else None for r in results]
                for t in tools}

    height = 1.0 + 0.6 * len(results) * max(1, len(tools)) / 3
    files = []
    for name, xlabel, data in (
            ("times.png", "seconds per gradient (log scale)",
             {PRIMAL: [r.best_primal for r in results]} | series(lambda t: t.gradient)),
            ("ratios.png", "gradient ÷ the tool's own primal (log scale)", series(lambda t: t.gradient / t.primal))):
        fig, ax = plt.subplots(figsize=(9, height))
        _bars(ax, results, data)
        ax.set_xlabel(xlabel)
        ax.set_title(title, fontsize=9)
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        files.append(out / name)
    return files


def write(out: Path, data: dict, results: list[WorkloadResult], peers: list[str]) -> list[Path]:
    """results.json, results.md and the plots in `out`; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    (out / "results.md").write_text(markdown(data, results, peers))
    title = f"{data['machine']['cpu']}, {data['machine']['usable_cpus']} CPUs" + (
        " (quick run)" if data["options"]["quick"] else "")
    return [out / "results.json", out / "results.md", *plots(results, ["s2sad", *peers], out, title)]
