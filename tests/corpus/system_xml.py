"""Corpus kind `system_xml`: bad serialized Systems (and arguments) for
energyloss.OpenMMOracle; a good oracle still evaluates afterwards."""
import math

import openmm
import pytest
import torch

from energyloss import oracles
from corpus_common import expect_error, check_file_oracle


def _system(n=3):
    system = openmm.System()
    for _ in range(n):
        system.addParticle(12.0)
    bonds = openmm.HarmonicBondForce()
    for i in range(n - 1):
        bonds.addBond(i, i + 1, 0.15, 1000.0)
    system.addForce(bonds)
    return openmm.XmlSerializer.serialize(system)


GOOD = _system()
POSITIONS = torch.tensor([[[0.0, 0, 0], [0.15, 0, 0], [0.3, 0.01, 0]]], dtype=torch.float64)
STATE = openmm.XmlSerializer.serialize(
    openmm.Context(openmm.XmlSerializer.deserialize(GOOD), openmm.VerletIntegrator(0.001),
                   openmm.Platform.getPlatformByName("Reference")).getState())


def _replace(old, new):
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


XML = {
    "empty": ("", r"does not hold a serialized System \(expected a <System> root element\)"),
    "not-xml": ("this is not xml\n", r"does not hold a serialized System"),
    "truncated": (GOOD[:len(GOOD) // 2], r"is not a valid serialized System"),
    "unknown-force": (_replace('type="HarmonicBondForce"', 'type="WobblyForce"'), r"no serialization proxy registered for type 'WobblyForce'"),
    "bond-particle-out-of-range": (_replace('p2="2"', 'p2="7"'), r"could not create a Context.*Illegal particle index for a bond: 7"),
    "constraint-out-of-range": (_replace("<Constraints/>", '<Constraints><Constraint d=".15" p1="0" p2="9"/></Constraints>'), r"Illegal particle index in constraint"),
    "state-not-system": (STATE, r"does not hold a serialized System"),
    "nan-force-constant": (_replace('k="1000"', 'k="nan"'), r"batch entry 0: the energy is not finite \(nan\)"),
}


@pytest.fixture(scope="module")
def good_oracle(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "system.xml"
    path.write_text(GOOD)
    return oracles.OpenMMOracle(str(path), platform="Reference", workers=1)


def _good(oracle):
    return lambda: oracle.evaluate(POSITIONS)


@pytest.mark.parametrize("name", sorted(XML))
def test_bad_system_xml(name, tmp_path, good_oracle):
    text, pattern = XML[name]
    path = tmp_path / "system.xml"
    path.write_text(text)

    def bad():
        oracle = oracles.OpenMMOracle(str(path), platform="Reference", workers=1)
        return oracle.evaluate(POSITIONS)

    expect_error(bad, pattern, _good(good_oracle))


ARGS = {
    "missing-file": (lambda p: oracles.OpenMMOracle(str(p) + ".missing", platform="Reference"),
                     r"system file '.*system.xml.missing' cannot be opened"),
    "directory": (lambda p: oracles.OpenMMOracle(str(p.parent), platform="Reference"),
                  r"system file .* is a directory"),
    "unknown-platform": (lambda p: oracles.OpenMMOracle(str(p), platform="Quantum"), r"OpenMM platform 'Quantum' is not available"),
    "workers-zero": (lambda p: oracles.OpenMMOracle(str(p), platform="Reference", workers=0),
                     r"workers: expected >= 1, got 0"),
    "path-none": (lambda p: oracles.OpenMMOracle(None, platform="Reference"), r"system file 'None' cannot be opened"),
}
POSITIONS_BAD = {
    "wrong-particle-count": (torch.zeros(1, 4, 3, dtype=torch.float64), r"has 3 atoms, so expected shape \[B, 3, 3\], got \[1, 4, 3\]"),
    "two-d": (torch.zeros(1, 3, 2, dtype=torch.float64), r"expected shape \[B, 3, 3\], got \[1, 3, 2\]"),
    "int64": (POSITIONS.long(), r"positions: expected float32 or float64, got Long"),
    "nan": (torch.full((1, 3, 3), math.nan, dtype=torch.float64), r"positions\[0, 0, 0\] is not finite \(nan\)"),
    "list": (POSITIONS.tolist(), r"Expected a value of type 'Tensor' for argument 'positions' but instead found type 'list'"),
}


@pytest.mark.parametrize("name", sorted(ARGS))
def test_bad_oracle_arguments(name, tmp_path, good_oracle):
    make, pattern = ARGS[name]
    check_file_oracle(make, pattern, good_oracle, POSITIONS, tmp_path / "system.xml", GOOD)


@pytest.mark.parametrize("name", sorted(POSITIONS_BAD))
def test_bad_positions(name, good_oracle):
    x, pattern = POSITIONS_BAD[name]
    expect_error(lambda: good_oracle.evaluate(x), pattern, _good(good_oracle))
