#!/usr/bin/env bash
# The project's main job, the bridge between simulation and training:
# simulate alanine dipeptide (OpenMM) and an LJ38 cluster (LAMMPS), train
# diffusion generators with a force-field-derived energy loss (and MSE and
# exp-energy baselines), export them as TorchScript, seed OpenMM and LAMMPS
# from them, and measure the seeds against the MD data.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
  cat <<'USAGE'
Usage: scripts/demo.sh [--full] [--output DIR] [options of examples/bridge/bridge.py]

Installs what is missing (apt-get), configures and builds into build/, then
runs examples/bridge/bridge.py: simulate -> train -> export -> seed -> measure.

  (default)        quick mode: about 15 minutes on 2 cores after the build
  --full           train to convergence (hours)
  --output DIR     where results go (default results/bridge): summary.md,
                   samples.csv, seeded_md.csv, training.csv, ramachandran.png,
                   seeded_md.png, the generators (DIR/<system>/<loss>.pt), the
                   seeded structures and trajectories
  --systems ...    alanine and/or lj38 (default both)
  --losses ...     energy-ff, mse, energy (default all three)
  -h, --help       this text (nothing is installed or built)

After a build, `PYTHONPATH=build/python /usr/bin/python3 examples/bridge/bridge.py
--help` lists every option. The paper's polygon experiment is build/bin/shapes.
USAGE
}

for argument in "$@"; do
  if [[ $argument == -h || $argument == --help ]]; then
    usage
    exit 0
  fi
done

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2

PYTHONPATH="$PWD/build/python" /usr/bin/python3 examples/bridge/bridge.py "$@"
