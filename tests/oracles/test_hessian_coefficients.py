"""Hessian-fitted springs from Python: the NNLS solver against SciPy's, the
harmonic-limit identity on alanine dipeptide (OpenMM) and on an MMFF94
molecule (RDKit) against the oracles' own energies, positivity, invariance
and bad input."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import energyloss
from energyloss import oracles

scipy_optimize = pytest.importorskip("scipy.optimize")

SOURCE_DIR = os.environ.get(
    "ENERGYLOSS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.mark.parametrize("shape", [(30, 10), (40, 25), (12, 30), (100, 60)])
def test_nnls_matches_scipy(shape):
    rng = np.random.default_rng(sum(shape))
    for _ in range(20):
        A = rng.normal(size=shape)
        b = rng.normal(size=shape[0])
        expected, expected_residual = scipy_optimize.nnls(A, b, maxiter=50 * shape[1])
        x, _, converged = oracles.nnls(torch.from_numpy(A), torch.from_numpy(b))
        assert converged
        x = x.numpy()
        assert (x >= 0).all()
        residual = np.linalg.norm(A @ x - b)
        assert residual == pytest.approx(expected_residual, abs=1e-10 * np.linalg.norm(b))
        if shape[0] >= shape[1]:  # full column rank: the minimiser is unique
            np.testing.assert_allclose(x, expected, atol=1e-10 * np.abs(expected).max())


def internal_displacements(ref, count, scale, seed):
    """[count, N, 3] random displacements with the rigid-body modes projected out."""
    n = ref.shape[0]
    projector = oracles.project_out_rigid_modes(torch.eye(3 * n, dtype=torch.float64), ref)
    generator = torch.Generator().manual_seed(seed)
    dx = torch.randn(count, 3 * n, generator=generator, dtype=torch.float64) * scale
    return (dx @ projector).reshape(count, n, 3)


def harmonic_limit_errors(oracle, ref, edges, k_fit, k_pair, scale):
    """Mean |pair loss - force-field second-order energy change| / mean |change|
    over random internal displacements, for both sets of springs. The force
    field side is (E(x + dx) + E(x - dx) - 2 E(x)) / 2 = 1/2 dx^T H dx + O(dx^4),
    from the oracle's energies (not from its forces or our Hessian)."""
    dx = internal_displacements(ref, 40, scale, seed=1)
    energies, _ = oracle.evaluate(torch.cat([ref + dx, ref - dx, ref[None]]))
    count = dx.shape[0]
    truth = (energies[:count] + energies[count:2 * count] - 2 * energies[-1]) / 2
    errors = []
    for k in (k_fit, k_pair):
        springs = energyloss.pair_energy_loss(ref + dx, ref.expand_as(dx), coeff="explicit",
                                              edges=edges, edge_weights=k, reduction="none")
        errors.append(((springs - truth).abs().mean() / truth.abs().mean()).item())
    return errors


def check_harmonic_limit(oracle, ref, scale):
    n = ref.shape[0]
    edges = torch.combinations(torch.arange(n), 2)
    k, details = oracles.force_field_coefficients(oracle, ref, edges, method="hessian_fit",
                                                  return_details=True)
    k_pair = oracles.force_field_coefficients(oracle, ref, edges, method="finite_difference")
    assert details["converged"]
    assert (k >= 0).all()
    assert details["zero_springs"] == int((k == 0).sum())
    assert 0 < details["relative_residual"] < 1
    # The spring network's Hessian is what the residual describes.
    target = oracles.project_out_rigid_modes(details["hessian"], ref)
    network = oracles.spring_network_hessian(ref, edges, k)
    assert ((network - target).norm() / target.norm()).item() == pytest.approx(
        details["relative_residual"], rel=1e-9)
    fit_error, pair_error = harmonic_limit_errors(oracle, ref, edges, k, k_pair, scale)
    print(f"relative residual {details['relative_residual']:.3f}, zero springs "
          f"{details['zero_springs']}/{len(k)}, harmonic-limit error: fit {fit_error:.3f}, "
          f"per-pair projection {pair_error:.3f}")
    assert fit_error <= details["relative_residual"]
    assert fit_error < 0.7 * pair_error
    return k, details


