"""seminario_pair_springs: bond and angle force constants as 1-2 and 1-3 pair
springs (the energy-msem loss of examples/molecules/small_molecules.py).

The harmonic-limit identity is checked against geometry computed here, not
against the function's formula: a pure bend (one arm rotated about the
angle's normal at fixed bond lengths) by delta changes the 1-3 distance by
an amount measured from the displaced positions, and 1/2 sum k dr^2 over the
returned springs must equal 1/2 k_theta delta^2 to O(delta); the springs'
network Hessian along the bend direction must equal k_theta exactly.
"""
import math

import numpy as np
import pytest
import torch

from energyloss import oracles


def rotation(seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return torch.from_numpy(q)


def three_atoms(theta=math.radians(104.5), ra=1.0, rc=1.3, seed=0):
    x = torch.tensor([[ra, 0.0, 0.0], [0.0, 0.0, 0.0],
                      [rc * math.cos(theta), rc * math.sin(theta), 0.0]], dtype=torch.float64)
    return x @ rotation(seed).T + torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)


def bend(x, a, b, c, delta):
    """x with atom c rotated about b by delta in the plane a-b-c (away from
    a): the angle grows by delta, both bond lengths stay."""
    u, v = x[a] - x[b], x[c] - x[b]
    n = torch.linalg.cross(u, v)
    n = n / n.norm()
    # Rodrigues' rotation of v about n (v is normal to n).
    rotated = v * math.cos(delta) + torch.linalg.cross(n, v) * math.sin(delta)
    y = x.clone()
    y[c] = x[b] + rotated
    return y


def spring_energy(x, y, pairs, k):
    """1/2 sum k (|y_i - y_j| - |x_i - x_j|)^2, computed here."""
    d = lambda z: (z[pairs[:, 0]] - z[pairs[:, 1]]).norm(dim=1)  # noqa: E731
    return 0.5 * float((k * (d(y) - d(x)) ** 2).sum())


def angle_of(x, a, b, c):
    u, v = (x[a] - x[b]).numpy(), (x[c] - x[b]).numpy()
    return math.acos(np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v))


@pytest.mark.parametrize("theta_degrees", [60.0, 104.5, 120.0, 150.0])
def test_harmonic_limit_of_a_single_angle(theta_degrees):
    """Synthetic A-B-C with k_b and k_theta: a pure bend by delta costs
    1/2 k_theta delta^2 in the springs, with a relative error that is O(delta)
    (it falls tenfold with delta); the bond springs see nothing."""
    k_theta, k_bonds = 250.0, torch.tensor([700.0, 450.0], dtype=torch.float64)
    x = three_atoms(math.radians(theta_degrees))
    bonds = torch.tensor([[0, 1], [1, 2]])
    pairs, k = oracles.seminario_pair_springs(x, bonds, k_bonds, [[0, 1, 2]], [k_theta])
    assert pairs.tolist() == [[0, 1], [0, 2], [1, 2]]
    errors = []
    for delta in (1e-2, 1e-3, 1e-4):
        y = bend(x, 0, 1, 2, delta)
        assert angle_of(y, 0, 1, 2) - angle_of(x, 0, 1, 2) == pytest.approx(delta, rel=1e-6)
        expected = 0.5 * k_theta * delta ** 2
        errors.append(abs(spring_energy(x, y, pairs, k) / expected - 1))
        assert errors[-1] < 3 * delta, (delta, errors)
    assert errors[1] < 0.2 * errors[0] and errors[2] < 0.2 * errors[1], errors


def test_network_hessian_along_the_bend_is_k_theta():
    """Exact form of the identity: w^T K w = k_theta for the bend mode
    w = dx/dtheta (atom C moving as n x (C - B)), K the springs' network
    Hessian (spring_network_hessian, C++), whatever the bond constants."""
    x = three_atoms(math.radians(112.0), ra=1.09, rc=1.53, seed=3)
    for k_theta in (40.0, 310.0):
        pairs, k = oracles.seminario_pair_springs(x, [[1, 0], [2, 1]], [1000.0, 2.0],
                                                  [[2, 1, 0]], [k_theta])
        u, v = x[0] - x[1], x[2] - x[1]
        n = torch.linalg.cross(u, v)
        w = torch.zeros(3, 3, dtype=torch.float64)
        w[2] = torch.linalg.cross(n / n.norm(), v)
        hessian = oracles.spring_network_hessian(x, pairs, k)
        assert float(w.reshape(-1) @ hessian @ w.reshape(-1)) == pytest.approx(k_theta, rel=1e-10)


@pytest.fixture(scope="module")
def rdkit():
    Chem = pytest.importorskip("rdkit.Chem")
    from rdkit.Chem import AllChem
    return Chem, AllChem


