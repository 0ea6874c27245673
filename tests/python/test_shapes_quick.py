"""Smoke test of the regular-polygon example (bin/shapes + plot_shapes.py).

Runs a tiny sweep and checks the outputs are well formed; the scientific
outcome needs the real sweep (scripts/demo.sh). The quality of the sample
shapes is recomputed here from their vertices with numpy, independently of
the C++ metric.
"""
import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BUILD_DIR = Path(os.environ.get("ENERGYLOSS_BUILD_DIR", "build"))
SOURCE_DIR = Path(os.environ.get("ENERGYLOSS_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BINARY = BUILD_DIR / "bin" / "shapes"
PLOT = SOURCE_DIR / "examples" / "shapes" / "plot_shapes.py"
LOSSES = ["mse", "kabsch", "energy", "energy_sparse"]
COLUMNS = ["loss", "theta_aug", "seed", "quality", "sigma_angle", "sigma_radius",
           "train_seconds", "lr", "final_loss"]

pytestmark = pytest.mark.skipif(not BINARY.exists(),
                                reason=f"{BINARY} not built (ENERGYLOSS_BUILD_EXAMPLES=OFF?)")


def run_shapes(*args):
    return subprocess.run([str(BINARY), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("shapes")
    done = run_shapes("--samples", "300", "--epochs", "2", "--batch", "64", "--test-size", "20",
                      "--thetas", "0,1", "--seeds", "2", "--vertices", "6", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out, done.stdout


def read_csv(path):
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


def test_results_csv_is_well_formed(quick_run):
    out, _ = quick_run
    columns, rows = read_csv(out / "shapes.csv")
    assert columns == COLUMNS
    assert len(rows) == len(LOSSES) * 2 * 2  # losses x thetas x seeds
    assert sorted({row["loss"] for row in rows}) == sorted(LOSSES)
    assert sorted({float(row["theta_aug"]) for row in rows}) == pytest.approx([0.0, math.pi])
    assert {row["seed"] for row in rows} == {"0", "1"}
    for row in rows:
        values = {name: float(row[name]) for name in COLUMNS[3:]}
        assert all(math.isfinite(v) for v in values.values()), row
        assert values["sigma_angle"] >= 0 and values["sigma_radius"] >= 0
        assert values["train_seconds"] >= 0 and values["lr"] > 0 and values["final_loss"] >= 0


def test_progress_lines_and_table(quick_run):
    _, stdout = quick_run
    progress = [line for line in stdout.splitlines() if line.startswith("[")]
    assert len(progress) == 16
    assert all("quality=" in line and "theta_aug=" in line for line in progress)
    header = next(line for line in stdout.splitlines() if line.startswith("theta_aug"))
    assert header.split()[1:] == LOSSES


def numpy_quality(xy):
    """-ln(std(angle gaps)/2pi + std(radius)/mean radius) around the centroid."""
    centred = xy - xy.mean(axis=0)
    angles = np.sort(np.arctan2(centred[:, 1], centred[:, 0]))
    gaps = np.diff(np.append(angles, angles[0] + 2 * np.pi))
    radii = np.linalg.norm(centred, axis=1)
    return -np.log(gaps.std() / (2 * np.pi) + radii.std() / radii.mean())


def test_sample_quality_matches_independent_formula(quick_run):
    out, _ = quick_run
    _, rows = read_csv(out / "shapes_samples.csv")
    shapes = {}
    for row in rows:
        key = (row["loss"], row["theta_aug"], row["seed"], row["radius"])
        shapes.setdefault(key, []).append(row)
    assert len(shapes) == 16 * 3  # runs x sample radii
    for key, vertices in shapes.items():
        assert [int(v["vertex"]) for v in vertices] == list(range(6)), key
        xy = np.array([[float(v["x"]), float(v["y"])] for v in vertices])
        assert np.isfinite(xy).all(), key
        assert float(vertices[0]["quality"]) == pytest.approx(numpy_quality(xy), rel=1e-9), key


def test_quality_of_a_regular_polygon_is_high():
    # Sanity of the numpy reference itself: exact polygon in shuffled order
    # scores high, a perturbed one lower.
    angles = np.random.default_rng(0).permutation(8) * 2 * np.pi / 8 + 0.3
    polygon = np.stack([np.cos(angles), np.sin(angles)], axis=1) + [2.0, -1.0]
    noisy = polygon + np.random.default_rng(1).normal(scale=0.05, size=polygon.shape)
    assert numpy_quality(polygon) > 20
    assert numpy_quality(noisy) < 4


def test_plot_writes_png(quick_run):
    out, _ = quick_run
    done = subprocess.run([sys.executable, str(PLOT), str(out)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    png = (out / "shapes.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


@pytest.mark.parametrize("args, message", [
    (["--losses", "mse,bogus"], "bogus"),
    (["--epochs", "0"], "--epochs"),
    (["--thetas", "0,x"], "--thetas"),
    (["--activation", "tanh"], "--activation"),
    (["--frobnicate"], "--frobnicate"),
])
def test_bad_arguments_fail_with_a_message(tmp_path, args, message):
    done = run_shapes(*args, "--out", str(tmp_path))
    assert done.returncode != 0
    assert message in done.stderr
