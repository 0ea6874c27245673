"""Every tensor op of torch.ops.energyloss with CPU-only code refuses tensors
on another device, and float16/bfloat16 tensors, with a message naming the op
and the argument (torch_ops::require_cpu / require_float_or_double in
common/src/torch/common.cpp); the elementwise diffusion helpers, which are
device-generic torch code, propagate meta tensors instead.

The baseline and spin losses, ising_ground_state and the coefficient ops
whose outputs' shapes follow from the inputs' shapes (spring_network_hessian,
project_out_rigid_modes, modified_seminario with angles given) also have
Meta kernels (META_OPS; shapes and dtypes only, what fake tensors and
torch.compile trace with): on meta tensors they return the CPU results'
shapes and dtypes (checked against the real CPU call), under FakeTensorMode
too. The other ops (oracles, graph builders, coefficient fits whose outputs
depend on values) refuse meta tensors, and fake tensors by name.

No GPU is needed: each tensor argument of each op is replaced in turn, in an
otherwise valid call, by a tensor on another device: its meta twin for the
ops without Meta kernels (the ops are registered with m.def(schema, fn), so
a meta tensor reaches the same check a CUDA tensor does), a stand-in that
reports device 'cuda' for every op, and, where a GPU is present, a CUDA
tensor. The op list comes from the registered schemas, so a new op fails
test_every_tensor_op_is_covered until it is listed here. The pair ops
(pair_energy_loss, pair_energy_terms) get a CUDA path and are tested with it.

Every op with a required Tensor (UNDEFINED_CALLS: the ops above, the oracle
and coefficient ops of common/src/oracles among them, the pair ops, the
diffusion helpers and the coefficient ops' inner ops; only the adapters'
inner ops are left out, and a new op fails
test_every_op_with_a_required_tensor_has_none_cases until it is listed) also
refuses None for it (an undefined tensor, torch_ops::require_defined), naming
the op and the argument; the losses (true_energy_loss included) refuse
float32 next to float64, naming both arguments.
tests/cpp/torch_test_argument_checks.cpp checks the adapters' ops from C++.
"""
import re

import pytest
import torch

import energyloss

ops = torch.ops.energyloss

# Ops whose device handling is tested elsewhere (CUDA kernels of issue 16):
# the pair energy ops and their internal helpers (_pair_energy_*).
PAIR_OPS = {"pair_energy_loss", "pair_energy_terms"}


def _is_pair_op(op):
    return op in PAIR_OPS or op.startswith("_pair_energy")


# Ops with Meta kernels (their inner ops _baseline_loss, _kabsch_align and
# _spin_value serve CPU and Meta); the inner ops are tested through them.
META_OPS = {"mse_loss", "mae_loss", "kabsch_mse", "kabsch_align", "ising_energy", "local_fields",
            "local_field_energy_loss", "spin_bce_loss", "spin_margin_loss",
            "spin_true_energy_loss", "ising_ground_state"}
# Ops with Meta kernels that are not differentiable (no gradient to compare).
NOT_DIFFERENTIABLE = {"kabsch_align", "ising_ground_state", "spring_network_hessian",
                      "project_out_rigid_modes", "modified_seminario"}
INNER_OPS = {"_baseline_loss", "_kabsch_align", "_spin_value", "_ising_ground_state",
             "_spring_network_hessian", "_project_out_rigid_modes", "_modified_seminario"}
# Device-generic torch code (elementwise): meta in, meta out (test below).
DEVICE_GENERIC = {"x0_from_eps", "eps_weight", "x0_from_velocity", "flow_weight", "noise_schedule"}


