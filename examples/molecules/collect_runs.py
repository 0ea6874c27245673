#!/usr/bin/env python3
"""Collects many single-run output folders of small_molecules.py or
alanine_diffusion.py (each with its runs.csv and, with --validate-every,
curves.csv) into the tables of docs/results.md section 3d:

- one row per run, with the validation curve's last value, its minimum, and
  its trend (least-squares slope of log(value) over the last third of the
  steps, in % per 1,000 steps: near 0 means flat, i.e. converged);
- mean ± population std per (loss, rate, fraction) with at least two seeds;
- data efficiency: for every loss and rate trained on more than one
  training-set fraction, the key metrics per fraction (mean ± population std
  and the number of seeds), as a table and, with --efficiency, a plot.

Usage:
    collect_runs.py RESULTS_DIR [--markdown OUT.md] [--curves OUT.png]
                    [--efficiency OUT.png]

--curves plots the full-data runs only (fraction 1), so the plot stays
readable when a folder also holds the data-efficiency runs.

RESULTS_DIR holds one folder per run (any names); folders without runs.csv
(unfinished runs) are skipped. A folder's runs.csv may hold several runs.
Raises SystemExit naming the folder when a runs.csv lacks a needed column.
"""

import argparse
import csv
import glob
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# Per-run columns: (runs.csv column, header, scale, format).
METRICS = (("molecule_stable", "molecule stable (%)", 100, ".1f"),
           ("atom_stable", "atom stable (%)", 100, ".1f"),
           ("bond_w1", "bond W1 (Å)", 1, ".3f"),
           ("angle_w1", "angle W1 (°)", 1, ".1f"),
           ("energy_excess", "E − E_data raw", 1, ".0f"),
           ("energy_excess_minimised", "E − E_data after 50 min. steps", 1, ".2f"),
           ("coverage", "COV-R (%)", 100, ".1f"),
           ("matching", "MAT-R (Å)", 1, ".3f"))
KEY = ("loss", "lr", "fraction")
# The metrics of the data-efficiency table and plot (names from METRICS).
EFFICIENCY_METRICS = ("molecule_stable", "bond_w1", "angle_w1", "energy_excess")


def read_runs(results):
    """[(runs.csv rows, curves.csv rows)] of every finished run folder."""
    runs, curves = [], []
    for folder in sorted(glob.glob(os.path.join(results, "*", ""))):
        path = os.path.join(folder, "runs.csv")
        if not os.path.exists(path):
            continue
        rows = list(csv.DictReader(open(path)))
        for row in rows:
            missing = [c for c in KEY + ("seed", "train_seconds") + tuple(m[0] for m in METRICS)
                       if c not in row]
            if missing:
                raise SystemExit(f"collect_runs: {path}: no column {', '.join(missing)}")
        runs += rows
        if os.path.exists(os.path.join(folder, "curves.csv")):
            curves += list(csv.DictReader(open(os.path.join(folder, "curves.csv"))))
    return runs, curves


def curve(curves, run, column="val_eps_mse"):
    """{step: value} of one run's validation curve."""
    return {int(r["step"]): float(r[column]) for r in curves
            if all(r[k] == run[k] for k in ("loss", "seed")) and
            float(r["lr"]) == float(run["lr"]) and
            float(r["fraction"]) == float(run["fraction"]) and r[column] != ""}


def trend(points):
    """% change per 1,000 steps of a log-linear fit over the last third of
    the steps (at least 3 points), or None."""
    if not points:
        return None
    last = max(points)
    steps = [s for s in sorted(points) if s >= last * 2 / 3]
    if len(steps) < 3:
        return None
    slope = np.polyfit(np.array(steps) / 1000, np.log([points[s] for s in steps]), 1)[0]
    return 100 * (np.exp(slope) - 1)


def order(losses):
    """Table order: the losses in the experiments' order, unknown ones last."""
    sys.path.insert(0, HERE)
    from diffusion_common import LOSSES
    known = list(LOSSES)
    return sorted(set(losses), key=lambda n: (known.index(n) if n in known else len(known), n))


def tables(runs, curves):
    """The two markdown tables (list of lines)."""
    rank = {name: i for i, name in enumerate(order(r["loss"] for r in runs))}
    key = lambda r: (rank[r["loss"]], float(r["lr"]), float(r["fraction"]), int(r["seed"]))
    out = ["| loss | lr | fraction | seed | " + " | ".join(m[1] for m in METRICS) +
           " | val. ε-MSE last (min; step) | ε-MSE trend (%/1,000 steps) | own loss trend "
           "| train s |", "|---" * (len(METRICS) + 8) + "|"]
    for r in sorted(runs, key=key):
        cells = [f"{float(r[c]) * s:{f}}" for c, _, s, f in METRICS]
        eps, own = curve(curves, r), curve(curves, r, "val_loss")
        if eps:
            best = min(eps.items(), key=lambda p: p[1])
            val = f"{eps[max(eps)]:.4f} ({best[1]:.4f}; {best[0]})"
        else:
            val = "–"
        trends = [f"{t:+.1f}" if t is not None else "–" for t in (trend(eps), trend(own))]
        out.append(f"| {r['loss']} | {float(r['lr']):g} | {float(r['fraction']):g} | {r['seed']} | "
                   + " | ".join(cells) + f" | {val} | {trends[0]} | {trends[1]} | "
                   f"{float(r['train_seconds']):.0f} |")
    groups = {}
    for r in runs:
        groups.setdefault((r["loss"], float(r["lr"]), float(r["fraction"])), []).append(r)
    multi = sorted(((k, v) for k, v in groups.items() if len(v) >= 2),
                   key=lambda kv: (rank[kv[0][0]], kv[0][1], kv[0][2]))
    if multi:
        out += ["", "| loss | lr | fraction | seeds | " + " | ".join(m[1] for m in METRICS) + " |",
                "|---" * (len(METRICS) + 4) + "|"]
        for (loss, lr, fraction), rows in multi:
            cells = []
            for c, _, s, f in METRICS:
                a = np.array([float(r[c]) * s for r in rows])
                cells.append(f"{a.mean():{f}} ± {a.std():{f}}")
            out.append(f"| {loss} | {lr:g} | {fraction:g} | {len(rows)} | " + " | ".join(cells) + " |")
    return out


