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

ising_ground_state and the coefficient ops whose outputs' shapes follow from
the inputs' shapes (spring_network_hessian, project_out_rigid_modes,
modified_seminario with angles) have Meta shape functions too, which share
the CPU kernels' argument checks: the same comparison, output by output
(shapes and dtypes), and the shapes against the formula from the inputs.
The coefficient ops part of whose output depends on values (nnls,
hessian_fitted_springs: iteration counts, residuals; shell_balanced_
coefficients: the list of all-zero shells; seminario_pair_springs: the
number of pairs left; modified_seminario without angles: the angles of the
bond graph) have no Meta kernel and refuse meta and fake tensors by name.
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


ops = torch.ops.energyloss
HAS_COEFFICIENTS = hasattr(ops, "spring_network_hessian")  # built with the oracles


def _ground_state(L, device, B=2, dtype=torch.float64, jv_rows=None, jh_cols=None):
    Jh = torch.randn(B, L, max(L - 1, 0) if jh_cols is None else jh_cols, dtype=dtype)
    Jv = torch.randn(B, max(L - 1, 0) if jv_rows is None else jv_rows, L, dtype=dtype)
    return ops.ising_ground_state(Jh.to(device), Jv.to(device))


CASES.update({
    "ising_ground_state valid": lambda dev: _ground_state(4, dev),
    "ising_ground_state float32": lambda dev: _ground_state(3, dev, dtype=torch.float32),
    "ising_ground_state L=1": lambda dev: _ground_state(1, dev),
    "ising_ground_state B=0": lambda dev: _ground_state(3, dev, B=0),
    "ising_ground_state L=23": lambda dev: _ground_state(23, dev, B=1),
    "ising_ground_state L=0": lambda dev: _ground_state(0, dev),
    "ising_ground_state Jv rows": lambda dev: _ground_state(4, dev, jv_rows=2),
    "ising_ground_state Jh columns": lambda dev: _ground_state(4, dev, jh_cols=4),
    "ising_ground_state float16": lambda dev: _ground_state(3, dev, dtype=torch.float16),
    "ising_ground_state Jv float32": lambda dev: ops.ising_ground_state(
        torch.randn(1, 3, 2, dtype=torch.float64).to(dev), torch.randn(1, 2, 3).to(dev)),
})

# A tetrahedron with springs on its six edges, its three bonds from atom 0
# and the three angles at atom 0.
_REF = torch.tensor([[0.0, 0.0, 0.0], [1.1, 0.0, 0.0], [0.5, 1.0, 0.0], [0.4, 0.3, 0.9]],
                    dtype=torch.float64)
_EDGES = torch.tensor([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])
_BONDS, _ANGLES = _EDGES[:3], torch.tensor([[1, 0, 2], [1, 0, 3], [2, 0, 3]])
_K = torch.tensor([1.0, 2.0, 3.0, 0.5, 0.7, 0.9], dtype=torch.float64)


def _hessian(dtype=torch.float64):
    return ops.spring_network_hessian(_REF, _EDGES, _K).to(dtype)


def _on(device, *tensors):
    return [t.to(device) for t in tensors]


