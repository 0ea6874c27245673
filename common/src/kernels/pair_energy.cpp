#include "energyloss/pair_energy.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "energyloss/error.h"
#include "energyloss/pair_term.h"

// glibc's libmvec has vector exp/expf. Declaring their SIMD variants (what
// <math.h> does under -ffast-math) lets the complete-graph loop vectorise
// while the rest of IEEE semantics (NaN checks) stays intact.
extern "C" {
double exp(double) noexcept __attribute__((simd("notinbranch")));
float expf(float) noexcept __attribute__((simd("notinbranch")));
}

namespace energyloss {
namespace {

// Positions of the whole batch in structure-of-arrays form
// ([coordinate][b * padded + i]) so the complete-graph inner loop reads
// contiguous memory and vectorises. Always three axes (the third zero in 2D)
// so one loop body serves both; each system is padded with zeros to a
// multiple of the vector width so rows never end in a scalar remainder.
template <typename T>
struct SoA {
  std::vector<T> data;
  int64_t n = 0;
  // Padding atoms (masked out) are never read: their slots stay 0, so a NaN
  // marking a missing atom cannot reach the (branch-free) arithmetic.
  SoA(const T* aos, const BatchLayout& layout, int64_t batch, int64_t padded)
      : data(batch * padded * 3, T(0)), n(batch * padded) {
    const int64_t atoms = layout.atoms, dim = layout.dim;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < atoms; ++i) {
        if (!layout.real(b, i)) continue;
        for (int64_t c = 0; c < dim; ++c)
          data[c * n + b * padded + i] = aos[(b * atoms + i) * dim + c];
      }
  }
  const T* axis(int64_t c) const { return data.data() + c * n; }
};

// Vector width the complete-graph rows are padded to (8 floats = one AVX2 register).
constexpr int64_t kRowPadding = 8;

// One thread's share of the outputs. Pairs scatter into both atoms, so each
// thread accumulates privately and the shares are summed at the end: no
// atomics, deterministic for a fixed thread count.
template <typename T>
struct Accumulator {
  std::vector<double> energy;  // [B]
  std::vector<int64_t> pairs;  // [B]
  std::vector<T> grad_pred;    // SoA [3][B * padded]
  std::vector<T> grad_ref;     // SoA [dim][B * padded]
  std::vector<T> atom_energy;  // [B * padded]
};

template <typename T>
struct Problem {
  const PairLossInput<T>& input;
  const CoefficientSpec& spec;
  const PairLossOutput<T>& output;
  std::vector<T> k0;      // effective prefactor per system
  int64_t padded;         // per-system stride of the accumulators (>= atoms)
  std::vector<T> column;  // 0, 1, ..., padded - 1 as T
  int64_t slots() const { return input.layout.batch * padded; }
  int64_t slot(int64_t b, int64_t i) const { return b * padded + i; }
};

template <CoefficientMode Mode, typename T>
inline __attribute__((always_inline)) void complete_graph(const Problem<T>& problem,
                                                          Accumulator<T>& acc, int64_t row_begin,
                                                          int64_t row_end, const SoA<T>& pred,
                                                          const SoA<T>& ref,
                                                          const std::vector<T>& real) {
  const auto& in = problem.input;
  const int64_t N = in.layout.atoms, dim = in.layout.dim, BN = problem.slots();
  const int64_t padded = problem.padded;
  const bool want_ref = problem.output.grad_ref != nullptr;
  const bool want_atoms = problem.output.atom_energy != nullptr;
  const T cutoff2 =
      std::isfinite(in.cutoff) ? T(in.cutoff * in.cutoff) : std::numeric_limits<T>::infinity();
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t b = row / N, i = row % N, base = b * padded, slot = base + i;
    if (real[slot] == T(0)) continue;
    const T k0 = problem.k0[b];
    T pi[3], yi[3];
    for (int c = 0; c < 3; ++c) {
      pi[c] = pred.axis(c)[slot];
      yi[c] = ref.axis(c)[slot];
    }
    T energy_row = 0, gri[3] = {0, 0, 0};
    const T* px = pred.axis(0) + base;
    const T* py = pred.axis(1) + base;
    const T* pz = pred.axis(2) + base;
    const T* yx = ref.axis(0) + base;
    const T* yy = ref.axis(1) + base;
    const T* yz = ref.axis(2) + base;
    T* gx = acc.grad_pred.data() + base;
    T* gy = acc.grad_pred.data() + BN + base;
    T* gz = acc.grad_pred.data() + 2 * BN + base;
    const T* realb = real.data() + base;
    // Vectorised walk over j > i: positions are SoA and every condition is
    // arithmetic (mask, cutoff, coincidence), so the body has no branches.
    // A local copy: the compiler can then hoist the (double) parameters out
    // of the float loop instead of reloading them past the gradient stores.
    const CoefficientSpec spec = problem.spec;
    T pairs_row = 0, gix = 0, giy = 0, giz = 0;
    // Start at the vector-aligned index below i + 1; pairs j <= i get weight 0
    // (compared as T so float loops keep their full vector width).
    const T* column = problem.column.data();
    const T row_index = T(i);
#pragma omp simd reduction(+ : energy_row, pairs_row, gix, giy, giz)
    for (int64_t j = (i + 1) / kRowPadding * kRowPadding; j < padded; ++j) {
      const T dx = pi[0] - px[j], dy = pi[1] - py[j], dz = pi[2] - pz[j];
      const T ex = yi[0] - yx[j], ey = yi[1] - yy[j], ez = yi[2] - yz[j];
      const T r2 = dx * dx + dy * dy + dz * dz;
      const T r02 = ex * ex + ey * ey + ez * ez;
      const T weight = realb[j] * T(r02 < cutoff2) * T(column[j] > row_index);
      // Only the energy and pred gradient are used here; the compiler drops the rest.
      const PairTerm<T> term = pair_term<Mode>(spec, k0, weight, r2, r02);
      const T scale = term.pred_scale;
      energy_row += term.energy;
      pairs_row += weight;
      gix += scale * dx;
      giy += scale * dy;
      giz += scale * dz;
      gx[j] -= scale * dx;
      gy[j] -= scale * dy;
      gz[j] -= scale * dz;
    }
    // Reference gradient and per-atom shares are rarer requests: a second,
    // scalar pass keeps the hot loop lean.
    if (want_ref || want_atoms) {
      for (int64_t j = i + 1; j < N; ++j) {
        T dp[3], dr[3], r2 = 0, r02 = 0;
        for (int c = 0; c < 3; ++c) {
          dp[c] = pi[c] - pred.axis(c)[base + j];
          dr[c] = yi[c] - ref.axis(c)[base + j];
          r2 += dp[c] * dp[c];
          r02 += dr[c] * dr[c];
        }
        const T weight = (r02 < cutoff2) ? realb[j] : T(0);
        if (weight == T(0)) continue;
        const PairTerm<T> term = pair_term<Mode>(problem.spec, k0, weight, r2, r02);
        if (want_ref)
          for (int64_t c = 0; c < dim; ++c) {
            gri[c] += term.ref_scale * dr[c];
            acc.grad_ref[c * BN + base + j] -= term.ref_scale * dr[c];
          }
        if (want_atoms) {
          acc.atom_energy[slot] += T(0.5) * term.energy;
          acc.atom_energy[base + j] += T(0.5) * term.energy;
        }
      }
    }
    acc.grad_pred[slot] += gix;
    acc.grad_pred[BN + slot] += giy;
    acc.grad_pred[2 * BN + slot] += giz;
    if (want_ref)
      for (int64_t c = 0; c < dim; ++c) acc.grad_ref[c * BN + slot] += gri[c];
    acc.energy[b] += energy_row;
    acc.pairs[b] += int64_t(pairs_row);
  }
}

