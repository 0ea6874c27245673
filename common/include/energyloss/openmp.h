// OpenMP on the calling thread alone, for a scope.
#pragma once

#include <omp.h>

namespace energyloss {

// While alive, OpenMP regions opened by the calling thread (and Eigen, which
// sizes its team with omp_get_max_threads) run on that thread alone; the
// caller's setting comes back on destruction. omp_set_num_threads is a
// per-thread setting, so other threads are unaffected. For callers that
// schedule threads themselves (OpenMM's CPU pool) or whose work is too
// small to feed a team: next to a busy pool, an OpenMP team stalls for
// whole scheduler slices.
class SingleOpenMPThread {
 public:
  SingleOpenMPThread() : previous_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SingleOpenMPThread() { omp_set_num_threads(previous_); }
  SingleOpenMPThread(const SingleOpenMPThread&) = delete;
  SingleOpenMPThread& operator=(const SingleOpenMPThread&) = delete;

 private:
  int previous_;
};

}  // namespace energyloss
