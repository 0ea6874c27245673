"""energyloss.openmm_pair_coefficients from Python: the bond constant of a
bond-only System built with OpenMM's Python API, and agreement with the
finite-difference force_field_coefficients on alanine dipeptide's bonds."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

openmm = pytest.importorskip("openmm")

from energyloss import oracles as energyloss  # noqa: E402

if not hasattr(torch.ops.energyloss, "openmm_pair_coefficients"):
    pytest.skip("this build has no OpenMM oracle", allow_module_level=True)

SOURCE_DIR = os.environ.get(
    "ENERGYLOSS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(SOURCE_DIR, "examples", "openmm", "make_system.py")


def write_system(path, system):
    path.write_text(openmm.XmlSerializer.serialize(system))
    return str(path)


@pytest.fixture
def bond_chain(tmp_path):
    """Three atoms, bonds 0-1 (k = 1000) and 1-2 (k = 500); 0-2 not bonded."""
    system = openmm.System()
    for _ in range(3):
        system.addParticle(12.0)
    bonds = openmm.HarmonicBondForce()
    bonds.addBond(0, 1, 0.10, 1000.0)
    bonds.addBond(1, 2, 0.15, 500.0)
    system.addForce(bonds)
    ref = torch.tensor([[0.0, 0.0, 0.0], [0.11, 0.0, 0.0], [0.11, 0.14, 0.0]],
                       dtype=torch.float64)
    return write_system(tmp_path / "bonds.xml", system), ref


def test_bond_only_system_gives_the_bond_constant(bond_chain):
    xml, ref = bond_chain
    edges = [[0, 1], [2, 1], [0, 2]]
    k, details = energyloss.openmm_pair_coefficients(xml, ref, edges, return_details=True)
    floor = 1e-6 * 1000.0
    torch.testing.assert_close(k, torch.tensor([1000.0, 500.0, floor], dtype=torch.float64))
    torch.testing.assert_close(details["curvature"], torch.tensor([1000.0, 500.0, 0.0],
                                                                  dtype=torch.float64))
    torch.testing.assert_close(details["bond"], details["curvature"])
    for term in ("angle", "lennard_jones", "coulomb"):
        assert torch.count_nonzero(details[term]) == 0
    assert details["floored"] == 1 and details["floor"] == pytest.approx(floor)
    assert details["ignored"] == []

    # dtype follows ref; an explicit floor is applied as given.
    k32 = energyloss.openmm_pair_coefficients(xml, ref.float(), edges, floor=1.0)
    assert k32.dtype == torch.float32
    torch.testing.assert_close(k32, torch.tensor([1000.0, 500.0, 1.0]))

    # The oracle route: method="analytic" on an OpenMMOracle is the same call.
    oracle = energyloss.OpenMMOracle(xml, platform="Reference", workers=1)
    torch.testing.assert_close(
        energyloss.force_field_coefficients(oracle, ref, edges, method="analytic"), k)


def test_bad_inputs_raise_value_error(bond_chain, tmp_path):
    xml, ref = bond_chain
    with pytest.raises(ValueError, match="3 particles"):
        energyloss.openmm_pair_coefficients(xml, torch.zeros(4, 3, dtype=torch.float64), [[0, 1]])
    with pytest.raises(ValueError, match=r"edges\[1\]"):
        energyloss.openmm_pair_coefficients(xml, ref, [[0, 1], [1, 7]])
    with pytest.raises(ValueError, match="edges"):
        energyloss.openmm_pair_coefficients(xml, ref, [[0, 1, 2]])
    with pytest.raises(ValueError, match="missing.xml"):
        energyloss.openmm_pair_coefficients(str(tmp_path / "missing.xml"), ref, [[0, 1]])


@pytest.fixture(scope="module")
def alanine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("alanine")
    xml, positions = folder / "system.xml", folder / "positions.npy"
    subprocess.run([sys.executable, SCRIPT, "--system-xml", str(xml), "--positions",
                    str(positions)], check=True)
    system = openmm.XmlSerializer.deserialize(xml.read_text())
    # Pair-additive terms only, where the analytic and finite-difference
    # curvatures must agree (angles, torsions and GB couple more than 2 atoms).
    for index in reversed(range(system.getNumForces())):
        if not isinstance(system.getForce(index),
                          (openmm.HarmonicBondForce, openmm.NonbondedForce)):
            system.removeForce(index)
    pairs_only = write_system(folder / "pairs_only.xml", system)
    bond_force = next(force for force in system.getForces()
                      if isinstance(force, openmm.HarmonicBondForce))
    bonds, constants = [], []
    for index in range(bond_force.getNumBonds()):
        i, j, _, k = bond_force.getBondParameters(index)
        bonds.append([i, j])
        constants.append(k.value_in_unit(k.unit))
    return (str(xml), pairs_only, torch.from_numpy(np.load(positions)),
            torch.tensor(bonds), torch.tensor(constants, dtype=torch.float64))


def test_alanine_bonds_match_finite_differences(alanine):
    xml, pairs_only, ref, bonds, constants = alanine
    assert bonds.shape == (21, 2)

    k, details = energyloss.openmm_pair_coefficients(pairs_only, ref, bonds, return_details=True)
    assert details["ignored"] == []
    torch.testing.assert_close(details["bond"], constants, rtol=1e-12, atol=0)

    oracle = energyloss.OpenMMOracle(pairs_only, platform="Reference", workers=2)
    numeric = energyloss.force_field_coefficients(oracle, ref, bonds, step=1e-5,
                                                  method="finite_difference")
    torch.testing.assert_close(k, numeric, rtol=1e-5, atol=1e-2)
    torch.testing.assert_close(
        energyloss.force_field_coefficients(oracle, ref, bonds, method="analytic"), k)

    # The full System: the same bond constants, torsions and GB solvation reported.
    _, full = energyloss.openmm_pair_coefficients(xml, ref, bonds, return_details=True)
    torch.testing.assert_close(full["bond"], constants, rtol=1e-12, atol=0)
    ignored = "\n".join(full["ignored"])
    assert "PeriodicTorsionForce" in ignored and "CustomGBForce" in ignored
