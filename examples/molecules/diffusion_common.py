"""What the molecule diffusion experiments share: the sample-space losses,
the geometry and chemistry metrics, the validation curves, and the summary
table and plots (the model, training loop and sampler come from
energyloss.generative). Positions are [B, N, 3]; ``mask`` [B, N] (False = padding atom) is
None for single-molecule data sets.
"""

import csv
import math
import time

import numpy as np
import torch

import energyloss
from energyloss.generative import validation_losses

# The losses the molecule experiments know, in table order. energy-ff,
# energy-hfit, energy-shell and energy-msem are pair energy losses with
# force-field springs (per-pair curvature, Hessian fit, shell-balanced,
# modified Seminario bond and angle constants as 1-2 and 1-3 springs); a "+ff"
# suffix adds the force field's true-energy term at low noise
# (energyloss.ForceFieldEnergyLoss).
PAIR_LOSSES = ("mse", "kabsch", "energy", "energy-sparse", "energy-ff", "energy-hfit",
               "energy-shell", "energy-msem")
FF_TERM = "+ff"
LOSSES = PAIR_LOSSES + tuple(name + FF_TERM for name in PAIR_LOSSES if name.startswith("energy"))
# What a run without --losses trains (the published tables' losses).
DEFAULT_LOSSES = ("mse", "kabsch", "energy", "energy-sparse", "energy-ff")
# Covalent radii (angstrom) for the distance-based bond inference of EDM-style
# stability; a pair is bonded below BOND_TOLERANCE x the sum of radii.
COVALENT_RADIUS = {"H": 0.31, "C": 0.76, "N": 0.71, "O": 0.66, "F": 0.57, "P": 1.07,
                   "S": 1.05, "Cl": 1.02, "Br": 1.20, "I": 1.39}
BOND_TOLERANCE = 1.25
# The validation set's noise levels (midpoints of 8 equal bins of the
# training's t ~ U(0.001, 1), so their mean estimates the training objective)
# and the seed of its rotations and noise: fixed, the same for every run.
VALIDATION_TIMES = [0.001 + 0.999 * (k + 0.5) / 8 for k in range(8)]
VALIDATION_SEED = 20261129
CURVE_COLUMNS = ("loss", "fraction", "seed", "lr", "step", "train_loss", "val_eps_mse",
                 "val_loss")


def add_training_options(parser, lr):
    """The argparse options both experiments share: the "+ff" term's
    --ff-weight and --ff-max-sigma, --first-seed, --lr (Adam, default ``lr``)
    and --validate-every. ``check_training_options`` checks them."""
    parser.add_argument("--ff-weight", type=float, default=1.0,
                        help="lambda of the '+ff' losses' energy term (1)")
    parser.add_argument("--ff-max-sigma", type=float, default=0.1,
                        help="the '+ff' term acts on entries with noise level sigma <= this (0.1)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds run from here (0), to add seeds to an earlier run")
    parser.add_argument("--lr", type=float, default=lr, help=f"Adam learning rate ({lr:g})")
    parser.add_argument("--validate-every", type=int, default=500,
                        help="validation every this many steps (500; 0: none)")


def check_training_options(parser, args):
    """parser.error naming the first bad option of ``add_training_options``."""
    if not (math.isfinite(args.ff_weight) and args.ff_weight >= 0):
        parser.error("--ff-weight must be a finite number >= 0")
    if not args.ff_max_sigma > 0:
        parser.error("--ff-max-sigma must be > 0")
    if args.first_seed < 0:
        parser.error("--first-seed must be at least 0")
    if not args.lr > 0:
        parser.error("--lr must be positive")
    if args.validate_every < 0:
        parser.error("--validate-every must be at least 0 (0: no validation)")


# ----------------------------------------------------------------- losses


def sample_space_loss(name, pred, data, data_scale, mask=None, edges=None, weights=None):
    """One of PAIR_LOSSES per system [B] on normalised positions. The energy
    forms work in angstrom (the unit of the exp preset's length scale);
    "energy" uses the complete graph, the others the given edges and weights
    (``[E, 2]`` shared or ``[B, E, 2]`` per system, rows of -1 padding)."""
    if name == "mse":
        return energyloss.mse_loss(pred, data, mask, reduction="none")
    if name == "kabsch":
        return energyloss.kabsch_mse(pred, data, mask, reduction="none")
    pred, data = pred * data_scale, data * data_scale
    if name == "energy":
        return energyloss.pair_energy_loss(pred, data, mask, coeff="exp", reduction="none")
    return energyloss.pair_energy_loss(pred, data, mask, coeff="explicit", edges=edges,
                                       edge_weights=weights, reduction="none")


