"""compute and fix energyloss survive `clear`.

Deck mode: runs in.clear (lmp_energyloss or stock lmp with the loader
snippet), which defines the styles, runs, clears and does it again; both
passes must give the naive pair loss of their dumps (exp, complete graph).
    check_clear.py WORKDIR [--same-as OTHER_WORKDIR] COMMAND...

Library mode: two LAMMPS instances in one process (Debian's lammps module),
both registered, cleared in turn, must both keep the styles and agree; an
instance that never registered them must not get them from another's
`clear` (run in a child process: LAMMPS without exceptions exits on error).
    check_clear.py --library LIBENERGYLOSS_LAMMPS
"""
import ctypes
import os
import subprocess
import sys

import numpy as np

from check_compute_energyloss import naive_loss, unwrapped
from check_fix_energyloss import FCC_BOX
from lammps_run import differences, run_deck, split_arguments

JOB = FCC_BOX + """compute         loss all energyloss coeff exp 24.0
displace_atoms  all random 0.1 0.1 0.1 {seed} units box
thermo_style    custom step c_loss
run             0
"""


def check_deck(argv):
    workdir, same_as, command = split_arguments(argv)
    _, printed = run_deck(workdir, command)
    names = {"loss_1", "hold_1", "loss_2", "hold_2"}
    if set(printed) != names:
        return f"expected ENERGYLOSS values {sorted(names)}, got {printed} (did `clear` drop a style?)"
    failures = []
    for i in (1, 2):
        ref_ids, ref, _, _, _ = unwrapped(os.path.join(workdir, f"reference_{i}.dump"))
        ids, pred, _, _, _ = unwrapped(os.path.join(workdir, f"current_{i}.dump"))
        assert np.array_equal(ref_ids, ids)
        n = len(ids)  # the exp preset's coefficient: k0 / N exp(-r0)
        expected, _ = naive_loss(pred, ref, lambda r0: 24.0 / n * np.exp(-r0))
        for name, value in ((f"loss_{i}", printed[f"loss_{i}"]),
                            (f"hold_{i}", 24.0 * printed[f"hold_{i}"])):
            if not np.isclose(value, expected, rtol=1e-10, atol=0):
                failures.append(f"pass {i}: {name} gives {value!r}, naive formula {expected!r}")
    if same_as:
        failures += differences(printed, same_as)
    print(" ".join(f"{name} {value!r}" for name, value in printed.items()))
    return "\n".join(failures) or 0


def open_lammps(library, register=True):
    from lammps import lammps
    lmp = lammps(cmdargs=["-log", "none", "-nocite", ])
    if register:
        library.energyloss_lammps_register(lmp.lmp)
    return lmp


def loss(lmp, seed, clear=True):
    """The loss of a fresh job (the instance is cleared before it)."""
    if clear:
        lmp.command("clear")
    lmp.commands_string(JOB.format(seed=seed))
    return lmp.extract_compute("loss", 0, 0)


def check_library(path):
    library = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    first, second = open_lammps(library), open_lammps(library)
    # Before any clear: a job in each instance.
    expected = {11: loss(first, 11, clear=False), 12: loss(second, 12, clear=False)}
    failures = []
    # Clear each in turn while the other holds a job; both keep the styles.
    for lmp, other in ((first, second), (second, first)):
        for seed in (11, 12):
            value = loss(lmp, seed)
            if value != expected[seed]:
                failures.append(f"after clear: seed {seed} gives {value!r}, before {expected[seed]!r}")
        if other.extract_compute("loss", 0, 0) is None:
            failures.append("clearing one instance removed the other's compute")
    first.close()
    second.close()
    # A third instance after the others are gone: still registered, still fine.
    third = open_lammps(library)
    if loss(third, 11) != expected[11]:
        failures.append("a new registered instance lost the styles after clear")
    third.close()

    # An instance that never registered must not see the styles.
    child = subprocess.run(
        [sys.executable, __file__, "--unregistered", path],
        capture_output=True, text=True, timeout=120)
    output = child.stdout + child.stderr
    if "Unrecognized compute style 'energyloss'" not in output or "REACHED" in output:
        failures.append(f"an unregistered instance got the styles:\n{output}")
    if not failures:
        print(f"two instances and clear: losses {expected}")
    return "\n".join(failures) or 0


def unregistered(path):
    from lammps import lammps
    library = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    registered = open_lammps(library)
    bare = lammps(cmdargs=["-log", "none", "-nocite"])  # screen on: LAMMPS's error shows
    registered.command("clear")
    bare.command("clear")
    bare.commands_string(JOB.format(seed=11))  # exits with LAMMPS's error
    print("REACHED")


if __name__ == "__main__":
    if sys.argv[1] == "--library":
        sys.exit(check_library(sys.argv[2]))
    if sys.argv[1] == "--unregistered":
        sys.exit(unregistered(sys.argv[2]))
    sys.exit(check_deck(sys.argv[1:]))
