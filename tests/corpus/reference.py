"""Corpus kind `reference`: bad xyz and LAMMPS data files given to
`compute energyloss ... reference file FILE` (and `fix energyloss`)."""
import pytest

from corpus_common import run_lammps
from lammps_common import data_text, deck, xyz_text


def _set(index, text):
    def edit(lines):
        lines = list(lines)
        lines[index] = text
        return lines
    return edit


A0 = 11  # index of the line of atom 1 in data_text (2 in xyz_text)
XYZ = {
    "xyz-empty": ("", r"line 1: an xyz file starts with its atom count"),
    "xyz-truncated": (xyz_text(32, 20), r"line 23: ends after 20 of 32 atoms"),
    "xyz-wrong-count": (xyz_text(31, 31), r"has 31 atoms but the group has 32 \(wrong atom count\)"),
    "xyz-count-too-big": (xyz_text(40, 32), r"has 40 atoms but the group has 32"),
    "xyz-count-non-numeric": (xyz_text(edit=_set(0, "thirty-two")), r"line 1: an xyz file starts with its atom count"),
    "xyz-count-negative": (xyz_text(edit=_set(0, "-3")), r"has -3 atoms but the group has 32"),
    "xyz-non-numeric-coordinate": (xyz_text(edit=_set(5, "A 0.1 abc 0.2")), r"line 6: 'abc' is not a number"),
    "xyz-missing-column": (xyz_text(edit=_set(5, "A 0.1 0.2")), r"line 6: expected 'name x y z'"),
    "xyz-huge-value": (xyz_text(edit=_set(5, "A 0.1 1e400 0.2")), r"line 6: '1e400' is not a finite number"),
    "xyz-nan": (xyz_text(edit=_set(5, "A 0.1 nan 0.2")), r"line 6: 'nan' is not a number"),
    "xyz-inf": (xyz_text(edit=_set(7, "A inf 0.1 0.2")), r"line 8: 'inf' is not a number"),
}
DATA = {
    "data-empty": ("", r"has no Atoms section"),
    "data-truncated": (data_text(32, 20), r"declares 32 atoms but its Atoms section lists 20"),
    "data-wrong-count": (data_text(31, 31), r"has no atom with ID 32"),
    "data-no-atoms-section": (data_text(32, 0, edit=lambda l: l[:9]), r"has no Atoms section"),
    "data-duplicate-id": (data_text(edit=_set(A0 + 5, "5 1 0.1 0.2 0.3 0 0 0")), r"line 17: atom ID 5 appears twice"),
    "data-id-zero": (data_text(edit=_set(A0 + 5, "0 1 0.1 0.2 0.3 0 0 0")), r"has no atom with ID 6"),
    "data-non-numeric": (data_text(edit=_set(A0 + 5, "6 1 0.1 abc 0.3 0 0 0")), r"line 17: 'abc' is not a number"),
    "data-non-numeric-id": (data_text(edit=_set(A0 + 5, "six 1 0.1 0.2 0.3 0 0 0")), r"line 17: expected 5 or 8 columns \(atom ID first\)"),
    "data-missing-column": (data_text(edit=_set(A0 + 5, "6 1 0.1 0.2")), r"line 17: expected 5 or 8 columns"),
    "data-huge-value": (data_text(edit=_set(A0 + 5, "6 1 0.1 1e400 0.3 0 0 0")), r"line 17: '1e400' is not a finite number"),
    "data-nan": (data_text(edit=_set(A0 + 5, "6 1 0.1 nan 0.3 0 0 0")), r"line 17: 'nan' is not a number"),
    "data-huge-image": (data_text(edit=_set(A0 + 5, "6 1 0.1 0.2 0.3 0 99999999999 0")), r"line 17: image flag '99999999999' is out of range"),
    "data-count-non-numeric": (data_text(edit=_set(2, "many atoms")), r"line 3: atom count 'many' is not an integer"),
}
CASES = {**XYZ, **DATA}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_reference_file(name, tmp_path):
    text, pattern = CASES[name]
    path = tmp_path / (name + (".xyz" if name.startswith("xyz") else ".data"))
    path.write_text(text)
    command = "compute loss all energyloss reference file " + str(path)
    if name.endswith(("-nan", "-inf", "huge-value")):
        command = "fix hold all energyloss reference file " + str(path)
    run_lammps(deck(command, after="run 0"), str(tmp_path), pattern)


@pytest.mark.parametrize("name", ["missing-xyz", "missing-data", "directory"])
def test_unreadable_reference(name, tmp_path):
    path = {"missing-xyz": tmp_path / "none.xyz", "missing-data": tmp_path / "none.data",
            "directory": tmp_path}[name]
    run_lammps(deck(f"compute loss all energyloss reference file {path}", after="run 0"),
               str(tmp_path), r"cannot open reference file|reference file '.*' is a directory")
