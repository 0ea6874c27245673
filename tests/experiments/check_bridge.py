#!/usr/bin/python3
"""Runs the bridge (examples/bridge/bridge.py) at its tiny sizes and checks
what it produced against independent computations:

- every exported generator loads through energyloss.Generator, has the
  system's atom count, and gives the same samples for the same seed and
  different ones for another seed;
- the energy openmmenergyloss.seed reported equals OpenMM's own energy of the
  seeded positions, recomputed here in a fresh Reference-platform Context;
- the minimised energy stock lmp printed after seed_atoms equals the
  Lennard-Jones energy of the written data file, summed here over all pairs;
- the tables have a row per system and start with finite energies, the
  seeded-MD table a row per start and program, and the plots exist.

Usage: check_bridge.py BRIDGE_SCRIPT OUTPUT_FOLDER
"""
import csv
import json
import math
import os
import subprocess
import sys

import numpy as np

import energyloss


def rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def lj_energy_of_data_file(path):
    """Plain LJ (epsilon = sigma = 1) over all pairs of a LAMMPS data file."""
    with open(path) as handle:
        lines = handle.read().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Atoms"))
    positions = []
    for line in lines[start + 2:]:
        fields = line.split()
        if not fields:
            break
        positions.append([float(v) for v in fields[2:5]])
    x = np.array(positions)
    i, j = np.triu_indices(len(x), 1)
    r = np.linalg.norm(x[i] - x[j], axis=1)
    return float(np.sum(4 * (r ** -12 - r ** -6))), len(x)


def main(script, output):
    subprocess.run([sys.executable, script, "--tiny", "--output", output], check=True)
    losses = ("energy-hfit", "energy-ff", "mse", "energy")
    systems = {"alanine": 22, "lj38": 38}

    for system, atoms in systems.items():
        for loss in losses:
            generator = energyloss.Generator(os.path.join(output, system, f"{loss}.pt"))
            assert generator.n_atoms == atoms, (system, loss, generator.n_atoms)
            first, again = generator.sample(3, seed=5), generator.sample(3, seed=5)
            other = generator.sample(3, seed=6)
            assert first.shape == (3, atoms, 3)
            assert np.array_equal(first.numpy(), again.numpy()), f"{system} {loss}: not seeded"
            assert not np.allclose(first.numpy(), other.numpy()), f"{system} {loss}: seed ignored"

    samples = rows(os.path.join(output, "samples.csv"))
    expected = {"alanine": {"MD data", "pdb+noise", *losses}, "lj38": {"MD data", "random", *losses}}
    for system, starts in expected.items():
        found = {r["start"] for r in samples if r["system"] == system}
        assert found == starts, (system, found)
    for r in samples:
        assert math.isfinite(float(r["energy_min_median"])), r
    for r in (r for r in samples if r["system"] == "alanine"):
        assert 0 <= float(r["chirality_kept"]) <= 1 and 0 <= float(r["overlapping"]) <= 1, r

    seeded = rows(os.path.join(output, "seeded_md.csv"))
    pairs = {(r["system"], r["start"], r["program"]) for r in seeded}
    for start in ("pdb+noise", *losses):
        assert ("alanine", start, "openmm") in pairs, start
    for start in ("random", *losses):
        for program in ("stock", "lmp_energyloss"):
            assert ("lj38", start, program) in pairs, (start, program)

    # OpenMM: seed's reported energy against a fresh Reference Context.
    import openmm
    import openmm.unit as unit
    sys.path.insert(0, os.path.join(os.path.dirname(script), "..", "openmm"))
    import make_system
    system, _ = make_system.build_system(make_system.ALANINE_PDB, make_system.DEFAULT_FORCEFIELDS,
                                         strip_solvent=True)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName("Reference"))
    for start in ("pdb+noise", *losses):
        folder = os.path.join(output, "alanine", "seeded", f"{start}_openmm")
        with open(os.path.join(folder, "seed.json")) as handle:
            report = json.load(handle)
        context.setPositions(np.load(os.path.join(folder, "seeded_positions.npy")))
        energy = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(
            unit.kilojoule_per_mole)
        assert abs(report["seed_energy"] - energy) <= 1e-4 * max(1.0, abs(energy)), \
            (start, report["seed_energy"], energy)
        assert report["minimized_energies"][report["chosen"]] == min(
            e for e in report["minimized_energies"] if e is not None), report

    # LAMMPS: the printed minimised energy against the data file's LJ sum.
    for start in ("random", *losses):
        folder = os.path.join(output, "lj38", "seeded", f"{start}_stock")
        energy, count = lj_energy_of_data_file(os.path.join(folder, "seeded.data"))
        assert count == 38, count
        printed = [float(line.rsplit(" ", 1)[1]) for line in open(os.path.join(folder, "log.lammps"))
                   if line.startswith("seed_lj38: minimised energy")]
        assert len(printed) == 1 and abs(printed[0] - energy) <= 1e-6 * abs(energy), \
            (start, printed, energy)

    # The same deck in stock lmp and lmp_energyloss: the same seeded trajectory.
    for start in ("random", *losses):
        traces = [np.loadtxt(os.path.join(output, "lj38", "seeded", f"{start}_{program}",
                                          "seeded_md_energy.txt"))
                  for program in ("stock", "lmp_energyloss")]
        assert np.allclose(traces[0], traces[1], rtol=1e-9), start

    with open(os.path.join(output, "summary.md")) as handle:
        summary = handle.read()
    for heading in ("## Samples against the MD data", "### alanine", "### lj38", "## Seeded MD",
                    "## Wall time per stage"):
        assert heading in summary, heading
    for name in ("ramachandran.png", "seeded_md.png"):
        assert os.path.getsize(os.path.join(output, name)) > 1000, name
    curves = {(r["system"], r["loss"]) for r in rows(os.path.join(output, "training.csv"))
              if math.isfinite(float(r["train_loss"]))}
    assert curves == {(s, loss) for s in systems for loss in losses}, curves
    print("check_bridge: generators, seeds, tables and plots OK")


if __name__ == "__main__":
    main(*sys.argv[1:])
