#!/usr/bin/python3
"""The reference the OpenMM oracle benchmark compares against: a Python loop
over OpenMM's own API, one setPositions + getState(energy, forces) per
configuration, the way existing Python bridges evaluate a batch.

Usage: openmm_python_loop.py SYSTEM_XML POSITIONS [--platform CPU] [--repeats 3]
POSITIONS is raw little-endian float64 [B, N, 3] in nm (N from the System). Prints the best of --repeats
passes over the batch as "evaluations/s <value>" and the energy sum of the
last pass as "energy-sum <value>" (so the caller can check both evaluated the
same thing).
"""

import argparse
import time

import numpy as np
import openmm
import openmm.unit as unit


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("system_xml")
    parser.add_argument("positions")
    parser.add_argument("--platform", default="CPU")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with open(args.system_xml) as xml:
        system = openmm.XmlSerializer.deserialize(xml.read())
    batch = np.fromfile(args.positions, dtype="<f8").reshape(-1, system.getNumParticles(), 3)
    platform = openmm.Platform.getPlatformByName(args.platform)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), platform)

    def one_pass():
        energies = np.empty(len(batch))
        for b, positions in enumerate(batch):
            context.setPositions(positions)
            state = context.getState(getEnergy=True, getForces=True)
            energies[b] = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
            state.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer)
        return energies

    one_pass()  # warm-up
    best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        energies = one_pass()
        best = min(best, time.perf_counter() - start)
    print(f"evaluations/s {len(batch) / best:.6g}")
    print(f"energy-sum {energies.sum():.17g}")


if __name__ == "__main__":
    main()
