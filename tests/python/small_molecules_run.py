"""What the tests of examples/molecules/small_molecules.py share: the script's
path, the skip markers for a build without the RDKit MMFF oracle or a machine
without Debian's chemical-structures-data, and a tiny --quick run."""
import os
import subprocess
import sys

import pytest

SOURCE_DIR = os.environ.get(
    "ENERGYLOSS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(SOURCE_DIR, "examples", "molecules", "small_molecules.py")


def needs_mmff_and_molecules(energyloss):
    """A test module's ``pytestmark``: skip without the oracle or the data."""
    return [
        pytest.mark.skipif(not hasattr(energyloss.ops, "rdkit_mmff_oracle"),
                           reason="this build has no RDKit MMFF oracle"),
        pytest.mark.skipif(not os.path.isdir("/usr/share/chemical-structures"),
                           reason="Debian's chemical-structures-data is not installed")]


def run_quick(tmp_path, molecules, steps, *arguments):
    """The script with --quick, `molecules` molecules, `steps` training steps,
    3 sampling steps and output in tmp_path; the CompletedProcess."""
    return subprocess.run([sys.executable, SCRIPT, "--quick", "--molecules", str(molecules),
                           "--steps", str(steps), "--sampling-steps", "3",
                           "--output", str(tmp_path), *arguments],
                          capture_output=True, text=True, timeout=600)
