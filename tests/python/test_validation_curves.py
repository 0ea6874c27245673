"""Validation curves (issue 13, "evaluate fairly"): energyloss.generative's
held_out_set / validation_losses and train's validate callback, checked
against computations by hand, and small_molecules.py's curves.csv (rows,
the common eps-MSE at step 0 recomputed from scratch, the plot)."""
import csv
import os
import subprocess
import sys

import pytest
import torch

import energyloss
from energyloss.generative import (Batch, GraphDenoiser, centre, held_out_set, schedule, train,
                                   validation_losses)

SOURCE_DIR = os.environ.get(
    "ENERGYLOSS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
MOLECULES = os.path.join(SOURCE_DIR, "examples", "molecules")
SCRIPT = os.path.join(MOLECULES, "small_molecules.py")


def padded_batch(count=5, atoms=6, features=4, seed=0):
    """``count`` chain molecules of 4..``atoms`` atoms, padded to ``atoms``."""
    generator = torch.Generator().manual_seed(seed)
    mask = torch.zeros(count, atoms, dtype=torch.bool)
    for b in range(count):
        mask[b, :4 + b % (atoms - 3)] = True
    x0 = centre(torch.randn(count, atoms, 3, generator=generator), mask)
    pairs = torch.zeros(count, atoms, atoms, features)
    pairs[:, torch.arange(atoms - 1), torch.arange(1, atoms), 0] = 1
    pairs[:, torch.arange(1, atoms), torch.arange(atoms - 1), 0] = 1
    pairs = pairs * (mask[:, :, None] & mask[:, None])[..., None]
    types = torch.arange(atoms).repeat(count, 1) * mask
    return Batch(x0, mask, {"types": types, "pairs": pairs, "name": "kept"})


def eps_mse_by_hand(model, held_out):
    """Entry by entry, real atoms only, no chunking: mean_b |eps_hat - eps|^2 / (3 n_b)."""
    total = 0.0
    batch = held_out.batch
    for b in range(len(held_out.x_t)):
        n = int(batch.mask[b].sum())
        with torch.no_grad():
            eps_hat = model(held_out.x_t[b:b + 1], batch.context["t"][b:b + 1],
                            batch.context["types"][b:b + 1], batch.context["pairs"][b:b + 1],
                            batch.mask[b:b + 1])[0]
        total += float(((eps_hat[:n] - held_out.eps[b, :n]) ** 2).mean())
    return total / len(held_out.x_t)


def test_held_out_set_is_fixed_noised_and_rotated():
    batch = padded_batch()
    times = [0.9, 0.05, 0.5]
    held = held_out_set(batch, times, seed=7)
    count = len(batch.x0)
    assert held.x_t.shape == (3 * count, 6, 3)
    # time-major layout, schedule levels, conditioning repeated, non-tensors kept
    torch.testing.assert_close(held.batch.context["t"],
                               torch.tensor(times).repeat_interleave(count))
    alpha, sigma = schedule(held.batch.context["t"])
    torch.testing.assert_close(held.batch.context["alpha"], alpha)
    torch.testing.assert_close(held.batch.context["sigma"], sigma)
    assert torch.equal(held.batch.context["pairs"][count:2 * count], batch.context["pairs"])
    assert held.batch.context["name"] == "kept"
    # x_t = alpha x0 + sigma eps, x0 a rotation of the data (distances kept),
    # eps centred over the real atoms, padding zero
    torch.testing.assert_close(held.x_t, alpha[:, None, None] * held.batch.x0 +
                               sigma[:, None, None] * held.eps)
    original = batch.x0.repeat(3, 1, 1)
    torch.testing.assert_close(torch.cdist(held.batch.x0, held.batch.x0),
                               torch.cdist(original, original), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(held.batch.x0, original)
    mask = held.batch.mask
    assert float((held.eps * mask[..., None]).sum(dim=1).abs().max()) < 1e-5
    assert float(held.eps[~mask].abs().max()) == 0
    # a function of the seed
    again = held_out_set(batch, times, seed=7)
    assert torch.equal(again.x_t, held.x_t) and torch.equal(again.eps, held.eps)
    assert not torch.equal(held_out_set(batch, times, seed=8).eps, held.eps)


def test_held_out_set_rejects_bad_times():
    for times in ([], [0.0], [0.5, 1.5]):
        with pytest.raises(ValueError, match="times"):
            held_out_set(padded_batch(), times, seed=0)


def test_validation_losses_match_computations_by_hand():
    torch.manual_seed(3)
    model = GraphDenoiser(6, 4, [0], width=8, layers=2)
    held = held_out_set(padded_batch(), [0.02, 0.3, 0.8], seed=1)

    def mse(pred, batch):
        return energyloss.mse_loss(pred, batch.x0, batch.mask, reduction="none")

    seen = []

    def energy(pred, batch):
        seen.append(len(pred))
        return energyloss.pair_energy_loss(pred, batch.x0, batch.mask, reduction="none")

    scores = validation_losses(model, held, mse, chunk=4)  # 15 entries: chunks 4, 4, 4, 3
    assert scores["eps_mse"] == pytest.approx(eps_mse_by_hand(model, held), rel=1e-5)
    # The MSE loss's weighted objective is the eps-MSE (alpha^2/sigma^2 |x0_hat - x0|^2).
    assert scores["loss"] == pytest.approx(scores["eps_mse"], rel=1e-4)
    # Another loss: its weighted value, entry by entry, averaged.
    own = validation_losses(model, held, energy, chunk=4)
    assert seen == [4, 4, 4, 3]
    with torch.no_grad():
        eps_hat = model(held.x_t, held.batch.context["t"], held.batch.context["types"],
                        held.batch.context["pairs"], held.batch.mask)
        alpha, sigma = held.batch.context["alpha"], held.batch.context["sigma"]
        x0_hat = (held.x_t - sigma[:, None, None] * eps_hat) / alpha[:, None, None]
        by_hand = (alpha ** 2 / sigma ** 2 * energyloss.pair_energy_loss(
            x0_hat, held.batch.x0, held.batch.mask, reduction="none")).mean()
    assert own["loss"] == pytest.approx(float(by_hand), rel=1e-4)
    assert own["eps_mse"] == pytest.approx(scores["eps_mse"], rel=1e-6)
    assert validation_losses(model, held)["loss"] is None


def test_train_validates_at_fixed_steps_without_changing_training():
    data = padded_batch(count=8)
    held = held_out_set(padded_batch(count=3, seed=1), [0.1, 0.6], seed=2)

    def draw(generator):
        index = torch.randint(len(data.x0), (4,), generator=generator)
        return Batch(data.x0[index], data.mask[index],
                     {key: data.context[key][index] for key in ("types", "pairs")})

    def loss(pred, batch):
        return energyloss.mse_loss(pred, batch.x0, batch.mask, reduction="none")

    def fresh():
        torch.manual_seed(0)
        return GraphDenoiser(6, 4, [0], width=8, layers=1)

    plain_model = fresh()
    _, plain_curve = train(plain_model, draw, loss, 230, seed=0, lr=1e-3)
    points = []

    def validate(step, model):
        points.append((step, validation_losses(model, held, loss)["eps_mse"]))

    model = fresh()
    _, curve = train(model, draw, loss, 230, seed=0, lr=1e-3, validate=validate,
                     validate_every=100)
    assert [s for s, _ in points] == [0, 100, 200, 230]
    assert curve == plain_curve  # the callback draws nothing from training's streams
    for a, b in zip(model.parameters(), plain_model.parameters()):
        assert torch.equal(a, b)
    assert points[-1][1] == pytest.approx(eps_mse_by_hand(model, held), rel=1e-5)
    assert points[0][1] == pytest.approx(eps_mse_by_hand(fresh(), held), rel=1e-5)
    with pytest.raises(ValueError, match="validate_every"):
        train(fresh(), draw, loss, 2, seed=0, validate=validate, validate_every=0)


def run_script(tmp_path, *arguments):
    pytest.importorskip("rdkit")
    return subprocess.run([sys.executable, SCRIPT, "--quick", "--molecules", "8", "--steps", "12",
                           "--sampling-steps", "3", "--width", "16", "--layers", "2",
                           "--output", str(tmp_path), *arguments],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(not os.path.isdir("/usr/share/chemical-structures"),
                    reason="Debian's chemical-structures-data is not installed")
def test_small_molecules_writes_validation_curves(tmp_path):
    result = run_script(tmp_path, "--losses", "mse", "energy", "--seeds", "2",
                        "--validate-every", "5")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "curves.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["loss", "fraction", "seed", "lr", "step", "train_loss",
                             "val_eps_mse", "val_loss"]
    runs = sorted({(r["loss"], int(r["seed"])) for r in rows})
    assert runs == [("energy", 0), ("energy", 1), ("mse", 0), ("mse", 1)]
    for loss, seed in runs:
        steps = [int(r["step"]) for r in rows if (r["loss"], int(r["seed"])) == (loss, seed)]
        assert steps == [0, 5, 10, 12]
    by = {(r["loss"], int(r["seed"]), int(r["step"])): r for r in rows}
    # Step 0: the same initial model (per seed) on the same held-out set for every loss.
    for seed in (0, 1):
        assert by[("mse", seed, 0)]["val_eps_mse"] == by[("energy", seed, 0)]["val_eps_mse"]
    # The MSE run's own loss is the eps-MSE; the energy run's is another number.
    for step in (0, 5, 10, 12):
        mse_row = by[("mse", 0, step)]
        assert float(mse_row["val_loss"]) == pytest.approx(float(mse_row["val_eps_mse"]),
                                                           rel=1e-4)
    assert float(by[("energy", 0, 12)]["val_loss"]) != pytest.approx(
        float(by[("energy", 0, 12)]["val_eps_mse"]), rel=1e-2)
    # Training loss: empty at step 0, the 12-step window's mean at the end.
    assert by[("mse", 0, 0)]["train_loss"] == ""
    assert float(by[("mse", 0, 12)]["train_loss"]) > 0
    with open(tmp_path / "runs.csv") as handle:
        for run in csv.DictReader(handle):
            last = by[(run["loss"], int(run["seed"]), 12)]
            assert float(run["val_eps_mse"]) == pytest.approx(float(last["val_eps_mse"]))
            assert float(run["lr"]) == 1e-3
    assert (tmp_path / "curves.png").stat().st_size > 0

    # Without validation: no curves, and the same trained model and metrics.
    plain = tmp_path / "plain"
    result = run_script(plain, "--losses", "mse", "--validate-every", "0")
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (plain / "curves.csv").exists()
    with open(plain / "runs.csv") as handle:
        unvalidated = next(csv.DictReader(handle))
    with open(tmp_path / "runs.csv") as handle:
        validated = next(r for r in csv.DictReader(handle)
                         if (r["loss"], r["seed"]) == ("mse", "0"))
    for column in ("atom_stable", "molecule_stable", "bond_w1", "angle_w1", "energy_excess",
                   "energy_excess_minimised", "matching"):
        assert unvalidated[column] == validated[column], column
    assert unvalidated["val_eps_mse"] == "nan"

    # Step 0 from scratch: the seeded initial model, the test conformers at
    # the documented noise levels and seed, the eps-MSE entry by entry.
    sys.path.insert(0, MOLECULES)
    try:
        import numpy as np
        import small_molecules as sm
    finally:
        sys.path.remove(MOLECULES)
    records = sm.load_dataset(str(tmp_path), 20, 2, 8)  # --quick: 2 conformers
    order = np.random.default_rng(sm.SPLIT_SEED).permutation(len(records))
    test = sorted(order[:max(1, len(records) // 5)])
    train_molecules = order[max(1, len(records) // 5):]
    scale = float(np.sqrt(np.mean(np.concatenate(
        [records[m]["conformers"].reshape(-1) ** 2 for m in train_molecules]))))
    data = sm.Padded(records, scale)
    conformers = torch.cat([torch.nonzero(data.molecule_of == m).flatten() for m in test])
    held = held_out_set(sm.conditioning(data, conformers), sm.VALIDATION_TIMES,
                        sm.VALIDATION_SEED)
    assert len(held.x_t) == 8 * len(conformers)
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = GraphDenoiser(num_types=len(sm.ELEMENTS), pair_features=sm.PAIR_FEATURES,
                              bonded_features=[1, 2, 3], width=16, layers=2)  # as run_script
        assert float(by[("mse", seed, 0)]["val_eps_mse"]) == pytest.approx(
            eps_mse_by_hand(model, held), rel=1e-5)


@pytest.mark.skipif(not os.path.isdir("/usr/share/chemical-structures"),
                    reason="Debian's chemical-structures-data is not installed")
def test_small_molecules_refuses_a_negative_validation_interval(tmp_path):
    result = run_script(tmp_path, "--losses", "mse", "--validate-every", "-1")
    assert result.returncode != 0
    assert "--validate-every" in result.stderr
