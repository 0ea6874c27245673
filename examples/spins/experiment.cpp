#include "experiment.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <tuple>

#include "cli.h"
#include "energyloss/error.h"
#include "energyloss/torch/spins.h"

namespace spins {
namespace {

// --losses names, in the order the "valid:" list gives them.
constexpr cli::Named<LossKind> kLossNames[] = {{LossKind::CrossEntropy, "cross_entropy"},
                                               {LossKind::Margin, "margin"},
                                               {LossKind::LocalEnergy, "local_energy"},
                                               {LossKind::TrueEnergy, "true_energy"}};

constexpr double kConvergedWithin = 0.05;  // epochs_to_converge: within 5 % of the best
constexpr int64_t kEvaluationBatch = 512;
// Per-split generator seeds: every model seed sees the same instances.
constexpr uint64_t kTrainDataSeed = 1001;
constexpr uint64_t kTestDataSeed = 2002;

struct SpinSet {
  torch::Tensor horizontal;     // Jh [n, L, L-1]
  torch::Tensor vertical;       // Jv [n, L-1, L]
  torch::Tensor ground;         // exact ground states [n, L, L], +-1
  torch::Tensor ground_energy;  // [n]
  torch::Tensor inputs;         // network input [n, 4, L, L], see coupling_channels

