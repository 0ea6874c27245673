// Loading and validating TorchScript generators (see energyloss/generator.h).
#include "energyloss/generator.h"

#include <torch/script.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <utility>

#include "energyloss/error.h"
#include "energyloss/lammps_units.h"
#include "energyloss/torch/random.h"

namespace energyloss {
namespace {

// Meters per unit: nm, angstrom and LAMMPS's unit styles; 0 marks reduced
// units, which only convert to themselves.
const std::map<std::string, double>& length_units() {
  static const std::map<std::string, double> units = [] {
    std::map<std::string, double> table = {{"nm", 1e-9}, {"angstrom", 1e-10}};
    for (const auto& style : kLammpsUnitStyles) table.emplace(style.name, style.meters);
    return table;
  }();
  return units;
}

std::string unit_names() {
  std::string names;
  for (const auto& [name, meters] : length_units()) names += (names.empty() ? "" : ", ") + name;
  return names;
}

double meters_per(const std::string& unit, const char* what) {
  const auto found = length_units().find(unit);
  if (found == length_units().end()) {
    fail(what, " '", unit, "' is not a known length unit (", unit_names(), ")");
  }
  return found->second;
}

// First line of a LibTorch message (the rest is a C++ backtrace).
std::string first_line(const std::string& message) {
  return message.substr(0, message.find('\n'));
}

// What went wrong inside a TorchScript method: the interpreter's message is a
// header, two tracebacks and, last, the error itself ("RuntimeError: ...").
std::string script_error(const std::string& message) {
  if (message.find("failed in the TorchScript interpreter") == std::string::npos)
    return first_line(message);
  size_t end = message.find_last_not_of("\n ");
  if (end == std::string::npos) return first_line(message);
  const size_t start = message.rfind('\n', end);
  std::string last = message.substr(start == std::string::npos ? 0 : start + 1,
                                    end + 1 - (start == std::string::npos ? 0 : start + 1));
  if (last.rfind("builtins.", 0) == 0) last = last.substr(9);
  return last;
}

// Refuses, naming `where`, a path that is missing, a directory, not a
// regular file, unreadable or empty: what torch::jit::load would report as
// an unreadable zip archive or a missing file.
void require_readable_file(const std::string& path, const std::string& where) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  require(status.type() != std::filesystem::file_type::not_found, where, ": file not found");
  require(std::filesystem::status_known(status), where, ": cannot be examined (", error.message(),
          ")");
  require(!std::filesystem::is_directory(status), where,
          ": is a directory; give the generator's file (a TorchScript module written by "
          "torch.jit.save)");
  require(std::filesystem::is_regular_file(status), where,
          ": not a regular file (a device, pipe or socket); give the generator's file");
  std::ifstream file(path, std::ios::binary);
  require(file.is_open(), where, ": cannot be read (", std::strerror(errno), ")");
  require(file.peek() != std::ifstream::traits_type::eof(), where,
          ": not a TorchScript module: the file is empty (write it with torch.jit.save)");
}

}  // namespace

double length_unit_factor(const std::string& from, const std::string& to) {
  const double from_m = meters_per(from, "length unit"), to_m = meters_per(to, "length unit");
  if (from_m == 0 || to_m == 0) {
    require(from == to, "cannot convert lengths between '", from, "' and '", to,
            "': reduced (lj) units have no absolute size");
    return 1.0;
  }
  return from_m / to_m;
}

struct Generator::Module {
  torch::jit::Module module;
};

