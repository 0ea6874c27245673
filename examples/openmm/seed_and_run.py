#!/usr/bin/python3
"""Alanine dipeptide in implicit solvent (amber14 + OBC2), started from a generator.

1. Seed: draw candidate structures from a generator file, minimise each with
   the force field, keep the lowest-energy one, draw velocities at 300 K
   (openmmenergyloss.seed).
2. Run a short Langevin simulation with a StateDataReporter.
3. Restrain to a structure drawn from the same generator with an
   EnergyLossForce (complete graph, exp coefficients) and anneal its scale
   (the global parameter energyloss_scale) from 1 to 0 while simulating.

Usage (Debian's openmm and torch, hence /usr/bin/python3; PYTHONPATH must
hold the built openmmenergyloss module, e.g. build/python):
    seed_and_run.py [--generator gen.pt] [--steps 1000] [--anneal-steps 1000]

Without --generator, one is written with examples/generators/make_generator.py
(the PDB structure plus Gaussian noise) into a temporary folder.
"""
import argparse
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import openmm
import torch
from openmm import app, unit

import energyloss  # noqa: F401  (registers torch.ops.energyloss, which generators call)
import openmmenergyloss

HERE = pathlib.Path(__file__).resolve().parent
PDB = HERE / "data" / "alanine-dipeptide.pdb"
sys.path.insert(0, str(HERE))
import make_system  # noqa: E402  (same System as the oracle examples)

RESTRAINT_GROUP = 1  # the EnergyLossForce's force group, to report its energy alone


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generator", help="generator file (default: written from the PDB)")
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--steps", type=int, default=1000, help="free simulation steps (2 fs)")
    parser.add_argument("--anneal-steps", type=int, default=1000,
                        help="restrained steps while the scale goes from 1 to 0")
    parser.add_argument("--anneal-stages", type=int, default=10)
    parser.add_argument("--k0", type=float, default=2000.0,
                        help="restraint prefactor, kJ/mol/nm^2 (divided by the atom count; "
                             "k = k0/N exp(-r0 / 0.1 nm), the exp preset's 1 angstrom)")
    parser.add_argument("--platform", default="CPU")
    parser.add_argument("--report-interval", type=int, default=250)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def write_generator(folder):
    path = pathlib.Path(folder) / "alanine_gen.pt"
    subprocess.run([sys.executable, str(HERE.parent / "generators" / "make_generator.py"), str(PDB),
                    "--noise", "0.1", "--output", str(path)], check=True)
    return path


def generated_structure(generator_path, seed):
    """One sample of the generator as a Quantity (its own length unit)."""
    generator = torch.jit.load(str(generator_path))
    lengths = {"nm": unit.nanometer, "angstrom": unit.angstrom}
    if generator.length_unit not in lengths:
        raise SystemExit(f"{generator_path}: length unit {generator.length_unit!r} has no "
                         "absolute size; OpenMM needs nm or angstrom")
    sample = generator.sample(1, seed)[0].double().numpy()
    return sample * lengths[generator.length_unit]


def restraint_energy(simulation):
    state = simulation.context.getState(getEnergy=True, groups={RESTRAINT_GROUP})
    return state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)


def main(argv=None):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        generator = pathlib.Path(args.generator) if args.generator else write_generator(scratch)
        system, positions = make_system.build_system(
            str(PDB), ["amber14-all.xml", "implicit/obc2.xml"], True)
        integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond,
                                                     0.002 * unit.picoseconds)
        integrator.setRandomNumberSeed(args.seed)
        simulation = app.Simulation(app.PDBFile(str(PDB)).topology, system, integrator,
                                    openmm.Platform.getPlatformByName(args.platform))
        simulation.context.setPositions(positions)

        # 1. Seed from the generator.
        result = openmmenergyloss.seed(simulation, generator, candidates=args.candidates,
                                       minimize=True, temperature=300 * unit.kelvin,
                                       sample_seed=args.seed, velocity_seed=args.seed)
        kj = unit.kilojoule_per_mole
        drawn = result.energies.value_in_unit(kj)
        minimized = result.minimized_energies.value_in_unit(kj)
        for index, (before, after) in enumerate(zip(drawn, minimized)):
            mark = "  <- chosen" if index == result.chosen else ""
            print(f"candidate {index}: {before:12.2f} kJ/mol drawn, {after:10.2f} minimised{mark}")
        print(f"seeded: candidate {result.chosen}, potential energy {result.energy}")

        # 2. A short free run.
        simulation.reporters.append(app.StateDataReporter(
            sys.stdout, args.report_interval, step=True, potentialEnergy=True, temperature=True))
        simulation.step(args.steps)

        # 3. Restrain toward a generated structure and anneal the restraint away.
        reference = generated_structure(generator, args.seed + 1)
        restraint = openmmenergyloss.EnergyLossForce(reference, coeff="exp",
                                                     k0=args.k0 * kj / unit.nanometer**2,
                                                     edges="complete")
        restraint.setForceGroup(RESTRAINT_GROUP)
        system.addForce(restraint)
        simulation.context.reinitialize(preserveState=True)
        stage_steps = max(1, args.anneal_steps // args.anneal_stages)
        for scale in np.linspace(1.0, 0.0, args.anneal_stages + 1):
            simulation.context.setParameter(restraint.getScaleParameterName(), scale)
            simulation.step(stage_steps)
            print(f"energyloss_scale {scale:4.2f}: restraint energy "
                  f"{restraint_energy(simulation):10.4f} kJ/mol")
        if restraint_energy(simulation) != 0.0:
            raise SystemExit("the restraint did not switch off at scale 0")
        print("annealed: restraint off")
    return 0


if __name__ == "__main__":
    sys.exit(main())
