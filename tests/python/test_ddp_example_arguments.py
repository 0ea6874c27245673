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
