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
(a globally rigid sparse graph), and pair energy losses with springs from the
amber14 + OBC2 System at the PDB reference frame
(examples/openmm/data/alanine-dipeptide.pdb; one set of springs for every
frame, computed once per run and cached in OUTPUT as openmm_*.pt), on the
complete graph unless said otherwise:
  energy-ff     the per-pair curvature of the System's bond, angle and
                nonbonded terms (energyloss.openmm_pair_coefficients);
  energy-hfit   the Hessian-fitted springs (force_field_coefficients with
                method="hessian_fit" on energyloss.OpenMMOracle: the
                non-negative springs whose network Hessian best matches the
                full force field's, torsions and implicit solvent included);
  energy-shell  the exp preset's total per graph-distance shell (1, 2, 3,
                >= 4 bonds), shared out within each shell in proportion to
                the full force field's per-pair curvature (finite
                differences through the oracle; shell_balanced_coefficients,
                always in the exp preset's units, its totals being exp's);
  energy-msem   modified Seminario springs (Allen, Payne & Cole, JCTC 14,
                274 (2018)) on a sparse graph: the bond and angle constants
                of the System's Hessian (energyloss.OpenMMOracle, central
                differences of its forces; modified_seminario) as springs on
                the topology's bonds and, per angle A-B-C (every bonded
                triple), on the 1-3 pair A-C with
                k_theta r_AC^2 / (r_AB r_CB sin theta)^2
                (seminario_pair_springs; shared 1-3 pairs summed, nearly
                linear angles, theta > 170 degrees, get none).
