// GPU version of the pair energy loss. Complete graph: one block per
// (system, atom i) row walks every j != i and keeps only atom i's gradient
// and half of each pair's energy, so rows need no atomics on other atoms
// (each pair is computed twice; arithmetic is cheaper than contended
// atomics). Edge lists: one thread per edge, scattering into both atoms with
// atomicAdd (sm_60+ for double); a warp whose edges all belong to one system
// adds its energy and pair count to that system with one atomic each.
// Everything is queued on the caller's stream; the host waits only for the
// input-check flag (and at the end when LaunchOptions::synchronize).
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
  // No device, or no driver, shows first as a failed allocation: say so.
  const bool no_device = status == cudaErrorNoDevice || status == cudaErrorInsufficientDriver;
  require<RuntimeError>(status == cudaSuccess, "CUDA ", what,
                        " failed: ", cudaGetErrorString(status),
                        no_device ? " (no usable CUDA device in this process; "
                                    "energyloss::cuda::device_available() tells beforehand)"
                                  : "");
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
  T* atom_energy;       // [B, N] or nullptr
  int64_t* pair_count;  // [B] or nullptr
  const T* k0;          // effective prefactor per system
  double cutoff2;       // squared reference cutoff
};

__device__ void add_count(int64_t* target, long long count) {
  atomicAdd(reinterpret_cast<unsigned long long*>(target), static_cast<unsigned long long>(count));
}

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
  __shared__ long long count_scratch[kThreads / kWarp];
  const int64_t N = p.in.layout.atoms;
  const int64_t b = blockIdx.x / N, i = blockIdx.x % N;
  const bool* mask = p.in.layout.mask == nullptr ? nullptr : p.in.layout.mask + b * N;
  if (mask != nullptr && !mask[i]) return;  // uniform over the block
  const T* pred = p.in.pred + b * N * Dim;
  const T* ref = p.in.ref + b * N * Dim;
  const Point<Dim, T> pred_i = load<Dim>(pred, i), ref_i = load<Dim>(ref, i);
  const T k0 = p.k0[b];
  PairShare<Dim, T> row;
  long long pairs = 0;  // pairs (i, j > i): each pair counted once
  for (int64_t j = threadIdx.x; j < N; j += blockDim.x) {
    PairShare<Dim, T> share;
    if (j == i || (mask != nullptr && !mask[j]) ||
        !pair_share<Mode>(p, k0, pred_i, ref_i, load<Dim>(pred, j), load<Dim>(ref, j), T(1), share))
      continue;
    pairs += j > i;
    row.energy += T(0.5) * share.energy;  // the other half comes from row j
#pragma unroll
    for (int c = 0; c < Dim; ++c) {
      row.pred[c] += share.pred[c];
      row.ref[c] += share.ref[c];
    }
  }
  // Atom i's half of its pairs is its per-atom energy.
  const T energy = block_sum(row.energy, scratch);
  if (threadIdx.x == 0) {
    atomicAdd(&p.energy[b], energy);
    if (p.atom_energy != nullptr) p.atom_energy[b * N + i] = energy;
  }
  if (p.pair_count != nullptr) {  // uniform over the block
    const long long count = block_sum(pairs, count_scratch);
    if (threadIdx.x == 0) add_count(&p.pair_count[b], count);
  }
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
__global__ void __launch_bounds__(kThreads) edge_list(DevicePair<T> p) {
  const int64_t E = p.in.n_edges, N = p.in.layout.atoms, total = p.in.layout.batch * E;
  const int64_t flat = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  // Every lane stays to the end: the per-system sums are reduced over the warp.
  const int64_t b = flat < total ? flat / E : -1;
  PairShare<Dim, T> share;
  bool hit = false;
  if (flat < total) {
    const int64_t slot = p.in.edges_per_system ? flat : flat % E;
    const int64_t i = p.in.edges[2 * slot], j = p.in.edges[2 * slot + 1];
    const bool* mask = p.in.layout.mask;
    if (i >= 0 && (mask == nullptr || (mask[b * N + i] && mask[b * N + j]))) {
      const T weight = p.in.edge_weights != nullptr ? p.in.edge_weights[slot] : T(1);
      const T* pred = p.in.pred + b * N * Dim;
      const T* ref = p.in.ref + b * N * Dim;
      hit = pair_share<Mode>(p, p.k0[b], load<Dim>(pred, i), load<Dim>(ref, i), load<Dim>(pred, j),
                             load<Dim>(ref, j), weight, share);
    }
    if (hit) {
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
      if (p.atom_energy != nullptr) {
        atomicAdd(&p.atom_energy[b * N + i], T(0.5) * share.energy);
        atomicAdd(&p.atom_energy[b * N + j], T(0.5) * share.energy);
      }
    }
  }
  // The system's energy and pair count: one atomic per warp when the whole
  // warp is in one system (the common case), else one per edge.
  T energy = hit ? share.energy : T(0);
  long long count = hit ? 1 : 0;
  const int64_t b0 = __shfl_sync(0xffffffffu, b, 0);
  if (__all_sync(0xffffffffu, b == b0)) {
    for (int offset = kWarp / 2; offset > 0; offset /= 2) {
      energy += __shfl_down_sync(0xffffffffu, energy, offset);
      count += __shfl_down_sync(0xffffffffu, count, offset);
    }
    if (threadIdx.x % kWarp == 0 && b0 >= 0) {
      atomicAdd(&p.energy[b0], energy);
      if (p.pair_count != nullptr) add_count(&p.pair_count[b0], count);
    }
  } else if (hit) {
    atomicAdd(&p.energy[b], energy);
    if (p.pair_count != nullptr) add_count(&p.pair_count[b], count);
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
  host.edges = in.edges == nullptr ? nullptr : energyloss::edge_array(edges.data());
  host.edge_weights = in.edge_weights == nullptr ? nullptr : energyloss::edge_array(weights.data());
  validate_pair_input(host, spec);
  fail<RuntimeError>(
      "pair_energy_loss (CUDA): the device scan flagged the input but the host checks pass");
}

}  // namespace

