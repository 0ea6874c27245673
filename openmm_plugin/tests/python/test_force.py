"""openmmenergyloss.EnergyLossForce from Python, checked against numpy sums
and OpenMM's own CustomBondForce over the same pairs."""
import copy
import math
import os
import pathlib
import pickle
import sys

import numpy as np
import openmm
import pytest
from openmm import unit

import openmmenergyloss
from openmmenergyloss import EnergyLossForce

SOURCE = pathlib.Path(os.environ.get("ENERGYLOSS_SOURCE_DIR",
                                     pathlib.Path(__file__).resolve().parents[3]))
sys.path.insert(0, str(SOURCE / "examples/openmm"))
import make_system  # noqa: E402  (the examples' own System builder)

PLATFORMS = ["Reference", "CPU"]
KJ = unit.kilojoule_per_mole


def random_structure(n, seed, spread=1.0):
    return np.random.default_rng(seed).uniform(-spread, spread, size=(n, 3))


def perturbed(positions, seed, amount):
    return positions + np.random.default_rng(seed).normal(scale=amount, size=positions.shape)


def system_with(force, n):
    system = openmm.System()
    for _ in range(n):
        system.addParticle(12.0)
    system.addForce(force)
    return system


def evaluate(system, positions, platform="Reference", parameters=None):
    context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName(platform))
    context.setPositions(positions)
    for name, value in (parameters or {}).items():
        context.setParameter(name, value)
    state = context.getState(getEnergy=True, getForces=True)
    return (state.getPotentialEnergy().value_in_unit(KJ),
            state.getForces(asNumpy=True).value_in_unit(KJ / unit.nanometer))


def numpy_energy(positions, reference, pairs, k):
    """sum 1/2 k (|x_i - x_j| - |y_i - y_j|)^2, written with numpy."""
    i, j = np.asarray(pairs).T
    r = np.linalg.norm(positions[i] - positions[j], axis=1)
    r0 = np.linalg.norm(reference[i] - reference[j], axis=1)
    return float(np.sum(0.5 * np.asarray(k) * (r - r0) ** 2))


def all_pairs(n):
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def exp_k(reference, pairs, k0=24.0, length_scale=1.0):
    i, j = np.asarray(pairs).T
    return k0 * np.exp(-np.linalg.norm(reference[i] - reference[j], axis=1) / length_scale)


def custom_bond_force(reference, pairs, k):
    """OpenMM's own evaluation of the same restraint."""
    bonds = openmm.CustomBondForce("0.5*k*(r-r0)^2")
    bonds.addPerBondParameter("k")
    bonds.addPerBondParameter("r0")
    for (i, j), kij in zip(pairs, k):
        bonds.addBond(i, j, [float(kij), float(np.linalg.norm(reference[i] - reference[j]))])
    return bonds


@pytest.mark.parametrize("platform", PLATFORMS)
def test_complete_graph_equals_numpy_and_custom_bond_force(platform):
    n = 25
    reference = random_structure(n, 1)
    positions = perturbed(reference, 2, 0.1)
    pairs = all_pairs(n)
    # The exp preset (24/N per A^2, length 1 A) in nm: 2400/N per nm^2, 0.1 nm.
    k = exp_k(reference, pairs, k0=2400.0 / n, length_scale=0.1)
    energy, forces = evaluate(system_with(EnergyLossForce(reference), n), positions, platform)
    expected_energy, expected_forces = evaluate(
        system_with(custom_bond_force(reference, pairs, k), n), positions, platform)
    assert energy > 0
    assert energy == pytest.approx(numpy_energy(positions, reference, pairs, k), rel=1e-12)
    assert energy == pytest.approx(expected_energy, rel=1e-10)
    np.testing.assert_allclose(forces, expected_forces, atol=1e-8)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_cutoff_and_explicit_pairs_with_units(platform):
    n = 30
    reference = random_structure(n, 3, 1.5)
    positions = perturbed(reference, 4, 0.1)
    # Reference in angstrom, cutoff in angstrom, k0 in kJ/mol/angstrom^2.
    force = EnergyLossForce(reference * 10 * unit.angstrom, coeff="exp",
                            k0=0.5 * KJ / unit.angstrom**2, edges="cutoff",
                            cutoff=12 * unit.angstrom, per_atom=False,
                            length_scale=5 * unit.angstrom)
    pairs = [(i, j) for i, j in all_pairs(n) if np.linalg.norm(reference[i] - reference[j]) < 1.2]
    assert 0 < len(pairs) < n * (n - 1) // 2
    k = exp_k(reference, pairs, k0=50.0, length_scale=0.5)
    energy, _ = evaluate(system_with(force, n), positions * unit.nanometer, platform)
    assert energy == pytest.approx(numpy_energy(positions, reference, pairs, k), rel=1e-12)

    chosen = [(0, 5), (3, 17), (8, 29)]
    explicit = EnergyLossForce([openmm.Vec3(*row) for row in reference] * unit.nanometer,
                               coeff="explicit", edges=chosen, k=[10.0, 20.0, 30.0])
    assert explicit.getNumEdges() == 3 and not explicit.hasPairsWithinCutoff()
    energy, _ = evaluate(system_with(explicit, n), positions, platform)
    assert energy == pytest.approx(numpy_energy(positions, reference, chosen, [10, 20, 30]),
                                   rel=1e-12)


