"""openmmenergyloss: the energyloss OpenMM plugin from Python.

EnergyLossForce (force.py) restrains a System toward a reference structure
with the paper's pair energy; seed() (seeding.py) starts a Simulation from a
trained generator. Both sit on _core, the SWIG module wrapping the plugin's
C++ classes (EnergyLossForce, GeneratorSeeder, CoefficientSpec, ...), whose
names this package also exports. Importing it registers the plugin's
Reference and CPU kernels with OpenMM.
"""
import os as _os

import openmm as _openmm

from ._core import *  # noqa: F401,F403  (the C++ classes, as before the split)
from .force import *  # noqa: F401,F403
from .seeding import *  # noqa: F401,F403


def _load_kernel_plugins():
    """Registers our Reference and CPU kernels with OpenMM, from the folder
    ENERGYLOSS_OPENMM_PLUGIN_DIR or else the package's `plugins` link.
    (OPENMM_PLUGIN_DIR is left alone: setting it replaces OpenMM's own plugin
    folder.) ImportError when the folder holds none."""
    folder = _os.environ.get("ENERGYLOSS_OPENMM_PLUGIN_DIR",
                             _os.path.join(_os.path.dirname(_os.path.abspath(__file__)),
                                           "plugins"))
    libraries = sorted(name for name in (_os.listdir(folder) if _os.path.isdir(folder) else [])
                       if name.startswith("libenergyloss_openmm_") and name.endswith(".so"))
    if not libraries:
        raise ImportError(f"openmmenergyloss: no kernel libraries (libenergyloss_openmm_*.so) "
                          f"in {folder}")
    for name in libraries:
        _openmm.Platform.loadPluginLibrary(_os.path.join(folder, name))


_load_kernel_plugins()
