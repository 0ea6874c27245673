"""Runs a deck and saves its `ENERGYLOSS name value ...` lines; with --same-as
they must equal another run's (e.g. -np 1 against -np 2) to 1e-10.

Usage: check_values_match.py WORKDIR [--same-as OTHER_WORKDIR] COMMAND...
"""
import sys

from lammps_run import differences, run_deck, split_arguments


def main():
    workdir, same_as, command = split_arguments(sys.argv[1:])
    _, printed = run_deck(workdir, command)
    if not printed:
        return "the deck printed no ENERGYLOSS values"
    print(" ".join(f"{name} {value!r}" for name, value in printed.items()))
    failures = differences(printed, same_as) if same_as else []
    return "\n".join(failures) or 0


if __name__ == "__main__":
    sys.exit(main())
