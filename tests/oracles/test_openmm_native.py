"""energyloss.OpenMMOracle(engine="native") from Python: the same results as
the Context engine on OpenMM's Reference platform, through the functions that
take any oracle (oracle_energy, true_energy_loss, force_field_coefficients);
per-term energies; the "auto" fallback; the Context engine's errors on bad
input. Systems: tests/oracles/make_native_systems.py."""
import os
import subprocess
import sys

import pytest
import torch

pytest.importorskip("openmm")

from energyloss import oracles as energyloss  # noqa: E402

if not hasattr(torch.ops.energyloss, "openmm_oracle"):
    pytest.skip("this build has no OpenMM oracle", allow_module_level=True)

SOURCE_DIR = os.environ.get(
    "ENERGYLOSS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(SOURCE_DIR, "tests", "oracles", "make_native_systems.py")


@pytest.fixture(scope="module")
def systems(tmp_path_factory):
    folder = tmp_path_factory.mktemp("native_systems")
    subprocess.run([sys.executable, SCRIPT, str(folder)], check=True)
    return folder


def load(systems, name):
    """(System XML path, positions [B, N, 3] float64)."""
    with open(systems / f"{name}.positions") as stream:
        header = stream.readline().split()
        samples, atoms = int(header[1]), int(header[3])
        values = [float(x) for x in stream.read().split()]
    return str(systems / f"{name}.xml"), torch.tensor(values, dtype=torch.float64).reshape(
        samples, atoms, 3)


@pytest.mark.parametrize("name", ["alanine_obc2", "alanine_gbsaobc", "alanine_rb_cmap",
                                  "villin_cutoff"])
def test_matches_the_reference_platform(systems, name):
    xml, batch = load(systems, name)
    native = energyloss.OpenMMOracle(xml, engine="native")
    reference = energyloss.OpenMMOracle(xml, platform="Reference", engine="context")
    assert native.units == ("nm", "kJ/mol") and native.n_atoms == batch.shape[1]
    energies, forces = native.evaluate(batch)
    expected_energies, expected_forces = reference.evaluate(batch)
    torch.testing.assert_close(energies, expected_energies, rtol=1e-9, atol=0)
    torch.testing.assert_close(forces, expected_forces, rtol=0,
                               atol=1e-9 * expected_forces.abs().max().item())
    # float32 in, float32 out; the native engine's single precision agrees too.
    single = energyloss.OpenMMOracle(xml, engine="native", properties={"Precision": "single"})
    energies32, forces32 = single.evaluate(batch.float())
    assert energies32.dtype == torch.float32 and forces32.dtype == torch.float32
    torch.testing.assert_close(energies32.double(), expected_energies, rtol=1e-4, atol=0)


def test_the_oracle_functions_work_unchanged(systems):
    xml, batch = load(systems, "alanine_obc2")
    native = energyloss.OpenMMOracle(xml, engine="native")
    context = energyloss.OpenMMOracle(xml, platform="Reference", engine="context")
    positions = batch.clone().requires_grad_(True)
    energyloss.oracle_energy(native, positions).sum().backward()
    _, forces = native.evaluate(batch)
    torch.testing.assert_close(positions.grad, -forces, rtol=0, atol=1e-12)
    pred, ref = batch[1:], batch[:1].expand(3, -1, -1)
    torch.testing.assert_close(
        energyloss.true_energy_loss(native, pred, ref, 2.49, reduction="none"),
        energyloss.true_energy_loss(context, pred, ref, 2.49, reduction="none"),
        rtol=1e-9, atol=1e-9)
    edges = torch.tensor([[0, 1], [1, 4], [4, 6], [6, 8]])
    for method in ("analytic", "finite_difference"):
        torch.testing.assert_close(
            energyloss.force_field_coefficients(native, batch[0], edges, method=method),
            energyloss.force_field_coefficients(context, batch[0], edges, method=method),
            rtol=1e-6, atol=1e-6)


def test_energy_terms(systems):
    xml, batch = load(systems, "alanine_rb_cmap")
    native = energyloss.OpenMMOracle(xml, engine="native")
    terms = native.energy_terms(batch)
    assert list(terms) == ["bond", "angle", "torsion", "cmap", "nonbonded", "gb"]
    energies, _ = native.evaluate(batch)
    torch.testing.assert_close(sum(terms.values()), energies, rtol=1e-12, atol=1e-9)
    assert (terms["gb"] == 0).all() and (terms["cmap"] != 0).all()
    assert native.energy_terms(batch[0])["bond"].dim() == 0
    context = energyloss.OpenMMOracle(xml, platform="Reference")
    with pytest.raises(ValueError, match="native engine"):
        context.energy_terms(batch)


def test_auto_falls_back_naming_the_force(systems, capfd):
    xml, batch = load(systems, "alanine_custom_bond")
    oracle = energyloss.OpenMMOracle(xml, platform="Reference", engine="auto")
    assert "CustomBondForce" in capfd.readouterr().err
    assert "native engine" not in repr(oracle) and "on Reference" in repr(oracle)
    with pytest.raises(ValueError, match="CustomBondForce"):
        energyloss.OpenMMOracle(xml, engine="native")
    native = energyloss.OpenMMOracle(load(systems, "alanine_obc2")[0], engine="auto")
    assert "native engine" in repr(native)
    with pytest.raises(ValueError, match="engine"):
        energyloss.OpenMMOracle(xml, engine="fastest")


def test_bad_input_gives_the_context_engines_errors(systems):
    xml, batch = load(systems, "alanine_obc2")
    engines = [energyloss.OpenMMOracle(xml, engine="native"),
               energyloss.OpenMMOracle(xml, platform="Reference", engine="context")]
    atoms = batch.shape[1]
    nan = batch.clone()
    nan[1, 4, 0] = float("nan")
    for bad in (torch.zeros(1, atoms + 1, 3, dtype=torch.float64), nan):
        messages = []
        for oracle in engines:
            with pytest.raises(ValueError) as error:
                oracle.evaluate(bad)
            messages.append(str(error.value).replace(oracle.handle.describe(), "ORACLE"))
        assert messages[0] == messages[1]
    assert "batch entry 1, atom 4" in messages[0]