def test_bond_edges_follow_the_harmonic_bond_force():
    n = 6
    reference = random_structure(n, 5)
    positions = perturbed(reference, 6, 0.1)
    system = openmm.System()
    for _ in range(n):
        system.addParticle(1.0)
    bonds = openmm.HarmonicBondForce()
    for i in range(n - 1):
        bonds.addBond(i, i + 1, 0.1, 1000.0)
    bonds.addBond(1, 0, 0.1, 1000.0)  # the same pair again: one edge
    system.addForce(bonds)
    force = EnergyLossForce(reference, coeff="constant", k0=7.0, edges="bonds", system=system)
    assert force.getNumEdges() == n - 1
    energy, _ = evaluate(system_with(force, n), positions)
    chain = [(i, i + 1) for i in range(n - 1)]
    assert energy == pytest.approx(numpy_energy(positions, reference, chain, [7.0] * (n - 1)),
                                   rel=1e-12)


def test_sparse_rigid_edges_vanish_at_the_reference():
    reference = random_structure(20, 7)
    force = EnergyLossForce(reference, edges="sparse", seed=3)
    assert 0 < force.getNumEdges() < 20 * 19 // 2
    system = system_with(force, 20)  # owns the force from here on
    assert evaluate(system, reference)[0] == pytest.approx(0.0, abs=1e-14)
    assert evaluate(system, perturbed(reference, 8, 0.1))[0] > 0


def test_scale_parameter_anneals_energy_and_forces():
    reference = random_structure(12, 9)
    positions = perturbed(reference, 10, 0.2)
    assert EnergyLossForce(reference).getScaleParameterName() == "energyloss_scale"
    force = EnergyLossForce(reference, coeff="inv2", scale_name="lam", default_scale=2.0)
    system = system_with(force, 12)
    full, full_forces = evaluate(system, positions, parameters={"lam": 1.0})
    assert evaluate(system, positions)[0] == pytest.approx(2 * full, rel=1e-13)
    quarter, quarter_forces = evaluate(system, positions, parameters={"lam": 0.25})
    assert quarter == pytest.approx(0.25 * full, rel=1e-13)
    np.testing.assert_allclose(quarter_forces, 0.25 * full_forces, rtol=1e-12, atol=1e-14)
    assert evaluate(system, positions, parameters={"lam": 0.0})[0] == 0.0


@pytest.mark.parametrize("platform", PLATFORMS)
def test_force_survives_add_force_serialization_pickle_and_copy(platform):
    n = 15
    reference = random_structure(n, 11)
    positions = perturbed(reference, 12, 0.2)
    force = EnergyLossForce(reference, coeff="inv", k0=3.0, edges="cutoff", cutoff=1.3)
    force.addEdge(0, 7, 55.0)
    force.setForceGroup(2)
    system = system_with(force, n)
    expected, _ = evaluate(system, positions, platform)
    assert expected > 0

    recovered = EnergyLossForce.fromForce(system.getForce(0))
    assert isinstance(recovered, EnergyLossForce)
    assert recovered.getPairCutoff() == pytest.approx(1.3) and recovered.getNumEdges() == 1
    assert recovered.getForceGroup() == 2

    clone = openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(system))
    assert evaluate(clone, positions, platform)[0] == pytest.approx(expected, rel=1e-14)
    typed = EnergyLossForce.fromForce(clone.getForce(0))
    assert typed.getPairCoefficients().k0 == 3.0

    for copied in (pickle.loads(pickle.dumps(force)), copy.deepcopy(force), copy.copy(force)):
        assert isinstance(copied, EnergyLossForce)
        assert copied.getForceGroup() == 2
        np.testing.assert_array_equal(
            copied.getReferencePositions().value_in_unit(unit.nanometer),
            force.getReferencePositions().value_in_unit(unit.nanometer))
        assert evaluate(system_with(copied, n), positions, platform)[0] == pytest.approx(
            expected, rel=1e-14)

    standalone = EnergyLossForce.fromForce(
        openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(force)))
    assert standalone.thisown and standalone.getNumEdges() == 1


