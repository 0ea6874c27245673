"""The package refuses a compiled library built for another torch (issue 16).

check_build() is tested on made-up versions and ABIs; the real library's
build record is compared with the running torch; and `import energyloss`
with ENERGYLOSS_TORCH_LIBRARY pointing at a library recorded for another
torch fails before loading it, naming both versions."""
import glob
import os
import runpy
import shutil
import subprocess
import sys

import pytest
import torch

from energyloss import _library, _paths


# Debian's libtorch-dev's CMake package (Debian's python3-torch ships none).
DEBIAN_TORCH_DIR = "/usr/lib/x86_64-linux-gnu/cmake/Torch"


def expected_torch_dir():
    """The folder the advice must give as Torch_DIR for the running torch,
    found here from the files (not from _library): torch's own CMake package,
    else Debian's libtorch-dev's."""
    own = os.path.join(torch.utils.cmake_prefix_path, "Torch")
    if os.path.isfile(os.path.join(own, "TorchConfig.cmake")):
        return own
    if os.path.isfile(os.path.join(DEBIAN_TORCH_DIR, "TorchConfig.cmake")):
        return DEBIAN_TORCH_DIR
    return None


def refusal(**arguments):
    """The message of check_build's refusal of a library built for torch 0.0.1."""
    with pytest.raises(ImportError) as error:
        _library.check_build("/x/libenergyloss_torch.so", ("0.0.1", True), "2.3.1", True,
                             python="/opt/py/bin/python", **arguments)
    return str(error.value)


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
    assert "-DENERGYLOSS_PYTHON=/opt/py/bin/python -DTorch_DIR=" in message
    assert "$(" not in message  # a literal folder, computed in this Python
    assert "CMAKE_PREFIX_PATH=" not in message  # a configured build's cached Torch_DIR wins over it
    assert "cmake -S <energyloss source> -B <build folder> " in message
    assert "cmake --build <build folder>\n" in message
    # An installed package: the rebuilt library goes back into the prefix.
    assert "cmake --install <build folder> --prefix <the prefix this package was installed in>" \
        in message


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
    torch_dir = expected_torch_dir()
    if torch_dir:
        assert f"-DENERGYLOSS_PYTHON={sys.executable} -DTorch_DIR={torch_dir}\n" in result.stderr
    assert "$(" not in result.stderr
    # A build tree's package is not installed: no install line.
    assert "cmake --install" not in result.stderr


def test_torch_dir_is_the_literal_folder_of_torchs_cmake_package(tmp_path, monkeypatch):
    """A torch whose cmake_prefix_path holds Torch/TorchConfig.cmake (pip,
    conda): the advice gives that folder literally, not a $(python -c ...)
    command, and no note about a missing package."""
    folder = tmp_path / "share" / "cmake" / "Torch"
    folder.mkdir(parents=True)
    (folder / "TorchConfig.cmake").write_text("# stand-in\n")
    monkeypatch.setattr(torch.utils, "cmake_prefix_path", str(tmp_path / "share" / "cmake"))
    message = refusal(folders=("/src", "/src/build"))
    assert f"-DENERGYLOSS_PYTHON=/opt/py/bin/python -DTorch_DIR={folder}\n" in message
    assert "$(" not in message
    assert "ships no CMake package" not in message
    assert "Torch_DIR, not CMAKE_PREFIX_PATH" in message


def test_torch_without_cmake_package_names_debians_libtorch_dev():
    """Debian's python3-torch (this machine's) has no share/cmake/Torch; the
    advice says so and names libtorch-dev's folder, where $(python -c ...
    cmake_prefix_path ...) gave a folder that does not exist."""
    own = os.path.join(torch.utils.cmake_prefix_path, "Torch", "TorchConfig.cmake")
    if os.path.isfile(own):
        pytest.skip(f"this torch ships a CMake package ({own})")
    message = refusal(folders=("/src", "/src/build"))
    assert "$(" not in message
    assert f"ships no CMake package (no {own})" in message
    if os.path.isfile(os.path.join(DEBIAN_TORCH_DIR, "TorchConfig.cmake")):
        assert f"-DTorch_DIR={DEBIAN_TORCH_DIR}\n" in message
        assert f"{DEBIAN_TORCH_DIR} is Debian's libtorch-dev's" in message
    else:
        assert "install a torch that has one" in message


