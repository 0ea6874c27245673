#include "compute_energyloss.h"

#include <cmath>
#include <limits>
#include <string>

#include "atom.h"
#include "energyloss/error.h"
#include "energyloss/pair_energy.h"
#include "error.h"
#include "group.h"
#include "memory.h"
#include "update.h"
#include "utils.h"

using namespace LAMMPS_NS;

namespace {
constexpr const char* kStyle = "Compute energyloss";
}

ComputeEnergyLoss::ComputeEnergyLoss(LAMMPS* lmp, int narg, char** arg)
    : Compute(lmp, narg, arg),
      coefficients(energyloss::CoefficientSpec::preset(energyloss::CoefficientMode::Exp)),
      cutoff(std::numeric_limits<double>::infinity()),
      nmax(0) {
  scalar_flag = 1;
  extscalar = 1;
  peratom_flag = 1;
  size_peratom_cols = 0;
  vector_atom = nullptr;

  parse_keywords(narg - 3, arg + 3);
  // `reference current`: the group as it is now.
  reference = gather_group_coordinates(lmp, groupbit, kStyle);
  if (reference.size() < 2)
    error->all(FLERR, "{}: group {} has {} atoms, needs at least 2", kStyle, arg[1],
               reference.size());
  atom_energy.resize(reference.size());
}

ComputeEnergyLoss::~ComputeEnergyLoss() {
  memory->destroy(vector_atom);
}

void ComputeEnergyLoss::parse_keywords(int narg, char** arg) {
  int iarg = 0;
  auto require_values = [&](int count) {
    if (iarg + count >= narg)
      error->all(FLERR, "{}: keyword '{}' needs {} value(s)", kStyle, arg[iarg], count);
  };
  while (iarg < narg) {
    const std::string keyword = arg[iarg];
    if (keyword == "reference") {
      require_values(1);
      const std::string kind = arg[iarg + 1];
      if (kind != "current")
        error->all(FLERR, "{}: keyword 'reference' got '{}'; supported: current", kStyle, kind);
      iarg += 2;
    } else if (keyword == "coeff") {
      require_values(2);
      auto mode = energyloss::CoefficientMode::Exp;
      try {
        mode = energyloss::parse_coefficient_mode(arg[iarg + 1]);
      } catch (const energyloss::Error& e) {
        error->all(FLERR, "{}: keyword 'coeff': {}", kStyle, e.what());
      }
      if (mode == energyloss::CoefficientMode::Explicit)
        error->all(FLERR, "{}: keyword 'coeff': mode 'explicit' needs per-edge values", kStyle);
      // The mode's preset (e.g. exp divides k0 by the atom count) with the
      // deck's prefactor.
      coefficients = energyloss::CoefficientSpec::preset(mode);
      coefficients.k0 = utils::numeric(FLERR, arg[iarg + 2], false, lmp);
      try {
        energyloss::check_coefficient_spec(coefficients);
      } catch (const energyloss::Error& e) {
        error->all(FLERR, "{}: keyword 'coeff': {}", kStyle, e.what());
      }
      iarg += 3;
    } else if (keyword == "edges") {
      require_values(1);
      const std::string kind = arg[iarg + 1];
      if (kind == "complete") {
        cutoff = std::numeric_limits<double>::infinity();
        iarg += 2;
      } else if (kind == "cutoff") {
        require_values(2);
        cutoff = utils::numeric(FLERR, arg[iarg + 2], false, lmp);
        if (!(cutoff > 0.0))
          error->all(FLERR, "{}: keyword 'edges cutoff' needs a positive distance, got {}", kStyle,
                     arg[iarg + 2]);
        iarg += 3;
      } else {
        error->all(FLERR, "{}: keyword 'edges' got '{}'; supported: complete, cutoff RC", kStyle,
                   kind);
      }
    } else {
      error->all(FLERR, "{}: unknown keyword '{}'", kStyle, keyword);
    }
  }
}

double ComputeEnergyLoss::evaluate() {
  const GroupCoordinates current = gather_group_coordinates(lmp, groupbit, kStyle);
  if (current.tags != reference.tags)
    error->all(FLERR,
               "{}: group {} now has {} atoms (or other atom IDs) but {} when it was defined",
               kStyle, group->names[igroup], current.size(), reference.size());

  energyloss::PairLossInput<double> input;
  input.pred = current.x.data();
  input.ref = reference.x.data();
  input.layout.atoms = reference.size();
  input.cutoff = cutoff;
  double loss = 0.0;
  energyloss::PairLossOutput<double> output;
  output.energy = &loss;
  output.atom_energy = atom_energy.data();
  // Every rank holds the whole group and computes the same numbers.
  try {
    energyloss::pair_energy_loss(input, coefficients, output);
  } catch (const energyloss::Error& e) {
    error->all(FLERR, "{}: {}", kStyle, e.what());
  }
  return loss;
}

double ComputeEnergyLoss::compute_scalar() {
  invoked_scalar = update->ntimestep;
  scalar = evaluate();
  return scalar;
}

void ComputeEnergyLoss::compute_peratom() {
  invoked_peratom = update->ntimestep;
  if (atom->nmax > nmax) {
    memory->destroy(vector_atom);
    nmax = atom->nmax;
    memory->create(vector_atom, nmax, "energyloss:vector_atom");
  }
  evaluate();
  for (int i = 0; i < atom->nlocal; ++i) {
    const int slot = (atom->mask[i] & groupbit) ? reference.slot(atom->tag[i]) : -1;
    vector_atom[i] = slot >= 0 ? atom_energy[slot] : 0.0;
  }
}

double ComputeEnergyLoss::memory_usage() {
  return sizeof(double) * (nmax + 4.0 * reference.size() + atom_energy.size()) +
         sizeof(tagint) * reference.size();
}
