#!/usr/bin/env python3
"""Collects many single-run output folders of small_molecules.py or
alanine_diffusion.py (each with its runs.csv and, with --validate-every,
curves.csv) into the tables of docs/results.md section 3d:

- one row per run, with the validation curve's last value, its minimum, and
  its trend (least-squares slope of log(value) over the last third of the
  steps, in % per 1,000 steps: near 0 means flat, i.e. converged);
- mean ± population std per (loss, rate, fraction) with at least two seeds.

Usage:
    collect_runs.py RESULTS_DIR [--markdown OUT.md] [--curves OUT.png]

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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="folder of run folders")
    parser.add_argument("--markdown", help="also write the tables here")
    parser.add_argument("--curves", help="plot every run's validation curves here (PNG)")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.results):
        parser.error(f"results: no folder {args.results}")
    runs, curves = read_runs(args.results)
    if not runs:
        parser.error(f"results: no runs.csv in any folder of {args.results}")
    text = "\n".join(tables(runs, curves)) + "\n"
    print(text, end="")
    if args.markdown:
        open(args.markdown, "w").write(text)
    if args.curves:
        if not curves:
            parser.error("--curves: no curves.csv in any run folder")
        from diffusion_common import plot_curves
        plot_curves(curves, args.curves)


if __name__ == "__main__":
    main()
