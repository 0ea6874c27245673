"""Corpus kind `openmm_force`: bad EnergyLossForce parameters and bad
openmmenergyloss.seed arguments. After each, a Context holding a good force
still evaluates (and a failed seed leaves its positions unchanged)."""
import math

import numpy as np
import openmm
import pytest
import torch
from openmm import unit

import openmmenergyloss
from openmmenergyloss import EnergyLossForce
from corpus_common import expect_error, harmonic_context
from gen_common import write
from energyloss import graphs

REF = np.array([[0.0, 0, 0], [0.15, 0, 0], [0.15, 0.15, 0], [0, 0.15, 0.02]])
NAN_REF = REF.copy(); NAN_REF[2, 1] = math.nan
SPARSE = graphs.sparse_rigid_edges(torch.tensor(np.vstack([REF, REF + [0.3, 0.01, 0.05]])))


def _context(force=None, n=4):
    system = openmm.System()
    for _ in range(n):
        system.addParticle(1.0)
    system.addForce(force if force is not None else EnergyLossForce(REF[:n]))
    context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName("Reference"))
    context.setPositions((REF[:n] + 0.01) * unit.nanometer)
    return context


@pytest.fixture(scope="module")
def context():
    return _context()


def _energy(context):
    return context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(
        unit.kilojoule_per_mole)


FORCE = {
    "coeff-unknown": (lambda: EnergyLossForce(REF, coeff="quartic"), r"coeff: unknown coefficient mode 'quartic'"),
    "edges-unknown": (lambda: EnergyLossForce(REF, edges="dense"), r"edges: unknown edge mode 'dense'"),
    "edges-tuple-from-sparse": (lambda: EnergyLossForce(np.vstack([REF, REF + [0.3, 0.01, 0.05]]), coeff="constant", edges=SPARSE), r"edges: got a tuple of \(edges, weights\), as sparse_rigid_edges returns"),
    "edges-out-of-range": (lambda: EnergyLossForce(REF, coeff="constant", edges=[(0, 9)]), r"edge \(0, 9\) is out of range for 4 particles"),
    "edges-self": (lambda: EnergyLossForce(REF, coeff="constant", edges=[(1, 1)]), r"edge joins particle 1 to itself"),
    "edges-negative": (lambda: EnergyLossForce(REF, coeff="constant", edges=[(-1, 2)]), r"edge \(-1, 2\) is out of range for 4 particles"),
    "explicit-no-k": (lambda: EnergyLossForce(REF, coeff="explicit", edges=[(0, 1)]), r"coeff='explicit' needs k"),
    "explicit-named-edges": (lambda: EnergyLossForce(REF, coeff="explicit", k=1.0), r"coeff='explicit' needs edges given as a list"),
    "explicit-k-count": (lambda: EnergyLossForce(REF, coeff="explicit", edges=[(0, 1), (1, 2)], k=[1.0, 2.0, 3.0]), r"k: 3 spring constants for 2 edges"),
    "k-without-explicit": (lambda: EnergyLossForce(REF, k=1.0), r"k is only used with coeff='explicit'"),
    "k0-negative": (lambda: EnergyLossForce(REF, k0=-1.0), r"coefficient mode 'exp': k0 must be finite and non-negative, got -1"),
    "k0-nan": (lambda: EnergyLossForce(REF, k0=math.nan), r"k0 must be finite and non-negative, got nan"),
    "k0-text": (lambda: EnergyLossForce(REF, k0="strong"), r"k0: expected a number, got 'strong'"),
    "k0-wrong-unit": (lambda: EnergyLossForce(REF, k0=1.0 * unit.kelvin), r"k0: 1.0 K is not convertible to kilojoule"),
    "length-scale-negative": (lambda: EnergyLossForce(REF, length_scale=-0.1), r"length_scale must be positive, got -0.1"),
    "cutoff-missing": (lambda: EnergyLossForce(REF, edges="cutoff"), r"edges='cutoff' needs cutoff"),
    "cutoff-negative": (lambda: EnergyLossForce(REF, edges="cutoff", cutoff=-1.0), r"cutoff must be positive, got -1"),
    "bonds-no-system": (lambda: EnergyLossForce(REF, edges="bonds"), r"edges='bonds' needs system"),
    "forcefield-no-system": (lambda: EnergyLossForce(REF, coeff="forcefield", edges=[(0, 1)]), r"coeff='forcefield' needs system"),
    "sparse-degree": (lambda: EnergyLossForce(REF, edges="sparse", degree=2), r"degree must be at least dim \+ 1 = 4"),
    "reference-nan": (lambda: EnergyLossForce(NAN_REF), r"contains NaN or infinite coordinates"),
    "reference-shape": (lambda: EnergyLossForce(np.zeros((4, 2))), r"expected an N x 3 array of positions, got shape \(4, 2\)"),
    "reference-not-length": (lambda: EnergyLossForce(REF * unit.kelvin), r"is not a length unit"),
    "edges-triples": (lambda: EnergyLossForce(REF, coeff="constant", edges=[(0, 1, 2)]), r"edges: expected a list of \(i, j\) pairs, got an entry \(0, 1, 2\)"),
    "length-scale-wrong-unit": (lambda: EnergyLossForce(REF, length_scale=0.1 * unit.kelvin), r"length_scale: 0.1 K is not convertible to nanometer"),
    "k0-inv-as-k": (lambda: EnergyLossForce(REF, coeff="inv", k0=1.0 * unit.kilojoule_per_mole / unit.nanometer**2), r"k0: .* is not convertible to"),
    "default-scale-nan": (lambda: EnergyLossForce(REF, default_scale=math.nan), r"the default scale must be finite, got nan"),
    "set-reference-count": (lambda: EnergyLossForce(REF).setReferencePositions(REF[:3]), r"referencePositions has 3 particles, expected 4"),
    "force-particle-mismatch": (lambda: _energy(_context(EnergyLossForce(REF), n=3)), r"4 reference positions for a System of 3 particles"),
}