def test_update_parameters_in_context_and_rejected_updates():
    n = 10
    reference = random_structure(n, 13)
    positions = perturbed(reference, 14, 0.2)
    force = EnergyLossForce(reference, coeff="constant", k0=1.0, per_atom=False)
    force.addEdge(0, 1, 5.0)
    system = system_with(force, n)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName("CPU"))
    context.setPositions(positions)
    before = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(KJ)
    new_reference = perturbed(reference, 15, 0.05)
    force.setReferencePositions(new_reference * unit.nanometer)
    force.setEdgeParameters(0, 0, 1, 50.0)
    force.updateParametersInContext(context)
    after = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(KJ)
    expected = (numpy_energy(positions, new_reference, all_pairs(n), [1.0] * (n * (n - 1) // 2))
                + numpy_energy(positions, new_reference, [(0, 1)], [50.0]))
    assert after != pytest.approx(before)
    assert after == pytest.approx(expected, rel=1e-12)
    force.setEdgeParameters(0, 0, 2, 50.0)
    with pytest.raises(ValueError, match="changed its particles"):
        force.updateParametersInContext(context)
    assert context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(KJ) == after


def test_bad_input_raises_clear_errors():
    reference = random_structure(4, 16)
    with pytest.raises(ValueError, match="N x 3"):
        EnergyLossForce(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        EnergyLossForce([[0, 0, 0], [math.nan, 0, 0]])
    with pytest.raises(ValueError, match="length unit"):
        EnergyLossForce(reference * unit.kelvin)
    with pytest.raises(ValueError, match="unknown coefficient mode"):
        EnergyLossForce(reference, coeff="quadratic")
    with pytest.raises(ValueError, match="unknown edge mode"):
        EnergyLossForce(reference, edges="all")
    with pytest.raises(ValueError, match="needs cutoff"):
        EnergyLossForce(reference, edges="cutoff")
    with pytest.raises(ValueError, match="needs system"):
        EnergyLossForce(reference, edges="bonds")
    with pytest.raises(ValueError, match="explicit"):
        EnergyLossForce(reference, coeff="explicit")
    with pytest.raises(ValueError, match=r"\(0, 9\)"):
        EnergyLossForce(reference, edges=[(0, 9)])
    force = EnergyLossForce(reference)
    with pytest.raises(ValueError, match="5 particles, expected 4"):
        force.setReferencePositions(random_structure(5, 17))
    with pytest.raises(TypeError, match="not an EnergyLossForce"):
        EnergyLossForce.fromForce(openmm.HarmonicBondForce())
    system = system_with(force, 4)
    system.addParticle(1.0)  # five particles, four reference positions
    with pytest.raises(Exception, match="4 reference positions for a System of 5"):
        openmm.Context(system, openmm.VerletIntegrator(0.001))


def test_module_registered_our_kernels_on_both_platforms():
    assert openmmenergyloss.EnergyLossForce is EnergyLossForce
    failures = openmm.Platform.getPluginLoadFailures()
    assert not [f for f in failures if "energyloss" in f], failures
    for name in PLATFORMS:  # would raise "no registered kernel" otherwise
        evaluate(system_with(EnergyLossForce(random_structure(3, 18)), 3),
                 random_structure(3, 19), name)


def test_package_wraps_the_swig_module_and_takes_mode_names_from_cpp():
    """openmmenergyloss is a package around its SWIG module _core; its mode
    names are C++'s (energyloss::coefficient_mode_names) plus 'forcefield',
    and each k(r) mode gives the pair rule that C++ mode."""
    assert pathlib.Path(openmmenergyloss.__file__).name == "__init__.py"
    assert issubclass(EnergyLossForce, openmmenergyloss._core.EnergyLossForce)
    assert openmmenergyloss.COEFFICIENT_MODES == (
        "constant", "exp", "inv", "inv2", "lj", "morse", "explicit", "forcefield")
    reference = random_structure(4, 20)
    for mode in openmmenergyloss.COEFFICIENT_MODES:
        if mode in ("explicit", "forcefield"):
            continue
        spec = EnergyLossForce(reference, coeff=mode).getPairCoefficients()
        assert spec.mode == openmmenergyloss.parse_coefficient_mode(mode)
    with pytest.raises(ValueError, match="expected one of " + ", ".join(
            openmmenergyloss.COEFFICIENT_MODES)):
        EnergyLossForce(reference, coeff="quartic")


def test_pair_coefficients_outlive_their_force():
    """getPairCoefficients() gives Python its own copy: the spec stays valid
    after the force is collected (it used to point into the freed force)."""
    import gc
    force = EnergyLossForce(random_structure(4, 20), coeff="inv2")
    spec = force.getPairCoefficients()
    k0 = spec.k0
    del force
    gc.collect()
    for _ in range(100):  # reuse the freed memory
        EnergyLossForce(random_structure(4, 20), coeff="exp").setName("x" * 200)
    assert spec.mode == openmmenergyloss.parse_coefficient_mode("inv2")
    assert spec.k0 == k0
    force = EnergyLossForce(random_structure(4, 20), coeff="inv2")
    own = force.getPairCoefficients()
    own.k0 = 123.0  # a copy: changing it leaves the force's spec as it was
    assert force.getPairCoefficients().k0 == k0


def test_force_field_coefficients_on_bonds_equal_the_bond_constants():
    """coeff='forcefield': along a bonded pair amber's 1-2 nonbonded terms are
    excluded, so k is exactly the HarmonicBondForce's constant."""
    system, reference = make_system.build_system(
        str(SOURCE / "examples/openmm/data/alanine-dipeptide.pdb"),
        ["amber14-all.xml", "implicit/obc2.xml"], True)
    bond_k = {}
    for force in system.getForces():
        if isinstance(force, openmm.HarmonicBondForce):
            for b in range(force.getNumBonds()):
                i, j, _, k = force.getBondParameters(b)
                bond_k[(min(i, j), max(i, j))] = k.value_in_unit(KJ / unit.nanometer**2)
    restraint = EnergyLossForce(reference, coeff="forcefield", edges="bonds", system=system)
    assert restraint.getNumEdges() == len(bond_k) == 21
    for e in range(restraint.getNumEdges()):
        i, j, k, _ = restraint.getEdgeParameters(e)
        assert k == pytest.approx(bond_k[(i, j)], rel=1e-12)
    complete = EnergyLossForce(reference, coeff="forcefield", system=system)
    assert complete.getNumEdges() == 22 * 21 // 2 and not complete.hasPairsWithinCutoff()
    ks = np.array([complete.getEdgeParameters(e)[2] for e in range(complete.getNumEdges())])
    assert (ks > 0).all()
    with pytest.raises(ValueError, match="needs system"):
        EnergyLossForce(reference, coeff="forcefield")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_periodic_force_sees_the_unwrapped_structure(platform):
    """Particles scattered over periodic images give the energy of the whole
    structure, as OpenMM's own periodic CustomBondForce computes it."""
    n = 15
    reference = random_structure(n, 11, 0.5)
    positions = perturbed(reference, 12, 0.05)
    box = np.array([[2.5, 0, 0], [0, 2.5, 0], [0, 0, 2.5]])
    shifts = np.random.default_rng(13).integers(-2, 3, size=(n, 3))
    wrapped = positions + shifts @ box

    def periodic_system(force):
        force.setUsesPeriodicBoundaryConditions(True)
        system = system_with(force, n)
        system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*row) for row in box))
        return system

    pairs = all_pairs(n)
    k = exp_k(reference, pairs, k0=2400.0 / n, length_scale=0.1)
    force = EnergyLossForce(reference, periodic=True)
    assert force.usesPeriodicBoundaryConditions()
    clone = EnergyLossForce.fromForce(openmm.XmlSerializer.clone(force))
    assert clone.usesPeriodicBoundaryConditions()
    energy, forces = evaluate(periodic_system(force), wrapped, platform)
    expected_energy, expected_forces = evaluate(
        periodic_system(custom_bond_force(reference, pairs, k)), wrapped, platform)
    assert energy == pytest.approx(numpy_energy(positions, reference, pairs, k), rel=1e-10)
    assert energy == pytest.approx(expected_energy, rel=1e-8)
    np.testing.assert_allclose(forces, expected_forces, atol=1e-6)
    unwrapped_energy, _ = evaluate(system_with(EnergyLossForce(reference), n), wrapped, platform)
    assert unwrapped_energy > 10 * energy  # without PBC the images are far apart


