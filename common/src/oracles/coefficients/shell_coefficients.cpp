// Shell-balanced pair coefficients (see energyloss/oracles/shell_coefficients.h).
#include <cmath>
#include <deque>
#include <vector>

#include "atom_pair.h"
#include "bond_graph.h"
#include "energyloss/coefficients.h"
#include "energyloss/error.h"
#include "energyloss/oracles/shell_coefficients.h"

namespace energyloss {

std::vector<int64_t> graph_distances(int64_t atoms, const int64_t* bonds, int64_t n_bonds) {
  const std::vector<std::vector<int64_t>> neighbours = bonded_neighbours(atoms, bonds, n_bonds);
  std::vector<int64_t> distance(static_cast<size_t>(atoms * atoms), -1);
  std::deque<int64_t> queue;
  for (int64_t source = 0; source < atoms; ++source) {
    int64_t* row = distance.data() + source * atoms;
    row[source] = 0;
    queue.assign(1, source);
    while (!queue.empty()) {
      const int64_t atom = queue.front();
      queue.pop_front();
      for (int64_t next : neighbours[size_t(atom)]) {
        if (row[next] < 0) {
          row[next] = row[atom] + 1;
          queue.push_back(next);
        }
      }
    }
  }
  return distance;
}

std::vector<int64_t> edge_shells(int64_t atoms, const int64_t* bonds, int64_t n_bonds,
                                 const int64_t* edges, int64_t n_edges, int64_t shells) {
  require(shells >= 1, "shells: expected >= 1, got ", shells);
  require(n_edges >= 0, "edges: count must be >= 0, got ", n_edges);
  require(n_edges == 0 || edges != nullptr, "edges: must not be null");
  const std::vector<int64_t> distance = graph_distances(atoms, bonds, n_bonds);
  std::vector<int64_t> shell(static_cast<size_t>(n_edges));
  for (int64_t e = 0; e < n_edges; ++e) {
    const int64_t i = edges[2 * e], j = edges[2 * e + 1];
    require_atom_pair(i, j, atoms, "edges[", e, "]");
    const int64_t d = distance[size_t(i * atoms + j)];
    shell[size_t(e)] = (d < 0 || d >= shells) ? shells : d;
  }
  return shell;
}

std::vector<double> exp_shell_totals(const double* reference, int64_t atoms, const int64_t* edges,
                                     int64_t n_edges, const int64_t* shell, int64_t shells) {
  require(reference != nullptr, "reference: needed for the exp preset's shell totals");
  for (int64_t n = 0; n < 3 * atoms; ++n) {
    require(std::isfinite(reference[n]), "reference[", n / 3, ", ", n % 3, "] is not finite (",
            reference[n], ")");
  }
  const CoefficientSpec spec = CoefficientSpec::preset(CoefficientMode::Exp);
  const double k0 = spec.per_atom ? spec.k0 / double(atoms) : spec.k0;
  std::vector<double> totals(static_cast<size_t>(shells), 0.0);
  for (int64_t e = 0; e < n_edges; ++e) {
    const int64_t i = edges[2 * e], j = edges[2 * e + 1];
    double r2 = 0;
    for (int c = 0; c < 3; ++c) r2 += std::pow(reference[3 * i + c] - reference[3 * j + c], 2);
    double k = 0, dk = 0;
    coefficient<CoefficientMode::Exp>(spec, k0, std::sqrt(r2), k, dk);
    totals[size_t(shell[size_t(e)] - 1)] += k;
  }
  return totals;
}

ShellBalanced shell_balanced_coefficients(const double* reference, int64_t atoms,
                                          const int64_t* bonds, int64_t n_bonds,
                                          const int64_t* edges, int64_t n_edges, const double* k,
                                          const ShellBalanceOptions& options) {
  const int64_t shells = options.totals.empty() ? options.shells : int64_t(options.totals.size());
  ShellBalanced result;
  result.shell = edge_shells(atoms, bonds, n_bonds, edges, n_edges, shells);
  require(n_edges == 0 || k != nullptr, "k: must not be null");
  for (int64_t e = 0; e < n_edges; ++e) {
    require(std::isfinite(k[e]) && k[e] >= 0, "k[", e, "]: expected finite and >= 0, got ", k[e]);
  }
  if (options.totals.empty()) {
    result.target = exp_shell_totals(reference, atoms, edges, n_edges, result.shell.data(), shells);
  } else {
    result.target = options.totals;
    for (size_t s = 0; s < result.target.size(); ++s) {
      require(std::isfinite(result.target[s]) && result.target[s] >= 0, "totals[", s,
              "]: expected finite and >= 0, got ", result.target[s]);
    }
  }
  result.input_total.assign(size_t(shells), 0.0);
  std::vector<int64_t> members(size_t(shells), 0);
  for (int64_t e = 0; e < n_edges; ++e) {
    result.input_total[size_t(result.shell[size_t(e)] - 1)] += k[e];
    ++members[size_t(result.shell[size_t(e)] - 1)];
  }
  for (int64_t s = 0; s < shells; ++s) {
    if (members[size_t(s)] > 0 && !(result.input_total[size_t(s)] > 0)) {
      result.uniform_shells.push_back(s + 1);
    }
  }
  result.k.resize(size_t(n_edges));
  for (int64_t e = 0; e < n_edges; ++e) {
    const size_t s = size_t(result.shell[size_t(e)] - 1);
    result.k[size_t(e)] = result.input_total[s] > 0
                              ? result.target[s] * (k[e] / result.input_total[s])
                              : result.target[s] / double(members[s]);
  }
  return result;
}

}  // namespace energyloss
