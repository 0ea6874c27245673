#!/usr/bin/python3
"""Writes the OpenMM Systems the native OpenMM engine is tested on, each with a
batch of configurations: NAME.xml (serialized System) and NAME.positions
(text: a line "samples B atoms N", then B*N lines "x y z" in nm; the first
sample is the PDB structure, the others it plus Gaussian noise).

Usage: make_native_systems.py FOLDER

Cases: alanine dipeptide in vacuum (amber14), with OBC2 and OBC1
(implicit/obc2.xml, obc1.xml: openmm.app's CustomGBForce), with GBSAOBCForce
(amber99sb + amber99_obc.xml), with CutoffNonPeriodic (reaction field, plain
and with a switching function; OBC2 and GBSAOBCForce), each force of the OBC2 System alone,
Ryckaert-Bellemans torsions and CMAP (random maps) added to the vacuum System;
villin (OpenMM's app/data/test.pdb, water and ions removed) with OBC2 and with
OBC2 under CutoffNonPeriodic; three GB particles, one inside another's scaled
sphere, under OBC2 and GBSAOBCForce; and two the native engine must refuse: an extra
CustomBondForce, and a periodic box.
"""

import os
import sys

import numpy as np
import openmm
import openmm.app as app
from openmm.app.internal.customgbforces import GBSAOBC2Force

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "openmm"))
import make_system  # noqa: E402

SAMPLES = 4
NOISE = 0.01  # nm


def create(pdb_path, forcefields, method=app.NoCutoff, cutoff=1.0):
    pdb = app.PDBFile(pdb_path)
    modeller = app.Modeller(pdb.topology, pdb.positions)
    modeller.deleteWater()
    ions = [atom for atom in modeller.topology.atoms()
            if atom.residue.name.upper() in make_system.ION_RESIDUES
            and len(list(atom.residue.atoms())) == 1]
    modeller.delete(ions)
    system = app.ForceField(*forcefields).createSystem(
        modeller.topology, nonbondedMethod=method, nonbondedCutoff=cutoff * openmm.unit.nanometer,
        constraints=None, rigidWater=False)
    positions = np.array(modeller.positions.value_in_unit(openmm.unit.nanometer))
    return system, positions


def keep_only(system, kind):
    copy = openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(system))
    for index in reversed(range(copy.getNumForces())):
        if not isinstance(copy.getForce(index), kind):
            copy.removeForce(index)
    return copy


def torsions_of(system):
    force = next(f for f in system.getForces() if isinstance(f, openmm.PeriodicTorsionForce))
    seen, quadruples = set(), []
    for n in range(force.getNumTorsions()):
        atoms = tuple(force.getTorsionParameters(n)[:4])
        if atoms not in seen:
            seen.add(atoms)
            quadruples.append(atoms)
    return quadruples


def with_rb_and_cmap(system, rng):
    system = openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(system))
    torsions = torsions_of(system)
    rb = openmm.RBTorsionForce()
    for atoms in torsions[::3]:
        rb.addTorsion(*atoms, *rng.normal(scale=2.0, size=6))
    system.addForce(rb)
    cmap = openmm.CMAPTorsionForce()
    for size in (24, 10):
        phi, psi = np.meshgrid(np.arange(size) * 2 * np.pi / size,
                               np.arange(size) * 2 * np.pi / size, indexing="ij")
        a, b, c = rng.normal(scale=3.0, size=3)
        energy = a * np.cos(phi) + b * np.sin(2 * psi) + c * np.cos(phi - psi)
        # OpenMM's map order: energy[phi + size * psi].
        cmap.addMap(size, energy.T.flatten().tolist())
    for n, (first, second) in enumerate(zip(torsions[0:12:2], torsions[1:12:2])):
        cmap.addTorsion(n % 2, *first, *second)
    system.addForce(cmap)
    return system


def engulfed(kind):
    """Three GB particles, the first inside the second's scaled sphere
    (sr_1 - r > or_0: the Born integral's branch no protein reaches)."""
    system = openmm.System()
    particles = [(0.4, 0.06, 0.8), (-0.7, 0.2, 1.5), (0.3, 0.15, 0.8)]  # q, radius, scale
    if kind == "custom":
        force = GBSAOBC2Force(SA="ACE")
        for charge, radius, scale in particles:
            force.addParticle([charge, radius, scale])
        force.finalize()
    else:
        force = openmm.GBSAOBCForce()
        for charge, radius, scale in particles:
            force.addParticle(charge, radius, scale)
    for _ in particles:
        system.addParticle(12.0)
    system.addForce(force)
    return system, np.array([[0.0, 0.0, 0.0], [0.1, 0.0, 0.0], [0.2, 0.35, 0.0]])


