#include "energyloss_group_pair_loss.h"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "energyloss/generator.h"
#include "energyloss/graphs.h"
#include "energyloss/pair_energy.h"
#include "energyloss_errors.h"
#include "energyloss_reference_file.h"
#include "error.h"
#include "lammps.h"
#include "update.h"
#include "utils.h"

using namespace LAMMPS_NS;

GroupPairLoss::GroupPairLoss(LAMMPS* lmp, const char* style)
    : lmp(lmp),
      style(style),
      coefficients(energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Exp)),
      cutoff(std::numeric_limits<double>::infinity()) {}

void GroupPairLoss::note_keyword(const std::string& keyword) {
  if (std::find(keywords_given.begin(), keywords_given.end(), keyword) != keywords_given.end())
    lmp->error->all(FLERR, "{}: keyword '{}' given twice (each keyword once)", style, keyword);
  keywords_given.push_back(keyword);
}

double GroupPairLoss::keyword_number(const std::string& keyword, const char* text,
                                     const char* requirement) const {
  // utils::numeric's own error (which refuses nan and inf too) does not name
  // the keyword: keep its wording after the keyword's name.
  if (!utils::is_double(text))
    lmp->error->all(FLERR,
                    "{}: keyword '{}': Expected floating point parameter instead of '{}' (a "
                    "finite number)",
                    style, keyword, text);
  // A number beyond the double range (1e400) parses to inf: refused here for
  // every numeric keyword, with the keyword's own requirement.
  const double value = utils::numeric(FLERR, text, false, lmp);
  if (!std::isfinite(value))
    lmp->error->all(FLERR, "{}: keyword '{}': {}, got {} (beyond the range of a double)", style,
                    keyword, requirement, text);
  return value;
}

bigint GroupPairLoss::keyword_integer(const std::string& keyword, const char* text) const {
  if (!utils::is_integer(text))
    lmp->error->all(FLERR, "{}: keyword '{}': Expected integer parameter instead of '{}'", style,
                    keyword, text);
  return utils::bnumeric(FLERR, text, false, lmp);
}

int GroupPairLoss::parse_keyword(int narg, char** arg, int iarg) {
  Error* error = lmp->error;
  const std::string keyword = arg[iarg];
  if (keyword == "reference" || keyword == "coeff" || keyword == "length_scale" ||
      keyword == "edges")
    note_keyword(keyword);
  auto require_values = [&](int count) {
    if (iarg + count >= narg)
      error->all(FLERR, "{}: keyword '{}' needs {} value(s)", style, keyword, count);
  };
  if (keyword == "reference") {
    require_values(1);
    const std::string kind = arg[iarg + 1];
    if (kind == "current") {
      reference_file.clear();
      return 2;
    }
    if (kind == "file") {
      require_values(2);
      reference_file = arg[iarg + 2];
      return 3;
    }
    error->all(FLERR, "{}: keyword 'reference' got '{}'; supported: current, file FILE", style,
               kind);
  }
  if (keyword == "coeff") {
    require_values(2);
    const auto parsed =
        as_lammps_errors(lmp, FLERR, fmt::format("{}: keyword 'coeff'", style),
                         [&] { return energyloss::parse_coefficient_mode(arg[iarg + 1]); });
    if (parsed == energyloss::CoefficientMode::Explicit)
      error->all(FLERR, "{}: keyword 'coeff': mode 'explicit' needs per-edge values", style);
    mode = parsed;
    coeff_given = true;
    // The mode's preset (e.g. exp divides k0 by the atom count) with the
    // deck's prefactor, or the preset's own (converted in define()).
    if (std::string(arg[iarg + 2]) == "preset") {
      k0.reset();
    } else {
      k0 = keyword_number("coeff", arg[iarg + 2], "K0 must be finite and >= 0");
      if (!(std::isfinite(*k0) && *k0 >= 0.0))
        error->all(FLERR, "{}: keyword 'coeff': K0 must be finite and >= 0, got {}", style,
                   arg[iarg + 2]);
    }
    return 3;
  }
  if (keyword == "length_scale") {
    require_values(1);
    const double value =
        keyword_number("length_scale", arg[iarg + 1], "L must be a finite positive distance");
    if (!(std::isfinite(value) && value > 0.0))
      error->all(FLERR, "{}: keyword 'length_scale' needs a positive distance, got {}", style,
                 arg[iarg + 1]);
    length_scale = value;
    return 2;
  }
  if (keyword == "edges") {
    require_values(1);
    const std::string kind = arg[iarg + 1];
    if (kind == "complete") {
      edge_kind = EdgeKind::Complete;
      return 2;
    }
    if (kind == "cutoff") {
      require_values(2);
      edge_kind = EdgeKind::Cutoff;
      cutoff =
          keyword_number("edges cutoff", arg[iarg + 2], "RC must be a finite positive distance");
      if (!(cutoff > 0.0))
        error->all(FLERR, "{}: keyword 'edges cutoff' needs a positive distance, got {}", style,
                   arg[iarg + 2]);
      return 3;
    }
    if (kind == "sparse") {
      require_values(3);
      edge_kind = EdgeKind::Sparse;
      sparse_degree = keyword_integer("edges sparse", arg[iarg + 2]);
      // The library takes degree 0 for its default (2 * dim); the deck
      // always gives K, so 0 (and 1-3) are refused like any K below 4.
      if (sparse_degree < 4)
        error->all(FLERR,
                   "{}: keyword 'edges sparse': the degree K must be >= 4 (dim + 1, for "
                   "global rigidity in 3D; 6 is typical), got {}",
                   style, arg[iarg + 2]);
      const bigint seed = keyword_integer("edges sparse", arg[iarg + 3]);
      if (seed < 0)
        error->all(FLERR, "{}: keyword 'edges sparse' needs a seed >= 0, got {}", style, seed);
      sparse_seed = static_cast<uint64_t>(seed);
      return 4;
    }
    if (kind == "file") {
      require_values(2);
      edge_kind = EdgeKind::File;
      edge_file = arg[iarg + 2];
      return 3;
    }
    error->all(FLERR,
               "{}: keyword 'edges' got '{}'; supported: complete, cutoff RC, sparse K SEED, "
               "file FILE",
               style, kind);
  }
  return 0;
}

