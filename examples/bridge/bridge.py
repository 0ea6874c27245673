#!/usr/bin/python3
"""The bridge: simulate, train generators with a force-field-derived energy
loss, export them, and seed OpenMM and LAMMPS from them. energyloss's main job.

Stages, per system (alanine dipeptide in OpenMM, LJ38 in LAMMPS):
  1. simulate  training data made by the engines: OpenMM Langevin MD of
               alanine dipeptide (amber14 + OBC2, 300 K), LAMMPS Langevin MD
               of a 38-atom Lennard-Jones cluster (lj38_md.lmp, T* = 0.12).
  2. train     one graph-conditioned diffusion model per loss, same budget:
               energy-ff (pair energy loss with k from the system's own force
               field through energyloss's oracles, in kT units), mse, and
               energy (the paper's exp coefficients).
  3. export    each model as a TorchScript generator (energyloss protocol,
               seeded noise from torch.ops.energyloss.seeded_normal), loaded
               back and validated with energyloss.Generator.
  4. seed      the way users do: seed_alanine.py calls openmmenergyloss.seed
               then runs NVT MD; seed_lj38.lmp runs seed_atoms, minimise and
               MD in Debian's stock lmp and in lmp_energyloss.
  5. measure   samples against the MD data beside the usual starts (the PDB
               structure plus noise; random placement): force-field energy
               raw and minimised, alanine's phi/psi, chirality and overlaps,
               LJ38's minimised energy per atom and how often the lowest
               structure in the data is reached, and the seeded MD's energy.

Writes OUTPUT/summary.md, samples.csv, seeded_md.csv, training.csv,
ramachandran.png, energies.png, seeded_md.png, the generators
(OUTPUT/<system>/<loss>.pt) and the seeded structures and trajectories.
Run with Debian's python3 and PYTHONPATH=build/python (scripts/demo.sh does).
"""

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch

import energyloss
from energyloss.generative import Batch, GraphDenoiser, export_generator, train

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "examples", "openmm"))
sys.path.insert(0, os.path.join(ROOT, "examples", "generators"))

# energy-ff: k_ij = the force field's curvature along each pair (the per-pair
# Hessian projection, floored); energy-hfit: the non-negative springs whose
# network Hessian best fits the force field's (Hessian-fitted springs).
# energy-hfit+ff adds the force field's true-energy term (E_FF(x0_hat) -
# E_FF(x0)) / kT, weight FF_WEIGHT, on batch entries with noise level sigma
# <= FF_MAX_SIGMA (energyloss.ForceFieldEnergyLoss); selectable, not default.
FF_METHODS = {"energy-ff": "finite_difference", "energy-hfit": "hessian_fit"}
FF_TERM, FF_WEIGHT, FF_MAX_SIGMA = "+ff", 1.0, 0.1
LOSSES = ("energy-hfit", "energy-ff", "mse", "energy")
LOSS_CHOICES = LOSSES + ("energy-hfit" + FF_TERM,)
SYSTEMS = ("alanine", "lj38")
KT_300K = 0.0083144626 * 300.0  # kJ/mol
ANGSTROM_PER_NM = 10.0
LJ_TEMPERATURE = 0.12  # epsilon / k_B, as in lj38_md.lmp
OVERLAP = 0.7  # angstrom: no two atoms of a molecule are closer (bonds to H are ~1 A)
SIZES = {  # quick, full, tiny (the pipeline test)
    "frames": (500, 4000, 40), "md_every": (100, 250, 20), "steps": (600, 8000, 20),
    "batch": (32, 64, 16),
    "samples": (64, 256, 8), "candidates": (8, 16, 2), "md_steps": (2000, 20000, 100),
    "sampling_steps": (200, 200, 10), "lj_frames": (400, 2000, 40), "lj_every": (500, 500, 50)}


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Quick mode (the default) takes about 15 minutes on 2 cores; --full trains "
               "to convergence (hours).")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_true", help="converged sizes (hours)")
    mode.add_argument("--tiny", action="store_true", help="smallest sizes: the pipeline test")
    parser.add_argument("--output", default="results/bridge", help="output folder")
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=LOSS_CHOICES)
    parser.add_argument("--lr", type=float, default=5e-4, help="Adam learning rate")
    for name in SIZES:
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=None,
                            help=f"(quick {SIZES[name][0]}, full {SIZES[name][1]})")
    parser.add_argument("--generator", action="append", default=[], metavar="SYSTEM=FILE",
                        help="also seed and measure SYSTEM from your own generator FILE "
                             "(repeatable)")
    parser.add_argument("--lj-deck", default=os.path.join(HERE, "lj38_system.lmp"),
                        help="the LAMMPS system deck (units, atoms, force field, no run)")
    parser.add_argument("--lmp", default=shutil.which("lmp"), help="Debian's stock lmp")
    parser.add_argument("--build", default=os.path.join(ROOT, "build"),
                        help="the energyloss build tree (lmp_energyloss, libenergyloss_lammps)")
    args = parser.parse_args(argv)
    column = 1 if args.full else 2 if args.tiny else 0
    for name, values in SIZES.items():
        if getattr(args, name) is None:
            setattr(args, name, values[column])
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.lr <= 0:
        parser.error("--lr must be > 0")
    for entry in args.generator:
        system, _, path = entry.partition("=")
        if system not in SYSTEMS or not path:
            parser.error(f"--generator {entry}: expected SYSTEM=FILE with SYSTEM one of "
                         f"{', '.join(SYSTEMS)}")
    return args


