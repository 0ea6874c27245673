// Links energyloss::torch and energyloss::oracles_torch but calls none of
// their functions, as a program that only torch::jit::load's a module using
// the ops does: the libraries must still be loaded (their static
// registration puts the ops and the Oracle class into torch's registries),
// whatever the linker's --as-needed default.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/custom_class.h>

#include <cstdio>

int main() {
  int missing = 0;
  for (const char* op : {"energyloss::pair_energy_loss", "energyloss::oracle_evaluate"}) {
    const bool found = c10::Dispatcher::singleton().findSchema({op, ""}).has_value();
    std::printf("%s: %s\n", op, found ? "registered" : "NOT registered");
    missing += !found;
  }
  const bool oracle_class =
      torch::getCustomClass("__torch__.torch.classes.energyloss.Oracle") != nullptr;
  std::printf("class energyloss.Oracle: %s\n", oracle_class ? "registered" : "NOT registered");
  return missing == 0 && oracle_class ? 0 : 1;
}
