// Declares the `energyloss` op namespace; each *_ops.cpp adds its ops with
// TORCH_LIBRARY_FRAGMENT so the op families stay in separate files.
#include <torch/library.h>

TORCH_LIBRARY(energyloss, m) {
  (void)m;
}