class Progress:
    """A line per stage and every few hundred training steps (a bar that
    rewrites itself when stdout is a terminal); records each stage's wall time."""

    def __init__(self):
        self.tty = sys.stdout.isatty()
        self.times = {}
        self.start = time.perf_counter()

    def stage(self, number, name, text):
        print(f"[bridge {number}/5 {name}] {text}", flush=True)

    def timed(self, key, function, *args, **kwargs):
        begin = time.perf_counter()
        result = function(*args, **kwargs)
        self.times[key] = time.perf_counter() - begin
        return result

    def training(self, label, steps):
        begin = time.perf_counter()

        def report(step, loss):
            elapsed = time.perf_counter() - begin
            if self.tty:
                bar = "#" * int(30 * step / steps)
                end = "\n" if step == steps else ""
                print(f"\r  {label} [{bar:<30}] {step}/{steps} loss {loss:.4g} {elapsed:.0f} s",
                      end=end, flush=True)
            elif step % max(100, steps // 5 // 100 * 100) == 0 or step == steps:
                print(f"  {label}: step {step}/{steps}, loss {loss:.4g}, {elapsed:.0f} s",
                      flush=True)
        return report


def fail(message):
    sys.exit(f"bridge: {message}")


def quantiles(values):
    """(q25, median, q75) of the finite values (NaN when none)."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if len(finite) == 0:
        return (math.nan,) * 3
    return tuple(float(q) for q in np.quantile(finite, [0.25, 0.5, 0.75]))


def steps_to_band(steps, energies, band):
    """The first step from which the energy, as a running mean over a
    twentieth of the trace (single reports fluctuate across the band's
    edges), stays inside ``band`` (low, high) to the end of the trace; -1
    when it never settles there."""
    window = max(1, len(energies) // 20)
    smoothed = np.convolve(energies, np.ones(window) / window, mode="full")[:len(energies)]
    smoothed[:window] = np.cumsum(energies[:window]) / np.arange(1, window + 1)
    inside = (smoothed >= band[0]) & (smoothed <= band[1])
    if not inside[-1]:
        return -1
    outside = np.nonzero(~inside)[0]
    return int(steps[0] if len(outside) == 0 else steps[outside[-1] + 1])


def graph_distances(bonds, atoms):
    """All-pairs graph distance [N, N] (breadth-first; unreachable = atoms)."""
    neighbours = [[] for _ in range(atoms)]
    for i, j in bonds:
        neighbours[i].append(j)
        neighbours[j].append(i)
    distance = np.full((atoms, atoms), atoms, dtype=np.int64)
    for source in range(atoms):
        distance[source, source] = 0
        frontier = [source]
        while frontier:
            following = []
            for atom in frontier:
                for other in neighbours[atom]:
                    if distance[source, other] == atoms:
                        distance[source, other] = distance[source, atom] + 1
                        following.append(other)
            frontier = following
    return distance


# ------------------------------------------------------------- the systems


class Alanine:
    """Alanine dipeptide, amber14 + OBC2, in OpenMM. Lengths in angstrom,
    energies in kJ/mol."""

    name, engine, length_unit, energy_unit, usual_start, kT = (
        "alanine", "OpenMM", "angstrom", "kJ/mol", "pdb+noise", KT_300K)
    oracle_length_per_unit = 1 / ANGSTROM_PER_NM  # the OpenMM oracle works in nm

    def __init__(self, args, output):
        try:
            import openmm
            import openmm.app as app
            import openmmenergyloss  # noqa: F401  (seed_alanine.py needs it)
        except ImportError as error:
            fail(f"alanine needs OpenMM and the openmmenergyloss module of this build "
                 f"(PYTHONPATH=build/python; ENERGYLOSS_BUILD_OPENMM_PLUGIN=ON): {error}")
        import make_system
        self.args, self.output = args, output
        self.system, positions_nm = make_system.build_system(
            make_system.ALANINE_PDB, make_system.DEFAULT_FORCEFIELDS, strip_solvent=True)
        self.system_xml = os.path.join(output, "alanine.xml")
        with open(self.system_xml, "w") as out:
            out.write(openmm.XmlSerializer.serialize(self.system))
        self.pdb = make_system.ALANINE_PDB
        topology = app.PDBFile(self.pdb).topology
        atoms = list(topology.atoms())
        self.elements = [a.element.symbol for a in atoms]
        names = [(a.residue.name, a.name) for a in atoms]
        # phi = C(ACE)-N-CA-C, psi = N-CA-C-N(NME); chirality at CA from N, C, CB.
        index = {key: i for i, key in enumerate(names)}
        c0, n, ca, c, n2, cb = (index[("ACE", "C")], index[("ALA", "N")], index[("ALA", "CA")],
                                index[("ALA", "C")], index[("NME", "N")], index[("ALA", "CB")])
        self.phi, self.psi, self.chiral = (c0, n, ca, c), (n, ca, c, n2), (ca, n, c, cb)
        bond_force = next(f for f in self.system.getForces()
                          if isinstance(f, openmm.HarmonicBondForce))
        self.bonds = np.array([bond_force.getBondParameters(b)[:2]
                               for b in range(bond_force.getNumBonds())])
        self.context = openmm.Context(self.system, openmm.VerletIntegrator(0.001),
                                      openmm.Platform.getPlatformByName("CPU"), {"Threads": "1"})
        self.reference = self.minimise(positions_nm[None] * ANGSTROM_PER_NM, 0)[1][0]
        self.oracle = energyloss.OpenMMOracle(self.system_xml, platform="CPU", workers=1)

    # conditioning: one type per atom (the generator is for this molecule)
    # and one-hot graph distances 1, 2, 3, >= 4; feature 0 marks bonds.
    def conditioning(self):
        n = len(self.elements)
        distance = torch.as_tensor(graph_distances(self.bonds, n)).clamp(0, 4)
        pairs = torch.nn.functional.one_hot(distance, 5)[..., 1:].float()
        return torch.arange(n), pairs, [0]

    def simulate(self, progress):
        """Frames [F, N, 3] (angstrom, centred) and their energies [F]."""
        import openmm
        import openmm.unit as unit
        frames, every = self.args.frames, self.args.md_every
        cache = os.path.join(self.output, f"md_{frames}x{every}.npz")
        if os.path.exists(cache):
            data = np.load(cache)
            return data["frames"], data["energies"]
        integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond,
                                                     0.001 * unit.picoseconds)
        integrator.setRandomNumberSeed(2024)
        context = openmm.Context(self.system, integrator,
                                 openmm.Platform.getPlatformByName("CPU"), {"Threads": "2"})
        context.setPositions(self.reference / ANGSTROM_PER_NM)
        context.setVelocitiesToTemperature(300 * unit.kelvin, 2024)
        integrator.step(min(5000, 50 * every))  # equilibration
        positions = np.empty((frames, len(self.elements), 3))
        energies = np.empty(frames)
        begin = time.perf_counter()
        for f in range(frames):
            integrator.step(every)
            state = context.getState(getPositions=True, getEnergy=True)
            positions[f] = state.getPositions(asNumpy=True).value_in_unit(unit.angstrom)
            energies[f] = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
            if (f + 1) % max(1, frames // 5) == 0:
                print(f"  OpenMM MD: {f + 1}/{frames} frames ({(f + 1) * every / 1000:g} ps), "
                      f"{time.perf_counter() - begin:.0f} s", flush=True)
        positions -= positions.mean(axis=1, keepdims=True)
        np.savez(cache, frames=positions, energies=energies)
        return positions, energies

    def force_field_k(self, reference, method):
        """k [E] in kT/angstrom^2 on the complete graph at ``reference``."""
        pairs = torch.combinations(torch.arange(len(reference)), 2)
        k = energyloss.force_field_coefficients(
            self.oracle, torch.as_tensor(reference / ANGSTROM_PER_NM), pairs, method=method,
            kT=self.kT)  # kT/nm^2
        return pairs, k.float() / ANGSTROM_PER_NM ** 2

    def energies(self, x):
        """Force-field energies [S] (kJ/mol) of samples [S, N, 3] angstrom;
        +inf where the force field cannot evaluate one (overlapping atoms)."""
        result = np.empty(len(x))
        for i, positions in enumerate(x):
            try:
                result[i] = float(self.oracle.energy(
                    torch.as_tensor(positions[None] / ANGSTROM_PER_NM))[0])
            except (ValueError, RuntimeError):
                result[i] = math.inf
            if not math.isfinite(result[i]):
                result[i] = math.inf
        return result

    def minimise(self, x, iterations=200):
        """(energies [S] kJ/mol, positions [S, N, 3] angstrom) after
        OpenMM's L-BFGS minimiser (``iterations``, 0 = to convergence)."""
        import openmm
        import openmm.unit as unit
        energies, out = np.empty(len(x)), np.empty_like(x)
        for i, positions in enumerate(x):
            try:
                self.context.setPositions(positions / ANGSTROM_PER_NM)
                openmm.LocalEnergyMinimizer.minimize(self.context, 10.0, iterations)
                state = self.context.getState(getEnergy=True, getPositions=True)
                energies[i] = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
                out[i] = state.getPositions(asNumpy=True).value_in_unit(unit.angstrom)
            except openmm.OpenMMException:
                energies[i], out[i] = math.inf, positions
            if not math.isfinite(energies[i]):
                energies[i] = math.inf
        return energies, out

    def write_usual_start(self, path):
        """Today's generator: the PDB structure plus 0.1 angstrom noise."""
        import make_generator
        positions, elements, unit = make_generator.read_reference(self.pdb, None)
        make_generator.make_generator(positions, 0.1, unit, elements).save(path)

    def dihedrals(self, x, atoms):
        a, b, c, d = (x[:, i] for i in atoms)
        b0, b1, b2 = a - b, c - b, d - c
        b1 = b1 / np.linalg.norm(b1, axis=-1, keepdims=True)
        v = b0 - (b0 * b1).sum(-1, keepdims=True) * b1
        w = b2 - (b2 * b1).sum(-1, keepdims=True) * b1
        return np.degrees(np.arctan2((np.cross(b1, v) * w).sum(-1), (v * w).sum(-1)))

    def basins(self, phi, psi):
        """Basin label per (phi, psi): beta (C5), PII/C7eq, alpha_R, alpha_L/C7ax."""
        upper = (psi >= 50) | (psi < -150)
        return np.where(phi >= 0, 3, np.where(upper, np.where(phi < -100, 0, 1), 2))

    BASIN_NAMES = ("beta", "PII", "alphaR", "alphaL")

    def sample_metrics(self, x, data):
        phi, psi = self.dihedrals(x, self.phi), self.dihedrals(x, self.psi)
        data_phi, data_psi = self.dihedrals(data, self.phi), self.dihedrals(data, self.psi)
        basin, data_basin = self.basins(phi, psi), self.basins(data_phi, data_psi)
        occupied = [b for b in range(4) if np.mean(data_basin == b) >= 0.05]
        covered = [b for b in occupied if np.any(basin == b)]
        bins = np.linspace(-180, 180, 13)
        h = np.histogram2d(phi, psi, [bins, bins])[0].ravel() + 1e-9
        g = np.histogram2d(data_phi, data_psi, [bins, bins])[0].ravel() + 1e-9
        h, g = h / h.sum(), g / g.sum()
        m = (h + g) / 2
        js = 0.5 * (h * np.log(h / m)).sum() + 0.5 * (g * np.log(g / m)).sum()
        chirality = np.sign(self.triple(x)) == np.sign(self.triple(self.reference[None]))[0]
        distance = np.linalg.norm(x[:, :, None] - x[:, None], axis=-1)
        distance[:, np.arange(x.shape[1]), np.arange(x.shape[1])] = np.inf
        return {
            "basins_covered": f"{len(covered)}/{len(occupied)}",
            "basins_missed": " ".join(self.BASIN_NAMES[b] for b in occupied if b not in covered),
            "ramachandran_js": float(js),
            "chirality_kept": float(chirality.mean()),
            "overlapping": float((distance.min(axis=(1, 2)) < OVERLAP).mean()),
        }

    def triple(self, x):
        ca, n, c, cb = (x[:, i] for i in self.chiral)
        return (np.cross(n - ca, c - ca) * (cb - ca)).sum(-1)

    def seed(self, generator, out):
        """Runs seed_alanine.py (openmmenergyloss.seed + NVT MD) on a
        generator; returns (seed report dict, steps [T], energies [T])."""
        command = [sys.executable, os.path.join(HERE, "seed_alanine.py"), generator,
                   "--out", out, "--candidates", str(self.args.candidates),
                   "--steps", str(self.args.md_steps)]
        run(command, out)
        with open(os.path.join(out, "seed.json")) as handle:
            report = json.load(handle)
        trace = np.genfromtxt(os.path.join(out, "seeded_md.csv"), delimiter=",", skip_header=1)
        trace = trace.reshape(-1, 3)
        return report, trace[:, 0], trace[:, 1]


class LJ38:
    """38 Lennard-Jones atoms in LAMMPS, reduced units (sigma, epsilon)."""

    name, engine, length_unit, energy_unit, usual_start, kT = (
        "lj38", "LAMMPS", "lj", "epsilon", "random", LJ_TEMPERATURE)
    oracle_length_per_unit = 1.0

    def __init__(self, args, output):
        self.args, self.output = args, output
        self.deck = os.path.abspath(args.lj_deck)
        if not os.path.isfile(self.deck):
            fail(f"--lj-deck {self.deck}: file not found")
        if not args.lmp:
            fail("lj38 needs Debian's stock lmp on PATH (apt-get install lammps)")
        self.lmp_energyloss = os.path.join(args.build, "bin", "lmp_energyloss")
        self.library = os.path.join(args.build, "lib", "libenergyloss_lammps.so")
        for path, what in ((self.lmp_energyloss, "lmp_energyloss"),
                           (self.library, "the energyloss LAMMPS package")):
            if not os.path.exists(path):
                fail(f"{what} is missing from the build ({path}); build with "
                     f"-DENERGYLOSS_BUILD_LAMMPS_PACKAGE=ON")
        try:
            self.oracle = energyloss.LammpsOracle(self.deck, workers=1)
        except (ValueError, RuntimeError, AttributeError) as error:
            fail(f"the LAMMPS system deck {self.deck} cannot be evaluated: {error}")
        self.atoms = self.oracle.n_atoms
        self.elements = list(self.oracle.elements)  # LAMMPS type names, "1"
        from lammps import lammps
        self.lammps = lammps(cmdargs=["-log", "none", "-screen", "none"])
        with working_directory(os.path.dirname(self.deck)):
            self.lammps.file(self.deck)
        if int(self.lammps.get_natoms()) != self.atoms:
            fail(f"{self.deck}: defines {self.lammps.get_natoms()} atoms, the oracle "
                 f"{self.atoms}")
        self.lammps.command("min_modify dmax 0.1")

    def conditioning(self):
        return torch.zeros(self.atoms, dtype=torch.long), torch.zeros(self.atoms, self.atoms, 0), []

    def simulate(self, progress):
        out = os.path.join(self.output, "md")
        os.makedirs(out, exist_ok=True)
        frames, every = self.args.lj_frames, self.args.lj_every
        run([self.args.lmp, "-in", os.path.join(HERE, "lj38_md.lmp"), "-var", "out", out,
             "-var", "frames", str(frames), "-var", "every", str(every),
             "-var", "temperature", str(LJ_TEMPERATURE), "-log", os.path.join(out, "log.lammps"),
             "-screen", "none"], out, cwd=os.path.dirname(self.deck))
        positions = read_xyz_frames(os.path.join(out, "lj38_md.xyz"), self.atoms)[1:]
        energies = np.loadtxt(os.path.join(out, "lj38_md_energy.txt"), ndmin=2)[1:, 1]
        positions -= positions.mean(axis=1, keepdims=True)
        print(f"  LAMMPS MD: {len(positions)} frames every {every} steps at T* = "
              f"{LJ_TEMPERATURE}", flush=True)
        return positions, energies

    def force_field_k(self, reference, method):
        """k [E] in kT/sigma^2 on the complete graph at ``reference``."""
        pairs = torch.combinations(torch.arange(self.atoms), 2)
        k = energyloss.force_field_coefficients(self.oracle, torch.as_tensor(reference), pairs,
                                                method=method, kT=self.kT)
        return pairs, k.float()

    def _set(self, positions):
        import ctypes
        flat = (ctypes.c_double * positions.size)(*positions.ravel().tolist())
        self.lammps.scatter_atoms("x", 1, 3, flat)

    def energies(self, x):
        result = np.empty(len(x))
        for i, positions in enumerate(x):
            self._set(positions)
            self.lammps.command("run 0 post no")
            result[i] = self.lammps.get_thermo("pe")
        return np.where(np.isfinite(result), result, np.inf)

    def minimise(self, x, iterations=10000):
        energies, out = np.empty(len(x)), np.empty_like(x)
        for i, positions in enumerate(x):
            self._set(positions)
            self.lammps.command(f"minimize 0 1.0e-8 {iterations} 100000")
            energies[i] = self.lammps.get_thermo("pe")
            out[i] = np.array(self.lammps.gather_atoms("x", 1, 3)).reshape(-1, 3)
        return np.where(np.isfinite(energies), energies, np.inf), out

    def usual_start_samples(self, count):
        """Random placement as lj38_system.lmp does it: uniform in a sphere
        of radius 2.2 sigma (numpy, seeded)."""
        rng = np.random.default_rng(4711)
        direction = rng.normal(size=(count, self.atoms, 3))
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
        radius = 2.2 * rng.random((count, self.atoms, 1)) ** (1 / 3)
        return direction * radius

    def sample_metrics(self, x, data):
        return {}

    def seed(self, generator, out, program="stock"):
        """Runs seed_lj38.lmp (seed_atoms, minimise, MD) in stock lmp or
        lmp_energyloss; returns (report, steps [T], energies [T])."""
        os.makedirs(out, exist_ok=True)
        start = ["-var", "generator", generator] if generator else ["-var", "start", "random"]
        variables = start + ["-var", "out", out,
                     "-var", "candidates", str(self.args.candidates),
                     "-var", "steps", str(self.args.md_steps),
                     "-var", "temperature", str(LJ_TEMPERATURE)]
        if program == "stock":
            command = [self.args.lmp, "-var", "energyloss_library", self.library,
                       "-var", "energyloss_snippet",
                       os.path.join(ROOT, "lammps_package", "load_energyloss.lmp")]
        else:
            command = [self.lmp_energyloss]
        log = os.path.join(out, "log.lammps")
        run(command + ["-in", os.path.join(HERE, "seed_lj38.lmp")] + variables +
            ["-log", log, "-screen", "none"], out, cwd=os.path.dirname(self.deck))
        report = {}
        with open(log) as handle:
            for line in handle:
                if line.startswith("seed_lj38: ") and " energy " in line:
                    what, value = line[len("seed_lj38: "):].rsplit(" energy ", 1)
                    report[what] = float(value)
        trace = np.loadtxt(os.path.join(out, "seeded_md_energy.txt"), ndmin=2)
        report["seed_energy"] = report.get("minimised", math.nan)
        return report, trace[:, 0], trace[:, 1]


class working_directory:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.previous = os.getcwd()
        os.chdir(self.path)

    def __exit__(self, *exc):
        os.chdir(self.previous)


def run(command, out, cwd=None):
    """Runs an engine command; on failure stops with its last output lines."""
    os.makedirs(out, exist_ok=True)
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    with open(os.path.join(out, "command.txt"), "w") as handle:
        handle.write(" ".join(command) + "\n\n" + result.stdout + result.stderr)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-8:])
        log = os.path.join(out, "log.lammps")
        if os.path.exists(log):
            errors = [line for line in open(log) if "ERROR" in line]
            tail += "\n" + "".join(errors[-3:])
        fail(f"{os.path.basename(command[0])} failed (exit {result.returncode}; full output in "
             f"{out}/command.txt):\n{tail}")
    return result.stdout