@pytest.mark.parametrize("name", sorted(FORCE))
def test_bad_force_parameters(name, context):
    bad, pattern = FORCE[name]
    expect_error(bad, pattern, lambda: _energy(context))


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    directory = tmp_path_factory.mktemp("gen")
    return write(str(directory), "good", "nm")




SEED = {
    "candidates-zero": (dict(candidates=0), r"candidates must be >= 1, got 0"),
    "atom-map-short": (dict(atom_map=list(range(31))), r"the particle map has 31 entries for the generator's 32 atoms"),
    "atom-map-out-of-range": (dict(atom_map=list(range(31)) + [99]), r"particle map entry 31 = 99 is out of range for a System of 32 particles"),
    "atom-map-duplicate": (dict(atom_map=[0] * 32), r"the particle map sends two atoms to particle 0"),
    "temperature-negative": (dict(temperature=-5.0), r"the temperature must be >= 0 K, got -5"),
    "temperature-wrong-unit": (dict(temperature=5.0 * unit.nanometer), r"temperature: 5.0 nm is not convertible to kelvin"),
    "tolerance-text": (dict(tolerance="tight"), r"tolerance: expected a number or a Quantity in .*, got 'tight'"),
    "not-a-context": (dict(target="context"), r"seed: expected an openmm.app.Simulation or openmm.Context, got str"),
    "missing-generator": (dict(generator="/nonexistent/gen.pt"), r"generator '/nonexistent/gen.pt': file not found"),
    "wrong-atom-count": (dict(particles=33), r"the generator has 32 atoms but the System has 33 particles"),
}


@pytest.mark.parametrize("name", sorted(SEED))
def test_bad_seed_arguments(name, generator):
    kwargs, pattern = dict(SEED[name][0]), SEED[name][1]
    context = harmonic_context()
    if kwargs.pop("particles", None):
        system = openmm.System()
        for _ in range(33):
            system.addParticle(1.0)
        system.addForce(openmm.CustomExternalForce("x^2"))
        context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                                 openmm.Platform.getPlatformByName("Reference"))
        context.setPositions(np.zeros((33, 3)) * unit.nanometer)
    target = kwargs.pop("target", context)
    path = kwargs.pop("generator", generator)
    before = np.asarray(context.getState(getPositions=True).getPositions(asNumpy=True))

    def good():
        after = np.asarray(context.getState(getPositions=True).getPositions(asNumpy=True))
        assert np.array_equal(after, before), "a failed seed moved atoms"
        return context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(
            unit.kilojoule_per_mole)

    expect_error(lambda: openmmenergyloss.seed(target, path, **{"minimize": False, **kwargs}),
                 pattern, good)
