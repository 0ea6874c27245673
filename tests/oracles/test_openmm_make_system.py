"""examples/openmm/make_system.py: the System XML and reference positions it
writes are what the OpenMM oracle and the coefficient code read."""
import os
import subprocess
import sys

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit
import pytest

SOURCE_DIR = os.environ.get(
    "ENERGYLOSS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(SOURCE_DIR, "examples", "openmm", "make_system.py")
ALANINE_PDB = os.path.join(SOURCE_DIR, "examples", "openmm", "data", "alanine-dipeptide.pdb")
VILLIN_PDB = os.path.join(os.path.dirname(app.__file__), "data", "test.pdb")
SOLVENT = {"HOH", "NA", "CL"}


def make(tmp_path, *options, positions="positions.txt"):
    xml, coords = tmp_path / "system.xml", tmp_path / positions
    subprocess.run([sys.executable, SCRIPT, *options, "--system-xml", str(xml),
                    "--positions", str(coords)], check=True)
    with open(xml) as stream:
        system = openmm.XmlSerializer.deserialize(stream.read())
    reference = np.load(coords) if positions.endswith(".npy") else np.loadtxt(coords)
    return system, reference


def solute_positions(pdb_path):
    pdb = app.PDBFile(pdb_path)
    kept = [atom.index for atom in pdb.topology.atoms()
            if atom.residue.name.upper() not in SOLVENT]
    return np.array(pdb.positions.value_in_unit(unit.nanometer))[kept]


def force_names(system):
    return sorted(type(force).__name__ for force in system.getForces())


def test_alanine_dipeptide_defaults(tmp_path):
    system, reference = make(tmp_path)
    expected = solute_positions(ALANINE_PDB)
    assert system.getNumParticles() == 22
    np.testing.assert_allclose(reference, expected, atol=1e-12)
    # A plain force field: no constraints, no cutoff, no thermostat-like extras.
    assert system.getNumConstraints() == 0
    assert force_names(system) == sorted(["HarmonicBondForce", "HarmonicAngleForce",
                                          "PeriodicTorsionForce", "NonbondedForce",
                                          "CustomGBForce"])
    nonbonded = next(f for f in system.getForces() if isinstance(f, openmm.NonbondedForce))
    assert nonbonded.getNonbondedMethod() == openmm.NonbondedForce.NoCutoff


def test_villin_without_water_and_ions(tmp_path):
    system, reference = make(tmp_path, "--villin", positions="positions.npy")
    expected = solute_positions(VILLIN_PDB)
    assert len(expected) == 582
    assert system.getNumParticles() == len(expected)
    np.testing.assert_allclose(reference, expected, atol=1e-12)
    assert system.getNumConstraints() == 0


def test_reference_file_holds_openmm_energies_and_forces(tmp_path):
    out = tmp_path / "reference.txt"
    system, reference = make(tmp_path, "--reference", f"Reference:{out}", "--samples", "2")
    lines = open(out).read().splitlines()
    assert lines[0] == "# platform Reference samples 2 atoms 22"
    energy = float(lines[1])
    positions = np.loadtxt(lines[2:24])
    forces = np.loadtxt(lines[24:46])
    np.testing.assert_allclose(positions, reference, atol=1e-15)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(reference)
    state = context.getState(getEnergy=True, getForces=True)
    assert energy == pytest.approx(
        state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole), rel=1e-12)
    np.testing.assert_allclose(
        forces, state.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer),
        rtol=1e-12, atol=1e-9)
    # The second sample is a perturbed copy.
    assert not np.allclose(np.loadtxt(lines[47:69]), reference)


def test_missing_pdb_is_a_clear_error(tmp_path):
    result = subprocess.run([sys.executable, SCRIPT, "--pdb", str(tmp_path / "none.pdb"),
                             "--system-xml", str(tmp_path / "s.xml"),
                             "--positions", str(tmp_path / "p.txt")],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "none.pdb" in result.stderr