def read_xyz_frames(path, atoms):
    """Frames [F, atoms, 3] of a LAMMPS xyz dump (sorted by ID)."""
    with open(path) as handle:
        lines = handle.read().splitlines()
    size = atoms + 2
    count = len(lines) // size
    frames = np.empty((count, atoms, 3))
    for f in range(count):
        block = lines[f * size + 2:(f + 1) * size]
        frames[f] = [[float(v) for v in line.split()[1:4]] for line in block]
    return frames


# ------------------------------------------------------------------ stages


def make_loss(name, system, data_scale, reference):
    """Per-system loss [B] on normalised positions. Energy losses work in the
    system's length unit; energy-ff's k is in kT per length^2. A "+ff" loss
    adds the force field's energy term, in kT, at low noise."""
    if name == "mse":
        return lambda pred, batch: energyloss.mse_loss(pred, batch.x0, reduction="none"), None
    if name == "energy":
        return (lambda pred, batch: energyloss.pair_energy_loss(
            pred * data_scale, batch.x0 * data_scale, coeff="exp", reduction="none")), None
    pair_name = name[:-len(FF_TERM)] if name.endswith(FF_TERM) else name
    pairs, k = system.force_field_k(reference, FF_METHODS[pair_name])

    def energy_ff(pred, ref, mask=None):  # positions in the system's length unit
        return energyloss.pair_energy_loss(pred, ref, mask, coeff="explicit", edges=pairs,
                                           edge_weights=k, reduction="none")
    if pair_name == name:
        return (lambda pred, batch: energy_ff(pred * data_scale, batch.x0 * data_scale)), k
    # The term scores positions in the oracle's length unit (nm for OpenMM).
    to_oracle = system.oracle_length_per_unit
    term = energyloss.ForceFieldEnergyLoss(
        lambda pred, ref, mask: energy_ff(pred / to_oracle, ref / to_oracle, mask),
        weight=FF_WEIGHT, kT=system.kT, max_sigma=FF_MAX_SIGMA)
    scale = data_scale * to_oracle
    return (lambda pred, batch: term(pred * scale, batch.x0 * scale, batch.context["sigma"],
                                     system.oracle)), k


