#!/usr/bin/env python3
"""Data-parallel training with energyloss's losses under DistributedDataParallel.

A tiny denoiser (a per-atom MLP correcting noisy coordinates) is trained on
Lennard-Jones clusters with the pair energy loss plus the oracle-based true
energy loss of a LennardJonesOracle, on --world-size processes started with
torch.multiprocessing.spawn. Each rank trains on its share of the batch;
DDP averages the gradients, so every rank takes the same step. The backend
is gloo on the CPU and NCCL when CUDA is available and this build of
energyloss has its CUDA kernels (--backend forces one; nccl is refused
up front when the kernels are missing).

The oracle is created once and handed to the ranks: the oracle classes pickle
as their constructor arguments, so each process builds its own engine. The
oracle runs on the CPU only, so on GPUs the prediction is moved to the CPU for
that term (pred.cpu() is differentiable; the gradient flows back to the GPU).

At the end every rank's parameters are compared; the script exits with
status 1 if they differ (they must be identical after each DDP step).

Example:
    PYTHONPATH=build/python /usr/bin/python3 examples/ddp/train_ddp.py --world-size 2 --steps 20
"""
import argparse
import os
import sys
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

import energyloss


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(
        description="Two-process (or more) DistributedDataParallel training with the pair energy "
        "loss and a Lennard-Jones oracle's true energy loss (gloo on the CPU, NCCL on GPUs).")
    parser.add_argument("--world-size", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps (default 20)")
    parser.add_argument("--batch", type=int, default=8,
                        help="systems per step, split over the ranks: a multiple of --world-size "
                        "(default 8)")
    parser.add_argument("--atoms", type=int, default=8, help="atoms per system (default 8)")
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (default 0.05)")
    parser.add_argument("--energy-weight", type=float, default=0.01,
                        help="weight of the true energy loss, >= 0 (0: pair energy loss only; "
                        "default 0.01)")
    parser.add_argument("--backend", choices=["auto", "gloo", "nccl"], default="auto",
                        help="auto: nccl when CUDA is available and energyloss was built with "
                        "its CUDA kernels, else gloo")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("world_size", "steps", "batch", "atoms"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if not args.lr > 0 or args.lr == float("inf"):  # SGD would refuse it in every rank
        parser.error(f"--lr must be a finite number > 0, got {args.lr}")
    if not 0 <= args.energy_weight < float("inf"):  # a negative weight rewards high energies
        parser.error(f"--energy-weight must be a finite number >= 0, got {args.energy_weight}")
    if args.batch % args.world_size:
        parser.error(f"--batch ({args.batch}) must be a multiple of --world-size "
                     f"({args.world_size}), so every rank gets the same share")
    chosen = args.backend
    cuda_kernels = energyloss.cuda_kernels_available()
    if args.backend == "auto":
        args.backend = "nccl" if torch.cuda.is_available() and cuda_kernels else "gloo"
        if torch.cuda.is_available() and not cuda_kernels:
            print("CUDA is available, but this build of energyloss has no CUDA kernels: "
                  "backend gloo, on the CPU", flush=True)
    if args.backend == "nccl" and torch.cuda.device_count() == 0:
        parser.error("--backend nccl needs GPUs, and none is visible (torch.cuda.device_count() "
                     "is 0); use --backend gloo to train on the CPU")
    if args.backend == "nccl" and not cuda_kernels:  # else every rank fails in its first loss
        parser.error("--backend nccl trains on the GPUs, but this build of energyloss has no "
                     "CUDA kernels; rebuild it with -DENERGYLOSS_WITH_CUDA=ON against a "
                     f"CUDA-enabled PyTorch (cmake -DTorch_DIR=\"$({sys.executable} -c 'import torch; "
                     "print(torch.utils.cmake_prefix_path)')/Torch\"), or use --backend gloo "
                     "to train on the CPU")
    if args.backend == "nccl" and torch.cuda.device_count() < args.world_size:
        picked = " (nccl: CUDA is available)" if chosen == "auto" else ""
        parser.error(f"--backend {chosen}{picked} needs one GPU per rank: "
                     f"{torch.cuda.device_count()} visible for "
                     f"--world-size {args.world_size}; pass --world-size "
                     f"{torch.cuda.device_count()}, or --backend gloo to train on the CPU")
    return args


def clusters(batch, atoms, seed):
    """(noisy inputs, references) [batch, atoms, 3]: atoms on a jittered simple
    cubic lattice of spacing 1.12 (the LJ pair minimum), noise 0.05."""
    g = torch.Generator().manual_seed(seed)
    side = round(atoms ** (1 / 3) + 0.5)
    grid = torch.stack(torch.meshgrid(*[torch.arange(side)] * 3, indexing="ij"), -1)
    sites = 1.12 * grid.reshape(-1, 3)[:atoms].to(torch.float64)
    ref = sites + 0.03 * torch.randn(batch, atoms, 3, generator=g, dtype=torch.float64)
    noisy = ref + 0.05 * torch.randn(batch, atoms, 3, generator=g, dtype=torch.float64)
    return noisy, ref


class Denoiser(torch.nn.Module):
    """pred = x + MLP(x - centroid), atom by atom."""

    def __init__(self, hidden=16):
        super().__init__()
        self.mlp = torch.nn.Sequential(torch.nn.Linear(3, hidden), torch.nn.Tanh(),
                                       torch.nn.Linear(hidden, 3))
        torch.nn.init.zeros_(self.mlp[2].weight)  # start at pred = x
        torch.nn.init.zeros_(self.mlp[2].bias)

    def forward(self, x):
        return x + self.mlp(x - x.mean(dim=1, keepdim=True))


def loss_function(pred, ref, oracle, energy_weight):
    """Pair energy loss (mean over systems) + energy_weight x the true energy
    loss (E(pred) - E(ref)) / T with T = 1 (mean over systems). Both are
    means over this rank's systems, so DDP's gradient average over equal
    shares is the gradient of the whole batch's mean."""
    loss = energyloss.pair_energy_loss(pred, ref, reduction="mean")
    if energy_weight:
        # The oracle is CPU-only: a GPU prediction goes through .cpu().
        energy = energyloss.true_energy_loss(oracle, pred.cpu(), ref.cpu(), 1.0, reduction="mean")
        loss = loss + energy_weight * energy.to(loss.device)
    return loss


def worker(rank, args, store, oracle):
    dist.init_process_group(args.backend, init_method=f"file://{store}", rank=rank,
                            world_size=args.world_size)
    device = torch.device(f"cuda:{rank}") if args.backend == "nccl" else torch.device("cpu")
    torch.manual_seed(args.seed)  # the same start everywhere (DDP also broadcasts rank 0's)
    model = Denoiser().to(device=device, dtype=torch.float64)
    ddp = DistributedDataParallel(model, device_ids=[rank] if device.type == "cuda" else None)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=args.lr)
    # One fixed batch (the same on every rank), of which each rank takes its share.
    noisy, ref = clusters(args.batch, args.atoms, args.seed)
    share = args.batch // args.world_size
    mine = slice(rank * share, (rank + 1) * share)
    noisy, ref = noisy[mine].to(device), ref[mine].to(device)
    for step in range(args.steps):
        optimizer.zero_grad()
        loss = loss_function(ddp(noisy), ref, oracle, args.energy_weight)
        loss.backward()  # DDP averages the gradients over the ranks here
        optimizer.step()
        total = loss.detach().clone()
        dist.all_reduce(total)
        if rank == 0 and (step == 0 or step == args.steps - 1 or (step + 1) % 10 == 0):
            print(f"step {step + 1:4d}  loss (mean over ranks) {total.item() / args.world_size:.6g}",
                  flush=True)
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    largest, smallest = flat.clone(), flat.clone()
    dist.all_reduce(largest, op=dist.ReduceOp.MAX)
    dist.all_reduce(smallest, op=dist.ReduceOp.MIN)
    spread = (largest - smallest).abs().max().item()
    dist.destroy_process_group()
    if rank == 0:
        ranks = "1 rank" if args.world_size == 1 else f"the {args.world_size} ranks"
        print(f"parameters after {args.steps} steps: largest difference across "
              f"{ranks} {spread:.3g}")
    if spread != 0:
        print(f"rank {rank}: parameters differ across ranks by {spread:.3g}", file=sys.stderr)
        sys.exit(1)


def main(argv=None):
    args = parse_arguments(argv)
    oracle = energyloss.LennardJonesOracle(args.atoms)
    processes = "1 process" if args.world_size == 1 else f"{args.world_size} processes"
    print(f"DistributedDataParallel: {processes}, backend {args.backend}, "
          f"{args.batch} systems of {args.atoms} atoms per step, oracle {oracle}", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        mp.spawn(worker, args=(args, os.path.join(scratch, "store"), oracle),
                 nprocs=args.world_size, join=True)


if __name__ == "__main__":
    main()
