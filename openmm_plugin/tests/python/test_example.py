"""examples/openmm/seed_and_run.py runs end to end (short)."""
import os
import pathlib
import re
import subprocess
import sys

SOURCE = pathlib.Path(os.environ.get("ENERGYLOSS_SOURCE_DIR",
                                     pathlib.Path(__file__).resolve().parents[3]))


def test_seed_and_run_example():
    run = subprocess.run(
        [sys.executable, str(SOURCE / "examples/openmm/seed_and_run.py"), "--candidates", "3",
         "--steps", "100", "--anneal-steps", "100", "--anneal-stages", "4",
         "--report-interval", "50"],
        capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert len(re.findall(r"^candidate \d+:", out, re.M)) == 3
    assert "seeded: candidate" in out
    assert out.count("energyloss_scale") == 5
    restraint = [float(x) for x in re.findall(r"restraint energy\s+(\S+) kJ/mol", out)]
    assert restraint[0] > 0 and restraint[-1] == 0.0
    assert "annealed: restraint off" in out
