"""What the deck checkers share: run a LAMMPS command line, collect the
`ENERGYLOSS name value ...` lines it prints, save them, and compare them with
another run's (another rank count or another lmp) to 1e-10."""
import os
import re
import subprocess
import sys

import numpy as np


def run_deck(workdir, command):
    """Runs COMMAND with `-var out WORKDIR -log none`; returns (stdout, printed values)."""
    os.makedirs(workdir, exist_ok=True)
    run = subprocess.run([*command, "-var", "out", workdir, "-log", "none"],
                         capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        sys.exit(f"{command[0]} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    printed = {}
    for line in re.findall(r"^ENERGYLOSS (.*)$", run.stdout, re.MULTILINE):
        words = line.split()
        printed.update((name, float(value)) for name, value in zip(words[::2], words[1::2]))
    with open(os.path.join(workdir, "values.txt"), "w") as handle:
        handle.write("".join(f"{name} {value!r}\n" for name, value in printed.items()))
    return run.stdout, printed


def differences(printed, other_workdir, rtol=1e-10):
    """Messages for values that differ from OTHER_WORKDIR's saved ones."""
    with open(os.path.join(other_workdir, "values.txt")) as handle:
        other = {name: float(value) for name, value in map(str.split, handle)}
    failures = []
    if set(other) != set(printed):
        failures.append(f"values {sorted(printed)} here, {sorted(other)} in {other_workdir}")
    for name in set(other) & set(printed):
        if not np.isclose(printed[name], other[name], rtol=rtol, atol=0):
            failures.append(f"{name}: {printed[name]!r} here, {other[name]!r} in {other_workdir}")
    return failures


def split_arguments(argv):
    """WORKDIR [--same-as OTHER] COMMAND... -> (workdir, other or None, command)."""
    workdir, rest = argv[0], argv[1:]
    if rest[:1] == ["--same-as"]:
        return workdir, rest[1], rest[2:]
    return workdir, None, rest


def finish(failures, printed, same_as):
    """Exits with FAILURES, plus PRINTED's differences from SAME_AS's values
    when SAME_AS (another run's workdir) is given; returns when all agree."""
    if same_as is not None:
        failures = failures + differences(printed, same_as)
    if failures:
        sys.exit("\n".join(failures))
