// Fused pair energy loss vs the reference formulation in LibTorch tensor ops
// (dense [B, N, N, d] differences, autograd backward), forward + backward,
// measured in one run on the same machine. Each measurement runs in its own
// forked process so its peak memory (ru_maxrss) is its own.
//
// Usage: loss_bench [--quick] (see kUsage)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "energyloss/torch/graphs.h"
#include "energyloss/torch/pair.h"

namespace {

using Clock = std::chrono::steady_clock;

const char* kUsage = R"(usage: loss_bench [--quick]
  Fused pair energy loss vs dense LibTorch, forward + backward, float32, 2 threads.
  --quick     N = 30, 100, 300 only, shorter timing budget (default: up to N = 300000)
  --help, -h  this text
)";

struct Measurement {
  double seconds = 0;  // best forward + backward time
  double peak_mb = 0;  // child's peak resident memory
  bool ok = false;
};

using Step = std::function<void()>;

// Builds the inputs and runs `make_step()`'s step in a child process: one
// warm-up, then repeats for ~budget seconds and reports the best time; the
// parent reads the child's peak RSS from wait4.
Measurement measure(const std::function<Step()>& make_step, double budget_seconds) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    at::set_num_threads(2);
    double best = 1e30;
    try {
      const Step step = make_step();
      step();  // warm-up (and first allocation)
      const auto start = Clock::now();
      int repeats = 0;
      while (repeats < 3 ||
             (std::chrono::duration<double>(Clock::now() - start).count() < budget_seconds &&
              repeats < 50)) {
        const auto t0 = Clock::now();
        step();
        best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
        ++repeats;
      }
    } catch (const std::exception& error) {
      std::fprintf(stderr, "  failed: %s\n", error.what());
      best = -1;
    }
    if (write(fds[1], &best, sizeof best) != sizeof best) _exit(2);
    _exit(0);
  }
  close(fds[1]);
  double seconds = -1;
  const bool got = read(fds[0], &seconds, sizeof seconds) == sizeof seconds;
  close(fds[0]);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  Measurement m;
  m.ok = got && seconds > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  m.seconds = seconds;
  m.peak_mb = usage.ru_maxrss / 1024.0;
  return m;
}

torch::Tensor positions(int64_t B, int64_t N, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randn({B, N, 3}, torch::kFloat32);
}

void fused_step(const torch::Tensor& pred0, const torch::Tensor& ref,
                const std::optional<torch::Tensor>& edges = std::nullopt) {
  auto pred = pred0.detach().requires_grad_(true);
  energyloss::PairLossOptions options;  // exp, reference-code preset
  energyloss::pair_energy_loss(pred, ref, options, std::nullopt, edges).backward();
}

// The way the paper's reference code (and most users) write eq. 7.
void dense_reference_step(const torch::Tensor& pred0, const torch::Tensor& ref) {
  auto pred = pred0.detach().requires_grad_(true);
  const int64_t N = ref.size(1);
  auto r = (pred.unsqueeze(2) - pred.unsqueeze(1)).pow(2).sum(-1).add(1e-12).sqrt();
  auto r0 = (ref.unsqueeze(2) - ref.unsqueeze(1)).pow(2).sum(-1).add(1e-12).sqrt();
  auto k = (24.0 / N) * torch::exp(-r0);
  // Each pair appears twice in the dense matrix.
  (0.25 * k * (r - r0).pow(2)).sum().backward();
}

// Sparse reference: gather the edge endpoints, then the same formula.
void sparse_reference_step(const torch::Tensor& pred0, const torch::Tensor& ref,
                           const torch::Tensor& edges) {
  auto pred = pred0.detach().requires_grad_(true);
  const auto i = edges.select(1, 0), j = edges.select(1, 1);
  const int64_t N = ref.size(1);
  auto r = (pred.index_select(1, i) - pred.index_select(1, j)).norm(2, -1);
  auto r0 = (ref.index_select(1, i) - ref.index_select(1, j)).norm(2, -1);
  auto k = (24.0 / N) * torch::exp(-r0);
  (0.5 * k * (r - r0).pow(2)).sum().backward();
}

