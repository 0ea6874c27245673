"""energyloss.MMFFOracle against RDKit's own Python API on the same molecule and
positions, force_field_coefficients on it against a finite difference of
RDKit's gradient, and error handling."""
import numpy as np
import pytest
import torch

Chem = pytest.importorskip("rdkit.Chem")
from rdkit.Chem import AllChem  # noqa: E402

import energyloss  # noqa: E402

if not hasattr(torch.ops.energyloss, "rdkit_mmff_oracle"):
    pytest.skip("this build has no RDKit MMFF oracle", allow_module_level=True)

# Ethanol, an aromatic ring with a hydroxyl, and aniline, whose conjugated
# nitrogen is where MMFF94 and MMFF94s differ.
SMILES = {"ethanol": "CCO", "methylphenol": "Cc1ccccc1O", "aniline": "Nc1ccccc1"}


def embedded(smiles, seed=11):
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    assert AllChem.EmbedMolecule(mol, randomSeed=seed) == 0
    AllChem.MMFFOptimizeMolecule(mol)
    return mol


def perturbed_batch(mol, count=6, scale=0.1, seed=5):
    """[count, N, 3] random perturbations of the molecule's conformer."""
    x = mol.GetConformer().GetPositions()
    rng = np.random.default_rng(seed)
    return np.stack([x + rng.normal(scale=scale, size=x.shape) for _ in range(count)])


def energy_and_gradient(field, x):
    """RDKit's CalcGrad reuses distances cached by the last CalcEnergy, so a
    gradient is only right after the energy at the same positions."""
    positions = x.ravel().tolist()
    energy = field.CalcEnergy(positions)
    return energy, np.reshape(field.CalcGrad(positions), x.shape)


def rdkit_python(mol, variant, batch, ignore_interfrag=True):
    """Energies [B] and forces [B, N, 3] by RDKit's Python API."""
    properties = AllChem.MMFFGetMoleculeProperties(mol, mmffVariant=variant)
    field = AllChem.MMFFGetMoleculeForceField(
        mol, properties, ignoreInterfragInteractions=ignore_interfrag)
    energies, gradients = zip(*(energy_and_gradient(field, x) for x in batch))
    return np.array(energies), -np.array(gradients)


