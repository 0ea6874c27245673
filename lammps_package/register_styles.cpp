#include "register_styles.h"

#include "compute_energyloss.h"
#include "lammps.h"
#include "modify.h"

using namespace LAMMPS_NS;

namespace {

template <typename Style>
Compute* create_compute(LAMMPS* lmp, int narg, char** arg) {
  return new Style(lmp, narg, arg);
}

}  // namespace

void LAMMPS_NS::register_energyloss_styles(LAMMPS* lmp) {
  (*lmp->modify->compute_map)["energyloss"] = &create_compute<ComputeEnergyLoss>;
}

extern "C" void energyloss_lammps_register(void* lmp) {
  register_energyloss_styles(static_cast<LAMMPS*>(lmp));
}