def cases(rng):
    alanine = make_system.ALANINE_PDB
    villin = make_system.villin_pdb()
    obc2 = ["amber14-all.xml", "implicit/obc2.xml"]
    vacuum, _ = create(alanine, ["amber14-all.xml"])
    obc2_system, alanine_positions = create(alanine, obc2)
    yield "alanine_vacuum", vacuum, alanine_positions
    yield "alanine_obc2", obc2_system, alanine_positions
    yield "alanine_obc1", create(alanine, ["amber14-all.xml", "implicit/obc1.xml"])[0], \
        alanine_positions
    yield "alanine_gbsaobc", create(alanine, ["amber99sb.xml", "amber99_obc.xml"])[0], \
        alanine_positions
    yield "alanine_cutoff", create(alanine, obc2, app.CutoffNonPeriodic, 0.6)[0], \
        alanine_positions
    yield "alanine_gbsaobc_cutoff", create(alanine, ["amber99sb.xml", "amber99_obc.xml"],
                                           app.CutoffNonPeriodic, 0.6)[0], alanine_positions
    switched, _ = create(alanine, ["amber14-all.xml"], app.CutoffNonPeriodic, 0.6)
    nonbonded = next(f for f in switched.getForces() if isinstance(f, openmm.NonbondedForce))
    nonbonded.setUseSwitchingFunction(True)
    nonbonded.setSwitchingDistance(0.45)
    nonbonded.setReactionFieldDielectric(78.5)
    yield "alanine_switched", switched, alanine_positions
    for name, kind in [("bonds", openmm.HarmonicBondForce), ("angles", openmm.HarmonicAngleForce),
                       ("torsions", openmm.PeriodicTorsionForce),
                       ("nonbonded", openmm.NonbondedForce), ("gb", openmm.CustomGBForce)]:
        yield "alanine_only_" + name, keep_only(obc2_system, kind), alanine_positions
    yield "alanine_rb_cmap", with_rb_and_cmap(vacuum, rng), alanine_positions
    only_extra = keep_only(with_rb_and_cmap(vacuum, rng), (openmm.RBTorsionForce,
                                                           openmm.CMAPTorsionForce))
    yield "alanine_only_rb_cmap", only_extra, alanine_positions
    villin_system, villin_positions = create(villin, obc2)
    yield "villin_obc2", villin_system, villin_positions
    yield "villin_cutoff", create(villin, obc2, app.CutoffNonPeriodic, 1.0)[0], villin_positions
    for kind in ("custom", "gbsaobc"):
        yield ("engulfed_obc2" if kind == "custom" else "engulfed_gbsaobc"), *engulfed(kind)
    custom = openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(vacuum))
    extra = openmm.CustomBondForce("0.5*kb*(r-0.15)^2")
    extra.addPerBondParameter("kb")
    extra.addBond(0, 1, [100.0])
    custom.addForce(extra)
    yield "alanine_custom_bond", custom, alanine_positions
    periodic, _ = create(alanine, ["amber14-all.xml"], app.CutoffPeriodic, 0.9)
    periodic.setDefaultPeriodicBoxVectors(openmm.Vec3(3, 0, 0), openmm.Vec3(0, 3, 0),
                                          openmm.Vec3(0, 0, 3))
    yield "alanine_periodic", periodic, alanine_positions


def main(argv):
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    folder = argv[0]
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(11)
    for name, system, positions in cases(rng):
        batch = [positions] + [positions + rng.normal(scale=NOISE, size=positions.shape)
                               for _ in range(SAMPLES - 1)]
        with open(os.path.join(folder, name + ".xml"), "w") as out:
            out.write(openmm.XmlSerializer.serialize(system))
        with open(os.path.join(folder, name + ".positions"), "w") as out:
            out.write(f"samples {len(batch)} atoms {len(positions)}\n")
            for sample in batch:
                np.savetxt(out, sample, fmt="%.17g")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
