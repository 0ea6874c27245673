"""Corpus kind `generator`: broken generator files, loaded by
energyloss.Generator, openmmenergyloss.seed (an OpenMM Context that must
still evaluate, unchanged, afterwards) and LAMMPS `seed_atoms`."""
import numpy as np
import pytest
from openmm import unit

import openmmenergyloss
from energyloss.oracles import Generator
from corpus_common import expect_error, harmonic_context, run_lammps
from gen_common import BROKEN, write
from lammps_common import deck

NAMES = sorted(BROKEN)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("generators")
    out = {}
    for u in ("lj", "nm"):
        sub = directory / u
        sub.mkdir()
        out[u] = {name: write(str(sub), name, u) for name in NAMES + ["good"]}
    return out


@pytest.mark.parametrize("name", NAMES)
def test_generator_load(name, files):
    good = lambda: Generator(files["lj"]["good"]).sample(2, seed=1)  # noqa: E731
    expect_error(lambda: Generator(files["lj"][name]).sample(3), BROKEN[name][1], good)




@pytest.fixture(scope="module")
def context():
    return harmonic_context()


@pytest.mark.parametrize("name", NAMES)
def test_openmm_seed(name, files, context):
    before = context.getState(getPositions=True).getPositions(asNumpy=True)

    def good():
        energy = context.getState(getEnergy=True).getPotentialEnergy()
        after = context.getState(getPositions=True).getPositions(asNumpy=True)
        assert np.array_equal(np.asarray(after), np.asarray(before)), "a failed seed moved atoms"
        assert np.isfinite(energy.value_in_unit(unit.kilojoule_per_mole))
        return energy.value_in_unit(unit.kilojoule_per_mole)

    expect_error(lambda: openmmenergyloss.seed(context, files["nm"][name], candidates=2,
                                               minimize=False), BROKEN[name][1], good)


def test_openmm_seed_good_after_bad(files):
    context = harmonic_context()
    with pytest.raises(ValueError):
        openmmenergyloss.seed(context, files["nm"]["nan"], candidates=2, minimize=False)
    openmmenergyloss.seed(context, files["nm"]["good"], candidates=2, minimize=False)
    energy = context.getState(getEnergy=True).getPotentialEnergy()
    assert np.isfinite(energy.value_in_unit(unit.kilojoule_per_mole))


@pytest.mark.parametrize("name", NAMES)
def test_seed_atoms(name, files, tmp_path):
    run_lammps(deck(f"seed_atoms all {files['lj'][name]} candidates 2"), str(tmp_path),
               "seed_atoms: .*" + BROKEN[name][1])
