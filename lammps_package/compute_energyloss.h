/* compute ID group-ID energyloss keyword value ...

   The pair energy loss (paper eq. 7) between the group's current
   coordinates and a reference, evaluated by energyloss::core's kernel.
   Global scalar (extensive): the loss. Per-atom vector: each atom's share
   (half of each of its pairs), 0 outside the group. Registered at run time
   (register_styles.h). */
#ifndef ENERGYLOSS_LAMMPS_COMPUTE_ENERGYLOSS_H
#define ENERGYLOSS_LAMMPS_COMPUTE_ENERGYLOSS_H

#include <vector>

#include "compute.h"
#include "energyloss/coefficients.h"
#include "group_coordinates.h"

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
  energyloss::CoefficientSpec coefficients;
  double cutoff;                    // reference distance below which pairs count
  GroupCoordinates reference;       // the group, sorted by atom ID
  std::vector<double> atom_energy;  // per group atom, in reference order
  int nmax;                         // allocated length of vector_atom

  void parse_keywords(int narg, char** arg);
  // Gathers the current coordinates and runs the kernel; returns the loss.
  double evaluate();
};

}  // namespace LAMMPS_NS

#endif
