"""src/ENERGYLOSS/Install.sh does in a LAMMPS src/ folder what `make
yes-energyloss`, `make package-update` and `make no-energyloss` need.

Usage: check_install_sh.py PACKAGE_DIR

In a scratch src/ with a Makefile.package and Makefile.package.settings laid
out as LAMMPS's (Makefile.package.empty), the package folder copied in:
  sh Install.sh 1  copies every .cpp/.h up, adds the energyloss include
                   folder, library folder, libraries and rpath, and writes
                   ENERGYLOSS_PREFIX / ENERGYLOSS_LIBDIR into the settings;
  sh Install.sh 2  (update, twice) leaves exactly that;
  sh Install.sh 0  removes the files and gives back both Makefiles byte for byte.
"""
import filecmp
import glob
import os
import shutil
import subprocess
import sys
import tempfile

MAKEFILE_PACKAGE = """# Settings that the LAMMPS build will import when this package is installed

PKG_INC =   -DLMP_OTHER
PKG_PATH =
PKG_LIB =   -lother
PKG_CPP_DEPENDS =
PKG_LINK_DEPENDS =

PKG_SYSINC =
PKG_SYSLIB =
PKG_SYSPATH =
"""
MAKEFILE_SETTINGS = """# Settings that the LAMMPS build will import when this package is installed

include ../../lib/other/Makefile.lammps
"""


def run_install(package_copy, mode, environment):
    run = subprocess.run(["sh", "Install.sh", str(mode)], cwd=package_copy, env=environment,
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"Install.sh {mode} failed:\n{run.stdout}{run.stderr}")


def text(path):
    with open(path) as handle:
        return handle.read()


def main(package_dir):
    failures = []
    sources = sorted(os.path.basename(path) for path in glob.glob(os.path.join(package_dir, "*.cpp"))
                     + glob.glob(os.path.join(package_dir, "*.h")))
    with tempfile.TemporaryDirectory() as scratch:
        src = os.path.join(scratch, "src")
        package_copy = os.path.join(src, "ENERGYLOSS")
        shutil.copytree(package_dir, package_copy)
        with open(os.path.join(src, "Makefile.package"), "w") as handle:
            handle.write(MAKEFILE_PACKAGE)
        with open(os.path.join(src, "Makefile.package.settings"), "w") as handle:
            handle.write(MAKEFILE_SETTINGS)
        environment = dict(os.environ, ENERGYLOSS_PREFIX="/opt/el", ENERGYLOSS_LIBDIR="/opt/el/lib64")

        run_install(package_copy, 1, environment)
        missing = [name for name in sources
                   if not filecmp.cmp(os.path.join(package_dir, name), os.path.join(src, name),
                                      shallow=False)]
        if missing:
            failures.append(f"install: not copied (or not equal): {missing}")
        package = text(os.path.join(src, "Makefile.package"))
        settings = text(os.path.join(src, "Makefile.package.settings"))
        expected_lines = {
            "PKG_INC =   -I$(energyloss_PREFIX)/include -DLMP_OTHER",
            "PKG_PATH =-L$(energyloss_LIBDIR) ",
            "PKG_LIB =   -lenergyloss_oracles_torch -lenergyloss -lother",
            "PKG_SYSLIB =-Wl,-rpath,$(energyloss_LIBDIR) "}
        for line in expected_lines - set(package.splitlines()):
            failures.append(f"install: Makefile.package lacks the line {line!r}:\n{package}")
        for line in ("energyloss_PREFIX = /opt/el", "energyloss_LIBDIR = /opt/el/lib64"):
            if line not in settings.splitlines():
                failures.append(f"install: Makefile.package.settings lacks {line!r}:\n{settings}")

        for _ in range(2):
            run_install(package_copy, 2, environment)
        for name, installed in (("Makefile.package", package),
                                ("Makefile.package.settings", settings)):
            if text(os.path.join(src, name)) != installed:
                failures.append(f"update: {name} differs from the installed one")

        run_install(package_copy, 0, environment)
        left = [name for name in sources if os.path.exists(os.path.join(src, name))]
        if left:
            failures.append(f"uninstall: files left in src/: {left}")
        for name, original in (("Makefile.package", MAKEFILE_PACKAGE),
                               ("Makefile.package.settings", MAKEFILE_SETTINGS)):
            if text(os.path.join(src, name)) != original:
                failures.append(f"uninstall: {name} not restored")
    print(f"{len(sources)} package files installed, updated and removed")
    return "\n".join(failures) or 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
