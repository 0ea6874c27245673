"""modified_seminario refuses an angle whose arms A-B and C-B are not both
bonds, naming the angle and the arm, as seminario_pair_springs (which takes
its output) does. Before, such a triple got an 'angle constant' from the
Hessian blocks of two unbonded pairs, and the error came only later, from
seminario_pair_springs."""
import pytest
import torch

import energyloss


def _input():
    torch.manual_seed(3)
    ref = torch.randn(4, 3, dtype=torch.float64) * 1.5
    hessian = torch.randn(12, 12, dtype=torch.float64)
    return hessian + hessian.T, ref


def test_angle_with_an_unbonded_arm_is_named():
    hessian, ref = _input()
    bonds = torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match=r"angles\[1\] = \(0, 1, 3\): the arm \(3, 1\) is not "
                                         r"in bonds"):
        energyloss.modified_seminario(hessian, ref, bonds, torch.tensor([[0, 1, 2], [0, 1, 3]]))
    with pytest.raises(ValueError, match=r"angles\[0\] = \(2, 0, 1\): the arm \(2, 0\)"):
        energyloss.modified_seminario(hessian, ref, bonds, torch.tensor([[2, 0, 1]]))


def test_bond_order_does_not_matter_and_matches_the_bond_graph():
    hessian, ref = _input()
    forward = energyloss.modified_seminario(hessian, ref, torch.tensor([[0, 1], [1, 2], [1, 3]]),
                                            torch.tensor([[0, 1, 2], [3, 1, 2]]))
    reverse = energyloss.modified_seminario(hessian, ref, torch.tensor([[1, 0], [2, 1], [3, 1]]),
                                            torch.tensor([[0, 1, 2], [3, 1, 2]]))
    torch.testing.assert_close(forward["angle_k"], reverse["angle_k"], rtol=0, atol=0)
    # angles=None: every angle of the bond graph, all accepted.
    every = energyloss.modified_seminario(hessian, ref, torch.tensor([[1, 0], [2, 1], [3, 1]]))
    assert every["angles"].shape == (3, 3)
