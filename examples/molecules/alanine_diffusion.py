#!/usr/bin/python3
"""Diffusion models of alanine dipeptide conformations trained with different
sample-space losses (paper section 6.2 at CPU scale).

Pipeline (simulation -> training -> simulation):
  1. OpenMM Langevin MD of alanine dipeptide (amber14 + OBC2, 300 K) gives the
     data: frames split in time into train and test.
  2. A non-equivariant denoiser (an MLP on the flattened coordinates, random
     rotation augmentation: the paper's GDM-aug setting) is trained on the
     sample prediction x0 = (x_t - sigma eps)/alpha with one of the losses
     below, each weighted by alpha^2/sigma^2 (so "mse" is the usual eps-MSE).
  3. Samples are scored: bond-length and bond-angle distances to the test
     data, connectivity (EDM-style stability, by bond degree), RDKit validity
     and chirality, force-field energy through energyloss's OpenMM oracle
     before and after a short minimisation, and coverage/matching RMSD.

Losses: mse, kabsch, energy (exp coefficients, complete graph), energy-sparse
(a globally rigid sparse graph), energy-ff (complete graph, coefficients
derived from the amber14 force field with energyloss.openmm_pair_coefficients,
rescaled to the same total as the exp coefficients so only their distribution
over pairs differs).

Writes OUTPUT/runs.csv (one row per loss, seed and data fraction),
OUTPUT/summary.md and OUTPUT/molecules.png. --quick finishes in a few minutes.
"""

import argparse
import csv
import math
import os
import sys
import time

import numpy as np
import openmm
import openmm.app
import openmm.unit as unit
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "openmm"))
import make_system  # noqa: E402  (the project's PDB -> System script)

import energyloss  # noqa: E402