# --ff-units: force-field springs in kT / angstrom^2 (physical, the unit of
# the energy term), or rescaled to the exp preset's total stiffness (the
# published energy-ff rows; an explicit choice, not a hidden one).
FF_UNITS = ("kT", "exp-total")


def force_field_springs(k, reference, pairs, units):
    """Springs k (already in kT / angstrom^2) in ``units`` (one of FF_UNITS):
    "kT" returns them unchanged; "exp-total" scales them to the exp preset's
    total stiffness sum 24/N e^{-r} on ``reference`` [N, 3] (angstrom), so
    only their distribution over pairs differs from the exp coefficients."""
    if units == "kT":
        return k
    if units != "exp-total":
        raise ValueError(f"--ff-units: expected one of {', '.join(FF_UNITS)}, got {units!r}")
    distances = (reference[pairs[:, 0]] - reference[pairs[:, 1]]).norm(dim=1)
    return k * (24.0 / len(reference) * torch.exp(-distances)).sum() / k.sum()


def seminario_springs(oracle, reference, bonds):
    """The energy-msem springs (modified Seminario, Allen, Payne & Cole, JCTC
    14, 274 (2018)) of one frame ``reference`` [N, 3] (float64, in the
    oracle's length unit) on its bonds ``bonds`` [M, 2] and their 1-3 pairs,
    in the oracle's energy / length^2: the oracle's Hessian at ``reference``
    (force_field_hessian, central differences of its forces), its bond and
    angle constants (modified_seminario, every angle of the bond graph) and
    their pair springs (seminario_pair_springs; nearly linear angles get
    none). Returns (pairs [P, 2], k [P], details)."""
    constants = energyloss.modified_seminario(
        energyloss.force_field_hessian(oracle, reference), reference, bonds)
    return energyloss.seminario_pair_springs(reference, bonds, constants["bond_k"],
                                             constants["angles"], constants["angle_k"],
                                             return_details=True)


def energy_term_loss(loss_name, weight, kT, max_sigma, length_scale=1.0):
    """The energyloss.ForceFieldEnergyLoss of a "+ff" loss (None for the
    others): weight x (E_FF(x0_hat) - E_FF(x0)) / kT on entries with sigma <=
    max_sigma, added to the named pair loss. It is called with positions in
    the oracle's length unit; the pair loss sees them times ``length_scale``
    (angstrom per oracle length unit: 1 for MMFF94, 10 for OpenMM's nm)."""
    if not loss_name.endswith(FF_TERM):
        return None
    pair_name = loss_name[:-len(FF_TERM)]

    def pair_loss(pred, ref, mask, edges=None, weights=None):
        return sample_space_loss(pair_name, pred, ref, length_scale, mask, edges, weights)

    return energyloss.ForceFieldEnergyLoss(pair_loss, weight=weight, kT=kT, max_sigma=max_sigma)


# ------------------------------------------------------------------ metrics


def bond_lengths(x, bonds):
    return np.linalg.norm(x[:, bonds[:, 0]] - x[:, bonds[:, 1]], axis=-1)


def bond_angles(x, angles):
    a = x[:, angles[:, 0]] - x[:, angles[:, 1]]
    b = x[:, angles[:, 2]] - x[:, angles[:, 1]]
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def angle_triples(bonds, atoms):
    """All (i, centre, k) bond angles of a bond list."""
    neighbours = [[] for _ in range(atoms)]
    for i, j in bonds:
        neighbours[i].append(j)
        neighbours[j].append(i)
    return np.array([(a, centre_atom, b) for centre_atom, near in enumerate(neighbours)
                     for index, a in enumerate(near) for b in near[index + 1:]],
                    dtype=np.int64).reshape(-1, 3)


def wasserstein(samples, data):
    """Mean over columns of the 1-D Wasserstein-1 distance (quantile form);
    1-D arrays are one column."""
    quantiles = np.linspace(0.005, 0.995, 100)
    return float(np.mean(np.abs(np.quantile(samples, quantiles, axis=0) -
                                np.quantile(data, quantiles, axis=0))))


def inferred_bonds(x, elements):
    """[S, N, N] bool: pairs closer than BOND_TOLERANCE x the covalent radii."""
    radius = np.array([COVALENT_RADIUS[e] for e in elements])
    distance = np.linalg.norm(x[:, :, None] - x[:, None, :], axis=-1)
    bonded = distance < BOND_TOLERANCE * (radius[:, None] + radius[None, :])
    bonded[:, np.arange(len(elements)), np.arange(len(elements))] = False
    return bonded


