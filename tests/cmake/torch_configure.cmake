# cmake.torch_configure: the top-level CMakeLists.txt configured (only) against
# stand-ins of the real Torch config at TORCH_DIR. With its TORCH_CXX_FLAGS
# saying -D_GLIBCXX_USE_CXX11_ABI=<OTHER_ABI>, the ABI this compiler does not
# default to:
#   1. with OpenMM enabled (Debian's uses the other ABI): the configure fails
#      naming the mismatch and OpenMM, before anything is built;
#   2. with the engines, benchmarks, examples and CUDA off: it succeeds, every
#      target of ours compiles with _GLIBCXX_USE_CXX11_ABI=<OTHER_ABI> (energyloss_core
#      has no torch of its own), GoogleTest is built from its sources with it
#      (Debian's googletest package; without them the configure fails saying so)
#      and the package records that ABI.
# With its version 9.9.9 (flags kept):
#   3. the configure warns that ENERGYLOSS_PYTHON imports another torch.
# With its headers asking for C++20 (torch >= 2.14's ATen/ATen.h guard; a
# stand-in ATen.h with that guard, forwarding to the real one):
#   4. the configure switches to C++20 and says so, and energyloss_torch
#      compiles as C++20 against the real headers.
# Variables: SOURCE_DIR (the project), WORK_DIR (scratch), TORCH_DIR, OTHER_ABI.
file(REMOVE_RECURSE ${WORK_DIR})
set(fake ${WORK_DIR}/torch)
file(WRITE ${fake}/TorchConfigVersion.cmake "include(${TORCH_DIR}/TorchConfigVersion.cmake)\n")
file(WRITE ${fake}/TorchConfig.cmake "include(${TORCH_DIR}/TorchConfig.cmake)
set(TORCH_CXX_FLAGS \"-D_GLIBCXX_USE_CXX11_ABI=${OTHER_ABI}\")
set_property(TARGET torch PROPERTY INTERFACE_COMPILE_OPTIONS \"\${TORCH_CXX_FLAGS}\")
")

function(configure name)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/${name}
                          -DTorch_DIR=${fake} -DENERGYLOSS_WITH_CUDA=OFF ${ARGN}
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REGEX REPLACE "[ \t\r\n]+" " " out "${out}")
  set(status ${status} PARENT_SCOPE)
  set(out "${out}" PARENT_SCOPE)
endfunction()

# Torch alone: the engines, benchmarks and examples off.
set(without_engines -DENERGYLOSS_WITH_OPENMM=OFF -DENERGYLOSS_WITH_LAMMPS=OFF
    -DENERGYLOSS_WITH_RDKIT=OFF -DENERGYLOSS_BUILD_BENCH=OFF -DENERGYLOSS_BUILD_EXAMPLES=OFF)

configure(with_openmm -DENERGYLOSS_WITH_OPENMM=ON -DENERGYLOSS_BUILD_TESTS=OFF
          -DENERGYLOSS_BUILD_BENCH=OFF -DENERGYLOSS_BUILD_EXAMPLES=OFF)
if(status EQUAL 0)
  message(FATAL_ERROR "configure with OpenMM and a torch of ABI ${OTHER_ABI} succeeded:\n${out}")
endif()
if(NOT out MATCHES "C\\+\\+ ABI mismatch.*_GLIBCXX_USE_CXX11_ABI=${OTHER_ABI} \\(its TORCH_CXX_FLAGS\\), but OpenMM \\(.*\\(-DENERGYLOSS_WITH_OPENMM=OFF\\)")
  message(FATAL_ERROR "configure failed without naming the ABI mismatch with OpenMM:\n${out}")
endif()
message(STATUS "1. refused: ABI mismatch with OpenMM named")

configure(torch_only ${without_engines} -DENERGYLOSS_BUILD_TESTS=ON)
if(EXISTS /usr/src/googletest/googletest/CMakeLists.txt)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "configure without the engines failed:\n${out}")
  endif()
  # Debian's prebuilt GoogleTest has the compiler's ABI: the tests get one built from source.
  file(READ ${WORK_DIR}/torch_only/googletest/googletest/CMakeFiles/gtest.dir/flags.make gtest_flags)
  if(NOT gtest_flags MATCHES "_GLIBCXX_USE_CXX11_ABI=${OTHER_ABI}")
    message(FATAL_ERROR "GoogleTest is not built with _GLIBCXX_USE_CXX11_ABI=${OTHER_ABI}:\n${gtest_flags}")
  endif()
  message(STATUS "2a. GoogleTest built from /usr/src/googletest with _GLIBCXX_USE_CXX11_ABI=${OTHER_ABI}")
else()
  if(status EQUAL 0 OR NOT out MATCHES "the tests need GoogleTest and this build uses _GLIBCXX_USE_CXX11_ABI=${OTHER_ABI} \\(torch's\\), unlike a prebuilt GoogleTest")
    message(FATAL_ERROR "without GoogleTest's sources the configure must refuse its prebuilt one:\n${out}")
  endif()
  message(STATUS "2a. refused: a prebuilt GoogleTest has the other ABI (no sources here)")
  configure(torch_only ${without_engines} -DENERGYLOSS_BUILD_TESTS=OFF)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "configure without the engines and tests failed:\n${out}")
  endif()
