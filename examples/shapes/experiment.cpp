#include "experiment.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>

#include "cli.h"
#include "energyloss/error.h"
#include "energyloss/torch/baselines.h"
#include "energyloss/torch/graphs.h"
#include "energyloss/torch/pair.h"

namespace shapes {
namespace {

// --losses names, in the order the "valid:" list gives them.
constexpr cli::Named<LossKind> kLossNames[] = {{LossKind::Mse, "mse"},
                                               {LossKind::Kabsch, "kabsch"},
                                               {LossKind::Energy, "energy"},
                                               {LossKind::EnergySparse, "energy_sparse"}};

constexpr double kMinRadius = 0.5;
constexpr double kMaxRadius = 1.5;
constexpr int64_t kValidationSize = 256;
const std::vector<double> kSampleRadii = {0.75, 1.0, 1.25};

// [B, n, 2]: vertex k of shape b at radius r_b and angle 2 pi k / n + theta_b.
torch::Tensor regular_polygons(const torch::Tensor& radii, const torch::Tensor& rotations,
                               int64_t n) {
  const auto angles = torch::arange(n, radii.options()).mul(2 * M_PI / static_cast<double>(n));
  const auto theta = angles.unsqueeze(0) + rotations.unsqueeze(1);
  const auto r = radii.unsqueeze(1);
  return torch::stack({r * torch::cos(theta), r * torch::sin(theta)}, -1);
}

// All targets are similar copies of one polygon, so the sparse graphs built
// (and checked globally rigid, verify=true) on one reference polygon serve
// every sample. As in the paper (A.5), a pool of random graphs is drawn once
// per vertex count: [pool, E, 2], padded with -1 should the edge counts differ.
torch::Tensor sparse_graph_pool(int64_t vertices, int64_t pool) {
  static std::map<std::pair<int64_t, int64_t>, torch::Tensor> cache;
  const auto key = std::make_pair(vertices, pool);
  auto found = cache.find(key);
  if (found != cache.end()) return found->second;
  const auto reference = regular_polygons(torch::ones({1}, torch::kFloat64),
                                          torch::zeros({1}, torch::kFloat64), vertices)
                             .squeeze(0);
  std::vector<torch::Tensor> graphs;
  int64_t max_edges = 0;
  for (int64_t seed = 0; seed < pool; ++seed) {
    // Unsymmetrised graphs weigh every edge 1: the weights are not needed.
    graphs.push_back(std::get<0>(energyloss::sparse_rigid_edges(
        reference, /*degree=*/0, seed, /*symmetrize=*/false, /*verify=*/true)));
    max_edges = std::max(max_edges, graphs.back().size(0));
  }
  auto padded = torch::full({pool, max_edges, 2}, -1, torch::kInt64);
  for (int64_t g = 0; g < pool; ++g) padded[g].slice(0, 0, graphs[g].size(0)).copy_(graphs[g]);
  return cache.emplace(key, padded).first->second;
}

torch::Tensor training_loss(LossKind kind, const torch::Tensor& pred, const torch::Tensor& ref,
                            int64_t graph_pool) {
  switch (kind) {
    case LossKind::Mse:
      return energyloss::mse_loss(pred, ref);
    case LossKind::Kabsch:
      return energyloss::kabsch_mse(pred, ref);
    case LossKind::Energy:
    case LossKind::EnergySparse: {
      energyloss::PairLossOptions options;
      options.coeff = "exp";       // k0 = 24 / N preset of the paper's code
      options.reduction = "mean";  // per system, like the MSE baselines
      std::optional<torch::Tensor> edges;
      if (kind == LossKind::EnergySparse) {
        // Each sample draws its graph from the pool: with one fixed sparse graph,
        // training got stuck in a spurious local minimum for some seeds (loss
        // 0.34, quality 1.2 at N = 8); a varying graph has none in common.
        const auto pool = sparse_graph_pool(pred.size(1), graph_pool);
        edges = pool.index_select(0, torch::randint(pool.size(0), {pred.size(0)}, torch::kInt64));
      }
      return energyloss::pair_energy_loss(pred, ref, options, std::nullopt, edges);
    }
  }
  energyloss::fail("training_loss: unknown loss kind");
}

// Median wall time of training_loss(...).backward() with the predictions as
// the only leaf, after a warm-up (allocations, the sparse graph pool); the
// median, because the machine is shared and single repeats can stall.
double loss_milliseconds(LossKind kind, const torch::Tensor& pred, const torch::Tensor& ref,
                         int64_t graph_pool) {
  constexpr int kWarmup = 2;
  constexpr int kRepeats = 11;
  torch::AutoGradMode grad_mode(true);
  std::vector<double> milliseconds;
  for (int i = 0; i < kWarmup + kRepeats; ++i) {
    const auto leaf = pred.detach().requires_grad_();
    const auto start = std::chrono::steady_clock::now();
    training_loss(kind, leaf, ref, graph_pool).backward();
    const std::chrono::duration<double, std::milli> elapsed =
        std::chrono::steady_clock::now() - start;
    if (i >= kWarmup) milliseconds.push_back(elapsed.count());
  }
  const auto middle = milliseconds.begin() + kRepeats / 2;
  std::nth_element(milliseconds.begin(), middle, milliseconds.end());
  return *middle;
}

torch::nn::Sequential make_model(const TrainConfig& config) {
  auto activation = [&]() {
    return config.activation == "silu" ? torch::nn::AnyModule(torch::nn::SiLU())
                                       : torch::nn::AnyModule(torch::nn::ReLU());
  };
  torch::nn::Sequential model;
  model->push_back(torch::nn::Linear(1, config.hidden));
  model->push_back(activation());
  model->push_back(torch::nn::Linear(config.hidden, config.hidden));
  model->push_back(activation());
  model->push_back(torch::nn::Linear(config.hidden, 2 * config.vertices));
  return model;
}

torch::Tensor predict(torch::nn::Sequential& model, const torch::Tensor& radii, int64_t vertices) {
  return model->forward(radii.unsqueeze(1)).view({-1, vertices, 2});
}

std::vector<ShapeQuality> qualities(const torch::Tensor& shapes) {
  const auto xy = shapes.to(torch::kFloat64).contiguous();
  const int64_t vertices = xy.size(1);
  std::vector<ShapeQuality> result;
  for (int64_t b = 0; b < xy.size(0); ++b)
    result.push_back(shape_quality(xy.data_ptr<double>() + b * vertices * 2, vertices));
  return result;
}

ShapeQuality mean_quality(const torch::Tensor& shapes) {
  ShapeQuality mean;
  const auto all = qualities(shapes);
  for (const auto& q : all) {
    mean.quality += q.quality;
    mean.sigma_angle += q.sigma_angle;
    mean.sigma_radius += q.sigma_radius;
  }
  const auto count = static_cast<double>(all.size());
  mean.quality /= count;
  mean.sigma_angle /= count;
  mean.sigma_radius /= count;
  return mean;
}

void set_learning_rate(torch::optim::Adam& optimizer, double value) {
  for (auto& group : optimizer.param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(value);
}

}  // namespace

LossKind parse_loss(const std::string& name) {
  return cli::parse_named("--losses", "loss", kLossNames, name);
}

const char* loss_name(LossKind kind) {
  return cli::name_of(kLossNames, kind);
}

double default_learning_rate(LossKind kind) {
  switch (kind) {
    case LossKind::Mse:
    case LossKind::Kabsch:
      return 3e-3;
    case LossKind::Energy:
    case LossKind::EnergySparse:
      return 1e-2;
  }
  return 1e-3;
}

void check_config(const TrainConfig& config) {
  using energyloss::require;
  require(config.vertices >= 3, "--vertices must be >= 3, got ", config.vertices);
  require(config.hidden >= 1, "--hidden must be >= 1, got ", config.hidden);
  require(config.activation == "relu" || config.activation == "silu",
          "--activation must be relu or silu, got '", config.activation, "'");
  require(config.samples >= 1, "--samples must be >= 1, got ", config.samples);
  require(config.epochs >= 1, "--epochs must be >= 1, got ", config.epochs);
  require(config.batch >= 1, "--batch must be >= 1, got ", config.batch);
  require(config.graph_pool >= 1, "--graph-pool must be >= 1, got ", config.graph_pool);
  require(config.test_size >= 2, "--test-size must be >= 2, got ", config.test_size);
}

RunResult train_and_evaluate(LossKind loss, double theta_aug, int64_t seed, double learning_rate,
                             const TrainConfig& config) {
  check_config(config);
  energyloss::require(std::isfinite(theta_aug) && theta_aug >= 0,
                      "theta_aug must be finite and >= 0, got ", theta_aug);
  energyloss::require(learning_rate > 0, "learning rate must be > 0, got ", learning_rate);
  torch::manual_seed(static_cast<uint64_t>(seed));

  const auto radii = torch::rand({config.samples}) * (kMaxRadius - kMinRadius) + kMinRadius;
  const auto rotations = (torch::rand({config.samples}) * 2 - 1) * theta_aug;
  const auto targets = regular_polygons(radii, rotations, config.vertices);
  auto model = make_model(config);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(learning_rate));