def test_no_cmake_package_anywhere_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.utils, "cmake_prefix_path", str(tmp_path / "empty"))
    monkeypatch.setattr(_library, "DEBIAN_TORCH_DIR", str(tmp_path / "no-libtorch-dev"))
    message = refusal(folders=("/src", "/src/build"))
    assert "$(" not in message
    assert "-DTorch_DIR=<the Torch folder of a torch with a CMake package>\n" in message
    assert f"no {tmp_path / 'empty' / 'Torch' / 'TorchConfig.cmake'}" in message
    assert "install a torch that has one into this Python (a pip or conda torch has it" in message


def test_libtorch_dev_of_another_version_is_named_with_its_version(tmp_path, monkeypatch):
    """Debian's libtorch-dev folder for another torch version than this
    Python's would fail the check again: the note says so."""
    debian = tmp_path / "cmake" / "Torch"
    debian.mkdir(parents=True)
    (debian / "TorchConfig.cmake").write_text("# stand-in\n")
    (debian / "TorchConfigVersion.cmake").write_text('set(PACKAGE_VERSION "9.8.7")\n')
    monkeypatch.setattr(torch.utils, "cmake_prefix_path", str(tmp_path / "empty"))
    monkeypatch.setattr(_library, "DEBIAN_TORCH_DIR", str(debian))
    message = refusal(folders=("/src", "/src/build"))
    assert f"-DTorch_DIR={debian}\n" in message
    assert f"but for torch 9.8.7: install the libtorch-dev of this torch {torch.__version__}" \
        in message
    (debian / "TorchConfigVersion.cmake").write_text(
        f'set(PACKAGE_VERSION "{_library.base_version(torch.__version__)}")\n')
    assert "but for torch" not in refusal(folders=("/src", "/src/build"))


def test_install_line_for_an_installed_package():
    """Placeholder folders (an installed package) or a known prefix add
    cmake --install ... --prefix; a build tree's folders do not."""
    installed = _library.build_folders("/opt/lib/python3/dist-packages/energyloss")
    assert installed == ("<energyloss source>", "<build folder>")
    message = refusal(folders=installed)
    lines = message.splitlines()
    build = lines.index("  cmake --build <build folder>")
    assert lines[build + 1] == \
        "  cmake --install <build folder> --prefix <the prefix this package was installed in>"
    assert "  cmake --install <build folder> --prefix /opt" in refusal(folders=installed,
                                                                       prefix="/opt").splitlines()
    assert "cmake --install" not in refusal(folders=("/src", "/src/build"))


def test_installed_package_advice_names_its_prefix(tmp_path):
    """cmake --install (component python_files) writes the package and its
    _paths.py into a prefix; with a library there recorded for another torch,
    import energyloss advises installing into that prefix, and into the new
    place once the prefix is moved."""
    build = os.environ.get("ENERGYLOSS_BUILD_DIR") or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(_library.__file__))))
    cmake = shutil.which("cmake")
    if cmake is None or not os.path.isfile(os.path.join(build, "cmake_install.cmake")):
        pytest.skip("needs cmake and the build tree")
    prefix = tmp_path / "prefix"
    subprocess.run([cmake, "--install", build, "--prefix", str(prefix), "--component",
                    "python_files"], check=True, capture_output=True, timeout=300)
    [paths] = glob.glob(str(prefix / "**" / "energyloss" / "_paths.py"), recursive=True)
    library = runpy.run_path(paths)["INSTALLED_LIBRARY"]
    assert library.startswith(str(prefix) + os.sep)
    os.makedirs(os.path.dirname(library), exist_ok=True)
    with open(library, "wb") as f:
        f.write(b"\x7fELF\0" + record_bytes("0.0.1", int(torch.compiled_with_cxx11_abi())))

    def advice(root):
        env = {k: v for k, v in os.environ.items() if k != "ENERGYLOSS_TORCH_LIBRARY"}
        env["PYTHONPATH"] = os.path.dirname(os.path.dirname(paths.replace(str(prefix), root)))
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        result = subprocess.run([sys.executable, "-c", "import energyloss"], env=env,
                                cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert result.returncode != 0
        assert "was built for torch 0.0.1" in result.stderr, result.stderr
        return result.stderr.splitlines()

    assert f"  cmake --install <build folder> --prefix {prefix}" in advice(str(prefix))
    moved = tmp_path / "moved"
    shutil.move(str(prefix), str(moved))
    assert f"  cmake --install <build folder> --prefix {moved}" in advice(str(moved))


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