LOSSES = ("mse", "kabsch", "energy", "energy-sparse", "energy-ff")
ANGSTROM_PER_NM = 10.0
# Covalent radii (angstrom) for the distance-based bond inference of EDM-style
# stability; a pair is bonded below 1.25 x the sum of radii.
COVALENT_RADIUS = {"H": 0.31, "C": 0.76, "N": 0.71, "O": 0.66}
BOND_TOLERANCE = 1.25


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=LOSSES)
    parser.add_argument("--seeds", type=int, default=None, help="seeds per setting (3; quick 1)")
    parser.add_argument("--fractions", type=float, nargs="+", default=None,
                        help="training-set fractions (0.25 0.5 1; quick 1)")
    parser.add_argument("--frames", type=int, default=None, help="MD frames (4000; quick 600)")
    parser.add_argument("--steps", type=int, default=None, help="training steps (8000; quick 1500)")
    parser.add_argument("--samples", type=int, default=None, help="generated samples (512; quick 64)")
    parser.add_argument("--output", default="results/molecules")
    args = parser.parse_args(argv)
    defaults = dict(seeds=(1, 3), fractions=([1.0], [0.25, 0.5, 1.0]), frames=(600, 4000),
                    steps=(1500, 8000), samples=(64, 512))
    for name, (quick, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    for name in ("seeds", "frames", "steps", "samples"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if any(not 0 < f <= 1 for f in args.fractions):
        parser.error("--fractions must lie in (0, 1]")
    return args


class Molecule:
    """The System, its topology facts and the MD data, in angstrom."""

    def __init__(self, output, frames):
        self.system, positions_nm = make_system.build_system(
            make_system.ALANINE_PDB, make_system.DEFAULT_FORCEFIELDS, strip_solvent=True)
        self.system_xml = os.path.join(output, "alanine.xml")
        with open(self.system_xml, "w") as out:
            out.write(openmm.XmlSerializer.serialize(self.system))
        topology = openmm.app.PDBFile(make_system.ALANINE_PDB).topology
        self.elements = [atom.element.symbol for atom in topology.atoms()]
        self.reference = positions_nm * ANGSTROM_PER_NM
        self.bonds, self.angles = self._bonded_terms()
        self.frames = self._molecular_dynamics(output, frames)

    def _bonded_terms(self):
        forces = {type(f).__name__: f for f in self.system.getForces()}
        bonds = [forces["HarmonicBondForce"].getBondParameters(b)[:2]
                 for b in range(forces["HarmonicBondForce"].getNumBonds())]
        angles = [forces["HarmonicAngleForce"].getAngleParameters(a)[:3]
                  for a in range(forces["HarmonicAngleForce"].getNumAngles())]
        return np.array(bonds), np.array(angles)

    def _molecular_dynamics(self, output, frames):
        """Frames every 250 fs of 300 K Langevin dynamics, cached on disk."""
        cache = os.path.join(output, f"alanine_md_{frames}.npy")
        if os.path.exists(cache):
            return np.load(cache)
        integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond,
                                                     0.001 * unit.picoseconds)
        integrator.setRandomNumberSeed(2024)
        context = openmm.Context(self.system, integrator, openmm.Platform.getPlatformByName("CPU"))
        context.setPositions(self.reference / ANGSTROM_PER_NM)
        openmm.LocalEnergyMinimizer.minimize(context)
        context.setVelocitiesToTemperature(300 * unit.kelvin, 2024)
        integrator.step(5000)  # 5 ps equilibration
        data = np.empty((frames, len(self.elements), 3))
        for f in range(frames):
            integrator.step(250)
            data[f] = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(
                unit.nanometer) * ANGSTROM_PER_NM
        data -= data.mean(axis=1, keepdims=True)
        np.save(cache, data)
        return data


# ---------------------------------------------------------------- model


class Denoiser(torch.nn.Module):
    """eps prediction from flattened noisy coordinates and a time embedding."""

    def __init__(self, atoms, width=512, time_features=16):
        super().__init__()
        self.time_frequencies = torch.nn.Parameter(
            torch.exp(torch.linspace(0.0, math.log(1000.0), time_features // 2)), requires_grad=False)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(3 * atoms + time_features, width), torch.nn.SiLU(),
            torch.nn.Linear(width, width), torch.nn.SiLU(),
            torch.nn.Linear(width, width), torch.nn.SiLU(),
            torch.nn.Linear(width, 3 * atoms))

    def forward(self, x_t, t):
        angles = t[:, None] * self.time_frequencies[None]
        features = torch.cat([x_t.flatten(1), torch.sin(angles), torch.cos(angles)], dim=1)
        eps = self.net(features).view_as(x_t)
        return eps - eps.mean(dim=1, keepdim=True)  # stay in the zero-centre subspace


def random_rotations(count, generator):
    """Uniform rotations (QR of Gaussian matrices, sign-fixed, det +1)."""
    q, r = torch.linalg.qr(torch.randn(count, 3, 3, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=1, dim2=2))[:, None, :]
    q[torch.det(q) < 0, :, 0] *= -1
    return q.float()


def centred_noise(shape, generator):
    noise = torch.randn(shape, generator=generator)
    return noise - noise.mean(dim=1, keepdim=True)


class SampleLoss:
    """One of LOSSES on (prediction, data), per sample [B]."""

    def __init__(self, name, molecule, data_scale):
        self.name = name
        reference = torch.as_tensor(molecule.reference, dtype=torch.float32)
        n = len(molecule.elements)
        pairs = torch.combinations(torch.arange(n), 2)
        if name == "energy-ff":
            k = energyloss.openmm_pair_coefficients(
                molecule.system_xml, reference.double() / ANGSTROM_PER_NM, pairs).float()
            # Same total as the exp preset on the reference, so only the
            # distribution of stiffness over pairs differs between the two.
            distances = (reference[pairs[:, 0]] - reference[pairs[:, 1]]).norm(dim=1)
            exp_total = (24.0 / n * torch.exp(-distances)).sum()
            self.edges, self.weights = pairs, k * exp_total / k.sum()
        elif name == "energy-sparse":
            self.edges, self.weights = energyloss.sparse_rigid_edges(reference, seed=0)
        self.data_scale = data_scale

    def __call__(self, pred, data):
        if self.name == "mse":
            return ((pred - data) ** 2).mean(dim=(1, 2))
        if self.name == "kabsch":
            return energyloss.kabsch_mse(pred, data, reduction="none")
        # Energy forms work in angstrom (the unit of the exp preset's length scale).
        pred, data = pred * self.data_scale, data * self.data_scale
        if self.name == "energy":
            return energyloss.pair_energy_loss(pred, data, coeff="exp", reduction="none")
        return energyloss.pair_energy_loss(pred, data, coeff="explicit", edges=self.edges,
                                           edge_weights=self.weights, reduction="none")


def schedule(t):
    alpha, sigma = energyloss.noise_schedule(t.double(), "polynomial")
    return alpha.float(), sigma.float()


def train(loss, train_set, steps, seed, batch=128):
    """Returns the model and the loss's share of the step time."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = Denoiser(train_set.shape[1])
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-4)
    loss_seconds = step_seconds = 0.0
    for step in range(steps):
        start = time.perf_counter()
        index = torch.randint(len(train_set), (batch,), generator=generator)
        x0 = train_set[index] @ random_rotations(batch, generator).transpose(1, 2)
        t = torch.rand(batch, generator=generator) * 0.999 + 0.001
        alpha, sigma = schedule(t)
        eps = centred_noise(x0.shape, generator)
        x_t = alpha[:, None, None] * x0 + sigma[:, None, None] * eps
        x0_hat = energyloss.x0_from_eps(x_t, model(x_t, t), alpha, sigma)
        loss_start = time.perf_counter()
        per_sample = loss(x0_hat, x0)
        value = (energyloss.eps_weight(alpha, sigma) * per_sample).mean()
        loss_seconds += time.perf_counter() - loss_start
        optimiser.zero_grad()
        value.backward()
        optimiser.step()
        step_seconds += time.perf_counter() - start
    return model, loss_seconds / step_seconds


@torch.no_grad()
def sample(model, count, atoms, seed, clip, steps=200):
    """Ancestral sampling on the training schedule, t from 1 to 0. Near t = 1,
    alpha is ~3e-3 and x0 = (x_t - sigma eps)/alpha amplifies the model's eps
    error ~300-fold, so x0 is clipped to the data's range (DDPM's
    clip_denoised), `clip` in the data's normalised units."""
    generator = torch.Generator().manual_seed(10_000 + seed)
    x = centred_noise((count, atoms, 3), generator)
    times = torch.linspace(1.0, 0.0, steps + 1)
    for t, s in zip(times[:-1], times[1:]):
        alpha_t, sigma_t = schedule(t.expand(count))
        x0_hat = energyloss.x0_from_eps(x, model(x, t.expand(count)), alpha_t, sigma_t)
        x0_hat = x0_hat.clamp(-clip, clip)
        if s == 0:
            return x0_hat
        alpha_s, sigma_s = schedule(s.expand(count))
        alpha_ts = alpha_t / alpha_s
        sigma2_ts = sigma_t ** 2 - alpha_ts ** 2 * sigma_s ** 2
        mean = (alpha_ts * sigma_s ** 2 / sigma_t ** 2)[:, None, None] * x + \
               (alpha_s * sigma2_ts / sigma_t ** 2)[:, None, None] * x0_hat
        std = torch.sqrt(sigma2_ts * sigma_s ** 2 / sigma_t ** 2)[:, None, None]
        x = mean + std * centred_noise(x.shape, generator)
    return x


# -------------------------------------------------------------- metrics


def bond_lengths(x, bonds):
    return np.linalg.norm(x[:, bonds[:, 0]] - x[:, bonds[:, 1]], axis=-1)


def bond_angles(x, angles):
    a = x[:, angles[:, 0]] - x[:, angles[:, 1]]
    b = x[:, angles[:, 2]] - x[:, angles[:, 1]]
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def wasserstein(samples, data):
    """Mean over columns of the 1-D Wasserstein-1 distance (quantile form)."""
    quantiles = np.linspace(0.005, 0.995, 100)
    return float(np.mean(np.abs(np.quantile(samples, quantiles, axis=0) -
                                np.quantile(data, quantiles, axis=0))))


def inferred_bonds(x, elements):
    radius = np.array([COVALENT_RADIUS[e] for e in elements])
    distance = np.linalg.norm(x[:, :, None] - x[:, None, :], axis=-1)
    bonded = distance < BOND_TOLERANCE * (radius[:, None] + radius[None, :])
    bonded[:, np.arange(len(elements)), np.arange(len(elements))] = False
    return bonded


def stability(x, molecule):
    """EDM-style, by degree: an atom is stable when its distance-inferred bond
    count equals its topological degree; a molecule when all atoms are."""
    degree = np.bincount(molecule.bonds.ravel(), minlength=len(molecule.elements))
    stable = inferred_bonds(x, molecule.elements).sum(-1) == degree[None]
    return float(stable.mean()), float(stable.all(axis=1).mean())


def rdkit_checks(x, molecule):
    """Fractions of samples whose inferred-bond molecule is one fragment that
    sanitises (valid) and whose canonical isomeric SMILES, stereo from 3D, is
    the reference's (identical: same bonds and the L-alanine chirality)."""
    from rdkit import Chem, RDLogger
    RDLogger.DisableLog("rdApp.*")
    template = Chem.MolFromPDBFile(make_system.ALANINE_PDB, removeHs=False)
    order = {tuple(sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))): b.GetBondType()
             for b in template.GetBonds()}
    target = Chem.MolToSmiles(template)
    valid = identical = 0
    for coordinates, bonded in zip(x, inferred_bonds(x, molecule.elements)):
        mol = Chem.RWMol()
        for atom in template.GetAtoms():
            new_atom = Chem.Atom(atom.GetAtomicNum())
            new_atom.SetNoImplicit(True)
            mol.AddAtom(new_atom)
        for i, j in zip(*np.nonzero(np.triu(bonded))):
            mol.AddBond(int(i), int(j), order.get((int(i), int(j)), Chem.BondType.SINGLE))
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
        valid += 1
        Chem.AssignStereochemistryFrom3D(mol)
        identical += Chem.MolToSmiles(mol) == target
    return valid / len(x), identical / len(x)


