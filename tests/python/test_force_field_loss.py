"""The force-field energy term (issue 13, item 4) and force-field springs in
kT units (item 5): the term's value against RDKit's own MMFF94 energies, its
gradient against finite differences of the oracle's energies, lambda = 0 and
the noise threshold, non-finite energies under the "mask" policy, the
harmonic identity in kT units, and bad arguments."""
import functools
import math

import pytest
import torch

import energyloss

oracles = pytest.importorskip("energyloss.oracles")
Chem = pytest.importorskip("rdkit.Chem")
AllChem = pytest.importorskip("rdkit.Chem.AllChem")

KT = 0.0019872043 * 298.15  # kcal/mol at 298.15 K


@functools.lru_cache()
def molecule():
    """N-methylacetamide with hydrogens, MMFF94-optimised: (molblock, [N, 3])."""
    mol = Chem.AddHs(Chem.MolFromSmiles("CC(=O)NC"))
    AllChem.EmbedMolecule(mol, randomSeed=7)
    AllChem.MMFFOptimizeMolecule(mol, maxIters=2000)
    return Chem.MolToMolBlock(mol), torch.tensor(mol.GetConformer().GetPositions())


def mmff_oracle():
    if not hasattr(energyloss.ops, "rdkit_mmff_oracle"):
        pytest.skip("this build has no RDKit MMFF oracle")
    return energyloss.MMFFOracle(molecule()[0])


def rdkit_energy(x):
    """MMFF94 energy (kcal/mol) of [N, 3] straight from RDKit."""
    mol = Chem.MolFromMolBlock(molecule()[0], removeHs=False)
    conformer = mol.GetConformer()
    for atom, p in enumerate(x.tolist()):
        conformer.SetAtomPosition(atom, p)
    properties = AllChem.MMFFGetMoleculeProperties(mol, mmffVariant="MMFF94")
    return AllChem.MMFFGetMoleculeForceField(mol, properties).CalcEnergy()


def displaced(count, scale, seed):
    ref = molecule()[1]
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn((count,) + tuple(ref.shape), generator=generator, dtype=torch.float64)
    return ref + scale * noise, ref.expand(count, -1, -1).clone()


def pair_loss_of(k, edges):
    return functools.partial(energyloss.pair_energy_loss, coeff="explicit", edges=edges,
                             edge_weights=k, reduction="none")


def test_term_is_the_energy_difference_in_kT_and_its_gradient_matches_finite_differences():
    oracle = mmff_oracle()
    pred, ref = displaced(3, 0.05, seed=1)
    pred.requires_grad_(True)
    term, valid = energyloss.true_energy_term(oracle, pred, ref, KT)
    assert valid.all()
    for b in range(3):  # the value, against RDKit itself
        expected = (rdkit_energy(pred[b].detach()) - rdkit_energy(ref[b])) / KT
        assert float(term[b]) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    term.sum().backward()
    # Central differences of the oracle's energies (not its forces).
    h = 1e-5
    x = pred.detach()
    steps = []
    for b, atom, c in [(0, 0, 0), (1, 2, 1), (2, 5, 2), (0, 8, 1)]:
        for sign in (1, -1):
            y = x[b].clone()
            y[atom, c] += sign * h
            steps.append(y)
    energies, _ = oracle.evaluate(torch.stack(steps))
    for index, (b, atom, c) in enumerate([(0, 0, 0), (1, 2, 1), (2, 5, 2), (0, 8, 1)]):
        numeric = float(energies[2 * index] - energies[2 * index + 1]) / (2 * h) / KT
        assert float(pred.grad[b, atom, c]) == pytest.approx(numeric, rel=1e-5, abs=1e-4)


def test_loss_gradient_is_pair_gradient_plus_lambda_times_the_term_gradient():
    oracle = mmff_oracle()
    ref0 = molecule()[1]
    edges = torch.combinations(torch.arange(len(ref0)), 2)
    k = energyloss.force_field_coefficients(oracle, ref0, edges, method="hessian_fit", kT=KT)
    loss = energyloss.ForceFieldEnergyLoss(pair_loss_of(k, edges), weight=0.3, kT=KT,
                                           max_sigma=0.1)
    pred, ref = displaced(2, 0.03, seed=2)
    pred.requires_grad_(True)
    value = loss(pred, ref, torch.tensor([0.05, 0.05]), oracle)
    value.sum().backward()
    pair_only = pred.detach().clone().requires_grad_(True)
    pair_value = pair_loss_of(k, edges)(pair_only, ref, None)
    pair_value.sum().backward()
    term_only = pred.detach().clone().requires_grad_(True)
    term, _ = energyloss.true_energy_term(oracle, term_only, ref, KT)
    term.sum().backward()
    torch.testing.assert_close(value, pair_value + 0.3 * term)
    torch.testing.assert_close(pred.grad, pair_only.grad + 0.3 * term_only.grad)
    assert loss.last["evaluated"] == 2 and loss.last["invalid"] == 0