void GroupPairLoss::build_coefficients() {
  // The presets are made for angstrom: convert them to the deck's length
  // unit. lj units have no absolute size; the preset is kept as it is there
  // (lengths of 1 sigma).
  if (edge_kind == EdgeKind::File) {
    // The file's k are the springs themselves, in the deck's units: the
    // explicit mode with k0 = 1 and no per-atom division.
    if (coeff_given)
      lmp->error->all(FLERR,
                      "{}: keywords 'coeff' and 'edges file' conflict: the edges file gives each "
                      "pair's k; drop 'coeff'",
                      style);
    mode = energyloss::CoefficientMode::Explicit;
  }
  const std::string units = lmp->update->unit_style;
  double angstrom = 1.0;
  if (units != "lj") {
    angstrom = as_lammps_errors(
        lmp, FLERR,
        fmt::format("{}: cannot convert the coefficient preset to units {}", style, units),
        [&] { return energyloss::length_unit_factor("angstrom", units); });
  }
  coefficients = energyloss::CoefficientSpec::preset(mode, angstrom);
  if (k0) coefficients.k0 = *k0;
  if (length_scale) {
    if (mode != energyloss::CoefficientMode::Exp && mode != energyloss::CoefficientMode::Morse)
      lmp->error->all(FLERR, "{}: keyword 'length_scale' applies to coeff exp and morse, not {}",
                      style, energyloss::coefficient_mode_name(mode));
    coefficients.length_scale = *length_scale;
  }
  as_lammps_errors(lmp, FLERR, fmt::format("{}: keyword 'coeff'", style),
                   [&] { energyloss::check_coefficient_spec(coefficients); });
}

void GroupPairLoss::define(int groupbit_, const std::string& group_name_) {
  build_coefficients();
  groupbit = groupbit_;
  group_name = group_name_;
  reference = gather_group_coordinates(lmp, groupbit, style);
  if (reference.size() < 2)
    lmp->error->all(FLERR, "{}: group {} has {} atoms, needs at least 2", style, group_name,
                    reference.size());
  if (!reference_file.empty())
    reference.x = read_reference_coordinates(lmp, reference_file, reference.tags, style);
  if (edge_kind != EdgeKind::Cutoff) cutoff = std::numeric_limits<double>::infinity();
  if (edge_kind == EdgeKind::Sparse) build_sparse_edges();
  if (edge_kind == EdgeKind::File) {
    EdgeFileSprings springs = read_edge_file(lmp, edge_file, reference.tags, group_name, style);
    edges = std::move(springs.edges);
    edge_springs = std::move(springs.k);
  }
  check_reference_pairs();
  atom_energy_.resize(reference.size());
}

