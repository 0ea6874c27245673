"""energyloss.oracles: analytic oracles, autograd, true-energy loss,
force-field-derived coefficients and the generator protocol.

Run as a script (``test_oracles_core.py --write-generators DIR``) it writes the
valid and broken generators that test_generator.cpp loads.
"""
import math
import os
import re
import signal
import subprocess
import sys
from typing import List

import pytest
import torch

SOURCE_DIR = os.environ.get(
    "ENERGYLOSS_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MAKE_GENERATOR = os.path.join(SOURCE_DIR, "examples", "generators", "make_generator.py")
ERRORS = (ValueError, RuntimeError)

# tests/support/broken_generators.py, found from this file so that the ctest fixture,
# pytest and test_generator.cpp run by hand all import it.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from broken_generators import NoAtoms, NoUnit  # noqa: E402


# --- generator cases (shared with test_generator.cpp) -----------------------

class _Fixed(torch.nn.Module):
    """A protocol-following generator returning `values`; subclasses break it."""

    n_atoms: int
    length_unit: str

    def __init__(self, n_atoms: int = 3, unit: str = "nm"):
        super().__init__()
        self.n_atoms = n_atoms
        self.length_unit = unit

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.zeros(n, self.n_atoms, 3) + float(seed)


class _NoSample(torch.nn.Module):
    n_atoms: int
    length_unit: str

    def __init__(self):
        super().__init__()
        self.n_atoms = 3
        self.length_unit = "nm"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class _WrongShape(_Fixed):
    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.zeros(n, self.n_atoms + 1, 3)


class _NotFinite(_Fixed):
    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        out = torch.zeros(n, self.n_atoms, 3)
        out[n - 1, 2, 1] = float("nan")
        return out


class _BadElements(_Fixed):
    elements: List[str]

    def __init__(self):
        super().__init__()
        self.elements = ["C", "H"]


# file name -> (module or None for a non-TorchScript file, expected message)
BROKEN_GENERATORS = {
    "no_n_atoms.pt": (lambda: NoAtoms(3, "nm"), "missing attribute n_atoms"),
    "no_unit.pt": (lambda: NoUnit(3), "missing attribute length_unit"),
    "bad_unit.pt": (lambda: _Fixed(3, "furlong"), "length_unit must be"),
    "no_sample.pt": (_NoSample, "missing method sample"),
    "wrong_shape.pt": (_WrongShape, r"returned shape \[2, 4, 3\], expected \[2, 3, 3\]"),
    "not_finite.pt": (_NotFinite, r"non-finite value at \[1, 2, 1\]"),
    "bad_elements.pt": (_BadElements, "elements has 2 entries but n_atoms is 3"),
    "not_torchscript.pt": (None, "not a TorchScript module"),
}

WATER_XYZ = "3\nwater\nO 0.0 0.0 0.0\nH 0.96 0.0 0.0\nH -0.24 0.93 0.0\n"
WATER = [[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]]


def write_generators(directory):
    """Broken generators plus water.xyz -> water.pt (noise 0.05 angstrom) and
    water_exact.pt (noise 0) via make_generator.py."""
    os.makedirs(directory, exist_ok=True)
    for name, (make, _) in BROKEN_GENERATORS.items():
        path = os.path.join(directory, name)
        if make is None:
            with open(path, "w") as handle:
                handle.write("this is not a zip archive\n")
        else:
            torch.jit.script(make()).save(path)
    xyz = os.path.join(directory, "water.xyz")
    with open(xyz, "w") as handle:
        handle.write(WATER_XYZ)
    for name, noise in (("water.pt", "0.05"), ("water_exact.pt", "0")):
        subprocess.run([sys.executable, MAKE_GENERATOR, xyz, "--noise", noise, "--output",
                        os.path.join(directory, name)], check=True, capture_output=True)


# --- tests -------------------------------------------------------------------

@pytest.fixture(scope="module")
def oracles():
    import energyloss.oracles

    return energyloss.oracles


def lj_energy(r, epsilon=1.0, sigma=1.0):
    return 4 * epsilon * ((sigma / r) ** 12 - (sigma / r) ** 6)


def cluster(batch, atoms, seed, spread=0.15):
    gen = torch.Generator().manual_seed(seed)
    grid = torch.tensor([[i % 2, (i // 2) % 2, i // 4] for i in range(atoms)], dtype=torch.float64)
    return 1.1 * grid + spread * (2 * torch.rand(batch, atoms, 3, generator=gen,
                                                 dtype=torch.float64) - 1)


def test_lennard_jones_matches_hand_formula(oracles):
    oracle = oracles.LennardJonesOracle(3, epsilon=0.5, sigma=1.1)
    x = cluster(4, 3, 0)
    energies, forces = oracle.evaluate(x)
    d = x[:, :, None, :] - x[:, None, :, :]
    r = d.norm(dim=-1)
    i, j = torch.triu_indices(3, 3, 1)
    expected = lj_energy(r[:, i, j], 0.5, 1.1).sum(-1)
    torch.testing.assert_close(energies, expected)
    assert forces.shape == (4, 3, 3)
    assert oracle.units == ("lj", "lj") and oracle.n_atoms == 3 and oracle.elements == []
    assert "Lennard-Jones" in repr(oracle)


@pytest.mark.parametrize("make", [
    lambda o: o.LennardJonesOracle(6, 0.8, 1.0, cutoff=1.9),
    lambda o: o.MorseOracle(6, D=1.2, a=1.5, r0=1.05, units=("angstrom", "eV")),
    lambda o: o.HarmonicBondOracle([[0, 1], [1, 2], [3, 5]], [2.0, 3.0, 4.0], [1.0, 0.9, 1.2], 6),
])
def test_gradient_is_minus_forces_and_matches_finite_differences(oracles, make):
    oracle = make(oracles)
    x = cluster(3, 6, 1).requires_grad_()
    energies = oracles.oracle_energy(oracle, x)
    (grad,) = torch.autograd.grad(energies.sum(), x)
    torch.testing.assert_close(grad, -oracle.evaluate(x.detach())[1])
    assert torch.autograd.gradcheck(lambda y: oracles.oracle_energy(oracle, y), (x,))


def test_single_configuration_and_float32(oracles):
    oracle = oracles.LennardJonesOracle(2)
    x = torch.tensor([[0.0, 0.0, 0.0], [1.3, 0.0, 0.0]], requires_grad=True)
    energy = oracles.oracle_energy(oracle, x)
    assert energy.shape == () and energy.dtype == torch.float32
    assert math.isclose(float(energy), lj_energy(1.3), rel_tol=1e-6)
    energy.backward()
    dv = 4 * (-12 / 1.3 ** 13 + 6 / 1.3 ** 7)
    torch.testing.assert_close(x.grad[1], torch.tensor([dv, 0.0, 0.0]))


def test_second_derivatives_are_refused(oracles):
    oracle = oracles.LennardJonesOracle(2)
    x = torch.tensor([[[0.0, 0.0, 0.0], [1.3, 0.0, 0.0]]], dtype=torch.float64, requires_grad=True)
    with pytest.raises(ERRORS, match="second derivatives"):
        torch.autograd.grad(oracles.oracle_energy(oracle, x).sum(), x, create_graph=True)


def test_true_energy_loss(oracles):
    oracle = oracles.MorseOracle(4, D=1.0, a=2.0, r0=1.1)
    ref = cluster(3, 4, 2)
    pred = (ref + 0.05 * torch.randn(ref.shape, generator=torch.Generator().manual_seed(3),
                                     dtype=torch.float64)).requires_grad_()
    per_sample = oracles.true_energy_loss(oracle, pred, ref, 0.5, reduction="none")
    expected = (oracle.evaluate(pred.detach())[0] - oracle.evaluate(ref)[0]) / 0.5
    torch.testing.assert_close(per_sample, expected)
    mean = oracles.true_energy_loss(oracle, pred, ref, 0.5)
    torch.testing.assert_close(mean, expected.mean())
    mean.backward()
    torch.testing.assert_close(pred.grad, -oracle.evaluate(pred.detach())[1] / 0.5 / 3)
    with pytest.raises(ERRORS, match="temperature"):
        oracles.true_energy_loss(oracle, pred, ref, 0.0)


def test_force_field_coefficients_lennard_jones_dimer(oracles):
    epsilon, sigma = 0.7, 1.3
    rm = 2 ** (1 / 6) * sigma
    oracle = oracles.LennardJonesOracle(2, epsilon, sigma)
    ref = torch.tensor([[0.0, 0.0, 0.0], [0.0, rm, 0.0]], dtype=torch.float64)
    for method in ("analytic", "finite_difference", "auto"):
        k = oracles.force_field_coefficients(oracle, ref, [[0, 1]], method=method)
        torch.testing.assert_close(k, torch.tensor([72 * epsilon / rm ** 2], dtype=torch.float64),
                                   rtol=1e-6, atol=0)


def test_force_field_coefficients_reproduce_harmonic_energy_change(oracles):
    from energyloss import pair_energy_loss

    gen = torch.Generator().manual_seed(5)
    ref = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    edges = torch.combinations(torch.arange(5), 2)
    bond_k = 1.0 + torch.arange(len(edges), dtype=torch.float64)
    rest = (ref[edges[:, 0]] - ref[edges[:, 1]]).norm(dim=-1)
    oracle = oracles.HarmonicBondOracle(edges, bond_k, rest, 5)
    k, details = oracles.force_field_coefficients(oracle, ref, edges, method="finite_difference",
                                                  return_details=True)
    torch.testing.assert_close(k, bond_k, rtol=1e-6, atol=0)
    assert details["floored"] == 0
    pred = ref + 1e-3 * torch.randn(5, 3, generator=gen, dtype=torch.float64)
    change = oracle.evaluate(pred)[0] - oracle.evaluate(ref)[0]
    loss = pair_energy_loss(pred, ref, coeff="explicit", edges=edges, edge_weights=k)
    torch.testing.assert_close(loss, change, rtol=1e-6, atol=0)


def test_force_field_coefficients_floor(oracles):
    oracle = oracles.LennardJonesOracle(3)
    ref = torch.tensor([[0.0, 0, 0], [2 ** (1 / 6), 0, 0], [0, 1.5, 0]], dtype=torch.float64)
    k, details = oracles.force_field_coefficients(oracle, ref, [[0, 1], [0, 2]],
                                                  return_details=True)
    assert details["floored"] == 1 and details["curvature"][1] < 0
    assert math.isclose(details["floor"], 1e-6 * float(k[0]), rel_tol=1e-12)
    assert float(k[1]) == details["floor"]
    k = oracles.force_field_coefficients(oracle, ref, [[0, 1], [0, 2]], floor=0.25)
    assert float(k[1]) == 0.25


def test_bad_input_raises_value_error(oracles):
    oracle = oracles.LennardJonesOracle(3)
    with pytest.raises(ValueError, match=r"has 3 atoms, so expected shape \[B, 3, 3\]"):
        oracle.evaluate(torch.zeros(2, 4, 3))
    with pytest.raises(ValueError, match="batch entry 1"):
        oracle.evaluate(torch.tensor([[[0.0, 0, 0], [1, 0, 0], [0, 1, 0]],
                                      [[0.0, 0, 0], [0, 0, 0], [0, 1, 0]]]))
    with pytest.raises(ValueError, match="epsilon"):
        oracles.LennardJonesOracle(2, epsilon=-1.0)
    with pytest.raises(ValueError, match=r"bonds\[0\]"):
        oracles.HarmonicBondOracle([[0, 5]], [1.0], [1.0], 3)
    with pytest.raises(ValueError, match="method must be"):
        oracles.force_field_coefficients(oracle, torch.eye(3, dtype=torch.float64), [[0, 1]],
                                         method="magic")


@pytest.mark.parametrize("make, name", [
    (lambda o, n: o.LennardJonesOracle(n), "LennardJonesOracle"),
    (lambda o, n: o.MorseOracle(n, D=1.0, a=1.0, r0=1.0), "MorseOracle"),
    (lambda o, n: o.HarmonicBondOracle([[0, 1]], [1.0], [1.0], n), "HarmonicBondOracle"),
])
@pytest.mark.parametrize("n_atoms", [2.5, 3.0, True, "3"])
def test_a_non_integer_atom_count_is_refused_not_rounded(oracles, make, name, n_atoms):
    with pytest.raises(ValueError, match=rf"^energyloss: {name}: n_atoms must be an integer, "
                                         rf"got {re.escape(repr(n_atoms))}$"):
        make(oracles, n_atoms)


def test_engine_oracles_fail_clearly(oracles, tmp_path):
    # Without the engine in this build: a "rebuild with" message; with it: the
    # missing file is named. Either way an exception, and the process survives.
    with pytest.raises(ERRORS, match="OpenMM|missing.xml"):
        oracles.OpenMMOracle(str(tmp_path / "missing.xml"), platform="Reference")
    with pytest.raises(ERRORS, match="LAMMPS|missing.in"):
        oracles.LammpsOracle(str(tmp_path / "missing.in"))
    with pytest.raises(ERRORS, match="RDKit MMFF|missing.mol"):
        oracles.MMFFOracle(str(tmp_path / "missing.mol"))


# A deck made for the LAMMPS oracle: units, atoms, force field, no run.
LJ38_DECK = os.path.join(SOURCE_DIR, "examples", "bridge", "lj38_system.lmp")


def lammps_workers():
    """This process's children that are LAMMPS workers."""
    pid = os.getpid()
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        children = [int(child) for child in handle.read().split()]
    workers = []
    for child in children:
        with open(f"/proc/{child}/comm") as handle:
            if "energyloss_lammps_worker".startswith(handle.read().strip()):
                workers.append(child)
    return workers


def test_engine_failures_raise_runtime_error(oracles, tmp_path, monkeypatch):
    # Bad input is a ValueError; a worker that dies is a RuntimeError, and the
    # next call starts a new one.
    if not hasattr(torch.ops.energyloss, "lammps_oracle"):
        pytest.skip("this build has no LAMMPS oracle")
    with monkeypatch.context() as patched:
        patched.setenv("ENERGYLOSS_LAMMPS_WORKER", "/bin/true")
        with pytest.raises(RuntimeError, match="worker process exited with status 0"):
            oracles.LammpsOracle(LJ38_DECK, workers=1)
    oracle = oracles.LammpsOracle(LJ38_DECK, workers=1)
    x = cluster(1, oracle.n_atoms, seed=3)
    energies, _ = oracle.evaluate(x)
    with pytest.raises(ValueError, match=r"expected shape \[B, 38, 3\]"):
        oracle.evaluate(torch.zeros(1, 5, 3, dtype=torch.float64))
    (worker,) = lammps_workers()
    os.kill(worker, signal.SIGKILL)
    os.waitid(os.P_PID, worker, os.WEXITED | os.WNOWAIT)
    with pytest.raises(RuntimeError, match="killed by signal 9") as raised:
        oracle.evaluate(x)
    assert not isinstance(raised.value, ValueError)
    assert torch.equal(oracle.evaluate(x)[0], energies)


@pytest.fixture(scope="module")
def generators(tmp_path_factory):
    directory = tmp_path_factory.mktemp("generators")
    write_generators(str(directory))
    return directory


def test_generator_samples_with_deterministic_seeds(oracles, generators):
    generator = oracles.load_generator(generators / "water.pt")
    assert generator.n_atoms == 3 and generator.length_unit == "angstrom"
    assert generator.elements == ["O", "H", "H"]
    a, b, c = generator.sample(4, seed=7), generator.sample(4, seed=7), generator.sample(4, seed=8)
    assert a.shape == (4, 3, 3) and a.dtype == torch.float64
    assert torch.equal(a, b) and not torch.allclose(a, c)
    torch.testing.assert_close(generator.sample(4, seed=7, length_unit="nm"), a / 10)
    torch.testing.assert_close(generator.sample(4, seed=7, length_unit="real"), a)
    exact = oracles.Generator(generators / "water_exact.pt").sample(2, seed=1)
    assert torch.equal(exact, torch.tensor([WATER, WATER], dtype=torch.float64))
    noise = generator.sample(4000, seed=3) - torch.tensor(WATER, dtype=torch.float64)
    assert abs(float(noise.std()) - 0.05) < 0.002 and abs(float(noise.mean())) < 0.002
    with pytest.raises(ValueError, match="reduced"):
        generator.sample(1, 0, length_unit="lj")
    with pytest.raises(ValueError, match="not a known length unit"):
        generator.sample(1, 0, length_unit="furlong")


@pytest.mark.parametrize("n, seed, message", [
    (2.5, 0, "n must be an integer, got 2.5"), (0, 0, "n must be at least 1, got 0"),
    (-3, 0, "n must be at least 1, got -3"), (True, 0, "n must be an integer, got True"),
    (2, 1.5, "seed must be an integer, got 1.5"), ("4", 0, "n must be an integer, got '4'")])
def test_generator_sample_refuses_bad_counts_and_seeds_by_name(oracles, generators, n, seed,
                                                              message):
    # before, 2.5 silently became 2 samples and 0 reached C++ as a RuntimeError
    generator = oracles.load_generator(generators / "water.pt")
    with pytest.raises(ValueError, match=f"Generator.sample: {message}"):
        generator.sample(n, seed)
    import numpy as np
    assert generator.sample(np.int64(2), seed=np.int32(7)).shape == (2, 3, 3)


@pytest.mark.parametrize("name", sorted(BROKEN_GENERATORS))
def test_broken_generators_give_specific_errors(oracles, generators, name):
    with pytest.raises(ValueError, match=BROKEN_GENERATORS[name][1]):
        oracles.Generator(generators / name)


def test_missing_generator_file(oracles, tmp_path):
    with pytest.raises(ValueError, match="file not found"):
        oracles.Generator(tmp_path / "absent.pt")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write-generators":
        write_generators(sys.argv[2])
    else:
        sys.exit(f"usage: {sys.argv[0]} --write-generators DIRECTORY")
