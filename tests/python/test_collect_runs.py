"""examples/molecules/collect_runs.py: the tables of docs/results.md 3d from
run folders, checked against means, population std and log-linear trends
computed here from the synthetic inputs."""

import csv
import os
import statistics
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "examples", "molecules", "collect_runs.py")
sys.path.insert(0, os.path.dirname(SCRIPT))
import collect_runs  # noqa: E402

RUN_COLUMNS = ("loss", "fraction", "seed", "lr", "atom_stable", "molecule_stable", "bond_w1",
               "angle_w1", "energy_excess", "energy_excess_minimised", "coverage", "matching",
               "train_seconds")


def write(path, rows, columns):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)


def make_run(root, name, loss, lr, seed, stable, decay=None, steps=6000, fraction=1.0):
    folder = os.path.join(root, name)
    os.makedirs(folder)
    row = dict(loss=loss, fraction=fraction, seed=seed, lr=lr, atom_stable=0.9, molecule_stable=stable,
               bond_w1=0.02 + seed / 1000, angle_w1=4.0, energy_excess=80 + seed,
               energy_excess_minimised=1.0, coverage=0.5, matching=0.4, train_seconds=500)
    write(os.path.join(folder, "runs.csv"), [row], RUN_COLUMNS)
    if decay is not None:
        # validation eps-MSE: a fast fall up to 2/3 of the steps, then 0.3 * decay^(step/1000),
        # so the trend over the last third is (decay - 1) * 100 % per 1,000 steps
        value = lambda s: 0.3 * decay ** (s / 1000) * (1 + max(0, steps * 2 / 3 - s) / 1000)
        curve = [dict(loss=loss, fraction=1.0, seed=seed, lr=lr, step=s, train_loss="",
                      val_eps_mse=value(s), val_loss=2.0 * value(s))
                 for s in range(0, steps + 1, 500)]
        write(os.path.join(folder, "curves.csv"), curve, tuple(curve[0]))


@pytest.fixture
def results(tmp_path):
    make_run(tmp_path, "a", "energy", 0.003, 0, 0.90, decay=0.95)
    make_run(tmp_path, "b", "energy", 0.003, 1, 0.96, decay=0.98)
    make_run(tmp_path, "c", "energy", 0.003, 2, 0.93)
    make_run(tmp_path, "d", "mse", 0.001, 0, 0.80, decay=0.97)
    os.makedirs(tmp_path / "unfinished")  # no runs.csv: skipped
    return tmp_path


def test_mean_and_population_std_per_loss_and_rate(results):
    runs, curves = collect_runs.read_runs(str(results))
    assert len(runs) == 4
    lines = collect_runs.tables(runs, curves)
    grouped = [line for line in lines if line.startswith("| energy | 0.003 | 1 | 3 |")]
    assert len(grouped) == 1
    stable = [90.0, 96.0, 93.0]
    expected = f"{statistics.mean(stable):.1f} ± {statistics.pstdev(stable):.1f}"
    assert grouped[0].split(" | ")[4] == expected
    energies = [80, 81, 82]
    assert f"{statistics.mean(energies):.0f} ± {statistics.pstdev(energies):.0f}" in grouped[0]
    # a single seed gets no mean row; order follows the experiments' loss list (mse first)
    assert not any(line.startswith("| mse | 0.001 | 1 | 1 |") for line in lines)
    per_run = [line for line in lines if line.count("|") > 15 and not line.startswith(("| loss", "|---"))]
    assert per_run[0].startswith("| mse |")


def test_trend_is_the_percent_change_per_thousand_steps(results):
    runs, curves = collect_runs.read_runs(str(results))
    for run, decay in ((runs[0], 0.95), (runs[1], 0.98)):
        eps = collect_runs.curve(curves, run)
        assert len(eps) == 13 and min(eps) == 0 and max(eps) == 6000
        assert collect_runs.trend(eps) == pytest.approx(100 * (decay - 1), abs=1e-9)
    # a run without curves has no trend; the table says so instead of inventing one
    row = [line for line in collect_runs.tables(runs, curves) if line.startswith("| energy | 0.003 | 1 | 2 |")]
    assert row and row[0].split(" | ")[-4:-1] == ["–", "–", "–"]


def test_command_line_writes_markdown_and_refuses_bad_folders(results, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "table.md"
    done = subprocess.run([sys.executable, SCRIPT, str(results), "--markdown", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == done.stdout and "± " in done.stdout
    missing = subprocess.run([sys.executable, SCRIPT, str(results / "nowhere")],
                             capture_output=True, text=True)
    assert missing.returncode != 0 and "no folder" in missing.stderr
    bad = results / "e"
    os.makedirs(bad)
    write(bad / "runs.csv", [dict(loss="mse", seed=0)], ("loss", "seed"))
    refused = subprocess.run([sys.executable, SCRIPT, str(results)], capture_output=True, text=True)
    assert refused.returncode != 0
    assert os.path.join("e", "runs.csv") in refused.stderr and "no column" in refused.stderr


def test_data_efficiency_table_and_plot(results, tmp_path_factory):
    # energy at 0.003 gains fractions 0.1 (two seeds) and 0.5 (one seed); mse has one fraction
    make_run(results, "f1", "energy", 0.003, 0, 0.50, fraction=0.1)
    make_run(results, "f2", "energy", 0.003, 1, 0.60, fraction=0.1)
    make_run(results, "f3", "energy", 0.003, 0, 0.85, fraction=0.5)
    runs, _ = collect_runs.read_runs(str(results))
    lines = collect_runs.efficiency_table(runs)
    rows = [line.split(" | ") for line in lines[2:]]
    assert [r[:4] for r in rows] == [["| energy", "0.003", "0.1", "2"], ["| energy", "0.003", "0.5", "1"],
                                     ["| energy", "0.003", "1", "3"]]
    stable = [50.0, 60.0]
    assert rows[0][4] == f"{statistics.mean(stable):.1f} ± {statistics.pstdev(stable):.1f}"
    assert rows[1][4] == "85.0"  # one seed: the value, no spread
    full = [90.0, 96.0, 93.0]
    assert rows[2][4] == f"{statistics.mean(full):.1f} ± {statistics.pstdev(full):.1f}"
    energies = [80, 81]  # energy_excess = 80 + seed
    assert rows[0][7] == f"{statistics.mean(energies):.0f} ± {statistics.pstdev(energies):.0f} |"
    out = tmp_path_factory.mktemp("eff")
    done = subprocess.run([sys.executable, SCRIPT, str(results), "--efficiency", str(out / "e.png")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Data efficiency:" in done.stdout
    assert (out / "e.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_efficiency_plot_refused_without_fractions(results, tmp_path):
    done = subprocess.run([sys.executable, SCRIPT, str(results), "--efficiency",
                           str(tmp_path / "e.png")], capture_output=True, text=True)
    assert done.returncode != 0 and "more than one fraction" in done.stderr
    assert not (tmp_path / "e.png").exists()
