#!/usr/bin/python3
"""Turn a PDB plus OpenMM force-field XML files into a serialized System and
reference positions, the inputs of energyloss's OpenMM oracle.

The System has no constraints and no cutoff (by default), so its energies and
forces are the plain force field: what an energy oracle and the
force-field-derived loss coefficients need.

Examples (run with Debian's /usr/bin/python3, which sees python3-simtk):

  # alanine dipeptide, amber14 + OBC2 implicit solvent (the defaults)
  make_system.py --system-xml ala2.xml --positions ala2.txt

  # the villin headpiece shipped by OpenMM (app/data/test.pdb), water and ions removed
  make_system.py --villin --system-xml villin.xml --positions villin.txt

  # also write OpenMM's own energies and forces for a few perturbed copies of
  # the reference, to compare another evaluator against
  make_system.py --system-xml ala2.xml --positions ala2.txt \\
      --reference CPU:ala2_cpu.txt --samples 3 --noise 0.01

Positions are written in nm: `.npy` (numpy array [N, 3]) or, for any other
extension, text with one "x y z" line per atom. A --reference file is text:
a header line "# platform <name> samples <B> atoms <N>", then per sample one
energy line (kJ/mol), N position lines (nm) and N force lines (kJ/mol/nm).
"""

import argparse
import os
import sys

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit

HERE = os.path.dirname(os.path.abspath(__file__))
ALANINE_PDB = os.path.join(HERE, "data", "alanine-dipeptide.pdb")
DEFAULT_FORCEFIELDS = ["amber14-all.xml", "implicit/obc2.xml"]
# Monatomic ions of the amber14 / TIP3P ion sets, removed along with water.
ION_RESIDUES = {"NA", "CL", "K", "MG", "CA", "ZN", "LI", "RB", "CS", "F", "BR", "I", "CU", "FE"}


def villin_pdb():
    """OpenMM's own villin headpiece in water (Debian's python3-simtk)."""
    return os.path.join(os.path.dirname(app.__file__), "data", "test.pdb")


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--pdb", default=None,
                        help="input PDB (default: examples/openmm/data/alanine-dipeptide.pdb)")
    source.add_argument("--villin", action="store_true",
                        help="use OpenMM's app/data/test.pdb (villin headpiece)")
    parser.add_argument("--forcefield", nargs="+", default=DEFAULT_FORCEFIELDS,
                        help="force-field XML files (default: %(default)s)")
    parser.add_argument("--keep-solvent", action="store_true",
                        help="keep water and ions (they are removed by default)")
    parser.add_argument("--system-xml", required=True, help="output: serialized System")
    parser.add_argument("--positions", required=True, help="output: reference positions in nm")
    parser.add_argument("--reference", action="append", default=[], metavar="PLATFORM:PATH",
                        help="output: OpenMM's energies and forces on PLATFORM (repeatable)")
    parser.add_argument("--samples", type=int, default=3,
                        help="configurations per --reference file (the first is unperturbed)")
    parser.add_argument("--noise", type=float, default=0.01,
                        help="Gaussian perturbation of the other samples, in nm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", default="1",
                        help="CPU platform 'Threads' property for --reference (default 1)")
    return parser.parse_args(argv)


def build_system(pdb_path, forcefields, strip_solvent):
    pdb = app.PDBFile(pdb_path)
    modeller = app.Modeller(pdb.topology, pdb.positions)
    if strip_solvent:
        modeller.deleteWater()
        ions = [atom for atom in modeller.topology.atoms()
                if atom.residue.name.upper() in ION_RESIDUES and len(list(atom.residue.atoms())) == 1]
        if ions:
            modeller.delete(ions)
    forcefield = app.ForceField(*forcefields)
    # No constraints and no rigid water: the oracle needs the plain force field.
    system = forcefield.createSystem(modeller.topology, nonbondedMethod=app.NoCutoff,
                                     constraints=None, rigidWater=False,
                                     removeCMMotion=False)
    positions = np.array(modeller.positions.value_in_unit(unit.nanometer), dtype=np.float64)
    return system, positions


def write_positions(path, positions):
    if path.endswith(".npy"):
        np.save(path, positions)
    else:
        np.savetxt(path, positions, fmt="%.17g")


def evaluate(system, platform_name, threads, configurations):
    platform = openmm.Platform.getPlatformByName(platform_name)
    properties = {"Threads": threads} if platform_name == "CPU" else {}
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), platform, properties)
    results = []
    for positions in configurations:
        context.setPositions(positions)
        context.computeVirtualSites()  # setPositions leaves virtual sites where they were
        state = context.getState(getEnergy=True, getForces=True)
        energy = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        forces = state.getForces(asNumpy=True).value_in_unit(
            unit.kilojoule_per_mole / unit.nanometer)
        results.append((energy, np.asarray(forces)))
    return results


def write_reference(path, platform_name, configurations, results):
    with open(path, "w") as out:
        out.write(f"# platform {platform_name} samples {len(configurations)} "
                  f"atoms {configurations[0].shape[0]}\n")
        for positions, (energy, forces) in zip(configurations, results):
            out.write(f"{energy:.17g}\n")
            np.savetxt(out, positions, fmt="%.17g")
            np.savetxt(out, forces, fmt="%.17g")


def main(argv):
    args = parse_arguments(argv)
    pdb_path = villin_pdb() if args.villin else (args.pdb or ALANINE_PDB)
    if not os.path.isfile(pdb_path):
        sys.exit(f"make_system.py: PDB file not found: {pdb_path}")
    system, positions = build_system(pdb_path, args.forcefield, not args.keep_solvent)
    with open(args.system_xml, "w") as out:
        out.write(openmm.XmlSerializer.serialize(system))
    write_positions(args.positions, positions)

    if args.reference:
        rng = np.random.default_rng(args.seed)
        configurations = [positions] + [
            positions + rng.normal(scale=args.noise, size=positions.shape)
            for _ in range(args.samples - 1)]
        for request in args.reference:
            platform_name, _, path = request.partition(":")
            if not path:
                sys.exit(f"make_system.py: --reference wants PLATFORM:PATH, got {request!r}")
            results = evaluate(system, platform_name, args.threads, configurations)
            write_reference(path, platform_name, configurations, results)


if __name__ == "__main__":
    main(sys.argv[1:])
