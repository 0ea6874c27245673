# The ENERGYLOSS package in LAMMPS's CMake build: copy this file to
# lammps/cmake/Modules/Packages/ and src/ENERGYLOSS to lammps/src/, add
# ENERGYLOSS to STANDARD_PACKAGES and to the foreach(PKG_WITH_INCL ...) list
# in lammps/cmake/CMakeLists.txt, then configure with -D PKG_ENERGYLOSS=on
# (lammps_package/README.md).
#
# The styles call the installed energyloss libraries: find_package finds them
# through CMAKE_PREFIX_PATH or EnergyLoss_DIR (PREFIX/lib/cmake/EnergyLoss),
# and LibTorch, which seed_atoms's generators need, through Torch_DIR (the
# component `torch` checks it is the torch version energyloss was built for).
find_package(EnergyLoss REQUIRED COMPONENTS core torch)
if(NOT TARGET energyloss::oracles_torch)
  message(FATAL_ERROR "ENERGYLOSS needs energyloss built with LibTorch (energyloss::oracles_torch, "
                      "for seed_atoms): configure energyloss with ENERGYLOSS_WITH_TORCH=ON")
endif()
# The package's sources are C++17 (LAMMPS itself needs only C++11 in older versions).
target_compile_features(lammps PUBLIC cxx_std_17)
target_link_libraries(lammps PRIVATE energyloss::core energyloss::oracles_torch)