def train_generators(system, data, progress, args, out):
    """One generator per loss; returns {loss: generator path} and curve rows."""
    torch.manual_seed(0)
    train_set = torch.as_tensor(data, dtype=torch.float32)
    data_scale = float(train_set.std())
    train_set = train_set / data_scale
    types, pairs, bonded = system.conditioning()
    count = len(train_set)
    minimised = system.minimise(data[:1])[1][0]  # the force field's minimum near the data
    paths, curves = {}, []
    for loss_name in args.losses:
        loss, k = make_loss(loss_name, system, data_scale, minimised)
        if k is not None:
            print(f"  {system.name} {loss_name}: {len(k)} springs from the {system.engine} force "
                  f"field, k median {float(k.median()):.3g}, max {float(k.max()):.3g} kT/"
                  f"{system.length_unit}^2", flush=True)
        torch.manual_seed(0)
        model = GraphDenoiser(num_types=int(types.max()) + 1, pair_features=pairs.shape[-1],
                              bonded_features=bonded)
        batch_size = args.batch

        def draw_batch(generator):
            index = torch.randint(count, (batch_size,), generator=generator)
            return Batch(train_set[index], torch.ones(batch_size, train_set.shape[1],
                                                       dtype=torch.bool),
                         {"types": types[None].expand(batch_size, -1),
                          "pairs": pairs[None].expand(batch_size, -1, -1, -1)})

        begin = time.perf_counter()
        _, curve = train(model, draw_batch, loss, args.steps, seed=0, lr=args.lr,
                         progress=progress.training(f"{system.name} {loss_name}", args.steps))
        progress.times[f"train {system.name} {loss_name}"] = time.perf_counter() - begin
        curves += [{"system": system.name, "loss": loss_name, "step": s, "train_loss": v}
                   for s, v in curve]
        path = os.path.join(out, f"{loss_name}.pt")
        scale = data_scale
        clip = float(train_set.abs().max()) * 1.1
        model.eval()
        begin = time.perf_counter()
        try:
            generator = export_generator(path, model, types, pairs, scale, system.length_unit,
                                         system.elements, sampling_steps=args.sampling_steps,
                                         clip=clip)
        except ValueError as error:
            fail(f"the trained {system.name} {loss_name} generator failed validation: {error}")
        progress.times[f"export {system.name} {loss_name}"] = time.perf_counter() - begin
        print(f"  exported {path}: {generator!r}, validated by energyloss.Generator", flush=True)
        paths[loss_name] = path
    return paths, curves


