// LibTorch face of the RDKit MMFF oracle (energyloss/oracles/rdkit_mmff_oracle.h):
// torch.ops.energyloss.rdkit_mmff_oracle. Compiled in with RDKit
// (ENERGYLOSS_WITH_RDKIT).
#include <torch/library.h>

#include <string>

#include "energyloss/oracles/rdkit_mmff_oracle.h"
#include "oracle_ops.h"

namespace energyloss {
namespace {

using namespace oracle_ops;

Handle rdkit_mmff_oracle(const std::string& molecule, const std::string& variant, int64_t workers) {
  return wrap(make_rdkit_mmff_oracle(molecule, variant, int(workers)), "rdkit_mmff_oracle",
              {absolute_path(molecule), variant, workers});
}

}  // namespace
}  // namespace energyloss

TORCH_LIBRARY_FRAGMENT(energyloss, m) {
  m.def(("rdkit_mmff_oracle(str molecule, str variant=\"MMFF94\", int workers=1) -> " +
         energyloss::oracle_ops::oracle_class(m))
            .c_str(),
        &energyloss::rdkit_mmff_oracle);
}