def two_chains_in_a_box(edges, cutoff=None):
    """Two bonded 4-atom chains (HarmonicBondForce) in a periodic 3 nm box,
    restrained together by an EnergyLossForce; chain B sits across the +x
    face, so OpenMM wraps it by a box vector when it is a molecule of its own."""
    reference = np.array([[0.2 + 0.15 * a, 1.5, 1.5] for a in range(4)]
                         + [[2.95 + 0.15 * a, 1.5, 1.6] for a in range(4)])
    positions = perturbed(reference, 21, 0.02)
    system = openmm.System()
    system.setDefaultPeriodicBoxVectors(openmm.Vec3(3, 0, 0), openmm.Vec3(0, 3, 0),
                                        openmm.Vec3(0, 0, 3))
    bonds = openmm.HarmonicBondForce()
    for chain in (0, 4):
        for a in range(3):
            bonds.addBond(chain + a, chain + a + 1, 0.15, 1000.0)
    for _ in range(len(reference)):
        system.addParticle(12.0)
    system.addForce(bonds)
    force = EnergyLossForce(reference, edges=edges, cutoff=cutoff)
    force.setForceGroup(1)
    system.addForce(force)
    return system, reference, positions


def restraint_energy(context):
    return context.getState(getEnergy=True, groups={1}).getPotentialEnergy().value_in_unit(KJ)


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("edges, cutoff", [("complete", None), ("cutoff", 2.7 * unit.nanometer)])
def test_pair_rule_holds_its_particles_together_under_periodic_wrapping(platform, edges, cutoff):
    """OpenMM wraps molecules (from getBondedParticles) as wholes; the pair
    rule must make everything it couples one molecule, or getState(
    enforcePeriodicBox=True) moves one chain by a box vector and the
    restraint (periodic=False) sees the chains 3 nm apart (issue 14, fault 2)."""
    system, reference, positions = two_chains_in_a_box(edges, cutoff)
    n = len(reference)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName(platform))
    context.setPositions(positions)
    assert len(context.getMolecules()) == 1
    before = restraint_energy(context)
    limit = math.inf if cutoff is None else cutoff.value_in_unit(unit.nanometer)
    pairs = [(i, j) for i, j in all_pairs(n) if np.linalg.norm(reference[i] - reference[j]) < limit]
    k = exp_k(reference, pairs, k0=EnergyLossForce.fromForce(system.getForce(1))
              .getPairCoefficients().k0 / n,
              length_scale=EnergyLossForce.fromForce(system.getForce(1))
              .getPairCoefficients().length_scale)
    expected, _ = evaluate(system_with(custom_bond_force(reference, pairs, k), n), positions,
                           platform)
    assert before == pytest.approx(expected, rel=1e-10)
    wrapped = context.getState(getPositions=True, enforcePeriodicBox=True).getPositions()
    context.setPositions(wrapped)
    assert restraint_energy(context) == pytest.approx(before, rel=1e-10)
    # A fresh Context from the wrapped positions (a reloaded PDB or checkpoint).
    fresh = openmm.Context(system, openmm.VerletIntegrator(0.001),
                           openmm.Platform.getPlatformByName(platform))
    fresh.setPositions(wrapped)
    assert restraint_energy(fresh) == pytest.approx(before, rel=1e-10)