// The same rows compiled twice: for the x86-64 baseline and for AVX2 + FMA
// (4 doubles / 8 floats a vector, libmvec's AVX2 exp), chosen at run time.
template <CoefficientMode Mode, typename T>
void complete_graph_baseline(const Problem<T>& problem, Accumulator<T>& acc, int64_t begin,
                             int64_t end, const SoA<T>& pred, const SoA<T>& ref,
                             const std::vector<T>& real) {
  complete_graph<Mode>(problem, acc, begin, end, pred, ref, real);
}

#if defined(__x86_64__)
template <CoefficientMode Mode, typename T>
__attribute__((target("avx2,fma"))) void complete_graph_avx2(const Problem<T>& problem,
                                                             Accumulator<T>& acc, int64_t begin,
                                                             int64_t end, const SoA<T>& pred,
                                                             const SoA<T>& ref,
                                                             const std::vector<T>& real) {
  complete_graph<Mode>(problem, acc, begin, end, pred, ref, real);
}
const bool kHasAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif

template <CoefficientMode Mode, typename T>
void complete_graph_dispatch(const Problem<T>& problem, Accumulator<T>& acc, int64_t begin,
                             int64_t end, const SoA<T>& pred, const SoA<T>& ref,
                             const std::vector<T>& real) {
#if defined(__x86_64__)
  if (kHasAvx2) return complete_graph_avx2<Mode>(problem, acc, begin, end, pred, ref, real);
#endif
  complete_graph_baseline<Mode>(problem, acc, begin, end, pred, ref, real);
}

