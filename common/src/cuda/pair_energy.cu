// GPU version of the pair energy loss. Complete graph: one block per
// (system, atom i) row walks every j != i and keeps only atom i's gradient
// and half of each pair's energy, so rows need no atomics on other atoms
// (each pair is computed twice; arithmetic is cheaper than contended
// atomics). Edge lists: one thread per edge, scattering into both atoms with
// atomicAdd (sm_60+ for double).
#include <cuda_runtime.h>

#include <algorithm>
#include <memory>
#include <type_traits>
#include <vector>

#include "energyloss/cuda/pair_energy.h"
#include "energyloss/error.h"
#include "energyloss/pair_term.h"

namespace energyloss::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kWarp = 32;

void check(cudaError_t status, const char* what) {
  require<RuntimeError>(status == cudaSuccess, "CUDA ", what,
                        " failed: ", cudaGetErrorString(status));
}

template <typename T>
std::vector<T> to_host(const T* device, int64_t count) {
  std::vector<T> host(count);
  if (count > 0)
    check(cudaMemcpy(host.data(), device, count * sizeof(T), cudaMemcpyDeviceToHost),
          "copy to host");
  return host;
}

template <typename T>
struct DevicePair {
  PairLossInput<T> in;
  CoefficientSpec spec;
  T* energy;
  T* grad_pred;
  T* grad_ref;
  const T* k0;     // effective prefactor per system
  double cutoff2;  // squared reference cutoff
};

// Coordinates of one atom. Dim is a template parameter so that loops over
// coordinates unroll and small arrays stay in registers.
template <int Dim, typename T>
struct Point {
  T x[Dim];
};

template <int Dim, typename T>
__device__ Point<Dim, T> load(const T* positions, int64_t atom) {
  Point<Dim, T> point;
#pragma unroll
  for (int c = 0; c < Dim; ++c) point.x[c] = positions[atom * Dim + c];
  return point;
}

// Atom i's share of one pair: the pair energy, and dE/dpred_i, dE/dref_i
// (pair_term's, as on the CPU); atom j's share is the negated vectors.
template <int Dim, typename T>
struct PairShare {
  T energy = 0;
  T pred[Dim] = {};
  T ref[Dim] = {};
};

template <CoefficientMode Mode, int Dim, typename T>
__device__ bool pair_share(const DevicePair<T>& p, T k0, const Point<Dim, T>& pred_i,
                           const Point<Dim, T>& ref_i, const Point<Dim, T>& pred_j,
                           const Point<Dim, T>& ref_j, T weight, PairShare<Dim, T>& share) {
  T dp[Dim], dr[Dim], r2 = 0, r02 = 0;
#pragma unroll
  for (int c = 0; c < Dim; ++c) {
    dp[c] = pred_i.x[c] - pred_j.x[c];
    dr[c] = ref_i.x[c] - ref_j.x[c];
    r2 += dp[c] * dp[c];
    r02 += dr[c] * dr[c];
  }
  if (!(double(r02) < p.cutoff2)) return false;
  const PairTerm<T> term = pair_term<Mode>(p.spec, k0, weight, r2, r02);
  share.energy = term.energy;
#pragma unroll
  for (int c = 0; c < Dim; ++c) {
    share.pred[c] = term.pred_scale * dp[c];
    share.ref[c] = term.ref_scale * dr[c];
  }
  return true;
}

// Sums `value` over the block; the total is valid in thread 0.
template <typename T>
__device__ T block_sum(T value, T* scratch) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    value += __shfl_down_sync(0xffffffffu, value, offset);
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  __syncthreads();  // scratch may still be read by the previous call
  if (lane == 0) scratch[warp] = value;
  __syncthreads();
  value = 0;
  if (threadIdx.x == 0)
    for (int w = 0; w < kThreads / kWarp; ++w) value += scratch[w];
  return value;
}

