"""bench/checkpointing.py at a tiny size, with the Python backend, so that the measurement of the
checkpointing policies cannot silently break: every policy's gradient is checked there against
StoreAll's, and the tables and the plot come out."""

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import checkpointing  # noqa: E402  (bench/checkpointing.py)
import s2sad  # noqa: E402
from numeric import check_grad  # noqa: E402

TINY = ["--points", "40", "--steps", "12", "--backends", "python", "--rounds", "1", "--block", "0.005"]


def table_rows(text: str) -> dict[str, list[str]]:
    """The rows of the memory table (the first), by policy."""
    table = text.split("\n\n")[1]
    rows = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows}


def test_every_policy_is_measured(capsys):
    assert checkpointing.main(TINY) == 0
    out = capsys.readouterr().out
    rows = table_rows(out)
    assert list(rows) == [checkpointing.label(p) for p in checkpointing.policies()]
    assert rows["Binomial(2)"][:2] == ["2", str(checkpointing.s2sad.Binomial(2).advances(12))]
    assert float(rows["Binomial(2)"][3]) > 1  # tape bytes: StoreAll's ÷ Binomial(2)'s
    assert "fitted: s = " in out and out.count("| Periodic(20) |") == 2


def test_the_plot_is_written(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the plot needs the bench extra: pip install -e '.[bench]'")
    assert checkpointing.main(TINY + ["--plot", str(tmp_path / "heat.png")]) == 0
    assert (tmp_path / "heat.png").stat().st_size > 0


def test_labels():
    assert checkpointing.label(checkpointing.s2sad.Periodic(20)) == "Periodic(20)"
    assert checkpointing.label(checkpointing.s2sad.StoreAll()) == "StoreAll"


@pytest.mark.parametrize("wrt, taped", [((0,), 0), ((0, 1), 1)], ids=["u0", "u0-kappa"])
def test_store_all_tapes_only_the_laplacian(wrt, taped):
    """u + r * kappa * lap keeps u0's shape once kappa is checked (before the loop) to broadcast
    to it: the reverse sweep reads the shapes of u and its slices off u0, and tapes only lap,
    for kappa's gradient, allocated before the loop."""
    points, steps = 30, 8
    args = checkpointing.problem(points, steps)
    g = s2sad.grad(checkpointing.heat_loss, wrt=wrt)
    g(*args)
    assert g.tape_bytes == taped * steps * points * 8
    assert "record(" not in g.derived(*args).source
    check_grad(checkpointing.heat_loss, args, "reverse", wrt)


def test_the_memory_table(capsys):
    """--memory at a tiny size: the primal, StoreAll, Binomial(3) and the fewest snapshots predicted
    within twice StoreAll's time, each measured in a process of its own, the gradients equal to
    the bit (else it raises), each Binomial's time beside its prediction."""
    assert checkpointing.main(["--memory", "--steps", "300", "--python-steps", "300", "--backends", "python",
                               "--snapshots", "3", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    table = out.split("\n\n")[1]
    rows = {cells[2].strip(): [c.strip() for c in cells] for cells in
            (line.strip("|").split("|") for line in table.splitlines()[2:])}
    names = list(rows)
    assert names[:3] == ["primal", "StoreAll", "Binomial(3)"] and len(names) <= 4
    assert rows["Binomial(3)"][3] == str(s2sad.Binomial(3).advances(300))
    assert rows["Binomial(3)"][4] == str(8 * 3 + 8 * (13 + 6 * 3)) and rows["StoreAll"][4] == str(8 * 300)
    assert rows["StoreAll"][9] == "1.00" and float(rows[names[-1]][9]) <= 2.0  # (predicted ÷ StoreAll)
    assert "python, Binomial(3): each step run forward" in out


def test_the_prediction_and_the_snapshots_within_twice_store_all():
    """Binomial's predicted time is StoreAll's and its advances + 1 - l primal steps; the fewest
    snapshots within a factor are those whose p(l, s) first fits (with as many snapshots as
    steps but one, the schedule advances l - 1: StoreAll's time)."""
    assert checkpointing.predicted_time(1.0, 0.01, 250, 100) == 1.0 + 151 * 0.01
    steps, store_all, step_time = 10 ** 7, 0.26, 1.4e-8
    s = checkpointing.snapshots_within(2.0, steps, store_all, step_time)
    most = steps - 1 + store_all / step_time
    assert s2sad.checkpoint.binomial_cost(steps, s) <= most < s2sad.checkpoint.binomial_cost(steps, s - 1)
    assert checkpointing.snapshots_within(1.0, 50, 1.0, 0.01) == 49
    assert checkpointing.repetitions(10 ** 7, 10) == 18 and checkpointing.repetitions(6, 2) == 2
