"""openmmenergyloss.seed on alanine dipeptide (amber14 + OBC2): the chosen
candidate is the lowest-energy one (checked by scoring the generator's own
samples in a separate Context), and bad input raises without touching the
Context."""
import os
import pathlib
import subprocess
import sys

import numpy as np
import openmm
import pytest
import torch
from openmm import app, unit

import openmmenergyloss

SOURCE = pathlib.Path(os.environ.get("ENERGYLOSS_SOURCE_DIR",
                                     pathlib.Path(__file__).resolve().parents[3]))
PDB = SOURCE / "examples/openmm/data/alanine-dipeptide.pdb"
sys.path.insert(0, str(SOURCE / "examples/openmm"))
import make_system  # noqa: E402  (the examples' own System builder)

KJ = unit.kilojoule_per_mole


@pytest.fixture(scope="module")
def alanine():
    system, positions = make_system.build_system(str(PDB), ["amber14-all.xml", "implicit/obc2.xml"],
                                                 True)
    return system, positions


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    """The project's noise generator around the PDB, in angstrom."""
    path = tmp_path_factory.mktemp("gen") / "alanine_gen.pt"
    subprocess.run([sys.executable, str(SOURCE / "examples/generators/make_generator.py"), str(PDB),
                    "--noise", "0.15", "--output", str(path)], check=True)
    return path


def test_seed_in_a_process_that_never_imports_energyloss(alanine, generator, tmp_path):
    """make_generator.py's noise is torch.ops.energyloss.seeded_normal. A plain
    OpenMM script (openmm + openmmenergyloss only) seeds from it: the seeder's
    own libraries register the op. The candidates it scores are the PDB plus
    0.15 angstrom times energyloss.seeded_normal([3, 22, 3], 5), computed here."""
    import energyloss

    code = torch.jit.load(str(generator)).sample.code  # this process has the op (openmmenergyloss)
    assert "ops.energyloss.seeded_normal" in code, code
    output = tmp_path / "seeded.npz"
    script = f"""
import sys
import numpy as np
import openmm
from openmm import unit
import openmmenergyloss
assert "energyloss" not in sys.modules and "torch" not in sys.modules, sorted(sys.modules)
system = openmm.XmlSerializer.deserialize(open({str(tmp_path / "system.xml")!r}).read())
context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                         openmm.Platform.getPlatformByName("Reference"))
context.setPositions(np.zeros((22, 3)))
result = openmmenergyloss.seed(context, {str(generator)!r}, candidates=3, minimize=False,
                               temperature=0 * unit.kelvin, sample_seed=5)
positions = context.getState(getPositions=True).getPositions(asNumpy=True)
np.savez({str(output)!r}, chosen=result.chosen, positions=positions.value_in_unit(unit.nanometer),
         energies=np.asarray(result.energies.value_in_unit(unit.kilojoule_per_mole)))
"""
    system, positions = alanine
    (tmp_path / "system.xml").write_text(openmm.XmlSerializer.serialize(system))
    env = {key: value for key, value in os.environ.items() if key != "ENERGYLOSS_TORCH_LIBRARY"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    saved = np.load(output)
    chosen, energies, seeded = int(saved["chosen"]), saved["energies"], saved["positions"]

    pdb = np.array(app.PDBFile(str(PDB)).getPositions().value_in_unit(unit.angstrom))
    candidates = (pdb + 0.15 * energyloss.seeded_normal([3, 22, 3], 5).numpy()) / 10.0  # nm
    scorer = context_for(system, positions)
    expected = []
    for candidate in candidates:
        scorer.setPositions(candidate)
        expected.append(scorer.getState(getEnergy=True).getPotentialEnergy().value_in_unit(KJ))
    np.testing.assert_allclose(energies, expected, rtol=1e-9)
    assert chosen == int(np.argmin(expected))
    np.testing.assert_allclose(seeded, candidates[chosen], atol=1e-12)


class ScriptedGenerator(torch.nn.Module):
    """A fixed structure; NaN in the first sample when seed == nan_seed."""
    n_atoms: int
    length_unit: str

    def __init__(self, base, length_unit, nan_seed):
        super().__init__()
        self.n_atoms = base.shape[0]
        self.length_unit = length_unit
        self.base = torch.as_tensor(base, dtype=torch.float64)
        self.nan_seed = nan_seed

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        out = self.base.unsqueeze(0).repeat(n, 1, 1)
        if seed == self.nan_seed:
            out[0, 0, 0] = float("nan")
        return out


def scripted(tmp_path, name, base, length_unit="nm", nan_seed=-1):
    path = tmp_path / name
    torch.jit.save(torch.jit.script(ScriptedGenerator(base, length_unit, nan_seed)), str(path))
    return path


def context_for(system, positions, platform="Reference"):
    context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName(platform))
    context.setPositions(positions)
    return context


def positions_nm(context):
    return context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(
        unit.nanometer)


