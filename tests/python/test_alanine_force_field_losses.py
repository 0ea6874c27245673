"""The alanine dipeptide experiment's force-field losses (issue 13):
energy-hfit, energy-shell and energy-hfit+ff train end to end at tiny sizes
(with a 10 % data fraction and validation curves), and the springs the script
computes and caches are checked against independent computations with
OpenMM's own Reference platform on the script's serialized System:

- energy-shell: each graph-distance shell (1, 2, 3, >= 4 bonds, from the
  PDB's bonds by breadth-first search) sums to the exp preset's total
  sum 24/N exp(-r) over the shell (r in angstrom at the PDB frame), and
  within a shell the springs are proportional to the force field's per-pair
  curvature -u^T H_ij u (mixed central differences of the energy);
- energy-hfit: the springs are >= 0, in kT/A^2 at 300 K, and for small
  internal displacements dx their 1/2 sum k (|r + dr| - |r|)^2 reproduces the
  force field's second-order energy change (E(x + dx) + E(x - dx) - 2 E(x)) / 2
  in kT better than the per-pair projection does.
"""
import csv
import math

import numpy as np
import pytest
import torch

openmm = pytest.importorskip("openmm")
energyloss = pytest.importorskip("energyloss")
from alanine_reference import (KT, Reference, graph_distances,  # noqa: E402
                               internal_displacements, pdb_frame, run, spring_energy)

LOSSES = ["energy-hfit", "energy-shell", "energy-hfit+ff"]
FRACTIONS = [0.1, 1.0]

pytestmark = pytest.mark.skipif(not hasattr(torch.ops.energyloss, "openmm_oracle"),
                                reason="this build has no OpenMM oracle")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("alanine")
    result = run(output, "--losses", *LOSSES, "--fractions", *map(str, FRACTIONS),
                 "--ff-max-sigma", "2", "--validate-every", "6")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return output


def test_new_losses_train_end_to_end(tiny_run):
    with open(tiny_run / "runs.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((r["loss"], float(r["fraction"])) for r in rows) == sorted(
        (loss, fraction) for loss in LOSSES for fraction in FRACTIONS)
    for row in rows:
        for column in ("bond_w1", "angle_w1", "matching", "train_seconds", "step_ms",
                       "val_eps_mse", "val_loss"):
            assert math.isfinite(float(row[column])) and float(row[column]) > 0, column
        assert float(row["lr"]) == 3e-4  # the default is unchanged
        # sigma <= 2 is every entry: the term runs on every step; without it, never.
        assert (float(row["term_ms"]) > 0) == row["loss"].endswith("+ff")
    with open(tiny_run / "curves.csv") as handle:
        curves = list(csv.DictReader(handle))
    for loss in LOSSES:
        for fraction in FRACTIONS:
            steps = [int(c["step"]) for c in curves
                     if c["loss"] == loss and float(c["fraction"]) == fraction]
            assert steps == [0, 6, 12]
    for name in ("openmm_hessian_fit_kT_300K.pt", "openmm_shell_exp-total_300K.pt",
                 "curves.png", "molecules.png"):
        assert (tiny_run / name).stat().st_size > 0, name


@pytest.mark.parametrize("option, value", [("--lr", "0"), ("--first-seed", "-1"),
                                           ("--ff-weight", "-1"), ("--ff-max-sigma", "0"),
                                           ("--validate-every", "-1")])
def test_bad_options_are_refused_by_name(tmp_path, option, value):
    result = run(tmp_path, "--losses", "energy-hfit+ff", option, value)
    assert result.returncode != 0
    assert option in result.stderr


# ------------------------------------------------------------ independent side


def pair_curvatures(reference, x, pairs, h=1e-3):
    """-u^T H_ij u (kJ/mol/A^2) per pair from mixed central differences of
    the energy: atom i moved by s u, atom j by t u, u the pair's unit vector."""
    result = []
    for i, j in pairs:
        u = (x[j] - x[i]) / np.linalg.norm(x[j] - x[i])
        energies = {}
        for s in (1, -1):
            for t in (1, -1):
                y = x.copy()
                y[i] += s * h * u
                y[j] += t * h * u
                energies[s, t] = reference.energy(y)
        mixed = (energies[1, 1] - energies[1, -1] - energies[-1, 1]
                 + energies[-1, -1]) / (4 * h * h)
        result.append(-mixed)
    return np.array(result)


@pytest.fixture(scope="module")
def independent(tiny_run):
    x, bonds = pdb_frame()
    reference = Reference(tiny_run / "alanine.xml")
    pairs = np.array([(i, j) for i in range(len(x)) for j in range(i + 1, len(x))])
    return x, bonds, reference, pairs, pair_curvatures(reference, x, pairs)


def test_shell_springs_carry_the_exp_totals_shared_by_curvature(tiny_run, independent):
    x, bonds, _, pairs, curvature = independent
    edges, k = torch.load(tiny_run / "openmm_shell_exp-total_300K.pt")
    assert edges.tolist() == pairs.tolist()
    k = k.double().numpy()
    n = len(x)
    shell = np.minimum(graph_distances(bonds, n)[pairs[:, 0], pairs[:, 1]], 4).astype(int)
    r = np.linalg.norm(x[pairs[:, 0]] - x[pairs[:, 1]], axis=-1)
    exp_k = 24.0 / n * np.exp(-r)
    for s in (1, 2, 3, 4):
        inside = shell == s
        assert inside.any()
        assert k[inside].sum() == pytest.approx(exp_k[inside].sum(), rel=1e-5), f"shell {s}"
        # Within the shell, k is proportional to the curvature (where it is
        # clearly positive, i.e. not floored and above the differences' noise).
        clear = inside & (curvature > 1e-2 * curvature[inside].max())
        ratios = k[clear] / curvature[clear]
        assert len(ratios) >= 2
        np.testing.assert_allclose(ratios, np.median(ratios), rtol=1e-2, err_msg=f"shell {s}")
    # Not simply exp's own distribution: the split inside the bond shell differs.
    bond_shell = shell == 1
    assert np.abs(k[bond_shell] / exp_k[bond_shell] - 1).max() > 0.1


def test_hessian_fitted_springs_reproduce_the_force_field_energy(tiny_run, independent):
    x, _, reference, pairs, curvature = independent
    edges, k = torch.load(tiny_run / "openmm_hessian_fit_kT_300K.pt")
    assert edges.tolist() == pairs.tolist()
    k = k.double().numpy()
    assert (k >= 0).all() and (k == 0).any()  # the fit sets some springs exactly to 0
    # The per-pair projection in the same units (negative curvatures floored).
    projection = np.maximum(curvature, 1e-6 * curvature.max()) / KT  # kT/A^2
    dx = internal_displacements(x, 30, scale=1e-3, seed=7)  # angstrom per coordinate
    base = reference.energy(x)
    truth = np.array([(reference.energy(x + d) + reference.energy(x - d) - 2 * base) / 2 / KT
                      for d in dx])
    assert (truth > 0).mean() > 0.5
    errors = {}
    for name, springs in (("fit", k), ("projection", projection)):
        model = np.array([spring_energy(x, x + d, pairs, springs) for d in dx])
        errors[name] = np.abs(model - truth).mean() / np.abs(truth).mean()
    print(f"harmonic limit, mean |springs - force field| / mean |force field|: "
          f"fit {errors['fit']:.3f}, per-pair projection {errors['projection']:.3f}; "
          f"mean change {np.abs(truth).mean():.3g} kT")
    # Measured: fit 0.057, per-pair projection 0.241.
    assert errors["fit"] < 0.12
    assert errors["fit"] < 0.5 * errors["projection"]
