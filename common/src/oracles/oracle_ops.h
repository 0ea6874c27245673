// Private helpers of the LibTorch op files of the oracles (oracle_ops.cpp,
// coefficients/coefficient_ops.cpp and one <engine>/<engine>_ops.cpp per
// engine, each with its own TORCH_LIBRARY_FRAGMENT): registering the Oracle
// class their schemas name, and turning tensors into the raw layouts the
// plain-C++ oracles and coefficient methods take, with errors naming the
// argument.
#pragma once

#include <c10/util/Optional.h>  // c10::optional: see energyloss/torch/common.h
#include <torch/library.h>
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "energyloss/torch/oracle.h"

namespace energyloss::oracle_ops {

using Handle = c10::intrusive_ptr<OracleHandle>;

// Registers torch.classes.energyloss.Oracle through `m` on the first call and
// returns its schema type name, "__torch__.torch.classes.energyloss.Oracle".
// A schema may name the class only once it is registered, and fragments in
// different translation units run in an unspecified order: every fragment that
// names the class calls this before its m.def.
const std::string& oracle_class(torch::Library& m);

// The oracle behind `handle`; throws Error when the handle is empty.
EnergyOracle& oracle_of(const Handle& handle);

// `oracle` wrapped as a torch.classes.energyloss.Oracle.
Handle wrap(std::shared_ptr<EnergyOracle> oracle);
// The same for the factory op `factory` (its name in torch.ops.energyloss)
// called with `arguments` (every argument of its schema, in order): the
// class's pickler stores the call, and unpickling calls the factory again.
Handle wrap(std::shared_ptr<EnergyOracle> oracle, const char* factory,
            std::vector<c10::IValue> arguments);
// A file argument of a factory as stored for pickling: `file` made absolute,
// so that loading in another working directory finds it; text with a line
// break (e.g. an RDKit mol block) is not a path and is returned unchanged.
std::string absolute_path(const std::string& file);

// In the helpers below, `op` (the op's name in torch.ops.energyloss) and
// `name` (the argument's) appear in errors; the device and dtype checks are
// torch_ops::require_cpu / require_floating_cpu (energyloss/torch/common.h),
// which refuse an undefined tensor (None in Python) first. An op that reads a
// tensor before these (its shape, say) calls torch_ops::require_defined itself.

// `tensor` (float32 or float64, CPU) as a contiguous float64 copy.
torch::Tensor floating_cpu(const char* op, const torch::Tensor& tensor, const char* name);

// `positions` [B, N, 3] or [N, 3] (float32 or float64, CPU) as a contiguous
// float64 batch [B, N, 3]; throws Error naming `name` and the oracle unless N
// is the oracle's atom count.
torch::Tensor oracle_batch(const char* op, const EnergyOracle& oracle,
                           const torch::Tensor& positions, const char* name);

// `tuples` [E, width] of any integer dtype on the CPU as contiguous int64;
// throws Error naming `name` otherwise.
torch::Tensor index_tuples(const char* op, const torch::Tensor& tuples, int64_t width,
                           const char* name);
// Its shape and dtype check alone (no device check, no data read): also for
// meta tensors, in the coefficient ops' Meta shape functions. Both refuse an
// undefined tensor (None in Python) first, naming `op` and `name`.
void require_index_tuples(const char* op, const torch::Tensor& tuples, int64_t width,
                          const char* name);

// `values` reshaped to `shape`, in the dtype of `like`.
torch::Tensor values_like(const std::vector<double>& values, std::vector<int64_t> shape,
                          const torch::Tensor& like);

// Schemas cannot default a Dict to {}: the engine ops take Dict? = None and
// turn it into a map with this (empty for None).
std::map<std::string, std::string> string_map(
    const c10::optional<c10::Dict<std::string, std::string>>& dict);

}  // namespace energyloss::oracle_ops