void print_row(const char* graph, int64_t N, int64_t B, double pairs, const Measurement& ours,
               const Measurement* reference, const char* note = "") {
  const double ours_rate = pairs / ours.seconds / 1e6;
  std::printf("%-8s %7ld %6ld %12.3g %10.3f %12.1f %9.0f", graph, long(N), long(B), pairs,
              ours.seconds * 1e3, ours_rate, ours.peak_mb);
  if (reference != nullptr && reference->ok) {
    std::printf(" %10.3f %12.1f %9.0f %8.1fx\n", reference->seconds * 1e3,
                pairs / reference->seconds / 1e6, reference->peak_mb,
                reference->seconds / ours.seconds);
  } else {
    std::printf(" %10s %12s %9s %9s  %s\n", "-", "-", "-", "-", note);
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int a = 1; a < argc; ++a) {
    const std::string option = argv[a];
    if (option == "--help" || option == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (option != "--quick") {
      std::fprintf(stderr, "loss_bench: unknown option '%s'\n%s", argv[a], kUsage);
      return 2;
    }
    quick = true;
  }
  const double budget = quick ? 0.2 : 1.0;
  std::printf("pair energy loss, exp coefficients, float32, forward + backward, 2 threads\n");
  std::printf("%-8s %7s %6s %12s %10s %12s %9s %10s %12s %9s %9s\n", "graph", "N", "B", "pairs",
              "ours ms", "ours Mpair/s", "ours MB", "ref ms", "ref Mpair/s", "ref MB", "speedup");

  // Batches chosen so every row has about 9e6 pairs.
  const std::vector<int64_t> sizes =
      quick ? std::vector<int64_t>{30, 100, 300} : std::vector<int64_t>{30, 100, 300, 1000, 3000};
  for (const int64_t N : sizes) {
    const int64_t B = std::max<int64_t>(1, 9000000 / (N * (N - 1) / 2));
    const double pairs = double(B) * N * (N - 1) / 2;
    const auto ours = measure(
        [&]() -> Step {
          return [pred = positions(B, N, 1), ref = positions(B, N, 2)] { fused_step(pred, ref); };
        },
        budget);
    const auto reference = measure(
        [&]() -> Step {
          return [pred = positions(B, N, 1), ref = positions(B, N, 2)] {
            dense_reference_step(pred, ref);
          };
        },
        budget);
    print_row("complete", N, B, pairs, ours, &reference);
  }
  if (quick) return 0;

  {
    const int64_t N = 30000;
    const double pairs = double(N) * (N - 1) / 2;
    const auto ours = measure(
        [&]() -> Step {
          return [pred = positions(1, N, 1), ref = positions(1, N, 2)] { fused_step(pred, ref); };
        },
        0.0);
    const double dense_gb = 4.0 * N * N * 3 / 1e9;
    char note[96];
    std::snprintf(note, sizeof note, "reference not run: one [N,N,3] float tensor is %.1f GB",
                  dense_gb);
    print_row("complete", N, 1, pairs, ours, nullptr, note);
  }
  {
    const int64_t N = 300000;
    const double pairs = 3.0 * N;  // 6-regular: 2d-regular in 3D
    const auto ours = measure(
        [&]() -> Step {
          return
              [pred = positions(1, N, 1), ref = positions(1, N, 2),
               edges = energyloss::random_regular_graph(N, 6, 1)] { fused_step(pred, ref, edges); };
        },
        budget);
    const auto reference = measure(
        [&]() -> Step {
          return [pred = positions(1, N, 1), ref = positions(1, N, 2),
                  edges = energyloss::random_regular_graph(N, 6, 1)] {
            sparse_reference_step(pred, ref, edges);
          };
        },
        budget);
    print_row("sparse", N, 1, pairs, ours, &reference);
  }
  return 0;
}