  // Build the (cached) graph pool before the clock starts: training time only.
  if (loss == LossKind::EnergySparse) sparse_graph_pool(config.vertices, config.graph_pool);

  RunResult result;
  const int64_t steps_per_epoch = (config.samples + config.batch - 1) / config.batch;
  const double total_steps = static_cast<double>(steps_per_epoch * config.epochs);
  int64_t step = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t epoch = 0; epoch < config.epochs; ++epoch) {
    const auto order = torch::randperm(config.samples);
    double loss_sum = 0;
    for (int64_t begin = 0; begin < config.samples; begin += config.batch) {
      const auto batch = order.slice(0, begin, std::min(begin + config.batch, config.samples));
      set_learning_rate(optimizer,
                        0.5 * learning_rate * (1 + std::cos(M_PI * step++ / total_steps)));
      const auto loss_value =
          training_loss(loss, predict(model, radii.index_select(0, batch), config.vertices),
                        targets.index_select(0, batch), config.graph_pool);
      optimizer.zero_grad();
      loss_value.backward();
      optimizer.step();
      loss_sum += loss_value.item<double>() * static_cast<double>(batch.size(0));
    }
    result.final_loss = loss_sum / static_cast<double>(config.samples);
  }
  result.train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  torch::NoGradGuard no_grad;
  const auto test_radii = torch::linspace(kMinRadius, kMaxRadius, config.test_size);
  result.test = mean_quality(predict(model, test_radii, config.vertices));
  const auto validation_radii =
      torch::rand({kValidationSize}) * (kMaxRadius - kMinRadius) + kMinRadius;
  result.validation_quality =
      mean_quality(predict(model, validation_radii, config.vertices)).quality;

  const auto sample_radii = torch::tensor(kSampleRadii, torch::kFloat32);
  const auto sample_shapes = predict(model, sample_radii, config.vertices).to(torch::kFloat64);
  const auto sample_qualities = qualities(sample_shapes);
  for (size_t i = 0; i < kSampleRadii.size(); ++i) {
    const auto shape = sample_shapes[static_cast<int64_t>(i)].contiguous();
    const double* xy = shape.data_ptr<double>();
    result.samples.push_back(
        {kSampleRadii[i], std::vector<double>(xy, xy + shape.numel()), sample_qualities[i]});
  }
  // Timed last: the sparse loss draws graphs from the global generator, and
  // the evaluation above must not depend on whether it ran.
  const auto timed = torch::arange(std::min(config.batch, config.samples));
  result.loss_ms_per_step = loss_milliseconds(
      loss, predict(model, radii.index_select(0, timed), config.vertices).detach(),
      targets.index_select(0, timed), config.graph_pool);
  return result;
}

void set_threads(int threads) {
  torch::set_num_threads(threads);
}

}  // namespace shapes