def stability(x, elements, orders):
    """EDM-style valence check of [S, N, 3] samples against the molecular
    graph ``orders`` [N, N] (bond order, 0 = no bond): each distance-inferred
    bond counts with its graph order (1 where the graph has none), and an
    atom is stable when that sum equals its valence in the graph; a molecule
    when all its atoms are. Returns (atom fraction, molecule fraction)."""
    inferred = inferred_bonds(x, elements) * np.where(orders > 0, orders, 1)[None]
    stable = inferred.sum(-1) == orders.sum(-1)[None]
    return float(stable.mean()), float(stable.all(axis=1).mean())


def rdkit_checks(x, elements, bond_types, target_smiles, charges=None):
    """Per sample: whether the molecule of distance-inferred bonds (typed as
    in ``bond_types`` {(i, j): rdkit BondType, i < j}, single otherwise;
    atoms with the formal ``charges``) is one fragment that sanitises
    (valid), and whether its canonical isomeric SMILES, stereo from 3D, is
    ``target_smiles`` (identical). Two bool arrays."""
    from rdkit import Chem, RDLogger
    RDLogger.DisableLog("rdApp.*")
    valid = np.zeros(len(x), dtype=bool)
    identical = np.zeros(len(x), dtype=bool)
    charges = [0] * len(elements) if charges is None else charges
    for index, (coordinates, bonded) in enumerate(zip(x, inferred_bonds(x, elements))):
        mol = Chem.RWMol()
        for element, charge in zip(elements, charges):
            atom = Chem.Atom(element)
            atom.SetNoImplicit(True)
            atom.SetFormalCharge(int(charge))
            mol.AddAtom(atom)
        for i, j in zip(*np.nonzero(np.triu(bonded))):
            mol.AddBond(int(i), int(j), bond_types.get((int(i), int(j)), Chem.BondType.SINGLE))
        conformer = Chem.Conformer(len(coordinates))
        for i, p in enumerate(coordinates):
            conformer.SetAtomPosition(i, p.tolist())
        mol.AddConformer(conformer)
        try:
            Chem.SanitizeMol(mol)
        except Exception:  # RDKit raises several sanitisation exception types
            continue
        if len(Chem.GetMolFrags(mol)) != 1:
            continue
        valid[index] = True
        Chem.AssignStereochemistryFrom3D(mol)
        identical[index] = Chem.MolToSmiles(mol) == target_smiles
    return valid, identical


def rmsd_matrix(x, reference):
    """[S, T] Kabsch-aligned RMSD (angstrom) of samples [S, N, 3] to
    reference conformers [T, N, 3]."""
    s, t = len(x), len(reference)
    pred = torch.as_tensor(x, dtype=torch.float64)[:, None].expand(s, t, -1, -1)
    ref = torch.as_tensor(reference, dtype=torch.float64)[None].expand(s, t, -1, -1)
    pred, ref = pred.reshape(s * t, -1, 3), ref.reshape(s * t, -1, 3)
    return energyloss.kabsch_mse(pred, ref, reduction="none").mul(3).sqrt().view(s, t).numpy()


def coverage_matching(rmsd, threshold):
    """COV-R (fraction of reference conformers with a sample within
    ``threshold`` RMSD) and MAT-R (mean over reference conformers of the
    nearest sample's RMSD) from an [S, T] RMSD matrix."""
    nearest = rmsd.min(axis=0)
    return float((nearest < threshold).mean()), float(nearest.mean())


# ----------------------------------------------------------- tables, plots


def summarise(rows, path, metrics):
    """Markdown table: mean ± std over seeds per (loss, fraction)."""
    with open(path, "w") as out:
        out.write("| loss | fraction | " + " | ".join(metrics) + " |\n")
        out.write("|---" * (len(metrics) + 2) + "|\n")
        keys = sorted({(r["loss"], r["fraction"]) for r in rows},
                      key=lambda k: (LOSSES.index(k[0]), k[1]))
        for loss, fraction in keys:
            group = [r for r in rows if r["loss"] == loss and r["fraction"] == fraction]
            cells = []
            for m in metrics:
                values = np.array([r[m] for r in group])
                cells.append(f"{values.mean():.3g} ± {values.std():.2g}" if len(values) > 1
                             else f"{values.mean():.3g}")
            out.write(f"| {loss} | {fraction:g} | " + " | ".join(cells) + " |\n")


