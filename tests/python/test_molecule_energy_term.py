"""The small-molecule experiment's force-field losses end to end at tiny
sizes: energy-hfit (springs in kT/A^2) and energy-hfit+ff (plus the MMFF94
energy term) train, sample and report the term's cost per step; a bad
--ff-weight, --ff-max-sigma or --temperature is refused by name."""
import csv
import os

import pytest
from small_molecules_run import needs_mmff_and_molecules, run_quick

pytest.importorskip("rdkit")
energyloss = pytest.importorskip("energyloss")

pytestmark = needs_mmff_and_molecules(energyloss)


def run(tmp_path, *arguments):
    return run_quick(tmp_path, 8, 12, *arguments)


def test_energy_term_losses_train_and_report_their_cost(tmp_path):
    result = run(tmp_path, "--losses", "energy-hfit", "energy-hfit+ff", "--ff-max-sigma", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "runs.csv") as handle:
        rows = {row["loss"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"energy-hfit", "energy-hfit+ff"}
    # sigma <= 2 is every entry: the term runs on every step; without it, never.
    assert float(rows["energy-hfit+ff"]["term_ms"]) > 0
    assert float(rows["energy-hfit"]["term_ms"]) == 0
    for row in rows.values():
        assert float(row["step_ms"]) > 0
    assert any(name.startswith("mmff_hessian_fit_kT_298.15K") for name in os.listdir(tmp_path))


@pytest.mark.parametrize("option, value", [("--ff-weight", "-1"), ("--ff-max-sigma", "0"),
                                           ("--temperature", "0")])
def test_bad_energy_term_options_are_refused_by_name(tmp_path, option, value):
    result = run(tmp_path, "--losses", "energy-hfit+ff", option, value)
    assert result.returncode != 0
    assert option in result.stderr
