"""The pair ops on a CUDA device against the same ops on the CPU (issue 16).

Run by scripts/gpu-check.sh on a machine with an NVIDIA GPU and a CUDA build
of PyTorch, against a build of energyloss made for that torch with
-DENERGYLOSS_WITH_CUDA=ON. Not registered in the CPU suite: here every test
FAILS (never skips) when CUDA or the ops' CUDA kernels are missing.

Tolerances (issue 16): float 1e-5 relative, double 1e-10 relative, both
relative to the largest magnitude of the compared tensor.
"""
import pytest
import torch

import energyloss

ops = torch.ops.energyloss
MODES = tuple(ops.coefficient_modes())
TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}


@pytest.fixture(scope="module")
def device():
    if not torch.cuda.is_available():
        pytest.fail(f"torch {torch.__version__} sees no CUDA device (torch.version.cuda = "
                    f"{torch.version.cuda}); this check needs one")
    if not energyloss.cuda_kernels_available():
        pytest.fail("energyloss was built without the pair ops' CUDA kernels "
                    "(ENERGYLOSS_TORCH_CUDA OFF): configure with -DENERGYLOSS_WITH_CUDA=ON "
                    "against this torch")
    return torch.device("cuda", torch.cuda.current_device())


def close(ours, expected, dtype, what):
    scale = expected.abs().max().item() if expected.numel() else 0.0
    tol = TOLERANCE[dtype] * max(scale, 1e-30)
    assert ours.device.type == "cuda", what
    torch.testing.assert_close(ours.cpu(), expected, rtol=TOLERANCE[dtype], atol=tol,
                               msg=lambda m: f"{what}: {m}")


