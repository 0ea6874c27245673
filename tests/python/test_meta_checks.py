"""The Meta kernels of the baseline and spin losses make every check of the
CPU kernels that reads no data: the number of coordinates d, systems
without atoms or sites, the float parameters (temperature, h0, margin). On
meta tensors (fake tensors, torch.compile) a call the CPU refuses for its
shape or parameters is refused with the CPU's message, instead of tracing a
graph that fails only when it runs on real data.

Each case runs the same call on CPU tensors and on their meta twins and
compares the outcome: both refused with the same ValueError message, or both
accepted with the same output shapes. Checks that read values (NaN,
an all-false mask, spins other than +-1) stay CPU-only and are not listed.
kabsch_align on systems without atoms gives the kernel's message on the CPU
too (before: 'the output must not be null' from an empty output tensor).
"""
import pytest
import torch

import energyloss


def _positions(*shape, device):
    return torch.randn(*shape, dtype=torch.float64).to(device)


def _lattice(L, device, B=2):
    logits = torch.randn(B, L, L).to(device)
    target = torch.sign(torch.randn(B, L, L)).to(device)
    Jh = torch.randn(B, L, max(L - 1, 0)).to(device)
    Jv = torch.randn(B, max(L - 1, 0), L).to(device)
    return logits, target, Jh, Jv


BASELINES = ["mse_loss", "mae_loss", "kabsch_mse", "kabsch_align"]

CASES = {}
for _name in BASELINES:
    for _shape in [(4, 10, 4), (4, 10, 1), (4, 0, 3), (4, 10, 2), (0, 10, 3)]:
        CASES[f"{_name}{list(_shape)}"] = (
            lambda dev, f=getattr(energyloss, _name), s=_shape:
            f(_positions(*s, device=dev), _positions(*s, device=dev)))
CASES.update({
    "local_field_energy_loss temperature=-1": lambda dev: energyloss.local_field_energy_loss(
        *_lattice(4, dev), temperature=-1.0),
    "local_field_energy_loss temperature=nan": lambda dev: energyloss.local_field_energy_loss(
        *_lattice(4, dev), temperature=float("nan")),
    "local_field_energy_loss h0=inf": lambda dev: energyloss.local_field_energy_loss(
        *_lattice(4, dev), h0=float("inf")),
    "spin_true_energy_loss temperature=-1": lambda dev: energyloss.spin_true_energy_loss(
        _lattice(4, dev)[0], *_lattice(4, dev)[2:], temperature=-1.0),
    "spin_margin_loss margin=nan": lambda dev: energyloss.spin_margin_loss(
        *_lattice(4, dev)[:2], margin=float("nan")),
    "spin_bce_loss L=0": lambda dev: energyloss.spin_bce_loss(*_lattice(0, dev)[:2]),
    "spin_margin_loss L=0": lambda dev: energyloss.spin_margin_loss(*_lattice(0, dev)[:2]),
    "spin_bce_loss valid": lambda dev: energyloss.spin_bce_loss(*_lattice(4, dev)[:2]),
    "spin_true_energy_loss valid": lambda dev: energyloss.spin_true_energy_loss(
        _lattice(4, dev)[0], *_lattice(4, dev)[2:]),
})


def _outcome(call, device):
    try:
        result = call(device)
    except ValueError as error:
        return "ValueError: " + str(error)
    return "shape " + str(tuple(result.shape))


@pytest.mark.parametrize("case", sorted(CASES))
def test_meta_refuses_what_cpu_refuses(case):
    torch.manual_seed(0)
    cpu = _outcome(CASES[case], "cpu")
    meta = _outcome(CASES[case], "meta")
    assert meta == cpu, f"cpu: {cpu}\nmeta: {meta}"


@pytest.mark.parametrize("name", BASELINES)
def test_systems_without_atoms_named(name):
    # Every baseline, kabsch_align included, names the problem on the CPU.
    with pytest.raises(ValueError, match=f"{name}: systems have no atoms"):
        getattr(energyloss, name)(_positions(4, 0, 3, device="cpu"),
                                  _positions(4, 0, 3, device="cpu"))


def test_meta_value_checks_stay_cpu_only():
    # NaN in a real atom is a value: the CPU refuses it, meta cannot see it.
    pred = torch.full((2, 5, 3), float("nan"), dtype=torch.float64)
    ref = torch.zeros(2, 5, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="non-finite"):
        energyloss.kabsch_mse(pred, ref)
    assert energyloss.kabsch_mse(pred.to("meta"), ref.to("meta")).shape == ()
