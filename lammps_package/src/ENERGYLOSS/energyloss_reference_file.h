// Reference coordinates of a group read from a file, for `reference file
// FILE` of compute and fix energyloss. Two formats, chosen by the name:
//   *.xyz  one line per group atom, in ascending atom-ID order (the count
//          must equal the group's), columns `name x y z`
//   other  a LAMMPS data file (write_data): the Atoms section's lines are
//          matched by atom ID; image flags, when present, unwrap them
// Lengths are in the deck's distance units, as for read_data.
// Also explicit springs, for `edges file FILE`: one line `ID_I ID_J K` per
// pair of group atoms, K in energy / distance^2 of the deck's units; blank
// lines and `#` comments are skipped.
#ifndef LMP_ENERGYLOSS_REFERENCE_FILE_H
#define LMP_ENERGYLOSS_REFERENCE_FILE_H

#include <cstdint>
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

// The pairs of an edges file as slots into `tags` ([n_edges, 2]) and their
// k ([n_edges]), in file order.
struct EdgeFileSprings {
  std::vector<int64_t> edges;
  std::vector<double> k;
};

// Collective like read_reference_coordinates: rank 0 reads, every rank gets
// the springs. Errors name `style`, the file, the line and the problem
// (unreadable, field count, non-numeric, no atom with that ID, an atom not in
// group `group_name`,
// I == J, a pair listed twice in either order, K not finite or negative, no
// pairs at all).
EdgeFileSprings read_edge_file(LAMMPS* lmp, const std::string& path,
                               const std::vector<tagint>& tags, const std::string& group_name,
                               const char* style);

}  // namespace LAMMPS_NS

#endif
