/* compute ID group-ID energyloss keyword value ...

   The pair energy loss (paper eq. 7) between the group's current
   coordinates and a reference, evaluated by energyloss::core's kernel
   (keywords: group_pair_loss.h). Global scalar (extensive): the loss.
   Per-atom vector: each atom's share (half of each of its pairs), 0 outside
   the group. */
#ifdef COMPUTE_CLASS
// clang-format off
ComputeStyle(energyloss,ComputeEnergyLoss);
// clang-format on
#else

#ifndef LMP_COMPUTE_ENERGYLOSS_H
#define LMP_COMPUTE_ENERGYLOSS_H

#include "compute.h"
#include "energyloss_group_pair_loss.h"

namespace LAMMPS_NS {

class ComputeEnergyLoss : public Compute {
 public:
  ComputeEnergyLoss(LAMMPS* lmp, int narg, char** arg);
  ~ComputeEnergyLoss() override;
  void init() override {}
  double compute_scalar() override;
  void compute_peratom() override;
  double memory_usage() override;

 private:
  GroupPairLoss loss;
  int nmax;  // allocated length of vector_atom
};

}  // namespace LAMMPS_NS

#endif
#endif
