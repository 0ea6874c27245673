"""modified_seminario, project_out_rigid_modes and hessian_fitted_springs
refuse a Hessian that is not symmetric (beyond 1e-5 of its largest entry,
naming the worst entry (i, j) and both values; one C++ check,
require_symmetric_hessian) and accept one symmetric to rounding; it and seminario_pair_springs refuse a
bond or an angle listed twice, in either order, naming both rows and their
atoms (one C++ check, distinct_rows in seminario_coefficients.cpp). Before,
modified_seminario averaged H and H^T silently and took a repeated bond or
angle as another row, and seminario_pair_springs added a repeated angle's
1-3 spring twice (found by the new-user trial)."""
import re

import pytest
import torch

import energyloss

# The documented tolerance (kHessianAsymmetry in hessian_coefficients.h).
TOLERANCE = 1e-5


def _molecule():
    """A bent 4-atom chain 0-1-2-3 and a symmetric Hessian built from it: a
    sum of rank-one pair terms k u u^T (independent of the code under test)."""
    ref = torch.tensor([[0.0, 0.0, 0.0], [1.1, 0.0, 0.0], [1.6, 0.9, 0.1], [2.7, 1.0, -0.2]],
                       dtype=torch.float64)
    hessian = torch.zeros(12, 12, dtype=torch.float64)
    for (i, j), k in zip([(0, 1), (1, 2), (2, 3), (0, 2), (1, 3)], [500.0, 450.0, 520.0, 80.0, 70.0]):
        u = (ref[i] - ref[j]) / (ref[i] - ref[j]).norm()
        block = k * torch.outer(u, u)
        for a, b, sign in ((i, i, 1), (j, j, 1), (i, j, -1), (j, i, -1)):
            hessian[3 * a:3 * a + 3, 3 * b:3 * b + 3] += sign * block
    assert torch.equal(hessian, hessian.T)
    return hessian, ref, torch.tensor([[0, 1], [1, 2], [2, 3]])


# The ops that take a Hessian, each called as op(hessian, ref, bonds).
HESSIAN_OPS = {
    "modified_seminario": energyloss.modified_seminario,
    "project_out_rigid_modes": lambda hessian, ref, bonds: energyloss.project_out_rigid_modes(
        hessian, ref),
    "hessian_fitted_springs": lambda hessian, ref, bonds: energyloss.hessian_fitted_springs(
        hessian, ref, [[i, j] for i in range(4) for j in range(i + 1, 4)]),
}


@pytest.mark.parametrize("op", sorted(HESSIAN_OPS))
def test_an_asymmetric_hessian_is_refused_naming_the_entry_and_values(op):
    call = HESSIAN_OPS[op]
    hessian, ref, bonds = _molecule()
    largest = hessian.abs().max().item()
    bad = hessian.clone()
    bad[4, 7] += 1e-3 * largest  # 100x the tolerance
    bad[7, 4] -= 1e-4 * largest  # a smaller asymmetry elsewhere is not the one named
    bad[2, 9] += 2e-4 * largest
    # The worst pair is (4, 7): |H_47 - H_74| = 1.1e-3 x largest.
    # C++ prints doubles as %.6g does.
    message = (f"hessian: not symmetric: hessian[4, 7] = {bad[4, 7].item():.6g} but "
               f"hessian[7, 4] = {bad[7, 4].item():.6g}")
    with pytest.raises(ValueError, match=re.escape(message)):
        call(bad, ref, bonds)
    # The transpose is refused too, naming the upper-triangle entry (4, 7).
    with pytest.raises(ValueError, match=r"hessian\[4, 7\] = .* but hessian\[7, 4\]"):
        call(bad.T.contiguous(), ref, bonds)


@pytest.mark.parametrize("op", sorted(HESSIAN_OPS))
def test_the_tolerance_is_relative_to_the_largest_entry(op):
    call = HESSIAN_OPS[op]
    hessian, ref, bonds = _molecule()
    largest = hessian.abs().max().item()
    just_over = hessian.clone()
    just_over[0, 5] += 2 * TOLERANCE * largest
    with pytest.raises(ValueError, match=r"hessian\[0, 5\]"):
        call(just_over, ref, bonds)
    # The same relative asymmetry on a Hessian scaled by 1e6 is still refused,
    # and half the tolerance passes at either scale.
    with pytest.raises(ValueError, match=r"hessian\[0, 5\]"):
        call(just_over * 1e6, ref, bonds)
    just_under = hessian.clone()
    just_under[0, 5] += 0.5 * TOLERANCE * largest
    call(just_under, ref, bonds)
    call(just_under * 1e6, ref, bonds)


