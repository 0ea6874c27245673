"""What every corpus kind shares: a bad input must raise a clear error whose
message matches the case's regex (not an IndexError/KeyError from deep inside,
not a crash), must not return NaN, and the caller must still work afterwards
(each Python case evaluates a good input after the bad one; each LAMMPS case
runs a fresh lmp_energyloss, which must exit with an error status, not a
signal, printing the message)."""
import math
import os
import re
import subprocess

import pytest
import torch

SOURCE_DIR = os.environ.get(
    "ENERGYLOSS_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("ENERGYLOSS_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
LMP = os.path.join(BUILD_DIR, "bin", "lmp_energyloss")

# Errors a user can act on. IndexError, KeyError, AttributeError and friends
# from inside the package are not clear errors.
CLEAR = (ValueError, TypeError, RuntimeError, FileNotFoundError)
try:  # OpenMM's own exception, for errors raised inside a Context
    import openmm
    CLEAR = CLEAR + (openmm.OpenMMException,)
except ImportError:
    pass


def _no_nan(value):
    if isinstance(value, torch.Tensor):
        assert not (value.is_floating_point() and torch.isnan(value).any()), "NaN returned"
    elif isinstance(value, float):
        assert not math.isnan(value), "NaN returned"
    elif isinstance(value, (tuple, list)):
        for item in value:
            _no_nan(item)


def expect_error(bad, pattern, good):
    """bad() raises a CLEAR error matching `pattern`; good() then still works
    and returns no NaN."""
    try:
        value = bad()
    except CLEAR as error:
        message = f"{type(error).__name__}: {error}"
        assert re.search(pattern, str(error), re.S), \
            f"message does not name the problem ({pattern!r}):\n{message}"
    except Exception as error:  # noqa: BLE001 - an unclear error is a failure
        pytest.fail(f"unclear error {type(error).__name__}: {error}")
    else:
        _no_nan(value)
        pytest.fail(f"no error; returned {value!r:.200}")
    result = good()
    _no_nan(result)
    return result


def harmonic_context(atoms=32):
    """A Reference-platform Context of ``atoms`` particles in a harmonic well,
    at 0.25 nm on every axis: what the seeding cases write into."""
    system = openmm.System()
    force = openmm.CustomExternalForce("x^2 + y^2 + z^2")
    for i in range(atoms):
        system.addParticle(1.0)
        force.addParticle(i, [])
    system.addForce(force)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName("Reference"))
    context.setPositions([[0.25] * 3] * atoms)
    return context


def check_file_oracle(make, pattern, oracle, positions, path, text):
    """A bad oracle argument: ``make(path)`` on a good file ``text`` fails
    clearly when evaluated; ``oracle`` then still evaluates ``positions``."""
    path.write_text(text)
    expect_error(lambda: make(path).evaluate(positions), pattern,
                 lambda: oracle.evaluate(positions))


def run_lammps(deck_text, workdir, pattern, extra=()):
    """Runs deck_text in lmp_energyloss (this LAMMPS has no -nonbuf; ERROR lines are flushed); it must stop with an error
    status (not a signal) and print an ERROR line matching `pattern`."""
    deck = os.path.join(workdir, "in.case")
    with open(deck, "w") as handle:
        handle.write(deck_text)
    run = subprocess.run([LMP, "-in", deck, "-log", "none", *extra],
                         capture_output=True, text=True, timeout=120, cwd=workdir)
    output = run.stdout + run.stderr
    assert run.returncode >= 0, f"lmp_energyloss killed by signal {-run.returncode}:\n{output[-3000:]}"
    assert run.returncode != 0 or "ERROR" in output, f"no error:\n{output[-3000:]}"
    assert re.search(r"ERROR.*" + pattern, output, re.S), \
        f"message does not match {pattern!r}:\n{output[-3000:]}"
    assert "nan" not in re.findall(r"ERROR.*", output)[0].lower().split(), output[-2000:]
    return output