@pytest.fixture(scope="module")
def alanine(tmp_path_factory):
    if not hasattr(torch.ops.energyloss, "openmm_oracle"):
        pytest.skip("this build has no OpenMM oracle")
    pytest.importorskip("openmm")
    folder = tmp_path_factory.mktemp("alanine")
    xml, positions = folder / "system.xml", folder / "positions.npy"
    subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "examples", "openmm", "make_system.py"),
                    "--system-xml", str(xml), "--positions", str(positions)], check=True)
    oracle = oracles.OpenMMOracle(str(xml), platform="Reference", workers=2)
    return oracle, torch.from_numpy(np.load(positions)).to(torch.float64)


def test_harmonic_limit_alanine_dipeptide(alanine):
    oracle, ref = alanine
    check_harmonic_limit(oracle, ref, scale=1e-4)  # nm


def soft_mode_ratios(hessian, ref, k, edges, count=10):
    """v^T K v / v^T (PHP) v for the ``count`` softest internal modes v of PHP
    with positive curvature (springs cannot match a negative one)."""
    target = oracles.project_out_rigid_modes(hessian, ref)
    values, vectors = torch.linalg.eigh(target)
    keep = values > 1e-6 * values.abs().max()  # internal modes with positive curvature
    values, vectors = values[keep], vectors[:, keep]
    order = values.abs().argsort()[:count]
    network = oracles.spring_network_hessian(ref, edges, k)
    soft = vectors[:, order]
    return (soft * (network @ soft)).sum(0) / values[order]


def test_low_mode_weighting_alanine_dipeptide(alanine):
    """The plain fit is dominated by bond stretches and makes the softest
    modes far too stiff; low_mode_power=1 brings them close to the force
    field's own curvature (ratio 1), at the price of the stiff modes."""
    oracle, ref = alanine
    edges = torch.combinations(torch.arange(ref.shape[0]), 2)
    hessian = oracles.force_field_hessian(oracle, ref)
    plain = oracles.hessian_fitted_springs(hessian, ref, edges)
    k, details = oracles.hessian_fitted_springs(hessian, ref, edges, low_mode_power=1.0,
                                                return_details=True)
    assert (k >= 0).all() and details["converged"]
    plain_error = soft_mode_ratios(hessian, ref, plain, edges).log().abs().median()
    weighted_error = soft_mode_ratios(hessian, ref, k, edges).log().abs().median()
    print(f"softest 10 modes, median |log(k_spring / k_ff)|: plain {plain_error:.2f}, "
          f"low_mode_power=1 {weighted_error:.2f}")
    assert weighted_error < 0.5 * plain_error
    k_same, same = oracles.force_field_coefficients(oracle, ref, edges, method="hessian_fit",
                                                    low_mode_power=1.0, return_details=True)
    torch.testing.assert_close(k_same, k)
    with pytest.raises(ValueError, match="low_mode_power"):
        oracles.hessian_fitted_springs(hessian, ref, edges, low_mode_power=-1.0)
    with pytest.raises(ValueError, match="low_mode_power"):
        oracles.force_field_coefficients(oracle, ref, edges, method="finite_difference",
                                         low_mode_power=1.0)


@pytest.fixture(scope="module")
def methylphenol():
    if not hasattr(torch.ops.energyloss, "rdkit_mmff_oracle"):
        pytest.skip("this build has no RDKit MMFF oracle")
    Chem = pytest.importorskip("rdkit.Chem")
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles("Cc1ccccc1O"))
    assert AllChem.EmbedMolecule(mol, randomSeed=11) == 0
    AllChem.MMFFOptimizeMolecule(mol)
    oracle = oracles.MMFFOracle(Chem.MolToMolBlock(mol))
    return oracle, torch.from_numpy(mol.GetConformer().GetPositions())