def test_a_hessian_symmetric_to_rounding_gives_the_symmetric_result():
    hessian, ref, bonds = _molecule()
    torch.manual_seed(0)
    coupling = torch.randn(12, 12, dtype=torch.float64) * 20
    hessian = hessian + coupling + coupling.T  # exactly symmetric, angle constants != 0
    exact = energyloss.modified_seminario(hessian, ref, bonds)
    assert exact["angle_k"].abs().min() > 1
    # Rounding noise of relative size 1e-12 on every entry, not symmetric.
    noisy = hessian * (1 + 1e-12 * torch.randn(12, 12, dtype=torch.float64))
    assert not torch.equal(noisy, noisy.T)
    result = energyloss.modified_seminario(noisy, ref, bonds)
    for key in ("bond_k", "angle_k"):
        torch.testing.assert_close(result[key], exact[key], rtol=1e-9, atol=0)
    # float32 input computed in float32: each entry off by about one float32
    # rounding (6e-8 relative), independently of its transpose.
    noisy32 = (hessian * (1 + 6e-8 * torch.randn(12, 12, dtype=torch.float64))).float()
    assert not torch.equal(noisy32, noisy32.T)
    result = energyloss.modified_seminario(noisy32, ref, bonds)
    for key in ("bond_k", "angle_k"):
        torch.testing.assert_close(result[key], exact[key].float(), rtol=1e-4, atol=0)


def test_bonds_are_sound_on_the_reference_hessian():
    # The pair terms above at their rest lengths: bond constants are the
    # bonds' k exactly (Seminario's bond formula for a harmonic network at
    # rest; 1-3 springs do not enter a bond's block).
    hessian, ref, bonds = _molecule()
    result = energyloss.modified_seminario(hessian, ref, bonds)
    torch.testing.assert_close(result["bond_k"],
                               torch.tensor([500.0, 450.0, 520.0], dtype=torch.float64),
                               rtol=1e-12, atol=0)


@pytest.mark.parametrize("bonds, rows, atoms", [
    ([[0, 1], [1, 2], [2, 3], [1, 2]], (1, 3), ("(1, 2)", "(1, 2)")),
    ([[0, 1], [1, 2], [2, 3], [2, 1]], (1, 3), ("(1, 2)", "(2, 1)")),
    ([[3, 2], [0, 1], [2, 3], [1, 2]], (0, 2), ("(3, 2)", "(2, 3)")),
])
def test_modified_seminario_refuses_a_repeated_bond(bonds, rows, atoms):
    hessian, ref, _ = _molecule()
    message = (rf"bonds: rows {rows[0]} and {rows[1]} are the same bond, "
               rf"{re.escape(atoms[0])} and {re.escape(atoms[1])}")
    with pytest.raises(ValueError, match=message):
        energyloss.modified_seminario(hessian, ref, torch.tensor(bonds))
    with pytest.raises(ValueError, match=message):  # angles given instead of found
        energyloss.modified_seminario(hessian, ref, torch.tensor(bonds),
                                      torch.tensor([[0, 1, 2]]))


@pytest.mark.parametrize("angles, rows, atoms", [
    ([[0, 1, 2], [1, 2, 3], [0, 1, 2]], (0, 2), ("(0, 1, 2)", "(0, 1, 2)")),
    ([[0, 1, 2], [1, 2, 3], [3, 2, 1]], (1, 2), ("(1, 2, 3)", "(3, 2, 1)")),
])
def test_a_repeated_angle_is_refused_by_both_functions(angles, rows, atoms):
    hessian, ref, bonds = _molecule()
    message = (rf"angles: rows {rows[0]} and {rows[1]} are the same angle, "
               rf"{re.escape(atoms[0])} and {re.escape(atoms[1])}")
    with pytest.raises(ValueError, match=message):
        energyloss.modified_seminario(hessian, ref, bonds, torch.tensor(angles))
    with pytest.raises(ValueError, match=message):
        energyloss.seminario_pair_springs(ref, bonds, [500.0, 450.0, 520.0], angles,
                                          [60.0] * len(angles))


def test_seminario_pair_springs_refuses_a_bond_repeated_in_either_order():
    _, ref, _ = _molecule()
    with pytest.raises(ValueError, match=r"bonds: rows 0 and 2 are the same bond, \(0, 1\) and "
                                         r"\(1, 0\); list each bond once"):
        energyloss.seminario_pair_springs(ref, [[0, 1], [1, 2], [1, 0]], [1.0, 2.0, 3.0],
                                          [[0, 1, 2]], [60.0])


def test_distinct_angles_sharing_a_centre_are_accepted():
    # (0, 1, 2) and (2, 1, 3) share the centre and an end but are different
    # angles; (1, 2, 3) differs from (3, 2, 1) only in direction -- not both.
    _, ref, _ = _molecule()
    bonds = [[0, 1], [1, 2], [1, 3]]
    angles = [[0, 1, 2], [2, 1, 3], [0, 1, 3]]
    pairs, k = energyloss.seminario_pair_springs(ref, bonds, [1.0, 1.0, 1.0], angles,
                                                 [60.0, 60.0, 60.0])
    assert pairs.tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