template <CoefficientMode Mode, int Dim, typename T>
__global__ void __launch_bounds__(kThreads) complete_graph_rows(DevicePair<T> p) {
  __shared__ T scratch[kThreads / kWarp];
  const int64_t N = p.in.layout.atoms;
  const int64_t b = blockIdx.x / N, i = blockIdx.x % N;
  const bool* mask = p.in.layout.mask == nullptr ? nullptr : p.in.layout.mask + b * N;
  if (mask != nullptr && !mask[i]) return;  // uniform over the block
  const T* pred = p.in.pred + b * N * Dim;
  const T* ref = p.in.ref + b * N * Dim;
  const Point<Dim, T> pred_i = load<Dim>(pred, i), ref_i = load<Dim>(ref, i);
  const T k0 = p.k0[b];
  PairShare<Dim, T> row;
  for (int64_t j = threadIdx.x; j < N; j += blockDim.x) {
    PairShare<Dim, T> share;
    if (j == i || (mask != nullptr && !mask[j]) ||
        !pair_share<Mode>(p, k0, pred_i, ref_i, load<Dim>(pred, j), load<Dim>(ref, j), T(1), share))
      continue;
    row.energy += T(0.5) * share.energy;  // the other half comes from row j
#pragma unroll
    for (int c = 0; c < Dim; ++c) {
      row.pred[c] += share.pred[c];
      row.ref[c] += share.ref[c];
    }
  }
  const T energy = block_sum(row.energy, scratch);
  if (threadIdx.x == 0) atomicAdd(&p.energy[b], energy);
#pragma unroll
  for (int c = 0; c < Dim; ++c) {
    const T pred_sum = block_sum(row.pred[c], scratch);
    const T ref_sum = block_sum(row.ref[c], scratch);
    if (threadIdx.x != 0) continue;
    if (p.grad_pred != nullptr) p.grad_pred[(b * N + i) * Dim + c] = pred_sum;
    if (p.grad_ref != nullptr) p.grad_ref[(b * N + i) * Dim + c] = ref_sum;
  }
}

template <CoefficientMode Mode, int Dim, typename T>
__global__ void edge_list(DevicePair<T> p) {
  const int64_t E = p.in.n_edges, N = p.in.layout.atoms;
  const int64_t flat = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (flat >= p.in.layout.batch * E) return;
  const int64_t b = flat / E, slot = p.in.edges_per_system ? flat : flat % E;
  const int64_t i = p.in.edges[2 * slot], j = p.in.edges[2 * slot + 1];
  const bool* mask = p.in.layout.mask;
  if (i < 0 || (mask != nullptr && (!mask[b * N + i] || !mask[b * N + j]))) return;
  const T weight = p.in.edge_weights != nullptr ? p.in.edge_weights[slot] : T(1);
  const T* pred = p.in.pred + b * N * Dim;
  const T* ref = p.in.ref + b * N * Dim;
  PairShare<Dim, T> share;
  if (!pair_share<Mode>(p, p.k0[b], load<Dim>(pred, i), load<Dim>(ref, i), load<Dim>(pred, j),
                        load<Dim>(ref, j), weight, share))
    return;
  atomicAdd(&p.energy[b], share.energy);
#pragma unroll
  for (int c = 0; c < Dim; ++c) {
    if (p.grad_pred != nullptr) {
      atomicAdd(&p.grad_pred[(b * N + i) * Dim + c], share.pred[c]);
      atomicAdd(&p.grad_pred[(b * N + j) * Dim + c], -share.pred[c]);
    }
    if (p.grad_ref != nullptr) {
      atomicAdd(&p.grad_ref[(b * N + i) * Dim + c], share.ref[c]);
      atomicAdd(&p.grad_ref[(b * N + j) * Dim + c], -share.ref[c]);
    }
  }
}