def energies(x, molecule, minimise_iterations=0):
    """Force-field energies (kJ/mol) through energyloss's OpenMM oracle; with
    minimise_iterations, after that many L-BFGS iterations in OpenMM. A sample
    the force field cannot evaluate (overlapping atoms: the oracle refuses
    non-finite forces) scores +inf, so it counts against the median."""
    nm = torch.as_tensor(x / ANGSTROM_PER_NM, dtype=torch.float64)
    oracle = energyloss.OpenMMOracle(molecule.system_xml, platform="CPU", workers=2)
    context = openmm.Context(molecule.system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName("CPU"))
    result = np.empty(len(nm))
    for index, positions in enumerate(nm):
        try:
            if minimise_iterations:
                context.setPositions(positions.numpy())
                openmm.LocalEnergyMinimizer.minimize(context, 10.0, minimise_iterations)
                positions = torch.as_tensor(context.getState(getPositions=True).getPositions(
                    asNumpy=True).value_in_unit(unit.nanometer))
            result[index] = float(oracle.evaluate(positions[None])[0][0])
        except (ValueError, openmm.OpenMMException):
            result[index] = math.inf
    return result


def coverage_matching(x, test, threshold=0.5):
    """COV-R (fraction of test frames with a sample within threshold, in
    angstrom RMSD after Kabsch alignment) and MAT-R (mean over test frames of
    the nearest sample's RMSD)."""
    s, t = len(x), len(test)
    pred = torch.as_tensor(x, dtype=torch.float64)[:, None].expand(s, t, -1, -1).reshape(s * t, -1, 3)
    ref = torch.as_tensor(test, dtype=torch.float64)[None].expand(s, t, -1, -1).reshape(s * t, -1, 3)
    rmsd = energyloss.kabsch_mse(pred, ref, reduction="none").mul(3).sqrt().view(s, t)
    nearest = rmsd.min(dim=0).values
    return float((nearest < threshold).double().mean()), float(nearest.mean())


