// Coordinates of a LAMMPS group gathered onto every rank in atom-ID order,
// unwrapped with image flags, so the complete-graph kernels of
// energyloss::core can run on them whatever the domain decomposition.
#ifndef LMP_ENERGYLOSS_GROUP_COORDINATES_H
#define LMP_ENERGYLOSS_GROUP_COORDINATES_H

#include <vector>

#include "lmptype.h"

namespace LAMMPS_NS {

class LAMMPS;

struct GroupCoordinates {
  std::vector<tagint> tags;  // ascending atom IDs
  std::vector<double> x;     // [tags.size(), 3], unwrapped

  int size() const { return static_cast<int>(tags.size()); }
  // Position of atom ID `tag` in `tags`, or -1 when it is not in the group.
  int slot(tagint tag) const;
};

// Collective over lmp->world. `style` names the caller in error messages
// (it needs atom IDs and a box).
GroupCoordinates gather_group_coordinates(LAMMPS* lmp, int groupbit, const char* style);

}  // namespace LAMMPS_NS

#endif
