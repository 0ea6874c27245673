"""energyloss.generative: the sampler against closed-form denoisers, the
training loop, and the TorchScript export through energyloss.Generator."""
import subprocess
import sys

import pytest
import torch

import energyloss
from energyloss.generative import (AncestralSampler, Batch, GraphDenoiser, centre,
                                   export_generator, sample, schedule, train)


def polynomial_schedule(t):
    """alpha, sigma of the polynomial schedule, from the op (float32)."""
    alpha, sigma = energyloss.noise_schedule(t.double(), "polynomial")
    return alpha.float(), sigma.float()


class PointMassDenoiser(torch.nn.Module):
    """The exact eps for data that is one configuration x*: eps = (x_t -
    alpha x*)/sigma, so every x0 estimate is x* itself."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def forward(self, x_t, t, types=None, pairs=None, mask=None):
        alpha, sigma = polynomial_schedule(t)
        return (x_t - alpha[:, None, None] * self.target) / sigma[:, None, None]


class GaussianDenoiser(torch.nn.Module):
    """The exact eps for centred Gaussian data of variance s^2 per
    coordinate: E[eps | x_t] = sigma x_t / (alpha^2 s^2 + sigma^2)."""

    def __init__(self, s):
        super().__init__()
        self.s = s

    def forward(self, x_t, t, types=None, pairs=None, mask=None):
        alpha, sigma = polynomial_schedule(t)
        scale = sigma / (alpha ** 2 * self.s ** 2 + sigma ** 2)
        return scale[:, None, None] * x_t


def test_sampler_returns_the_point_mass():
    target = centre(torch.randn(1, 5, 3))
    noise = torch.randn(50, 4, 5, 3)
    x = AncestralSampler(PointMassDenoiser(target), 50, clip=10.0)(noise, None, None, None)
    assert torch.allclose(x, target.expand(4, -1, -1), atol=1e-4)


def test_sampler_reproduces_a_gaussian_data_variance():
    s, atoms, count = 0.7, 4, 4000
    x = sample(GaussianDenoiser(s), Batch(torch.zeros(count, atoms, 3), None, None), seed=3,
               clip=100.0, steps=200)
    # Centred over 4 atoms: each coordinate keeps (N - 1)/N of the variance.
    variance = x.var(dim=0).mean()
    assert abs(float(variance) - s ** 2 * (atoms - 1) / atoms) < 0.05 * s ** 2
    assert torch.allclose(x.mean(dim=1), torch.zeros(count, 3), atol=1e-5)


def test_sample_is_a_function_of_the_seed():
    model = GaussianDenoiser(1.0)
    batch = Batch(torch.zeros(3, 6, 3), None, None)
    first, again = sample(model, batch, 11, 5.0, 20), sample(model, batch, 11, 5.0, 20)
    other = sample(model, batch, 12, 5.0, 20)
    assert torch.equal(first, again)
    assert not torch.allclose(first, other)


def test_sampler_rejects_bad_settings():
    with pytest.raises(ValueError, match="steps must be >= 1"):
        AncestralSampler(GaussianDenoiser(1.0), 0, 1.0)
    with pytest.raises(ValueError, match="clip must be > 0"):
        AncestralSampler(GaussianDenoiser(1.0), 10, 0.0)


def single_system(atoms=6, features=4):
    types = torch.arange(atoms)
    pairs = torch.zeros(atoms, atoms, features)
    pairs[torch.arange(atoms - 1), torch.arange(1, atoms), 0] = 1  # a chain of bonds
    pairs[torch.arange(1, atoms), torch.arange(atoms - 1), 0] = 1
    return types, pairs


@pytest.mark.parametrize("loss_name", ["mse", "energy"])
def test_training_lowers_the_loss(loss_name):
    torch.manual_seed(0)
    types, pairs = single_system()
    data = centre(torch.randn(1, 6, 3)).expand(32, -1, -1)
    model = GraphDenoiser(6, 4, [0], width=16, layers=2)

    def draw(generator):
        return Batch(data, torch.ones(32, 6, dtype=torch.bool),
                     {"types": types[None].expand(32, -1), "pairs": pairs[None].expand(32, -1, -1, -1)})

    def loss(pred, batch):
        if loss_name == "mse":
            return energyloss.mse_loss(pred, batch.x0, reduction="none")
        return energyloss.pair_energy_loss(pred, batch.x0, reduction="none")

    share, curve = train(model, draw, loss, 400, seed=0, lr=3e-3)
    assert 0 < share < 1
    assert [s for s, _ in curve] == [100, 200, 300, 400]
    assert curve[-1][1] < 0.8 * curve[0][1], curve


def test_training_passes_the_noise_levels_to_the_loss():
    """The loss sees t, alpha and sigma [B] of the step in batch.context (what
    ForceFieldEnergyLoss's threshold reads), consistent with the schedule."""
    types, pairs = single_system()
    data = centre(torch.randn(1, 6, 3)).expand(8, -1, -1)
    model = GraphDenoiser(6, 4, [0], width=8, layers=1)
    seen = []

    def draw(generator):
        return Batch(data, torch.ones(8, 6, dtype=torch.bool),
                     {"types": types[None].expand(8, -1),
                      "pairs": pairs[None].expand(8, -1, -1, -1)})

    def loss(pred, batch):
        seen.append({key: batch.context[key] for key in ("t", "alpha", "sigma")})
        return energyloss.mse_loss(pred, batch.x0, reduction="none")

    train(model, draw, loss, 3, seed=0)
    assert len(seen) == 3
    for levels in seen:
        assert levels["t"].shape == (8,)
        alpha, sigma = schedule(levels["t"])
        torch.testing.assert_close(levels["alpha"], alpha)
        torch.testing.assert_close(levels["sigma"], sigma)
    assert not torch.equal(seen[0]["t"], seen[1]["t"])


def test_exported_generator_matches_the_python_sampler(tmp_path):
    torch.manual_seed(1)
    types, pairs = single_system()
    model = GraphDenoiser(6, 4, [0], width=16, layers=2).eval()
    path = tmp_path / "chain.pt"
    generator = export_generator(path, model, types, pairs, scale=1.5, length_unit="angstrom",
                                 elements=["C"] * 6, sampling_steps=15, clip=3.0)
    assert (generator.n_atoms, generator.length_unit, generator.elements) == (6, "angstrom",
                                                                              ["C"] * 6)
    # The Python sampler on the same conditioning and seed, scaled by hand.
    batch = Batch(torch.zeros(4, 6, 3), torch.ones(4, 6, dtype=torch.bool),
                  {"types": types[None].expand(4, -1), "pairs": pairs[None].expand(4, -1, -1, -1)})
    expected = sample(model, batch, seed=9, clip=3.0, steps=15).double() * 1.5
    got = generator.sample(4, seed=9)
    assert torch.allclose(got, expected, atol=1e-5)
    assert torch.allclose(generator.sample(4, seed=9, length_unit="nm"), expected / 10, atol=1e-6)
    # Another process gets the same samples for the same seed.
    code = ("import sys, torch; sys.path.insert(0, sys.argv[2]); import energyloss; "
            "g = energyloss.Generator(sys.argv[1]); print(repr(g.sample(4, seed=9).sum().item()))")
    package = energyloss.__file__.rsplit("/energyloss/", 1)[0]
    out = subprocess.run([sys.executable, "-c", code, str(path), package], check=True,
                         capture_output=True, text=True).stdout
    assert abs(float(out) - float(got.sum())) < 1e-9


def test_export_rejects_bad_arguments(tmp_path):
    types, pairs = single_system()
    model = GraphDenoiser(6, 4, [0], width=8, layers=1)
    with pytest.raises(ValueError, match="length_unit must be"):
        export_generator(tmp_path / "a.pt", model, types, pairs, 1.0, "furlong")
    with pytest.raises(ValueError, match="2 elements for 6 atoms"):
        export_generator(tmp_path / "b.pt", model, types, pairs, 1.0, "nm", elements=["C", "H"])
