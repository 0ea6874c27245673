/* energyloss's exceptions as LAMMPS errors, for every style of the package
   (the LAMMPS twin of the OpenMM plugin's asOpenMMErrors). Calls into
   energyloss::core or the generator loader go through one of these; their
   messages become "CONTEXT: WHAT", CONTEXT naming the style and, where it
   helps, the keyword (e.g. "Fix energyloss: keyword 'coeff'"), and LAMMPS
   reports them at the caller's FLERR.

     as_lammps_errors(lmp, FLERR, context, body)
       Collective: every rank runs body() on the same data. An
       energyloss::Error (bad input, so every rank throws alike) ends the run
       with error->all; any other std::exception (energyloss::RuntimeError,
       std::bad_alloc: a failure that may hit this rank alone) with
       error->one, which does not wait for the other ranks.
       Returns what body() returns.

     on_rank_zero_as_lammps_errors(lmp, FLERR, context, body)
       Collective: rank 0 alone runs body() (reading a file, loading
       LibTorch once); any std::exception it throws is broadcast and every
       rank ends with error->all. The caller broadcasts body's results.

   LAMMPS's own errors (LAMMPSException, where LAMMPS throws them) pass
   through unchanged. */
#ifndef LMP_ENERGYLOSS_ERRORS_H
#define LMP_ENERGYLOSS_ERRORS_H

#include <mpi.h>

#include <exception>
#include <string>
#include <utility>

#include "comm.h"
#include "energyloss/error.h"
#include "error.h"
#include "exceptions.h"
#include "lammps.h"

namespace LAMMPS_NS {

template <typename Body>
decltype(auto) as_lammps_errors(LAMMPS* lmp, const char* file, int line, const std::string& context,
                                Body&& body) {
  try {
    return std::forward<Body>(body)();
  } catch (const LAMMPSException&) {
    throw;
  } catch (const energyloss::Error& e) {
    lmp->error->all(file, line, context + ": " + e.what());
  } catch (const std::exception& e) {
    lmp->error->one(file, line, context + ": " + e.what());
  }
}

template <typename Body>
void on_rank_zero_as_lammps_errors(LAMMPS* lmp, const char* file, int line,
                                   const std::string& context, Body&& body) {
  std::string problem;
  if (lmp->comm->me == 0) {
    try {
      std::forward<Body>(body)();
    } catch (const LAMMPSException&) {
      throw;
    } catch (const std::exception& e) {
      problem = e.what();
    }
  }
  int length = static_cast<int>(problem.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, lmp->world);
  problem.resize(length);
  MPI_Bcast(problem.data(), length, MPI_CHAR, 0, lmp->world);
  if (!problem.empty()) lmp->error->all(file, line, context + ": " + problem);
}

}  // namespace LAMMPS_NS

#endif
