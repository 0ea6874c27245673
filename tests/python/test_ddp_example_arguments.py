"""examples/ddp/train_ddp.py refuses bad arguments by name before any
process starts (argparse's exit status 2 and a message naming the option)."""
import importlib.util
import os
from pathlib import Path

import pytest
import torch

SOURCE_DIR = Path(os.environ.get("ENERGYLOSS_SOURCE_DIR", Path(__file__).resolve().parents[2]))
spec = importlib.util.spec_from_file_location("train_ddp",
                                              SOURCE_DIR / "examples" / "ddp" / "train_ddp.py")
train_ddp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train_ddp)


@pytest.mark.parametrize("argv, message", [
    (["--energy-weight", "nan"], "--energy-weight must be a finite number >= 0, got nan"),
    (["--energy-weight", "inf"], "--energy-weight must be a finite number >= 0, got inf"),
    (["--energy-weight", "-1"], "--energy-weight must be a finite number >= 0, got -1.0"),
    (["--lr", "0"], "--lr must be a finite number > 0, got 0.0"),
    (["--world-size", "3"], "--batch (8) must be a multiple of --world-size (3)"),
    (["--steps", "0"], "--steps must be >= 1, got 0"),
])
def test_bad_arguments_are_named(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_ddp.parse_arguments(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_nccl_without_gpus_says_to_use_gloo(capsys):
    if torch.cuda.device_count():
        pytest.skip("this machine has GPUs (scripts/gpu-check.sh runs NCCL there)")
    with pytest.raises(SystemExit):
        train_ddp.parse_arguments(["--backend", "nccl", "--world-size", "1"])
    err = capsys.readouterr().err
    assert "--backend nccl needs GPUs, and none is visible" in err
    assert "use --backend gloo" in err and "pass --world-size" not in err


def test_good_arguments_pass():
    args = train_ddp.parse_arguments(["--backend", "gloo", "--energy-weight", "0"])
    assert (args.backend, args.energy_weight, args.world_size) == ("gloo", 0.0, 2)


def fake_gpus(monkeypatch, count, cuda_kernels):
    """This process sees `count` GPUs, and energyloss has its CUDA kernels or not."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    monkeypatch.setattr(train_ddp.energyloss, "cuda_kernels_available", lambda: cuda_kernels)


def no_spawn(*args, **kwargs):
    raise AssertionError("mp.spawn must not be reached")


def test_nccl_without_cuda_kernels_is_refused_before_spawning(monkeypatch, capsys):
    """GPUs but a build without the pair ops' CUDA kernels: --backend nccl
    would fail in every rank's first loss, so the parent refuses it."""
    fake_gpus(monkeypatch, 2, cuda_kernels=False)
    monkeypatch.setattr(train_ddp.mp, "spawn", no_spawn)
    with pytest.raises(SystemExit) as exit_info:
        train_ddp.main(["--backend", "nccl", "--steps", "1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "this build of energyloss has no CUDA kernels; rebuild it with " \
           "-DENERGYLOSS_WITH_CUDA=ON against a CUDA-enabled PyTorch" in err
    assert "use --backend gloo" in err


def test_auto_without_cuda_kernels_takes_gloo_and_says_so(monkeypatch, capsys):
    fake_gpus(monkeypatch, 2, cuda_kernels=False)
    args = train_ddp.parse_arguments([])
    assert args.backend == "gloo"
    out = capsys.readouterr().out
    assert out == ("CUDA is available, but this build of energyloss has no CUDA kernels: "
                   "backend gloo, on the CPU\n")


@pytest.mark.parametrize("gpus, cuda_kernels, backend", [
    (2, True, "nccl"),   # the GPU path
    (0, True, "gloo"),   # kernels built, no GPU here
    (0, False, "gloo"),
])
def test_auto_backend(gpus, cuda_kernels, backend, monkeypatch, capsys):
    fake_gpus(monkeypatch, gpus, cuda_kernels)
    assert train_ddp.parse_arguments([]).backend == backend
    assert capsys.readouterr().out == ""
