"""The pair ops' device rules, checked without a GPU (issue 16).

- meta tensors (shapes only, what fake tensors and torch.compile trace with)
  reach the Meta kernels of the inner ops and get the CPU results' shapes and
  dtypes, and the same argument errors;
- float16 / bfloat16 are refused with the op's name and the dtype;
- a CUDA tensor on a build without the CUDA kernels, or a tensor on another
  device, is refused with the op, the argument and its device. No CUDA
  tensor can be made here, so a stand-in does: a wrapper tensor that reports
  device 'cuda' (or 'xla') and fails if any kernel touches its data.
The GPU itself is checked by tests/gpu/test_pair_cuda.py (scripts/gpu-check.sh).
"""
import itertools
import os
from pathlib import Path

import pytest
import torch

import energyloss

ops = torch.ops.energyloss
ERRORS = (ValueError, RuntimeError)
HAS_CUDA_KERNEL = torch._C._dispatch_has_kernel_for_dispatch_key(
    "energyloss::_pair_energy_fused", "CUDA")


def batch(B=3, N=6, d=3, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    ref = torch.randn(B, N, d, generator=g, dtype=dtype)
    return ref + 0.3 * torch.randn(B, N, d, generator=g, dtype=dtype), ref


def to_meta(value):
    return value.to("meta") if isinstance(value, torch.Tensor) else value


MASK = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0]], dtype=torch.bool)
SHARED_EDGES = torch.tensor([[0, 1], [1, 2], [2, 0], [0, 3], [-1, -1]])
PER_SYSTEM_EDGES = torch.stack([SHARED_EDGES, SHARED_EDGES.flip(1), SHARED_EDGES])
CASES = {
    "complete": {},
    "masked": {"mask": MASK},
    "cutoff": {"cutoff": 1.5},
    "edges": {"edges": SHARED_EDGES},
    "per_system_edges": {"edges": PER_SYSTEM_EDGES, "edge_weights": torch.rand(3, 5)},
    "explicit": {"edges": SHARED_EDGES, "edge_weights": torch.rand(5), "coeff": "explicit"},
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "mean_pair"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_meta_loss_has_the_cpu_shapes_and_gradients(case, reduction, dtype):
    pred, ref = batch(dtype=dtype)
    kwargs = dict(CASES[case], reduction=reduction)
    cpu_pred = pred.clone().requires_grad_()
    cpu = energyloss.pair_energy_loss(cpu_pred, ref, **kwargs)
    cpu.sum().backward()
    meta_pred = pred.to("meta").requires_grad_()
    meta_ref = ref.to("meta").requires_grad_()
    meta = energyloss.pair_energy_loss(meta_pred, meta_ref,
                                       **{k: to_meta(v) for k, v in kwargs.items()})
    assert meta.device.type == "meta"
    assert (meta.shape, meta.dtype) == (cpu.shape, cpu.dtype)
    meta.sum().backward()
    assert meta_pred.grad.device.type == "meta" and meta_ref.grad.device.type == "meta"
    assert (meta_pred.grad.shape, meta_pred.grad.dtype) == (cpu_pred.grad.shape, dtype)


@pytest.mark.parametrize("case", sorted(CASES))
def test_meta_terms_have_the_cpu_shapes(case):
    pred, ref = batch(dtype=torch.float32)
    cpu = energyloss.pair_energy_terms(pred, ref, **CASES[case])
    meta = energyloss.pair_energy_terms(pred.to("meta"), ref.to("meta"),
                                        **{k: to_meta(v) for k, v in CASES[case].items()})
    assert [(t.shape, t.dtype, t.device.type) for t in meta] == [
        (t.shape, t.dtype, "meta") for t in cpu]


def test_meta_inner_op_gives_only_the_gradients_asked_for():
    pred, ref = (t.to("meta") for t in batch())
    energy, pairs, grad_pred, grad_ref = ops._pair_energy_fused(
        pred, ref, None, None, None, "exp", None, None, 1.0, 1e-5, None, True, False)
    assert (energy.shape, pairs.dtype) == ((3,), torch.int64)
    assert grad_pred.shape == pred.shape and grad_ref.shape == (0,)


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("want_pred,want_ref", [(False, False), (True, False), (False, True),
                                                (True, True)])
def test_inner_op_outputs_never_alias_each_other(device, want_pred, want_ref):
    """The schemas declare no aliasing, so no two outputs may share memory
    (torch's SchemaCheckMode, opcheck's test_schema: "Outputs 2 and 3 alias
    unexpectedly"): each gradient not asked for is an empty tensor of its own."""
    pred, ref = (t.to(device) for t in batch())
    outputs = ops._pair_energy_fused(pred, ref, None, None, None, "exp", None, None, 1.0, 1e-5,
                                     None, want_pred, want_ref)
    for i, j in itertools.combinations(range(len(outputs)), 2):
        assert outputs[i] is not outputs[j], (i, j)
        assert not torch._C._overlaps(outputs[i], outputs[j]), (i, j)


def test_cpu_edges_are_moved_to_preds_device():
    # Graph builders (sparse_rigid_edges) return CPU tensors.
    pred, ref = (t.to("meta") for t in batch())
    loss = energyloss.pair_energy_loss(pred, ref, edges=SHARED_EDGES,
                                       edge_weights=torch.rand(5), reduction="none")
    assert loss.device.type == "meta" and loss.shape == (3,)


# Argument errors are the CPU's on meta tensors too.
BAD = {
    "explicit-without-weights": ({"coeff": "explicit", "edges": SHARED_EDGES},
                                 "coefficient mode 'explicit' needs edge_weights"),
    "unknown-mode": ({"coeff": "quartic"}, "unknown coefficient mode 'quartic'"),
    "negative-k0": ({"k0": -1.0}, "k0 must be finite and non-negative"),
    "edge-shape": ({"edges": torch.tensor([0, 1, 2])}, r"edges: expected shape \[E, 2\]"),
    "float-edges": ({"edges": SHARED_EDGES.double()}, "edges: expected an integer tensor"),
    "mask-shape": ({"mask": MASK[:2]}, r"mask: expected shape \[3, 6\]"),
    "weights-shape": ({"edges": SHARED_EDGES, "edge_weights": torch.rand(4)},
                      r"edge_weights: expected shape \[5\]"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_meta_argument_errors_are_the_cpus(name):
    kwargs, message = BAD[name]
    pred, ref = batch()
    with pytest.raises(ERRORS, match=message):
        energyloss.pair_energy_loss(pred, ref, **kwargs)
    with pytest.raises(ERRORS, match=message):
        energyloss.pair_energy_loss(pred.to("meta"), ref.to("meta"),
                                    **{k: to_meta(v) for k, v in kwargs.items()})


@pytest.mark.parametrize("dtype,name", [(torch.float16, "float16"), (torch.bfloat16, "bfloat16")])
@pytest.mark.parametrize("op", ["pair_energy_loss", "pair_energy_terms"])
@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_half_precision_is_refused_by_name(dtype, name, op, device):
    pred, ref = (t.to(device=device, dtype=dtype) for t in batch())
    with pytest.raises(ERRORS, match=rf"{op}: pred: expected float32 or float64, got \w+ \({name}\)"):
        getattr(ops, op)(pred, ref)


@pytest.mark.parametrize("dtype,name", [(torch.float16, "float16"), (torch.bfloat16, "bfloat16")])
def test_an_autocast_prediction_against_a_float_reference_is_refused_by_name(dtype, name):
    # Under torch.autocast a model's output is float16/bfloat16 while the
    # reference stays float32: the refusal names the op and the dtype.
    pred, ref = batch(dtype=torch.float32)
    for op in ("pair_energy_loss", "pair_energy_terms"):
        with pytest.raises(ERRORS, match=rf"{op}: pred: expected float32 or float64, got \w+ "
                           rf"\({name}\)"):
            getattr(ops, op)(pred.to(dtype), ref)


class DeviceStandIn(torch.Tensor):
    """Reports `device` without memory; any kernel reaching it fails."""

    @staticmethod
    def __new__(cls, shape, device, dtype=torch.float32):
        return torch.Tensor._make_wrapper_subclass(cls, shape, dtype=dtype, device=device)

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        raise AssertionError(f"{func} reached a stand-in tensor: the device check came too late")


@pytest.mark.skipif(HAS_CUDA_KERNEL, reason="this build has the CUDA kernels (see tests/gpu)")
@pytest.mark.parametrize("op", ["pair_energy_loss", "pair_energy_terms"])
@pytest.mark.parametrize("through", ["package", "torch.ops"])
def test_cuda_tensors_are_refused_by_a_build_without_cuda(op, through):
    pred = DeviceStandIn((2, 5, 3), "cuda")
    assert pred.is_cuda
    call = getattr(energyloss, op) if through == "package" else getattr(ops, op)
    with pytest.raises(ERRORS) as error:
        call(pred, pred)
    message = str(error.value)
    for part in (f"{op}: pred is on cuda", "no CUDA kernels", "-DENERGYLOSS_WITH_CUDA=ON",
                 "CUDA-enabled PyTorch", "torch.utils.cmake_prefix_path"):
        assert part in message, message


def test_other_devices_are_refused_by_name():
    pred = DeviceStandIn((2, 5, 3), "xla")
    with pytest.raises(ERRORS, match=r"pair_energy_loss: pred is on xla; the pair ops run on cpu "
                       r"and cuda"):
        ops.pair_energy_loss(pred, pred)


@pytest.mark.parametrize("argument", ["ref", "mask"])
def test_a_tensor_on_another_device_than_pred_is_named(argument):
    pred, ref = batch(dtype=torch.float32)
    standin = {"ref": DeviceStandIn((3, 6, 3), "cuda"),
               "mask": DeviceStandIn((3, 6), "cuda", dtype=torch.bool)}[argument]
    kwargs = {"ref": ref, "mask": None, argument: standin}
    for op in ("pair_energy_loss", "pair_energy_terms"):
        with pytest.raises(ERRORS, match=rf"{op}: {argument} is on cuda but pred is on cpu"):
            getattr(ops, op)(pred, kwargs["ref"], kwargs["mask"])


@pytest.mark.parametrize("kind", ["meta", "fake"])
@pytest.mark.parametrize("argument", ["ref", "mask"])
def test_sparse_edges_refuse_shapes_only_tensors_by_name(kind, argument):
    """edges='sparse' draws graphs from ref's values: a meta or fake ref (or
    mask) is refused by name, not with torch's 'Cannot copy out of meta
    tensor' or a data-dependent-shape error from inside the wrapper."""
    pred, ref = batch()
    args = {"pred": pred, "ref": ref, "mask": MASK}
    if kind == "meta":
        args[argument] = args[argument].to("meta")
    else:
        fake_tensor = pytest.importorskip("torch._subclasses.fake_tensor")
        args[argument] = fake_tensor.FakeTensorMode().from_tensor(args[argument])
    with pytest.raises(ValueError, match=rf"^energyloss: pair_energy_loss: {argument}: a meta or "
                       r"fake tensor .* edges='sparse' draws each system's graph"):
        energyloss.pair_energy_loss(args["pred"], args["ref"], args["mask"], edges="sparse")


def test_cuda_kernels_available_says_what_cmake_built():
    """energyloss.cuda_kernels_available() against the build's own record
    (CMakeCache.txt: ENERGYLOSS_TORCH_CUDA)."""
    cache = Path(os.environ.get("ENERGYLOSS_BUILD_DIR", "build")) / "CMakeCache.txt"
    if not cache.exists():
        pytest.skip(f"no CMake cache at {cache} (set ENERGYLOSS_BUILD_DIR)")
    built = "ENERGYLOSS_TORCH_CUDA:INTERNAL=ON" in cache.read_text().splitlines()
    assert energyloss.cuda_kernels_available() is built
    assert HAS_CUDA_KERNEL is built


def test_fake_tensors_get_the_meta_kernels_shapes():
    # FakeTensorMode is how torch.compile and torch.export trace ops.
    fake_tensor = pytest.importorskip("torch._subclasses.fake_tensor")
    pred, ref = batch(dtype=torch.float32)
    kwargs = CASES["per_system_edges"]
    cpu_terms = energyloss.pair_energy_terms(pred, ref, **kwargs)
    cpu_loss = energyloss.pair_energy_loss(pred, ref, reduction="none", **kwargs)
    mode = fake_tensor.FakeTensorMode()
    fake = {k: mode.from_tensor(v) for k, v in kwargs.items()}
    fake_pred, fake_ref = mode.from_tensor(pred), mode.from_tensor(ref)
    with mode:
        terms = energyloss.pair_energy_terms(fake_pred, fake_ref, **fake)
        loss = energyloss.pair_energy_loss(fake_pred, fake_ref, reduction="none", **fake)
    for ours, expected in zip((*terms, loss), (*cpu_terms, cpu_loss)):
        assert isinstance(ours, fake_tensor.FakeTensor)
        assert (ours.shape, ours.dtype) == (expected.shape, expected.dtype)


def test_aot_autograd_traces_the_op_into_the_fused_kernel():
    # AOTAutograd is torch.compile's tracer: the public op decomposes into
    # _pair_energy_fused, and the traced forward + backward equal eager.
    compile_module = pytest.importorskip("functorch.compile")
    pred, ref = batch(dtype=torch.float64)
    kwargs = CASES["per_system_edges"]

    def loss(p, r, mask, edges, weights):
        return ops.pair_energy_loss(p, r, mask, "exp", None, None, 1.0, 1e-5, edges, weights,
                                    None, "mean_pair")

    graphs = []

    def keep(graph, _inputs):
        graphs.append(graph.code)
        return compile_module.make_boxed_func(graph)

    traced = compile_module.aot_function(loss, fw_compiler=keep, bw_compiler=keep)
    results = []
    for fn in (loss, traced):
        p = pred.clone().requires_grad_()
        value = fn(p, ref, MASK, kwargs["edges"], kwargs["edge_weights"])
        results.append((value, *torch.autograd.grad(value, p)))
    assert "energyloss._pair_energy_fused" in graphs[0]
    for ours, expected in zip(results[1], results[0]):
        torch.testing.assert_close(ours, expected, rtol=1e-12, atol=0)