def test_seed_chooses_the_lowest_energy_candidate(alanine, generator):
    system, positions = alanine
    samples = torch.jit.load(str(generator)).sample(6, 4).numpy() / 10.0  # angstrom -> nm
    scorer = context_for(system, positions)
    expected = []
    for sample in samples:
        scorer.setPositions(sample)
        expected.append(scorer.getState(getEnergy=True).getPotentialEnergy().value_in_unit(KJ))
    context = context_for(system, positions)
    result = openmmenergyloss.seed(context, generator, candidates=6, minimize=False,
                                   temperature=0 * unit.kelvin, sample_seed=4)
    np.testing.assert_allclose(result.energies.value_in_unit(KJ), expected, rtol=1e-9)
    assert result.minimized_energies is None
    assert result.chosen == int(np.argmin(expected))
    np.testing.assert_allclose(positions_nm(context), samples[result.chosen], atol=1e-12)
    state = context.getState(getEnergy=True, getVelocities=True)
    assert state.getPotentialEnergy().value_in_unit(KJ) == pytest.approx(min(expected), rel=1e-9)
    velocities = state.getVelocities(asNumpy=True).value_in_unit(unit.nanometer / unit.picosecond)
    assert not velocities.any()


def test_seed_a_simulation_with_minimisation_and_temperature(alanine, generator):
    system, positions = alanine
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond,
                                                 0.002 * unit.picoseconds)
    simulation = app.Simulation(app.PDBFile(str(PDB)).topology, system, integrator,
                                openmm.Platform.getPlatformByName("CPU"))
    simulation.context.setPositions(positions)
    result = openmmenergyloss.seed(simulation, generator, candidates=3, max_iterations=200,
                                   velocity_seed=3)
    raw = result.energies.value_in_unit(KJ)
    minimized = result.minimized_energies.value_in_unit(KJ)
    assert all(after < before for before, after in zip(raw, minimized))
    assert result.chosen == int(np.argmin(minimized))
    state = simulation.context.getState(getEnergy=True)
    # The CPU platform sums in single precision and thread order: equal to ~1e-7.
    assert state.getPotentialEnergy().value_in_unit(KJ) == pytest.approx(minimized[result.chosen],
                                                                         rel=1e-6)
    assert 20 < state.getKineticEnergy().value_in_unit(KJ) < 250  # 3/2 N kT ~ 82 kJ/mol
    simulation.step(10)  # the seeded state runs


def test_atom_count_mismatch_raises_and_leaves_positions_untouched(alanine, tmp_path):
    system, positions = alanine
    short = scripted(tmp_path, "short.pt", positions[:21])
    context = context_for(system, positions)
    context.setVelocitiesToTemperature(300 * unit.kelvin, 1)
    def positions_and_velocities():
        state = context.getState(getPositions=True, getVelocities=True)
        return (state.getPositions(asNumpy=True).value_in_unit(unit.nanometer),
                state.getVelocities(asNumpy=True).value_in_unit(unit.nanometer / unit.picosecond))

    before = positions_and_velocities()
    with pytest.raises(ValueError, match="generator has 21 atoms but the System has 22 particles"):
        openmmenergyloss.seed(context, short)
    after = positions_and_velocities()
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    # An explicit map places the 21 atoms and leaves particle 21 where it was.
    result = openmmenergyloss.seed(context, short, candidates=1, minimize=False,
                                   atom_map=list(range(21)))
    assert result.chosen == 0
    np.testing.assert_array_equal(positions_nm(context)[21], before[0][21])
    np.testing.assert_allclose(positions_nm(context)[:21], positions[:21], atol=1e-12)


def test_nan_samples_units_and_bad_arguments_raise(alanine, tmp_path):
    system, positions = alanine
    base = positions
    context = context_for(system, positions)
    before = positions_nm(context)
    nan = scripted(tmp_path, "nan.pt", base, nan_seed=7)
    with pytest.raises(ValueError, match="non-finite value"):
        openmmenergyloss.seed(context, nan, sample_seed=7)
    reduced = scripted(tmp_path, "lj.pt", base, length_unit="lj")
    # Named by its file, as every other generator error is (trial B, F6).
    with pytest.raises(ValueError, match=f"generator '{reduced}' has length_unit 'lj': reduced"):
        openmmenergyloss.seed(context, reduced)
    # Counts and seeds are integers, not truncated; the sample seed >= 0 (as in LAMMPS).
    for bad, message in [(dict(candidates=2.5), r"candidates: expected an integer, got 2\.5"),
                         (dict(max_iterations=10.5), r"max_iterations: expected an integer"),
                         (dict(sample_seed=-1), r"sample_seed: must be >= 0, got -1"),
                         # beyond the C++ fields: was SWIG's OverflowError (trial F)
                         (dict(sample_seed=2**63), r"sample_seed: must be <= 9223372036854775807"),
                         (dict(velocity_seed=2**31), r"velocity_seed: must be <= 2147483647"),
                         (dict(atom_map=[0.5] * 22), r"atom_map: expected an integer, got 0\.5")]:
        with pytest.raises(ValueError, match=message):
            openmmenergyloss.seed(context, nan, **bad)
    with pytest.raises(ValueError, match="temperature"):
        openmmenergyloss.seed(context, nan, temperature=300 * unit.nanometer)
    with pytest.raises(ValueError, match="file not found"):
        openmmenergyloss.seed(context, tmp_path / "missing.pt")
    with pytest.raises(TypeError, match="Simulation or openmm.Context"):
        openmmenergyloss.seed(system, nan)
    np.testing.assert_array_equal(positions_nm(context), before)
    # The same generator in nm with a valid seed: all candidates equal, the first is kept.
    result = openmmenergyloss.seed(context, nan, candidates=2, minimize=False, sample_seed=1)
    assert result.chosen == 0
    np.testing.assert_allclose(positions_nm(context), base, atol=1e-12)