def test_lambda_zero_is_exactly_the_pair_loss_and_calls_no_oracle():
    ref0 = molecule()[1]
    edges = torch.combinations(torch.arange(len(ref0)), 2)
    k = torch.rand(len(edges), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pred, ref = displaced(4, 0.1, seed=3)
    pair = pair_loss_of(k, edges)
    # An oracle for the wrong atom count: calling it would raise.
    wrong = energyloss.LennardJonesOracle(3)
    loss = energyloss.ForceFieldEnergyLoss(pair, weight=0.0, kT=KT, max_sigma=math.inf)
    value = loss(pred, ref, torch.zeros(4) + 1e-3, wrong)
    assert torch.equal(value, pair(pred, ref, None))
    assert loss.last["evaluated"] == 0


def test_entries_above_the_threshold_get_no_oracle_term_and_no_oracle_call():
    oracle = mmff_oracle()
    ref0 = molecule()[1]
    edges = torch.combinations(torch.arange(len(ref0)), 2)
    k = torch.full((len(edges),), 2.0, dtype=torch.float64)
    pred, ref = displaced(4, 0.05, seed=4)
    sigma = torch.tensor([0.01, 0.5, 0.1, 0.9])  # entries 0 and 2 are near-physical
    wrong = energyloss.LennardJonesOracle(3)  # would raise if entries 1 or 3 were scored
    per_entry = [oracle, wrong, oracle, wrong]
    loss = energyloss.ForceFieldEnergyLoss(pair_loss_of(k, edges), weight=1.0, kT=KT,
                                           max_sigma=0.1)
    pred.requires_grad_(True)
    value = loss(pred, ref, sigma, per_entry)
    assert loss.last["evaluated"] == 2
    value.sum().backward()
    pair_only = pred.detach().clone().requires_grad_(True)
    pair_value = pair_loss_of(k, edges)(pair_only, ref, None)
    pair_value.sum().backward()
    for b in (1, 3):
        assert float(value[b]) == float(pair_value[b])
        assert torch.equal(pred.grad[b], pair_only.grad[b])
    for b in (0, 2):
        assert float(value[b]) != pytest.approx(float(pair_value[b]), rel=1e-3)
        assert not torch.allclose(pred.grad[b], pair_only.grad[b])


def test_padded_batches_score_each_entrys_real_atoms_with_its_own_oracle():
    oracle = mmff_oracle()
    ref0 = molecule()[1]
    n = len(ref0)
    lj = energyloss.LennardJonesOracle(3, units=("angstrom", "kcal/mol"))
    pred, ref = torch.zeros(2, n, 3, dtype=torch.float64), torch.zeros(2, n, 3, dtype=torch.float64)
    pred[0], ref[0] = displaced(1, 0.05, seed=5)[0][0], ref0
    triangle = torch.tensor([[0.0, 0.0, 0.0], [1.12, 0.0, 0.0], [0.56, 0.97, 0.0]],
                            dtype=torch.float64)
    ref[1, :3] = triangle
    pred[1, :3] = triangle * 1.05
    mask = torch.zeros(2, n, dtype=torch.bool)
    mask[0] = True
    mask[1, :3] = True
    term, valid = energyloss.true_energy_term([oracle, lj], pred, ref, KT, mask)
    assert valid.all()
    expected_lj = (lj.evaluate(pred[1:, :3])[0] - lj.evaluate(ref[1:, :3])[0]) / KT
    assert float(term[1]) == pytest.approx(float(expected_lj[0]), rel=1e-12)
    assert float(term[0]) == pytest.approx(
        (rdkit_energy(pred[0]) - rdkit_energy(ref0)) / KT, rel=1e-9)


def test_unevaluable_entries_get_the_pair_loss_alone_without_nan():
    lj = energyloss.LennardJonesOracle(3)
    ref = torch.tensor([[[0.0, 0.0, 0.0], [1.12, 0.0, 0.0], [0.56, 0.97, 0.0]]] * 2,
                       dtype=torch.float64)
    pred = ref * 1.02
    pred[1, 1] = pred[1, 0]  # two atoms on top of each other: infinite energy
    pred.requires_grad_(True)
    edges = torch.combinations(torch.arange(3), 2)
    pair = pair_loss_of(torch.ones(3, dtype=torch.float64), edges)
    loss = energyloss.ForceFieldEnergyLoss(pair, weight=1.0, kT=0.5, max_sigma=1.0)
    value = loss(pred, ref, 0.01, lj)
    assert loss.last == {"evaluated": 2, "invalid": 1, "seconds": loss.last["seconds"]}
    assert torch.isfinite(value).all()
    assert float(value[1]) == float(pair(pred.detach(), ref, None)[1])
    value.sum().backward()
    assert torch.isfinite(pred.grad).all()
    term, valid = energyloss.true_energy_term(lj, pred.detach(), ref, 0.5)
    assert valid.tolist() == [True, False] and float(term[1]) == 0.0
    # A reference energy that is not finite also drops the term.
    term, valid = energyloss.true_energy_term(lj, ref, ref, 0.5,
                                              ref_energy=torch.tensor([0.0, math.inf]))
    assert valid.tolist() == [True, False]


@pytest.mark.parametrize("arguments, name", [
    ({"weight": -1.0}, "weight"), ({"weight": math.nan}, "weight"), ({"weight": "big"}, "weight"),
    ({"weight": math.inf}, "weight"), ({"kT": 0.0}, "kT"), ({"kT": -2.0}, "kT"),
    ({"kT": math.inf}, "kT"), ({"kT": None}, "kT"), ({"max_sigma": 0.0}, "max_sigma"),
    ({"max_sigma": -0.1}, "max_sigma"), ({"max_sigma": math.nan}, "max_sigma"),
    ({"pair_loss": 3}, "pair_loss")])
def test_bad_arguments_raise_value_error_naming_them(arguments, name):
    settings = {"pair_loss": energyloss.mse_loss, "weight": 1.0, "kT": 1.0, "max_sigma": 0.1}
    settings.update(arguments)
    with pytest.raises(ValueError, match=name):
        energyloss.ForceFieldEnergyLoss(**settings)


def test_bad_call_arguments_raise_value_error_naming_them():
    lj = energyloss.LennardJonesOracle(3)
    x = torch.rand(2, 3, 3, dtype=torch.float64)
    loss = energyloss.ForceFieldEnergyLoss(
        functools.partial(energyloss.mse_loss, reduction="none"), weight=1.0, kT=1.0)
    with pytest.raises(ValueError, match="sigma"):
        loss(x, x, torch.zeros(3), lj)
    with pytest.raises(ValueError, match="oracles"):
        loss(x, x, torch.zeros(2), [lj])
    with pytest.raises(ValueError, match="oracles"):
        loss(x, x, torch.zeros(2), [lj, "lj"])
    with pytest.raises(ValueError, match="real atoms"):
        energyloss.true_energy_term(energyloss.LennardJonesOracle(4), x, x, 1.0)
    with pytest.raises(ValueError, match="kT"):
        energyloss.true_energy_term(lj, x, x, 0.0)
    with pytest.raises(ValueError, match="ref_energy"):
        energyloss.true_energy_term(lj, x, x, 1.0, ref_energy=torch.zeros(3))


# ---------------------------------------------------------- item 5: units


@pytest.mark.parametrize("method", ["finite_difference", "hessian_fit"])
def test_kT_units_divide_the_physical_springs_and_nothing_else(method):
    oracle = mmff_oracle()
    ref = molecule()[1]
    edges = torch.combinations(torch.arange(len(ref)), 2)
    raw, details = energyloss.force_field_coefficients(oracle, ref, edges, method=method,
                                                      return_details=True)
    in_kT, details_kT = energyloss.force_field_coefficients(oracle, ref, edges, method=method,
                                                           kT=KT, return_details=True)
    torch.testing.assert_close(in_kT, raw / KT, rtol=1e-12, atol=0)
    assert details_kT["kT"] == KT and "kT" not in details
    # Physical values: MMFF94 C=O and C-H stretches are hundreds of kcal/mol/A^2.
    assert 200 < float(raw.max()) < 3000


def test_harmonic_identity_holds_in_kT_units():
    """1/2 sum k dr^2 with k in kT/A^2 matches the force field's second-order
    energy change in kT, (E(x+dx) + E(x-dx) - 2 E(x)) / 2 / kT, for small
    internal displacements, to the Hessian fit's residual."""
    oracle = mmff_oracle()
    ref = molecule()[1]
    n = len(ref)
    edges = torch.combinations(torch.arange(n), 2)
    k, details = energyloss.force_field_coefficients(oracle, ref, edges, method="hessian_fit",
                                                    kT=KT, return_details=True)
    projector = energyloss.project_out_rigid_modes(torch.eye(3 * n, dtype=torch.float64), ref)
    dx = (torch.randn(30, 3 * n, generator=torch.Generator().manual_seed(3),
                      dtype=torch.float64) * 2e-3 @ projector).reshape(30, n, 3)
    energies, _ = oracle.evaluate(torch.cat([ref + dx, ref - dx, ref[None]]))
    truth = (energies[:30] + energies[30:60] - 2 * energies[-1]) / 2 / KT
    springs = energyloss.pair_energy_loss(ref + dx, ref.expand_as(dx), coeff="explicit",
                                          edges=edges, edge_weights=k, reduction="none")
    error = float((springs - truth).abs().mean() / truth.abs().mean())
    assert error < max(1.5 * float(details["relative_residual"]), 0.05), error
    # In the oracle's units instead, the same springs are off by a factor kT.
    assert float((springs * KT - truth).abs().mean() / truth.abs().mean()) > 0.3


@pytest.mark.parametrize("kT", [0.0, -1.0, math.inf, math.nan, "warm"])
def test_bad_kT_for_springs_raises_value_error_naming_it(kT):
    oracle = energyloss.LennardJonesOracle(3)
    ref = torch.tensor([[0.0, 0.0, 0.0], [1.12, 0.0, 0.0], [0.56, 0.97, 0.0]],
                       dtype=torch.float64)
    with pytest.raises(ValueError, match="kT"):
        energyloss.force_field_coefficients(oracle, ref, torch.combinations(torch.arange(3), 2),
                                            kT=kT)