template <CoefficientMode Mode, typename T>
void edge_list(const Problem<T>& problem, Accumulator<T>& acc, int64_t begin, int64_t end) {
  const auto& in = problem.input;
  const int64_t N = in.layout.atoms, dim = in.layout.dim, BN = problem.slots();
  const int64_t E = in.n_edges;
  for (int64_t flat = begin; flat < end; ++flat) {
    const int64_t b = flat / E, e = flat % E;
    const int64_t slot = in.edges_per_system ? flat : e;
    const int64_t i = in.edges[2 * slot], j = in.edges[2 * slot + 1];
    // Edge lists jump around memory; fetching a few edges ahead hides the
    // latency that otherwise dominates large sparse graphs.
    constexpr int64_t kAhead = 16;
    if (flat + kAhead < end) {
      const int64_t ahead = in.edges_per_system ? flat + kAhead : (flat + kAhead) % E;
      const int64_t ba = (flat + kAhead) / E, ja = in.edges[2 * ahead + 1];
      if (ja >= 0) {
        __builtin_prefetch(in.pred + (ba * N + ja) * dim);
        __builtin_prefetch(in.ref + (ba * N + ja) * dim);
        for (int64_t c = 0; c < dim; ++c)
          __builtin_prefetch(&acc.grad_pred[c * BN + ba * N + ja], 1);
      }
    }
    if (i < 0 || !in.layout.real(b, i) || !in.layout.real(b, j)) continue;
    const T* pi = in.pred + (b * N + i) * dim;
    const T* pj = in.pred + (b * N + j) * dim;
    const T* yi = in.ref + (b * N + i) * dim;
    const T* yj = in.ref + (b * N + j) * dim;
    T dp[3] = {0, 0, 0}, dr[3] = {0, 0, 0};
    T r2 = 0, r02 = 0;
    for (int64_t c = 0; c < dim; ++c) {
      dp[c] = pi[c] - pj[c];
      dr[c] = yi[c] - yj[c];
      r2 += dp[c] * dp[c];
      r02 += dr[c] * dr[c];
    }
    if (!(double(r02) < in.cutoff * in.cutoff)) continue;
    const T weight = in.edge_weights != nullptr ? in.edge_weights[slot] : T(1);
    const PairTerm<T> term = pair_term<Mode>(problem.spec, problem.k0[b], weight, r2, r02);
    acc.energy[b] += term.energy;
    acc.pairs[b] += 1;
    for (int64_t c = 0; c < dim; ++c) {
      acc.grad_pred[c * BN + b * N + i] += term.pred_scale * dp[c];
      acc.grad_pred[c * BN + b * N + j] -= term.pred_scale * dp[c];
    }
    if (problem.output.grad_ref != nullptr)
      for (int64_t c = 0; c < dim; ++c) {
        acc.grad_ref[c * BN + b * N + i] += term.ref_scale * dr[c];
        acc.grad_ref[c * BN + b * N + j] -= term.ref_scale * dr[c];
      }
    if (problem.output.atom_energy != nullptr) {
      acc.atom_energy[b * N + i] += T(0.5) * term.energy;
      acc.atom_energy[b * N + j] += T(0.5) * term.energy;
    }
  }
}

