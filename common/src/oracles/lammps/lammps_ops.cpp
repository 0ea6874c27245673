// LibTorch face of the LAMMPS oracle (energyloss/oracles/lammps_oracle.h):
// torch.ops.energyloss.lammps_oracle. Compiled in with LAMMPS
// (ENERGYLOSS_WITH_LAMMPS).
#include <torch/library.h>

#include <string>

#include "energyloss/oracles/lammps_oracle.h"
#include "oracle_ops.h"

namespace energyloss {
namespace {

using namespace oracle_ops;

Handle lammps_oracle(const std::string& deck,
                     const c10::optional<c10::Dict<std::string, std::string>>& variables,
                     int64_t workers) {
  return wrap(make_lammps_oracle(deck, string_map(variables), int(workers)), "lammps_oracle",
              {absolute_path(deck), variables, workers});
}

}  // namespace
}  // namespace energyloss

TORCH_LIBRARY_FRAGMENT(energyloss, m) {
  m.def(("lammps_oracle(str deck, Dict(str, str)? variables=None, int workers=1) -> " +
         energyloss::oracle_ops::oracle_class(m))
            .c_str(),
        &energyloss::lammps_oracle);
}