void GroupPairLoss::check_reference_pairs() {
  // A restraint that does nothing is an error, as an empty `edges file` is.
  // Stops at the first pair within the cutoff; every rank holds the same
  // reference, so all agree.
  if (edge_kind == EdgeKind::Cutoff) {
    const double nearest =
        energyloss::nearest_pair_distance(reference.x.data(), reference.size(), cutoff);
    if (!(nearest < cutoff))
      lmp->error->all(FLERR,
                      "{}: keyword 'edges cutoff {}' gives no pairs: no two atoms of group {} are "
                      "closer than that in the reference (the nearest are {:.6g} apart)",
                      style, cutoff, group_name, nearest);
  }
  check_split_bonds();
}

void GroupPairLoss::check_split_bonds() {
  // Distances are not minimum-image: a molecule whose reference is split
  // across a periodic boundary (wrapped coordinates without image flags) is
  // restrained as split. A bond of the group spanning more than half a
  // periodic box length in the reference shows it; a bulk crystal's long
  // pairs are legitimate, so only bonds are looked at.
  Atom* atom = lmp->atom;
  Domain* domain = lmp->domain;
  const bool periodic = domain->xperiodic || domain->yperiodic || domain->zperiodic;
  if (!periodic || !atom->molecular || !atom->num_bond) return;
  // The bond with the smallest (atom ID, partner ID) that spans too far, on any rank.
  tagint found[2] = {MAXTAGINT, MAXTAGINT};
  const double* x = reference.x.data();
  const double* h_inv = domain->h_inv;  // upper triangular, Voigt order
  for (int i = 0; i < atom->nlocal; ++i) {
    const int si = slot(atom->tag[i]);
    if (si < 0) continue;
    for (int m = 0; m < atom->num_bond[i]; ++m) {
      const int sj = slot(atom->bond_atom[i][m]);
      if (sj < 0) continue;
      const double delta[3] = {x[3 * sj] - x[3 * si], x[3 * sj + 1] - x[3 * si + 1],
                               x[3 * sj + 2] - x[3 * si + 2]};
      const double fraction[3] = {h_inv[0] * delta[0] + h_inv[5] * delta[1] + h_inv[4] * delta[2],
                                  h_inv[1] * delta[1] + h_inv[3] * delta[2], h_inv[2] * delta[2]};
      bool split = false;
      for (int d = 0; d < 3; ++d)
        split = split || (domain->periodicity[d] && std::fabs(fraction[d]) > 0.5);
      const tagint pair[2] = {std::min(atom->tag[i], atom->bond_atom[i][m]),
                              std::max(atom->tag[i], atom->bond_atom[i][m])};
      if (split && std::make_pair(pair[0], pair[1]) < std::make_pair(found[0], found[1]))
        std::copy(pair, pair + 2, found);
    }
  }
  tagint first = found[0];
  MPI_Allreduce(&found[0], &first, 1, MPI_LMP_TAGINT, MPI_MIN, lmp->world);
  tagint partner = first == found[0] ? found[1] : MAXTAGINT, second = partner;
  MPI_Allreduce(&partner, &second, 1, MPI_LMP_TAGINT, MPI_MIN, lmp->world);
  if (first == MAXTAGINT || lmp->comm->me != 0) return;
  const double* xi = &x[3 * slot(first)];
  const double* xj = &x[3 * slot(second)];
  const double r = std::sqrt((xj[0] - xi[0]) * (xj[0] - xi[0]) + (xj[1] - xi[1]) * (xj[1] - xi[1]) +
                             (xj[2] - xi[2]) * (xj[2] - xi[2]));
  lmp->error->warning(FLERR,
                      "{}: the reference puts bonded atoms {} and {} {:.6g} apart, more than half "
                      "a periodic box length: distances are not minimum-image, so a molecule "
                      "split across the boundary is restrained as split (give unwrapped reference "
                      "coordinates, e.g. image flags in the data file)",
                      style, first, second, r);
}

void GroupPairLoss::build_sparse_edges() {
  // Deterministic for the seed, so every rank builds the same graph.
  energyloss::SparseRigidOptions options;
  options.degree = sparse_degree;
  options.seed = sparse_seed;
  const energyloss::SparseRigidGraph graph =
      as_lammps_errors(lmp, FLERR, fmt::format("{}: keyword 'edges sparse'", style), [&] {
        return energyloss::sparse_rigid_edges(reference.x.data(), reference.size(), 3, options);
      });
  edges.resize(2 * graph.edges.size());
  for (size_t e = 0; e < graph.edges.size(); ++e) {
    edges[2 * e] = graph.edges[e][0];
    edges[2 * e + 1] = graph.edges[e][1];
  }
}

