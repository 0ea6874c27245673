// Links energyloss::cuda alone and calls only it: the program must start (the
// installed library finds libenergyloss.so beside it) and may run on a
// machine without a GPU.
#include <energyloss/cuda/pair_energy.h>

#include <cstdio>

int main() {
  std::printf("CUDA device available: %s\n", energyloss::cuda::device_available() ? "yes" : "no");
  return 0;
}
