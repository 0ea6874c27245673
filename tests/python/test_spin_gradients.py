"""Spin ops' gradients for every subset of tensor arguments that require grad.

Each op is differentiable with respect to its first argument (spins or
logits) only; targets (exactly +-1) and couplings have no gradient, so an op
refuses them by name while autograd records, instead of failing in backward
or leaving them without a gradient. Gradients are checked against finite
differences in double precision (torch.autograd.gradcheck).
"""
import itertools

import pytest
import torch

import energyloss


def lattice(seed=0, batch=2, side=4):
    generator = torch.Generator().manual_seed(seed)
    Jh = torch.rand(batch, side, side - 1, generator=generator, dtype=torch.float64) * 2 - 1
    Jv = torch.rand(batch, side - 1, side, generator=generator, dtype=torch.float64) * 2 - 1
    # Real-valued spins and logits away from the hinge's kinks at |z| = 1.
    real = torch.rand(batch, side, side, generator=generator, dtype=torch.float64) * 2 - 1
    logits = (torch.rand(batch, side, side, generator=generator, dtype=torch.float64) * 0.8 +
              0.1) * torch.sign(real) * torch.where(real.abs() > 0.5, 3.0, 1.0)
    target = torch.randint(0, 2, (batch, side, side), generator=generator).double() * 2 - 1
    return {"spins": real, "logits": logits, "target": target, "Jh": Jh, "Jv": Jv}


# op name -> (argument names in call order, call with keyword-free extras).
OPS = {
    "ising_energy": (("spins", "Jh", "Jv"), lambda s, h, v: energyloss.ising_energy(s, h, v)),
    "local_fields": (("spins", "Jh", "Jv"), lambda s, h, v: energyloss.local_fields(s, h, v)),
    "local_field_energy_loss":
        (("logits", "target", "Jh", "Jv"), lambda z, y, h, v: energyloss.local_field_energy_loss(
            z, y, h, v, temperature=0.3, h0=2.0, reduction="none")),
    "spin_bce_loss": (("logits", "target"),
                      lambda z, y: energyloss.spin_bce_loss(z, y, reduction="none")),
    "spin_margin_loss": (("logits", "target"),
                         lambda z, y: energyloss.spin_margin_loss(z, y, margin=1.5,
                                                                  reduction="none")),
    "spin_true_energy_loss":
        (("logits", "Jh", "Jv"),
         lambda z, h, v: energyloss.spin_true_energy_loss(z, h, v, temperature=0.3,
                                                          reduction="none")),
}
DIFFERENTIABLE = {"spins", "logits"}
CASES = [(op, subset) for op, (names, _) in OPS.items()
         for size in range(len(names) + 1) for subset in itertools.combinations(names, size)]


def call(op, needs_grad, seed=0):
    names, function = OPS[op]
    data = lattice(seed)
    args = [data[n].clone().requires_grad_(n in needs_grad) for n in names]
    return names, args, function


@pytest.mark.parametrize("op,needs_grad", CASES, ids=[f"{op}-{'+'.join(s) or 'none'}"
                                                       for op, s in CASES])
def test_every_subset_requiring_grad(op, needs_grad):
    names, args, function = call(op, needs_grad)
    refused = [n for n in names if n in needs_grad and n not in DIFFERENTIABLE]
    if refused:
        name = refused[0]  # targets before couplings, Jh before Jv
        message = (f"energyloss: {op}: {name} requires grad, but {op} is not differentiable "
                   f"with respect to {name}; detach it")
        with pytest.raises(ValueError) as raised:
            function(*args)
        assert str(raised.value).splitlines()[0] == message
        # Without autograd recording nothing is refused: the plain value.
        with torch.no_grad():
            value = function(*args)
        assert torch.equal(value, function(*[a.detach() for a in args]))
        return
    value = function(*args)
    if not needs_grad:
        assert not value.requires_grad and value.grad_fn is None
        return
    # Only the spins or logits require grad: against finite differences.
    assert value.requires_grad
    assert torch.autograd.gradcheck(lambda x: function(x, *args[1:]), (args[0],))
    # And through a weighted reduction, into .grad of the input alone.
    weights = torch.linspace(-1.0, 2.0, value.numel(), dtype=torch.float64).reshape(value.shape)
    (value * weights).sum().backward()
    expected, = torch.autograd.grad((function(args[0], *args[1:]) * weights).sum(), args[0])
    assert torch.allclose(args[0].grad, expected)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_reduced_losses_gradcheck(reduction):
    data = lattice(seed=3)
    z, y, Jh, Jv = (data[n] for n in ("logits", "target", "Jh", "Jv"))
    z = z.requires_grad_()
    losses = [
        lambda z: energyloss.local_field_energy_loss(z, y, Jh, Jv, reduction=reduction),
        lambda z: energyloss.spin_bce_loss(z, y, reduction=reduction),
        lambda z: energyloss.spin_margin_loss(z, y, margin=1.5, reduction=reduction),
        lambda z: energyloss.spin_true_energy_loss(z, Jh, Jv, reduction=reduction),
    ]
    for loss in losses:
        assert torch.autograd.gradcheck(loss, (z,))


def test_local_fields_second_derivative_with_couplings_not_requiring_grad():
    data = lattice(seed=4)
    spins = data["spins"].requires_grad_()
    function = lambda s: energyloss.local_fields(s, data["Jh"], data["Jv"])  # noqa: E731
    assert torch.autograd.gradgradcheck(function, (spins,))


def brute_force_ground_energy(Jh, Jv):
    """Minimum over all 2^(L*L) spin states of -sum J s_i s_j (one system)."""
    side = Jh.shape[0]
    states = torch.tensor(list(itertools.product((-1.0, 1.0), repeat=side * side)),
                          dtype=Jh.dtype).reshape(-1, side, side)
    energy = -((Jh * states[:, :, :-1] * states[:, :, 1:]).sum((1, 2)) +
               (Jv * states[:, :-1, :] * states[:, 1:, :]).sum((1, 2)))
    return energy.min()


@pytest.mark.parametrize("needs_grad", [("Jh",), ("Jv",), ("Jh", "Jv")])
def test_ground_state_refuses_couplings_that_require_grad(needs_grad):
    """ising_ground_state is not differentiable: couplings that require grad
    used to be accepted silently (outputs without a graph); now refused by
    name, as the other spin ops refuse theirs. Without autograd recording the
    ground state is computed: its energy is the brute-force minimum."""
    data = lattice(seed=5, side=3)
    Jh, Jv = (data[n].clone().requires_grad_(n in needs_grad) for n in ("Jh", "Jv"))
    name = needs_grad[0]
    message = (f"energyloss: ising_ground_state: {name} requires grad, but ising_ground_state "
               f"is not differentiable with respect to {name}; detach it")
    with pytest.raises(ValueError) as raised:
        energyloss.ising_ground_state(Jh, Jv)
    assert str(raised.value).splitlines()[0] == message
    with torch.no_grad():
        spins, energy = energyloss.ising_ground_state(Jh, Jv)
    assert spins.grad_fn is None and energy.grad_fn is None
    for b in range(spins.shape[0]):
        expected = brute_force_ground_energy(Jh[b].detach(), Jv[b].detach())
        torch.testing.assert_close(energy[b], expected)
    torch.testing.assert_close(energy, energyloss.ising_energy(spins, Jh.detach(), Jv.detach()))