if HAS_COEFFICIENTS:
    CASES.update({
        "spring_network_hessian valid": lambda dev: ops.spring_network_hessian(
            *_on(dev, _REF, _EDGES, _K)),
        "spring_network_hessian float32 ref": lambda dev: ops.spring_network_hessian(
            *_on(dev, _REF.float(), _EDGES.int(), _K)),
        "spring_network_hessian k short": lambda dev: ops.spring_network_hessian(
            *_on(dev, _REF, _EDGES, _K[:5])),
        "spring_network_hessian edges width 3": lambda dev: ops.spring_network_hessian(
            *_on(dev, _REF, _ANGLES, _K[:3])),
        "spring_network_hessian edges float": lambda dev: ops.spring_network_hessian(
            *_on(dev, _REF, _EDGES.double(), _K)),
        "spring_network_hessian ref [N, 2]": lambda dev: ops.spring_network_hessian(
            *_on(dev, _REF[:, :2], _EDGES, _K)),
        "spring_network_hessian ref int": lambda dev: ops.spring_network_hessian(
            *_on(dev, _REF.long(), _EDGES, _K)),
        "spring_network_hessian k half": lambda dev: ops.spring_network_hessian(
            *_on(dev, _REF, _EDGES, _K.half())),
        "project_out_rigid_modes valid": lambda dev: ops.project_out_rigid_modes(
            *_on(dev, _hessian(), _REF)),
        "project_out_rigid_modes float32 hessian": lambda dev: ops.project_out_rigid_modes(
            *_on(dev, _hessian(torch.float32), _REF)),
        "project_out_rigid_modes hessian of 3 atoms": lambda dev: ops.project_out_rigid_modes(
            *_on(dev, _hessian()[:9, :9], _REF)),
        "project_out_rigid_modes no atoms": lambda dev: ops.project_out_rigid_modes(
            *_on(dev, _hessian()[:0, :0], _REF[:0])),
        "modified_seminario valid": lambda dev: ops.modified_seminario(
            *_on(dev, _hessian(), _REF, _BONDS, _ANGLES)),
        "modified_seminario float32 int32": lambda dev: ops.modified_seminario(
            *_on(dev, _hessian(torch.float32), _REF, _BONDS.int(), _ANGLES.int())),
        "modified_seminario no angles listed": lambda dev: ops.modified_seminario(
            *_on(dev, _hessian(), _REF, _BONDS, _ANGLES[:0])),
        "modified_seminario angles width 2": lambda dev: ops.modified_seminario(
            *_on(dev, _hessian(), _REF, _BONDS, _BONDS)),
        "modified_seminario bonds float": lambda dev: ops.modified_seminario(
            *_on(dev, _hessian(), _REF, _BONDS.double(), _ANGLES)),
        "modified_seminario hessian not square": lambda dev: ops.modified_seminario(
            *_on(dev, _hessian()[:, :-1], _REF, _BONDS, _ANGLES)),
    })


def _outcome(call, device):
    try:
        result = call(device)
    except ValueError as error:
        return "ValueError: " + str(error)
    results = result if isinstance(result, tuple) else (result,)
    return "outputs " + str([(tuple(t.shape), t.dtype) for t in results])


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


def _shapes(result):
    return [(tuple(t.shape), t.dtype) for t in (result if isinstance(result, tuple) else (result,))]


def test_ground_state_shapes_follow_the_inputs():
    """[B, L, L] spins and [B] energies in Jh's dtype, on either device."""
    for device in ("cpu", "meta"):
        for B, L, dtype in ((2, 4, torch.float64), (3, 2, torch.float32), (0, 5, torch.float64)):
            assert _shapes(_ground_state(L, device, B=B, dtype=dtype)) == [
                ((B, L, L), dtype), ((B,), dtype)]


needs_coefficients = pytest.mark.skipif(not HAS_COEFFICIENTS, reason="built without the oracles")


@needs_coefficients
def test_coefficient_shapes_follow_the_inputs():
    """[3N, 3N] in the reference's (spring_network_hessian) or the Hessian's
    dtype; modified_seminario: [B] twice, the angles [A, 3] int64, [A] twice."""
    N, B, A = 4, 3, 2
    for device in ("cpu", "meta"):
        hessian = _on(device, _hessian(torch.float32))[0]
        ref, edges, k, bonds, angles = _on(device, _REF, _EDGES, _K, _BONDS, _ANGLES[:A].int())
        assert _shapes(ops.spring_network_hessian(ref.float(), edges, k)) == [
            ((3 * N, 3 * N), torch.float32)]
        assert _shapes(ops.project_out_rigid_modes(hessian, ref)) == [
            ((3 * N, 3 * N), torch.float32)]
        f32 = torch.float32
        assert _shapes(ops.modified_seminario(hessian, ref, bonds, angles)) == [
            ((B,), f32), ((B,), f32), ((A, 3), torch.int64), ((A,), f32), ((A,), f32)]


