"""`edges file FILE` of compute and fix energyloss: explicit pairs with their
own spring constants (one line `ID_I ID_J K`).

  check_edges_file.py values LIBENERGYLOSS_LAMMPS WORKDIR [MPIRUN... LMP]
      Through LAMMPS's library interface (our styles registered with
      energyloss_lammps_register), on 32 atoms of which 24 are in the group,
      displaced across periodic boundaries: the compute's scalar equals a
      naive numpy sum of 1/2 k (|r0_ij| - |r_ij|)^2 over the file's pairs
      and energyloss.pair_energy_loss(coeff="explicit") with the same pairs
      and k; its per-atom vector sums to it; the fix's forces equal central
      finite differences of its energy and minus the Python op's gradient.
      With MPIRUN... LMP (e.g. mpiexec -n 2 lmp_energyloss), the same deck
      run there (the pairs and their k split over the ranks) must give the
      same compute value, fix energy and force norm.

  check_edges_file.py error CASE WORKDIR LMP [ARGS...]
      Writes the bad edges file of CASE, runs LMP (e.g. lmp_energyloss
      -in in.bad_command) with it, and requires an ERROR naming the file, the
      line and the problem, and an orderly exit (no signal).
"""
import ctypes
import os
import re
import subprocess
import sys

import numpy as np

from check_fix_energyloss import FCC_BOX, finite_difference_failures

# 32 atoms; group part holds atoms 1-24 (and so IDs 25-32 exist but are
# outside it). No pair style: every force is the fix's. The displacement is a
# formula of the atom ID (displace_atoms random differs between LAMMPS
# versions: the Python module's and lmp_energyloss's may not be the same).
SYSTEM = FCC_BOX + """group           part id 1:24
variable        member atom gmask(part)
compute         unwrapped all property/atom xu yu zu
"""
PERTURB = """
variable        dx atom 0.15*sin(7.1*id)-0.2
variable        dy atom 0.15*cos(3.3*id)+0.1
variable        dz atom 0.15*sin(5.7*id+1.0)+0.05
displace_atoms  all move v_dx v_dy v_dz units box
thermo_style    custom step pe
"""


def write_springs(path, rng):
    """Random pairs of group atoms (IDs 1-24) with random k, some reversed,
    with comments and blank lines; returns (ids [E, 2], k [E])."""
    pairs = set()
    while len(pairs) < 60:
        i, j = rng.choice(np.arange(1, 25), size=2, replace=False)
        if (j, i) not in pairs:
            pairs.add((int(i), int(j)))
    ids = np.array(sorted(pairs))
    k = rng.uniform(0.0, 40.0, size=len(ids))
    k[3] = 0.0  # a zero spring is allowed
    with open(path, "w") as out:
        out.write("# springs for the test: ID_I ID_J K\n\n")
        for e, ((i, j), value) in enumerate(zip(ids, k)):
            comment = "  # a comment after the values" if e % 7 == 0 else ""
            out.write(f"{i} {j} {value!r}{comment}\n")
            if e % 11 == 0:
                out.write("\n   \n")
    return ids, k


def naive_energy(ids, k, reference, current):
    """sum 1/2 k (|r0| - |r|)^2 over the file's pairs, coordinates by atom ID - 1."""
    i, j = ids[:, 0] - 1, ids[:, 1] - 1
    r0 = np.linalg.norm(reference[i] - reference[j], axis=1)
    r = np.linalg.norm(current[i] - current[j], axis=1)
    return float(np.sum(0.5 * k * (r0 - r) ** 2))


def python_op(ids, k, reference, current):
    """energyloss.pair_energy_loss with coeff="explicit": energy and dE/dx."""
    import torch

    import energyloss

    pred = torch.tensor(current, dtype=torch.float64, requires_grad=True)
    ref = torch.tensor(reference, dtype=torch.float64)
    energy = energyloss.pair_energy_loss(pred, ref, coeff="explicit",
                                         edges=torch.tensor(ids - 1, dtype=torch.long),
                                         edge_weights=torch.tensor(k, dtype=torch.float64))
    energy.backward()
    return float(energy), pred.grad.numpy()