  int64_t size() const { return horizontal.size(0); }
};

// Each site sees its four bonds as channels (right, left, down, up), zero
// where the open boundary has none, so a convolution reads the couplings
// around a site at the site itself.
torch::Tensor coupling_channels(const torch::Tensor& horizontal, const torch::Tensor& vertical) {
  return torch::stack(
      {torch::constant_pad_nd(horizontal, {0, 1}), torch::constant_pad_nd(horizontal, {1, 0}),
       torch::constant_pad_nd(vertical, {0, 0, 0, 1}),
       torch::constant_pad_nd(vertical, {0, 0, 1, 0})},
      1);
}

std::filesystem::path split_path(const DataConfig& data, const char* split, int64_t count) {
  return std::filesystem::path(data.folder) /
         ("spins_L" + std::to_string(data.side) + "_" + split + std::to_string(count) + ".pt");
}

// Couplings uniform in [-1, 1] and their exact ground states (transfer matrix).
SpinSet generate(int64_t side, int64_t count, uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  SpinSet set;
  set.horizontal = torch::rand({count, side, side - 1}, generator) * 2 - 1;
  set.vertical = torch::rand({count, side - 1, side}, generator) * 2 - 1;
  std::tie(set.ground, set.ground_energy) =
      energyloss::ising_ground_state(set.horizontal, set.vertical);
  return set;
}

// Reads the split from disk, or generates and writes it (via a temporary
// file, so an interrupted run never leaves a truncated data set behind).
SpinSet load_or_generate(const DataConfig& data, const char* split, int64_t count, uint64_t seed,
                         bool& generated) {
  const auto path = split_path(data, split, count);
  SpinSet set;
  if (std::filesystem::exists(path)) {
    std::vector<torch::Tensor> tensors;
    torch::load(tensors, path.string());
    energyloss::require(
        tensors.size() == 4 &&
            tensors[0].sizes() == torch::IntArrayRef{count, data.side, data.side - 1},
        "--data: '", path.string(),
        "' does not hold the expected instances; delete it to regenerate");
    set = {tensors[0], tensors[1], tensors[2], tensors[3], {}};
  } else {
    generated = true;
    set = generate(data.side, count, seed);
    std::filesystem::create_directories(path.parent_path());
    const auto partial = path.string() + ".partial";
    torch::save(
        std::vector<torch::Tensor>{set.horizontal, set.vertical, set.ground, set.ground_energy},
        partial);
    std::filesystem::rename(partial, path);
  }
  set.inputs = coupling_channels(set.horizontal, set.vertical);
  return set;
}

struct Splits {
  SpinSet train, test;
};

std::map<std::tuple<std::string, int64_t, int64_t, int64_t>, Splits>& split_cache() {
  static std::map<std::tuple<std::string, int64_t, int64_t, int64_t>, Splits> cache;
  return cache;
}

const Splits& splits(const DataConfig& data, DataSummary* summary = nullptr) {
  auto& cache = split_cache();
  const auto key = std::make_tuple(data.folder, data.side, data.train, data.test);
  auto found = cache.find(key);
  if (found != cache.end()) return found->second;
  check_config(data);
  const auto start = std::chrono::steady_clock::now();
  bool generated = false;
  Splits loaded{load_or_generate(data, "train", data.train, kTrainDataSeed, generated),
                load_or_generate(data, "test", data.test, kTestDataSeed, generated)};
  if (summary) {
    summary->generated = generated;
    summary->seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    summary->test_ground_energy = loaded.test.ground_energy.mean().item<double>();
  }
  return cache.emplace(key, std::move(loaded)).first->second;
}

// A 3x3 convolution, batch norm and ReLU, added to its input.
struct ResidualLayerImpl : torch::nn::Module {
  explicit ResidualLayerImpl(int64_t width)
      : conv(register_module(
            "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(width, width, 3).padding(1)))),
        norm(register_module("norm", torch::nn::BatchNorm2d(width))) {}

  torch::Tensor forward(const torch::Tensor& x) { return x + torch::relu(norm(conv(x))); }

  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d norm;
};
TORCH_MODULE(ResidualLayer);

// Couplings [B, 4, L, L] -> spin logits [B, L, L]. Zero padding matches the
// open boundary: no bond leaves the lattice.
struct SpinNetImpl : torch::nn::Module {
  explicit SpinNetImpl(const TrainConfig& config)
      : stem(register_module(
            "stem", torch::nn::Conv2d(torch::nn::Conv2dOptions(4, config.width, 3).padding(1)))),
        head(register_module("head", torch::nn::Conv2d(config.width, 1, 1))) {
    for (int64_t i = 0; i < config.depth; ++i)
      layers->push_back(register_module("layer" + std::to_string(i), ResidualLayer(config.width)));
  }

  torch::Tensor forward(const torch::Tensor& couplings) {
    auto x = torch::relu(stem(couplings));
    for (auto& layer : *layers) x = layer->as<ResidualLayer>()->forward(x);
    return head(x).squeeze(1);
  }

  torch::nn::Conv2d stem;
  torch::nn::Conv2d head;
  torch::nn::ModuleList layers;
};
TORCH_MODULE(SpinNet);

// Per-instance loss [B] of logits [B, L, L] against the targets.
torch::Tensor instance_loss(LossKind kind, const torch::Tensor& logits, const torch::Tensor& target,
                            const torch::Tensor& horizontal, const torch::Tensor& vertical,
                            const TrainConfig& config) {
  switch (kind) {
    case LossKind::CrossEntropy:
      return energyloss::spin_bce_loss(logits, target, "none");
    case LossKind::Margin:
      return energyloss::spin_margin_loss(logits, target, 1.0, "none");
    case LossKind::LocalEnergy:
      return energyloss::local_field_energy_loss(logits, target, horizontal, vertical,
                                                 config.temperature, config.h0, "none");
    case LossKind::TrueEnergy:
      return energyloss::spin_true_energy_loss(logits, horizontal, vertical, config.temperature,
                                               "none");
  }
  energyloss::fail("instance_loss: unknown loss kind");
}

torch::Tensor training_loss(LossKind kind, const torch::Tensor& logits, const SpinSet& set,
                            const torch::Tensor& batch, const TrainConfig& config) {
  const auto horizontal = set.horizontal.index_select(0, batch);
  const auto vertical = set.vertical.index_select(0, batch);
  const auto ground = set.ground.index_select(0, batch);
  auto loss = instance_loss(kind, logits, ground, horizontal, vertical, config);
  if (config.either_sign && kind != LossKind::TrueEnergy)
    loss = torch::minimum(loss, instance_loss(kind, logits, -ground, horizontal, vertical, config));
  return loss.mean();
}

// Excess energy E(sign z) - E_ground per test instance: [n].
torch::Tensor test_excess(SpinNet& model, const SpinSet& test) {
  torch::NoGradGuard no_grad;
  model->eval();
  std::vector<torch::Tensor> excess;
  for (int64_t begin = 0; begin < test.size(); begin += kEvaluationBatch) {
    const int64_t end = std::min(begin + kEvaluationBatch, test.size());
    const auto logits = model->forward(test.inputs.slice(0, begin, end));
    // Rounding: z >= 0 is spin +1 (sign(0) = 0 is no spin).
    const auto predicted = logits.ge(0).to(logits.scalar_type()) * 2 - 1;
    excess.push_back(energyloss::ising_energy(predicted, test.horizontal.slice(0, begin, end),
                                              test.vertical.slice(0, begin, end)) -
                     test.ground_energy.slice(0, begin, end));
  }
  model->train();
  return torch::cat(excess);
}

int64_t epochs_to_converge(const std::vector<EpochRecord>& curve) {
  double best = curve.front().test_excess;
  for (const auto& record : curve) best = std::min(best, record.test_excess);
  for (const auto& record : curve)
    if (record.test_excess <= best * (1 + kConvergedWithin)) return record.epoch;
  return curve.back().epoch;
}

}  // namespace

LossKind parse_loss(const std::string& name) {
  return cli::parse_named("--losses", "loss", kLossNames, name);
}

const char* loss_name(LossKind kind) {
  return cli::name_of(kLossNames, kind);
}

void check_config(const DataConfig& data) {
  using energyloss::require;
  require(data.side >= 2 && data.side <= energyloss::kMaxGroundStateSide, "--side must be in [2, ",
          energyloss::kMaxGroundStateSide, "], got ", data.side);
  require(data.train >= 1, "--train must be >= 1, got ", data.train);
  require(data.test >= 1, "--test must be >= 1, got ", data.test);
  require(!data.folder.empty(), "--data: empty folder name");
}

void check_config(const TrainConfig& config) {
  using energyloss::require;
  require(config.depth >= 0, "--depth must be >= 0, got ", config.depth);
  require(config.width >= 1, "--width must be >= 1, got ", config.width);
  require(config.epochs >= 1, "--epochs must be >= 1, got ", config.epochs);
  // Batch norm needs two instances per batch to normalise.
  require(config.batch >= 2, "--batch must be >= 2, got ", config.batch);
  require(config.learning_rate > 0, "--lr must be > 0, got ", config.learning_rate);
  require(config.temperature >= 0, "--temperature must be >= 0, got ", config.temperature);
  require(config.h0 > 0, "--h0 must be > 0, got ", config.h0);
}

DataSummary prepare_data(const DataConfig& data) {
  split_cache().erase(std::make_tuple(data.folder, data.side, data.train, data.test));
  DataSummary summary;
  splits(data, &summary);
  return summary;
}

RunResult train_and_evaluate(LossKind loss, int64_t seed, const TrainConfig& config,
                             const DataConfig& data) {
  check_config(config);
  const auto& [train, test] = splits(data);
  torch::manual_seed(static_cast<uint64_t>(seed));
  SpinNet model(config);
  torch::optim::Adam optimizer(model->parameters(),
                               torch::optim::AdamOptions(config.learning_rate));

  RunResult result;
  const int64_t n = train.size();
  for (int64_t epoch = 1; epoch <= config.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const auto order = torch::randperm(n);
    double loss_sum = 0;
    int64_t seen = 0;
    // A last batch of a single instance is dropped: batch norm cannot normalise it.
    for (int64_t begin = 0; begin + 1 < n; begin += config.batch) {
      const auto batch = order.slice(0, begin, std::min(begin + config.batch, n));
      const auto logits = model->forward(train.inputs.index_select(0, batch));
      const auto loss_value = training_loss(loss, logits, train, batch, config);
      optimizer.zero_grad();
      loss_value.backward();
      optimizer.step();
      loss_sum += loss_value.item<double>() * static_cast<double>(batch.size(0));
      seen += batch.size(0);
    }
    // Training time only: the per-epoch test evaluation below is bookkeeping.
    result.train_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.curve.push_back({epoch, loss_sum / static_cast<double>(seen),
                            test_excess(model, test).mean().item<double>()});
  }

  const auto excess = test_excess(model, test);
  result.excess_energy = excess.mean().item<double>();
  result.excess_per_spin = result.excess_energy / static_cast<double>(data.side * data.side);
  // Excess energies below rounding noise count as solved.
  result.solved_fraction = (excess < 1e-4).to(torch::kFloat64).mean().item<double>();
  result.epochs_to_converge = epochs_to_converge(result.curve);
  return result;
}

void set_threads(int threads) {
  torch::set_num_threads(threads);
}

}  // namespace spins