template <typename T>
void check_edges(const PairLossInput<T>& in, CoefficientMode mode) {
  if (in.edges == nullptr) return;
  const int64_t N = in.layout.atoms;
  const int64_t slots = in.n_edges * (in.edges_per_system ? in.layout.batch : 1);
  for (int64_t s = 0; s < slots; ++s) {
    const int64_t i = in.edges[2 * s], j = in.edges[2 * s + 1];
    const int64_t b = in.edges_per_system ? s / in.n_edges : 0;
    const int64_t e = in.edges_per_system ? s % in.n_edges : s;
    if (i < 0 || j < 0) {
      require(i < 0 && j < 0, "pair_energy_loss: edge ", e,
              in.edges_per_system ? " of system " : "",
              in.edges_per_system ? std::to_string(b) : "", " is half padding (", i, ", ", j,
              "); mark padding with two negative indices");
      continue;
    }
    require(i < N && j < N, "pair_energy_loss: edge ", e, " = (", i, ", ", j,
            ") is out of range for ", N, " atoms");
    require(i != j, "pair_energy_loss: edge ", e, " joins atom ", i, " to itself");
    if (in.edge_weights != nullptr) {
      const T w = in.edge_weights[s];
      require(std::isfinite(w) && w >= T(0), "pair_energy_loss: edge ", e, " has ",
              mode == CoefficientMode::Explicit ? "coefficient " : "weight ", w,
              "; it must be finite and non-negative");
    }
  }
}

}  // namespace

template <typename T>
void validate_pair_arguments(const PairLossInput<T>& in, const CoefficientSpec& spec) {
  check_layout_shape(in.layout, "pair_energy_loss");
  require(in.pred != nullptr && in.ref != nullptr, "pair_energy_loss: pred and ref are required");
  check_coefficient_spec(spec);
  // In T's range: length_scale and eps divide (a subnormal eps made every
  // energy NaN), and the largest k (a tiny morse length_scale or inv eps
  // makes k overflow a float).
  const char* type = sizeof(T) == sizeof(float) ? "float" : "double";
  require(spec.length_scale >= std::numeric_limits<T>::min(), "pair_energy_loss: length_scale (",
          spec.length_scale, ") is below the smallest normal ", type);
  if (spec.mode == CoefficientMode::Inv || spec.mode == CoefficientMode::Inv2)
    require(spec.eps >= std::numeric_limits<T>::min(), "pair_energy_loss: eps (", spec.eps,
            ") is below the smallest normal ", type);
  // The message's parameter list is a string: built only on failure (every
  // call passes here, OpenMM's once per thread and step).
  const double peak = peak_coefficient(spec);
  if (!(peak <= std::numeric_limits<T>::max()))
    fail("pair_energy_loss: mode '", coefficient_mode_name(spec.mode), "' gives k up to ", peak,
         ", beyond the largest ", type, " (", coefficient_parameters(spec), ")");
  require(!(in.cutoff <= 0.0) && !std::isnan(in.cutoff),
          "pair_energy_loss: cutoff must be positive, got ", in.cutoff);
  require(in.row_begin >= 0 && in.row_end >= -1, "pair_energy_loss: row range [", in.row_begin,
          ", ", in.row_end, ") must have row_begin >= 0 and row_end >= 0 (or -1: the last row)");
  if (in.edges == nullptr) {
    require(in.n_edges == 0, "pair_energy_loss: n_edges is ", in.n_edges,
            " but edges is null (null edges means the complete graph; pass edge_array(data) for "
            "a list)");
    require(!in.edges_per_system,
            "pair_energy_loss: edges_per_system is set but edges is null (the complete graph)");
    require(spec.mode != CoefficientMode::Explicit,
            "pair_energy_loss: coefficient mode 'explicit' needs an edge list with per-edge k");
    require(in.edge_weights == nullptr,
            "pair_energy_loss: edge_weights given without edges (weights need an edge list)");
    return;
  }
  require(in.n_edges >= 0, "pair_energy_loss: negative edge count ", in.n_edges);
  require(spec.mode != CoefficientMode::Explicit || in.edge_weights != nullptr,
          "pair_energy_loss: coefficient mode 'explicit' needs edge_weights (the k of each edge)");
}

