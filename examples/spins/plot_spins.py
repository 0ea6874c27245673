#!/usr/bin/env python3
"""Plots the spin-glass experiment written by bin/spins.

    plot_spins.py [RESULTS_DIR]      (default: results)

Reads RESULTS_DIR/spins.csv and spins_curves.csv and writes
RESULTS_DIR/spins.png: (a) test excess energy over the exact ground state per
loss, mean and std over seeds, beside the paper's table 5; (b) the test
excess energy after each epoch, mean over seeds.
"""
import argparse
import csv
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {
    "cross_entropy": "Cross-entropy",
    "margin": "Margin",
    "local_energy": "Local energy",
    "true_energy": "True energy",
}
# Table 5 of the paper: test energy (16x16, 10,000 instances, 6x256 ResNet).
PAPER = {"cross_entropy": 58.8, "margin": 49.87, "local_energy": 45.6, "true_energy": 14.6}


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def spread(values):
    return statistics.stdev(values) if len(values) > 1 else 0.0


def plot_final(axis, rows):
    by_loss = defaultdict(list)
    for row in rows:
        by_loss[row["loss"]].append(float(row["excess_energy"]))
    losses = list(by_loss)
    positions = range(len(losses))
    means = [statistics.fmean(by_loss[loss]) for loss in losses]
    axis.bar([p - 0.2 for p in positions], means, width=0.4,
             yerr=[spread(by_loss[loss]) for loss in losses], capsize=3, label="ours")
    paper = [PAPER.get(loss, float("nan")) for loss in losses]
    axis.bar([p + 0.2 for p in positions], paper, width=0.4, color="lightgray",
             label="paper (table 5)")
    axis.set_xticks(list(positions), [LABELS.get(loss, loss) for loss in losses])
    side = rows[0]["side"]
    axis.set_ylabel("test excess energy per instance")
    axis.set_title(f"(a) {side}×{side} spin glass: E(sign z) − E_ground")
    axis.grid(axis="y", alpha=0.3)
    axis.legend()


def plot_curves(axis, curves):
    by_loss = defaultdict(lambda: defaultdict(list))
    for row in curves:
        by_loss[row["loss"]][int(row["epoch"])].append(float(row["test_excess_energy"]))
    for loss, by_epoch in by_loss.items():
        epochs = sorted(by_epoch)
        axis.plot(epochs, [statistics.fmean(by_epoch[e]) for e in epochs], marker="o",
                  markersize=3, label=LABELS.get(loss, loss))
    axis.set_xlabel("epoch")
    axis.set_ylabel("test excess energy per instance")
    axis.set_yscale("log")
    axis.set_title("(b) convergence (mean over seeds)")
    axis.grid(alpha=0.3)
    axis.legend()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results_dir", nargs="?", default="results",
                        help="folder holding spins.csv (default: results)")
    folder = Path(parser.parse_args(argv).results_dir)
    rows = read_rows(folder / "spins.csv")
    curves = read_rows(folder / "spins_curves.csv")
    if not rows or not curves:
        sys.exit(f"plot_spins: {folder} has no spin results")
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    plot_final(axes[0], rows)
    plot_curves(axes[1], curves)
    figure.tight_layout()
    figure.savefig(folder / "spins.png", dpi=110)
    print(f"plot_spins: wrote {folder / 'spins.png'}")


if __name__ == "__main__":
    main()