def embedded(rdkit, smiles, seed=7):
    Chem, AllChem = rdkit
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    assert AllChem.EmbedMolecule(mol, randomSeed=seed) == 0
    AllChem.MMFFOptimizeMolecule(mol)
    ref = torch.from_numpy(mol.GetConformer().GetPositions())
    bonds = torch.tensor([[b.GetBeginAtomIdx(), b.GetEndAtomIdx()] for b in mol.GetBonds()])
    return mol, ref, bonds


def all_angles(mol):
    return torch.tensor([(a.GetIdx(), centre.GetIdx(), c.GetIdx()) for centre in mol.GetAtoms()
                         for i, a in enumerate(centre.GetNeighbors())
                         for c in list(centre.GetNeighbors())[i + 1:]]).reshape(-1, 3)


def test_harmonic_limit_water_with_mmff_seminario_constants(rdkit):
    """Water: MMFF94 Hessian -> modified Seminario k_b, k_theta -> springs; a
    pure bend by delta costs 1/2 k_theta delta^2 to O(delta)."""
    if not hasattr(torch.ops.energyloss, "rdkit_mmff_oracle"):
        pytest.skip("this build has no RDKit MMFF oracle")
    Chem, _ = rdkit
    mol, ref, bonds = embedded(rdkit, "O")
    oracle = oracles.MMFFOracle(Chem.MolToMolBlock(mol))
    constants = oracles.modified_seminario(oracles.force_field_hessian(oracle, ref), ref, bonds)
    assert constants["angles"].tolist() == [[1, 0, 2]]
    k_theta = float(constants["angle_k"][0])
    assert k_theta > 0
    pairs, k = oracles.seminario_pair_springs(ref, bonds, constants["bond_k"],
                                              constants["angles"], constants["angle_k"])
    assert pairs.tolist() == [[0, 1], [0, 2], [1, 2]]
    for delta in (1e-2, 1e-3):
        y = bend(ref, 1, 0, 2, delta)
        ratio = spring_energy(ref, y, pairs, k) / (0.5 * k_theta * delta ** 2)
        assert abs(ratio - 1) < 3 * delta, (delta, ratio)


@pytest.mark.parametrize("smiles", ["C1CCC1", "CC1CC1", "c1ccccc1O", "CC#N"])
def test_pairs_signs_symmetry_and_ring_sums(rdkit, smiles):
    """On ring molecules (and a linear nitrile):
    - the pairs are exactly the graph-distance 1 and 2 pairs (RDKit's
      topological distance), less 1-3 pairs of only nearly linear angles;
    - each pair's k is the sum of its bond's k and of the 1-3 springs of
      every angle spanning it (two angles across cyclobutane, a bond plus an
      angle in cyclopropane), each spring recomputed here from the geometry;
    - positive constants give positive springs and a negative angle
      constant a negative spring (signs are passed through);
    - the result does not depend on how bonds and angles are oriented or
      ordered, nor on a rotation and translation of ref."""
    Chem, _ = rdkit
    mol, ref, bonds = embedded(rdkit, smiles)
    angles = all_angles(mol)
    rng = np.random.default_rng(1)
    bond_k = torch.from_numpy(rng.uniform(300, 900, len(bonds)))
    angle_k = torch.from_numpy(rng.uniform(30, 120, len(angles)))
    pairs, k, details = oracles.seminario_pair_springs(ref, bonds, bond_k, angles, angle_k,
                                                       return_details=True)
    assert (k > 0).all()
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert pairs.tolist() == sorted(pairs.tolist())

    distance = Chem.GetDistanceMatrix(mol)
    linear = {tuple(sorted((int(a), int(c)))) for (a, b, c) in angles.tolist()
              if angle_of(ref, a, b, c) > math.radians(170)}
    expected_pairs = {(i, j) for i in range(len(distance)) for j in range(i + 1, len(distance))
                      if distance[i, j] <= 2} - linear
    assert {tuple(p) for p in pairs.tolist()} == expected_pairs
    assert details["dropped"].sum().item() == sum(
        angle_of(ref, a, b, c) > math.radians(170) for a, b, c in angles.tolist())
    if smiles == "CC#N":
        assert len(linear) == 1

    expected = {}
    for (i, j), kb in zip(bonds.tolist(), bond_k.tolist()):
        expected[tuple(sorted((i, j)))] = kb
    spans = {}
    for (a, b, c), kt in zip(angles.tolist(), angle_k.tolist()):
        theta = angle_of(ref, a, b, c)
        if theta > math.radians(170):
            continue
        r_ab, r_cb, r_ac = (float((ref[p] - ref[q]).norm()) for p, q in ((a, b), (c, b), (a, c)))
        key = tuple(sorted((a, c)))
        expected[key] = expected.get(key, 0.0) + kt * r_ac ** 2 / (r_ab * r_cb *
                                                                 math.sin(theta)) ** 2
        spans[key] = spans.get(key, 0) + 1
    got = dict(zip(map(tuple, pairs.tolist()), k.tolist()))
    assert got == pytest.approx(expected, rel=1e-10)
    if smiles == "C1CCC1":
        assert sorted(spans.values())[-2:] == [2, 2]  # both ring diagonals span two angles
    if smiles == "CC1CC1":
        ring_bonds = [key for key in spans if distance[key] == 1]
        assert len(ring_bonds) == 3  # each ring bond is also an angle's 1-3 pair

    # Orientation, order and rigid motions.
    generator = torch.Generator().manual_seed(0)
    order_b = torch.randperm(len(bonds), generator=generator)
    order_a = torch.randperm(len(angles), generator=generator)
    pairs2, k2 = oracles.seminario_pair_springs(
        ref @ rotation(5).T + 2.0, bonds[order_b].flip(1), bond_k[order_b],
        angles[order_a].flip(1), angle_k[order_a])
    assert torch.equal(pairs2, pairs)
    torch.testing.assert_close(k2, k, rtol=1e-12, atol=0)

    # A negative angle constant gives a negative spring, zero constants zero springs.
    negative = angle_k.clone()
    kept = (~details["dropped"]).nonzero()[0, 0]
    negative[kept] = -50.0
    _, _, signed = oracles.seminario_pair_springs(ref, bonds, bond_k, angles, negative,
                                                  return_details=True)
    assert signed["angle_spring"][kept] < 0
    assert (signed["angle_spring"][torch.arange(len(angles)) != kept] >= 0).all()
    _, zero = oracles.seminario_pair_springs(ref, bonds, torch.zeros(len(bonds)), angles,
                                             torch.zeros(len(angles)))
    assert (zero == 0).all()


