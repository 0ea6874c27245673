"""seed() with virtual sites: two TIP4P-style waters (the charge on an M site
built by ThreeParticleAverageSite), a generator over the six real atoms and an
atom_map that skips the M sites. Every candidate energy must be computed with
M sites built from that candidate's atoms (checked in a separate Context that
builds them itself), the lowest is chosen, and the Context is left with M sites
consistent with their atoms."""
import numpy as np
import openmm
import pytest
import torch
from openmm import unit

import openmmenergyloss

KJ = unit.kilojoule_per_mole
W_O, W_H = 0.786646558, 0.106676721          # TIP4P-Ew M-site weights
Q_H, Q_M = 0.52422, -1.04844
SIGMA_O, EPSILON_O = 0.316435, 0.680946
WATER = np.array([[0.0, 0.0, 0.0], [0.09572, 0.0, 0.0], [-0.0239987, 0.0926627, 0.0]])  # nm
REAL = [0, 1, 2, 4, 5, 6]                    # particles 3 and 7 are the M sites
CANDIDATES = 4


def two_waters(rigid):
    """Rigid (constraints, which OpenMM follows by rebuilding virtual sites)
    or flexible (harmonic bonds and angle, nothing rebuilds them)."""
    system = openmm.System()
    bonds, angles = openmm.HarmonicBondForce(), openmm.HarmonicAngleForce()
    nonbonded = openmm.NonbondedForce()
    nonbonded.setNonbondedMethod(openmm.NonbondedForce.NoCutoff)
    for water in range(2):
        o = system.addParticle(15.999)
        h1 = system.addParticle(1.008)
        h2 = system.addParticle(1.008)
        m = system.addParticle(0.0)
        system.setVirtualSite(m, openmm.ThreeParticleAverageSite(o, h1, h2, W_O, W_H, W_H))
        if rigid:
            for a, b in ((o, h1), (o, h2), (h1, h2)):
                system.addConstraint(a, b, np.linalg.norm(WATER[a - o] - WATER[b - o]))
        else:
            for h in (h1, h2):
                bonds.addBond(o, h, np.linalg.norm(WATER[h - o]), 462750.4)
            angles.addAngle(h1, o, h2, np.radians(104.52), 836.8)
        nonbonded.addParticle(0.0, SIGMA_O, EPSILON_O)
        nonbonded.addParticle(Q_H, 1.0, 0.0)
        nonbonded.addParticle(Q_H, 1.0, 0.0)
        nonbonded.addParticle(Q_M, 1.0, 0.0)
        for i in range(o, m + 1):
            for j in range(i + 1, m + 1):
                nonbonded.addException(i, j, 0.0, 1.0, 0.0)
    system.addForce(nonbonded)
    if not rigid:
        system.addForce(bonds)
        system.addForce(angles)
    return system


def rotation(angle, axis):
    axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def candidates():
    """Rigid water pairs, the second turned and moved differently in each."""
    out = []
    for c in range(CANDIDATES):
        second = WATER @ rotation(0.9 * c + 0.4, [1, 0.3 * c, 0.5]).T + [0.29 + 0.01 * c, 0.05, 0.0]
        out.append(np.vstack([WATER, second]))
    return np.array(out)


class FixedCandidates(torch.nn.Module):
    """A generator over the six real atoms whose samples are fixed structures."""
    n_atoms: int
    length_unit: str

    def __init__(self, samples):
        super().__init__()
        self.samples = torch.as_tensor(samples, dtype=torch.float64)
        self.n_atoms = self.samples.shape[1]
        self.length_unit = "nm"

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return self.samples[:n].clone()


@pytest.fixture()
def generator(tmp_path):
    path = tmp_path / "waters.pt"
    torch.jit.save(torch.jit.script(FixedCandidates(candidates())), str(path))
    return path


def full_positions(real):
    """All eight particles, M sites where the Context would not put them."""
    positions = np.zeros((8, 3))
    positions[REAL] = real
    positions[3] = positions[7] = [5.0, 5.0, 5.0]
    return positions


def context_for(system):
    context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName("Reference"))
    # Start far from every candidate: stale M sites would be far off.
    start = np.vstack([WATER + [1.0, 1.0, 1.0], WATER @ rotation(2.0, [0, 1, 0]).T + [-1, 0, 0]])
    context.setPositions(full_positions(start))
    context.computeVirtualSites()
    return context


def expected_energies(system):
    """Each candidate in a fresh Context, constraints applied and M sites built."""
    scorer = openmm.Context(system, openmm.VerletIntegrator(0.001),
                            openmm.Platform.getPlatformByName("Reference"))
    energies = []
    for sample in candidates():
        scorer.setPositions(full_positions(sample))
        if system.getNumConstraints():
            scorer.applyConstraints(1e-5)
        scorer.computeVirtualSites()
        energies.append(scorer.getState(getEnergy=True).getPotentialEnergy().value_in_unit(KJ))
    return np.array(energies)


def m_site(positions, o):
    return W_O * positions[o] + W_H * positions[o + 1] + W_H * positions[o + 2]


def check_m_sites(context):
    positions = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(
        unit.nanometer)
    for o, m in ((0, 3), (4, 7)):
        np.testing.assert_allclose(positions[m], m_site(positions, o), atol=1e-12)
    return positions


@pytest.mark.parametrize("rigid", [False, True])
def test_candidate_energies_use_each_candidates_m_sites(generator, rigid):
    system = two_waters(rigid)
    expected = expected_energies(system)
    assert np.ptp(expected) > 1.0, expected  # the choice matters
    context = context_for(system)
    result = openmmenergyloss.seed(context, generator, candidates=CANDIDATES, minimize=False,
                                   temperature=0 * unit.kelvin, atom_map=REAL)
    np.testing.assert_allclose(result.energies.value_in_unit(KJ), expected, rtol=1e-9)
    assert result.chosen == int(np.argmin(expected))
    positions = check_m_sites(context)
    np.testing.assert_allclose(positions[REAL], candidates()[result.chosen], atol=1e-6)
    energy = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(KJ)
    assert energy == pytest.approx(expected[result.chosen], rel=1e-9)


@pytest.mark.parametrize("rigid", [False, True])
def test_pre_minimisation_energies_use_each_candidates_m_sites(generator, rigid):
    system = two_waters(rigid)
    expected = expected_energies(system)
    context = context_for(system)
    result = openmmenergyloss.seed(context, generator, candidates=CANDIDATES, minimize=True,
                                   max_iterations=50, temperature=0 * unit.kelvin, atom_map=REAL)
    np.testing.assert_allclose(result.energies.value_in_unit(KJ), expected, rtol=1e-9)
    minimized = result.minimized_energies.value_in_unit(KJ)
    assert result.chosen == int(np.argmin(minimized))
    check_m_sites(context)
    energy = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(KJ)
    assert energy == pytest.approx(minimized[result.chosen], rel=1e-9)


def test_a_map_onto_a_virtual_site_is_refused(generator, tmp_path):
    system = two_waters(rigid=False)
    context = context_for(system)
    with pytest.raises(ValueError, match="particle map entry 2 = 3 is a virtual site"):
        openmmenergyloss.seed(context, generator, candidates=1, atom_map=[0, 1, 3, 4, 5, 6])
    eight = tmp_path / "eight.pt"
    torch.jit.save(torch.jit.script(FixedCandidates(np.zeros((2, 8, 3)))), str(eight))
    with pytest.raises(ValueError, match="particle 3 is a virtual site"):
        openmmenergyloss.seed(context, eight, candidates=1)
