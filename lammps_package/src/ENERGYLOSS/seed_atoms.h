/* seed_atoms group-ID FILE.pt [candidates K] [seed S] [select energy|first]

   Writes a sample of a TorchScript generator (the protocol of
   energyloss/generator.h) into the coordinates of the group's atoms, the
   generator's atom k going to the group's k-th smallest atom ID, lengths
   converted from the generator's length_unit to the deck's units. Draws K
   candidates from seed S; `select energy` keeps the one with the lowest
   potential energy of the deck's own force field (one `run 0` each),
   `select first` the first. */
#ifdef COMMAND_CLASS
// clang-format off
CommandStyle(seed_atoms,SeedAtoms);
// clang-format on
#else

#ifndef LMP_SEED_ATOMS_H
#define LMP_SEED_ATOMS_H

#include <vector>

#include "command.h"
#include "energyloss_group_coordinates.h"

namespace LAMMPS_NS {

class SeedAtoms : public Command {
 public:
  explicit SeedAtoms(LAMMPS* lmp) : Command(lmp) {}
  void command(int narg, char** arg) override;

 private:
  // Moves the group's atoms to `positions` [size(), 3] (unwrapped, atom-ID order),
  // wrapping them into the box and onto their new ranks.
  void place(const GroupCoordinates& group_atoms, const double* positions);
  // Errors (naming the candidate and atom) when an atom would lie outside a
  // fixed (non-periodic, non-shrink-wrapped) boundary, or so many periodic
  // box lengths away that its image flags would overflow (more than IMGMAX - 1).
  void check_candidate(const GroupCoordinates& group_atoms, const double* positions, int candidate);
  // Per dimension: how many box lengths `position` lies from the periodic
  // box (floor of the fractional coordinate), the fraction itself otherwise.
  void periodic_images(const double* position, double* images) const;
  // Errors when `select energy` has nothing to evaluate (every energy 0).
  void check_force_field();
  // The deck's potential energy at the current coordinates (run 0).
  double potential_energy();
  // Marks every compute's cached values as not current (atoms moved without
  // a run): LAMMPS then recomputes or refuses them instead of reporting stale ones.
  void forget_computed_values();
};

}  // namespace LAMMPS_NS

#endif
#endif
