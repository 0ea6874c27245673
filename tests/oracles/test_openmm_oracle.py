"""energyloss.OpenMMOracle from Python against OpenMM's own Python API on the
same System XML and positions; gradients and error handling."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

openmm = pytest.importorskip("openmm")
import openmm.unit as unit  # noqa: E402

from energyloss import oracles as energyloss  # noqa: E402

if not hasattr(torch.ops.energyloss, "openmm_oracle"):
    pytest.skip("this build has no OpenMM oracle", allow_module_level=True)

SOURCE_DIR = os.environ.get(
    "ENERGYLOSS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(SOURCE_DIR, "examples", "openmm", "make_system.py")


@pytest.fixture(scope="module", params=["alanine", "villin"])
def system(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    xml, positions = folder / "system.xml", folder / "positions.npy"
    options = ["--villin"] if request.param == "villin" else []
    subprocess.run([sys.executable, SCRIPT, *options, "--system-xml", str(xml),
                    "--positions", str(positions)], check=True)
    reference = np.load(positions)
    rng = np.random.default_rng(3)
    batch = np.stack([reference] + [reference + rng.normal(scale=0.01, size=reference.shape)
                                    for _ in range(2)])
    return str(xml), batch


def openmm_python(xml, platform, batch):
    """Energies and forces by OpenMM's Python API, one Context, one thread."""
    with open(xml) as stream:
        system = openmm.XmlSerializer.deserialize(stream.read())
    properties = {"Threads": "1"} if platform == "CPU" else {}
    context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName(platform), properties)
    energies, forces = [], []
    for positions in batch:
        context.setPositions(positions)
        state = context.getState(getEnergy=True, getForces=True)
        energies.append(state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole))
        forces.append(state.getForces(asNumpy=True).value_in_unit(
            unit.kilojoule_per_mole / unit.nanometer))
    return np.array(energies), np.array(forces)


@pytest.mark.parametrize("platform", ["Reference", "CPU"])
def test_matches_openmm_python(system, platform):
    xml, batch = system
    properties = {"Threads": "1"} if platform == "CPU" else {}
    oracle = energyloss.OpenMMOracle(xml, platform=platform, workers=2, properties=properties)
    assert oracle.units == ("nm", "kJ/mol")
    assert oracle.n_atoms == batch.shape[1]
    energies, forces = oracle.evaluate(torch.from_numpy(batch))
    expected_energies, expected_forces = openmm_python(xml, platform, batch)
    np.testing.assert_allclose(energies.numpy(), expected_energies, rtol=1e-6)
    scale = np.abs(expected_forces).max()
    np.testing.assert_allclose(forces.numpy(), expected_forces, rtol=0, atol=1e-6 * scale)


def test_gradient_is_minus_forces(system):
    xml, batch = system
    oracle = energyloss.OpenMMOracle(xml, platform="Reference", workers=2)
    positions = torch.from_numpy(batch).requires_grad_(True)
    energies = energyloss.oracle_energy(oracle, positions)
    energies.sum().backward()
    _, forces = oracle.evaluate(positions.detach())
    torch.testing.assert_close(positions.grad, -forces, rtol=0, atol=1e-12)


def test_bad_inputs_raise_and_the_process_survives(system):
    xml, batch = system
    oracle = energyloss.OpenMMOracle(xml, platform="CPU", workers=2)
    atoms = batch.shape[1]
    with pytest.raises(ValueError, match=f"{atoms} atoms"):
        oracle.evaluate(torch.zeros(1, atoms + 1, 3, dtype=torch.float64))
    nan = torch.from_numpy(batch.copy())
    nan[1, 4, 0] = float("nan")
    with pytest.raises(ValueError, match="batch entry 1, atom 4"):
        oracle.evaluate(nan)
    overlapping = torch.from_numpy(batch.copy())
    overlapping[2, 1] = overlapping[2, 0]
    with pytest.raises(ValueError, match="batch entry 2"):
        oracle.evaluate(overlapping)
    energies, _ = oracle.evaluate(torch.from_numpy(batch))
    assert torch.isfinite(energies).all()


def test_missing_file_and_unknown_platform(tmp_path):
    missing = str(tmp_path / "missing.xml")
    with pytest.raises((ValueError, RuntimeError), match="missing.xml"):
        energyloss.OpenMMOracle(missing)
    one_particle = openmm.System()
    one_particle.addParticle(1.0)
    xml = tmp_path / "one_particle.xml"
    xml.write_text(openmm.XmlSerializer.serialize(one_particle))
    with pytest.raises((ValueError, RuntimeError), match="available platforms"):
        energyloss.OpenMMOracle(str(xml), platform="Quantum")
