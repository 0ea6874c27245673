#!/usr/bin/env python3
"""The GPU pair kernel against the reference formulation on the same GPU.

Runs cuda_pair_bench --csv (our GPU and CPU kernels, checked against each
other) and times, for the same cases, the dense LibTorch formulation of eq. 7
on the GPU: [B, N, N] distance matrices, exp coefficients, autograd backward
to pred and ref. Prints one table with the ratios, all measured in this run.

Needs a CUDA-enabled torch (Debian's python3-torch is CPU-only; the NVIDIA
machines' images have one).

Usage: cuda_pair_bench.py PATH/TO/cuda_pair_bench
"""
import argparse
import csv
import io
import subprocess
import sys
import time

import torch


def dense_energy_loss(pred, ref):
    """Eq. 7 on every pair, exp coefficients with the preset k0 = 24 / N."""
    atoms = pred.shape[1]
    d_pred = torch.cdist(pred, pred)
    d_ref = torch.cdist(ref, ref)
    k = 24.0 / atoms * torch.exp(-d_ref)
    pairs = torch.triu(torch.ones(atoms, atoms, dtype=torch.bool, device=pred.device), 1)
    return (0.5 * k * (d_pred - d_ref) ** 2 * pairs).sum(dim=(1, 2))


def reference_ms(batch, atoms, dtype, budget_seconds=1.0):
    """Median ms of the dense forward + backward; inf when it runs out of memory."""
    generator = torch.Generator(device="cuda").manual_seed(7)
    ref = torch.randn(batch, atoms, 3, device="cuda", dtype=dtype, generator=generator)
    pred = (ref + 0.2 * torch.randn(ref.shape, device="cuda", dtype=dtype,
                                    generator=generator)).requires_grad_()
    ref.requires_grad_()

    def step():
        pred.grad = ref.grad = None
        dense_energy_loss(pred, ref).sum().backward()
        torch.cuda.synchronize()

    try:
        step()
        times = []
        start = time.perf_counter()
        while len(times) < 3 or (time.perf_counter() - start < budget_seconds and len(times) < 200):
            t0 = time.perf_counter()
            step()
            times.append(1e3 * (time.perf_counter() - t0))
        return sorted(times)[len(times) // 2]
    except torch.cuda.OutOfMemoryError:
        return float("inf")
    finally:
        torch.cuda.empty_cache()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cuda_pair_bench", help="path to the built bin/cuda_pair_bench")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        sys.exit("cuda_pair_bench.py: this torch has no CUDA device")
    ours = subprocess.run([args.cuda_pair_bench, "--csv"], check=True, capture_output=True,
                          text=True).stdout
    rows = list(csv.reader(io.StringIO(ours)))
    print(f"GPU: {torch.cuda.get_device_name()}; median ms of energy + both gradients")
    print(f"{'case':<9} {'dtype':<6} {'B':>4} {'N':>6} {'pairs':>9} {'CPU ours':>9} "
          f"{'GPU ours':>9} {'GPU dense torch':>15} {'vs CPU':>7} {'vs torch':>8}")
    for name, dtype, batch, atoms, pairs, cpu_ms, gpu_ms in rows:
        cpu_ms, gpu_ms = float(cpu_ms), float(gpu_ms)
        torch_dtype = torch.float32 if dtype == "float" else torch.float64
        dense = (reference_ms(int(batch), int(atoms), torch_dtype) if name == "complete"
                 else float("nan"))  # the dense form has no sparse analogue worth timing
        print(f"{name:<9} {dtype:<6} {batch:>4} {atoms:>6} {float(pairs):9.3g} {cpu_ms:9.3f} "
              f"{gpu_ms:9.3f} {dense:15.3f} {cpu_ms / gpu_ms:6.1f}x {dense / gpu_ms:7.1f}x")


if __name__ == "__main__":
    main()