def plot(rows, path, panels):
    """One panel per (metric, y label): mean ± std over seeds against the
    training-set fraction, one line per loss."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 3.6))
    for ax, (metric, label) in zip(axes, panels):
        for loss in LOSSES:
            group = [r for r in rows if r["loss"] == loss]
            if not group:
                continue
            fractions = sorted({r["fraction"] for r in group})
            values = [[r[metric] for r in group if r["fraction"] == f] for f in fractions]
            ax.errorbar(fractions, [np.mean(v) for v in values], yerr=[np.std(v) for v in values],
                        marker="o", capsize=3, label=loss)
        ax.set_xlabel("fraction of training set")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def print_row(row):
    print(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in row.items()), flush=True)


# --------------------------------------------------------- validation curves


def write_rows(rows, path, columns=None):
    with open(path, "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(columns or rows[0]))
        writer.writeheader()
        writer.writerows(rows)


class Validator:
    """``train``'s validate callback: scores the model on ``held_out`` (a
    generative.HeldOut) by the eps-MSE and ``trainer.loss``, keeping the
    energy term's timer (``trainer.term``) out of it. ``points`` holds
    (step, eps-MSE, own loss)."""

    def __init__(self, held_out, trainer):
        self.held_out, self.trainer, self.points = held_out, trainer, []
        self.seconds = 0.0

    def __call__(self, step, model):
        begin = time.perf_counter()
        term = self.trainer.term
        kept = None if term is None else term.total_seconds
        scores = validation_losses(model, self.held_out, self.trainer.loss)
        if term is not None:
            term.total_seconds = kept
        self.points.append((step, scores["eps_mse"], scores["loss"]))
        self.seconds += time.perf_counter() - begin
        print(f"  step {step}: validation eps-MSE {scores['eps_mse']:.4g}, own loss "
              f"{scores['loss']:.4g} ({time.perf_counter() - begin:.1f} s)", flush=True)


def curve_rows(key, points, curve):
    """curves.csv rows of one run: per validation point (step, eps-MSE, own
    loss), the step-weighted mean training loss of ``train``'s curve
    windows (100 steps) that end after the previous point and at or before
    this one (empty at step 0)."""
    rows, previous, windows = [], 0, []
    last = 0
    for end, value in curve:
        windows.append((last, end, value))
        last = end
    for step, eps_mse, own in points:
        inside = [(end - begin, value) for begin, end, value in windows if previous < end <= step]
        weight = sum(w for w, _ in inside)
        train_loss = sum(w * v for w, v in inside) / weight if weight else None
        rows.append({**key, "step": step, "train_loss": train_loss, "val_eps_mse": eps_mse,
                     "val_loss": own})
        previous = step
    return rows


def plot_curves(rows, path):
    """One column per loss: validation eps-MSE (top, the same quantity for
    every loss, one shared scale) and the run's own loss (bottom: validation
    solid, training dotted) against step, one line per learning rate and
    seed; log scales, step 0 (the untrained model) left out."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def key(r):
        return r["loss"], float(r["lr"]), int(r["seed"]), float(r["fraction"])

    runs = sorted({key(r) for r in rows}, key=lambda k: (LOSSES.index(k[0]), k[1:]))
    losses = list(dict.fromkeys(k[0] for k in runs))
    rates = sorted({k[1] for k in runs})
    figure, axes = plt.subplots(2, len(losses), figsize=(3.3 * len(losses) + 0.8, 6.0),
                                squeeze=False, sharex=True)
    for column, loss in enumerate(losses):
        top, bottom = axes[0, column], axes[1, column]
        for run in (k for k in runs if k[0] == loss):
            _, lr, seed, fraction = run
            points = sorted(((int(r["step"]), r) for r in rows
                             if key(r) == run and int(r["step"]) > 0), key=lambda p: p[0])
            steps = [p[0] for p in points]
            colour = f"C{rates.index(lr)}"
            style = ["-", "--", ":", "-."][seed % 4]
            label = f"lr {lr:g}, seed {seed}" + (f", {fraction:g} data" if fraction < 1 else "")
            top.plot(steps, [float(p[1]["val_eps_mse"]) for p in points], style, color=colour,
                     marker=".", label=label)
            bottom.plot(steps, [float(p[1]["val_loss"]) for p in points], style, color=colour,
                        marker=".")
            trained = [(s, float(p["train_loss"])) for s, p in points if p["train_loss"] not in
                       ("", None)]
            if trained:
                bottom.plot(*zip(*trained), ":", color=colour, alpha=0.6)
        top.set_title(loss)
        if column:
            top.sharey(axes[0, 0])
        top.set_yscale("log")
        bottom.set_yscale("log")
        bottom.set_xlabel("training step")
        top.legend(fontsize=6)
    axes[0, 0].set_ylabel("validation eps-MSE")
    axes[1, 0].set_ylabel("own loss (validation; training dotted)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