def test_dtype_and_max_theta():
    """float32 in, float32 out (computed in float64); a smaller max_theta
    drops a wider angle's spring and its 1-3 pair."""
    x = three_atoms(math.radians(150.0)).float()
    bonds, angles = [[0, 1], [1, 2]], [[0, 1, 2]]
    pairs, k = oracles.seminario_pair_springs(x, bonds, [500.0, 500.0], angles, [80.0])
    assert k.dtype == torch.float32 and len(pairs) == 3
    pairs, k, details = oracles.seminario_pair_springs(x, bonds, [500.0, 500.0], angles, [80.0],
                                                       max_theta=math.radians(140.0),
                                                       return_details=True)
    assert pairs.tolist() == [[0, 1], [1, 2]] and details["dropped"].tolist() == [True]
    assert details["angle_spring"].tolist() == [0.0]


def test_bad_input_is_refused_by_name():
    x = three_atoms()
    bonds, bond_k, angles, angle_k = [[0, 1], [1, 2]], [500.0, 400.0], [[0, 1, 2]], [60.0]
    call = oracles.seminario_pair_springs
    cases = [
        ("ref", (x[:, :2], bonds, bond_k, angles, angle_k), {}),
        ("ref", (torch.full((3, 3), float("nan")), bonds, bond_k, angles, angle_k), {}),
        ("ref", (torch.zeros(3, 3, dtype=torch.float64), bonds, bond_k, angles, angle_k), {}),
        ("bonds", (x, [[0.0, 1.0], [1.0, 2.0]], bond_k, angles, angle_k), {}),
        ("bonds", (x, [[0, 1], [1, 3]], bond_k, angles, angle_k), {}),
        ("bonds", (x, [[0, 1], [1, 1]], bond_k, angles, angle_k), {}),
        ("bonds", (x, [[0, 1], [1, 0]], bond_k, angles, angle_k), {}),
        ("bonds", (x, [0, 1], [500.0], [], []), {}),
        ("bond_k", (x, bonds, [500.0], angles, angle_k), {}),
        ("bond_k", (x, bonds, [500.0, float("inf")], angles, angle_k), {}),
        ("angles", (x, bonds, bond_k, [[0, 1]], angle_k), {}),
        ("angles", (x, bonds, bond_k, [[1, 0, 2]], angle_k), {}),  # arm 0-2 is no bond
        ("angles", (x, bonds, bond_k, [[0, 1, 0]], angle_k), {}),
        ("angles", (x, bonds, bond_k, [[0, 1, -1]], angle_k), {}),
        ("angle_k", (x, bonds, bond_k, angles, [60.0, 1.0]), {}),
        ("angle_k", (x, bonds, bond_k, angles, [float("nan")]), {}),
        ("max_theta", (x, bonds, bond_k, angles, angle_k), {"max_theta": math.pi}),
        ("max_theta", (x, bonds, bond_k, angles, angle_k), {"max_theta": 1.0}),
        ("max_theta", (x, bonds, bond_k, angles, angle_k), {"max_theta": "wide"}),
    ]
    for name, args, kwargs in cases:
        with pytest.raises(ValueError, match=f"energyloss: {name}:"):
            call(*args, **kwargs)
    # No angles at all is fine (a diatomic).
    pairs, k = call(x[:2], [[0, 1]], [500.0], torch.zeros(0, 3, dtype=torch.long), [])
    assert pairs.tolist() == [[0, 1]] and k.tolist() == [500.0]
