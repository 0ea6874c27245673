// GPU version of the pair energy loss. Complete graph: one block per
// (system, atom i) row walks every j != i and keeps only atom i's gradient
// and half of each pair's energy, so rows need no atomics on other atoms
// (each pair is computed twice; arithmetic is cheaper than contended
// atomics). Edge lists: one thread per edge, scattering into both atoms with
// atomicAdd (sm_60+ for double).
#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "energyloss/cuda/pair_energy.h"
#include "energyloss/error.h"

namespace energyloss::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kWarp = 32;

void check(cudaError_t status, const char* what) {
  require(status == cudaSuccess, "CUDA ", what, " failed: ", cudaGetErrorString(status));
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
  const T* k0;  // effective prefactor per system
};

// Atom i's share of one pair: the pair energy, and dE/dpred_i, dE/dref_i.
// The same algebra as the CPU kernel; atom j's share is the negated vectors.
template <typename T>
struct PairShare {
  T energy = 0;
  T pred[3] = {0, 0, 0};
  T ref[3] = {0, 0, 0};
};

template <CoefficientMode Mode, typename T>
__device__ bool pair_share(const DevicePair<T>& p, int64_t b, int64_t i, int64_t j, T weight,
                           PairShare<T>& share) {
  const int64_t dim = p.in.layout.dim, base = b * p.in.layout.atoms;
  T dp[3] = {0, 0, 0}, dr[3] = {0, 0, 0}, r2 = 0, r02 = 0;
  for (int64_t c = 0; c < dim; ++c) {
    dp[c] = p.in.pred[(base + i) * dim + c] - p.in.pred[(base + j) * dim + c];
    dr[c] = p.in.ref[(base + i) * dim + c] - p.in.ref[(base + j) * dim + c];
    r2 += dp[c] * dp[c];
    r02 += dr[c] * dr[c];
  }
  if (!(double(r02) < p.in.cutoff * p.in.cutoff)) return false;
  const T r = sqrt(r2), r0 = sqrt(r02);
  T k, dk;
  coefficient<Mode>(p.spec, p.k0[b], r0, k, dk);
  k *= weight;
  dk *= weight;
  const T diff = r - r0;
  share.energy = T(0.5) * k * diff * diff;
  const T pred_scale = r > T(0) ? k * diff / r : T(0);
  const T ref_scale = r0 > T(0) ? (T(0.5) * dk * diff * diff - k * diff) / r0 : T(0);
  for (int64_t c = 0; c < dim; ++c) {
    share.pred[c] = pred_scale * dp[c];
    share.ref[c] = ref_scale * dr[c];
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

template <CoefficientMode Mode, typename T>
__global__ void __launch_bounds__(kThreads) complete_graph_rows(DevicePair<T> p) {
  __shared__ T scratch[kThreads / kWarp];
  const int64_t N = p.in.layout.atoms, dim = p.in.layout.dim;
  const int64_t b = blockIdx.x / N, i = blockIdx.x % N;
  const bool* mask = p.in.layout.mask;
  if (mask != nullptr && !mask[b * N + i]) return;  // uniform over the block
  PairShare<T> row;
  for (int64_t j = threadIdx.x; j < N; j += blockDim.x) {
    PairShare<T> share;
    if (j == i || (mask != nullptr && !mask[b * N + j]) ||
        !pair_share<Mode>(p, b, i, j, T(1), share))
      continue;
    row.energy += T(0.5) * share.energy;  // the other half comes from row j
    for (int64_t c = 0; c < dim; ++c) {
      row.pred[c] += share.pred[c];
      row.ref[c] += share.ref[c];
    }
  }
  const T energy = block_sum(row.energy, scratch);
  if (threadIdx.x == 0) atomicAdd(&p.energy[b], energy);
  for (int64_t c = 0; c < dim; ++c) {
    const T pred = block_sum(row.pred[c], scratch);
    const T ref = block_sum(row.ref[c], scratch);
    if (threadIdx.x != 0) continue;
    if (p.grad_pred != nullptr) p.grad_pred[(b * N + i) * dim + c] = pred;
    if (p.grad_ref != nullptr) p.grad_ref[(b * N + i) * dim + c] = ref;
  }
}

template <CoefficientMode Mode, typename T>
__global__ void edge_list(DevicePair<T> p) {
  const int64_t E = p.in.n_edges, N = p.in.layout.atoms, dim = p.in.layout.dim;
  const int64_t flat = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (flat >= p.in.layout.batch * E) return;
  const int64_t b = flat / E, slot = p.in.edges_per_system ? flat : flat % E;
  const int64_t i = p.in.edges[2 * slot], j = p.in.edges[2 * slot + 1];
  const bool* mask = p.in.layout.mask;
  if (i < 0 || (mask != nullptr && (!mask[b * N + i] || !mask[b * N + j]))) return;
  const T weight = p.in.edge_weights != nullptr ? p.in.edge_weights[slot] : T(1);
  PairShare<T> share;
  if (!pair_share<Mode>(p, b, i, j, weight, share)) return;
  atomicAdd(&p.energy[b], share.energy);
  for (int64_t c = 0; c < dim; ++c) {
    if (p.grad_pred != nullptr) {
      atomicAdd(&p.grad_pred[(b * N + i) * dim + c], share.pred[c]);
      atomicAdd(&p.grad_pred[(b * N + j) * dim + c], -share.pred[c]);
    }
    if (p.grad_ref != nullptr) {
      atomicAdd(&p.grad_ref[(b * N + i) * dim + c], share.ref[c]);
      atomicAdd(&p.grad_ref[(b * N + j) * dim + c], -share.ref[c]);
    }
  }
}

}  // namespace

bool device_available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

template <typename T>
void pair_energy_loss(const PairLossInput<T>& in, const CoefficientSpec& spec,
                      const PairLossOutput<T>& out) {
  require(out.energy != nullptr, "pair_energy_loss (CUDA): the energy output is required");
  require(out.atom_energy == nullptr && out.pair_count == nullptr,
          "pair_energy_loss (CUDA): per-atom energies and pair counts are CPU-only");
  const BatchLayout& layout = in.layout;
  const int64_t B = layout.batch, N = layout.atoms, values = B * N * layout.dim;
  require(B >= 1 && N >= 1, "pair_energy_loss (CUDA): empty batch");
  require(B * std::max<int64_t>(N, in.n_edges) < (int64_t(1) << 31),
          "pair_energy_loss (CUDA): batch x atoms (or edges) = ", B * std::max(N, in.n_edges),
          " exceeds the 2^31 - 1 blocks of one launch; split the batch");
  require(in.row_begin == 0 && in.row_end < 0,
          "pair_energy_loss (CUDA): row ranges are CPU-only; pass the whole batch");

  // Validate on host copies with the CPU kernel's checks: O(B N + E) bytes,
  // small next to the O(N^2) work.
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
  const std::vector<int64_t> counts = validate_pair_input(host, spec);

  std::vector<T> k0(B);
  for (int64_t b = 0; b < B; ++b) k0[b] = T(spec.per_atom ? spec.k0 / double(counts[b]) : spec.k0);
  T* device_k0 = nullptr;
  check(cudaMalloc(&device_k0, B * sizeof(T)), "allocation");
  check(cudaMemcpy(device_k0, k0.data(), B * sizeof(T), cudaMemcpyHostToDevice), "copy to device");
  check(cudaMemset(out.energy, 0, B * sizeof(T)), "memset");
  if (out.grad_pred != nullptr) check(cudaMemset(out.grad_pred, 0, values * sizeof(T)), "memset");
  if (out.grad_ref != nullptr) check(cudaMemset(out.grad_ref, 0, values * sizeof(T)), "memset");

  const DevicePair<T> problem{in, spec, out.energy, out.grad_pred, out.grad_ref, device_k0};
  dispatch_coefficient_mode(spec.mode, [&](auto mode) {
    constexpr CoefficientMode M = decltype(mode)::value;
    if (in.edges == nullptr) {
      complete_graph_rows<M, T><<<unsigned(B * N), kThreads>>>(problem);
    } else if (B * in.n_edges > 0) {
      const int64_t blocks = (B * in.n_edges + kThreads - 1) / kThreads;
      edge_list<M, T><<<unsigned(blocks), kThreads>>>(problem);
    }
  });
  const cudaError_t launched = cudaGetLastError();
  const cudaError_t finished = cudaDeviceSynchronize();
  cudaFree(device_k0);
  check(launched, "kernel launch");
  check(finished, "kernel");
}

template void pair_energy_loss<float>(const PairLossInput<float>&, const CoefficientSpec&,
                                      const PairLossOutput<float>&);
template void pair_energy_loss<double>(const PairLossInput<double>&, const CoefficientSpec&,
                                       const PairLossOutput<double>&);

}  // namespace energyloss::cuda
