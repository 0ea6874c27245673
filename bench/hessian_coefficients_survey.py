#!/usr/bin/env python3
"""Force-field coefficients from the MMFF94 Hessian over the small-molecule set.

For the first MMFF94-optimised ETKDG conformer of each molecule of
examples/molecules/small_molecules.py (Debian's chemical-structures-data,
same filters and seeds), on the complete graph:

- Hessian-fitted springs (force_field_coefficients(method="hessian_fit"))
  against the per-pair projection (method="finite_difference"): relative
  Frobenius residual against the rigid-mode-projected Hessian, and the
  harmonic-limit error, mean |pair loss - (E(x+dx) + E(x-dx) - 2E(x))/2| /
  mean |...| over 20 random internal displacements of 1e-3 angstrom rms;
- each method's share of the molecule's total stiffness per graph-distance
  shell (1, 2, 3, >= 4), next to the exp preset's;
- modified Seminario bond constants against MMFF94's own (143.9325 kb).

Prints medians over molecules; --csv writes one row per molecule.
Run: PYTHONPATH=build/python /usr/bin/python3 bench/hessian_coefficients_survey.py
"""
import argparse
import csv
import glob
import os
import sys
import time


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-atoms", type=int, default=20,
                        help="size limit with hydrogens, as small_molecules.py (20)")
    parser.add_argument("--limit", type=int, default=0, help="first N usable molecules (0: all)")
    parser.add_argument("--csv", help="write one row per molecule here")
    return parser.parse_args(argv)


def main(argv):
    args = parse_arguments(argv)
    import numpy as np
    import torch
    from rdkit import Chem, RDLogger
    from rdkit.Chem import AllChem

    import energyloss
    source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(source, "examples", "molecules"))
    import small_molecules as sm

    RDLogger.DisableLog("rdApp.*")
    paths = sorted(glob.glob(os.path.join(sm.DATA_DIRECTORY, "**", "*.cml"), recursive=True))
    rows, seconds = [], {"hessian": 0.0, "fit": 0.0, "per_pair": 0.0}
    for seed, path in enumerate(paths):
        mol = sm.read_cml(path)
        if (mol is None or mol.GetNumAtoms() > args.max_atoms or mol.GetNumHeavyAtoms() < 3
                or len(Chem.GetMolFrags(mol)) != 1
                or any(atom.GetSymbol() not in sm.ELEMENTS for atom in mol.GetAtoms())
                or not AllChem.MMFFHasAllMoleculeParams(mol)):
            continue
        record = sm.make_record(os.path.relpath(path, sm.DATA_DIRECTORY), mol, 1, seed)
        if record is None:
            continue
        oracle = energyloss.MMFFOracle(record["molblock"])
        x = torch.as_tensor(record["conformers"][0], dtype=torch.float64)
        n = x.shape[0]
        edges = torch.combinations(torch.arange(n), 2)
        start = time.perf_counter()
        hessian = energyloss.force_field_hessian(oracle, x)
        seconds["hessian"] += time.perf_counter() - start
        start = time.perf_counter()
        k_fit, fit = energyloss.hessian_fitted_springs(hessian, x, edges, return_details=True)
        seconds["fit"] += time.perf_counter() - start
        start = time.perf_counter()
        k_pair = energyloss.force_field_coefficients(oracle, x, edges,
                                                     method="finite_difference")
        seconds["per_pair"] += time.perf_counter() - start
        target = energyloss.project_out_rigid_modes(hessian, x)
        pair_residual = ((energyloss.spring_network_hessian(x, edges, k_pair) - target).norm()
                         / target.norm()).item()

        projector = energyloss.project_out_rigid_modes(torch.eye(3 * n, dtype=torch.float64), x)
        dx = torch.randn(20, 3 * n, generator=torch.Generator().manual_seed(0),
                         dtype=torch.float64) * 1e-3
        dx = (dx @ projector).reshape(20, n, 3)
        energies, _ = oracle.evaluate(torch.cat([x + dx, x - dx, x[None]]))
        truth = (energies[:20] + energies[20:40] - 2 * energies[-1]) / 2
        errors = []
        for k in (k_fit, k_pair):
            springs = energyloss.pair_energy_loss(x + dx, x.expand_as(dx), coeff="explicit",
                                                  edges=edges, edge_weights=k, reduction="none")
            errors.append(((springs - truth).abs().mean() / truth.abs().mean()).item())

        _, fit_shells = energyloss.shell_balanced_coefficients(x, record["bonds"], edges, k_fit,
                                                               return_details=True)
        _, pair_shells = energyloss.shell_balanced_coefficients(x, record["bonds"], edges, k_pair,
                                                                return_details=True)
        seminario = energyloss.modified_seminario(hessian, x, record["bonds"])
        mmff_mol = Chem.MolFromMolBlock(record["molblock"], removeHs=False)
        properties = AllChem.MMFFGetMoleculeProperties(mmff_mol)
        kb = np.array([properties.GetMMFFBondStretchParams(mmff_mol, int(i), int(j))[1]
                       for i, j in record["bonds"]]) * 143.9325
        share = lambda totals: (totals / totals.sum()).tolist()  # noqa: E731
        rows.append({
            "name": record["name"], "atoms": n, "edges": len(edges),
            "fit_residual": fit["relative_residual"], "pair_residual": pair_residual,
            "fit_error": errors[0], "pair_error": errors[1],
            "zero_fraction": fit["zero_springs"] / len(edges), "converged": fit["converged"],
            "fit_share": share(fit_shells["input_total"]),
            "pair_share": share(pair_shells["input_total"]),
            "exp_share": share(fit_shells["target"]),
            "seminario_over_mmff": float(np.median(seminario["bond_k"].numpy() / kb)),
        })
        if len(rows) == args.limit:
            break

    median = lambda key: float(np.median([r[key] for r in rows]))  # noqa: E731
    print(f"{len(rows)} molecules, median {median('atoms'):.0f} atoms; seconds in total: "
          f"Hessian {seconds['hessian']:.2f}, NNLS fit {seconds['fit']:.2f}, "
          f"per-pair projection {seconds['per_pair']:.2f}")
    print(f"relative Hessian residual (median): fit {median('fit_residual'):.3f}, "
          f"per-pair {median('pair_residual'):.3f}")
    print(f"harmonic-limit error (median): fit {median('fit_error'):.3f}, per-pair "
          f"{median('pair_error'):.3f}; fit better on "
          f"{sum(r['fit_error'] < r['pair_error'] for r in rows)} of {len(rows)}")
    print(f"springs the fit sets to 0 (median fraction): {median('zero_fraction'):.3f}; "
          f"all converged: {all(r['converged'] for r in rows)}")
    print("stiffness share per graph distance 1 / 2 / 3 / >=4 (mean over molecules):")
    for key, label in (("fit_share", "Hessian fit"), ("pair_share", "per-pair"),
                       ("exp_share", "exp preset")):
        values = np.mean(np.array([r[key] for r in rows]), axis=0) * 100
        print(f"  {label:12s} " + " / ".join(f"{v:.1f} %" for v in values))
    print(f"modified Seminario bond k / MMFF94 bond k (median of per-molecule medians): "
          f"{median('seminario_over_mmff'):.3f}")
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main(sys.argv[1:])
