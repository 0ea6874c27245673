#!/usr/bin/env bash
# The project's main demo: the regular-polygon experiment of the paper
# (section 6.1). Installs dependencies, builds everything, runs the quick
# sweep (or the paper-size one with --full) and plots it.
#   scripts/demo.sh                 quick sweep (a couple of minutes on 2 cores)
#   scripts/demo.sh --full          100K samples, 50 epochs, learning-rate sweep
#   scripts/demo.sh --seeds 3 ...   any option of build/bin/shapes --help
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2

# The last --out given wins, as in the binary; the plot reads the same folder.
out=results
args=("$@")
for ((i = 0; i < ${#args[@]} - 1; i++)); do
  if [[ ${args[i]} == --out ]]; then out=${args[i + 1]}; fi
done

build/bin/shapes --out "$out" "$@"
/usr/bin/python3 examples/shapes/plot_shapes.py "$out"

echo
echo "demo: results in $(realpath "$out"): shapes.csv (one row per run), shapes_samples.csv"
echo "      (predicted vertices) and shapes.png (quality vs rotation augmentation)"
