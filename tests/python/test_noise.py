"""energyloss.seeded_normal / torch.ops.energyloss.seeded_normal against an
independent pure-Python Philox4x32-10 + Box-Muller, its statistics, its
determinism, and its use inside TorchScript (script, save, load elsewhere)."""
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.stats
import torch

import energyloss

MASK = 0xFFFFFFFF


def philox4x32_10(counter, key):
    """Philox4x32-10 written out from Salmon et al. (SC'11), Random123's constants."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for round_ in range(10):
        if round_:
            k0, k1 = (k0 + 0x9E3779B9) & MASK, (k1 + 0xBB67AE85) & MASK
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0, p1 & MASK, (p0 >> 32) ^ c3 ^ k1, p0 & MASK)
    return c0, c1, c2, c3


def reference_normals(seed, count):
    """Element i: block i // 4, counter (block, block >> 32, 0, 0), key the seed's
    two 32-bit halves; Box-Muller on words (0, 1) and (2, 3)."""
    seed &= (1 << 64) - 1
    out = []
    for block in range((count + 3) // 4):
        words = philox4x32_10((block & MASK, block >> 32, 0, 0), (seed & MASK, seed >> 32))
        for pair in range(2):
            u1 = (words[2 * pair] + 0.5) / 2.0**32
            u2 = (words[2 * pair + 1] + 0.5) / 2.0**32
            radius = math.sqrt(-2.0 * math.log(u1))
            out += [radius * math.cos(2 * math.pi * u2), radius * math.sin(2 * math.pi * u2)]
    return torch.tensor(out[:count], dtype=torch.float64)


def test_reference_philox_reproduces_random123_known_answers():
    assert philox4x32_10((0, 0, 0, 0), (0, 0)) == (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)
    assert philox4x32_10((MASK,) * 4, (MASK, MASK)) == (0x408F276D, 0x41C83B0E, 0xA20BC7C6,
                                                        0x6D5451FD)
    assert philox4x32_10((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
                         (0xA4093822, 0x299F31D0)) == (0xD16CFE09, 0x94FDCCEB, 0x5001E420,
                                                       0x24126EA1)


@pytest.mark.parametrize("seed", [0, 1, 12345, -1, -(2**63), 2**63 - 1, 0x299F31D0A4093822])
def test_values_equal_the_independent_python_computation(seed):
    got = energyloss.seeded_normal([3, 7], seed)
    assert got.dtype == torch.float64 and got.shape == (3, 7)
    expected = reference_normals(seed, 21)
    # Same formula and the same libm: equal to the last bit.
    assert torch.equal(got.flatten(), expected), (got.flatten() - expected).abs().max()
    single = energyloss.seeded_normal([21], seed, dtype=torch.float32)
    assert single.dtype == torch.float32 and torch.equal(single, expected.to(torch.float32))


def test_moments_and_ks_test_look_standard_normal():
    values = energyloss.seeded_normal([400, 500], 2026).flatten().numpy()
    n = values.size
    assert abs(values.mean()) < 5 / math.sqrt(n)
    assert abs(values.var() - 1) < 5 * math.sqrt(2 / n)
    assert abs(scipy.stats.skew(values)) < 5 * math.sqrt(6 / n)
    assert abs(scipy.stats.kurtosis(values)) < 5 * math.sqrt(24 / n)
    for seed in (0, 1, 99):
        sample = energyloss.seeded_normal([20000], seed).numpy()
        assert scipy.stats.kstest(sample, "norm").pvalue > 1e-3, seed
    # Neighbours (the cos/sin partners of one Box-Muller pair) are uncorrelated.
    pairs = values[: n // 2 * 2].reshape(-1, 2)
    assert abs(np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1]) < 5 / math.sqrt(n / 2)


def test_same_seed_same_values_different_seeds_differ():
    a = energyloss.seeded_normal([50, 3], 5)
    assert torch.equal(a, energyloss.seeded_normal([50, 3], 5))
    assert torch.equal(a, torch.ops.energyloss.seeded_normal([50, 3], 5, torch.float64))
    torch.manual_seed(0)
    assert torch.equal(a, energyloss.seeded_normal((50, 3), 5))  # global RNG irrelevant
    others = [energyloss.seeded_normal([50, 3], s) for s in (4, 6, 5 + 2**32, -5)]
    for other in others:
        assert not torch.isclose(a, other).any()
    corr = np.corrcoef(a.flatten().numpy(), others[0].flatten().numpy())[0, 1]
    assert abs(corr) < 0.3


def test_element_depends_only_on_seed_and_flat_index():
    long = energyloss.seeded_normal([1000], 3)
    for shape in ([7], [2, 3], [4, 1, 5], [10, 10, 3], [999], [0, 4]):
        got = energyloss.seeded_normal(shape, 3)
        assert list(got.shape) == shape
        count = got.numel()
        assert torch.equal(got.flatten(), long[:count]), shape
    assert energyloss.seeded_normal([], 3).shape == () and energyloss.seeded_normal([], 3) == long[0]
    assert torch.equal(energyloss.seeded_normal(5, 3), long[:5])  # an int is a 1-d shape
    assert torch.ops.energyloss.seeded_normal([4], 3).dtype == torch.float64  # default dtype


def test_thread_count_does_not_change_values():
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = energyloss.seeded_normal([100003], 8)
        torch.set_num_threads(2)
        two = energyloss.seeded_normal([100003], 8)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, two)


@pytest.mark.parametrize("call, message", [
    (lambda: energyloss.seeded_normal([3, -2], 0), r"shape\[1\] is -2; sizes must be >= 0"),
    (lambda: energyloss.seeded_normal([2], 0, dtype=torch.int64),
     "dtype must be torch.float32 or torch.float64, got Long"),
    (lambda: energyloss.seeded_normal([2], 0, dtype=torch.float16),
     "dtype must be torch.float32 or torch.float64, got Half"),
    (lambda: energyloss.seeded_normal([2], 0, dtype="float64"),
     "dtype must be torch.float32 or torch.float64, got 'float64'"),
    (lambda: torch.ops.energyloss.seeded_normal([-1], 0), r"shape\[0\] is -1"),
    (lambda: energyloss.seeded_normal([2**40, 2**40], 0), "more than 2\\^63 - 1 elements"),
])
def test_bad_arguments_raise_value_error_naming_them(call, message):
    with pytest.raises(ValueError, match=message):
        call()


class NoisyStructure(torch.nn.Module):
    """A generator in the protocol's shape: reference plus seeded noise."""
    n_atoms: int
    length_unit: str

    def __init__(self, reference):
        super().__init__()
        self.reference = reference
        self.n_atoms = reference.shape[0]
        self.length_unit = "nm"

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        noise = torch.ops.energyloss.seeded_normal([n, self.n_atoms, 3], seed, torch.float64)
        return self.reference + 0.1 * noise

    @torch.jit.export
    def through_wrapper(self, n: int, seed: int) -> torch.Tensor:
        return energyloss.seeded_normal([n, self.n_atoms, 3], seed, torch.float32)


