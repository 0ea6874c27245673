"""Corpus kind `lammps_deck`: bad decks (and arguments) for
energyloss.LammpsOracle; a good oracle still evaluates afterwards."""
import math

import pytest
import torch

from energyloss import oracles
from corpus_common import expect_error, check_file_oracle

GOOD = """units lj
atom_style atomic
atom_modify map array
boundary f f f
region box block -5 5 -5 5 -5 5
create_box 1 box
create_atoms 1 single 0 0 0
create_atoms 1 single 1.1 0 0
create_atoms 1 single 0 1.1 0
mass 1 1.0
pair_style lj/cut 3.0
pair_coeff 1 1 1.0 1.0
"""
POSITIONS = torch.tensor([[[0.0, 0, 0], [1.12, 0, 0], [0, 1.12, 0]]], dtype=torch.float64)

DECKS = {
    "empty": ("", r"Thermo_style command before simulation box is defined"),
    "no-atoms": (GOOD.split("create_atoms")[0] + "mass 1 1.0\npair_style lj/cut 3.0\npair_coeff 1 1 1.0 1.0\n",
                 r"the deck defines no atoms"),
    "run-moves-atoms": (GOOD + "velocity all create 5.0 4928\nfix 1 all nve\nrun 10\n",
                        r"the deck defines fix\(es\) 1; an oracle deck must not define fixes"),
    "unknown-command": (GOOD + "frobnicate all\n", r"Unknown command: frobnicate"),
    "unknown-pair-style": (GOOD.replace("lj/cut 3.0", "lj/imaginary 3.0"), r"Unrecognized pair style 'lj/imaginary'"),
    "no-pair-coeff": (GOOD.replace("pair_coeff 1 1 1.0 1.0\n", ""), r"All pair coeffs are not set"),
    "undefined-variable": (GOOD + "print ${nothing}\n", r"illegal variable nothing"),
    "read-data-missing": ("units lj\natom_style atomic\nread_data /nonexistent/system.data\n",
                          r"Cannot open file /nonexistent/system.data"),
    "bad-units": (GOOD.replace("units lj", "units furlongs"), r"Illegal units command.*units furlongs"),
    "quit": (GOOD + "quit\n", r"worker process exited with status 0 while running the deck"),
    "include-missing": (GOOD + "include /nonexistent/more.lmp\n", r"Cannot open input script /nonexistent/more.lmp"),
}


@pytest.fixture(scope="module")
def good_oracle(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "in.good"
    path.write_text(GOOD)
    return oracles.LammpsOracle(str(path), workers=1)


def _good(oracle):
    return lambda: oracle.evaluate(POSITIONS)


@pytest.mark.parametrize("name", sorted(DECKS))
def test_bad_deck(name, tmp_path, good_oracle):
    text, pattern = DECKS[name]
    path = tmp_path / "in.deck"
    path.write_text(text)

    def bad():
        return oracles.LammpsOracle(str(path), workers=1).evaluate(POSITIONS)

    expect_error(bad, pattern, _good(good_oracle))


ARGS = {
    "missing-file": (lambda p: oracles.LammpsOracle(str(p) + ".missing"), r"deck '.*in.deck.missing' cannot be opened"),
    "directory": (lambda p: oracles.LammpsOracle(str(p.parent)), r"deck '.*' is not a regular file"),
    "workers-zero": (lambda p: oracles.LammpsOracle(str(p), workers=0), r"workers must be >= 1, got 0"),
    "variable-bad-name": (lambda p: oracles.LammpsOracle(str(p), variables={"a b": 1}), r"Variable name 'a b' must have only alphanumeric"),
}
POSITIONS_BAD = {
    "wrong-atom-count": (torch.zeros(1, 4, 3, dtype=torch.float64), r"expected shape \[B, 3, 3\]"),
    "nan": (torch.full((1, 3, 3), math.nan, dtype=torch.float64), r"positions\[0, 0, 0\] is not finite \(nan\): batch entry 0, atom 0"),
    "edges-tuple": ((POSITIONS, POSITIONS), r"Expected a value of type 'Tensor' for argument 'positions' but instead found type 'tuple'"),
}


@pytest.mark.parametrize("name", sorted(ARGS))
def test_bad_oracle_arguments(name, tmp_path, good_oracle):
    make, pattern = ARGS[name]
    check_file_oracle(make, pattern, good_oracle, POSITIONS, tmp_path / "in.deck", GOOD)


@pytest.mark.parametrize("name", sorted(POSITIONS_BAD))
def test_bad_positions(name, good_oracle):
    x, pattern = POSITIONS_BAD[name]
    expect_error(lambda: good_oracle.evaluate(x), pattern, _good(good_oracle))