def measure_samples(system, starts, data, data_energies, args):
    """One row per start: energies raw and minimised against the data, and
    the system's own metrics, on args.samples samples each."""
    reference_frames = data[np.linspace(0, len(data) - 1, min(len(data), args.samples)).astype(int)]
    data_minimised, _ = system.minimise(reference_frames)
    band = quantiles(data_minimised)
    # Many frames minimise to the same structure: widen the quartile band by
    # kT so "inside" means "as low as the data's typical minima".
    low, high = band[0] - system.kT, band[2] + system.kT
    rows, samples = [], {}
    lowest = float(np.min(data_minimised))
    for start, x in starts.items():
        raw = system.energies(x)
        minimised, _ = system.minimise(x)
        samples[start] = x
        row = {"system": system.name, "start": start, "samples": len(x),
               "energy_raw_median": quantiles(raw)[1],
               "energy_raw_failed": float(np.mean(~np.isfinite(raw))),
               "energy_min_q25": quantiles(minimised)[0],
               "energy_min_median": quantiles(minimised)[1],
               "energy_min_q75": quantiles(minimised)[2],
               "in_data_min_band": float(np.mean((minimised >= low) & (minimised <= high))),
               "energy_min_best": float(np.min(minimised))}
        if system.name == "lj38":
            row["energy_min_per_atom_mean"] = float(np.mean(minimised[np.isfinite(minimised)]) /
                                                    x.shape[1])
            row["energy_min_per_atom_best"] = float(np.min(minimised) / x.shape[1])
            row["reached_lowest_data"] = float(np.mean(minimised < lowest + 0.01))
        row.update(system.sample_metrics(x, data))
        rows.append(row)
    data_row = {"system": system.name, "start": "MD data", "samples": len(reference_frames),
                "energy_raw_median": quantiles(data_energies)[1], "energy_raw_failed": 0.0,
                "energy_min_q25": band[0], "energy_min_median": band[1],
                "energy_min_q75": band[2],
                "in_data_min_band": float(np.mean((data_minimised >= low) &
                                                  (data_minimised <= high))),
                "energy_min_best": lowest}
    if system.name == "lj38":
        data_row.update(energy_min_per_atom_mean=float(np.mean(data_minimised)) / data.shape[1],
                        energy_min_per_atom_best=lowest / data.shape[1],
                        reached_lowest_data=float(np.mean(data_minimised < lowest + 0.01)))
    data_row.update(system.sample_metrics(reference_frames, data))
    return [data_row] + rows, samples