def test_cutoff_rule_reports_a_spanning_forest_of_its_pairs():
    """Particles the cutoff rule does not couple stay separate molecules; those
    it couples (directly or through a chain of pairs) become one."""
    reference = np.array([[0, 0, 0], [0.1, 0, 0], [0.2, 0, 0], [1.0, 0, 0], [1.05, 0, 0],
                          [3.0, 0, 0]], dtype=float)
    force = EnergyLossForce(reference, edges="cutoff", cutoff=0.15)
    system = system_with(force, len(reference))
    context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName("Reference"))
    molecules = sorted(sorted(m) for m in context.getMolecules())
    assert molecules == [[0, 1, 2], [3, 4], [5]]


# --- Keywords: units, keywords a mode does not use, edge lists, empty rules
# (trial B's findings F6 and F7; each case used to be accepted silently).

def test_length_keywords_refuse_units_that_are_not_lengths():
    """cutoff used to go through OpenMM's MD unit system, which reads 5 K as
    5 (taken as nm); every keyword is now converted to its own unit."""
    reference = random_structure(6, 30)
    refusals = [
        (dict(edges="cutoff", cutoff=5 * unit.kelvin), r"cutoff: 5 K is not convertible to nanometer"),
        (dict(length_scale=2 * unit.kelvin), r"length_scale: 2 K is not convertible to nanometer"),
        (dict(coeff="inv", eps=1 * unit.kelvin), r"eps: 1 K is not convertible to nanometer"),
        (dict(coeff="inv2", eps=1e-3 * unit.nanometer), r"eps: .* is not convertible to nanometer\*\*2"),
        (dict(coeff="explicit", edges=[(0, 1)], k=1 * unit.kelvin), r"k: 1 K is not convertible"),
        (dict(default_scale=2 * unit.kelvin), r"default_scale: 2 K is not convertible"),
    ]
    for kwargs, pattern in refusals:
        with pytest.raises(ValueError, match=pattern):
            EnergyLossForce(reference, **kwargs)
    # The same keywords in convertible units are converted (independent numbers).
    assert EnergyLossForce(reference, edges="cutoff",
                           cutoff=12 * unit.angstrom).getPairCutoff() == pytest.approx(1.2)
    spec = EnergyLossForce(reference, coeff="inv2", eps=10 * unit.angstrom**2).getPairCoefficients()
    assert spec.eps == pytest.approx(0.1)
    spec = EnergyLossForce(reference, coeff="morse", length_scale=3 * unit.angstrom).getPairCoefficients()
    assert spec.length_scale == pytest.approx(0.3)
    explicit = EnergyLossForce(reference, coeff="explicit", edges=[(0, 1)],
                               k=0.5 * KJ / unit.angstrom**2)
    assert explicit.getEdgeParameters(0)[2] == pytest.approx(50.0)


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(degree=6), r"keyword 'degree' applies to edges 'sparse', not edges='complete'"),
    (dict(seed=5), r"keyword 'seed' applies to edges 'sparse', not edges='complete'"),
    (dict(symmetrize=True), r"keyword 'symmetrize' applies to edges 'sparse', not edges='complete'"),
    (dict(edges="cutoff", cutoff=1.0, seed=1), r"keyword 'seed' applies to edges 'sparse'"),
    (dict(coeff="constant", length_scale=0.5),
     r"keyword 'length_scale' applies to coeff 'exp' and 'morse', not 'constant'"),
    (dict(coeff="lj", length_scale=0.5), r"keyword 'length_scale' applies to coeff 'exp' and 'morse', not 'lj'"),
    (dict(eps=1.0), r"keyword 'eps' applies to coeff 'inv' and 'inv2', not 'exp'"),
    (dict(coeff="morse", eps=1.0), r"keyword 'eps' applies to coeff 'inv' and 'inv2', not 'morse'"),
    (dict(edges=[(0, 1)], cutoff=0.3),
     r"keyword 'cutoff' applies to edges 'complete' and 'cutoff', not an explicit edge list"),
    (dict(edges="sparse", cutoff=0.3), r"keyword 'cutoff' applies to .*, not edges='sparse'"),
    (dict(coeff="explicit", edges=[(0, 1)], k=1.0, k0=2.0), r"keyword 'k0' applies to coeff .*not 'explicit'"),
    (dict(coeff="explicit", edges=[(0, 1)], k=1.0, per_atom=False), r"keyword 'per_atom' applies to"),
    (dict(system=openmm.System()), r"keyword 'system' applies to edges='bonds' and coeff='forcefield'"),
])
def test_keywords_the_modes_do_not_use_are_refused_by_name(kwargs, pattern):
    """Each of these used to be accepted and ignored: the energy was the same
    as without the keyword (trial B, F6)."""
    with pytest.raises(ValueError, match=pattern):
        EnergyLossForce(random_structure(6, 31), **kwargs)


