#!/usr/bin/env python3
"""Runs one experiment driver in quick mode with tiny sizes and checks that
its outputs are well formed: the expected CSV columns and row counts, finite
numbers, and the plot script's PNG. Not a check of the scientific outcome.

    check_experiment.py spins  BINARY PLOT_SCRIPT WORK_DIR
    check_experiment.py shapes BINARY PLOT_SCRIPT WORK_DIR
"""
import csv
import math
import shutil
import subprocess
import sys
from pathlib import Path


def fail(message):
    sys.exit(f"check_experiment: {message}")


def run(command):
    print("+", " ".join(str(part) for part in command), flush=True)
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True)
    print(result.stdout, result.stderr, sep="\n")
    if result.returncode != 0:
        fail(f"{command[0]} exited with {result.returncode}")
    return result.stdout


def check_csv(path, columns, rows, numeric):
    """Reads `path`; checks its header, row count and that `numeric` columns are finite."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != columns:
            fail(f"{path}: columns {reader.fieldnames}, expected {columns}")
        table = list(reader)
    if len(table) != rows:
        fail(f"{path}: {len(table)} rows, expected {rows}")
    for index, row in enumerate(table):
        for column in numeric:
            value = float(row[column])
            if not math.isfinite(value):
                fail(f"{path}: row {index} column {column} is {value}")
    return table


def check_plot(plot_script, folder, name):
    run([sys.executable, plot_script, folder])
    image = folder / name
    if not image.exists() or image.stat().st_size == 0:
        fail(f"{image} was not written")


def check_spins(binary, plot_script, work):
    losses, seeds, epochs = ["cross_entropy", "margin", "local_energy", "true_energy"], 2, 2
    command = [binary, "--side", 6, "--train", 48, "--test", 16, "--epochs", epochs,
               "--depth", 1, "--width", 4, "--batch", 16, "--seeds", seeds, "--threads", 1,
               "--data", work / "data", "--out", work]
    if "generated" not in run(command).splitlines()[0]:
        fail("the first run did not generate the instances")
    # The instances are written once: a second run reads them.
    if "read" not in run(command).splitlines()[0]:
        fail("the second run did not reuse the instances")
    table = check_csv(work / "spins.csv",
                      ["loss", "seed", "side", "train", "test", "depth", "width", "epochs",
                       "excess_energy", "excess_per_spin", "solved_fraction",
                       "epochs_to_converge", "train_seconds"],
                      len(losses) * seeds,
                      ["excess_energy", "excess_per_spin", "solved_fraction", "train_seconds"])
    if sorted({row["loss"] for row in table}) != sorted(losses):
        fail(f"spins.csv: losses {sorted({row['loss'] for row in table})}, expected {losses}")
    for row in table:
        # The ground states are exact: no prediction can lie below them.
        if float(row["excess_energy"]) < -1e-4:
            fail(f"spins.csv: negative excess energy {row['excess_energy']}")
        if not 1 <= int(row["epochs_to_converge"]) <= epochs:
            fail(f"spins.csv: epochs_to_converge {row['epochs_to_converge']} outside 1..{epochs}")
    check_csv(work / "spins_curves.csv",
              ["loss", "seed", "epoch", "train_loss", "test_excess_energy"],
              len(losses) * seeds * epochs, ["train_loss", "test_excess_energy"])
    check_plot(plot_script, work, "spins.png")


def check_shapes(binary, plot_script, work):
    losses = ["mse", "kabsch", "energy", "energy_sparse"]
    vertices, thetas, seeds = [4, 8], [0, 1], 2
    run([binary, "--vertices", ",".join(map(str, vertices)), "--thetas",
         ",".join(map(str, thetas)), "--samples", 64, "--epochs", 2, "--batch", 32,
         "--test-size", 8, "--graph-pool", 2, "--seeds", seeds, "--out", work])
    runs = len(losses) * len(vertices) * len(thetas) * seeds
    check_csv(work / "shapes.csv",
              ["loss", "theta_aug", "seed", "quality", "sigma_angle", "sigma_radius",
               "train_seconds", "lr", "final_loss"],
              runs, ["theta_aug", "quality", "sigma_angle", "sigma_radius", "train_seconds", "lr",
                     "final_loss"])
    table = check_csv(work / "shapes_scaling.csv",
                      ["loss", "vertices", "theta_aug", "seed", "quality", "loss_ms_per_step"],
                      runs, ["theta_aug", "quality", "loss_ms_per_step"])
    if sorted({int(row["vertices"]) for row in table}) != vertices:
        fail(f"shapes_scaling.csv: vertex counts {sorted({row['vertices'] for row in table})}")
    if any(float(row["loss_ms_per_step"]) <= 0 for row in table):
        fail("shapes_scaling.csv: a loss time per step is not positive")
    check_csv(work / "shapes_samples.csv",
              ["loss", "vertices", "theta_aug", "seed", "radius", "quality", "vertex", "x", "y"],
              3 * len(losses) * sum(vertices) * len(thetas) * seeds, ["x", "y", "quality"])
    check_plot(plot_script, work, "shapes.png")


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("spins", "shapes"):
        fail(__doc__)
    experiment, binary, plot_script, work = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    {"spins": check_spins, "shapes": check_shapes}[experiment](binary, plot_script, work)
    print(f"check_experiment: {experiment} outputs are well formed")


if __name__ == "__main__":
    main()