energy-ff, energy-hfit and energy-msem springs are in kT / A^2 at 300 K
(--ff-units kT, the default) or rescaled to the exp preset's total on the
same edges so only their distribution over pairs differs (--ff-units
exp-total, as in the first published table; complete graph, or energy-msem's
1-2 and 1-3 pairs).
A "+ff" suffix (e.g. energy-hfit+ff) adds the force field's true-energy term
--ff-weight x (E_amber(x0_hat) - E_amber(x0)) / kT on the batch entries whose
noise level sigma is at most --ff-max-sigma (energyloss.ForceFieldEnergyLoss
through the OpenMM oracle; the data frames' energies are computed once).

Validation (--validate-every K, default 500; 0 turns it off): every K steps
(and at steps 0 and the last) the model is scored on a fixed held-out set,
the test frames at diffusion_common.VALIDATION_TIMES noise levels with
rotations and noise drawn once from VALIDATION_SEED, identical for every
loss, learning rate and seed: by the eps-MSE (the MSE loss's objective) and
by the run's own weighted loss. Not counted in train_seconds.

Writes OUTPUT/runs.csv (one row per loss, data fraction and seed; rewritten
after every run), OUTPUT/summary.md, OUTPUT/molecules.png, and with
validation OUTPUT/curves.csv and OUTPUT/curves.png. --quick finishes in a few
minutes.
"""

import argparse
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
from energyloss.generative import Batch, TimeEmbedding, held_out_set, sample, train  # noqa: E402
from diffusion_common import (CURVE_COLUMNS, DEFAULT_LOSSES, FF_TERM,  # noqa: E402
                              FF_UNITS, LOSSES, VALIDATION_SEED, VALIDATION_TIMES, Validator,
                              add_training_options, bond_angles, bond_lengths,
                              check_training_options, coverage_matching, curve_rows,
                              energy_term_loss, force_field_springs, plot, plot_curves, print_row,
                              rdkit_checks, rmsd_matrix, sample_space_loss, seminario_springs,
                              stability, summarise, wasserstein, write_rows)

ANGSTROM_PER_NM = 10.0
KT_300K = 0.0083144626 * 300.0  # kJ/mol, the MD temperature's
# How each force-field loss gets its springs from the amber14 System.
FF_METHODS = {"energy-ff": "analytic", "energy-hfit": "hessian_fit", "energy-shell": "shell",
              "energy-msem": "seminario"}
# The losses of diffusion_common.LOSSES this experiment can train.
ALANINE_LOSSES = tuple(name for name in LOSSES if name.removesuffix(FF_TERM) in
                       ("mse", "kabsch", "energy", "energy-sparse", *FF_METHODS))


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument("--losses", nargs="+", default=list(DEFAULT_LOSSES),
                        choices=ALANINE_LOSSES, help=f"(default: {' '.join(DEFAULT_LOSSES)})")
    parser.add_argument("--ff-units", default="kT", choices=FF_UNITS,
                        help="energy-ff / energy-hfit / energy-msem springs in kT/A^2 at 300 K "
                             "(kT, default) or rescaled to the exp preset's total (exp-total)")
    add_training_options(parser, lr=3e-4)
    parser.add_argument("--seeds", type=int, default=None, help="seeds per setting (3; quick 1)")
    parser.add_argument("--fractions", type=float, nargs="+", default=None,
                        help="training-set fractions (0.1 0.25 0.5 1; quick 1)")
    parser.add_argument("--frames", type=int, default=None, help="MD frames, at least 2 (4000; quick 600)")
    parser.add_argument("--steps", type=int, default=None, help="training steps (8000; quick 1500)")
    parser.add_argument("--samples", type=int, default=None, help="generated samples (512; quick 64)")
    parser.add_argument("--output", default="results/molecules")
    args = parser.parse_args(argv)
    defaults = dict(seeds=(1, 3), fractions=([1.0], [0.1, 0.25, 0.5, 1.0]), frames=(600, 4000),
                    steps=(1500, 8000), samples=(64, 512))
    for name, (quick, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    for name in ("seeds", "frames", "steps", "samples"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if int(0.8 * args.frames) < 1 or args.frames - int(0.8 * args.frames) < 1:
        # 80 % of the frames train, the rest are held out: both need one.
        parser.error(f"--frames must be at least 2 (the first 80 % train, the rest are the "
                     f"test set), got {args.frames}")
    check_training_options(parser, args)
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
        # The PDB topology's bonds (energy-msem's graph; the same pairs as
        # the System's HarmonicBondForce, which has no constraints).
        self.topology_bonds = np.array([(b[0].index, b[1].index) for b in topology.bonds()])
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


def force_field_edges(molecule, method, units, cache):
    """Edges [E, 2] and springs [E] (float32) from the amber14 System at the
    PDB reference frame by ``method`` (FF_METHODS): on the complete graph,
    "analytic" (openmm_pair_coefficients) and "hessian_fit"
    (force_field_coefficients on the OpenMM oracle) in kT/A^2 at 300 K, then
    ``force_field_springs(..., units)``; "shell": the exp preset's totals per
    graph-distance shell shared out by the finite-difference per-pair
    curvature; "seminario": the topology's 1-2 and 1-3 pairs with modified
    Seminario springs from the oracle's Hessian (``seminario_springs``), in
    kT/A^2 at 300 K, then ``force_field_springs(..., units)``. Cached in
    ``cache``."""
    if os.path.exists(cache):
        return torch.load(cache)
    reference = torch.as_tensor(molecule.reference, dtype=torch.float64)  # angstrom
    nm = reference / ANGSTROM_PER_NM
    pairs = torch.combinations(torch.arange(len(molecule.elements)), 2)
    if method == "analytic":
        k = energyloss.openmm_pair_coefficients(molecule.system_xml, nm, pairs) / KT_300K
    else:
        oracle = energyloss.OpenMMOracle(molecule.system_xml, platform="CPU", workers=1)
        if method == "seminario":
            pairs, k, details = seminario_springs(oracle, nm, molecule.topology_bonds)
            k = k / KT_300K  # kJ/mol/nm^2 -> kT/nm^2
            per_a2 = k / ANGSTROM_PER_NM ** 2
            print(f"energy-msem springs: {len(pairs)} pairs ({len(molecule.topology_bonds)} "
                  f"bonds, {len(details['dropped'])} angles, {int(details['dropped'].sum())} "
                  f"nearly linear with no 1-3 spring), k {float(per_a2.min()):.3g} to "
                  f"{float(per_a2.max()):.3g} kT/A^2", flush=True)
        elif method == "shell":
            k = energyloss.shell_balanced_coefficients(
                reference, molecule.bonds, pairs, energyloss.force_field_coefficients(
                    oracle, nm, pairs, method="finite_difference"))
        else:
            k = energyloss.force_field_coefficients(oracle, nm, pairs, method=method, kT=KT_300K)
    if method != "shell":  # kT/nm^2 -> kT/A^2
        k = force_field_springs(k / ANGSTROM_PER_NM ** 2, reference, pairs, units)
    result = (pairs, k.float())
    torch.save(result, cache)
    return result


class Trainer:
    """Draws training batches of frames and scores predictions with one of
    ALANINE_LOSSES (``edges``, ``weights``: its springs, or None). A "+ff" loss
    adds the amber14 energy term through ``term`` (an
    energyloss.ForceFieldEnergyLoss called in nm and kJ/mol) with ``oracle``
    and the frames' energies, passed along in ``batch.context["ref_energy"]``
    (``energies`` [frames] for the training set)."""

    def __init__(self, name, train_set, data_scale, edges, weights, batch=128, term=None,
                 oracle=None, energies=None):
        self.name, self.train_set, self.data_scale, self.batch = name, train_set, data_scale, batch
        self.edges, self.weights = edges, weights
        self.term, self.oracle, self.energies = term, oracle, energies

    def draw_batch(self, generator):
        index = torch.randint(len(self.train_set), (self.batch,), generator=generator)
        context = None if self.term is None else {"ref_energy": self.energies[index]}
        return Batch(self.train_set[index], None, context)

    def loss(self, pred, batch):
        if self.term is None:
            return sample_space_loss(self.name, pred, batch.x0, self.data_scale,
                                     edges=self.edges, weights=self.weights)
        nm = self.data_scale / ANGSTROM_PER_NM
        return self.term(pred * nm, batch.x0 * nm, batch.context["sigma"], self.oracle, None,
                         batch.context["ref_energy"], edges=self.edges, weights=self.weights)


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
           "loss_share", "train_seconds", "step_ms", "term_ms", "val_eps_mse", "val_loss")


def frame_energies(oracle, frames):
    """amber14 energies (kJ/mol) [F] of frames [F, N, 3] in angstrom."""
    return oracle.evaluate(torch.as_tensor(frames / ANGSTROM_PER_NM, dtype=torch.float64))[0]


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

    springs = {}  # pair loss name -> (edges, weights), computed once per run
    for name in dict.fromkeys(name.removesuffix(FF_TERM) for name in args.losses):
        if name == "energy-sparse":
            springs[name] = energyloss.sparse_rigid_edges(
                torch.as_tensor(molecule.reference, dtype=torch.float32), seed=0)
        elif name in FF_METHODS:
            method = FF_METHODS[name]
            units = "exp-total" if method == "shell" else args.ff_units
            springs[name] = force_field_edges(
                molecule, method, units, os.path.join(args.output, f"openmm_{method}_{units}_"
                                                                   f"300K.pt"))
    oracle = train_energies = test_energies = None
    if any(name.endswith(FF_TERM) for name in args.losses):
        oracle = energyloss.OpenMMOracle(molecule.system_xml, platform="CPU", workers=1,
                                         engine="auto")
        train_energies = frame_energies(oracle, molecule.frames[:split])
        test_energies = frame_energies(oracle, test)
    held_out_frames = torch.as_tensor(test, dtype=torch.float32) / data_scale

    rows, curves = [], []
    for fraction in args.fractions:
        count = max(1, int(round(fraction * len(train_all))))
        train_set = train_all[:count]
        for loss_name in args.losses:
            pair_name = loss_name.removesuffix(FF_TERM)
            edges, weights = springs.get(pair_name, (None, None))
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                begin = time.perf_counter()
                term = energy_term_loss(loss_name, args.ff_weight, KT_300K, args.ff_max_sigma,
                                        length_scale=ANGSTROM_PER_NM)
                trainer = Trainer(pair_name, train_set, data_scale, edges, weights, term=term,
                                  oracle=oracle,
                                  energies=None if term is None else train_energies[:count])
                validator = None
                if args.validate_every:
                    held_out = Batch(held_out_frames,
                                     torch.ones(held_out_frames.shape[:2], dtype=torch.bool),
                                     None if term is None else {"ref_energy": test_energies})
                    validator = Validator(held_out_set(held_out, VALIDATION_TIMES,
                                                       VALIDATION_SEED), trainer)
                torch.manual_seed(seed)
                model = Denoiser(train_set.shape[1])
                loss_share, curve = train(model, trainer.draw_batch, trainer.loss, args.steps,
                                          seed, args.lr, validate=validator,
                                          validate_every=args.validate_every or 1)
                seconds = time.perf_counter() - begin - (validator.seconds if validator else 0)
                term_seconds = 0.0 if term is None else term.total_seconds
                shape = Batch(torch.zeros(args.samples, train_set.shape[1], 3), None, None)
                x = sample(model, shape, seed,
                           clip=float(train_all.abs().max())).double().numpy() * data_scale
                last = validator.points[-1] if validator else (None, math.nan, math.nan)
                row = {"loss": loss_name, "fraction": fraction, "seed": seed, "lr": args.lr,
                       **evaluate(x, molecule, test), "loss_share": loss_share,
                       "train_seconds": seconds, "step_ms": 1000 * seconds / args.steps,
                       "term_ms": 1000 * term_seconds / args.steps, "val_eps_mse": last[1],
                       "val_loss": last[2]}
                rows.append(row)
                print_row(row)
                write_rows(rows, os.path.join(args.output, "runs.csv"))  # kept if stopped
                if validator:
                    curves += curve_rows({"loss": loss_name, "fraction": fraction, "seed": seed,
                                          "lr": args.lr}, validator.points, curve)
                    write_rows(curves, os.path.join(args.output, "curves.csv"), CURVE_COLUMNS)
    summarise(rows, os.path.join(args.output, "summary.md"), METRICS)
    plot(rows, os.path.join(args.output, "molecules.png"),
         [("bond_w1", "bond-length W1 (Å)"),
          ("energy_excess_minimised", "median energy above data after\n"
                                      "50 minimiser steps (kJ/mol)"),
          ("matching", "MAT-R (Å)")])
    if curves:
        plot_curves(curves, os.path.join(args.output, "curves.png"))
    print(f"wrote {args.output}/runs.csv, summary.md, molecules.png, "
          f"{'curves.csv, curves.png ' if curves else ''}"
          f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