@needs_coefficients
def test_modified_seminario_angles_do_not_alias_the_input():
    """An op's output must not be its input (torch.compile assumes so)."""
    angles = _ANGLES.clone()
    out = ops.modified_seminario(_hessian(), _REF, _BONDS, angles)[2]
    assert torch.equal(out, angles) and out.data_ptr() != angles.data_ptr()


def _data_dependent_calls(convert):
    """{op: call} of the ops whose outputs depend on values, on valid inputs
    made from CPU tensors by `convert` (to a device, or to fake tensors)."""
    ref, edges, k, bonds, angles, hessian, a, b = map(convert, (
        _REF, _EDGES, _K, _BONDS, _ANGLES, _hessian(), torch.randn(5, 3), torch.randn(5)))
    return {
        "nnls": lambda: ops.nnls(a, b, 0, 0.0),
        "hessian_fitted_springs": lambda: ops.hessian_fitted_springs(
            hessian, ref, edges, 0, 0.0, 0.0, 1e-3),
        "shell_balanced_coefficients": lambda: ops.shell_balanced_coefficients(
            ref, bonds, edges, k, None, 4, -1),
        "seminario_pair_springs": lambda: ops.seminario_pair_springs(
            ref, bonds, k[:3], angles, k[:3], 2.9),
        "modified_seminario": lambda: ops.modified_seminario(hessian, ref, bonds, None),
    }


DATA_DEPENDENT = ["nnls", "hessian_fitted_springs", "shell_balanced_coefficients",
                  "seminario_pair_springs", "modified_seminario"]


def _refusal_pattern(op, fake):
    if op == "modified_seminario":
        return (r"^energyloss: modified_seminario: angles=None on meta tensors: without angles "
                r"the op finds them in the bond graph")
    what = (r"\w+: a fake tensor \(shapes only" if fake
            else r"\w+: expected a CPU tensor, got one on meta")
    return rf"^energyloss: {op}: {what}.*{op} has CPU code only, by design \(no Meta kernel: "


@needs_coefficients
@pytest.mark.parametrize("op", DATA_DEPENDENT)
def test_data_dependent_ops_refuse_meta_by_name(op):
    _data_dependent_calls(lambda t: t)[op]()  # valid on the CPU
    with pytest.raises(ValueError, match=_refusal_pattern(op, fake=False)):
        _data_dependent_calls(lambda t: t.to("meta"))[op]()


@needs_coefficients
@pytest.mark.parametrize("op", DATA_DEPENDENT)
def test_data_dependent_ops_refuse_fake_tensors_by_name(op):
    """Under FakeTensorMode (torch.compile's tracer) the tensors report the
    CPU but have no data: refused by name, not 'data is not allocated'."""
    fake_tensor = pytest.importorskip("torch._subclasses.fake_tensor")
    mode = fake_tensor.FakeTensorMode()
    calls = _data_dependent_calls(mode.from_tensor)
    with pytest.raises(ValueError, match=_refusal_pattern(op, fake=True)):
        with mode:
            calls[op]()


@needs_coefficients
def test_meta_kernels_are_exactly_the_shape_determined_ops():
    """The inner ops of the shape-determined ops have Meta kernels; the
    data-dependent ops have none (and no inner op)."""
    has_meta = torch._C._dispatch_has_kernel_for_dispatch_key
    for inner in ("_ising_ground_state", "_spring_network_hessian", "_project_out_rigid_modes",
                  "_modified_seminario"):
        assert has_meta(f"energyloss::{inner}", "Meta")
    for op in DATA_DEPENDENT[:-1]:
        assert not has_meta(f"energyloss::{op}", "Meta")
        assert not hasattr(ops, "_" + op)