def _double(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _oracle():
    """A Lennard-Jones oracle of 4 atoms (the handle the oracle ops take)."""
    return ops.lennard_jones_oracle(4, 1.0, 1.0, None, "lj", "lj")


def _lj_reference():
    """4 atoms near a regular tetrahedron (LJ units), so nothing overlaps."""
    return torch.tensor([[0.0, 0.0, 0.0], [1.12, 0.0, 0.0], [0.56, 0.97, 0.0],
                         [0.56, 0.32, 0.91]], dtype=torch.float64)


def _valid_calls():
    """{op: (positional arguments of a valid call, whether to run it on the CPU)}."""
    pred, ref = _double(2, 4, 3, seed=1), _double(2, 4, 3, seed=2)
    mask = torch.ones(2, 4, dtype=torch.bool)
    spins = torch.sign(_double(2, 3, 3, seed=3))
    logits = _double(2, 3, 3, seed=4)
    Jh, Jv = _double(2, 3, 2, seed=5), _double(2, 2, 3, seed=6)
    points = _double(6, 3, seed=7)
    edges6 = torch.tensor([[i, j] for i in range(6) for j in range(i + 1, 6)])
    calls = {
        "mse_loss": ((pred, ref, mask, "mean"), True),
        "mae_loss": ((pred, ref, mask, "mean"), True),
        "kabsch_mse": ((pred, ref, mask, "mean"), True),
        "kabsch_align": ((pred, ref, mask), True),
        "ising_energy": ((spins, Jh, Jv), True),
        "local_fields": ((spins, Jh, Jv), True),
        "local_field_energy_loss": ((logits, spins, Jh, Jv, 0.1, 4.5, "sum"), True),
        "spin_bce_loss": ((logits, spins, "sum"), True),
        "spin_margin_loss": ((logits, spins, 1.0, "sum"), True),
        "spin_true_energy_loss": ((logits, Jh, Jv, 0.1, "sum"), True),
        "ising_ground_state": ((Jh, Jv), True),
        "sparse_rigid_edges": ((points, 0, 0, False, True, 100, 500, 1e-5, 10000), True),
        "rigidity": ((edges6, 6, 3, points, 0), True),
        "automorphisms": ((points, 1e-5, 10000, torch.zeros(6, dtype=torch.long)), True),
        "symmetrize_edges": ((edges6, torch.arange(6).unsqueeze(0)), True),
    }
    if hasattr(ops, "oracle_evaluate"):  # built with the oracles
        oracle, reference = _oracle(), _lj_reference()
        batch = reference.unsqueeze(0) + 0.01 * _double(2, 4, 3, seed=8)
        edges = torch.tensor([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])
        bonds = edges[:3]
        hessian = ops.force_field_hessian(oracle, reference, 1e-4, 256)
        k = torch.ones(6, dtype=torch.float64)
        angles = torch.tensor([[1, 0, 2], [1, 0, 3], [2, 0, 3]])
        calls.update({
            "oracle_evaluate": ((oracle, batch), True),
            "oracle_energy": ((oracle, batch), True),
            "oracle_evaluate_masked": ((oracle, batch), True),
            "oracle_energy_masked": ((oracle, batch), True),
            "true_energy_loss": ((oracle, batch, batch.flip(0), 1.0, "mean"), True),
            "force_field_coefficients": ((oracle, reference, edges, 1e-4, None, "auto"), True),
            "force_field_hessian": ((oracle, reference, 1e-4, 256), True),
            "harmonic_bond_oracle": ((bonds, k[:3], torch.ones(3, dtype=torch.float64), 4,
                                      "lj", "lj"), True),
            "nnls": ((_double(5, 3, seed=9), _double(5, seed=10), 0, 0.0), True),
            "hessian_fitted_springs": ((hessian, reference, edges, 0, 0.0, 0.0, 1e-3), True),
            "spring_network_hessian": ((reference, edges, k), True),
            "project_out_rigid_modes": ((hessian, reference), True),
            "shell_balanced_coefficients": ((reference, bonds, edges, k, None, 4, -1), True),
            "modified_seminario": ((hessian, reference, bonds, angles), True),
            "seminario_pair_springs": ((reference, bonds, k[:3], angles, k[:3], 2.9), True),
        })
        if hasattr(ops, "openmm_energy_terms"):
            # Valid calls need an OpenMM System; the device check comes first.
            calls["openmm_energy_terms"] = ((oracle, batch), False)
            calls["openmm_pair_coefficients"] = (("<System/>", reference, edges, None), False)
    return calls


CALLS = _valid_calls()
# The coefficient ops with Meta kernels (modified_seminario's with its angles
# given, as in CALLS; without, the angles depend on values): built with the oracles.
META_OPS |= {"spring_network_hessian", "project_out_rigid_modes", "modified_seminario"} & set(CALLS)


def _schema(op):
    return getattr(ops, op).default._schema


def _tensor_arguments(op):
    """(position, name) of each Tensor / Tensor? argument of the op's schema."""
    return [(k, a.name) for k, a in enumerate(_schema(op).arguments)
            if str(a.type) in ("Tensor", "Optional[Tensor]")]


def _energyloss_ops():
    return sorted(s.name.split("::", 1)[1] for s in torch._C._jit_get_all_schemas()
                  if s.name.startswith("energyloss::"))


def test_every_tensor_op_is_covered():
    """Each registered op with a tensor argument is in CALLS, or device-generic
    or a pair op; a new op must be added to one of them."""
    missing = [op for op in _energyloss_ops() if _tensor_arguments(op)
               and op not in CALLS and op not in DEVICE_GENERIC and not _is_pair_op(op)
               and op not in INNER_OPS]
    assert not missing, f"ops with tensor arguments not covered here: {missing}"
    assert len(CALLS) >= 15


@pytest.mark.parametrize("op", sorted(op for op, (_, run) in CALLS.items() if run))
def test_valid_call_runs_on_cpu(op):
    """The table's calls are valid, so a refusal below is the meta argument's."""
    getattr(ops, op)(*CALLS[op][0])


CASES = [(op, position, name) for op in sorted(CALLS)
         for position, name in _tensor_arguments(op)
         if CALLS[op][0][position] is not None]


def test_cases_cover_every_tensor_argument_given():
    assert len(CASES) >= 40


class CudaStandIn(torch.Tensor):
    """Reports device 'cuda' (no CUDA tensor can be made here) and fails if
    any kernel touches its data: the device check must come first."""

    @staticmethod
    def __new__(cls, like):
        return torch.Tensor._make_wrapper_subclass(cls, like.shape, dtype=like.dtype,
                                                   device="cuda")

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        raise AssertionError(f"{func} reached a stand-in tensor: the device check came too late")


# The stand-in everywhere; meta for the ops without Meta kernels; on a machine
# with a GPU (scripts/gpu-check.sh), CUDA too.
DEVICES = ["cuda-stand-in", "meta"] + (["cuda:0"] if torch.cuda.is_available() else [])
REFUSAL_CASES = [(op, position, name, device) for op, position, name in CASES
                 for device in DEVICES if not (device == "meta" and op in META_OPS)]


@pytest.mark.parametrize("op,position,argument,device", REFUSAL_CASES,
                         ids=[f"{op}-{name}-{device}" for op, _, name, device in REFUSAL_CASES])
def test_other_device_is_refused_naming_op_and_argument(op, position, argument, device):
    args = list(CALLS[op][0])
    if device == "cuda-stand-in":
        args[position], device = CudaStandIn(args[position]), "cuda"
    else:
        args[position] = args[position].to(device)
    pattern = (rf"^energyloss: {op}: {argument}: expected a CPU tensor, got one on {device}: "
               rf"{op} has CPU code only, by design .*\.cpu\(\)")
    with pytest.raises(ValueError, match=pattern):
        getattr(ops, op)(*args)


# Fake tensors (FakeTensorMode: torch.compile's and torch.export's tracer)
# report the CPU but hold no data; the ops without Meta kernels read values.
FAKE_CASES = [(op, position, name) for op, position, name in CASES if op not in META_OPS]


def _refused_with(op, args, position, value, pattern):
    """The call `args` of `op` with argument `position` replaced by `value`
    raises a ValueError matching `pattern`; returns pytest's ExceptionInfo."""
    args = list(args)
    args[position] = value
    with pytest.raises(ValueError, match=pattern) as raised:
        getattr(ops, op)(*args)
    return raised


@pytest.mark.parametrize("op,position,argument", FAKE_CASES,
                         ids=[f"{op}-{name}" for op, _, name in FAKE_CASES])
def test_fake_tensor_is_refused_naming_op_and_argument(op, position, argument):
    """One argument fake, the others real: refused by name before any kernel
    reads it (not 'data is not allocated yet', nor FakeTensorMode's 'convert
    all Tensors to FakeTensors', which a later check would give)."""
    fake_tensor = pytest.importorskip("torch._subclasses.fake_tensor")
    fake = fake_tensor.FakeTensorMode().from_tensor(CALLS[op][0][position])
    _refused_with(op, CALLS[op][0], position, fake,
                  rf"^energyloss: {op}: {argument}: a fake tensor \(shapes only, as under "
                  rf"torch\.compile\), but .*outside the traced code")


def test_fake_cases_cover_the_oracles_and_graph_builders():
    covered = {op for op, _, _ in FAKE_CASES}
    assert {"sparse_rigid_edges", "rigidity", "automorphisms", "symmetrize_edges"} <= covered
    if hasattr(ops, "oracle_evaluate"):
        assert {"oracle_evaluate", "oracle_energy", "true_energy_loss", "force_field_hessian",
                "force_field_coefficients", "nnls"} <= covered


META_CASES = [(op, position, name) for op, position, name in CASES if op in META_OPS]


@pytest.mark.parametrize("op,position,argument", META_CASES,
                         ids=[f"{op}-{name}" for op, _, name in META_CASES])
def test_meta_next_to_cpu_is_refused_naming_the_argument(op, position, argument):
    """One argument on meta, the others on the CPU: refused before any kernel."""
    args = list(CALLS[op][0])
    args[position] = args[position].to("meta")
    pattern = (rf"^energyloss: {op}: \w+ is on (meta|cpu) but \w+ is on (cpu|meta); pass every "
               rf"tensor on one device")
    with pytest.raises(ValueError, match=pattern) as error:
        getattr(ops, op)(*args)
    assert argument in str(error.value)


def _meta_case(op, dtype):
    """The op's valid call in `dtype`, and the positions of its floating inputs."""
    args = [a.to(dtype) if isinstance(a, torch.Tensor) and a.is_floating_point() else a
            for a in CALLS[op][0]]
    return args, [k for k in _floating_positions(op)]


def _outputs(result):
    return list(result) if isinstance(result, tuple) else [result]


def _with_reduction(op, args, reduction):
    """The call with its reduction argument replaced (ops that have one)."""
    names = [a.name for a in _schema(op).arguments]
    if "reduction" in names and reduction is not None:
        args = list(args)
        args[names.index("reduction")] = reduction
    return args


@pytest.mark.parametrize("reduction", [None, "none"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("op", sorted(META_OPS))
def test_meta_output_has_the_cpu_shape_and_dtype(op, dtype, reduction):
    """The independent check is the real CPU computation on the same inputs;
    the first floating input's gradient has the CPU gradient's shape too."""
    args, floating = _meta_case(op, dtype)
    args = _with_reduction(op, args, reduction)
    differentiable = op not in NOT_DIFFERENTIABLE
    cpu_args = list(args)
    if differentiable:
        cpu_args[floating[0]] = cpu_args[floating[0]].clone().requires_grad_()
    cpu = _outputs(getattr(ops, op)(*cpu_args))
    meta_args = [a.to("meta") if isinstance(a, torch.Tensor) else a for a in args]
    if differentiable:
        meta_args[floating[0]].requires_grad_()
    meta = _outputs(getattr(ops, op)(*meta_args))
    assert [(t.shape, t.dtype, t.device.type) for t in meta] == [
        (t.shape, t.dtype, "meta") for t in cpu]
    if differentiable:
        cpu[0].sum().backward()
        meta[0].sum().backward()
        grad, expected = meta_args[floating[0]].grad, cpu_args[floating[0]].grad
        assert (grad.shape, grad.dtype, grad.device.type) == (expected.shape, dtype, "meta")


@pytest.mark.parametrize("op", sorted(META_OPS))
def test_meta_argument_errors_are_the_cpus(op):
    """A shape error reads the same on meta tensors as on the CPU (the Meta
    kernel runs every check that reads no data)."""
    args = list(CALLS[op][0])
    bad = list(args)
    bad[0] = bad[0][:, :-1]  # one atom / lattice row fewer than the other inputs
    with pytest.raises(ValueError) as cpu_error:
        getattr(ops, op)(*bad)
    meta_bad = [a.to("meta") if isinstance(a, torch.Tensor) else a for a in bad]
    with pytest.raises(ValueError) as meta_error:
        getattr(ops, op)(*meta_bad)
    assert str(meta_error.value) == str(cpu_error.value)


@pytest.mark.parametrize("op", sorted(META_OPS))
def test_fake_tensors_run_through_the_meta_kernels(op):
    """FakeTensorMode is how torch.compile and torch.export trace ops: fake
    outputs (and the first input's gradient) with the CPU shapes and dtypes."""
    fake_tensor = pytest.importorskip("torch._subclasses.fake_tensor")
    args, floating = _meta_case(op, torch.float32)
    cpu = _outputs(getattr(ops, op)(*args))
    mode = fake_tensor.FakeTensorMode()
    fake_args = [mode.from_tensor(a) if isinstance(a, torch.Tensor) else a for a in args]
    differentiable = op not in NOT_DIFFERENTIABLE
    with mode:
        if differentiable:
            fake_args[floating[0]].requires_grad_()
        fake = _outputs(getattr(ops, op)(*fake_args))
        if differentiable:
            (grad,) = torch.autograd.grad(fake[0].sum(), fake_args[floating[0]])
    for ours, expected in zip(fake, cpu):
        assert isinstance(ours, fake_tensor.FakeTensor)
        assert (ours.shape, ours.dtype) == (expected.shape, expected.dtype)
    assert len(fake) == len(cpu)
    if differentiable:
        assert isinstance(grad, fake_tensor.FakeTensor)
        assert grad.shape == args[floating[0]].shape


def test_ops_without_meta_kernels_still_refuse_meta():
    """The op list above is exactly the ops with a Meta kernel."""
    with_meta = {op for op in CALLS
                 if torch._C._dispatch_has_kernel_for_dispatch_key(f"energyloss::{op}", "Meta")}
    assert not with_meta  # the public ops are composite; their inner ops hold the kernels
    for inner in INNER_OPS:
        assert torch._C._dispatch_has_kernel_for_dispatch_key(f"energyloss::{inner}", "Meta")


def _floating_positions(op):
    return [k for k, _ in _tensor_arguments(op)
            if CALLS[op][0][k] is not None and CALLS[op][0][k].is_floating_point()]


# Ops that read float tensors only through a conversion to float64 (as the
# schema promises any dtype): half precision is computed, not refused.
CONVERTING = {"harmonic_bond_oracle"}
HALF_CASES = [(op, dtype) for op in sorted(CALLS) if _floating_positions(op)
              and op not in CONVERTING for dtype in (torch.float16, torch.bfloat16)]


@pytest.mark.parametrize("op,dtype", HALF_CASES,
                         ids=[f"{op}-{str(d)[6:]}" for op, d in HALF_CASES])
def test_half_precision_is_refused_by_name(op, dtype):
    """float16 / bfloat16 (every floating argument at once, as under autocast)
    get the op's own message, not AT_DISPATCH's "not implemented for 'Half'"."""
    args = list(CALLS[op][0])
    for k in _floating_positions(op):
        args[k] = args[k].to(dtype)
    names = "|".join(name for k, name in _tensor_arguments(op) if k in _floating_positions(op))
    label = "Half" if dtype == torch.float16 else "BFloat16"
    pattern = (rf"^energyloss: {op}: ({names}): expected float32 or float64, got {label} "
               rf"\({str(dtype)[6:]}\): {op} computes in float32 or float64 only")
    with pytest.raises(ValueError, match=pattern) as raised:
        getattr(ops, op)(*args)
    # The cast to use, spelt for both front ends (C++ users read it too).
    assert (".float() or .double() in Python, .to(torch::kFloat) or .to(torch::kDouble) in C++"
            in str(raised.value))


def test_half_precision_bond_parameters_are_converted():
    if "harmonic_bond_oracle" not in CALLS:
        pytest.skip("built without the oracles")
    bonds, k, r0 = CALLS["harmonic_bond_oracle"][0][:3]
    reference = _lj_reference()
    exact = ops.oracle_evaluate(ops.harmonic_bond_oracle(bonds, k, r0, 4, "lj", "lj"), reference)
    half = ops.oracle_evaluate(ops.harmonic_bond_oracle(bonds, k.half(), r0.half(), 4, "lj", "lj"),
                               reference)
    torch.testing.assert_close(half[0], exact[0])  # 1 and 1.0 are exact in float16


def test_oracle_class_method_refuses_meta_positions():
    if "oracle_evaluate" not in CALLS:
        pytest.skip("built without the oracles")
    with pytest.raises(ValueError, match="^energyloss: oracle_evaluate: positions: expected a "
                                         "CPU tensor, got one on meta"):
        energyloss.LennardJonesOracle(4).evaluate(_lj_reference().to("meta"))


def test_python_wrappers_pass_the_refusal_through():
    """The Python functions reach the same check (no Python-side error first)."""
    pred = CudaStandIn(torch.zeros(2, 4, 3))
    for function, name in ((energyloss.mse_loss, "mse_loss"), (energyloss.kabsch_mse, "kabsch_mse")):
        with pytest.raises(ValueError, match=rf"^energyloss: {name}: pred: .*cuda"):
            function(pred, pred)
    with pytest.raises(ValueError, match="ising_ground_state: Jh: expected a CPU tensor"):
        energyloss.ising_ground_state(CudaStandIn(torch.zeros(1, 3, 2)),
                                      CudaStandIn(torch.zeros(1, 2, 3)))


def test_diffusion_helpers_propagate_meta_tensors():
    """Elementwise torch code: the value checks are skipped for meta tensors
    (they have no values) and the result is meta with the right shape."""
    x = torch.empty(2, 5, 3, device="meta")
    level = torch.empty(2, device="meta")
    assert ops.x0_from_eps(x, x, level, level).shape == (2, 5, 3)
    assert ops.x0_from_eps(x, x, level, level).device.type == "meta"
    assert ops.x0_from_velocity(x, x, level).device.type == "meta"
    assert ops.eps_weight(level, level).device.type == "meta"
    assert ops.flow_weight(level).device.type == "meta"
    alpha, sigma = ops.noise_schedule(level, "cosine", None, 2.0, 1000, 1e-3)
    assert alpha.device.type == "meta" and sigma.shape == (2,)
    # A bad kind is still refused; shapes that do not broadcast too.
    with pytest.raises(ValueError, match="kind must be"):
        ops.noise_schedule(level, "linear", None, 2.0, 1000, 1e-3)
    with pytest.raises(ValueError, match="alpha"):
        ops.x0_from_eps(x, x, torch.empty(3, device="meta"), level)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_diffusion_helpers_in_half_precision(dtype):
    """Elementwise, so half precision is computed (no accumulation) and equals
    the float64 result rounded; noise_schedule's kernel is float/double only
    and refuses by name."""
    x, eps = _double(2, 5, 3, seed=11), _double(2, 5, 3, seed=12)
    alpha, sigma = torch.tensor([0.9, 0.6], dtype=torch.float64), torch.tensor([0.3, 0.7],
                                                                                dtype=torch.float64)
    exact = ops.x0_from_eps(x, eps, alpha, sigma)
    low = ops.x0_from_eps(x.to(dtype), eps.to(dtype), alpha.to(dtype), sigma.to(dtype))
    assert low.dtype == dtype
    torch.testing.assert_close(low.double(), exact, rtol=0.05, atol=0.05)
    with pytest.raises(ValueError, match=rf"^energyloss: noise_schedule: t: expected float32 or "
                                         rf"float64, got {'Half' if dtype == torch.float16 else 'BFloat16'}"):
        ops.noise_schedule(torch.tensor([0.5]).to(dtype), "cosine", None, 2.0, 1000, 1e-3)


def test_message_wording():
    """One full message, as a user reads it."""
    with pytest.raises(ValueError) as error:
        ops.kabsch_mse(CudaStandIn(torch.zeros(1, 3, 3)), CudaStandIn(torch.zeros(1, 3, 3)),
                       None, "mean")
    assert str(error.value) == (
        "energyloss: kabsch_mse: pred: expected a CPU tensor, got one on cuda: kabsch_mse has CPU "
        "code only, by design (of the energyloss ops only the pair energy loss has a CUDA "
        "kernel); pass CPU tensors (.cpu()) and move the result back with .to(device)")
    assert re.search("kabsch_mse", str(error.value))


def test_autocast_output_is_refused_by_name():
    """Under CPU autocast a Linear layer's output is bfloat16 while the
    reference stays float32: the op, not a dtype mismatch, names the problem."""
    layer = torch.nn.Linear(3, 3)
    x, ref = torch.randn(2, 4, 3), torch.randn(2, 4, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        pred = layer(x)
        assert pred.dtype == torch.bfloat16
        for function, name in ((energyloss.kabsch_mse, "kabsch_mse"),
                               (energyloss.mse_loss, "mse_loss")):
            with pytest.raises(ValueError, match=rf"^energyloss: {name}: pred: expected float32 "
                                                 r"or float64, got BFloat16 \(bfloat16\)"):
                function(pred, ref)
    # The advice works: through .float() the loss trains the autocast layer.
    energyloss.kabsch_mse(pred.float(), ref).backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("op,inner", [("kabsch_mse", "_baseline_loss"),
                                      ("spin_true_energy_loss", "_spin_value")])
def test_aot_autograd_traces_through_the_inner_op(op, inner):
    """AOTAutograd (torch.compile's tracer) traces the public op into its
    inner op through the Meta kernel; the traced forward and backward equal
    eager."""
    compile_module = pytest.importorskip("functorch.compile")
    args = list(CALLS[op][0])
    graphs = []

    def keep(graph, _inputs):
        graphs.append(graph.code)
        return compile_module.make_boxed_func(graph)

    def call(x):
        return getattr(ops, op)(x, *args[1:])

    traced = compile_module.aot_function(call, fw_compiler=keep, bw_compiler=keep)
    results = []
    for fn in (call, traced):
        x = args[0].clone().requires_grad_()
        value = fn(x)
        results.append((value, *torch.autograd.grad(value, x)))
    assert f"energyloss.{inner}" in graphs[0]
    for ours, expected in zip(results[1], results[0]):
        torch.testing.assert_close(ours, expected, rtol=1e-12, atol=0)


# The ops of the LibTorch adapters in common/src/torch (CALLS' first part).
ADAPTER_OPS = {"mse_loss", "mae_loss", "kabsch_mse", "kabsch_align", "ising_energy",
               "local_fields", "local_field_energy_loss", "spin_bce_loss", "spin_margin_loss",
               "spin_true_energy_loss", "ising_ground_state", "sparse_rigid_edges", "rigidity",
               "automorphisms", "symmetrize_edges"}
# The oracle and coefficient ops (common/src/oracles: CALLS' second part, there
# when built with the oracles), and the inner ops of the coefficient ops with
# Meta kernels, called directly with their public op's arguments: their CPU
# kernels run the public op's checks, so their errors name the public op.
ORACLE_OPS = set(CALLS) - ADAPTER_OPS
ORACLE_INNER_OPS = {"_" + op for op in ORACLE_OPS} & INNER_OPS
# The adapters' inner ops are reached through their public ops only (the pair
# ops' too, _is_pair_op): they have no None case of their own.
ADAPTER_INNER_OPS = {"_baseline_loss", "_kabsch_align", "_spin_value", "_ising_ground_state"}


def _undefined_tensor_calls():
    """{op: valid positional arguments}: the ops in CALLS (adapters, oracles,
    coefficient ops), the oracles' inner ops, the pair ops and the
    device-generic diffusion helpers."""
    pred, ref = _double(2, 4, 3, seed=1), _double(2, 4, 3, seed=2)
    alpha, sigma = torch.tensor([0.8, 0.6], dtype=torch.float64), torch.tensor(
        [0.6, 0.8], dtype=torch.float64)
    calls = {op: CALLS[op][0] for op in ADAPTER_OPS | ORACLE_OPS}
    calls.update({op: CALLS[op[1:]][0] for op in ORACLE_INNER_OPS})
    calls.update({
        "pair_energy_loss": (pred, ref),
        "pair_energy_terms": (pred, ref),
        "x0_from_eps": (pred, ref, alpha, sigma),
        "eps_weight": (alpha, sigma),
        "x0_from_velocity": (pred, ref, alpha),
        "flow_weight": (alpha,),
        "noise_schedule": (alpha,),
    })
    return calls


UNDEFINED_CALLS = _undefined_tensor_calls()
UNDEFINED_CASES = [(op, k, a.name) for op in sorted(UNDEFINED_CALLS)
                   for k, a in enumerate(_schema(op).arguments)
                   if str(a.type) == "Tensor" and k < len(UNDEFINED_CALLS[op])]


@pytest.mark.parametrize("op,position,argument", UNDEFINED_CASES,
                         ids=[f"{op}-{name}" for op, _, name in UNDEFINED_CASES])
def test_none_for_a_required_tensor_is_refused_naming_op_and_argument(op, position, argument):
    """None for a required Tensor reaches the op as an undefined tensor (what
    torch::Tensor() is in C++; tests/cpp/torch_test_argument_checks.cpp):
    refused by name (torch_ops::require_defined), not with c10's "tensor does
    not have a device" nor a shape message about a tensor of shape [0]. An
    oracle inner op (_<op>) names its public op."""
    _refused_with(op, UNDEFINED_CALLS[op], position, None,
                  rf"^energyloss: {op.lstrip('_')}: {argument}: got an undefined tensor \(a "
                  r"default-constructed torch::Tensor in C\+\+, None in Python\)")


def test_undefined_cases_cover_every_family():
    covered = {op for op, _, _ in UNDEFINED_CASES}
    assert {"pair_energy_loss", "pair_energy_terms", "mse_loss", "kabsch_align",
            "spin_true_energy_loss", "ising_ground_state", "symmetrize_edges",
            "x0_from_eps", "noise_schedule"} <= covered
    assert len(UNDEFINED_CASES) >= 40
    if hasattr(ops, "oracle_evaluate"):  # built with the oracles
        assert {"oracle_energy", "true_energy_loss", "force_field_coefficients",
                "harmonic_bond_oracle", "nnls", "seminario_pair_springs",
                "shell_balanced_coefficients", "_spring_network_hessian"} <= covered
        assert len(UNDEFINED_CASES) >= 80


def _required_tensors(op):
    return [k for k, a in enumerate(_schema(op).arguments) if str(a.type) == "Tensor"]


def test_every_op_with_a_required_tensor_has_none_cases():
    """Each registered op with a required Tensor argument (from the schemas:
    a new op fails here until it is listed) is in UNDEFINED_CALLS with every
    such argument given, unless it is an adapter's inner op; the oracle and
    coefficient ops (common/src/oracles) included."""
    required = [op for op in _energyloss_ops() if _required_tensors(op)]
    missing = [op for op in required if op not in UNDEFINED_CALLS
               and op not in ADAPTER_INNER_OPS and not _is_pair_op(op)]
    assert not missing, f"ops with a required Tensor and no None case: {missing}"
    short = [op for op in UNDEFINED_CALLS if op in required
             and max(_required_tensors(op)) >= len(UNDEFINED_CALLS[op])]
    assert not short, f"calls that leave out a required Tensor: {short}"


# Ops whose floating tensors share one dtype (no conversion): each floating
# argument but the first, in float32 next to float64 others.
SAME_DTYPE_OPS = {"mse_loss", "mae_loss", "kabsch_mse", "kabsch_align", "ising_energy",
                  "local_fields", "local_field_energy_loss", "spin_bce_loss", "spin_margin_loss",
                  "spin_true_energy_loss", "ising_ground_state", "pair_energy_loss",
                  "pair_energy_terms", "x0_from_eps", "x0_from_velocity"}
MIXED_CASES = [(op, k, a.name) for op in sorted(SAME_DTYPE_OPS)
               for k, a in list(enumerate(_schema(op).arguments))[1:len(UNDEFINED_CALLS[op])]
               if isinstance(UNDEFINED_CALLS[op][k], torch.Tensor)
               and UNDEFINED_CALLS[op][k].is_floating_point()
               and not (op.startswith("x0_from") and a.name in ("alpha", "sigma", "t"))]


@pytest.mark.parametrize("op,position,argument", MIXED_CASES,
                         ids=[f"{op}-{name}" for op, _, name in MIXED_CASES])
def test_float32_next_to_float64_is_refused_naming_op_and_both_arguments(op, position, argument):
    """The noise levels of x0_from_* are converted to x_t's dtype by design
    (levels, not data), so they are not among these."""
    pattern = (rf"^energyloss: {op}: {argument} has dtype Float but (\w+) has dtype Double; "
               r"convert one of them \(\.float\(\) or \.double\(\)\)")
    raised = _refused_with(op, UNDEFINED_CALLS[op], position,
                           UNDEFINED_CALLS[op][position].float(), pattern)
    other = re.match(pattern, str(raised.value)).group(1)
    assert other != argument and other in [a.name for a in _schema(op).arguments]


def test_mixed_cases_cover_the_spin_baseline_and_pair_ops():
    covered = {op for op, _, _ in MIXED_CASES}
    assert SAME_DTYPE_OPS == covered


@pytest.mark.skipif(not hasattr(ops, "true_energy_loss"), reason="built without the oracles")
@pytest.mark.parametrize("single", ["pred", "ref"])
def test_true_energy_loss_refuses_float32_next_to_float64(single):
    """pred and ref of one dtype, as in the pair and baseline losses: float32
    next to float64 (either way round) is refused naming the op, both
    arguments and both dtypes, not converted to pred's dtype; one dtype, either
    one, runs (float32 gives the float64 loss to float32 precision)."""
    oracle, pred, ref = CALLS["true_energy_loss"][0][:3]
    mixed = {"pred": pred, "ref": ref}
    mixed[single] = mixed[single].float()
    label = {name: "Float" if name == single else "Double" for name in ("pred", "ref")}
    pattern = (rf"^energyloss: true_energy_loss: ref has dtype {label['ref']} but pred has "
               rf"dtype {label['pred']}; convert one of them \(\.float\(\) or \.double\(\)\)")
    with pytest.raises(ValueError, match=pattern):
        ops.true_energy_loss(oracle, mixed["pred"], mixed["ref"], 1.0, "none")
    with pytest.raises(ValueError, match=pattern):
        energyloss.true_energy_loss(oracle, mixed["pred"], mixed["ref"], 1.0, reduction="none")
    double = ops.true_energy_loss(oracle, pred, ref, 1.0, "none")
    single_precision = ops.true_energy_loss(oracle, pred.float(), ref.float(), 1.0, "none")
    assert single_precision.dtype == torch.float32
    expected = oracle.evaluate(pred)[0] - oracle.evaluate(ref)[0]
    torch.testing.assert_close(double, expected, rtol=1e-12, atol=0)
    torch.testing.assert_close(single_precision, expected.float(), rtol=1e-4, atol=1e-4)
