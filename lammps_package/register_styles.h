// Run-time registration of the energyloss styles into a LAMMPS instance
// (Debian's LAMMPS is built without the PLUGIN package, so the style maps are
// filled directly).
#ifndef ENERGYLOSS_LAMMPS_REGISTER_STYLES_H
#define ENERGYLOSS_LAMMPS_REGISTER_STYLES_H

namespace LAMMPS_NS {
class LAMMPS;
void register_energyloss_styles(LAMMPS* lmp);
}  // namespace LAMMPS_NS

// C entry point for ctypes: `lmp` is a LAMMPS_NS::LAMMPS*, e.g. the pointer
// inside the PyCapsule that stock lmp's `python ... input 1 SELF` passes.
extern "C" void energyloss_lammps_register(void* lmp);

#endif