def evaluate(x, molecule, test):
    reference = test[:len(x)]
    minimise = 50  # L-BFGS iterations, for samples and data alike
    sample_energies = energies(x, molecule)
    atom_stable, molecule_stable = stability(x, molecule)
    valid, identical = rdkit_checks(x, molecule)
    coverage, matching = coverage_matching(x, test[:200])
    return {
        "bond_w1": wasserstein(bond_lengths(x, molecule.bonds), bond_lengths(test, molecule.bonds)),
        "angle_w1": wasserstein(bond_angles(x, molecule.angles), bond_angles(test, molecule.angles)),
        "atom_stable": atom_stable, "molecule_stable": molecule_stable,
        "valid": valid, "identical": identical,
        "energy_failed": float(np.mean(np.isinf(sample_energies))),
        "energy_excess": float(np.median(sample_energies) -
                               np.median(energies(reference, molecule))),
        "energy_excess_minimised": float(np.median(energies(x, molecule, minimise)) -
                                         np.median(energies(reference, molecule, minimise))),
        "coverage": coverage, "matching": matching,
    }


# ------------------------------------------------------------------ main

METRICS = ("bond_w1", "angle_w1", "atom_stable", "molecule_stable", "valid", "identical",
           "energy_failed", "energy_excess", "energy_excess_minimised", "coverage", "matching",
           "loss_share",
           "train_seconds")