def test_keywords_are_accepted_where_they_act():
    """The counterpart: each refused keyword changes the force where it applies."""
    n = 8
    reference = random_structure(n, 32)
    positions = perturbed(reference, 33, 0.1)
    pairs = all_pairs(n)

    def energy(**kwargs):
        return evaluate(system_with(EnergyLossForce(reference, **kwargs), n), positions)[0]

    k = exp_k(reference, pairs, k0=2400.0 / n, length_scale=0.3)
    assert energy(length_scale=0.3) == pytest.approx(numpy_energy(positions, reference, pairs, k),
                                                      rel=1e-12)
    r0 = np.linalg.norm(reference[np.array(pairs)[:, 0]] - reference[np.array(pairs)[:, 1]], axis=1)
    assert energy(coeff="inv", eps=0.2, per_atom=False, k0=3.0) == pytest.approx(
        numpy_energy(positions, reference, pairs, 3.0 / (r0 + 0.2)), rel=1e-12)
    near = [(i, j) for (i, j), r in zip(pairs, r0) if r < 1.0]
    assert 0 < len(near) < len(pairs)
    assert energy(edges="complete", cutoff=1.0, coeff="constant", k0=7.0, per_atom=False) == \
        pytest.approx(numpy_energy(positions, reference, near, [7.0] * len(near)), rel=1e-12)
    twelve = random_structure(12, 37)
    sparse = [EnergyLossForce(twelve, edges="sparse", degree=6, seed=seed) for seed in (0, 1)]
    assert {sparse[0].getNumEdges(), sparse[1].getNumEdges()} == {12 * 6 // 2}
    assert ([sparse[0].getEdgeParameters(e)[:2] for e in range(sparse[0].getNumEdges())]
            != [sparse[1].getEdgeParameters(e)[:2] for e in range(sparse[1].getNumEdges())])
    for bad, pattern in [(dict(degree=4.5), r"degree: expected an integer, got 4.5"),
                         (dict(seed=-1), r"seed: must be >= 0, got -1")]:
        with pytest.raises(ValueError, match=pattern):
            EnergyLossForce(reference, edges="sparse", **bad)


@pytest.mark.parametrize("coeff, extra", [("constant", {}), ("explicit", {"k": 5.0})])
def test_a_pair_listed_twice_is_refused_naming_both_positions(coeff, extra):
    """edges=[(0, 1), (1, 0)] used to restrain the pair twice (twice the
    energy of [(0, 1)]); LAMMPS's `edges file` refuses it too."""
    n = 6
    reference = random_structure(n, 34)
    positions = perturbed(reference, 35, 0.1)
    for edges, where in [([(0, 1), (1, 0)], r"pair \(1, 0\) at position 1 .*\(0, 1\) is at position 0"),
                         ([(0, 1), (2, 3), (0, 1)], r"pair \(0, 1\) at position 2 .*\(0, 1\) is at position 0"),
                         (np.array([[4, 5], [1, 2], [5, 4]]), r"pair \(5, 4\) at position 2 .*\(4, 5\) is at position 0")]:
        with pytest.raises(ValueError, match=r"edges: " + where):
            EnergyLossForce(reference, coeff=coeff, edges=edges, **extra)
    k = 5.0 if coeff == "explicit" else 100.0
    once, _ = evaluate(system_with(EnergyLossForce(reference, coeff=coeff, edges=[(1, 0), (2, 3)],
                                                   **extra), n), positions)
    assert once == pytest.approx(numpy_energy(positions, reference, [(0, 1), (2, 3)], [k, k]),
                                 rel=1e-12)


def test_a_rule_or_list_without_pairs_is_refused():
    """A restraint with no pairs used to give energy 0 silently; LAMMPS
    refuses `edges cutoff` without pairs and an empty `edges file`."""
    reference = np.array([[0.0, 0, 0], [0.3, 0, 0], [0.3, 0.4, 0]])
    with pytest.raises(ValueError, match=r"cutoff: 1e-06 nm gives no pairs: .*nearest are 0\.3 nm apart"):
        EnergyLossForce(reference, edges="cutoff", cutoff=1e-6)
    with pytest.raises(ValueError, match=r"cutoff: 0\.29 nm gives no pairs"):
        EnergyLossForce(reference, edges="complete", cutoff=2.9 * unit.angstrom)
    with pytest.raises(ValueError, match=r"1 particle gives no pairs"):
        EnergyLossForce(reference[:1])
    with pytest.raises(ValueError, match=r"edges: the list of pairs is empty"):
        EnergyLossForce(reference, coeff="constant", edges=[])
    # Just above the nearest distance: one pair, (0, 1), with the constant preset.
    force = EnergyLossForce(reference, coeff="constant", edges="cutoff", cutoff=0.30001)
    positions = perturbed(reference, 36, 0.05)
    assert evaluate(system_with(force, 3), positions)[0] == pytest.approx(
        numpy_energy(positions, reference, [(0, 1)], [100.0]), rel=1e-12)


def periodic_pair(box, platform, reference_distance=0.6, moved=0.05):
    """Two particles `reference_distance` nm apart in the reference, the second
    moved by `moved` nm along x, in a cubic box; (energy, context)."""
    reference = np.array([[0.1, 0.1, 0.1], [0.1 + reference_distance, 0.1, 0.1]])
    positions = reference.copy()
    positions[1, 0] += moved
    system = system_with(EnergyLossForce(reference, periodic=True), 2)
    system.setDefaultPeriodicBoxVectors(openmm.Vec3(box, 0, 0), openmm.Vec3(0, box, 0),
                                        openmm.Vec3(0, 0, box))
    context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName(platform))
    context.setPositions(positions)
    return context


