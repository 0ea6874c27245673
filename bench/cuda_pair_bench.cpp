// The GPU pair kernel against the CPU kernel (OpenMP on every core) on the
// same inputs: energy plus both gradients, float and double, complete graphs
// of growing size and a per-system sparse graph. Every GPU result is checked
// against the CPU one before it is timed; a mismatch exits non-zero.
//
// Usage: cuda_pair_bench [--csv]
//   --csv  one line per case, "case,dtype,B,N,pairs,cpu_ms,gpu_ms", for
//          bench/cuda_pair_bench.py, which adds LibTorch's dense CUDA
//          formulation as the reference.
#include <cuda_runtime.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "energyloss/cuda/pair_energy.h"
#include "energyloss/error.h"

namespace {

using namespace energyloss;
using Clock = std::chrono::steady_clock;

struct Case {
  const char* name;
  int64_t batch, atoms;
  int64_t degree;  // 0: complete graph; else random edges per atom, per system
};

void check_cuda(cudaError_t status) {
  require<RuntimeError>(status == cudaSuccess, "CUDA: ", cudaGetErrorString(status));
}

template <typename T>
struct DeviceBuffer {
  T* data = nullptr;
  explicit DeviceBuffer(const std::vector<T>& host) {
    check_cuda(cudaMalloc(&data, std::max<size_t>(host.size(), 1) * sizeof(T)));
    check_cuda(cudaMemcpy(data, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { cudaFree(data); }
  std::vector<T> copy(size_t count) const {
    std::vector<T> host(count);
    check_cuda(cudaMemcpy(host.data(), data, count * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
};

// Median wall time of `step` in ms: one warm-up, then repeats for ~budget.
double median_ms(const std::function<void()>& step, double budget_seconds) {
  step();
  std::vector<double> times;
  const auto start = Clock::now();
  while (times.size() < 3 ||
         (std::chrono::duration<double>(Clock::now() - start).count() < budget_seconds &&
          times.size() < 200)) {
    const auto t0 = Clock::now();
    step();
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

// Largest |a - b| relative to the largest |b|.
template <typename T>
double relative_difference(const std::vector<T>& a, const std::vector<T>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return diff / std::max(scale, 1e-30);
}

template <typename T>
bool run_case(const Case& c, bool csv) {
  const int64_t B = c.batch, N = c.atoms, values = B * N * 3;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  std::vector<T> ref(values), pred(values);
  // Unit-density clouds: neighbour distances stay O(1) at every size.
  const double box = std::cbrt(double(N));
  for (auto& v : ref) v = T(box * normal(rng) / 3);
  for (int64_t i = 0; i < values; ++i) pred[i] = ref[i] + T(0.2 * normal(rng));
  std::vector<int64_t> edges;
  std::uniform_int_distribution<int64_t> atom(0, N - 1);
  for (int64_t b = 0; b < (c.degree > 0 ? B : 0); ++b)
    for (int64_t i = 0; i < N; ++i)
      for (int64_t d = 0; d < c.degree; ++d) {
        int64_t j = atom(rng);
        if (j == i) j = (i + 1) % N;
        edges.insert(edges.end(), {i, j});
      }

  PairLossInput<T> in;
  in.pred = pred.data();
  in.ref = ref.data();
  in.layout = {B, N, 3, nullptr};
  if (c.degree > 0) {
    in.edges = edges.data();
    in.n_edges = N * c.degree;
    in.edges_per_system = true;
  }
  const CoefficientSpec spec = CoefficientSpec::preset(CoefficientMode::Exp);
  std::vector<T> energy(B), grad_pred(values), grad_ref(values);
  const PairLossOutput<T> out{energy.data(), grad_pred.data(), grad_ref.data()};
  const double cpu_ms = median_ms([&] { pair_energy_loss(in, spec, out); }, 1.0);

  DeviceBuffer<T> d_pred(pred), d_ref(ref), d_energy(energy), d_grad_pred(grad_pred),
      d_grad_ref(grad_ref);
  DeviceBuffer<int64_t> d_edges(edges);
  PairLossInput<T> device_in = in;
  device_in.pred = d_pred.data;
  device_in.ref = d_ref.data;
  if (c.degree > 0) device_in.edges = d_edges.data;
  const PairLossOutput<T> device_out{d_energy.data, d_grad_pred.data, d_grad_ref.data};
  const double gpu_ms =
      median_ms([&] { cuda::pair_energy_loss(device_in, spec, device_out); }, 1.0);

  // Pairs are summed in a different order on the GPU; float keeps ~1e-4.
  const double tolerance = sizeof(T) == 4 ? 2e-3 : 1e-9;
  const double mismatch = std::max({relative_difference(d_energy.copy(B), energy),
                                    relative_difference(d_grad_pred.copy(values), grad_pred),
                                    relative_difference(d_grad_ref.copy(values), grad_ref)});
  const char* dtype = sizeof(T) == 4 ? "float" : "double";
  const double pairs = c.degree > 0 ? double(B) * N * c.degree : double(B) * N * (N - 1) / 2;
  if (csv)
    std::printf("%s,%s,%lld,%lld,%.0f,%.4f,%.4f\n", c.name, dtype, (long long)B, (long long)N,
                pairs, cpu_ms, gpu_ms);
  else
    std::printf(
        "%-10s %-6s B=%-4lld N=%-6lld %10.3g pairs  CPU %9.3f ms  GPU %8.3f ms  %6.1fx"
        "  (max rel. diff %.1e)\n",
        c.name, dtype, (long long)B, (long long)N, pairs, cpu_ms, gpu_ms, cpu_ms / gpu_ms,
        mismatch);
  if (!(mismatch <= tolerance)) {
    std::fprintf(stderr, "cuda_pair_bench: %s %s: GPU differs from CPU by %.3g (> %.1g)\n", c.name,
                 dtype, mismatch, tolerance);
    return false;
  }
  return true;
}

}  // namespace

const char* kUsage = R"(usage: cuda_pair_bench [--csv]
  The GPU pair kernel against the CPU kernel (OpenMP), float and double.
  --csv       one line per case, "case,dtype,B,N,pairs,cpu_ms,gpu_ms"
  --help, -h  this text
)";

int main(int argc, char** argv) {
  if (argc == 2 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const bool csv = argc > 1 && std::strcmp(argv[1], "--csv") == 0;
  if (argc > 2 || (argc == 2 && !csv)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (!cuda::device_available()) {
    std::fprintf(stderr, "cuda_pair_bench: no CUDA device on this machine\n");
    return 1;
  }
  if (!csv)
    std::printf("CPU kernel on %d OpenMP threads; times are medians\n", omp_get_max_threads());
  const Case cases[] = {{"complete", 256, 32, 0},  {"complete", 64, 128, 0},
                        {"complete", 16, 512, 0},  {"complete", 4, 2048, 0},
                        {"complete", 1, 16384, 0}, {"sparse", 64, 512, 8}};
  bool ok = true;
  try {
    for (const Case& c : cases) {
      ok = run_case<float>(c, csv) && ok;
      ok = run_case<double>(c, csv) && ok;
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "cuda_pair_bench: %s\n", error.what());
    return 1;
  }
  return ok ? 0 : 1;
}