// Real atoms per system (one block each) and the effective k0 they give.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    count_real_atoms(BatchLayout layout, CoefficientSpec spec, T* k0, int* suspicious) {
  __shared__ long long scratch[kThreads / kWarp];
  const int64_t b = blockIdx.x;
  long long count = 0;
  for (int64_t i = threadIdx.x; i < layout.atoms; i += blockDim.x)
    count += layout.mask == nullptr || layout.mask[b * layout.atoms + i];
  count = block_sum(count, scratch);
  if (threadIdx.x != 0) return;
  if (count == 0) *suspicious = 1;
  k0[b] = T(spec.per_atom ? spec.k0 / double(count > 0 ? count : 1) : spec.k0);
}

// The value and edge checks of validate_pair_input, flagging instead of
// naming: a flag sends the call to the host checks, which name the first bad
// value.
template <typename T>
__global__ void scan_arrays(PairLossInput<T> in, int64_t values, int64_t edge_slots,
                            int* suspicious) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  bool bad = false;
  for (int64_t v = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; v < values; v += stride) {
    // Padding atoms are never read (a NaN may mark a missing atom).
    if (in.layout.mask != nullptr && !in.layout.mask[v / in.layout.dim]) continue;
    bad |= !isfinite(in.pred[v]) || !isfinite(in.ref[v]);
  }
  for (int64_t s = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; s < edge_slots; s += stride) {
    const int64_t i = in.edges[2 * s], j = in.edges[2 * s + 1];
    if (i < 0 || j < 0) {
      bad |= !(i < 0 && j < 0);
      continue;
    }
    bad |= i >= in.layout.atoms || j >= in.layout.atoms || i == j;
    if (in.edge_weights != nullptr) {
      const T w = in.edge_weights[s];
      bad |= !(isfinite(w) && w >= T(0));
    }
  }
  if (bad) *suspicious = 1;
}

// The host checks on copies of the arrays: they throw the message naming the
// first bad value that the device scan flagged.
template <typename T>
void explain_bad_input(const PairLossInput<T>& in, const CoefficientSpec& spec) {
  const BatchLayout& layout = in.layout;
  const int64_t B = layout.batch, N = layout.atoms, values = B * N * layout.dim;
  const std::vector<T> pred = to_host(in.pred, values), ref = to_host(in.ref, values);
  std::vector<char> mask_bytes;
  if (layout.mask != nullptr) {
    mask_bytes.resize(B * N);
    check(cudaMemcpy(mask_bytes.data(), layout.mask, B * N, cudaMemcpyDeviceToHost),
          "copy to host");
  }
  const int64_t edge_slots = in.edges == nullptr ? 0 : in.n_edges * (in.edges_per_system ? B : 1);
  const std::vector<int64_t> edges = to_host(in.edges, 2 * edge_slots);
  const std::vector<T> weights =
      in.edge_weights == nullptr ? std::vector<T>() : to_host(in.edge_weights, edge_slots);
  PairLossInput<T> host = in;
  host.pred = pred.data();
  host.ref = ref.data();
  host.layout.mask =
      layout.mask == nullptr ? nullptr : reinterpret_cast<const bool*>(mask_bytes.data());
  host.edges = in.edges == nullptr ? nullptr : edges.data();
  host.edge_weights = in.edge_weights == nullptr ? nullptr : weights.data();
  validate_pair_input(host, spec);
  fail<RuntimeError>(
      "pair_energy_loss (CUDA): the device scan flagged the input but the host checks pass");
}

}  // namespace

bool device_available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