def run_python(code, tmp_path):
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=tmp_path,
                          capture_output=True, text=True)


def test_scripted_saved_and_loaded_in_a_fresh_process(tmp_path):
    reference = torch.arange(12, dtype=torch.float64).reshape(4, 3)
    module = torch.jit.script(NoisyStructure(reference))
    expected = reference + 0.1 * reference_normals(9, 2 * 4 * 3).reshape(2, 4, 3)
    assert torch.equal(module.sample(2, 9), expected)
    assert torch.equal(module.through_wrapper(2, 9), expected.sub(reference).div(0.1).float())
    path = tmp_path / "gen.pt"
    torch.jit.save(module, str(path))
    torch.save(expected, str(tmp_path / "expected.pt"))
    # A fresh process: importing energyloss registers the op, then load and sample.
    done = run_python(f"""
        import torch, energyloss
        module = torch.jit.load({str(path)!r})
        expected = torch.load({str(tmp_path / "expected.pt")!r})
        assert torch.equal(module.sample(2, 9), expected)
        assert not torch.equal(module.sample(2, 10), expected)
        assert torch.equal(module.through_wrapper(1, 9)[0].double(),
                           ((expected[0] - module.reference) / 0.1).float().double())
        generator = energyloss.Generator({str(path)!r})   # the C++ loader
        assert torch.equal(generator.sample(2, 9), expected)
        print("ok")
        """, tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    # Without the op library the load fails and names the op.
    missing = run_python(f"""
        import torch
        torch.jit.load({str(path)!r})
        """, tmp_path)
    assert missing.returncode != 0 and "energyloss::seeded_normal" in missing.stderr
