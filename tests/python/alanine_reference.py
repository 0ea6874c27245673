"""What the tests of examples/molecules/alanine_diffusion.py share: the
script's path, the PDB, kT at the MD temperature, a tiny run of the script,
and the independent side: the script's serialized System on OpenMM's
Reference platform, the PDB frame and bonds read by openmm.app, graph
distances by breadth-first search, random internal displacements and the
energy of a spring network. Import after pytest.importorskip("openmm")."""
import os
import subprocess
import sys
from collections import deque

import numpy as np
import openmm
import openmm.app
import openmm.unit

SOURCE_DIR = os.environ.get(
    "ENERGYLOSS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(SOURCE_DIR, "examples", "molecules", "alanine_diffusion.py")
PDB = os.path.join(SOURCE_DIR, "examples", "openmm", "data", "alanine-dipeptide.pdb")
KT = 0.0083144626 * 300.0  # kJ/mol at the MD temperature


def run(output, *arguments):
    """The script on 40 MD frames, 12 training steps, 4 samples and one seed,
    writing to ``output``; the CompletedProcess."""
    return subprocess.run([sys.executable, SCRIPT, "--frames", "40", "--steps", "12",
                           "--samples", "4", "--seeds", "1", "--output", str(output),
                           *arguments], capture_output=True, text=True, timeout=900)


class Reference:
    """The script's System on OpenMM's Reference platform; positions in
    angstrom, energies in kJ/mol."""

    def __init__(self, system_xml):
        with open(system_xml) as handle:
            system = openmm.XmlSerializer.deserialize(handle.read())
        self.context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                                      openmm.Platform.getPlatformByName("Reference"))

    def energy(self, x):
        self.context.setPositions(np.asarray(x) / 10.0)  # nm
        state = self.context.getState(getEnergy=True)
        return state.getPotentialEnergy().value_in_unit(openmm.unit.kilojoule_per_mole)

    def forces(self, x):
        """[N, 3] forces (kJ/mol/A) at x (angstrom)."""
        self.context.setPositions(np.asarray(x) / 10.0)  # nm
        state = self.context.getState(getForces=True)
        return state.getForces(asNumpy=True).value_in_unit(
            openmm.unit.kilojoule_per_mole / openmm.unit.angstrom)

    def hessian(self, x, h=1e-3):
        """[3N, 3N] d^2E/dx dx (kJ/mol/A^2, index 3 * atom + component) at x
        (angstrom) by central differences of the forces with step h,
        symmetrised."""
        x = np.asarray(x, dtype=float)
        rows = []
        for coordinate in range(x.size):
            step = np.zeros(x.size)
            step[coordinate] = h
            step = step.reshape(x.shape)
            rows.append((self.forces(x - step) - self.forces(x + step)).ravel() / (2 * h))
        hessian = np.array(rows)
        return 0.5 * (hessian + hessian.T)


def pdb_frame():
    """Positions (angstrom) and bonds of the PDB, read by openmm.app."""
    pdb = openmm.app.PDBFile(PDB)
    positions = np.array(pdb.getPositions(asNumpy=True).value_in_unit(openmm.unit.angstrom))
    bonds = [(b[0].index, b[1].index) for b in pdb.topology.bonds()]
    return positions, bonds


def graph_distances(bonds, n):
    neighbours = [[] for _ in range(n)]
    for i, j in bonds:
        neighbours[i].append(j)
        neighbours[j].append(i)
    distance = np.full((n, n), np.inf)
    for start in range(n):
        distance[start, start] = 0
        queue = deque([start])
        while queue:
            atom = queue.popleft()
            for other in neighbours[atom]:
                if distance[start, other] == np.inf:
                    distance[start, other] = distance[start, atom] + 1
                    queue.append(other)
    return distance


def internal_displacements(x, count, scale, seed):
    """[count, N, 3] random displacements orthogonal to the 6 rigid-body modes."""
    n = len(x)
    centred = x - x.mean(axis=0)
    modes = []
    for axis in range(3):
        translation = np.zeros((n, 3))
        translation[:, axis] = 1
        modes.append(translation.ravel())
        rotation = np.cross(np.eye(3)[axis], centred)
        modes.append(rotation.ravel())
    basis, _ = np.linalg.qr(np.array(modes).T)
    dx = np.random.default_rng(seed).normal(size=(count, 3 * n)) * scale
    dx -= (dx @ basis) @ basis.T
    return dx.reshape(count, n, 3)


def spring_energy(x, y, pairs, k):
    """1/2 sum k (|y_i - y_j| - |x_i - x_j|)^2."""
    r = np.linalg.norm(x[pairs[:, 0]] - x[pairs[:, 1]], axis=-1)
    d = np.linalg.norm(y[pairs[:, 0]] - y[pairs[:, 1]], axis=-1)
    return 0.5 * float((k * (d - r) ** 2).sum())
