"""seed(): start a Simulation from a trained generator (the energyloss
generator protocol) through the C++ GeneratorSeeder."""
import os

import openmm
from openmm import unit

from . import _core
from ._units import in_unit, integer

__all__ = ["seed", "SeedResult"]


class SeedResult:
    """What seed() measured: every candidate's potential energy as drawn
    (`energies`) and after minimisation (`minimized_energies`, None when not
    minimising), the index of the chosen candidate and the energy the Context
    now has. Energies are Quantities in kJ/mol; NaN marks a candidate the
    force field could not evaluate."""

    def __init__(self, report, minimized):
        self.energies = unit.Quantity(list(report.energies), unit.kilojoule_per_mole)
        self.minimized_energies = (unit.Quantity(list(report.minimizedEnergies),
                                                 unit.kilojoule_per_mole) if minimized else None)
        self.chosen = int(report.chosen)
        self.energy = unit.Quantity(report.chosenEnergy, unit.kilojoule_per_mole)

    def __repr__(self):
        count = len(self.energies)
        return f"SeedResult(chosen={self.chosen}, energy={self.energy}, candidates={count})"


def seed(simulation_or_context, generator, candidates=8, minimize=True,
         temperature=300 * unit.kelvin, *, sample_seed=0,
         tolerance=10 * unit.kilojoule_per_mole / unit.nanometer, max_iterations=0,
         velocity_seed=0, atom_map=None):
    """Seeds a Simulation's (or a Context's) positions and velocities from a
    generator file (the energyloss generator protocol: TorchScript with
    n_atoms, length_unit and sample(n, seed)).

    Draws `candidates` structures (seed `sample_seed`), converts them to nm,
    places generator atom a on particle a (or atom_map[a]; virtual sites are
    built from the candidate's atoms, and a map onto one raises), scores each
    with the Context's force field, minimises it first when `minimize`
    (LocalEnergyMinimizer with `tolerance` and `max_iterations`, 0 = no cap),
    keeps the lowest-energy one and draws velocities at `temperature`
    (0 K: at rest; seed `velocity_seed`). Returns a SeedResult. Mismatched atom
    counts, bad maps, NaN samples and reduced-unit generators raise
    ValueError and leave the Context unchanged, as do counts or seeds that
    are not integers and a negative sample_seed; a build without LibTorch raises
    RuntimeError."""
    if not hasattr(_core, "GeneratorSeeder"):
        raise RuntimeError("openmmenergyloss was built without LibTorch: seed() is unavailable")
    context = getattr(simulation_or_context, "context", simulation_or_context)
    if not isinstance(context, openmm.Context):
        raise TypeError(f"seed: expected an openmm.app.Simulation or openmm.Context, got "
                        f"{type(simulation_or_context).__name__}")
    options = _core.SeedOptions()
    # Counts and seeds must be integers (2.5 candidates is refused, not
    # truncated); the sample seed >= 0, as LAMMPS's seed_atoms requires.
    options.candidates = integer(candidates, "candidates")
    options.sampleSeed = integer(sample_seed, "sample_seed", minimum=0, maximum=2**63 - 1)
    options.minimize = bool(minimize)
    options.tolerance = in_unit(tolerance, unit.kilojoule_per_mole / unit.nanometer, "tolerance")
    options.maxIterations = integer(max_iterations, "max_iterations")
    options.temperature = in_unit(temperature, unit.kelvin, "temperature")
    options.velocitySeed = integer(velocity_seed, "velocity_seed")
    if atom_map is not None:
        options.particleMap = _core.IntVector([integer(index, "atom_map") for index in atom_map])
    report = _core.GeneratorSeeder(os.fspath(generator)).seed(context, options)
    return SeedResult(report, options.minimize)
