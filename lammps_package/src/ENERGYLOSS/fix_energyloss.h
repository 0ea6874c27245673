/* fix ID group-ID energyloss keyword value ... [scale S | scale v_name]

   The pair energy loss of compute energyloss as a restraint: adds
   -scale * dE/dx to the forces of the group's atoms. With fix_modify energy
   yes its energy counts in the potential energy (also in minimisation), with
   fix_modify virial yes its virial in the pressure. scale may be an
   equal-style variable, evaluated every step (e.g. for annealing). */
#ifdef FIX_CLASS
// clang-format off
FixStyle(energyloss,FixEnergyLoss);
// clang-format on
#else

#ifndef LMP_FIX_ENERGYLOSS_H
#define LMP_FIX_ENERGYLOSS_H

#include <string>

#include "energyloss_group_pair_loss.h"
#include "fix.h"

namespace LAMMPS_NS {

class FixEnergyLoss : public Fix {
 public:
  FixEnergyLoss(LAMMPS* lmp, int narg, char** arg);
  int setmask() override;
  void init() override;
  void setup(int vflag) override;
  void min_setup(int vflag) override;
  void post_force(int vflag) override;
  void min_post_force(int vflag) override;
  double compute_scalar() override;
  double memory_usage() override;

 private:
  GroupPairLoss loss;
  double scale;  // used when scale_variable_name is empty
  std::string scale_variable_name;
  int scale_variable;  // index, resolved in init()
  double energy;       // scale * loss at the last force evaluation
  bool warned_min_energy = false;

  double current_scale();
};

}  // namespace LAMMPS_NS

#endif
#endif