def test_harmonic_limit_mmff_molecule(methylphenol):
    oracle, ref = methylphenol
    check_harmonic_limit(oracle, ref, scale=1e-3)  # angstrom


def test_invariant_under_rotation_and_translation(methylphenol):
    oracle, ref = methylphenol
    edges = torch.combinations(torch.arange(ref.shape[0]), 2)
    k = oracles.force_field_coefficients(oracle, ref, edges, method="hessian_fit")
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(2),
                                       dtype=torch.float64))
    moved = ref @ q.T + torch.tensor([1.5, -2.0, 0.7], dtype=torch.float64)
    k_moved = oracles.force_field_coefficients(oracle, moved, edges, method="hessian_fit")
    torch.testing.assert_close(k_moved, k, rtol=0, atol=1e-5 * k.max().item())


def test_given_edges_and_float32(methylphenol):
    oracle, ref = methylphenol
    edges = torch.tensor([[0, 1], [1, 2], [0, 2], [2, 3], [1, 3]])
    hessian = oracles.force_field_hessian(oracle, ref)
    k, details = oracles.hessian_fitted_springs(hessian, ref, edges, return_details=True)
    k32 = oracles.hessian_fitted_springs(hessian.float(), ref.float(), edges)
    assert k.shape == (5,) and k32.dtype == torch.float32
    torch.testing.assert_close(k32.double(), k, rtol=1e-4, atol=1e-4 * k.max().item())
    assert details["relative_residual"] > 0.5  # five springs cannot describe a molecule


def test_bad_input(methylphenol):
    oracle, ref = methylphenol
    n = ref.shape[0]
    edges = torch.combinations(torch.arange(n), 2)
    hessian = oracles.force_field_hessian(oracle, ref)
    with pytest.raises(ValueError, match="hessian"):
        oracles.hessian_fitted_springs(hessian[:-3], ref, edges)
    with pytest.raises(ValueError, match="reference"):
        oracles.hessian_fitted_springs(hessian, ref[:, :2], edges)
    bad = hessian.clone()
    bad[4, 7] = float("nan")
    with pytest.raises(ValueError, match="not finite"):
        oracles.hessian_fitted_springs(bad, ref, edges)
    with pytest.raises(ValueError, match="edges"):
        oracles.hessian_fitted_springs(hessian, ref, torch.tensor([[0, n]]))
    with pytest.raises(ValueError, match="repeats"):
        oracles.hessian_fitted_springs(hessian, ref, torch.tensor([[0, 1], [1, 0]]))
    with pytest.raises(ValueError, match="edges"):
        oracles.hessian_fitted_springs(hessian, ref, edges.float())
    with pytest.raises(ValueError, match="floor"):
        oracles.force_field_coefficients(oracle, ref, edges, method="hessian_fit", floor=1.0)
    nan_ref = ref.clone()
    nan_ref[2, 1] = float("nan")
    with pytest.raises(ValueError, match="not finite"):
        oracles.force_field_hessian(oracle, nan_ref)
    with pytest.raises(ValueError, match="shape"):
        oracles.force_field_hessian(oracle, ref[:-1])


def molecule_graph(methylphenol):
    """(bonds [M, 2], topological distance matrix [N, N]) by RDKit, independent of ours."""
    Chem = pytest.importorskip("rdkit.Chem")
    oracle, ref = methylphenol
    # The oracle was built from this SMILES with explicit hydrogens, atoms in RDKit's order.
    mol = Chem.AddHs(Chem.MolFromSmiles("Cc1ccccc1O"))
    bonds = torch.tensor([[b.GetBeginAtomIdx(), b.GetEndAtomIdx()] for b in mol.GetBonds()])
    return bonds, Chem.GetDistanceMatrix(mol)