@pytest.mark.parametrize("variant", ["MMFF94", "MMFF94s"])
@pytest.mark.parametrize("name", sorted(SMILES))
def test_matches_rdkit_python(name, variant, tmp_path):
    mol = embedded(SMILES[name])
    block = Chem.MolToMolBlock(mol)
    path = tmp_path / f"{name}.mol"
    path.write_text(block)
    batch = perturbed_batch(mol)
    expected_energies, expected_forces = rdkit_python(mol, variant, batch)
    for molecule in (block, str(path)):
        oracle = energyloss.MMFFOracle(molecule, variant=variant, workers=2)
        assert oracle.units == ("angstrom", "kcal/mol")
        assert oracle.elements == [atom.GetSymbol() for atom in mol.GetAtoms()]
        energies, forces = oracle.evaluate(torch.from_numpy(batch))
        np.testing.assert_allclose(energies.numpy(), expected_energies, rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(forces.numpy(), expected_forces, rtol=1e-12, atol=1e-10)


def test_variants_differ_where_mmff94s_does():
    mol = embedded(SMILES["aniline"])
    block = Chem.MolToMolBlock(mol)
    batch = torch.from_numpy(perturbed_batch(mol, count=2))
    mmff94, _ = energyloss.MMFFOracle(block, "MMFF94").evaluate(batch)
    mmff94s, _ = energyloss.MMFFOracle(block, "MMFF94s").evaluate(batch)
    assert (mmff94 - mmff94s).abs().min() > 1e-3


def test_fragments_interact():
    """Ethanol and water: nonbonded terms between the fragments are kept."""
    mol = embedded("CCO.O")
    batch = perturbed_batch(mol, count=3)
    energies, forces = energyloss.MMFFOracle(Chem.MolToMolBlock(mol), workers=2).evaluate(
        torch.from_numpy(batch))
    with_terms, with_forces = rdkit_python(mol, "MMFF94", batch, ignore_interfrag=False)
    without_terms, _ = rdkit_python(mol, "MMFF94", batch, ignore_interfrag=True)
    np.testing.assert_allclose(energies.numpy(), with_terms, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(forces.numpy(), with_forces, rtol=1e-12, atol=1e-10)
    assert np.abs(with_terms - without_terms).min() > 1e-6


def test_gradient_is_minus_forces():
    mol = embedded(SMILES["methylphenol"])
    oracle = energyloss.MMFFOracle(Chem.MolToMolBlock(mol), workers=2)
    positions = torch.from_numpy(perturbed_batch(mol, count=3)).requires_grad_(True)
    energyloss.oracle_energy(oracle, positions).sum().backward()
    _, forces = oracle.evaluate(positions.detach())
    torch.testing.assert_close(positions.grad, -forces, rtol=0, atol=1e-12)


def projected_hessian(mol, x, edges, step=1e-5):
    """-u^T H_ij u for each edge from central differences of RDKit's gradient."""
    field = AllChem.MMFFGetMoleculeForceField(mol, AllChem.MMFFGetMoleculeProperties(mol))
    curvatures = []
    for i, j in edges:
        u = (x[i] - x[j]) / np.linalg.norm(x[i] - x[j])
        slopes = []
        for sign in (1.0, -1.0):
            moved = x.copy()
            moved[j] += sign * step * u
            slopes.append(energy_and_gradient(field, moved)[1][i] @ u)
        curvatures.append(-(slopes[0] - slopes[1]) / (2 * step))
    return np.array(curvatures)


def test_force_field_coefficients_match_the_projected_hessian():
    mol = embedded(SMILES["ethanol"])
    ref = torch.from_numpy(mol.GetConformer().GetPositions())
    # C-C, C-O, O-H, C-H bonds and the C-C-O 1-3 pair.
    edges = [[0, 1], [1, 2], [2, 8], [0, 3], [0, 2]]
    for atom_pair in edges[:4]:
        assert mol.GetBondBetweenAtoms(*atom_pair) is not None
    oracle = energyloss.MMFFOracle(Chem.MolToMolBlock(mol), workers=2)
    k, details = energyloss.force_field_coefficients(oracle, ref, edges, return_details=True)
    assert k.dtype == torch.float64 and k.shape == (len(edges),)
    assert details["floored"] == 0 and (k > 0).all()
    expected = projected_hessian(mol, ref.numpy(), edges)
    np.testing.assert_allclose(k.numpy(), expected, rtol=1e-5)
    # Bonds are stiffer than the angle's 1-3 spring (kcal/mol/angstrom^2).
    assert k[:4].min() > 300 and k[4] < k[:4].min()


def test_bad_inputs_raise_value_error(tmp_path):
    missing = str(tmp_path / "missing.mol")
    with pytest.raises(ValueError, match="missing.mol.*cannot be opened"):
        energyloss.MMFFOracle(missing)
    with pytest.raises(ValueError, match="not a readable MDL mol block"):
        energyloss.MMFFOracle("not\na mol block\n")
    block = Chem.MolToMolBlock(embedded(SMILES["ethanol"]))
    with pytest.raises(ValueError, match="variant.*'MMFF95'"):
        energyloss.MMFFOracle(block, variant="MMFF95")
    with pytest.raises(ValueError, match="implicit hydrogen"):
        energyloss.MMFFOracle(Chem.MolToMolBlock(Chem.MolFromSmiles("CCO")))

    oracle = energyloss.MMFFOracle(block, workers=2)
    with pytest.raises(ValueError, match=r"9 atoms, so expected shape \[B, 9, 3\]"):
        oracle.evaluate(torch.zeros(2, 8, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"9 atoms, so expected shape \[B, 9, 3\]"):
        oracle.evaluate(torch.zeros(2, 9, 2, dtype=torch.float64))
    batch = torch.from_numpy(perturbed_batch(embedded(SMILES["ethanol"]), count=3))
    batch[2, 7, 1] = float("nan")
    with pytest.raises(ValueError, match="batch entry 2, atom 7"):
        oracle.evaluate(batch)


UNPICKLE_ELSEWHERE = """
import pickle, sys
import torch
import energyloss  # noqa: F401 (loads the ops)

with open(sys.argv[1], "rb") as f:
    oracle, batch = pickle.load(f)
torch.save(oracle.evaluate(batch), sys.argv[2])
"""


def test_pickled_oracle_from_a_relative_path_loads_in_another_directory(tmp_path, monkeypatch):
    """An oracle made from a relative .mol path pickles its absolute path, so
    a process in another working directory (a DDP rank, a DataLoader worker
    started elsewhere) rebuilds it; equal to the original and to RDKit."""
    import os
    import pickle
    import subprocess
    import sys

    mol = embedded(SMILES["ethanol"])
    (tmp_path / "here").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "here" / "ethanol.mol").write_text(Chem.MolToMolBlock(mol))
    monkeypatch.chdir(tmp_path / "here")
    oracle = energyloss.MMFFOracle("ethanol.mol")
    batch = torch.from_numpy(perturbed_batch(mol))
    with open(tmp_path / "oracle.pkl", "wb") as f:
        pickle.dump((oracle, batch), f)
    script = tmp_path / "unpickle.py"
    script.write_text(UNPICKLE_ELSEWHERE)
    completed = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "oracle.pkl"), str(tmp_path / "out.pt")],
        cwd=str(tmp_path / "elsewhere"), env=dict(os.environ), capture_output=True, text=True,
        timeout=120)
    assert completed.returncode == 0, completed.stderr
    energies, forces = torch.load(str(tmp_path / "out.pt"))
    original = oracle.evaluate(batch)
    torch.testing.assert_close(energies, original[0], rtol=1e-12, atol=0)
    torch.testing.assert_close(forces, original[1], rtol=1e-12, atol=0)
    expected_energies, expected_forces = rdkit_python(mol, "MMFF94", batch.numpy())
    np.testing.assert_allclose(energies.numpy(), expected_energies, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(forces.numpy(), expected_forces, rtol=1e-12, atol=1e-10)
