"""scripts/gpu-check.sh's command line and its preflight on a machine without
a CUDA torch (issue 16). The GPU run itself needs a GPU; here: bad arguments
exit with status 2 naming the argument, and the run against Debian's torch
(always a CPU-only build) stops at step 1 with the reason in its summary,
and with $OUT set leaves there only summary.txt and the bundle of the logs."""
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("ENERGYLOSS_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SCRIPT = SOURCE_DIR / "scripts" / "gpu-check.sh"


def run(*args, env=None):
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          env=env)


def test_help_names_every_option():
    result = run("--help")
    assert result.returncode == 0, result.stderr
    for option in ("-B DIR", "--python PY", "--deps DIR", "--time-limit S", "--stage-deps",
                   "--no-bench", "--no-ddp", "--no-sanitizer"):
        assert option in result.stdout, option


@pytest.mark.parametrize("args, message", [
    (("--bogus",), "unknown argument '--bogus'"),
    (("--time-limit", "10m"), "--time-limit takes whole seconds, got '10m'"),
    (("--time-limit", ""), "--time-limit takes whole seconds, got ''"),
    (("-B", "build"), "-B build would reconfigure the main build"),
    (("-B", "./build/"), "-B ./build/ would reconfigure the main build"),
    (("-B", str(SOURCE_DIR / "build")), "would reconfigure the main build"),
    (("-B",), "-B needs a value"),
    (("--python",), "--python needs a value"),
    (("--time-limit",), "--time-limit needs a value"),
    (("--deps", "/nonexistent/deps"), "--deps /nonexistent/deps holds no deps.cmake"),
])
def test_bad_arguments_exit_2_naming_them(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_cpu_only_torch_stops_at_the_preflight(tmp_path):
    env = dict(os.environ, OUT=str(tmp_path / "out"))
    result = run("--python", "/usr/bin/python3", "-B", str(tmp_path / "build-gpu"), env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    summary = (tmp_path / "out" / "summary.txt").read_text()
    lines = summary.splitlines()
    assert lines[0].startswith("1 preflight") and "FAIL" in lines[0], summary
    assert lines[-1].endswith("SOME STEPS FAILED"), summary
    assert not any(line.startswith("2 configure") for line in lines), summary
    # $OUT holds the summary and the bundle of the logs only (a few files come back).
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["logs.tar.gz", "summary.txt"]
    with tarfile.open(tmp_path / "out" / "logs.tar.gz") as bundle:
        log = bundle.extractfile("./preflight.log").read().decode()
    assert "this torch is a CPU-only build" in log, log
    assert not (tmp_path / "build-gpu" / "CMakeCache.txt").exists()


def test_a_python_without_torch_is_named(tmp_path):
    python = tmp_path / "python-without-torch"
    python.write_text("#!/bin/sh\nexec /usr/bin/python3 -S \"$@\"\n")  # -S: no dist-packages
    python.chmod(0o755)
    env = dict(os.environ, OUT=str(tmp_path / "out"))
    result = run("--python", str(python), "-B", str(tmp_path / "build-gpu"), env=env)
    assert result.returncode == 1
    with tarfile.open(tmp_path / "out" / "logs.tar.gz") as bundle:
        log = bundle.extractfile("./preflight.log").read().decode()
    assert "cannot import torch" in log and "pass --python PY" in log, log


def _python_with_a_stand_in_gpu(tmp_path, capability):
    """A python3 whose (Debian, CPU-only) torch reports a CUDA device of
    `capability`, so the script gets past the preflight to the configure."""
    site = tmp_path / "stand-in-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import torch\n"
        "torch.cuda.is_available = lambda: True\n"
        "torch.cuda.get_device_name = lambda *args: 'stand-in GPU'\n"
        f"torch.cuda.get_device_capability = lambda *args: {capability!r}\n")
    python = tmp_path / "python3"
    python.write_text(f"#!/bin/sh\nPYTHONPATH={site}${{PYTHONPATH:+:$PYTHONPATH}} "
                      "exec /usr/bin/python3 \"$@\"\n")
    python.chmod(0o755)
    return python


@pytest.mark.parametrize("environment, expected", [({}, "9.0"),
                                                    ({"TORCH_CUDA_ARCH_LIST": "8.0 9.0"},
                                                     "8.0 9.0")])
def test_configure_names_the_gpus_architecture_for_torchs_cmake(tmp_path, environment, expected):
    """Torch's CMake package puts -gencode flags for TORCH_CUDA_ARCH_LIST into
    CMAKE_CUDA_FLAGS; unset, it probes the GPU and on failure falls back to
    architectures nvcc 13 no longer builds. The script passes the device's
    capability, or the environment's list. (Debian's torch is CPU-only, so
    the configure then stops: no CUDA kernels for the pair ops.)"""
    python = _python_with_a_stand_in_gpu(tmp_path, (9, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("TORCH_CUDA_ARCH_LIST", "OUT")}
    env.update(environment)
    build = tmp_path / "build-gpu"
    result = subprocess.run([str(SCRIPT), "--python", str(python), "-B", str(build), "--no-bench",
                             "--no-ddp", "--no-sanitizer"], capture_output=True, text=True,
                            timeout=600, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    summary = (build / "gpu-check" / "summary.txt").read_text()
    assert summary.startswith("1 preflight") and "PASS" in summary.splitlines()[0], summary
    cache = (build / "CMakeCache.txt").read_text().splitlines()
    assert [line.split("=", 1)[1] for line in cache
            if line.startswith("TORCH_CUDA_ARCH_LIST:")] == [expected], summary
