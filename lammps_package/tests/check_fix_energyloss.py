"""fix energyloss through LAMMPS's library interface (Debian's lammps Python
module, our styles registered with energyloss_lammps_register):
  - its forces equal central finite differences of its energy, for several
    coefficient and edge modes, a constant and a variable scale, with atoms
    across periodic boundaries and atoms outside the group (no force);
  - with fix_modify energy yes / virial yes, pe is its energy and the
    pressure's virial is sum_i x_i f_i over unwrapped coordinates;
  - a minimisation under the restraint alone brings its energy to 0.

Usage: check_fix_energyloss.py LIBENERGYLOSS_LAMMPS
"""
import ctypes
import sys

import numpy as np
from lammps import LMP_STYLE_ATOM, LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY, LMP_TYPE_SCALAR, \
    LMP_TYPE_VECTOR, lammps

# A 32-atom fcc box of LJ atoms, shared by the package's Python checks.
FCC_BOX = """
units           lj
atom_style      atomic
atom_modify     map array
lattice         fcc 0.8442
region          box block 0 2 0 2 0 2
create_box      1 box
create_atoms    1 box
mass            1 1.0
"""
# 32 atoms, 24 in the group; no pair style, so every force is the fix's.
SYSTEM = FCC_BOX + """region          lower block INF INF INF INF 0 1.0
group           part region lower
variable        member atom gmask(part)
variable        half_scale equal 0.35
"""
PERTURB = """
displace_atoms  all random 0.15 0.15 0.15 7741 units box
displace_atoms  all move -0.2 0.1 0.05 units box
fix_modify      hold energy yes virial yes
compute         unwrapped all property/atom xu yu zu
compute         virial all pressure NULL virial
thermo_style    custom step pe f_hold c_virial[1]
thermo_modify   norm no
"""
CASES = {
    "exp complete": "coeff exp 24.0",
    "inv2 cutoff": "coeff inv2 9.0 edges cutoff 1.5",
    "lj sparse, scale 0.7": "coeff lj 72.0 edges sparse 6 3 scale 0.7",
    "morse, variable scale": "coeff morse 1.0 scale v_half_scale",
}
STEP = 1e-5


def open_lammps(library):
    lmp = lammps(cmdargs=["-log", "none", "-nocite"])
    library.energyloss_lammps_register(lmp.lmp)
    return lmp


def by_id(lmp, values):
    ids = lmp.numpy.extract_atom("id")[: lmp.extract_global("nlocal")]
    return np.array(values)[np.argsort(ids)]


def evaluate(lmp):
    """The fix's energy after a fresh evaluation (run 0)."""
    lmp.command("run 0 post no")
    return lmp.extract_fix("hold", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR)


def finite_difference_failures(lmp, name, forces, member, positions, box):
    """Central differences for some atoms in the group and one outside it."""
    failures = []
    lo, hi = box
    inside = np.all((positions - lo > 1e-3) & (hi - positions > 1e-3), axis=1)
    chosen = list(np.flatnonzero(member & inside)[:4]) + list(np.flatnonzero(~member & inside)[:1])
    scale = np.abs(forces).max()
    for index in chosen:
        for d, axis in enumerate("xyz"):
            energies = []
            for shift in (STEP, -STEP):
                lmp.command(f"set atom {index + 1} {axis} {positions[index, d] + shift!r}")
                energies.append(evaluate(lmp))
            lmp.command(f"set atom {index + 1} {axis} {positions[index, d]!r}")
            numeric = -(energies[0] - energies[1]) / (2 * STEP)
            if not abs(numeric - forces[index, d]) <= 1e-6 * scale + 1e-9:
                failures.append(f"{name}: atom {index + 1} f{axis} = {forces[index, d]!r}, "
                                f"finite difference {numeric!r}")
    if not member[chosen].any() or member[chosen].all():
        failures.append(f"{name}: finite differences need atoms in and outside the group")
    return failures


def check_case(library, name, keywords):
    lmp = open_lammps(library)
    lmp.commands_string(SYSTEM)
    lmp.command(f"fix hold part energyloss {keywords}")
    lmp.commands_string(PERTURB)
    energy = evaluate(lmp)
    nlocal = lmp.extract_global("nlocal")
    forces = by_id(lmp, lmp.numpy.extract_atom("f")[:nlocal])
    positions = by_id(lmp, lmp.numpy.extract_atom("x")[:nlocal])
    unwrapped = by_id(lmp, lmp.numpy.extract_compute("unwrapped", LMP_STYLE_ATOM, LMP_TYPE_ARRAY))
    member = by_id(lmp, lmp.numpy.extract_variable("member", "all", 1)) > 0
    virial = np.array(lmp.numpy.extract_compute("virial", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR))
    box_lo, box_hi = (np.array(v) for v in lmp.extract_box()[:2])
    volume = np.prod(box_hi - box_lo)
    pe = lmp.get_thermo("pe")

    failures = []
    if not energy > 1e-3:
        failures.append(f"{name}: energy {energy} is too small for a meaningful test")
    if np.any(forces[~member] != 0):
        failures.append(f"{name}: atoms outside the group got forces")
    crossed = np.any(np.abs(unwrapped - positions) > 1e-9, axis=1)
    if not np.any(crossed & member):
        failures.append(f"{name}: no group atom crossed a boundary: unwrapping is untested")
    if not np.isclose(pe, energy, rtol=1e-12, atol=0):
        failures.append(f"{name}: pe {pe!r} but the fix's energy is {energy!r} (fix_modify energy)")
    # LAMMPS's order: xx, yy, zz, xy, xz, yz.
    tensor = unwrapped.T @ forces
    expected = np.array([tensor[0, 0], tensor[1, 1], tensor[2, 2], tensor[0, 1], tensor[0, 2],
                         tensor[1, 2]]) / volume
    if not np.allclose(virial, expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max()):
        failures.append(f"{name}: virial pressure {virial.tolist()}, sum x f / V "
                        f"{expected.tolist()}")
    failures += finite_difference_failures(lmp, name, forces, member, positions, (box_lo, box_hi))
    print(f"{name}: energy {energy:.6g}, max |f| {np.abs(forces).max():.3g}, virial xx "
          f"{virial[0]:.6g}")
    lmp.close()
    return failures


def check_minimisation(library):
    """Under the restraint alone the minimum is the reference: energy -> 0."""
    lmp = open_lammps(library)
    lmp.commands_string(SYSTEM)
    lmp.command(f"fix hold part energyloss {CASES['exp complete']}")
    lmp.commands_string(PERTURB)
    start = evaluate(lmp)
    lmp.command("minimize 0.0 1e-12 5000 50000")
    end = lmp.extract_fix("hold", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR)
    steps = lmp.extract_global("ntimestep")
    lmp.close()
    print(f"minimisation: energy {start:.6g} -> {end:.3g} in {steps} steps")
    if not (steps > 0 and end < 1e-10 * start):
        return [f"minimisation under the restraint: energy {start!r} -> {end!r} in {steps} steps"]
    return []


def main():
    library = ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)
    library.energyloss_lammps_register.argtypes = [ctypes.c_void_p]
    failures = []
    for name, keywords in CASES.items():
        failures += check_case(library, name, keywords)
    failures += check_minimisation(library)
    if failures:
        return "\n".join(failures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
