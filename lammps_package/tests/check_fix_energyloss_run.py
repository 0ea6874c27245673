"""Runs in.fix_energyloss (an annealed sparse restraint during MD) and
recomputes what it prints from the final dump, independently of LAMMPS and
of the kernel:
    fix    s * sum over the sparse graph of 1/2 k(r0) (r - r0)^2, s = 0.5 (the
           ramp's end), the graph from the energyloss Python package (same seed)
    loss   the same sum over every pair of the group, s = 1 (compute energyloss)
    pe     Lennard-Jones (cutoff 2.5, minimum image) plus the restraint
    fnorm  |Lennard-Jones forces + restraint forces| over all atoms
    press  (2 KE + W) / (3 V), W the pair and restraint virials
with r0 from the reference data file and r from the final unwrapped
coordinates, both of the group's atoms in atom-ID order.

Usage: check_fix_energyloss_run.py WORKDIR [--same-as OTHER_WORKDIR] COMMAND...
COMMAND runs the deck; `-var out WORKDIR -log none` is appended. The printed
values are saved in WORKDIR/values.txt; with --same-as they must also equal
OTHER_WORKDIR's to 1e-10 (another rank count).
"""
import os
import sys

import numpy as np
import torch

from check_compute_energyloss import naive_loss, read_dump, unwrapped
from energyloss.graphs import sparse_rigid_edges
from lammps_run import finish, run_deck, split_arguments

K0, SCALE, DEGREE, SEED = 24.0, 0.5, 6, 1  # as in in.fix_energyloss
CUTOFF = 2.5


def reference_positions(path, ids):
    """Unwrapped positions of atoms `ids` from a data file (Atoms # atomic)."""
    with open(path) as handle:
        lines = handle.read().splitlines()
    bounds = {}
    for line in lines:
        words = line.split()
        if len(words) == 4 and words[2:] in (["xlo", "xhi"], ["ylo", "yhi"], ["zlo", "zhi"]):
            bounds[words[2]] = float(words[1]) - float(words[0])
    lengths = np.array([bounds["xlo"], bounds["ylo"], bounds["zlo"]])
    start = next(i for i, line in enumerate(lines) if line.startswith("Atoms")) + 2
    atoms = {}
    for line in lines[start:]:
        words = line.split()
        if not words:
            break
        image = np.array([float(v) for v in words[5:8]]) if len(words) >= 8 else np.zeros(3)
        atoms[int(words[0])] = np.array([float(v) for v in words[2:5]]) + image * lengths
    return np.array([atoms[int(i)] for i in ids])


def lennard_jones(x, lengths):
    """Energy, forces and virial (sum of r_ij . f_ij) of lj/cut 1 1 2.5, minimum image."""
    energy, virial = 0.0, 0.0
    forces = np.zeros_like(x)
    for i in range(len(x) - 1):
        delta = x[i] - x[i + 1:]
        delta -= lengths * np.round(delta / lengths)
        r2 = np.sum(delta * delta, axis=1)
        near = r2 < CUTOFF * CUTOFF
        inv6 = 1.0 / r2[near] ** 3
        energy += np.sum(4 * (inv6 * inv6 - inv6))
        pair = (48 * inv6 * inv6 - 24 * inv6) / r2[near]  # f_ij = pair * delta
        f = pair[:, None] * delta[near]
        forces[i] += f.sum(axis=0)
        forces[i + 1:][near] -= f
        virial += np.sum(pair * r2[near])
    return energy, forces, virial


def restraint(pred, ref, edges, k_of_r0, scale):
    """Energy, forces and virial of the spring restraint on unwrapped coordinates."""
    energy, virial = 0.0, 0.0
    forces = np.zeros_like(pred)
    for i, j in edges:
        r0 = np.linalg.norm(ref[i] - ref[j])
        delta = pred[i] - pred[j]
        r = np.linalg.norm(delta)
        energy += scale * 0.5 * k_of_r0(r0) * (r - r0) ** 2
        f = -scale * k_of_r0(r0) * (r - r0) / r * delta  # on i; -f on j
        forces[i] += f
        forces[j] -= f
        virial += np.dot(delta, f)
    return energy, forces, virial


def main():
    workdir, same_as, command = split_arguments(sys.argv[1:])
    _, printed = run_deck(workdir, command)
    expected_names = {"fix", "loss", "pe", "press", "fnorm"}
    if set(printed) != expected_names:
        sys.exit(f"expected ENERGYLOSS values {sorted(expected_names)}, got {printed}")

    lengths, _, _ = read_dump(os.path.join(workdir, "final.dump"))
    ids, x, _, col, rows = unwrapped(os.path.join(workdir, "final.dump"))
    _, _, half = read_dump(os.path.join(workdir, "half.dump"))
    group = np.searchsorted(ids, half[:, 0])
    assert np.array_equal(ids[group], half[:, 0]), "the group's atoms are missing from final.dump"
    ref = reference_positions(os.path.join(workdir, "reference.data"), ids[group])
    pred = x[group]
    n = len(group)
    k_of_r0 = lambda r0: K0 / n * np.exp(-r0)  # noqa: E731  (exp preset)
    sparse_edges, _ = sparse_rigid_edges(torch.tensor(ref), degree=DEGREE, seed=SEED)

    fix_energy, fix_forces_group, fix_virial = restraint(pred, ref, sparse_edges.tolist(),
                                                         k_of_r0, SCALE)
    loss, _ = naive_loss(pred, ref, k_of_r0)
    wrapped = rows[:, [col["x"], col["y"], col["z"]]]
    pair_energy, forces, pair_virial = lennard_jones(wrapped, lengths)
    forces[group] += fix_forces_group
    velocities = rows[:, [col["vx"], col["vy"], col["vz"]]]
    kinetic = 0.5 * np.sum(velocities * velocities)  # mass 1
    expected = {
        "fix": fix_energy,
        "loss": loss,
        "pe": pair_energy + fix_energy,
        "fnorm": np.sqrt(np.sum(forces * forces)),
        "press": (2 * kinetic + pair_virial + fix_virial) / (3 * np.prod(lengths)),
    }
    failures = []
    if not 0 < fix_energy < loss:
        failures.append(f"restraint energy {fix_energy}, complete-graph loss {loss}: "
                        "the check is vacuous or the graph is not sparse")
    for name, value in expected.items():
        if not np.isclose(printed[name], value, rtol=1e-10, atol=0):
            failures.append(f"{name}: LAMMPS gave {printed[name]!r}, independent {value!r}")
        print(f"{name}: LAMMPS {printed[name]!r} independent {value!r}")
    finish(failures, printed, same_as)


if __name__ == "__main__":
    main()