def check_ranks(command, workdir, path, loss, fix_energy, forces):
    """The deck of check_values on several ranks: loss, fix energy, fnorm."""
    deck = os.path.join(workdir, "in.edges_file")
    with open(deck, "w") as out:
        out.write(SYSTEM + f"compute loss part energyloss edges file {path}\n"
                  f"fix hold part energyloss edges file {path}\n" + PERTURB +
                  "thermo_style custom step c_loss f_hold fnorm\n"
                  "thermo_modify format float %.17g norm no\nrun 0 post no\n")
    # os.environ as it was at start-up: not what the lammps module's MPI_Init
    # set in the C environment (a child mpiexec would take itself for a rank).
    run = subprocess.run(command + ["-in", deck, "-log", "none"], capture_output=True, text=True,
                         timeout=300, env=dict(os.environ))
    found = re.search(r"^\s*0\s+(\S+)\s+(\S+)\s+(\S+)\s*$", run.stdout, re.MULTILINE)
    if run.returncode != 0 or not found:
        return [f"{' '.join(command)} failed ({run.returncode}):\n{(run.stdout + run.stderr)[-2000:]}"]
    ranks_loss, ranks_fix, ranks_fnorm = (float(v) for v in found.groups())
    fnorm = float(np.linalg.norm(forces))
    print(f"on ranks: compute {ranks_loss!r}, fix {ranks_fix!r}, fnorm {ranks_fnorm!r} "
          f"(1 rank: {loss!r}, {fix_energy!r}, {fnorm!r})")
    failures = []
    for name, value, expected in (("compute", ranks_loss, loss), ("fix", ranks_fix, fix_energy),
                                  ("fnorm", ranks_fnorm, fnorm)):
        if not np.isclose(value, expected, rtol=1e-12, atol=0):
            failures.append(f"{' '.join(command)}: {name} {value!r}, 1 rank {expected!r}")
    return failures


def check_values(library_path, workdir, ranks_command):
    from lammps import LMP_STYLE_ATOM, LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY, LMP_TYPE_SCALAR, \
        LMP_TYPE_VECTOR, lammps

    library = ctypes.CDLL(library_path, mode=ctypes.RTLD_GLOBAL)
    library.energyloss_lammps_register.argtypes = [ctypes.c_void_p]
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "springs.txt")
    ids, k = write_springs(path, np.random.default_rng(13))

    lmp = lammps(cmdargs=["-log", "none", "-nocite", "-screen", "none"])
    library.energyloss_lammps_register(lmp.lmp)
    lmp.commands_string(SYSTEM)

    def by_id(values):
        tags = lmp.numpy.extract_atom("id")[: lmp.extract_global("nlocal")]
        return np.array(values)[np.argsort(tags)]

    def unwrapped():
        return by_id(lmp.numpy.extract_compute("unwrapped", LMP_STYLE_ATOM, LMP_TYPE_ARRAY))

    lmp.command("run 0 post no")
    reference = unwrapped().copy()
    lmp.command(f"compute loss part energyloss edges file {path}")
    lmp.command("compute shares part energyloss edges file " + path)
    lmp.command(f"fix hold part energyloss edges file {path}")
    lmp.commands_string(PERTURB)
    lmp.command("thermo_style custom step c_loss f_hold")

    def evaluate():
        lmp.command("run 0 post no")
        return (lmp.extract_compute("loss", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR),
                lmp.extract_fix("hold", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR))

    loss, fix_energy = evaluate()
    current = unwrapped().copy()
    nlocal = lmp.extract_global("nlocal")
    forces = by_id(lmp.numpy.extract_atom("f")[:nlocal]).copy()
    positions = by_id(lmp.numpy.extract_atom("x")[:nlocal]).copy()
    member = by_id(lmp.numpy.extract_variable("member", "all", 1)) > 0
    shares = by_id(lmp.numpy.extract_compute("shares", LMP_STYLE_ATOM, LMP_TYPE_VECTOR)).copy()

    failures = []
    expected = naive_energy(ids, k, reference, current)
    op_energy, op_gradient = python_op(ids, k, reference, current)
    print(f"compute {loss!r}, fix {fix_energy!r}, naive {expected!r}, python op {op_energy!r}")
    if not expected > 1e-2:
        failures.append(f"energy {expected} too small for a meaningful test")
    for name, value in (("compute energyloss", loss), ("fix energyloss", fix_energy),
                        ("energyloss.pair_energy_loss", op_energy)):
        if not np.isclose(value, expected, rtol=1e-12, atol=0):
            failures.append(f"{name} gives {value!r}, the naive sum over the file's pairs "
                            f"{expected!r}")
    if not np.isclose(shares.sum(), expected, rtol=1e-12, atol=0):
        failures.append(f"per-atom shares sum to {shares.sum()!r}, expected {expected!r}")
    if np.any(shares[~member] != 0):
        failures.append("atoms outside the group got a per-atom share")
    if not np.any(np.abs(current - positions)[member] > 1e-9):
        failures.append("no group atom crossed a boundary: unwrapping is untested")
    scale = np.abs(forces).max()
    if not np.allclose(forces, -op_gradient, rtol=0, atol=1e-10 * scale):
        failures.append(f"fix forces differ from -dE/dx of the Python op by "
                        f"{np.abs(forces + op_gradient).max():.3g} (max |f| {scale:.3g})")

    # Central differences of the fix's energy for group atoms and one outside.
    box = tuple(np.array(v) for v in lmp.extract_box()[:2])
    failures += finite_difference_failures(lmp, "edges file", forces, member, positions, box)
    lmp.close()
    if ranks_command:
        failures += check_ranks(ranks_command, workdir, path, loss, fix_energy, forces)
    return failures