def seed_and_simulate(system, generators, data_energies, args, out):
    """Seeds the engine from every generator (and from the usual start)
    and runs the seeded MD; returns summary rows and the traces."""
    band = tuple(np.quantile(data_energies, [0.05, 0.95]))
    rows, traces = [], {}
    programs = ["stock", "lmp_energyloss"] if system.name == "lj38" else ["openmm"]
    for start, generator in generators.items():
        for program in programs:
            where = os.path.join(out, "seeded", f"{start}_{program}")
            begin = time.perf_counter()
            if system.name == "lj38":
                report, steps, energies = system.seed(generator, where, program)
            else:
                report, steps, energies = system.seed(generator, where)
            seconds = time.perf_counter() - begin
            blew_up = not np.all(np.isfinite(energies)) or float(np.max(energies)) > band[1] + \
                100 * (band[1] - band[0])
            rows.append({"system": system.name, "start": start, "program": program,
                         "seed_energy": report["seed_energy"],
                         "md_energy_median": float(np.median(energies)),
                         "steps_to_data_band": steps_to_band(steps, energies, band),
                         "blew_up": bool(blew_up), "seconds": seconds})
            traces[(start, program)] = (steps, energies)
            print(f"  seeded {system.engine} ({program}) from {start}: energy "
                  f"{report['seed_energy']:.4g} {system.energy_unit}, MD median "
                  f"{np.median(energies):.4g}, {seconds:.0f} s", flush=True)
    return rows, traces, band