@pytest.mark.parametrize("platform", PLATFORMS)
def test_periodic_reference_edge_longer_than_half_a_box_is_refused(platform):
    """Trial B, F7: a reference pair 0.6 nm apart in a 1.0 nm box was made
    'whole' through the nearest image (0.4 nm) and gave 0.09295 kJ/mol instead
    of 1/2 k 0.05^2 = 0.003718. Now the first evaluation refuses it, naming
    the pair; in a box that holds the pair the energy is the formula's."""
    k = 2400.0 / 2 * math.exp(-0.6 / 0.1)
    expected = 0.5 * k * 0.05**2
    context = periodic_pair(1.5, platform)
    energy = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(KJ)
    assert energy == pytest.approx(expected, rel=1e-10)
    with pytest.raises(Exception, match=r"periodic: particles 0 and 1 are 0\.6 nm apart in the "
                                        r"reference, at least half the periodic box \(1, 1, 1 nm\)"):
        periodic_pair(1.0, platform).getState(getEnergy=True)
    # A box shrunk after the first evaluation is checked too.
    context.setPeriodicBoxVectors(openmm.Vec3(1.1, 0, 0), openmm.Vec3(0, 1.1, 0),
                                  openmm.Vec3(0, 0, 1.1))
    with pytest.raises(Exception, match=r"particles 0 and 1 are 0\.6 nm apart"):
        context.getState(getEnergy=True)
    # Without periodic the same 1.0 nm box gives the formula's energy.
    reference = np.array([[0.1, 0.1, 0.1], [0.7, 0.1, 0.1]])
    plain = system_with(EnergyLossForce(reference), 2)
    plain.setDefaultPeriodicBoxVectors(openmm.Vec3(1, 0, 0), openmm.Vec3(0, 1, 0),
                                       openmm.Vec3(0, 0, 1))
    assert evaluate(plain, reference + [[0, 0, 0], [0.05, 0, 0]], platform)[0] == pytest.approx(
        expected, rel=1e-10)


def test_periodic_reference_wrapped_particle_by_particle_is_refused():
    """A reference cluster straddling a box corner, wrapped atom by atom, has a
    nearest-neighbour tree edge across the box: refused, where it used to give
    the energy of the split structure."""
    n, box = 20, 2.0
    rng = np.random.default_rng(7)
    whole = rng.normal(size=(n, 3)) * 0.25 + 1.9
    wrapped = whole - np.floor(whole / box) * box
    for reference, fine in ((whole, True), (wrapped, False)):
        system = system_with(EnergyLossForce(reference, periodic=True), n)
        system.setDefaultPeriodicBoxVectors(openmm.Vec3(box, 0, 0), openmm.Vec3(0, box, 0),
                                            openmm.Vec3(0, 0, box))
        if fine:
            assert evaluate(system, wrapped)[0] == pytest.approx(0.0, abs=1e-12)
        else:
            with pytest.raises(Exception, match=r"periodic: particles \d+ and \d+ are .* nm apart "
                                                r"in the reference, at least half"):
                evaluate(system, wrapped)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_periodic_molecules_the_restraint_does_not_couple_may_lie_apart(platform):
    """Two diatomics 2.85 nm apart in a 4 nm box, restrained on their bonds
    only, the second wrapped particle by particle (trial F): the particles
    are made whole within each coupled set, so the sets' distance is never
    checked against the box, and the energy is the formula's."""
    reference = np.array([[1.0, 1, 1], [1.1, 1, 1], [3.95, 1, 1], [4.05, 1, 1]])
    positions = reference + [[0, 0, 0], [0.01, 0, 0], [0, 0, 0], [0.02, 0, 0]]
    positions[3, 0] -= 4.0  # wrapped into the box
    pairs = [(0, 1), (2, 3)]
    system = system_with(EnergyLossForce(reference, coeff="constant", k0=100.0, per_atom=False,
                                         edges=pairs, periodic=True), 4)
    system.setDefaultPeriodicBoxVectors(openmm.Vec3(4, 0, 0), openmm.Vec3(0, 4, 0),
                                        openmm.Vec3(0, 0, 4))
    whole = positions.copy()
    whole[3, 0] += 4.0
    expected = numpy_energy(whole, reference, pairs, [100.0, 100.0])  # 1/2 100 (0.01² + 0.02²)
    assert expected == pytest.approx(0.025, rel=1e-9)
    assert evaluate(system, positions, platform)[0] == pytest.approx(expected, rel=1e-9)
    # Coupled by one more pair, the two diatomics are one set: its tree edge
    # (particles 1 and 2, 2.85 nm) is longer than half the box and refused.
    coupled = system_with(EnergyLossForce(reference, coeff="constant", k0=100.0, per_atom=False,
                                          edges=pairs + [(1, 2)], periodic=True), 4)
    coupled.setDefaultPeriodicBoxVectors(openmm.Vec3(4, 0, 0), openmm.Vec3(0, 4, 0),
                                         openmm.Vec3(0, 0, 4))
    with pytest.raises(Exception, match=r"particles 1 and 2 are 2\.85 nm apart"):
        evaluate(coupled, positions, platform)


