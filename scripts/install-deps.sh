#!/usr/bin/env bash
# Installs every Debian package energyloss needs (build, tests, examples,
# plugins). Idempotent: asks dpkg first and only calls apt-get for what is
# missing, so a second run costs a fraction of a second.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake git xz-utils ca-certificates
  # the formatting check (ctest format.clang_format)
  clang-format
  # linear algebra for the rigidity tests and Kabsch (header-only)
  libeigen3-dev
  # LibTorch (C++) and PyTorch (Python) from Debian
  libtorch-dev python3-torch
  # an optimised BLAS: Debian's torch otherwise falls back to the reference
  # BLAS (~1 GFLOP/s; OpenBLAS is >10x faster for the examples' dense layers)
  libopenblas0-openmp
  # Python side of the project
  python3-dev python3-numpy python3-pytest python3-matplotlib
  # tests
  googletest libgtest-dev
  # OpenMM (C++, plugins, Python) and its SWIG bindings
  libopenmm-dev libopenmm-plugins python3-simtk swig
  # LAMMPS (library, stock lmp, Python, example decks), MPI
  lammps liblammps-dev python3-lammps lammps-examples openmpi-bin libopenmpi-dev
  # chemistry data and toolkits (molecule experiments, validity metrics)
  librdkit-dev python3-rdkit chemical-structures-data
  # RDKit's C++ headers include Boost's, which librdkit-dev does not pull in
  libboost-dev
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