# ------------------------------------------------------------------ report


def write_csv(rows, path):
    keys = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    with open(path, "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def markdown_table(rows, columns):
    lines = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c, "")
            cells.append(f"{value:.4g}" if isinstance(value, float) else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_ramachandran(system, samples, data, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [("MD data", data)] + list(samples.items())
    figure, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.3), sharey=True)
    for ax, (title, x) in zip(np.atleast_1d(axes), panels):
        ax.scatter(system.dihedrals(x, system.phi), system.dihedrals(x, system.psi), s=4,
                   alpha=0.6)
        ax.set_xlim(-180, 180)
        ax.set_ylim(-180, 180)
        ax.set_title(f"{title} ({len(x)})", fontsize=9)
        ax.set_xlabel("phi (deg)")
    np.atleast_1d(axes)[0].set_ylabel("psi (deg)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_energies(traces, bands, units, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    systems = list(traces)
    figure, axes = plt.subplots(1, len(systems), figsize=(5.5 * len(systems), 3.6), squeeze=False)
    for ax, name in zip(axes[0], systems):
        plotted = set()
        for (start, program), (steps, energies) in traces[name].items():
            if start in plotted:  # stock lmp and lmp_energyloss runs coincide
                continue
            plotted.add(start)
            ax.plot(steps, energies, lw=0.8, label=f"{start} ({program})")
        ax.axhspan(*bands[name], color="grey", alpha=0.25, label="MD data 5-95 %")
        ax.set_title(f"{name}: seeded MD")
        ax.set_xlabel("step")
        ax.set_ylabel(f"potential energy ({units[name]})")
        finite = np.concatenate([e[np.isfinite(e)] for _, e in traces[name].values()])
        low, high = bands[name]
        ax.set_ylim(min(low, np.min(finite)) - 0.1 * (high - low),
                    high + 3 * (high - low))
        ax.legend(fontsize=6)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_summary(path, args, sample_rows, seed_rows, times, command):
    with open(path, "w") as out:
        out.write("# The bridge: simulate, train, export, seed\n\n")
        out.write(f"Command: `{command}`  \nMode: {'full' if args.full else 'tiny' if args.tiny else 'quick'}; "
                  f"training steps {args.steps} per model (batch {args.batch}, Adam lr {args.lr}, "
                  "seed 0); "
                  f"{args.samples} samples per start; {args.candidates} candidates per seeding; "
                  "energy-ff: k from force_field_coefficients(method='finite_difference'), "
                  "energy-hfit: method='hessian_fit'; both in kT units at the force field's "
                  "minimum nearest the first training frame, no rescaling.\n\n")
        out.write("## Samples against the MD data\n\nEnergies in the engine's units (alanine "
                  "kJ/mol, LJ38 epsilon); minimised: OpenMM L-BFGS (200 iterations) or LAMMPS "
                  "minimize. `in_data_min_band`: share of samples whose minimised energy lies "
                  "within the minimised MD frames' quartiles widened by kT. The MD data row "
                  f"scores {args.samples} frames spread over the whole trajectory; every "
                  "model is trained on all frames (the task is to reproduce the MD "
                  "distribution).\n\n")
        for system in SYSTEMS:
            rows = [r for r in sample_rows if r["system"] == system]
            if not rows:
                continue
            columns = ["start", "energy_raw_median", "energy_raw_failed", "energy_min_q25",
                       "energy_min_median", "energy_min_q75", "in_data_min_band",
                       "energy_min_best"]
            if system == "alanine":
                columns += ["basins_covered", "basins_missed", "ramachandran_js",
                            "chirality_kept", "overlapping"]
            else:
                columns += ["energy_min_per_atom_mean", "energy_min_per_atom_best",
                            "reached_lowest_data"]
            out.write(f"### {system}\n\n{markdown_table(rows, columns)}\n\n")
        out.write("## Seeded MD\n\n`steps_to_data_band`: first step from which the potential "
                  "energy (running mean over a twentieth of the trace) stays within the MD "
                  "data's 5-95 % band (-1: never in this run).\n\n")
        out.write(markdown_table(seed_rows, ["system", "start", "program", "seed_energy",
                                             "md_energy_median", "steps_to_data_band",
                                             "blew_up", "seconds"]) + "\n\n")
        out.write("## Wall time per stage (s)\n\n")
        out.write(markdown_table([{"stage": k, "seconds": v} for k, v in times.items()],
                                 ["stage", "seconds"]) + "\n")


def main(argv):
    args = parse_arguments(argv)
    output = os.path.abspath(args.output)
    os.makedirs(output, exist_ok=True)
    # One thread for the small dense layers: two OpenMP threads on a shared
    # 2-core machine stall each other.
    torch.set_num_threads(1)
    progress = Progress()
    command = "examples/bridge/bridge.py " + " ".join(argv)
    sample_rows, seed_rows, curves, traces, bands, units, ramachandran = [], [], [], {}, {}, {}, None
    users = []  # the user's own generators, validated before any work
    for entry in args.generator:
        name, _, path = entry.partition("=")
        try:
            energyloss.Generator(os.path.abspath(path))
        except ValueError as error:
            fail(f"--generator {entry}: {error}")
        users.append((name, os.path.abspath(path)))
    for system_name in args.systems:
        out = os.path.join(output, system_name)
        os.makedirs(out, exist_ok=True)
        system = (Alanine if system_name == "alanine" else LJ38)(args, out)
        progress.stage(1, "simulate", f"{system.name} in {system.engine}")
        data, data_energies = progress.timed(f"simulate {system.name}", system.simulate, progress)

        progress.stage(2, "train", f"{system.name}: losses {', '.join(args.losses)}, "
                       f"{args.steps} steps each")
        progress.stage(3, "export", f"{system.name}: TorchScript generators in {out}")
        paths, system_curves = train_generators(system, data, progress, args, out)
        curves += system_curves

        progress.stage(4, "seed", f"{system.name}: {system.engine} from each generator and "
                       f"from the usual start ({system.usual_start})")
        starts = {}
        begin = time.perf_counter()
        if system.name == "alanine":
            usual = os.path.join(out, "pdb+noise.pt")
            system.write_usual_start(usual)
            generators = {"pdb+noise": usual, **paths}
        else:
            generators = {"random": None, **paths}
            starts["random"] = system.usual_start_samples(args.samples)
        for name, path in users:
            if name == system.name:
                generators[os.path.basename(path)] = path
        for start, path in generators.items():
            if path is not None:
                starts[start] = energyloss.Generator(path).sample(
                    args.samples, seed=1, length_unit=system.length_unit).numpy()
        rows, system_traces, bands[system.name] = seed_and_simulate(
            system, generators, data_energies, args, out)
        progress.times[f"seed {system.name}"] = time.perf_counter() - begin
        seed_rows += rows
        traces[system.name] = system_traces
        units[system.name] = system.energy_unit

        progress.stage(5, "measure", f"{system.name}: {args.samples} samples per start")
        rows, samples = progress.timed(f"measure {system.name}", measure_samples, system, starts,
                                       data, data_energies, args)
        sample_rows += rows
        for row in rows:
            print("  " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                   for k, v in row.items()), flush=True)
        if system.name == "alanine":
            ramachandran = (system, samples, data)

    write_csv(sample_rows, os.path.join(output, "samples.csv"))
    write_csv(seed_rows, os.path.join(output, "seeded_md.csv"))
    write_csv(curves, os.path.join(output, "training.csv"))
    if ramachandran is not None:
        plot_ramachandran(*ramachandran, os.path.join(output, "ramachandran.png"))
    plot_energies(traces, bands, units, os.path.join(output, "seeded_md.png"))
    progress.times["total"] = time.perf_counter() - progress.start
    write_summary(os.path.join(output, "summary.md"), args, sample_rows, seed_rows,
                  progress.times, command)
    print(f"bridge: wrote {output}/summary.md, samples.csv, seeded_md.csv, training.csv, "
          f"ramachandran.png, seeded_md.png ({progress.times['total']:.0f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