Generator::Generator(const std::string& path) : module_(std::make_unique<Module>()), path_(path) {
  const std::string where = "generator '" + path + "'";
  require_readable_file(path, where);
  // Generators draw their noise with torch.ops.energyloss.seeded_normal; loading
  // resolves the ops a module calls, so they must be registered first. This call
  // also makes every process that can load a generator link libenergyloss_torch.
  require_seeded_normal_op();
  try {
    module_->module = torch::jit::load(path, torch::kCPU);
  } catch (const std::exception& error) {  // c10::Error, or jit::ErrorReport for unknown ops
    const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
    const std::string message =
        first_line(c10_error ? c10_error->what_without_backtrace() : error.what());
    if (message.find("Unknown builtin op") != std::string::npos) {
      fail(where, ": calls an op this process does not have (a library missing from the ",
           "generator's own dependencies?): ", message);
    }
    if (message.find("constants.pkl") != std::string::npos) {
      // A torch.save file is a zip archive too, without TorchScript's code.
      fail(where, ": not a TorchScript module but a torch.save file (tensors or a pickled ",
           "module); write the generator with torch.jit.save(torch.jit.script(module), path)");
    }
    fail(where, ": not a TorchScript module (write it with torch.jit.save): ", message);
  }
  torch::jit::Module& module = module_->module;
  module.eval();

  require(module.hasattr("n_atoms"), where, ": missing attribute n_atoms (int)");
  const c10::IValue atoms = module.attr("n_atoms");
  require(atoms.isInt(), where, ": attribute n_atoms must be an int, got ", atoms.tagKind());
  atoms_ = atoms.toInt();
  require(atoms_ >= 1, where, ": n_atoms must be >= 1, got ", atoms_);

  require(module.hasattr("length_unit"), where,
          ": missing attribute length_unit (\"nm\", \"angstrom\" or \"lj\")");
  const c10::IValue unit = module.attr("length_unit");
  require(unit.isString(), where, ": attribute length_unit must be a str, got ", unit.tagKind());
  length_unit_ = unit.toStringRef();
  require(length_unit_ == "nm" || length_unit_ == "angstrom" || length_unit_ == "lj", where,
          ": length_unit must be \"nm\", \"angstrom\" or \"lj\", got \"", length_unit_, "\"");

  if (module.hasattr("elements")) {
    const c10::IValue elements = module.attr("elements");
    require(elements.isList(), where, ": attribute elements must be a List[str], got ",
            elements.tagKind());
    for (const c10::IValue& element : elements.toListRef()) {
      require(element.isString(), where, ": attribute elements must be a List[str], found a ",
              element.tagKind());
      elements_.push_back(element.toStringRef());
    }
    require(int64_t(elements_.size()) == atoms_, where, ": elements has ", elements_.size(),
            " entries but n_atoms is ", atoms_);
  }

  require(module.find_method("sample").has_value(), where,
          ": missing method sample(self, n: int, seed: int) -> Tensor");
  // A trial draw catches wrong shapes and non-finite output at load time.
  sample(2, 0);
}

Generator::~Generator() = default;
Generator::Generator(Generator&&) noexcept = default;
Generator& Generator::operator=(Generator&&) noexcept = default;

const std::string& Generator::path() const {
  return path_;
}
int64_t Generator::atoms() const {
  return atoms_;
}
const std::string& Generator::length_unit() const {
  return length_unit_;
}
const std::vector<std::string>& Generator::elements() const {
  return elements_;
}

std::vector<double> Generator::sample(int64_t n, int64_t seed,
                                      const std::string& target_length_unit) const {
  const std::string where = "generator '" + path_ + "'";
  require(n >= 1, "Generator.sample: n must be at least 1, got ", n);
  const double factor =
      target_length_unit.empty() ? 1.0 : length_unit_factor(length_unit_, target_length_unit);
  c10::IValue output;
  {
    torch::NoGradGuard no_grad;
    try {
      output = module_->module.get_method("sample")({c10::IValue(n), c10::IValue(seed)});
    } catch (const c10::Error& error) {
      fail(where, ": sample(", n, ", ", seed,
           ") failed: ", script_error(error.what_without_backtrace()));
    } catch (const std::exception& error) {
      // An exception raised by the TorchScript code itself (torch::jit::JITException).
      fail(where, ": sample(", n, ", ", seed, ") failed: ", script_error(error.what()));
    }
  }
  require(output.isTensor(), where, ": sample must return a Tensor, got ", output.tagKind());
  const torch::Tensor samples = output.toTensor();
  require(samples.is_floating_point(), where, ": sample returned dtype ", samples.scalar_type(),
          ", expected a floating-point tensor");
  require(samples.sizes() == torch::IntArrayRef({n, atoms_, 3}), where, ": sample(", n, ", ", seed,
          ") returned shape ", samples.sizes(), ", expected [", n, ", ", atoms_, ", 3]");
  const torch::Tensor values = samples.to(torch::kCPU, torch::kDouble).contiguous();
  const torch::Tensor bad = torch::logical_not(torch::isfinite(values)).nonzero();
  if (bad.size(0) > 0) {
    fail(where, ": sample(", n, ", ", seed, ") returned a non-finite value at [",
         bad[0][0].item<int64_t>(), ", ", bad[0][1].item<int64_t>(), ", ",
         bad[0][2].item<int64_t>(), "]");
  }
  const double* data = values.data_ptr<double>();
  std::vector<double> result(data, data + values.numel());
  if (factor != 1.0) {
    for (double& x : result) x *= factor;
  }
  return result;
}

}  // namespace energyloss
