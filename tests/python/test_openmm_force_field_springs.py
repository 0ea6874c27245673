"""Force-field springs from common/ (Hessian-fitted, shell-balanced, modified
Seminario) used by the OpenMM force as explicit edges (issue 13): the
openmm_plugin README's block that builds them runs as written, and

* the force's energy in a Reference Context at a displaced configuration
  equals a naive numpy sum over the same pairs and k of the pair energy
  loss's term 1/2 k (|x_i - x_j| - |y_i - y_j|)^2 (common/'s pair_term.h),
  and its forces equal minus central differences of that sum;
* the Hessian-fitted springs are in the force's units (kJ/mol/nm^2): along
  small internal displacements the force's curvature matches amber's own,
  from second differences of the amber System's energy in a Context.
"""
import math
import os
import sys

import numpy as np
import openmm
import openmm.unit as unit
import pytest

SOURCE = os.environ.get("ENERGYLOSS_SOURCE_DIR",
                        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE, "tests", "readme"))
import check_readme_blocks  # noqa: E402
from alanine_reference import internal_displacements  # noqa: E402

README = os.path.join(SOURCE, "openmm_plugin", "README.md")
REFERENCE = openmm.Platform.getPlatformByName("Reference")


@pytest.fixture(scope="module")
def readme():
    """The namespace left by the README block that builds the springs."""
    with open(README) as f:
        blocks = [b for b in check_readme_blocks.parse_blocks(f.read(), README)
                  if b.language == "python" and 'method="hessian_fit"' in b.code]
    assert len(blocks) == 1, "expected one python block with the Hessian-fitted springs"
    namespace = {"__name__": "readme_block"}
    cwd = os.getcwd()
    os.chdir(SOURCE)  # the block's paths are relative to the repository root
    try:
        exec(compile(blocks[0].code, f"{README}:{blocks[0].line}", "exec"), namespace)
    finally:
        os.chdir(cwd)
    return namespace


def _nm(positions):
    return np.asarray(positions.value_in_unit(unit.nanometer), dtype=np.float64)


def _context(system, positions, groups=None):
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), REFERENCE)
    context.setPositions(positions * unit.nanometer)
    return context


def _energy_forces(context, positions, groups=-1):
    context.setPositions(positions * unit.nanometer)
    state = context.getState(getEnergy=True, getForces=True, groups=groups)
    return (state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole),
            np.asarray(state.getForces(asNumpy=True).value_in_unit(
                unit.kilojoule_per_mole / unit.nanometer)))


def naive_energy(x, y, pairs, k):
    """sum over pairs of 1/2 k (|x_i - x_j| - |y_i - y_j|)^2, one pair at a time."""
    total = 0.0
    for (i, j), kij in zip(pairs, k):
        r = math.sqrt(sum((x[i][c] - x[j][c]) ** 2 for c in range(3)))
        r0 = math.sqrt(sum((y[i][c] - y[j][c]) ** 2 for c in range(3)))
        total += 0.5 * kij * (r - r0) ** 2
    return total


def _restraint_system(force, n):
    """A System of n particles with only the given force."""
    system = openmm.System()
    for _ in range(n):
        system.addParticle(12.0)
    system.addForce(force)
    return system


def _spring_sets(ns):
    return {"hessian_fit": (ns["edges"].tolist(), ns["k"].tolist()),
            "shell_balanced": (ns["edges"].tolist(), ns["k_shell"].tolist()),
            "modified_seminario": (ns["pairs"].tolist(), ns["k_msem"].tolist())}


def test_readme_force_is_the_hessian_fit(readme):
    force, edges, k = readme["force"], readme["edges"].tolist(), readme["k"].tolist()
    assert force.getNumEdges() == len(edges) == 231
    for e in range(len(edges)):  # the pairs and k as given, kJ/mol/nm^2, no rescaling
        i, j, ke, _ = force.getEdgeParameters(e)
        assert (i, j) == tuple(edges[e]) and ke == pytest.approx(k[e], rel=1e-15, abs=0.0)
    assert readme["system"].getNumForces() >= 2  # amber's forces and the restraint
    assert min(k) >= 0 and max(k) > 1e4  # bonds: 1e5-ish kJ/mol/nm^2


