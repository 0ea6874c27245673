// The LibTorch this library was compiled against, as a string in the binary:
// the Python package (energyloss/_library.py) reads it from the file before
// loading the library, and refuses a library built for another torch with a
// message naming both versions instead of an undefined-symbol error.
#include <torch/version.h>

#include <string>  // defines _GLIBCXX_USE_CXX11_ABI (libstdc++)

#define ENERGYLOSS_STRINGIFY_(x) #x
#define ENERGYLOSS_STRINGIFY(x) ENERGYLOSS_STRINGIFY_(x)
#ifdef _GLIBCXX_USE_CXX11_ABI
#define ENERGYLOSS_CXX11_ABI ENERGYLOSS_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)
#else
#define ENERGYLOSS_CXX11_ABI "none"
#endif

// Format (parsed by _library.py): "energyloss-torch-build: torch <version>; cxx11-abi <0|1|none>"
extern "C" __attribute__((used, visibility("default"))) const char energyloss_torch_build_info[] =
    "energyloss-torch-build: torch " TORCH_VERSION "; cxx11-abi " ENERGYLOSS_CXX11_ABI;
