// Spin-glass ground-state experiment of "Energy Loss Functions for Physical
// Systems" (section 6.3, table 5): trains a convolutional ResNet with
// cross-entropy, margin, the local-field energy loss and the true energy,
// prints the test excess energy over the exact ground state per loss and
// writes <out>/spins.csv (one row per run) and <out>/spins_curves.csv (one
// row per epoch).
//
//   spins                 quick mode (minutes on 2 cores)
//   spins --full          10,000 train / 10,000 test instances, 30 epochs
//   spins --help          all options
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli.h"
#include "energyloss/error.h"
#include "experiment.h"

namespace {

using spins::LossKind;

struct Options {
  spins::DataConfig data;
  spins::TrainConfig train;
  std::vector<LossKind> losses = {LossKind::CrossEntropy, LossKind::Margin, LossKind::LocalEnergy,
                                  LossKind::TrueEnergy};
  cli::CommonOptions common = {false, 1, 2, "results"};
};

const char* kUsage = R"(usage: spins [options]
  --full              10,000 train / 10,000 test instances, 30 epochs;
                      default is the quick mode (1,000 / 500 instances, 8 epochs)
  --seeds K           model seeds 0..K-1 per loss (default 1); the instances are fixed
  --losses L,...      among cross_entropy,margin,local_energy,true_energy (default all)
  --side L            lattice side, open boundaries (default 16, at most 22)
  --train N           training instances (quick 1000, full 10000)
  --test N            test instances (quick 500, full 10000)
  --data DIR          where instances are written once and reused (default results/spin_data)
  --depth D           residual 3x3 conv layers (default 4; paper 6)
  --width W           channels (default 32; paper 256)
  --epochs E          epochs (quick 8, full 30)
  --batch B           mini-batch size (default 64; paper 256)
  --lr X              Adam learning rate, constant (default 1e-3, as the paper)
  --temperature T     temperature of the local and true energy losses (default 0.1)
  --h0 X              local-field offset h0 > 0 (default 4.5)
  --fixed-sign        train against the solver's ground state only, not the nearer of
                      it and its global flip
  --threads T         LibTorch threads (default 2)
  --out DIR           output folder (default results)
)";

Options parse_options(int argc, char** argv) {
  Options options;
  bool train_given = false, test_given = false, epochs_given = false;
  // The driver's own flags; cli::parse_flags handles the common ones.
  const auto own_flag = [&](const std::string& flag, const cli::FlagValue& value) {
    if (flag == "--losses") {
      options.losses.clear();
      for (const auto& name : cli::split(value()))
        options.losses.push_back(spins::parse_loss(name));
    } else if (flag == "--side") {
      options.data.side = cli::parse_int(flag, value());
    } else if (flag == "--train") {
      options.data.train = cli::parse_int(flag, value());
      train_given = true;
    } else if (flag == "--test") {
      options.data.test = cli::parse_int(flag, value());
      test_given = true;
    } else if (flag == "--data") {
      options.data.folder = value();
    } else if (flag == "--depth") {
      options.train.depth = cli::parse_int(flag, value());
    } else if (flag == "--width") {
      options.train.width = cli::parse_int(flag, value());
    } else if (flag == "--epochs") {
      options.train.epochs = cli::parse_int(flag, value());
      epochs_given = true;
    } else if (flag == "--batch") {
      options.train.batch = cli::parse_int(flag, value());
    } else if (flag == "--lr") {
      options.train.learning_rate = cli::parse_double(flag, value());
    } else if (flag == "--temperature") {
      options.train.temperature = cli::parse_double(flag, value());
    } else if (flag == "--h0") {
      options.train.h0 = cli::parse_double(flag, value());
    } else if (flag == "--fixed-sign") {
      options.train.either_sign = false;
    } else {
      return false;
    }
    return true;
  };
  cli::parse_flags(argc, argv, kUsage, options.common, own_flag);
  if (options.common.full) {
    if (!train_given) options.data.train = 10000;
    if (!test_given) options.data.test = 10000;
    if (!epochs_given) options.train.epochs = 30;
  }
  energyloss::require(!options.losses.empty(), "--losses: empty list");
  spins::check_config(options.data);
  spins::check_config(options.train);
  return options;
}

struct Row {
  LossKind loss;
  int64_t seed;
  spins::RunResult result;
};