def summarise(rows, path):
    with open(path, "w") as out:
        out.write("| loss | fraction | " + " | ".join(METRICS) + " |\n")
        out.write("|---" * (len(METRICS) + 2) + "|\n")
        keys = sorted({(r["loss"], r["fraction"]) for r in rows},
                      key=lambda k: (LOSSES.index(k[0]), k[1]))
        for loss, fraction in keys:
            group = [r for r in rows if r["loss"] == loss and r["fraction"] == fraction]
            cells = []
            for m in METRICS:
                values = np.array([r[m] for r in group])
                cells.append(f"{values.mean():.3g} ± {values.std():.2g}" if len(values) > 1
                             else f"{values.mean():.3g}")
            out.write(f"| {loss} | {fraction:g} | " + " | ".join(cells) + " |\n")


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, metric, label in zip(axes, ("bond_w1", "energy_excess_minimised", "matching"),
                                 ("bond-length W1 (Å)", "median energy above data after\n"
                                  "50 minimiser steps (kJ/mol)", "MAT-R (Å)")):
        for loss in LOSSES:
            group = [r for r in rows if r["loss"] == loss]
            if not group:
                continue
            fractions = sorted({r["fraction"] for r in group})
            mean = [np.mean([r[metric] for r in group if r["fraction"] == f]) for f in fractions]
            std = [np.std([r[metric] for r in group if r["fraction"] == f]) for f in fractions]
            ax.errorbar(fractions, mean, yerr=std, marker="o", capsize=3, label=loss)
        ax.set_xlabel("fraction of training set")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv):
    args = parse_arguments(argv)
    os.makedirs(args.output, exist_ok=True)
    # One thread: dense layers this small gain little from two, and OpenMP
    # threads on a shared 2-core machine stall each other (measured 15x slower).
    torch.set_num_threads(1)
    start = time.perf_counter()
    molecule = Molecule(args.output, args.frames)
    print(f"MD data: {args.frames} frames in {time.perf_counter() - start:.0f} s", flush=True)
    split = int(0.8 * len(molecule.frames))
    train_all = torch.as_tensor(molecule.frames[:split], dtype=torch.float32)
    test = molecule.frames[split:]
    data_scale = float(train_all.std())
    train_all = train_all / data_scale  # unit variance for the diffusion process

    rows = []
    for fraction in args.fractions:
        train_set = train_all[:max(1, int(round(fraction * len(train_all))))]
        for loss_name in args.losses:
            loss = SampleLoss(loss_name, molecule, data_scale)
            for seed in range(args.seeds):
                begin = time.perf_counter()
                model, loss_share = train(loss, train_set, args.steps, seed)
                seconds = time.perf_counter() - begin
                x = sample(model, args.samples, train_set.shape[1], seed,
                           clip=float(train_all.abs().max())).double().numpy() * data_scale
                row = {"loss": loss_name, "fraction": fraction, "seed": seed,
                       **evaluate(x, molecule, test), "loss_share": loss_share,
                       "train_seconds": seconds}
                rows.append(row)
                print(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                for k, v in row.items()), flush=True)
    with open(os.path.join(args.output, "runs.csv"), "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summarise(rows, os.path.join(args.output, "summary.md"))
    plot(rows, os.path.join(args.output, "molecules.png"))
    print(f"wrote {args.output}/runs.csv, summary.md, molecules.png "
          f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