def problem(edge_mode, masked, dtype, mode, B=3, N=37, d=3, seed=0):
    """pred, ref and keyword arguments for one case, all on the CPU."""
    g = torch.Generator().manual_seed(seed)
    ref = torch.randn(B, N, d, generator=g, dtype=dtype) * 1.5
    pred = ref + 0.3 * torch.randn(B, N, d, generator=g, dtype=dtype)
    kwargs = {"coeff": mode}
    if masked:
        mask = torch.ones(B, N, dtype=torch.bool)
        mask[1, N - N // 4:] = False
        mask[-1, N - N // 2:] = False
        pred[~mask] = float("nan")  # padding is never read
        ref[~mask] = float("nan")
        kwargs["mask"] = mask
    shared = torch.tensor([[i, (i + s) % N] for i in range(N) for s in (1, 2, 5)])
    if edge_mode == "cutoff":
        kwargs["cutoff"] = 2.0
    elif edge_mode == "edges":
        kwargs["edges"] = shared
        kwargs["edge_weights"] = 0.5 + torch.rand(len(shared), generator=g, dtype=dtype)
    elif edge_mode == "per_system_edges":
        per_system = torch.stack([torch.tensor([[i, (i + s + b) % N] for i in range(N)
                                                for s in (1, 3)]) for b in range(B)])
        per_system[0, -4:] = -1  # padding edges
        kwargs["edges"] = per_system
        kwargs["edge_weights"] = 0.5 + torch.rand(per_system.shape[:2], generator=g, dtype=dtype)
    if mode == "explicit" and "edges" not in kwargs:
        kwargs["edges"] = shared
        kwargs["edge_weights"] = torch.rand(len(shared), generator=g, dtype=dtype)
    return pred, ref, kwargs


def on(device, kwargs):
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}


EDGE_MODES = ("complete", "cutoff", "edges", "per_system_edges")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float", "double"])
@pytest.mark.parametrize("masked", [False, True], ids=["all", "masked"])
@pytest.mark.parametrize("edge_mode", EDGE_MODES)
@pytest.mark.parametrize("mode", MODES)
def test_values_and_gradients_equal_the_cpus(device, mode, edge_mode, masked, dtype):
    pred, ref, kwargs = problem(edge_mode, masked, dtype, mode)
    results = {}
    for where in ("cpu", device):
        p = pred.to(where).requires_grad_()
        r = ref.to(where).requires_grad_()
        energy = energyloss.pair_energy_loss(p, r, reduction="none", **on(where, kwargs))
        mean_pair = energyloss.pair_energy_loss(p, r, reduction="mean_pair", **on(where, kwargs))
        # Different weights per system: checks the per-system gradient scaling.
        weights = torch.arange(1.0, pred.shape[0] + 1, dtype=dtype, device=where)
        grads = torch.autograd.grad((energy * weights).sum() + mean_pair, (p, r))
        terms = energyloss.pair_energy_terms(pred.to(where), ref.to(where), **on(where, kwargs))
        results[str(where)] = (energy, mean_pair, *grads, *terms)
    cpu, gpu = results["cpu"], results[str(device)]
    names = ("energy", "mean_pair", "grad pred", "grad ref", "terms energy", "atom energy")
    for name, ours, expected in zip(names, gpu, cpu):
        close(ours.detach(), expected.detach(), dtype, name)  # padding: 0 on both, never NaN
    assert torch.equal(gpu[-1].cpu(), cpu[-1]), "pair counts"


@pytest.mark.parametrize("edge_mode", EDGE_MODES)
def test_gradcheck_in_double(device, edge_mode):
    pred, ref, kwargs = problem(edge_mode, True, torch.float64, "exp", B=2, N=9)
    kwargs = on(device, kwargs)
    pred = torch.nan_to_num(pred).to(device).requires_grad_()
    ref = torch.nan_to_num(ref).to(device).requires_grad_()

    def loss(p, r):
        return energyloss.pair_energy_loss(p, r, reduction="none", **kwargs)

    assert torch.autograd.gradcheck(loss, (pred, ref), eps=1e-6, atol=1e-7, rtol=1e-6)


def test_runs_on_torchs_current_stream(device):
    pred, ref, kwargs = problem("complete", True, torch.float64, "exp", N=300)
    expected = energyloss.pair_energy_loss(pred, ref, reduction="none", **kwargs)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        p = pred.to(device, non_blocking=True)
        r = ref.to(device, non_blocking=True)
        ours = energyloss.pair_energy_loss(p, r, reduction="none", **on(device, kwargs))
        ours_host = ours.cpu()  # ordered on the same stream
    stream.synchronize()
    close(ours_host.to(device), expected, torch.float64, "energy on a side stream")


def test_bad_input_gets_the_cpus_message(device):
    pred, ref, kwargs = problem("complete", False, torch.float64, "exp")
    pred[1, 4, 2] = float("nan")
    messages = []
    for where in ("cpu", device):
        with pytest.raises((ValueError, RuntimeError)) as error:
            energyloss.pair_energy_loss(pred.to(where), ref.to(where))
        messages.append(str(error.value))
    assert messages[0] == messages[1]
    assert "non-finite" in messages[0] or "nan" in messages[0].lower()


def test_half_precision_is_refused_on_cuda(device):
    pred, ref, _ = problem("complete", False, torch.float32, "exp")
    for dtype, name in ((torch.float16, "float16"), (torch.bfloat16, "bfloat16")):
        with pytest.raises((ValueError, RuntimeError), match=name):
            energyloss.pair_energy_loss(pred.to(device, dtype), ref.to(device, dtype))


def test_autocast_inputs_are_refused_or_float(device):
    # Under autocast a model's output may be float16; the op refuses it by name.
    pred, ref, _ = problem("complete", False, torch.float32, "exp")
    layer = torch.nn.Linear(3, 3).to(device)
    with torch.autocast("cuda", dtype=torch.float16):
        out = layer(pred.to(device))
        assert out.dtype == torch.float16
        with pytest.raises((ValueError, RuntimeError), match="float16"):
            energyloss.pair_energy_loss(out, ref.to(device))
        loss = energyloss.pair_energy_loss(out.float(), ref.to(device))
    assert loss.dtype == torch.float32


def test_cpu_edges_are_copied_to_the_device(device):
    pred, ref, kwargs = problem("edges", False, torch.float32, "exp")
    expected = energyloss.pair_energy_loss(pred, ref, **kwargs)
    ours = energyloss.pair_energy_loss(pred.to(device), ref.to(device), **kwargs)
    close(ours, expected, torch.float32, "CPU edges, CUDA positions")


def test_sparse_edges_from_cuda_positions(device):
    pred, ref, _ = problem("complete", True, torch.float64, "exp")
    mask = torch.ones(pred.shape[:2], dtype=torch.bool)
    expected = energyloss.pair_energy_loss(pred.nan_to_num(), ref.nan_to_num(), mask=mask,
                                           edges="sparse", seed=3)
    ours = energyloss.pair_energy_loss(pred.nan_to_num().to(device), ref.nan_to_num().to(device),
                                       mask=mask.to(device), edges="sparse", seed=3)
    close(ours, expected, torch.float64, "edges='sparse'")


def test_mixed_devices_are_refused(device):
    pred, ref, _ = problem("complete", False, torch.float32, "exp")
    with pytest.raises((ValueError, RuntimeError), match="ref is on cpu but pred is on cuda"):
        energyloss.pair_energy_loss(pred.to(device), ref)


def test_empty_batch(device):
    pred = torch.zeros(0, 5, 3, device=device, requires_grad=True)
    loss = energyloss.pair_energy_loss(pred, pred.detach(), reduction="sum")
    loss.backward()
    assert loss.item() == 0 and pred.grad.shape == pred.shape


@pytest.mark.skipif(not hasattr(torch, "compile"), reason="torch.compile needs torch 2")
def test_torch_compile_traces_the_op(device):
    pred, ref, kwargs = problem("per_system_edges", True, torch.float32, "exp")
    kwargs = on(device, kwargs)

    def loss(p, r):
        return torch.ops.energyloss.pair_energy_loss(
            p, r, kwargs["mask"], "exp", None, None, 1.0, 1e-5, kwargs["edges"],
            kwargs["edge_weights"], None, "sum")

    results = []
    for fn in (loss, torch.compile(loss, backend="aot_eager", fullgraph=True)):
        p = pred.to(device).requires_grad_()
        value = fn(p, ref.to(device))
        (grad,) = torch.autograd.grad(value, p)
        results.append((value.detach(), torch.nan_to_num(grad)))
    close(results[1][0], results[0][0].cpu(), torch.float32, "compiled value")
    close(results[1][1], results[0][1].cpu(), torch.float32, "compiled gradient")


@pytest.mark.skipif(not hasattr(torch, "compile"), reason="torch.compile needs torch 2")
@pytest.mark.parametrize("edge_mode", ["complete", "edges"])
def test_torch_compile_of_the_python_wrapper(device, edge_mode):
    """What a user compiles: a function calling the public wrapper
    energyloss.pair_energy_loss (plus ordinary torch ops), with torch.compile's
    defaults (inductor, graph breaks allowed); value and both gradients equal
    eager's. One compile per case."""
    import torch._dynamo

    pred, ref, kwargs = problem(edge_mode, False, torch.float32, "exp")
    kwargs = on(device, kwargs)

    def user_loss(p, r):
        return (energyloss.pair_energy_loss(p, r, reduction="mean", **kwargs)
                + 0.1 * (p - r).square().mean())

    torch._dynamo.reset()  # a fresh compile, not one cached by the other case
    results = []
    for fn in (user_loss, torch.compile(user_loss)):
        p = pred.to(device).requires_grad_()
        r = ref.to(device).requires_grad_()
        value = fn(p, r)
        results.append((value.detach(),) + torch.autograd.grad(value, (p, r)))
    for what, ours, eager in zip(("value", "pred gradient", "ref gradient"), *results[::-1]):
        close(ours, eager.cpu(), torch.float32, f"compiled ({edge_mode}) {what}")


@pytest.mark.skipif(not hasattr(getattr(torch, "library", None), "opcheck"),
                    reason="torch.library.opcheck needs torch >= 2.4")
@pytest.mark.parametrize("where", ["cpu", "cuda"])
def test_opcheck_schema_and_fake_tensors(device, where):
    target = torch.device(where) if where == "cpu" else device
    pred, ref, kwargs = problem("per_system_edges", True, torch.float32, "exp")
    pred, ref = pred.nan_to_num().to(target), ref.nan_to_num().to(target)
    args = (pred, ref, kwargs["mask"].to(target), kwargs["edges"].to(target),
            kwargs["edge_weights"].to(target), "exp", None, None, 1.0, 1e-5, None)
    # Both gradients, and neither (two [0] outputs, which must not alias).
    for grads in ((True, True), (False, False)):
        torch.library.opcheck(ops._pair_energy_fused.default, args + grads,
                              test_utils=("test_schema", "test_faketensor"))
    torch.library.opcheck(ops._pair_energy_terms.default, args,
                          test_utils=("test_schema", "test_faketensor"))