bool device_available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

namespace {
// The per-system k0 (aligned to 16 bytes) and then the scan flag.
size_t k0_bytes(int64_t batch, size_t value_bytes) {
  return (size_t(batch) * value_bytes + 15) / 16 * 16;
}
}  // namespace

size_t workspace_bytes(int64_t batch, size_t value_bytes) {
  require(batch >= 0, "workspace_bytes: negative batch size ", batch);
  require(value_bytes == sizeof(float) || value_bytes == sizeof(double),
          "workspace_bytes: value_bytes must be sizeof(float) or sizeof(double), got ",
          value_bytes);
  return k0_bytes(batch, value_bytes) + sizeof(int);
}

template <typename T>
void pair_energy_loss(const PairLossInput<T>& in, const CoefficientSpec& spec,
                      const PairLossOutput<T>& out, const LaunchOptions& launch) {
  // An empty batch (B = 0): nothing to read or write, as on the CPU.
  if (in.layout.batch == 0) {
    check_layout_shape(in.layout, "pair_energy_loss (CUDA)");
    check_coefficient_spec(spec);
    return;
  }
  require(out.energy != nullptr, "pair_energy_loss (CUDA): the energy output is required");
  validate_pair_arguments(in, spec);
  const BatchLayout& layout = in.layout;
  const int64_t B = layout.batch, N = layout.atoms, values = B * N * layout.dim;
  require(B * std::max(N, in.n_edges) < (int64_t(1) << 31),
          "pair_energy_loss (CUDA): batch x atoms (or edges) = ", B * std::max(N, in.n_edges),
          " exceeds the 2^31 - 1 blocks of one launch; split the batch");
  require(in.row_begin == 0 && in.row_end < 0,
          "pair_energy_loss (CUDA): row ranges are CPU-only; pass the whole batch");
  cudaStream_t stream = launch.stream;

  // The per-system k0 and the scan flag share one allocation (the caller's,
  // or ours). The arrays are scanned where they live, so only the flag
  // crosses the bus.
  void* allocation = launch.workspace;
  std::unique_ptr<void, cudaError_t (*)(void*)> owned(nullptr, cudaFree);
  if (allocation == nullptr) {
    check(cudaMalloc(&allocation, workspace_bytes(B, sizeof(T))), "allocation");
    owned.reset(allocation);
  }
  T* device_k0 = static_cast<T*>(allocation);
  int* device_suspicious =
      reinterpret_cast<int*>(static_cast<char*>(allocation) + k0_bytes(B, sizeof(T)));
  const int64_t edge_slots = in.edges == nullptr ? 0 : in.n_edges * (in.edges_per_system ? B : 1);
  const int64_t scan_blocks =
      std::min<int64_t>((std::max(values, edge_slots) + kThreads - 1) / kThreads, 4096);
  check(cudaMemsetAsync(device_suspicious, 0, sizeof(int), stream), "memset");
  count_real_atoms<T>
      <<<unsigned(B), kThreads, 0, stream>>>(layout, spec, device_k0, device_suspicious);
  scan_arrays<T>
      <<<unsigned(scan_blocks), kThreads, 0, stream>>>(in, values, edge_slots, device_suspicious);
  check(cudaGetLastError(), "input scan launch");
  // The one wait of the call: the flag decides whether the loss runs.
  int suspicious = 0;
  check(
      cudaMemcpyAsync(&suspicious, device_suspicious, sizeof(int), cudaMemcpyDeviceToHost, stream),
      "input scan");
  check(cudaStreamSynchronize(stream), "input scan");
  if (suspicious) explain_bad_input(in, spec);
  const auto zero = [&](void* target, size_t bytes) {
    if (target != nullptr) check(cudaMemsetAsync(target, 0, bytes, stream), "memset");
  };
  zero(out.energy, B * sizeof(T));
  zero(out.grad_pred, values * sizeof(T));
  zero(out.grad_ref, values * sizeof(T));
  zero(out.atom_energy, B * N * sizeof(T));
  zero(out.pair_count, B * sizeof(int64_t));

  const DevicePair<T> problem{in,
                              spec,
                              out.energy,
                              out.grad_pred,
                              out.grad_ref,
                              out.atom_energy,
                              out.pair_count,
                              device_k0,
                              in.cutoff * in.cutoff};
  const auto run = [&](auto mode, auto dim) {
    constexpr CoefficientMode M = decltype(mode)::value;
    constexpr int D = decltype(dim)::value;
    if (in.edges == nullptr) {
      complete_graph_rows<M, D, T><<<unsigned(B * N), kThreads, 0, stream>>>(problem);
    } else if (B * in.n_edges > 0) {
      const int64_t blocks = (B * in.n_edges + kThreads - 1) / kThreads;
      edge_list<M, D, T><<<unsigned(blocks), kThreads, 0, stream>>>(problem);
    }
  };
  dispatch_coefficient_mode(spec.mode, [&](auto mode) {
    if (layout.dim == 3)
      run(mode, std::integral_constant<int, 3>());
    else
      run(mode, std::integral_constant<int, 2>());
  });
  check(cudaGetLastError(), "kernel launch");
  if (launch.synchronize) check(cudaStreamSynchronize(stream), "kernel");
}

template void pair_energy_loss<float>(const PairLossInput<float>&, const CoefficientSpec&,
                                      const PairLossOutput<float>&, const LaunchOptions&);
template void pair_energy_loss<double>(const PairLossInput<double>&, const CoefficientSpec&,
                                       const PairLossOutput<double>&, const LaunchOptions&);

}  // namespace energyloss::cuda
