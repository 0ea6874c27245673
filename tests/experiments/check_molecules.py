#!/usr/bin/python3
"""Runs a molecule experiment of examples/molecules (alanine_diffusion.py or
small_molecules.py) with tiny sizes and checks its outputs are well formed:
one runs.csv row per loss, data fraction and seed with finite metrics (rates
within [0, 1]), a summary table row per loss and fraction, and the plot. Not
a check of the scientific outcome.

    check_molecules.py SCRIPT WORK_DIR
"""
import csv
import math
import shutil
import subprocess
import sys
from pathlib import Path

# Per experiment script: its tiny-size arguments and the plot it writes.
EXPERIMENTS = {
    "alanine_diffusion.py": (["--frames", "40", "--steps", "15", "--samples", "6"],
                             "molecules.png"),
    "small_molecules.py": (["--quick", "--molecules", "12", "--steps", "15",
                            "--sampling-steps", "5"], "small_molecules.png"),
}

LOSSES = ["mse", "kabsch", "energy", "energy-sparse", "energy-ff"]
RATES = ["atom_stable", "molecule_stable", "valid", "identical", "coverage", "energy_failed",
         "loss_share"]
# A sample the force field cannot evaluate scores +inf, so a median may be +inf.
MAY_BE_INFINITE = ["energy_excess", "energy_excess_minimised"]
METRICS = ["bond_w1", "angle_w1", *RATES[:6], *MAY_BE_INFINITE,
           "matching", "loss_share", "train_seconds"]


def fail(message):
    sys.exit(f"check_molecules: {message}")


def main(script, work):
    work = Path(work)
    if Path(script).name not in EXPERIMENTS:
        fail(f"unknown experiment script {script}; expected one of {sorted(EXPERIMENTS)}")
    sizes, plot_name = EXPERIMENTS[Path(script).name]
    shutil.rmtree(work, ignore_errors=True)
    fractions, seeds = [0.5, 1.0], 2
    command = [sys.executable, script, *sizes, "--seeds", str(seeds),
               "--fractions", *map(str, fractions), "--output", str(work)]
    print("+", " ".join(command), flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    print(result.stdout, result.stderr, sep="\n")
    if result.returncode != 0:
        fail(f"the experiment exited with {result.returncode}")

    with open(work / "runs.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames[:3] != ["loss", "fraction", "seed"]:
            fail(f"runs.csv: leading columns {reader.fieldnames[:3]}, expected loss, fraction, seed")
        missing = set(METRICS) - set(reader.fieldnames)
        if missing:
            fail(f"runs.csv: missing columns {sorted(missing)}")
        rows = list(reader)
    expected = {(loss, fraction, seed) for loss in LOSSES for fraction in fractions
                for seed in range(seeds)}
    found = {(row["loss"], float(row["fraction"]), int(row["seed"])) for row in rows}
    if found != expected or len(rows) != len(expected):
        fail(f"runs.csv: rows {sorted(found)}, expected {sorted(expected)}")
    for index, row in enumerate(rows):
        for column in METRICS:
            value = float(row[column])
            if math.isnan(value) or (math.isinf(value) and column not in MAY_BE_INFINITE):
                fail(f"runs.csv row {index}: {column} is {value}")
            if column in RATES and not 0.0 <= value <= 1.0:
                fail(f"runs.csv row {index}: {column} = {value} is not a fraction")
        if float(row["bond_w1"]) <= 0 or float(row["train_seconds"]) <= 0:
            fail(f"runs.csv row {index}: non-positive bond_w1 or train_seconds")

    table = [line for line in (work / "summary.md").read_text().splitlines()
             if line.startswith("|")]
    if len(table) != 2 + len(LOSSES) * len(fractions):
        fail(f"summary.md: {len(table)} table lines, expected {2 + len(LOSSES) * len(fractions)}")
    image = work / plot_name
    if not image.exists() or image.stat().st_size == 0:
        fail(f"{image} was not written")
    print("check_molecules: ok")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