def test_pairs_added_in_cpp_or_xml_are_checked_when_a_context_is_made():
    """The C++ methods (reached through SWIG) and XML bypass the Python
    keyword checks: a pair listed twice and a cutoff rule with no pairs are
    refused at Context creation and by updateParametersInContext."""
    reference = np.array([[0.0, 0, 0], [0.3, 0, 0], [0.3, 0.4, 0]])
    positions = perturbed(reference, 37, 0.05)
    twice = EnergyLossForce(reference, coeff="explicit", edges=[(0, 1)], k=100.0)
    twice.addEdge(1, 0, 100.0)
    xml = openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(twice))
    with pytest.raises(Exception, match=r"edges 0 and 1 both join particles 0 and 1"):
        evaluate(system_with(twice, 3), positions)  # the System now owns (and frees) twice
    with pytest.raises(Exception, match=r"edges 0 and 1 both join particles 0 and 1"):
        evaluate(system_with(xml, 3), positions)

    rule = EnergyLossForce(reference, coeff="constant", edges="cutoff", cutoff=0.35)
    spec = rule.getPairCoefficients()
    system = system_with(rule, 3)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(positions)
    before = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(KJ)
    assert before == pytest.approx(numpy_energy(positions, reference, [(0, 1)], [100.0]),
                                   rel=1e-12)
    rule.setPairsWithinCutoff(spec, 0.01)
    with pytest.raises(Exception, match=r"cutoff 0\.01 nm gives no pairs"):
        rule.updateParametersInContext(context)
    after = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(KJ)
    assert after == before  # the refused update changed nothing
    copy_of_rule = openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(rule))
    with pytest.raises(Exception, match=r"cutoff 0\.01 nm gives no pairs"):
        evaluate(system_with(copy_of_rule, 3), positions)


def test_integer_and_cutoff_keywords_out_of_range_name_the_keyword():
    """Trial F: degree=0 silently meant the default 6 (C++'s 0), seeds beyond
    the C++ types raised SWIG's OverflowError, and cutoff=0 or nan was
    reported under a C++ method's name."""
    reference = random_structure(20, 40)
    with pytest.raises(ValueError, match=r"degree: must be >= 1, got 0"):
        EnergyLossForce(reference, coeff="constant", edges="sparse", degree=0)
    with pytest.raises(ValueError, match=r"seed: must be <= 18446744073709551615, got "
                                         r"18446744073709551616"):
        EnergyLossForce(reference, coeff="constant", edges="sparse", seed=2**64)
    for bad in (0.0, math.nan, -1.0):
        with pytest.raises(ValueError, match=r"cutoff must be positive, got .* nm \(keyword cutoff\)"):
            EnergyLossForce(reference, edges="cutoff", cutoff=bad)
    # The largest seed still draws a graph: 20 atoms, degree 6 -> 60 edges.
    force = EnergyLossForce(reference, coeff="constant", edges="sparse", seed=2**64 - 1)
    assert force.getNumEdges() == 60


def test_moving_an_edge_onto_another_is_named_as_a_moved_edge():
    """Trial H: an edge moved after the Context exists was reported as a
    duplicate ("remove one"), though no edge may move at all then."""
    reference = np.array([[0.0, 0, 0], [0.3, 0, 0], [0.3, 0.4, 0]])
    force = EnergyLossForce(reference, coeff="explicit", edges=[(0, 1), (1, 2)], k=100.0)
    system = system_with(force, 3)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(reference)
    force.setEdgeParameters(1, 1, 0, 100.0)
    with pytest.raises(Exception, match=r"edge 1 changed its particles from \(1, 2\) to \(1, 0\)"):
        force.updateParametersInContext(context)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_periodic_tree_uses_only_restrained_pairs(platform):
    """Trial H: pairs 0-1 and 1-2 are restrained, each within half of the
    (3, 3, 1) nm box; the unrestrained pair 0-2 (0.8 nm in z) is not. The
    tree used to be the minimum spanning tree of all distances, took 0-2 and
    refused the whole reference; now it is built from restrained pairs."""
    reference = np.array([[1.0, 1, 0.1], [1.9, 1, 0.5], [1.0, 1, 0.9]])
    pairs = [(0, 1), (1, 2)]
    positions = reference + [[0, 0, 0], [0.01, 0, 0], [0, 0.01, 0]]
    wrapped = positions.copy()
    wrapped[2, 2] -= 1.0  # particle 2 arrives in another image along z
    system = system_with(EnergyLossForce(reference, coeff="constant", k0=100.0, per_atom=False,
                                         edges=pairs, periodic=True), 3)
    system.setDefaultPeriodicBoxVectors(openmm.Vec3(3, 0, 0), openmm.Vec3(0, 3, 0),
                                        openmm.Vec3(0, 0, 1))
    expected = numpy_energy(positions, reference, pairs, [100.0, 100.0])
    assert expected > 0
    assert evaluate(system, wrapped, platform)[0] == pytest.approx(expected, rel=1e-9)
