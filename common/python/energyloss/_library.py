"""Loads the compiled energyloss ops into torch.ops.energyloss (once).

Before loading, the library's build record (a string compiled into it from
torch/version.h, common/src/torch/build_info.cpp) is read from the file and
compared with the running torch: a library built for another torch version
or C++ ABI is refused with a message naming both and how to rebuild, where
loading it would fail with an undefined symbol or crash.
"""
import os
import re
import sys
import sysconfig

import torch

_loaded = False

BUILD_RECORD = re.compile(rb"energyloss-torch-build: torch ([0-9A-Za-z.+_-]+); cxx11-abi (0|1|none)\x00")

# Where Debian's libtorch-dev puts torch's CMake package; Debian's python3-torch
# (torch.utils.cmake_prefix_path under /usr/lib/python3/dist-packages) has none.
DEBIAN_TORCH_DIR = "/usr/lib/{}/cmake/Torch".format(
    sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu")

INSTALL_PREFIX_PLACEHOLDER = "<the prefix this package was installed in>"


def cmake_package_version(folder):
    """PACKAGE_VERSION of folder/TorchConfigVersion.cmake, or None."""
    try:
        with open(os.path.join(folder, "TorchConfigVersion.cmake"), errors="replace") as f:
            match = re.search(r'set\(PACKAGE_VERSION "([^"]*)"\)', f.read())
    except OSError:
        return None
    return match.group(1) if match else None


def torch_cmake_dir(debian_dir=None):
    """(Torch_DIR for the advice, note or None), computed in this Python: the
    folder of the running torch's TorchConfig.cmake when it ships one;
    otherwise Debian's libtorch-dev folder when that has one, with a note
    that this torch has none; otherwise a placeholder and what to install."""
    debian_dir = debian_dir or DEBIAN_TORCH_DIR
    own = os.path.join(torch.utils.cmake_prefix_path, "Torch")
    if os.path.isfile(os.path.join(own, "TorchConfig.cmake")):
        return own, None
    missing = (f"this Python's torch ({os.path.dirname(torch.__file__)}) ships no CMake "
               f"package (no {os.path.join(own, 'TorchConfig.cmake')})")
    if os.path.isfile(os.path.join(debian_dir, "TorchConfig.cmake")):
        note = f"{missing}; {debian_dir} is Debian's libtorch-dev's"
        version = cmake_package_version(debian_dir)
        if version and base_version(version) != base_version(torch.__version__):
            note += (f", but for torch {version}: install the libtorch-dev of this torch "
                     f"{torch.__version__}")
        return debian_dir, note
    return ("<the Torch folder of a torch with a CMake package>",
            f"{missing}: install a torch that has one into this Python (a pip or conda torch "
            "has it; for Debian's python3-torch, libtorch-dev puts it in "
            f"{debian_dir}) and import energyloss again to be told its folder")


def rebuild_advice(python, source, build, prefix=None, debian_dir=None):
    """How to rebuild energyloss against the torch this Python imports:
    configure with ENERGYLOSS_PYTHON=python and this torch's Torch_DIR (a
    literal folder), build, and for an installed package (placeholder
    folders, or prefix given) install into its prefix."""
    torch_dir, note = torch_cmake_dir(debian_dir)
    lines = [f"  cmake -S {source} -B {build} -DENERGYLOSS_PYTHON={python} -DTorch_DIR={torch_dir}",
             f"  cmake --build {build}"]
    if prefix or build == "<build folder>":
        lines.append(f"  cmake --install {build} --prefix {prefix or INSTALL_PREFIX_PLACEHOLDER}")
    # Torch_DIR, not CMAKE_PREFIX_PATH: a build folder that has already been
    # configured keeps the Torch_DIR in its cache, which wins over a new prefix path.
    notes = ([note] if note else []) + [
        "Torch_DIR, not CMAKE_PREFIX_PATH: the build folder's cache keeps its Torch_DIR; "
        "README: Installing and using the package"]
    return ("rebuild energyloss against the torch this Python imports:\n" + "\n".join(lines)
            + "\n(" + "; ".join(notes) + ")")


def install_prefix(paths):
    """The prefix an installed package's _paths module (installed_paths.py.in)
    was installed in: where its library was found relative to the package,
    less the library's path inside INSTALL_PREFIX (a moved prefix), else
    INSTALL_PREFIX; None for the build tree's _paths or an older one."""
    prefix = getattr(paths, "INSTALL_PREFIX", None)
    installed = getattr(paths, "INSTALLED_LIBRARY", None)
    if not prefix or not installed or prefix.startswith("@"):
        return None
    inside = os.path.relpath(installed, prefix)
    relative = getattr(paths, "RELATIVE_LIBRARY", None)
    if relative and not inside.startswith("..") and os.path.exists(relative) \
            and relative.endswith(os.sep + inside):
        return relative[:-len(os.sep + inside)] or os.sep
    return prefix


def build_folders(package=None):
    """(source, build) folders of the CMake build tree this package was copied
    into (<build>/python/energyloss, next to <build>/CMakeCache.txt), or
    placeholders for an installed package."""
    package = package or os.path.dirname(os.path.abspath(__file__))
    build = os.path.dirname(os.path.dirname(package))
    cache = os.path.join(build, "CMakeCache.txt")
    if not os.path.isfile(cache):
        return "<energyloss source>", "<build folder>"
    source = "<energyloss source>"
    with open(cache, errors="replace") as f:
        for line in f:
            if line.startswith("CMAKE_HOME_DIRECTORY:INTERNAL="):
                source = line.split("=", 1)[1].strip()
    return source, build


def read_build_record(path):
    """(torch version, C++11 ABI as True/False/None) compiled into the library at path,
    or None when the file has no record."""
    with open(path, "rb") as f:
        match = BUILD_RECORD.search(f.read())
    if match is None:
        return None
    abi = {b"1": True, b"0": False, b"none": None}[match.group(2)]
    return match.group(1).decode(), abi


def base_version(version):
    """'X.Y.Z' of a torch version: '2.3.1+cu121' -> '2.3.1', '1.13.0a0' -> '1.13.0'."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if match is None:
        return version
    return f"{match.group(1)}.{match.group(2)}.{match.group(3) or 0}"


def check_build(path, record, running_version, running_abi, python=None, folders=None,
                prefix=None):
    """Raise ImportError when the library at path, with build record
    (version, abi) or None, does not fit torch running_version with C++11
    ABI running_abi (torch.compiled_with_cxx11_abi()); return None when it does.

    Versions must agree in major.minor.patch (local and pre-release parts
    such as '+cu121' or 'a0' are ignored: CMake's Torch_VERSION has none),
    and the ABI when both are known. The advice names python (default: this
    one), folders, (source, build) (default: build_folders()), and for an
    installed package the prefix to install into again (install_prefix())."""
    python = python or sys.executable
    source, build = folders or build_folders()
    rebuild = rebuild_advice(python, source, build, prefix)
    if record is None:
        raise ImportError(
            f"energyloss: {path} has no build record (which torch it was built for), so it "
            f"cannot be checked against the running torch {running_version}; {rebuild}")
    built_version, built_abi = record
    if base_version(built_version) != base_version(running_version):
        raise ImportError(
            f"energyloss: {path} was built for torch {built_version}, but this Python runs "
            f"torch {running_version} ({torch.__file__}); {rebuild}")
    if built_abi is not None and running_abi is not None and built_abi != running_abi:
        raise ImportError(
            f"energyloss: {path} was built for torch {built_version} with "
            f"_GLIBCXX_USE_CXX11_ABI={int(built_abi)}, but this Python runs torch {running_version} "
            f"built with _GLIBCXX_USE_CXX11_ABI={int(running_abi)}; {rebuild}")


def _generated_paths():
    """The _paths module the build (or the install) writes next to this
    package; the source tree's copy of the package has none."""
    package = os.path.dirname(os.path.abspath(__file__))
    if not os.path.exists(os.path.join(package, "_paths.py")):
        if os.path.exists(os.path.join(os.path.dirname(package), "installed_paths.py.in")):
            raise ImportError(
                f"energyloss: {package} is the package's source tree (common/python), which "
                "does not know where the compiled ops are; put the build tree's python folder "
                "on PYTHONPATH (PYTHONPATH=build/python, after cmake --build build) or an "
                "installed prefix's (P/lib/python3/dist-packages) instead")
        raise ImportError(
            f"energyloss: {package} has no _paths.py (written by the build and by cmake "
            "--install); use the build tree's python folder (build/python) or an installed "
            "prefix, or set ENERGYLOSS_TORCH_LIBRARY to libenergyloss_torch.so")
    from . import _paths

    return _paths


def load():
    """Load libenergyloss_torch.so; ENERGYLOSS_TORCH_LIBRARY overrides its path."""
    global _loaded
    if _loaded:
        return
    path = os.environ.get("ENERGYLOSS_TORCH_LIBRARY")
    searched = [path]
    prefix = None
    if not path:
        _paths = _generated_paths()
        prefix = install_prefix(_paths)

        path = _paths.TORCH_LIBRARY
        # An installed package tries next to itself, then the install path.
        searched = list(getattr(_paths, "SEARCHED", [path]))
    if not os.path.exists(path):
        raise ImportError(
            f"energyloss: compiled ops not found at {' nor at '.join(searched)}; build the "
            "project, or set ENERGYLOSS_TORCH_LIBRARY to libenergyloss_torch.so")
    check_build(path, read_build_record(path), torch.__version__, torch.compiled_with_cxx11_abi(),
                prefix=prefix)
    torch.ops.load_library(path)
    _loaded = True


load()
ops = torch.ops.energyloss
