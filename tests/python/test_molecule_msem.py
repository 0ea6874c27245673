"""The small-molecule experiment's energy-msem loss end to end at tiny sizes:
modified Seminario springs from the MMFF94 Hessian on each molecule's 1-2 and
1-3 pairs train, sample and score, with and without the '+ff' term; the
springs' cache holds exactly those pairs, in kT/A^2 (the same conversion
recomputed here from the data set's cache), and --ff-units exp-total
rescales them to the exp preset's total on the same pairs."""
import csv
import os
import pickle

import pytest
import torch
from small_molecules_run import needs_mmff_and_molecules, run_quick

pytest.importorskip("rdkit")
energyloss = pytest.importorskip("energyloss")

KT = 0.0019872043 * 298.15  # kcal/mol at the script's default temperature

pytestmark = needs_mmff_and_molecules(energyloss)


def run(tmp_path, *arguments):
    return run_quick(tmp_path, 6, 6, "--validate-every", "0", *arguments)


def test_energy_msem_trains_on_seminario_springs(tmp_path):
    result = run(tmp_path, "--losses", "energy-msem", "energy-msem+ff")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "runs.csv") as handle:
        assert [row["loss"] for row in csv.DictReader(handle)] == ["energy-msem",
                                                                    "energy-msem+ff"]
    (dataset,) = [name for name in os.listdir(tmp_path) if name.startswith("dataset_")]
    (cache,) = [name for name in os.listdir(tmp_path)
                if name.startswith("mmff_seminario_kT_298.15K")]
    with open(tmp_path / dataset, "rb") as handle:
        records = pickle.load(handle)
    edges, weights = torch.load(tmp_path / cache)
    row = 0
    for record in records:
        oracle = energyloss.MMFFOracle(record["molblock"], variant="MMFF94", workers=1)
        distance = torch.as_tensor(record["graph_distance"])
        for conformer in record["conformers"]:
            real = edges[row][edges[row, :, 0] >= 0]
            assert (distance[real[:, 0], real[:, 1]] <= 2).all()  # only 1-2 and 1-3 pairs
            reference = torch.as_tensor(conformer, dtype=torch.float64)
            constants = energyloss.modified_seminario(
                energyloss.force_field_hessian(oracle, reference), reference, record["bonds"])
            pairs, k = energyloss.seminario_pair_springs(reference, record["bonds"],
                                                         constants["bond_k"], constants["angles"],
                                                         constants["angle_k"])
            assert torch.equal(real, pairs)
            torch.testing.assert_close(weights[row, :len(k)], (k / KT).float())
            row += 1
    assert row == len(edges)


def test_exp_total_units_rescale_on_the_same_pairs(tmp_path):
    result = run(tmp_path, "--losses", "energy-msem", "--ff-units", "exp-total", "--molecules",
                 "3")
    assert result.returncode == 0, result.stderr[-3000:]
    (cache,) = [name for name in os.listdir(tmp_path)
                if name.startswith("mmff_seminario_exp-total_298.15K")]
    (dataset,) = [name for name in os.listdir(tmp_path) if name.startswith("dataset_")]
    with open(tmp_path / dataset, "rb") as handle:
        record = pickle.load(handle)[0]
    edges, weights = torch.load(tmp_path / cache)
    reference = torch.as_tensor(record["conformers"][0], dtype=torch.float64)
    real = edges[0][edges[0, :, 0] >= 0]
    distances = (reference[real[:, 0]] - reference[real[:, 1]]).norm(dim=1)
    total = float((24.0 / len(reference) * torch.exp(-distances)).sum())
    assert float(weights[0].sum()) == pytest.approx(total, rel=1e-5)
