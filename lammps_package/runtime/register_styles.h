// Run-time registration of the ENERGYLOSS package's styles into a LAMMPS
// instance, for LAMMPS builds without the PLUGIN package such as Debian's
// (stock lmp through load_energyloss.lmp, and lmp_energyloss): the plugin's
// lammpsplugin_init() hands over the styles and this fills the instance's
// style maps as PLUGIN's plugin_register() would; the styles survive `clear`.
#ifndef ENERGYLOSS_REGISTER_STYLES_H
#define ENERGYLOSS_REGISTER_STYLES_H

namespace LAMMPS_NS {
class LAMMPS;
void register_energyloss_styles(LAMMPS* lmp);
}  // namespace LAMMPS_NS

// C entry point for ctypes: `lmp` is a LAMMPS_NS::LAMMPS*, e.g. the pointer
// inside the PyCapsule that stock lmp's `python ... input 1 SELF` passes.
extern "C" void energyloss_lammps_register(void* lmp);

#endif