def efficiency(runs):
    """{(loss, lr): {fraction: [runs]}} for every loss and rate with runs at
    more than one training-set fraction."""
    groups = {}
    for r in runs:
        groups.setdefault((r["loss"], float(r["lr"])), {}).setdefault(
            float(r["fraction"]), []).append(r)
    return {k: v for k, v in groups.items() if len(v) > 1}


def efficiency_table(runs):
    """Markdown lines: per loss and rate, each EFFICIENCY_METRICS column's
    mean ± population std at every fraction, with the seed count."""
    curves = efficiency(runs)
    if not curves:
        return []
    rank = {name: i for i, name in enumerate(order(k[0] for k in curves))}
    metrics = [m for m in METRICS if m[0] in EFFICIENCY_METRICS]
    out = ["| loss | lr | fraction | seeds | " + " | ".join(m[1] for m in metrics) + " |",
           "|---" * (len(metrics) + 4) + "|"]
    for (loss, lr), by_fraction in sorted(curves.items(), key=lambda kv: (rank[kv[0][0]], kv[0][1])):
        for fraction, rows in sorted(by_fraction.items()):
            cells = []
            for c, _, s, f in metrics:
                a = np.array([float(r[c]) * s for r in rows])
                cells.append(f"{a.mean():{f}} ± {a.std():{f}}" if len(a) > 1 else f"{a[0]:{f}}")
            out.append(f"| {loss} | {lr:g} | {fraction:g} | {len(rows)} | " + " | ".join(cells)
                       + " |")
    return out


def plot_efficiency(runs, path):
    """One panel per EFFICIENCY_METRICS column against the training-set
    fraction (log scale): each loss's mean with population-std error bars,
    and every seed as a dot."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = efficiency(runs)
    rank = {name: i for i, name in enumerate(order(k[0] for k in curves))}
    metrics = [m for m in METRICS if m[0] in EFFICIENCY_METRICS]
    figure, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.8))
    for i, ((loss, lr), by_fraction) in enumerate(sorted(curves.items(),
                                                       key=lambda kv: (rank[kv[0][0]], kv[0][1]))):
        fractions = sorted(by_fraction)
        for axis, (c, header, s, _) in zip(axes, metrics):
            values = [np.array([float(r[c]) * s for r in by_fraction[f]]) for f in fractions]
            axis.errorbar(fractions, [v.mean() for v in values], yerr=[v.std() for v in values],
                          color=f"C{i}", marker="o", capsize=3, label=f"{loss} (lr {lr:g})")
            for f, v in zip(fractions, values):
                axis.plot([f] * len(v), v, ".", color=f"C{i}", alpha=0.4)
    every = sorted({f for by_fraction in curves.values() for f in by_fraction})
    for axis, (_, header, _, _) in zip(axes, metrics):
        axis.set_xscale("log")
        axis.set_xticks(every, [f"{f:g}" for f in every])
        axis.set_xlabel("training-set fraction")
        axis.set_title(header)
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="folder of run folders")
    parser.add_argument("--markdown", help="also write the tables here")
    parser.add_argument("--curves", help="plot the full-data runs' validation curves here (PNG)")
    parser.add_argument("--efficiency", help="plot the key metrics against the training-set "
                                             "fraction here (PNG)")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.results):
        parser.error(f"results: no folder {args.results}")
    runs, curves = read_runs(args.results)
    if not runs:
        parser.error(f"results: no runs.csv in any folder of {args.results}")
    lines = tables(runs, curves)
    more = efficiency_table(runs)
    if more:
        lines += ["", "Data efficiency:", ""] + more
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.markdown:
        open(args.markdown, "w").write(text)
    if args.curves:
        full = [r for r in curves if float(r["fraction"]) == 1]
        if not full:
            parser.error("--curves: no curves.csv of a full-data run in any run folder")
        from diffusion_common import plot_curves
        plot_curves(full, args.curves)
    if args.efficiency:
        if not efficiency(runs):
            parser.error("--efficiency: no loss was trained on more than one fraction")
        plot_efficiency(runs, args.efficiency)


if __name__ == "__main__":
    main()
