// LibTorch face of the TorchScript generator protocol (energyloss/generator.h):
// torch.classes.energyloss.Generator.
#include <torch/custom_class.h>
#include <torch/library.h>
#include <torch/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "energyloss/error.h"
#include "energyloss/generator.h"

namespace energyloss {
namespace {

struct GeneratorHandle : torch::CustomClassHolder {
  Generator generator;
  explicit GeneratorHandle(const std::string& path) : generator(path) {}

  // [n, atoms, 3] float64 in `length_unit`. Bad input (n < 1, an unknown
  // unit, a sample breaking the protocol) raises ValueError in Python, as the
  // Python Generator does: Torch would turn energyloss::Error from a
  // custom-class method into RuntimeError, c10::ValueError it keeps.
  torch::Tensor sample(int64_t n, int64_t seed, const std::string& length_unit) const {
    std::vector<double> values;
    try {
      values = generator.sample(n, seed, length_unit);
    } catch (const Error& error) {
      TORCH_CHECK_VALUE(false, error.what());
    }
    return torch::tensor(values, torch::kDouble).reshape({n, generator.atoms(), 3});
  }
};

}  // namespace
}  // namespace energyloss

TORCH_LIBRARY_FRAGMENT(energyloss, m) {
  using energyloss::GeneratorHandle;
  m.class_<GeneratorHandle>("Generator")
      .def(torch::init<std::string>())
      .def("sample", &GeneratorHandle::sample)
      .def("atoms",
           [](const c10::intrusive_ptr<GeneratorHandle>& self) { return self->generator.atoms(); })
      .def("length_unit",
           [](const c10::intrusive_ptr<GeneratorHandle>& self) {
             return self->generator.length_unit();
           })
      .def("elements",
           [](const c10::intrusive_ptr<GeneratorHandle>& self) {
             return self->generator.elements();
           })
      .def("path",
           [](const c10::intrusive_ptr<GeneratorHandle>& self) { return self->generator.path(); })
      // torch.jit.save / torch.jit.load: the state is the module file's
      // absolute path (loading in another working directory finds it too).
      .def_pickle(
          [](const c10::intrusive_ptr<GeneratorHandle>& self) {
            return std::filesystem::absolute(self->generator.path()).string();
          },
          [](std::string path) { return c10::make_intrusive<GeneratorHandle>(path); });
}