def test_shell_balanced_default_totals_are_the_exp_presets(methylphenol):
    oracle, ref = methylphenol
    bonds, distance = molecule_graph(methylphenol)
    n = ref.shape[0]
    edges = torch.combinations(torch.arange(n), 2)
    k_ff = oracles.force_field_coefficients(oracle, ref, edges, method="hessian_fit")
    k, details = oracles.shell_balanced_coefficients(ref, bonds, edges, k_ff,
                                                     return_details=True)
    d = distance[edges[:, 0].numpy(), edges[:, 1].numpy()]
    shell = np.minimum(d, 4).astype(int)
    np.testing.assert_array_equal(details["shell"].numpy(), shell)
    r = (ref[edges[:, 0]] - ref[edges[:, 1]]).norm(dim=1).numpy()
    exp_k = 24.0 / n * np.exp(-r)
    for s in range(1, 5):
        in_shell = shell == s
        expected_total = exp_k[in_shell].sum()
        assert details["target"][s - 1].item() == pytest.approx(expected_total, rel=1e-12)
        assert k[in_shell].sum().item() == pytest.approx(expected_total, rel=1e-12)
        # Proportions within the shell are the force field's.
        torch.testing.assert_close(k[in_shell] / k[in_shell].sum(),
                                   k_ff[in_shell] / k_ff[in_shell].sum(), rtol=1e-12, atol=1e-15)
    assert (k >= 0).all()