void write_results(const std::filesystem::path& folder, const Options& options,
                   const std::vector<Row>& rows) {
  std::ofstream csv(folder / "spins.csv");
  csv.precision(10);
  csv << "loss,seed,side,train,test,depth,width,epochs,excess_energy,excess_per_spin,"
         "solved_fraction,epochs_to_converge,train_seconds\n";
  for (const auto& row : rows)
    csv << spins::loss_name(row.loss) << ',' << row.seed << ',' << options.data.side << ','
        << options.data.train << ',' << options.data.test << ',' << options.train.depth << ','
        << options.train.width << ',' << options.train.epochs << ',' << row.result.excess_energy
        << ',' << row.result.excess_per_spin << ',' << row.result.solved_fraction << ','
        << row.result.epochs_to_converge << ',' << row.result.train_seconds << '\n';

  std::ofstream curves(folder / "spins_curves.csv");
  curves.precision(10);
  curves << "loss,seed,epoch,train_loss,test_excess_energy\n";
  for (const auto& row : rows)
    for (const auto& record : row.result.curve)
      curves << spins::loss_name(row.loss) << ',' << row.seed << ',' << record.epoch << ','
             << record.train_loss << ',' << record.test_excess << '\n';
  energyloss::require(csv.good() && curves.good(), "--out: cannot write into '", folder.string(),
                      "'");
}

// One line per loss: mean ± std over seeds.
void print_table(const Options& options, const std::vector<Row>& rows) {
  std::printf("\ntest excess energy E(sign z) - E_ground per instance, %lld test instances\n",
              static_cast<long long>(options.data.test));
  std::printf("%-15s %18s %18s %14s %18s\n", "loss", "excess energy", "per spin", "solved",
              "epochs to conv.");
  for (auto loss : options.losses) {
    std::vector<double> excess, per_spin, solved, epochs;
    for (const auto& row : rows) {
      if (row.loss != loss) continue;
      excess.push_back(row.result.excess_energy);
      per_spin.push_back(row.result.excess_per_spin);
      solved.push_back(row.result.solved_fraction);
      epochs.push_back(static_cast<double>(row.result.epochs_to_converge));
    }
    std::printf("%-15s %18s %18s %14s %18s\n", spins::loss_name(loss),
                cli::format_summary(cli::summarize(excess), 2).c_str(),
                cli::format_summary(cli::summarize(per_spin), 4).c_str(),
                cli::format_summary(cli::summarize(solved), 3).c_str(),
                cli::format_summary(cli::summarize(epochs), 1).c_str());
  }
}

int run(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  spins::set_threads(options.common.threads);
  const std::filesystem::path folder(options.common.out);
  std::filesystem::create_directories(folder);
  const auto start = std::chrono::steady_clock::now();

  const auto data = spins::prepare_data(options.data);
  std::printf(
      "spins: %lldx%lld open-boundary lattices, %lld train / %lld test instances %s in "
      "%.1f s (mean ground-state energy %.2f)\n",
      static_cast<long long>(options.data.side), static_cast<long long>(options.data.side),
      static_cast<long long>(options.data.train), static_cast<long long>(options.data.test),
      data.generated ? "generated" : "read", data.seconds, data.test_ground_energy);
  const size_t total = options.losses.size() * static_cast<size_t>(options.common.seeds);
  std::printf("ResNet %lld layers x %lld channels, %lld epochs, batch %lld, lr %.1e, %zu runs\n",
              static_cast<long long>(options.train.depth),
              static_cast<long long>(options.train.width),
              static_cast<long long>(options.train.epochs),
              static_cast<long long>(options.train.batch), options.train.learning_rate, total);
  std::fflush(stdout);

  std::vector<Row> rows;
  size_t done = 0;
  for (auto loss : options.losses)
    for (int64_t seed = 0; seed < options.common.seeds; ++seed) {
      Row row{loss, seed, spins::train_and_evaluate(loss, seed, options.train, options.data)};
      std::printf(
          "[%2zu/%zu] loss=%-13s seed=%lld excess=%.3f (%.4f per spin) solved=%.3f "
          "converged at epoch %lld, %.1fs\n",
          ++done, total, spins::loss_name(loss), static_cast<long long>(seed),
          row.result.excess_energy, row.result.excess_per_spin, row.result.solved_fraction,
          static_cast<long long>(row.result.epochs_to_converge), row.result.train_seconds);
      std::fflush(stdout);
      rows.push_back(row);
    }

  print_table(options, rows);
  write_results(folder, options, rows);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("\nwrote %s and %s (%.1f s total)\n", (folder / "spins.csv").string().c_str(),
              (folder / "spins_curves.csv").string().c_str(), seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_reporting_errors("spins", run, argc, argv);
}