@pytest.mark.parametrize("springs", ["hessian_fit", "shell_balanced", "modified_seminario"])
def test_energy_and_forces_equal_naive_sum(readme, springs):
    import openmmenergyloss
    pdb = readme["pdb"]
    y = _nm(pdb.positions)
    pairs, k = _spring_sets(readme)[springs]
    force = openmmenergyloss.EnergyLossForce(pdb.positions, coeff="explicit", edges=pairs, k=k)
    context = _context(_restraint_system(force, len(y)), y)
    rng = np.random.default_rng(13)
    x = y + rng.normal(scale=0.01, size=y.shape)  # nm
    energy, forces = _energy_forces(context, x)
    expected = naive_energy(x.tolist(), y.tolist(), pairs, k)
    assert expected > 0.05  # a real displacement, not the reference
    assert energy == pytest.approx(expected, rel=1e-10)
    h = 1e-6
    numeric = np.zeros_like(x)
    for a in range(len(x)):
        for c in range(3):
            plus, minus = x.copy(), x.copy()
            plus[a, c] += h
            minus[a, c] -= h
            numeric[a, c] = -(naive_energy(plus.tolist(), y.tolist(), pairs, k)
                              - naive_energy(minus.tolist(), y.tolist(), pairs, k)) / (2 * h)
    scale = np.abs(numeric).max()
    assert np.abs(forces - numeric).max() <= 1e-6 * scale


def test_hessian_fit_matches_amber_curvature_in_kj_per_mol_nm2(readme):
    """d^T K d (the force's second difference) against d^T H d (amber's),
    for internal unit directions d: equal to the fit's residual, so k is in
    the force's units (k in kJ/mol/A^2, 100x smaller, gives a ratio 0.01)."""
    import openmmenergyloss
    pdb, system = readme["pdb"], readme["system"]
    y = _nm(pdb.positions)
    amber = openmm.XmlSerializer.clone(system)
    amber.removeForce(amber.getNumForces() - 1)  # the README's restraint, added last
    spring_force = openmmenergyloss.EnergyLossForce(
        pdb.positions, coeff="explicit", edges=readme["edges"].tolist(), k=readme["k"].tolist())
    springs = _context(_restraint_system(spring_force, len(y)), y)
    field = _context(amber, y)
    e0 = _energy_forces(field, y)[0]
    h = 2e-3  # nm, the length of the whole displacement
    ratios = []
    for d in internal_displacements(y, 8, 1.0, seed=5):
        d = d / np.linalg.norm(d)
        curvature_ff = (_energy_forces(field, y + h * d)[0] + _energy_forces(field, y - h * d)[0]
                        - 2 * e0) / h ** 2
        curvature_k = (_energy_forces(springs, y + h * d)[0]
                       + _energy_forces(springs, y - h * d)[0]) / h ** 2
        ratios.append(curvature_k / curvature_ff)
    print("d^T K d / d^T H d:", np.round(ratios, 3))
    assert np.all(np.array(ratios) > 0.7) and np.all(np.array(ratios) < 1.3)


def test_shell_balanced_total_is_the_exp_preset_in_nm(readme):
    """The README's shell-balanced springs carry the total stiffness of the
    force's own exp preset in nm, sum over pairs of (2400 / N) exp(-r0 / 0.1 nm)
    kJ/mol/nm^2 (openmm_plugin/README.md, Units), not the angstrom one."""
    y = _nm(readme["pdb"].positions)
    n = len(y)
    expected = sum(2400.0 / n * math.exp(-np.linalg.norm(y[i] - y[j]) / 0.1)
                   for i in range(n) for j in range(i + 1, n))
    k_shell = readme["k_shell"].numpy()
    assert k_shell.min() >= 0
    assert k_shell.sum() == pytest.approx(expected, rel=1e-10)
