#include "register_styles.h"

#include "compute_energyloss.h"
#include "fix_energyloss.h"
#include "input.h"
#include "lammps.h"
#include "modify.h"
#include "seed_atoms.h"

using namespace LAMMPS_NS;

namespace {

// The creator signature of modify's compute and fix maps.
template <typename Base, typename Style>
Base* create_style(LAMMPS* lmp, int narg, char** arg) {
  return new Style(lmp, narg, arg);
}

template <typename Style>
Command* create_command(LAMMPS* lmp) {
  return new Style(lmp);
}

}  // namespace

void LAMMPS_NS::register_energyloss_styles(LAMMPS* lmp) {
  (*lmp->modify->compute_map)["energyloss"] = &create_style<Compute, ComputeEnergyLoss>;
  (*lmp->modify->fix_map)["energyloss"] = &create_style<Fix, FixEnergyLoss>;
  (*lmp->input->command_map)["seed_atoms"] = &create_command<SeedAtoms>;
}

extern "C" void energyloss_lammps_register(void* lmp) {
  register_energyloss_styles(static_cast<LAMMPS*>(lmp));
}
