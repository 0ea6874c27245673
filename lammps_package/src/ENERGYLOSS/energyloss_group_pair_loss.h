// The pair energy loss (paper eq. 7) of a LAMMPS group against a reference,
// shared by compute energyloss and fix energyloss: their common keywords
//   reference current | file FILE
//   coeff MODE K0 | MODE preset
//   length_scale L
//   edges complete | cutoff RC | sparse K SEED | file FILE
// (`edges file`: explicit pairs with their own k, CoefficientMode::Explicit;
// no `coeff` then)
// and the evaluation through energyloss::core's kernel. Every rank gathers the
// whole group (group_coordinates.h) but walks only its share of the pairs (a
// block of complete-graph rows, or of the sparse edge list); one
// MPI_Allreduce sums the energy, the atoms' shares and the gradient, so every
// rank holds the whole result and it does not depend on the domain
// decomposition or the rank count (up to the summation order, ~1e-15).
#ifndef LMP_ENERGYLOSS_GROUP_PAIR_LOSS_H
#define LMP_ENERGYLOSS_GROUP_PAIR_LOSS_H

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "energyloss/coefficients.h"
#include "energyloss_group_coordinates.h"

namespace LAMMPS_NS {

class GroupPairLoss {
 public:
  // `style` (e.g. "Fix energyloss") prefixes every error message.
  GroupPairLoss(LAMMPS* lmp, const char* style);

  // Consumes the keyword at arg[iarg] and its values when it is one of the
  // above; returns how many words it took, 0 for a keyword it does not know.
  int parse_keyword(int narg, char** arg, int iarg);

  // For the styles' own keywords (fix energyloss's `scale`): errors naming
  // the keyword when it was given before (each keyword once; a repeated one
  // would silently override), or when `text` is not a number, or is one
  // beyond the double range (e.g. 1e400, which parses to inf): then the
  // error says `requirement` (e.g. "K0 must be finite and >= 0").
  void note_keyword(const std::string& keyword);
  double keyword_number(const std::string& keyword, const char* text,
                        const char* requirement) const;
  bigint keyword_integer(const std::string& keyword, const char* text) const;

  // Collective: fixes the group's atoms, reads or gathers the reference and
  // builds the edges. Call once, after parsing.
  void define(int groupbit, const std::string& group_name);

  // Collective: the loss at the group's current coordinates. Also fills
  // atom_energy() and, when `with_gradient`, gradient() (dE/dx), both in
  // atom-ID order (slot()).
  double evaluate(bool with_gradient);

  int size() const { return reference.size(); }
  int slot(tagint tag) const { return reference.slot(tag); }
  // Unwrapped coordinates of the last evaluation, [size(), 3].
  const std::vector<double>& current_coordinates() const { return current.x; }
  const std::vector<double>& atom_energy() const { return atom_energy_; }
  const std::vector<double>& gradient() const { return gradient_; }
  double memory_usage() const;

  // Rank `rank` of `nprocs` walks the complete-graph rows [first, second) of
  // `atoms` atoms: contiguous blocks with about equal pair counts (row i has
  // atoms - 1 - i pairs), empty when there are more ranks than rows.
  static std::pair<int64_t, int64_t> complete_graph_rows(int64_t atoms, int rank, int nprocs);

 private:
  enum class EdgeKind { Complete, Cutoff, Sparse, File };

  LAMMPS* lmp;
  const char* style;
  int groupbit = 0;
  std::string group_name;

  std::string reference_file;  // empty: `reference current`
  // `coeff` and `length_scale` as given; define() makes `coefficients` from
  // the mode's preset in the deck's length unit (the presets are made for
  // angstrom) with the given K0 and length scale.
  energyloss::CoefficientMode mode = energyloss::CoefficientMode::Exp;
  std::optional<double> k0;  // empty: the preset's (`coeff MODE preset`, or no `coeff`)
  std::optional<double> length_scale;
  bool coeff_given = false;
  energyloss::CoefficientSpec coefficients;
  EdgeKind edge_kind = EdgeKind::Complete;
  double cutoff;
  int64_t sparse_degree = 0;
  uint64_t sparse_seed = 0;

  GroupCoordinates reference;  // the group at definition, sorted by atom ID
  std::string edge_file;
  std::vector<int64_t> edges;        // [n_edges, 2] slots, for `edges sparse` and `edges file`
  std::vector<double> edge_springs;  // [n_edges] k of `edges file` (empty otherwise)

  // The last evaluation: its coordinates and results (gradient_ is empty
  // when it was not asked for).
  bool evaluated = false;
  GroupCoordinates current;
  double loss = 0.0;
  std::vector<double> atom_energy_;
  std::vector<double> gradient_;
  std::vector<double> reduce_buffer;  // [1 + size() + 3 size()] for the Allreduce

  std::vector<std::string> keywords_given;

  void build_sparse_edges();
  void build_coefficients();
  // Errors when `edges cutoff` leaves no pair of the reference (a restraint
  // that does nothing); then check_split_bonds().
  void check_reference_pairs();
  // Warns (once, at definition) when a bond between two of the group's
  // atoms spans more than half a periodic box length in the reference.
  void check_split_bonds();
};

}  // namespace LAMMPS_NS

#endif
