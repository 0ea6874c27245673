// Reference coordinates of a group read from a file, for `reference file
// FILE` of compute and fix energyloss. Two formats, chosen by the name:
//   *.xyz  one line per group atom, in ascending atom-ID order (the count
//          must equal the group's), columns `name x y z`
//   other  a LAMMPS data file (write_data): the Atoms section's lines are
//          matched by atom ID; image flags, when present, unwrap them
// Lengths are in the deck's distance units, as for read_data.
#ifndef LMP_ENERGYLOSS_REFERENCE_FILE_H
#define LMP_ENERGYLOSS_REFERENCE_FILE_H

#include <string>
#include <vector>

#include "lmptype.h"

namespace LAMMPS_NS {

class LAMMPS;

// Collective over lmp->world: rank 0 reads, every rank gets the coordinates
// [tags.size(), 3] of the atoms `tags` (ascending). Errors (via error->all)
// name `style`, the file, and the line or atom at fault.
std::vector<double> read_reference_coordinates(LAMMPS* lmp, const std::string& path,
                                               const std::vector<tagint>& tags, const char* style);

}  // namespace LAMMPS_NS

#endif
