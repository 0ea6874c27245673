#!/usr/bin/env python3
"""Plots the regular-polygon experiment written by bin/shapes.

    plot_shapes.py [RESULTS_DIR]      (default: results)

Reads RESULTS_DIR/shapes_scaling.csv (and shapes_samples.csv when present) and writes
RESULTS_DIR/shapes.png: (a) shapes predicted at the largest theta_aug, one
per loss, as in the paper's figure 3a; (b) mean quality vs theta_aug per loss
with the spread over seeds, as in figure 3b, at the smallest vertex count.
With several vertex counts it adds (c) quality vs vertex count at the largest
theta_aug, as in figure 3c, and (d) the loss's own time per step.
"""
import argparse
import csv
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {
    "mse": "MSE",
    "kabsch": "Kabsch align",
    "energy": "Energy (complete)",
    "energy_sparse": "Energy (sparse)",
}


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def plot_series(axis, rows, x_column, y_column):
    """One line per loss: mean of y_column over seeds against x_column, std as error bars."""
    by_loss = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_loss[row["loss"]][float(row[x_column])].append(float(row[y_column]))
    for loss, by_x in by_loss.items():
        xs = sorted(by_x)
        means = [statistics.fmean(by_x[x]) for x in xs]
        spreads = [statistics.stdev(by_x[x]) if len(by_x[x]) > 1 else 0.0 for x in xs]
        axis.errorbar(xs, means, yerr=spreads, marker="o", capsize=3, label=LABELS.get(loss, loss))


def plot_quality(axis, rows):
    plot_series(axis, rows, "theta_aug", "quality")
    ticks = [k * math.pi / 4 for k in range(5)]
    axis.set_xticks(ticks, ["0", "π/4", "π/2", "3π/4", "π"])
    axis.set_xlabel("augmentation angle θ_aug")
    axis.set_ylabel("quality  −ln(σ_Δangle/2π + σ_radius/r̄)")
    axis.set_title(f"(b) shape quality vs rotation augmentation, N = {rows[0]['vertices']}")
    axis.grid(alpha=0.3)
    axis.legend()


def plot_scaling(quality_axis, time_axis, rows):
    theta = float(rows[0]["theta_aug"])
    plot_series(quality_axis, rows, "vertices", "quality")
    plot_series(time_axis, rows, "vertices", "loss_ms_per_step")
    for axis in (quality_axis, time_axis):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("number of vertices N")
        axis.grid(alpha=0.3)
        axis.legend()
    quality_axis.set_ylabel("quality")
    quality_axis.set_title(f"(c) quality vs vertex count, θ_aug = {theta / math.pi:.2f}π")
    time_axis.set_yscale("log")
    time_axis.set_ylabel("loss forward + backward per step [ms]")
    time_axis.set_title("(d) the loss's own time per step")


def plot_samples(axis, samples):
    """One predicted polygon per loss (seed 0, radius 1) at the largest theta_aug."""
    theta = max(float(row["theta_aug"]) for row in samples)
    shapes = defaultdict(list)
    for row in samples:
        if float(row["theta_aug"]) == theta and row["seed"] == "0" and float(row["radius"]) == 1.0:
            shapes[row["loss"]].append(row)
    for offset, (loss, vertices) in enumerate(shapes.items()):
        xs = [float(v["x"]) for v in vertices]
        ys = [float(v["y"]) for v in vertices]
        cx, cy = statistics.fmean(xs), statistics.fmean(ys)
        # Draw the outline in angular order around the centroid, shifted into its own slot.
        order = sorted(range(len(xs)), key=lambda i: math.atan2(ys[i] - cy, xs[i] - cx))
        px = [xs[i] - cx + 3 * offset for i in order + order[:1]]
        py = [ys[i] - cy for i in order + order[:1]]
        axis.plot(px, py, "-o", markersize=3)
        axis.text(3 * offset, -1.6, f"{LABELS.get(loss, loss)}\nq = {float(vertices[0]['quality']):.1f}",
                  ha="center", va="top", fontsize=8)
    axis.set_aspect("equal")
    axis.set_ylim(-2.3, 1.4)
    axis.axis("off")
    axis.set_title(f"(a) predictions at r = 1, θ_aug = {theta / math.pi:.2f}π")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results_dir", nargs="?", default="results",
                        help="folder holding shapes_scaling.csv (default: results)")
    folder = Path(parser.parse_args(argv).results_dir)
    rows = read_rows(folder / "shapes_scaling.csv")
    if not rows:
        sys.exit(f"plot_shapes: {folder / 'shapes_scaling.csv'} has no rows")
    samples_path = folder / "shapes_samples.csv"
    samples = read_rows(samples_path) if samples_path.exists() else []
    vertex_counts = sorted({int(row["vertices"]) for row in rows})
    # (a) and (b) at the smallest vertex count, (c) and (d) at the largest theta_aug.
    smallest = [row for row in rows if int(row["vertices"]) == vertex_counts[0]]
    samples = [row for row in samples if int(row["vertices"]) == vertex_counts[0]]
    largest_theta = max(float(row["theta_aug"]) for row in rows)
    scaling = [row for row in rows if float(row["theta_aug"]) == largest_theta]
    scaling_panels = len(vertex_counts) > 1
    if scaling_panels:
        figure, grid = plt.subplots(2, 2, figsize=(13, 9))
        axes = grid.flatten()
    else:
        figure, axes = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1.3, 1]})
    if samples:
        plot_samples(axes[0], samples)
    else:
        axes[0].axis("off")
    plot_quality(axes[1], smallest)
    if scaling_panels:
        plot_scaling(axes[2], axes[3], scaling)
    figure.tight_layout()
    figure.savefig(folder / "shapes.png", dpi=120)
    print(f"plot_shapes: wrote {folder / 'shapes.png'}")


if __name__ == "__main__":
    main()