template <typename T>
void pair_energy_loss(const PairLossInput<T>& in, const CoefficientSpec& spec,
                      const PairLossOutput<T>& out) {
  // An empty batch (B = 0): nothing to read or write, as on the CPU.
  if (in.layout.batch == 0) {
    check_layout_shape(in.layout, "pair_energy_loss (CUDA)");
    check_coefficient_spec(spec);
    return;
  }
  require(out.energy != nullptr, "pair_energy_loss (CUDA): the energy output is required");
  require(out.atom_energy == nullptr && out.pair_count == nullptr,
          "pair_energy_loss (CUDA): per-atom energies and pair counts are CPU-only");
  validate_pair_arguments(in, spec);
  const BatchLayout& layout = in.layout;
  const int64_t B = layout.batch, N = layout.atoms, values = B * N * layout.dim;
  require(B * std::max(N, in.n_edges) < (int64_t(1) << 31),
          "pair_energy_loss (CUDA): batch x atoms (or edges) = ", B * std::max(N, in.n_edges),
          " exceeds the 2^31 - 1 blocks of one launch; split the batch");
  require(in.row_begin == 0 && in.row_end < 0,
          "pair_energy_loss (CUDA): row ranges are CPU-only; pass the whole batch");

  // The per-system k0 and the scan flag share one allocation. The arrays are
  // scanned where they live, so only the flag crosses the bus.
  const size_t k0_bytes = (B * sizeof(T) + sizeof(int) - 1) / sizeof(int) * sizeof(int);
  void* allocation = nullptr;
  check(cudaMalloc(&allocation, k0_bytes + sizeof(int)), "allocation");
  const std::unique_ptr<void, cudaError_t (*)(void*)> scratch(allocation, cudaFree);
  T* device_k0 = static_cast<T*>(allocation);
  int* device_suspicious = reinterpret_cast<int*>(static_cast<char*>(allocation) + k0_bytes);
  const int64_t edge_slots = in.edges == nullptr ? 0 : in.n_edges * (in.edges_per_system ? B : 1);
  const int64_t scan_blocks =
      std::min<int64_t>((std::max(values, edge_slots) + kThreads - 1) / kThreads, 4096);
  check(cudaMemset(device_suspicious, 0, sizeof(int)), "memset");
  count_real_atoms<T><<<unsigned(B), kThreads>>>(layout, spec, device_k0, device_suspicious);
  scan_arrays<T><<<unsigned(scan_blocks), kThreads>>>(in, values, edge_slots, device_suspicious);
  int suspicious = 0;
  check(cudaMemcpy(&suspicious, device_suspicious, sizeof(int), cudaMemcpyDeviceToHost),
        "input scan");
  if (suspicious) explain_bad_input(in, spec);
  check(cudaMemset(out.energy, 0, B * sizeof(T)), "memset");
  if (out.grad_pred != nullptr) check(cudaMemset(out.grad_pred, 0, values * sizeof(T)), "memset");
  if (out.grad_ref != nullptr) check(cudaMemset(out.grad_ref, 0, values * sizeof(T)), "memset");

  const DevicePair<T> problem{in,           spec,      out.energy,           out.grad_pred,
                              out.grad_ref, device_k0, in.cutoff * in.cutoff};
  const auto launch = [&](auto mode, auto dim) {
    constexpr CoefficientMode M = decltype(mode)::value;
    constexpr int D = decltype(dim)::value;
    if (in.edges == nullptr) {
      complete_graph_rows<M, D, T><<<unsigned(B * N), kThreads>>>(problem);
    } else if (B * in.n_edges > 0) {
      const int64_t blocks = (B * in.n_edges + kThreads - 1) / kThreads;
      edge_list<M, D, T><<<unsigned(blocks), kThreads>>>(problem);
    }
  };
  dispatch_coefficient_mode(spec.mode, [&](auto mode) {
    if (layout.dim == 3)
      launch(mode, std::integral_constant<int, 3>());
    else
      launch(mode, std::integral_constant<int, 2>());
  });
  const cudaError_t launched = cudaGetLastError();
  const cudaError_t finished = cudaDeviceSynchronize();
  check(launched, "kernel launch");
  check(finished, "kernel");
}

template void pair_energy_loss<float>(const PairLossInput<float>&, const CoefficientSpec&,
                                      const PairLossOutput<float>&);
template void pair_energy_loss<double>(const PairLossInput<double>&, const CoefficientSpec&,
                                       const PairLossOutput<double>&);

}  // namespace energyloss::cuda