# CASE: (file text or None for a missing file, line, pattern after "line N: ").
ERROR_CASES = {
    "missing": (None, None, r"cannot open edges file '[^']*missing\.txt'"),
    "fields": ("1 2 3.0\n\n1 3\n", 3, r"expected 3 fields 'ID_I ID_J K', got 2"),
    "extra_field": ("1 2 3.0 4.0\n", 1, r"expected 3 fields 'ID_I ID_J K', got 4"),
    "non_numeric_k": ("# header\n1 2 abc\n", 2, r"K 'abc' is not a finite number"),
    "non_numeric_id": ("1 two 1.0\n", 1, r"atom ID 'two' is not an integer"),
    "outside_group": ("1 2 1.0\n1 30 1.0\n", 2, r"atom ID 30 is not in group part"),
    "no_such_atom": ("1 99 1.0\n", 1, r"no atom has ID 99 \(IDs go up to 32\)"),
    "zero_id": ("0 1 1.0\n", 1, r"no atom has ID 0 "),
    "same_atom": ("1 2 1.0\n4 4 1.0\n", 2, r"pair joins atom ID 4 to itself"),
    "duplicate": ("1 2 1.0\n3 4 1.0\n2 1 5.0\n", 3, r"pair 2 1 is listed twice"),
    "k_infinite": ("1 2 inf\n", 1, r"K 'inf' is not a finite number"),
    "k_nan": ("1 2 nan\n", 1, r"K 'nan' is not a finite number"),
    "k_negative": ("1 2 1.0\n2 3 -0.5\n", 2, r"K '-0.5' is negative"),
    "empty": ("# nothing but comments\n\n   \n", None, r"edges file '[^']*' lists no pairs"),
}
CONFLICT = r"keywords 'coeff' and 'edges file' conflict"


def check_error(case, workdir, command):
    os.makedirs(workdir, exist_ok=True)
    style, keywords = "Compute energyloss", ""
    if case.startswith("fix_"):
        style, case = "Fix energyloss", case[4:]
    if case == "coeff_conflict":
        text, line, pattern = "1 2 1.0\n", None, CONFLICT
        keywords = "coeff exp 24.0 "
    else:
        text, line, pattern = ERROR_CASES[case]
    path = os.path.join(workdir, f"{case}.txt")
    if text is None:
        if os.path.exists(path):
            os.remove(path)
    else:
        with open(path, "w") as out:
            out.write(text)
    command_line = (f"{'fix hold' if style.startswith('Fix') else 'compute loss'} part energyloss "
                    f"{keywords}edges file {path}")
    run = subprocess.run(command + ["-log", "none", "-var", "line", command_line, "-var", "setup",
                                    "group part id 1:24"],
                         capture_output=True, text=True, timeout=120)
    output = run.stdout + run.stderr
    where = "" if line is None else rf"file '{re.escape(path)}' line {line}: "
    if case == "coeff_conflict":
        expected = rf"ERROR: {style}: {pattern}"
    else:
        expected = rf"ERROR: {style}: keyword 'edges file': {where}{pattern}"
    failures = []
    if not re.search(expected, output):
        failures.append(f"{case}: expected an error matching {expected!r}; got:\n{output[-2000:]}")
    if run.returncode < 0:
        failures.append(f"{case}: LAMMPS died of signal {-run.returncode}")
    if not failures:
        print(re.search(r"ERROR:.*", output).group(0))
    return failures


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "values":
        failures = check_values(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) >= 5 and sys.argv[1] == "error":
        failures = check_error(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        return __doc__
    return "\n".join(failures) if failures else 0


if __name__ == "__main__":
    sys.exit(main())