template <typename T>
std::vector<int64_t> validate_pair_input(const PairLossInput<T>& in, const CoefficientSpec& spec) {
  validate_pair_arguments(in, spec);
  const BatchLayout& layout = in.layout;
  std::vector<int64_t> counts(layout.batch);
  check_layout(layout, "pair_energy_loss", counts.data());
  check_finite(in.pred, layout, "pred");
  check_finite(in.ref, layout, "ref");
  check_edges(in, spec.mode);
  return counts;
}

template <typename T>
void pair_energy_loss(const PairLossInput<T>& in, const CoefficientSpec& spec,
                      const PairLossOutput<T>& out) {
  const BatchLayout& layout = in.layout;
  // An empty batch (B = 0) has nothing to read or write: the outputs may be
  // null (torch's rule follows in the adapters: [0], sum 0, mean NaN).
  if (layout.batch == 0) {
    check_layout_shape(layout, "pair_energy_loss");
    check_coefficient_spec(spec);
    return;
  }
  require(out.energy != nullptr, "pair_energy_loss: the energy output is required");
  const std::vector<int64_t> counts = validate_pair_input(in, spec);

  const bool complete = in.edges == nullptr;
  const int64_t B = layout.batch, N = layout.atoms, dim = layout.dim, BN = B * N;
  const bool all_rows = in.row_begin == 0 && in.row_end < 0;
  require(all_rows || complete,
          "pair_energy_loss: a row range needs the complete graph (edges = nullptr)");
  const int64_t row_end = in.row_end < 0 ? BN : in.row_end;
  require(in.row_begin >= 0 && in.row_begin <= row_end && row_end <= BN,
          "pair_energy_loss: row range [", in.row_begin, ", ", in.row_end, ") is out of range for ",
          BN, " rows");
  const int64_t padded = complete ? (N + kRowPadding - 1) / kRowPadding * kRowPadding : N;
  Problem<T> problem{in, spec, out, std::vector<T>(B), padded, std::vector<T>(padded)};
  for (int64_t j = 0; j < padded; ++j) problem.column[j] = T(j);
  const int64_t slots = problem.slots();
  for (int64_t b = 0; b < B; ++b)
    problem.k0[b] = T(spec.per_atom ? spec.k0 / double(counts[b]) : spec.k0);

  const int threads = omp_get_max_threads();
  std::vector<Accumulator<T>> shares(threads);
  const int64_t first = complete ? in.row_begin : 0;
  const int64_t work = complete ? row_end : B * in.n_edges;
  // Rows (complete graph) or edges handed out at a time; long edge runs keep
  // the prefetching ahead useful.
  const int64_t grain = complete ? 64 : 2048;
  // SoA copies only pay off (and are only needed) for the complete graph.
  const SoA<T> pred_soa(in.pred, layout, complete ? B : 0, padded);
  const SoA<T> ref_soa(in.ref, layout, complete ? B : 0, padded);
  std::vector<T> real(complete ? slots : 0, T(0));
  for (int64_t row = 0; row < (complete ? BN : 0); ++row)
    real[problem.slot(row / N, row % N)] = layout.real(row / N, row % N) ? T(1) : T(0);

#pragma omp parallel num_threads(threads)
  {
    Accumulator<T>& acc = shares[omp_get_thread_num()];
    acc.energy.assign(B, 0.0);
    acc.pairs.assign(B, 0);
    acc.grad_pred.assign(slots * 3, T(0));
    if (out.grad_ref != nullptr) acc.grad_ref.assign(slots * dim, T(0));
    if (out.atom_energy != nullptr) acc.atom_energy.assign(slots, T(0));
    dispatch_coefficient_mode(spec.mode, [&](auto mode) {
      constexpr CoefficientMode M = decltype(mode)::value;
      // Rows of the complete graph shrink with i: small dynamic chunks balance them.
#pragma omp for schedule(dynamic, 8)
      for (int64_t chunk = first; chunk < work; chunk += grain) {
        const int64_t end = std::min(work, chunk + grain);
        if (complete)
          complete_graph_dispatch<M>(problem, acc, chunk, end, pred_soa, ref_soa, real);
        else
          edge_list<M>(problem, acc, chunk, end);
      }
    });
  }

  // Sum the thread shares into the caller's (AoS) outputs. Every input was
  // finite, but coordinates or springs near T's range can still overflow
  // (|x| ~ 1e308 makes inf - inf): refuse that rather than pass on NaN.
  std::vector<T> energies(B);
  for (int64_t b = 0; b < B; ++b) {
    double energy = 0;
    for (const auto& acc : shares) energy += acc.energy[b];
    energies[b] = T(energy);
    require(std::isfinite(energies[b]), "pair_energy_loss: the loss of system ", b, " overflows ",
            sizeof(T) == sizeof(float) ? "float" : "double", " (", energy,
            "): coordinates, coefficients or a front end's scale too large for it; rescale the "
            "coordinates, k0 or the scale");
  }
  for (int64_t b = 0; b < B; ++b) {
    out.energy[b] = energies[b];
    if (out.pair_count == nullptr) continue;
    int64_t pairs = 0;
    for (const auto& acc : shares) pairs += acc.pairs[b];
    out.pair_count[b] = pairs;
  }
  auto gather = [&](T* target, std::vector<T> Accumulator<T>::*field) {
    if (target == nullptr) return;
#pragma omp parallel for schedule(static)
    for (int64_t row = 0; row < BN; ++row)
      for (int64_t c = 0; c < dim; ++c) {
        T sum = 0;
        const int64_t slot = problem.slot(row / N, row % N);
        for (const auto& acc : shares) sum += (acc.*field)[c * slots + slot];
        target[row * dim + c] = sum;
      }
  };
  gather(out.grad_pred, &Accumulator<T>::grad_pred);
  gather(out.grad_ref, &Accumulator<T>::grad_ref);
  if (out.atom_energy != nullptr)
    for (int64_t row = 0; row < BN; ++row) {
      T sum = 0;
      for (const auto& acc : shares) sum += acc.atom_energy[problem.slot(row / N, row % N)];
      out.atom_energy[row] = sum;
    }
}

template void validate_pair_arguments<float>(const PairLossInput<float>&, const CoefficientSpec&);
template void validate_pair_arguments<double>(const PairLossInput<double>&, const CoefficientSpec&);
template std::vector<int64_t> validate_pair_input<float>(const PairLossInput<float>&,
                                                         const CoefficientSpec&);
template std::vector<int64_t> validate_pair_input<double>(const PairLossInput<double>&,
                                                          const CoefficientSpec&);
template void pair_energy_loss<float>(const PairLossInput<float>&, const CoefficientSpec&,
                                      const PairLossOutput<float>&);
template void pair_energy_loss<double>(const PairLossInput<double>&, const CoefficientSpec&,
                                       const PairLossOutput<double>&);

}  // namespace energyloss
