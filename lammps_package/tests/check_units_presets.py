"""The coefficient presets are made for angstrom (the paper's reference code);
compute/fix energyloss convert them to the deck's length unit and the OpenMM
force to nm, so one molecule gives the same loss everywhere (issue 14,
fault 10). The energy unit is the engine's own: the value is the paper's loss.

Writes a 7-atom molecule in the deck's units (UNITS: real, metal, nano, si,
electron, lj), runs in.units_presets and compares every compute and the fix
with the naive formula on the angstrom coordinates (lj: the preset is kept
in sigma, so the coordinates are read as they are). With --openmm, the
OpenMM EnergyLossForce on the same molecule in nm must give the same numbers
in kJ/mol.

Usage: check_units_presets.py WORKDIR UNITS [--openmm] COMMAND...
"""
import os
import sys

import numpy as np

from lammps_run import finish, run_deck

# One angstrom in each unit style's length unit (lj: kept as 1 sigma).
ANGSTROM = {"real": 1.0, "metal": 1.0, "nano": 0.1, "si": 1e-10,
            "electron": 1.0 / 0.529177210903, "lj": 1.0}


def naive_k(mode, r, n):
    """The reference code's presets, r in angstrom (eps 1e-5)."""
    return {"exp": 24.0 / n * np.exp(-r), "inv": 3.7 / n / (r + 1e-5),
            "inv2": 9.0 / n / (r * r + 1e-5), "constant": 1.0, "lj": 72.0 / (r * r),
            "morse": 2.0}[mode]


def naive_loss(pred, ref, k_of_r0):
    n = len(ref)
    energy = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            r0, r = np.linalg.norm(ref[i] - ref[j]), np.linalg.norm(pred[i] - pred[j])
            energy += 0.5 * k_of_r0(r0) * (r - r0) ** 2
    return energy


def molecule():
    """Reference and current coordinates in angstrom."""
    rng = np.random.default_rng(5)
    ref = np.cumsum(rng.normal(scale=0.9, size=(7, 3)), axis=0)
    return ref, ref + rng.normal(scale=0.15, size=ref.shape)


def write_inputs(workdir, ref, pred):
    os.makedirs(workdir, exist_ok=True)
    low, high = pred.min() - abs(pred).max(), pred.max() + abs(pred).max()
    with open(os.path.join(workdir, "current.data"), "w") as handle:
        handle.write(f"a molecule\n\n{len(pred)} atoms\n1 atom types\n\n")
        for axis in "xyz":
            handle.write(f"{low!r} {high!r} {axis}lo {axis}hi\n")
        handle.write("\nAtoms # atomic\n\n")
        for i, row in enumerate(pred):
            handle.write(f"{i + 1} 1 {row[0]!r} {row[1]!r} {row[2]!r}\n")
    with open(os.path.join(workdir, "reference.xyz"), "w") as handle:
        handle.write(f"{len(ref)}\nreference\n")
        for row in ref:
            handle.write(f"A {row[0]!r} {row[1]!r} {row[2]!r}\n")


def openmm_losses(ref_nm, pred_nm, modes):
    import openmm
    from openmm import unit

    import openmmenergyloss
    values = {}
    for mode in modes:
        system = openmm.System()
        for _ in range(len(ref_nm)):
            system.addParticle(1.0)
        system.addForce(openmmenergyloss.EnergyLossForce(ref_nm, coeff=mode))
        context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                                 openmm.Platform.getPlatformByName("Reference"))
        context.setPositions(pred_nm)
        values[mode] = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(
            unit.kilojoule_per_mole)
    return values


def main():
    workdir, units, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    with_openmm = rest[:1] == ["--openmm"]
    command = rest[1:] if with_openmm else rest
    ref, pred = molecule()
    a = ANGSTROM[units]
    given_length = 1.7 * a
    write_inputs(workdir, ref * a, pred * a)
    _, printed = run_deck(workdir, [*command, "-var", "units", units,
                                    "-var", "given_length", repr(given_length)])
    n = len(ref)
    modes = ["exp", "inv", "inv2", "constant", "lj", "morse"]
    expected = {mode: naive_loss(pred, ref, lambda r0, m=mode: naive_k(m, r0, n))
                for mode in modes}
    expected["default"] = expected["exp"]
    expected["fix"] = expected["pe"] = expected["inv2"]
    # An explicit K0 is in the deck's units, and so is length_scale.
    expected["given"] = naive_loss(pred * a, ref * a,
                                   lambda r0: 5.0 / n * np.exp(-r0 / given_length))
    failures = []
    for name, value in expected.items():
        if not value > 0:
            failures.append(f"{name}: naive loss {value} is not positive; the test is vacuous")
        if name not in printed:
            failures.append(f"{name}: not printed by the deck")
        elif not np.isclose(printed[name], value, rtol=1e-9, atol=0):
            failures.append(f"{name}: LAMMPS units {units} gave {printed[name]!r}, "
                            f"the paper's loss in angstrom is {value!r}")
        else:
            print(f"{name}: units {units} {printed[name]!r}, naive {value!r}")
    if with_openmm:
        for mode, value in openmm_losses(ref * 0.1, pred * 0.1, modes).items():
            if not np.isclose(value, expected[mode], rtol=1e-9, atol=0):
                failures.append(f"{mode}: OpenMM (nm) gave {value!r} kJ/mol, the paper's loss "
                                f"in angstrom is {expected[mode]!r}")
            else:
                print(f"{mode}: OpenMM {value!r}, naive {expected[mode]!r}")
    finish(failures, printed, None)


if __name__ == "__main__":
    main()
