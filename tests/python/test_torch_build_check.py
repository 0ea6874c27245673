"""The package refuses a compiled library built for another torch (issue 16).

check_build() is tested on made-up versions and ABIs; the real library's
build record is compared with the running torch; and `import energyloss`
with ENERGYLOSS_TORCH_LIBRARY pointing at a library recorded for another
torch fails before loading it, naming both versions."""
import os
import subprocess
import sys

import pytest
import torch

from energyloss import _library, _paths


# The advice's Torch_DIR argument, with the interpreter's path for {python}.
TORCH_DIR = ("-DTorch_DIR=$({python} -c 'import torch, os; "
             "print(os.path.join(torch.utils.cmake_prefix_path, \"Torch\"))')")


def record_bytes(version, abi):
    return f"energyloss-torch-build: torch {version}; cxx11-abi {abi}\0".encode()


@pytest.mark.parametrize("built, running", [
    ("1.13.0", "1.13.0a0"),         # Debian: CMake's Torch_VERSION vs torch.__version__
    ("2.3.1", "2.3.1+cu121"),       # pip CUDA wheel
    ("2.6.0", "2.6.0.dev20241112"),  # nightly
    ("2.4.0", "2.4.0"),
])
def test_same_release_is_accepted(built, running):
    assert _library.check_build("lib.so", (built, True), running, True) is None
    assert _library.check_build("lib.so", (built, None), running, False) is None


@pytest.mark.parametrize("built, running", [
    ("1.13.0", "2.3.1+cu121"),
    ("2.3.0", "2.3.1"),    # patch releases too: LibTorch promises no C++ ABI across them
    ("2.3.1", "2.4.1"),
])
def test_other_version_is_refused_naming_both(built, running):
    with pytest.raises(ImportError) as error:
        _library.check_build("/x/libenergyloss_torch.so", (built, True), running, True,
                             python="/opt/py/bin/python",
                             folders=_library.build_folders("/opt/lib/python3/dist-packages/e"))
    message = str(error.value)
    assert f"built for torch {built}" in message
    assert f"runs torch {running}" in message
    assert "/x/libenergyloss_torch.so" in message
    assert TORCH_DIR.format(python="/opt/py/bin/python") in message
    assert "-DENERGYLOSS_PYTHON=/opt/py/bin/python" in message
    assert "CMAKE_PREFIX_PATH=" not in message  # a configured build's cached Torch_DIR wins over it
    assert "cmake -S <energyloss source> -B <build folder> " in message
    assert "cmake --build <build folder>" in message


def test_other_cxx11_abi_is_refused():
    with pytest.raises(ImportError, match=r"_GLIBCXX_USE_CXX11_ABI=0.*_GLIBCXX_USE_CXX11_ABI=1"):
        _library.check_build("lib.so", ("2.3.1", False), "2.3.1+cpu", True)


def test_library_without_record_is_refused():
    with pytest.raises(ImportError, match="no build record.*running torch 2.3.1"):
        _library.check_build("lib.so", None, "2.3.1", True)


def test_base_version():
    assert _library.base_version("2.3.1+cu121") == "2.3.1"
    assert _library.base_version("1.13.0a0") == "1.13.0"
    assert _library.base_version("2.6") == "2.6.0"
    assert _library.base_version("10.20.30rc1") == "10.20.30"


def test_read_build_record(tmp_path):
    library = tmp_path / "lib.so"
    library.write_bytes(b"\x7fELF\0junk\0" + record_bytes("2.3.1", 0) + b"more\0")
    assert _library.read_build_record(library) == ("2.3.1", False)
    library.write_bytes(b"\x7fELF\0" + record_bytes("1.13.0", "none"))
    assert _library.read_build_record(library) == ("1.13.0", None)
    library.write_bytes(b"\x7fELF\0no record here\0")
    assert _library.read_build_record(library) is None


def test_real_library_records_the_running_torch():
    """The library this build compiled records torch/version.h's version and
    its ABI: they must be the running torch's."""
    version, abi = _library.read_build_record(_paths.TORCH_LIBRARY)
    assert _library.base_version(version) == _library.base_version(torch.__version__)
    assert abi == torch.compiled_with_cxx11_abi()


def test_import_refuses_a_library_for_another_torch(tmp_path):
    # A stand-in library (never loaded: the check comes first) recorded for torch 0.0.1.
    library = tmp_path / "libenergyloss_torch.so"
    library.write_bytes(b"\x7fELF\0" + record_bytes("0.0.1", int(torch.compiled_with_cxx11_abi())))
    env = dict(os.environ, ENERGYLOSS_TORCH_LIBRARY=str(library))
    result = subprocess.run([sys.executable, "-c", "import energyloss"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert f"{library} was built for torch 0.0.1" in result.stderr
    assert f"runs torch {torch.__version__}" in result.stderr
    # The advice names this build tree (the package is its build/python copy)
    # and sets Torch_DIR, which a configured build folder takes over its cache.
    build = os.environ.get("ENERGYLOSS_BUILD_DIR") or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(_library.__file__))))
    assert os.path.isfile(os.path.join(build, "CMakeCache.txt"))
    source = os.environ.get("ENERGYLOSS_SOURCE_DIR")
    if source:
        assert f"cmake -S {source} -B {build} -DENERGYLOSS_PYTHON={sys.executable} " \
            in result.stderr
    assert f"-B {build} " in result.stderr and f"cmake --build {build}\n" in result.stderr
    assert TORCH_DIR.format(python=sys.executable) in result.stderr


def test_torch_dir_advice_runs_in_a_shell():
    """The -DTorch_DIR=$(...) of the advice, run by sh, is torch's CMake package folder."""
    argument = TORCH_DIR.format(python=sys.executable)
    result = subprocess.run(["sh", "-c", f"echo {argument}"], capture_output=True, text=True,
                            timeout=300, check=True)
    expected = os.path.join(torch.utils.cmake_prefix_path, "Torch")
    assert result.stdout == f"-DTorch_DIR={expected}\n"


def test_source_tree_package_is_refused_naming_the_build_tree(tmp_path):
    """PYTHONPATH=<source>/common/python (the source tree, which has no
    generated _paths.py) is refused with what to put there instead, not
    with Python's 'partially initialized module ... circular import'."""
    source = os.environ.get("ENERGYLOSS_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(
                                os.path.abspath(__file__)))))
    package = os.path.join(source, "common", "python", "energyloss")
    assert not os.path.exists(os.path.join(package, "_paths.py"))
    env = {k: v for k, v in os.environ.items() if k != "ENERGYLOSS_TORCH_LIBRARY"}
    env["PYTHONPATH"] = os.path.join(source, "common", "python")
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave the source tree as it is
    result = subprocess.run([sys.executable, "-c", "import energyloss"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: energyloss: "), result.stderr
    assert f"{package} is the package's source tree" in last
    assert "PYTHONPATH=build/python" in last and "installed prefix" in last
    assert "circular import" not in result.stderr
