#include "fix_energyloss.h"

#include <cmath>
#include <string>

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "input.h"
#include "modify.h"
#include "update.h"
#include "utils.h"
#include "variable.h"

using namespace LAMMPS_NS;
using namespace FixConst;

namespace {

// What a minimizer does with an energy that leaves the restraint out.
std::string without_energy_consequence(const std::string& min_style) {
  if (min_style == "cg" || min_style == "sd")
    return fmt::format("min_style {}'s line search stops early (linesearch alpha is zero)",
                       min_style);
  if (utils::strmatch(min_style, "^fire") || min_style == "quickmin")
    return fmt::format(
        "min_style {} (no line search) tests its energy tolerance on an energy without the "
        "restraint and reports that energy",
        min_style);
  return fmt::format("min_style {} judges its steps on an energy without the restraint", min_style);
}

}  // namespace

FixEnergyLoss::FixEnergyLoss(LAMMPS* lmp, int narg, char** arg)
    : Fix(lmp, narg, arg),
      loss(lmp, "Fix energyloss"),
      scale(1.0),
      scale_variable(-1),
      energy(0.0) {
  scalar_flag = 1;
  global_freq = 1;
  extscalar = 1;
  energy_global_flag = 1;
  virial_global_flag = virial_peratom_flag = 1;

  for (int iarg = 3; iarg < narg;) {
    int used = loss.parse_keyword(narg, arg, iarg);
    if (used == 0 && std::string(arg[iarg]) == "scale") {
      loss.note_keyword("scale");
      if (iarg + 1 >= narg) error->all(FLERR, "Fix energyloss: keyword 'scale' needs 1 value");
      if (utils::strmatch(arg[iarg + 1], "^v_"))
        scale_variable_name = arg[iarg + 1] + 2;
      else
        scale = loss.keyword_number("scale", arg[iarg + 1], "S must be a finite number");
      used = 2;
    }
    if (used == 0) error->all(FLERR, "Fix energyloss: unknown keyword '{}'", arg[iarg]);
    iarg += used;
  }
  loss.define(groupbit, arg[1]);
}

int FixEnergyLoss::setmask() {
  return POST_FORCE | MIN_POST_FORCE;
}

void FixEnergyLoss::init() {
  // rRESPA calls post_force_respa, which would silently skip the restraint.
  if (utils::strmatch(update->integrate_style, "^respa"))
    error->all(FLERR, "Fix energyloss: run_style respa is not supported");
  if (scale_variable_name.empty()) return;
  scale_variable = input->variable->find(scale_variable_name.c_str());
  if (scale_variable < 0)
    error->all(FLERR, "Fix energyloss: keyword 'scale': variable '{}' does not exist",
               scale_variable_name);
  if (!input->variable->equalstyle(scale_variable))
    error->all(FLERR, "Fix energyloss: keyword 'scale': variable '{}' is not equal-style",
               scale_variable_name);
}

void FixEnergyLoss::setup(int vflag) {
  post_force(vflag);
}

void FixEnergyLoss::min_setup(int vflag) {
  // Without fix_modify energy yes the minimizer sees the forces but not the
  // energy: its line search then fails (linesearch alpha is zero) silently.
  if (!thermo_energy && !warned_min_energy && comm->me == 0)
    error->warning(FLERR,
                   "Fix energyloss: minimize sees the restraint's forces but not its energy; "
                   "add 'fix_modify {} energy yes', or {}",
                   id, without_energy_consequence(update->minimize_style));
  warned_min_energy = true;
  post_force(vflag);
}

void FixEnergyLoss::min_post_force(int vflag) {
  post_force(vflag);
}

double FixEnergyLoss::current_scale() {
  if (scale_variable_name.empty()) return scale;
  // The variable may reference computes: the fix_addforce idiom.
  modify->clearstep_compute();
  const double value = input->variable->compute_equal(scale_variable);
  modify->addstep_compute(update->ntimestep + 1);
  // Checked at every read: inf or NaN would make every force and the energy
  // inf/NaN without a word.
  if (!std::isfinite(value))
    error->all(FLERR,
               "Fix energyloss: keyword 'scale': variable '{}' evaluates to {} at step {} (a "
               "finite number is needed)",
               scale_variable_name, value, update->ntimestep);
  return value;
}

void FixEnergyLoss::post_force(int vflag) {
  v_init(vflag);
  const double factor = current_scale();
  energy = factor * loss.evaluate(true);

  const std::vector<double>& gradient = loss.gradient();
  const std::vector<double>& unwrapped = loss.current_coordinates();
  double** f = atom->f;
  for (int i = 0; i < atom->nlocal; ++i) {
    if (!(atom->mask[i] & groupbit)) continue;
    const int slot = loss.slot(atom->tag[i]);
    const double* grad = &gradient[3 * slot];
    const double force[3] = {-factor * grad[0], -factor * grad[1], -factor * grad[2]};
    for (int d = 0; d < 3; ++d) f[i][d] += force[d];
    if (evflag) {
      // The forces are pairwise and central, so sum_i x_i f_i over unwrapped
      // coordinates is the virial, whatever the origin.
      const double* x = &unwrapped[3 * slot];
      double virial_i[6] = {x[0] * force[0], x[1] * force[1], x[2] * force[2],
                            x[0] * force[1], x[0] * force[2], x[1] * force[2]};
      v_tally(i, virial_i);
    }
  }
}

double FixEnergyLoss::compute_scalar() {
  // The ranks' shares were summed over all of them: the value is already global.
  return energy;
}

double FixEnergyLoss::memory_usage() {
  return loss.memory_usage();
}
