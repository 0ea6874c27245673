"""Runs in.compute_energyloss (in lmp_energyloss or stock lmp) and recomputes its computes
from the dumped coordinates with the naive pair-loss formula (paper eq. 7):
    E = sum_{i<j} 1/2 k(r0_ij) (r_ij - r0_ij)^2
with r0 from the reference dump and r from the final dump, both unwrapped
with their image flags. The sparse graph comes from the energyloss Python
package (same seed); references read from xyz and data files must give what
`reference current` gives.

Usage: check_compute_energyloss.py WORKDIR [--same-as OTHER_WORKDIR] COMMAND...
COMMAND runs the deck (e.g. mpiexec -n 2 lmp_energyloss -in in.compute_energyloss);
`-var out WORKDIR -log none` is appended. The printed values are saved in
WORKDIR/values.txt; with --same-as they must also equal OTHER_WORKDIR's to
1e-10 (another rank count or another lmp).
"""
import os
import sys

import numpy as np
import torch

from energyloss.graphs import sparse_rigid_edges
from lammps_run import finish, run_deck, split_arguments


def read_dump(path):
    """The last snapshot: (box lengths [3], column names, rows as float array)."""
    with open(path) as handle:
        lines = handle.read().splitlines()
    last = max(i for i, line in enumerate(lines) if line.startswith("ITEM: TIMESTEP"))
    lines = lines[last:]
    bounds_at = next(i for i, line in enumerate(lines) if line.startswith("ITEM: BOX BOUNDS"))
    box = np.array([[float(v) for v in lines[bounds_at + k].split()[:2]] for k in (1, 2, 3)])
    atoms_at = next(i for i, line in enumerate(lines) if line.startswith("ITEM: ATOMS"))
    columns = lines[atoms_at].split()[2:]
    rows = np.array([[float(v) for v in line.split()] for line in lines[atoms_at + 1:]])
    return box[:, 1] - box[:, 0], columns, rows


def unwrapped(path):
    lengths, columns, rows = read_dump(path)
    col = {name: k for k, name in enumerate(columns)}
    x = rows[:, [col["x"], col["y"], col["z"]]]
    image = rows[:, [col["ix"], col["iy"], col["iz"]]]
    return rows[:, col["id"]], x + image * lengths, image, col, rows


def naive_loss(pred, ref, k_of_r0, cutoff=np.inf, edges=None):
    """Energy and per-atom shares by an explicit loop over the pairs."""
    n = len(ref)
    if edges is None:
        edges = [(i, j) for i in range(n) for j in range(i + 1, n)]
    energy = 0.0
    shares = np.zeros(n)
    for i, j in edges:
        r0 = np.linalg.norm(ref[i] - ref[j])
        if not r0 < cutoff:
            continue
        r = np.linalg.norm(pred[i] - pred[j])
        term = 0.5 * k_of_r0(r0) * (r - r0) ** 2
        energy += term
        shares[i] += 0.5 * term
        shares[j] += 0.5 * term
    return energy, shares


def main():
    workdir, same_as, command = split_arguments(sys.argv[1:])
    _, printed = run_deck(workdir, command)
    expected_names = {"loss", "near", "sparse", "loss_xyz", "middle", "middle_data"}
    if set(printed) != expected_names:
        sys.exit(f"expected ENERGYLOSS values {sorted(expected_names)}, got {printed}")

    ref_ids, ref, _, _, _ = unwrapped(os.path.join(workdir, "reference.dump"))
    ids, pred, image, col, rows = unwrapped(os.path.join(workdir, "current.dump"))
    assert np.array_equal(ref_ids, ids), "the dumps hold different atoms"
    assert np.any(image != 0), "no atom crossed a boundary: unwrapping is untested"
    n = len(ids)
    sparse_edges, _ = sparse_rigid_edges(torch.tensor(ref), degree=6, seed=1)
    sparse_edges = sparse_edges.tolist()
    if not 0 < len(sparse_edges) < n * (n - 1) // 2:
        sys.exit(f"{len(sparse_edges)} sparse edges for {n} atoms: the sparse check is vacuous")

    expected = {
        # exp preset: k0 / N exp(-r0 / 1)
        "loss": naive_loss(pred, ref, lambda r0: 24.0 / n * np.exp(-r0)),
        # inv2 preset: k0 / N / (r0^2 + 1e-5), only pairs with r0 < 1.5
        "near": naive_loss(pred, ref, lambda r0: 9.0 / n / (r0 * r0 + 1e-5), cutoff=1.5),
        "sparse": naive_loss(pred, ref, lambda r0: 24.0 / n * np.exp(-r0), edges=sparse_edges),
    }
    failures = []
    for name, (energy, shares) in expected.items():
        per_atom = rows[:, col[f"c_{name}"]]
        if not energy > 0:
            failures.append(f"{name}: naive loss {energy} is not positive; the test is vacuous")
        if not np.isclose(printed[name], energy, rtol=1e-10, atol=0):
            failures.append(f"{name}: compute gave {printed[name]!r}, naive formula {energy!r}")
        if not np.allclose(per_atom, shares, rtol=1e-10, atol=1e-14):
            worst = np.argmax(np.abs(per_atom - shares))
            failures.append(f"{name}: per-atom share of atom {int(ids[worst])} is "
                            f"{per_atom[worst]!r}, naive {shares[worst]!r}")
        print(f"{name}: compute {printed[name]!r} naive {energy!r} ({n} atoms)")
    # References from files: the xyz one was written at the start, the data
    # file mid-run (with image flags).
    for from_file, current in (("loss_xyz", "loss"), ("middle_data", "middle")):
        if not printed[current] > 0:
            failures.append(f"{current} is {printed[current]}: the file check is vacuous")
        if not np.isclose(printed[from_file], printed[current], rtol=1e-12, atol=0):
            failures.append(f"{from_file}: {printed[from_file]!r}, reference current "
                            f"{printed[current]!r}")
    finish(failures, printed, same_as)


if __name__ == "__main__":
    main()
