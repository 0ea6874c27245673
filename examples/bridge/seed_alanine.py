#!/usr/bin/python3
"""Seed alanine dipeptide (amber14 + OBC2) from a generator file, then run
Langevin (NVT) MD at 300 K: the OpenMM side of the bridge, an ordinary
OpenMM script.

    seed_alanine.py GENERATOR.pt --out DIR [--candidates 8] [--steps 2000]

The System is examples/openmm/make_system.py's (no constraints, 1 fs steps).
openmmenergyloss.seed draws the candidates, minimises each with the force
field and keeps the lowest-energy one. Writes DIR/seeded.pdb (the chosen,
minimised structure), DIR/seeded_md.csv (step, potential energy in kJ/mol,
temperature), DIR/seeded_positions.npy (the same
structure in nm, full precision), DIR/seeded_md.pdb (every 200th frame) and DIR/seed.json (the
candidates' energies, the chosen one, and OpenMM's own energy of the
Context right after seeding). Needs PYTHONPATH with the built
openmmenergyloss and energyloss modules (build/python).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import openmm
from openmm import app, unit

import openmmenergyloss

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "openmm"))
import make_system  # noqa: E402  (the project's PDB -> System script)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("generator", help="generator file (TorchScript, energyloss protocol)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=2000, help="MD steps of 1 fs after seeding")
    parser.add_argument("--report-interval", type=int, default=10)
    parser.add_argument("--threads", default="1", help="OpenMM CPU platform threads")
    args = parser.parse_args(argv)
    if args.candidates < 1 or args.steps < 0 or args.report_interval < 1:
        parser.error("--candidates and --report-interval must be >= 1, --steps >= 0")
    os.makedirs(args.out, exist_ok=True)

    system, _ = make_system.build_system(make_system.ALANINE_PDB, make_system.DEFAULT_FORCEFIELDS,
                                         strip_solvent=True)
    topology = app.PDBFile(make_system.ALANINE_PDB).topology
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond,
                                                 1 * unit.femtoseconds)
    integrator.setRandomNumberSeed(7)
    simulation = app.Simulation(topology, system, integrator,
                                openmm.Platform.getPlatformByName("CPU"),
                                {"Threads": args.threads})

    result = openmmenergyloss.seed(simulation, args.generator, candidates=args.candidates,
                                   minimize=True, temperature=300 * unit.kelvin,
                                   sample_seed=args.sample_seed, velocity_seed=7)
    state = simulation.context.getState(getEnergy=True, getPositions=True)
    openmm_energy = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    print(f"seed_alanine: {result}; OpenMM's energy of the seeded Context "
          f"{openmm_energy:.3f} kJ/mol", flush=True)
    with open(os.path.join(args.out, "seeded.pdb"), "w") as out:
        app.PDBFile.writeFile(topology, state.getPositions(), out)
    np.save(os.path.join(args.out, "seeded_positions.npy"),
            state.getPositions(asNumpy=True).value_in_unit(unit.nanometer))

    def finite(values):
        return [v if math.isfinite(v) else None for v in values]

    report = {
        "generator": os.path.abspath(args.generator),
        "candidates": args.candidates,
        "energies": finite(result.energies.value_in_unit(unit.kilojoule_per_mole)),
        "minimized_energies": finite(
            result.minimized_energies.value_in_unit(unit.kilojoule_per_mole)),
        "chosen": result.chosen,
        "seed_energy": result.energy.value_in_unit(unit.kilojoule_per_mole),
        "openmm_energy": openmm_energy,
    }
    with open(os.path.join(args.out, "seed.json"), "w") as out:
        json.dump(report, out, indent=1)

    simulation.reporters.append(app.StateDataReporter(
        os.path.join(args.out, "seeded_md.csv"), args.report_interval, step=True,
        potentialEnergy=True, temperature=True))
    simulation.reporters.append(app.PDBReporter(os.path.join(args.out, "seeded_md.pdb"), 200))
    simulation.step(args.steps)
    final = simulation.context.getState(getEnergy=True).getPotentialEnergy()
    print(f"seed_alanine: {args.steps} MD steps, final potential energy {final}", flush=True)


if __name__ == "__main__":
    main()