endif()
file(GLOB_RECURSE flags ${WORK_DIR}/torch_only/common/CMakeFiles/energyloss_core.dir/flags.make)
file(READ "${flags}" core_flags)
if(NOT core_flags MATCHES "_GLIBCXX_USE_CXX11_ABI=${OTHER_ABI}")
  message(FATAL_ERROR "energyloss_core does not compile with _GLIBCXX_USE_CXX11_ABI=${OTHER_ABI}:\n${core_flags}")
endif()
file(READ ${WORK_DIR}/torch_only/EnergyLossConfig.cmake config)
if(NOT config MATCHES "set\\(EnergyLoss_CXX11_ABI \"${OTHER_ABI}\"\\)")
  message(FATAL_ERROR "the package does not record ABI ${OTHER_ABI}")
endif()
message(STATUS "2. configured: energyloss_core compiles with _GLIBCXX_USE_CXX11_ABI=${OTHER_ABI}, recorded")

file(WRITE ${fake}/TorchConfigVersion.cmake "set(PACKAGE_VERSION 9.9.9)\nset(PACKAGE_VERSION_COMPATIBLE TRUE)\n")
file(WRITE ${fake}/TorchConfig.cmake "include(${TORCH_DIR}/TorchConfig.cmake)\n")
configure(other_version ${without_engines} -DENERGYLOSS_BUILD_TESTS=OFF -DENERGYLOSS_WITH_PYTHON=ON)
if(NOT status EQUAL 0 OR NOT out MATCHES "CMake Warning.*ENERGYLOSS_PYTHON \\(.*\\) imports torch '[^']*', but the LibTorch found is 9.9.9")
  message(FATAL_ERROR "configure against torch 9.9.9 did not warn that ENERGYLOSS_PYTHON's torch differs:\n${out}")
endif()
message(STATUS "3. warned: ENERGYLOSS_PYTHON imports another torch than 9.9.9")

# (Outside the source tree, where a build folder may be: an exported include
# dir must not lie inside it.)
set(tmp "$ENV{TMPDIR}")
if(NOT tmp)
  set(tmp /tmp)
endif()
string(RANDOM LENGTH 8 suffix)
set(cxx20_headers ${tmp}/energyloss-torch-configure-${suffix})
# Torch 2.14's guard, then the real header (this dir may come first in the search).
file(WRITE ${cxx20_headers}/ATen/ATen.h "#pragma once
#if !defined(_MSC_VER) && __cplusplus < 202002L
#error C++20 or later compatible compiler is required to use ATen.
#endif
#include_next <ATen/ATen.h>
")
file(WRITE ${fake}/TorchConfigVersion.cmake "include(${TORCH_DIR}/TorchConfigVersion.cmake)\n")
file(WRITE ${fake}/TorchConfig.cmake "include(${TORCH_DIR}/TorchConfig.cmake)
list(APPEND TORCH_INCLUDE_DIRS ${cxx20_headers})
")
configure(cxx20 ${without_engines} -DENERGYLOSS_BUILD_TESTS=OFF -DENERGYLOSS_BUILD_ORACLES=OFF)
if(NOT status EQUAL 0 OR NOT out MATCHES "energyloss: C\\+\\+20, which LibTorch [0-9.]+'s headers require")
  message(FATAL_ERROR "configure against headers requiring C++20 did not switch to it:\n${out}")
endif()
file(READ ${WORK_DIR}/cxx20/common/CMakeFiles/energyloss_torch.dir/flags.make torch_flags)
if(NOT torch_flags MATCHES "-std=c\\+\\+20")
  message(FATAL_ERROR "energyloss_torch does not compile as C++20:\n${torch_flags}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/cxx20 -j 2 --target energyloss_torch
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
file(REMOVE_RECURSE ${cxx20_headers})
if(NOT status EQUAL 0)
  message(FATAL_ERROR "energyloss_torch failed to build as C++20:\n${out}")
endif()
message(STATUS "4. C++20 for headers that require it; energyloss_torch built as C++20")
