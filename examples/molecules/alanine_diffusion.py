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
in kT/A^2 at 300 K with --ff-units kT (the default), or rescaled to the same
total as the exp coefficients so only their distribution over pairs differs
with --ff-units exp-total, as in the published table).

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
from energyloss.generative import Batch, TimeEmbedding, sample, train  # noqa: E402
from diffusion_common import (DEFAULT_LOSSES, FF_UNITS, bond_angles,  # noqa: E402
                              bond_lengths, coverage_matching, force_field_springs, print_row,
                              rdkit_checks, rmsd_matrix, sample_space_loss, stability,
                              summarise, plot, wasserstein)

ANGSTROM_PER_NM = 10.0
KT_300K = 0.0083144626 * 300.0  # kJ/mol, the MD temperature's


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument("--losses", nargs="+", default=list(DEFAULT_LOSSES),
                        choices=DEFAULT_LOSSES)
    parser.add_argument("--ff-units", default="kT", choices=FF_UNITS,
                        help="energy-ff springs in kT/A^2 at 300 K (kT, default) or rescaled "
                             "to the exp preset's total (exp-total)")
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
        self.time_embedding = TimeEmbedding(time_features)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(3 * atoms + time_features, width), torch.nn.SiLU(),
            torch.nn.Linear(width, width), torch.nn.SiLU(),
            torch.nn.Linear(width, width), torch.nn.SiLU(),
            torch.nn.Linear(width, 3 * atoms))

    def forward(self, x_t, t, types=None, pairs=None, mask=None):
        features = torch.cat([x_t.flatten(1), self.time_embedding(t)], dim=1)
        eps = self.net(features).view_as(x_t)
        return eps - eps.mean(dim=1, keepdim=True)  # stay in the zero-centre subspace


class SampleLoss:
    """One of LOSSES on (prediction, batch), per sample [B]."""

    def __init__(self, name, molecule, data_scale, ff_units="kT"):
        self.name = name
        reference = torch.as_tensor(molecule.reference, dtype=torch.float32)
        n = len(molecule.elements)
        pairs = torch.combinations(torch.arange(n), 2)
        if name == "energy-ff":
            k = energyloss.openmm_pair_coefficients(
                molecule.system_xml, reference.double() / ANGSTROM_PER_NM, pairs).float()
            k = k / KT_300K / ANGSTROM_PER_NM ** 2  # kJ/mol/nm^2 -> kT/A^2
            self.edges, self.weights = pairs, force_field_springs(k, reference, pairs, ff_units)
        elif name == "energy-sparse":
            self.edges, self.weights = energyloss.sparse_rigid_edges(reference, seed=0)
        else:
            self.edges = self.weights = None
        self.data_scale = data_scale

    def __call__(self, pred, batch):
        return sample_space_loss(self.name, pred, batch.x0, self.data_scale,
                                 edges=self.edges, weights=self.weights)


def train_model(loss, train_set, steps, seed, batch=128):
    """Returns the model and the loss's share of the step time."""
    torch.manual_seed(seed)
    model = Denoiser(train_set.shape[1])

    def draw_batch(generator):
        return Batch(train_set[torch.randint(len(train_set), (batch,), generator=generator)],
                     None, None)

    return model, train(model, draw_batch, loss, steps, seed)[0]


# -------------------------------------------------------------- metrics


def chemistry(x, molecule):
    """EDM-style stability (the graph has single bonds, so this is the degree
    check) and the RDKit checks: valid, and identical to the reference's
    canonical SMILES with the L-alanine chirality from 3D."""
    from rdkit import Chem
    template = Chem.MolFromPDBFile(make_system.ALANINE_PDB, removeHs=False)
    orders = np.zeros((len(molecule.elements),) * 2)
    orders[molecule.bonds[:, 0], molecule.bonds[:, 1]] = 1
    orders[molecule.bonds[:, 1], molecule.bonds[:, 0]] = 1
    bond_types = {tuple(sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))): b.GetBondType()
                  for b in template.GetBonds()}
    valid, identical = rdkit_checks(x, molecule.elements, bond_types, Chem.MolToSmiles(template))
    return (*stability(x, molecule.elements, orders), float(valid.mean()),
            float(identical.mean()))


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


def evaluate(x, molecule, test):
    reference = test[:len(x)]
    minimise = 50  # L-BFGS iterations, for samples and data alike
    sample_energies = energies(x, molecule)
    atom_stable, molecule_stable, valid, identical = chemistry(x, molecule)
    coverage, matching = coverage_matching(rmsd_matrix(x, test[:200]), threshold=0.5)
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
            loss = SampleLoss(loss_name, molecule, data_scale, args.ff_units)
            for seed in range(args.seeds):
                begin = time.perf_counter()
                model, loss_share = train_model(loss, train_set, args.steps, seed)
                seconds = time.perf_counter() - begin
                shape = Batch(torch.zeros(args.samples, train_set.shape[1], 3), None, None)
                x = sample(model, shape, seed,
                           clip=float(train_all.abs().max())).double().numpy() * data_scale
                row = {"loss": loss_name, "fraction": fraction, "seed": seed,
                       **evaluate(x, molecule, test), "loss_share": loss_share,
                       "train_seconds": seconds}
                rows.append(row)
                print_row(row)
    with open(os.path.join(args.output, "runs.csv"), "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summarise(rows, os.path.join(args.output, "summary.md"), METRICS)
    plot(rows, os.path.join(args.output, "molecules.png"),
         [("bond_w1", "bond-length W1 (Å)"),
          ("energy_excess_minimised", "median energy above data after\n"
                                      "50 minimiser steps (kJ/mol)"),
          ("matching", "MAT-R (Å)")])
    print(f"wrote {args.output}/runs.csv, summary.md, molecules.png "
          f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
