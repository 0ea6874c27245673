"""Runs in.seed_atoms and checks seed_atoms against an independent computation:
the candidates are the generator's samples (loaded with torch, nm -> angstrom),
each reported potential energy equals a naive Lennard-Jones sum over minimum
images, the kept candidate is the one with the lowest, and the dumped
(unwrapped) coordinates are that candidate's, generator atom k on the k-th
smallest atom ID. The generator must draw its noise with
torch.ops.energyloss.seeded_normal (as make_generator.py's does), so the run
also shows that the LAMMPS process registers that op by itself.

Usage: check_seed_atoms.py WORKDIR GENERATOR [--same-as OTHER_WORKDIR] COMMAND...
"""
import os
import re
import sys

import numpy as np
import torch

import energyloss  # noqa: F401  (registers torch.ops.energyloss, which the generator calls)

from lammps_run import differences, run_deck, split_arguments

CANDIDATES, SEED = 6, 13  # as in in.seed_atoms
BOX, CUTOFF, EPSILON, SIGMA = 20.0, 8.5, 0.238, 3.405


def lennard_jones(positions):
    energy = 0.0
    for i in range(len(positions)):
        delta = positions[i + 1:] - positions[i]
        delta -= BOX * np.round(delta / BOX)
        r = np.linalg.norm(delta, axis=1)
        r = r[r < CUTOFF]
        energy += np.sum(4 * EPSILON * ((SIGMA / r) ** 12 - (SIGMA / r) ** 6))
    return energy


def main():
    generator_path, rest = sys.argv[2], sys.argv[1:2] + sys.argv[3:]
    workdir, same_as, command = split_arguments(rest)
    stdout, printed = run_deck(workdir, command + ["-var", "generator", generator_path])
    lines = re.findall(r"seed_atoms: candidate (\d+) of \d+: potential energy (\S+)", stdout)
    reported = {int(k): float(e) for k, e in lines}
    kept = re.findall(rf"set to candidate (\d+) of \d+ from generator '[^']+' \(seed {SEED}, "
                      r"lengths nm -> real, lowest potential energy\)", stdout)
    if sorted(int(k) for k, _ in lines) != list(range(1, CANDIDATES + 1)) or len(kept) != 1:
        return f"expected one line per candidate and one 'set to' line:\n{stdout}"
    kept = int(kept[0])

    generator = torch.jit.load(generator_path)
    if "ops.energyloss.seeded_normal" not in generator.sample.code:
        return f"{generator_path}: sample() does not call torch.ops.energyloss.seeded_normal"
    samples = 10.0 * generator.sample(CANDIDATES, SEED).double().numpy()  # nm -> angstrom
    energies = np.array([lennard_jones(sample) for sample in samples])
    lowest = int(np.argmin(energies))
    failures = []
    if lowest == 0 or np.ptp(energies) < 0.1:
        failures.append(f"energies {energies}: choosing the lowest is not tested")
    for k, energy in enumerate(energies):
        if not np.isclose(reported[k + 1], energy, rtol=1e-9, atol=1e-9):
            failures.append(f"candidate {k + 1}: reported {reported[k + 1]!r}, naive LJ {energy!r}")
    if kept != lowest + 1:
        failures.append(f"kept candidate {kept}, the lowest energy is {lowest + 1}")
    if lowest == CANDIDATES - 1:
        failures.append("the lowest candidate is the last one evaluated: stale values go unseen")
    for name in ("pe_seeded", "pe"):  # straight after seed_atoms, and after run 0
        if not np.isclose(printed[name], energies[lowest], rtol=1e-9):
            failures.append(f"{name} after seeding {printed[name]!r}, candidate {energies[lowest]!r}"
                            f" (the last candidate's: {energies[-1]!r})")

    with open(os.path.join(workdir, "seeded.dump")) as handle:
        dump = handle.read().splitlines()
    rows = np.array([[float(v) for v in line.split()] for line in dump[9:]])  # after the header
    ids, wrapped, image = rows[:, 0], rows[:, 1:4], rows[:, 4:7]
    if not np.array_equal(ids, np.arange(1, len(samples[0]) + 1)):
        failures.append(f"dumped atom IDs {ids}")
    if not np.any(image != 0):
        failures.append("no atom was wrapped: unwrapping is untested")
    if not np.allclose(wrapped + BOX * image, samples[lowest], rtol=0, atol=1e-12):
        failures.append("the dumped coordinates are not the kept candidate's")
    print(f"candidates: {energies}; kept {lowest + 1}")
    if same_as:
        failures += differences(printed, same_as)
    return "\n".join(failures) or 0


if __name__ == "__main__":
    sys.exit(main())
