// The ENERGYLOSS package as a LAMMPS plugin: `plugin load energylossplugin.so`
// in a LAMMPS built with the PLUGIN package calls lammpsplugin_init(), which
// hands each style to LAMMPS's registration function. The styles are the ones
// the package's headers declare in their ComputeStyle / FixStyle /
// CommandStyle blocks (the list LAMMPS's own build reads), so the plugin, an
// in-tree build and the run-time registration for LAMMPS without PLUGIN
// (runtime/register_styles.cpp, which passes a registration function of its
// own) always offer the same styles.
#ifndef ENERGYLOSS_PLUGIN_H
#define ENERGYLOSS_PLUGIN_H

#include "lammpsplugin.h"

namespace LAMMPS_NS {

class Command;
class LAMMPS;

// Creators with the signatures of Modify's compute and fix maps (Base is
// Compute or Fix) and of Input's command map, as LAMMPS's modify.cpp and
// input.cpp make them for built-in styles.
template <typename Base, typename Style>
Base* energyloss_style_creator(LAMMPS* lmp, int narg, char** arg) {
  return new Style(lmp, narg, arg);
}

template <typename Style>
Command* energyloss_command_creator(LAMMPS* lmp) {
  return new Style(lmp);
}

// Calls register_style(&plugin, lmp) once per style: compute energyloss, fix
// energyloss, command seed_atoms. lmp is the LAMMPS_NS::LAMMPS*, handle the
// plugin's dlopen handle (LAMMPS counts references with it; may be null);
// `plugin` lives only during the call. lammpsplugin_init() (the plugin entry
// point) forwards here; run-time registration calls this name, which no other
// plugin loaded into the process can shadow.
void offer_energyloss_styles(void* lmp, void* handle, lammpsplugin_regfunc register_style);

}  // namespace LAMMPS_NS

#endif
