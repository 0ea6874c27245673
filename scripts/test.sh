#!/usr/bin/env bash
# The test command: installs what is missing, configures, builds and runs
# every test (GoogleTest and pytest, all through ctest).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  cat <<'USAGE'
Usage: scripts/test.sh [extra ctest arguments]

Installs what is missing (apt-get), configures and builds into build/, then
runs every test through ctest (GoogleTest and pytest). Extra arguments go to
ctest, e.g. `scripts/test.sh -R pair`.

  -h, --help       this text (nothing is installed or built)
USAGE
  exit 0
fi

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2
cd build
ctest --output-on-failure --timeout 1200 "$@"
