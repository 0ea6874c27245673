"""Loads the compiled energyloss ops into torch.ops.energyloss (once)."""
import os

import torch

_loaded = False


def load():
    """Load libenergyloss_torch.so; ENERGYLOSS_TORCH_LIBRARY overrides its path."""
    global _loaded
    if _loaded:
        return
    path = os.environ.get("ENERGYLOSS_TORCH_LIBRARY")
    if not path:
        from . import _paths

        path = _paths.TORCH_LIBRARY
    if not os.path.exists(path):
        raise ImportError(
            f"energyloss: compiled ops not found at {path}; build the project "
            "or set ENERGYLOSS_TORCH_LIBRARY to libenergyloss_torch.so")
    torch.ops.load_library(path)
    _loaded = True


load()
ops = torch.ops.energyloss