def test_shell_balanced_explicit_totals_and_bad_input(methylphenol):
    oracle, ref = methylphenol
    bonds, distance = molecule_graph(methylphenol)
    edges = torch.combinations(torch.arange(ref.shape[0]), 2)
    k_ff = torch.rand(len(edges), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    totals = [400.0, 40.0, 4.0, 0.4]
    k, details = oracles.shell_balanced_coefficients(None, bonds, edges, k_ff, totals=totals,
                                                     n_atoms=ref.shape[0], return_details=True)
    for s, total in enumerate(totals, start=1):
        in_shell = details["shell"] == s
        assert k[in_shell].sum().item() == pytest.approx(total, rel=1e-12)
        torch.testing.assert_close(k[in_shell] / total, k_ff[in_shell] / k_ff[in_shell].sum())
    torch.testing.assert_close(details["input_total"],
                               torch.stack([k_ff[details["shell"] == s].sum()
                                            for s in range(1, 5)]))
    with pytest.raises(ValueError, match="k"):
        oracles.shell_balanced_coefficients(ref, bonds, edges, -k_ff)
    with pytest.raises(ValueError, match="k"):
        oracles.shell_balanced_coefficients(ref, bonds, edges, k_ff[:-1])
    nan_k = k_ff.clone()
    nan_k[3] = float("nan")
    with pytest.raises(ValueError, match="k"):
        oracles.shell_balanced_coefficients(ref, bonds, edges, nan_k)
    with pytest.raises(ValueError, match="totals"):
        oracles.shell_balanced_coefficients(ref, bonds, edges, k_ff, totals=[1.0, -1.0])
    with pytest.raises(ValueError, match="bonds"):
        oracles.shell_balanced_coefficients(ref, torch.tensor([[0, 99]]), edges, k_ff)
    with pytest.raises(ValueError, match="bonds"):
        oracles.shell_balanced_coefficients(ref, bonds.double(), edges, k_ff)
    with pytest.raises(ValueError, match="reference"):
        oracles.shell_balanced_coefficients(ref[:, :2], bonds, edges, k_ff)


def test_modified_seminario_bonds_of_harmonic_bond_oracle():
    """Harmonic bonds at rest: Seminario's bond k is the bond's own k."""
    rng = np.random.default_rng(4)
    ref = torch.from_numpy(rng.normal(size=(4, 3)))
    bonds = torch.tensor([[0, 1], [1, 2], [2, 3]])
    k = torch.tensor([250.0, 400.0, 320.0], dtype=torch.float64)
    r0 = (ref[bonds[:, 0]] - ref[bonds[:, 1]]).norm(dim=1)
    oracle = oracles.HarmonicBondOracle(bonds, k, r0, 4)
    result = oracles.modified_seminario(oracles.force_field_hessian(oracle, ref), ref, bonds)
    torch.testing.assert_close(result["bond_k"], k, rtol=1e-6, atol=0)
    torch.testing.assert_close(result["bond_length"], r0)
    assert result["angles"].tolist() == [[0, 1, 2], [1, 2, 3]]


def test_modified_seminario_isolated_openmm_angle(tmp_path):
    """One OpenMM HarmonicAngleForce at its minimum (Reference platform): the
    Seminario angle is 1 / (1/(k (1 - rho cos t)) + 1/(k (1 - cos t / rho))),
    rho = R_A / R_C (derived by hand in test_hessian_coefficients.cpp)."""
    if not hasattr(torch.ops.energyloss, "openmm_oracle"):
        pytest.skip("this build has no OpenMM oracle")
    openmm = pytest.importorskip("openmm")
    theta, k_theta, ra, rc = np.deg2rad(104.5), 300.0, 0.1, 0.13
    x = np.array([[ra, 0, 0], [0, 0, 0], [rc * np.cos(theta), rc * np.sin(theta), 0]])
    rotation, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    x = x @ rotation.T + 0.3
    system = openmm.System()
    for _ in range(3):
        system.addParticle(12.0)
    force = openmm.HarmonicAngleForce()
    force.addAngle(0, 1, 2, theta, k_theta)
    system.addForce(force)
    path = tmp_path / "angle.xml"
    path.write_text(openmm.XmlSerializer.serialize(system))
    oracle = oracles.OpenMMOracle(str(path), platform="Reference", workers=1)
    ref = torch.from_numpy(x)
    result = oracles.modified_seminario(oracles.force_field_hessian(oracle, ref, step=1e-5), ref,
                                        [[0, 1], [1, 2]])
    rho, cosine = ra / rc, np.cos(theta)
    expected = 1 / (1 / (k_theta * (1 - rho * cosine)) + 1 / (k_theta * (1 - cosine / rho)))
    assert result["angle_k"].item() == pytest.approx(expected, rel=1e-5)
    assert result["angle_theta"].item() == pytest.approx(theta, rel=1e-9)


def test_modified_seminario_mmff_is_near_mmff_parameters(methylphenol):
    """On MMFF94 methylphenol the Seminario bond constants land near MMFF's own
    143.9325 kb (within 0.6-1.1: the Hessian also carries stretch-bend and
    nonbonded couplings), every constant is positive, and bad input raises."""
    Chem = pytest.importorskip("rdkit.Chem")
    from rdkit.Chem import AllChem

    oracle, ref = methylphenol
    bonds, _ = molecule_graph(methylphenol)
    hessian = oracles.force_field_hessian(oracle, ref)
    result = oracles.modified_seminario(hessian, ref, bonds)
    mol = Chem.AddHs(Chem.MolFromSmiles("Cc1ccccc1O"))
    properties = AllChem.MMFFGetMoleculeProperties(mol)
    kb = torch.tensor([properties.GetMMFFBondStretchParams(mol, int(i), int(j))[1] * 143.9325
                       for i, j in bonds.tolist()], dtype=torch.float64)
    ratio = result["bond_k"] / kb
    assert ((ratio > 0.6) & (ratio < 1.1)).all(), ratio
    assert (result["angle_k"] > 0).all()
    assert len(result["angles"]) == sum(d * (d - 1) // 2 for d in
                                        [a.GetDegree() for a in mol.GetAtoms()])
    with pytest.raises(ValueError, match="bonds"):
        oracles.modified_seminario(hessian, ref, torch.tensor([[0, 99]]))
    with pytest.raises(ValueError, match="angles"):
        oracles.modified_seminario(hessian, ref, bonds, angles=torch.tensor([[0, 1]]))
    with pytest.raises(ValueError, match="hessian"):
        oracles.modified_seminario(hessian[:, :-1], ref, bonds)
    bad = hessian.clone()
    bad[0, 0] = float("inf")
    with pytest.raises(ValueError, match="not finite"):
        oracles.modified_seminario(bad, ref, bonds)
