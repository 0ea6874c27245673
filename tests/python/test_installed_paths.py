"""The installed package's _paths.py (common/python/installed_paths.py.in,
written by cmake --install) finds libenergyloss_torch.so relative to the
package, else at the absolute install path; when neither holds it (a package
copied away from its prefix, a prefix whose lib/ was removed), import
energyloss names both places it looked, not only the stale install path.

Each case renders the template as cmake --install does (its two @...@
values), next to copies of the package's modules in a scratch folder, and
imports energyloss from there in a fresh process."""
import glob
import os
import shutil
import subprocess
import sys

import energyloss
from energyloss import _paths

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "common",
                        "python", "installed_paths.py.in")


def installed_package(tmp_path, relative, absolute):
    """A copy of the energyloss package under tmp_path/site with the
    installed _paths.py for library paths `relative` (to the package) and
    `absolute`."""
    package = tmp_path / "site" / "energyloss"
    package.mkdir(parents=True)
    for module in glob.glob(os.path.join(os.path.dirname(energyloss.__file__), "*.py")):
        shutil.copy(module, package)
    with open(TEMPLATE) as handle:
        text = handle.read()
    text = text.replace("@ENERGYLOSS_TORCH_LIBRARY_RELATIVE@", relative)
    text = text.replace("@ENERGYLOSS_TORCH_LIBRARY_FILE@", absolute)
    (package / "_paths.py").write_text(text)
    return package


def import_from(tmp_path):
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("PYTHONPATH", "ENERGYLOSS_TORCH_LIBRARY")}
    environment["PYTHONPATH"] = str(tmp_path / "site")
    return subprocess.run(
        [sys.executable, "-c", "import energyloss, torch; print(energyloss._library.__file__); "
                               "print(torch.ops.energyloss.kabsch_mse("
                               "torch.ones(1, 3, 3), torch.ones(1, 3, 3)).item())"],
        env=environment, capture_output=True, text=True, timeout=120, cwd=str(tmp_path))


def test_library_found_relative_to_the_package(tmp_path):
    built = _paths.TORCH_LIBRARY  # the build tree's library
    relative = os.path.relpath(built, tmp_path / "site" / "energyloss")
    package = installed_package(tmp_path, relative, "/nonexistent/lib/libenergyloss_torch.so")
    completed = import_from(tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == [str(package / "_library.py"), "0.0"]


def test_missing_library_names_both_places(tmp_path):
    package = installed_package(tmp_path, "../../../libenergyloss_torch.so",
                                "/nonexistent/prefix/lib/libenergyloss_torch.so")
    completed = import_from(tmp_path)
    assert completed.returncode != 0
    next_to_package = os.path.normpath(os.path.join(package, "../../../libenergyloss_torch.so"))
    message = completed.stderr.strip().splitlines()[-1]
    assert message.startswith("ImportError: energyloss: compiled ops not found at "
                              f"{next_to_package} nor at "
                              "/nonexistent/prefix/lib/libenergyloss_torch.so;"), message
