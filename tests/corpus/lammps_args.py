"""Corpus kind `lammps_args`: bad arguments to compute/fix energyloss and
seed_atoms in lmp_energyloss. A LAMMPS error ends that run by design: each
case checks the message and that LAMMPS exited with an error status, not a
signal."""
import pytest

from corpus_common import run_lammps
from gen_common import write
from lammps_common import deck

C = "compute loss all energyloss"
F = "fix hold all energyloss"
CASES = {
    "compute-unknown-keyword": (C + " bogus 1", r"Compute energyloss: unknown keyword 'bogus'"),
    "compute-coeff-missing-value": (C + " coeff exp", r"keyword 'coeff' needs 2 value"),
    "compute-coeff-unknown-mode": (C + " coeff quartic 1.0", r"unknown coefficient mode 'quartic'"),
    "compute-coeff-k0-negative": (C + " coeff exp -1.0", r"K0 must be finite and >= 0, got -1"),
    "compute-coeff-k0-nan": (C + " coeff exp nan", r"Expected floating point parameter instead of 'nan'"),
    "compute-coeff-k0-text": (C + " coeff exp strong", r"Expected floating point parameter instead of 'strong'"),
    "compute-coeff-k0-huge": (C + " coeff exp 1e400", r"K0 must be finite and >= 0, got 1e400"),
    "compute-coeff-explicit": (C + " coeff explicit 1.0", r"mode 'explicit' needs per-edge values"),
    "compute-reference-bad": (C + " reference elsewhere", r"keyword 'reference' got 'elsewhere'"),
    "compute-reference-no-file": (C + " reference file", r"Compute energyloss: keyword 'reference' needs 2 value"),
    "compute-edges-bad": (C + " edges dense", r"keyword 'edges' got 'dense'"),
    "compute-edges-cutoff-negative": (C + " edges cutoff -1", r"'edges cutoff' needs a positive distance"),
    "compute-edges-cutoff-text": (C + " edges cutoff far", r"Expected floating point parameter instead of 'far'"),
    "compute-edges-cutoff-missing": (C + " edges cutoff", r"Compute energyloss: keyword 'edges' needs 2 value"),
    "compute-edges-sparse-degree": (C + " edges sparse 3 1", r"'edges sparse':.*degree"),
    "compute-edges-sparse-seed": (C + " edges sparse 6 -1", r"'edges sparse' needs a seed >= 0, got -1"),
    "compute-length-scale-negative": (C + " length_scale -1", r"'length_scale' needs a positive distance, got -1"),
    "compute-length-scale-mode": (C + " coeff inv2 preset length_scale 2.0", r"'length_scale' applies to coeff exp and morse, not inv2"),
    "compute-missing-group": ("compute loss nogroup energyloss", r"Could not find compute group ID"),
    "compute-one-atom-group": ("group one id 1\ncompute loss one energyloss", r"group one has 1 atoms, needs at least 2"),
    "fix-unknown-keyword": (F + " strength 2", r"Fix energyloss: unknown keyword 'strength'"),
    "fix-scale-missing": (F + " scale", r"keyword 'scale' needs 1 value"),
    "fix-scale-text": (F + " scale lots", r"Expected floating point parameter instead of 'lots'"),
    "fix-scale-no-variable": (F + " scale v_nothing\nrun 0", r"variable 'nothing' does not exist"),
    "fix-scale-atom-variable": ("variable s atom x\n" + F + " scale v_s\nrun 0", r"variable 's' is not equal-style"),
    "fix-coeff-unknown-mode": (F + " coeff quartic 1.0", r"unknown coefficient mode 'quartic'"),
    "fix-edges-sparse-degree": (F + " edges sparse 3 1", r"'edges sparse':.*degree"),
    "seed-no-arguments": ("seed_atoms", r"seed_atoms: expected"),
    "seed-missing-group": ("seed_atoms nogroup GEN", r"seed_atoms: group 'nogroup' does not exist"),
    "seed-empty-group": ("group none id 1000\nseed_atoms none GEN", r"seed_atoms: group 'none' has no atoms"),
    "seed-unknown-keyword": ("seed_atoms all GEN colour red", r"seed_atoms: unknown keyword 'colour'"),
    "seed-candidates-zero": ("seed_atoms all GEN candidates 0", r"'candidates' needs K >= 1, got 0"),
    "seed-candidates-text": ("seed_atoms all GEN candidates many", r"Expected integer parameter instead of 'many'"),
    "seed-seed-negative": ("seed_atoms all GEN seed -1", r"'seed' needs S >= 0, got -1"),
    "seed-select-bad": ("seed_atoms all GEN select best", r"keyword 'select' got 'best'; supported: energy, first"),
    "seed-keyword-no-value": ("seed_atoms all GEN candidates", r"keyword 'candidates' needs 1 value"),
    "seed-missing-file": ("seed_atoms all /nonexistent/gen.pt", r"generator '/nonexistent/gen.pt': file not found"),
    "seed-wrong-atom-count": ("group some id 1:10\nseed_atoms some GEN", r"makes 32 atoms but group 'some' has 10 \(wrong atom count\)"),
    "seed-nm-in-lj": ("seed_atoms all GENNM", r"has length_unit 'nm', which does not convert to units lj"),
}


@pytest.fixture(scope="module")
def generators(tmp_path_factory):
    directory = tmp_path_factory.mktemp("gen")
    (directory / "nm").mkdir()
    return write(str(directory), "good", "lj"), write(str(directory / "nm"), "good", "nm")


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_style_arguments(name, tmp_path, generators):
    line, pattern = CASES[name]
    line = line.replace("GENNM", generators[1]).replace("GEN", generators[0])
    run_lammps(deck(line, after="run 0"), str(tmp_path), pattern)


def test_good_seed_runs(tmp_path, generators):
    """The harness itself: the good generator seeds and LAMMPS ends normally."""
    import subprocess
    from corpus_common import LMP
    (tmp_path / "in.good").write_text(deck(f"seed_atoms all {generators[0]} candidates 2",
                                           after="run 0\nprint \"PE $(pe)\""))
    run = subprocess.run([LMP, "-in", "in.good", "-log", "none"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "ERROR" not in run.stdout, run.stdout[-2000:]