double GroupPairLoss::evaluate(bool with_gradient) {
  GroupCoordinates gathered = gather_group_coordinates(lmp, groupbit, style);
  if (gathered.tags != reference.tags)
    lmp->error->all(FLERR,
                    "{}: group {} now has {} atoms (or other atom IDs) but {} when it was defined",
                    style, group_name, gathered.size(), reference.size());
  // A compute asked for its scalar and its per-atom vector on one step sees
  // the same coordinates twice: the O(N^2) kernel need not run again.
  const bool have_gradient = gradient_.size() == gathered.x.size();
  if (evaluated && gathered.x == current.x && (have_gradient || !with_gradient)) return loss;
  current = std::move(gathered);

  energyloss::PairLossInput<double> input;
  input.pred = current.x.data();
  input.ref = reference.x.data();
  input.layout.atoms = reference.size();
  input.cutoff = cutoff;
  // Every rank holds the whole group but walks only its share of the pairs:
  // a block of complete-graph rows (complete, cutoff) or of the edge list
  // (sparse, file); the shares are summed over the ranks below.
  int me = 0, nprocs = 1;
  MPI_Comm_rank(lmp->world, &me);
  MPI_Comm_size(lmp->world, &nprocs);
  energyloss::PairLossOutput<double> output;
  output.energy = &loss;
  output.atom_energy = atom_energy_.data();
  gradient_.resize(with_gradient ? current.x.size() : 0);
  output.grad_pred = with_gradient ? gradient_.data() : nullptr;
  if (edge_kind == EdgeKind::Sparse || edge_kind == EdgeKind::File) {
    const int64_t n_edges = static_cast<int64_t>(edges.size() / 2);
    const int64_t begin = n_edges * me / nprocs, end = n_edges * (me + 1) / nprocs;
    input.edges = energyloss::edge_array(edges.data()) + 2 * begin;
    input.n_edges = end - begin;
    if (!edge_springs.empty()) input.edge_weights = edge_springs.data() + begin;
  } else {
    const std::pair<int64_t, int64_t> rows = complete_graph_rows(reference.size(), me, nprocs);
    input.row_begin = rows.first;
    input.row_end = rows.second;
  }
  // The checks read only what every rank holds alike: bad input throws on all ranks.
  as_lammps_errors(lmp, FLERR, style,
                   [&] { energyloss::pair_energy_loss(input, coefficients, output); });
  if (nprocs > 1) {
    // One reduction for the energy, the atoms' shares and the gradient.
    reduce_buffer.resize(1 + atom_energy_.size() + gradient_.size());
    reduce_buffer[0] = loss;
    std::copy(atom_energy_.begin(), atom_energy_.end(), reduce_buffer.begin() + 1);
    std::copy(gradient_.begin(), gradient_.end(), reduce_buffer.begin() + 1 + atom_energy_.size());
    MPI_Allreduce(MPI_IN_PLACE, reduce_buffer.data(), static_cast<int>(reduce_buffer.size()),
                  MPI_DOUBLE, MPI_SUM, lmp->world);
    loss = reduce_buffer[0];
    std::copy(reduce_buffer.begin() + 1, reduce_buffer.begin() + 1 + atom_energy_.size(),
              atom_energy_.begin());
    std::copy(reduce_buffer.begin() + 1 + atom_energy_.size(), reduce_buffer.end(),
              gradient_.begin());
  }
  evaluated = true;
  return loss;
}

std::pair<int64_t, int64_t> GroupPairLoss::complete_graph_rows(int64_t atoms, int rank,
                                                               int nprocs) {
  // Row i holds the atoms - 1 - i pairs (i, j > i): rank r starts at the
  // first row before which at least r / nprocs of all pairs lie, so every
  // rank gets about the same number of pairs (not of rows).
  auto first_row = [&](int r) -> int64_t {
    if (r <= 0) return 0;
    if (r >= nprocs) return atoms;
    const double total = 0.5 * double(atoms) * double(atoms - 1);
    const double target = total * double(r) / double(nprocs);
    // Pairs in rows [0, k): k (atoms - 1) - k (k - 1) / 2, increasing in k.
    int64_t lo = 0, hi = atoms;
    while (lo < hi) {
      const int64_t k = (lo + hi) / 2;
      const double before = double(k) * double(atoms - 1) - 0.5 * double(k) * double(k - 1);
      if (before >= target)
        hi = k;
      else
        lo = k + 1;
    }
    return lo;
  };
  return {first_row(rank), first_row(rank + 1)};
}

double GroupPairLoss::memory_usage() const {
  return sizeof(double) * (reference.x.size() + current.x.size() + atom_energy_.size() +
                           gradient_.size() + reduce_buffer.size()) +
         sizeof(tagint) * (reference.tags.size() + current.tags.size()) +
         sizeof(int64_t) * edges.size() + sizeof(double) * edge_springs.size();
}
